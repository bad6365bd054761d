/*
 * The break-in monitor: a debug session (core/debug_stop.h) that gives mhv's console to a
 * person while the guest is stopped.  Commands (each with "help"): regs, counters, regions,
 * trace, mem, lmem, walk, write, step, continue, loglvl, poweroff, reset.  README "The
 * monitor" shows a session step by step.
 */
#ifndef MHV_CORE_MONITOR_H
#define MHV_CORE_MONITOR_H

#include "core/debug_stop.h"

extern const struct debug_session monitor_session;

#endif
