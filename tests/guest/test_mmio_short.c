/*
 * What the MMIO short path (mhv's replay of the last device access) must refuse, with the
 * cache on and off: one instruction (the same RIP) reaching two regions in turn, the bytes
 * at the same RIP rewritten between two accesses to the same device page, and the same load
 * with TF set (the single-step trap must follow it).  Paging is off here: the ram regions
 * are reached at their physical addresses.  (A remap of the same linear page is in
 * test_mmio.c, which has the page tables.)
 */
#include "core/hypercall_abi.h"
#include "lib/string.h"
#include "tests/guest/hv.h"
#include "tests/guest/report.h"
#include "tests/guest/tests.h"
#include "tests/guest/trap.h"

#define PAGE_SIZE     4096u
#define MAX_REGIONS   8
#define OFF_SHORT     0x200 /* a word no other test uses */
#define OFF_SHORT_HI  0x208 /* the same page, another word */
#define VAL_R0	      0x5A0A0001u
#define VAL_R1	      0x5A0A0002u
#define VAL_HI	      0x5A0A0003u
#define ROUNDS	      4
#define CODE_LEN      5
#define VAL_TF	      0x5A0A0004u
#define FLAG_TF	      0x100u
#define VEC_DB	      1

/* The one load every call of this runs: the same RIP whatever the address. */
static __attribute__((noinline)) uint32_t load_at(uintptr_t addr)
{
	uint32_t v;

	__asm__ volatile("movl (%1), %0" : "=r"(v) : "r"(addr) : "memory");
	return v;
}

extern char mmio_short_after_tf_load[];

/* One load at one RIP, with TF set just before it when tf is FLAG_TF (into ECX: the trap
 * handler records ECX, so the loaded value is seen even though the trap ends the call). */
static __attribute__((noinline)) uint32_t load_tf(uintptr_t addr, uint32_t tf)
{
	uint32_t v;

	__asm__ volatile("pushfl; orl %2, (%%esp); popfl\n\t"
			 "movl (%1), %0\n\t"
			 ".globl mmio_short_after_tf_load\n"
			 "mmio_short_after_tf_load:\n\t"
			 "pushfl; andl $~0x100, (%%esp); popfl"
			 : "=&c"(v)
			 : "r"(addr), "r"(tf)
			 : "memory", "cc");
	return v;
}

static uintptr_t tf_addr;

static void load_tf_on(void *arg)
{
	(void)arg;
	(void)load_tf(tf_addr, FLAG_TF);
}

/* The load replayed from its RIP, then once with TF: the #DB must come right after it. */
static void test_tf(uintptr_t base)
{
	uint32_t bad = 0;
	struct fault f;

	tf_addr = base + OFF_SHORT_HI;
	*(volatile uint32_t *)tf_addr = VAL_TF;
	for (uint32_t i = 0; i < ROUNDS; i++)
		bad += load_tf(tf_addr, 0) != VAL_TF;
	check_eq("mmio short: the load at one RIP reads the device each time (TF clear)", bad, 0);
	run_catching(load_tf_on, NULL, &f);
	check(f.raised && f.vector == VEC_DB && f.eip == (uint32_t)mmio_short_after_tf_load &&
		      f.ecx == VAL_TF,
	      "mmio short: the same load with TF set: #DB right after it, value loaded",
	      "%s at 0x%x (want #DB at 0x%x), ECX 0x%x", f.raised ? trap_name(f.vector) : "nothing",
	      f.eip, (uint32_t)mmio_short_after_tf_load, f.ecx);
}

static uint8_t code_buf[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));

/* mov eax,[ecx]; nop; nop; ret  and  mov edx,[ecx]; mov eax,edx; ret: same length, same RIP. */
static const uint8_t load_eax[CODE_LEN] = {0x8B, 0x01, 0x90, 0x90, 0xC3};
static const uint8_t load_edx[CODE_LEN] = {0x8B, 0x11, 0x89, 0xD0, 0xC3};

static uint32_t run_code(const uint8_t *code, uintptr_t addr)
{
	uint32_t eax, ecx = addr, edx = 0;

	memcpy(code_buf, code, CODE_LEN);
	__asm__ volatile("call *%[f]"
			 : "=a"(eax), "+c"(ecx), "+d"(edx)
			 : [f] "r"(code_buf)
			 : "memory");
	return eax;
}

static uint32_t ram_regions(uintptr_t *base, uint32_t max)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < MAX_REGIONS && n < max; i++) {
		struct hc_regs r = {.eax = HC_MMIO_REGION, .ebx = i};

		hc_native(&r);
		if (r.eax == (uint32_t)HC_ENOSYS)
			break;
		if (r.ecx == MMIO_TYPE_RAM && r.ebx >= PAGE_SIZE)
			base[n++] = r.eax;
	}
	return n;
}

void test_mmio_short(void)
{
	uintptr_t base[2];
	uint32_t bad = 0, got;

	if (ram_regions(base, 2) < 2) {
		check(false, "mmio short: two ram regions configured", "fewer than two");
		return;
	}
	*(volatile uint32_t *)(base[0] + OFF_SHORT) = VAL_R0;
	*(volatile uint32_t *)(base[1] + OFF_SHORT) = VAL_R1;
	for (uint32_t i = 0; i < ROUNDS; i++) {
		bad += load_at(base[0] + OFF_SHORT) != VAL_R0;
		bad += load_at(base[1] + OFF_SHORT) != VAL_R1;
	}
	check_eq("mmio short: one RIP alternating between two regions reads each one's value",
		 bad, 0);

	*(volatile uint32_t *)(base[0] + OFF_SHORT_HI) = VAL_HI;
	bad = 0;
	for (uint32_t i = 0; i < ROUNDS; i++) /* the repeats: replayable */
		bad += run_code(load_eax, base[0] + OFF_SHORT_HI) != VAL_HI;
	check_eq("mmio short: mov eax,[ecx] from a code buffer reads the device each time", bad,
		 0);
	got = run_code(load_edx, base[0] + OFF_SHORT_HI);
	check_eq("mmio short: bytes rewritten at the same RIP (mov edx,[ecx]) load EDX", got,
		 VAL_HI);
	got = run_code(load_eax, base[0] + OFF_SHORT_HI);
	check_eq("mmio short: and rewritten back (mov eax,[ecx]) load EAX", got, VAL_HI);
	test_tf(base[0]);
	test_mmio_short_mode(base[0]);
	test_mmio_general_entry(base[0]);
}
