/*
 * lib/console_mux: line ownership between mhv and the guest, the guest-line marks, and the
 * filter that keeps guest output from reading or displaying as one of mhv's lines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/console_mux.h"

#define SINK_MAX     65536
#define RANDOM_RUNS  2000
#define RANDOM_BYTES 400
#define SEED	     0x6d687621u

static char sink[SINK_MAX];
static size_t sink_len;
static struct console_mux mux;

static void sink_write(const char *s, size_t n)
{
	assert_true(sink_len + n < sizeof(sink));
	memcpy(sink + sink_len, s, n);
	sink_len += n;
	sink[sink_len] = '\0';
}

static void reset(bool mark_all)
{
	sink_len = 0;
	sink[0] = '\0';
	console_mux_init(&mux, sink_write, mark_all);
}

static void guest(const char *s)
{
	console_mux_guest(&mux, s, strlen(s));
}

static void host(const char *s)
{
	console_mux_host(&mux, s, strlen(s));
}

/* The guest's whole output in one piece, then byte by byte: the result must not differ. */
static void expect_guest(const char *in, const char *want)
{
	reset(false);
	guest(in);
	assert_string_equal(sink, want);
	reset(false);
	for (size_t i = 0; in[i]; i++)
		console_mux_guest(&mux, in + i, 1);
	assert_string_equal(sink, want);
}

static void test_console_plain_lines_pass(void **state)
{
	(void)state;
	expect_guest("hello\n", "hello\n");
	expect_guest("PASS guest: x\nguest: 3 passed, 0 failed\n",
		     "PASS guest: x\nguest: 3 passed, 0 failed\n");
	expect_guest("\n\n", "\n\n");
	expect_guest("\ttab\n", "\ttab\n");
	expect_guest("caf\xc3\xa9 \xe2\x82\xac\n", "caf\xc3\xa9 \xe2\x82\xac\n");
	expect_guest(" mhv: indented\n", " mhv: indented\n");
}

static void test_console_mhv_lines_are_marked(void **state)
{
	(void)state;
	expect_guest("mhv: run ended, status 0 (pass)\n",
		     "guest| mhv: run ended, status 0 (pass)\n");
	expect_guest("mhv\n", "guest| mhv\n");
	expect_guest("mhvmhv\n", "guest| mhvmhv\n");
	/* Shorter than the word, or off at any letter: unmarked. */
	expect_guest("mh\n", "mh\n");
	expect_guest("m\n", "m\n");
	expect_guest("mhx: no\n", "mhx: no\n");
	expect_guest("Mhv: other case\n", "Mhv: other case\n");
	/* Only the line start counts. */
	expect_guest("a mhv: b\nmhv: c\n", "a mhv: b\nguest| mhv: c\n");
}

static void test_console_carriage_return_is_dropped(void **state)
{
	(void)state;
	expect_guest("junk\rmhv: run ended, status 0 (pass)\n",
		     "junkmhv: run ended, status 0 (pass)\n");
	expect_guest("\rmhv: x\r\n", "guest| mhv: x\n");
	expect_guest("\r\r\r\n", "\n");
}

static void test_console_controls_shown_as_carets(void **state)
{
	(void)state;
	expect_guest("junk\b\b\b\bmhv: x\n", "junk^H^H^H^Hmhv: x\n");
	expect_guest("\bmhv\n", "^Hmhv\n");
	expect_guest("a\vb\fc\n", "a^Kb^Lc\n");
	expect_guest("x\x7fy\n", "x^?y\n");
	expect_guest("\a\n", "^G\n");
	reset(false);
	console_mux_guest(&mux, "a\0b\n", 4);
	assert_string_equal(sink, "a^@b\n");
}

static void test_console_cursor_escapes_shown_as_text(void **state)
{
	(void)state;
	expect_guest("junk\x1b[1Gmhv: x\n", "junk^[[1Gmhv: x\n");
	expect_guest("\x1b[2K\x1b[Amhv: x\n", "^[[2K^[[Amhv: x\n");
	expect_guest("\x1b[H\x1b[2J\n", "^[[H^[[2J\n");
	expect_guest("\x1b" "7mhv\x1b" "8\n", "^[7mhv^[8\n");
	expect_guest("\x1b" "c\n", "^[c\n");
	expect_guest("\x1b[?25l\n", "^[[?25l\n");
	expect_guest("\x1b[5;1Hmhv\n", "^[[5;1Hmhv\n");
	expect_guest("ab\x1b\n", "ab^[\n");
	expect_guest("ab\x1b[12\n", "ab^[[12\n");
	expect_guest("\x1b\x1b[1m\n", "^[\x1b[1m\x1b[0m\n");
}

static void test_console_sgr_passes_and_is_reset(void **state)
{
	(void)state;
	expect_guest("\x1b[31mred\x1b[0m\n", "\x1b[31mred\x1b[0m\x1b[0m\n");
	expect_guest("\x1b[m\n", "\x1b[m\x1b[0m\n");
	expect_guest("\x1b[38;2;1;2;3mx\n", "\x1b[38;2;1;2;3mx\x1b[0m\n");
	/* Invisible, so it does not hide "mhv" from the line-start check. */
	expect_guest("\x1b[0m\x1b[1mmhv: x\n", "guest| \x1b[0m\x1b[1mmhv: x\x1b[0m\n");
	expect_guest("m\x1b[8mh\x1b[28mv\n", "guest| m\x1b[8mh\x1b[28mv\x1b[0m\n");
	/* Concealed text does not last beyond the line. */
	expect_guest("\x1b[8m\nmhv\n", "\x1b[8m\x1b[0m\nguest| mhv\n");
}

static void test_console_overlong_sgr_is_text(void **state)
{
	char in[128], want[128];

	(void)state;
	snprintf(in, sizeof(in), "\x1b[%s%sm\n", "1111111111111111", "1111111111111111");
	snprintf(want, sizeof(want), "^[[%s%sm\n", "1111111111111111", "1111111111111111");
	expect_guest(in, want);
}

static void test_console_hidden_text_before_letters_marks(void **state)
{
	char in[256] = "";

	(void)state;
	for (int i = 0; i < 20; i++)
		strcat(in, "\x1b[1m");
	strcat(in, "x\n");
	reset(false);
	guest(in);
	assert_memory_equal(sink, CONSOLE_GUEST_MARK, strlen(CONSOLE_GUEST_MARK));
}

static void test_console_mark_all(void **state)
{
	(void)state;
	reset(true);
	guest("hello\n\nmhv\n\x1b[1mbold\n");
	assert_string_equal(sink, "guest| hello\nguest| \nguest| mhv\nguest| \x1b[1mbold\x1b[0m\n");
	reset(false);
	console_mux_set_mark_all(&mux, true);
	guest("x\n");
	assert_string_equal(sink, "guest| x\n");
}

static void test_console_mhv_cuts_a_guest_line(void **state)
{
	(void)state;
	reset(false);
	guest("AAAA");
	host("mhv: log\n");
	guest("BB\n");
	assert_string_equal(sink, "AAAA\nmhv: log\nguest+ BB\n");
	/* Cut right before its end: the line is over, no empty continuation. */
	reset(false);
	guest("AAAA");
	host("mhv: log\n");
	guest("\n");
	assert_string_equal(sink, "AAAA\nmhv: log\n");
	/* A continuation is marked even when it starts like mhv's. */
	reset(false);
	guest("AAAA");
	host("mhv: log\n");
	guest("mhv: run ended, status 0 (pass)\n");
	assert_string_equal(sink, "AAAA\nmhv: log\nguest+ mhv: run ended, status 0 (pass)\n");
	/* Attributes end with the cut. */
	reset(false);
	guest("\x1b[8mAAA");
	host("mhv: log\n");
	assert_string_equal(sink, "\x1b[8mAAA\x1b[0m\nmhv: log\n");
}

static void test_console_held_start_stays_off_the_console(void **state)
{
	(void)state;
	reset(false);
	guest("mh");
	host("mhv: log\n");
	guest("v: forged\n");
	assert_string_equal(sink, "mhv: log\nguest| mhv: forged\n");
}

static void test_console_guest_after_partial_mhv_line(void **state)
{
	(void)state;
	reset(false);
	host("mhv: exits:");
	guest("g\n");
	host(" rest\n");
	assert_string_equal(sink, "mhv: exits:\ng\n rest\n");
}

static void test_console_flush(void **state)
{
	(void)state;
	reset(false);
	guest("mh");
	console_mux_guest_flush(&mux);
	assert_string_equal(sink, "guest| mh");
	host("mhv: run ended\n");
	assert_string_equal(sink, "guest| mh\nmhv: run ended\n");
	reset(false);
	guest("ab\x1b[3");
	console_mux_guest_flush(&mux);
	assert_string_equal(sink, "ab^[[3");
	reset(false);
	console_mux_guest_flush(&mux);
	assert_int_equal(sink_len, 0);
}

static uint32_t rng = SEED;

static uint32_t next_random(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

/* Bytes a hostile guest likes: controls, ESC, '[', digits, ';', 'm', 'h', 'v', anything. */
static char random_guest_byte(void)
{
	static const char favourites[] = "\x1b\x1b[[;0123mmmhhvv\r\n\b\t\x7f ";
	uint32_t r = next_random();

	if (r % 4)
		return favourites[(r >> 8) % (sizeof(favourites) - 1)];
	return (char)(r >> 8);
}

/* Every output byte is printable, a tab, a newline, UTF-8, or inside an SGR sequence. */
static void assert_no_cursor_control(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == 0x1b) {
			assert_true(i + 1 < n && s[i + 1] == '[');
			i += 2;
			while (i < n && strchr("0123456789;:", s[i]))
				i++;
			assert_true(i < n && s[i] == 'm');
			continue;
		}
		assert_true(c >= ' ' || c == '\t' || c == '\n');
		assert_true(c != 0x7f);
	}
}

/*
 * Random guest bytes in random pieces, with mhv's lines in between: every mhv line comes out
 * whole on a line of its own, and no other line starts with "mhv".
 */
static void test_console_random_streams(void **state)
{
	(void)state;
	for (int run = 0; run < RANDOM_RUNS; run++) {
		char in[RANDOM_BYTES];
		unsigned host_lines = 0, seen = 0;
		size_t pos = 0;

		reset(false);
		for (size_t i = 0; i < sizeof(in); i++)
			in[i] = random_guest_byte();
		while (pos < sizeof(in)) {
			size_t piece = 1 + next_random() % 40;

			piece = piece > sizeof(in) - pos ? sizeof(in) - pos : piece;
			console_mux_guest(&mux, in + pos, piece);
			pos += piece;
			if (next_random() % 3 == 0) {
				host("mhv: host line\n");
				host_lines++;
			}
		}
		console_mux_guest_flush(&mux);
		host("mhv: run ended\n");
		host_lines++;
		assert_no_cursor_control(sink, sink_len);
		for (char *line = sink; line && *line;) {
			char *nl = strchr(line, '\n');

			assert_non_null(nl);
			*nl = '\0';
			if (strncmp(line, "mhv", 3) == 0) {
				assert_true(strcmp(line, "mhv: host line") == 0 ||
					    strcmp(line, "mhv: run ended") == 0);
				seen++;
			}
			line = nl + 1;
		}
		assert_int_equal(seen, host_lines);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_console_plain_lines_pass),
		cmocka_unit_test(test_console_mhv_lines_are_marked),
		cmocka_unit_test(test_console_carriage_return_is_dropped),
		cmocka_unit_test(test_console_controls_shown_as_carets),
		cmocka_unit_test(test_console_cursor_escapes_shown_as_text),
		cmocka_unit_test(test_console_sgr_passes_and_is_reset),
		cmocka_unit_test(test_console_overlong_sgr_is_text),
		cmocka_unit_test(test_console_hidden_text_before_letters_marks),
		cmocka_unit_test(test_console_mark_all),
		cmocka_unit_test(test_console_mhv_cuts_a_guest_line),
		cmocka_unit_test(test_console_held_start_stays_off_the_console),
		cmocka_unit_test(test_console_guest_after_partial_mhv_line),
		cmocka_unit_test(test_console_flush),
		cmocka_unit_test(test_console_random_streams),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
