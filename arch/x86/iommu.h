/*
 * DMA protection: mhv finds the IOMMUs in ACPI (DMAR: Intel VT-d, IVRS: AMD-Vi), points every
 * device behind them at one I/O page table that identity-maps the guest's RAM (mhv's range,
 * and so the IOMMUs' own tables, left out; RMRR / IVMD unity ranges added), turns translation
 * on, traps the IOMMUs' register pages and hides DMAR/IVRS from the guest's ACPI view.  Blocked
 * DMA is read from the fault registers / event log and logged once per fault, rate-limited.
 *
 * Interrupt remapping: on AMD-Vi (iommu_amd.c, iommu/amd_intremap.h), and on VT-d where ECAP.IR
 * says the unit has it (iommu/vtd_intremap.h: entries from the guest's own MSI and IOAPIC
 * programming, core/irq_remap.c).  Not done: ATS
 * (device IOTLBs are not enabled: ATSR is parsed, not used), PCI segments other than 0.
 */
#ifndef MHV_ARCH_X86_IOMMU_H
#define MHV_ARCH_X86_IOMMU_H

#include <stdbool.h>
#include <stdint.h>

#include "core/hypercall_abi.h"
#include "lib/options.h" /* enum iommu_mode */

struct mmio_regions;

/* Which IOMMU protects mhv (HC_IOMMU_STATUS). */
#define IOMMU_KIND_NONE	 IOMMU_STATUS_NONE
#define IOMMU_KIND_VTD	 IOMMU_STATUS_VTD
#define IOMMU_KIND_AMDVI IOMMU_STATUS_AMDVI

/*
 * Before the guest starts, after its physical map is built (guest_load).  false when the
 * guest must not start: iommu=required without a working IOMMU, or an IOMMU that could not be
 * programmed (its devices would be left in an unknown state).
 */
bool iommu_setup(enum iommu_mode mode);

/* Trap the IOMMUs' register ranges (called by mmio_setup). */
bool iommu_guard_setup(struct mmio_regions *regions);

/* Drain the fault registers / event logs, logging each new fault.  Returns the total count. */
uint64_t iommu_drain_faults(void);

/* For HC_IOMMU_STATUS: IOMMU_KIND_* | units << 8 | IOMMU_STATUS_INTREMAP. */
uint64_t iommu_status(void);

/* For HC_IOMMU_STATUS: the physical address and a checksum of a page of mhv's own data that
 * the guest test aims a DMA at. */
uint64_t iommu_canary_pa(void);
uint64_t iommu_canary_sum(void);

/* VT-d interrupt remapping (iommu_vtd.c), for core/irq_remap.c: on?  count consecutive
 * entries (handles), -1 if none are left; write one entry and invalidate its cached copy. */
struct vtd_irte;
bool vtd_intremap_on(void);
/* Let compatibility-format messages through unremapped (GCMD.CFI): true once set. */
bool vtd_intremap_pass_compat(void);
int32_t vtd_irte_alloc(unsigned count);
void vtd_irte_write(unsigned handle, const struct vtd_irte *e);
/* The source ID of the IOAPIC with this ID (its DMAR device scope); false if none names it. */
bool vtd_ioapic_sid(uint8_t ioapic_id, uint16_t *sid);

/* AMD-Vi interrupt remapping (iommu_amd.c), for core/irq_remap.c: on?  Give devid a table of
 * its own (false: aliased, beyond the device table, or no memory: it keeps the shared one);
 * write one of its entries (invalidated, waited for); an IOAPIC's devid from the IVRS. */
bool amdvi_intremap_on(void);
bool amdvi_irt_own(uint16_t devid);
void amdvi_irte_write(uint16_t devid, unsigned index, uint32_t irte);
bool amdvi_ioapic_devid(uint8_t ioapic_id, uint16_t *devid);
/* devid's (own) DTE passes NMI messages unremapped (NMIPass), invalidated and waited for:
 * for the IOAPIC when mhv's break-in pin is an NMI (core/irq_remap.h).  false: devid has no
 * table of its own (amdvi_irt_own), so the guest's entries are not all mhv's to judge. */
bool amdvi_dte_nmi_pass(uint16_t devid);

#endif
