/*
 * The ACPI IVRS table (AMD I/O Virtualization Reporting Structure, AMD IOMMU spec 5.2): the
 * IOMMUs (IVHD blocks of type 10h, 11h, 40h) with the device IDs behind them, their ranges and
 * aliases, and the memory ranges firmware devices keep using (IVMD unity ranges).
 *
 * Firmware tables are input like any other: ivrs_parse() checks every length and field it uses
 * and refuses the whole table with a message rather than trust a part of it.
 */
#ifndef MHV_IOMMU_IVRS_H
#define MHV_IOMMU_IVRS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IVRS_MAX_UNITS	  8
#define IVRS_MAX_DEVS	  32 /* device ranges kept per IOMMU */
#define IVRS_MAX_SPECIALS 8  /* IOAPIC / HPET entries per IOMMU */
#define IVRS_MAX_MEMS	  16

#define IVHD_TYPE_10 0x10
#define IVHD_TYPE_11 0x11
#define IVHD_TYPE_40 0x40

#define IVMD_TYPE_ALL	 0x20 /* every device */
#define IVMD_TYPE_SELECT 0x21 /* one device */
#define IVMD_TYPE_RANGE	 0x22 /* a range of devices */

#define IVMD_UNITY	   (1u << 0)
#define IVMD_READ	   (1u << 1)
#define IVMD_WRITE	   (1u << 2)
#define IVMD_EXCLUSION	   (1u << 3)

#define IVRS_SPECIAL_IOAPIC 1
#define IVRS_SPECIAL_HPET   2

/* Device IDs [first, last] (bus << 8 | dev << 3 | fn); requests from them may arrive as alias. */
struct ivrs_devs {
	uint16_t first, last;
	uint16_t alias; /* == first when the range has no alias */
	uint8_t setting; /* the entry's DTE setting byte (INITPass, EIntPass, NMIPass, ...) */
};

struct ivrs_special { /* an IOAPIC or HPET and its requester ID */
	uint8_t variety, handle;
	uint16_t devid;
};

struct ivrs_unit { /* one IOMMU, from the highest-typed IVHD block that names it */
	uint8_t type, flags;
	uint16_t devid;	     /* the IOMMU's own PCI function */
	uint16_t cap_offset; /* of its capability block in that function's config space */
	uint64_t base;	     /* MMIO registers (16 KiB, 512 KiB with the PPR/extended set) */
	uint16_t segment;
	uint32_t feature;    /* type 10h: feature reporting; 11h/40h: IOMMU attributes */
	uint64_t efr;	     /* 11h/40h: the EFR register image */
	struct ivrs_devs devs[IVRS_MAX_DEVS];
	unsigned nr_devs;
	struct ivrs_special specials[IVRS_MAX_SPECIALS];
	unsigned nr_specials;
	unsigned nr_acpi_hid; /* type F0h entries: length-checked, not used */
};

struct ivrs_mem { /* IVMD */
	uint8_t type, flags;
	uint16_t first, last; /* devices it applies to (IVMD_TYPE_ALL: 0..0xffff) */
	uint64_t start, end;  /* [start, end), page-aligned */
};

struct ivrs_info {
	uint32_t ivinfo; /* virtual and physical address sizes, EFR support, ... */
	struct ivrs_unit units[IVRS_MAX_UNITS];
	unsigned nr_units;
	struct ivrs_mem mems[IVRS_MAX_MEMS];
	unsigned nr_mems;
};

/*
 * Parse the IVRS table at table (avail bytes readable there).  0, or -E_INVAL with a message in
 * err: bad header or checksum, a block or device entry that runs past its parent, a range start
 * without its end (or an end without a start), last < first, an unknown device entry type, zero
 * or unaligned register bases, an IVMD range that is empty, unaligned or wraps, more than the
 * limits above, or no IVHD at all.  *out is complete only on success.
 */
int ivrs_parse(const void *table, size_t avail, struct ivrs_info *out, char *err, size_t errlen);

#endif
