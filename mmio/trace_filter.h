/*
 * What a trace region logs, and what it remembers per register:
 *
 * - the filter, written after the region on the command line as comma-separated words
 *   (mmio=trace@0xfed00000+0x1000,off=0xf0-0xf7,writes,limit=20,every=100):
 *     off=LO-HI  only offsets LO..HI (inclusive, within the region) are logged;
 *     reads      only reads;  writes  only writes;
 *     limit=N    log the first N accesses that pass, then
 *     every=M    one in M of the rest (default: none of the rest); each logged line names how
 *                many were dropped before it, and the summary counts them all;
 *   mhv has no wall clock it trusts on every platform, so the limit counts accesses;
 * - the summary: per distinct offset (the first MMIO_TRACE_OFFSETS of them), the number of
 *   reads and writes and the last value and width, whatever the filter let through; accesses
 *   at further offsets are only counted.
 * Every access is still forwarded and counted: the filter decides only about log lines.
 */
#ifndef MHV_MMIO_TRACE_FILTER_H
#define MHV_MMIO_TRACE_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mmio_trace_filter {
	uint64_t off_lo, off_hi; /* inclusive */
	bool reads, writes;	 /* directions logged */
	uint64_t limit;		 /* accesses logged before thinning; 0 = no limit */
	uint64_t every;		 /* after the limit, one in every; 0 = none */
};

/* Everything logged: the behaviour without filter words. */
void mmio_trace_filter_all(struct mmio_trace_filter *f);

/*
 * Parse the filter words s[0..n) (without the leading comma).  0, or -E_INVAL with a message
 * naming the bad word in err.  Starts from mmio_trace_filter_all().
 */
int mmio_trace_filter_parse(struct mmio_trace_filter *f, const char *s, size_t n, char *err,
			    size_t errlen);

/* The filter's state on one device. */
struct mmio_trace_gate {
	uint64_t passed;  /* accesses that matched offset and direction */
	uint64_t dropped; /* of those, not logged (rate limit), in total */
	uint64_t pending; /* dropped since the last logged line */
};

/*
 * Should this access be logged?  On true, *skipped is the number dropped since the last logged
 * access (the gate's pending count is then cleared).
 */
bool mmio_trace_admit(const struct mmio_trace_filter *f, struct mmio_trace_gate *g,
		      uint64_t offset, bool write, uint64_t *skipped);

#define MMIO_TRACE_OFFSETS 32 /* distinct offsets summarised per region */

struct mmio_trace_offset {
	uint64_t offset;
	uint64_t reads, writes;
	uint64_t last; /* the last value (first 8 bytes) */
	unsigned last_len;
	bool last_write;
};

struct mmio_trace_summary {
	struct mmio_trace_offset off[MMIO_TRACE_OFFSETS]; /* in order of first access */
	unsigned n;
	uint64_t other; /* accesses at offsets beyond the table */
};

void mmio_trace_summary_note(struct mmio_trace_summary *s, uint64_t offset, unsigned len,
			     uint64_t value, bool write);

#endif
