/*
 * Built-in MMIO device models:
 *   ram   - a window served from a caller-provided buffer (QEMU pc-testdev's memory window):
 *           every access is trapped, counted and kept in a small ring log for tests;
 *   trace - forwards each access to the same physical address through caller callbacks and
 *           logs it with the guest RIP (mmiotrace for real machines);
 *   deny  - reads return all ones, writes are dropped; logged with a rate limit.
 * Each is a struct the caller owns plus an ops table to register with mmio_region_add().
 */
#ifndef MHV_MMIO_DEVICES_H
#define MHV_MMIO_DEVICES_H

#include <stdbool.h>
#include <stdint.h>

#include "mmio/device.h"
#include "mmio/trace_filter.h"

/* One logged access, for the trace and deny log callbacks. */
struct mmio_log_rec {
	const char *dev; /* "trace" or "deny" */
	uint64_t gpa;	 /* = the physical address accessed (guest RAM is identity-mapped) */
	uint64_t rip;
	uint64_t value[2]; /* the data, little-endian, zero-extended: bytes 0..7, 8..15 */
	unsigned len;
	bool write;
	int rc;		  /* 0, or the error of the physical access (trace) */
	uint64_t seq;	  /* 1-based number of this access on this device */
	uint64_t skipped; /* accesses not logged since the previous logged one (deny) */
};

typedef void (*mmio_log_fn)(void *ctx, const struct mmio_log_rec *rec);

/* Pack len <= 16 little-endian bytes into value[2] (zero-extended). */
void mmio_value_pack(const void *buf, unsigned len, uint64_t value[2]);

/* "0x" and exactly 2*len hex digits (len 1..16, clamped): a value at its access's own width. */
#define MMIO_VALUE_TEXT_MAX (2 + 2 * 16 + 1)
void mmio_value_format(char *out, unsigned size, const uint64_t value[2], unsigned len);

/* ---- ram ---------------------------------------------------------------------------------- */

#define MMIO_RAM_LOG_LEN 32 /* accesses remembered */

struct mmio_ram_log_entry {
	uint64_t offset;
	uint64_t value; /* first 8 bytes, little-endian, zero-extended */
	unsigned len;
	bool write;
};

struct mmio_ram_dev {
	uint8_t *buf;
	uint64_t size;
	uint64_t reads, writes, bytes_read, bytes_written;
	/* Off unless mmio_ram_log_on(): nothing in mhv reads the log, and every access (the
	 * MMIO short path's hit included) would pay for its record. */
	bool logging;
	/* size, or 0 with the log on or paused: see mmio_ram_ops.read_value */
	uint64_t value_limit;
	unsigned pausers; /* lock_free_pause(true) not undone yet (under mmio_device_lock) */
	struct mmio_ram_log_entry log[MMIO_RAM_LOG_LEN]; /* ring */
	uint64_t nr_logged;				 /* total ever logged */
};

/*
 * buf[0..size) backs offsets 0..size; accesses beyond it get -E_RANGE (not counted).  buf
 * 16-byte aligned (mhv's is a page): a locked read-modify-write's compare-and-exchange on
 * it needs its operand naturally aligned in host memory too (else compare_write -E_INVAL).
 */
void mmio_ram_init(struct mmio_ram_dev *d, void *buf, uint64_t size);
/* Keep the log of accesses from now on (mmio_ram_log_at()); the counters always count. */
void mmio_ram_log_on(struct mmio_ram_dev *d);
/* Forget counters and log (not the buffer contents). */
void mmio_ram_reset_stats(struct mmio_ram_dev *d);
/* Entries kept: min(nr_logged, MMIO_RAM_LOG_LEN). */
unsigned mmio_ram_log_count(const struct mmio_ram_dev *d);
/* Entry i of the kept ones, 0 = oldest; NULL when i >= mmio_ram_log_count(). */
const struct mmio_ram_log_entry *mmio_ram_log_at(const struct mmio_ram_dev *d, unsigned i);

extern const struct mmio_dev_ops mmio_ram_ops;

/* ---- trace -------------------------------------------------------------------------------- */

typedef int (*mmio_phys_read_fn)(void *ctx, uint64_t pa, void *buf, unsigned len);
typedef int (*mmio_phys_write_fn)(void *ctx, uint64_t pa, const void *buf, unsigned len);

struct mmio_trace_dev {
	mmio_phys_read_fn phys_read;
	mmio_phys_write_fn phys_write;
	mmio_log_fn log; /* may be NULL */
	void *ctx;	 /* for all three callbacks */
	uint64_t reads, writes;
	struct mmio_trace_filter filter; /* which accesses are logged (all, after init) */
	struct mmio_trace_gate gate;
	struct mmio_trace_summary summary; /* every access, per offset */
};

void mmio_trace_init(struct mmio_trace_dev *d, mmio_phys_read_fn phys_read,
		     mmio_phys_write_fn phys_write, mmio_log_fn log, void *ctx);
/* Log only what f lets through from now on (the counts so far are kept). */
void mmio_trace_set_filter(struct mmio_trace_dev *d, const struct mmio_trace_filter *f);

extern const struct mmio_dev_ops mmio_trace_ops;

/* ---- deny --------------------------------------------------------------------------------- */

/* Log the first MMIO_DENY_LOG_FIRST accesses, then every MMIO_DENY_LOG_EVERY-th. */
#define MMIO_DENY_LOG_FIRST 16
#define MMIO_DENY_LOG_EVERY 1000

struct mmio_deny_dev {
	mmio_log_fn log; /* may be NULL */
	void *ctx;
	uint64_t reads, writes;
	uint64_t logged;   /* accesses passed to log */
	uint64_t last_seq; /* seq of the last logged access */
};

void mmio_deny_init(struct mmio_deny_dev *d, mmio_log_fn log, void *ctx);

extern const struct mmio_dev_ops mmio_deny_ops;

#endif
