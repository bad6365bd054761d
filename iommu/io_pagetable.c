/* I/O page tables for VT-d and AMD-Vi.  See iommu/io_pagetable.h. */
#include "iommu/io_pagetable.h"

#include "lib/errno.h"
#include "lib/string.h"

#define LEVEL_BITS   9
#define ENTRIES	     512
#define PAGE_SHIFT_4K 12
#define PAGE_4K	     (1ull << PAGE_SHIFT_4K)

struct io_pt_format io_pt_format_vtd(unsigned levels, unsigned max_leaf_level)
{
	return (struct io_pt_format){
		.levels = levels,
		.max_leaf_level = max_leaf_level,
		.present_mask = VTD_SL_R | VTD_SL_W,
		.leaf_flags = VTD_SL_R | VTD_SL_W,
		.table_flags = VTD_SL_R | VTD_SL_W,
		.large_bit = VTD_SL_PS,
		.next_level_field = false,
	};
}

struct io_pt_format io_pt_format_amd(unsigned levels, unsigned max_leaf_level)
{
	return (struct io_pt_format){
		.levels = levels,
		.max_leaf_level = max_leaf_level,
		.present_mask = AMD_PTE_PR,
		.leaf_flags = AMD_PTE_PR | AMD_PTE_IR | AMD_PTE_IW,
		.table_flags = AMD_PTE_PR | AMD_PTE_IR | AMD_PTE_IW,
		.large_bit = 0,
		.next_level_field = true,
	};
}

static uint64_t level_size(unsigned level)
{
	return PAGE_4K << (LEVEL_BITS * (level - 1));
}

uint64_t io_pt_span(const struct io_pt_format *f)
{
	return level_size(f->levels) * ENTRIES;
}

static unsigned index_at(uint64_t addr, unsigned level)
{
	return (unsigned)(addr >> (PAGE_SHIFT_4K + LEVEL_BITS * (level - 1))) & (ENTRIES - 1);
}

static bool format_ok(const struct io_pt_format *f)
{
	return f->levels >= IO_PT_MIN_LEVELS && f->levels <= IO_PT_MAX_LEVELS &&
	       f->max_leaf_level >= 1 && f->max_leaf_level <= IO_PT_MAX_LEAF_LEVEL && f->present_mask &&
	       (f->leaf_flags & f->present_mask) && (f->table_flags & f->present_mask);
}

static bool is_present(const struct io_pt_format *f, uint64_t e)
{
	return (e & f->present_mask) != 0;
}

/* A present entry at level > 1 points to a table (else it is a large leaf). */
static bool is_table(const struct io_pt_format *f, uint64_t e, unsigned level)
{
	if (level == 1)
		return false;
	if (f->next_level_field)
		return (e & AMD_PTE_NEXT_MASK) != 0;
	return (e & f->large_bit) == 0;
}

static uint64_t make_leaf(const struct io_pt_format *f, unsigned level, uint64_t pa)
{
	return pa | f->leaf_flags | (level > 1 ? f->large_bit : 0);
}

static uint64_t make_table(const struct io_pt_format *f, unsigned level, uint64_t pa)
{
	uint64_t e = pa | f->table_flags;

	if (f->next_level_field)
		e |= (uint64_t)(level - 1) << AMD_PTE_NEXT_SHIFT;
	return e;
}

static uint64_t *table_at(const struct pt_mem *m, uint64_t pa)
{
	return m->phys_to_virt(m->ctx, pa);
}

/* Tables may be live for the hardware walker: whole-entry stores, contents before links. */
static void write_entry(uint64_t *e, uint64_t v)
{
	__atomic_store_n(e, v, __ATOMIC_RELEASE);
}

static int map_level(const struct io_pt_format *f, const struct pt_mem *m, uint64_t table,
		     unsigned level, uint64_t start, uint64_t end)
{
	uint64_t *t = table_at(m, table);
	uint64_t size = level_size(level);

	while (start < end) {
		uint64_t slot = start & ~(size - 1);
		uint64_t piece_end = slot + size < end ? slot + size : end;
		uint64_t *e = &t[index_at(start, level)];
		uint64_t v = *e;
		int rc;

		if (is_present(f, v) && !is_table(f, v, level)) {
			/* A leaf: fine if it already maps these pages to themselves. */
			if ((v & IO_PT_ADDR_MASK & ~(size - 1)) != slot)
				return -E_EXIST;
		} else if (!is_present(f, v) && start == slot && piece_end == slot + size &&
			   level <= f->max_leaf_level) {
			write_entry(e, make_leaf(f, level, slot));
		} else {
			if (level == 1)
				return -E_INVAL; /* unreachable for page-aligned ranges */
			if (!is_present(f, v)) {
				uint64_t child = m->alloc_table(m->ctx);

				if (child == FRAME_NONE)
					return -E_NOMEM;
				if (child & ~IO_PT_ADDR_MASK)
					return -E_FAULT;
				memset(table_at(m, child), 0, PAGE_4K);
				v = make_table(f, level, child);
				write_entry(e, v);
			}
			rc = map_level(f, m, v & IO_PT_ADDR_MASK, level - 1, start, piece_end);
			if (rc)
				return rc;
		}
		start = piece_end;
	}
	return 0;
}

int io_pt_map_identity(const struct io_pt_format *f, const struct pt_mem *m, uint64_t root,
		       uint64_t start, uint64_t end)
{
	if (!format_ok(f) || !m || (root & ~IO_PT_ADDR_MASK) || (start | end) & (PAGE_4K - 1) ||
	    start >= end || end > io_pt_span(f))
		return -E_INVAL;
	return map_level(f, m, root, f->levels, start, end);
}

int io_pt_lookup(const struct io_pt_format *f, const struct pt_mem *m, uint64_t root,
		 uint64_t addr, uint64_t *pa, unsigned *level)
{
	uint64_t table = root;

	if (!format_ok(f) || addr >= io_pt_span(f))
		return -E_INVAL;
	for (unsigned l = f->levels; l >= 1; l--) {
		uint64_t e = table_at(m, table)[index_at(addr, l)];

		if (!is_present(f, e))
			return -E_NOENT;
		if (!is_table(f, e, l)) {
			uint64_t size = level_size(l);

			*pa = (e & IO_PT_ADDR_MASK & ~(size - 1)) | (addr & (size - 1));
			*level = l;
			return 0;
		}
		table = e & IO_PT_ADDR_MASK;
	}
	return -E_NOENT;
}
