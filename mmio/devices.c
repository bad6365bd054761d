/* Built-in MMIO device models: ram window, trace (pass-through + log), deny. */
#include "mmio/devices.h"

#include "lib/compiler.h"
#include "lib/errno.h"
#include "lib/fmt.h"
#include "lib/string.h"
#include "mmio/region.h"

#define BYTE_BITS  8
#define WORD_BYTES 8 /* bytes per value[] word */
#define ALL_ONES   0xff

void mmio_value_pack(const void *buf, unsigned len, uint64_t value[2])
{
	const uint8_t *b = buf;
	unsigned i;

	value[0] = value[1] = 0;
	if (len <= WORD_BYTES) { /* little-endian: the bytes are the value */
		memcpy_small(&value[0], buf, len);
		return;
	}
	for (i = 0; i < len && i < MMIO_ACCESS_MAX; i++)
		value[i / WORD_BYTES] |= (uint64_t)b[i] << (BYTE_BITS * (i % WORD_BYTES));
}

#define HEX_DIGITS_PER_BYTE 2

/* The low n bytes of v (n 1..8). */
static uint64_t low_bytes(uint64_t v, unsigned n)
{
	return n >= WORD_BYTES ? v : v & ((1ull << (BYTE_BITS * n)) - 1);
}

void mmio_value_format(char *out, unsigned size, const uint64_t value[2], unsigned len)
{
	if (len == 0)
		len = 1;
	if (len > MMIO_ACCESS_MAX)
		len = MMIO_ACCESS_MAX;
	/* Wider than one word: the high word's bytes first, then the low word in full. */
	if (len > WORD_BYTES)
		fmt_snprintf(out, size, "0x%0*lx%016lx", (int)((len - WORD_BYTES) * HEX_DIGITS_PER_BYTE),
			     (unsigned long)low_bytes(value[1], len - WORD_BYTES),
			     (unsigned long)value[0]);
	else
		fmt_snprintf(out, size, "0x%0*lx", (int)(len * HEX_DIGITS_PER_BYTE),
			     (unsigned long)low_bytes(value[0], len));
}

static struct mmio_log_rec make_rec(const char *dev, const struct mmio_access *a, const void *buf,
				    uint64_t seq)
{
	struct mmio_log_rec rec = {.dev = dev,
				   .gpa = a->gpa,
				   .rip = a->rip,
				   .len = a->len,
				   .write = a->write,
				   .seq = seq};

	mmio_value_pack(buf, a->len, rec.value);
	return rec;
}

/* ---- ram ---------------------------------------------------------------------------------- */

void mmio_ram_init(struct mmio_ram_dev *d, void *buf, uint64_t size)
{
	d->buf = buf;
	d->size = size;
	d->value_limit = size;
	d->pausers = 0;
	d->logging = false;
	mmio_ram_reset_stats(d);
}

void mmio_ram_log_on(struct mmio_ram_dev *d)
{
	d->logging = true;
	d->value_limit = 0; /* the value entry points take the locked way from now on */
}

void mmio_ram_reset_stats(struct mmio_ram_dev *d)
{
	d->reads = d->writes = d->bytes_read = d->bytes_written = 0;
	d->nr_logged = 0;
	memset(d->log, 0, sizeof(d->log));
}

unsigned mmio_ram_log_count(const struct mmio_ram_dev *d)
{
	return d->nr_logged < MMIO_RAM_LOG_LEN ? (unsigned)d->nr_logged : MMIO_RAM_LOG_LEN;
}

const struct mmio_ram_log_entry *mmio_ram_log_at(const struct mmio_ram_dev *d, unsigned i)
{
	unsigned n = mmio_ram_log_count(d);

	if (i >= n)
		return NULL;
	/* The oldest kept entry sits nr_logged - n slots back from the next write position. */
	return &d->log[(d->nr_logged - n + i) % MMIO_RAM_LOG_LEN];
}

/* The common sizes, inlined (every ram access, the MMIO short path's too); false for others. */
static inline __attribute__((always_inline)) bool ram_copy_small(void *dst, const void *src,
								 unsigned len)
{
	uint8_t b;
	uint16_t w;
	uint32_t l;
	uint64_t q;

	switch (len) {
	case 1:
		__builtin_memcpy(&b, src, sizeof(b));
		__builtin_memcpy(dst, &b, sizeof(b));
		return true;
	case 2:
		__builtin_memcpy(&w, src, sizeof(w));
		__builtin_memcpy(dst, &w, sizeof(w));
		return true;
	case 4:
		__builtin_memcpy(&l, src, sizeof(l));
		__builtin_memcpy(dst, &l, sizeof(l));
		return true;
	case WORD_BYTES:
		__builtin_memcpy(&q, src, sizeof(q));
		__builtin_memcpy(dst, &q, sizeof(q));
		return true;
	default:
		return false;
	}
}

static void ram_log(struct mmio_ram_dev *d, uint64_t offset, unsigned len, bool write,
		    const void *bytes)
{
	struct mmio_ram_log_entry *e = &d->log[d->nr_logged % MMIO_RAM_LOG_LEN];
	uint64_t value = 0; /* the first 8 bytes, zero-extended */

	memcpy_small(&value, bytes, MIN(len, (unsigned)WORD_BYTES));
	e->offset = offset;
	e->value = value;
	e->len = len;
	e->write = write;
	d->nr_logged++;
}

/* Any size, and the log (off in mhv: mmio_ram_log_on()): out of line, a tail call, so that
 * the common path saves no registers. */
static int __attribute__((noinline)) ram_copy_slow(struct mmio_ram_dev *d, void *dst,
						   const void *src, uint64_t off, unsigned len,
						   bool write)
{
	memcpy(dst, src, len);
	if (d->logging)
		ram_log(d, off, len, write, dst);
	return 0;
}

/*
 * The counters are atomic adds: read_value/write_value run without mmio_device_lock, beside
 * read/write/run under it (the hypercall that reports them must see every access counted).
 */
static inline void ram_count(uint64_t *accesses, uint64_t *bytes, uint64_t n, unsigned len)
{
	__atomic_fetch_add(accesses, n, __ATOMIC_RELAXED);
	__atomic_fetch_add(bytes, n * len, __ATOMIC_RELAXED);
}

static int __no_frame_pointer ram_read(void *dev, const struct mmio_access *a, void *buf)
{
	struct mmio_ram_dev *d = dev;
	uint64_t off = a->offset;
	unsigned len = a->len;

	if (off >= d->size || d->size - off < len)
		return -E_RANGE;
	ram_count(&d->reads, &d->bytes_read, 1, len);
	if (likely(!d->logging) && ram_copy_small(buf, d->buf + off, len))
		return 0;
	return ram_copy_slow(d, buf, d->buf + off, off, len, false);
}

static int __no_frame_pointer ram_write(void *dev, const struct mmio_access *a, const void *buf)
{
	struct mmio_ram_dev *d = dev;
	uint64_t off = a->offset;
	unsigned len = a->len;

	if (off >= d->size || d->size - off < len)
		return -E_RANGE;
	ram_count(&d->writes, &d->bytes_written, 1, len);
	if (likely(!d->logging) && ram_copy_small(d->buf + off, buf, len))
		return 0;
	return ram_copy_slow(d, d->buf + off, buf, off, len, true);
}

/*
 * The lock-free entry points (mmio/device.h): an access of 1, 2, 4 or 8 bytes is one load or
 * store of the buffer (atomic when aligned; a misaligned one may tear under a concurrent
 * store, as plain RAM's does) and atomic adds to the counters.  The log is a ring of several
 * fields: with it on (or the entry points paused: ram_lock_free_pause), value_limit is 0
 * and every access takes the out-of-line way, under the lock like read/write's callers (that
 * way also answers an offset past the buffer).
 */
static struct mmio_value __attribute__((noinline)) ram_read_value_locked(struct mmio_ram_dev *d,
									   uint64_t off,
									   unsigned len)
{
	struct mmio_access a = {.offset = off, .len = len};
	struct mmio_value r = {0, 0};

	spin_lock(&mmio_device_lock);
	r.err = ram_read(d, &a, &r.val);
	spin_unlock(&mmio_device_lock);
	return r;
}

static int __attribute__((noinline)) ram_write_value_locked(struct mmio_ram_dev *d, uint64_t off,
							    unsigned len, uint64_t val)
{
	struct mmio_access a = {.offset = off, .len = len, .write = true};
	int rc;

	spin_lock(&mmio_device_lock);
	rc = ram_write(d, &a, &val);
	spin_unlock(&mmio_device_lock);
	return rc;
}

/* One function per width: the copy is a single load or store, with no switch on the size. */
#define RAM_VALUE_FNS(type)                                                                        \
	static struct mmio_value __no_frame_pointer ram_read_##type(void *dev, uint64_t off)       \
	{                                                                                          \
		struct mmio_ram_dev *d = dev;                                                      \
		struct mmio_value r = {0, 0};                                                      \
		type x;                                                                            \
                                                                                                   \
		if (off + sizeof(x) > d->value_limit)                                              \
			return ram_read_value_locked(d, off, sizeof(x));                           \
		ram_count(&d->reads, &d->bytes_read, 1, sizeof(x));                                \
		__builtin_memcpy(&x, d->buf + off, sizeof(x));                                     \
		r.val = x;                                                                         \
		return r;                                                                          \
	}                                                                                          \
	static int __no_frame_pointer ram_write_##type(void *dev, uint64_t off, uint64_t val)      \
	{                                                                                          \
		struct mmio_ram_dev *d = dev;                                                      \
		type x = (type)val;                                                                \
                                                                                                   \
		if (off + sizeof(x) > d->value_limit)                                              \
			return ram_write_value_locked(d, off, sizeof(x), val);                     \
		ram_count(&d->writes, &d->bytes_written, 1, sizeof(x));                            \
		__builtin_memcpy(d->buf + off, &x, sizeof(x));                                     \
		return 0;                                                                          \
	}

RAM_VALUE_FNS(uint8_t)
RAM_VALUE_FNS(uint16_t)
RAM_VALUE_FNS(uint32_t)
RAM_VALUE_FNS(uint64_t)

/*
 * A run of accesses: the ram model has no side effects between them, so the bytes move in a
 * plain loop and the counters and the log ring end exactly as after count single accesses
 * (only the last MMIO_RAM_LOG_LEN are logged: the ring would keep no more).
 */
static unsigned ram_run(void *dev, const struct mmio_access *first, int64_t step, uint8_t *buf,
			int64_t buf_step, unsigned count)
{
	struct mmio_ram_dev *d = dev;
	struct mmio_access a = *first;
	const uint8_t *buf0 = buf;
	unsigned n, skipped;

	for (n = 0; n < count; n++) {
		if (a.offset >= d->size || d->size - a.offset < a.len)
			break; /* where a single access would have failed */
		if (a.write)
			memcpy_small(d->buf + a.offset, buf, a.len);
		else
			memcpy_small(buf, d->buf + a.offset, a.len);
		a.offset += step;
		buf += buf_step;
	}
	if (first->write)
		ram_count(&d->writes, &d->bytes_written, n, first->len);
	else
		ram_count(&d->reads, &d->bytes_read, n, first->len);
	if (!d->logging)
		return n;
	/* The ring keeps the last MMIO_RAM_LOG_LEN: the earlier ones only count. */
	skipped = n > MMIO_RAM_LOG_LEN ? n - MMIO_RAM_LOG_LEN : 0;
	d->nr_logged += skipped;
	for (unsigned i = skipped; i < n; i++)
		ram_log(d, first->offset + (uint64_t)((int64_t)i * step), first->len, first->write,
			buf0 + (int64_t)i * buf_step);
	return n;
}

/* Two 64-bit words compared and exchanged as one (CMPXCHG16B: p 16-byte aligned). */
struct ram_pair {
	uint64_t q[2];
};

static bool ram_cas16(void *p, const void *expected, const void *buf)
{
	uint64_t lo, hi, new_lo, new_hi;
	bool ok;

	__builtin_memcpy(&lo, expected, sizeof(lo));
	__builtin_memcpy(&hi, (const uint8_t *)expected + WORD_BYTES, sizeof(hi));
	__builtin_memcpy(&new_lo, buf, sizeof(new_lo));
	__builtin_memcpy(&new_hi, (const uint8_t *)buf + WORD_BYTES, sizeof(new_hi));
	asm volatile("lock cmpxchg16b %1"
		     : "=@ccz"(ok), "+m"(*(struct ram_pair *)p), "+a"(lo), "+d"(hi)
		     : "b"(new_lo), "c"(new_hi)
		     : "memory");
	return ok;
}

/* One function per width: a compare-and-exchange of a type at p (aligned to its size), the
 * expected and new values taken from bytes that may be unaligned. */
#define RAM_CAS_FN(type)                                                                      \
	static bool ram_cas_##type(void *p, const void *expected, const void *buf)            \
	{                                                                                     \
		type e, n;                                                                    \
                                                                                              \
		__builtin_memcpy(&e, expected, sizeof(e));                                    \
		__builtin_memcpy(&n, buf, sizeof(n));                                         \
		return __atomic_compare_exchange_n((type *)p, &e, n, false, __ATOMIC_SEQ_CST, \
						   __ATOMIC_SEQ_CST);                         \
	}

RAM_CAS_FN(uint8_t)
RAM_CAS_FN(uint16_t)
RAM_CAS_FN(uint32_t)
RAM_CAS_FN(uint64_t)

/* One compare-and-exchange of len (1, 2, 4, 8 or 16) bytes at p, aligned to len. */
static bool ram_cas(void *p, const void *expected, const void *buf, unsigned len)
{
	switch (len) {
	case sizeof(uint8_t):
		return ram_cas_uint8_t(p, expected, buf);
	case sizeof(uint16_t):
		return ram_cas_uint16_t(p, expected, buf);
	case sizeof(uint32_t):
		return ram_cas_uint32_t(p, expected, buf);
	case sizeof(uint64_t):
		return ram_cas_uint64_t(p, expected, buf);
	default:
		return ram_cas16(p, expected, buf);
	}
}

/*
 * The locked read-modify-write's write (mmio/device.h): the other accesses under
 * mmio_device_lock are excluded by the caller's hold, the lock-free stores by the CPU's
 * own compare-and-exchange on the buffer.  Counted and logged as a write when it stores.
 */
static int ram_compare_write(void *dev, const struct mmio_access *a, const void *expected,
			     const void *buf)
{
	struct mmio_ram_dev *d = dev;
	uint64_t off = a->offset;
	unsigned len = a->len;
	uint8_t *p;

	if (off >= d->size || d->size - off < len)
		return -E_RANGE;
	p = d->buf + off;
	if (!len || len > MMIO_ACCESS_MAX || (len & (len - 1)) || ((uintptr_t)p & (len - 1)))
		return -E_INVAL;
	if (!ram_cas(p, expected, buf, len))
		return -E_AGAIN;
	ram_count(&d->writes, &d->bytes_written, 1, len);
	if (d->logging)
		ram_log(d, off, len, true, buf);
	return 0;
}

/*
 * The pause of the lock-free entry points (mmio/device.h), under mmio_device_lock: their
 * limit 0 sends every access the locked way.  A sequentially consistent store: the caller's
 * read of the word right after it cannot be passed by a store whose entry point still saw
 * the old limit after this one was visible.
 */
static void ram_lock_free_pause(void *dev, bool pause)
{
	struct mmio_ram_dev *d = dev;

	if (pause)
		d->pausers++;
	else if (d->pausers)
		d->pausers--;
	__atomic_store_n(&d->value_limit, d->pausers || d->logging ? 0 : d->size,
			 __ATOMIC_SEQ_CST);
}

const struct mmio_dev_ops mmio_ram_ops = {
	.compare_write = ram_compare_write,
	.lock_free_pause = ram_lock_free_pause,
	.name = "ram",
	.read = ram_read,
	.write = ram_write,
	.run = ram_run,
	.read_value = {ram_read_uint8_t, ram_read_uint16_t, ram_read_uint32_t, ram_read_uint64_t},
	.write_value = {ram_write_uint8_t, ram_write_uint16_t, ram_write_uint32_t,
			ram_write_uint64_t}};

/* ---- trace -------------------------------------------------------------------------------- */

void mmio_trace_init(struct mmio_trace_dev *d, mmio_phys_read_fn phys_read,
		     mmio_phys_write_fn phys_write, mmio_log_fn log, void *ctx)
{
	*d = (struct mmio_trace_dev){
		.phys_read = phys_read, .phys_write = phys_write, .log = log, .ctx = ctx};
	mmio_trace_filter_all(&d->filter);
}

void mmio_trace_set_filter(struct mmio_trace_dev *d, const struct mmio_trace_filter *f)
{
	d->filter = *f;
	d->gate.pending = 0;
}

static void trace_log(struct mmio_trace_dev *d, const struct mmio_access *a, const void *buf,
		      int rc)
{
	struct mmio_log_rec rec;
	uint64_t skipped;

	rec = make_rec("trace", a, buf, d->reads + d->writes);
	mmio_trace_summary_note(&d->summary, a->offset, a->len, rec.value[0], a->write);
	if (!d->log || !mmio_trace_admit(&d->filter, &d->gate, a->offset, a->write, &skipped))
		return;
	rec.rc = rc;
	rec.skipped = skipped;
	d->log(d->ctx, &rec);
}

static int trace_read(void *dev, const struct mmio_access *a, void *buf)
{
	struct mmio_trace_dev *d = dev;
	int rc;

	rc = d->phys_read(d->ctx, a->gpa, buf, a->len);
	/* A failed read yields (and logs) all ones rather than whatever the buffer held. */
	if (rc)
		memset(buf, ALL_ONES, a->len);
	d->reads++;
	trace_log(d, a, buf, rc);
	return rc;
}

static int trace_write(void *dev, const struct mmio_access *a, const void *buf)
{
	struct mmio_trace_dev *d = dev;
	int rc = d->phys_write(d->ctx, a->gpa, buf, a->len);

	d->writes++;
	trace_log(d, a, buf, rc);
	return rc;
}

const struct mmio_dev_ops mmio_trace_ops = {
	.name = "trace", .read = trace_read, .write = trace_write};

/* ---- deny --------------------------------------------------------------------------------- */

void mmio_deny_init(struct mmio_deny_dev *d, mmio_log_fn log, void *ctx)
{
	*d = (struct mmio_deny_dev){.log = log, .ctx = ctx};
}

static void deny_log(struct mmio_deny_dev *d, const struct mmio_access *a, const void *buf)
{
	uint64_t seq = d->reads + d->writes;
	struct mmio_log_rec rec;

	if (!d->log || (seq > MMIO_DENY_LOG_FIRST && seq % MMIO_DENY_LOG_EVERY != 0))
		return;
	rec = make_rec("deny", a, buf, seq);
	rec.skipped = seq - d->last_seq - 1;
	d->last_seq = seq;
	d->logged++;
	d->log(d->ctx, &rec);
}

static int deny_read(void *dev, const struct mmio_access *a, void *buf)
{
	struct mmio_deny_dev *d = dev;

	memset(buf, ALL_ONES, a->len);
	d->reads++;
	deny_log(d, a, buf);
	return 0;
}

static int deny_write(void *dev, const struct mmio_access *a, const void *buf)
{
	struct mmio_deny_dev *d = dev;

	d->writes++;
	deny_log(d, a, buf);
	return 0;
}

const struct mmio_dev_ops mmio_deny_ops = {.name = "deny", .read = deny_read, .write = deny_write};
