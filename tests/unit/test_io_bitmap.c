/*
 * lib/io_bitmap: VMX I/O bitmap A holds ports 0-0x7FFF, bitmap B 0x8000-0xFFFF, and nothing
 * is ever written outside the two pages (a console UART at 0xFFF8 included).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/io_bitmap.h"

#define PAGE	  4096
#define GUARD	  64
#define GUARD_VAL 0x5A

/* Two pages, each with a guard zone after it, to catch a write past either. */
static uint8_t mem[IO_BITMAP_NR_PAGES][PAGE + GUARD];

static void reset(uint8_t *pages[IO_BITMAP_NR_PAGES])
{
	for (unsigned p = 0; p < IO_BITMAP_NR_PAGES; p++) {
		memset(mem[p], 0, PAGE);
		memset(mem[p] + PAGE, GUARD_VAL, GUARD);
		pages[p] = mem[p];
	}
}

static unsigned bits_set(unsigned page)
{
	unsigned n = 0;

	for (unsigned i = 0; i < PAGE; i++)
		n += (unsigned)__builtin_popcount(mem[page][i]);
	return n;
}

static void assert_guards_intact(void)
{
	for (unsigned p = 0; p < IO_BITMAP_NR_PAGES; p++)
		for (unsigned i = 0; i < GUARD; i++)
			assert_int_equal(mem[p][PAGE + i], GUARD_VAL);
}

static void test_locate_edges(void **state)
{
	static const struct {
		uint32_t port;
		unsigned page, byte;
		uint8_t mask;
	} cases[] = {
		{0x0000, 0, 0, 0x01},	  {0x03F8, 0, 0x7F, 0x01}, {0x03FF, 0, 0x7F, 0x80},
		{0x7FFF, 0, 0xFFF, 0x80}, {0x8000, 1, 0, 0x01},	   {0xB004, 1, 0x600, 0x10},
		{0xC000, 1, 0x800, 0x01}, {0xFFF8, 1, 0xFFF, 0x01}, {0xFFFF, 1, 0xFFF, 0x80},
	};
	(void)state;
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct io_bitmap_bit b;

		assert_true(io_bitmap_locate(cases[i].port, &b));
		assert_int_equal(b.page, cases[i].page);
		assert_int_equal(b.byte, cases[i].byte);
		assert_int_equal(b.mask, cases[i].mask);
	}
}

static void test_locate_refuses_non_ports(void **state)
{
	struct io_bitmap_bit b = {7, 7, 7};

	(void)state;
	assert_false(io_bitmap_locate(0x10000, &b));
	assert_false(io_bitmap_locate(0xFFFFFFFF, &b));
	assert_int_equal(b.page, 7); /* untouched */
}

/* A 16550 at the top of the port space: all eight bits in B, none in A, nothing past B. */
static void test_high_uart_in_bitmap_b(void **state)
{
	uint8_t *pages[IO_BITMAP_NR_PAGES];

	(void)state;
	reset(pages);
	assert_true(io_bitmap_set_range(pages, 0xFFF8, 8));
	assert_int_equal(bits_set(0), 0);
	assert_int_equal(bits_set(1), 8);
	assert_int_equal(mem[1][0xFFF], 0xFF);
	assert_guards_intact();
}

/* QEMU's pci-serial lands at 0xC000 under SeaBIOS. */
static void test_pci_serial_port(void **state)
{
	uint8_t *pages[IO_BITMAP_NR_PAGES];

	(void)state;
	reset(pages);
	assert_true(io_bitmap_set_range(pages, 0xC000, 8));
	assert_int_equal(mem[1][0x800], 0xFF);
	assert_int_equal(bits_set(0), 0);
	assert_int_equal(bits_set(1), 8);
	assert_guards_intact();
}

static void test_range_straddling_a_and_b(void **state)
{
	uint8_t *pages[IO_BITMAP_NR_PAGES];

	(void)state;
	reset(pages);
	assert_true(io_bitmap_set_range(pages, 0x7FFC, 8));
	assert_int_equal(mem[0][0xFFF], 0xF0);
	assert_int_equal(mem[1][0], 0x0F);
	assert_int_equal(bits_set(0) + bits_set(1), 8);
	assert_guards_intact();
}

static void test_range_past_last_port(void **state)
{
	uint8_t *pages[IO_BITMAP_NR_PAGES];

	(void)state;
	reset(pages);
	assert_false(io_bitmap_set_range(pages, 0xFFFC, 8)); /* 0x10000-0x10003 are no ports */
	assert_int_equal(mem[1][0xFFF], 0xF0);
	assert_int_equal(bits_set(0), 0);
	assert_false(io_bitmap_set_range(pages, 0xFFFFFFFE, 4)); /* must not wrap to port 0 */
	assert_int_equal(bits_set(0), 0);
	assert_int_equal(bits_set(1), 4);
	assert_guards_intact();
}

static void test_low_ports_stay_in_a(void **state)
{
	uint8_t *pages[IO_BITMAP_NR_PAGES];

	(void)state;
	reset(pages);
	assert_true(io_bitmap_set_range(pages, 0x3F8, 8));
	assert_int_equal(mem[0][0x7F], 0xFF);
	assert_int_equal(bits_set(0), 8);
	assert_int_equal(bits_set(1), 0);
	assert_guards_intact();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_locate_edges),
		cmocka_unit_test(test_locate_refuses_non_ports),
		cmocka_unit_test(test_high_uart_in_bitmap_b),
		cmocka_unit_test(test_pci_serial_port),
		cmocka_unit_test(test_range_straddling_a_and_b),
		cmocka_unit_test(test_range_past_last_port),
		cmocka_unit_test(test_low_ports_stay_in_a),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
