/*
 * The MMIO short path across a change of decode mode at the same RIP, bytes and device word:
 *
 * CR0.PE: a hit does not read it, it relies on every change of PE dropping its entry
 * (core/mmio_short.c).  This leaves protected mode between two runs of one load, with the same
 * CS (selector, rights, base: real mode keeps the descriptor cache, SDM vol.3 9.9.2), and
 * checks that the real-mode run is not replayed: mhv decodes it as real mode does (16-bit), so
 * `mov eax,[edi]` is `mov ax,[bx]` there, the device word's low half into AX.  Nothing but the
 * drop at the CR0 write tells the two runs apart, so a short path that kept the entry would
 * replay the 32-bit load (counted among the short path's hits).
 *
 * CS.D: a hit compares CS as the backend's raw selector/rights word (vcpu_ops.cs_key), not a
 * mode derived from it.  The same load is then run from a 16-bit code segment with the same
 * base, at the same RIP: `mov ax,[bx]` again, never the 32-bit replay.
 *
 * Protected mode's 32-bit loads go through the flat DS (what the fast path fills from), EDI
 * the device word's address; the 16-bit ones through a DS based at the device page (loaded in
 * protected mode, kept by real mode), EDI = BX the offset, so that both decodes reach the same
 * word.  Paging is off (the guest's state here); interrupts are off around each call.
 */
#include <stddef.h>

#include "core/hypercall_abi.h"
#include "tests/guest/desc.h"
#include "tests/guest/hv.h"
#include "tests/guest/report.h"
#include "tests/guest/segments.h"
#include "tests/guest/tests.h"

#define PE_OFF	     0x240u /* a word of the device page no other test uses */
#define PE_VAL	     0x5A0B1234u
#define PE_AX_BEFORE 0xA5A50000u /* EAX before the real-mode load: its high half stays */
#define PE_ROUNDS    3
#define GDT_SLOTS    5 /* null, flat code, flat data, the device data segment, 16-bit code */
#define SEL_DEV_DATA (3u << 3)
#define SEL_CODE16   (4u << 3)
#define CODE16_ER    0x9Bu /* present, DPL 0, execute/read code, accessed */
#define LIMIT_64K    0xFFFFu
#define DATA32_RW    0x93u	   /* present, DPL 0, read/write data, accessed */
#define FLAGS_G_DB   0xCull	   /* 4-KiB granularity, 32-bit */
#define FLAGS_SHIFT  52
#define LIMIT_HI     (0xFull << 48) /* limit 0xFFFFF pages: with G, 4 GiB */

/*
 * Below 64 KiB (mhv moves IP as real mode does, within 64 KiB), at LOW_CODE, where
 * test_mmio_rmode and test_contain_fatals run their code too; every instruction does the same
 * whether the CPU runs real mode's code as 16- or 32-bit (CS keeps D=1 from protected mode;
 * the load reaches the same word either way).
 *   +0x00 load:  mov eax,[edi] (8B 07; mhv decodes mov ax,[bx] in real mode); ret
 *   +0x10 real:  mov ecx,cr0; and ecx,~1; mov cr0,ecx; call esi (the load); or cx,1;
 *                mov cr0,ecx; ret (in protected mode again, CS's cache as it was)
 *   +0x30 code16 (entered by a far call into SEL_CODE16): call +0x00 (E8 rel16); o32 retf
 */
#define LOW_CODE    0x7000u
#define REAL_OFF    0x10u
#define CODE16_OFF  0x30u
#define BLOB_SIZE   0x40u
static const uint8_t blob[BLOB_SIZE] = {
	[0] = 0x8B, 0x07, 0xC3,
	[REAL_OFF] = 0x0F, 0x20, 0xC1, 0x83, 0xE1, 0xFE, 0x0F, 0x22, 0xC1, 0xFF, 0xD6, 0x83, 0xC9,
	0x01, 0x0F, 0x22, 0xC1, 0xC3,
	[CODE16_OFF] = 0xE8, 0xCD, 0xFF, 0x66, 0xCB, /* rel16: 0 - (CODE16_OFF + 3) */
};

static uint64_t gdt[GDT_SLOTS] __attribute__((aligned(8)));

static uint64_t shorts(void)
{
	return hypercall(HC_MMIO_COUNTER, MMIO_COUNTER_SHORT, 0, 0, NULL);
}

/* A call into the blob at off, interrupts off, with DS = sel and EDI = EBX = edi; EAX back. */
static uint32_t call_low(uint32_t off, uint32_t eax, uint32_t sel, uint32_t edi)
{
	uint32_t ecx;

	asm volatile("pushfl\n\t"
		     "cli\n\t"
		     "push %%ds\n\t"
		     "movw %w[sel], %%ds\n\t"
		     "call *%[f]\n\t"
		     "pop %%ds\n\t"
		     "popfl"
		     : "+a"(eax), "+D"(edi), "=&c"(ecx)
		     : [sel] "r"(sel), [f] "r"(LOW_CODE + off), "b"(edi), "S"(LOW_CODE)
		     : "memory", "cc");
	return eax;
}

/* A far call to the blob's 16-bit code, DS = the device segment, BX = the offset. */
static uint32_t call_code16(uint32_t eax)
{
	uint32_t bx = PE_OFF;

	asm volatile("pushfl\n\t"
		     "cli\n\t"
		     "push %%ds\n\t"
		     "movw %w[sel], %%ds\n\t"
		     "lcall %[cs], %[ip]\n\t"
		     "pop %%ds\n\t"
		     "popfl"
		     : "+a"(eax), "+b"(bx)
		     : [sel] "r"(SEL_DEV_DATA), [cs] "i"(SEL_CODE16), [ip] "i"(LOW_CODE + CODE16_OFF)
		     : "memory", "cc");
	return eax;
}

/* PE_ROUNDS loads in 32-bit protected mode; how many the short path replayed (bad counted). */
static uint64_t loads_pm(uintptr_t dev_page, uint32_t *bad)
{
	uint64_t before = shorts();

	for (unsigned i = 0; i < PE_ROUNDS; i++) /* the first fills, the others hit */
		*bad += call_low(0, 0, SEL_DATA, (uint32_t)dev_page + PE_OFF) != PE_VAL;
	return shorts() - before;
}

void test_mmio_short_mode(uintptr_t dev_page)
{
	struct table_ptr old, ours = {sizeof(gdt) - 1, (uint32_t)(uintptr_t)gdt};
	bool cache_on = hypercall(HC_MMIO_COUNTER, MMIO_COUNTER_CACHE_ON, 0, 0, NULL) == 1;
	const uint32_t ax_only = (PE_AX_BEFORE & 0xFFFF0000u) | (PE_VAL & 0xFFFFu);
	uint32_t bad = 0, got_rm, got_16;
	uint64_t before, pm_hits, pm_again, rm_hits, c16_hits;

	*(volatile uint32_t *)(dev_page + PE_OFF) = PE_VAL;
	for (unsigned i = 0; i < BLOB_SIZE; i++)
		((volatile uint8_t *)LOW_CODE)[i] = blob[i];
	asm volatile("sgdt %0" : "=m"(old));
	for (unsigned i = 0; i < SEL_DEV_DATA >> 3; i++)
		gdt[i] = ((const uint64_t *)(uintptr_t)old.base)[i];
	gdt[SEL_DEV_DATA >> 3] = desc_small((uint32_t)dev_page, LIMIT_64K, DATA32_RW) | LIMIT_HI |
				 FLAGS_G_DB << FLAGS_SHIFT;
	gdt[SEL_CODE16 >> 3] = desc_small(0, LIMIT_64K, CODE16_ER);
	asm volatile("lgdt %0" ::"m"(ours));

	pm_hits = loads_pm(dev_page, &bad);
	before = shorts();
	got_rm = call_low(REAL_OFF, PE_AX_BEFORE, SEL_DEV_DATA, PE_OFF);
	rm_hits = shorts() - before;
	pm_again = loads_pm(dev_page, &bad); /* the entry filled again, for the 16-bit run */
	before = shorts();
	got_16 = call_code16(PE_AX_BEFORE);
	c16_hits = shorts() - before;
	bad += call_low(0, 0, SEL_DATA, (uint32_t)dev_page + PE_OFF) != PE_VAL;
	asm volatile("lgdt %0" ::"m"(old));

	check_eq("mmio short mode: mov eax,[edi] at one RIP in protected mode reads the device",
		 bad, 0);
	check(!cache_on || (pm_hits >= PE_ROUNDS - 1 && pm_again >= PE_ROUNDS - 1),
	      "mmio short mode: the protected-mode repeats are the short path's",
	      "%u and %u of %u replayed", (unsigned)pm_hits, (unsigned)pm_again, PE_ROUNDS - 1);
	check_eq("mmio short mode: the same bytes, RIP and CS with CR0.PE clear load AX only "
		 "(mov ax,[bx])",
		 got_rm, ax_only);
	check_eq("mmio short mode: the real-mode run is not replayed (the CR0 write dropped the "
		 "entry)",
		 rm_hits, 0);
	check_eq("mmio short mode: the same bytes and RIP from a 16-bit CS with the same base "
		 "load AX only (mov ax,[bx])",
		 got_16, ax_only);
	check_eq("mmio short mode: the 16-bit run is not replayed (CS's rights differ)", c16_hits,
		 0);
}
