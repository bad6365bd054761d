/* Trace region filters and per-offset summaries (see trace_filter.h). */
#include "mmio/trace_filter.h"

#include "lib/compiler.h"
#include "lib/errno.h"
#include "lib/fmt.h"
#include "lib/parse.h"
#include "lib/string.h"

#define DECIMAL	       10
#define HEX	       16
#define HEX_PREFIX_LEN 2
#define WORD_ECHO_MAX  32

void mmio_trace_filter_all(struct mmio_trace_filter *f)
{
	*f = (struct mmio_trace_filter){.off_hi = UINT64_MAX, .reads = true, .writes = true};
}

/* s[0..n) is exactly one number: decimal or 0x-hex, no overflow. */
static bool whole_number(const char *s, size_t n, uint64_t *out)
{
	unsigned base = DECIMAL;
	uint64_t v = 0;
	size_t i = 0;

	if (n > HEX_PREFIX_LEN && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		i = HEX_PREFIX_LEN, base = HEX;
	if (i == n)
		return false;
	for (; i < n; i++) {
		int d = hex_digit(s[i]);

		if (d < 0 || (unsigned)d >= base || v > (UINT64_MAX - (uint64_t)d) / base)
			return false;
		v = v * base + (uint64_t)d;
	}
	*out = v;
	return true;
}

static bool word_is(const char *w, size_t n, const char *name)
{
	return strlen(name) == n && !memcmp(w, name, n);
}

/* "key=" at the start of w: the value's start, or NULL. */
static const char *value_of(const char *w, size_t n, const char *key, size_t *vn)
{
	size_t k = strlen(key);

	if (n <= k || memcmp(w, key, k) || w[k] != '=')
		return NULL;
	*vn = n - k - 1;
	return w + k + 1;
}

static int parse_word(struct mmio_trace_filter *f, const char *w, size_t n, bool *dir_given)
{
	const char *v;
	size_t vn;

	if (word_is(w, n, "reads") || word_is(w, n, "writes")) {
		if (!*dir_given)
			f->reads = f->writes = false;
		*dir_given = true;
		if (w[0] == 'r')
			f->reads = true;
		else
			f->writes = true;
		return 0;
	}
	if ((v = value_of(w, n, "limit", &vn)))
		return whole_number(v, vn, &f->limit) && f->limit ? 0 : -E_INVAL;
	if ((v = value_of(w, n, "every", &vn)))
		return whole_number(v, vn, &f->every) && f->every ? 0 : -E_INVAL;
	if ((v = value_of(w, n, "off", &vn))) {
		size_t dash;

		for (dash = 0; dash < vn && v[dash] != '-'; dash++)
			;
		if (dash == vn) {
			if (!whole_number(v, vn, &f->off_lo))
				return -E_INVAL;
			f->off_hi = f->off_lo;
			return 0;
		}
		if (!whole_number(v, dash, &f->off_lo) ||
		    !whole_number(v + dash + 1, vn - dash - 1, &f->off_hi) || f->off_hi < f->off_lo)
			return -E_INVAL;
		return 0;
	}
	return -E_INVAL;
}

int mmio_trace_filter_parse(struct mmio_trace_filter *f, const char *s, size_t n, char *err,
			    size_t errlen)
{
	bool dir_given = false;
	size_t start = 0, end;

	mmio_trace_filter_all(f);
	if (err && errlen)
		err[0] = '\0';
	do {
		for (end = start; end < n && s[end] != ','; end++)
			;
		if (parse_word(f, s + start, end - start, &dir_given)) {
			if (err && errlen)
				fmt_snprintf(err, errlen,
					     "mmio: bad trace filter '%.*s' (expected off=LO[-HI], "
					     "reads, writes, limit=N, every=M)",
					     (int)MIN(end - start, (size_t)WORD_ECHO_MAX), s + start);
			return -E_INVAL;
		}
		start = end + 1;
	} while (end < n);
	return 0;
}

bool mmio_trace_admit(const struct mmio_trace_filter *f, struct mmio_trace_gate *g,
		      uint64_t offset, bool write, uint64_t *skipped)
{
	if (offset < f->off_lo || offset > f->off_hi || !(write ? f->writes : f->reads))
		return false;
	g->passed++;
	if (f->limit && g->passed > f->limit) {
		uint64_t beyond = g->passed - f->limit;

		if (!f->every || beyond % f->every) {
			g->dropped++;
			g->pending++;
			return false;
		}
	}
	*skipped = g->pending;
	g->pending = 0;
	return true;
}

void mmio_trace_summary_note(struct mmio_trace_summary *s, uint64_t offset, unsigned len,
			     uint64_t value, bool write)
{
	struct mmio_trace_offset *o = NULL;

	/* A trace region is the slow path (each access is logged): a short search is fine. */
	for (unsigned i = 0; i < s->n; i++)
		if (s->off[i].offset == offset) {
			o = &s->off[i];
			break;
		}
	if (!o) {
		if (s->n == MMIO_TRACE_OFFSETS) {
			s->other++;
			return;
		}
		o = &s->off[s->n++];
		*o = (struct mmio_trace_offset){.offset = offset};
	}
	if (write)
		o->writes++;
	else
		o->reads++;
	o->last = value;
	o->last_len = len;
	o->last_write = write;
}
