/* Shared by arch/x86/iommu.c and the vendor parts iommu_vtd.c / iommu_amd.c. */
#ifndef MHV_ARCH_X86_IOMMU_INTERNAL_H
#define MHV_ARCH_X86_IOMMU_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "iommu/dmar.h"
#include "iommu/fault_decode.h"
#include "iommu/ivrs.h"
#include "iommu/io_pagetable.h"

#define IOMMU_DOMAIN_ID 1 /* the one domain every device is in */
#define IOMMU_POLL_SPINS 10000000u

/* Identity ranges for the I/O page tables: guest RAM and firmware's unity ranges. */
#define IOMMU_MAX_RANGES 600
struct iommu_range {
	uint64_t start, end;
};

/* Fill one I/O page table with the guest's RAM and the extra ranges; false with a message. */
bool iommu_build_identity(const struct io_pt_format *f, uint64_t root,
			  const struct iommu_range *extra, unsigned nr_extra);

/* MMIO register access (uncached, exact width). */
uint32_t iommu_rd32(uint64_t base, unsigned off);
uint64_t iommu_rd64(uint64_t base, unsigned off);
void iommu_wr32(uint64_t base, unsigned off, uint32_t v);
void iommu_wr64(uint64_t base, unsigned off, uint64_t v);

/* Trap [base, base + size) once the mmio regions are set up (iommu_guard_setup). */
void iommu_add_guard(uint64_t base, uint64_t size);

/* Log one blocked access or IOMMU error (rate-limited), counting blocked accesses. */
void iommu_report_fault(const char *unit, const struct iommu_fault *f);

/* Set by a vendor part that turned interrupt remapping on (HC_IOMMU_STATUS). */
extern bool iommu_intremap;
/* Set when VT-d passes compatibility-format messages (GCMD.CFI, for untrapped MSI-X). */
extern bool iommu_compat_passed;

/* Vendor parts: program every unit; false with a message. */
bool vtd_setup(const struct dmar_info *d);
void vtd_drain_faults(void);
bool amdvi_setup(const struct ivrs_info *iv);
void amdvi_drain_faults(void);

#endif
