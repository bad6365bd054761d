/*
 * iommu/io_pagetable: identity maps built for VT-d and AMD-Vi, checked by a walker written
 * from the formats' rules (not the builder's helpers), plus errors and running out of tables.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "iommu/io_pagetable.h"
#include "lib/errno.h"

#define ARENA_PAGES 64
#define PAGE	    0x1000ull
#define ARENA_BASE  0x7000000ull /* the "physical" address of the arena's first page */
#define MIB	    (1ull << 20)
#define GIB	    (1ull << 30)

static uint8_t arena[ARENA_PAGES * PAGE] __attribute__((aligned(4096)));
static unsigned used, limit;

static void *arena_virt(void *ctx, uint64_t pa)
{
	(void)ctx;
	assert_true(pa >= ARENA_BASE && pa < ARENA_BASE + used * PAGE);
	return arena + (pa - ARENA_BASE);
}

static uint64_t arena_alloc(void *ctx)
{
	(void)ctx;
	if (used == limit)
		return FRAME_NONE;
	memset(arena + used * PAGE, 0xa5, PAGE); /* the builder must clear it */
	return ARENA_BASE + PAGE * used++;
}

static const struct pt_mem mem = {.phys_to_virt = arena_virt, .alloc_table = arena_alloc};

static uint64_t new_root(unsigned max_tables)
{
	used = 0;
	limit = max_tables;
	uint64_t root = arena_alloc(NULL);
	memset(arena, 0, PAGE);
	return root;
}

/* The reference walker: the hardware's rules, entry by entry. */
struct walk {
	int mapped;
	uint64_t pa;
	unsigned level;
};

static struct walk ref_walk(int amd, unsigned levels, unsigned max_leaf, uint64_t root,
			    uint64_t addr)
{
	uint64_t table = root;

	for (unsigned l = levels; l >= 1; l--) {
		const uint64_t *t = arena_virt(NULL, table);
		uint64_t e = t[(addr >> (12 + 9 * (l - 1))) & 511];
		uint64_t size = PAGE << (9 * (l - 1));
		int leaf;

		assert_int_equal(e & 0x3ff0000000000000ull & ~(AMD_PTE_IR | AMD_PTE_IW), 0);
		if (amd) {
			unsigned next = (unsigned)((e >> 9) & 7);

			if (!(e & AMD_PTE_PR))
				return (struct walk){0};
			assert_true(e & AMD_PTE_IR);
			assert_true(e & AMD_PTE_IW);
			leaf = next == 0;
			if (!leaf)
				assert_int_equal(next, l - 1); /* no level skipping */
			assert_true(l > 1 || leaf);
		} else {
			if (!(e & (VTD_SL_R | VTD_SL_W)))
				return (struct walk){0};
			assert_int_equal(e & 3, 3);
			/* PS is reserved in the top level's entries; a leaf at 2/3 has it. */
			if (l == 4)
				assert_int_equal(e & VTD_SL_PS, 0);
			leaf = l == 1 || (e & VTD_SL_PS);
			assert_int_equal(e & 0x7c, 0); /* no X, EMT, IPAT */
		}
		if (leaf) {
			assert_true(l <= max_leaf);
			assert_int_equal(e & IO_PT_ADDR_MASK & (size - 1), 0);
			return (struct walk){1, (e & IO_PT_ADDR_MASK) | (addr & (size - 1)), l};
		}
		table = e & IO_PT_ADDR_MASK;
	}
	fail_msg("walk ran past level 1");
	return (struct walk){0};
}

/* A guest map like the one mhv builds: RAM below 640K, from 1M up to mhv, and above it. */
static const uint64_t ram[][2] = {
	{0, 0x9f000},
	{0x100000, 0x1e000000},
	{0x1e800000, 0x1ffe0000},
	{0x100000000ull, 0x140000000ull},
};

static int in_ram(uint64_t a)
{
	for (size_t i = 0; i < sizeof(ram) / sizeof(ram[0]); i++)
		if (a >= ram[i][0] && a < ram[i][1])
			return 1;
	return 0;
}

static void check_format(int amd, unsigned levels, unsigned max_leaf)
{
	struct io_pt_format f =
		amd ? io_pt_format_amd(levels, max_leaf) : io_pt_format_vtd(levels, max_leaf);
	uint64_t root = new_root(ARENA_PAGES);
	unsigned seen[4] = {0};

	for (size_t i = 0; i < sizeof(ram) / sizeof(ram[0]); i++)
		assert_int_equal(io_pt_map_identity(&f, &mem, root, ram[i][0], ram[i][1]), 0);
	/* Every 4 KiB page of the low 6 GiB, and the page edges around each range. */
	for (uint64_t a = 0; a < 6 * GIB; a += PAGE * 7) {
		struct walk w = ref_walk(amd, levels, max_leaf, root, a);
		uint64_t pa;
		unsigned lvl;
		int rc = io_pt_lookup(&f, &mem, root, a, &pa, &lvl);

		if (w.mapped != in_ram(a))
			fail_msg("0x%lx: mapped %d, RAM %d", (unsigned long)a, w.mapped, in_ram(a));
		if (w.mapped) {
			assert_int_equal(w.pa, a);
			assert_int_equal(rc, 0);
			assert_int_equal(pa, a);
			assert_int_equal(lvl, w.level);
			seen[w.level]++;
		} else {
			assert_int_equal(rc, -E_NOENT);
		}
	}
	for (size_t i = 0; i < sizeof(ram) / sizeof(ram[0]); i++) {
		assert_true(ref_walk(amd, levels, max_leaf, root, ram[i][1] - 1).mapped);
		assert_false(ref_walk(amd, levels, max_leaf, root, ram[i][1]).mapped);
		if (ram[i][0])
			assert_false(ref_walk(amd, levels, max_leaf, root, ram[i][0] - 1).mapped);
	}
	/* The largest leaves allowed were used. */
	assert_true(seen[1] > 0);
	if (max_leaf >= 2)
		assert_true(seen[2] > 0);
	if (max_leaf >= 3)
		assert_true(seen[3] > 0);
	else
		assert_int_equal(seen[3], 0);
	if (max_leaf == 1)
		assert_int_equal(seen[2], 0);
}

static void test_vtd_4level_1g(void **state)
{
	(void)state;
	check_format(0, 4, 3);
}

static void test_vtd_3level_2m(void **state)
{
	(void)state;
	check_format(0, 3, 2);
}

static void test_amd_4level_2m(void **state)
{
	(void)state;
	check_format(1, 4, 2);
}

static void test_amd_3level_1g(void **state)
{
	(void)state;
	check_format(1, 3, 3);
}

/* 4 KiB only needs many tables: the arena must be big enough for a smaller map. */
static void test_4k_only(void **state)
{
	struct io_pt_format f = io_pt_format_vtd(3, 1);
	uint64_t root = new_root(ARENA_PAGES);

	(void)state;
	assert_int_equal(io_pt_map_identity(&f, &mem, root, 0x1000, 0x800000), 0);
	assert_int_equal(ref_walk(0, 3, 1, root, 0x600000).level, 1);
	assert_false(ref_walk(0, 3, 1, root, 0).mapped);
	assert_false(ref_walk(0, 3, 1, root, 0x800000).mapped);
}

static void test_overlap_and_conflict(void **state)
{
	struct io_pt_format f = io_pt_format_vtd(4, 2);
	uint64_t root = new_root(ARENA_PAGES);
	uint64_t *t;
	uint64_t pa;
	unsigned lvl;

	(void)state;
	assert_int_equal(io_pt_map_identity(&f, &mem, root, 0, 0x400000), 0);
	/* Mapping pages that map to themselves again is fine (RMRR inside RAM). */
	assert_int_equal(io_pt_map_identity(&f, &mem, root, 0x1000, 0x3000), 0);
	assert_int_equal(io_pt_map_identity(&f, &mem, root, 0x200000, 0x600000), 0);
	/* A translation elsewhere is never overwritten. */
	assert_int_equal(io_pt_lookup(&f, &mem, root, 0x600000 - 1, &pa, &lvl), 0);
	t = arena_virt(NULL, root);
	t = arena_virt(NULL, t[0] & IO_PT_ADDR_MASK);
	t = arena_virt(NULL, t[0] & IO_PT_ADDR_MASK);
	t[3] = 0x40000000ull | VTD_SL_R | VTD_SL_W | VTD_SL_PS; /* 0x600000 -> 1 GiB */
	assert_int_equal(io_pt_map_identity(&f, &mem, root, 0x600000, 0x800000), -E_EXIST);
	assert_int_equal(io_pt_lookup(&f, &mem, root, 0x600000, &pa, &lvl), 0);
	assert_int_equal(pa, 0x40000000ull);
}

static void test_bad_arguments(void **state)
{
	struct io_pt_format f = io_pt_format_amd(3, 2);
	struct io_pt_format bad = f;
	uint64_t root = new_root(ARENA_PAGES);
	uint64_t pa;
	unsigned lvl;

	(void)state;
	assert_int_equal(io_pt_span(&f), 512 * GIB);
	assert_int_equal(io_pt_map_identity(&f, &mem, root, 0x1000, 0x1000), -E_INVAL);
	assert_int_equal(io_pt_map_identity(&f, &mem, root, 0x1800, 0x3000), -E_INVAL);
	assert_int_equal(io_pt_map_identity(&f, &mem, root, 0x1000, 0x2800), -E_INVAL);
	assert_int_equal(io_pt_map_identity(&f, &mem, root, 511 * GIB, 513 * GIB), -E_INVAL);
	assert_int_equal(io_pt_lookup(&f, &mem, root, 512 * GIB, &pa, &lvl), -E_INVAL);
	bad.levels = 5;
	assert_int_equal(io_pt_map_identity(&bad, &mem, root, 0, PAGE), -E_INVAL);
	bad = io_pt_format_amd(4, 4); /* no 512 GiB leaves */
	assert_int_equal(io_pt_map_identity(&bad, &mem, root, 0, PAGE), -E_INVAL);
	assert_int_equal(used, 1); /* nothing was allocated */
}

/* Out of tables midway: an error, and what is mapped is still correct. */
static void test_out_of_tables(void **state)
{
	struct io_pt_format f = io_pt_format_amd(4, 2);
	uint64_t root = new_root(3);
	uint64_t pa;
	unsigned lvl;

	(void)state;
	assert_int_equal(io_pt_map_identity(&f, &mem, root, 0x1000, 0x400000), -E_NOMEM);
	assert_int_equal(used, 3);
	assert_int_equal(io_pt_lookup(&f, &mem, root, 0x200000, &pa, &lvl), -E_NOENT);
	assert_int_equal(io_pt_lookup(&f, &mem, root, 0x1000, &pa, &lvl), -E_NOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vtd_4level_1g),  cmocka_unit_test(test_vtd_3level_2m),
		cmocka_unit_test(test_amd_4level_2m),  cmocka_unit_test(test_amd_3level_1g),
		cmocka_unit_test(test_4k_only),	       cmocka_unit_test(test_overlap_and_conflict),
		cmocka_unit_test(test_bad_arguments),  cmocka_unit_test(test_out_of_tables),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
