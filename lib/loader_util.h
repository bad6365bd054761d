/*
 * What the guest-kernel loaders (guest_boot.c: multiboot ELF, linux_boot.c: bzImage) share:
 * unaligned little-endian field access to images and boot structures, range overlap, and the
 * error-text convention (a message in err[errlen], the code returned).
 */
#ifndef MHV_LIB_LOADER_UTIL_H
#define MHV_LIB_LOADER_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/compiler.h"
#include "lib/fmt.h"
#include "lib/string.h"

static inline uint16_t ld_rd16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint32_t ld_rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint64_t ld_rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline void ld_wr32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

static inline void ld_wr64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));
}

/* Half-open ranges that never wrap (checked where they are made). */
static inline bool ld_overlaps(uint64_t a, uint64_t aend, uint64_t b, uint64_t bend)
{
	return a < bend && b < aend;
}

/* Format the message into err (when given) and return code. */
static inline int __printf(4, 5) ld_fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;

		va_start(ap, fmt);
		fmt_vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

#endif
