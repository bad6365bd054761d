/*
 * printf formatting.  Each conversion is laid out as
 *   [spaces] [sign or 0x prefix] [zero fill] [precision zeros] [digits] [spaces]
 * and its total length is reserved against INT_MAX before anything is emitted, so an
 * overflowing request fails cleanly instead of streaming gigabytes to the console.
 */
#include <stdbool.h>
#include <stdint.h>

#include "lib/compiler.h"
#include "lib/errno.h"
#include "lib/fmt.h"
#include "lib/string.h"

#define FMT_INT_MAX __INT_MAX__
#define FMT_NO_PREC (-1)
#define DECIMAL	    10
#define OCTAL	    8
#define HEX	    16
#define PTR_DIGITS  16 /* %p always shows a full 64-bit address */
#define NUM_BUF	    24 /* 22 octal digits hold 2^64-1 */
#define PAD_CHUNK   32

enum {
	FL_LEFT = 1u << 0,  /* '-' */
	FL_ZERO = 1u << 1,  /* '0' */
	FL_PLUS = 1u << 2,  /* '+' */
	FL_SPACE = 1u << 3, /* ' ' */
	FL_ALT = 1u << 4,   /* '#' */
};

enum len_mod { LEN_NONE, LEN_HH, LEN_H, LEN_L, LEN_LL, LEN_Z, LEN_T, LEN_J };

struct spec {
	unsigned flags;
	int width; /* 0 when absent */
	int prec;  /* FMT_NO_PREC when absent */
	enum len_mod len;
	char conv;
};

struct emitter {
	fmt_out_fn out;
	void *ctx;
	size_t count;
};

static const char lower_digits[] = "0123456789abcdef";
static const char upper_digits[] = "0123456789ABCDEF";
static const char spaces[PAD_CHUNK + 1] = "                                ";
static const char zeros[PAD_CHUNK + 1] = "00000000000000000000000000000000";

/* Account for n more characters; false when the total would not fit the int return value. */
static bool reserve(struct emitter *e, size_t n)
{
	if (n > (size_t)FMT_INT_MAX - e->count)
		return false;
	e->count += n;
	return true;
}

static void emit(struct emitter *e, const char *s, size_t n)
{
	if (n)
		e->out(e->ctx, s, n);
}

static void pad(struct emitter *e, const char *fill, size_t n)
{
	while (n) {
		size_t k = MIN(n, (size_t)PAD_CHUNK);

		emit(e, fill, k);
		n -= k;
	}
}

static bool is_signed_conv(char c)
{
	return c == 'd' || c == 'i';
}

static int emit_integer(struct emitter *e, const struct spec *sp, uint64_t mag, bool neg)
{
	char digits[NUM_BUF];
	char prefix[2];
	size_t nd = 0, np = 0, prec_zeros = 0, fill = 0, body;
	unsigned base = DECIMAL;
	const char *dig = lower_digits;
	bool nonzero = mag != 0;

	if (sp->conv == 'o')
		base = OCTAL;
	else if (sp->conv == 'x' || sp->conv == 'p')
		base = HEX;
	else if (sp->conv == 'X') {
		base = HEX;
		dig = upper_digits;
	}

	/* C99: a zero value with precision 0 produces no digits at all. */
	if (nonzero || sp->prec != 0) {
		do {
			digits[NUM_BUF - ++nd] = dig[mag % base];
			mag /= base;
		} while (mag);
	}
	if (sp->prec > 0 && (size_t)sp->prec > nd)
		prec_zeros = (size_t)sp->prec - nd;
	/* '#o' raises the precision just enough for the first digit to be 0. */
	if (sp->conv == 'o' && (sp->flags & FL_ALT) && prec_zeros == 0 &&
	    (nd == 0 || digits[NUM_BUF - nd] != '0'))
		prec_zeros = 1;

	if (is_signed_conv(sp->conv)) {
		if (neg)
			prefix[np++] = '-';
		else if (sp->flags & FL_PLUS)
			prefix[np++] = '+';
		else if (sp->flags & FL_SPACE)
			prefix[np++] = ' ';
	} else if (sp->conv == 'p' || ((sp->flags & FL_ALT) && nonzero && base == HEX)) {
		prefix[np++] = '0';
		prefix[np++] = sp->conv == 'X' ? 'X' : 'x';
	}

	body = np + prec_zeros + nd;
	if (sp->width > 0 && (size_t)sp->width > body)
		fill = (size_t)sp->width - body;
	if (!reserve(e, body + fill))
		return -E_RANGE;

	/* The 0 flag is ignored with '-' and whenever a precision is given. */
	if ((sp->flags & FL_ZERO) && !(sp->flags & FL_LEFT) && sp->prec == FMT_NO_PREC) {
		prec_zeros += fill;
		fill = 0;
	}
	if (!(sp->flags & FL_LEFT))
		pad(e, spaces, fill);
	emit(e, prefix, np);
	pad(e, zeros, prec_zeros);
	emit(e, digits + NUM_BUF - nd, nd);
	if (sp->flags & FL_LEFT)
		pad(e, spaces, fill);
	return 0;
}

/* A text field: width pads with spaces (the 0 flag does not apply to %s/%c). */
static int emit_text(struct emitter *e, const struct spec *sp, const char *s, size_t n)
{
	size_t fill = 0;

	if (sp->width > 0 && (size_t)sp->width > n)
		fill = (size_t)sp->width - n;
	if (!reserve(e, n + fill))
		return -E_RANGE;
	if (!(sp->flags & FL_LEFT))
		pad(e, spaces, fill);
	emit(e, s, n);
	if (sp->flags & FL_LEFT)
		pad(e, spaces, fill);
	return 0;
}

static int64_t arg_signed(va_list *ap, enum len_mod len)
{
	switch (len) {
	case LEN_HH:
		return (signed char)va_arg(*ap, int);
	case LEN_H:
		return (short)va_arg(*ap, int);
	case LEN_L:
		return va_arg(*ap, long);
	case LEN_LL:
		return va_arg(*ap, long long);
	case LEN_Z: /* the signed type of size_t's width */
	case LEN_T:
		return va_arg(*ap, ptrdiff_t);
	case LEN_J:
		return va_arg(*ap, intmax_t);
	case LEN_NONE:
	default:
		return va_arg(*ap, int);
	}
}

static uint64_t arg_unsigned(va_list *ap, enum len_mod len)
{
	switch (len) {
	case LEN_HH:
		return (unsigned char)va_arg(*ap, unsigned int);
	case LEN_H:
		return (unsigned short)va_arg(*ap, unsigned int);
	case LEN_L:
		return va_arg(*ap, unsigned long);
	case LEN_LL:
		return va_arg(*ap, unsigned long long);
	case LEN_Z:
		return va_arg(*ap, size_t);
	case LEN_T: /* the unsigned type of ptrdiff_t's width */
		return va_arg(*ap, size_t);
	case LEN_J:
		return va_arg(*ap, uintmax_t);
	case LEN_NONE:
	default:
		return va_arg(*ap, unsigned int);
	}
}

/* Parse a decimal width/precision; false on int overflow. */
static bool parse_num(const char **p, int *val)
{
	int v = 0;

	while (**p >= '0' && **p <= '9') {
		int d = **p - '0';

		if (v > (FMT_INT_MAX - d) / DECIMAL)
			return false;
		v = v * DECIMAL + d;
		(*p)++;
	}
	*val = v;
	return true;
}

static unsigned flag_bit(char c)
{
	switch (c) {
	case '-':
		return FL_LEFT;
	case '0':
		return FL_ZERO;
	case '+':
		return FL_PLUS;
	case ' ':
		return FL_SPACE;
	case '#':
		return FL_ALT;
	default:
		return 0;
	}
}

static void parse_length(const char **p, enum len_mod *len)
{
	const char *s = *p;

	switch (*s) {
	case 'h':
		*len = s[1] == 'h' ? LEN_HH : LEN_H;
		break;
	case 'l':
		*len = s[1] == 'l' ? LEN_LL : LEN_L;
		break;
	case 'z':
		*len = LEN_Z;
		break;
	case 't':
		*len = LEN_T;
		break;
	case 'j':
		*len = LEN_J;
		break;
	default:
		*len = LEN_NONE;
		return;
	}
	*p = s + ((*len == LEN_HH || *len == LEN_LL) ? 2 : 1);
}

/*
 * Parse the specification after '%' into sp, advancing *p past it (the conversion character
 * is left in sp->conv, possibly '\0' at the end of the string).  False on int overflow.
 */
static bool parse_spec(const char **p, struct spec *sp, va_list *ap)
{
	const char *s = *p;
	unsigned bit;

	sp->flags = 0;
	sp->width = 0;
	sp->prec = FMT_NO_PREC;
	while ((bit = flag_bit(*s)) != 0) {
		sp->flags |= bit;
		s++;
	}
	if (*s == '*') {
		int w = va_arg(*ap, int);

		s++;
		/* A negative '*' width means '-' plus its magnitude. */
		if (w < 0) {
			if (w < -FMT_INT_MAX)
				return false;
			sp->flags |= FL_LEFT;
			w = -w;
		}
		sp->width = w;
	} else if (!parse_num(&s, &sp->width)) {
		return false;
	}
	if (*s == '.') {
		s++;
		if (*s == '*') {
			int pr = va_arg(*ap, int);

			s++;
			/* A negative '*' precision counts as absent. */
			sp->prec = pr < 0 ? FMT_NO_PREC : pr;
		} else if (!parse_num(&s, &sp->prec)) {
			return false;
		}
	}
	parse_length(&s, &sp->len);
	sp->conv = *s;
	if (*s)
		s++;
	*p = s;
	return true;
}

static int convert(struct emitter *e, struct spec *sp, va_list *ap, const char *start,
		   const char *end)
{
	switch (sp->conv) {
	case 'd':
	case 'i': {
		int64_t v = arg_signed(ap, sp->len);
		uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

		return emit_integer(e, sp, mag, v < 0);
	}
	case 'u':
	case 'x':
	case 'X':
	case 'o':
		return emit_integer(e, sp, arg_unsigned(ap, sp->len), false);
	case 'p': {
		uint64_t v = (uint64_t)(uintptr_t)va_arg(*ap, void *);

		sp->flags &= FL_LEFT;
		sp->prec = PTR_DIGITS;
		return emit_integer(e, sp, v, false);
	}
	case 's': {
		const char *s = va_arg(*ap, const char *);
		size_t n;

		if (!s)
			s = "(null)";
		/* Never read past the precision: the string need not be terminated there. */
		n = sp->prec == FMT_NO_PREC ? strlen(s) : strnlen(s, (size_t)sp->prec);
		return emit_text(e, sp, s, n);
	}
	case 'c': {
		char c = (char)(unsigned char)va_arg(*ap, int);

		return emit_text(e, sp, &c, 1);
	}
	case '%':
		if (!reserve(e, 1))
			return -E_RANGE;
		emit(e, "%", 1);
		return 0;
	default:
		/* Unknown (or %n, deliberately unsupported): show the specification verbatim. */
		if (!reserve(e, (size_t)(end - start)))
			return -E_RANGE;
		emit(e, start, (size_t)(end - start));
		return 0;
	}
}

int fmt_vformat(fmt_out_fn out, void *ctx, const char *fmt, va_list ap)
{
	struct emitter e = {.out = out, .ctx = ctx, .count = 0};
	const char *p = fmt;
	int ret = 0;
	va_list aq;

	/* Work on a copy: a va_list parameter cannot portably be passed on by address. */
	va_copy(aq, ap);
	while (*p) {
		const char *start = p;
		struct spec sp;

		while (*p && *p != '%')
			p++;
		if (p != start) {
			if (!reserve(&e, (size_t)(p - start))) {
				ret = -E_RANGE;
				break;
			}
			emit(&e, start, (size_t)(p - start));
		}
		if (!*p)
			break;
		start = p++;
		if (!parse_spec(&p, &sp, &aq)) {
			ret = -E_RANGE;
			break;
		}
		ret = convert(&e, &sp, &aq, start, p);
		if (ret < 0)
			break;
	}
	va_end(aq);
	return ret < 0 ? ret : (int)e.count;
}

struct sbuf {
	char *buf;
	size_t cap; /* bytes available for text, excluding the NUL */
	size_t pos; /* bytes produced so far, may exceed cap */
};

static void sbuf_out(void *ctx, const char *s, size_t n)
{
	struct sbuf *b = ctx;

	if (b->pos < b->cap)
		memcpy(b->buf + b->pos, s, MIN(n, b->cap - b->pos));
	b->pos += n;
}

int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct sbuf b = {.buf = buf, .cap = size ? size - 1 : 0, .pos = 0};
	int ret = fmt_vformat(sbuf_out, &b, fmt, ap);

	if (size)
		buf[MIN(b.pos, b.cap)] = '\0';
	return ret;
}

int fmt_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = fmt_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return ret;
}
