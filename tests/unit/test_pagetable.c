/*
 * Host unit tests for mm/pagetable.c.  "Physical" table pages are host pages behind fake
 * physical addresses; the test has its own table decoder and a page -> (pa, flags) model.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/compiler.h"
#include "lib/errno.h"
#include "mm/pagetable.h"
#include "tests/unit/xorshift.h"

#define KiB (1ull << 10)
#define MiB (1ull << 20)
#define GiB (1ull << 30)
#define PG  PT_SIZE_4K

/* ---- fake physical memory for tables -----------------------------------------------------------
 */

#define POOL_PAGES 8192
#define FAKE_BASE  0x0000012300000000ull /* above 4 GiB: table addresses use high bits too */
#define POISON	   0xa5			 /* fresh and freed pages are garbage, not zero */
#define UNLIMITED  (~0u)

struct fake_mem {
	uint64_t *page[POOL_PAGES];
	bool live[POOL_PAGES];
	unsigned freed[POOL_PAGES]; /* stack of reusable slots */
	unsigned nfreed, fresh;
	unsigned budget; /* allocations still allowed */
	unsigned live_count, allocs, frees;
};

static struct fake_mem fm;

static unsigned slot_of(uint64_t pa)
{
	uint64_t idx = (pa - FAKE_BASE) / PG;

	if (pa < FAKE_BASE || pa % PG || idx >= POOL_PAGES || !fm.live[idx])
		fail_msg("table address %#llx is not a live table page", (unsigned long long)pa);
	return (unsigned)idx;
}

static void *fake_virt(void *ctx, uint64_t pa)
{
	assert_ptr_equal(ctx, &fm);
	return fm.page[slot_of(pa)];
}

static uint64_t fake_alloc(void *ctx)
{
	unsigned idx = 0;

	assert_ptr_equal(ctx, &fm);
	if (fm.budget == 0)
		return FRAME_NONE;
	if (fm.budget != UNLIMITED)
		fm.budget--;
	if (fm.nfreed)
		idx = fm.freed[--fm.nfreed];
	else if (fm.fresh < POOL_PAGES)
		idx = fm.fresh++;
	else
		fail_msg("fake table pool exhausted");
	if (!fm.page[idx]) {
		fm.page[idx] = aligned_alloc(PG, PG);
		assert_non_null(fm.page[idx]);
	}
	memset(fm.page[idx], POISON, PG);
	fm.live[idx] = true;
	fm.live_count++;
	fm.allocs++;
	return FAKE_BASE + idx * PG;
}

static void fake_free(void *ctx, uint64_t pa)
{
	unsigned idx;

	assert_ptr_equal(ctx, &fm);
	idx = slot_of(pa);
	memset(fm.page[idx], POISON, PG);
	fm.live[idx] = false;
	fm.live_count--;
	fm.frees++;
	fm.freed[fm.nfreed++] = idx;
}

static const struct pt_mem mem = {fake_virt, fake_alloc, &fm, fake_free};
static const struct pt_mem mem_nofree = {fake_virt, fake_alloc, &fm, NULL};

/* Fresh pool and a cleared root table. */
static uint64_t new_root(void)
{
	uint64_t root;

	for (unsigned i = 0; i < POOL_PAGES; i++) {
		free(fm.page[i]);
		fm.page[i] = NULL;
		fm.live[i] = false;
	}
	fm.nfreed = fm.fresh = fm.live_count = fm.allocs = fm.frees = 0;
	fm.budget = UNLIMITED;
	root = fake_alloc(&fm);
	memset(fake_virt(&fm, root), 0, PG);
	return root;
}

static int teardown_pool(void **state)
{
	(void)state;
	for (unsigned i = 0; i < POOL_PAGES; i++) {
		free(fm.page[i]);
		fm.page[i] = NULL;
		fm.live[i] = false;
	}
	return 0;
}

/* ---- helpers ------------------------------------------------------------------------------------
 */

static struct pt_format x86_1g, x86_no1g, ept_1g, ept_no1g, ept_4k_only;

static int setup_formats(void **state)
{
	(void)state;
	x86_1g = x86_no1g = pt_format_x86;
	ept_1g = ept_no1g = pt_format_ept;
	x86_1g.has_1g = ept_1g.has_1g = true;
	ept_4k_only = pt_format_ept;
	ept_4k_only.has_2m = false; /* EPT_VPID_CAP without bit 16 */
	return 0;
}

struct xlat {
	uint64_t pa, flags;
	unsigned level;
};

static struct xlat look(const struct pt_format *f, uint64_t root, uint64_t va)
{
	struct xlat x = {0, 0, 0};
	int ret = pt_lookup(f, &mem, root, va, &x.pa, &x.flags, &x.level);

	if (ret)
		fail_msg("lookup %#llx: %d", (unsigned long long)va, ret);
	return x;
}

static void expect_map(const struct pt_format *f, uint64_t root, uint64_t va, uint64_t pa,
		       uint64_t flags, unsigned level)
{
	struct xlat x = look(f, root, va);

	if (x.pa != pa || x.flags != flags || x.level != level)
		fail_msg("va %#llx -> pa %#llx flags %#llx level %u; want %#llx %#llx %u",
			 (unsigned long long)va, (unsigned long long)x.pa,
			 (unsigned long long)x.flags, x.level, (unsigned long long)pa,
			 (unsigned long long)flags, level);
}

static void expect_unmapped(const struct pt_format *f, uint64_t root, uint64_t va)
{
	if (pt_lookup(f, &mem, root, va, NULL, NULL, NULL) != -E_NOENT)
		fail_msg("va %#llx should be unmapped", (unsigned long long)va);
}

/* Raw entry at `level` on the way to va (test-side walk; level 4 = PML4). */
static uint64_t raw_entry(uint64_t root, uint64_t va, unsigned level)
{
	uint64_t table = root;

	for (unsigned l = PT_LEVELS;; l--) {
		uint64_t e = ((uint64_t *)fake_virt(&fm, table))[(va >> (12 + 9 * (l - 1))) & 511];

		if (l == level)
			return e;
		table = e & PT_ADDR_MASK;
	}
}

#define X86_RW	   (PTE_P | PTE_RW)
#define X86_TABLE  (PTE_P | PTE_RW | PTE_US)
#define EPT_WB_RWX (EPT_R | EPT_W | EPT_X | EPT_MT_WB)

/* ---- mapping and page-size selection ------------------------------------------------------------
 */

static void test_map_4k_and_lookup_every_level(void **state)
{
	(void)state;
	uint64_t root = new_root();
	const uint64_t va = 0x00007f1234567000ull, pa = 0xabcdef000ull;

	assert_int_equal(pt_map(&x86_1g, &mem, root, va, pa, PG, X86_RW | PTE_NX), 0);
	expect_map(&x86_1g, root, va, pa, X86_RW | PTE_NX, 1);
	expect_map(&x86_1g, root, va + 0x123, pa + 0x123, X86_RW | PTE_NX, 1);
	expect_unmapped(&x86_1g, root, va + PG);
	expect_unmapped(&x86_1g, root, va - PG);
	assert_int_equal(fm.allocs, 4); /* root + PDPT + PD + PT */
	/* Non-leaf entries carry exactly the table flags; the leaf exactly pa | flags. */
	assert_int_equal(raw_entry(root, va, 4) & ~PT_ADDR_MASK, X86_TABLE);
	assert_int_equal(raw_entry(root, va, 3) & ~PT_ADDR_MASK, X86_TABLE);
	assert_int_equal(raw_entry(root, va, 2) & ~PT_ADDR_MASK, X86_TABLE);
	assert_int_equal(raw_entry(root, va, 1), pa | X86_RW | PTE_NX);
}

static void test_map_picks_2m_when_aligned(void **state)
{
	(void)state;
	uint64_t root = new_root();

	assert_int_equal(pt_map(&x86_1g, &mem, root, 4 * MiB, 64 * MiB, 2 * MiB, X86_RW), 0);
	expect_map(&x86_1g, root, 4 * MiB, 64 * MiB, X86_RW, 2);
	expect_map(&x86_1g, root, 6 * MiB - 1, 66 * MiB - 1, X86_RW, 2);
	expect_unmapped(&x86_1g, root, 6 * MiB);
	assert_int_equal(raw_entry(root, 4 * MiB, 2), 64 * MiB | X86_RW | PTE_PS);
	assert_int_equal(fm.allocs, 3);
}

static void test_map_falls_back_to_4k_when_pa_misaligned(void **state)
{
	(void)state;
	uint64_t root = new_root();

	assert_int_equal(pt_map(&x86_1g, &mem, root, 4 * MiB, 64 * MiB + PG, 2 * MiB, X86_RW), 0);
	for (uint64_t off = 0; off < 2 * MiB; off += PG)
		expect_map(&x86_1g, root, 4 * MiB + off, 64 * MiB + PG + off, X86_RW, 1);
	assert_int_equal(fm.allocs, 4);
}

static void test_map_picks_1g_only_when_format_allows(void **state)
{
	(void)state;
	uint64_t root = new_root();

	assert_int_equal(pt_map(&x86_1g, &mem, root, 1 * GiB, 5 * GiB, 1 * GiB, X86_RW), 0);
	expect_map(&x86_1g, root, 1 * GiB, 5 * GiB, X86_RW, 3);
	expect_map(&x86_1g, root, 2 * GiB - PG, 6 * GiB - PG, X86_RW, 3);
	assert_int_equal(raw_entry(root, 1 * GiB, 3), 5 * GiB | X86_RW | PTE_PS);
	assert_int_equal(fm.allocs, 2);

	root = new_root();
	assert_int_equal(pt_map(&x86_no1g, &mem, root, 1 * GiB, 5 * GiB, 1 * GiB, X86_RW), 0);
	for (uint64_t off = 0; off < 1 * GiB; off += 2 * MiB)
		expect_map(&x86_no1g, root, 1 * GiB + off, 5 * GiB + off, X86_RW, 2);
	assert_int_equal(fm.allocs, 3);

	/* EPT takes the same path. */
	root = new_root();
	assert_int_equal(pt_map(&ept_1g, &mem, root, 3 * GiB, 3 * GiB, 1 * GiB, EPT_WB_RWX), 0);
	expect_map(&ept_1g, root, 3 * GiB + 12345, 3 * GiB + 12345, EPT_WB_RWX, 3);
	root = new_root();
	assert_int_equal(pt_map(&ept_no1g, &mem, root, 3 * GiB, 3 * GiB, 1 * GiB, EPT_WB_RWX), 0);
	expect_map(&ept_no1g, root, 3 * GiB + 12345, 3 * GiB + 12345, EPT_WB_RWX, 2);
}

/* A CPU whose EPT has no 2 MiB pages (EPT_VPID_CAP bit 16 clear) gets 4 KiB leaves only, even
 * where 2 MiB and 1 GiB alignment would allow larger ones. */
static void test_map_4k_only_when_2m_not_allowed(void **state)
{
	(void)state;
	uint64_t root = new_root();

	assert_int_equal(pt_map(&ept_4k_only, &mem, root, 1 * GiB, 1 * GiB, 4 * MiB, EPT_WB_RWX),
			 0);
	for (uint64_t off = 0; off < 4 * MiB; off += PG)
		expect_map(&ept_4k_only, root, 1 * GiB + off, 1 * GiB + off, EPT_WB_RWX, 1);
	assert_int_equal(fm.allocs, 5); /* root, PDPT, PD, two page tables */
	/* Splitting and unmapping never create a 2 MiB leaf either. */
	assert_int_equal(pt_unmap(&ept_4k_only, &mem, root, 1 * GiB + 2 * MiB, PG), 0);
	expect_unmapped(&ept_4k_only, root, 1 * GiB + 2 * MiB);
	expect_map(&ept_4k_only, root, 1 * GiB + 2 * MiB + PG, 1 * GiB + 2 * MiB + PG, EPT_WB_RWX,
		   1);
}

static void test_map_mixed_range_uses_largest_pages_piecewise(void **state)
{
	(void)state;
	uint64_t root = new_root();
	/* [1G - 2M - 4K, 2G + 2M + 8K): 4K, 2M, 1G, 2M, 4K, 4K */
	const uint64_t va = 1 * GiB - 2 * MiB - PG, size = 1 * GiB + 4 * MiB + 3 * PG;
	const uint64_t pa = 7 * GiB + va;

	assert_int_equal(pt_map(&x86_1g, &mem, root, va, pa, size, X86_RW), 0);
	expect_map(&x86_1g, root, va, pa, X86_RW, 1);
	expect_map(&x86_1g, root, va + PG, pa + PG, X86_RW, 2);
	expect_map(&x86_1g, root, 1 * GiB, pa + 2 * MiB + PG, X86_RW, 3);
	expect_map(&x86_1g, root, 2 * GiB, pa + 1 * GiB + 2 * MiB + PG, X86_RW, 2);
	expect_map(&x86_1g, root, 2 * GiB + 2 * MiB, pa + 1 * GiB + 4 * MiB + PG, X86_RW, 1);
	expect_map(&x86_1g, root, 2 * GiB + 2 * MiB + PG, pa + 1 * GiB + 4 * MiB + 2 * PG, X86_RW,
		   1);
	expect_unmapped(&x86_1g, root, va - PG);
	expect_unmapped(&x86_1g, root, va + size);
}

static void test_map_upper_half_and_canonical_checks(void **state)
{
	(void)state;
	uint64_t root = new_root();
	const uint64_t kva = 0xffffffff80000000ull;

	assert_int_equal(pt_map(&x86_1g, &mem, root, kva, 2 * MiB, 4 * MiB, X86_RW | PTE_G), 0);
	expect_map(&x86_1g, root, kva + 3 * MiB, 5 * MiB, X86_RW | PTE_G, 2);
	/* The very last page of the address space: the range ends exactly at 2^64. */
	assert_int_equal(pt_map(&x86_1g, &mem, root, 0ull - PG, 0x5000, PG, X86_RW), 0);
	expect_map(&x86_1g, root, 0ull - 1, 0x5fff, X86_RW, 1);
	assert_int_equal(pt_map(&x86_1g, &mem, root, 0ull - PG, 0x5000, 2 * PG, X86_RW), -E_INVAL);
	/* Non-canonical, or crossing the hole from either side. */
	assert_int_equal(pt_map(&x86_1g, &mem, root, 1ull << 47, 0, PG, X86_RW), -E_INVAL);
	assert_int_equal(pt_map(&x86_1g, &mem, root, (1ull << 47) - PG, 0, 2 * PG, X86_RW),
			 -E_INVAL);
	assert_int_equal(pt_map(&x86_1g, &mem, root, 0xffff7ffffffff000ull, 0, 2 * PG, X86_RW),
			 -E_INVAL);
	assert_int_equal(pt_lookup(&x86_1g, &mem, root, 0x0000900000000000ull, NULL, NULL, NULL),
			 -E_INVAL);
	/* The lower half's top page is fine. */
	assert_int_equal(pt_map(&x86_1g, &mem, root, (1ull << 47) - PG, 0, PG, X86_RW), 0);

	/* EPT addresses are guest-physical: [0, 2^48), no upper half. */
	root = new_root();
	assert_int_equal(pt_map(&ept_1g, &mem, root, 1ull << 47, 0, PG, EPT_R), 0);
	expect_map(&ept_1g, root, 1ull << 47, 0, EPT_R, 1);
	assert_int_equal(pt_map(&ept_1g, &mem, root, (1ull << 48) - PG, 0, PG, EPT_R), 0);
	assert_int_equal(pt_map(&ept_1g, &mem, root, (1ull << 48) - PG, 0, 2 * PG, EPT_R),
			 -E_INVAL);
	assert_int_equal(pt_map(&ept_1g, &mem, root, kva, 0, PG, EPT_R), -E_INVAL);
	assert_int_equal(pt_unmap(&ept_1g, &mem, root, kva, PG), -E_INVAL);
	assert_int_equal(pt_lookup(&ept_1g, &mem, root, kva, NULL, NULL, NULL), -E_INVAL);
}

static void test_map_rejects_bad_arguments_without_touching_tables(void **state)
{
	(void)state;
	uint64_t root = new_root();
	const uint64_t max_pa = 1ull << 52;
	struct pt_mem no_alloc = mem;

	no_alloc.alloc_table = NULL;
	assert_int_equal(pt_map(&x86_1g, &mem, root, 0x1800, 0, PG, X86_RW), -E_INVAL);
	assert_int_equal(pt_map(&x86_1g, &mem, root, 0x1000, 0x800, PG, X86_RW), -E_INVAL);
	assert_int_equal(pt_map(&x86_1g, &mem, root, 0x1000, 0, 0x800, X86_RW), -E_INVAL);
	assert_int_equal(pt_map(&x86_1g, &mem, root, 0x1000, max_pa - PG, 2 * PG, X86_RW),
			 -E_INVAL);
	assert_int_equal(pt_map(&x86_1g, &mem, root, 0x1000, max_pa, PG, X86_RW), -E_INVAL);
	assert_int_equal(pt_map(&x86_1g, &mem, root, 0x1000, 0, PG, PTE_RW), -E_INVAL);
	assert_int_equal(pt_map(&x86_1g, &mem, root, 0x1000, 0, PG, X86_RW | 0x5000), -E_INVAL);
	assert_int_equal(pt_map(&x86_1g, &mem, root, 0x1000, 0, PG, X86_RW | PTE_PAT_LARGE),
			 -E_INVAL);
	assert_int_equal(pt_map(&ept_1g, &mem, root, 0x1000, 0, PG, EPT_R | EPT_LARGE), -E_INVAL);
	assert_int_equal(pt_map(&ept_1g, &mem, root, 0x1000, 0, PG, EPT_MT_WB), -E_INVAL);
	assert_int_equal(pt_map(&x86_1g, &mem, root + 8, 0x1000, 0, PG, X86_RW), -E_INVAL);
	assert_int_equal(pt_map(NULL, &mem, root, 0x1000, 0, PG, X86_RW), -E_INVAL);
	assert_int_equal(pt_map(&x86_1g, NULL, root, 0x1000, 0, PG, X86_RW), -E_INVAL);
	assert_int_equal(pt_map(&x86_1g, &no_alloc, root, 0x1000, 0, PG, X86_RW), -E_INVAL);
	assert_int_equal(pt_unmap(&x86_1g, &mem, root, 0x1000, 0x10), -E_INVAL);
	assert_int_equal(pt_unmap(&x86_1g, &mem, root, 0x1001, PG), -E_INVAL);
	/* Empty ranges are a no-op. */
	assert_int_equal(pt_map(&x86_1g, &mem, root, 0x1000, 0, 0, X86_RW), 0);
	assert_int_equal(pt_unmap(&x86_1g, &mem, root, 0x1000, 0), 0);
	assert_int_equal(fm.allocs, 1); /* only the root */
	for (unsigned i = 0; i < PT_ENTRIES; i++)
		assert_int_equal(((uint64_t *)fake_virt(&fm, root))[i], 0);
}

static void test_map_overwrites_existing_leaf(void **state)
{
	(void)state;
	uint64_t root = new_root();

	assert_int_equal(pt_map(&x86_1g, &mem, root, 0x40000, 0x1000000, 4 * PG, X86_RW), 0);
	assert_int_equal(pt_map(&x86_1g, &mem, root, 0x41000, 0x2000000, 2 * PG, PTE_P | PTE_NX),
			 0);
	expect_map(&x86_1g, root, 0x40000, 0x1000000, X86_RW, 1);
	expect_map(&x86_1g, root, 0x41000, 0x2000000, PTE_P | PTE_NX, 1);
	expect_map(&x86_1g, root, 0x42000, 0x2001000, PTE_P | PTE_NX, 1);
	expect_map(&x86_1g, root, 0x43000, 0x1003000, X86_RW, 1);
	assert_int_equal(fm.allocs, 4);
}

static void test_large_map_over_tables_replaces_and_frees_them(void **state)
{
	(void)state;
	uint64_t root = new_root();

	assert_int_equal(pt_map(&x86_1g, &mem, root, 1 * GiB + 6 * MiB, 0, 3 * PG, X86_RW), 0);
	assert_int_equal(pt_map(&x86_1g, &mem, root, 1 * GiB + 8 * MiB, 0, PG, X86_RW), 0);
	assert_int_equal(fm.live_count, 5); /* root, PDPT, PD, two PTs */
	assert_int_equal(pt_map(&x86_1g, &mem, root, 1 * GiB, 0, 1 * GiB, X86_RW), 0);
	expect_map(&x86_1g, root, 1 * GiB + 6 * MiB, 6 * MiB, X86_RW, 3);
	assert_int_equal(fm.frees, 3); /* the PD and both PTs below it */
	assert_int_equal(fm.live_count, 2);

	/* Without free_table the tables are simply dropped. */
	root = new_root();
	assert_int_equal(pt_map(&x86_1g, &mem_nofree, root, 6 * MiB, 0, PG, X86_RW), 0);
	assert_int_equal(pt_map(&x86_1g, &mem_nofree, root, 0, 0, 1 * GiB, X86_RW), 0);
	expect_map(&x86_1g, root, 6 * MiB, 6 * MiB, X86_RW, 3);
	assert_int_equal(fm.frees, 0);
}

/* ---- leaf bits of both formats ------------------------------------------------------------------
 */

static void test_x86_pat_bit_moves_to_bit12_in_large_leaves(void **state)
{
	(void)state;
	uint64_t root = new_root();
	const uint64_t flags = X86_RW | PTE_PAT | PTE_PWT;

	assert_int_equal(pt_map(&x86_1g, &mem, root, 2 * MiB, 8 * MiB, 2 * MiB, flags), 0);
	assert_int_equal(raw_entry(root, 2 * MiB, 2),
			 8 * MiB | X86_RW | PTE_PWT | PTE_PS | PTE_PAT_LARGE);
	expect_map(&x86_1g, root, 2 * MiB, 8 * MiB, flags, 2);

	/* Split by a 4K map: the other 511 leaves get PAT back at bit 7 and no PS. */
	assert_int_equal(pt_map(&x86_1g, &mem, root, 3 * MiB, 0x7000, PG, X86_RW), 0);
	assert_int_equal(raw_entry(root, 2 * MiB + PG, 1), (8 * MiB + PG) | flags);
	assert_int_equal(raw_entry(root, 3 * MiB, 1), 0x7000 | X86_RW);
	expect_map(&x86_1g, root, 4 * MiB - PG, 10 * MiB - PG, flags, 1);

	/* A 1G leaf split into 2M leaves keeps PAT at bit 12. */
	root = new_root();
	assert_int_equal(pt_map(&x86_1g, &mem, root, 1 * GiB, 1 * GiB, 1 * GiB, flags), 0);
	assert_int_equal(raw_entry(root, 1 * GiB, 3),
			 1 * GiB | X86_RW | PTE_PWT | PTE_PS | PTE_PAT_LARGE);
	assert_int_equal(pt_unmap(&x86_1g, &mem, root, 1 * GiB, PG), 0);
	assert_int_equal(raw_entry(root, 1 * GiB + 2 * MiB, 2),
			 (1 * GiB + 2 * MiB) | X86_RW | PTE_PWT | PTE_PS | PTE_PAT_LARGE);
	assert_int_equal(raw_entry(root, 1 * GiB + PG, 1), (1 * GiB + PG) | flags);
	expect_map(&x86_1g, root, 2 * GiB - PG, 2 * GiB - PG, flags, 2);
}

static void test_ept_leaf_and_table_bits(void **state)
{
	(void)state;
	uint64_t root = new_root();
	const uint64_t leaf = EPT_R | EPT_X | EPT_MT_WB | EPT_IGNORE_PAT | EPT_SUPPRESS_VE;

	assert_int_equal(pt_map(&ept_1g, &mem, root, 2 * MiB, 2 * MiB, 2 * MiB, leaf), 0);
	assert_int_equal(raw_entry(root, 2 * MiB, 4) & ~PT_ADDR_MASK, EPT_RWX);
	assert_int_equal(raw_entry(root, 2 * MiB, 3) & ~PT_ADDR_MASK, EPT_RWX);
	assert_int_equal(raw_entry(root, 2 * MiB, 2), 2 * MiB | leaf | EPT_LARGE);
	expect_map(&ept_1g, root, 2 * MiB, 2 * MiB, leaf, 2);

	/* 4K EPT leaves have no bit 7 and no bit 12 games. */
	assert_int_equal(pt_map(&ept_1g, &mem, root, 0x1000, 0xfee00000, PG, EPT_R | EPT_W), 0);
	assert_int_equal(raw_entry(root, 0x1000, 1), 0xfee00000 | EPT_R | EPT_W | EPT_MT_UC);
	/* Execute-only counts as present. */
	assert_int_equal(pt_map(&ept_1g, &mem, root, 0x2000, 0x3000, PG, EPT_X), 0);
	expect_map(&ept_1g, root, 0x2000, 0x3000, EPT_X, 1);

	/* Splitting an EPT large page keeps memory type and ignore-PAT on every piece. */
	assert_int_equal(pt_unmap(&ept_1g, &mem, root, 3 * MiB, PG), 0);
	assert_int_equal(raw_entry(root, 3 * MiB + PG, 1), (3 * MiB + PG) | leaf);
	expect_unmapped(&ept_1g, root, 3 * MiB);

	/* x86 with the same address: P|RW only, never EPT semantics. */
	root = new_root();
	assert_int_equal(
		pt_map(&x86_1g, &mem, root, 0x1000, 0xfee00000, PG, X86_RW | PTE_PCD | PTE_PWT), 0);
	assert_int_equal(raw_entry(root, 0x1000, 1), 0xfee00000 | X86_RW | PTE_PCD | PTE_PWT);
}

/* ---- splitting ----------------------------------------------------------------------------------
 */

/* Every page of [va, va + size) except `skip` still maps linearly to pa with flags. */
static void expect_linear_except(const struct pt_format *f, uint64_t root, uint64_t va, uint64_t pa,
				 uint64_t size, uint64_t flags, uint64_t skip, uint64_t skip_size)
{
	for (uint64_t off = 0; off < size; off += PG) {
		struct xlat x;

		if (va + off >= skip && va + off < skip + skip_size)
			continue;
		x = look(f, root, va + off);
		if (x.pa != pa + off || x.flags != flags)
			fail_msg("va %#llx -> %#llx flags %#llx; want %#llx %#llx",
				 (unsigned long long)(va + off), (unsigned long long)x.pa,
				 (unsigned long long)x.flags, (unsigned long long)(pa + off),
				 (unsigned long long)flags);
	}
}

static void test_split_1g_by_4k_map_keeps_the_rest(void **state)
{
	(void)state;
	uint64_t root = new_root();
	const uint64_t flags = X86_RW | PTE_NX | PTE_G;
	const uint64_t hit = 1 * GiB + 5 * MiB + 3 * PG;

	assert_int_equal(pt_map(&x86_1g, &mem, root, 1 * GiB, 9 * GiB, 1 * GiB, flags), 0);
	assert_int_equal(pt_map(&x86_1g, &mem, root, hit, 0x77000, PG, PTE_P), 0);
	expect_map(&x86_1g, root, hit, 0x77000, PTE_P, 1);
	expect_linear_except(&x86_1g, root, 1 * GiB, 9 * GiB, 1 * GiB, flags, hit, PG);
	/* Only the 2M block holding the new page went down to 4K. */
	expect_map(&x86_1g, root, hit - PG, 9 * GiB + 5 * MiB + 2 * PG, flags, 1);
	expect_map(&x86_1g, root, 1 * GiB + 2 * MiB, 9 * GiB + 2 * MiB, flags, 2);
	expect_map(&x86_1g, root, 1 * GiB + 6 * MiB, 9 * GiB + 6 * MiB, flags, 2);
	assert_int_equal(fm.allocs, 4); /* root, PDPT, split PD, split PT */
}

static void test_split_2m_by_4k_map_keeps_the_rest(void **state)
{
	(void)state;
	uint64_t root = new_root();

	assert_int_equal(pt_map(&ept_no1g, &mem, root, 6 * MiB, 6 * MiB, 4 * MiB, EPT_WB_RWX), 0);
	assert_int_equal(pt_map(&ept_no1g, &mem, root, 8 * MiB - PG, 0x5000, PG, EPT_R), 0);
	expect_map(&ept_no1g, root, 8 * MiB - PG, 0x5000, EPT_R, 1);
	expect_linear_except(&ept_no1g, root, 6 * MiB, 6 * MiB, 4 * MiB, EPT_WB_RWX, 8 * MiB - PG,
			     PG);
	expect_map(&ept_no1g, root, 8 * MiB, 8 * MiB, EPT_WB_RWX, 2);
}

static void test_split_1g_by_unmap_keeps_the_rest(void **state)
{
	(void)state;
	uint64_t root = new_root();
	const uint64_t hole = 3 * GiB + 511 * MiB; /* unaligned to 2M: 2M block split too */

	assert_int_equal(pt_map(&ept_1g, &mem, root, 3 * GiB, 3 * GiB, 1 * GiB, EPT_WB_RWX), 0);
	assert_int_equal(pt_unmap(&ept_1g, &mem, root, hole, 3 * PG), 0);
	for (uint64_t p = hole; p < hole + 3 * PG; p += PG)
		expect_unmapped(&ept_1g, root, p);
	expect_linear_except(&ept_1g, root, 3 * GiB, 3 * GiB, 1 * GiB, EPT_WB_RWX, hole, 3 * PG);
}

static void test_unmap_punches_hole_and_splits_only_at_the_edges(void **state)
{
	(void)state;
	uint64_t root = new_root();

	/* 8M mapped with 2M pages; unmap [3M, 7M): two 2M blocks split, [4M, 6M) just cleared. */
	assert_int_equal(pt_map(&x86_no1g, &mem, root, 0, 0, 8 * MiB, X86_RW), 0);
	assert_int_equal(pt_unmap(&x86_no1g, &mem, root, 3 * MiB, 4 * MiB), 0);
	assert_int_equal(fm.allocs, 3 + 2);
	for (uint64_t va = 3 * MiB; va < 7 * MiB; va += PG)
		expect_unmapped(&x86_no1g, root, va);
	expect_map(&x86_no1g, root, 3 * MiB - PG, 3 * MiB - PG, X86_RW, 1);
	expect_map(&x86_no1g, root, 7 * MiB, 7 * MiB, X86_RW, 1);
	expect_map(&x86_no1g, root, 0, 0, X86_RW, 2);
	expect_map(&x86_no1g, root, 8 * MiB - 1, 8 * MiB - 1, X86_RW, 1);
	expect_map(&x86_no1g, root, 2 * MiB, 2 * MiB, X86_RW, 1);
	assert_int_equal(raw_entry(root, 4 * MiB, 2), 0);
}

static void test_unmap_of_unmapped_space_allocates_nothing(void **state)
{
	(void)state;
	uint64_t root = new_root();

	assert_int_equal(pt_unmap(&x86_1g, &mem, root, 0, 1ull << 47), 0);
	assert_int_equal(pt_unmap(&x86_1g, &mem, root, 0x5000, 3 * PG), 0);
	assert_int_equal(fm.allocs, 1);
	assert_int_equal(pt_map(&x86_1g, &mem, root, 0x5000, 0x5000, PG, X86_RW), 0);
	assert_int_equal(pt_unmap(&x86_1g, &mem, root, 0x2000, 2 * MiB), 0);
	expect_unmapped(&x86_1g, root, 0x5000);
	assert_int_equal(fm.allocs, 4);
	/* Unmapping all of the lower half frees every table below the root. */
	assert_int_equal(pt_unmap(&x86_1g, &mem, root, 0, 1ull << 47), 0);
	assert_int_equal(fm.live_count, 1);
}

/* ---- allocation failure -------------------------------------------------------------------------
 */

static void test_alloc_failure_midway_keeps_tables_consistent(void **state)
{
	(void)state;
	uint64_t root = new_root();
	/* [2M - 8K, 4M + 8K) with pa offset by 4K: all 4K pages, needing PDPT, PD and 3 PTs. */
	const uint64_t va = 2 * MiB - 2 * PG, pa = 0x10001000, size = 2 * MiB + 4 * PG;
	uint64_t done = 0;

	fm.budget = 3; /* PDPT, PD, first PT: the second PT fails */
	assert_int_equal(pt_map(&x86_1g, &mem, root, va, pa, size, X86_RW), -E_NOMEM);
	for (uint64_t off = 0; off < size; off += PG) {
		uint64_t got;

		if (pt_lookup(&x86_1g, &mem, root, va + off, &got, NULL, NULL) == 0) {
			assert_int_equal(off, done); /* mapped pages form a prefix */
			assert_int_equal(got, pa + off);
			done += PG;
		}
	}
	assert_int_equal(done, 2 * PG);
	assert_int_equal(fm.live_count, 4);

	fm.budget = UNLIMITED;
	assert_int_equal(pt_map(&x86_1g, &mem, root, va, pa, size, X86_RW), 0);
	expect_linear_except(&x86_1g, root, va, pa, size, X86_RW, 0, 0);

	/* A split that cannot get its table leaves the large page whole. */
	root = new_root();
	assert_int_equal(pt_map(&x86_1g, &mem, root, 0, 0, 1 * GiB, X86_RW), 0);
	fm.budget = 0;
	assert_int_equal(pt_unmap(&x86_1g, &mem, root, 4 * MiB, PG), -E_NOMEM);
	assert_int_equal(pt_map(&x86_1g, &mem, root, 4 * MiB, 0, PG, X86_RW), -E_NOMEM);
	expect_map(&x86_1g, root, 4 * MiB, 4 * MiB, X86_RW, 3);
	/* One table is enough to split 1G into 2M, not to reach 4K. */
	fm.budget = 1;
	assert_int_equal(pt_unmap(&x86_1g, &mem, root, 4 * MiB, PG), -E_NOMEM);
	expect_map(&x86_1g, root, 4 * MiB, 4 * MiB, X86_RW, 2);
	expect_linear_except(&x86_1g, root, 0, 0, 1 * GiB, X86_RW, 0, 0);
}

static uint64_t bad_alloc(void *ctx)
{
	(void)ctx;
	return 1ull << 52;
}

static void test_alloc_returning_unusable_address_is_refused(void **state)
{
	(void)state;
	uint64_t root = new_root();
	struct pt_mem m = {fake_virt, bad_alloc, &fm, NULL};

	assert_int_equal(pt_map(&x86_1g, &m, root, 0, 0, PG, X86_RW), -E_FAULT);
	for (unsigned i = 0; i < PT_ENTRIES; i++)
		assert_int_equal(((uint64_t *)fake_virt(&fm, root))[i], 0);
}

/* ---- identity map with a hole -------------------------------------------------------------------
 */

static void identity_4g_with_hole(const struct pt_format *f, uint64_t flags, unsigned big)
{
	uint64_t root = new_root();
	const uint64_t hole = 2 * GiB + 0x123000, hole_size = 5 * PG;

	assert_int_equal(pt_map(f, &mem, root, 0, 0, 4 * GiB, flags), 0);
	assert_int_equal(pt_unmap(f, &mem, root, hole, hole_size), 0);
	for (uint64_t va = hole; va < hole + hole_size; va += PG)
		expect_unmapped(f, root, va);
	expect_map(f, root, hole - PG, hole - PG, flags, 1);
	expect_map(f, root, hole - 1, hole - 1, flags, 1);
	expect_map(f, root, hole + hole_size, hole + hole_size, flags, 1);
	expect_map(f, root, 2 * GiB, 2 * GiB, flags, 1); /* same 2M block */
	expect_map(f, root, 2 * GiB + 2 * MiB, 2 * GiB + 2 * MiB, flags, 2);
	expect_map(f, root, 2 * GiB - PG, 2 * GiB - PG, flags, big);
	expect_map(f, root, 3 * GiB, 3 * GiB, flags, big);
	expect_map(f, root, 4 * GiB - 1, 4 * GiB - 1, flags, big);
	expect_map(f, root, 0, 0, flags, big);
	expect_unmapped(f, root, 4 * GiB);
	/* Spot-check the whole 1G that was split, every 2M block's first and last page. */
	for (uint64_t va = 2 * GiB; va < 3 * GiB; va += 2 * MiB) {
		if (va != 2 * GiB)
			expect_map(f, root, va, va, flags, 2);
		expect_map(f, root, va + 2 * MiB - PG, va + 2 * MiB - PG, flags,
			   va == 2 * GiB ? 1 : 2);
	}
}

static void test_identity_4g_with_hole_punched_x86_1g(void **state)
{
	(void)state;
	identity_4g_with_hole(&x86_1g, X86_RW | PTE_US, 3);
	assert_int_equal(fm.live_count, 4); /* root, PDPT, PD, PT */
}

static void test_identity_4g_with_hole_punched_ept_2m(void **state)
{
	(void)state;
	identity_4g_with_hole(&ept_no1g, EPT_WB_RWX, 2);
	assert_int_equal(fm.live_count, 1 + 1 + 4 + 1); /* root, PDPT, 4 PDs, PT */
}

/* ---- randomized: against a page -> (pa, flags) model
 * --------------------------------------------- */

#define WIN_BASE   (1 * GiB)
#define WIN_SIZE   (2 * GiB)
#define WIN_PAGES  (WIN_SIZE / PG)
#define RAND_OPS   400
#define RAND_SEED  0x70616765746162ull
#define FAIL_ODDS  3 /* one op in FAIL_ODDS runs with a tiny table budget */
#define MAX_BUDGET 1

static uint64_t rng_state;

static uint64_t rnd(uint64_t n)
{
	return xorshift64s_below(&rng_state, n);
}

struct page_model {
	uint64_t pa[WIN_PAGES];
	uint64_t flags[WIN_PAGES]; /* 0 = unmapped */
};

static struct page_model model, actual;
static unsigned reachable_tables;
static bool decode_is_ept;

/* Test-side decoder: fills `actual` from the tables without using pagetable.c. */
static void decode(uint64_t table, unsigned level, uint64_t va_base)
{
	const uint64_t *t = fake_virt(&fm, table);

	reachable_tables++;
	for (unsigned i = 0; i < 512; i++) {
		uint64_t e = t[i], span = PG << (9 * (level - 1)), va = va_base + i * span, flags;

		if (!(e & (decode_is_ept ? 7 : 1)))
			continue;
		if (level > 1 && !(level <= 3 && (e & (1ull << 7)))) {
			decode(e & PT_ADDR_MASK, level - 1, va);
			continue;
		}
		if (va < WIN_BASE || va + span > WIN_BASE + WIN_SIZE)
			fail_msg("leaf at %#llx (level %u) outside the window",
				 (unsigned long long)va, level);
		flags = e & ~PT_ADDR_MASK;
		if (level > 1) {
			flags &= ~(1ull << 7);
			if (!decode_is_ept && (e & (1ull << 12)))
				flags |= 1ull << 7;
		}
		for (uint64_t off = 0; off < span; off += PG) {
			uint64_t p = (va - WIN_BASE + off) / PG;

			actual.pa[p] = (e & PT_ADDR_MASK & ~(span - 1)) + off;
			actual.flags[p] = flags;
		}
	}
}

static void decode_all(uint64_t root)
{
	memset(&actual, 0, sizeof(actual));
	reachable_tables = 0;
	decode(root, 4, 0);
	/* Nothing leaked, nothing freed too early. */
	assert_int_equal(reachable_tables, fm.live_count);
}

/* Does page p of `actual` have the state an op wanted to give it (flags 0: unmapped)? */
static bool same_as_new(uint64_t p, uint64_t pa, uint64_t flags)
{
	return actual.flags[p] == flags && (!flags || actual.pa[p] == pa);
}

/* Largest leaf pt_map may pick at (va, pa) with `left` bytes to go. */
static uint64_t greedy_step(const struct pt_format *f, uint64_t va, uint64_t pa, uint64_t left)
{
	if (f->has_1g && (va | pa) % GiB == 0 && left >= GiB)
		return GiB;
	if (f->has_2m && (va | pa) % (2 * MiB) == 0 && left >= 2 * MiB)
		return 2 * MiB;
	return PG;
}

static unsigned level_of(uint64_t step)
{
	return step == GiB ? 3 : step == 2 * MiB ? 2 : 1;
}

/* A random page-aligned size/offset at a random granularity, so all page sizes get hit. */
static uint64_t rnd_gran(void)
{
	static const uint64_t gran[] = {PG, PG, 2 * MiB, 2 * MiB, 1 * GiB};

	return gran[rnd(ARRAY_SIZE(gran))];
}

static void random_against_model(const struct pt_format *f, const uint64_t *flag_set,
				 unsigned nflags)
{
	uint64_t root = new_root();
	unsigned maps = 0, unmaps = 0, failures = 0;

	memset(&model, 0, sizeof(model));
	decode_is_ept = f->present_mask != PTE_P;
	rng_state = RAND_SEED;
	for (unsigned op = 0; op < RAND_OPS; op++) {
		uint64_t g = rnd_gran();
		uint64_t va = WIN_BASE + rnd(WIN_SIZE / g) * g + (rnd(4) ? 0 : rnd(16) * PG);
		uint64_t size = (1 + rnd(g == GiB ? 1 : 5)) * g + (rnd(3) ? 0 : rnd(8) * PG);
		uint64_t pa = rnd(1ull << 28) * g % (1ull << 40) + (rnd(4) ? 0 : rnd(4) * PG);
		uint64_t flags = flag_set[rnd(nflags)];
		bool do_map = rnd(3) != 0;
		uint64_t first = (va - WIN_BASE) / PG, n, k;
		int ret;

		if (va >= WIN_BASE + WIN_SIZE)
			continue;
		size = MIN(size, WIN_BASE + WIN_SIZE - va);
		n = size / PG;
		fm.budget = rnd(FAIL_ODDS) ? UNLIMITED : (unsigned)rnd(MAX_BUDGET + 1);
		ret = do_map ? pt_map(f, &mem, root, va, pa, size, flags)
			     : pt_unmap(f, &mem, root, va, size);
		fm.budget = UNLIMITED;
		if (ret && ret != -E_NOMEM)
			fail_msg("op %u: %s returned %d", op, do_map ? "map" : "unmap", ret);
		decode_all(root);

		/*
		 * Pages [first, first + k) must have the op's new state, all others the old one:
		 * k = n on success, and on failure the tables must show some such prefix.
		 */
		k = n;
		if (ret) {
			failures++;
			for (k = 0;
			     k < n && same_as_new(first + k, pa + k * PG, do_map ? flags : 0);
			     k++) {
			}
		}
		for (uint64_t p = 0; p < WIN_PAGES; p++) {
			bool is_new = p >= first && p < first + k;
			uint64_t want_pa = is_new ? pa + (p - first) * PG : model.pa[p];
			uint64_t want_flags = is_new ? (do_map ? flags : 0) : model.flags[p];

			if (actual.flags[p] != want_flags ||
			    (want_flags && actual.pa[p] != want_pa))
				fail_msg("op %u (%s va %#llx size %#llx, ret %d, k %llu): page "
					 "%#llx has pa %#llx flags %#llx, want %#llx %#llx",
					 op, do_map ? "map" : "unmap", (unsigned long long)va,
					 (unsigned long long)size, ret, (unsigned long long)k,
					 (unsigned long long)(WIN_BASE + p * PG),
					 (unsigned long long)actual.pa[p],
					 (unsigned long long)actual.flags[p],
					 (unsigned long long)want_pa,
					 (unsigned long long)want_flags);
		}
		memcpy(&model.pa[first], &actual.pa[first], n * sizeof(model.pa[0]));
		memcpy(&model.flags[first], &actual.flags[first], n * sizeof(model.flags[0]));

		/* A complete map used the largest pages possible, and pt_lookup agrees. */
		if (do_map && !ret) {
			maps++;
			for (uint64_t off = 0; off < size;) {
				uint64_t step = greedy_step(f, va + off, pa + off, size - off);

				expect_map(f, root, va + off, pa + off, flags, level_of(step));
				off += step;
			}
		} else if (!ret) {
			unmaps++;
		}
		/* Spot-check pt_lookup against the model anywhere in the window. */
		for (unsigned i = 0; i < 32; i++) {
			uint64_t p = rnd(WIN_PAGES), byte = rnd(PG);

			if (model.flags[p])
				expect_map(f, root, WIN_BASE + p * PG + byte, model.pa[p] + byte,
					   model.flags[p], look(f, root, WIN_BASE + p * PG).level);
			else
				expect_unmapped(f, root, WIN_BASE + p * PG + byte);
		}
	}
	assert_true(maps > RAND_OPS / 3);
	assert_true(unmaps > RAND_OPS / 8);
	assert_true(failures > RAND_OPS / 40);
}

static void test_random_x86_1g_against_page_model(void **state)
{
	(void)state;
	static const uint64_t flags[] = {
		PTE_P,
		X86_RW,
		X86_RW | PTE_NX,
		X86_RW | PTE_US | PTE_PCD | PTE_PWT,
		X86_RW | PTE_PAT,
		PTE_P | PTE_PAT | PTE_PCD | PTE_G | PTE_A | PTE_D | PTE_NX,
	};

	random_against_model(&x86_1g, flags, ARRAY_SIZE(flags));
}

static void test_random_ept_2m_against_page_model(void **state)
{
	(void)state;
	static const uint64_t flags[] = {
		EPT_R,	    EPT_R | EPT_W,
		EPT_WB_RWX, EPT_R | EPT_X | EPT_MT_UC,
		EPT_X,	    EPT_WB_RWX | EPT_IGNORE_PAT | EPT_SUPPRESS_VE,
	};

	random_against_model(&ept_no1g, flags, ARRAY_SIZE(flags));
}

static void test_random_ept_4k_only_against_page_model(void **state)
{
	(void)state;
	static const uint64_t flags[] = {EPT_R, EPT_WB_RWX, EPT_R | EPT_X | EPT_MT_UC};

	random_against_model(&ept_4k_only, flags, ARRAY_SIZE(flags));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map_4k_and_lookup_every_level),
		cmocka_unit_test(test_map_picks_2m_when_aligned),
		cmocka_unit_test(test_map_falls_back_to_4k_when_pa_misaligned),
		cmocka_unit_test(test_map_picks_1g_only_when_format_allows),
		cmocka_unit_test(test_map_4k_only_when_2m_not_allowed),
		cmocka_unit_test(test_map_mixed_range_uses_largest_pages_piecewise),
		cmocka_unit_test(test_map_upper_half_and_canonical_checks),
		cmocka_unit_test(test_map_rejects_bad_arguments_without_touching_tables),
		cmocka_unit_test(test_map_overwrites_existing_leaf),
		cmocka_unit_test(test_large_map_over_tables_replaces_and_frees_them),
		cmocka_unit_test(test_x86_pat_bit_moves_to_bit12_in_large_leaves),
		cmocka_unit_test(test_ept_leaf_and_table_bits),
		cmocka_unit_test(test_split_1g_by_4k_map_keeps_the_rest),
		cmocka_unit_test(test_split_2m_by_4k_map_keeps_the_rest),
		cmocka_unit_test(test_split_1g_by_unmap_keeps_the_rest),
		cmocka_unit_test(test_unmap_punches_hole_and_splits_only_at_the_edges),
		cmocka_unit_test(test_unmap_of_unmapped_space_allocates_nothing),
		cmocka_unit_test(test_alloc_failure_midway_keeps_tables_consistent),
		cmocka_unit_test(test_alloc_returning_unusable_address_is_refused),
		cmocka_unit_test(test_identity_4g_with_hole_punched_x86_1g),
		cmocka_unit_test(test_identity_4g_with_hole_punched_ept_2m),
		cmocka_unit_test(test_random_x86_1g_against_page_model),
		cmocka_unit_test(test_random_ept_2m_against_page_model),
		cmocka_unit_test(test_random_ept_4k_only_against_page_model),
	};

	return cmocka_run_group_tests(tests, setup_formats, teardown_pool);
}
