/* iommu/ivrs: a realistic IVRS table parsed whole, and every malformation refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "iommu/ivrs.h"
#include "lib/errno.h"
#include "tests/unit/acpi_build.h"

#define ERR_LEN 200

static struct tbl t;
static struct ivrs_info info;
static char err[ERR_LEN];

static void ivrs_header(void)
{
	tbl_header(&t, "IVRS");
	put32(&t, 0x00203040);
	put_zeros(&t, 8);
}

/* An IVHD block header; returns its offset so the length can be fixed after the entries. */
static size_t ivhd_begin(uint8_t type, uint64_t base)
{
	size_t off = t.n;

	put8(&t, type);
	put8(&t, 0xb0);
	put16(&t, 0);
	put16(&t, 0x0002); /* the IOMMU's own function 00:00.2 */
	put16(&t, 0x40);
	put64(&t, base);
	put16(&t, 0);
	put16(&t, 0);
	put32(&t, 0x80048f6e);
	if (type != 0x10) {
		put64(&t, 0x1234);
		put64(&t, 0);
	}
	return off;
}

static void block_end(size_t off)
{
	set16(&t, off + 2, (uint16_t)(t.n - off));
}

static void dev4(uint8_t type, uint16_t id, uint8_t setting)
{
	put8(&t, type);
	put16(&t, id);
	put8(&t, setting);
}

static void dev8(uint8_t type, uint16_t id, uint8_t b4, uint16_t id2, uint8_t b7)
{
	dev4(type, id, 0);
	put8(&t, b4);
	put16(&t, id2);
	put8(&t, b7);
}

static void ivmd(uint8_t type, uint8_t flags, uint16_t dev, uint16_t aux, uint64_t start,
		 uint64_t len)
{
	put8(&t, type);
	put8(&t, flags);
	put16(&t, 32);
	put16(&t, dev);
	put16(&t, aux);
	put64(&t, 0);
	put64(&t, start);
	put64(&t, len);
}

static int parse(void)
{
	memset(err, 'X', sizeof(err));
	int rc = ivrs_parse(t.b, t.n, &info, err, sizeof(err));
	assert_non_null(memchr(err, '\0', sizeof(err)));
	return rc;
}

static void expect_refused(const char *needle)
{
	assert_int_equal(parse(), -E_INVAL);
	if (!strstr(err, needle))
		fail_msg("message '%s' lacks '%s'", err, needle);
}

/* What QEMU's amd-iommu and real firmware give: a 10h and an 11h block for one IOMMU. */
static void build_good(void)
{
	size_t b;

	ivrs_header();
	b = ivhd_begin(0x10, 0xfeb80000);
	dev4(0x01, 0, 0); /* ALL */
	block_end(b);
	b = ivhd_begin(0x11, 0xfeb80000);
	dev4(0x03, 0x0008, 0);		    /* 00:01.0 .. */
	dev4(0x04, 0x00ff, 0);		    /* .. 00:1f.7 */
	dev4(0x02, 0x0100, 0x40);	    /* 01:00.0, setting byte kept */
	dev8(0x42, 0x0200, 0, 0x0108, 0);   /* 02:00.0 requests arrive as 01:01.0 */
	dev8(0x43, 0x0300, 0, 0x0110, 0);   /* 03:00.0 .. */
	dev4(0x04, 0x03ff, 0);		    /* .. 03:1f.7, as 01:02.0 */
	dev8(0x48, 0, 0x21, 0x00a0, 1);     /* IOAPIC 0x21 = 00:14.0 */
	dev4(0x00, 0, 0);		    /* padding */
	block_end(b);
	ivmd(0x21, IVMD_UNITY | IVMD_READ | IVMD_WRITE, 0x00a0, 0, 0xe8000, 0x2000);
	ivmd(0x22, IVMD_UNITY | IVMD_READ, 0x0100, 0x01ff, 0x100000000ull, 0x1000);
	ivmd(0x20, IVMD_UNITY, 0, 0, 0x9f000, 0x1000);
}

static void test_ivrs_good_table(void **state)
{
	const struct ivrs_unit *u;

	(void)state;
	build_good();
	tbl_finish(&t);
	assert_int_equal(parse(), 0);
	assert_string_equal(err, "");
	assert_int_equal(info.ivinfo, 0x00203040);
	assert_int_equal(info.nr_units, 1); /* one IOMMU, the 11h block's view */
	u = &info.units[0];
	assert_int_equal(u->type, 0x11);
	assert_int_equal(u->base, 0xfeb80000);
	assert_int_equal(u->devid, 2);
	assert_int_equal(u->cap_offset, 0x40);
	assert_int_equal(u->efr, 0x1234);
	assert_int_equal(u->nr_devs, 4);
	assert_int_equal(u->devs[0].first, 0x0008);
	assert_int_equal(u->devs[0].last, 0x00ff);
	assert_int_equal(u->devs[0].alias, 0x0008);
	assert_int_equal(u->devs[1].first, 0x0100);
	assert_int_equal(u->devs[1].setting, 0x40);
	assert_int_equal(u->devs[2].alias, 0x0108);
	assert_int_equal(u->devs[3].first, 0x0300);
	assert_int_equal(u->devs[3].last, 0x03ff);
	assert_int_equal(u->devs[3].alias, 0x0110);
	assert_int_equal(u->nr_specials, 1);
	assert_int_equal(u->specials[0].handle, 0x21);
	assert_int_equal(u->specials[0].devid, 0x00a0);
	assert_int_equal(u->specials[0].variety, IVRS_SPECIAL_IOAPIC);
	assert_int_equal(info.nr_mems, 3);
	assert_int_equal(info.mems[0].first, 0x00a0);
	assert_int_equal(info.mems[0].last, 0x00a0);
	assert_int_equal(info.mems[0].end, 0xea000);
	assert_int_equal(info.mems[1].last, 0x01ff);
	assert_int_equal(info.mems[2].first, 0);
	assert_int_equal(info.mems[2].last, 0xffff);
}

static void test_ivrs_type10_alone(void **state)
{
	size_t b;

	(void)state;
	ivrs_header();
	b = ivhd_begin(0x10, 0xfeb80000);
	dev4(0x01, 0, 0);
	block_end(b);
	tbl_finish(&t);
	assert_int_equal(parse(), 0);
	assert_int_equal(info.units[0].type, 0x10);
	assert_int_equal(info.units[0].devs[0].first, 0);
	assert_int_equal(info.units[0].devs[0].last, 0xffff);
}

static void test_ivrs_bad_header_and_blocks(void **state)
{
	size_t b;

	(void)state;
	build_good();
	tbl_finish(&t);
	t.b[40] ^= 1;
	expect_refused("checksum fails");
	ivrs_header();
	tbl_finish(&t);
	expect_refused("no IVHD block");
	ivrs_header();
	b = ivhd_begin(0x10, 0xfeb80000);
	set16(&t, b + 2, 0);
	tbl_finish(&t);
	expect_refused("has length 0");
	ivrs_header();
	b = ivhd_begin(0x11, 0xfeb80000);
	set16(&t, b + 2, 24); /* an 11h block needs 40 bytes */
	t.n = b + 24;
	tbl_finish(&t);
	expect_refused("IVHD type 0x11 length 24 below 40");
	ivrs_header();
	b = ivhd_begin(0x10, 0xfeb80800);
	block_end(b);
	tbl_finish(&t);
	expect_refused("is zero or unaligned");
	ivrs_header();
	b = ivhd_begin(0x10, 0xfeb80000);
	block_end(b);
	b = ivhd_begin(0x10, 0xfeb80000);
	block_end(b);
	tbl_finish(&t);
	expect_refused("two IVHD blocks of type 0x10");
	ivrs_header();
	put8(&t, 0x10);
	put8(&t, 0);
	tbl_finish(&t);
	expect_refused("block header runs past");
}

static void test_ivrs_bad_device_entries(void **state)
{
	size_t b;

	(void)state;
	/* A range start followed by something else, an end without a start, start at the end. */
	ivrs_header();
	b = ivhd_begin(0x10, 0xfeb80000);
	dev4(0x03, 0x0008, 0);
	dev4(0x02, 0x0100, 0);
	block_end(b);
	tbl_finish(&t);
	expect_refused("range start without its end");
	ivrs_header();
	b = ivhd_begin(0x10, 0xfeb80000);
	dev4(0x04, 0x0008, 0);
	block_end(b);
	tbl_finish(&t);
	expect_refused("range end without a start");
	ivrs_header();
	b = ivhd_begin(0x10, 0xfeb80000);
	dev8(0x43, 0x0300, 0, 0x0110, 0);
	block_end(b);
	tbl_finish(&t);
	expect_refused("range start without its end");
	ivrs_header();
	b = ivhd_begin(0x10, 0xfeb80000);
	dev4(0x03, 0x0100, 0);
	dev4(0x04, 0x0008, 0);
	block_end(b);
	tbl_finish(&t);
	expect_refused("ends before it starts");
	/* Unknown entry types, an 8-byte entry cut by the block's end, a long ACPI HID UID. */
	ivrs_header();
	b = ivhd_begin(0x10, 0xfeb80000);
	dev4(0x80, 0, 0);
	block_end(b);
	tbl_finish(&t);
	expect_refused("unknown device entry type 0x80");
	ivrs_header();
	b = ivhd_begin(0x10, 0xfeb80000);
	dev4(0x05, 0, 0);
	block_end(b);
	tbl_finish(&t);
	expect_refused("unknown device entry type 0x05");
	ivrs_header();
	b = ivhd_begin(0x10, 0xfeb80000);
	dev4(0x42, 0x0200, 0);
	block_end(b);
	tbl_finish(&t);
	expect_refused("type 0x42 runs past its IVHD");
	ivrs_header();
	b = ivhd_begin(0x40, 0xfeb80000);
	put8(&t, 0xf0);
	put_zeros(&t, 20);
	put8(&t, 200); /* UID length far past the block */
	block_end(b);
	tbl_finish(&t);
	expect_refused("type 0xf0 runs past its IVHD");
	/* Too many entries are refused, not truncated. */
	ivrs_header();
	b = ivhd_begin(0x10, 0xfeb80000);
	for (unsigned i = 0; i <= IVRS_MAX_DEVS; i++)
		dev4(0x02, (uint16_t)i, 0);
	block_end(b);
	tbl_finish(&t);
	expect_refused("more than 32 device entries");
}

static void test_ivrs_bad_ivmd(void **state)
{
	size_t b;

	(void)state;
	static const struct {
		uint8_t type;
		uint16_t dev, aux;
		uint64_t start, len;
		const char *msg;
	} cases[] = {
		{0x21, 0, 0, 0xe8000, 0, "is empty, unaligned or wraps"},
		{0x21, 0, 0, 0xe8100, 0x1000, "is empty, unaligned or wraps"},
		{0x21, 0, 0, 0xe8000, 0x1800, "is empty, unaligned or wraps"},
		{0x20, 0, 0, 0xfffffffffffff000ull, 0x2000, "is empty, unaligned or wraps"},
		{0x22, 0x0200, 0x0100, 0xe8000, 0x1000, "0200..0100 ends before it starts"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ivrs_header();
		b = ivhd_begin(0x10, 0xfeb80000);
		dev4(0x01, 0, 0);
		block_end(b);
		ivmd(cases[i].type, IVMD_UNITY, cases[i].dev, cases[i].aux, cases[i].start,
		     cases[i].len);
		tbl_finish(&t);
		expect_refused(cases[i].msg);
	}
	ivrs_header();
	b = ivhd_begin(0x10, 0xfeb80000);
	block_end(b);
	put8(&t, 0x21);
	put8(&t, 0);
	put16(&t, 16);
	put_zeros(&t, 12);
	tbl_finish(&t);
	expect_refused("IVMD length 16 below 32");
}

static void test_ivrs_every_truncation_refused(void **state)
{
	(void)state;
	build_good();
	tbl_finish(&t);
	for (size_t n = 0; n < t.n; n++)
		assert_int_equal(ivrs_parse(t.b, n, &info, err, sizeof(err)), -E_INVAL);
	assert_int_equal(ivrs_parse(t.b, t.n, &info, NULL, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ivrs_good_table),
		cmocka_unit_test(test_ivrs_type10_alone),
		cmocka_unit_test(test_ivrs_bad_header_and_blocks),
		cmocka_unit_test(test_ivrs_bad_device_entries),
		cmocka_unit_test(test_ivrs_bad_ivmd),
		cmocka_unit_test(test_ivrs_every_truncation_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
