/*
 * iommu/vtd_intremap, irq_msg and msi_cap: VT-d interrupt remapping entries and remappable
 * messages bit by bit (VT-d spec 9.10, 5.1.2.2, 5.1.5.1), the MSI/IOAPIC decoders, and the
 * MSI capability shadow that keeps the guest's message from the device.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "iommu/fault_decode.h"
#include "iommu/irq_msg.h"
#include "iommu/msi_cap.h"
#include "iommu/vtd_intremap.h"

static void test_msi_decode(void **state)
{
	struct irq_msg m;

	(void)state;
	/* APIC ID 3, logical, RH; lowest priority, vector 0x41, level. */
	assert_true(irq_msg_from_msi(0xFEE0300Cu, 0, 0x8141u, &m));
	assert_int_equal(m.dest, 3);
	assert_true(m.logical);
	assert_true(m.redir_hint);
	assert_int_equal(m.mode, IRQ_MODE_LOWEST);
	assert_int_equal(m.vector, 0x41);
	assert_true(m.level);
	/* NMI, physical, edge. */
	assert_true(irq_msg_from_msi(0xFEE01000u, 0, 0x0400u, &m));
	assert_int_equal(m.mode, IRQ_MODE_NMI);
	assert_false(m.logical);
	assert_false(m.level);
	/* Not the interrupt window: a memory write, no interrupt. */
	assert_false(irq_msg_from_msi(0xFED00000u, 0, 0x41, &m));
	assert_false(irq_msg_from_msi(0xFEE00000u, 1, 0x41, &m));
}

static void test_rte_decode(void **state)
{
	struct irq_msg m;

	(void)state;
	/* Vector 0x30, ExtINT, logical, level, low polarity; destination 0x0F. */
	irq_msg_from_rte(0x0000AF30u, 0x0F000000u, &m);
	assert_int_equal(m.vector, 0x30);
	assert_int_equal(m.mode, IRQ_MODE_EXTINT);
	assert_true(m.logical);
	assert_true(m.level);
	assert_int_equal(m.dest, 0x0F);
	assert_false(m.redir_hint);
}

static void test_irte(void **state)
{
	struct irq_msg m = {.dest = 1, .vector = 0xE5, .mode = IRQ_MODE_FIXED};
	struct vtd_irte e;

	(void)state;
	/* Fixed, physical, edge, APIC ID 1, vector 0xE5, requester 00:03.0 checked. */
	assert_true(vtd_irte_build(&m, 0x18, &e));
	assert_int_equal(e.lo, 0x0000010000E50001ull);
	assert_int_equal(e.hi, 0x0000000000040018ull); /* SVT = 01, SQ = 00, SID */
	/* No source check: the high quadword is zero (SVT = 00). */
	assert_true(vtd_irte_build(&m, -1, &e));
	assert_int_equal(e.hi, 0);
	/* Lowest priority, logical, level: DLM = 001, RH, DM, TM. */
	m = (struct irq_msg){.dest = 0x0F, .vector = 0x41, .mode = IRQ_MODE_LOWEST,
			     .logical = true, .level = true};
	assert_true(vtd_irte_build(&m, -1, &e));
	assert_int_equal(e.lo, 0x00000F000041003Dull);
	/* Never present: NMI, SMI, INIT, ExtINT, the reserved modes, a 9-bit destination. */
	for (uint8_t mode = IRQ_MODE_SMI; mode <= IRQ_MODE_EXTINT; mode++) {
		m = (struct irq_msg){.dest = 0, .vector = 0x41, .mode = mode};
		assert_false(vtd_irte_build(&m, 0x18, &e));
		assert_int_equal(e.lo & VTD_IRTE_P, 0);
		assert_int_equal(e.lo | e.hi, 0);
	}
	m = (struct irq_msg){.dest = 0x100, .vector = 0x41, .mode = IRQ_MODE_FIXED};
	assert_false(vtd_irte_build(&m, -1, &e));
	/* No entry mhv writes is posted, fault-suppressed or sets reserved bits 14:8, 31:24. */
	m = (struct irq_msg){.dest = 0xFF, .vector = 0xFF, .mode = IRQ_MODE_LOWEST,
			     .logical = true, .redir_hint = true, .level = true};
	assert_true(vtd_irte_build(&m, 0xFFFF, &e));
	assert_int_equal(e.lo & (VTD_IRTE_IM_POSTED | VTD_IRTE_FPD | 0x7F00ull | 0xFF000000ull), 0);
	assert_int_equal(e.lo >> 48, 0); /* xAPIC mode: DST bits 63:48 reserved */
	assert_int_equal(e.hi >> 20, 0);
}

static void test_remappable_formats(void **state)
{
	uint32_t lo, hi;

	(void)state;
	/* Handle 2: 0xFEE, handle in 19:5, remappable (bit 4), SHV (bit 3). */
	assert_int_equal(vtd_msi_remap_addr(2), 0xFEE00058u);
	assert_int_equal(vtd_msi_remap_addr(0x7FFF), 0xFEEFFFF8u);
	/* Handle bit 15 goes to address bit 2. */
	assert_int_equal(vtd_msi_remap_addr(0x8000), 0xFEE0001Cu);
	/* IOAPIC entry: the guest's vector, level, low polarity and mask kept; its fixed/NMI
	 * mode, logical bit and destination gone; format bit 48, handle in 63:49. */
	vtd_rte_remap(0x17, 0x0001AC31u | (4u << 8) | (1u << 11), &lo, &hi);
	assert_int_equal(lo, 0x0001A031u);
	assert_int_equal(hi, 0x17u << 17 | 1u << 16);
	vtd_rte_remap(0x8001, 0x31u, &lo, &hi);
	assert_int_equal(lo, 0x31u | 1u << 11); /* handle[15] in bit 11 */
	assert_int_equal(hi, 1u << 17 | 1u << 16);
}

/* mhv's break-in pin under VT-d: an NMI entry of its own and the pin in remappable format. */
static void test_nmi_pin(void **state)
{
	struct vtd_irte e = {~0ull, ~0ull};
	uint32_t lo, hi;

	(void)state;
	/* Present, NMI (DLM 100b), physical, edge, no RH, vector 0, APIC ID 2 in DST[15:8];
	 * the IOAPIC's source ID F0:1F.0 verified with all 16 bits (SVT 01b, SQ 00b). */
	vtd_irte_build_nmi(2, 0xF0F8, &e);
	assert_int_equal(e.lo, 0x0000020000000081ull);
	assert_int_equal(e.hi, 0x000000000004F0F8ull);
	/* No scope in the DMAR: no source check. */
	vtd_irte_build_nmi(0xFF, -1, &e);
	assert_int_equal(e.lo, 0x0000FF0000000081ull);
	assert_int_equal(e.hi, 0);
	/* The guest's NMI is never given an entry by the guest-side builder. */
	{
		struct irq_msg m = {.dest = 0, .vector = 0, .mode = IRQ_MODE_NMI};

		assert_false(vtd_irte_build(&m, -1, &e));
		assert_false(e.lo & VTD_IRTE_P);
	}
	/* The pin's entry for handle 0x25 (pin 4 of an IOAPIC whose entries start at 0x21):
	 * delivery mode bits 000b, vector 0, edge, unmasked, format bit 48, handle in 63:49. */
	vtd_rte_remap(0x25, 0, &lo, &hi);
	assert_int_equal(lo, 0);
	assert_int_equal(hi, 0x00010000u | 0x25u << 17);
}

static void test_msi_cap_shadow(void **state)
{
	struct msi_cap c;
	uint32_t lo, hi;
	uint16_t data;

	(void)state;
	/* A 64-bit capability at 0x40: address 0x44-0x4B, data 0x4C-0x4D. */
	msi_cap_init(&c, 0x40, MSI_CTRL_64BIT, 0, 0, 0);
	msi_cap_set_hw(&c, 0xFEE00038u, 0, 0);
	assert_true(msi_cap_touches_message(&c, 0x44, 4));
	assert_true(msi_cap_touches_message(&c, 0x4C, 2));
	assert_false(msi_cap_touches_message(&c, 0x40, 4));
	assert_false(msi_cap_touches_message(&c, 0x4E, 2));
	assert_true(msi_cap_touches_control(&c, 0x40, 4));
	assert_false(msi_cap_touches_control(&c, 0x44, 4));
	/* The guest writes its address: the device gets mhv's; a read gives the guest's. */
	assert_int_equal(msi_cap_write(&c, 0x44, 4, 0xFEE01000u), 0xFEE00038u);
	assert_int_equal(msi_cap_write(&c, 0x48, 4, 0), 0);
	/* Data dword: the low half is the shadow's, the extended data half passes. */
	assert_int_equal(msi_cap_write(&c, 0x4C, 4, 0xABCD0441u), 0xABCD0000u);
	msi_cap_message(&c, &lo, &hi, &data);
	assert_int_equal(lo, 0xFEE01000u);
	assert_int_equal(hi, 0);
	assert_int_equal(data, 0x0441);
	assert_int_equal(msi_cap_read(&c, 0x44, 4, 0xFEE00038u), 0xFEE01000u);
	assert_int_equal(msi_cap_read(&c, 0x4C, 4, 0x12340000u), 0x12340441u);
	/* Byte and word accesses: only their own bytes. */
	assert_int_equal(msi_cap_write(&c, 0x4D, 1, 0x02), 0x00); /* data high byte: fixed */
	msi_cap_message(&c, &lo, &hi, &data);
	assert_int_equal(data, 0x0241);
	assert_int_equal(msi_cap_read(&c, 0x46, 2, 0xFEE0), 0xFEE0); /* address bits 31:16 */
	assert_int_equal(msi_cap_read(&c, 0x45, 1, 0x00), 0x10);
	/* Header and control pass through untouched. */
	assert_int_equal(msi_cap_write(&c, 0x40, 4, 0x00815005u), 0x00815005u);
	assert_int_equal(msi_cap_read(&c, 0x40, 4, 0x00815005u), 0x00815005u);
	/* A word write of the control register alone passes as written. */
	assert_int_equal(msi_cap_write(&c, 0x42, 2, 0x0081), 0x0081);
	assert_true(msi_cap_touches_control(&c, 0x42, 2));
	assert_false(msi_cap_touches_message(&c, 0x42, 2));
}

static void test_msi_cap_32bit(void **state)
{
	struct msi_cap c;
	uint32_t dw[3];

	(void)state;
	/* 32-bit: address 0xD4, data 0xD8-0xD9; 0xDA-0xDB are not the message. */
	msi_cap_init(&c, 0xD0, 0, 0xFEE00000u, 0, 0x0031);
	msi_cap_set_hw(&c, 0xFEE00078u, 0, 0);
	assert_int_equal(msi_cap_hw_dwords(&c, dw), 2);
	assert_int_equal(dw[0], 0xFEE00078u);
	assert_int_equal(dw[1], 0);
	assert_int_equal(msi_cap_read(&c, 0xD8, 4, 0x55660000u), 0x55660031u);
	assert_int_equal(msi_cap_write(&c, 0xD8, 4, 0x77660442u), 0x77660000u);
	assert_false(msi_cap_touches_message(&c, 0xDA, 2));
}

static void test_ir_fault(void **state)
{
	struct iommu_fault f;

	(void)state;
	/* Reason 0x22 (entry not present) by 00:03.0 for entry 0x7F: FI[63:48] = index. */
	assert_true(vtd_fault_decode(0x7Full << 48, (1ull << 63) | (0x22ull << 32) | 0x18, &f));
	assert_true(f.interrupt);
	assert_true(f.dma);
	assert_int_equal(f.addr, 0x7F);
	assert_int_equal(f.code, 0x22);
	assert_int_equal(f.sid, 0x18);
	/* 0x27 is not an interrupt remapping fault. */
	assert_true(vtd_fault_decode(0x1000, (1ull << 63) | (0x27ull << 32), &f));
	assert_false(f.interrupt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_msi_decode),	   cmocka_unit_test(test_rte_decode),
		cmocka_unit_test(test_irte),		   cmocka_unit_test(test_remappable_formats),
		cmocka_unit_test(test_msi_cap_shadow), cmocka_unit_test(test_msi_cap_32bit),
		cmocka_unit_test(test_ir_fault),	   cmocka_unit_test(test_nmi_pin),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
