/*
 * I/O page tables for the IOMMUs: Intel VT-d second-level tables and AMD-Vi I/O page tables.
 * Both are x86-style radix trees of 512 8-byte entries per 4 KiB table, 3 or 4 levels deep
 * (39 or 48 bits of device address), with large leaves one or two levels up; they differ in
 * the bits of an entry, which struct io_pt_format holds as data.
 *
 * mhv builds them once, before the guest runs, as an identity map of disjoint ranges (guest
 * RAM, firmware's RMRR / unity ranges): io_pt_map_identity() never splits a leaf and refuses
 * to change a translation that exists, so a range can only add to the map.  Nothing flushes:
 * the caller invalidates the IOMMU's caches before relying on the tables.
 */
#ifndef MHV_IOMMU_IO_PAGETABLE_H
#define MHV_IOMMU_IO_PAGETABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "mm/pagetable.h" /* struct pt_mem */

/* Intel VT-d second-level entries (VT-d spec 9.8) */
#define VTD_SL_R  (1ull << 0)
#define VTD_SL_W  (1ull << 1)
#define VTD_SL_PS (1ull << 7) /* a 2 MiB / 1 GiB leaf */

/* AMD-Vi I/O page-table entries (AMD IOMMU spec 2.2.3) */
#define AMD_PTE_PR		(1ull << 0)
#define AMD_PTE_NEXT_SHIFT	9 /* level of the table this entry points to; 0 = a leaf */
#define AMD_PTE_NEXT_MASK	(7ull << AMD_PTE_NEXT_SHIFT)
#define AMD_PTE_IR		(1ull << 61)
#define AMD_PTE_IW		(1ull << 62)

#define IO_PT_MIN_LEVELS 3
#define IO_PT_MAX_LEVELS 4
#define IO_PT_MAX_LEAF_LEVEL 3 /* 1 GiB: no format has 512 GiB leaves */
#define IO_PT_ADDR_MASK	 0x000ffffffffff000ull

struct io_pt_format {
	unsigned levels;	 /* 3 (39-bit) or 4 (48-bit) */
	unsigned max_leaf_level; /* 1: 4 KiB leaves only, 2: up to 2 MiB, 3: up to 1 GiB */
	uint64_t present_mask;	 /* an entry is present if any of these bits is set */
	uint64_t leaf_flags;	 /* bits of every leaf (access rights) */
	uint64_t table_flags;	 /* bits of every entry pointing to a table */
	uint64_t large_bit;	 /* VT-d: set in a leaf above level 1; AMD: 0 */
	bool next_level_field;	 /* AMD: a table entry at level L holds L-1 in bits 11:9 */
};

/* VT-d: R|W leaves and tables; levels from CAP.SAGAW, max_leaf_level from CAP.SLLPS. */
struct io_pt_format io_pt_format_vtd(unsigned levels, unsigned max_leaf_level);
/* AMD-Vi: PR|IR|IW, next-level fields; a leaf above level 1 has next level 0. */
struct io_pt_format io_pt_format_amd(unsigned levels, unsigned max_leaf_level);

/* Bytes of device address the format translates: 2^(12 + 9 * levels). */
uint64_t io_pt_span(const struct io_pt_format *f);

/*
 * Map [start, end) to itself with the largest leaves the alignment and the format allow.
 * Pages already mapped to themselves are left as they are.  -E_INVAL: bad format, unaligned or
 * empty range, or one past io_pt_span; -E_EXIST: a page is already mapped elsewhere (nothing
 * is changed for that page); -E_NOMEM: no table.  The tables are valid after every error.
 */
int io_pt_map_identity(const struct io_pt_format *f, const struct pt_mem *m, uint64_t root,
		       uint64_t start, uint64_t end);

/* Translate addr: *pa and *level (1 = 4 KiB leaf); -E_NOENT if unmapped. */
int io_pt_lookup(const struct io_pt_format *f, const struct pt_mem *m, uint64_t root,
		 uint64_t addr, uint64_t *pa, unsigned *level);

#endif
