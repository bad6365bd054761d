/*
 * lib/fmt against the host libc's snprintf (the oracle): a table of formats, then randomized
 * flags/widths/precisions/lengths/values, then the behaviour libc does not define for us
 * (%p, NULL strings, unknown conversions, INT_MAX overflow).
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lib/errno.h"
#include "lib/fmt.h"
#include "tests/unit/xorshift.h"

#define BUF_LEN	     256
#define RANDOM_ITERS 200000
#define MAX_RAND_W   40
#define RAND_SEED    0x9E3779B97F4A7C15ull

typedef int (*snprintf_fn)(char *buf, size_t size, const char *fmt, ...);

/* The argument a format consumes, tagged with the C type it must be passed as. */
enum kind {
	K_NONE,
	K_INT,
	K_UINT,
	K_LONG,
	K_ULONG,
	K_LLONG,
	K_ULLONG,
	K_SIZE,
	K_PTRDIFF,
	K_INTMAX,
	K_UINTMAX,
	K_STR,
};

struct arg {
	enum kind k;
	int64_t v;
	const char *s;
};

/* Call fn with up to two leading '*' ints, then the typed argument. */
#define ARG_SWITCH(CALL)                                                                           \
	switch (a->k) {                                                                            \
	case K_INT:                                                                                \
		return CALL((int)a->v);                                                            \
	case K_UINT:                                                                               \
		return CALL((unsigned)a->v);                                                       \
	case K_LONG:                                                                               \
		return CALL((long)a->v);                                                           \
	case K_ULONG:                                                                              \
		return CALL((unsigned long)a->v);                                                  \
	case K_LLONG:                                                                              \
		return CALL((long long)a->v);                                                      \
	case K_ULLONG:                                                                             \
		return CALL((unsigned long long)a->v);                                             \
	case K_SIZE:                                                                               \
		return CALL((size_t)a->v);                                                         \
	case K_PTRDIFF:                                                                            \
		return CALL((ptrdiff_t)a->v);                                                      \
	case K_INTMAX:                                                                             \
		return CALL((intmax_t)a->v);                                                       \
	case K_UINTMAX:                                                                            \
		return CALL((uintmax_t)a->v);                                                      \
	case K_STR:                                                                                \
		return CALL(a->s);                                                                 \
	case K_NONE:                                                                               \
	default:                                                                                   \
		return CALL(0);                                                                    \
	}

static int call0(snprintf_fn fn, char *buf, size_t n, const char *f, const struct arg *a)
{
#define C0(x) fn(buf, n, f, x)
	ARG_SWITCH(C0)
#undef C0
}

static int call1(snprintf_fn fn, char *buf, size_t n, const char *f, int s1, const struct arg *a)
{
#define C1(x) fn(buf, n, f, s1, x)
	ARG_SWITCH(C1)
#undef C1
}

static int call2(snprintf_fn fn, char *buf, size_t n, const char *f, int s1, int s2,
		 const struct arg *a)
{
#define C2(x) fn(buf, n, f, s1, s2, x)
	ARG_SWITCH(C2)
#undef C2
}

static int call(snprintf_fn fn, char *buf, size_t n, const char *f, int nstars, int s1, int s2,
		const struct arg *a)
{
	if (nstars == 2)
		return call2(fn, buf, n, f, s1, s2, a);
	if (nstars == 1)
		return call1(fn, buf, n, f, s1, a);
	return call0(fn, buf, n, f, a);
}

/* Compare fmt_snprintf with snprintf into a buffer of `size` bytes; returns true on match. */
static bool same_as_libc(const char *f, size_t size, int nstars, int s1, int s2,
			 const struct arg *a)
{
	char want[BUF_LEN], got[BUF_LEN];
	int rw, rg;

	memset(want, 'W', sizeof(want));
	memset(got, 'W', sizeof(got));
	rw = call(snprintf, want, size, f, nstars, s1, s2, a);
	rg = call(fmt_snprintf, got, size, f, nstars, s1, s2, a);
	if (rw != rg || memcmp(want, got, sizeof(want)) != 0) {
		print_error(
			"format \"%s\" size %zu stars %d (%d, %d) value %lld: libc %d \"%s\", fmt "
			"%d \"%s\"\n",
			f, size, nstars, s1, s2, (long long)a->v, rw, size ? want : "", rg,
			size ? got : "");
		return false;
	}
	return true;
}

struct table_case {
	const char *fmt;
	struct arg a;
};

#define I(f, v)                                                                                    \
	{                                                                                          \
		f,                                                                                 \
		{                                                                                  \
			K_INT, (v), NULL                                                           \
		}                                                                                  \
	}
#define U(f, v)                                                                                    \
	{                                                                                          \
		f,                                                                                 \
		{                                                                                  \
			K_UINT, (int64_t)(v), NULL                                                 \
		}                                                                                  \
	}
#define S(f, s)                                                                                    \
	{                                                                                          \
		f,                                                                                 \
		{                                                                                  \
			K_STR, 0, s                                                                \
		}                                                                                  \
	}
#define T(f, k, v)                                                                                 \
	{                                                                                          \
		f,                                                                                 \
		{                                                                                  \
			k, (int64_t)(v), NULL                                                      \
		}                                                                                  \
	}

static const struct table_case table[] = {
	{"plain text", {K_NONE, 0, NULL}},
	{"", {K_NONE, 0, NULL}},
	{"100%%", {K_NONE, 0, NULL}},
	I("%d", 0),
	I("%d", 42),
	I("%d", -42),
	I("%d", INT_MAX),
	I("%d", INT_MIN),
	I("%i", -7),
	I("%5d", 42),
	I("%-5d|", 42),
	I("%05d", -42),
	I("%+d", 42),
	I("%+d", 0),
	I("% d", 42),
	I("% +d", 42),
	I("%+ d", -42),
	I("%.0d", 0),
	I("%5.0d|", 0),
	I("%.5d", -42),
	I("%8.5d", 42),
	I("%-8.5d|", -42),
	I("%08.5d", 42),
	I("%-05d|", 7),
	I("%.3d", 12345),
	I("%hhd", 300),
	I("%hhd", -129),
	I("%hd", 70000),
	I("%hd", -32769),
	U("%hhu", 0x1ff),
	U("%hu", 0x12345),
	U("%hhx", 0xabcd),
	U("%u", 0),
	U("%u", UINT_MAX),
	U("%x", 0xdeadbeef),
	U("%X", 0xdeadbeef),
	U("%#x", 0),
	U("%#x", 255),
	U("%#X", 255),
	U("%#10x", 255),
	U("%#010x", 255),
	U("%#-10x|", 255),
	U("%#.0x", 0),
	U("%#.6x", 255),
	U("%o", 8),
	U("%#o", 8),
	U("%#o", 0),
	U("%#.0o", 0),
	U("%#.3o", 8),
	U("%#.4o", 8),
	U("%#5o", 1),
	U("%.0o", 0),
	U("%o", UINT_MAX),
	T("%ld", K_LONG, LONG_MIN),
	T("%ld", K_LONG, LONG_MAX),
	T("%lu", K_ULONG, ULONG_MAX),
	T("%lx", K_ULONG, ULONG_MAX),
	T("%lo", K_ULONG, ULONG_MAX),
	T("%#lo", K_ULONG, ULONG_MAX),
	T("%lld", K_LLONG, LLONG_MIN),
	T("%llu", K_ULLONG, ULLONG_MAX),
	T("%llX", K_ULLONG, 0x0123456789abcdefull),
	T("%zu", K_SIZE, SIZE_MAX),
	T("%zx", K_SIZE, 0x1000),
	T("%zd", K_PTRDIFF, -5),
	T("%td", K_PTRDIFF, PTRDIFF_MIN),
	T("%tu", K_SIZE, 77),
	T("%jd", K_INTMAX, INTMAX_MIN),
	T("%ju", K_UINTMAX, UINTMAX_MAX),
	T("%jx", K_UINTMAX, 0xfeedfacecafebeefull),
	T("%-+25lld|", K_LLONG, LLONG_MIN),
	T("%030lld", K_LLONG, LLONG_MIN),
	I("%c", 'A'),
	I("%5c|", 'z'),
	I("%-5c|", 'z'),
	I("[%c]", 0xff),
	S("%s", "hello"),
	S("%s", ""),
	S("%10s|", "hello"),
	S("%-10s|", "hello"),
	S("%.3s", "hello"),
	S("%.0s", "hello"),
	S("%.10s", "hello"),
	S("%8.3s|", "hello"),
	S("%-8.3s|", "hello"),
	S("%2s", "hello"),
	S("pre %s post", "mid"),
};

static void test_fmt_table_matches_libc(void **state)
{
	size_t i;
	unsigned failures = 0;

	(void)state;
	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (!same_as_libc(table[i].fmt, BUF_LEN, 0, 0, 0, &table[i].a))
			failures++;
	assert_int_equal(failures, 0);
}

static void test_fmt_table_star_width_and_precision(void **state)
{
	static const struct arg v = {K_INT, -123, NULL};
	static const struct arg str = {K_STR, 0, "abcdef"};
	int w, p;
	unsigned failures = 0;

	(void)state;
	for (w = -12; w <= 12; w++) {
		failures += !same_as_libc("%*d|", BUF_LEN, 1, w, 0, &v);
		failures += !same_as_libc("%0*d|", BUF_LEN, 1, w, 0, &v);
		failures += !same_as_libc("%*s|", BUF_LEN, 1, w, 0, &str);
		for (p = -3; p <= 8; p++) {
			failures += !same_as_libc("%*.*d|", BUF_LEN, 2, w, p, &v);
			failures += !same_as_libc("%-*.*s|", BUF_LEN, 2, w, p, &str);
		}
	}
	for (p = -3; p <= 8; p++) {
		failures += !same_as_libc("%.*d|", BUF_LEN, 1, p, 0, &v);
		failures += !same_as_libc("%.*s|", BUF_LEN, 1, p, 0, &str);
	}
	assert_int_equal(failures, 0);
}

/* Every buffer size from 0 up to past the full length: C99 truncation and NUL placement. */
static void test_fmt_truncation_every_size_matches_libc(void **state)
{
	static const struct arg v = {K_LLONG, -1234567890123ll, NULL};
	static const struct arg str = {K_STR, 0, "truncate me"};
	size_t n;
	unsigned failures = 0;

	(void)state;
	for (n = 0; n < 40; n++) {
		failures += !same_as_libc("val=%+20lld!", n, 0, 0, 0, &v);
		failures += !same_as_libc("<%-15s>", n, 0, 0, 0, &str);
	}
	assert_int_equal(failures, 0);
}

static uint64_t rng_state = RAND_SEED;

static uint64_t rnd(void)
{
	return xorshift64s(&rng_state);
}

static unsigned rnd_below(unsigned n)
{
	return (unsigned)(rnd() % n);
}

static int64_t rnd_value(void)
{
	static const int64_t special[] = {0,	     1,	  -1,	INT_MAX, INT_MIN, LLONG_MAX,
					  LLONG_MIN, 255, -128, 0x7f,	 0x80,	  0xffff};
	unsigned bits;

	if (rnd_below(4) == 0)
		return special[rnd_below(sizeof(special) / sizeof(special[0]))];
	bits = 1 + rnd_below(64);
	return (int64_t)(rnd() >> (64 - bits));
}

/* Pick a length modifier and the matching argument kind for an integer conversion. */
static const char *rnd_length(bool is_signed, enum kind *k)
{
	static const char *const mods[] = {"", "hh", "h", "l", "ll", "z", "t", "j"};
	unsigned i = rnd_below(sizeof(mods) / sizeof(mods[0]));

	switch (i) {
	case 3:
		*k = is_signed ? K_LONG : K_ULONG;
		break;
	case 4:
		*k = is_signed ? K_LLONG : K_ULLONG;
		break;
	case 5:
		*k = is_signed ? K_PTRDIFF : K_SIZE;
		break;
	case 6:
		*k = is_signed ? K_PTRDIFF : K_SIZE;
		break;
	case 7:
		*k = is_signed ? K_INTMAX : K_UINTMAX;
		break;
	default:
		*k = is_signed ? K_INT : K_UINT;
		break;
	}
	return mods[i];
}

/*
 * Random specifications restricted to what C99 defines (no '#' with d/u/c/s, no '0' or
 * precision with c/s where undefined), each formatted into a random-sized buffer.
 */
static void test_fmt_random_specs_match_libc(void **state)
{
	static const char convs[] = "diuxXocs";
	static const char flag_chars[] = "-0+ #";
	static const char *const strs[] = {"", "x", "hello world", "0123456789abcdefghij"};
	unsigned it, failures = 0;

	(void)state;
	for (it = 0; it < RANDOM_ITERS && failures < 10; it++) {
		char f[64];
		size_t pos = 0;
		char conv = convs[rnd_below(sizeof(convs) - 1)];
		bool is_int = conv != 'c' && conv != 's';
		bool is_signed = conv == 'd' || conv == 'i';
		int nstars = 0, s[2] = {0, 0};
		unsigned nflags = rnd_below(4), i;
		struct arg a = {K_INT, 0, NULL};

		f[pos++] = '%';
		for (i = 0; i < nflags; i++) {
			char fl = flag_chars[rnd_below(sizeof(flag_chars) - 1)];

			if (fl == '#' && (conv == 'd' || conv == 'i' || conv == 'u' || !is_int))
				continue;
			if (fl == '0' && !is_int)
				continue;
			f[pos++] = fl;
		}
		switch (rnd_below(3)) {
		case 1:
			pos += (size_t)sprintf(f + pos, "%u", rnd_below(MAX_RAND_W));
			break;
		case 2:
			f[pos++] = '*';
			s[nstars++] = (int)rnd_below(2 * MAX_RAND_W) - MAX_RAND_W;
			break;
		default:
			break;
		}
		if (conv != 'c') {
			switch (rnd_below(4)) {
			case 1:
				f[pos++] = '.';
				break;
			case 2:
				pos += (size_t)sprintf(f + pos, ".%u", rnd_below(MAX_RAND_W));
				break;
			case 3:
				f[pos++] = '.';
				f[pos++] = '*';
				s[nstars++] = (int)rnd_below(MAX_RAND_W) - 5;
				break;
			default:
				break;
			}
		}
		if (is_int) {
			const char *m = rnd_length(is_signed, &a.k);

			memcpy(f + pos, m, strlen(m));
			pos += strlen(m);
			a.v = rnd_value();
		} else if (conv == 'c') {
			a.k = K_INT;
			a.v = ' ' + rnd_below(95);
		} else {
			a.k = K_STR;
			a.s = strs[rnd_below(sizeof(strs) / sizeof(strs[0]))];
		}
		f[pos++] = conv;
		f[pos++] = '|';
		f[pos] = '\0';
		failures += !same_as_libc(f, rnd_below(2) ? BUF_LEN : rnd_below(BUF_LEN / 4),
					  nstars, s[0], s[1], &a);
	}
	assert_int_equal(failures, 0);
}

/* A wrapper without the format attribute, for formats -Wformat would (rightly) reject. */
static int fmt_nocheck(char *buf, size_t size, const char *f, ...)
{
	va_list ap;
	int r;

	va_start(ap, f);
	r = fmt_vsnprintf(buf, size, f, ap);
	va_end(ap);
	return r;
}

static void test_fmt_pointer_is_0x_and_16_digits(void **state)
{
	char buf[BUF_LEN];

	(void)state;
	assert_int_equal(fmt_snprintf(buf, sizeof(buf), "%p", (void *)0), 18);
	assert_string_equal(buf, "0x0000000000000000");
	assert_int_equal(fmt_snprintf(buf, sizeof(buf), "%p", (void *)0xffff800000001234ull), 18);
	assert_string_equal(buf, "0xffff800000001234");
	assert_int_equal(fmt_snprintf(buf, sizeof(buf), "[%20p]", (void *)0xabc), 22);
	assert_string_equal(buf, "[  0x0000000000000abc]");
	assert_int_equal(fmt_snprintf(buf, sizeof(buf), "[%-20p]", (void *)0xabc), 22);
	assert_string_equal(buf, "[0x0000000000000abc  ]");
	/* Flags other than '-' do not change a pointer. */
	assert_int_equal(fmt_nocheck(buf, sizeof(buf), "[%#020p]", (void *)0xabc), 22);
	assert_string_equal(buf, "[  0x0000000000000abc]");
}

static void test_fmt_null_string_prints_null(void **state)
{
	char buf[BUF_LEN];
	const char *nul = NULL;

	(void)state;
	assert_int_equal(fmt_nocheck(buf, sizeof(buf), "%s", nul), 6);
	assert_string_equal(buf, "(null)");
	assert_int_equal(fmt_nocheck(buf, sizeof(buf), "[%8s]", nul), 10);
	assert_string_equal(buf, "[  (null)]");
}

/* %s with a precision must not read past it: the source has no terminator. */
static void test_fmt_string_precision_reads_no_further(void **state)
{
	char buf[BUF_LEN];
	const char unterminated[3] = {'a', 'b', 'c'};

	(void)state;
	assert_int_equal(fmt_snprintf(buf, sizeof(buf), "%.3s", unterminated), 3);
	assert_string_equal(buf, "abc");
	assert_int_equal(fmt_snprintf(buf, sizeof(buf), "%.*s", 2, unterminated), 2);
	assert_string_equal(buf, "ab");
}

static void test_fmt_unknown_conversion_is_copied_and_takes_no_arg(void **state)
{
	char buf[BUF_LEN];
	int n = 0;

	(void)state;
	assert_int_equal(fmt_nocheck(buf, sizeof(buf), "a%yb%d", 5), 5);
	assert_string_equal(buf, "a%yb5");
	assert_int_equal(fmt_nocheck(buf, sizeof(buf), "%-5.2lq%d", 7), 8);
	assert_string_equal(buf, "%-5.2lq7");
	/* %n is deliberately not supported: nothing is written through the pointer. */
	assert_int_equal(fmt_nocheck(buf, sizeof(buf), "ab%n", &n), 4);
	assert_string_equal(buf, "ab%n");
	assert_int_equal(n, 0);
	/* A specification cut off by the end of the format is copied as is. */
	assert_int_equal(fmt_nocheck(buf, sizeof(buf), "x%-5"), 4);
	assert_string_equal(buf, "x%-5");
	assert_int_equal(fmt_nocheck(buf, sizeof(buf), "x%"), 2);
	assert_string_equal(buf, "x%");
}

static void test_fmt_size_zero_writes_nothing(void **state)
{
	char buf[4] = {'Z', 'Z', 'Z', 'Z'};

	(void)state;
	assert_int_equal(fmt_snprintf(NULL, 0, "%d-%s", 1234, "abc"), 8);
	assert_int_equal(fmt_snprintf(buf, 0, "%d", 1234), 4);
	assert_memory_equal(buf, "ZZZZ", 4);
	assert_int_equal(fmt_snprintf(buf, 1, "%d", 1234), 4);
	assert_int_equal(buf[0], '\0');
	assert_int_equal(buf[1], 'Z');
	assert_int_equal(fmt_snprintf(buf, 3, "%d", 1234), 4);
	assert_string_equal(buf, "12");
	assert_int_equal(buf[3], 'Z');
}

static void test_fmt_int_max_overflow_fails_cleanly(void **state)
{
	char buf[16];

	(void)state;
	/* Width itself does not fit an int. */
	assert_int_equal(fmt_nocheck(buf, sizeof(buf), "ab%2147483648d", 1), -E_RANGE);
	assert_string_equal(buf, "ab");
	assert_int_equal(fmt_nocheck(buf, sizeof(buf), "ab%.99999999999d", 1), -E_RANGE);
	/* Width fits but the total would exceed INT_MAX: nothing of that field is emitted. */
	assert_int_equal(fmt_nocheck(buf, sizeof(buf), "ab%2147483646d", 1), -E_RANGE);
	assert_string_equal(buf, "ab");
	assert_int_equal(fmt_nocheck(buf, sizeof(buf), "ab%*s", INT_MAX, "x"), -E_RANGE);
	assert_int_equal(fmt_nocheck(buf, sizeof(buf), "ab%.*d", INT_MAX, 1), -E_RANGE);
	/* -INT_MIN has no int value. */
	assert_int_equal(fmt_nocheck(buf, sizeof(buf), "ab%*d", INT_MIN, 1), -E_RANGE);
}

struct capture {
	char text[BUF_LEN];
	size_t len;
	unsigned calls;
	bool saw_empty;
};

static void capture_out(void *ctx, const char *s, size_t n)
{
	struct capture *c = ctx;

	if (n == 0)
		c->saw_empty = true;
	assert_true(c->len + n < sizeof(c->text));
	memcpy(c->text + c->len, s, n);
	c->len += n;
	c->text[c->len] = '\0';
	c->calls++;
}

static int vformat_capture(struct capture *c, const char *f, ...)
{
	va_list ap;
	int r;

	va_start(ap, f);
	r = fmt_vformat(capture_out, c, f, ap);
	va_end(ap);
	return r;
}

static void test_fmt_vformat_streams_pieces_without_empty_calls(void **state)
{
	struct capture c = {.len = 0, .calls = 0, .saw_empty = false};
	char want[BUF_LEN];
	int wn = snprintf(want, sizeof(want), "x=%d s=%s%%%c%-70d|", -5, "", 'q', 9);

	(void)state;
	assert_int_equal(vformat_capture(&c, "x=%d s=%s%%%c%-70d|", -5, "", 'q', 9), wn);
	assert_string_equal(c.text, want);
	assert_int_equal(c.len, (size_t)wn);
	assert_true(c.calls > 1);
	assert_false(c.saw_empty);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fmt_table_matches_libc),
		cmocka_unit_test(test_fmt_table_star_width_and_precision),
		cmocka_unit_test(test_fmt_truncation_every_size_matches_libc),
		cmocka_unit_test(test_fmt_random_specs_match_libc),
		cmocka_unit_test(test_fmt_pointer_is_0x_and_16_digits),
		cmocka_unit_test(test_fmt_null_string_prints_null),
		cmocka_unit_test(test_fmt_string_precision_reads_no_further),
		cmocka_unit_test(test_fmt_unknown_conversion_is_copied_and_takes_no_arg),
		cmocka_unit_test(test_fmt_size_zero_writes_nothing),
		cmocka_unit_test(test_fmt_int_max_overflow_fails_cleanly),
		cmocka_unit_test(test_fmt_vformat_streams_pieces_without_empty_calls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
