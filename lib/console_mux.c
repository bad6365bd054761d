/*
 * The console multiplexer: line ownership between mhv and the guest, and the guest-output
 * filter that keeps a guest from writing anything that reads or displays as mhv's own line.
 * The rules are in lib/console_mux.h.
 */
#include "lib/console_mux.h"
#include "lib/string.h"

#define ESC	     0x1B
#define DEL	     0x7F
#define CARET_FLIP   0x40 /* ^H is 'H' ^ 0x40 = 0x08; DEL shows as ^? */
#define MHV_WORD     "mhv"
#define MHV_WORD_LEN 3
#define SGR_RESET    "\x1b[0m"
#define CSI_INTRO    '['
#define SGR_FINAL    'm'

/* ---- output: batched, one writer call per piece ------------------------------------ */

static void out_flush(struct console_mux *m)
{
	if (m->out_len && m->write)
		m->write(m->out, m->out_len);
	m->out_len = 0;
}

static void out_bytes(struct console_mux *m, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (m->out_len == sizeof(m->out))
			out_flush(m);
		m->out[m->out_len++] = s[i];
	}
}

static void out_str(struct console_mux *m, const char *s)
{
	out_bytes(m, s, strlen(s));
}

/* ---- line ownership ------------------------------------------------------------------ */

/* The guest's line is on the console and mhv must speak: end it there. */
static void cut_guest_line(struct console_mux *m)
{
	if (m->guest_sgr)
		out_str(m, SGR_RESET);
	out_str(m, "\n");
	m->guest_sgr = false;
	m->guest_open = false;
	m->guest_cont = true;
}

/* Guest bytes are about to reach the console: the line must be the guest's. */
static void guest_emit(struct console_mux *m, const char *s, size_t n)
{
	if (m->host_open) {
		out_str(m, "\n");
		m->host_open = false;
	}
	if (m->guest_cont) {
		out_str(m, CONSOLE_GUEST_CONT);
		m->guest_cont = false;
	}
	m->guest_open = true;
	out_bytes(m, s, n);
}

void console_mux_host(struct console_mux *m, const char *s, size_t n)
{
	if (!n)
		return;
	if (m->guest_open)
		cut_guest_line(m);
	out_bytes(m, s, n);
	m->host_open = s[n - 1] != '\n';
	out_flush(m);
}

/* ---- the start of a guest line: held until it cannot or must read as "mhv" ------------ */

static void decide(struct console_mux *m, bool mark)
{
	m->decided = true;
	if (mark)
		guest_emit(m, CONSOLE_GUEST_MARK, strlen(CONSOLE_GUEST_MARK));
	if (m->hold_len)
		guest_emit(m, m->hold, m->hold_len);
	m->hold_len = 0;
	m->hold_visible = 0;
}

/* One visible byte of a guest line (text, a tab, a caret-notation character). */
static void line_visible(struct console_mux *m, char c)
{
	if (m->decided) {
		guest_emit(m, &c, 1);
		return;
	}
	if (m->mark_all || m->hold_len == sizeof(m->hold)) {
		/* A full hold means much hidden text before the first letters: mark the line. */
		decide(m, true);
		guest_emit(m, &c, 1);
		return;
	}
	m->hold[m->hold_len++] = c;
	if (c != MHV_WORD[m->hold_visible])
		decide(m, false);
	else if (++m->hold_visible == MHV_WORD_LEN)
		decide(m, true);
}

/* A complete SGR sequence: invisible, so it does not settle the line start. */
static void line_sgr(struct console_mux *m, const char *seq, size_t n)
{
	m->guest_sgr = true;
	if (!m->decided && m->mark_all)
		decide(m, true);
	if (m->decided) {
		guest_emit(m, seq, n);
		return;
	}
	if (m->hold_len + n > sizeof(m->hold))
		decide(m, true); /* too much hidden text before the first letters: mark the line */
	if (m->decided) {
		guest_emit(m, seq, n);
		return;
	}
	memcpy(m->hold + m->hold_len, seq, n);
	m->hold_len += (unsigned)n;
}

static void line_text(struct console_mux *m, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		line_visible(m, s[i]);
}

static void line_end(struct console_mux *m)
{
	if (!m->decided)
		decide(m, m->mark_all); /* shorter than "mhv": cannot read as mhv's */
	if (m->guest_sgr && m->guest_open)
		out_str(m, SGR_RESET);
	if (m->guest_cont && !m->guest_open)
		m->guest_cont = false; /* mhv cut the line right before its end: it is ended */
	else
		guest_emit(m, "\n", 1);
	m->guest_open = false;
	m->guest_sgr = false;
	m->decided = false;
}

/* ---- the guest byte filter ---------------------------------------------------------- */

static void caret(struct console_mux *m, unsigned char c)
{
	char text[2] = {'^', (char)(c ^ CARET_FLIP)};

	line_text(m, text, sizeof(text));
}

/* An escape sequence that is not SGR: shown as text, starting with "^[". */
static void esc_abort(struct console_mux *m)
{
	caret(m, ESC);
	line_text(m, m->esc + 1, m->esc_len - 1);
	m->esc_len = 0;
}

static bool is_sgr_param(unsigned char c)
{
	return (c >= '0' && c <= '9') || c == ';' || c == ':';
}

/* Returns true if c was taken into the escape sequence being collected. */
static bool esc_take(struct console_mux *m, unsigned char c)
{
	if (m->esc_len == 1 && c == CSI_INTRO) {
		m->esc[m->esc_len++] = (char)c;
		return true;
	}
	if (m->esc_len > 1 && c == SGR_FINAL) {
		m->esc[m->esc_len++] = (char)c;
		line_sgr(m, m->esc, m->esc_len);
		m->esc_len = 0;
		return true;
	}
	/* Room is left for the final 'm'. */
	if (m->esc_len > 1 && is_sgr_param(c) && m->esc_len + 1 < sizeof(m->esc)) {
		m->esc[m->esc_len++] = (char)c;
		return true;
	}
	esc_abort(m);
	return false;
}

static void guest_byte(struct console_mux *m, unsigned char c)
{
	if (m->esc_len && esc_take(m, c))
		return;
	if (c == '\r')
		return;
	if (c == '\n') {
		line_end(m);
	} else if (c == ESC) {
		m->esc[0] = (char)c;
		m->esc_len = 1;
	} else if ((c < ' ' && c != '\t') || c == DEL) {
		caret(m, c);
	} else {
		line_visible(m, (char)c);
	}
}

void console_mux_guest(struct console_mux *m, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		guest_byte(m, (unsigned char)s[i]);
	out_flush(m);
}

void console_mux_guest_flush(struct console_mux *m)
{
	if (m->esc_len)
		esc_abort(m);
	if (!m->decided && m->hold_len)
		decide(m, true); /* it might still have become "mhv" */
	out_flush(m);
}

void console_mux_init(struct console_mux *m, console_write_fn write, bool mark_all)
{
	memset(m, 0, sizeof(*m));
	m->write = write;
	m->mark_all = mark_all;
}

void console_mux_set_mark_all(struct console_mux *m, bool mark_all)
{
	m->mark_all = mark_all;
}
