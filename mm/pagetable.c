/*
 * 4-level page-table builder for x86-64 paging, AMD NPT and Intel EPT.  See mm/pagetable.h.
 *
 * Every operation is a loop of independent steps, each walking from the root and finishing one
 * leaf-sized piece of the range.  A step only links a table into the hierarchy once the table is
 * complete, so the tables are valid after every step: that is what lets an allocation failure
 * stop midway without leaving anything half-built.
 */
#include "mm/pagetable.h"

#include <stddef.h>

#include "lib/compiler.h"
#include "lib/errno.h"
#include "lib/string.h"

#define VA_HALF	      (1ull << (PT_VA_BITS - 1)) /* first non-canonical lower-half address */
#define VA_HIGH_START (0ull - VA_HALF)		 /* first canonical upper-half address */
#define VA_LIMIT      (1ull << PT_VA_BITS)	 /* guest-physical addresses stay below */
#define PAGE_OFFSET   (PT_SIZE_4K - 1)
#define LEVEL_1G      3
#define LEVEL_2M      2
#define LEVEL_4K      1

const struct pt_format pt_format_x86 = {
	.present_mask = PTE_P,
	.table_flags = PTE_P | PTE_RW | PTE_US,
	.large_bit = PTE_PS,
	.addr_mask = PT_ADDR_MASK,
	.has_1g = false,
	.has_2m = true,
	.va_canonical = true,
	.pat_4k = PTE_PAT,
	.pat_large = PTE_PAT_LARGE,
};

const struct pt_format pt_format_ept = {
	.present_mask = EPT_RWX,
	.table_flags = EPT_RWX,
	.large_bit = EPT_LARGE,
	.addr_mask = PT_ADDR_MASK,
	.has_1g = false,
	.has_2m = true,
	.va_canonical = false,
	.pat_4k = 0,
	.pat_large = 0,
};

/* Bytes one entry at `level` maps. */
static uint64_t level_size(unsigned level)
{
	return PT_SIZE_4K << (PT_LEVEL_BITS * (level - 1));
}

static unsigned pt_index(uint64_t va, unsigned level)
{
	return (unsigned)(va >> (PAGE_SHIFT + PT_LEVEL_BITS * (level - 1))) & (PT_ENTRIES - 1);
}

static uint64_t *table_at(const struct pt_mem *m, uint64_t pa)
{
	return m->phys_to_virt(m->ctx, pa);
}

/* Entries may be live: read and write them whole, and publish a new table's contents (or any
 * earlier change) before the entry that makes it reachable. */
static uint64_t read_entry(const uint64_t *entry)
{
	return __atomic_load_n(entry, __ATOMIC_RELAXED);
}

static void write_entry(uint64_t *entry, uint64_t val)
{
	__atomic_store_n(entry, val, __ATOMIC_RELEASE);
}

static bool is_present(const struct pt_format *f, uint64_t e)
{
	return (e & f->present_mask) != 0;
}

/* A present entry at `level` is a leaf (else it points to a table). */
static bool is_leaf(const struct pt_format *f, uint64_t e, unsigned level)
{
	return level == LEVEL_4K || (level <= LEVEL_1G && (e & f->large_bit));
}

static bool leaf_allowed(const struct pt_format *f, unsigned level)
{
	return level == LEVEL_4K || (level == LEVEL_2M && f->has_2m) ||
	       (level == LEVEL_1G && f->has_1g);
}

/* A leaf at `level` from flags in 4 KiB form: large leaves get PS and keep PAT elsewhere. */
static uint64_t make_leaf(const struct pt_format *f, unsigned level, uint64_t pa, uint64_t flags)
{
	if (level == LEVEL_4K)
		return pa | flags;
	if (flags & f->pat_4k)
		flags = (flags & ~f->pat_4k) | f->pat_large;
	return pa | flags | f->large_bit;
}

/* The flags of a leaf at `level`, back in 4 KiB form. */
static uint64_t leaf_flags_of(const struct pt_format *f, unsigned level, uint64_t e)
{
	uint64_t flags = e & ~f->addr_mask;

	if (level == LEVEL_4K)
		return flags;
	flags &= ~f->large_bit;
	if (e & f->pat_large)
		flags |= f->pat_4k;
	return flags;
}

static uint64_t leaf_pa(const struct pt_format *f, unsigned level, uint64_t e)
{
	return e & f->addr_mask & ~(level_size(level) - 1);
}

/* Hand the table an entry at `level` pointed to (if any), and every table below it, back. */
static void release(const struct pt_format *f, const struct pt_mem *m, uint64_t e, unsigned level)
{
	const uint64_t *t;
	uint64_t table;

	if (!m->free_table || !is_present(f, e) || is_leaf(f, e, level))
		return;
	table = e & f->addr_mask;
	t = table_at(m, table);
	for (unsigned i = 0; i < PT_ENTRIES; i++)
		release(f, m, read_entry(&t[i]), level - 1);
	m->free_table(m->ctx, table);
}

/*
 * The table below `entry` (at `level` > 1), creating it if the entry is empty or splitting the
 * large leaf it holds into PT_ENTRIES leaves one level down with the same translation and flags.
 */
static int descend(const struct pt_format *f, const struct pt_mem *m, uint64_t *entry,
		   unsigned level, uint64_t *child)
{
	uint64_t e = read_entry(entry);
	uint64_t table;
	uint64_t *t;

	if (is_present(f, e) && !is_leaf(f, e, level)) {
		*child = e & f->addr_mask;
		return 0;
	}
	table = m->alloc_table(m->ctx);
	if (table == FRAME_NONE)
		return -E_NOMEM;
	if (table & ~f->addr_mask) {
		if (m->free_table)
			m->free_table(m->ctx, table);
		return -E_FAULT;
	}
	t = table_at(m, table);
	if (is_present(f, e)) {
		uint64_t flags = leaf_flags_of(f, level, e);
		uint64_t base = leaf_pa(f, level, e);
		uint64_t step = level_size(level - 1);

		for (unsigned i = 0; i < PT_ENTRIES; i++)
			t[i] = make_leaf(f, level - 1, base + i * step, flags);
	} else {
		memset(t, 0, PT_SIZE_4K);
	}
	write_entry(entry, table | f->table_flags);
	*child = table;
	return 0;
}

/* Map the largest leaf that fits at va; *done = its size. */
static int map_step(const struct pt_format *f, const struct pt_mem *m, uint64_t root_pa,
		    uint64_t va, uint64_t pa, uint64_t left, uint64_t flags, uint64_t *done)
{
	uint64_t table = root_pa;

	for (unsigned level = PT_LEVELS;; level--) {
		uint64_t *entry = &table_at(m, table)[pt_index(va, level)];
		uint64_t span = level_size(level);
		int ret;

		/* Level 1 always qualifies: va, pa and left are 4 KiB multiples, left > 0. */
		if (leaf_allowed(f, level) && IS_ALIGNED(va | pa, span) && left >= span) {
			uint64_t old = read_entry(entry);

			write_entry(entry, make_leaf(f, level, pa, flags));
			release(f, m, old, level);
			*done = span;
			return 0;
		}
		ret = descend(f, m, entry, level, &table);
		if (ret)
			return ret;
	}
}

/* Unmap from va up to the end of the largest entry that is empty or wholly inside the range. */
static int unmap_step(const struct pt_format *f, const struct pt_mem *m, uint64_t root_pa,
		      uint64_t va, uint64_t left, uint64_t *done)
{
	uint64_t table = root_pa;

	for (unsigned level = PT_LEVELS;; level--) {
		uint64_t *entry = &table_at(m, table)[pt_index(va, level)];
		uint64_t span = level_size(level);
		uint64_t e = read_entry(entry);
		int ret;

		if (!is_present(f, e)) {
			*done = MIN(span - (va & (span - 1)), left);
			return 0;
		}
		/* Level 1 always qualifies, as in map_step. */
		if (IS_ALIGNED(va, span) && left >= span) {
			write_entry(entry, 0);
			release(f, m, e, level);
			*done = span;
			return 0;
		}
		ret = descend(f, m, entry, level, &table);
		if (ret)
			return ret;
	}
}

static bool va_ok(const struct pt_format *f, uint64_t first, uint64_t last)
{
	if (!f->va_canonical)
		return last < VA_LIMIT;
	/* Both ends in the same canonical half (the range cannot jump the hole: it is contiguous).
	 */
	return last < VA_HALF || first >= VA_HIGH_START;
}

static bool args_ok(const struct pt_format *f, const struct pt_mem *m, uint64_t root_pa)
{
	return f && m && m->phys_to_virt && m->alloc_table && IS_ALIGNED(root_pa, PT_SIZE_4K) &&
	       !(root_pa & ~f->addr_mask);
}

/* Checks of a [va, va + size) range common to map and unmap (an empty one only needs alignment). */
static bool range_ok(const struct pt_format *f, uint64_t va, uint64_t size)
{
	if (!IS_ALIGNED(va | size, PT_SIZE_4K))
		return false;
	return !size || (size - 1 <= UINT64_MAX - va && va_ok(f, va, va + (size - 1)));
}

int pt_map(const struct pt_format *f, const struct pt_mem *m, uint64_t root_pa, uint64_t va,
	   uint64_t pa, uint64_t size, uint64_t leaf_flags)
{
	uint64_t max_pa;

	if (!args_ok(f, m, root_pa) || !range_ok(f, va, size))
		return -E_INVAL;
	max_pa = f->addr_mask | PAGE_OFFSET;
	if (!IS_ALIGNED(pa, PT_SIZE_4K) || pa > max_pa || (size && size - 1 > max_pa - pa))
		return -E_INVAL;
	if (!(leaf_flags & f->present_mask) || (leaf_flags & f->addr_mask) ||
	    (leaf_flags & f->large_bit & ~f->pat_4k))
		return -E_INVAL;

	while (size) {
		uint64_t done;
		int ret = map_step(f, m, root_pa, va, pa, size, leaf_flags, &done);

		if (ret)
			return ret;
		va += done;
		pa += done;
		size -= done;
	}
	return 0;
}

int pt_unmap(const struct pt_format *f, const struct pt_mem *m, uint64_t root_pa, uint64_t va,
	     uint64_t size)
{
	if (!args_ok(f, m, root_pa) || !range_ok(f, va, size))
		return -E_INVAL;

	while (size) {
		uint64_t done;
		int ret = unmap_step(f, m, root_pa, va, size, &done);

		if (ret)
			return ret;
		va += done;
		size -= done;
	}
	return 0;
}

int pt_lookup(const struct pt_format *f, const struct pt_mem *m, uint64_t root_pa, uint64_t va,
	      uint64_t *pa, uint64_t *leaf_flags, unsigned *level)
{
	uint64_t table = root_pa;

	if (!f || !m || !m->phys_to_virt || !IS_ALIGNED(root_pa, PT_SIZE_4K) ||
	    (root_pa & ~f->addr_mask) || !va_ok(f, va, va))
		return -E_INVAL;

	for (unsigned l = PT_LEVELS; l >= LEVEL_4K; l--) {
		uint64_t e = read_entry(&table_at(m, table)[pt_index(va, l)]);

		if (!is_present(f, e))
			return -E_NOENT;
		if (is_leaf(f, e, l)) {
			if (pa)
				*pa = leaf_pa(f, l, e) | (va & (level_size(l) - 1));
			if (leaf_flags)
				*leaf_flags = leaf_flags_of(f, l, e);
			if (level)
				*level = l;
			return 0;
		}
		table = e & f->addr_mask;
	}
	return -E_NOENT; /* not reached: level 1 entries are always leaves */
}
