/*
 * The guest's MSI-X tables, trapped for interrupt remapping (core/irq_remap.h).  For every
 * PCI function with an MSI-X capability whose table lies in an assigned memory BAR, the
 * page(s) holding the table become a trapped region: a guest access outside the table (the
 * Pending Bit Array, other registers on those pages) reaches the device at its own width; an
 * entry's message address and data are shadowed (the guest reads back what it wrote), the
 * device holds mhv's remappable-format message for that entry instead, and the entry's
 * remapping entry is built from the guest's message under the MSI rules whenever the guest
 * writes the message or unmasks the vector (Vector Control passes through).  MSI-X Enable
 * and Function Mask need nothing of mhv: they gate what the device sends, and every unmasked
 * entry already has its remapping entry.
 *
 * A function whose table mhv cannot trap (I/O or unassigned BAR, too many vectors, no
 * entries left) falls back to the explicit pass-through of core/irq_remap.h, named in a
 * warning.  A BAR the guest moves is not followed: mhv logs it and falls back the same way.
 */
#ifndef MHV_CORE_PCI_MSIX_TRAP_H
#define MHV_CORE_PCI_MSIX_TRAP_H

#include <stdbool.h>
#include <stdint.h>

/* Function bdf has an MSI-X capability at cap: its table trapped (true), else the fallback.
 * sid: the requester ID its entries check (VT-d), -1 for any. */
bool pci_msix_add(uint16_t bdf, uint8_t cap, int32_t sid);

struct mmio_regions;
/* Trap the tables' pages (called by mmio_setup); false on error. */
bool pci_msix_setup(struct mmio_regions *regions);

/* Is configuration offset off (size bytes) of bdf one of its MSI-X table's BAR registers? */
bool pci_msix_is_bar(uint16_t bdf, unsigned off, unsigned size);

/* After a guest write to such a register: the BAR still where it was trapped, or logged and
 * the fallback taken (a sizing write of all ones is not a move).  Uses ports 0xCF8/0xCFC:
 * the caller restores the guest's 0xCF8. */
void pci_msix_bar_written(uint16_t bdf);

#endif
