/* iommu/dmar: a realistic DMAR table parsed whole, and every malformation refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "iommu/dmar.h"
#include "lib/errno.h"
#include "tests/unit/acpi_build.h"

#define ERR_LEN 200

static struct tbl t;
static struct dmar_info info;
static char err[ERR_LEN];

static void dmar_header(uint8_t haw_minus_1, uint8_t flags)
{
	tbl_header(&t, "DMAR");
	put8(&t, haw_minus_1);
	put8(&t, flags);
	put_zeros(&t, 10);
}

/* A structure header; returns its offset so the length can be fixed after the body. */
static size_t struct_begin(uint16_t type)
{
	size_t off = t.n;

	put16(&t, type);
	put16(&t, 0);
	return off;
}

static void struct_end(size_t off)
{
	set16(&t, off + 2, (uint16_t)(t.n - off));
}

static void scope(uint8_t type, uint8_t enum_id, uint8_t bus, uint8_t dev, uint8_t fn)
{
	put8(&t, type);
	put8(&t, 8);
	put16(&t, 0);
	put8(&t, enum_id);
	put8(&t, bus);
	put8(&t, dev);
	put8(&t, fn);
}

static void drhd(uint8_t flags, uint64_t base, int with_scope)
{
	size_t s = struct_begin(0);

	put8(&t, flags);
	put8(&t, 0);
	put16(&t, 0);
	put64(&t, base);
	if (with_scope)
		scope(1, 0, 0, 2, 0);
	struct_end(s);
}

static void rmrr(uint64_t base, uint64_t limit)
{
	size_t s = struct_begin(1);

	put16(&t, 0);
	put16(&t, 0);
	put64(&t, base);
	put64(&t, limit);
	scope(1, 0, 0, 0x1d, 0);
	struct_end(s);
}

static int parse(void)
{
	memset(err, 'X', sizeof(err));
	int rc = dmar_parse(t.b, t.n, &info, err, sizeof(err));
	assert_non_null(memchr(err, '\0', sizeof(err)));
	return rc;
}

static void expect_refused(const char *needle)
{
	assert_int_equal(parse(), -E_INVAL);
	if (!strstr(err, needle))
		fail_msg("message '%s' lacks '%s'", err, needle);
}

static void build_good(void)
{
	dmar_header(38, DMAR_INTR_REMAP);
	drhd(0, 0xfed90000, 1);
	drhd(DMAR_DRHD_INCLUDE_PCI_ALL, 0xfed91000, 0);
	rmrr(0xe8000, 0xe8fff);
	{
		size_t s = struct_begin(2); /* ATSR */

		put8(&t, DMAR_ATSR_ALL_PORTS);
		put8(&t, 0);
		put16(&t, 0);
		struct_end(s);
	}
	{
		size_t s = struct_begin(3); /* RHSA: skipped */

		put_zeros(&t, 16);
		struct_end(s);
	}
}

static void test_dmar_good_table(void **state)
{
	(void)state;
	build_good();
	tbl_finish(&t);
	assert_int_equal(parse(), 0);
	assert_string_equal(err, "");
	assert_int_equal(info.haw, 39);
	assert_int_equal(info.flags, DMAR_INTR_REMAP);
	assert_int_equal(info.nr_units, 2);
	assert_int_equal(info.units[0].base, 0xfed90000);
	assert_int_equal(info.units[0].size, 0x1000);
	assert_int_equal(info.units[0].scopes.n, 1);
	assert_int_equal(info.units[0].scopes.s[0].type, DMAR_SCOPE_ENDPOINT);
	assert_int_equal(info.units[0].scopes.s[0].dev[0], 2);
	assert_int_equal(info.units[1].flags, DMAR_DRHD_INCLUDE_PCI_ALL);
	assert_int_equal(info.nr_rmrrs, 1);
	assert_int_equal(info.rmrrs[0].base, 0xe8000);
	assert_int_equal(info.rmrrs[0].end, 0xe9000);
	assert_int_equal(info.rmrrs[0].scopes.s[0].dev[0], 0x1d);
	assert_int_equal(info.nr_atsrs, 1);
	assert_int_equal(info.atsrs[0].flags, DMAR_ATSR_ALL_PORTS);
	assert_int_equal(info.nr_other, 1);
}

static void test_dmar_bad_header(void **state)
{
	(void)state;
	build_good();
	tbl_finish(&t);
	t.b[20] ^= 1; /* checksum */
	expect_refused("checksum fails");
	build_good();
	tbl_finish(&t);
	memcpy(t.b, "DMAX", 4);
	expect_refused("signature is not DMAR");
	build_good();
	tbl_finish(&t);
	assert_int_equal(dmar_parse(t.b, t.n - 1, &info, err, sizeof(err)), -E_INVAL);
	assert_non_null(strstr(err, "runs past"));
	assert_int_equal(dmar_parse(t.b, 20, &info, err, sizeof(err)), -E_INVAL);
	assert_non_null(strstr(err, "shorter than its header"));
	dmar_header(38, 0);
	tbl_finish(&t);
	expect_refused("no DRHD unit");
	dmar_header(10, 0);
	drhd(0, 0xfed90000, 1);
	tbl_finish(&t);
	expect_refused("host address width 11 bits");
}

static void test_dmar_bad_structures(void **state)
{
	size_t s;

	(void)state;
	/* A zero-length structure would loop forever. */
	dmar_header(38, 0);
	s = struct_begin(0);
	tbl_finish(&t);
	(void)s;
	expect_refused("has length 0");
	/* A structure longer than what is left. */
	dmar_header(38, 0);
	drhd(0, 0xfed90000, 1);
	set16(&t, 48 + 2, 200);
	tbl_finish(&t);
	expect_refused("has length 200");
	/* Three stray bytes at the end. */
	dmar_header(38, 0);
	drhd(0, 0xfed90000, 1);
	put8(&t, 0);
	put8(&t, 0);
	put8(&t, 0);
	tbl_finish(&t);
	expect_refused("structure header runs past");
	/* DRHD too short for its fixed fields. */
	dmar_header(38, 0);
	s = struct_begin(0);
	put_zeros(&t, 8);
	struct_end(s);
	tbl_finish(&t);
	expect_refused("DRHD length 12 below 16");
	/* Zero and unaligned register bases, duplicates, no scope and no INCLUDE_PCI_ALL. */
	dmar_header(38, 0);
	drhd(0, 0, 1);
	tbl_finish(&t);
	expect_refused("is zero, unaligned");
	dmar_header(38, 0);
	drhd(0, 0xfed90800, 1);
	tbl_finish(&t);
	expect_refused("is zero, unaligned");
	dmar_header(38, 0);
	drhd(0, 0xfed90000, 1);
	drhd(0, 0xfed90000, 1);
	tbl_finish(&t);
	expect_refused("two DRHDs");
	dmar_header(38, 0);
	drhd(0, 0xfed90000, 0);
	tbl_finish(&t);
	expect_refused("neither INCLUDE_PCI_ALL");
}

static void test_dmar_bad_rmrr(void **state)
{
	(void)state;
	dmar_header(38, 0);
	drhd(DMAR_DRHD_INCLUDE_PCI_ALL, 0xfed90000, 0);
	rmrr(0xe8000, 0xe7fff);
	tbl_finish(&t);
	expect_refused("RMRR [0xe8000-0xe7fff]");
	dmar_header(38, 0);
	drhd(DMAR_DRHD_INCLUDE_PCI_ALL, 0xfed90000, 0);
	rmrr(0xe8100, 0xe8fff);
	tbl_finish(&t);
	expect_refused("is empty, unaligned or wraps");
	dmar_header(38, 0);
	drhd(DMAR_DRHD_INCLUDE_PCI_ALL, 0xfed90000, 0);
	rmrr(0xe8000, 0xe8ffe);
	tbl_finish(&t);
	expect_refused("is empty, unaligned or wraps");
	dmar_header(38, 0);
	drhd(DMAR_DRHD_INCLUDE_PCI_ALL, 0xfed90000, 0);
	rmrr(0xfffffffffffff000ull, ~0ull);
	tbl_finish(&t);
	expect_refused("is empty, unaligned or wraps");
}

static void test_dmar_bad_scopes(void **state)
{
	size_t s;

	(void)state;
	/* Scope length below its header, odd path, past its structure, bad hop, bad type. */
	static const struct {
		uint8_t type, len, dev, fn;
		const char *msg;
	} cases[] = {
		{1, 4, 2, 0, "device scope length 4"},
		{1, 7, 2, 0, "device scope length 7"},
		{1, 10, 2, 0, "device scope length 10"},
		{1, 6, 2, 0, "without a path"},
		{1, 8, 32, 0, "is not a PCI device"},
		{1, 8, 2, 8, "is not a PCI device"},
		{9, 8, 2, 0, "unknown device scope type 9"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		dmar_header(38, 0);
		s = struct_begin(0);
		put8(&t, 0);
		put8(&t, 0);
		put16(&t, 0);
		put64(&t, 0xfed90000);
		put8(&t, cases[i].type);
		put8(&t, cases[i].len);
		put16(&t, 0);
		put8(&t, 0);
		put8(&t, 0);
		put8(&t, cases[i].dev);
		put8(&t, cases[i].fn);
		struct_end(s);
		tbl_finish(&t);
		expect_refused(cases[i].msg);
	}
	/* Too many scopes and too deep a path are refused, not truncated. */
	dmar_header(38, 0);
	s = struct_begin(0);
	put8(&t, 0);
	put8(&t, 0);
	put16(&t, 0);
	put64(&t, 0xfed90000);
	for (unsigned i = 0; i <= DMAR_MAX_SCOPES; i++)
		scope(1, 0, 0, (uint8_t)(i % 32), 0);
	struct_end(s);
	tbl_finish(&t);
	expect_refused("more than 16 device scopes");
	dmar_header(38, 0);
	s = struct_begin(0);
	put8(&t, 0);
	put8(&t, 0);
	put16(&t, 0);
	put64(&t, 0xfed90000);
	put8(&t, 2);
	put8(&t, 6 + 2 * (DMAR_MAX_PATH + 1));
	put16(&t, 0);
	put8(&t, 0);
	put8(&t, 0);
	for (unsigned i = 0; i <= DMAR_MAX_PATH; i++) {
		put8(&t, 1);
		put8(&t, 0);
	}
	struct_end(s);
	tbl_finish(&t);
	expect_refused("path of 5 hops");
}

/* Every truncation of a good table is refused (its length field no longer fits). */
static void test_dmar_every_truncation_refused(void **state)
{
	(void)state;
	build_good();
	tbl_finish(&t);
	for (size_t n = 0; n < t.n; n++)
		assert_int_equal(dmar_parse(t.b, n, &info, err, sizeof(err)), -E_INVAL);
	assert_int_equal(dmar_parse(t.b, t.n, &info, NULL, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dmar_good_table),
		cmocka_unit_test(test_dmar_bad_header),
		cmocka_unit_test(test_dmar_bad_structures),
		cmocka_unit_test(test_dmar_bad_rmrr),
		cmocka_unit_test(test_dmar_bad_scopes),
		cmocka_unit_test(test_dmar_every_truncation_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
