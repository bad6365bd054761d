/* Trace region filters (offset range, direction, rate limit) and per-offset summaries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/errno.h"
#include "mmio/devices.h"
#include "mmio/spec.h"
#include "mmio/trace_filter.h"

static int parse(struct mmio_trace_filter *f, const char *s, char *err)
{
	return mmio_trace_filter_parse(f, s, strlen(s), err, 160);
}

static void test_filter_words(void **state)
{
	struct mmio_trace_filter f;
	char err[160];

	(void)state;
	assert_int_equal(parse(&f, "off=0x10-0x1f,writes,limit=3,every=10", err), 0);
	assert_int_equal(f.off_lo, 0x10);
	assert_int_equal(f.off_hi, 0x1f);
	assert_false(f.reads);
	assert_true(f.writes);
	assert_int_equal(f.limit, 3);
	assert_int_equal(f.every, 10);
	assert_int_equal(parse(&f, "off=240", err), 0);
	assert_int_equal(f.off_lo, 240);
	assert_int_equal(f.off_hi, 240);
	assert_true(f.reads && f.writes);
	assert_int_equal(f.limit, 0);
	assert_int_equal(parse(&f, "reads,writes", err), 0);
	assert_true(f.reads && f.writes);

	assert_int_equal(parse(&f, "off=0x20-0x10", err), -E_INVAL);
	assert_int_equal(parse(&f, "limit=0", err), -E_INVAL);
	assert_int_equal(parse(&f, "every=x", err), -E_INVAL);
	assert_int_equal(parse(&f, "off=", err), -E_INVAL);
	assert_int_equal(parse(&f, "off=1-", err), -E_INVAL);
	assert_int_equal(parse(&f, "writes,", err), -E_INVAL);
	assert_int_equal(parse(&f, "frob", err), -E_INVAL);
	assert_string_equal(err, "mmio: bad trace filter 'frob' (expected off=LO[-HI], reads, "
				 "writes, limit=N, every=M)");
}

static void test_spec_takes_filter_words_on_trace_only(void **state)
{
	struct mmio_spec s;
	char err[160];

	(void)state;
	assert_int_equal(mmio_spec_parse("trace@0xfed00000+0x1000,off=0xf0-0xf7,reads", &s, err,
					 sizeof(err)),
			 0);
	assert_int_equal(s.base, 0xfed00000);
	assert_int_equal(s.size, 0x1000);
	assert_int_equal(s.filter.off_lo, 0xf0);
	assert_false(s.filter.writes);
	assert_int_equal(mmio_spec_parse("trace@0xfed00000+4K", &s, err, sizeof(err)), 0);
	assert_true(s.filter.reads && s.filter.writes);
	assert_true(s.filter.off_hi == UINT64_MAX);
	assert_int_equal(mmio_spec_parse("deny@0xfed00000+4K,writes", &s, err, sizeof(err)),
			 -E_INVAL);
	assert_non_null(strstr(err, "only trace regions take filter words"));
	assert_int_equal(mmio_spec_parse("trace@0xfed00000+4K,bogus", &s, err, sizeof(err)),
			 -E_INVAL);
	assert_non_null(strstr(err, "'bogus'"));
	assert_int_equal(mmio_spec_parse("trace@0xfed00000+4K,", &s, err, sizeof(err)), -E_INVAL);
}

static void test_admit_offsets_directions_and_rate(void **state)
{
	struct mmio_trace_filter f;
	struct mmio_trace_gate g = {0};
	uint64_t skipped = 99;
	unsigned logged = 0;

	(void)state;
	assert_int_equal(parse(&f, "off=0x10-0x1f,writes,limit=2,every=3", NULL), 0);
	assert_false(mmio_trace_admit(&f, &g, 0x0f, true, &skipped));
	assert_false(mmio_trace_admit(&f, &g, 0x20, true, &skipped));
	assert_false(mmio_trace_admit(&f, &g, 0x10, false, &skipped));
	assert_int_equal(g.passed, 0);
	/* Accesses 1, 2 logged; then one in three of the rest: 5, 8, with 2 dropped before each. */
	for (unsigned i = 1; i <= 9; i++) {
		if (mmio_trace_admit(&f, &g, 0x1f, true, &skipped)) {
			logged++;
			if (i <= 2)
				assert_int_equal(skipped, 0);
			else
				assert_int_equal(skipped, 2);
			assert_true(i <= 2 || i == 5 || i == 8);
		}
	}
	assert_int_equal(logged, 4);
	assert_int_equal(g.dropped, 5);
	assert_int_equal(g.pending, 1);

	/* A limit without every: the rest are all dropped, and counted. */
	assert_int_equal(parse(&f, "limit=1", NULL), 0);
	g = (struct mmio_trace_gate){0};
	assert_true(mmio_trace_admit(&f, &g, 0, false, &skipped));
	for (unsigned i = 0; i < 100; i++)
		assert_false(mmio_trace_admit(&f, &g, 0, false, &skipped));
	assert_int_equal(g.dropped, 100);
}

static void test_summary_per_offset_and_overflow(void **state)
{
	struct mmio_trace_summary s = {0};

	(void)state;
	mmio_trace_summary_note(&s, 0xf0, 4, 0x1234, false);
	mmio_trace_summary_note(&s, 0x10, 8, 0xabcdef, true);
	mmio_trace_summary_note(&s, 0xf0, 4, 0x5678, true);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.off[0].offset, 0xf0);
	assert_int_equal(s.off[0].reads, 1);
	assert_int_equal(s.off[0].writes, 1);
	assert_int_equal(s.off[0].last, 0x5678);
	assert_true(s.off[0].last_write);
	assert_int_equal(s.off[1].last_len, 8);
	for (unsigned i = 0; i < MMIO_TRACE_OFFSETS + 5; i++)
		mmio_trace_summary_note(&s, 0x1000 + i, 1, i, false);
	assert_int_equal(s.n, MMIO_TRACE_OFFSETS);
	assert_int_equal(s.other, 7);
}

/* The trace device: every access forwarded and summarised, only the admitted ones logged. */
static unsigned nr_logged;
static uint64_t last_skipped;

static void log_cb(void *ctx, const struct mmio_log_rec *r)
{
	(void)ctx;
	nr_logged++;
	last_skipped = r->skipped;
}

static unsigned phys_calls;

static int phys_read(void *ctx, uint64_t pa, void *buf, unsigned len)
{
	(void)ctx;
	(void)pa;
	phys_calls++;
	memset(buf, 0x5a, len);
	return 0;
}

static int phys_write(void *ctx, uint64_t pa, const void *buf, unsigned len)
{
	(void)ctx;
	(void)pa;
	(void)buf;
	(void)len;
	phys_calls++;
	return 0;
}

static void test_trace_device_filters_log_lines_only(void **state)
{
	struct mmio_trace_dev d;
	struct mmio_trace_filter f;
	struct mmio_access a = {.gpa = 0xfed00010, .offset = 0x10, .len = 4};
	uint8_t buf[4];

	(void)state;
	mmio_trace_init(&d, phys_read, phys_write, log_cb, NULL);
	assert_int_equal(parse(&f, "reads,limit=1", NULL), 0);
	mmio_trace_set_filter(&d, &f);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(mmio_trace_ops.read(&d, &a, buf), 0);
	a.write = true;
	assert_int_equal(mmio_trace_ops.write(&d, &a, buf), 0);
	assert_int_equal(phys_calls, 4);
	assert_int_equal(d.reads, 3);
	assert_int_equal(d.writes, 1);
	assert_int_equal(nr_logged, 1);
	assert_int_equal(d.gate.dropped, 2);
	assert_int_equal(d.summary.n, 1);
	assert_int_equal(d.summary.off[0].reads, 3);
	assert_int_equal(d.summary.off[0].writes, 1);
	assert_int_equal(d.summary.off[0].last, 0x5a5a5a5a);

	/* A new filter from now on: every access logged; the earlier drops stay in the total. */
	mmio_trace_filter_all(&f);
	mmio_trace_set_filter(&d, &f);
	a.write = false;
	assert_int_equal(mmio_trace_ops.read(&d, &a, buf), 0);
	assert_int_equal(nr_logged, 2);
	assert_int_equal(last_skipped, 0);
	assert_int_equal(d.gate.dropped, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filter_words),
		cmocka_unit_test(test_spec_takes_filter_words_on_trace_only),
		cmocka_unit_test(test_admit_offsets_directions_and_rate),
		cmocka_unit_test(test_summary_per_offset_and_overflow),
		cmocka_unit_test(test_trace_device_filters_log_lines_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
