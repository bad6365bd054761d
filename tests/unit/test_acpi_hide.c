/* iommu/acpi_hide: entries leave RSDT/XSDT root tables, which stay valid. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "iommu/acpi_hide.h"
#include "tests/unit/acpi_build.h"

#define DMAR_PA 0xbffe1000ull
#define IVRS_PA 0x1bffe2000ull

static struct tbl t;

static bool drop_iommu(void *ctx, uint64_t pa)
{
	(void)ctx;
	return pa == DMAR_PA || pa == IVRS_PA;
}

static uint8_t byte_sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

static uint32_t length(void)
{
	uint32_t len;

	memcpy(&len, t.b + 4, 4);
	return len;
}

static void build(unsigned entry_size, const uint64_t *pas, unsigned n)
{
	tbl_header(&t, entry_size == 4 ? "RSDT" : "XSDT");
	for (unsigned i = 0; i < n; i++) {
		if (entry_size == 4)
			put32(&t, (uint32_t)pas[i]);
		else
			put64(&t, pas[i]);
	}
	tbl_finish(&t);
}

static void test_xsdt_drops_and_stays_valid(void **state)
{
	static const uint64_t pas[] = {0xbffe0000, DMAR_PA, 0xbffe3000, IVRS_PA, 0xbffe4000};
	uint64_t e[3];

	(void)state;
	build(8, pas, 5);
	assert_int_equal(acpi_root_drop(t.b, t.n, 8, drop_iommu, NULL), 2);
	assert_int_equal(length(), 36 + 3 * 8);
	assert_int_equal(byte_sum(t.b, length()), 0);
	memcpy(e, t.b + 36, sizeof(e));
	assert_int_equal(e[0], 0xbffe0000);
	assert_int_equal(e[1], 0xbffe3000);
	assert_int_equal(e[2], 0xbffe4000);
	for (size_t i = length(); i < t.n; i++)
		assert_int_equal(t.b[i], 0);
	/* Again: nothing left to drop, nothing changes. */
	assert_int_equal(acpi_root_drop(t.b, t.n, 8, drop_iommu, NULL), 0);
	assert_int_equal(length(), 36 + 3 * 8);
}

static void test_rsdt_last_and_only(void **state)
{
	static const uint64_t pas[] = {0xbffe0000, DMAR_PA};
	static const uint64_t only[] = {DMAR_PA};

	(void)state;
	build(4, pas, 2);
	assert_int_equal(acpi_root_drop(t.b, t.n, 4, drop_iommu, NULL), 1);
	assert_int_equal(length(), 40);
	assert_int_equal(byte_sum(t.b, length()), 0);
	build(4, only, 1);
	assert_int_equal(acpi_root_drop(t.b, t.n, 4, drop_iommu, NULL), 1);
	assert_int_equal(length(), 36);
	assert_int_equal(byte_sum(t.b, 36), 0);
}

static void test_bad_input_changes_nothing(void **state)
{
	static const uint64_t pas[] = {DMAR_PA};
	struct tbl before;

	(void)state;
	build(8, pas, 1);
	before = t;
	assert_int_equal(acpi_root_drop(t.b, t.n - 1, 8, drop_iommu, NULL), 0); /* length > avail */
	assert_int_equal(acpi_root_drop(t.b, 20, 8, drop_iommu, NULL), 0);
	assert_int_equal(acpi_root_drop(t.b, t.n, 6, drop_iommu, NULL), 0);
	t.b[4] = 10; /* a length below the header */
	assert_int_equal(acpi_root_drop(t.b, t.n, 8, drop_iommu, NULL), 0);
	t.b[4] = before.b[4];
	assert_memory_equal(t.b, before.b, t.n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xsdt_drops_and_stays_valid),
		cmocka_unit_test(test_rsdt_last_and_only),
		cmocka_unit_test(test_bad_input_changes_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
