/*
 * The rule for interrupt commands a one-CPU guest writes to its local APIC's ICR (xAPIC or
 * x2APIC): plain arithmetic on the ICR value, shared by mhv (core/apic_guard.c) and the
 * host unit tests.
 *
 * The guest has exactly one CPU, so an IPI goes out only if its destination is exactly this
 * CPU (its APIC ID, or exactly its non-zero logical ID) and its mode is fixed, lowest priority
 * (sent as fixed: the lowest-priority CPU of {this CPU} is this CPU) or NMI.  A broadcast that
 * includes self (the shorthand, or the all-ones destination) is cut down to a self IPI when
 * the mode is fixed, lowest priority (sent as fixed, self shorthand) or NMI (sent to this
 * CPU's APIC ID: the self shorthand is fixed-only).  Everything else is dropped: other CPUs,
 * all-excluding-self, and SMI, INIT, STARTUP, ExtINT and the reserved mode even to self
 * (INIT/STARTUP would reset the guest's CPU under mhv, SMI enter the firmware's SMM handler
 * on the guest's behalf, ExtINT ask the 8259 for a vector).
 *
 * SMP (self->smp: every other CPU is a vCPU of the same guest): fixed, lowest-priority and
 * NMI IPIs go out as written, to any destination (physical APIC IDs are the guest's); INIT
 * and STARTUP never reach the hardware but are IPI_VIRTUAL, for mhv to apply to its vCPUs
 * (arch/x86/smp.c); SMI, ExtINT and the reserved mode are still dropped, as are non-fixed
 * self-shorthand IPIs.
 */
#ifndef MHV_LIB_IPI_FILTER_H
#define MHV_LIB_IPI_FILTER_H

#include <stdbool.h>
#include <stdint.h>

/* ICR fields (the 64-bit form: x2APIC MSR, or xAPIC ICR high << 32 | ICR low). */
#define ICR_VECTOR_MASK	      0xFFull
#define ICR_MODE_SHIFT	      8
#define ICR_MODE_MASK	      (7ull << ICR_MODE_SHIFT)
#define ICR_LOGICAL	      (1ull << 11)
#define ICR_LEVEL_ASSERT      (1ull << 14)
#define ICR_TRIGGER_LEVEL     (1ull << 15)
#define ICR_SHORTHAND_SHIFT   18
#define ICR_SHORTHAND_MASK    (3ull << ICR_SHORTHAND_SHIFT)
#define ICR_XAPIC_DEST_SHIFT  56
#define ICR_X2APIC_DEST_SHIFT 32
#define XAPIC_BROADCAST_ID    0xFFu
#define X2APIC_BROADCAST_ID   0xFFFFFFFFu

enum icr_mode {
	ICR_MODE_FIXED,
	ICR_MODE_LOWEST,
	ICR_MODE_SMI,
	ICR_MODE_RESERVED,
	ICR_MODE_NMI,
	ICR_MODE_INIT,
	ICR_MODE_STARTUP,
	ICR_MODE_EXTINT,
};
enum icr_shorthand { ICR_SH_NONE, ICR_SH_SELF, ICR_SH_ALL_INCL_SELF, ICR_SH_ALL_EXCL_SELF };

enum ipi_verdict {
	IPI_SEND,	  /* *send is the ICR unchanged (or lowest priority turned fixed) */
	IPI_CUT_TO_SELF, /* a broadcast including self: *send reaches this CPU only */
	IPI_DROP,	  /* *why says what the guest tried */
	IPI_VIRTUAL,	  /* SMP: an INIT or STARTUP for mhv to apply to its vCPUs */
};

/* This CPU as an ICR destination, in the ICR's width (xAPIC: 8 bits, x2APIC: 32 bits). */
struct ipi_self {
	uint32_t id;  /* APIC ID */
	uint32_t ldr; /* logical ID (xAPIC: LDR bits 31:24; x2APIC: the whole LDR); 0 = none */
	bool x2apic;
	bool smp; /* every other CPU is a vCPU of this guest */
};

enum ipi_verdict ipi_filter(uint64_t icr, const struct ipi_self *self, uint64_t *send,
			    const char **why);

#endif
