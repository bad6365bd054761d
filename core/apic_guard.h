/*
 * mhv gives the guest one CPU.  The others are parked under mhv (ap_park.c) and must stay
 * there: every interrupt message the guest can aim at another CPU is checked here.
 *
 *  - The xAPIC page is trapped: ICR writes are filtered (below); writes to the reserved
 *    registers at 0x000-0x00F and to the APIC ID register are dropped (on QEMU a write to
 *    offset 0 is an MSI; an ID change would let "self" name a parked CPU too).  Everything
 *    else passes through to the hardware.
 *  - The x2APIC ICR MSR is filtered the same way (msr_policy.c); the SELF IPI MSR can only
 *    reach this CPU and passes through.
 *  - The rest of the interrupt window 0xFEE00000-0xFEEFFFFF (where a write is an MSI on
 *    real chipsets and emulators) is a device that reads all ones and drops writes.
 *
 * The ICR rule (which IPI goes out, which is cut down to self, which is dropped) is
 * lib/ipi_filter.h; every drop is counted and logged (rate-limited).
 */
#ifndef MHV_CORE_APIC_GUARD_H
#define MHV_CORE_APIC_GUARD_H

#include <stdbool.h>
#include <stdint.h>

struct mmio_regions;
struct vcpu;

#define MSR_X2APIC_ICR 0x00000830

/* Trap the xAPIC page and the MSI window around it; false on error. */
bool apic_guard_setup(struct mmio_regions *regions);
/*
 * The guest writes this value to the x2APIC ICR MSR.  Returns false if it is dropped (counted
 * and logged); true with *send = the value to write to the hardware otherwise.
 */
bool apic_guard_x2apic_icr(uint64_t icr, uint64_t *send);
/* The guest changed IA32_APIC_BASE (enable, x2APIC mode): where its xAPIC page still is. */
void apic_guard_base_written(uint64_t msr);
/* Interrupt messages kept from other CPUs: dropped, or broadcasts cut down to self. */
uint64_t apic_guard_dropped(void);
/* LVT registers (xAPIC offset) with a delivery-mode field; a write with SMI, INIT or a
 * reserved mode is dropped, counted and logged: false then. */
bool apic_guard_lvt_has_mode(unsigned offset);
bool apic_guard_lvt_write(unsigned offset, uint32_t value);
/* The xAPIC offset of an x2APIC MSR. */
unsigned apic_guard_x2apic_lvt_offset(uint32_t msr);
/* Count and log (rate-limited) an interrupt message kept from the other CPUs elsewhere. */
void apic_guard_count_drop(const char *what, uint64_t value, uint64_t where);
/* This CPU as an 8-bit (xAPIC-format) destination: APIC ID and flat logical ID (0: none). */
void apic_guard_self_xapic(uint32_t *id, uint32_t *ldr);
uint64_t apic_guard_base(void);

/* A physical INIT reached the guest's CPU (VMX exit reason 3, SVM INIT intercept): ends the run. */
void apic_guard_init_signal(struct vcpu *v);

#endif
