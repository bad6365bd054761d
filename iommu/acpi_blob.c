/* Bounds-checked reading of firmware ACPI tables.  See iommu/acpi_blob.h. */
#include "iommu/acpi_blob.h"

#include <stdarg.h>

#include "lib/errno.h"
#include "lib/fmt.h"
#include "lib/string.h"

#define ACPI_SIG_BYTES 4

int acpi_blob_fail(const struct acpi_blob *b, size_t off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!b->errlen)
		return -E_INVAL;
	n = fmt_snprintf(b->err, b->errlen, "%s: offset 0x%zx: ", b->what, off);
	if (n >= 0 && (size_t)n < b->errlen) {
		va_start(ap, fmt);
		fmt_vsnprintf(b->err + n, b->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -E_INVAL;
}

int acpi_blob_open(struct acpi_blob *b, const void *table, size_t avail, const char *sig,
		   size_t min_len, char *err, size_t errlen)
{
	uint8_t sum = 0;
	uint32_t len;

	b->p = table;
	b->len = 0;
	b->what = sig;
	b->err = err;
	b->errlen = err ? errlen : 0;
	if (b->errlen)
		err[0] = '\0';
	if (!table || avail < ACPI_HDR_LEN)
		return acpi_blob_fail(b, 0, "table shorter than its header");
	if (memcmp(table, sig, ACPI_SIG_BYTES))
		return acpi_blob_fail(b, 0, "signature is not %s", sig);
	len = blob_u32(b, ACPI_HDR_LENGTH);
	if (len > avail)
		return acpi_blob_fail(b, ACPI_HDR_LENGTH, "length %u runs past the %zu bytes mapped",
				      len, avail);
	if (len < min_len)
		return acpi_blob_fail(b, ACPI_HDR_LENGTH, "length %u is below the minimum %zu", len,
				      min_len);
	for (uint32_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + b->p[i]);
	if (sum)
		return acpi_blob_fail(b, 0, "checksum fails (byte sum 0x%02x)", sum);
	b->len = len;
	return 0;
}
