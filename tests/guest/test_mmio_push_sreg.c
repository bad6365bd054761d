/*
 * PUSH ES/CS/SS/DS/FS/GS and CALL ptr16:32 (9A) with ESP inside a device page of an mmio=ram
 * region (mhv emulates them), each against the same instruction with ESP in RAM (the CPU):
 * the stack slots and the ESP change must agree.  A 32-bit PUSH Sreg is where vendors differ
 * (recent Intel cores move 16 bits, AMD stores the selector zero-extended, measured on
 * family 0x19): mhv's emulator follows the vendor CPUID reports, so bytes 2-3 of that slot
 * are checked against the vendor's behaviour instead.  Bochs moves 16 bits whatever model it
 * runs (its ryzen model too): where the CPU on RAM differs from its vendor, a note says so.
 */
#include <stdint.h>

#include "lib/compiler.h"
#include "tests/guest/cpu.h"
#include "tests/guest/report.h"
#include "tests/guest/segments.h"
#include "tests/guest/tests.h"

#define PS_OFF	    0x3b80u /* a stack in the region's last page, away from the other tests */
#define PS_SLOTS    4
#define PS_FILL	    0xa5a5a5a5u
#define CALLF_FLAG  0x5au
#define SEL_MASK    0xffffu
#define AMD_EBX	    0x68747541u /* "Auth" of AuthenticAMD */
#define HYGON_EBX   0x6f677948u /* "Hygo" of HygonGenuine */

#define SREG32_FORMS 6 /* the first six forms below */

struct push_result {
	uint32_t slot[PS_SLOTS]; /* the words below the starting ESP, lowest first */
	uint32_t delta;		 /* bytes ESP moved down */
};

/* One PUSH form at ESP = top (a stack whose PS_SLOTS words below top hold PS_FILL). */
#define PUSH_FN(name, insn)                                                                     \
	static void __attribute__((noinline)) name(uint32_t top, uint32_t *after)               \
	{                                                                                       \
		asm volatile("xchg %%esp, %0\n\t" insn "\n\t"                                   \
			     "xchg %%esp, %0"                                                   \
			     : "+r"(top)                                                        \
			     :                                                                  \
			     : "memory");                                                       \
		*after = top;                                                                   \
	}
PUSH_FN(push_es, "pushl %%es")
PUSH_FN(push_cs, "pushl %%cs")
PUSH_FN(push_ss, "pushl %%ss")
PUSH_FN(push_ds, "pushl %%ds")
PUSH_FN(push_fs, "pushl %%fs")
PUSH_FN(push_gs, "pushl %%gs")
PUSH_FN(push_ds16, "pushw %%ds")
PUSH_FN(push_gs16, "pushw %%gs")

/* CALL SEL_CODE:callf_target (9A) with ESP = top; the callee sets EAX and returns far. */
static void __attribute__((noinline)) call_far_ptr(uint32_t top, uint32_t *after)
{
	uint32_t eax = 0;

	asm volatile("xchg %%esp, %1\n\t"
		     "lcall %[cs], $mmio_callf_target\n\t"
		     "subl $8, %%esp\n\t" /* back over the slots the RETF popped */
		     "xchg %%esp, %1\n\t"
		     "jmp 1f\n"
		     "mmio_callf_target:\n\t"
		     "movl %[flag], %%eax\n\t"
		     "lret\n"
		     "1:"
		     : "+a"(eax), "+r"(top)
		     : [cs] "i"(SEL_CODE), [flag] "i"(CALLF_FLAG)
		     : "memory");
	*after = eax == CALLF_FLAG ? top : 0;
}

static void run(void (*fn)(uint32_t, uint32_t *), volatile uint32_t *stk, struct push_result *r)
{
	uint32_t top = (uint32_t)stk + PS_SLOTS * sizeof(*stk), after; /* one past the slots */

	for (unsigned int i = 0; i < PS_SLOTS; i++)
		stk[i] = PS_FILL;
	fn(top, &after);
	for (unsigned int i = 0; i < PS_SLOTS; i++)
		r->slot[i] = stk[i];
	r->delta = top - after;
}

static bool vendor_amd(void)
{
	uint32_t ebx = cpuid(0).ebx;

	return ebx == AMD_EBX || ebx == HYGON_EBX;
}

/*
 * sreg32: a 32-bit PUSH Sreg, whose top slot's upper half is the vendor's (AMD: 0, Intel:
 * the fill left as it was).
 */
static void compare(const char *what, void (*fn)(uint32_t, uint32_t *), volatile uint32_t *dev,
		    bool sreg32)
{
	static uint32_t ram[PS_SLOTS] __aligned(16);
	struct push_result cpu, emu;
	bool same = true;

	run(fn, ram, &cpu);
	run(fn, dev, &emu);
	if (sreg32) {
		uint32_t top = PS_SLOTS - 1, want = vendor_amd() ? 0 : PS_FILL & ~SEL_MASK;

		if ((cpu.slot[top] & ~SEL_MASK) != want)
			gprintf("guest: mmio push sreg: note: this CPU stores %08x, unlike its "
				"vendor (upper half %08x)\n",
				cpu.slot[top], want);
		same &= (emu.slot[top] & ~SEL_MASK) == want;
		cpu.slot[top] = (cpu.slot[top] & SEL_MASK) | want;
	}
	for (unsigned int i = 0; i < PS_SLOTS; i++)
		same &= cpu.slot[i] == emu.slot[i];
	check(same && cpu.delta == emu.delta && cpu.delta != 0, what,
	      "ESP -%u (CPU -%u), slots %08x %08x (CPU %08x %08x)", emu.delta, cpu.delta,
	      emu.slot[PS_SLOTS - 2], emu.slot[PS_SLOTS - 1], cpu.slot[PS_SLOTS - 2],
	      cpu.slot[PS_SLOTS - 1]);
}

void test_mmio_push_sreg(uint32_t base)
{
	static const struct {
		const char *what;
		void (*fn)(uint32_t, uint32_t *);
	} forms[] = {
		{"mmio push sreg: push es (32-bit) with ESP on a device page matches the vendor",
		 push_es},
		{"mmio push sreg: push cs (32-bit) with ESP on a device page matches the vendor",
		 push_cs},
		{"mmio push sreg: push ss (32-bit) with ESP on a device page matches the vendor",
		 push_ss},
		{"mmio push sreg: push ds (32-bit) with ESP on a device page matches the vendor",
		 push_ds},
		{"mmio push sreg: push fs (32-bit) with ESP on a device page matches the vendor",
		 push_fs},
		{"mmio push sreg: push gs (32-bit) with ESP on a device page matches the vendor",
		 push_gs},
		{"mmio push sreg: push ds (16-bit) with ESP on a device page matches the CPU",
		 push_ds16},
		{"mmio push sreg: push gs (16-bit) with ESP on a device page matches the CPU",
		 push_gs16},
		{"mmio push sreg: call ptr16:32 with ESP on a device page matches the CPU",
		 call_far_ptr},
	};
	volatile uint32_t *dev = (volatile uint32_t *)(base + PS_OFF);

	for (unsigned int i = 0; i < sizeof(forms) / sizeof(forms[0]); i++)
		compare(forms[i].what, forms[i].fn, dev, i < SREG32_FORMS);
}
