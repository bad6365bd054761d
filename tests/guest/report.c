/* Check bookkeeping and formatted output over COM1. */
#include <stddef.h>

#include <stdarg.h>

#include "lib/fmt.h"
#include "tests/guest/hv.h"
#include "tests/guest/report.h"
#include "tests/guest/serial.h"
#include "tests/guest/trap.h"

static uint32_t passed, failed;

static void serial_sink(void *ctx, const char *s, size_t n)
{
	(void)ctx;
	serial_write(s, n);
}

static void vgprintf(const char *fmt, va_list ap)
{
	fmt_vformat(serial_sink, NULL, fmt, ap);
}

void gprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vgprintf(fmt, ap);
	va_end(ap);
}

void check(bool ok, const char *what, const char *detail_fmt, ...)
{
	va_list ap;

	if (ok) {
		passed++;
		gprintf("PASS guest: %s\n", what);
		return;
	}
	failed++;
	gprintf("FAIL guest: %s: ", what);
	va_start(ap, detail_fmt);
	vgprintf(detail_fmt, ap);
	va_end(ap);
	gprintf("\n");
}

void check_either(bool ok, const char *pass_what, const char *fail_what)
{
	if (ok) {
		passed++;
		gprintf("PASS guest: %s\n", pass_what);
	} else {
		failed++;
		gprintf("FAIL guest: %s\n", fail_what);
	}
}

void check_eq(const char *what, uint64_t got, uint64_t want)
{
	check(got == want, what, "got 0x%llx, expected 0x%llx", (unsigned long long)got,
	      (unsigned long long)want);
}

void check_fault(const char *what, const struct fault *f, uint32_t want_vector)
{
	if (!f->raised)
		check(false, what, "no exception, expected %s", trap_name(want_vector));
	else
		check(f->vector == want_vector, what, "%s (error code 0x%x) at 0x%x, expected %s",
		      trap_name(f->vector), f->errcode, f->eip, trap_name(want_vector));
}

void check_no_fault(const char *what, const struct fault *f)
{
	check(!f->raised, what, "%s (error code 0x%x) at 0x%x", trap_name(f->vector), f->errcode,
	      f->eip);
}

uint32_t checks_failed(void)
{
	return failed;
}

void report_finish(void)
{
	gprintf("guest: %u passed, %u failed\n", passed, failed);
	guest_end(failed ? 1 : 0);
}
