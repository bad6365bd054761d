/*
 * The monitor's input side, plain C for mhv and the host tests:
 *
 * - the break-in detector: a short byte sequence typed on mhv's console (default Ctrl-]
 *   twice, "^]^]") that stops the guest and opens the monitor.  Bytes that could start the
 *   sequence are held back from the guest until the sequence is complete (consumed) or broken
 *   (handed to the guest in order), so the guest's ordinary input is never lost nor reordered;
 * - the line editor: printable ASCII is echoed and kept, backspace/DEL erase one character,
 *   Ctrl-U the whole line, CR or LF ends it (CR LF counts once); other controls are ignored.
 */
#ifndef MHV_LIB_MONITOR_LINE_H
#define MHV_LIB_MONITOR_LINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BREAK_SEQ_MAX	   8 /* bytes in a break-in sequence */
#define BREAK_SEQ_DEFAULT "^]^]"

struct break_seq {
	uint8_t seq[BREAK_SEQ_MAX];
	unsigned len;	  /* 1..BREAK_SEQ_MAX */
	unsigned matched; /* bytes of seq received so far (held from the guest) */
};

enum break_result {
	BREAK_PASS,  /* hand *release (n bytes) to the guest */
	BREAK_HELD,  /* the byte may start the sequence: nothing for the guest yet */
	BREAK_MATCH, /* the sequence is complete: open the monitor; nothing for the guest */
};

/*
 * Parse a sequence: printable characters stand for themselves, "^X" for the control
 * character X & 0x1f ("^]" = 0x1d), "^^" for 0x1e.  Returns 0 or -E_INVAL (empty, too long,
 * a '^' at the end, a NUL byte).
 */
int break_seq_parse(struct break_seq *b, const char *text);

/*
 * Feed one received byte.  On BREAK_PASS, release[0..*n) are the bytes for the guest: the
 * held prefix that turned out not to be the sequence, then c unless c starts a new match.
 * release must hold BREAK_SEQ_MAX bytes.
 */
enum break_result break_seq_feed(struct break_seq *b, uint8_t c, uint8_t *release, unsigned *n);

#define MON_LINE_MAX 96 /* characters in one command line */

typedef void (*mon_echo_fn)(void *ctx, const char *s, size_t n);

struct mon_line {
	char buf[MON_LINE_MAX + 1]; /* NUL-terminated when a line is complete */
	unsigned len;
	bool after_cr; /* an LF right after a CR is the same line end */
	mon_echo_fn echo;
	void *ctx;
};

void mon_line_init(struct mon_line *l, mon_echo_fn echo, void *ctx);
/*
 * Feed one byte; true when it ended a line: l->buf holds it (NUL-terminated) until the next
 * call, which starts a new one.  A full line drops further characters (echoing a bell).
 */
bool mon_line_feed(struct mon_line *l, uint8_t c);

#endif
