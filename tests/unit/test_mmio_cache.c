/*
 * mmio/mmio_cache: the per-vCPU MMIO translation cache in front of mm/guest_walk, on hand-built
 * 4-level guest page tables in a fake RAM.  The cases of the KVM thread (remap with and
 * without INVLPG, two address spaces), rights re-checks, and an equivalence check of cache on
 * vs off over random access sequences.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lib/errno.h"
#include "mm/guest_walk.h"
#include "mmio/devices.h"
#include "mmio/mmio_cache.h"
#include "mmio/region.h"
#include "tests/unit/paging_bits.h"

#define PAGE	    0x1000ull
#define LARGE	    0x200000ull
#define TABLES_BASE 0x100000ull
#define TABLE_PAGES 64

/* Guest-physical layout: two MMIO pages A and B, a 2 MiB MMIO window, RAM elsewhere. */
#define GPA_A	  0xfe000000ull
#define GPA_B	  0xfe001000ull
#define GPA_C	  0xfe002000ull
#define GPA_WIN	  0xc0000000ull /* 2 MiB */
#define GPA_WIN2  0xc0200000ull /* 2 MiB */
#define GPA_RAM	  0x00200000ull
#define GVA	  0x00007f1234567000ull
#define GVA_OTHER 0xffffc90000001000ull

/* ---- fake RAM holding the page tables ----------------------------------------------------- */

static struct {
	uint8_t data[TABLE_PAGES * PAGE];
	unsigned next; /* next free table page */
	unsigned reads, writes;
} ram;

static bool ram_read(void *ctx, uint64_t gpa, void *buf, unsigned len)
{
	assert_ptr_equal(ctx, &ram);
	ram.reads++;
	if (gpa < TABLES_BASE || gpa + len > TABLES_BASE + sizeof(ram.data))
		return false;
	memcpy(buf, ram.data + (gpa - TABLES_BASE), len);
	return true;
}

static bool ram_write(void *ctx, uint64_t gpa, const void *buf, unsigned len)
{
	assert_ptr_equal(ctx, &ram);
	assert_true(gpa >= TABLES_BASE && gpa + len <= TABLES_BASE + sizeof(ram.data));
	ram.writes++;
	memcpy(ram.data + (gpa - TABLES_BASE), buf, len);
	return true;
}

static const struct gw_mem mem = {ram_read, ram_write, &ram};

static uint64_t get64(uint64_t gpa)
{
	uint64_t v;

	memcpy(&v, ram.data + (gpa - TABLES_BASE), sizeof(v));
	return v;
}

static void set64(uint64_t gpa, uint64_t v)
{
	memcpy(ram.data + (gpa - TABLES_BASE), &v, sizeof(v));
}

static uint64_t new_table(void)
{
	assert_true(ram.next < TABLE_PAGES);
	return TABLES_BASE + PAGE * ram.next++;
}

/* Address of the entry for la at the level whose index starts at `shift` in table t. */
static uint64_t slot(uint64_t t, uint64_t la, unsigned shift)
{
	return t + ((la >> shift) & 511) * 8;
}

/* Next-level table under entry e, created (with full rights) if absent. */
static uint64_t descend(uint64_t e)
{
	uint64_t v = get64(e);

	if (!(v & P)) {
		v = new_table() | P | RW | US;
		set64(e, v);
	}
	return v & 0x000ffffffffff000ull;
}

/* Map la in the address space rooted at cr3; returns the leaf entry's address. */
static uint64_t map4k(uint64_t cr3, uint64_t la, uint64_t pa, uint64_t flags)
{
	uint64_t pdpt = descend(slot(cr3, la, 39));
	uint64_t pd = descend(slot(pdpt, la, 30));
	uint64_t pt = descend(slot(pd, la, 21));
	uint64_t e = slot(pt, la, 12);

	set64(e, pa | flags);
	return e;
}

static uint64_t map2m(uint64_t cr3, uint64_t la, uint64_t pa, uint64_t flags)
{
	uint64_t pdpt = descend(slot(cr3, la, 39));
	uint64_t pd = descend(slot(pdpt, la, 30));
	uint64_t e = slot(pd, la, 21);

	set64(e, pa | flags | PS);
	return e;
}

/* ---- MMIO regions and the vCPU state -------------------------------------------------------- */

static struct mmio_regions regions;
static struct mmio_deny_dev deny;
static struct mmio_cache cache;
static struct gw_regs regs;

static int setup(void **state)
{
	(void)state;
	memset(&ram, 0, sizeof(ram));
	mmio_regions_init(&regions);
	mmio_deny_init(&deny, NULL, NULL);
	assert_int_equal(mmio_region_add(&regions, GPA_A, PAGE, &mmio_deny_ops, &deny), 0);
	assert_int_equal(mmio_region_add(&regions, GPA_B, PAGE, &mmio_deny_ops, &deny), 0);
	assert_int_equal(mmio_region_add(&regions, GPA_C, PAGE, &mmio_deny_ops, &deny), 0);
	assert_int_equal(mmio_region_add(&regions, GPA_WIN, 2 * LARGE, &mmio_deny_ops, &deny), 0);
	mmio_cache_init(&cache, &regions);
	regs = (struct gw_regs){.cr0 = CR0_PE | CR0_PG | CR0_WP,
				.cr3 = new_table(),
				.cr4 = CR4_PAE,
				.efer = EFER_LME | EFER_LMA | EFER_NXE,
				.cpl = 0};
	return 0;
}

/* Translate with the cache on; returns rc, *gpa and the walk's result in *r. */
static int xlate(uint64_t gva, unsigned access, uint64_t *gpa, struct gw_result *r)
{
	*gpa = 0xbad;
	return mmio_translate(&cache, true, &regs, &mem, gva, access, gpa, r);
}

/* A successful translation to want, counted as a hit or a miss as stated. */
static void expect_gpa(uint64_t gva, unsigned access, uint64_t want, bool hit)
{
	uint64_t hits = cache.hits, misses = cache.misses, gpa;
	struct gw_result r;
	int rc = xlate(gva, access, &gpa, &r);

	if (rc)
		fail_msg("gva %#llx access %#x: rc %d pf_error %#x", (unsigned long long)gva,
			 access, rc, r.pf_error);
	assert_int_equal(gpa, want);
	assert_int_equal(cache.hits, hits + (hit ? 1 : 0));
	assert_int_equal(cache.misses, misses + (hit ? 0 : 1));
}

static void expect_pf(uint64_t gva, unsigned access, uint32_t pf_error)
{
	uint64_t hits = cache.hits, misses = cache.misses, gpa;
	struct gw_result r;

	assert_int_equal(xlate(gva, access, &gpa, &r), -E_FAULT);
	assert_int_equal(r.pf_error, pf_error);
	/* A fault is never served by the cache. */
	assert_int_equal(cache.hits, hits);
	assert_int_equal(cache.misses, misses + 1);
}

/* ---- the thread's cases -------------------------------------------------------------------- */

/*
 * Remap GVA from region A to region B.  Without INVLPG the cache keeps serving A: like a TLB
 * entry, which the CPU may go on using until the guest invalidates it (SDM Vol. 3, 4.10.4.2 -
 * the guest's bug, not ours).  After INVLPG of any address in the page, B.
 */
static void test_cache_remap_stale_until_invlpg(void **state)
{
	uint64_t pte;
	unsigned reads;

	(void)state;
	pte = map4k(regs.cr3, GVA, GPA_A, P | RW);
	expect_gpa(GVA + 0x10, 0, GPA_A + 0x10, false);
	assert_true(cache.valid);
	reads = ram.reads;
	expect_gpa(GVA + 0x18, 0, GPA_A + 0x18, true);
	assert_int_equal(ram.reads, reads); /* a hit does not walk */

	set64(pte, GPA_B | P | RW);
	expect_gpa(GVA + 0x10, 0, GPA_A + 0x10, true);	/* stale, architecturally allowed */
	mmio_cache_invalidate_page(&cache, GVA + PAGE); /* another page: no effect */
	mmio_cache_invalidate_page(&cache, GVA_OTHER);
	expect_gpa(GVA + 0x10, 0, GPA_A + 0x10, true);
	mmio_cache_invalidate_page(&cache, GVA + 0xfff); /* INVLPG anywhere in the page */
	assert_false(cache.valid);
	expect_gpa(GVA + 0x10, 0, GPA_B + 0x10, false);
	expect_gpa(GVA + 0x20, 0, GPA_B + 0x20, true);
	assert_int_equal(cache.hits, 4);
	assert_int_equal(cache.misses, 2);

	/* The cache off sees the new mapping at once. */
	set64(pte, GPA_A | P | RW);
	{
		uint64_t gpa;
		struct gw_result r;

		assert_int_equal(mmio_translate(&cache, false, &regs, &mem, GVA, 0, &gpa, &r), 0);
		assert_int_equal(gpa, GPA_A);
		assert_int_equal(cache.misses, 3);
	}
}

/* Two processes map the same GVA to different regions; a context switch is a CR3 write. */
static void test_cache_two_address_spaces(void **state)
{
	uint64_t cr3_1, cr3_2;

	(void)state;
	cr3_1 = regs.cr3;
	cr3_2 = new_table();
	map4k(cr3_1, GVA, GPA_A, P | RW | US);
	map4k(cr3_2, GVA, GPA_B, P | RW | US);
	regs.cpl = 3;
	expect_gpa(GVA, 0, GPA_A, false);
	expect_gpa(GVA, GW_WRITE, GPA_A, false); /* first write walks (sets D) */
	expect_gpa(GVA, GW_WRITE, GPA_A, true);

	/* Without the invalidation the glue must do on MOV CR3, process 2 would reach A. */
	regs.cr3 = cr3_2;
	expect_gpa(GVA, 0, GPA_A, true);
	mmio_cache_invalidate(&cache);
	expect_gpa(GVA, 0, GPA_B, false);
	expect_gpa(GVA, 0, GPA_B, true);
	regs.cr3 = cr3_1;
	mmio_cache_invalidate(&cache);
	expect_gpa(GVA, 0, GPA_A, false);
	assert_int_equal(cache.hits + cache.misses, 7);
}

/* A kernel access fills the entry for a supervisor page; user accesses must still #PF. */
static void test_cache_user_access_to_supervisor_page_faults(void **state)
{
	(void)state;
	map4k(regs.cr3, GVA, GPA_A, P | RW);
	expect_gpa(GVA, 0, GPA_A, false);
	expect_gpa(GVA, 0, GPA_A, true);
	regs.cpl = 3;
	expect_pf(GVA + 4, 0, ERR_P | ERR_U);
	/* The #PF dropped the entry, as it drops the TLB entry. */
	assert_false(cache.valid);
	expect_pf(GVA + 4, GW_WRITE, ERR_P | ERR_W | ERR_U);
	expect_pf(GVA + 4, GW_FETCH, ERR_P | ERR_U | ERR_ID);
	/* The kernel, even at CPL 3, via an implicit access, still gets its translation. */
	expect_gpa(GVA + 4, GW_IMPLICIT_SUPERVISOR, GPA_A + 4, false);
	expect_gpa(GVA + 4, GW_IMPLICIT_SUPERVISOR, GPA_A + 4, true);
	regs.cpl = 0;
	expect_gpa(GVA + 4, 0, GPA_A + 4, true);
	/* GW_USER at CPL 0 is a user access too. */
	expect_pf(GVA + 4, GW_USER, ERR_P | ERR_U);
	assert_int_equal(cache.hits, 3);
	assert_int_equal(cache.misses, 6);
}

/* Write through a read-only mapping: #PF with CR0.WP, allowed to the kernel without it. */
static void test_cache_write_to_readonly_page(void **state)
{
	uint64_t pte;

	(void)state;
	pte = map4k(regs.cr3, GVA, GPA_A, P | US);
	expect_gpa(GVA, 0, GPA_A, false);
	expect_pf(GVA, GW_WRITE, ERR_P | ERR_W);
	assert_false(cache.valid);
	expect_gpa(GVA, 0, GPA_A, false);
	assert_int_equal(get64(pte) & DIRT, 0);

	regs.cr0 &= ~CR0_WP;
	expect_gpa(GVA, GW_WRITE, GPA_A, false); /* the entry was filled by a read: walk */
	assert_int_equal(get64(pte) & (ACC | DIRT), ACC | DIRT);
	expect_gpa(GVA, GW_WRITE, GPA_A, true);
	regs.cpl = 3; /* WP does not matter to user accesses */
	expect_pf(GVA, GW_WRITE, ERR_P | ERR_W | ERR_U);
	regs.cpl = 0;
	regs.cr0 |= CR0_WP; /* rights are checked with the current CR0 on every hit */
	expect_pf(GVA, GW_WRITE, ERR_P | ERR_W);
}

/* The D bit is set by the walk of the first write, however the entry was filled. */
static void test_cache_first_write_walks_to_set_dirty(void **state)
{
	uint64_t pte;

	(void)state;
	pte = map4k(regs.cr3, GVA, GPA_B, P | RW);
	expect_gpa(GVA, 0, GPA_B, false);
	expect_gpa(GVA, 0, GPA_B, true);
	assert_int_equal(get64(pte) & (ACC | DIRT), ACC);
	expect_gpa(GVA, GW_WRITE, GPA_B, false);
	assert_int_equal(get64(pte) & (ACC | DIRT), ACC | DIRT);
	expect_gpa(GVA, GW_WRITE, GPA_B, true);
	expect_gpa(GVA, 0, GPA_B, true);
}

/* SMAP, SMEP and NX are rechecked on hits from the current state. */
static void test_cache_smap_smep_nx_rechecked_on_hit(void **state)
{
	uint64_t gpa;

	(void)state;
	map4k(regs.cr3, GVA, GPA_A, P | RW | US | XD);
	expect_gpa(GVA, 0, GPA_A, false);
	regs.cr4 |= CR4_SMAP;
	expect_pf(GVA, 0, ERR_P);
	regs.rflags_ac = true;
	expect_gpa(GVA, 0, GPA_A, false);
	expect_gpa(GVA, 0, GPA_A, true);
	expect_pf(GVA, GW_IMPLICIT_SUPERVISOR, ERR_P); /* AC does not help implicit accesses */
	expect_gpa(GVA, 0, GPA_A, false);
	expect_pf(GVA, GW_FETCH, ERR_P | ERR_ID); /* XD */
	expect_gpa(GVA, 0, GPA_A, false);
	/* The lookup on its own agrees. */
	assert_true(mmio_cache_lookup(&cache, &regs, GVA + 8, 0, &gpa));
	assert_int_equal(gpa, GPA_A + 8);
	assert_false(mmio_cache_lookup(&cache, &regs, GVA + PAGE, 0, &gpa));
	assert_false(mmio_cache_lookup(&cache, &regs, GVA, GW_FETCH, &gpa));
	assert_false(mmio_cache_lookup(&cache, &regs, GVA, GW_WRITE | GW_FETCH, &gpa));
	regs.cpl = 3;
	assert_true(mmio_cache_lookup(&cache, &regs, GVA, 0, &gpa));
}

/* Only MMIO translations are cached; a walk to RAM replaces a stale entry for its page. */
static void test_cache_only_mmio_is_cached(void **state)
{
	uint64_t pte;

	(void)state;
	pte = map4k(regs.cr3, GVA, GPA_RAM, P | RW);
	expect_gpa(GVA, 0, GPA_RAM, false);
	assert_false(cache.valid);
	expect_gpa(GVA, 0, GPA_RAM, false);
	set64(pte, GPA_A | P | RW);
	expect_gpa(GVA, 0, GPA_A, false);
	assert_true(cache.valid);
	/* The page is remapped to RAM; a write (entry not dirty) walks and drops the entry. */
	set64(pte, GPA_RAM | P | RW);
	expect_gpa(GVA, GW_WRITE, GPA_RAM, false);
	assert_false(cache.valid);
	/* No registry: nothing is cached. */
	mmio_cache_init(&cache, NULL);
	set64(pte, GPA_A | P | RW);
	expect_gpa(GVA, 0, GPA_A, false);
	expect_gpa(GVA, 0, GPA_A, false);
	assert_false(cache.valid);
}

/*
 * keep_ram: the last RAM data page is kept in its own entry, with the MMIO entry's rules: a
 * write walks once to set D, rights are re-checked per hit, fetches are never kept, INVLPG of
 * the page (or a full flush) drops it, and an MMIO remap of the page replaces it.
 */
static void test_cache_ram_entry(void **state)
{
	uint64_t pte, gpa;

	(void)state;
	mmio_cache_keep_ram(&cache, true);
	pte = map4k(regs.cr3, GVA, GPA_RAM, P | RW);
	expect_gpa(GVA, 0, GPA_RAM, false);
	assert_true(cache.ram.valid);
	assert_false(cache.valid);
	assert_int_equal(xlate(GVA + 8, 0, &gpa, &(struct gw_result){0}), 0);
	assert_int_equal(gpa, GPA_RAM + 8);
	assert_int_equal(cache.ram_hits, 1);
	/* The first write walks (sets D); the next one hits. */
	expect_gpa(GVA, GW_WRITE, GPA_RAM, false);
	assert_true(get64(pte) & DIRT);
	assert_int_equal(xlate(GVA + 16, GW_WRITE, &gpa, &(struct gw_result){0}), 0);
	assert_int_equal(cache.ram_hits, 2);
	/* A user access to the supervisor page misses and faults as the walk does. */
	regs.cpl = 3;
	expect_pf(GVA, 0, ERR_P | ERR_U);
	assert_false(cache.ram.valid); /* a #PF drops the page, as in the TLB */
	regs.cpl = 0;
	/* A fetch never fills the RAM entry. */
	expect_gpa(GVA, GW_FETCH, GPA_RAM, false);
	assert_false(cache.ram.valid);
	expect_gpa(GVA, 0, GPA_RAM, false);
	assert_true(cache.ram.valid);
	mmio_cache_invalidate_page(&cache, GVA + PAGE); /* another page: kept */
	assert_true(cache.ram.valid);
	mmio_cache_invalidate_page(&cache, GVA + 0x800);
	assert_false(cache.ram.valid);
	expect_gpa(GVA, 0, GPA_RAM, false);
	mmio_cache_invalidate(&cache);
	assert_false(cache.ram.valid);
	/* The page remapped to a device (after the guest's INVLPG): the MMIO entry takes it. */
	expect_gpa(GVA, 0, GPA_RAM, false);
	set64(pte, GPA_A | P | RW);
	mmio_cache_invalidate_page(&cache, GVA);
	expect_gpa(GVA, 0, GPA_A, false);
	assert_true(cache.valid);
	assert_false(cache.ram.valid);
	/* The CPU translated the page to a device: the RAM entry for it goes. */
	set64(pte, GPA_RAM | P | RW);
	mmio_cache_invalidate(&cache);
	expect_gpa(GVA, 0, GPA_RAM, false);
	mmio_cache_ram_drop_page(&cache, GVA_OTHER);
	assert_true(cache.ram.valid);
	mmio_cache_ram_drop_page(&cache, GVA + 4);
	assert_false(cache.ram.valid);
	/* Off again: RAM is not kept. */
	mmio_cache_keep_ram(&cache, false);
	expect_gpa(GVA, 0, GPA_RAM, false);
	assert_false(cache.ram.valid);
}

/* A 2 MiB mapping: cached per 4 KiB, but INVLPG anywhere in the 2 MiB drops it. */
/*
 * mmio_cache_ram_hit (the string path's RAM operand): over every combination of the entry's
 * rights and the state the rights depend on, it hits exactly when mmio_translate would serve
 * the access from the RAM entry, with the same address and the same count.
 */
static void test_cache_ram_hit_agrees_with_translate(void **state)
{
	static const unsigned accesses[] = {0, GW_WRITE, GW_FETCH, GW_USER, GW_WRITE | GW_USER};
	static const uint64_t cr4s[] = {CR4_PAE, CR4_PAE | CR4_SMAP, CR4_PAE | CR4_SMEP,
					CR4_PAE | CR4_PKE, CR4_PAE | CR4_PKS};
	unsigned hits = 0;

	(void)state;
	map4k(regs.cr3, GVA, GPA_RAM, P | RW | US);
	for (unsigned bits = 0; bits < 1u << 7; bits++)
		for (unsigned a = 0; a < sizeof(accesses) / sizeof(accesses[0]); a++)
			for (unsigned k = 0; k < sizeof(cr4s) / sizeof(cr4s[0]); k++) {
				struct mmio_cache one, two;
				struct gw_result r;
				uint64_t gpa_one = 0, gpa_two = 0;
				bool hit;

				mmio_cache_init(&one, &regions);
				mmio_cache_keep_ram(&one, true);
				one.ram = (struct mmio_cache_ram){.valid = true,
								  .gva_page = GVA >> 12,
								  .gfn = GPA_RAM >> 12,
								  .page_shift = 12,
								  .user = bits & 1,
								  .writable = bits & 2,
								  .dirty = bits & 4};
				two = one;
				regs.cr0 = CR0_PE | CR0_PG | ((bits & 8) ? CR0_WP : 0);
				regs.cpl = (bits & 16) ? 3 : 0;
				regs.rflags_ac = bits & 32;
				regs.cr4 = cr4s[k];
				regs.efer = (bits & 64) ? EFER_LME | EFER_LMA | EFER_NXE : 0;
				if (!(bits & 64))
					regs.cr0 &= ~CR0_PG; /* no 4-level tables: paging off */
				hit = mmio_cache_ram_hit(&one, true, &regs, GVA + 8, accesses[a],
							 &gpa_one);
				(void)mmio_translate(&two, true, &regs, &mem, GVA + 8, accesses[a],
						     &gpa_two, &r);
				assert_int_equal(hit, two.ram_hits == 1);
				assert_int_equal(one.ram_hits, two.ram_hits);
				if (hit)
					assert_int_equal(gpa_one, gpa_two);
				assert_false(mmio_cache_ram_hit(&one, false, &regs, GVA + 8,
								accesses[a], &gpa_one));
				hits += hit;
			}
	assert_true(hits > 0); /* the common case is among them */
}

static void test_cache_large_page_invlpg_anywhere_in_it(void **state)
{
	const uint64_t la = 0x00007f4000000000ull;
	uint64_t pde;
	struct gw_result r;
	uint64_t gpa;

	(void)state;
	pde = map2m(regs.cr3, la, GPA_WIN, P | RW);
	expect_gpa(la + 0x5008, 0, GPA_WIN + 0x5008, false);
	assert_int_equal(cache.page_shift, 21);
	expect_gpa(la + 0x5ff0, 0, GPA_WIN + 0x5ff0, true);
	assert_int_equal(xlate(la + 0x5ff0, 0, &gpa, &r), 0);
	assert_int_equal(r.page_shift, 21);
	expect_gpa(la + 0x6000, 0, GPA_WIN + 0x6000, false); /* other 4 KiB: walks, refills */
	set64(pde, GPA_WIN2 | P | RW | PS);
	expect_gpa(la + 0x6000, 0, GPA_WIN + 0x6000, true); /* stale until INVLPG */
	mmio_cache_invalidate_page(&cache, la + LARGE);	    /* the next 2 MiB: no effect */
	assert_true(cache.valid);
	mmio_cache_invalidate_page(&cache, la); /* one INVLPG for the huge page */
	assert_false(cache.valid);
	expect_gpa(la + 0x6000, 0, GPA_WIN2 + 0x6000, false);
}

/* Protection keys: the walk refuses such accesses (-E_NOTSUP), so the cache must too. */
static void test_cache_protection_keys_never_hit(void **state)
{
	uint64_t gpa;
	struct gw_result r;

	(void)state;
	map4k(regs.cr3, GVA, GPA_A, P | RW | US);
	map4k(regs.cr3, GVA_OTHER, GPA_B, P | RW);
	expect_gpa(GVA, 0, GPA_A, false);
	regs.cr4 |= CR4_PKE;
	assert_int_equal(xlate(GVA, 0, &gpa, &r), -E_NOTSUP);
	assert_int_equal(cache.hits, 0);
	expect_gpa(GVA, GW_FETCH, GPA_A, true); /* keys do not govern fetches */
	/* Supervisor pages are governed by PKS only. */
	expect_gpa(GVA_OTHER, 0, GPA_B, false);
	expect_gpa(GVA_OTHER, 0, GPA_B, true);
	regs.cr4 |= CR4_PKS;
	assert_int_equal(xlate(GVA_OTHER, 0, &gpa, &r), -E_NOTSUP);
	assert_int_equal(cache.hits, 2);
	assert_int_equal(cache.misses, 4);
}

/* Fill / lookup / invalidate as the glue would call them directly. */
static void test_cache_api_direct(void **state)
{
	const struct gw_result rights = {.user = true, .writable = false, .page_shift = 0};
	uint64_t gpa;

	(void)state;
	assert_false(mmio_cache_lookup(&cache, &regs, GVA, 0, &gpa));
	mmio_cache_fill(&cache, GVA + 0x123, GPA_C + 0x123, &rights, 0);
	assert_int_equal(cache.page_shift, 12);
	assert_true(mmio_cache_lookup(&cache, &regs, GVA + 0xabc, 0, &gpa));
	assert_int_equal(gpa, GPA_C + 0xabc);
	assert_false(mmio_cache_lookup(&cache, &regs, GVA, GW_WRITE, &gpa));
	assert_false(mmio_cache_lookup(&cache, &regs, GVA - 1, 0, &gpa));
	assert_false(mmio_cache_lookup(&cache, &regs, GVA + PAGE, 0, &gpa));
	mmio_cache_invalidate_page(&cache, GVA - 1);
	assert_true(cache.valid);
	mmio_cache_invalidate(&cache);
	assert_false(mmio_cache_lookup(&cache, &regs, GVA, 0, &gpa));
	assert_int_equal(cache.hits + cache.misses, 0); /* lookups alone count nothing */
}

/* ---- cache on vs off over random sequences ---------------------------------------------- */

#define NR_GVAS	  12
#define NR_STEPS  4000
#define NR_SEEDS  24
#define LARGE_GVA 0x00007f4000000000ull

static uint64_t rng;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static unsigned pick(unsigned n)
{
	return (unsigned)(rnd() % n);
}

/* Linear addresses used: 4 KiB pages in two halves, and 2 MiB page(s) at LARGE_GVA. */
static uint64_t gva_of(unsigned i)
{
	if (i < NR_GVAS / 2)
		return 0x00007f0000000000ull + i * PAGE;
	if (i < NR_GVAS)
		return 0xffffc90000000000ull + (i - NR_GVAS / 2) * 3 * PAGE;
	return LARGE_GVA + (uint64_t)(i - NR_GVAS) * LARGE;
}

#define NR_ALL_GVAS (NR_GVAS + 2)

static uint64_t random_leaf(bool large)
{
	static const uint64_t small_targets[] = {GPA_A, GPA_B, GPA_C, GPA_RAM, GPA_RAM + PAGE};
	static const uint64_t large_targets[] = {GPA_WIN, GPA_WIN2, 0x40000000ull};
	uint64_t e = large ? large_targets[pick(3)] | PS : small_targets[pick(5)];

	if (pick(20))
		e |= P;
	if (pick(4))
		e |= RW;
	if (pick(4))
		e |= US;
	if (!pick(6))
		e |= XD;
	if (!pick(40))
		e |= 1ull << 51; /* reserved with MAXPHYADDR 46: #PF RSVD */
	return e;
}

struct outcome {
	int rc;
	uint64_t gpa;
	uint32_t pf_error;
};

struct run {
	struct outcome out[NR_STEPS];
	uint8_t final_ram[TABLE_PAGES * PAGE];
	uint64_t hits, ram_hits, misses, lookups;
};

static struct run runs[2];
static uint8_t start_ram[TABLE_PAGES * PAGE];

static void run_sequence(uint64_t seed, bool cache_on, struct run *out, const uint64_t cr3s[2],
			 uint64_t leaf[2][NR_ALL_GVAS])
{
	static const unsigned kinds[] = {0,
					 GW_WRITE,
					 GW_FETCH,
					 GW_USER,
					 GW_USER | GW_WRITE,
					 GW_USER | GW_FETCH,
					 GW_IMPLICIT_SUPERVISOR,
					 GW_IMPLICIT_SUPERVISOR | GW_WRITE};
	unsigned as = 0, last_kind = 0, step;
	uint64_t last_page = gva_of(0);

	memcpy(ram.data, start_ram, sizeof(ram.data));
	mmio_cache_init(&cache, &regions);
	mmio_cache_keep_ram(&cache, seed % 2 == 0); /* half the seeds keep RAM pages too */
	regs = (struct gw_regs){.cr0 = CR0_PE | CR0_PG | CR0_WP,
				.cr3 = cr3s[0],
				.cr4 = CR4_PAE,
				.efer = regs.efer, /* NXE is chosen per seed */
				.maxphyaddr = 46};
	rng = seed;
	out->lookups = 0;
	for (step = 0; step < NR_STEPS; step++) {
		struct outcome *o = &out->out[step];
		unsigned op = pick(100), i;

		o->rc = 1; /* not an access */
		if (op < 75) {
			struct gw_result r;
			uint64_t gva;
			unsigned access;

			/* A driver polls one register: repeats make hits. */
			if (!pick(3)) {
				i = pick(NR_ALL_GVAS);
				last_page = gva_of(i) + (i >= NR_GVAS ? pick(512) * PAGE : 0);
			}
			access = pick(2) ? last_kind : kinds[pick(8)];
			last_kind = access;
			gva = last_page + pick(PAGE);
			/* CPL, WP, SMEP, SMAP and AC change now and then, between hits. */
			if (!pick(8)) {
				regs.cpl = pick(4) ? 0 : 3;
				regs.cr0 = CR0_PE | CR0_PG | (pick(4) ? CR0_WP : 0);
				regs.cr4 = CR4_PAE | (pick(4) ? 0 : CR4_SMEP) |
					   (pick(4) ? 0 : CR4_SMAP);
				regs.rflags_ac = pick(2);
			}
			o->gpa = 0;
			o->rc = mmio_translate(&cache, cache_on, &regs, &mem, gva, access, &o->gpa,
					       &r);
			o->pf_error = o->rc == -E_FAULT ? r.pf_error : 0;
			out->lookups++;
		} else if (op < 85) {
			/* The guest rewrites a leaf of the current space and INVLPGs it. */
			i = pick(NR_ALL_GVAS);
			set64(leaf[as][i], random_leaf(i >= NR_GVAS));
			mmio_cache_invalidate_page(&cache, gva_of(i) + pick(PAGE));
		} else if (op < 90) {
			/* A leaf of the other space changes: no INVLPG needed, it is not current.
			 */
			i = pick(NR_ALL_GVAS);
			set64(leaf[!as][i], random_leaf(i >= NR_GVAS));
		} else if (op < 95) {
			as = !as; /* context switch: MOV CR3 */
			regs.cr3 = cr3s[as];
			mmio_cache_invalidate(&cache);
		} else if (op < 98) {
			mmio_cache_invalidate_page(&cache, gva_of(pick(NR_ALL_GVAS)));
		} else {
			mmio_cache_invalidate(&cache);
		}
	}
	memcpy(out->final_ram, ram.data, sizeof(ram.data));
	out->hits = cache.hits;
	out->ram_hits = cache.ram_hits;
	out->misses = cache.misses;
}

static void test_cache_on_off_equivalent_on_random_sequences(void **state)
{
	uint64_t cr3s[2], leaf[2][NR_ALL_GVAS], total_hits = 0, total_lookups = 0, ram_hits = 0;
	unsigned seed, as, i, step, faults = 0, nonmmio = 0;

	(void)state;
	for (seed = 1; seed <= NR_SEEDS; seed++) {
		/* Fresh tables for each seed: two disjoint address spaces. */
		memset(&ram, 0, sizeof(ram));
		rng = seed * 0x9e3779b97f4a7c15ull;
		regs.efer = EFER_LME | EFER_LMA | (seed % 3 ? EFER_NXE : 0);
		for (as = 0; as < 2; as++) {
			cr3s[as] = new_table();
			for (i = 0; i < NR_ALL_GVAS; i++)
				leaf[as][i] = i < NR_GVAS ? map4k(cr3s[as], gva_of(i), 0, 0)
							  : map2m(cr3s[as], gva_of(i), 0, 0);
			for (i = 0; i < NR_ALL_GVAS; i++)
				set64(leaf[as][i], random_leaf(i >= NR_GVAS));
		}
		memcpy(start_ram, ram.data, sizeof(ram.data));

		run_sequence(seed, true, &runs[0], cr3s, leaf);
		run_sequence(seed, false, &runs[1], cr3s, leaf);
		for (step = 0; step < NR_STEPS; step++) {
			const struct outcome *on = &runs[0].out[step], *off = &runs[1].out[step];

			if (on->rc != off->rc || on->gpa != off->gpa ||
			    on->pf_error != off->pf_error)
				fail_msg("seed %u step %u: cache on rc %d gpa %#llx err %#x, off "
					 "rc %d "
					 "gpa %#llx err %#x",
					 seed, step, on->rc, (unsigned long long)on->gpa,
					 on->pf_error, off->rc, (unsigned long long)off->gpa,
					 off->pf_error);
			faults += on->rc == -E_FAULT;
			nonmmio += on->rc == 0 && !mmio_region_find(&regions, on->gpa);
		}
		/* Same A/D bits in the tables: hits skip walks only where the walk changes nothing.
		 */
		assert_memory_equal(runs[0].final_ram, runs[1].final_ram, sizeof(ram.data));
		assert_int_equal(runs[0].lookups, runs[1].lookups);
		assert_int_equal(runs[0].hits + runs[0].ram_hits + runs[0].misses, runs[0].lookups);
		assert_int_equal(runs[1].hits + runs[1].ram_hits, 0);
		if (seed % 2)
			assert_int_equal(runs[0].ram_hits, 0);
		ram_hits += runs[0].ram_hits;
		assert_int_equal(runs[1].misses, runs[1].lookups);
		total_hits += runs[0].hits;
		total_lookups += runs[0].lookups;
	}
	/* The sequences exercise all paths: plenty of hits, faults and RAM translations. */
	printf("# %llu lookups, %llu hits, %llu RAM-entry hits, %u faults, %u to RAM\n",
	       (unsigned long long)total_lookups, (unsigned long long)total_hits,
	       (unsigned long long)ram_hits, faults, nonmmio);
	assert_true(ram_hits * 40 > total_lookups);
	assert_true(total_hits * 8 > total_lookups);
	assert_true(faults * 10 > total_lookups);
	assert_true(nonmmio * 10 > total_lookups);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_cache_remap_stale_until_invlpg, setup),
		cmocka_unit_test_setup(test_cache_two_address_spaces, setup),
		cmocka_unit_test_setup(test_cache_user_access_to_supervisor_page_faults, setup),
		cmocka_unit_test_setup(test_cache_write_to_readonly_page, setup),
		cmocka_unit_test_setup(test_cache_first_write_walks_to_set_dirty, setup),
		cmocka_unit_test_setup(test_cache_smap_smep_nx_rechecked_on_hit, setup),
		cmocka_unit_test_setup(test_cache_only_mmio_is_cached, setup),
		cmocka_unit_test_setup(test_cache_ram_entry, setup),
		cmocka_unit_test_setup(test_cache_ram_hit_agrees_with_translate, setup),
		cmocka_unit_test_setup(test_cache_large_page_invlpg_anywhere_in_it, setup),
		cmocka_unit_test_setup(test_cache_protection_keys_never_hit, setup),
		cmocka_unit_test_setup(test_cache_api_direct, setup),
		cmocka_unit_test_setup(test_cache_on_off_equivalent_on_random_sequences, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
