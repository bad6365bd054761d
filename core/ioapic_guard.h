/*
 * The IOAPIC guard.  An IOAPIC's redirection table sends interrupt messages (fixed, lowest
 * priority, SMI, NMI, INIT, ExtINT) to any CPU, so it is one more route to the CPUs mhv parks:
 * an INIT through it leaves a parked CPU waiting for a SIPI, out of mhv's park loop, and an
 * SMI runs the SMM handler at the CPU's SMBASE + 0x8000, which firmware that never relocated
 * the CPU's SMBASE (SeaBIOS, Bochs' BIOS) leaves at 0x38000, in guest RAM: guest code in SMM,
 * with all of memory, mhv's included.
 *
 * So every IOAPIC page (the MADT's, else the PC default 0xFEC00000) is trapped.  Reads pass
 * through; a redirection entry reaches the hardware unmasked only as a fixed, lowest-priority
 * or NMI message (or ExtINT, the legacy virtual wire) whose destination includes the guest's
 * CPU, and then with the guest's CPU as its only (physical) destination.  SMP (every AP a
 * vCPU): such an entry goes out as written when its destination names only the guest's vCPUs
 * (an NMI to a vCPU mhv holds in wait-for-SIPI is dropped there, as the state does); SMI,
 * INIT and the reserved modes are refused to any CPU.  Anything refused is written masked,
 * counted with the dropped IPIs (HC_IPIS_DROPPED) and logged.  Only whole
 * 32-bit registers are written (a byte write into an entry could change its mode unseen).
 */
#ifndef MHV_CORE_IOAPIC_GUARD_H
#define MHV_CORE_IOAPIC_GUARD_H

#include <stdbool.h>

struct mmio_regions;

/* Trap every IOAPIC page; false on error. */
bool ioapic_guard_setup(struct mmio_regions *regions);

/*
 * The break-in (core/debug_stop.h): pin `pin` of the first IOAPIC (the console UART's ISA
 * line) becomes mhv's, an edge-triggered NMI to this CPU.  The guest's writes to that entry
 * are kept, not applied; ioapic_guard_forward_console_irq() sends what it asked for (fixed or
 * lowest priority, within the same destination rules) as an IPI, once per edge.  With
 * interrupt remapping the NMI is let through the IOMMU (irq_remap_ioapic_nmi); false, with a
 * warning, when it cannot be.
 */
bool ioapic_guard_claim_console_pin(unsigned pin);
/* The same for the debugger's UART (gdb=), which the guest never sees: its entry's writes are
 * kept and never applied, nothing is forwarded. */
bool ioapic_guard_claim_debugger_pin(unsigned pin);
void ioapic_guard_forward_console_irq(void);

#endif
