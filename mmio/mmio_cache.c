/* Per-vCPU MMIO translation cache: one TLB-like entry in front of guest_walk(). */
#include "mmio/mmio_cache.h"

#include "lib/errno.h"

#define PAGE_SHIFT  12
#define PAGE_OFFSET ((1ull << PAGE_SHIFT) - 1)

/* The control bits the protection-key rule depends on (SDM Vol. 3, 4.6.2). */
#define CR0_PG	 (1ull << 31)
#define CR4_PKE	 (1ull << 22)
#define CR4_PKS	 (1ull << 24)
#define EFER_LMA (1ull << 10)

void mmio_cache_init(struct mmio_cache *c, const struct mmio_regions *regions)
{
	*c = (struct mmio_cache){.regions = regions};
}

void mmio_cache_fill(struct mmio_cache *c, uint64_t gva, uint64_t gpa,
		     const struct gw_result *rights, unsigned access)
{
	c->valid = true;
	c->gva_page = gva >> PAGE_SHIFT;
	c->gfn = gpa >> PAGE_SHIFT;
	c->page_shift = rights->page_shift > PAGE_SHIFT ? rights->page_shift : PAGE_SHIFT;
	c->user = rights->user;
	c->writable = rights->writable;
	c->nx = rights->nx;
	c->dirty = access & GW_WRITE;
}

/* Protection-key governed accesses always walk: the walk judges them against the current
 * PKRU (which WRPKRU changes without a flush), or refuses them (-E_NOTSUP) when it cannot. */
static bool pkeys_govern(const struct gw_regs *regs, bool user_page, unsigned access)
{
	bool four_level = (regs->cr0 & CR0_PG) && (regs->efer & EFER_LMA);

	if (!four_level || (access & GW_FETCH))
		return false;
	return user_page ? (regs->cr4 & CR4_PKE) : (regs->cr4 & CR4_PKS);
}

bool mmio_cache_lookup(const struct mmio_cache *c, const struct gw_regs *regs, uint64_t gva,
		       unsigned access, uint64_t *gpa)
{
	if (!c->valid || c->gva_page != gva >> PAGE_SHIFT)
		return false;
	/* Only a walk sets D: a write must not hit an entry whose walk left it clear. */
	if ((access & GW_WRITE) && !c->dirty)
		return false;
	if (pkeys_govern(regs, c->user, access))
		return false;
	if (!gw_access_allowed(regs, c->user, c->writable, c->nx, access))
		return false;
	*gpa = (c->gfn << PAGE_SHIFT) | (gva & PAGE_OFFSET);
	return true;
}

void mmio_cache_invalidate(struct mmio_cache *c)
{
	c->valid = false;
}

void mmio_cache_invalidate_page(struct mmio_cache *c, uint64_t gva)
{
	if (c->valid && ((gva >> PAGE_SHIFT) ^ c->gva_page) >> (c->page_shift - PAGE_SHIFT) == 0)
		c->valid = false;
}

int mmio_translate(struct mmio_cache *c, bool cache_on, const struct gw_regs *regs,
		   const struct gw_mem *mem, uint64_t gva, unsigned access, uint64_t *gpa,
		   struct gw_result *fault)
{
	int rc;

	if (cache_on && mmio_cache_lookup(c, regs, gva, access, gpa)) {
		c->hits++;
		*fault = (struct gw_result){.gpa = *gpa,
					    .page_shift = c->page_shift,
					    .user = c->user,
					    .writable = c->writable,
					    .nx = c->nx};
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
	/* The newest translation of the page replaces the entry, or removes it if not MMIO. */
	if (c->regions && mmio_region_find(c->regions, fault->gpa))
		mmio_cache_fill(c, gva, fault->gpa, fault, access);
	else
		mmio_cache_invalidate_page(c, gva);
	return 0;
}
