/* Host unit tests for mm/frame.c: synthetic memory maps plus a page-bitmap model as oracle. */
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
#include "mm/frame.h"
#include "tests/unit/xorshift.h"

#define KiB	     (1ull << 10)
#define MiB	     (1ull << 20)
#define GiB	     (1ull << 30)
#define PG	     PAGE_SIZE
#define TOP	     (0ull - PAGE_SIZE) /* where frame_init clips wrapping entries */
#define TYPE_UNKNOWN 7			/* not a multiboot2 type: must count as reserved */

#define USABLE(b, l)                                                                               \
	{                                                                                          \
		(b), (l), MEM_USABLE                                                               \
	}
#define RESERVED(b, l)                                                                             \
	{                                                                                          \
		(b), (l), MEM_RESERVED                                                             \
	}

/* One allocator per test: it is too big (~8 KiB) to be worth copying around. */
static struct frame_allocator fa;

/* Check the free list is exactly `want` and the invariants hold. */
static void expect_ranges(const struct phys_range *want, unsigned n)
{
	uint64_t pages = 0;

	assert_int_equal(fa.nr, n);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(fa.free[i].start, want[i].start);
		assert_int_equal(fa.free[i].end, want[i].end);
		pages += (want[i].end - want[i].start) / PG;
	}
	assert_int_equal(fa.free_pages, pages);
}

#define EXPECT(...)                                                                                \
	do {                                                                                       \
		const struct phys_range want_[] = {__VA_ARGS__};                                   \
		expect_ranges(want_, ARRAY_SIZE(want_));                                           \
	} while (0)

#define INIT(map, ex, nex) frame_init(&fa, (map), ARRAY_SIZE(map), (ex), (nex))

/* ---- frame_init ------------------------------------------------------------------------------ */

static void test_init_keeps_usable_regions_and_holes(void **state)
{
	(void)state;
	const struct mem_region map[] = {
		USABLE(0x1000, 0x9e000),
		RESERVED(0xf0000, 0x10000),
		USABLE(1 * MiB, 127 * MiB),
		USABLE(256 * MiB, 16 * MiB),
	};

	assert_int_equal(INIT(map, NULL, 0), 0);
	EXPECT({0x1000, 0x9f000}, {1 * MiB, 128 * MiB}, {256 * MiB, 272 * MiB});
	assert_int_equal(fa.total_pages, fa.free_pages);
}

static void test_init_merges_overlapping_and_touching_usable(void **state)
{
	(void)state;
	const struct mem_region map[] = {
		USABLE(0x10000, 0x8000),  /* overlaps the next */
		USABLE(0x14000, 0x10000), /* -> [0x10000, 0x24000) */
		USABLE(0x30000, 0x800),	  /* two unaligned halves of one run: */
		USABLE(0x30800, 0x1800),  /* -> [0x30000, 0x32000) */
		USABLE(0x40000, 0x10000), /* contains the next */
		USABLE(0x42000, 0x1000),
	};

	assert_int_equal(INIT(map, NULL, 0), 0);
	EXPECT({0x10000, 0x24000}, {0x30000, 0x32000}, {0x40000, 0x50000});
}

static void test_init_non_usable_entries_win_over_usable(void **state)
{
	(void)state;
	const struct mem_region map[] = {
		USABLE(1 * MiB, 1 * MiB),
		RESERVED(0x150000, 0x100), /* partial page: whole page lost */
		{0x170000, 0x2000, MEM_ACPI_RECLAIM},
		{0x180000, 0x1000, MEM_ACPI_NVS},
		{0x190000, 0x1000, MEM_BAD},
		{0x1a0000, 0x1000, TYPE_UNKNOWN},
		{0x1b0000, 0x1000, 0},	     /* type 0: also unknown */
		RESERVED(0x1ff800, 0x10000), /* overlaps the end */
	};

	assert_int_equal(INIT(map, NULL, 0), 0);
	EXPECT({0x100000, 0x150000}, {0x151000, 0x170000}, {0x172000, 0x180000},
	       {0x181000, 0x190000}, {0x191000, 0x1a0000}, {0x1a1000, 0x1b0000},
	       {0x1b1000, 0x1ff000});
}

static void test_init_reserved_before_usable_in_map_order_still_wins(void **state)
{
	(void)state;
	const struct mem_region map[] = {
		RESERVED(0x8000, 0x1000),
		USABLE(0x1000, 0xf000),
	};

	assert_int_equal(INIT(map, NULL, 0), 0);
	EXPECT({0x1000, 0x8000}, {0x9000, 0x10000});
}

static void test_init_sorts_unsorted_map(void **state)
{
	(void)state;
	const struct mem_region map[] = {
		USABLE(64 * MiB, 1 * MiB), USABLE(0x100000, 0x1000), RESERVED(0xa0000, 0x60000),
		USABLE(8 * MiB, 2 * MiB),  USABLE(0x1000, 0x1000),
	};

	assert_int_equal(INIT(map, NULL, 0), 0);
	EXPECT({0x1000, 0x2000}, {0x100000, 0x101000}, {8 * MiB, 10 * MiB}, {64 * MiB, 65 * MiB});
}

static void test_init_includes_ram_above_4g(void **state)
{
	(void)state;
	const struct mem_region map[] = {
		USABLE(0x100000, 3 * GiB - 0x100000),
		RESERVED(3 * GiB, 1 * GiB),
		USABLE(4 * GiB, 12 * GiB),
		USABLE(1ull << 40, 2 * MiB),
	};

	assert_int_equal(INIT(map, NULL, 0), 0);
	EXPECT({0x100000, 3 * GiB}, {4 * GiB, 16 * GiB}, {1ull << 40, (1ull << 40) + 2 * MiB});
	assert_int_equal(fa.total_pages, (3 * GiB - 0x100000 + 12 * GiB + 2 * MiB) / PG);
}

static void test_init_ignores_zero_length_entries(void **state)
{
	(void)state;
	const struct mem_region map[] = {
		USABLE(0x5000, 0),
		USABLE(0x10000, 0x10000),
		RESERVED(0x18000, 0), /* an empty reserved entry blocks nothing */
		{0x1c000, 0, MEM_BAD},
	};
	const struct phys_range ex[] = {{0x14000, 0x14000}};

	assert_int_equal(INIT(map, ex, ARRAY_SIZE(ex)), 0);
	EXPECT({0x10000, 0x20000});
}

static void test_init_trims_unaligned_entries_inward(void **state)
{
	(void)state;
	const struct mem_region map[] = {
		USABLE(0x1234, 0x5678 - 0x1234), /* -> [0x2000, 0x5000) */
		USABLE(0x7001, 0x1ffe),		 /* [0x7001, 0x8fff): no whole page */
		USABLE(0x10fff, 0x2002),	 /* -> [0x11000, 0x13000) */
	};

	assert_int_equal(INIT(map, NULL, 0), 0);
	EXPECT({0x2000, 0x5000}, {0x11000, 0x13000});
}

static void test_init_never_frees_page_zero(void **state)
{
	(void)state;
	const struct mem_region map[] = {USABLE(0, 0xa0000)};

	assert_int_equal(INIT(map, NULL, 0), 0);
	EXPECT({0x1000, 0xa0000});
	assert_false(frame_is_free(&fa, 0));
}

static void test_init_exclusions_at_edges_middle_and_spanning(void **state)
{
	(void)state;
	const struct mem_region map[] = {
		USABLE(0x100000, 0x100000), /* A [1M, 2M) */
		USABLE(0x300000, 0x100000), /* B [3M, 4M) */
		USABLE(0x500000, 0x100000), /* C [5M, 6M) */
		USABLE(0x700000, 0x100000), /* D [7M, 8M) */
	};
	const struct phys_range ex[] = {
		{0x100000, 0x110000}, /* start edge of A */
		{0x1f0000, 0x200000}, /* end edge of A */
		{0x340000, 0x350800}, /* middle of B, unaligned end widens to 0x351000 */
		{0x3ff000, 0x580000}, /* spans B's last page, all the hole, C's start */
		{0x600000, 0x700000}, /* exactly the hole before D: no effect */
		{0x6ff000, 0x900000}, /* all of D */
	};

	assert_int_equal(INIT(map, ex, ARRAY_SIZE(ex)), 0);
	EXPECT({0x110000, 0x1f0000}, {0x300000, 0x340000}, {0x351000, 0x3ff000},
	       {0x580000, 0x600000});
}

static void test_init_exclusion_covering_everything_gives_nomem(void **state)
{
	(void)state;
	const struct mem_region map[] = {USABLE(1 * MiB, 1 * MiB)};
	const struct phys_range ex[] = {{0, 4 * GiB}};

	assert_int_equal(INIT(map, ex, ARRAY_SIZE(ex)), -E_NOMEM);
	assert_int_equal(fa.nr, 0);
	assert_int_equal(frame_alloc(&fa, 1, PG, 0), FRAME_NONE);
}

static void test_init_without_usable_ram_gives_nomem(void **state)
{
	(void)state;
	const struct mem_region reserved_only[] = {RESERVED(0, 1 * GiB), {1 * GiB, GiB, MEM_BAD}};
	const struct mem_region page0_only[] = {USABLE(0, 0x1800)};
	const struct mem_region sub_page[] = {USABLE(0x2100, 0xe00)};

	assert_int_equal(INIT(reserved_only, NULL, 0), -E_NOMEM);
	assert_int_equal(INIT(page0_only, NULL, 0), -E_NOMEM);
	assert_int_equal(INIT(sub_page, NULL, 0), -E_NOMEM);
	assert_int_equal(frame_init(&fa, NULL, 0, NULL, 0), -E_NOMEM);
	assert_int_equal(fa.free_pages, 0);
	assert_int_equal(fa.total_pages, 0);
}

static void test_init_rejects_bad_arguments(void **state)
{
	(void)state;
	const struct mem_region map[] = {USABLE(1 * MiB, 1 * MiB)};
	const struct phys_range backwards[] = {{0x180000, 0x170000}};

	assert_int_equal(frame_init(NULL, map, 1, NULL, 0), -E_INVAL);
	assert_int_equal(frame_init(&fa, NULL, 1, NULL, 0), -E_INVAL);
	assert_int_equal(frame_init(&fa, map, 1, NULL, 1), -E_INVAL);
	assert_int_equal(INIT(map, backwards, 1), -E_INVAL);
	assert_int_equal(fa.nr, 0);
}

static void test_init_clips_entries_wrapping_past_2_64(void **state)
{
	(void)state;
	const struct mem_region map[] = {
		USABLE(1 * MiB, 1 * MiB),
		USABLE(0xffffffff00000000ull, 0x200000000ull),	/* wraps */
		RESERVED(0xfffffffff0000000ull, 0x20000000ull), /* wraps: blocks to the top */
		USABLE(0xffffffffffffe000ull, 0x2000),		/* ends exactly at 2^64 */
		USABLE(UINT64_MAX, UINT64_MAX),			/* base above the clip point */
	};
	const struct phys_range ex[] = {{0xfffffffe00000000ull, UINT64_MAX}};

	assert_int_equal(INIT(map, NULL, 0), 0);
	EXPECT({1 * MiB, 2 * MiB}, {0xffffffff00000000ull, 0xfffffffff0000000ull});

	/* The exclusion reaching 2^64 - 1 must not wrap either. */
	assert_int_equal(INIT(map, ex, ARRAY_SIZE(ex)), 0);
	EXPECT({1 * MiB, 2 * MiB});

	/* Without the reserved entry the usable top stops one page short of 2^64. */
	assert_int_equal(frame_init(&fa, map, 2, NULL, 0), 0);
	EXPECT({1 * MiB, 2 * MiB}, {0xffffffff00000000ull, TOP});
	assert_int_equal(frame_alloc(&fa, 1, PG, 0), TOP - PG);
}

static void test_init_allows_exactly_max_ranges(void **state)
{
	(void)state;
	static struct mem_region map[FRAME_MAX_RANGES];

	for (unsigned i = 0; i < FRAME_MAX_RANGES; i++) {
		map[i].base = (uint64_t)(i + 1) * 2 * PG;
		map[i].len = PG;
		map[i].type = MEM_USABLE;
	}
	assert_int_equal(INIT(map, NULL, 0), 0);
	assert_int_equal(fa.nr, FRAME_MAX_RANGES);
	assert_int_equal(fa.free[FRAME_MAX_RANGES - 1].start, FRAME_MAX_RANGES * 2 * PG);
}

static void test_init_too_many_fragments_gives_nomem(void **state)
{
	(void)state;
	static struct mem_region map[FRAME_MAX_RANGES + 1];
	const struct mem_region one[] = {USABLE(1 * MiB, 4 * MiB)};
	static struct phys_range ex[FRAME_MAX_RANGES];

	for (unsigned i = 0; i < ARRAY_SIZE(map); i++) {
		map[i].base = (uint64_t)(i + 1) * 2 * PG;
		map[i].len = PG;
		map[i].type = MEM_USABLE;
	}
	assert_int_equal(INIT(map, NULL, 0), -E_NOMEM);
	assert_int_equal(fa.nr, 0);
	assert_int_equal(fa.free_pages, 0);

	/* Exclusions cutting one region into FRAME_MAX_RANGES + 1 pieces overflow as well. */
	for (unsigned i = 0; i < ARRAY_SIZE(ex); i++) {
		ex[i].start = 1 * MiB + (uint64_t)(2 * i + 1) * PG;
		ex[i].end = ex[i].start + PG;
	}
	assert_int_equal(INIT(one, ex, ARRAY_SIZE(ex)), -E_NOMEM);
	assert_int_equal(INIT(one, ex, ARRAY_SIZE(ex) - 1), 0);
	assert_int_equal(fa.nr, FRAME_MAX_RANGES);
}

static void test_init_sub_page_usable_crumbs_do_not_count_as_fragments(void **state)
{
	(void)state;
	static struct mem_region map[2 * FRAME_MAX_RANGES + 1];

	/* Many usable entries that trim to nothing, plus one real region. */
	for (unsigned i = 0; i < 2 * FRAME_MAX_RANGES; i++) {
		map[i].base = (uint64_t)(i + 1) * 2 * PG + 0x10;
		map[i].len = PG - 0x20;
		map[i].type = MEM_USABLE;
	}
	map[2 * FRAME_MAX_RANGES].base = 16 * MiB;
	map[2 * FRAME_MAX_RANGES].len = 1 * MiB;
	map[2 * FRAME_MAX_RANGES].type = MEM_USABLE;
	assert_int_equal(INIT(map, NULL, 0), 0);
	EXPECT({16 * MiB, 17 * MiB});
}

/* ---- frame_alloc / frame_free ---------------------------------------------------------------- */

static const struct mem_region alloc_map[] = {
	USABLE(0x1000, 0x9f000),   /* [4K, 640K) */
	USABLE(1 * MiB, 15 * MiB), /* [1M, 16M) */
	USABLE(4 * GiB, 64 * MiB), /* [4G, 4G + 64M) */
};

static void test_alloc_takes_highest_address_first(void **state)
{
	(void)state;
	assert_int_equal(INIT(alloc_map, NULL, 0), 0);
	assert_int_equal(frame_alloc(&fa, 1, PG, 0), 4 * GiB + 64 * MiB - PG);
	assert_int_equal(frame_alloc(&fa, 1, PG, 0), 4 * GiB + 64 * MiB - 2 * PG);
	assert_int_equal(frame_alloc(&fa, 4, PG, 0), 4 * GiB + 64 * MiB - 6 * PG);
	assert_int_equal(fa.free_pages, fa.total_pages - 6);
	assert_false(frame_is_free(&fa, 4 * GiB + 64 * MiB - 6 * PG));
	assert_true(frame_is_free(&fa, 4 * GiB + 64 * MiB - 7 * PG));
	/* The rest of the range above 4G still comes before anything lower. */
	assert_int_equal(frame_alloc(&fa, (64 * MiB) / PG - 6, PG, 0), 4 * GiB);
	assert_int_equal(frame_alloc(&fa, 1, PG, 0), 16 * MiB - PG);
}

static void test_alloc_honours_alignment(void **state)
{
	(void)state;
	assert_int_equal(INIT(alloc_map, NULL, 0), 0);
	assert_int_equal(frame_alloc(&fa, 1, PG, 0), 4 * GiB + 64 * MiB - PG);
	/* Highest 2 MiB-aligned free page: the top 2 MiB block still has its first page. */
	assert_int_equal(frame_alloc(&fa, 1, 2 * MiB, 0), 4 * GiB + 62 * MiB);
	/* Two 2 MiB blocks need a whole free 4 MiB: the top one is broken now. */
	assert_int_equal(frame_alloc(&fa, 1024, 2 * MiB, 0), 4 * GiB + 58 * MiB);
	/* 1 GiB alignment: only 4 GiB itself qualifies. */
	assert_int_equal(frame_alloc(&fa, 2, 1 * GiB, 0), 4 * GiB);
	assert_int_equal(frame_alloc(&fa, 1, 1 * GiB, 0), FRAME_NONE);
	/* A range whose aligned candidate falls below its start is skipped. */
	assert_int_equal(frame_alloc(&fa, 1, 4 * GiB, 5 * GiB), FRAME_NONE);
	/* Bad alignments are refused outright. */
	assert_int_equal(frame_alloc(&fa, 1, 0, 0), FRAME_NONE);
	assert_int_equal(frame_alloc(&fa, 1, PG / 2, 0), FRAME_NONE);
	assert_int_equal(frame_alloc(&fa, 1, 3 * PG, 0), FRAME_NONE);
	assert_int_equal(frame_alloc(&fa, 0, PG, 0), FRAME_NONE);
}

static void test_alloc_stays_below_limit(void **state)
{
	(void)state;
	assert_int_equal(INIT(alloc_map, NULL, 0), 0);
	assert_int_equal(frame_alloc(&fa, 1, PG, 4 * GiB), 16 * MiB - PG);
	/* The whole allocation must fit below the limit, not just its start. */
	assert_int_equal(frame_alloc(&fa, 16, PG, 1 * MiB + 8 * PG), 0xa0000 - 16 * PG);
	/* An unaligned limit is rounded down. */
	assert_int_equal(frame_alloc(&fa, 1, PG, 1 * MiB + PG + 0xfff), 1 * MiB);
	/* Limit inside the range above 4G. */
	assert_int_equal(frame_alloc(&fa, 1, PG, 4 * GiB + 3 * PG), 4 * GiB + 2 * PG);
	/* Nothing below page 1. */
	assert_int_equal(frame_alloc(&fa, 1, PG, PG), FRAME_NONE);
	assert_int_equal(frame_alloc(&fa, 1, PG, 1), FRAME_NONE);
}

static void test_alloc_exhaustion_then_free_then_realloc(void **state)
{
	(void)state;
	const struct mem_region map[] = {USABLE(0x10000, 0x4000)};
	uint64_t pages[4];

	assert_int_equal(INIT(map, NULL, 0), 0);
	for (unsigned i = 0; i < 4; i++) {
		pages[i] = frame_alloc(&fa, 1, PG, 0);
		assert_int_equal(pages[i], 0x13000 - i * PG);
	}
	assert_int_equal(fa.free_pages, 0);
	assert_int_equal(fa.nr, 0);
	assert_int_equal(frame_alloc(&fa, 1, PG, 0), FRAME_NONE);

	assert_int_equal(frame_free(&fa, pages[2], 1), 0);
	EXPECT({0x11000, 0x12000});
	assert_int_equal(frame_alloc(&fa, 2, PG, 0), FRAME_NONE);
	assert_int_equal(frame_free(&fa, pages[0], 1), 0);
	EXPECT({0x11000, 0x12000}, {0x13000, 0x14000});
	assert_int_equal(frame_free(&fa, pages[1], 1), 0); /* joins both neighbours */
	EXPECT({0x11000, 0x14000});
	assert_int_equal(frame_free(&fa, pages[3], 1), 0);
	EXPECT({0x10000, 0x14000});
	assert_int_equal(fa.free_pages, fa.total_pages);
	assert_int_equal(frame_alloc(&fa, 4, PG, 0), 0x10000);
	assert_int_equal(frame_free(&fa, 0x10000, 4), 0);
}

static void test_free_may_return_part_of_an_allocation(void **state)
{
	(void)state;
	const struct mem_region map[] = {USABLE(0x10000, 0x10000)};

	assert_int_equal(INIT(map, NULL, 0), 0);
	assert_int_equal(frame_alloc(&fa, 16, PG, 0), 0x10000);
	assert_int_equal(frame_free(&fa, 0x14000, 2), 0);
	EXPECT({0x14000, 0x16000});
	assert_int_equal(frame_free(&fa, 0x1e000, 2), 0);
	EXPECT({0x14000, 0x16000}, {0x1e000, 0x20000});
}

static void test_free_rejects_double_free(void **state)
{
	(void)state;
	const struct mem_region map[] = {USABLE(0x10000, 0x10000)};
	uint64_t pa;

	assert_int_equal(INIT(map, NULL, 0), 0);
	pa = frame_alloc(&fa, 4, PG, 0);
	assert_int_equal(pa, 0x1c000);
	assert_int_equal(frame_free(&fa, pa, 4), 0);
	assert_int_equal(frame_free(&fa, pa, 4), -E_INVAL);
	assert_int_equal(frame_free(&fa, pa + PG, 1), -E_INVAL);
	assert_int_equal(fa.free_pages, fa.total_pages);
	EXPECT({0x10000, 0x20000});

	/* A free that only partly overlaps free memory is refused whole. */
	pa = frame_alloc(&fa, 2, PG, 0);
	assert_int_equal(frame_free(&fa, pa - PG, 2), -E_INVAL);
	assert_int_equal(frame_free(&fa, pa + PG, 2), -E_INVAL);
	assert_int_equal(frame_free(&fa, pa - PG, 4), -E_INVAL);
	assert_int_equal(fa.free_pages, fa.total_pages - 2);
	EXPECT({0x10000, 0x1e000});
}

static void test_free_rejects_memory_that_was_never_free(void **state)
{
	(void)state;
	const struct mem_region map[] = {
		USABLE(0, 0x40000),
		RESERVED(0x20000, 0x1000),
	};
	const struct phys_range ex[] = {{0x30000, 0x32000}};

	assert_int_equal(INIT(map, ex, ARRAY_SIZE(ex)), 0);
	EXPECT({0x1000, 0x20000}, {0x21000, 0x30000}, {0x32000, 0x40000});
	assert_int_equal(frame_alloc(&fa, 0x3f, PG, 0), FRAME_NONE); /* no 63-page run */
	/* Make everything allocated so only the managed check can refuse. */
	while (frame_alloc(&fa, 1, PG, 0) != FRAME_NONE) {
	}
	assert_int_equal(fa.free_pages, 0);
	assert_int_equal(frame_free(&fa, 0, 1), -E_INVAL);	 /* page 0 */
	assert_int_equal(frame_free(&fa, 0x20000, 1), -E_INVAL); /* reserved */
	assert_int_equal(frame_free(&fa, 0x31000, 1), -E_INVAL); /* excluded */
	assert_int_equal(frame_free(&fa, 0x40000, 1), -E_INVAL); /* past RAM */
	assert_int_equal(frame_free(&fa, 0x1f000, 2), -E_INVAL); /* spans into reserved */
	assert_int_equal(frame_free(&fa, 0x2f000, 4), -E_INVAL); /* spans the exclusion */
	assert_int_equal(frame_free(&fa, 0x1800, 1), -E_INVAL);	 /* unaligned */
	assert_int_equal(frame_free(&fa, 0x1000, 0), -E_INVAL);	 /* empty */
	assert_int_equal(frame_free(&fa, TOP, 2), -E_INVAL);	 /* would wrap */
	assert_int_equal(frame_free(&fa, 0x1000, UINT64_MAX), -E_INVAL);
	assert_int_equal(frame_free(NULL, 0x1000, 1), -E_INVAL);
	assert_int_equal(fa.free_pages, 0);
	assert_int_equal(frame_free(&fa, 0x1000, 0x1f), 0);
	assert_int_equal(fa.free_pages, 0x1f);
}

static void test_alloc_with_full_list_does_not_split(void **state)
{
	(void)state;
	static struct mem_region map[FRAME_MAX_RANGES];
	const uint64_t stride = 0x10000;
	const uint64_t top = FRAME_MAX_RANGES * stride;

	/* 256 ranges of 4 pages, [base + 8K, base + 24K): full list. */
	for (unsigned i = 0; i < FRAME_MAX_RANGES; i++) {
		map[i].base = (uint64_t)(i + 1) * stride + 0x2000;
		map[i].len = 0x4000;
		map[i].type = MEM_USABLE;
	}
	assert_int_equal(INIT(map, NULL, 0), 0);
	assert_int_equal(fa.nr, FRAME_MAX_RANGES);
	/* Highest 8K-aligned page is top + 0x4000, in the middle: would split, so take the start.
	 */
	assert_int_equal(frame_alloc(&fa, 1, 2 * PG, 0), top + 0x2000);
	assert_int_equal(fa.nr, FRAME_MAX_RANGES);
	/* Now the top range is [top + 0x3000, top + 0x6000): its start is not 8K-aligned and its
	 * middle would split, so the next range down serves. */
	assert_int_equal(frame_alloc(&fa, 1, 2 * PG, 0), top - stride + 0x2000);
	/* An allocation at a range's end never splits. */
	assert_int_equal(frame_alloc(&fa, 1, PG, 0), top + 0x5000);

	/* Freeing a page that needs a new range when the list is full fails cleanly. */
	assert_int_equal(frame_alloc(&fa, 1, PG, 0),
			 top + 0x4000); /* leaves [top+0x3000, +0x4000) */
	assert_int_equal(frame_alloc(&fa, 1, PG, 0), top + 0x3000); /* range gone: 255 */
	assert_int_equal(fa.nr, FRAME_MAX_RANGES - 1);
	assert_int_equal(frame_free(&fa, top + 0x4000, 1), 0); /* 256 again */
	assert_int_equal(frame_free(&fa, top + 0x2000, 1), -E_NOMEM);
	assert_false(frame_is_free(&fa, top + 0x2000));
	assert_int_equal(frame_free(&fa, top + 0x3000, 1), 0); /* joins: no new range */
	assert_int_equal(frame_free(&fa, top + 0x2000, 1), 0);
	assert_int_equal(fa.nr, FRAME_MAX_RANGES);
}

static void test_is_free_follows_alloc_and_free(void **state)
{
	(void)state;
	const struct mem_region map[] = {USABLE(0x10000, 0x3000)};

	assert_int_equal(INIT(map, NULL, 0), 0);
	assert_false(frame_is_free(&fa, 0xffff));
	assert_true(frame_is_free(&fa, 0x10000));
	assert_true(frame_is_free(&fa, 0x12fff));
	assert_false(frame_is_free(&fa, 0x13000));
	assert_int_equal(frame_alloc(&fa, 1, PG, 0), 0x12000);
	assert_false(frame_is_free(&fa, 0x12abc));
	assert_true(frame_is_free(&fa, 0x11fff));
	assert_false(frame_is_free(NULL, 0x10000));
}

/* ---- randomized: the allocator against a page-bitmap model ----------------------------------- */

#define SPACE_PAGES  128 /* the model's whole address space */
#define SPACE_BYTES  (SPACE_PAGES * PG)
#define RAND_TRIALS  600
#define RAND_OPS     200
#define RAND_MAX_MAP 12
#define RAND_MAX_EX  3
#define RAND_SEED    0x6d68762d6672616dull

static uint64_t rng_state;

static uint64_t rnd(uint64_t n)
{
	return xorshift64s_below(&rng_state, n);
}

/* A random address in the space: page-aligned, or at some byte offset, or a sub-page chunk. */
static uint64_t rnd_addr(void)
{
	uint64_t page = rnd(SPACE_PAGES + 1) * PG;

	switch (rnd(4)) {
	case 0:
		return MIN(page + rnd(PG), SPACE_BYTES);
	case 1:
		return MIN(page + rnd(4) * (PG / 4), SPACE_BYTES);
	default:
		return page;
	}
}

struct model {
	bool managed[SPACE_PAGES];
	bool free[SPACE_PAGES];
};

static unsigned char usable_byte[SPACE_BYTES];

static void touch_pages(bool *blocked, uint64_t start, uint64_t end)
{
	for (uint64_t p = start / PG; p < SPACE_PAGES && p * PG < end; p++)
		blocked[p] = true;
}

/* The model's reading of the contract, computed byte by byte / page by page. */
static unsigned model_init(struct model *m, const struct mem_region *map, unsigned n,
			   const struct phys_range *ex, unsigned nex)
{
	bool blocked[SPACE_PAGES] = {false};
	unsigned count = 0;

	memset(usable_byte, 0, sizeof(usable_byte));
	for (unsigned i = 0; i < n; i++) {
		if (map[i].type == MEM_USABLE)
			memset(usable_byte + map[i].base, 1, map[i].len);
		else if (map[i].len)
			touch_pages(blocked, map[i].base, map[i].base + map[i].len);
	}
	for (unsigned i = 0; i < nex; i++) {
		if (ex[i].end > ex[i].start)
			touch_pages(blocked, ex[i].start, ex[i].end);
	}
	blocked[0] = true;
	for (unsigned p = 0; p < SPACE_PAGES; p++) {
		bool all = memchr(usable_byte + p * PG, 0, PG) == NULL;

		m->managed[p] = m->free[p] = all && !blocked[p];
		count += m->free[p];
	}
	return count;
}

static void check_against_model(const struct model *m, unsigned trial, unsigned op)
{
	uint64_t free_count = 0;

	for (unsigned i = 0; i < fa.nr; i++) {
		const struct phys_range *r = &fa.free[i];

		if (!(r->start < r->end && r->start % PG == 0 && r->end % PG == 0 &&
		      (i == 0 || fa.free[i - 1].end < r->start)))
			fail_msg("trial %u op %u: bad free range %u [%#llx, %#llx)", trial, op, i,
				 (unsigned long long)r->start, (unsigned long long)r->end);
	}
	for (unsigned p = 0; p < SPACE_PAGES; p++) {
		if (frame_is_free(&fa, p * PG) != m->free[p])
			fail_msg("trial %u op %u: page %u free=%d, model says %d", trial, op, p,
				 frame_is_free(&fa, p * PG), m->free[p]);
		free_count += m->free[p];
	}
	assert_int_equal(fa.free_pages, free_count);
}

/* Highest pa the contract allows, or FRAME_NONE. */
static uint64_t model_alloc(const struct model *m, uint64_t n, uint64_t align, uint64_t limit)
{
	uint64_t top = limit ? MIN(limit / PG, SPACE_PAGES) : SPACE_PAGES;
	uint64_t step = align / PG;

	if (n > top)
		return FRAME_NONE;
	for (uint64_t p = (top - n) / step * step + step; p >= step;) {
		bool ok = true;

		p -= step;
		for (uint64_t q = p; q < p + n && ok; q++)
			ok = m->free[q];
		if (ok)
			return p * PG;
	}
	return FRAME_NONE;
}

static int model_free(struct model *m, uint64_t pa, uint64_t n)
{
	uint64_t p0 = pa / PG;

	if (pa % PG || n == 0 || p0 + n > SPACE_PAGES)
		return -E_INVAL;
	for (uint64_t p = p0; p < p0 + n; p++) {
		if (!m->managed[p] || m->free[p])
			return -E_INVAL;
	}
	for (uint64_t p = p0; p < p0 + n; p++)
		m->free[p] = true;
	return 0;
}

static void random_map(struct mem_region *map, unsigned *n, struct phys_range *ex, unsigned *nex)
{
	static const uint32_t types[] = {MEM_USABLE,   MEM_USABLE,	 MEM_USABLE, MEM_USABLE,
					 MEM_RESERVED, MEM_ACPI_RECLAIM, MEM_BAD,    TYPE_UNKNOWN};

	*n = 1 + (unsigned)rnd(RAND_MAX_MAP);
	for (unsigned i = 0; i < *n; i++) {
		uint64_t a = rnd_addr(), b = rnd_addr();

		if (rnd(8) == 0)
			b = a; /* zero-length */
		map[i].base = MIN(a, b);
		map[i].len = MAX(a, b) - MIN(a, b);
		map[i].type = types[rnd(ARRAY_SIZE(types))];
		/* Non-usable entries are usually short, as on real machines. */
		if (map[i].type != MEM_USABLE && rnd(2))
			map[i].len = MIN(map[i].len, rnd(3 * PG));
	}
	*nex = (unsigned)rnd(RAND_MAX_EX + 1);
	for (unsigned i = 0; i < *nex; i++) {
		uint64_t a = rnd_addr();

		ex[i].start = a;
		ex[i].end = MIN(a + rnd(4 * PG), SPACE_BYTES);
	}
}

static void test_random_against_page_bitmap_model(void **state)
{
	(void)state;
	static struct model m;
	struct mem_region map[RAND_MAX_MAP];
	struct phys_range ex[RAND_MAX_EX];
	uint64_t recent_pa[8] = {0}, recent_n[8] = {0};
	unsigned inits_ok = 0, allocs_ok = 0, frees_ok = 0, frees_bad = 0;

	rng_state = RAND_SEED;
	for (unsigned trial = 0; trial < RAND_TRIALS; trial++) {
		unsigned n, nex, expect_pages;
		int ret;

		random_map(map, &n, ex, &nex);
		expect_pages = model_init(&m, map, n, ex, nex);
		ret = frame_init(&fa, map, n, ex, nex);
		if (ret != (expect_pages ? 0 : -E_NOMEM))
			fail_msg("trial %u: frame_init returned %d for %u model pages", trial, ret,
				 expect_pages);
		if (ret)
			continue;
		inits_ok++;
		assert_int_equal(fa.total_pages, expect_pages);
		check_against_model(&m, trial, 0);

		for (unsigned op = 1; op <= RAND_OPS; op++) {
			unsigned slot = (unsigned)rnd(ARRAY_SIZE(recent_pa));

			if (rnd(2)) {
				uint64_t np = 1 + rnd(rnd(4) ? 4 : 24);
				uint64_t align = PG << rnd(5);
				uint64_t limit = rnd(3) ? 0 : rnd(SPACE_BYTES + PG);
				uint64_t want = model_alloc(&m, np, align, limit);
				uint64_t got = frame_alloc(&fa, np, align, limit);

				if (got != want)
					fail_msg("trial %u op %u: alloc(%llu, %#llx, %#llx) = "
						 "%#llx, "
						 "model %#llx",
						 trial, op, (unsigned long long)np,
						 (unsigned long long)align,
						 (unsigned long long)limit, (unsigned long long)got,
						 (unsigned long long)want);
				if (got != FRAME_NONE) {
					for (uint64_t p = got / PG; p < got / PG + np; p++)
						m.free[p] = false;
					recent_pa[slot] = got;
					recent_n[slot] = np;
					allocs_ok++;
				}
			} else {
				uint64_t pa, np;
				int want, got;

				if (rnd(2)) { /* (part of) a recent allocation: mostly valid */
					uint64_t skip = rnd(recent_n[slot] + 1);

					pa = recent_pa[slot] + skip * PG;
					np = rnd(recent_n[slot] - skip + 2);
				} else { /* anywhere: mostly invalid */
					pa = rnd(4) ? rnd(SPACE_PAGES) * PG : rnd(SPACE_BYTES);
					np = rnd(6);
				}
				want = model_free(&m, pa, np);
				got = frame_free(&fa, pa, np);
				if (got != want)
					fail_msg("trial %u op %u: free(%#llx, %llu) = %d, model %d",
						 trial, op, (unsigned long long)pa,
						 (unsigned long long)np, got, want);
				if (got)
					frees_bad++;
				else
					frees_ok++;
			}
			check_against_model(&m, trial, op);
		}
	}
	/* The generator must actually exercise every path. */
	assert_true(inits_ok > RAND_TRIALS / 2);
	assert_true(allocs_ok > 1000);
	assert_true(frees_ok > 1000);
	assert_true(frees_bad > 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_keeps_usable_regions_and_holes),
		cmocka_unit_test(test_init_merges_overlapping_and_touching_usable),
		cmocka_unit_test(test_init_non_usable_entries_win_over_usable),
		cmocka_unit_test(test_init_reserved_before_usable_in_map_order_still_wins),
		cmocka_unit_test(test_init_sorts_unsorted_map),
		cmocka_unit_test(test_init_includes_ram_above_4g),
		cmocka_unit_test(test_init_ignores_zero_length_entries),
		cmocka_unit_test(test_init_trims_unaligned_entries_inward),
		cmocka_unit_test(test_init_never_frees_page_zero),
		cmocka_unit_test(test_init_exclusions_at_edges_middle_and_spanning),
		cmocka_unit_test(test_init_exclusion_covering_everything_gives_nomem),
		cmocka_unit_test(test_init_without_usable_ram_gives_nomem),
		cmocka_unit_test(test_init_rejects_bad_arguments),
		cmocka_unit_test(test_init_clips_entries_wrapping_past_2_64),
		cmocka_unit_test(test_init_allows_exactly_max_ranges),
		cmocka_unit_test(test_init_too_many_fragments_gives_nomem),
		cmocka_unit_test(test_init_sub_page_usable_crumbs_do_not_count_as_fragments),
		cmocka_unit_test(test_alloc_takes_highest_address_first),
		cmocka_unit_test(test_alloc_honours_alignment),
		cmocka_unit_test(test_alloc_stays_below_limit),
		cmocka_unit_test(test_alloc_exhaustion_then_free_then_realloc),
		cmocka_unit_test(test_free_may_return_part_of_an_allocation),
		cmocka_unit_test(test_free_rejects_double_free),
		cmocka_unit_test(test_free_rejects_memory_that_was_never_free),
		cmocka_unit_test(test_alloc_with_full_list_does_not_split),
		cmocka_unit_test(test_is_free_follows_alloc_and_free),
		cmocka_unit_test(test_random_against_page_bitmap_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
