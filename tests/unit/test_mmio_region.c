/* mmio/region and mmio/devices: registry rules and lookup, dispatch, the ram/trace/deny models. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lib/errno.h"
#include "mmio/devices.h"
#include "mmio/region.h"

#define PAGE	 0x1000ull
#define TOP_PAGE 0xfffffffffffff000ull

static struct mmio_regions rs;

/* ---- a recording device, to see what dispatch hands over ---------------------------------- */

struct rec_dev {
	unsigned calls;
	struct mmio_access last;
	uint8_t wbuf[16];
};

static int rec_read(void *dev, const struct mmio_access *a, void *buf)
{
	struct rec_dev *d = dev;

	d->calls++;
	d->last = *a;
	memset(buf, 0x5a, a->len);
	return 0;
}

static int rec_write(void *dev, const struct mmio_access *a, const void *buf)
{
	struct rec_dev *d = dev;

	d->calls++;
	d->last = *a;
	memcpy(d->wbuf, buf, a->len);
	return 0;
}

static const struct mmio_dev_ops rec_ops = {.name = "rec", .read = rec_read, .write = rec_write};
static int dev_tag[256];

static int setup(void **state)
{
	(void)state;
	mmio_regions_init(&rs);
	return 0;
}

/* ---- registry ------------------------------------------------------------------------------ */

static void test_region_add_rejects_bad_ranges_with_distinct_codes(void **state)
{
	static const struct mmio_dev_ops no_write = {.name = "x", .read = rec_read};

	(void)state;
	assert_int_equal(mmio_region_add(&rs, 0x1000, 0, &rec_ops, NULL), -E_INVAL);
	assert_int_equal(mmio_region_add(&rs, 0x1000, PAGE, NULL, NULL), -E_INVAL);
	assert_int_equal(mmio_region_add(&rs, 0x1000, PAGE, &no_write, NULL), -E_INVAL);
	assert_int_equal(mmio_region_add(&rs, 0x1001, PAGE, &rec_ops, NULL), -E_FAULT);
	assert_int_equal(mmio_region_add(&rs, 0x1800, PAGE, &rec_ops, NULL), -E_FAULT);
	assert_int_equal(mmio_region_add(&rs, 0x1000, 0x800, &rec_ops, NULL), -E_FAULT);
	assert_int_equal(mmio_region_add(&rs, 0x1000, PAGE + 1, &rec_ops, NULL), -E_FAULT);
	assert_int_equal(mmio_region_add(&rs, TOP_PAGE, 2 * PAGE, &rec_ops, NULL), -E_RANGE);
	assert_int_equal(mmio_region_add(&rs, PAGE, TOP_PAGE, &rec_ops, NULL), 0);
	assert_int_equal(rs.n, 1);
	assert_int_equal(mmio_region_add(&rs, 2 * PAGE, TOP_PAGE, &rec_ops, NULL), -E_RANGE);
	assert_int_equal(rs.n, 1);
}

static void test_region_ending_exactly_at_2_pow_64_is_allowed(void **state)
{
	(void)state;
	assert_int_equal(mmio_region_add(&rs, TOP_PAGE, PAGE, &rec_ops, &dev_tag[0]), 0);
	assert_non_null(mmio_region_find(&rs, UINT64_MAX));
	assert_int_equal(mmio_region_find(&rs, TOP_PAGE)->base, TOP_PAGE);
	assert_int_equal(mmio_region_size(mmio_region_find(&rs, TOP_PAGE)), PAGE);
	assert_null(mmio_region_find(&rs, TOP_PAGE - 1));
	assert_int_equal(mmio_region_add(&rs, TOP_PAGE - PAGE, 2 * PAGE, &rec_ops, NULL), -E_EXIST);
}

/* Remove: exactly a registered region; the rest keep their order and devices. */
static void test_region_remove(void **state)
{
	unsigned gen;

	(void)state;
	assert_int_equal(mmio_region_add(&rs, 0x10000, 0x1000, &rec_ops, &dev_tag[0]), 0);
	assert_int_equal(mmio_region_add(&rs, 0x20000, 0x1000, &rec_ops, &dev_tag[1]), 0);
	assert_int_equal(mmio_region_add(&rs, 0x30000, 0x2000, &rec_ops, &dev_tag[2]), 0);
	gen = rs.gen;
	assert_int_equal(mmio_region_remove(&rs, 0x20000, 0x2000), -E_NOENT); /* wrong size */
	assert_int_equal(mmio_region_remove(&rs, 0x21000, 0x1000), -E_NOENT);
	assert_int_equal(mmio_region_remove(&rs, 0x8000, 0x1000), -E_NOENT);
	assert_int_equal(mmio_region_remove(&rs, 0x20000, 0), -E_NOENT);
	assert_int_equal(rs.gen, gen);
	assert_int_equal(mmio_region_remove(&rs, 0x20000, 0x1000), 0);
	assert_int_equal(rs.n, 2);
	assert_true(rs.gen != gen);
	assert_null(mmio_region_find(&rs, 0x20000));
	assert_ptr_equal(mmio_region_find(&rs, 0x10000)->dev, &dev_tag[0]);
	assert_ptr_equal(mmio_region_find(&rs, 0x31fff)->dev, &dev_tag[2]);
	assert_null(rs.r[2].ops); /* the slot left behind is cleared */
	assert_int_equal(mmio_region_remove(&rs, 0x10000, 0x1000), 0);
	assert_int_equal(mmio_region_remove(&rs, 0x30000, 0x2000), 0);
	assert_int_equal(rs.n, 0);
	/* The range is free again. */
	assert_int_equal(mmio_region_add(&rs, 0x20000, 0x1000, &rec_ops, &dev_tag[3]), 0);
}

static void test_region_overlap_rejected_adjacency_allowed(void **state)
{
	(void)state;
	assert_int_equal(mmio_region_add(&rs, 0x10000, 0x4000, &rec_ops, &dev_tag[0]), 0);
	/* Every kind of overlap: same, inside, covering, straddling either end. */
	assert_int_equal(mmio_region_add(&rs, 0x10000, 0x4000, &rec_ops, NULL), -E_EXIST);
	assert_int_equal(mmio_region_add(&rs, 0x11000, 0x1000, &rec_ops, NULL), -E_EXIST);
	assert_int_equal(mmio_region_add(&rs, 0xf000, 0x6000, &rec_ops, NULL), -E_EXIST);
	assert_int_equal(mmio_region_add(&rs, 0xf000, 0x2000, &rec_ops, NULL), -E_EXIST);
	assert_int_equal(mmio_region_add(&rs, 0x13000, 0x2000, &rec_ops, NULL), -E_EXIST);
	assert_int_equal(rs.n, 1);
	/* Touching on either side is fine. */
	assert_int_equal(mmio_region_add(&rs, 0xf000, 0x1000, &rec_ops, &dev_tag[1]), 0);
	assert_int_equal(mmio_region_add(&rs, 0x14000, 0x1000, &rec_ops, &dev_tag[2]), 0);
	assert_int_equal(rs.n, 3);
	/* Now a gap-filler that overlaps only the right neighbour. */
	assert_int_equal(mmio_region_add(&rs, 0x15000, 0x1000, &rec_ops, &dev_tag[3]), 0);
	assert_int_equal(mmio_region_add(&rs, 0x8000, 0x8000, &rec_ops, NULL), -E_EXIST);
	assert_int_equal(mmio_region_add(&rs, 0x8000, 0x7000, &rec_ops, &dev_tag[4]), 0);
	assert_int_equal(rs.n, 5);
	assert_ptr_equal(mmio_region_find(&rs, 0xefff)->dev, &dev_tag[4]);
	assert_ptr_equal(mmio_region_find(&rs, 0xf000)->dev, &dev_tag[1]);
	assert_ptr_equal(mmio_region_find(&rs, 0x10000)->dev, &dev_tag[0]);
	assert_ptr_equal(mmio_region_find(&rs, 0x14fff)->dev, &dev_tag[2]);
	assert_ptr_equal(mmio_region_find(&rs, 0x15000)->dev, &dev_tag[3]);
	assert_null(mmio_region_find(&rs, 0x16000));
	assert_null(mmio_region_find(&rs, 0x7fff));
}

static void test_region_find_boundaries_single(void **state)
{
	(void)state;
	assert_null(mmio_region_find(&rs, 0));
	assert_int_equal(mmio_region_add(&rs, 0xfee00000, 0x1000, &rec_ops, &dev_tag[7]), 0);
	assert_null(mmio_region_find(&rs, 0));
	assert_null(mmio_region_find(&rs, 0xfedfffff));
	assert_ptr_equal(mmio_region_find(&rs, 0xfee00000)->dev, &dev_tag[7]);
	assert_ptr_equal(mmio_region_find(&rs, 0xfee00fff)->dev, &dev_tag[7]);
	assert_null(mmio_region_find(&rs, 0xfee01000));
	assert_null(mmio_region_find(&rs, UINT64_MAX));
}

/* n regions of varying size with gaps, inserted in a scrambled order; every boundary checked. */
static void check_many(unsigned n)
{
	unsigned i, k;

	mmio_regions_init(&rs);
	for (k = 0; k < n; k++) {
		i = (k * 37u + 11u) % n; /* 37 is coprime with 1, 16 and 256 */
		assert_int_equal(mmio_region_add(&rs, 0x100000 + (uint64_t)i * 0x10000,
						 PAGE * (1 + i % 3), &rec_ops, &dev_tag[i]),
				 0);
	}
	assert_int_equal(rs.n, n);
	for (i = 0; i < n; i++) {
		uint64_t base = 0x100000 + (uint64_t)i * 0x10000, size = PAGE * (1 + i % 3);

		assert_null(mmio_region_find(&rs, base - 1));
		assert_ptr_equal(mmio_region_find(&rs, base)->dev, &dev_tag[i]);
		assert_ptr_equal(mmio_region_find(&rs, base + size / 2)->dev, &dev_tag[i]);
		assert_ptr_equal(mmio_region_find(&rs, base + size - 1)->dev, &dev_tag[i]);
		assert_null(mmio_region_find(&rs, base + size));
		if (i)
			assert_true(rs.r[i - 1].last < rs.r[i].base);
	}
}

static void test_region_1_16_256_regions(void **state)
{
	(void)state;
	check_many(1);
	check_many(16);
	check_many(256);
	assert_int_equal(MMIO_REGION_MAX, 256);
	/* Full: the 257th is refused, but an overlap is still reported as such. */
	assert_int_equal(mmio_region_add(&rs, 0x80000000, PAGE, &rec_ops, NULL), -E_NOMEM);
	assert_int_equal(mmio_region_add(&rs, 0x100000, PAGE, &rec_ops, NULL), -E_EXIST);
	assert_int_equal(rs.n, 256);
}

/* ---- dispatch ------------------------------------------------------------------------------ */

static void test_dispatch_builds_descriptor_and_checks_bounds(void **state)
{
	struct rec_dev d = {0};
	uint8_t buf[16], data[16];
	unsigned len;

	(void)state;
	assert_int_equal(mmio_region_add(&rs, 0xfeb00000, 2 * PAGE, &rec_ops, &d), 0);
	for (len = 1; len <= 16; len++) {
		memset(buf, 0, sizeof(buf));
		assert_int_equal(
			mmio_dispatch(&rs, 0xfeb01ff0, 0xffffffff81000123ull, buf, len, false), 0);
		assert_int_equal(d.last.gpa, 0xfeb01ff0);
		assert_int_equal(d.last.offset, 0x1ff0);
		assert_int_equal(d.last.rip, 0xffffffff81000123ull);
		assert_int_equal(d.last.len, len);
		assert_false(d.last.write);
		assert_int_equal(buf[len - 1], 0x5a);
		if (len < 16)
			assert_int_equal(buf[len], 0);
	}
	for (len = 0; len < 16; len++)
		data[len] = (uint8_t)(len * 7 + 1);
	assert_int_equal(mmio_dispatch(&rs, 0xfeb00008, 42, data, 8, true), 0);
	assert_true(d.last.write);
	assert_int_equal(d.last.offset, 8);
	assert_memory_equal(d.wbuf, data, 8);
	assert_int_equal(d.calls, 17);

	assert_int_equal(mmio_dispatch(&rs, 0xfeb00000, 0, buf, 0, false), -E_INVAL);
	assert_int_equal(mmio_dispatch(&rs, 0xfeb00000, 0, buf, 17, false), -E_INVAL);
	assert_int_equal(mmio_dispatch(&rs, 0xfeafffff, 0, buf, 1, false), -E_NOENT);
	assert_int_equal(mmio_dispatch(&rs, 0xfeb02000, 0, buf, 1, true), -E_NOENT);
	/* Last byte fine, one more runs past the region. */
	assert_int_equal(mmio_dispatch(&rs, 0xfeb01fff, 0, buf, 1, false), 0);
	assert_int_equal(mmio_dispatch(&rs, 0xfeb01fff, 0, buf, 2, false), -E_RANGE);
	assert_int_equal(mmio_dispatch(&rs, 0xfeb01ff1, 0, buf, 16, true), -E_RANGE);
	assert_int_equal(d.calls, 18);
}

/* ---- ram ----------------------------------------------------------------------------------- */

static void test_ram_window_reads_back_writes_and_logs_exactly(void **state)
{
	static uint8_t backing[0x2000];
	struct mmio_ram_dev ram;
	const struct mmio_ram_log_entry *e;
	uint8_t buf[16], wide[16];
	uint32_t v32 = 0xdeadbeef;
	uint64_t v64 = 0x0123456789abcdefull;
	unsigned i;

	(void)state;
	memset(backing, 0, sizeof(backing));
	mmio_ram_init(&ram, backing, sizeof(backing));
	mmio_ram_log_on(&ram);
	assert_int_equal(mmio_region_add(&rs, 0xe0000000, 0x2000, &mmio_ram_ops, &ram), 0);
	assert_string_equal(mmio_ram_ops.name, "ram");

	assert_int_equal(mmio_dispatch(&rs, 0xe0000010, 1, &v32, 4, true), 0);
	assert_int_equal(mmio_dispatch(&rs, 0xe0001ff8, 2, &v64, 8, true), 0);
	for (i = 0; i < 16; i++)
		wide[i] = (uint8_t)(0xa0 + i);
	assert_int_equal(mmio_dispatch(&rs, 0xe0000100, 3, wide, 16, true), 0);
	/* The backing buffer holds what was written, where it was written. */
	assert_memory_equal(backing + 0x10, &v32, 4);
	assert_memory_equal(backing + 0x1ff8, &v64, 8);
	assert_memory_equal(backing + 0x100, wide, 16);
	/* Reads see it, at any size and offset. */
	assert_int_equal(mmio_dispatch(&rs, 0xe0000011, 4, buf, 2, false), 0);
	assert_int_equal(buf[0], 0xbe);
	assert_int_equal(buf[1], 0xad);
	assert_int_equal(mmio_dispatch(&rs, 0xe0000100, 5, buf, 16, false), 0);
	assert_memory_equal(buf, wide, 16);
	assert_int_equal(mmio_dispatch(&rs, 0xe0001ffc, 6, buf, 4, false), 0);
	assert_int_equal(buf[0], 0x67);
	assert_int_equal(buf[3], 0x01);

	assert_int_equal(ram.writes, 3);
	assert_int_equal(ram.reads, 3);
	assert_int_equal(ram.bytes_written, 4 + 8 + 16);
	assert_int_equal(ram.bytes_read, 2 + 16 + 4);
	assert_int_equal(mmio_ram_log_count(&ram), 6);
	e = mmio_ram_log_at(&ram, 0);
	assert_int_equal(e->offset, 0x10);
	assert_int_equal(e->len, 4);
	assert_int_equal(e->value, 0xdeadbeef);
	assert_true(e->write);
	e = mmio_ram_log_at(&ram, 1);
	assert_int_equal(e->offset, 0x1ff8);
	assert_int_equal(e->value, 0x0123456789abcdefull);
	e = mmio_ram_log_at(&ram, 2); /* 16 bytes: value keeps the first 8 */
	assert_int_equal(e->len, 16);
	assert_int_equal(e->value, 0xa7a6a5a4a3a2a1a0ull);
	e = mmio_ram_log_at(&ram, 3);
	assert_int_equal(e->offset, 0x11);
	assert_int_equal(e->len, 2);
	assert_int_equal(e->value, 0xadbe);
	assert_false(e->write);
	e = mmio_ram_log_at(&ram, 5);
	assert_int_equal(e->value, 0x01234567);
	assert_null(mmio_ram_log_at(&ram, 6));
}

static void test_ram_window_smaller_than_region_and_log_ring_wraps(void **state)
{
	static uint8_t backing[0x100];
	struct mmio_ram_dev ram;
	uint8_t b = 0;
	unsigned i;

	(void)state;
	mmio_ram_init(&ram, backing, sizeof(backing));
	mmio_ram_log_on(&ram);
	assert_int_equal(mmio_region_add(&rs, 0x40000000, PAGE, &mmio_ram_ops, &ram), 0);
	assert_int_equal(mmio_dispatch(&rs, 0x400000fe, 0, &b, 1, false), 0);
	assert_int_equal(mmio_dispatch(&rs, 0x400000ff, 0, &i, 2, false), -E_RANGE);
	assert_int_equal(mmio_dispatch(&rs, 0x40000100, 0, &b, 1, true), -E_RANGE);
	assert_int_equal(ram.reads + ram.writes, 1); /* refused accesses are not counted */
	mmio_ram_reset_stats(&ram);
	assert_int_equal(mmio_ram_log_count(&ram), 0);

	for (i = 0; i < MMIO_RAM_LOG_LEN + 5; i++) {
		b = (uint8_t)i;
		assert_int_equal(mmio_dispatch(&rs, 0x40000000 + i, 0, &b, 1, true), 0);
	}
	assert_int_equal(ram.nr_logged, MMIO_RAM_LOG_LEN + 5);
	assert_int_equal(mmio_ram_log_count(&ram), MMIO_RAM_LOG_LEN);
	/* Oldest kept is access #5. */
	for (i = 0; i < MMIO_RAM_LOG_LEN; i++) {
		assert_int_equal(mmio_ram_log_at(&ram, i)->offset, i + 5);
		assert_int_equal(mmio_ram_log_at(&ram, i)->value, i + 5);
	}
	assert_null(mmio_ram_log_at(&ram, MMIO_RAM_LOG_LEN));
}

static void test_ram_log_off_by_default_counters_still_count(void **state)
{
	static uint8_t backing[0x100];
	struct mmio_ram_dev ram;
	uint32_t v = 0x11223344, back = 0;

	(void)state;
	mmio_ram_init(&ram, backing, sizeof(backing));
	assert_int_equal(mmio_region_add(&rs, 0x40000000, PAGE, &mmio_ram_ops, &ram), 0);
	assert_int_equal(mmio_dispatch(&rs, 0x40000010, 0, &v, 4, true), 0);
	assert_int_equal(mmio_dispatch(&rs, 0x40000010, 0, &back, 4, false), 0);
	assert_int_equal(back, v);
	assert_int_equal(ram.writes, 1);
	assert_int_equal(ram.reads, 1);
	assert_int_equal(ram.bytes_written + ram.bytes_read, 8);
	assert_int_equal(mmio_ram_log_count(&ram), 0);
	assert_null(mmio_ram_log_at(&ram, 0));
}

/*
 * The lock-free entry points (read_value/write_value, one per width): the same bytes and
 * counters as read/write, little-endian, zero-extended; past the buffer -E_RANGE with nothing
 * counted; with the log on, the access is logged (through the locked way).
 */
static void test_ram_value_entries_match_read_write(void **state)
{
	static uint8_t backing[0x100];
	struct mmio_ram_dev ram;
	unsigned i;

	(void)state;
	memset(backing, 0, sizeof(backing));
	mmio_ram_init(&ram, backing, sizeof(backing));
	for (i = 0; i < MMIO_VALUE_SIZES; i++) {
		unsigned len = 1u << i;
		uint64_t val = 0x8877665544332211ull;
		uint64_t want = len == 8 ? val : val & ((1ull << (8 * len)) - 1);
		struct mmio_value r;
		uint64_t back = 0;

		assert_int_equal(mmio_ram_ops.write_value[i](&ram, 0x20 * i + 1, val), 0);
		r = mmio_ram_ops.read_value[i](&ram, 0x20 * i + 1);
		assert_int_equal(r.err, 0);
		assert_int_equal(r.val, want);
		memcpy(&back, backing + 0x20 * i + 1, len);
		assert_int_equal(back, want);
		assert_int_equal(backing[0x20 * i + 1 + len], 0); /* nothing past the width */
	}
	assert_int_equal(ram.writes, 4);
	assert_int_equal(ram.reads, 4);
	assert_int_equal(ram.bytes_written, 15);
	assert_int_equal(ram.bytes_read, 15);
	/* The last bytes of the buffer are reachable, one more is not (and not counted). */
	assert_int_equal(mmio_ram_ops.read_value[3](&ram, sizeof(backing) - 8).err, 0);
	assert_int_equal(mmio_ram_ops.read_value[3](&ram, sizeof(backing) - 7).err, -E_RANGE);
	assert_int_equal(mmio_ram_ops.write_value[2](&ram, sizeof(backing) - 3, 0), -E_RANGE);
	assert_int_equal(ram.reads, 5);
	assert_int_equal(ram.writes, 4);
	assert_int_equal(mmio_ram_log_count(&ram), 0);
	/* With the log on, each access is recorded. */
	mmio_ram_log_on(&ram);
	assert_int_equal(mmio_ram_ops.write_value[1](&ram, 0x40, 0xbeef), 0);
	assert_int_equal(mmio_ram_ops.read_value[1](&ram, 0x40).val, 0xbeef);
	assert_int_equal(mmio_ram_log_count(&ram), 2);
	assert_int_equal(mmio_ram_log_at(&ram, 0)->offset, 0x40);
	assert_true(mmio_ram_log_at(&ram, 0)->write);
	assert_int_equal(mmio_ram_log_at(&ram, 1)->value, 0xbeef);
	assert_false(mmio_ram_log_at(&ram, 1)->write);
}

/* ---- deny ---------------------------------------------------------------------------------- */

#define MAX_RECS 64

static struct {
	struct mmio_log_rec rec[MAX_RECS];
	unsigned n;
	void *ctx_seen;
} logged;

static void log_cb(void *ctx, const struct mmio_log_rec *rec)
{
	logged.ctx_seen = ctx;
	if (logged.n < MAX_RECS)
		logged.rec[logged.n] = *rec;
	logged.n++;
}

static void test_deny_reads_all_ones_every_size_writes_dropped(void **state)
{
	struct mmio_deny_dev d;
	uint8_t buf[17];
	unsigned len, i;

	(void)state;
	memset(&logged, 0, sizeof(logged));
	mmio_deny_init(&d, log_cb, &dev_tag[9]);
	assert_int_equal(mmio_region_add(&rs, 0xfee00000, PAGE, &mmio_deny_ops, &d), 0);
	for (len = 1; len <= 16; len++) {
		memset(buf, 0x11, sizeof(buf));
		assert_int_equal(mmio_dispatch(&rs, 0xfee00000 + len * 16, 7, buf, len, false), 0);
		for (i = 0; i < len; i++)
			assert_int_equal(buf[i], 0xff);
		for (; i < sizeof(buf); i++)
			assert_int_equal(buf[i], 0x11);
	}
	assert_int_equal(logged.n, 16);
	assert_ptr_equal(logged.ctx_seen, &dev_tag[9]);
	assert_int_equal(logged.rec[15].len, 16);
	assert_int_equal(logged.rec[15].value[0], UINT64_MAX);
	assert_int_equal(logged.rec[15].value[1], UINT64_MAX);
	assert_int_equal(logged.rec[2].value[0], 0xffffff);
	assert_int_equal(logged.rec[2].value[1], 0);
	assert_int_equal(logged.rec[2].gpa, 0xfee00030);
	assert_int_equal(logged.rec[2].rip, 7);
	assert_string_equal(logged.rec[2].dev, "deny");
	assert_int_equal(d.reads, 16);
	assert_int_equal(d.writes, 0);
}

static void test_deny_log_is_rate_limited_with_counts(void **state)
{
	struct mmio_deny_dev d;
	uint32_t v = 0x12345678;
	unsigned i;

	(void)state;
	memset(&logged, 0, sizeof(logged));
	mmio_deny_init(&d, log_cb, NULL);
	assert_int_equal(mmio_region_add(&rs, 0xfee00000, PAGE, &mmio_deny_ops, &d), 0);
	for (i = 1; i <= 3500; i++)
		assert_int_equal(mmio_dispatch(&rs, 0xfee000b0, i, &v, 4, true), 0);
	/* 1..16, then 1000, 2000, 3000. */
	assert_int_equal(logged.n, 19);
	assert_int_equal(d.logged, 19);
	assert_int_equal(d.writes, 3500);
	for (i = 0; i < 16; i++) {
		assert_int_equal(logged.rec[i].seq, i + 1);
		assert_int_equal(logged.rec[i].skipped, 0);
		assert_true(logged.rec[i].write);
		assert_int_equal(logged.rec[i].value[0], 0x12345678);
	}
	assert_int_equal(logged.rec[16].seq, 1000);
	assert_int_equal(logged.rec[16].skipped, 1000 - 16 - 1);
	assert_int_equal(logged.rec[16].rip, 1000);
	assert_int_equal(logged.rec[17].seq, 2000);
	assert_int_equal(logged.rec[17].skipped, 999);
	assert_int_equal(logged.rec[18].seq, 3000);
	/* A NULL log is allowed. */
	mmio_deny_init(&d, NULL, NULL);
	assert_int_equal(mmio_dispatch(&rs, 0xfee000b0, 0, &v, 4, false), 0);
	assert_int_equal(v, 0xffffffff);
	assert_int_equal(d.reads, 1);
}

/* ---- trace --------------------------------------------------------------------------------- */

static struct {
	unsigned reads, writes;
	uint64_t pa;
	unsigned len;
	uint8_t data[16];
	int rc;
} phys;

static int phys_read(void *ctx, uint64_t pa, void *buf, unsigned len)
{
	unsigned i;

	assert_ptr_equal(ctx, &phys);
	phys.reads++;
	phys.pa = pa;
	phys.len = len;
	for (i = 0; i < len; i++)
		((uint8_t *)buf)[i] = (uint8_t)(pa + i);
	return phys.rc;
}

static int phys_write(void *ctx, uint64_t pa, const void *buf, unsigned len)
{
	assert_ptr_equal(ctx, &phys);
	phys.writes++;
	phys.pa = pa;
	phys.len = len;
	memcpy(phys.data, buf, len);
	return phys.rc;
}

static void test_trace_forwards_to_phys_and_logs(void **state)
{
	struct mmio_trace_dev d;
	uint8_t buf[16];
	uint16_t w = 0xbeef;
	unsigned len, i;

	(void)state;
	memset(&logged, 0, sizeof(logged));
	memset(&phys, 0, sizeof(phys));
	mmio_trace_init(&d, phys_read, phys_write, log_cb, &phys);
	assert_int_equal(mmio_region_add(&rs, 0xfebd0000, PAGE, &mmio_trace_ops, &d), 0);
	for (len = 1; len <= 16; len++) {
		assert_int_equal(mmio_dispatch(&rs, 0xfebd0100, 0x1000 + len, buf, len, false), 0);
		assert_int_equal(phys.pa, 0xfebd0100);
		assert_int_equal(phys.len, len);
		for (i = 0; i < len; i++)
			assert_int_equal(buf[i], (uint8_t)(0x00 + i));
		assert_int_equal(logged.rec[len - 1].len, len);
		assert_int_equal(logged.rec[len - 1].rip, 0x1000 + len);
		assert_int_equal(logged.rec[len - 1].gpa, 0xfebd0100);
		assert_false(logged.rec[len - 1].write);
		assert_int_equal(logged.rec[len - 1].seq, len);
	}
	assert_int_equal(logged.rec[7].value[0], 0x0706050403020100ull);
	assert_int_equal(logged.rec[15].value[1], 0x0f0e0d0c0b0a0908ull);
	assert_int_equal(mmio_dispatch(&rs, 0xfebd0ffe, 0xabc, &w, 2, true), 0);
	assert_int_equal(phys.writes, 1);
	assert_int_equal(phys.pa, 0xfebd0ffe);
	assert_int_equal(phys.len, 2);
	assert_int_equal(phys.data[0], 0xef);
	assert_int_equal(phys.data[1], 0xbe);
	assert_int_equal(logged.n, 17);
	assert_true(logged.rec[16].write);
	assert_int_equal(logged.rec[16].value[0], 0xbeef);
	assert_int_equal(logged.rec[16].rip, 0xabc);
	assert_string_equal(logged.rec[16].dev, "trace");
	assert_int_equal(d.reads, 16);
	assert_int_equal(d.writes, 1);

	/* A failing physical access is logged with its code, reads give all ones. */
	phys.rc = -E_FAULT;
	assert_int_equal(mmio_dispatch(&rs, 0xfebd0000, 1, buf, 4, false), -E_FAULT);
	assert_int_equal(buf[0], 0xff);
	assert_int_equal(buf[3], 0xff);
	assert_int_equal(logged.rec[17].rc, -E_FAULT);
	assert_int_equal(logged.rec[17].value[0], 0xffffffff);
	assert_int_equal(mmio_dispatch(&rs, 0xfebd0000, 1, &w, 2, true), -E_FAULT);
	assert_int_equal(logged.rec[18].rc, -E_FAULT);
	assert_int_equal(logged.n, 19);
}

static void test_value_text_has_the_access_width(void **state)
{
	const uint64_t v[2] = {0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull};
	const uint64_t ones[2] = {0xffffffffull, 0};
	char out[MMIO_VALUE_TEXT_MAX];

	(void)state;
	mmio_value_format(out, sizeof(out), v, 1);
	assert_string_equal(out, "0x00");
	mmio_value_format(out, sizeof(out), v, 2);
	assert_string_equal(out, "0x0100");
	mmio_value_format(out, sizeof(out), ones, 4);
	assert_string_equal(out, "0xffffffff");
	mmio_value_format(out, sizeof(out), v, 8);
	assert_string_equal(out, "0x0706050403020100");
	mmio_value_format(out, sizeof(out), v, 10);
	assert_string_equal(out, "0x09080706050403020100");
	mmio_value_format(out, sizeof(out), v, 16);
	assert_string_equal(out, "0x0f0e0d0c0b0a09080706050403020100");
	/* Out-of-range widths are clamped, never overrun the buffer. */
	mmio_value_format(out, sizeof(out), v, 99);
	assert_int_equal(strlen(out), 2 + 32);
	mmio_value_format(out, 5, v, 8);
	assert_string_equal(out, "0x07");
}

/* ---- the exit path's hint and a string instruction's run of accesses ------------------- */

static void test_hinted_find_follows_adds(void **state)
{
	struct mmio_region_hint h = {0};
	const struct mmio_region *r;

	(void)state;
	assert_int_equal(mmio_region_add(&rs, 0x10 * PAGE, PAGE, &rec_ops, &dev_tag[1]), 0);
	r = mmio_region_find_hinted(&rs, &h, 0x10 * PAGE + 8);
	assert_non_null(r);
	assert_ptr_equal(h.r, r);
	assert_ptr_equal(mmio_region_find_hinted(&rs, &h, 0x10 * PAGE + 16), r);
	assert_null(mmio_region_find_hinted(&rs, &h, 0x11 * PAGE)); /* miss keeps the hint */
	assert_ptr_equal(h.r, r);
	/* An add below shifts the array: the hint's slot now holds another region. */
	assert_int_equal(mmio_region_add(&rs, 0x2 * PAGE, PAGE, &rec_ops, &dev_tag[2]), 0);
	r = mmio_region_find_hinted(&rs, &h, 0x10 * PAGE);
	assert_non_null(r);
	assert_ptr_equal(r->dev, &dev_tag[1]);
	r = mmio_region_find_hinted(&rs, &h, 0x2 * PAGE + 4);
	assert_ptr_equal(r->dev, &dev_tag[2]);
	/* Emptied: the slot still holds the old region, the hint must not find it. */
	mmio_regions_init(&rs);
	assert_null(mmio_region_find_hinted(&rs, &h, 0x2 * PAGE + 4));
}

struct fail_dev {
	unsigned calls, fail_at;
	uint64_t gpa[8];
	uint32_t val[8];
};

static int fail_read(void *dev, const struct mmio_access *a, void *buf)
{
	struct fail_dev *d = dev;
	uint32_t v = 0xa0 + d->calls;

	if (d->calls == d->fail_at)
		return -E_INVAL;
	d->gpa[d->calls++] = a->gpa;
	memcpy(buf, &v, a->len);
	return 0;
}

static int fail_write(void *dev, const struct mmio_access *a, const void *buf)
{
	struct fail_dev *d = dev;

	if (d->calls == d->fail_at)
		return -E_INVAL;
	d->gpa[d->calls] = a->gpa;
	memcpy(&d->val[d->calls++], buf, a->len);
	return 0;
}

static const struct mmio_dev_ops fail_ops = {.name = "fail", .read = fail_read, .write = fail_write};

static void test_access_run_in_order_both_directions_stops_at_failure(void **state)
{
	struct fail_dev d = {.fail_at = 99};
	uint32_t src[4] = {11, 22, 33, 44}, dst[4] = {0};
	const struct mmio_region *r;

	(void)state;
	assert_int_equal(mmio_region_add(&rs, 0x20 * PAGE, PAGE, &fail_ops, &d), 0);
	r = mmio_region_find(&rs, 0x20 * PAGE);
	/* Upwards, RAM buffer walking with the device. */
	assert_int_equal(mmio_region_access_run(r, 0x20 * PAGE + 0x100, 4, 0, (uint8_t *)src, 4,
						4, 4, true),
			 4);
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(d.gpa[i], 0x20 * PAGE + 0x100 + 4 * i);
		assert_int_equal(d.val[i], src[i]);
	}
	/* Downwards reads into RAM, the third access failing: two done. */
	d = (struct fail_dev){.fail_at = 2};
	assert_int_equal(mmio_region_access_run(r, 0x20 * PAGE + 0x10c, -4, 0,
						(uint8_t *)&dst[3], -4, 4, 4, false),
			 2);
	assert_int_equal(d.gpa[0], 0x20 * PAGE + 0x10c);
	assert_int_equal(d.gpa[1], 0x20 * PAGE + 0x108);
	assert_int_equal(dst[3], 0xa0);
	assert_int_equal(dst[2], 0xa1);
	assert_int_equal(dst[1], 0);
	/* A zero buffer step: every access uses the same value (STOS). */
	d = (struct fail_dev){.fail_at = 99};
	assert_int_equal(mmio_region_access_run(r, 0x20 * PAGE, 2, 0, (uint8_t *)&src[0], 0, 2, 3,
						true),
			 3);
	assert_int_equal(d.val[2], 11);
	assert_int_equal(d.gpa[2], 0x20 * PAGE + 4);
}

/* The ram model's run leaves buffer, counters and log exactly as single accesses do. */
static void ram_pair_compare(const struct mmio_ram_dev *a, const struct mmio_ram_dev *b,
			     uint64_t size)
{
	assert_memory_equal(a->buf, b->buf, size);
	assert_int_equal(a->reads, b->reads);
	assert_int_equal(a->writes, b->writes);
	assert_int_equal(a->bytes_read, b->bytes_read);
	assert_int_equal(a->bytes_written, b->bytes_written);
	assert_int_equal(a->nr_logged, b->nr_logged);
	assert_int_equal(mmio_ram_log_count(a), mmio_ram_log_count(b));
	for (unsigned i = 0; i < mmio_ram_log_count(a); i++) {
		const struct mmio_ram_log_entry *x = mmio_ram_log_at(a, i), *y = mmio_ram_log_at(b, i);

		assert_int_equal(x->offset, y->offset);
		assert_int_equal(x->value, y->value);
		assert_int_equal(x->len, y->len);
		assert_int_equal(x->write, y->write);
	}
}

static void test_ram_run_equals_single_accesses(void **state)
{
	static uint8_t back_a[0x200], back_b[0x200];
	struct mmio_ram_dev ra, rb;
	uint32_t src[48], got_a[48] = {0}, got_b[48] = {0};
	const struct mmio_region *r_a, *r_b;
	unsigned n;

	(void)state;
	for (unsigned i = 0; i < 48; i++)
		src[i] = 0x1000u * i + 7;
	mmio_ram_init(&ra, back_a, sizeof(back_a));
	mmio_ram_init(&rb, back_b, sizeof(back_b));
	mmio_ram_log_on(&ra);
	mmio_ram_log_on(&rb);
	assert_int_equal(mmio_region_add(&rs, 0x40 * PAGE, PAGE, &mmio_ram_ops, &ra), 0);
	assert_int_equal(mmio_region_add(&rs, 0x41 * PAGE, PAGE, &mmio_ram_ops, &rb), 0);
	r_a = mmio_region_find(&rs, 0x40 * PAGE);
	r_b = mmio_region_find(&rs, 0x41 * PAGE);
	/* 40 dword writes upwards (more than the log ring holds). */
	assert_int_equal(mmio_region_access_run(r_a, 0x40 * PAGE + 8, 4, 0, (uint8_t *)src, 4, 4,
						40, true),
			 40);
	for (unsigned i = 0; i < 40; i++)
		assert_int_equal(mmio_region_access(r_b, 0x41 * PAGE + 8 + 4 * i, 0, &src[i], 4,
						    true),
				 0);
	ram_pair_compare(&ra, &rb, sizeof(back_a));
	/* 5 dword reads downwards into a buffer walking down. */
	assert_int_equal(mmio_region_access_run(r_a, 0x40 * PAGE + 0x40, -4, 0,
						(uint8_t *)&got_a[10], -4, 4, 5, false),
			 5);
	for (unsigned i = 0; i < 5; i++)
		assert_int_equal(mmio_region_access(r_b, 0x41 * PAGE + 0x40 - 4 * i, 0,
						    &got_b[10 - i], 4, false),
				 0);
	assert_memory_equal(got_a, got_b, sizeof(got_a));
	ram_pair_compare(&ra, &rb, sizeof(back_a));
	/* A run off the window's end stops where a single access would fail. */
	n = mmio_region_access_run(r_a, 0x40 * PAGE + sizeof(back_a) - 8, 4, 0, (uint8_t *)src, 4,
				   4, 4, true);
	assert_int_equal(n, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_region_add_rejects_bad_ranges_with_distinct_codes,
				       setup),
		cmocka_unit_test_setup(test_region_ending_exactly_at_2_pow_64_is_allowed, setup),
		cmocka_unit_test_setup(test_region_overlap_rejected_adjacency_allowed, setup),
		cmocka_unit_test_setup(test_region_remove, setup),
		cmocka_unit_test_setup(test_region_find_boundaries_single, setup),
		cmocka_unit_test_setup(test_region_1_16_256_regions, setup),
		cmocka_unit_test_setup(test_dispatch_builds_descriptor_and_checks_bounds, setup),
		cmocka_unit_test_setup(test_ram_window_reads_back_writes_and_logs_exactly, setup),
		cmocka_unit_test_setup(test_ram_window_smaller_than_region_and_log_ring_wraps,
				       setup),
		cmocka_unit_test_setup(test_ram_log_off_by_default_counters_still_count, setup),
		cmocka_unit_test(test_ram_value_entries_match_read_write),
		cmocka_unit_test_setup(test_deny_reads_all_ones_every_size_writes_dropped, setup),
		cmocka_unit_test_setup(test_deny_log_is_rate_limited_with_counts, setup),
		cmocka_unit_test_setup(test_trace_forwards_to_phys_and_logs, setup),
		cmocka_unit_test(test_value_text_has_the_access_width),
		cmocka_unit_test_setup(test_hinted_find_follows_adds, setup),
		cmocka_unit_test_setup(test_ram_run_equals_single_accesses, setup),
		cmocka_unit_test_setup(test_access_run_in_order_both_directions_stops_at_failure,
				       setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
