/*
 * PUSH m and POP m with the memory operand on a device page of an mmio=ram region (mhv's fast
 * path for them, core/mmio_stack.c), each against the same instruction on a RAM word (the
 * CPU): the value moved and ESP's change must agree.  Every form runs twice from the same
 * RIP, so the second run is a repeat that the MMIO cache serves.  Then a case the fast form
 * leaves to the general emulator: the stack itself on the device page.
 */
#include <stdbool.h>
#include <stdint.h>

#include "tests/guest/report.h"
#include "tests/guest/tests.h"

#define SF_OFF	     0x2800u /* operand words, away from the other tests' offsets */
#define SF_STACK_OFF 0x2880u /* a stack top on the device page */
#define SF_VAL32     0x8badf00du
#define SF_VAL16     0xbeefu
#define SF_RUNS	     2
#define SF_SLOT_FILL 0x5a5a5a5au

struct sf_out {
	uint32_t val;	/* what the stack slot (PUSH) or the memory word (POP) received */
	uint32_t delta; /* bytes ESP moved down between before and after the instruction */
};

static void __attribute__((noinline)) push32(volatile uint32_t *src, struct sf_out *o)
{
	uint32_t before, after, val;

	asm volatile("movl %%esp, %0\n\t"
		     "pushl (%3)\n\t"
		     "movl %%esp, %1\n\t"
		     "popl %2"
		     : "=&r"(before), "=&r"(after), "=&r"(val)
		     : "r"(src)
		     : "memory");
	o->val = val;
	o->delta = before - after;
}

static void __attribute__((noinline)) push16(volatile uint32_t *src, struct sf_out *o)
{
	uint32_t before, after, val = 0;

	asm volatile("movl %%esp, %0\n\t"
		     "pushw (%3)\n\t"
		     "movl %%esp, %1\n\t"
		     "popw %w2"
		     : "=&r"(before), "=&r"(after), "+r"(val)
		     : "r"(src)
		     : "memory");
	o->val = val;
	o->delta = before - after;
}

/* PUSH m with an index register: the address from base + index * 4. */
static void __attribute__((noinline)) push32_indexed(volatile uint32_t *base, struct sf_out *o)
{
	uint32_t before, after, val, idx = 1;

	asm volatile("movl %%esp, %0\n\t"
		     "pushl (%3,%4,4)\n\t"
		     "movl %%esp, %1\n\t"
		     "popl %2"
		     : "=&r"(before), "=&r"(after), "=&r"(val)
		     : "r"(base), "r"(idx)
		     : "memory");
	o->val = val;
	o->delta = before - after;
}

static void __attribute__((noinline)) pop32(volatile uint32_t *dst, struct sf_out *o)
{
	uint32_t before, after;

	asm volatile("movl %%esp, %0\n\t"
		     "pushl %3\n\t"
		     "popl %2\n\t"
		     "movl %%esp, %1"
		     : "=&r"(before), "=&r"(after), "+m"(*dst)
		     : "i"(SF_VAL32)
		     : "memory");
	o->delta = before - after; /* o->val: the caller reads *dst */
}

static void __attribute__((noinline)) pop16(volatile uint32_t *dst, struct sf_out *o)
{
	uint32_t before, after;

	asm volatile("movl %%esp, %0\n\t"
		     "pushw %3\n\t"
		     "popw %2\n\t"
		     "movl %%esp, %1"
		     : "=&r"(before), "=&r"(after), "+m"(*(volatile uint16_t *)dst)
		     : "i"(SF_VAL16)
		     : "memory");
	o->delta = before - after; /* o->val: the caller reads *dst */
}

/* PUSH m from a device word with ESP on the device page too (both operands trapped). */
static void __attribute__((noinline))
push32_dev_stack(volatile uint32_t *src, uint32_t top, struct sf_out *o)
{
	uint32_t after;

	/* After the second XCHG, top holds the ESP the PUSH left. */
	asm volatile("xchg %%esp, %0\n\t"
		     "pushl (%1)\n\t"
		     "xchg %%esp, %0"
		     : "+r"(top)
		     : "r"(src)
		     : "memory");
	after = top;
	o->val = *(volatile uint32_t *)(after);
	o->delta = 4;
}

typedef void (*sf_fn)(volatile uint32_t *, struct sf_out *);

static uint32_t ram_words[2];

/* One form on RAM (the CPU) and SF_RUNS times on the device word: all must agree.  A POP's
 * value is the memory word it wrote (pop: true). */
static void run_form(const char *name, sf_fn fn, bool pop, volatile uint32_t *dev, uint32_t init)
{
	struct sf_out cpu, emu = {0};
	bool same = true;

	ram_words[0] = init;
	ram_words[1] = init ^ SF_SLOT_FILL;
	fn(ram_words, &cpu);
	if (pop)
		cpu.val = ram_words[0];
	for (unsigned i = 0; i < SF_RUNS && same; i++) {
		dev[0] = init;
		dev[1] = init ^ SF_SLOT_FILL;
		fn(dev, &emu);
		if (pop)
			emu.val = dev[0];
		same = emu.val == cpu.val && emu.delta == cpu.delta;
	}
	check(same, name, "value %x, ESP moved %u (the CPU on RAM: %x, %u)", emu.val, emu.delta,
	      cpu.val, cpu.delta);
}

void test_mmio_stack_forms(uint32_t base)
{
	volatile uint32_t *dev = (volatile uint32_t *)(base + SF_OFF);
	struct sf_out o = {0};
	bool ok = true;

	run_form("mmio stack forms: push m32 from a device page matches the CPU", push32, false,
		 dev, SF_VAL32);
	run_form("mmio stack forms: push m16 from a device page matches the CPU", push16, false,
		 dev, SF_VAL32);
	run_form("mmio stack forms: push m32 (base + index*4) from a device page matches the CPU",
		 push32_indexed, false, dev, SF_VAL32);
	run_form("mmio stack forms: pop m32 to a device page matches the CPU", pop32, true, dev, 0);
	run_form("mmio stack forms: pop m16 to a device page matches the CPU", pop16, true, dev,
		 SF_SLOT_FILL);
	for (unsigned i = 0; i < SF_RUNS && ok; i++) {
		dev[0] = SF_VAL32 + i;
		push32_dev_stack(dev, base + SF_STACK_OFF, &o);
		ok = o.val == SF_VAL32 + i;
	}
	check(ok, "mmio stack forms: push m32 from a device page with ESP on the device page",
	      "the slot holds %x (want %x)", o.val, SF_VAL32 + SF_RUNS - 1);
}
