/*
 * Hostile guest, a locked instruction's page walk (test_contain_lock_walk.c): a LOCK XADD
 * whose operand is split across two device pages, with the page table that maps both on a
 * device page too.  mhv emulates it: the first piece's read takes the device lock (one locked
 * cycle with its write, mmio/locked_insn.h), then the second page's translation walks the
 * page table, which it reads from the device through the gate, under the same lock.  mhv must
 * not wait for itself there: the instruction completes with both halves read.
 */
#include <stdint.h>

#include "tests/guest/cpu.h"
#include "tests/guest/hv.h"
#include "tests/guest/report.h"
#include "tests/guest/tests.h"

#define LW_PAGE	     4096u
#define LW_PAGES     3u	   /* the page table, then the two pages the operand spans */
#define LW_PDE	     1022u /* 0xFF800000: the 4 MiB below test_paging's window */
#define LW_PDE_SHIFT 22
#define LW_PTE_P     (1u << 0)
#define LW_PTE_RW    (1u << 1)
#define LW_SPLIT     (LW_PAGE - 2) /* two bytes on each page, the first piece aligned */
#define LW_LOW	     0x1234u
#define LW_HIGH	     0x5678u
#define LW_HALF_BITS 16
#define LW_PAGE_MASK 0xFFFu

void test_contain_lock_walk(void)
{
	uint32_t dev = hv_ram_region(LW_PAGES * LW_PAGE), pde, pte0, pte1, got = 0;
	uintptr_t va = (uintptr_t)LW_PDE << LW_PDE_SHIFT;
	volatile uint32_t *pd, *pt;

	if (!dev || !(read_cr0() & CR0_PG)) {
		check(false, "contain lock walk: a ram device region of three pages, paging on",
		      "none");
		return;
	}
	pd = (volatile uint32_t *)(uintptr_t)(read_cr3() & ~LW_PAGE_MASK);
	pt = (volatile uint32_t *)(uintptr_t)dev;
	pte0 = pt[0];
	pte1 = pt[1];
	pt[0] = (dev + LW_PAGE) | LW_PTE_RW | LW_PTE_P;
	pt[1] = (dev + 2 * LW_PAGE) | LW_PTE_RW | LW_PTE_P;
	*(volatile uint16_t *)(uintptr_t)(dev + LW_PAGE + LW_SPLIT) = LW_LOW;
	*(volatile uint16_t *)(uintptr_t)(dev + 2 * LW_PAGE) = LW_HIGH;
	pde = pd[LW_PDE];
	pd[LW_PDE] = dev | LW_PTE_RW | LW_PTE_P;
	write_cr3(read_cr3());

	asm volatile("lock xaddl %0, %1"
		     : "+r"(got), "+m"(*(volatile uint32_t *)(va + LW_SPLIT))
		     :
		     : "memory", "cc");

	pd[LW_PDE] = pde;
	write_cr3(read_cr3());
	pt[0] = pte0;
	pt[1] = pte1;
	check_eq("contain lock walk: LOCK XADD split over two device pages mapped by a page "
		 "table on a device reads both halves",
		 got, LW_LOW | (LW_HIGH << LW_HALF_BITS));
}
