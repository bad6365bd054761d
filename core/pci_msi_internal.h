/* Shared by core/pci_msi_trap.c (ports 0xCF8/0xCFC) and core/pci_msi_mmcfg.c (MMCONFIG). */
#ifndef MHV_CORE_PCI_MSI_INTERNAL_H
#define MHV_CORE_PCI_MSI_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "iommu/msi_cap.h"
#include "lib/spinlock.h"

#define MSI_FN_MAX 64

struct msi_fn {
	uint16_t bdf;
	int32_t sid; /* VT-d: the requester ID entries accept, -1: any (behind a PCI bridge) */
	uint64_t ecam; /* its configuration page in the MMCONFIG window (trapped), or 0 */
	uint32_t handle;
	uint8_t count; /* entries: the messages the function can send (MMC) */
	struct msi_cap cap;
};

/* Held around every shadow update and mhv's own configuration accesses. */
extern struct spinlock pci_msi_lock;

/* The functions found at boot. */
struct msi_fn *pci_msi_functions(unsigned *n);

/* The device's own message into its registers (through ports 0xCF8/0xCFC: the caller keeps
 * the guest's 0xCF8 value), and the entries rebuilt from the guest's message. */
void pci_msi_write_hw_message(const struct msi_fn *f);
void pci_msi_rebuild(const struct msi_fn *f);

#endif
