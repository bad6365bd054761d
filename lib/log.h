/*
 * mhv's log.  Every message is formatted into a line buffer and handed to the sink a whole
 * line at a time, so mhv's output never interleaves mid-line with anything else.
 */
#ifndef MHV_LIB_LOG_H
#define MHV_LIB_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include "lib/compiler.h"

enum log_level {
	LOG_ERR = 0,
	LOG_WARN = 1,
	LOG_INFO = 2,
	LOG_DEBUG = 3,
};

typedef void (*log_sink_fn)(const char *s, size_t n);

void log_set_sink(log_sink_fn sink);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

/*
 * Several CPUs: each has its own line buffer (cpu_fn names the CPU running, 0..LOG_MAX_CPUS-1;
 * without one every caller is CPU 0), and whole lines reach the sink under the console lock,
 * which the console's other writers (the guest's virtual UART) take too.  The lock is
 * recursive per CPU, so a writer holding it may still log.
 */
#define LOG_MAX_CPUS 16
void log_set_cpu_fn(unsigned (*cpu_fn)(void));
void console_lock(void);
void console_unlock(void);

/* Messages without a trailing newline are continued by the next call at the same level. */
void log_printf(enum log_level level, const char *fmt, ...) __printf(2, 3);
void log_vprintf(enum log_level level, const char *fmt, va_list ap) __printf(2, 0);
/* Push out a partial line (before the machine stops). */
void log_flush(void);
/* End mhv's current line (pushing out any partial one): the next message starts at column 0. */
void log_end_line(void);

#define pr_err(...)   log_printf(LOG_ERR, __VA_ARGS__)
#define pr_warn(...)  log_printf(LOG_WARN, __VA_ARGS__)
#define pr_info(...)  log_printf(LOG_INFO, __VA_ARGS__)
#define pr_debug(...) log_printf(LOG_DEBUG, __VA_ARGS__)

#endif
