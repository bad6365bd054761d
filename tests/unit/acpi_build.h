/* Building ACPI tables byte by byte for the DMAR/IVRS parser tests. */
#ifndef MHV_TESTS_UNIT_ACPI_BUILD_H
#define MHV_TESTS_UNIT_ACPI_BUILD_H

#include <stdint.h>
#include <string.h>

#define TBL_MAX 4096

struct tbl {
	uint8_t b[TBL_MAX];
	size_t n;
};

static inline void put8(struct tbl *t, uint8_t v)
{
	t->b[t->n++] = v;
}

static inline void put16(struct tbl *t, uint16_t v)
{
	put8(t, (uint8_t)v);
	put8(t, (uint8_t)(v >> 8));
}

static inline void put32(struct tbl *t, uint32_t v)
{
	put16(t, (uint16_t)v);
	put16(t, (uint16_t)(v >> 16));
}

static inline void put64(struct tbl *t, uint64_t v)
{
	put32(t, (uint32_t)v);
	put32(t, (uint32_t)(v >> 32));
}

static inline void put_zeros(struct tbl *t, size_t n)
{
	while (n--)
		put8(t, 0);
}

/* The 36-byte ACPI header; length and checksum are fixed by tbl_finish. */
static inline void tbl_header(struct tbl *t, const char *sig)
{
	t->n = 0;
	memcpy(t->b, sig, 4);
	t->n = 4;
	put32(t, 0);
	put8(t, 1);
	put8(t, 0);
	put_zeros(t, 26);
}

static inline void set16(struct tbl *t, size_t off, uint16_t v)
{
	t->b[off] = (uint8_t)v;
	t->b[off + 1] = (uint8_t)(v >> 8);
}

/* Length = bytes written; checksum so the byte sum is zero. */
static inline void tbl_finish(struct tbl *t)
{
	uint8_t sum = 0;

	t->b[4] = (uint8_t)t->n;
	t->b[5] = (uint8_t)(t->n >> 8);
	t->b[6] = t->b[7] = 0;
	t->b[9] = 0;
	for (size_t i = 0; i < t->n; i++)
		sum = (uint8_t)(sum + t->b[i]);
	t->b[9] = (uint8_t)-sum;
}

#endif
