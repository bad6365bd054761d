/*
 * AMD-Vi interrupt remapping (AMD IOMMU spec 2.2.5): what mhv puts in a device table entry's
 * interrupt fields and in the one interrupt remapping table every device shares.
 *
 * The guest does not know about the IOMMU, so it programs its devices' MSIs (and the IOAPIC)
 * in the ordinary format.  With IntCtl = remapped, the IOMMU looks a fixed or arbitrated
 * interrupt up in the table at the index MSI data[10:0] (delivery mode << 8 | vector), and
 * decides every other delivery mode by the entry's pass bits.  mhv's table maps each
 * (fixed | arbitrated, vector) index to the same vector and mode, physical destination = the
 * guest's CPU, whatever destination the message named; every pass bit is off, so NMI, INIT,
 * ExtINT, SMI, LINT0 and LINT1 messages from a device are target-aborted (the one exception:
 * NMIPass on the IOAPIC's own entry while mhv's break-in pin is its NMI, core/irq_remap.h).
 */
#ifndef MHV_IOMMU_AMD_INTREMAP_H
#define MHV_IOMMU_AMD_INTREMAP_H

#include <stdint.h>

#include "iommu/irq_msg.h"

/* Fixed (0) and arbitrated (1) delivery modes: index = mode << 8 | vector. */
#define AMD_IRT_ENTRIES	   512u
#define AMD_IRT_ENTRY_SIZE 4u
#define AMD_IRT_ALIGN	   128u /* IntTableRootPtr holds address bits 51:6; 128 is the rule */

/* Legacy (non-GA) interrupt remapping table entry fields (spec table 21) */
#define AMD_IRTE_REMAP_EN     (1u << 0)
#define AMD_IRTE_TYPE_SHIFT   2
#define AMD_IRTE_DM_LOGICAL   (1u << 6)
#define AMD_IRTE_DEST_SHIFT   8
#define AMD_IRTE_VECTOR_SHIFT 16

/* Device table entry, quadword 2 (bits 191:128) */
#define AMD_DTE_IV		(1ull << 0)  /* interrupt fields valid */
#define AMD_DTE_INTTABLEN_SHIFT 1	     /* log2(entries) */
#define AMD_DTE_INTTAB_MASK	0x000fffffffffffc0ull
#define AMD_DTE_INIT_PASS	(1ull << 56)
#define AMD_DTE_EINT_PASS	(1ull << 57)
#define AMD_DTE_NMI_PASS	(1ull << 58)
#define AMD_DTE_INTCTL_SHIFT	60
#define AMD_DTE_INTCTL_ABORT	0ull
#define AMD_DTE_INTCTL_REMAP	2ull
#define AMD_IRTE_MAX_DEST	0xffu /* legacy entries hold an 8-bit APIC ID */
#define AMD_DTE_LINT0_PASS	(1ull << 62)
#define AMD_DTE_LINT1_PASS	(1ull << 63)

/* Fill table (AMD_IRT_ENTRIES entries): every fixed/arbitrated vector to APIC ID dest. */
void amd_irt_fill(uint32_t *table, uint8_t dest);

/*
 * Per-device tables (core/irq_remap.h): a PCI function whose MSI the guest programs gets a
 * table of its own, indexed by the message number (mhv gives the device data = 0, so message
 * k is index k); an IOAPIC gets one indexed as the hardware does (delivery mode << 8 |
 * vector), since the IOAPIC's entries keep the guest's vectors (it matches EOIs by them).
 * An entry carries the guest's own vector, mode and destination; unfilled entries target-abort.
 */
#define AMD_IRT_BYTES (AMD_IRT_ENTRIES * AMD_IRT_ENTRY_SIZE)

/* The entry for m (the caller checked its destination): 0 (not remapped: the message is
 * target-aborted) unless fixed or arbitrated with an 8-bit destination. */
uint32_t amd_irte_build(const struct irq_msg *m);

/* The index an IOAPIC message with this mode and vector looks up. */
unsigned amd_irt_index(uint8_t mode, uint8_t vector);

/* Quadword 2 of a DTE whose interrupts go through table_pa (AMD_IRT_ALIGN-aligned), with
 * every pass bit off. */
uint64_t amd_dte_intremap(uint64_t table_pa);

/* Quadword 2 of a DTE that target-aborts every interrupt from the device (IntCtl = 00b):
 * for a guest CPU whose APIC ID a legacy entry cannot name. */
uint64_t amd_dte_intabort(void);

#endif
