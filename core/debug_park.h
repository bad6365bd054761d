/*
 * The stopped guest's other vCPUs.  While a debug session runs on one vCPU
 * (core/debug_stop.h), every other vCPU that runs the guest waits in its exit handler: it is
 * parked.  A vCPU's state lives on its own CPU (VT-x: its VMCS is loaded there; DR0-DR3 are
 * that CPU's registers), so the session reaches a parked vCPU by asking its CPU to run a
 * function (debug_park_call), which it does in its wait loop.  A vCPU that is not parked
 * (waiting for a STARTUP IPI, halted with interrupts off) has no state to show: callers say so.
 */
#ifndef MHV_CORE_DEBUG_PARK_H
#define MHV_CORE_DEBUG_PARK_H

#include <stdbool.h>

struct vcpu;

typedef void (*debug_park_fn)(struct vcpu *v, void *arg);

/* The parked vCPU's side (debug_stop.c's wait loop): begin, serve calls while waiting, end. */
void debug_park_begin(struct vcpu *v);
void debug_park_serve(struct vcpu *v);
void debug_park_end(struct vcpu *v);

/* The session's side.  After kicking the others: wait (bounded) until every vCPU that runs
 * the guest has parked. */
void debug_park_wait_others(unsigned self);
/* The vCPU parked on cpu, or NULL. */
struct vcpu *debug_park_vcpu(unsigned cpu);
/*
 * Run fn(v, arg) on cpu's vCPU, on that CPU: self is the session's vCPU (run directly when
 * cpu is its own).  False, nothing run, when cpu's vCPU is not parked.
 */
bool debug_park_call(struct vcpu *self, unsigned cpu, debug_park_fn fn, void *arg);

#endif
