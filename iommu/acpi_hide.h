/*
 * Hiding ACPI tables from the guest: remove the entries of a root table (RSDT: 4-byte
 * entries, XSDT: 8-byte entries) that name tables the guest must not see (DMAR, IVRS), moving
 * the later entries up, shrinking the length and fixing the checksum, so the table stays
 * valid for every OS that reads it.  The tables themselves stay where they are.
 */
#ifndef MHV_IOMMU_ACPI_HIDE_H
#define MHV_IOMMU_ACPI_HIDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Should the entry naming the table at pa go? */
typedef bool (*acpi_drop_fn)(void *ctx, uint64_t pa);

/*
 * root points to the whole root table, avail bytes of it readable and writable.  Returns the
 * number of entries removed; 0 also for a root table whose header or length does not fit
 * avail, or an entry size other than 4 or 8 (nothing is changed then).
 */
unsigned acpi_root_drop(uint8_t *root, size_t avail, unsigned entry_size, acpi_drop_fn drop,
			void *ctx);

#endif
