/*
 * Reading a firmware ACPI table that mhv does not trust: bounds-checked little-endian loads from
 * a byte buffer and one error message per refusal.  Shared by the DMAR and IVRS parsers.
 */
#ifndef MHV_IOMMU_ACPI_BLOB_H
#define MHV_IOMMU_ACPI_BLOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/compiler.h"

#define ACPI_HDR_LEN	  36 /* signature, length, revision, checksum, OEM ids, creator */
#define ACPI_HDR_LENGTH	  4  /* offset of the table's length field */

struct acpi_blob {
	const uint8_t *p;
	size_t len; /* the table's own length, checked against what the caller could read */
	const char *what; /* "DMAR", "IVRS": the first word of every message */
	char *err;
	size_t errlen;
};

static inline uint8_t blob_u8(const struct acpi_blob *b, size_t off)
{
	return b->p[off];
}

static inline uint16_t blob_u16(const struct acpi_blob *b, size_t off)
{
	return (uint16_t)(b->p[off] | (uint16_t)b->p[off + 1] << 8);
}

static inline uint32_t blob_u32(const struct acpi_blob *b, size_t off)
{
	return (uint32_t)blob_u16(b, off) | (uint32_t)blob_u16(b, off + 2) << 16;
}

static inline uint64_t blob_u64(const struct acpi_blob *b, size_t off)
{
	return (uint64_t)blob_u32(b, off) | (uint64_t)blob_u32(b, off + 4) << 32;
}

/*
 * Check the header: signature sig, a length that fits in avail and covers min_len, a zero
 * byte sum.  Sets b->len.  Returns 0 or -E_INVAL with a message.
 */
int acpi_blob_open(struct acpi_blob *b, const void *table, size_t avail, const char *sig,
		   size_t min_len, char *err, size_t errlen);

/* Write "WHAT: offset 0xOFF: message" into the error buffer; returns -E_INVAL. */
int acpi_blob_fail(const struct acpi_blob *b, size_t off, const char *fmt, ...) __printf(3, 4);

#endif
