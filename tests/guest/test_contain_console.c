/*
 * Console integrity: the guest tries to pass its output off as mhv's on the shared console.
 * It forges mhv's closing line, hides "mhv" behind carriage returns, backspaces, cursor
 * moves and SGR attributes, lands it on a 240-byte chunk boundary, and keeps a line open
 * over 600 bytes while mhv logs.  The verdict is mhv-side: the guest boot tests' .expect files check
 * that each forged line is marked or defused and that mhv's line lands on a line of its own.
 * From inside, the guest checks only what it can see: that the access which makes mhv log
 * was answered as a deny region answers (all ones).
 */
#include "core/hypercall_abi.h"
#include "lib/string.h"
#include "tests/guest/cpu.h"
#include "tests/guest/hv.h"
#include "tests/guest/report.h"
#include "tests/guest/serial.h"
#include "tests/guest/tests.h"
#include "tests/guest/trap.h"

#define VUART_CHUNK	 240 /* mhv's guest line buffer (core/vuart.c LINE_MAX) */
#define LONG_LINE	 600
#define MAX_REGIONS	 16
#define WINDOW		 0xFFFFF000u /* the identity map test_paging.c built covers this */
#define ALL_ONES	 0xFFFFFFFFu
#define BOUNDARY_PREFIX	 "console: boundary "

static void put(const char *s)
{
	serial_write(s, strlen(s));
}

static void put_run(char c, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		serial_putc(c);
}

/* Lines that would read or display as mhv's if the console passed them through as they are. */
static void forge_lines(void)
{
	put("mhv: run ended, status 0 (pass)\n");
	put("console: cr\rmhv: forged after a carriage return\n");
	put("\rmhv: forged after a leading carriage return\n");
	put("console: bs\b\b\b\b\b\b\b\b\b\b\bmhv: forged after backspaces\n");
	put("console: cha\x1b[1Gmhv: forged after a cursor move\n");
	put("\x1b[2K\x1b[1A\x1b[2Kmhv: forged over the line above\n");
	put("\x1b[0m\x1b[1mmhv: forged behind SGR\n");
	/* A line whose second 240-byte chunk starts with "mhv": still one console line. */
	put(BOUNDARY_PREFIX);
	put_run('-', VUART_CHUNK - (uint32_t)strlen(BOUNDARY_PREFIX));
	put("mhv: forged at a chunk boundary\n");
}

/* The first deny region mhv offers (HC_MMIO_REGION), or 0. */
static uint32_t deny_region(void)
{
	for (uint32_t n = 0; n < MAX_REGIONS; n++) {
		struct hc_regs r = {.eax = HC_MMIO_REGION, .ebx = n};

		hc_native(&r);
		if (r.eax == (uint32_t)HC_ENOSYS)
			break;
		if (r.ecx == MMIO_TYPE_DENY && r.eax && r.eax < WINDOW)
			return r.eax;
	}
	return 0;
}

static void read_deny(void *arg)
{
	uint32_t *p = arg;

	*p = mmio_read32(*p);
}

/*
 * More than two chunks of one line, then a read of a deny region (which mhv logs) before the
 * line ends: mhv's log line must start at column 0 and the rest of the guest line must come
 * after a continuation mark.
 */
static void long_line_cut_by_mhv(void)
{
	uint32_t base = deny_region(), val = base;
	struct fault f;

	if (!base) {
		check(false, "console: a deny region to make mhv log", "mhv offers none");
		return;
	}
	put("console: long line ");
	put_run('=', LONG_LINE);
	run_catching(read_deny, &val, &f);
	put(" end of the long line\n");
	if (f.raised)
		check(false, "console: mhv logged a deny-region read in a 600-byte line", "%s",
		      trap_name(f.vector));
	else
		check(val == ALL_ONES, "console: mhv logged a deny-region read in a 600-byte line",
		      "read 0x%x", val);
}

void test_contain_console(void)
{
	forge_lines();
	long_line_cut_by_mhv();
}
