/* Removing entries from an ACPI root table.  See iommu/acpi_hide.h. */
#include "iommu/acpi_hide.h"

#include "iommu/acpi_blob.h"
#include "lib/string.h"

#define ACPI_HDR_CHECKSUM 9
#define RSDT_ENTRY	  4
#define XSDT_ENTRY	  8

unsigned acpi_root_drop(uint8_t *root, size_t avail, unsigned entry_size, acpi_drop_fn drop,
			void *ctx)
{
	uint32_t len;
	unsigned n, kept = 0;
	uint8_t sum = 0;

	if ((entry_size != RSDT_ENTRY && entry_size != XSDT_ENTRY) || avail < ACPI_HDR_LEN)
		return 0;
	memcpy(&len, root + ACPI_HDR_LENGTH, sizeof(len));
	if (len < ACPI_HDR_LEN || len > avail)
		return 0;
	n = (len - ACPI_HDR_LEN) / entry_size;
	for (unsigned i = 0; i < n; i++) {
		uint8_t *e = root + ACPI_HDR_LEN + (size_t)i * entry_size;
		uint64_t pa = 0;

		memcpy(&pa, e, entry_size);
		if (drop(ctx, pa))
			continue;
		memmove(root + ACPI_HDR_LEN + (size_t)kept * entry_size, e, entry_size);
		kept++;
	}
	if (kept == n)
		return 0;
	/* The freed tail is zeroed; bytes past the new length no longer count. */
	memset(root + ACPI_HDR_LEN + (size_t)kept * entry_size, 0, (size_t)(n - kept) * entry_size);
	len = (uint32_t)(ACPI_HDR_LEN + (size_t)kept * entry_size);
	memcpy(root + ACPI_HDR_LENGTH, &len, sizeof(len));
	root[ACPI_HDR_CHECKSUM] = 0;
	for (uint32_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + root[i]);
	root[ACPI_HDR_CHECKSUM] = (uint8_t)-sum;
	return n - kept;
}
