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
 * programming (and, for PCI functions, only its own: VT-d checks the requester ID, AMD-Vi looks
 * the message up in the requester's own table).
 */
#ifndef MHV_CORE_IRQ_REMAP_H
#define MHV_CORE_IRQ_REMAP_H

#include <stdbool.h>
#include <stdint.h>

#include "iommu/irq_msg.h"

/* Are the guest's messages remapped by entries mhv writes (VT-d, or AMD-Vi per device)? */
bool irq_remap_active(void);

/*
 * Entries for PCI function bdf's count messages (*handle names them); false when it gets none
 * (remapping off, none left; AMD-Vi: an aliased requester, or one that also sends messages
 * mhv does not rewrite (unrewritten: its MSI-X), which keeps the shared table).
 */
bool irq_remap_alloc_msi(uint16_t bdf, unsigned count, bool unrewritten, uint32_t *handle);

/* Entries for bdf's count MSI-X vectors (AMD-Vi: in its own table, after its MSI's). */
bool irq_remap_alloc_msix(uint16_t bdf, unsigned count, uint32_t *handle);

/*
 * A function sends messages mhv cannot rewrite (MSI-X): make sure they still arrive.  VT-d:
 * compatibility format is passed through from then on (for every device: the IOMMU cannot
 * tell them apart); AMD-Vi: nothing to do when the function keeps the shared table (its
 * entries send each vector to the boot vCPU), nothing possible when it has its own
 * (own_table).  True if they arrive; *what says what happens to them (for the log).
 */
bool irq_remap_pass_unrewritten(bool own_table, const char **what);

/* The message address and data the function itself must hold (message k: data + k). */
void irq_remap_msi_hw(uint32_t handle, uint32_t *addr_lo, uint16_t *data);

/*
 * The guest programmed m for message k of handle (VT-d: requester ID sid, or -1 to accept
 * any source): the entry carries it if the guest may send it, else the entry is cleared and
 * *why says what the guest tried (false).
 */
bool irq_remap_set(uint32_t handle, unsigned k, const struct irq_msg *m, int32_t sid,
		   const char **why);

/* Message k of handle no longer reaches anything. */
void irq_remap_clear(uint32_t handle, unsigned k);

/* Entries for the IOAPIC with this ID and its pins; false when it gets none. */
bool irq_remap_alloc_ioapic(uint8_t ioapic_id, unsigned pins, uint32_t *handle);

/*
 * The guest's entry (low, high) for pin, as allowed by the IOAPIC guard: the remapping entry
 * carries it, and (low, high) become what the IOAPIC must hold (VT-d: remappable format;
 * AMD-Vi: the guest's vector and mode, physical, since the table is indexed by them).  An
 * unmasked entry that may not be sent is refused: false, *why set, *low masked.
 */
bool irq_remap_ioapic_pin(uint32_t handle, unsigned pin, uint32_t *low, uint32_t *high,
			  const char **why);

/* amdvi_nmipass= (lib/options.h): may AMD-Vi's NMIPass carry the pin's NMI?  Off: no. */
void irq_remap_allow_amdvi_nmipass(bool allowed);

/*
 * mhv's own pin (the break-in, core/ioapic_guard.h): an edge-triggered NMI to APIC ID dest
 * from pin of the IOAPIC with this ID and handle (irq_remap_alloc_ioapic).  (low, high)
 * become what the IOAPIC must hold and *how says how the NMI gets through (for the log).
 * VT-d: an entry of mhv's (the pin's own IRTE: NMI to dest, the IOAPIC's source ID checked
 * where the DMAR names it) and a remappable-format pin entry.  AMD-Vi: the pin entry stays
 * an NMI to dest and the IOAPIC's DTE gets NMIPass, since the remapping table has no NMI
 * entries, only with amdvi_nmipass=on.  false (*how says why) when it does not get through.
 */
bool irq_remap_ioapic_nmi(uint32_t handle, uint8_t ioapic_id, unsigned pin, uint8_t dest,
			  uint32_t *low, uint32_t *high, const char **how);

#endif
