/* mmio/spec: TYPE@BASE+SIZE values and every error message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lib/errno.h"
#include "mmio/spec.h"

#define ERR_LEN 200

static char err[ERR_LEN];

static struct mmio_spec ok(const char *v)
{
	struct mmio_spec s;

	memset(err, 'X', sizeof(err));
	if (mmio_spec_parse(v, &s, err, sizeof(err)) != 0)
		fail_msg("'%s' rejected: %s", v, err);
	assert_string_equal(err, "");
	return s;
}

static void bad(const char *v, const char *msg)
{
	struct mmio_spec s, before;

	memset(&s, 0x5c, sizeof(s));
	before = s;
	memset(err, 'X', sizeof(err));
	assert_int_equal(mmio_spec_parse(v, &s, err, sizeof(err)), -E_INVAL);
	assert_string_equal(err, msg);
	assert_memory_equal(&s, &before, sizeof(s)); /* untouched on error */
}

static void expect_spec(const char *v, enum mmio_dev_type t, uint64_t base, uint64_t size)
{
	struct mmio_spec s = ok(v);

	assert_int_equal(s.type, t);
	assert_int_equal(s.base, base);
	assert_int_equal(s.size, size);
}

static void test_spec_examples_from_the_docs(void **state)
{
	(void)state;
	expect_spec("ram@0xff000000+0x10000", MMIO_DEV_RAM, 0xff000000, 0x10000);
	expect_spec("trace@0xfebd0000+0x1000", MMIO_DEV_TRACE, 0xfebd0000, 0x1000);
	expect_spec("deny@0xfee00000+0x1000", MMIO_DEV_DENY, 0xfee00000, 0x1000);
}

static void test_spec_number_forms_and_suffixes(void **state)
{
	(void)state;
	expect_spec("ram@4096+8192", MMIO_DEV_RAM, 4096, 8192);
	expect_spec("ram@0X1000+0XA000", MMIO_DEV_RAM, 0x1000, 0xa000);
	expect_spec("ram@0xfFfF0000+0x1000", MMIO_DEV_RAM, 0xffff0000, 0x1000);
	expect_spec("ram@0+4K", MMIO_DEV_RAM, 0, 4096);
	expect_spec("ram@0+4k", MMIO_DEV_RAM, 0, 4096);
	expect_spec("deny@1M+1m", MMIO_DEV_DENY, 1 << 20, 1 << 20);
	expect_spec("trace@4G+2g", MMIO_DEV_TRACE, 4ull << 30, 2ull << 30);
	expect_spec("ram@0x10K+0x4K", MMIO_DEV_RAM, 0x10 << 10, 0x4 << 10);
	expect_spec("ram@00004096+0004096", MMIO_DEV_RAM, 4096, 4096);
	/* Ending exactly at 2^64 does not wrap. */
	expect_spec("ram@0xfffffffffffff000+0x1000", MMIO_DEV_RAM, 0xfffffffffffff000ull, 0x1000);
	expect_spec("ram@0x1000+0xfffffffffffff000", MMIO_DEV_RAM, 0x1000, 0xfffffffffffff000ull);
	expect_spec("ram@0+18014398509481980K", MMIO_DEV_RAM, 0, 18014398509481980ull << 10);
	/* The n-character variant stops where told. */
	{
		struct mmio_spec s;

		assert_int_equal(
			mmio_spec_parse_n("deny@0x2000+0x1000 junk", 18, &s, err, sizeof(err)), 0);
		assert_int_equal(s.base, 0x2000);
		assert_int_equal(s.size, 0x1000);
	}
}

static void test_spec_shape_and_type_errors(void **state)
{
	(void)state;
	bad("", "mmio: expected TYPE@BASE+SIZE in ''");
	bad("ram", "mmio: expected TYPE@BASE+SIZE in 'ram'");
	bad("ram:0x1000+0x1000", "mmio: expected TYPE@BASE+SIZE in 'ram:0x1000+0x1000'");
	bad("rom@0x1000+0x1000", "mmio: unknown device type 'rom' (expected ram, trace or deny) "
				 "in 'rom@0x1000+0x1000'");
	bad("RAM@0x1000+0x1000", "mmio: unknown device type 'RAM' (expected ram, trace or deny) "
				 "in 'RAM@0x1000+0x1000'");
	bad("@0x1000+0x1000", "mmio: unknown device type '' (expected ram, trace or deny) in "
			      "'@0x1000+0x1000'");
	bad("rams@0x1000+0x1000", "mmio: unknown device type 'rams' (expected ram, trace or deny) "
				  "in 'rams@0x1000+0x1000'");
	bad("ram@0x1000", "mmio: missing '+SIZE' in 'ram@0x1000'");
	bad("ram@", "mmio: missing '+SIZE' in 'ram@'");
}

static void test_spec_number_errors(void **state)
{
	(void)state;
	bad("ram@+0x1000", "mmio: bad base '' in 'ram@+0x1000'");
	bad("ram@0x+0x1000", "mmio: bad base '0x' in 'ram@0x+0x1000'");
	bad("ram@0x1g00+0x1000", "mmio: bad base '0x1g00' in 'ram@0x1g00+0x1000'");
	bad("ram@ff000000+0x1000", "mmio: bad base 'ff000000' in 'ram@ff000000+0x1000'");
	bad("ram@-4096+0x1000", "mmio: bad base '-4096' in 'ram@-4096+0x1000'");
	bad("ram@0x10000000000000000+0x1000",
	    "mmio: bad base '0x10000000000000000' in 'ram@0x10000000000000000+0x1000'");
	bad("ram@16777216T+4K", "mmio: bad base '16777216T' in 'ram@16777216T+4K'");
	bad("ram@0x1000+", "mmio: bad size '' in 'ram@0x1000+'");
	bad("ram@0x1000+0x", "mmio: bad size '0x' in 'ram@0x1000+0x'");
	bad("ram@0x1000+K", "mmio: bad size 'K' in 'ram@0x1000+K'");
	bad("ram@0x1000+99999999999999999999", "mmio: bad size '99999999999999999999' in "
					       "'ram@0x1000+99999999999999999999'");
	bad("ram@0x1000+18014398509481984K",
	    "mmio: bad size '18014398509481984K' in 'ram@0x1000+18014398509481984K'");
	bad("ram@0x1000+0x1000z", "mmio: trailing junk 'z' after the size in 'ram@0x1000+0x1000z'");
	bad("ram@0x1000+4KK", "mmio: trailing junk 'K' after the size in 'ram@0x1000+4KK'");
	bad("ram@0x1000+4096+4096",
	    "mmio: trailing junk '+4096' after the size in 'ram@0x1000+4096+4096'");
	bad("ram@0x1000+4096@", "mmio: trailing junk '@' after the size in 'ram@0x1000+4096@'");
}

static void test_spec_range_errors(void **state)
{
	(void)state;
	bad("ram@0x1000+0", "mmio: size is 0 in 'ram@0x1000+0'");
	bad("ram@0x1000+0x0K", "mmio: size is 0 in 'ram@0x1000+0x0K'");
	bad("ram@0x1001+0x1000", "mmio: base 0x1001 is not 4 KiB aligned in 'ram@0x1001+0x1000'");
	bad("deny@0xfee00800+0x1000",
	    "mmio: base 0xfee00800 is not 4 KiB aligned in 'deny@0xfee00800+0x1000'");
	bad("ram@0x1000+0x800",
	    "mmio: size 0x800 is not a multiple of 4 KiB in 'ram@0x1000+0x800'");
	bad("ram@0x1000+1K", "mmio: size 0x400 is not a multiple of 4 KiB in 'ram@0x1000+1K'");
	bad("ram@0xfffffffffffff000+0x2000", "mmio: 0xfffffffffffff000+0x2000 wraps past 2^64 in "
					     "'ram@0xfffffffffffff000+0x2000'");
	bad("trace@0x2000+0xfffffffffffff000", "mmio: 0x2000+0xfffffffffffff000 wraps past 2^64 in "
					       "'trace@0x2000+0xfffffffffffff000'");
}

static void test_spec_long_values_are_cut_and_err_buffers_respected(void **state)
{
	char v[300], want[ERR_LEN], small[20];
	struct mmio_spec s;

	(void)state;
	memset(v, 'a', 200);
	memcpy(v + 200, "@0x1000+0x1000", 15);
	snprintf(want, sizeof(want),
		 "mmio: unknown device type '%.64s...' (expected ram, trace or deny) in '%.64s...'",
		 v, v);
	bad(v, want);
	memset(small, 'C', sizeof(small));
	assert_int_equal(mmio_spec_parse("ram@0x1000+0", &s, small, 10), -E_INVAL);
	assert_string_equal(small, "mmio: siz");
	assert_int_equal(small[10], 'C');
	assert_int_equal(mmio_spec_parse("ram@0x1000+0", &s, NULL, 100), -E_INVAL);
	assert_int_equal(mmio_spec_parse("ram@0x1000+0x1000", &s, NULL, 0), 0);
}

static void test_spec_overlap_and_names(void **state)
{
	const struct mmio_spec a = {.type = MMIO_DEV_RAM, .base = 0x10000, .size = 0x2000};
	const struct mmio_spec touching_below = {.type = MMIO_DEV_RAM,
					 .base = 0xf000, .size = 0x1000};
	const struct mmio_spec touching_above = {.type = MMIO_DEV_RAM,
					 .base = 0x12000, .size = 0x1000};
	const struct mmio_spec last_page = {.type = MMIO_DEV_DENY, .base = 0x11000, .size = 0x1000};
	const struct mmio_spec covering = {.type = MMIO_DEV_DENY, .base = 0x0, .size = 0x100000};
	const struct mmio_spec top = {.type = MMIO_DEV_DENY,
					 .base = 0xfffffffffffff000ull, .size = 0x1000};
	const struct mmio_spec to_top = {.type = MMIO_DEV_DENY,
					 .base = 0x8000000000000000ull, .size = 0x8000000000000000ull};

	(void)state;
	assert_false(mmio_spec_overlap(&a, &touching_below));
	assert_false(mmio_spec_overlap(&touching_above, &a));
	assert_true(mmio_spec_overlap(&a, &last_page));
	assert_true(mmio_spec_overlap(&last_page, &a));
	assert_true(mmio_spec_overlap(&a, &covering));
	assert_true(mmio_spec_overlap(&covering, &a));
	assert_true(mmio_spec_overlap(&a, &a));
	assert_true(mmio_spec_overlap(&top, &to_top));
	assert_false(mmio_spec_overlap(&top, &a));
	assert_string_equal(mmio_dev_type_name(MMIO_DEV_RAM), "ram");
	assert_string_equal(mmio_dev_type_name(MMIO_DEV_TRACE), "trace");
	assert_string_equal(mmio_dev_type_name(MMIO_DEV_DENY), "deny");
	assert_string_equal(mmio_dev_type_name((enum mmio_dev_type)7), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_examples_from_the_docs),
		cmocka_unit_test(test_spec_number_forms_and_suffixes),
		cmocka_unit_test(test_spec_shape_and_type_errors),
		cmocka_unit_test(test_spec_number_errors),
		cmocka_unit_test(test_spec_range_errors),
		cmocka_unit_test(test_spec_long_values_are_cut_and_err_buffers_respected),
		cmocka_unit_test(test_spec_overlap_and_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
