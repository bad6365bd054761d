/*
 * One console, two writers: mhv's log and the guest's output through the virtual UART.
 *
 * The rules (README "Console sharing"):
 * - Every line belongs to one writer.  When one writer starts output while the other's line
 *   is open, a newline ends that line first: mhv's lines always start at column 0.
 * - A guest line cut by mhv's output goes on after CONSOLE_GUEST_CONT ("guest+ ").
 * - A guest line whose visible text would begin with "mhv" starts with CONSOLE_GUEST_MARK
 *   ("guest| "); with mark_all (console_guest_prefix=on) every guest line does.
 * - The guest cannot move the cursor: '\r' is dropped (the console writes "\r\n" for each
 *   '\n'), other C0 controls, DEL and every escape sequence except SGR (ESC [ digits ; : m,
 *   colours and attributes) are shown in caret notation ("^H", "^[[2K").  So what a guest line
 *   shows at column 0 is its first visible text, and a guest line that used SGR ends with an
 *   SGR reset: no attribute (e.g. concealed text) leaks into mhv's lines.
 * Bytes 0x80-0xFF pass unchanged (UTF-8): a terminal that takes 8-bit C1 controls (0x9B as
 * CSI) is not protected; serial logs and UTF-8 terminals are.
 *
 * Plain C without hardware access: the caller supplies the writer.
 */
#ifndef MHV_LIB_CONSOLE_MUX_H
#define MHV_LIB_CONSOLE_MUX_H

#include <stdbool.h>
#include <stddef.h>

#define CONSOLE_GUEST_MARK "guest| "
#define CONSOLE_GUEST_CONT "guest+ "

#define CONSOLE_HOLD_MAX 64 /* bytes of a guest line held until its start is judged */
#define CONSOLE_ESC_MAX	 32 /* longest SGR sequence passed through (ESC [ ... m) */
#define CONSOLE_OUT_MAX	 128

typedef void (*console_write_fn)(const char *s, size_t n);

struct console_mux {
	console_write_fn write;
	bool mark_all;	  /* mark every guest line (console_guest_prefix=on) */
	bool host_open;	  /* mhv's last output did not end its line */
	bool guest_open;  /* the guest's current line has bytes on the console */
	bool guest_cont;  /* mhv cut the guest's line: its next bytes get CONSOLE_GUEST_CONT */
	bool guest_sgr;	  /* the guest's current line holds an SGR sequence: reset at its end */
	bool decided;	  /* whether the guest's current line is marked is settled */
	unsigned hold_len, hold_visible;
	unsigned esc_len;
	unsigned out_len;
	char hold[CONSOLE_HOLD_MAX];
	char esc[CONSOLE_ESC_MAX];
	char out[CONSOLE_OUT_MAX];
};

/* A mux usable from the first message on (static storage, everything else zero). */
#define CONSOLE_MUX_INIT(writer) {.write = (writer)}

void console_mux_init(struct console_mux *m, console_write_fn write, bool mark_all);
void console_mux_set_mark_all(struct console_mux *m, bool mark_all);
/* mhv's text (the log sink: whole lines, or pieces of a line longer than the log buffer). */
void console_mux_host(struct console_mux *m, const char *s, size_t n);
/* Guest bytes as the guest transmitted them, in any pieces. */
void console_mux_guest(struct console_mux *m, const char *s, size_t n);
/*
 * Write out what is held of the guest's current line (at the end of a run): an unfinished
 * escape sequence as text, an undecided line start marked.
 */
void console_mux_guest_flush(struct console_mux *m);

#endif
