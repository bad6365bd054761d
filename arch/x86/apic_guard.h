/*
 * mhv runs the guest on one CPU.  The other CPUs stay in their firmware wait-for-SIPI state
 * and must stay there: a guest that sent them INIT/STARTUP IPIs would run its own code on
 * them outside mhv's control (and reach mhv's memory).  mhv therefore sees every write to
 * the local APIC's interrupt command register and drops INIT and STARTUP IPIs; every other
 * APIC access passes through to the hardware.
 */
#ifndef MHV_ARCH_X86_APIC_GUARD_H
#define MHV_ARCH_X86_APIC_GUARD_H

#include <stdbool.h>
#include <stdint.h>

struct mmio_regions;

#define MSR_X2APIC_ICR 0x00000830

/* Trap the xAPIC page (an MMIO region that forwards all but INIT/SIPI); false on error. */
bool apic_guard_setup(struct mmio_regions *regions);
/* An ICR value the guest wants to send: false = dropped (logged and counted). */
bool apic_guard_ipi_allowed(uint64_t icr);
uint64_t apic_guard_dropped(void);
uint64_t apic_guard_base(void);

#endif
