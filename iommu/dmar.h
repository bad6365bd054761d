/*
 * The ACPI DMAR table (Intel VT-d, "DMA Remapping Reporting Structure", VT-d spec chapter 8):
 * the remapping hardware units (DRHD) with the devices behind them, the memory firmware
 * devices keep using (RMRR), and the root ports whose devices may use ATS (ATSR).
 *
 * Firmware tables are input like any other: dmar_parse() checks every length and field it
 * uses and refuses the whole table with a message rather than trust a part of it.
 */
#ifndef MHV_IOMMU_DMAR_H
#define MHV_IOMMU_DMAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DMAR_MAX_UNITS	8
#define DMAR_MAX_RMRRS	16
#define DMAR_MAX_ATSRS	8
#define DMAR_MAX_SCOPES 16 /* device scopes kept per structure */
#define DMAR_MAX_PATH	4  /* (device, function) hops below the start bus */

/* Device scope types (VT-d 8.3.1) */
#define DMAR_SCOPE_ENDPOINT 1
#define DMAR_SCOPE_BRIDGE   2
#define DMAR_SCOPE_IOAPIC   3
#define DMAR_SCOPE_HPET	    4
#define DMAR_SCOPE_ACPI	    5

#define DMAR_DRHD_INCLUDE_PCI_ALL (1u << 0)
#define DMAR_ATSR_ALL_PORTS	  (1u << 0)
#define DMAR_INTR_REMAP		  (1u << 0) /* DMAR flags: interrupt remapping supported */
#define DMAR_X2APIC_OPT_OUT	  (1u << 1)

struct dmar_scope {
	uint8_t type;	 /* DMAR_SCOPE_* */
	uint8_t enum_id; /* IOAPIC ID, HPET number, ACPI device number */
	uint8_t bus;	 /* start bus */
	uint8_t path_len;
	uint8_t dev[DMAR_MAX_PATH], fn[DMAR_MAX_PATH];
};

struct dmar_scopes {
	struct dmar_scope s[DMAR_MAX_SCOPES];
	unsigned n;
};

struct dmar_unit { /* DRHD */
	uint64_t base;	   /* register page(s), page-aligned */
	uint64_t size;	   /* bytes of register space (2^Size pages) */
	uint16_t segment;  /* PCI segment */
	uint8_t flags;	   /* DMAR_DRHD_INCLUDE_PCI_ALL */
	struct dmar_scopes scopes;
};

struct dmar_rmrr {
	uint64_t base, end; /* [base, end), page-aligned */
	uint16_t segment;
	struct dmar_scopes scopes;
};

struct dmar_atsr {
	uint16_t segment;
	uint8_t flags; /* DMAR_ATSR_ALL_PORTS */
	struct dmar_scopes scopes;
};

struct dmar_info {
	unsigned haw;  /* host address width in bits (the field + 1) */
	uint8_t flags; /* DMAR_INTR_REMAP, DMAR_X2APIC_OPT_OUT */
	struct dmar_unit units[DMAR_MAX_UNITS];
	unsigned nr_units;
	struct dmar_rmrr rmrrs[DMAR_MAX_RMRRS];
	unsigned nr_rmrrs;
	struct dmar_atsr atsrs[DMAR_MAX_ATSRS];
	unsigned nr_atsrs;
	unsigned nr_other; /* RHSA, ANDD, SATC, ...: length-checked, not used */
};

/*
 * Parse the DMAR table at table (avail bytes readable there).  0, or -E_INVAL with a message
 * in err: bad header or checksum, a structure or scope that runs past its parent or has a
 * length too small for its type, zero or unaligned register bases, an RMRR whose range is
 * empty, unaligned or wraps, more units/RMRRs/scopes/path hops than the limits above, or no
 * DRHD at all.  *out is complete only on success.
 */
int dmar_parse(const void *table, size_t avail, struct dmar_info *out, char *err, size_t errlen);

#endif
