/* mmio/data_bp: which guest data breakpoints an access mhv completes matches (SDM 18.2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mmio/data_bp.h"

/* DR7 for breakpoint n: L (or G) enable, R/W and LEN encodings. */
static uint64_t dr7_bp(unsigned n, bool global, unsigned rw, unsigned len_enc)
{
	return (1ull << (2 * n + global)) | ((uint64_t)(rw | len_enc << 2) << (16 + 4 * n));
}

#define LEN1 0u
#define LEN2 1u
#define LEN8 2u
#define LEN4 3u

static void test_disabled_never_matches(void **state)
{
	uint64_t dr[4] = {0x1000, 0x1000, 0x1000, 0x1000};

	(void)state;
	/* R/W and LEN set, no L/G */
	assert_int_equal(data_bp_match(0x3333ull << 16, dr, 0x1000, 4, true), 0);
	assert_false(data_bp_armed(0x400));
	assert_true(data_bp_armed(0x402));
}

static void test_rw_kinds(void **state)
{
	uint64_t dr[4] = {0x2000, 0x2000, 0x2000, 0x2000};
	uint64_t dr7 = dr7_bp(0, false, 0, LEN1) | dr7_bp(1, true, DR7_RW_WRITE, LEN4) |
		       dr7_bp(2, false, 2, LEN4) | dr7_bp(3, true, DR7_RW_READWRITE, LEN4);

	(void)state;
	/* execute (00) and I/O (10) never match data; writes match 01 and 11, reads 11 */
	assert_int_equal(data_bp_match(dr7, dr, 0x2000, 4, true), 0xA);
	assert_int_equal(data_bp_match(dr7, dr, 0x2000, 4, false), 0x8);
}

static void test_lengths_and_alignment(void **state)
{
	uint64_t dr[4] = {0x3003, 0x3003, 0x3003, 0x3003};
	uint64_t dr7 = dr7_bp(0, false, DR7_RW_READWRITE, LEN1) |
		       dr7_bp(1, false, DR7_RW_READWRITE, LEN2) |
		       dr7_bp(2, false, DR7_RW_READWRITE, LEN4) |
		       dr7_bp(3, false, DR7_RW_READWRITE, LEN8);

	(void)state;
	/* ranges: B0 [3003], B1 [3002,3004), B2 [3000,3004), B3 [3000,3008) */
	assert_int_equal(data_bp_match(dr7, dr, 0x3003, 1, false), 0xF);
	assert_int_equal(data_bp_match(dr7, dr, 0x3002, 1, false), 0xE);
	assert_int_equal(data_bp_match(dr7, dr, 0x3000, 2, false), 0xC);
	assert_int_equal(data_bp_match(dr7, dr, 0x3004, 4, true), 0x8);
	assert_int_equal(data_bp_match(dr7, dr, 0x3008, 4, true), 0);
	/* an access that only overlaps with its last byte */
	assert_int_equal(data_bp_match(dr7, dr, 0x2FFD, 4, true), 0xC);
	assert_int_equal(data_bp_match(dr7, dr, 0x2FFC, 4, true), 0);
	/* an 8-byte access covering the 1-byte breakpoint */
	assert_int_equal(data_bp_match(dr7, dr, 0x3000, 8, true), 0xF);
}

static void test_miss_and_wrap(void **state)
{
	uint64_t dr[4] = {0x4000, 0xFFFFFFFFFFFFFFFCull, 0, 0};
	uint64_t dr7 = dr7_bp(0, true, DR7_RW_WRITE, LEN4) | dr7_bp(1, false, DR7_RW_READWRITE, LEN4);

	(void)state;
	assert_int_equal(data_bp_match(dr7, dr, 0x4004, 4, true), 0);
	assert_int_equal(data_bp_match(dr7, dr, 0x3FFC, 4, true), 0);
	assert_int_equal(data_bp_match(dr7, dr, 0xFFFFFFFFFFFFFFFEull, 4, false), 0x2);
	assert_int_equal(data_bp_match(dr7, dr, 0, 4, false), 0);
	assert_int_equal(data_bp_match(dr7, dr, 0x4000, 0, true), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_disabled_never_matches),
		cmocka_unit_test(test_rw_kinds),
		cmocka_unit_test(test_lengths_and_alignment),
		cmocka_unit_test(test_miss_and_wrap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
