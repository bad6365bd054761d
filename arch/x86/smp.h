/*
 * Every CPU under mhv (SMP).  The APs parked by ap_park.c are released, on the backends that
 * support it, into per-CPU set-up (own stacks, GDT, TSS) and each becomes a vCPU of the guest
 * in the architectural wait-for-SIPI state.  The guest's INIT and STARTUP IPIs are turned into
 * vCPU transitions here (they never reach the hardware); other IPIs between vCPUs go to the
 * hardware (physical APIC IDs are the guest's).  A vCPU running the guest is reached by a
 * physical NMI (a "kick"), which the backend intercepts and hands to smp_nmi_exit().
 *
 * The end of a run stops every CPU in order: the CPU that ends it sends an NMI to the others,
 * each prints its counters when its turn comes and halts, then the closing line is printed.
 */
#ifndef MHV_ARCH_X86_SMP_H
#define MHV_ARCH_X86_SMP_H

#include <stdbool.h>
#include <stdint.h>

struct vcpu;

enum smp_ipi_result {
	SMP_IPI_DONE,	     /* INIT/STARTUP applied to the other vCPUs it names */
	SMP_IPI_SELF_DROPPED, /* ... and it also named the sender itself: that part dropped */
};

/* The AP's backend entry: set up the vCPU and enter it; never returns. */
typedef void (*smp_ap_entry_fn)(unsigned cpu);

/*
 * Boot CPU: register itself as vCPU 0, release up to `max` parked APs into ap_entry on their
 * own stacks, wait until they report in.  Returns the number of APs online.  Call after the
 * backend prepared every AP's vCPU (smp_ap_count() says how many there can be).
 */
unsigned smp_start_aps(smp_ap_entry_fn ap_entry, unsigned max);
/* How many parked APs could become vCPUs (parked, and within HV_MAX_CPUS). */
unsigned smp_ap_count(void);
/* vCPUs in the run (1 without SMP). */
unsigned smp_nr_vcpus(void);
bool smp_active(void);
/* What a vCPU does now, for a debugger's thread list (not the hot path). */
enum smp_vcpu_state {
	SMP_VCPU_NONE,	    /* no such vCPU */
	SMP_VCPU_WAIT_SIPI, /* not started yet, or INIT again: waits for a STARTUP IPI */
	SMP_VCPU_RUNNING,   /* runs the guest (or is in an exit) */
	SMP_VCPU_HALTED,    /* HLT with interrupts off: waits in mhv for an NMI or INIT */
};
enum smp_vcpu_state smp_vcpu_state(unsigned cpu);
uint32_t smp_vcpu_apic_id(unsigned cpu);

/* A physical IPI from mhv (ICR low dword; dest an APIC ID or logical mask), in the APIC mode
 * the guest left this CPU's APIC in. */
void smp_send_ipi(uint32_t dest, uint32_t low);

/* Each CPU names its vCPU once set up (before it first runs the guest). */
void smp_set_vcpu(unsigned cpu, struct vcpu *v);

/* The guest sends an INIT (assert or de-assert) or STARTUP IPI; icr in the 64-bit form. */
enum smp_ipi_result smp_virtual_ipi(uint64_t icr, bool x2apic, unsigned sender);
/* The guest wrote its xAPIC LDR or DFR (logical destinations of INIT/STARTUP). */
void smp_note_xapic_logical(unsigned cpu, bool dfr, uint32_t value);

enum smp_nmi {
	SMP_NMI_GUEST, /* not mhv's: the guest's own NMI, to be injected */
	SMP_NMI_KICK,  /* mhv's, nothing left to do */
	SMP_NMI_INIT,  /* mhv's: the vCPU took an INIT; it waits for a SIPI (smp_wait_for_sipi) */
};

/* The backend took an NMI exit on v.  Does not return if the run is ending. */
enum smp_nmi smp_nmi_exit(struct vcpu *v);
/*
 * Wait in the wait-for-SIPI state until the guest's STARTUP IPI; returns its vector.  The
 * caller lets NMIs reach mhv meanwhile (SVM: GIF set), which drops them as the state does.
 */
uint8_t smp_wait_for_sipi(struct vcpu *v);

/* Is apic_id one of the guest's vCPUs?  (Not the hot path: a loop over the vCPUs.) */
bool smp_apic_id_is_vcpu(uint32_t apic_id);
/* Did every CPU mhv parked become a vCPU (no CPU mhv holds outside the guest)? */
bool smp_every_cpu_is_vcpu(void);
/*
 * HLT with interrupts off: the vCPU stops until an NMI or INIT, as a CPU does (Linux stops
 * the other CPUs that way for power-off, and parks offline ones).  True when no other vCPU
 * runs the guest (every one halted so or waiting for a SIPI): the caller ends the run.
 */
bool smp_halt_is_last(struct vcpu *v);
enum smp_halt_wake {
	SMP_HALT_NMI,  /* the guest's NMI: resume after the HLT and deliver it */
	SMP_HALT_INIT, /* an INIT: the vCPU waits for a SIPI (smp_wait_for_sipi) */
};
/*
 * After smp_halt_is_last() said false: wait in mhv (the caller lets NMIs reach mhv; SVM: GIF
 * set).  Does not return if the run ends meanwhile.
 */
enum smp_halt_wake smp_halt_wait(struct vcpu *v);

/*
 * Send this CPU an NMI: an NMI mhv took in its own handler but cannot act on now (it already
 * holds another event for the guest) comes back as an NMI exit right after the next entry.
 */
void smp_nmi_to_self(void);
/* After an NMI exit (VT-x) NMIs stay blocked until an IRET: one to the next instruction. */
void smp_unblock_nmis(void);
/* A kick sent to cpu that no NMI exit has consumed (it came while the CPU was in mhv):
 * consumed now; true if there was one. */
bool smp_take_kick(unsigned cpu);
/* Make every other vCPU that runs the guest exit (an NMI kick; the debugger stops them). */
void smp_kick_running_others(unsigned self);
/* A CPU waiting in mhv takes its part in the end of the run (does not return if it ends). */
void smp_poll_run_end(unsigned cpu);
/* Every vCPU but cpu waits for a SIPI (runs no guest code, holds no guest translations). */
bool smp_others_wait_for_sipi(unsigned cpu);

/* NMIs that reached vCPUs in wait-for-SIPI and were not mhv's (HC_PARKED_INTERRUPTS). */
unsigned smp_held_nmis(void);

/* This vCPU's counters are out already (it is ending the run, or one end raced another). */
void smp_stats_printed(unsigned cpu);

/* From the end of a run: stop every other CPU in order (each prints its counters). */
void smp_stop_others(void);

#endif
