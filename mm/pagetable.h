/*
 * 4-level page-table builder shared by mhv's own x86-64 tables, AMD NPT (same format) and Intel
 * EPT.  The formats differ only in data (struct pt_format), never in code paths.
 *
 * Levels are numbered as the hardware walks them: 4 = PML4, 3 = PDPT (1 GiB leaves),
 * 2 = PD (2 MiB leaves), 1 = PT (4 KiB leaves).
 *
 * Leaf flags are always given and returned in 4 KiB-leaf form: no address bits, no PS bit, and
 * for x86 the PAT bit at bit 7 (PTE_PAT).  The builder moves PAT to bit 12 and sets PS itself for
 * 2 MiB / 1 GiB leaves, so one set of flags means the same thing at every page size.
 *
 * TLBs and paging-structure caches are the caller's business: nothing here flushes.  After
 * changing live tables the caller must invalidate (INVLPG / CR3 reload / INVEPT / NPT ASID flush)
 * before relying on the change.  Not thread-safe: callers serialise changes to one hierarchy.
 */
#ifndef MHV_MM_PAGETABLE_H
#define MHV_MM_PAGETABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "mm/frame.h" /* FRAME_NONE */
#include "mm/memmap.h"

#define PT_LEVELS     4
#define PT_ENTRIES    512
#define PT_LEVEL_BITS 9
#define PT_SIZE_4K    (1ull << 12)
#define PT_SIZE_2M    (1ull << 21)
#define PT_SIZE_1G    (1ull << 30)
#define PT_ADDR_MASK  0x000ffffffffff000ull /* physical-address bits 12..51 */
#define PT_VA_BITS    48		    /* 4-level paging translates 48 bits */

/* x86-64 paging (mhv's own tables, AMD NPT) */
#define PTE_P	      (1ull << 0)
#define PTE_RW	      (1ull << 1)
#define PTE_US	      (1ull << 2)
#define PTE_PWT	      (1ull << 3)
#define PTE_PCD	      (1ull << 4)
#define PTE_A	      (1ull << 5)
#define PTE_D	      (1ull << 6)
#define PTE_PS	      (1ull << 7) /* in a level-2/3 entry: a 2 MiB / 1 GiB leaf */
#define PTE_PAT	      (1ull << 7) /* in a 4 KiB leaf (and in leaf flags given to pt_map) */
#define PTE_G	      (1ull << 8)
#define PTE_PAT_LARGE (1ull << 12) /* where a 2 MiB / 1 GiB leaf keeps PAT */
#define PTE_NX	      (1ull << 63)

/* Intel EPT */
#define EPT_R		(1ull << 0)
#define EPT_W		(1ull << 1)
#define EPT_X		(1ull << 2)
#define EPT_MT_SHIFT	3 /* memory type, leaves only */
#define EPT_MT_MASK	(7ull << EPT_MT_SHIFT)
#define EPT_MT_UC	(0ull << EPT_MT_SHIFT)
#define EPT_MT_WC	(1ull << EPT_MT_SHIFT)
#define EPT_MT_WT	(4ull << EPT_MT_SHIFT)
#define EPT_MT_WP	(5ull << EPT_MT_SHIFT)
#define EPT_MT_WB	(6ull << EPT_MT_SHIFT)
#define EPT_IGNORE_PAT	(1ull << 6)
#define EPT_LARGE	(1ull << 7)
#define EPT_A		(1ull << 8)
#define EPT_D		(1ull << 9)
#define EPT_UX		(1ull << 10) /* user-mode execute, with mode-based execute control */
#define EPT_SUPPRESS_VE (1ull << 63)
#define EPT_RWX		(EPT_R | EPT_W | EPT_X)

struct pt_format {
	uint64_t present_mask; /* an entry is present if any of these bits is set */
	uint64_t table_flags;  /* bits of a non-leaf entry */
	uint64_t large_bit;    /* in a level-2/3 entry: the entry is a leaf */
	uint64_t addr_mask;    /* physical-address bits of an entry */
	bool has_1g;	       /* 1 GiB leaves allowed (CPU feature: the caller decides) */
	bool has_2m;	       /* 2 MiB leaves allowed (EPT: IA32_VMX_EPT_VPID_CAP bit 16) */
	bool va_canonical;     /* va is a sign-extended 48-bit virtual address (both halves);
				  false: a guest-physical address in [0, 2^48) */
	uint64_t pat_4k;       /* PAT bit of a 4 KiB leaf, 0 if none */
	uint64_t pat_large;    /* where a 2 MiB / 1 GiB leaf keeps that bit */
};

/*
 * x86-64 / NPT: present = P, tables P|RW|US (leaves alone decide access), NX at bit 63,
 * va_canonical (an NPT user that needs guest-physical addresses in [2^47, 2^48) copies the format
 * and clears va_canonical).
 * EPT: present = any of R/W/X (with mode-based execute control, add EPT_UX to present_mask in a
 * copy), tables R|W|X.
 * Both have has_1g = false: a caller that has checked the CPU (CPUID.80000001h:EDX.Page1GB,
 * IA32_VMX_EPT_VPID_CAP bit 17) copies the format and sets it.  Both have has_2m = true (x86 and
 * NPT always have 2 MiB pages); an EPT user clears it in a copy when EPT_VPID_CAP lacks bit 16.
 */
extern const struct pt_format pt_format_x86;
extern const struct pt_format pt_format_ept;

/* How the builder reaches memory: no hardware assumptions. */
struct pt_mem {
	void *(*phys_to_virt)(void *ctx, uint64_t pa);
	/* A 4 KiB page's physical address, or FRAME_NONE.  The builder clears the page itself
	   before linking it, so a stale page can never leak old entries into the tables. */
	uint64_t (*alloc_table)(void *ctx);
	void *ctx;
	/*
	 * Optional (NULL = never free): called for each table that becomes unreachable because a
	 * map or unmap covered its whole span.  It is called right after the entry pointing to the
	 * table is overwritten, so on live tables a CPU may still hold it in a paging-structure
	 * cache until the caller flushes: such a caller should defer reuse until after its flush.
	 */
	void (*free_table)(void *ctx, uint64_t pa);
};

/*
 * root_pa is the top-level (PML4 / EPT PML4) table, allocated and cleared by the caller.
 *
 * Map [va, va + size) to [pa, pa + size) with leaf_flags, using the largest pages that alignment,
 * size and the format allow.  Existing leaves are overwritten; a large page that the range only
 * partly covers is split first, the rest of it keeping its exact translation and flags.
 *
 * -E_INVAL: bad format/mem/root_pa; va, pa or size not 4 KiB aligned; the va range wraps, is
 * non-canonical or (format without va_canonical) reaches 2^48; the pa range passes the address
 * mask; leaf_flags with no present bit, with address bits, or with bit 7 in a format whose 4 KiB
 * leaves have no PAT bit (EPT).
 * -E_NOMEM: a table could not be allocated; -E_FAULT: alloc_table returned an address the format
 * cannot hold.  Either way the tables stay valid: a leading part of the range has the new mapping
 * and the rest is as before.  Overwritten tables go to free_table.  size == 0 does nothing.
 */
int pt_map(const struct pt_format *f, const struct pt_mem *m, uint64_t root_pa, uint64_t va,
	   uint64_t pa, uint64_t size, uint64_t leaf_flags);

/*
 * Remove every mapping in [va, va + size), splitting large pages that straddle its ends.
 * Errors as pt_map (-E_NOMEM only when a split needs a table; a leading part is then unmapped).
 * Tables left empty stay in place.
 */
int pt_unmap(const struct pt_format *f, const struct pt_mem *m, uint64_t root_pa, uint64_t va,
	     uint64_t size);

/*
 * Translate va (any byte address): *pa = the physical byte address, *leaf_flags in 4 KiB-leaf
 * form, *level = 1 (4 KiB), 2 (2 MiB) or 3 (1 GiB).  Any out pointer may be NULL.
 * -E_NOENT if unmapped, -E_INVAL if va is non-canonical for the format.
 */
int pt_lookup(const struct pt_format *f, const struct pt_mem *m, uint64_t root_pa, uint64_t va,
	      uint64_t *pa, uint64_t *leaf_flags, unsigned *level);

#endif
