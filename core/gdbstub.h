/*
 * The GDB stub on a serial line of its own (gdb=com2[,wait]): gdb debugs the guest (vCPU 0)
 * through lib/gdb_stub.c.  The stub gets control on its own exits (hardware breakpoints and
 * watchpoints, single-steps: #DB intercepted while it needs them), before the guest's first
 * instruction with `wait`, and by polling its UART on every exit the guest makes anyway
 * (Ctrl-C, or a new gdb connecting).  While it has control the guest's vCPU 0 is stopped; other
 * vCPUs run on.
 *
 * For the break-in monitor's periodic mechanism (VMX preemption timer, UART interrupt): call
 * gdbstub_poll(v) from it too, and a gdb Ctrl-C reaches even a guest that spins without exits.
 */
#ifndef MHV_CORE_GDBSTUB_H
#define MHV_CORE_GDBSTUB_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/compiler.h"

struct vcpu;
enum exit_next;

/* gdb= was given and its UART answered: exits call gdbstub_poll(). */
extern bool gdbstub_armed;
/* The debugger's UART (its first port), which the guest never reaches: both backends
 * intercept its ports, reads find no device there (all ones), writes are dropped. */
extern uint16_t gdbstub_uart;
#define GDBSTUB_NR_PORTS 8

static inline bool gdbstub_claims_port(uint16_t port, unsigned size)
{
	return unlikely(gdbstub_armed) && port < gdbstub_uart + GDBSTUB_NR_PORTS &&
	       (uint32_t)port + size > gdbstub_uart;
}

/* The guest touched the debugger's UART (logged once). */
void gdbstub_guest_port_access(uint16_t port, bool write);

/* Bring up the debugger's UART; false (with a message) when there is none at port. */
bool gdbstub_init(uint16_t port, uint32_t baud, bool wait);
/* Before the guest's first instruction (each vCPU; only vCPU 0 is debugged): with `wait`,
 * stop there until gdb continues. */
void gdbstub_start(struct vcpu *v);
/* Ctrl-C or a connecting gdb on the line; a single-step that an exit completed.  Cheap when
 * nothing happened: one UART status read.  Call with the guest's state in place (RIP final). */
void gdbstub_poll(struct vcpu *v);
/* #DB intercepted with these DR6 bits (B0-B3, BS): true when it was the debugger's (handled),
 * false when it is the guest's own (the backend reflects it, DR6 updated as the CPU would). */
bool vcpu_exit_db(struct vcpu *v, uint64_t dr6);

/* A monitor-trap exit: the debugger's single step (VMX MTF) is done. */
void vcpu_exit_monitor_trap(struct vcpu *v);

/*
 * The guest's MOV to (to_dr) or from DRn (0..7), GPR gpr, intercepted while gdb holds the
 * debug registers: the guest reads and writes its own saved values, gdb's stay loaded.
 */
enum exit_next vcpu_exit_mov_dr(struct vcpu *v, unsigned dr, bool to_dr, unsigned gpr);

/*
 * The hook every exit runs (both backends), as the exit handler's last call: test
 * gdbstub_armed inline and tail-call this, so that the hot path keeps no register live across
 * a call (a flag test is all an exit pays without gdb=).
 */

#endif
