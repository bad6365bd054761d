/* The GDB stub's thread packets (lib/gdb_threads.c) against a fake three-vCPU guest: thread 3
 * waits for a STARTUP IPI and has no registers to show. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lib/gdb_stub.h"

#define NR_THREADS 3

struct fake {
	unsigned sel; /* 1-based */
	uint64_t rax[NR_THREADS + 1];
	char out[65536];
	size_t out_len;
};

static struct fake fk;
static struct gdb_stub stub;

static bool f_wide(void *ctx)
{
	(void)ctx;
	return true;
}

static uint64_t f_reg_get(void *ctx, enum gdb_reg r)
{
	struct fake *f = ctx;

	return r == GDB_REG_RAX ? f->rax[f->sel] : 0;
}

static bool f_reg_set(void *ctx, enum gdb_reg r, uint64_t v)
{
	struct fake *f = ctx;

	if (r != GDB_REG_RAX)
		return false;
	f->rax[f->sel] = v;
	return true;
}

static unsigned f_mem(void *ctx, uint64_t la, void *buf, unsigned len)
{
	(void)ctx;
	(void)la;
	(void)buf;
	(void)len;
	return 0;
}

static unsigned f_mem_write(void *ctx, uint64_t la, const void *buf, unsigned len)
{
	(void)ctx;
	(void)la;
	(void)buf;
	(void)len;
	return 0;
}

static void f_debug_regs(void *ctx, const struct gdb_hwbps *b)
{
	(void)ctx;
	(void)b;
}

static void f_write(void *ctx, const char *s, size_t n)
{
	struct fake *f = ctx;

	assert_true(f->out_len + n < sizeof(f->out));
	memcpy(f->out + f->out_len, s, n);
	f->out_len += n;
	f->out[f->out_len] = '\0';
}

static int f_getc(void *ctx)
{
	(void)ctx;
	return -1;
}

static unsigned f_threads(void *ctx)
{
	(void)ctx;
	return NR_THREADS;
}

static bool f_select(void *ctx, unsigned tid)
{
	struct fake *f = ctx;

	if (tid < 1 || tid > NR_THREADS)
		return false;
	f->sel = tid;
	return true;
}

static bool f_thread_regs(void *ctx)
{
	return ((struct fake *)ctx)->sel != NR_THREADS;
}

static void f_thread_info(void *ctx, unsigned tid, char *buf, size_t size)
{
	(void)ctx;
	snprintf(buf, size, "vCPU %u%s", tid - 1, tid == NR_THREADS ? ", waiting for SIPI" : "");
}

static const struct gdb_target fake_target = {
	.wide = f_wide,
	.reg_get = f_reg_get,
	.reg_set = f_reg_set,
	.mem_read = f_mem,
	.mem_write = f_mem_write,
	.debug_regs = f_debug_regs,
	.write = f_write,
	.getc = f_getc,
	.threads = f_threads,
	.select_thread = f_select,
	.thread_regs = f_thread_regs,
	.thread_info = f_thread_info,
};

static int setup(void **state)
{
	(void)state;
	memset(&fk, 0, sizeof(fk));
	fk.rax[1] = 0x1111;
	fk.rax[2] = 0x2222;
	gdb_stub_init(&stub, &fake_target, &fk);
	stub.noack = true;
	return 0;
}

/* Send one packet (no-ack mode); return the reply's payload, its checksum checked. */
static const char *ask(const char *payload)
{
	static char reply[65536];
	char framed[512];
	unsigned sum = 0, want;
	size_t start = fk.out_len;
	const char *p, *hash;

	for (const char *q = payload; *q; q++)
		sum += (uint8_t)*q;
	snprintf(framed, sizeof(framed), "$%s#%02x", payload, sum & 0xFF);
	for (const char *q = framed; *q; q++)
		gdb_stub_feed(&stub, (uint8_t)*q);
	p = fk.out + start;
	if (*p == '+') /* the ack: a stop that ended on a closed line left no-ack mode */
		p++;
	assert_int_equal(*p, '$');
	hash = strchr(p, '#');
	assert_non_null(hash);
	sum = 0;
	for (const char *q = p + 1; q < hash; q++)
		sum += (uint8_t)*q;
	assert_int_equal(sscanf(hash + 1, "%2x", &want), 1);
	assert_int_equal(sum & 0xFF, want);
	memcpy(reply, p + 1, (size_t)(hash - p - 1));
	reply[hash - p - 1] = '\0';
	return reply;
}

/* The stop names the thread that stopped, which becomes gdb's current thread. */
static void stop_on(unsigned tid)
{
	gdb_stub_stopped(&stub, &(struct gdb_stop){.signal = 5, .slot = -1, .thread = tid},
			 false);
}

static void test_thread_list_and_extra_info(void **state)
{
	(void)state;
	stop_on(2);
	assert_string_equal(ask("qfThreadInfo"), "m1,2,3");
	assert_string_equal(ask("qsThreadInfo"), "l");
	assert_string_equal(ask("qC"), "QC2");
	assert_string_equal(ask("?"), "T05thread:2;");
	/* "vCPU 2, waiting for SIPI", hex-encoded */
	assert_string_equal(ask("qThreadExtraInfo,3"),
			    "7643505520322c2077616974696e6720666f722053495049");
	assert_string_equal(ask("qThreadExtraInfo,4"), "E01");
	assert_string_equal(ask("T1"), "OK");
	assert_string_equal(ask("T3"), "OK");
	assert_string_equal(ask("T4"), "E01");
	assert_string_equal(ask("T0"), "E01");
	assert_string_equal(ask("Tzz"), "E01");
}

static void test_hg_selects_registers_per_thread(void **state)
{
	(void)state;
	stop_on(2);
	ask("qSupported"); /* a 64-bit guest: the x86-64 layout */
	assert_string_equal(ask("p0"), "2222000000000000");
	assert_string_equal(ask("Hg1"), "OK");
	assert_string_equal(ask("p0"), "1111000000000000");
	assert_string_equal(ask("P0=3333000000000000"), "OK");
	assert_int_equal(fk.rax[1], 0x3333);
	assert_int_equal(fk.rax[2], 0x2222);
	/* 0 and -1: the thread that stopped. */
	assert_string_equal(ask("Hg0"), "OK");
	assert_string_equal(ask("p0"), "2222000000000000");
	assert_string_equal(ask("Hg-1"), "OK");
	assert_string_equal(ask("Hg9"), "E01");
	assert_string_equal(ask("Hx1"), "E01");
	assert_string_equal(ask("Hg"), "E01");
	/* A thread without registers: unavailable on read, refused on write. */
	assert_string_equal(ask("Hg3"), "OK");
	assert_string_equal(ask("p0"), "xxxxxxxxxxxxxxxx");
	assert_string_equal(ask("P0=0100000000000000"), "E01");
	assert_int_equal(strspn(ask("g"), "x"), strlen(ask("g")));
	/* The next stop makes its thread current again. */
	stop_on(1);
	assert_string_equal(ask("p0"), "3333000000000000");
}

/* The action a whole packet asks for (no-ack mode, no reply expected for a resume). */
static enum gdb_action act(const char *payload)
{
	char framed[256];
	unsigned sum = 0;
	enum gdb_action a = GDB_STAY;

	for (const char *q = payload; *q; q++)
		sum += (uint8_t)*q;
	snprintf(framed, sizeof(framed), "$%s#%02x", payload, sum & 0xFF);
	for (const char *q = framed; *q; q++)
		a = gdb_stub_feed(&stub, (uint8_t)*q);
	return a;
}

static void test_vcont_actions(void **state)
{
	(void)state;
	stop_on(2);
	assert_string_equal(ask("vCont?"), "vCont;c;C;s;S;t");
	assert_int_equal(act("vCont;c"), GDB_CONTINUE);
	assert_int_equal(act("vCont;C02"), GDB_CONTINUE);
	assert_int_equal(act("vCont;s"), GDB_STEP);
	assert_int_equal(stub.step_thread, 2); /* no thread named: the one that stopped */
	assert_int_equal(act("vCont;S05:3;c"), GDB_STEP);
	assert_int_equal(stub.step_thread, 3);
	assert_string_equal(ask("Hc7"), "E01");
	assert_string_equal(ask("Hc1"), "OK");
	assert_int_equal(act("s"), GDB_STEP);
	assert_int_equal(stub.step_thread, 1);
	/* Malformed: an error, the guest stays stopped. */
	assert_string_equal(ask("vCont;s:9"), "E01");
	assert_string_equal(ask("vCont;x"), "E01");
	assert_string_equal(ask("vCont;"), "E01");
	assert_string_equal(ask("vCont;C5"), "E01");
	assert_string_equal(ask("vCont;t"), "E01");
	assert_string_equal(ask("vFoo"), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_thread_list_and_extra_info, setup),
		cmocka_unit_test_setup(test_hg_selects_registers_per_thread, setup),
		cmocka_unit_test_setup(test_vcont_actions, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
