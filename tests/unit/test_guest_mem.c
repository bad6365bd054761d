/*
 * Host unit tests for mm/guest_mem.c: the guest's physical map and the one gate from a
 * guest-physical address to host memory.  Guest RAM is a host buffer standing for the
 * guest-physical range [RAM_BASE, RAM_BASE + RAM_SIZE); a fake passthrough device and an
 * mmio= region record what reaches them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/errno.h"
#include "mm/guest_mem.h"
#include "mmio/region.h"

#define KiB (1ull << 10)
#define MiB (1ull << 20)
#define GiB (1ull << 30)

#define RAM_BASE 0x100000ull
#define RAM_SIZE (64 * KiB)
#define HV_START (RAM_BASE + 32 * KiB) /* mhv's range, inside the RAM region */
#define HV_END	 (RAM_BASE + 40 * KiB)
#define DEV_PAGE 0xFEC00000ull	      /* a passthrough device page (below 4 GiB, not RAM) */
#define REG_BASE (RAM_BASE + 48 * KiB) /* an mmio= region over guest RAM */
#define MAXPHY	 39

static uint8_t ram[RAM_SIZE];
static struct guest_physmap pm;
static struct mmio_regions regions;
static struct guest_mem_gate gate;

/* What reached the fake devices. */
static unsigned dev_calls, reg_calls;
static uint64_t dev_last_gpa, reg_last_offset;
static unsigned dev_last_len;

static void *ram_ptr(void *ctx, uint64_t gpa)
{
	(void)ctx;
	/* The gate must only ever ask for RAM it mapped: anything else is a test failure. */
	if (gpa < RAM_BASE || gpa >= RAM_BASE + RAM_SIZE || (gpa >= HV_START && gpa < HV_END))
		fail_msg("ram_ptr asked for GPA 0x%llx", (unsigned long long)gpa);
	return ram + (gpa - RAM_BASE);
}

static int dev_read(void *ctx, uint64_t gpa, void *buf, unsigned len)
{
	(void)ctx;
	dev_calls++;
	dev_last_gpa = gpa;
	dev_last_len = len;
	memset(buf, 0xA5, len);
	return 0;
}

static int dev_write(void *ctx, uint64_t gpa, const void *buf, unsigned len)
{
	(void)ctx;
	(void)buf;
	dev_calls++;
	dev_last_gpa = gpa;
	dev_last_len = len;
	return 0;
}

static int reg_read(void *dev, const struct mmio_access *a, void *buf)
{
	(void)dev;
	reg_calls++;
	reg_last_offset = a->offset;
	memset(buf, 0x5A, a->len);
	return 0;
}

static int reg_write(void *dev, const struct mmio_access *a, const void *buf)
{
	(void)dev;
	(void)buf;
	reg_calls++;
	reg_last_offset = a->offset;
	return 0;
}

static const struct mmio_dev_ops reg_ops = {.name = "test", .read = reg_read, .write = reg_write};

static const struct mem_region machine[] = {
	{0, 0x9F000, MEM_USABLE},
	{0x9F000, 0x1000, MEM_RESERVED},
	{0xF0000, 0x10000, MEM_RESERVED},
	{RAM_BASE, RAM_SIZE, MEM_USABLE},
	{0x7FF00000, 0x100000, MEM_ACPI_NVS},
	{DEV_PAGE, 0x1000, MEM_RESERVED},
	{5 * GiB, 1 * GiB, MEM_USABLE},
};

static int setup(void **state)
{
	(void)state;
	memset(ram, 0, sizeof(ram));
	dev_calls = reg_calls = 0;
	assert_int_equal(guest_physmap_build(&pm, machine, sizeof(machine) / sizeof(machine[0]),
					     (struct phys_range){HV_START, HV_END}, 8 * GiB, MAXPHY),
			 0);
	mmio_regions_init(&regions);
	assert_int_equal(mmio_region_add(&regions, REG_BASE, 4 * KiB, &reg_ops, NULL), 0);
	gate = (struct guest_mem_gate){.map = &pm,
				       .regions = &regions,
				       .ram_ptr = ram_ptr,
				       .device_read = dev_read,
				       .device_write = dev_write};
	return 0;
}

/* The map covers [0, top) without gaps, sorted, with adjacent ranges of different kinds. */
static void check_map_shape(const struct guest_physmap *m)
{
	assert_true(m->n > 0);
	assert_int_equal(m->r[0].start, 0);
	assert_int_equal(m->r[m->n - 1].end, m->top);
	for (unsigned i = 0; i < m->n; i++) {
		assert_true(m->r[i].start < m->r[i].end);
		assert_int_equal(m->r[i].start % 4096, 0);
		assert_int_equal(m->r[i].end % 4096, 0);
		if (i) {
			assert_int_equal(m->r[i].start, m->r[i - 1].end);
			assert_int_not_equal(m->r[i].kind, m->r[i - 1].kind);
		}
	}
}

static void test_map_kinds_follow_the_machine_map(void **state)
{
	(void)state;
	check_map_shape(&pm);
	assert_int_equal(pm.top, 6 * GiB); /* highest RAM ends at 6 GiB */
	assert_int_equal(guest_physmap_lookup(&pm, 0).kind, GPA_RAM);
	assert_int_equal(guest_physmap_lookup(&pm, 0x9F000).kind, GPA_DEVICE);
	assert_int_equal(guest_physmap_lookup(&pm, 0xF0000).kind, GPA_DEVICE);
	assert_int_equal(guest_physmap_lookup(&pm, RAM_BASE).kind, GPA_RAM);
	assert_int_equal(guest_physmap_lookup(&pm, HV_START).kind, GPA_UNMAPPED);
	assert_int_equal(guest_physmap_lookup(&pm, HV_END - 1).kind, GPA_UNMAPPED);
	assert_int_equal(guest_physmap_lookup(&pm, HV_END).kind, GPA_RAM);
	assert_int_equal(guest_physmap_lookup(&pm, 0x7FF00000).kind, GPA_RAM); /* ACPI NVS */
	assert_int_equal(guest_physmap_lookup(&pm, DEV_PAGE).kind, GPA_DEVICE);
	assert_int_equal(guest_physmap_lookup(&pm, 4 * GiB).kind, GPA_DEVICE);
	assert_int_equal(guest_physmap_lookup(&pm, 5 * GiB).kind, GPA_RAM);
	assert_int_equal(guest_physmap_lookup(&pm, 6 * GiB).kind, GPA_UNMAPPED);
	assert_int_equal(guest_physmap_lookup(&pm, ~0ull).kind, GPA_UNMAPPED);
}

static void test_map_rounds_ram_inward_and_hidden_outward(void **state)
{
	static const struct mem_region odd[] = {{0x1800, 0x3000, MEM_USABLE}};
	struct guest_physmap m;

	(void)state;
	assert_int_equal(guest_physmap_build(&m, odd, 1, (struct phys_range){0x10800, 0x11800},
					     4 * GiB, MAXPHY),
			 0);
	check_map_shape(&m);
	assert_int_equal(guest_physmap_lookup(&m, 0x1000).kind, GPA_DEVICE);
	assert_int_equal(guest_physmap_lookup(&m, 0x2000).kind, GPA_RAM);
	assert_int_equal(guest_physmap_lookup(&m, 0x3FFF).kind, GPA_RAM);
	assert_int_equal(guest_physmap_lookup(&m, 0x4000).kind, GPA_DEVICE);
	assert_int_equal(guest_physmap_lookup(&m, 0x10000).kind, GPA_UNMAPPED);
	assert_int_equal(guest_physmap_lookup(&m, 0x11FFF).kind, GPA_UNMAPPED);
	assert_int_equal(guest_physmap_lookup(&m, 0x12000).kind, GPA_DEVICE);
}

static void test_map_clips_to_maxphyaddr_and_ram_limit(void **state)
{
	static const struct mem_region big[] = {{0, 1 * MiB, MEM_USABLE},
						{4 * GiB, 60 * GiB, MEM_USABLE}};
	struct guest_physmap m;

	(void)state;
	/* 36 physical bits: nothing at or above 64 GiB exists. */
	assert_int_equal(guest_physmap_build(&m, big, 2, (struct phys_range){0x1000, 0x2000},
					     128 * GiB, 36),
			 0);
	check_map_shape(&m);
	assert_int_equal(m.top, 64 * GiB);
	assert_int_equal(guest_physmap_lookup(&m, 64 * GiB).kind, GPA_UNMAPPED);
	/* RAM beyond what mhv's direct map reaches is left out, not handed out half-mapped. */
	assert_int_equal(guest_physmap_build(&m, big, 2, (struct phys_range){0x1000, 0x2000},
					     8 * GiB, 40),
			 0);
	check_map_shape(&m);
	assert_int_equal(guest_physmap_lookup(&m, 8 * GiB - 1).kind, GPA_RAM);
	assert_int_equal(guest_physmap_lookup(&m, 8 * GiB).kind, GPA_UNMAPPED);
}

/* 64-bit BARs above the end of RAM: the map grows to cover them as devices, the gaps between
 * them stay unmapped; nothing below the old top changes; never past MAXPHYADDR. */
static void test_map_adds_high_bars(void **state)
{
	struct guest_physmap m = pm; /* RAM ends at 6 GiB: top 6 GiB, last range RAM */
	unsigned n = m.n;

	(void)state;
	assert_int_equal(guest_physmap_add_device(&m, 32 * GiB, 33 * GiB, MAXPHY), 0);
	check_map_shape(&m);
	assert_int_equal(m.top, 33 * GiB);
	assert_int_equal(m.n, n + 2);
	assert_int_equal(guest_physmap_lookup(&m, 6 * GiB).kind, GPA_UNMAPPED);
	assert_int_equal(guest_physmap_lookup(&m, 32 * GiB - 1).kind, GPA_UNMAPPED);
	assert_int_equal(guest_physmap_lookup(&m, 32 * GiB).kind, GPA_DEVICE);
	assert_int_equal(guest_physmap_lookup(&m, 33 * GiB - 1).kind, GPA_DEVICE);
	assert_int_equal(guest_physmap_lookup(&m, 33 * GiB).kind, GPA_UNMAPPED);
	/* One below the first, unaligned: rounded outward to pages. */
	assert_int_equal(guest_physmap_add_device(&m, 8 * GiB + 0x10, 8 * GiB + 0x1010, MAXPHY),
			 0);
	check_map_shape(&m);
	assert_int_equal(m.top, 33 * GiB);
	assert_int_equal(guest_physmap_lookup(&m, 8 * GiB).kind, GPA_DEVICE);
	assert_int_equal(guest_physmap_lookup(&m, 8 * GiB + 0x1FFF).kind, GPA_DEVICE);
	assert_int_equal(guest_physmap_lookup(&m, 8 * GiB + 0x2000).kind, GPA_UNMAPPED);
	assert_int_equal(guest_physmap_lookup(&m, 8 * GiB - 1).kind, GPA_UNMAPPED);
	/* Overlapping RAM, mhv's range or anything below the old top: no change there. */
	assert_int_equal(guest_physmap_add_device(&m, 0, 6 * GiB, MAXPHY), 0);
	assert_int_equal(guest_physmap_add_device(&m, HV_START, HV_END, MAXPHY), 0);
	assert_int_equal(guest_physmap_lookup(&m, HV_START).kind, GPA_UNMAPPED);
	assert_int_equal(guest_physmap_lookup(&m, 5 * GiB).kind, GPA_RAM);
	assert_int_equal(guest_physmap_lookup(&m, 0).kind, GPA_RAM);
	/* Clipped to MAXPHYADDR; an end at the top of the address space does not wrap. */
	assert_int_equal(guest_physmap_add_device(&m, (1ull << MAXPHY) - 4096, ~0ull, MAXPHY), 0);
	check_map_shape(&m);
	assert_int_equal(m.top, 1ull << MAXPHY);
	assert_int_equal(guest_physmap_lookup(&m, (1ull << MAXPHY) - 1).kind, GPA_DEVICE);
	assert_int_equal(guest_physmap_lookup(&m, 1ull << MAXPHY).kind, GPA_UNMAPPED);
	assert_int_equal(guest_physmap_add_device(&m, 1ull << MAXPHY, ~0ull, MAXPHY), 0);
	assert_int_equal(m.top, 1ull << MAXPHY);
	assert_int_equal(guest_physmap_add_device(&m, 40 * GiB, 41 * GiB, 53), -E_INVAL);
	assert_int_equal(guest_physmap_add_device(&m, 41 * GiB, 40 * GiB, MAXPHY), -E_INVAL);
}

static void test_map_rejects_bad_arguments(void **state)
{
	struct guest_physmap m;

	(void)state;
	assert_int_equal(guest_physmap_build(&m, machine, 1, (struct phys_range){0, 0x1000}, GiB, 31),
			 -E_INVAL);
	assert_int_equal(guest_physmap_build(&m, machine, 1, (struct phys_range){0, 0x1000}, GiB, 53),
			 -E_INVAL);
	assert_int_equal(
		guest_physmap_build(&m, machine, 1, (struct phys_range){0x2000, 0x1000}, GiB, 40),
		-E_INVAL);
}

static void test_map_reports_overflow(void **state)
{
	enum { N = GUEST_PHYSMAP_MAX };
	static struct mem_region many[N];
	struct guest_physmap m;

	(void)state;
	/* N separate RAM pages need about 2N ranges: more than the map holds. */
	for (unsigned i = 0; i < N; i++)
		many[i] = (struct mem_region){(uint64_t)i * 0x2000, 0x1000, MEM_USABLE};
	assert_int_equal(guest_physmap_build(&m, many, N, (struct phys_range){GiB, GiB + 0x1000},
					     4 * GiB, 40),
			 -E_NOMEM);
}

static void test_ram_access_reads_and_writes_the_buffer(void **state)
{
	uint8_t buf[8] = {1, 2, 3, 4, 5, 6, 7, 8}, back[8];

	(void)state;
	assert_int_equal(guest_mem_write(&gate, RAM_BASE + 16, buf, 8, 0), GPA_RAM);
	assert_memory_equal(ram + 16, buf, 8);
	assert_int_equal(guest_mem_read(&gate, RAM_BASE + 16, back, 8, 0), GPA_RAM);
	assert_memory_equal(back, buf, 8);
	assert_int_equal(dev_calls + reg_calls, 0);
}

static void test_hidden_range_is_never_touched(void **state)
{
	uint8_t buf[8] = {0};

	(void)state;
	assert_int_equal(guest_mem_read(&gate, HV_START, buf, 8, 0), -E_FAULT);
	assert_int_equal(guest_mem_write(&gate, HV_END - 4, buf, 4, 0), -E_FAULT);
	/* A write that starts in RAM and runs into mhv's range writes nothing at all. */
	memset(buf, 0xEE, sizeof(buf));
	assert_int_equal(guest_mem_write(&gate, HV_START - 4, buf, 8, 0), -E_FAULT);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(ram[HV_START - RAM_BASE - 4 + i], 0);
}

static void test_unmapped_and_wild_addresses_fault(void **state)
{
	uint64_t v = 0;
	static const uint64_t wild[] = {
		6 * GiB, 1ull << MAXPHY, 0x7FFF80000000ull /* direct map + gpa == mhv's image */,
		0xFFFFFFFFFFFFF000ull};

	(void)state;
	for (unsigned i = 0; i < sizeof(wild) / sizeof(wild[0]); i++) {
		assert_int_equal(guest_mem_read(&gate, wild[i], &v, 8, 0), -E_FAULT);
		assert_int_equal(guest_mem_write(&gate, wild[i], &v, 8, 0), -E_FAULT);
		assert_null(guest_mem_ram_ptr(&gate, wild[i], 1));
	}
	assert_int_equal(dev_calls + reg_calls, 0);
}

static void test_bad_lengths_and_wrap_are_einval(void **state)
{
	uint8_t buf[8];

	(void)state;
	assert_int_equal(guest_mem_read(&gate, RAM_BASE, buf, 0, 0), -E_INVAL);
	assert_int_equal(guest_mem_read(&gate, ~0ull - 2, buf, 8, 0), -E_INVAL);
}

static void test_device_pages_go_to_the_device_in_natural_pieces(void **state)
{
	uint8_t buf[16];

	(void)state;
	assert_int_equal(guest_mem_read(&gate, DEV_PAGE + 4, buf, 4, 0), GPA_DEVICE);
	assert_int_equal(dev_calls, 1);
	assert_int_equal(dev_last_gpa, DEV_PAGE + 4);
	assert_int_equal(dev_last_len, 4);
	assert_int_equal(buf[0], 0xA5);
	dev_calls = 0;
	/* 16 bytes at an 8-aligned address: two 8-byte accesses; 3 bytes at +1: 1 + 2. */
	assert_int_equal(guest_mem_write(&gate, DEV_PAGE + 8, buf, 16, 0), GPA_DEVICE);
	assert_int_equal(dev_calls, 2);
	dev_calls = 0;
	assert_int_equal(guest_mem_read(&gate, DEV_PAGE + 1, buf, 3, 0), GPA_DEVICE);
	assert_int_equal(dev_calls, 2);
	assert_int_equal(dev_last_len, 2);
	assert_null(guest_mem_ram_ptr(&gate, DEV_PAGE, 4));
}

/* GMEM_RAM_BENEATH: the RAM under a region (the GDB stub's INT3 pages), and RAM only. */
static void test_ram_beneath_a_region(void **state)
{
	uint32_t v = 0x22334455, got = 0;

	(void)state;
	assert_int_equal(guest_mem_access(&gate, REG_BASE + 8, &v, 4, GMEM_WRITE | GMEM_RAM_BENEATH,
					  0),
			 GPA_RAM);
	assert_int_equal(reg_calls, 0); /* the device never saw it */
	assert_int_equal(ram[REG_BASE - RAM_BASE + 8], 0x55);
	assert_int_equal(guest_mem_access(&gate, REG_BASE + 8, &got, 4, GMEM_RAM_BENEATH, 0),
			 GPA_RAM);
	assert_int_equal(got, 0x22334455);
	/* Across into the next page and on a plain RAM page alike; a device page is refused. */
	assert_int_equal(guest_mem_access(&gate, REG_BASE - 2, &got, 4, GMEM_RAM_BENEATH, 0),
			 GPA_RAM);
	assert_int_equal(guest_mem_access(&gate, DEV_PAGE, &got, 4, GMEM_RAM_BENEATH, 0), -E_FAULT);
	assert_int_equal(dev_calls, 0);
	assert_int_equal(guest_mem_access(&gate, HV_START, &got, 4, GMEM_RAM_BENEATH, 0), -E_FAULT);
}

static void test_trapped_region_wins_over_the_ram_behind_it(void **state)
{
	uint32_t v = 0;

	(void)state;
	ram[REG_BASE - RAM_BASE + 8] = 0x11;
	assert_int_equal(guest_mem_kind(&gate, REG_BASE + 8), GPA_TRAPPED);
	assert_int_equal(guest_mem_read(&gate, REG_BASE + 8, &v, 4, 0), GPA_TRAPPED);
	assert_int_equal(v, 0x5A5A5A5A);
	assert_int_equal(reg_last_offset, 8);
	assert_int_equal(guest_mem_write(&gate, REG_BASE + 8, &v, 4, 0), GPA_TRAPPED);
	assert_int_equal(ram[REG_BASE - RAM_BASE + 8], 0x11); /* RAM behind it untouched */
	assert_int_equal(reg_calls, 2);
	/* A bulk pointer never spans a trapped page. */
	assert_null(guest_mem_ram_ptr(&gate, REG_BASE - 8, 16));
	assert_non_null(guest_mem_ram_ptr(&gate, REG_BASE - 8, 8));
}

static void test_ram_ptr_needs_one_ram_range(void **state)
{
	(void)state;
	assert_ptr_equal(guest_mem_ram_ptr(&gate, RAM_BASE, 4096), ram);
	assert_null(guest_mem_ram_ptr(&gate, RAM_BASE, 0));
	assert_null(guest_mem_ram_ptr(&gate, HV_START - 4096, 8192)); /* into mhv's range */
	assert_null(guest_mem_ram_ptr(&gate, 0x9E000, 0x2000));	       /* RAM then device */
	assert_null(guest_mem_ram_ptr(&gate, ~0ull - 4, 16));	       /* wraps */
}

/* The remembered page answer: served again for the same page, asked anew after a region
 * change (a region added over the remembered RAM page takes it away). */
static void test_ram_page_hint_follows_the_regions(void **state)
{
	struct guest_ram_hint h = {0};
	const uint64_t page = REG_BASE - 4096;

	(void)state;
	assert_ptr_equal(guest_mem_ram_page(&gate, &h, page + 0x10), ram + (page - RAM_BASE));
	assert_ptr_equal(guest_mem_ram_page(&gate, &h, page + 0xff8), ram + (page - RAM_BASE));
	assert_null(guest_mem_ram_page(&gate, &h, REG_BASE)); /* a trapped page: no pointer */
	assert_null(guest_mem_ram_page(&gate, &h, DEV_PAGE));
	assert_non_null(guest_mem_ram_page(&gate, &h, page));
	assert_int_equal(mmio_region_add(&regions, page, 4 * KiB, &reg_ops, NULL), 0);
	assert_null(guest_mem_ram_page(&gate, &h, page)); /* the regions' gen moved on */
	assert_int_equal(mmio_region_remove(&regions, page, 4 * KiB), 0);
	assert_ptr_equal(guest_mem_ram_page(&gate, &h, page), ram + (page - RAM_BASE));
}

static void test_access_across_pages_of_two_kinds(void **state)
{
	uint8_t buf[8];

	(void)state;
	/* The last RAM page below the trapped region, then the region: both served. */
	memset(ram + (REG_BASE - RAM_BASE - 4), 0x22, 4);
	assert_int_equal(guest_mem_read(&gate, REG_BASE - 4, buf, 8, 0), GPA_RAM);
	assert_int_equal(buf[0], 0x22);
	assert_int_equal(buf[4], 0x5A);
}

/* Random addresses and lengths: the gate answers, never asks ram_ptr for what is not RAM. */
static void test_random_accesses_stay_inside_the_map(void **state)
{
	uint8_t buf[64];
	unsigned seed = 12345, ram_hits = 0, faults = 0;

	(void)state;
	for (unsigned i = 0; i < 200000; i++) {
		uint64_t gpa;
		unsigned len, kind;
		int rc;

		seed = seed * 1103515245u + 12345u;
		kind = seed >> 28;
		seed = seed * 1103515245u + 12345u;
		if (kind < 8)
			gpa = RAM_BASE - 4096 + (seed % (RAM_SIZE + 8192));
		else if (kind < 12)
			gpa = ((uint64_t)seed << 20) ^ seed;
		else
			gpa = ((uint64_t)seed << 33) | seed;
		len = 1 + (seed >> 7) % sizeof(buf);
		rc = guest_mem_access(&gate, gpa, buf, len, (seed >> 3) & 1 ? GMEM_WRITE : 0, 0);
		if (rc == GPA_RAM)
			ram_hits++;
		else if (rc == -E_FAULT)
			faults++;
	}
	assert_true(ram_hits > 1000);
	assert_true(faults > 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_map_kinds_follow_the_machine_map, setup),
		cmocka_unit_test_setup(test_map_rounds_ram_inward_and_hidden_outward, setup),
		cmocka_unit_test_setup(test_map_clips_to_maxphyaddr_and_ram_limit, setup),
		cmocka_unit_test_setup(test_map_adds_high_bars, setup),
		cmocka_unit_test_setup(test_map_rejects_bad_arguments, setup),
		cmocka_unit_test_setup(test_map_reports_overflow, setup),
		cmocka_unit_test_setup(test_ram_access_reads_and_writes_the_buffer, setup),
		cmocka_unit_test_setup(test_hidden_range_is_never_touched, setup),
		cmocka_unit_test_setup(test_unmapped_and_wild_addresses_fault, setup),
		cmocka_unit_test_setup(test_bad_lengths_and_wrap_are_einval, setup),
		cmocka_unit_test_setup(test_device_pages_go_to_the_device_in_natural_pieces, setup),
		cmocka_unit_test_setup(test_trapped_region_wins_over_the_ram_behind_it, setup),
		cmocka_unit_test_setup(test_ram_beneath_a_region, setup),
		cmocka_unit_test_setup(test_ram_ptr_needs_one_ram_range, setup),
		cmocka_unit_test_setup(test_ram_page_hint_follows_the_regions, setup),
		cmocka_unit_test_setup(test_access_across_pages_of_two_kinds, setup),
		cmocka_unit_test_setup(test_random_accesses_stay_inside_the_map, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
