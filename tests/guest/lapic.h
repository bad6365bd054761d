/*
 * The local APIC as the guest tests reach it: the registers several tests read (APIC ID, IRR)
 * and the two ways to read them, the xAPIC page and the x2APIC MSRs.  The helpers without a
 * page argument ask IA32_APIC_BASE of the CPU they run on each time (a test may switch its
 * APIC to x2APIC mode); xapic_irr_has() reads the xAPIC page the caller names, for callers
 * that must stay on the xAPIC page (APs as INIT leaves them, tests that checked the mode).
 */
#ifndef MHV_TESTS_GUEST_LAPIC_H
#define MHV_TESTS_GUEST_LAPIC_H

#include <stdbool.h>
#include <stdint.h>

#define APIC_BASE_X2APIC    (1ull << 10) /* IA32_APIC_BASE: x2APIC mode */
#define APIC_BASE_ADDR_MASK 0xFFFFF000u	 /* IA32_APIC_BASE: the xAPIC page (below 4 GiB) */
#define APIC_ID_REG	    0x020
#define APIC_IRR_BASE	    0x200
#define APIC_ICR_LOW	    0x300
#define APIC_ICR_HIGH	    0x310
#define IRR_REG_BITS	    32	 /* vectors per IRR register */
#define IRR_REG_SPAN	    0x10 /* xAPIC page bytes between IRR registers */
/* Bits 31:24 hold the xAPIC ID, the LDR's logical ID, the ICR's destination and CPUID 1 EBX's
 * initial APIC ID. */
#define XAPIC_ID_SHIFT 24
#define MSR_X2APIC_ID  0x802
#define MSR_X2APIC_IRR 0x820 /* the first of 8, one per IRR_REG_BITS vectors */
#define MSR_X2APIC_ICR 0x830

/* This CPU's APIC is in x2APIC mode. */
bool lapic_x2apic(void);
/* This CPU's xAPIC page, from IA32_APIC_BASE. */
uintptr_t lapic_xapic_base(void);
/* This CPU's APIC ID, in either mode. */
uint32_t lapic_self_id(void);
/* vector is pending in this CPU's IRR, in either mode. */
bool lapic_irr_has(uint32_t vector);
/* vector is pending in the IRR of the xAPIC page at apic. */
bool xapic_irr_has(uintptr_t apic, uint32_t vector);
/* vector is pending in this CPU's IRR, read through the x2APIC MSRs. */
bool x2apic_irr_has(uint32_t vector);

#endif
