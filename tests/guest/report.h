/*
 * The guest's output protocol on COM1: one line per check, "PASS guest: <what>" or
 * "FAIL guest: <what>: <detail>", then "guest: N passed, M failed" and the end of the run.
 * Other lines (starting "guest: ") are informational and are not counted by the harness.
 */
#ifndef MHV_TESTS_GUEST_REPORT_H
#define MHV_TESTS_GUEST_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/compiler.h"

struct fault;

void gprintf(const char *fmt, ...) __printf(1, 2);

/* One check: PASS if ok, else FAIL with the formatted detail. */
void check(bool ok, const char *what, const char *detail_fmt, ...) __printf(3, 4);
/* One check whose PASS and FAIL lines say different things and carry no detail. */
void check_either(bool ok, const char *pass_what, const char *fail_what);
void check_eq(const char *what, uint64_t got, uint64_t want);
/* PASS if f records an exception with this vector. */
void check_fault(const char *what, const struct fault *f, uint32_t want_vector);
/* PASS if f records no exception. */
void check_no_fault(const char *what, const struct fault *f);

uint32_t checks_failed(void);

/* Print the summary and end the run: status 0 if every check passed. */
__noreturn void report_finish(void);

#endif
