/*
 * What the MMIO short path (mhv's replay of the last device access) must refuse, with the
 * cache on and off: one instruction (the same RIP) reaching two regions in turn, and the
 * bytes at the same RIP rewritten between two accesses to the same device page.  Paging is
 * off here: the ram regions are reached at their physical addresses.
 */
#include "core/hypercall_abi.h"
#include "lib/string.h"
#include "tests/guest/hv.h"
#include "tests/guest/report.h"
#include "tests/guest/tests.h"

#define PAGE_SIZE     4096u
#define MAX_REGIONS   8
#define OFF_SHORT     0x200 /* a word no other test uses */
#define OFF_SHORT_HI  0x208 /* the same page, another word */
#define VAL_R0	      0x5A0A0001u
#define VAL_R1	      0x5A0A0002u
#define VAL_HI	      0x5A0A0003u
#define ROUNDS	      4
#define CODE_LEN      5

/* The one load every call of this runs: the same RIP whatever the address. */
static __attribute__((noinline)) uint32_t load_at(uintptr_t addr)
{
	uint32_t v;

	__asm__ volatile("movl (%1), %0" : "=r"(v) : "r"(addr) : "memory");
	return v;
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
}
