/*
 * Getting control back from a running guest, and the "guest stopped, owned by a debug session"
 * loop.  The monitor (core/monitor.c, on the console) is one session, the GDB stub
 * (core/gdbstub.c, gdb=, on a UART of its own) the other; boot/main.c picks one with
 * debug_stop_set_session().  Both step through the same vcpu_ops.single_step.
 *
 * Input.  Every byte received on mhv's console UART goes through debug_input_pump(): the
 * break-in detector (lib/monitor_line.h, break=SEQ, default Ctrl-] twice) holds bytes that may
 * start the sequence and hands everything else, in order, to the guest's receive queue, which
 * the guest reads through the virtual UART (core/vuart.c: RBR, LSR.DR, IIR).  So the guest's
 * input keeps reaching it, and only the complete sequence is taken.
 *
 * Getting control back while the guest runs without exits (a spin with interrupts off):
 *  - VT-x with the preemption timer (pin-based control offered by IA32_VMX_TRUE_PINBASED_CTLS):
 *    the timer expires every DEBUG_POLL_TSC_SHIFT-scaled period and the exit pumps the input;
 *  - SVM (and VT-x without the timer): the console UART's interrupt pin on the IOAPIC becomes
 *    mhv's and is programmed to deliver an NMI to the boot CPU, whose NMI exits mhv intercepts
 *    (as for the SMP kick).  The real UART's IER keeps only mhv's receive enable, so the line
 *    rises for received bytes alone; the virtual UART's interrupts reach the guest as the IPI
 *    its own entry for that pin asks for (core/ioapic_guard.c keeps the entry, core/vuart.c
 *    sends it), so a driver using the UART interrupt through the IOAPIC still gets it.  A
 *    guest that unmasks the line at the PIC gets the real line pulsed, as without the monitor.
 *    A session on its own UART takes that UART's pin the same way (route_nmi), and an NMI is
 *    also the session's when its poll() saw a byte.
 *
 * The backends call, on their exits:
 *   debug_stop_nmi(v)        on an NMI exit: true when the NMI was the console's (not the guest's);
 *   debug_stop_poll(v)       on a preemption-timer exit;
 *   debug_stop_exit_tail(v)  after every exit is handled and RIP advanced (one flag test):
 *                            a break-in or a finished single step stops the guest here, on the
 *                            instruction it would execute next;
 *   debug_stop_step_trap(v)  when the single-step trap they armed fires (MTF exit, or #DB
 *                            with DR6.BS while stepping): true if it was the debugger's.
 *
 * While a session runs, the vCPU is stopped in its exit handler, and every other vCPU running
 * the guest is kicked out of it (an NMI, arch/x86/smp.h) and waits at its exit's tail; guest
 * console output is held by the virtual UART and written out when the guest continues.
 */
#ifndef MHV_CORE_DEBUG_STOP_H
#define MHV_CORE_DEBUG_STOP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/compiler.h"
#include "lib/monitor_line.h"

struct vcpu;

enum debug_stop_reason {
	DEBUG_STOP_BREAK, /* the break-in sequence was typed */
	DEBUG_STOP_STEP,  /* a single step finished */
	DEBUG_STOP_BREAKPOINT, /* a session's own breakpoint hit (GDB stub: its #DB) */
};

enum debug_resume {
	DEBUG_RESUME_CONTINUE, /* run the guest */
	DEBUG_RESUME_STEP,     /* run one instruction, then stop again (reason DEBUG_STOP_STEP) */
};

/*
 * A debug session (the monitor; the GDB stub):
 *  - run() is called on the stopped vCPU's own CPU, inside its exit handler, with the guest
 *    stopped on the instruction it executes next.  It may read and change guest state through
 *    v->ops and guest memory through mm/guest_mem.h (guest_gate()), and owns mhv's console
 *    until it returns what the guest does next; it reads with debug_getc() and writes with
 *    debug_write()/debug_printf() (a session on a UART of its own uses that UART instead);
 *  - poll(), optional, is called where the break-in polls (the preemption timer's exits, the
 *    console's NMIs): a session on its own UART looks for its interrupt request there (GDB's
 *    Ctrl-C) and calls debug_stop_request(); it returns true when its line had input.  A
 *    session with poll() arms the periodic mechanism even with break=off.
 * One session runs at a time (debug_stop_set_session picks it; SMP: the first vCPU that
 * reaches an exit after the break-in runs it, the others go on).
 */
struct debug_session {
	const char *name;
	enum debug_resume (*run)(struct vcpu *v, enum debug_stop_reason why);
	bool (*poll)(void);
	/* Optional, for a session on a UART of its own: take that UART's IOAPIC pin as an NMI
	 * (where debug_stop_route_nmi takes the console's); false when it cannot. */
	bool (*route_nmi)(void);
	/* Optional: each other vCPU as it leaves its wait for the session (on its own CPU,
	 * before it enters the guest again): picks up what the session changed for all. */
	void (*resumed)(struct vcpu *v);
	/* A break-in waits for the boot CPU's exit (the GDB stub, which polls its line there). */
	bool boot_cpu_only;
};

/* Boot: the break-in sequence (NULL: break=off); the session to open (the monitor, or the
 * GDB stub with gdb=). */
void debug_stop_init(const struct break_seq *seq);
void debug_stop_set_session(const struct debug_session *s);
/* The mechanism that gets control back (for the boot log), e.g. "VMX preemption timer". */
void debug_stop_set_mechanism(const char *what);
/* Some way to stop the running guest: the console's sequence or the session's poll(). */
bool debug_break_armed(void);
/* SVM, or VT-x without the preemption timer: the console's IOAPIC pin becomes an NMI to this
 * CPU (boot CPU, before the guest runs).  False (with a message) when there is no such pin. */
bool debug_stop_route_nmi(void);
/* The debugger's single step is under way (backends: owe the guest no TF trap for it). */
bool debug_stepping(void);

/* A session about to return DEBUG_RESUME_STEP: step this vCPU (mhv's CPU number), not the
 * one the session runs on (which is the default).  The other vCPUs run meanwhile. */
void debug_stop_step_cpu(unsigned cpu);

/* A session's own step of this vCPU from an exit (the GDB stub's hidden INT3 pages): when it
 * ends the session runs with DEBUG_STOP_STEP.  False when a step is already under way or the
 * CPU has no single-step mechanism. */
bool debug_stop_begin_step(struct vcpu *v);

/* A session's own breakpoint hit in this exit of vCPU cpu: the session runs at that exit's
 * tail with DEBUG_STOP_BREAKPOINT, where the backend also takes the NMIs its line raised
 * meanwhile (as for a break-in). */
void debug_stop_request_breakpoint(unsigned cpu);

/* Stop the guest at the next exit of any vCPU (a session's own interrupt request). */
void debug_stop_request(void);

/* Move every byte the UART holds through the break-in detector (console lock held or not). */
void debug_input_pump(void);
/* The guest's receive queue (core/vuart.c). */
bool debug_input_ready(void);
uint8_t debug_input_pop(void);

/* Backend hooks (see above). */
bool debug_stop_nmi(struct vcpu *v);
void debug_stop_poll(struct vcpu *v);
bool debug_stop_step_trap(struct vcpu *v);
void debug_stop_enter(struct vcpu *v, enum debug_stop_reason why);

extern volatile bool debug_stop_wanted; /* a break-in is pending, or a step is under way */
void debug_stop_tail_slow(struct vcpu *v);

static inline void debug_stop_exit_tail(struct vcpu *v)
{
	if (unlikely(debug_stop_wanted))
		debug_stop_tail_slow(v);
}

/* The session's console: blocking read (polls the UART), raw write, formatted write. */
int debug_getc(void);
void debug_write(const char *s, unsigned n);
void debug_printf(const char *fmt, ...) __printf(1, 2);
void debug_vprintf(const char *fmt, va_list ap) __printf(1, 0);

#endif
