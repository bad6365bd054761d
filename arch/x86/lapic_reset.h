/*
 * What an INIT does to a CPU's local APIC, done by mhv on the vCPU's own CPU when it turns the
 * guest's INIT into the wait-for-SIPI state: the APIC is the guest's (passed through), and a
 * virtual INIT never reaches the hardware, so without this an AP restarted by INIT-SIPI-SIPI
 * would find its APIC as the previous run left it (timer armed, TPR raised, ...).
 */
#ifndef MHV_ARCH_X86_LAPIC_RESET_H
#define MHV_ARCH_X86_LAPIC_RESET_H

/* Reset the calling CPU's local APIC as INIT does (lapic_reset.c says how far). */
void lapic_init_reset(void);

#endif
