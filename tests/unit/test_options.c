/*
 * lib/options: every option and value, every error message, path skipping, atomicity.
 * mmio= values are tested in depth in test_mmio_spec.c; here: collection, overlap, limits.
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

#include "lib/errno.h"
#include "lib/options.h"

#define ERR_LEN 200

static struct hv_options o;
static char err[ERR_LEN];

/* Field by field: the struct has padding that options_defaults need not touch. */
static void assert_same_options(const struct hv_options *a, const struct hv_options *b)
{
	unsigned i;

	assert_int_equal(a->console_port, b->console_port);
	assert_int_equal(a->console_pci, b->console_pci);
	assert_int_equal(a->baud, b->baud);
	assert_int_equal(a->loglvl, b->loglvl);
	assert_int_equal(a->exit_mode, b->exit_mode);
	assert_int_equal(a->nr_mmio, b->nr_mmio);
	for (i = 0; i < a->nr_mmio && i < MMIO_MAX_SPECS; i++) {
		assert_int_equal(a->mmio[i].type, b->mmio[i].type);
		assert_int_equal(a->mmio[i].base, b->mmio[i].base);
		assert_int_equal(a->mmio[i].size, b->mmio[i].size);
	}
	assert_int_equal(a->mmio_cache, b->mmio_cache);
	assert_int_equal(a->bench, b->bench);
	assert_int_equal(a->console_guest_prefix, b->console_guest_prefix);
	assert_int_equal(a->no_guest, b->no_guest);
	assert_int_equal(a->iommu, b->iommu);
	assert_int_equal(a->gdb_port, b->gdb_port);
	assert_int_equal(a->gdb_wait, b->gdb_wait);
	assert_int_equal(a->break_in, b->break_in);
	assert_int_equal(a->amdvi_nmipass, b->amdvi_nmipass);
	assert_int_equal(a->break_seq.len, b->break_seq.len);
	for (i = 0; i < a->break_seq.len && i < BREAK_SEQ_MAX; i++)
		assert_int_equal(a->break_seq.seq[i], b->break_seq.seq[i]);
}

static int parse(const char *line)
{
	int r;

	options_defaults(&o);
	memset(err, 'X', sizeof(err));
	r = options_parse(&o, line, err, sizeof(err));
	assert_non_null(memchr(err, '\0', sizeof(err)));
	if (r == 0)
		assert_string_equal(err, "");
	return r;
}

static void expect_ok(const char *line)
{
	if (parse(line) != 0)
		fail_msg("\"%s\" rejected: %s", line, err);
}

/* The line must fail with exactly `msg`, leaving the defaults in place. */
static void expect_err(const char *line, const char *msg)
{
	struct hv_options def;

	options_defaults(&def);
	assert_int_equal(parse(line), -E_INVAL);
	assert_string_equal(err, msg);
	assert_same_options(&o, &def);
}

static void test_options_defaults(void **state)
{
	(void)state;
	memset(&o, 0xA5, sizeof(o));
	options_defaults(&o);
	assert_int_equal(o.console_port, 0x3f8);
	assert_int_equal(o.baud, 115200);
	assert_int_equal(o.loglvl, LOG_INFO);
	assert_int_equal(o.exit_mode, EXIT_HALT);
	assert_int_equal(o.nr_mmio, 0);
	assert_true(o.mmio_cache);
	assert_false(o.console_guest_prefix);
	assert_false(o.no_guest);
	assert_int_equal(o.iommu, IOMMU_AUTO);
}

static void test_options_empty_and_whitespace_lines(void **state)
{
	static const char *const lines[] = {"", " ", "\t\t", " \n \r\v\f ", "   \t   "};
	struct hv_options def;
	size_t i;

	(void)state;
	options_defaults(&def);
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		expect_ok(lines[i]);
		assert_same_options(&o, &def);
	}
}

static void test_options_console_values(void **state)
{
	static const struct {
		const char *line;
		uint16_t port;
	} cases[] = {
		{"console=com1", 0x3f8},  {"console=com2", 0x2f8},  {"console=com3", 0x3e8},
		{"console=com4", 0x2e8},  {"console=none", 0},	    {"console=0x3f8", 0x3f8},
		{"console=0X2F8", 0x2f8}, {"console=0x1", 0x1},	    {"console=0xfff8", 0xfff8},
		{"console=0x00e9", 0xe9}, {"console=0xAbC", 0xabc},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		expect_ok(cases[i].line);
		assert_int_equal(o.console_port, cases[i].port);
		assert_false(o.console_pci);
	}
	/* console=pci: the port is found at boot; a later console= word overrides it. */
	expect_ok("console=pci");
	assert_true(o.console_pci);
	assert_int_equal(o.console_port, 0);
	expect_ok("console=pci console=0xc000");
	assert_false(o.console_pci);
	assert_int_equal(o.console_port, 0xc000);
	expect_ok("console=0xc000 console=pci");
	assert_true(o.console_pci);
	assert_int_equal(o.console_port, 0);
}

static void test_options_console_errors(void **state)
{
	static const char *const bad[] = {
		"com9",
		"com0",
		"COM1",
		"com",
		"com11",
		"0x0",
		"0xfff9",
		"0xffff",
		"0x10000",
		"0x",
		"0X",
		"0xg",
		"0x3f8z",
		"3f8",
		"1016",
		"x3f8",
		"0x-1",
		"0x+1",
		"0xffffffffffffffffffff",
		"none2",
	};
	char line[64], msg[160];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(line, sizeof(line), "console=%s", bad[i]);
		snprintf(msg, sizeof(msg),
			 "console: bad value '%s' (expected com1..com4, pci, none or 0xPORT)", bad[i]);
		expect_err(line, msg);
	}
}

/* Every integer up to past the limit, against the rule itself as the oracle. */
static void test_options_baud_accepts_exactly_the_divisors(void **state)
{
	char line[32];
	unsigned n, accepted = 0;

	(void)state;
	for (n = 0; n <= 2 * 115200; n++) {
		bool want = n >= 50 && n <= 115200 && 115200 % n == 0;
		int r;

		snprintf(line, sizeof(line), "baud=%u", n);
		r = parse(line);
		if (want != (r == 0))
			fail_msg("baud=%u: got %d, expected %s", n, r, want ? "accept" : "reject");
		if (want) {
			assert_int_equal(o.baud, n);
			accepted++;
		} else {
			assert_int_equal(o.baud, 115200);
		}
	}
	/* 115200 = 2^9 * 3^2 * 5^2 has 90 divisors, 22 of them below 50. */
	assert_int_equal(accepted, 68);
}

static void test_options_baud_errors(void **state)
{
	static const char *const bad[] = {"9601",
					  "49",
					  "25",
					  "230400",
					  "96x00",
					  "9600x",
					  "+9600",
					  "-9600",
					  "0x2580",
					  "99999999999999999999999",
					  "18446744073709551616",
					  "9.6k"};
	char line[64], msg[160];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(line, sizeof(line), "baud=%s", bad[i]);
		snprintf(msg, sizeof(msg),
			 "baud: bad value '%s' (expected a divisor of 115200 from 50 to 115200)",
			 bad[i]);
		expect_err(line, msg);
	}
	/* Leading zeros are still the same decimal number. */
	expect_ok("baud=009600");
	assert_int_equal(o.baud, 9600);
}

static void test_options_loglvl_values_and_errors(void **state)
{
	static const struct {
		const char *v;
		enum log_level l;
	} ok[] = {
		{"err", LOG_ERR}, {"warn", LOG_WARN}, {"info", LOG_INFO}, {"debug", LOG_DEBUG},
		{"0", LOG_ERR},	  {"1", LOG_WARN},    {"2", LOG_INFO},	  {"3", LOG_DEBUG},
	};
	static const char *const bad[] = {"4", "-1", "00", "ERR", "verbose", "inf", "debug2"};
	char line[64], msg[160];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(line, sizeof(line), "loglvl=%s", ok[i].v);
		expect_ok(line);
		assert_int_equal(o.loglvl, ok[i].l);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(line, sizeof(line), "loglvl=%s", bad[i]);
		snprintf(msg, sizeof(msg),
			 "loglvl: bad value '%s' (expected err, warn, info, debug or 0..3)",
			 bad[i]);
		expect_err(line, msg);
	}
}

static void test_options_exit_values_and_errors(void **state)
{
	(void)state;
	expect_ok("exit=halt");
	assert_int_equal(o.exit_mode, EXIT_HALT);
	expect_ok("exit=poweroff");
	assert_int_equal(o.exit_mode, EXIT_POWEROFF);
	expect_ok("exit=debugexit");
	assert_int_equal(o.exit_mode, EXIT_DEBUGEXIT);
	expect_err("exit=reboot",
		   "exit: bad value 'reboot' (expected halt, poweroff or debugexit)");
	expect_err("exit=Halt", "exit: bad value 'Halt' (expected halt, poweroff or debugexit)");
	expect_err("exit=halt=1",
		   "exit: bad value 'halt=1' (expected halt, poweroff or debugexit)");
}

static void test_options_all_together(void **state)
{
	(void)state;
	expect_ok("console=com2 baud=38400 loglvl=debug exit=debugexit");
	assert_int_equal(o.console_port, 0x2f8);
	assert_int_equal(o.baud, 38400);
	assert_int_equal(o.loglvl, LOG_DEBUG);
	assert_int_equal(o.exit_mode, EXIT_DEBUGEXIT);
	expect_ok("\tconsole=none\n\nexit=poweroff   ");
	assert_int_equal(o.console_port, 0);
	assert_int_equal(o.exit_mode, EXIT_POWEROFF);
	assert_int_equal(o.baud, 115200);
}

static void test_options_image_path_first_word_skipped(void **state)
{
	(void)state;
	expect_ok("/boot/mhv.elf console=com2");
	assert_int_equal(o.console_port, 0x2f8);
	expect_ok("(hd0,gpt2)/boot/mhv.elf baud=9600");
	assert_int_equal(o.baud, 9600);
	expect_ok("   /boot/mhv.elf");
	expect_ok("/");
	expect_ok("(");
	/* Only the first word can be the path. */
	expect_err("console=com2 /boot/mhv.elf", "unknown option '/boot/mhv.elf'");
	expect_err("/boot/mhv.elf /boot/other", "unknown option '/boot/other'");
	/* A first word that is not a path is parsed as an option. */
	expect_err("boot/mhv.elf console=com2", "unknown option 'boot/mhv.elf'");
}

static void test_options_unknown_and_valueless(void **state)
{
	(void)state;
	expect_err("foo=1", "unknown option 'foo=1'");
	expect_err("foo", "unknown option 'foo'");
	expect_err("=1", "unknown option '=1'");
	expect_err("=", "unknown option '='");
	expect_err("consol=com1", "unknown option 'consol=com1'");
	expect_err("console2=com1", "unknown option 'console2=com1'");
	expect_err("Console=com1", "unknown option 'Console=com1'");
	expect_err("baud", "option 'baud' needs a value");
	expect_err("baud=", "option 'baud' needs a value");
	expect_err("console", "option 'console' needs a value");
	expect_err("loglvl=", "option 'loglvl' needs a value");
	expect_err("exit", "option 'exit' needs a value");
	/* The first error wins. */
	expect_err("baud=7 foo=1", "baud: bad value '7' (expected a divisor of 115200 from 50 to "
				   "115200)");
}

static void test_options_repeated_last_wins(void **state)
{
	(void)state;
	expect_ok("baud=9600 console=com3 baud=57600 loglvl=err loglvl=3 console=0x2e8");
	assert_int_equal(o.baud, 57600);
	assert_int_equal(o.loglvl, LOG_DEBUG);
	assert_int_equal(o.console_port, 0x2e8);
}

/* A failing line leaves every field as it was, even those set by earlier good words. */
static void test_options_error_leaves_struct_unchanged(void **state)
{
	struct hv_options before = {
		.console_port = 0x2f8, .baud = 600, .loglvl = LOG_WARN, .exit_mode = EXIT_POWEROFF};
	struct hv_options cur = before;

	(void)state;
	assert_int_equal(options_parse(&cur, "console=none baud=9600 loglvl=debug exit=bogus", err,
				       sizeof(err)),
			 -E_INVAL);
	assert_same_options(&cur, &before);
	/* Success starts from the current values, not the defaults. */
	assert_int_equal(options_parse(&cur, "baud=1200", err, sizeof(err)), 0);
	assert_int_equal(cur.baud, 1200);
	assert_int_equal(cur.console_port, 0x2f8);
	assert_int_equal(cur.loglvl, LOG_WARN);
	assert_int_equal(cur.exit_mode, EXIT_POWEROFF);
}

static void test_options_long_words_do_not_overflow_err(void **state)
{
	enum { LONG = 5000, SMALL = 24, CANARY = 16 };
	char *line = malloc(LONG + 16);
	char small[SMALL + CANARY];
	char want[ERR_LEN];
	size_t i;

	(void)state;
	assert_non_null(line);
	memset(line, 'a', LONG);
	line[LONG] = '\0';
	/* The error quotes at most 64 characters and marks the cut. */
	assert_int_equal(parse(line), -E_INVAL);
	snprintf(want, sizeof(want), "unknown option '%.64s...'", line);
	assert_string_equal(err, want);
	memset(small, 'C', sizeof(small));
	assert_int_equal(options_parse(&o, line, small, SMALL), -E_INVAL);
	assert_int_equal(strlen(small), SMALL - 1);
	assert_memory_equal(small, "unknown option 'aaaaaaa", SMALL - 1);
	for (i = SMALL; i < sizeof(small); i++)
		assert_int_equal(small[i], 'C');

	/* A long value is cut the same way. */
	memcpy(line, "console=", 8);
	assert_int_equal(parse(line), -E_INVAL);
	snprintf(want, sizeof(want),
		 "console: bad value '%.64s...' (expected com1..com4, pci, none or 0xPORT)", line + 8);
	assert_string_equal(err, want);
	/* Exactly 64 characters: quoted whole, no marker. */
	line[8 + 64] = '\0';
	assert_int_equal(parse(line), -E_INVAL);
	snprintf(want, sizeof(want),
		 "console: bad value '%s' (expected com1..com4, pci, none or 0xPORT)", line + 8);
	assert_string_equal(err, want);
	free(line);
}

static void test_options_err_null_or_zero_length(void **state)
{
	char one = 'Z';

	(void)state;
	options_defaults(&o);
	assert_int_equal(options_parse(&o, "foo=1", NULL, 0), -E_INVAL);
	assert_int_equal(options_parse(&o, "foo=1", NULL, 50), -E_INVAL);
	assert_int_equal(options_parse(&o, "foo=1", &one, 0), -E_INVAL);
	assert_int_equal(one, 'Z');
	assert_int_equal(options_parse(&o, "foo=1", &one, 1), -E_INVAL);
	assert_int_equal(one, '\0');
	assert_int_equal(options_parse(&o, "baud=300", NULL, 0), 0);
	assert_int_equal(o.baud, 300);
}

static void assert_spec(unsigned i, enum mmio_dev_type t, uint64_t base, uint64_t size)
{
	assert_int_equal(o.mmio[i].type, t);
	assert_int_equal(o.mmio[i].base, base);
	assert_int_equal(o.mmio[i].size, size);
}

static void test_options_mmio_collects_in_order(void **state)
{
	(void)state;
	expect_ok("mmio=ram@0xff000000+0x10000 loglvl=debug mmio=trace@0xfebd0000+0x1000 "
		  "mmio=deny@0xfee00000+4K");
	assert_int_equal(o.nr_mmio, 3);
	assert_spec(0, MMIO_DEV_RAM, 0xff000000, 0x10000);
	assert_spec(1, MMIO_DEV_TRACE, 0xfebd0000, 0x1000);
	assert_spec(2, MMIO_DEV_DENY, 0xfee00000, 0x1000);
	assert_int_equal(o.loglvl, LOG_DEBUG);
	/* Adjacent regions do not overlap. */
	expect_ok("mmio=ram@0x1000+0x1000 mmio=deny@0x2000+0x1000 mmio=trace@0+4K");
	assert_int_equal(o.nr_mmio, 3);
	assert_spec(2, MMIO_DEV_TRACE, 0, 0x1000);
}

static void test_options_mmio_overlap_names_both(void **state)
{
	(void)state;
	expect_err("mmio=ram@0xff000000+0x10000 mmio=deny@0xff00f000+0x1000",
		   "mmio: 'deny@0xff00f000+0x1000' overlaps 'ram@0xff000000+0x10000'");
	expect_err("mmio=trace@1M+1M mmio=ram@0x0+0x1000 mmio=deny@0+2M",
		   "mmio: 'deny@0+2M' overlaps 'trace@0x100000+0x100000'");
	expect_err("mmio=ram@0x1000+0x1000 mmio=ram@0x1000+0x1000",
		   "mmio: 'ram@0x1000+0x1000' overlaps 'ram@0x1000+0x1000'");
	expect_err("mmio=deny@0xfffffffffffff000+4K mmio=ram@0x8000000000000000+0x8000000000000000",
		   "mmio: 'ram@0x8000000000000000+0x8000000000000000' overlaps "
		   "'deny@0xfffffffffffff000+0x1000'");
}

static void test_options_mmio_at_most_16(void **state)
{
	char line[1024];
	size_t n = 0;
	unsigned i;

	(void)state;
	assert_int_equal(MMIO_MAX_SPECS, 16);
	for (i = 0; i < MMIO_MAX_SPECS; i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, "mmio=deny@%u+4K ", i * 8192);
	expect_ok(line);
	assert_int_equal(o.nr_mmio, 16);
	for (i = 0; i < MMIO_MAX_SPECS; i++)
		assert_spec(i, MMIO_DEV_DENY, i * 8192, 4096);
	snprintf(line + n, sizeof(line) - n, "mmio=ram@1G+4K");
	expect_err(line, "mmio: too many regions (at most 16)");
}

static void test_options_mmio_value_errors_come_from_the_spec_parser(void **state)
{
	(void)state;
	expect_err("mmio=rom@0x1000+0x1000", "mmio: unknown device type 'rom' (expected ram, trace "
					     "or deny) in 'rom@0x1000+0x1000'");
	expect_err("mmio=ram@0x1000+0x1001", "mmio: size 0x1001 is not a multiple of 4 KiB in "
					     "'ram@0x1000+0x1001'");
	expect_err("mmio=ram@0x1000+0x1000 mmio=ram@0x3000+0", "mmio: size is 0 in 'ram@0x3000+0'");
	expect_err("mmio", "option 'mmio' needs a value");
	expect_err("mmio=", "option 'mmio' needs a value");
	expect_err("mmios=ram@0+4K", "unknown option 'mmios=ram@0+4K'");
}

static void test_options_mmio_cache_on_off(void **state)
{
	(void)state;
	expect_ok("mmio_cache=off");
	assert_false(o.mmio_cache);
	expect_ok("mmio_cache=off mmio_cache=on");
	assert_true(o.mmio_cache);
	expect_err("mmio_cache=1", "mmio_cache: bad value '1' (expected on or off)");
	expect_err("mmio_cache=ON", "mmio_cache: bad value 'ON' (expected on or off)");
	expect_err("mmio_cache=", "option 'mmio_cache' needs a value");
}

static void test_options_amdvi_nmipass(void **state)
{
	(void)state;
	expect_ok("");
	assert_false(o.amdvi_nmipass);
	expect_ok("amdvi_nmipass=on");
	assert_true(o.amdvi_nmipass);
	expect_ok("amdvi_nmipass=on amdvi_nmipass=off");
	assert_false(o.amdvi_nmipass);
	expect_err("amdvi_nmipass=yes", "amdvi_nmipass: bad value 'yes' (expected on or off)");
}

static void test_options_bench_on_off(void **state)
{
	(void)state;
	expect_ok("");
	assert_false(o.bench);
	expect_ok("bench=on");
	assert_true(o.bench);
	expect_ok("bench=on bench=off");
	assert_false(o.bench);
	expect_err("bench=yes", "bench: bad value 'yes' (expected on or off)");
}

static void test_options_console_guest_prefix_on_off(void **state)
{
	(void)state;
	expect_ok("console_guest_prefix=on");
	assert_true(o.console_guest_prefix);
	expect_ok("console_guest_prefix=on console_guest_prefix=off");
	assert_false(o.console_guest_prefix);
	expect_err("console_guest_prefix=yes",
		   "console_guest_prefix: bad value 'yes' (expected on or off)");
	expect_err("console_guest_prefix", "option 'console_guest_prefix' needs a value");
	expect_err("console_guest=on", "unknown option 'console_guest=on'");
}

/* break=: the monitor's break-in sequence (default ^]^], i.e. 0x1D 0x1D), or off. */
static void test_options_break_sequence(void **state)
{
	(void)state;
	expect_ok("");
	assert_true(o.break_in);
	assert_int_equal(o.break_seq.len, 2);
	assert_int_equal(o.break_seq.seq[0], 0x1D);
	assert_int_equal(o.break_seq.seq[1], 0x1D);
	expect_ok("break=^A^Ax");
	assert_true(o.break_in);
	assert_int_equal(o.break_seq.len, 3);
	assert_int_equal(o.break_seq.seq[0], 0x01);
	assert_int_equal(o.break_seq.seq[2], 'x');
	expect_ok("break=off");
	assert_false(o.break_in);
	expect_ok("break=off break=^]^]");
	assert_true(o.break_in);
	expect_err("break=abc^", "break: 'abc^' is no sequence (printable characters, ^X for "
				 "Ctrl-X, at most 8 bytes)");
	expect_err("break=123456789", "break: '123456789' is no sequence (printable characters, "
				      "^X for Ctrl-X, at most 8 bytes)");
	expect_err("break=^A^A^A^A^A^A^A^A^A", "break: '^A^A^A^A^A^A^A^A^A' is longer than 8 "
					       "characters");
}

static void test_options_guest_module_or_none(void **state)
{
	(void)state;
	expect_ok("guest=none");
	assert_true(o.no_guest);
	expect_ok("guest=none guest=module");
	assert_false(o.no_guest);
	expect_err("guest=off", "guest: bad value 'off' (expected module or none)");
	expect_err("guest=", "option 'guest' needs a value");
}

static void test_options_iommu_auto_required_off(void **state)
{
	(void)state;
	expect_ok("iommu=required");
	assert_int_equal(o.iommu, IOMMU_REQUIRED);
	expect_ok("iommu=off");
	assert_int_equal(o.iommu, IOMMU_OFF);
	expect_ok("iommu=off iommu=auto");
	assert_int_equal(o.iommu, IOMMU_AUTO);
	expect_err("iommu=on", "iommu: bad value 'on' (expected auto, required or off)");
	expect_err("iommu=", "option 'iommu' needs a value");
	expect_err("iommu=REQUIRED", "iommu: bad value 'REQUIRED' (expected auto, required or off)");
}

static void test_options_gdb_port_and_wait(void **state)
{
	(void)state;
	expect_ok("");
	assert_int_equal(o.gdb_port, 0);
	assert_false(o.gdb_wait);
	expect_ok("gdb=com2");
	assert_int_equal(o.gdb_port, OPT_COM2_PORT);
	assert_false(o.gdb_wait);
	expect_ok("gdb=com2,wait");
	assert_int_equal(o.gdb_port, OPT_COM2_PORT);
	assert_true(o.gdb_wait);
	expect_ok("gdb=0x2e8,wait gdb=com4");
	assert_int_equal(o.gdb_port, OPT_COM4_PORT);
	assert_false(o.gdb_wait);
	expect_ok("gdb=com3 gdb=none");
	assert_int_equal(o.gdb_port, 0);
	/* The console moved away from COM1: gdb may have it. */
	expect_ok("console=com2 gdb=com1");
	assert_int_equal(o.gdb_port, OPT_COM1_PORT);
	expect_err("gdb=com1", "gdb: port 0x3f8 is the console's: give gdb a UART of its own");
	expect_err("gdb=com2 console=com2",
		   "gdb: port 0x2f8 is the console's: give gdb a UART of its own");
	expect_err("gdb=com5", "gdb: bad value 'com5' (expected com1..com4 or 0xPORT, optionally "
			       "followed by ,wait; or none)");
	expect_err("gdb=,wait", "gdb: bad value ',wait' (expected com1..com4 or 0xPORT, optionally "
				"followed by ,wait; or none)");
	expect_err("gdb=com2,nowait", "gdb: bad value 'com2,nowait' (expected com1..com4 or "
				      "0xPORT, optionally followed by ,wait; or none)");
	expect_err("gdb=", "option 'gdb' needs a value");
}

/* A failing word after good mmio= words leaves the list as it was before the line. */
static void test_options_mmio_error_leaves_list_unchanged(void **state)
{
	struct hv_options cur, before;

	(void)state;
	options_defaults(&cur);
	assert_int_equal(options_parse(&cur, "mmio=ram@0x1000+4K", err, sizeof(err)), 0);
	before = cur;
	assert_int_equal(
		options_parse(&cur, "mmio=deny@0x2000+4K mmio_cache=off baud=7", err, sizeof(err)),
		-E_INVAL);
	assert_same_options(&cur, &before);
	/* A later line appends to what is there. */
	assert_int_equal(options_parse(&cur, "mmio=deny@0x2000+4K", err, sizeof(err)), 0);
	assert_int_equal(cur.nr_mmio, 2);
	assert_int_equal(cur.mmio[1].base, 0x2000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_options_defaults),
		cmocka_unit_test(test_options_empty_and_whitespace_lines),
		cmocka_unit_test(test_options_console_values),
		cmocka_unit_test(test_options_console_errors),
		cmocka_unit_test(test_options_baud_accepts_exactly_the_divisors),
		cmocka_unit_test(test_options_baud_errors),
		cmocka_unit_test(test_options_loglvl_values_and_errors),
		cmocka_unit_test(test_options_exit_values_and_errors),
		cmocka_unit_test(test_options_all_together),
		cmocka_unit_test(test_options_image_path_first_word_skipped),
		cmocka_unit_test(test_options_unknown_and_valueless),
		cmocka_unit_test(test_options_repeated_last_wins),
		cmocka_unit_test(test_options_error_leaves_struct_unchanged),
		cmocka_unit_test(test_options_long_words_do_not_overflow_err),
		cmocka_unit_test(test_options_err_null_or_zero_length),
		cmocka_unit_test(test_options_mmio_collects_in_order),
		cmocka_unit_test(test_options_mmio_overlap_names_both),
		cmocka_unit_test(test_options_mmio_at_most_16),
		cmocka_unit_test(test_options_mmio_value_errors_come_from_the_spec_parser),
		cmocka_unit_test(test_options_mmio_cache_on_off),
		cmocka_unit_test(test_options_amdvi_nmipass),
		cmocka_unit_test(test_options_bench_on_off),
		cmocka_unit_test(test_options_mmio_error_leaves_list_unchanged),
		cmocka_unit_test(test_options_console_guest_prefix_on_off),
		cmocka_unit_test(test_options_break_sequence),
		cmocka_unit_test(test_options_guest_module_or_none),
		cmocka_unit_test(test_options_iommu_auto_required_off),
		cmocka_unit_test(test_options_gdb_port_and_wait),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
