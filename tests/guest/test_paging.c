/*
 * Guest paging and INVLPG.  32-bit paging (no PAE): one page directory identity-maps all
 * 4 GiB with 4 MiB pages, except the top 4 MiB (firmware flash: nothing we touch), which a
 * page table of 4 KiB pages turns into a window for remapping tests.
 */
#include <stddef.h>

#include "core/hypercall_abi.h"
#include "tests/guest/cpu.h"
#include "tests/guest/hv.h"
#include "tests/guest/paging32.h"
#include "tests/guest/report.h"
#include "tests/guest/tests.h"
#include "tests/guest/trap.h"

#define WINDOW_PDE    (ENTRIES - 1)
#define WINDOW	      ((uintptr_t)WINDOW_PDE << LARGE_SHIFT)
#define WINDOW_REMAP  0 /* window page indices, one per test */
#define WINDOW_ABSENT 1
#define WINDOW_STALE  2
#define WINDOW_RO     3
#define PATTERN_A     0xAAAA5555
#define PATTERN_B     0x5555AAAA
#define PATTERN_WRITE 0x12345678
#define PF_ERR_P      (1u << 0) /* protection violation (else not present) */
#define PF_ERR_W      (1u << 1) /* write access */

static uint32_t page_dir[ENTRIES] __attribute__((aligned(PAGE_SIZE)));
static uint32_t window_pt[ENTRIES] __attribute__((aligned(PAGE_SIZE)));
static uint32_t frame_a[ENTRIES] __attribute__((aligned(PAGE_SIZE)));
static uint32_t frame_b[ENTRIES] __attribute__((aligned(PAGE_SIZE)));

struct access {
	uintptr_t va;
	uint32_t val;
};

static void do_read(void *arg)
{
	struct access *a = arg;

	a->val = mmio_read32(a->va);
}

static void do_write(void *arg)
{
	const struct access *a = arg;

	mmio_write32(a->va, a->val);
}

static uintptr_t window_va(uint32_t page)
{
	return WINDOW + page * PAGE_SIZE;
}

static void map_window(uint32_t page, const void *frame, uint32_t flags)
{
	window_pt[page] = frame ? ((uint32_t)frame | flags) : 0;
}

static void enable_paging(void)
{
	for (uint32_t i = 0; i < ENTRIES; i++)
		page_dir[i] = (i << LARGE_SHIFT) | PDE_PS | PTE_RW | PTE_P;
	page_dir[WINDOW_PDE] = (uint32_t)window_pt | PTE_RW | PTE_P;

	write_cr4(read_cr4() | CR4_PSE);
	write_cr3((uint32_t)page_dir);
	/* WP: supervisor writes honour read-only pages, which the #PF checks rely on. */
	write_cr0(read_cr0() | CR0_PG | CR0_WP);
}

/* Map frame_a, read it, remap to frame_b: after INVLPG the window must show frame_b. */
static void test_remap(void)
{
	struct access a = {.va = window_va(WINDOW_REMAP)};
	struct fault f;

	frame_a[0] = PATTERN_A;
	frame_b[0] = PATTERN_B;
	map_window(WINDOW_REMAP, frame_a, PTE_RW | PTE_P);
	invlpg(a.va);
	run_catching(do_read, &a, &f);
	check_no_fault("paging: read through a 4 KiB mapping", &f);
	check_eq("paging: 4 KiB page shows its frame", a.val, PATTERN_A);

	map_window(WINDOW_REMAP, frame_b, PTE_RW | PTE_P);
	invlpg(a.va);
	run_catching(do_read, &a, &f);
	check_eq("paging: after remap + INVLPG the page shows the new frame", a.val, PATTERN_B);

	a.val = PATTERN_WRITE;
	run_catching(do_write, &a, &f);
	/* Volatile reads: the compiler cannot see the store through the window alias. */
	check(mmio_read32((uintptr_t)frame_b) == PATTERN_WRITE &&
		      mmio_read32((uintptr_t)frame_a) == PATTERN_A,
	      "paging: write through the remapped page reaches the new frame",
	      "frame_a 0x%x, frame_b 0x%x", mmio_read32((uintptr_t)frame_a),
	      mmio_read32((uintptr_t)frame_b));
}

static void test_page_faults(void)
{
	struct access a = {.va = window_va(WINDOW_ABSENT)};
	struct fault f;

	map_window(WINDOW_ABSENT, NULL, 0);
	invlpg(a.va);
	run_catching(do_read, &a, &f);
	check_fault("paging: read of a not-present page raises #PF", &f, VEC_PF);
	check_eq("paging: #PF CR2 is the faulting address", f.cr2, a.va);
	check_eq("paging: #PF error code for a not-present read", f.errcode, 0);
	run_catching(do_write, &a, &f);
	check_eq("paging: #PF error code for a not-present write", f.errcode, PF_ERR_W);

	a.va = window_va(WINDOW_RO);
	map_window(WINDOW_RO, frame_a, PTE_P);
	invlpg(a.va);
	run_catching(do_write, &a, &f);
	check_fault("paging: write to a read-only page raises #PF (CR0.WP)", &f, VEC_PF);
	check_eq("paging: #PF error code for a protection violation on write", f.errcode,
		 PF_ERR_P | PF_ERR_W);
}

/* A cached translation must go when INVLPG says so, even to a not-present entry. */
static void test_stale(void)
{
	struct access a = {.va = window_va(WINDOW_STALE)};
	uint32_t before = 0;
	struct fault f;

	map_window(WINDOW_STALE, frame_a, PTE_RW | PTE_P);
	invlpg(a.va);
	run_catching(do_read, &a, &f);
	check_no_fault("paging: read fills the TLB", &f);
	map_window(WINDOW_STALE, NULL, 0);
	if (hv_present())
		before = hv_exit_count(EXIT_KIND_INVLPG);
	invlpg(a.va);
	if (hv_present()) {
		uint32_t after = hv_exit_count(EXIT_KIND_INVLPG);

		/* mhv may or may not intercept INVLPG: report, don't judge. */
		gprintf("guest: one INVLPG counted %u INVLPG exits\n", after - before);
	}
	run_catching(do_read, &a, &f);
	check_fault("paging: INVLPG drops the stale translation (#PF)", &f, VEC_PF);
}

void test_paging(void)
{
	enable_paging();
	check_eq("paging: CR0.PG and CR0.WP set", read_cr0() & (CR0_PG | CR0_WP), CR0_PG | CR0_WP);
	check_eq("paging: CR3 reads back the page directory", read_cr3(), (uint32_t)page_dir);
	check_eq("paging: CR4.PSE set", read_cr4() & CR4_PSE, CR4_PSE);
	test_remap();
	test_page_faults();
	test_stale();
}
