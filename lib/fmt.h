/*
 * printf-style formatting without floating point or allocation.
 *
 * Conversions: %d %i %u %x %X %o %p %s %c %%; flags - 0 + space #; width and precision
 * (including *); length modifiers hh h l ll z t j.  %s with NULL prints "(null)"; %p prints
 * "0x" followed by exactly 16 hex digits.  An unsupported conversion (including %n) is copied
 * to the output literally and consumes no argument.
 */
#ifndef MHV_LIB_FMT_H
#define MHV_LIB_FMT_H

#include <stdarg.h>
#include <stddef.h>

#include "lib/compiler.h"

/* Receives the formatted text in pieces; n is never 0 and s is not NUL-terminated. */
typedef void (*fmt_out_fn)(void *ctx, const char *s, size_t n);

/*
 * Stream the formatted text to out.  Returns the number of characters produced, or -E_RANGE
 * when that count (or a width/precision) would exceed INT_MAX; in that case the conversion that
 * would overflow is not emitted.
 */
int fmt_vformat(fmt_out_fn out, void *ctx, const char *fmt, va_list ap);

/*
 * C99 snprintf semantics: writes at most size bytes including the terminating NUL (always
 * written when size > 0; buf may be NULL when size is 0) and returns the length the full
 * output would have had, or a negative code as fmt_vformat.
 */
int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap) __printf(3, 0);
int fmt_snprintf(char *buf, size_t size, const char *fmt, ...) __printf(3, 4);

#endif
