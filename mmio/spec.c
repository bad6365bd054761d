/* mmio= option values: TYPE@BASE+SIZE. */
#include "mmio/spec.h"

#include "lib/parse.h"
#include "lib/compiler.h"
#include "lib/errno.h"
#include "lib/fmt.h"
#include "lib/string.h"
#include "mmio/region.h"

#define DECIMAL	       10
#define HEX	       16
#define HEX_PREFIX_LEN 2
#define ECHO_MAX       64 /* longest part quoted back in an error message */
#define KIB_SHIFT      10
#define MIB_SHIFT      20
#define GIB_SHIFT      30

static const char *const type_names[] = {
	[MMIO_DEV_RAM] = "ram",
	[MMIO_DEV_TRACE] = "trace",
	[MMIO_DEV_DENY] = "deny",
};

struct spec_ctx {
	const char *val;
	size_t n;
	char *err;
	size_t errlen;
};

const char *mmio_dev_type_name(enum mmio_dev_type t)
{
	if ((unsigned)t >= ARRAY_SIZE(type_names))
		return "?";
	return type_names[t];
}

bool mmio_spec_overlap(const struct mmio_spec *a, const struct mmio_spec *b)
{
	/* Inclusive ends: a range may end exactly at 2^64. */
	return a->base <= b->base + (b->size - 1) && b->base <= a->base + (a->size - 1);
}

static int echo_len(size_t n)
{
	return (int)MIN(n, (size_t)ECHO_MAX);
}

static const char *echo_more(size_t n)
{
	return n > ECHO_MAX ? "..." : "";
}

/* "mmio: <what> in '<value>'" */
static int __printf(2, 3) spec_fail(const struct spec_ctx *c, const char *fmt, ...)
{
	va_list ap;
	int len;

	if (!c->errlen)
		return -E_INVAL;
	va_start(ap, fmt);
	len = fmt_vsnprintf(c->err, c->errlen, fmt, ap);
	va_end(ap);
	if (len >= 0 && (size_t)len < c->errlen)
		fmt_snprintf(c->err + len, c->errlen - (size_t)len, " in '%.*s%s'", echo_len(c->n),
			     c->val, echo_more(c->n));
	return -E_INVAL;
}

static unsigned suffix_shift(char c)
{
	switch (c) {
	case 'k':
	case 'K':
		return KIB_SHIFT;
	case 'm':
	case 'M':
		return MIB_SHIFT;
	case 'g':
	case 'G':
		return GIB_SHIFT;
	default:
		return 0;
	}
}

/*
 * A number at s[0..n): 0x-hex or decimal, then an optional K/M/G.  Returns the characters
 * consumed (the caller judges what follows), or 0 when there are no digits or it overflows.
 */
static size_t scan_number(const char *s, size_t n, uint64_t *out)
{
	unsigned base = DECIMAL, shift;
	size_t i = 0, digits_start;
	uint64_t v = 0;

	if (n >= HEX_PREFIX_LEN && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		i = HEX_PREFIX_LEN, base = HEX;
	digits_start = i;
	for (; i < n; i++) {
		int d = hex_digit(s[i]);

		if (d < 0 || (unsigned)d >= base)
			break;
		if (v > (UINT64_MAX - (uint64_t)d) / base)
			return 0;
		v = v * base + (uint64_t)d;
	}
	if (i == digits_start)
		return 0;
	if (i < n && (shift = suffix_shift(s[i])) != 0) {
		if (v > (UINT64_MAX >> shift))
			return 0;
		v <<= shift;
		i++;
	}
	*out = v;
	return i;
}

static size_t find_char(const char *s, size_t n, char c)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] == c)
			break;
	return i;
}

int mmio_spec_parse_n(const char *value, size_t n, struct mmio_spec *out, char *err, size_t errlen)
{
	const struct spec_ctx c = {.val = value, .n = n, .err = err, .errlen = err ? errlen : 0};
	size_t at, plus, used, i;
	const char *p;
	struct mmio_spec s;
	bool known = false;

	if (c.errlen)
		err[0] = '\0';
	at = find_char(value, n, '@');
	if (at == n)
		return spec_fail(&c, "mmio: expected TYPE@BASE+SIZE");
	for (i = 0; i < ARRAY_SIZE(type_names); i++)
		if (strlen(type_names[i]) == at && memcmp(value, type_names[i], at) == 0) {
			s.type = (enum mmio_dev_type)i;
			known = true;
		}
	if (!known)
		return spec_fail(&c,
				 "mmio: unknown device type '%.*s%s' (expected ram, trace or deny)",
				 echo_len(at), value, echo_more(at));

	p = value + at + 1;
	n -= at + 1;
	plus = find_char(p, n, '+');
	if (plus == n)
		return spec_fail(&c, "mmio: missing '+SIZE'");
	if (scan_number(p, plus, &s.base) != plus || plus == 0)
		return spec_fail(&c, "mmio: bad base '%.*s%s'", echo_len(plus), p, echo_more(plus));

	p += plus + 1;
	n -= plus + 1;
	used = scan_number(p, n, &s.size);
	if (!used)
		return spec_fail(&c, "mmio: bad size '%.*s%s'", echo_len(n), p, echo_more(n));
	mmio_trace_filter_all(&s.filter);
	if (used < n && p[used] == ',') {
		if (s.type != MMIO_DEV_TRACE)
			return spec_fail(&c, "mmio: only trace regions take filter words");
		if (mmio_trace_filter_parse(&s.filter, p + used + 1, n - used - 1, c.err,
					    c.errlen))
			return -E_INVAL;
		used = n;
	}
	if (used != n)
		return spec_fail(&c, "mmio: trailing junk '%.*s%s' after the size",
				 echo_len(n - used), p + used, echo_more(n - used));

	if (s.size == 0)
		return spec_fail(&c, "mmio: size is 0");
	if (!IS_ALIGNED(s.base, MMIO_PAGE_SIZE))
		return spec_fail(&c, "mmio: base 0x%llx is not 4 KiB aligned",
				 (unsigned long long)s.base);
	if (!IS_ALIGNED(s.size, MMIO_PAGE_SIZE))
		return spec_fail(&c, "mmio: size 0x%llx is not a multiple of 4 KiB",
				 (unsigned long long)s.size);
	if (s.base + (s.size - 1) < s.base)
		return spec_fail(&c, "mmio: 0x%llx+0x%llx wraps past 2^64",
				 (unsigned long long)s.base, (unsigned long long)s.size);
	*out = s;
	return 0;
}

int mmio_spec_parse(const char *value, struct mmio_spec *out, char *err, size_t errlen)
{
	return mmio_spec_parse_n(value, strlen(value), out, err, errlen);
}
