/* Per-vCPU MMIO translation cache: one TLB-like entry in front of guest_walk(). */
#include "mmio/mmio_cache.h"

#include "lib/errno.h"

/* An entry covers the whole guest mapping (for INVLPG), at least a 4 KiB page. */
static unsigned mapping_shift(unsigned walk_shift)
{
	return walk_shift > GW_PAGE_SHIFT_4K ? walk_shift : GW_PAGE_SHIFT_4K;
}

void mmio_cache_init(struct mmio_cache *c, const struct mmio_regions *regions)
{
	*c = (struct mmio_cache){.regions = regions};
}

void mmio_cache_fill(struct mmio_cache *c, uint64_t gva, uint64_t gpa,
		     const struct gw_result *rights, unsigned access)
{
	c->valid = true;
	c->gva_page = gva >> GW_PAGE_SHIFT_4K;
	c->gfn = gpa >> GW_PAGE_SHIFT_4K;
	c->page_shift = mapping_shift(rights->page_shift);
	c->user = rights->user;
	c->writable = rights->writable;
	c->nx = rights->nx;
	c->dirty = access & GW_WRITE;
}

void mmio_cache_keep_ram(struct mmio_cache *c, bool on)
{
	c->keep_ram = on;
	c->ram.valid = false;
}

bool mmio_cache_lookup(const struct mmio_cache *c, const struct gw_regs *regs, uint64_t gva,
		       unsigned access, uint64_t *gpa)
{
	return mmio_cache_hit(c, regs, gva, access, gpa);
}

static inline __attribute__((always_inline)) bool
ram_lookup(const struct mmio_cache_ram *r, const struct gw_regs *regs, uint64_t gva,
	   unsigned access, uint64_t *gpa)
{
	if (!r->valid || r->gva_page != gva >> GW_PAGE_SHIFT_4K)
		return false;
	if (!mmio_cache_rights_hit(regs, r->user, r->writable, r->nx, r->dirty, access))
		return false;
	*gpa = (r->gfn << GW_PAGE_SHIFT_4K) | (gva & MMIO_CACHE_PAGE_OFFSET);
	return true;
}

static void ram_fill(struct mmio_cache_ram *r, uint64_t gva, const struct gw_result *w,
		     unsigned access)
{
	*r = (struct mmio_cache_ram){
		.valid = true,
		.gva_page = gva >> GW_PAGE_SHIFT_4K,
		.gfn = w->gpa >> GW_PAGE_SHIFT_4K,
		.page_shift = mapping_shift(w->page_shift),
		.user = w->user,
		.writable = w->writable,
		.nx = w->nx,
		.dirty = access & GW_WRITE,
	};
}

static bool in_mapping(uint64_t gva, uint64_t gva_page, unsigned page_shift)
{
	return ((gva >> GW_PAGE_SHIFT_4K) ^ gva_page) >> (page_shift - GW_PAGE_SHIFT_4K) == 0;
}

void mmio_cache_invalidate_page(struct mmio_cache *c, uint64_t gva)
{
	if (c->valid && in_mapping(gva, c->gva_page, c->page_shift))
		c->valid = false;
	if (c->ram.valid && in_mapping(gva, c->ram.gva_page, c->ram.page_shift))
		c->ram.valid = false;
}

void mmio_cache_ram_drop_page(struct mmio_cache *c, uint64_t gva)
{
	if (c->ram.valid && in_mapping(gva, c->ram.gva_page, c->ram.page_shift))
		c->ram.valid = false;
}

/* mmio_cache_ram_hit() for the cases whose rights need gw_access_check(). */
static bool __attribute__((noinline)) ram_hit_checked(struct mmio_cache *c,
						     const struct gw_regs *regs, uint64_t gva,
						     unsigned access, uint64_t *gpa)
{
	if (!ram_lookup(&c->ram, regs, gva, access, gpa))
		return false;
	c->ram_hits++;
	return true;
}

bool mmio_cache_ram_hit(struct mmio_cache *c, bool cache_on, const struct gw_regs *regs,
			uint64_t gva, unsigned access, uint64_t *gpa)
{
	const struct mmio_cache_ram *r = &c->ram;

	if (!cache_on || !c->keep_ram || (access & GW_FETCH) || !r->valid ||
	    r->gva_page != gva >> GW_PAGE_SHIFT_4K)
		return false;
	/* A leaf for the common case, a kernel's read or write that rights_hit() plainly allows
	 * (no protection keys, no SMAP on a user page, D set for a write, and paging off or the
	 * page writable or CR0.WP clear for a write); anything else is judged out of line by
	 * rights_hit() itself, so this test only decides which way, never the answer. */
	if (regs->cpl == GW_USER_CPL || (access != 0 && access != GW_WRITE) ||
	    (regs->cr4 & (GW_CR4_PKE | GW_CR4_PKS | GW_CR4_SMAP)) ||
	    (access == GW_WRITE && (!r->dirty || ((regs->cr0 & GW_CR0_PG) && !r->writable &&
						  (regs->cr0 & GW_CR0_WP)))))
		return ram_hit_checked(c, regs, gva, access, gpa);
	*gpa = (r->gfn << GW_PAGE_SHIFT_4K) | (gva & MMIO_CACHE_PAGE_OFFSET);
	c->ram_hits++;
	return true;
}

int mmio_translate(struct mmio_cache *c, bool cache_on, const struct gw_regs *regs,
		   const struct gw_mem *mem, uint64_t gva, unsigned access, uint64_t *gpa,
		   struct gw_result *fault)
{
	int rc;

	if (cache_on && mmio_cache_hit(c, regs, gva, access, gpa)) {
		c->hits++;
		*fault = (struct gw_result){.gpa = *gpa,
					    .page_shift = c->page_shift,
					    .user = c->user,
					    .writable = c->writable,
					    .nx = c->nx};
		return 0;
	}
	if (cache_on && c->keep_ram && !(access & GW_FETCH) &&
	    ram_lookup(&c->ram, regs, gva, access, gpa)) {
		c->ram_hits++;
		*fault = (struct gw_result){.gpa = *gpa,
					    .page_shift = c->ram.page_shift,
					    .user = c->ram.user,
					    .writable = c->ram.writable,
					    .nx = c->ram.nx};
		return 0;
	}
	c->misses++;
	rc = guest_walk(regs, mem, gva, access, fault);
	if (rc == -E_FAULT) {
		/* A #PF drops the TLB entries for the faulting address; so does the cache. */
		mmio_cache_invalidate_page(c, gva);
		return rc;
	}
	if (rc)
		return rc;
	*gpa = fault->gpa;
	if (!cache_on)
		return 0;
	/* The newest translation of the page replaces the entries' copies of it; it fills the
	 * MMIO entry if it is MMIO, else (keep_ram, a data access) the RAM entry. */
	mmio_cache_invalidate_page(c, gva);
	if (c->regions && mmio_region_find(c->regions, fault->gpa))
		mmio_cache_fill(c, gva, fault->gpa, fault, access);
	else if (c->keep_ram && !(access & GW_FETCH))
		ram_fill(&c->ram, gva, fault, access);
	return 0;
}
