/*
 * Interrupt remapping from the guest's own programming.  Where the IOMMU remaps interrupts
 * by entries mhv writes (VT-d), every interrupt source the guest programs (a PCI function's
 * MSI capability: core/pci_msi_trap.c; an IOAPIC entry: core/ioapic_guard.c) gets entries of
 * its own, and the device or IOAPIC is given a remappable-format message naming them in place
 * of what the guest wrote.  An entry is written only for a message mhv would let the guest's
 * own CPU send (fixed or lowest-priority delivery, a destination that is the guest's: any of
 * its vCPUs with SMP, else exactly its CPU, re-aimed there physically); anything else leaves
 * the entry not present, so the IOMMU blocks the message.  A device that writes an interrupt
 * message of its own making (a DMA write into 0xFEExxxxx) reaches nothing: compatibility
 * format is blocked, and a remappable one only finds entries mhv filled from the guest's
 * programming (and, for PCI functions, only its own: the requester ID is checked).
 */
#ifndef MHV_CORE_IRQ_REMAP_H
#define MHV_CORE_IRQ_REMAP_H

#include <stdbool.h>
#include <stdint.h>

#include "iommu/irq_msg.h"

/* Are the guest's messages rewritten to remappable format (VT-d interrupt remapping on)? */
bool irq_remap_active(void);

/* count consecutive entries; the first one's handle, or -1 (none left, or remapping off). */
int32_t irq_remap_alloc(unsigned count);

/*
 * The guest programmed m for entry handle (requester ID sid, or -1 to accept any source):
 * the entry carries it if the guest may send it, else the entry is cleared and *why says
 * what the guest tried (false).
 */
bool irq_remap_set(unsigned handle, const struct irq_msg *m, int32_t sid, const char **why);

/* The entry no longer carries anything (blocked). */
void irq_remap_clear(unsigned handle);

#endif
