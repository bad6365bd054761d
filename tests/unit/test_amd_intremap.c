/* iommu/amd_intremap: the AMD-Vi interrupt remapping table and DTE fields, bit by bit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "iommu/amd_intremap.h"

static void test_table(void **state)
{
	static uint32_t t[AMD_IRT_ENTRIES];

	(void)state;
	amd_irt_fill(t, 0x05);
	/* Fixed vector 0x31 (index 0x031): remap enabled, type fixed, APIC ID 5, vector 0x31,
	 * physical destination, no guest mode, no RqEoi. */
	assert_int_equal(t[0x031], 0x00310501u);
	/* Arbitrated vector 0xfe (index 0x1fe): type 1. */
	assert_int_equal(t[0x1fe], 0x00fe0505u);
	/* Every entry: its own index's vector and mode, the one destination. */
	for (uint32_t i = 0; i < AMD_IRT_ENTRIES; i++) {
		assert_int_equal(t[i] & AMD_IRTE_REMAP_EN, AMD_IRTE_REMAP_EN);
		assert_int_equal((t[i] >> AMD_IRTE_VECTOR_SHIFT) & 0xff, i & 0xff);
		assert_int_equal((t[i] >> AMD_IRTE_TYPE_SHIFT) & 7, i >> 8);
		assert_int_equal((t[i] >> AMD_IRTE_DEST_SHIFT) & 0xff, 5);
		assert_int_equal(t[i] & 0xff0000c2u, 0); /* no fault suppression, DM, GM, RqEoi */
	}
}

static void test_dte(void **state)
{
	uint64_t q = amd_dte_intremap(0x1f8c3000);

	(void)state;
	assert_true(q & AMD_DTE_IV);
	assert_int_equal((q >> AMD_DTE_INTTABLEN_SHIFT) & 0xf, 9); /* 512 entries */
	assert_int_equal(q & AMD_DTE_INTTAB_MASK, 0x1f8c3000);
	assert_int_equal((q >> AMD_DTE_INTCTL_SHIFT) & 3, AMD_DTE_INTCTL_REMAP);
	/* No NMI, INIT, ExtINT, LINT0 or LINT1 passes through. */
	assert_int_equal(q & (AMD_DTE_INIT_PASS | AMD_DTE_EINT_PASS | AMD_DTE_NMI_PASS |
			      AMD_DTE_LINT0_PASS | AMD_DTE_LINT1_PASS),
			 0);
	/* The address is masked to bits 51:6: nothing spills into other fields. */
	assert_int_equal(amd_dte_intremap(0xfff0000000000000ull) & AMD_DTE_INTTAB_MASK, 0);
	/* Abort: valid, IntCtl 00b, no pass bit, no table. */
	q = amd_dte_intabort();
	assert_true(q & AMD_DTE_IV);
	assert_int_equal((q >> AMD_DTE_INTCTL_SHIFT) & 3, 0);
	assert_int_equal(q & ~AMD_DTE_IV, 0);
}

static void test_per_device_entries(void **state)
{
	struct irq_msg m = {.dest = 1, .vector = 0xE7, .mode = IRQ_MODE_FIXED};

	(void)state;
	/* Fixed, physical, APIC ID 1, vector 0xE7: RemapEn, IntType 0, no GuestMode/RqEoi. */
	assert_int_equal(amd_irte_build(&m), 0x00E70101u);
	/* Arbitrated (lowest priority), logical destination 0x0F: IntType 1, DM. */
	m = (struct irq_msg){.dest = 0x0F, .vector = 0x41, .mode = IRQ_MODE_LOWEST, .logical = true};
	assert_int_equal(amd_irte_build(&m), 0x00410F45u);
	/* No entry (target abort) for NMI, SMI, INIT, ExtINT, the reserved modes, wide IDs. */
	for (uint8_t mode = IRQ_MODE_SMI; mode <= IRQ_MODE_EXTINT; mode++) {
		m = (struct irq_msg){.dest = 0, .vector = 0x41, .mode = mode};
		assert_int_equal(amd_irte_build(&m), 0);
	}
	m = (struct irq_msg){.dest = 0x100, .vector = 0x41, .mode = IRQ_MODE_FIXED};
	assert_int_equal(amd_irte_build(&m), 0);
	/* The IOAPIC's index: data[10:0] = mode << 8 | vector. */
	assert_int_equal(amd_irt_index(IRQ_MODE_FIXED, 0x31), 0x031);
	assert_int_equal(amd_irt_index(IRQ_MODE_LOWEST, 0xFE), 0x1FE);
	/* Two tables fit a page, each 128-byte aligned. */
	assert_int_equal(AMD_IRT_BYTES, 2048);
	assert_int_equal(AMD_IRT_BYTES % AMD_IRT_ALIGN, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_dte),
		cmocka_unit_test(test_per_device_entries),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
