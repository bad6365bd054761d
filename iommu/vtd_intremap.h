/*
 * Intel VT-d interrupt remapping (VT-d spec 3.x, 5.1 and 9.10): the interrupt remapping
 * table entries (IRTE) mhv writes, and the remappable-format messages it programs into the
 * devices and IOAPICs in place of what the guest wrote.
 *
 * With remapping on and compatibility format blocked (GSTS.CFIS clear), a device's write to
 * 0xFEExxxxx is an interrupt only in remappable format: the address names an entry (handle,
 * plus the data's subhandle when SHV is set) and the entry decides vector, delivery mode and
 * destination.  mhv writes an entry only for a fixed or lowest-priority message whose
 * destination the guest may reach (core/irq_remap.c); NMI, SMI, INIT, ExtINT and the reserved
 * modes never get one, and every entry mhv did not fill is not present: the message is
 * blocked.  Entries of PCI functions verify the requester ID, so a device cannot borrow
 * another device's entry.  Entries are in xAPIC format (IRTA.EIME clear): 8-bit APIC IDs.
 */
#ifndef MHV_IOMMU_VTD_INTREMAP_H
#define MHV_IOMMU_VTD_INTREMAP_H

#include <stdbool.h>
#include <stdint.h>

#include "iommu/irq_msg.h"

/* The table mhv allocates: 2^(IRTA.S + 1) entries of 16 bytes. */
#define VTD_IRT_SIZE_FIELD 9u
#define VTD_IRT_ENTRIES	   (1u << (VTD_IRT_SIZE_FIELD + 1))
#define VTD_IRTE_SIZE	   16u

/* IRTE, low quadword */
#define VTD_IRTE_P	     (1ull << 0)
#define VTD_IRTE_FPD	     (1ull << 1)
#define VTD_IRTE_DM_LOGICAL  (1ull << 2)
#define VTD_IRTE_RH	     (1ull << 3)
#define VTD_IRTE_TM_LEVEL    (1ull << 4)
#define VTD_IRTE_DLM_SHIFT   5
#define VTD_IRTE_IM_POSTED   (1ull << 15)
#define VTD_IRTE_VECTOR_SHIFT 16
#define VTD_IRTE_XAPIC_DEST_SHIFT 40 /* xAPIC mode: DST[15:8] holds the 8-bit APIC ID */
/* IRTE, high quadword */
#define VTD_IRTE_SID_MASK    0xFFFFull
#define VTD_IRTE_SQ_SHIFT    16
#define VTD_IRTE_SVT_SHIFT   18
#define VTD_IRTE_SVT_NONE    0ull
#define VTD_IRTE_SVT_SID     1ull /* verify the requester ID (with SQ = 0: all 16 bits) */

/* Remappable-format MSI address and IOAPIC entry */
#define VTD_MSI_FORMAT_REMAP  (1u << 4)
#define VTD_MSI_SHV	      (1u << 3)
#define VTD_MSI_HANDLE15      (1u << 2)
#define VTD_MSI_HANDLE_SHIFT  5
#define VTD_HANDLE_LOW_MASK   0x7FFFu
#define VTD_HANDLE_BIT15      0x8000u
#define VTD_RTE_FORMAT_REMAP  (1u << 16) /* high dword: entry bit 48 */
#define VTD_RTE_HANDLE_SHIFT  17	 /* high dword: entry bits 63:49 = handle[14:0] */
#define VTD_RTE_HANDLE15      (1u << 11) /* low dword: entry bit 11 = handle[15] */
#define VTD_IRTE_XAPIC_MAX_DEST 0xFFu

struct vtd_irte {
	uint64_t lo, hi;
};

/*
 * The entry for m, a message the caller already found to be the guest's own (destination):
 * present only for fixed and lowest-priority delivery with an 8-bit destination.  sid >= 0
 * makes the entry accept only that requester ID.  false (and *e not present) otherwise.
 */
bool vtd_irte_build(const struct irq_msg *m, int32_t sid, struct vtd_irte *e);

/*
 * mhv's own entry for its break-in pin (core/ioapic_guard.h): an edge-triggered NMI to the
 * 8-bit APIC ID dest, physical, no redirection hint; sid >= 0 makes it accept only that
 * requester ID (the IOAPIC's, from the DMAR), so no device's DMA-written message borrows it.
 */
void vtd_irte_build_nmi(uint8_t dest, int32_t sid, struct vtd_irte *e);

/* The MSI address (low dword) a function gets: entry handle + the data's subhandle (the data
 * is 0, so a multi-message function's message k uses entry handle + k). */
uint32_t vtd_msi_remap_addr(uint16_t handle);

/* The IOAPIC entry for handle that keeps the guest's vector, trigger mode, polarity and mask
 * (the IOAPIC matches EOIs by vector; VT-d 5.1.5.1 asks for the IRTE's vector and trigger). */
void vtd_rte_remap(uint16_t handle, uint32_t guest_low, uint32_t *low, uint32_t *high);

#endif
