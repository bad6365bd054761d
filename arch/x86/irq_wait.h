/*
 * Waiting in mhv for the guest's next interrupt (an intercepted HLT with interrupts on, on a
 * backend without a HLT activity state: SVM).  The guest owns the local APIC and every
 * interrupt source, so the interrupt is a physical one: mhv halts with interrupts on, the
 * CPU delivers the interrupt through mhv's IDT (vectors 32-255, arch/x86/irq_entry.S), which
 * notes its vector and returns with interrupts off; the backend then injects that vector into
 * the guest as an external interrupt.  The CPU acknowledged it on mhv's behalf (the vector is
 * in service in the APIC) and the guest's handler ends it with its own EOI, as it would have.
 * An NMI (the guest's, or mhv's kick for INIT and the end of the run) also ends the wait.
 */
#ifndef MHV_ARCH_X86_IRQ_WAIT_H
#define MHV_ARCH_X86_IRQ_WAIT_H

#include <stdint.h>

#define NR_IDT_VECTORS	 256
#define FIRST_IRQ_VECTOR 32 /* the first vector that is not an exception */
#define IRQ_WAIT_NMI	 (-1)

/* The IDT entry points for vectors FIRST_IRQ_VECTOR..NR_IDT_VECTORS-1 (irq_entry.S). */
extern const uint64_t irq_stubs[NR_IDT_VECTORS - FIRST_IRQ_VECTOR];

/*
 * Halt until an interrupt or an NMI reaches this CPU (SVM: call with GIF set).  Returns the
 * interrupt's vector, or IRQ_WAIT_NMI when an NMI came first (nmi_pending[] says so; the
 * caller consumes it).  Returns with interrupts off.
 */
int irq_wait_for_interrupt(void);

/* Called by irq_entry.S: an interrupt reached mhv during the wait. */
void irq_note_vector(uint64_t vector);

#endif
