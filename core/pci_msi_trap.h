/*
 * The guest's MSI programming, trapped for interrupt remapping (core/irq_remap.h).  At boot
 * every PCI function with an MSI capability gets remapping entries of its own (one per message
 * it can send) and a remappable-format message naming them.  The guest's configuration
 * accesses through ports 0xCF8/0xCFC then pass through except the capability's message
 * address and data: those are kept for the guest (it reads back what it wrote) and turned into
 * the function's entries whenever the guest changes them or enables MSI.
 *
 * The same registers through the PCIe memory-mapped configuration window (MMCONFIG, where the
 * MCFG table puts it) are trapped too: the function's 4 KiB page there is a trapped region.
 *
 * Not trapped (README): MSI-X tables, and an MMCONFIG window the guest moves (q35's PCIEXBAR).
 * A message programmed that way is not rewritten.  For MSI-X, mhv lets them through rather
 * than lose them (VT-d: compatibility format passed, GCMD.CFI; AMD-Vi: the shared table, boot
 * vCPU), with a warning naming the function; an MSI moved into an untrapped MMCONFIG window
 * is blocked (AMD-Vi: no entry in the function's table).
 */
#ifndef MHV_CORE_PCI_MSI_TRAP_H
#define MHV_CORE_PCI_MSI_TRAP_H

#include <stdbool.h>
#include <stdint.h>

/* Find the MSI functions and give them their entries (interrupt remapping on only). */
void pci_msi_trap_init(void);

struct mmio_regions;
/* Trap the MSI functions' MMCONFIG pages (called by mmio_setup); false on error. */
bool pci_msi_mmcfg_setup(struct mmio_regions *regions);

/* Must the configuration data ports 0xCFC-0xCFF be intercepted? */
bool pci_msi_trapped(void);

/* A guest read of size bytes at port (0xCFC-0xCFF) that returned hw: what the guest sees. */
uint32_t pci_msi_config_in(uint16_t port, unsigned size, uint32_t hw);

/* A guest write there: done (true) if it touched an MSI capability, else the caller writes. */
bool pci_msi_config_out(uint16_t port, unsigned size, uint32_t val);

#endif
