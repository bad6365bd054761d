/*
 * The GDB stub on a serial line of its own (gdb=com2[,wait]): gdb debugs the guest, each
 * vCPU a thread, through lib/gdb_stub.c.  It is a debug_stop session (core/debug_stop.h, gdb_session): it
 * stops the guest on its own #DB (hardware breakpoints and watchpoints: #DB intercepted while
 * it has any), before the guest's first instruction with `wait`, after debug_stop's single
 * step, and when its UART has gdb's Ctrl-C or a connecting gdb.  That UART is polled where
 * debug_stop polls (the VMX preemption timer: even a guest spinning without exits stops) and
 * at vCPU 0's exits (SVM has no timer; the console's break-in sequence also stops the guest
 * for gdb there).  While it has control the whole guest is stopped (core/debug_park.h).
 */
#ifndef MHV_CORE_GDBSTUB_H
#define MHV_CORE_GDBSTUB_H

#include <stdbool.h>
#include <stdint.h>

#include "core/debug_stop.h"
#include "mm/guest_walk.h"
#include "lib/compiler.h"

struct vcpu;
enum exit_next;

/* gdb= was given and its UART answered: exits call gdbstub_poll(). */
extern bool gdbstub_armed;
extern const struct debug_session gdb_session;
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
/* Before the guest's first instruction (each vCPU; vCPU 0 stops): with `wait`, stop there
 * until gdb continues. */
void gdbstub_start(struct vcpu *v);
/* vCPU 0: Ctrl-C or a connecting gdb on the line asks debug_stop for a stop, which the caller
 * then takes (debug_stop_exit_tail).  Every vCPU: loads gdb's breakpoints if they changed
 * while it was not parked.  Cheap when nothing happened: one UART status read. */
void gdbstub_poll(struct vcpu *v);
/* A breakpoint of gdb's hit on this vCPU: stop for gdb (slot: the debug register, or -1;
 * sw: an INT3 of gdb's, RIP at it). */
void gdbstub_breakpoint_stop(struct vcpu *v, int slot, bool sw);
/* The debugger's view of guest-linear memory: the guest's own page tables as its kernel sees
 * them whatever the CPL (no SMAP, no protection keys), no accessed/dirty bits set. */
void gdbstub_walk_setup(struct vcpu *v, struct gw_regs *regs, struct gw_mem *mem);
/* #DB intercepted with these DR6 bits (B0-B3, BS): true when it was the debugger's (handled),
 * false when it is the guest's own (the backend reflects it, DR6 updated as the CPU would). */
bool vcpu_exit_db(struct vcpu *v, uint64_t dr6);

/* The guest's own DRn (0-3, 6, 7), wherever it is kept while gdb's breakpoints are loaded. */
uint64_t gdbstub_guest_dr(struct vcpu *v, unsigned dr);

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
