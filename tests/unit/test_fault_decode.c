/* iommu/fault_decode: VT-d fault records and AMD-Vi event-log entries, field by field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "iommu/fault_decode.h"

static void test_vtd_records(void **state)
{
	struct iommu_fault f;

	(void)state;
	/* No F bit: nothing recorded, whatever else the record holds. */
	assert_false(vtd_fault_decode(0x1f865000, 0x0000000600000018ull, &f));
	/* A write (T = 0) by 00:03.0 to 0x1f865abc, reason 5. */
	assert_true(vtd_fault_decode(0x1f865abcull, (1ull << 63) | (5ull << 32) | 0x0018, &f));
	assert_int_equal(f.sid, 0x0018);
	assert_int_equal(f.addr, 0x1f865000); /* the fault info is a page address */
	assert_true(f.write);
	assert_true(f.dma);
	assert_int_equal(f.code, 5);
	assert_string_equal(f.name, "fault reason");
	/* A read (T = 1) by ff:1f.7, reason 6, other high bits (PASID, AT) ignored. */
	assert_true(vtd_fault_decode(0xfffffffff000ull,
				     (1ull << 63) | (1ull << 62) | (3ull << 60) | (6ull << 32) | 0xffff,
				     &f));
	assert_int_equal(f.sid, 0xffff);
	assert_false(f.write);
	assert_int_equal(f.code, 6);
}

static void test_amdvi_events(void **state)
{
	struct iommu_fault f;

	(void)state;
	/* IO_PAGE_FAULT, write (RW, flags bit 5), from 00:04.0, at 0x1f865010. */
	amdvi_event_decode((2ull << 60) | (1ull << (48 + 5)) | 0x0020, 0x1f865010, &f);
	assert_int_equal(f.code, 2);
	assert_string_equal(f.name, "IO_PAGE_FAULT");
	assert_int_equal(f.sid, 0x0020);
	assert_int_equal(f.addr, 0x1f865010);
	assert_true(f.write);
	assert_true(f.dma);
	/* A read: RW clear. */
	amdvi_event_decode((2ull << 60) | 0x0020, 0x1000, &f);
	assert_false(f.write);
	/* The IOMMU's own errors are not blocked DMA. */
	amdvi_event_decode(5ull << 60, 0x7000, &f);
	assert_string_equal(f.name, "ILLEGAL_COMMAND_ERROR");
	assert_false(f.dma);
	amdvi_event_decode(1ull << 60 | 0x0100, 0, &f);
	assert_string_equal(f.name, "ILLEGAL_DEV_TABLE_ENTRY");
	assert_true(f.dma);
	/* Codes without a name: reported by number. */
	amdvi_event_decode(0xfull << 60, 0, &f);
	assert_int_equal(f.code, 0xf);
	assert_string_equal(f.name, "event");
	amdvi_event_decode(0, 0, &f);
	assert_string_equal(f.name, "event");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vtd_records),
		cmocka_unit_test(test_amdvi_events),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
