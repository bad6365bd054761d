/*
 * The CPUs mhv does not give to the guest (the application processors, APs) are parked
 * under mhv before the guest starts: INIT-SIPI-SIPI into a real-mode trampoline that mhv
 * owns during bring-up, then long mode on mhv's page tables, mhv's GDT, an IDT whose every
 * vector (NMI included) just returns to a `cli; hlt` loop in mhv's image, each CPU on its own
 * small stack.  From then on an AP runs nothing but mhv's park loop; the only signal that can
 * take it out is INIT, which leaves it in the CPU's wait-for-SIPI state, and apic_guard.c
 * never lets a guest SIPI (or any other IPI) reach another CPU.
 *
 * A CPU the ACPI MADT lists that has not reported in by the end of the bring-up gets an INIT
 * of its own (it waits for a SIPI that never comes); without a MADT every AP gets one.  So no
 * AP can run from the trampoline page afterwards, and the page goes back to the guest.
 *
 * Giving every CPU to the guest under mhv (SMP) can reuse the bring-up as it is: the
 * trampoline, the transition tables and the INIT-SIPI-SIPI sequence do not depend on what the
 * 64-bit entry (ap_tr_entry64, today ap_park_entry64) does once a CPU is in mhv's image.
 */
#ifndef MHV_ARCH_X86_AP_PARK_H
#define MHV_ARCH_X86_AP_PARK_H

struct frame_allocator;

/*
 * Bring every AP under mhv's control.  Call once, on the boot CPU, after mhv's final page
 * tables are loaded and ACPI is set up; frames gives the trampoline page (usable RAM below
 * 1 MiB, returned afterwards).  Logs "mhv: N CPU(s) parked under mhv".  Returns the number
 * of CPUs parked.
 */
unsigned ap_park_all(struct frame_allocator *frames);

/* Interrupts (NMIs included) the parked CPUs have taken in the park loop so far. */
unsigned ap_park_interrupt_count(void);

#endif
