/*
 * Limiting log lines a guest can provoke at will: each source prints its first
 * LOG_LIMIT_BURST lines, then one line saying the rest are suppressed.  mhv has no
 * wall clock it trusts on every platform, so the limit counts lines instead of time.
 */
#ifndef MHV_LIB_LOG_LIMIT_H
#define MHV_LIB_LOG_LIMIT_H

#include <stdbool.h>

#include "lib/log.h"

#define LOG_LIMIT_BURST 16

struct log_limit {
	unsigned printed;
};

/* True if the caller may print its line now; what names the kind of line. */
static inline bool log_limit_allow(struct log_limit *l, const char *what)
{
	if (l->printed > LOG_LIMIT_BURST)
		return false;
	if (l->printed++ == LOG_LIMIT_BURST) {
		pr_warn("mhv: further %s are not logged\n", what);
		return false;
	}
	return true;
}

#endif
