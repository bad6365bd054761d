/*
 * The break-in monitor: a debug session (core/debug_stop.h) that gives mhv's console to a
 * person while the guest is stopped.  Commands (each with "help"): regs, counters, regions,
 * trace, mem, lmem, walk, write, step, continue, loglvl, poweroff, reset.  README "The
 * monitor" shows a session step by step.
 */
#ifndef MHV_CORE_MONITOR_H
#define MHV_CORE_MONITOR_H

#include "core/debug_stop.h"
#include "lib/monitor_cmd.h"

extern const struct debug_session monitor_session;

/*
 * One monitor command line for another session (a GDB stub's "monitor CMD"), its output
 * through print(ctx, ...): the inspection commands (regs, mem, lmem, walk, regions, trace,
 * add, write, loglvl).  counters prints through mhv's log.  step and continue only record
 * what the guest should do next: returned as *next when they were given.
 */
int monitor_exec(struct vcpu *v, char *line, mon_print_fn print, void *ctx,
		 enum debug_resume *next);

#endif
