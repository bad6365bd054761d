/* lib/log: whole lines to the sink, partial lines pushed out, and ending mhv's line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/log.h"

#define SINK_MAX 2048

static char sink[SINK_MAX];
static size_t sink_len;
static unsigned sink_calls;

static void sink_write(const char *s, size_t n)
{
	assert_true(sink_len + n < sizeof(sink));
	memcpy(sink + sink_len, s, n);
	sink_len += n;
	sink[sink_len] = '\0';
	sink_calls++;
}

static int setup(void **state)
{
	(void)state;
	log_set_sink(sink_write);
	log_set_level(LOG_INFO);
	log_end_line();
	sink_len = 0;
	sink[0] = '\0';
	sink_calls = 0;
	return 0;
}

static void test_log_whole_lines_in_one_piece(void **state)
{
	(void)state;
	pr_info("mhv: a %d", 1);
	assert_int_equal(sink_len, 0);
	pr_info(" b\n");
	assert_string_equal(sink, "mhv: a 1 b\n");
	assert_int_equal(sink_calls, 1);
	pr_debug("hidden\n");
	assert_string_equal(sink, "mhv: a 1 b\n");
}

static void test_log_end_line_finishes_a_partial_line(void **state)
{
	(void)state;
	pr_info("mhv: exits:");
	log_end_line();
	assert_string_equal(sink, "mhv: exits:\n");
	log_end_line();
	assert_string_equal(sink, "mhv: exits:\n");
}

static void test_log_end_line_after_flush(void **state)
{
	(void)state;
	pr_info("mhv: part");
	log_flush();
	assert_string_equal(sink, "mhv: part");
	log_end_line();
	pr_info("mhv: next\n");
	assert_string_equal(sink, "mhv: part\nmhv: next\n");
}

static void test_log_end_line_on_a_fresh_line_adds_nothing(void **state)
{
	(void)state;
	pr_info("mhv: done\n");
	log_end_line();
	assert_string_equal(sink, "mhv: done\n");
}

static void test_log_long_line_in_pieces_then_ended(void **state)
{
	char text[600];

	(void)state;
	memset(text, 'x', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	pr_info("%s", text);
	assert_true(sink_len > 0 && sink_len < sizeof(text) - 1);
	log_end_line();
	assert_int_equal(sink_len, sizeof(text));
	assert_int_equal(sink[sink_len - 1], '\n');
}

/* Two CPUs building lines at once (the CPU hook says which): each line reaches the sink whole. */
static unsigned fake_cpu;

static unsigned which_cpu(void)
{
	return fake_cpu;
}

static void test_log_lines_of_two_cpus_stay_whole(void **state)
{
	(void)state;
	log_set_cpu_fn(which_cpu);
	fake_cpu = 0;
	pr_info("mhv: cpu 0 exits:");
	fake_cpu = 1;
	pr_info("mhv: cpu 1 exits:");
	fake_cpu = 0;
	pr_info(" cpuid=1\n");
	fake_cpu = 1;
	pr_info(" cpuid=2\n");
	assert_string_equal(sink, "mhv: cpu 0 exits: cpuid=1\nmhv: cpu 1 exits: cpuid=2\n");
	assert_int_equal(sink_calls, 2);
	fake_cpu = 0;
	log_set_cpu_fn(NULL);
}

/* The console lock is recursive per CPU: a holder may log; the lock is free afterwards. */
static void test_console_lock_nests(void **state)
{
	(void)state;
	console_lock();
	pr_info("mhv: under the lock\n");
	console_lock();
	console_unlock();
	console_unlock();
	assert_string_equal(sink, "mhv: under the lock\n");
	/* Another CPU gets it now (it would spin forever if CPU 0 still held it). */
	log_set_cpu_fn(which_cpu);
	fake_cpu = 1;
	console_lock();
	console_unlock();
	fake_cpu = 0;
	log_set_cpu_fn(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_log_whole_lines_in_one_piece, setup),
		cmocka_unit_test_setup(test_log_end_line_finishes_a_partial_line, setup),
		cmocka_unit_test_setup(test_log_end_line_after_flush, setup),
		cmocka_unit_test_setup(test_log_end_line_on_a_fresh_line_adds_nothing, setup),
		cmocka_unit_test_setup(test_log_long_line_in_pieces_then_ended, setup),
		cmocka_unit_test_setup(test_log_lines_of_two_cpus_stay_whole, setup),
		cmocka_unit_test_setup(test_console_lock_nests, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
