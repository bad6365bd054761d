/*
 * The MMIO short path does not read CR0.PE on a hit: it relies on every change of PE dropping
 * its entry (core/mmio_short.c).  This leaves protected mode between two runs of one load at
 * the same RIP, with the same CS (selector, rights, base: real mode keeps the descriptor
 * cache, SDM vol.3 9.9.2), the same bytes and the same device page, and checks that the
 * real-mode run is not replayed: mhv decodes it as real mode does (16-bit), so `mov
 * eax,[edi]` is `mov ax,[bx]` there, the device word's low half into AX.  Nothing but the
 * drop at the CR0 write tells the two runs apart, so a short path that kept the entry would
 * replay the 32-bit load (counted among the short path's hits).
 *
 * Protected mode loads through the flat DS (what the fast path fills from), EDI the device
 * word's address; the real-mode run through a DS based at the device page (loaded in protected
 * mode, kept by real mode), EDI = BX the offset, so that both decodes reach the same word.
 * Paging is off (the guest's state here); interrupts are off while PE is clear.
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
#define GDT_SLOTS    4		   /* null, flat code, flat data, the device data segment */
#define SEL_DEV_DATA (3u << 3)	   /* slot 3 */
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
 */
#define LOW_CODE  0x7000u
#define REAL_OFF  0x10u
#define BLOB_SIZE 0x30u
static const uint8_t blob[BLOB_SIZE] = {
	0x8B, 0x07, 0xC3, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90,
	0x90, 0x0F, 0x20, 0xC1, 0x83, 0xE1, 0xFE, 0x0F, 0x22, 0xC1, 0xFF, 0xD6, 0x83, 0xC9, 0x01,
	0x0F, 0x22, 0xC1, 0xC3,
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

void test_mmio_short_pe(uintptr_t dev_page)
{
	struct table_ptr old, ours = {sizeof(gdt) - 1, (uint32_t)(uintptr_t)gdt};
	bool cache_on = hypercall(HC_MMIO_COUNTER, MMIO_COUNTER_CACHE_ON, 0, 0, NULL) == 1;
	uint32_t bad = 0, got;
	uint64_t before, pm_hits, rm_hits;

	*(volatile uint32_t *)(dev_page + PE_OFF) = PE_VAL;
	for (unsigned i = 0; i < BLOB_SIZE; i++)
		((volatile uint8_t *)LOW_CODE)[i] = blob[i];
	asm volatile("sgdt %0" : "=m"(old));
	for (unsigned i = 0; i < GDT_SLOTS - 1; i++)
		gdt[i] = ((const uint64_t *)(uintptr_t)old.base)[i];
	gdt[GDT_SLOTS - 1] = desc_small((uint32_t)dev_page, 0xFFFF, DATA32_RW) | LIMIT_HI |
			     FLAGS_G_DB << FLAGS_SHIFT;
	asm volatile("lgdt %0" ::"m"(ours));

	before = shorts();
	for (unsigned i = 0; i < PE_ROUNDS; i++) /* the first fills, the others hit */
		bad += call_low(0, 0, SEL_DATA, (uint32_t)dev_page + PE_OFF) != PE_VAL;
	pm_hits = shorts() - before;
	before = shorts();
	got = call_low(REAL_OFF, PE_AX_BEFORE, SEL_DEV_DATA, PE_OFF);
	rm_hits = shorts() - before;
	bad += call_low(0, 0, SEL_DATA, (uint32_t)dev_page + PE_OFF) != PE_VAL; /* and again */
	asm volatile("lgdt %0" ::"m"(old));

	check_eq("mmio short pe: mov eax,[edi] at one RIP in protected mode reads the device",
		 bad, 0);
	check(!cache_on || pm_hits >= PE_ROUNDS - 1,
	      "mmio short pe: the protected-mode repeats are the short path's",
	      "%u of %u replayed", (unsigned)pm_hits, PE_ROUNDS - 1);
	check_eq("mmio short pe: the same bytes, RIP and CS with CR0.PE clear load AX only "
		 "(mov ax,[bx])",
		 got, (PE_AX_BEFORE & 0xFFFF0000u) | (PE_VAL & 0xFFFFu));
	check_eq("mmio short pe: the real-mode run is not replayed (the CR0 write dropped the "
		 "entry)",
		 rm_hits, 0);
}
