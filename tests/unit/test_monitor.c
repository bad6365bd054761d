/* The monitor's pure parts: break-in detector, line editor, command parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lib/errno.h"
#include "lib/monitor_cmd.h"
#include "lib/monitor_line.h"

/* ---- break-in sequence --------------------------------------------------------------------- */

static void test_break_parse_caret_notation_and_limits(void **state)
{
	struct break_seq b;

	(void)state;
	assert_int_equal(break_seq_parse(&b, BREAK_SEQ_DEFAULT), 0);
	assert_int_equal(b.len, 2);
	assert_int_equal(b.seq[0], 0x1d);
	assert_int_equal(b.seq[1], 0x1d);
	assert_int_equal(break_seq_parse(&b, "^A~x"), 0);
	assert_int_equal(b.len, 3);
	assert_int_equal(b.seq[0], 0x01);
	assert_int_equal(b.seq[1], '~');
	assert_int_equal(b.seq[2], 'x');
	assert_int_equal(break_seq_parse(&b, "^^"), 0);
	assert_int_equal(b.seq[0], 0x1e);
	assert_int_equal(break_seq_parse(&b, ""), -E_INVAL);
	assert_int_equal(break_seq_parse(&b, "a^"), -E_INVAL);
	assert_int_equal(break_seq_parse(&b, "^@"), -E_INVAL);
	assert_int_equal(break_seq_parse(&b, "12345678"), 0);
	assert_int_equal(break_seq_parse(&b, "123456789"), -E_INVAL);
}

/* Feed text; collect what reaches the guest; count matches. */
static unsigned feed(struct break_seq *b, const char *in, size_t n, char *guest, size_t *glen)
{
	uint8_t rel[BREAK_SEQ_MAX];
	unsigned matches = 0, r;

	*glen = 0;
	for (size_t i = 0; i < n; i++) {
		enum break_result res = break_seq_feed(b, (uint8_t)in[i], rel, &r);

		if (res == BREAK_MATCH)
			matches++;
		assert_true(res == BREAK_PASS || r == 0);
		memcpy(guest + *glen, rel, r);
		*glen += r;
	}
	return matches;
}

static void test_break_detects_and_passes_everything_else_in_order(void **state)
{
	struct break_seq b;
	char guest[64];
	size_t n;

	(void)state;
	assert_int_equal(break_seq_parse(&b, "^]^]"), 0);
	/* A lone Ctrl-] is held, then handed over with the byte that broke the match. */
	assert_int_equal(feed(&b, "ab\x1d" "c\x1d\x1d" "d", 7, guest, &n), 1);
	assert_int_equal(n, 5);
	assert_memory_equal(guest, "ab\x1d" "cd", 5);
	/* Three in a row: one match, the third byte held as a new start. */
	assert_int_equal(feed(&b, "\x1d\x1d\x1d", 3, guest, &n), 1);
	assert_int_equal(n, 0);
	assert_int_equal(b.matched, 1);
	assert_int_equal(feed(&b, "z", 1, guest, &n), 0);
	assert_memory_equal(guest, "\x1dz", 2);
	assert_int_equal(n, 2);

	/* A broken prefix whose breaking byte starts the sequence again keeps that byte held. */
	assert_int_equal(break_seq_parse(&b, "~."), 0);
	assert_int_equal(feed(&b, "~~.", 3, guest, &n), 1);
	assert_int_equal(n, 1);
	assert_int_equal(guest[0], '~');

	/* A one-byte sequence matches at once. */
	assert_int_equal(break_seq_parse(&b, "^B"), 0);
	assert_int_equal(feed(&b, "x\x02y", 3, guest, &n), 1);
	assert_memory_equal(guest, "xy", 2);
}

/* ---- line editor --------------------------------------------------------------------------- */

static char echoed[512];
static size_t echoed_len;

static void echo_cb(void *ctx, const char *s, size_t n)
{
	(void)ctx;
	assert_true(echoed_len + n <= sizeof(echoed));
	memcpy(echoed + echoed_len, s, n);
	echoed_len += n;
}

/* Feed bytes; returns how many lines ended; the last one is in l->buf. */
static unsigned type(struct mon_line *l, const char *s)
{
	unsigned lines = 0;

	while (*s)
		lines += mon_line_feed(l, (uint8_t)*s++);
	return lines;
}

static void test_line_editing_backspace_ctrl_u_and_line_ends(void **state)
{
	struct mon_line l;

	(void)state;
	echoed_len = 0;
	mon_line_init(&l, echo_cb, NULL);
	assert_int_equal(type(&l, "regz\b\x7fs\r"), 1);
	assert_string_equal(l.buf, "res");
	assert_memory_equal(echoed, "regz\b \b\b \bs\r\n", echoed_len);
	/* The LF of a CR LF is no second (empty) line. */
	assert_int_equal(type(&l, "\nab\x15x\x01\x1b" "y\n"), 1);
	assert_string_equal(l.buf, "xy");
	/* Backspace on an empty line echoes nothing. */
	echoed_len = 0;
	assert_int_equal(type(&l, "\b\b\r\r"), 2);
	assert_int_equal(echoed_len, 4);
	assert_string_equal(l.buf, "");
}

static void test_line_full_rings_the_bell_and_keeps_the_start(void **state)
{
	struct mon_line l;
	char in[MON_LINE_MAX + 10];

	(void)state;
	memset(in, 'a', sizeof(in) - 1);
	in[sizeof(in) - 1] = '\0';
	echoed_len = 0;
	mon_line_init(&l, echo_cb, NULL);
	assert_int_equal(type(&l, in), 0);
	assert_int_equal(l.len, MON_LINE_MAX);
	assert_int_equal(echoed[echoed_len - 1], '\a');
	assert_int_equal(type(&l, "\r"), 1);
	assert_int_equal(strlen(l.buf), MON_LINE_MAX);
}

/* ---- command parser ------------------------------------------------------------------------ */

static char printed[2048];
static size_t printed_len;

static void print_cb(void *ctx, const char *fmt, ...)
{
	va_list ap;

	(void)ctx;
	va_start(ap, fmt);
	printed_len += (size_t)vsnprintf(printed + printed_len, sizeof(printed) - printed_len, fmt,
					 ap);
	va_end(ap);
}

static unsigned ran_argc;
static uint64_t ran_value;

static int run_dump(const struct mon_ctx *m, unsigned argc, char **argv)
{
	int err = mon_parse_u64(m, argv[1], &ran_value);

	ran_argc = argc;
	return err;
}

static int run_step(const struct mon_ctx *m, unsigned argc, char **argv)
{
	(void)m;
	(void)argv;
	ran_argc = argc;
	return 0;
}

static const struct mon_cmd cmds[] = {
	{"dump", "ADDR [LEN]", "guest memory", 1, 2, run_dump},
	{"dr", "", "debug registers", 0, 0, run_step},
	{"step", "[N]", "single-step", 0, 1, run_step},
};

static const struct mon_ctx mon = {.cmds = cmds, .nr_cmds = 3, .print = print_cb};

static int run(const char *text)
{
	char line[MON_LINE_MAX + 1];

	strcpy(line, text);
	printed_len = 0;
	printed[0] = '\0';
	ran_argc = 0;
	return mon_run_line(&mon, line);
}

static void test_cmd_dispatch_prefixes_and_arguments(void **state)
{
	(void)state;
	assert_int_equal(run("  dump\t0x1000  16 "), 0);
	assert_int_equal(ran_argc, 3);
	assert_int_equal(ran_value, 0x1000);
	assert_int_equal(run("s"), 0); /* unique prefix of step */
	assert_int_equal(ran_argc, 1);
	assert_int_equal(run("dr"), 0); /* exact name beats being a prefix of nothing else */
	assert_int_equal(run(""), 0);
	assert_int_equal(printed_len, 0);
	assert_int_equal(run("   "), 0);
}

static void test_cmd_errors_are_one_clear_line(void **state)
{
	(void)state;
	assert_int_equal(run("frob 1"), -E_NOENT);
	assert_string_equal(printed, "unknown command 'frob' (type help)\n");
	assert_int_equal(run("d 1"), -E_NOENT);
	assert_string_equal(printed, "ambiguous command 'd' (type help)\n");
	assert_int_equal(run("dump"), -E_INVAL);
	assert_string_equal(printed, "usage: dump ADDR [LEN]\n");
	assert_int_equal(run("step 1 2"), -E_INVAL);
	assert_string_equal(printed, "usage: step [N]\n");
	assert_int_equal(run("dump 0x"), -E_INVAL);
	assert_string_equal(printed, "bad number '0x' (decimal, or hexadecimal with 0x)\n");
	assert_int_equal(run("dump 12ab"), -E_INVAL);
	assert_int_equal(run("dump -1"), -E_INVAL);
	assert_int_equal(run("dump 0x10000000000000000"), -E_INVAL);
	assert_int_equal(run("dump 18446744073709551616"), -E_INVAL);
	assert_int_equal(run("dump 18446744073709551615"), 0);
	assert_true(ran_value == UINT64_MAX);
	assert_int_equal(run("dump 0xFFFFffffFFFFffff"), 0);
	assert_true(ran_value == UINT64_MAX);
	assert_int_equal(run("a b c d e f g h i"), -E_INVAL);
	assert_string_equal(printed, "too many words (at most 8)\n");
}

static void test_cmd_help_lists_every_command(void **state)
{
	(void)state;
	assert_int_equal(run("help"), 0);
	assert_non_null(strstr(printed, "help"));
	assert_non_null(strstr(printed, "dump       ADDR [LEN]"));
	assert_non_null(strstr(printed, "guest memory"));
	assert_non_null(strstr(printed, "dr "));
	assert_non_null(strstr(printed, "single-step"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_break_parse_caret_notation_and_limits),
		cmocka_unit_test(test_break_detects_and_passes_everything_else_in_order),
		cmocka_unit_test(test_line_editing_backspace_ctrl_u_and_line_ends),
		cmocka_unit_test(test_line_full_rings_the_bell_and_keeps_the_start),
		cmocka_unit_test(test_cmd_dispatch_prefixes_and_arguments),
		cmocka_unit_test(test_cmd_errors_are_one_clear_line),
		cmocka_unit_test(test_cmd_help_lists_every_command),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
