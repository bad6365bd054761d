/*
 * The mmio= command-line option: TYPE@BASE+SIZE, e.g. ram@0xff000000+64K.  TYPE is ram, trace
 * or deny (mmio/devices.h); BASE and SIZE are decimal or 0x-hex, optionally followed by K, M or
 * G (binary units, either case), and must be multiples of 4 KiB.  A trace region may be followed
 * by filter words: trace@BASE+SIZE,off=LO-HI,writes,limit=N,every=M (mmio/trace_filter.h).
 */
#ifndef MHV_MMIO_SPEC_H
#define MHV_MMIO_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mmio/trace_filter.h"

#define MMIO_MAX_SPECS 16 /* mmio= options on one command line */

enum mmio_dev_type {
	MMIO_DEV_RAM,
	MMIO_DEV_TRACE,
	MMIO_DEV_DENY,
};

struct mmio_spec {
	enum mmio_dev_type type;
	uint64_t base, size; /* size > 0; base + size <= 2^64 */
	struct mmio_trace_filter filter; /* trace: what is logged (everything by default) */
};

/*
 * Parse one value (NUL-terminated, or the first n characters).  0, or -E_INVAL with a message
 * "mmio: ..." naming the bad part in err (when errlen > 0); *out is written only on success.
 */
int mmio_spec_parse(const char *value, struct mmio_spec *out, char *err, size_t errlen);
int mmio_spec_parse_n(const char *value, size_t n, struct mmio_spec *out, char *err, size_t errlen);

/* "ram", "trace", "deny" ("?" for anything else). */
const char *mmio_dev_type_name(enum mmio_dev_type t);

/* Do the two ranges share a byte? */
bool mmio_spec_overlap(const struct mmio_spec *a, const struct mmio_spec *b);

#endif
