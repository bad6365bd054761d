/* The monitor's break-in detector and line editor (see monitor_line.h). */
#include "lib/monitor_line.h"

#include "lib/errno.h"
#include "lib/string.h"

#define CTRL_MASK  0x1f /* "^X" is X & CTRL_MASK */
#define ASCII_BS   0x08
#define ASCII_DEL  0x7f
#define ASCII_NAK  0x15 /* Ctrl-U */
#define ASCII_CR   '\r'
#define ASCII_LF   '\n'
#define ASCII_BEL  "\a"
#define FIRST_TEXT 0x20
#define LAST_TEXT  0x7e

int break_seq_parse(struct break_seq *b, const char *text)
{
	unsigned n = 0;

	while (*text) {
		uint8_t c = (uint8_t)*text++;

		if (c == '^') {
			if (!*text)
				return -E_INVAL;
			c = (uint8_t)*text++ & CTRL_MASK;
			if (!c)
				return -E_INVAL; /* "^@" would be a NUL: a line noise byte, not a key */
		}
		if (n == BREAK_SEQ_MAX)
			return -E_INVAL;
		b->seq[n++] = c;
	}
	if (!n)
		return -E_INVAL;
	b->len = n;
	b->matched = 0;
	return 0;
}

enum break_result break_seq_feed(struct break_seq *b, uint8_t c, uint8_t *release, unsigned *n)
{
	*n = 0;
	if (c == b->seq[b->matched]) {
		if (++b->matched < b->len)
			return BREAK_HELD;
		b->matched = 0;
		return BREAK_MATCH;
	}
	/* The held prefix was not the sequence: it goes to the guest, in order. */
	memcpy(release, b->seq, b->matched);
	*n = b->matched;
	b->matched = 0;
	if (c == b->seq[0]) {
		b->matched = 1;
		if (b->len == 1) {
			b->matched = 0;
			return *n ? BREAK_PASS : BREAK_MATCH;
		}
		return *n ? BREAK_PASS : BREAK_HELD;
	}
	release[(*n)++] = c;
	return BREAK_PASS;
}

void mon_line_init(struct mon_line *l, mon_echo_fn echo, void *ctx)
{
	memset(l, 0, sizeof(*l));
	l->echo = echo;
	l->ctx = ctx;
}

static void echo(const struct mon_line *l, const char *s, size_t n)
{
	if (l->echo)
		l->echo(l->ctx, s, n);
}

static void erase_one(struct mon_line *l)
{
	if (!l->len)
		return;
	l->len--;
	echo(l, "\b \b", 3);
}

bool mon_line_feed(struct mon_line *l, uint8_t c)
{
	bool after_cr = l->after_cr;

	l->after_cr = false;
	switch (c) {
	case ASCII_LF:
		if (after_cr)
			return false;
		/* fall through */
	case ASCII_CR:
		l->after_cr = c == ASCII_CR;
		l->buf[l->len] = '\0';
		l->len = 0;
		echo(l, "\r\n", 2);
		return true;
	case ASCII_BS:
	case ASCII_DEL:
		erase_one(l);
		return false;
	case ASCII_NAK:
		while (l->len)
			erase_one(l);
		return false;
	default:
		break;
	}
	if (c < FIRST_TEXT || c > LAST_TEXT)
		return false;
	if (l->len == MON_LINE_MAX) {
		echo(l, ASCII_BEL, 1);
		return false;
	}
	l->buf[l->len++] = (char)c;
	echo(l, (const char *)&c, 1);
	return false;
}
