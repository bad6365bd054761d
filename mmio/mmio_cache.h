/*
 * Per-vCPU MMIO translation cache (after KVM's "cache mmio info on page fault path"): the
 * guest-linear page of the last MMIO access, the guest-physical frame it maps to and the
 * effective rights of the guest mapping.  A repeated access to the same page (a driver polling
 * a register) then skips the guest page-table walk.
 *
 * It behaves like one extra TLB entry, and so needs the invalidations a TLB needs.  The exit
 * glue must call:
 *   mmio_cache_invalidate()       on every MOV to CR3 (even with the PCID no-flush bit: the
 *                                 entry is not PCID-tagged), INVPCID (any type), a paging-mode
 *                                 change (CR0.PG, CR4.PAE/PSE/PGE/PCIDE/LA57, EFER.LMA) and
 *                                 anything else that flushes the whole guest TLB;
 *   mmio_cache_invalidate_page()  on INVLPG / INVLPGA of a linear address.
 * Between those, a guest that rewrites a PTE keeps getting the old translation from the cache,
 * exactly as it may from the TLB (SDM Vol. 3, 4.10.4.2: software must invalidate after
 * changing a paging-structure entry; until then either translation may be used).
 *
 * Rights are re-checked on every hit with the current CPL, CR0.WP, CR4.SMEP/SMAP and
 * RFLAGS.AC (gw_access_allowed: the walk's own rules), so a user access never hits an entry a
 * kernel access filled for a supervisor page: it misses, walks and gets the walk's #PF.
 * Besides, like the TLB:
 *   - a write only hits an entry filled by a write (whose walk set the PTE's D bit), so D is
 *     set exactly as without the cache;
 *   - an access that faults on the walk drops the entry for its page (SDM 4.10.4.1: a #PF
 *     invalidates the TLB entries for the faulting address);
 *   - data accesses governed by protection keys (4-level paging with CR4.PKE for user pages,
 *     CR4.PKS for supervisor pages) never hit: the walk reports them -E_NOTSUP.
 * Lookups work at 4 KiB granularity whatever the size of the guest mapping, but invalidation
 * covers the whole mapping: INVLPG of any address in a 2 MiB / 4 MiB / 1 GiB page drops the
 * entry for any 4 KiB part of it, as it drops the large TLB entry (Linux flushes a huge page
 * with one INVLPG).
 *
 * With keep_ram (mmio_cache_keep_ram), a second entry holds the last RAM data page an emulated
 * instruction touched (the stack of a PUSH [m], the other operand of a MOVS): the same TLB
 * rules, the same invalidations (mmio_cache_invalidate / _page drop both entries), counted in
 * ram_hits rather than hits, which stay the MMIO verdict.  It only holds gva -> gpa and the
 * rights: every access still goes through the memory gate.  A translation lives in at most
 * one of the two entries (filling one drops the other's copy of the page).  Instruction
 * fetches neither fill nor hit it (they walk, or use the code translation of insn_fetch.h).
 * When the CPU reports the linear address of an access it translated to a device (VMX), a RAM
 * entry for that page is dropped (mmio_cache_ram_drop_page), as the MMIO entry is; SVM's nested
 * page faults carry no linear address, so there a guest that remapped a RAM page to a device
 * without INVLPG may see the emulator use the old translation, as a TLB may.
 */
#ifndef MHV_MMIO_MMIO_CACHE_H
#define MHV_MMIO_MMIO_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "mm/guest_walk.h"
#include "mmio/region.h"

/* The last RAM data page (keep_ram): same meaning as the MMIO entry's fields. */
struct mmio_cache_ram {
	bool valid;
	uint64_t gva_page, gfn;
	unsigned page_shift;
	bool user, writable, nx, dirty;
};

struct mmio_cache {
	bool valid;
	uint64_t gva_page;	 /* gva >> 12 */
	uint64_t gfn;		 /* gpa >> 12 */
	unsigned page_shift;	 /* size of the guest mapping (12, 21, 22, 30), for INVLPG */
	bool user, writable, nx; /* effective rights of the guest mapping (struct gw_result) */
	bool dirty;		 /* filled by a write: the leaf's D bit is set */
	uint64_t hits, misses;	 /* translations served by the entry / by a walk */
	const struct mmio_regions *regions; /* which gpas are MMIO (only those are cached) */
	bool keep_ram;			    /* also keep the last RAM data page in ram */
	struct mmio_cache_ram ram;
	uint64_t ram_hits; /* translations served by the RAM entry (counted in neither above) */
};

/* Empty cache, zero counters; regions decides what mmio_translate() caches (NULL: nothing). */
void mmio_cache_init(struct mmio_cache *c, const struct mmio_regions *regions);

/* Also keep the last RAM data page (not instruction fetches) mmio_translate() walked. */
void mmio_cache_keep_ram(struct mmio_cache *c, bool on);

/*
 * Remember gva's page -> gpa's frame with the rights (and page_shift; 0 = 12) of a successful
 * walk for `access`.
 */
void mmio_cache_fill(struct mmio_cache *c, uint64_t gva, uint64_t gpa,
		     const struct gw_result *rights, unsigned access);

/* Both entries are looked up at 4 KiB granularity, whatever the size of the mapping. */
#define MMIO_CACHE_PAGE_OFFSET ((1ull << GW_PAGE_SHIFT_4K) - 1)

/* Protection-key governed accesses always walk: the walk judges them against the current
 * PKRU (which WRPKRU changes without a flush), or refuses them (-E_NOTSUP) when it cannot. */
static inline bool mmio_cache_pkeys_govern(const struct gw_regs *regs, bool user_page,
					   unsigned access)
{
	bool four_level = (regs->cr0 & GW_CR0_PG) && (regs->efer & GW_EFER_LMA);

	if (!four_level || (access & GW_FETCH))
		return false;
	return user_page ? (regs->cr4 & GW_CR4_PKE) : (regs->cr4 & GW_CR4_PKS);
}

/* The rules a hit must pass in either entry: the TLB's, under the current state. */
static inline __attribute__((always_inline)) bool mmio_cache_rights_hit(const struct gw_regs *regs,
									bool user, bool writable,
									bool nx, bool dirty,
									unsigned access)
{
	/* Only a walk sets D: a write must not hit an entry whose walk left it clear. */
	if ((access & GW_WRITE) && !dirty)
		return false;
	if (mmio_cache_pkeys_govern(regs, user, access))
		return false;
	return gw_access_allowed(regs, user, writable, nx, access);
}

/*
 * mmio_cache_lookup() inline: the MMIO entry's lookup on every emulated device access
 * (mmio_translate's, and the MMIO exit's before it calls mmio_translate).
 */
static inline __attribute__((always_inline)) bool mmio_cache_hit(const struct mmio_cache *c,
								 const struct gw_regs *regs,
								 uint64_t gva, unsigned access,
								 uint64_t *gpa)
{
	if (!c->valid || c->gva_page != gva >> GW_PAGE_SHIFT_4K)
		return false;
	if (!mmio_cache_rights_hit(regs, c->user, c->writable, c->nx, c->dirty, access))
		return false;
	*gpa = (c->gfn << GW_PAGE_SHIFT_4K) | (gva & MMIO_CACHE_PAGE_OFFSET);
	return true;
}

/*
 * True and *gpa when gva's page is cached and the cached rights allow `access` (GW_* bits)
 * under regs; counts nothing (mmio_translate does).
 */
bool mmio_cache_lookup(const struct mmio_cache *c, const struct gw_regs *regs, uint64_t gva,
		       unsigned access, uint64_t *gpa);

/* Both entries (inline: every guest TLB flush mhv sees runs it). */
static inline void mmio_cache_invalidate(struct mmio_cache *c)
{
	c->valid = false;
	c->ram.valid = false;
}
/* Drop an entry only if gva lies in the guest mapping (4 KiB or large page) it came from. */
void mmio_cache_invalidate_page(struct mmio_cache *c, uint64_t gva);

/* Drop the RAM entry if gva lies in its mapping (the CPU just translated gva to a device). */
void mmio_cache_ram_drop_page(struct mmio_cache *c, uint64_t gva);

/*
 * A final translation the CPU just made for a data access to gpa (from linear gla, if
 * gla_valid) wins over a cached one: its TLB had no stale entry, so mhv's copy must not have
 * one either.  The MMIO entry for another frame goes, and the RAM entry for gla's page (the
 * CPU found a device there).  One rule for vcpu_exit_npf and the general entry's exit.
 */
static inline void mmio_cache_final_access(struct mmio_cache *c, uint64_t gpa, uint64_t gla,
					   bool gla_valid)
{
	if (c->valid && c->gfn != gpa >> GW_PAGE_SHIFT_4K)
		mmio_cache_invalidate(c);
	if (gla_valid)
		mmio_cache_ram_drop_page(c, gla);
}

/*
 * The RAM entry alone: true and *gpa when it holds gva's page with rights for `access` under
 * regs (counted in ram_hits), which is what mmio_translate() answers then, a page being in at
 * most one of the two entries; false: ask mmio_translate().  For the MMIO fast path's RAM
 * operands (the other side of a string move), which mostly hit it.
 */
bool mmio_cache_ram_hit(struct mmio_cache *c, bool cache_on, const struct gw_regs *regs,
			uint64_t gva, unsigned access, uint64_t *gpa);

/*
 * Translate gva for `access`, for the emulator's memory callbacks.  With cache_on, a hit skips
 * the walk; otherwise guest_walk() runs and, if it succeeds and lands in a registered MMIO
 * region, fills the cache (with keep_ram, a data access elsewhere fills the RAM entry).
 * Every call counts one hit, one ram_hit or one miss (cache_on false: a miss).
 * Returns 0 with *gpa, or guest_walk()'s error: -E_FAULT with fault->pf_error the #PF error
 * code to inject (CR2 = gva).  *fault receives the walk's result (on a hit: gpa and the cached
 * rights and page_shift).
 */
int mmio_translate(struct mmio_cache *c, bool cache_on, const struct gw_regs *regs,
		   const struct gw_mem *mem, uint64_t gva, unsigned access, uint64_t *gpa,
		   struct gw_result *fault);

#endif
