/*
 * Host unit tests for mm/guest_walk.c.  Guest RAM is a small set of fake 4 KiB pages at chosen
 * guest-physical addresses; tables are built by hand in it.  The last test compares the walker
 * with an independent, deliberately naive reference walker (ref_walk) on random tables.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "lib/compiler.h"
#include "lib/errno.h"
#include "mm/guest_walk.h"
#include "tests/unit/paging_bits.h"
#include "tests/unit/xorshift.h"

#define PAGE	  4096u
#define RAM_PAGES 64

#define KiB (1ull << 10)
#define MiB (1ull << 20)
#define GiB (1ull << 30)

/* ---- fake guest RAM ------------------------------------------------------------------------ */

struct ram_page {
	bool used;
	uint64_t gpa;
	uint8_t data[PAGE];
};

static struct {
	struct ram_page page[RAM_PAGES];
	unsigned reads, writes;
	bool fail_writes;
	uint64_t next_table; /* bump allocator for builder tables */
} ram;

static uint8_t *ram_find(uint64_t gpa)
{
	unsigned i;

	for (i = 0; i < RAM_PAGES; i++)
		if (ram.page[i].used && ram.page[i].gpa == (gpa & ~(uint64_t)(PAGE - 1)))
			return ram.page[i].data + (gpa & (PAGE - 1));
	return NULL;
}

/* Make the page holding gpa RAM (zeroed if new). */
static uint8_t *ram_add(uint64_t gpa)
{
	uint8_t *p = ram_find(gpa);
	unsigned i;

	if (p)
		return p;
	for (i = 0; i < RAM_PAGES; i++) {
		if (!ram.page[i].used) {
			ram.page[i].used = true;
			ram.page[i].gpa = gpa & ~(uint64_t)(PAGE - 1);
			memset(ram.page[i].data, 0, PAGE);
			return ram.page[i].data + (gpa & (PAGE - 1));
		}
	}
	fail_msg("fake RAM full");
	return NULL;
}

static bool ram_read(void *ctx, uint64_t gpa, void *buf, unsigned len)
{
	const uint8_t *p = ram_find(gpa);

	assert_ptr_equal(ctx, &ram);
	assert_true(len == 4 || len == 8);
	assert_int_equal(gpa % len, 0);
	ram.reads++;
	if (!p)
		return false;
	memcpy(buf, p, len);
	return true;
}

static bool ram_write(void *ctx, uint64_t gpa, const void *buf, unsigned len)
{
	uint8_t *p = ram_find(gpa);

	assert_ptr_equal(ctx, &ram);
	assert_true(len == 4 || len == 8);
	assert_int_equal(gpa % len, 0);
	assert_non_null(p);
	ram.writes++;
	if (ram.fail_writes)
		return false;
	memcpy(p, buf, len);
	return true;
}

static const struct gw_mem mem_rw = {ram_read, ram_write, &ram};
static const struct gw_mem mem_ro = {ram_read, NULL, &ram};

static void set64(uint64_t gpa, uint64_t v)
{
	memcpy(ram_add(gpa), &v, sizeof(v));
}

static uint64_t get64(uint64_t gpa)
{
	uint64_t v;

	memcpy(&v, ram_find(gpa), sizeof(v));
	return v;
}

static void set32(uint64_t gpa, uint32_t v)
{
	memcpy(ram_add(gpa), &v, sizeof(v));
}

static uint32_t get32(uint64_t gpa)
{
	uint32_t v;

	memcpy(&v, ram_find(gpa), sizeof(v));
	return v;
}

/* Forget all RAM (pages are zeroed again when re-added). */
static void ram_reset(void)
{
	unsigned i;

	for (i = 0; i < RAM_PAGES; i++)
		ram.page[i].used = false;
	ram.reads = ram.writes = 0;
	ram.fail_writes = false;
	ram.next_table = 0;
}

static int setup(void **state)
{
	(void)state;
	ram_reset();
	return 0;
}

static uint64_t new_table(void)
{
	uint64_t t = ram.next_table;

	ram_add(t);
	ram.next_table += PAGE;
	return t;
}

/* ---- table builders: return the entry addresses of each level in ent[] ---------------------- */

#define TABLES_LOW  0x00100000ull	  /* 32-bit and PAE tables: below 4 GiB */
#define TABLES_HIGH 0x0000001234500000ull /* 4-level tables: above 4 GiB */
#define TABLE_FLAGS (P | RW | US)	  /* non-leaf entries grant everything */

/* 4-level: one path for la ending in a leaf of 1 << shift bytes at pa.  Returns CR3. */
static uint64_t build4(uint64_t la, unsigned shift, uint64_t pa, uint64_t leaf, uint64_t ent[4])
{
	uint64_t pml4, pdpt, pd, pt;

	ram.next_table = TABLES_HIGH;
	pml4 = new_table();
	pdpt = new_table();
	ent[0] = pml4 + ((la >> 39) & 511) * 8;
	set64(ent[0], pdpt | TABLE_FLAGS);
	ent[1] = pdpt + ((la >> 30) & 511) * 8;
	if (shift == 30) {
		set64(ent[1], pa | leaf | PS);
		return pml4;
	}
	pd = new_table();
	set64(ent[1], pd | TABLE_FLAGS);
	ent[2] = pd + ((la >> 21) & 511) * 8;
	if (shift == 21) {
		set64(ent[2], pa | leaf | PS);
		return pml4;
	}
	pt = new_table();
	set64(ent[2], pt | TABLE_FLAGS);
	ent[3] = pt + ((la >> 12) & 511) * 8;
	set64(ent[3], pa | leaf);
	return pml4;
}

/* 5-level: a PML5 whose entry for la points to build4's PML4.  Returns CR3, *pml5e the entry. */
static uint64_t build5(uint64_t la, unsigned shift, uint64_t pa, uint64_t leaf, uint64_t ent[4],
		       uint64_t *pml5e)
{
	uint64_t pml4 = build4(la, shift, pa, leaf, ent), pml5 = new_table();

	*pml5e = pml5 + ((la >> 48) & 511) * 8;
	set64(*pml5e, pml4 | TABLE_FLAGS);
	return pml5;
}

#define PAE_CR3_OFFSET 0x60 /* PDPT is 32-byte aligned, not page aligned */

/* PAE: ent[0] = PDPTE, ent[1] = PDE, ent[2] = PTE.  Returns CR3. */
static uint64_t build_pae(uint32_t la, unsigned shift, uint64_t pa, uint64_t leaf, uint64_t ent[3])
{
	uint64_t pdpt, pd, pt;

	ram.next_table = TABLES_LOW;
	pdpt = new_table() + PAE_CR3_OFFSET;
	pd = new_table();
	ent[0] = pdpt + (la >> 30) * 8;
	set64(ent[0], pd | P);
	ent[1] = pd + ((la >> 21) & 511) * 8;
	if (shift == 21) {
		set64(ent[1], pa | leaf | PS);
		return pdpt;
	}
	pt = new_table();
	set64(ent[1], pt | TABLE_FLAGS);
	ent[2] = pt + ((la >> 12) & 511) * 8;
	set64(ent[2], pa | leaf);
	return pdpt;
}

/* 32-bit: ent[0] = PDE, ent[1] = PTE.  For shift 22, pde_leaf is the whole PDE. */
static uint64_t build32(uint32_t la, unsigned shift, uint32_t pde_or_pte, uint64_t ent[2])
{
	uint64_t pd, pt;

	ram.next_table = TABLES_LOW;
	pd = new_table();
	ent[0] = pd + (la >> 22) * 4;
	if (shift == 22) {
		set32(ent[0], pde_or_pte);
		return pd;
	}
	pt = new_table();
	set32(ent[0], (uint32_t)(pt | TABLE_FLAGS));
	ent[1] = pt + ((la >> 12) & 1023) * 4;
	set32(ent[1], pde_or_pte);
	return pd;
}

static struct gw_regs regs_4level(uint64_t cr3)
{
	return (struct gw_regs){.cr0 = CR0_PE | CR0_PG | CR0_WP,
				.cr3 = cr3,
				.cr4 = CR4_PAE,
				.efer = EFER_LME | EFER_LMA | EFER_NXE};
}

static struct gw_regs regs_pae(uint64_t cr3)
{
	return (struct gw_regs){
		.cr0 = CR0_PE | CR0_PG | CR0_WP, .cr3 = cr3, .cr4 = CR4_PAE, .efer = EFER_NXE};
}

static struct gw_regs regs_32(uint64_t cr3)
{
	return (struct gw_regs){.cr0 = CR0_PE | CR0_PG | CR0_WP, .cr3 = cr3, .cr4 = CR4_PSE};
}

/* Walk expecting #PF; returns the error code. */
static uint32_t walk_fault(const struct gw_regs *regs, uint64_t la, unsigned access)
{
	struct gw_result r;

	assert_int_equal(guest_walk(regs, &mem_rw, la, access, &r), -E_FAULT);
	return r.pf_error;
}

/* ---- paging off ---------------------------------------------------------------------------- */

static void test_paging_off_is_identity_truncated_to_32_bits_with_no_memory_access(void **state)
{
	struct gw_regs regs = {.cr0 = CR0_PE, .cr4 = CR4_PAE | CR4_SMEP, .cpl = 3};
	struct gw_result r;

	(void)state;
	assert_int_equal(guest_walk(&regs, &mem_rw, 0x123456789abcull, GW_WRITE | GW_USER, &r), 0);
	assert_int_equal(r.gpa, 0x56789abcull);
	assert_int_equal(r.page_shift, 12);
	assert_true(r.user && r.writable && !r.nx);
	assert_int_equal(ram.reads + ram.writes, 0);
	assert_true(gw_access_allowed(&regs, false, false, true, GW_FETCH | GW_USER));
}

/* ---- 4-level paging ------------------------------------------------------------------------ */

static void test_4level_4k_translation_sets_accessed_and_dirty(void **state)
{
	uint64_t ent[4], la = 0x00007f123456789aull, pa = 0x0000000abcdef000ull;
	struct gw_regs regs;
	struct gw_result r;
	unsigned i;

	(void)state;
	regs = regs_4level(build4(la, 12, pa, P | RW | US, ent));
	assert_int_equal(guest_walk(&regs, &mem_rw, la, 0, &r), 0);
	assert_int_equal(r.gpa, pa | 0x89a);
	assert_int_equal(r.page_shift, 12);
	assert_true(r.user && r.writable && !r.nx);
	assert_int_equal(r.pf_error, 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(get64(ent[i]) & (ACC | DIRT), ACC);

	assert_int_equal(guest_walk(&regs, &mem_rw, la, GW_WRITE, &r), 0);
	assert_int_equal(get64(ent[3]), pa | P | RW | US | ACC | DIRT);
	for (i = 0; i < 3; i++)
		assert_int_equal(get64(ent[i]) & (ACC | DIRT), ACC);

	/* Everything already set: no further writes. */
	ram.writes = 0;
	assert_int_equal(guest_walk(&regs, &mem_rw, la, GW_WRITE, &r), 0);
	assert_int_equal(ram.writes, 0);
}

static void test_4level_2m_and_1g_pages(void **state)
{
	uint64_t ent[4], la = 0x0000123456789abcull;
	struct gw_regs regs;
	struct gw_result r;

	(void)state;
	regs = regs_4level(build4(la, 21, 0x0000004000200000ull, P | US, ent));
	assert_int_equal(guest_walk(&regs, &mem_rw, la, GW_USER, &r), 0);
	assert_int_equal(r.gpa, 0x0000004000200000ull | (la & (2 * MiB - 1)));
	assert_int_equal(r.page_shift, 21);
	assert_true(r.user && !r.writable && !r.nx);
	assert_int_equal(get64(ent[2]), 0x0000004000200000ull | P | US | PS | ACC);

	ram_reset();
	regs = regs_4level(build4(la, 30, 0x0000008040000000ull, P | RW | XD, ent));
	assert_int_equal(guest_walk(&regs, &mem_rw, la, GW_WRITE, &r), 0);
	assert_int_equal(r.gpa, 0x0000008040000000ull | (la & (GiB - 1)));
	assert_int_equal(r.page_shift, 30);
	assert_true(!r.user && r.writable && r.nx);
	assert_int_equal(get64(ent[1]), 0x0000008040000000ull | P | RW | XD | PS | ACC | DIRT);
}

static void test_4level_large_page_pat_bit_is_not_an_address_bit(void **state)
{
	uint64_t ent[4], la = 0x40201234ull;
	struct gw_regs regs;
	struct gw_result r;

	(void)state;
	regs = regs_4level(build4(la, 21, 0x40200000ull, P | (1ull << 12), ent)); /* PAT */
	assert_int_equal(guest_walk(&regs, &mem_rw, la, 0, &r), 0);
	assert_int_equal(r.gpa, la);
}

static void test_4level_rights_are_and_of_rw_us_and_or_of_xd(void **state)
{
	uint64_t ent[4], la = 0x1000;
	struct gw_regs regs;
	struct gw_result r;
	unsigned lvl;

	(void)state;
	for (lvl = 0; lvl < 4; lvl++) {
		ram_reset();
		regs = regs_4level(build4(la, 12, 0x5000, P | RW | US, ent));
		set64(ent[lvl], (get64(ent[lvl]) & ~(RW | US)) | XD);
		assert_int_equal(guest_walk(&regs, &mem_rw, la, 0, &r), 0);
		assert_true(!r.user && !r.writable && r.nx);
	}
}

static void test_4level_cr3_low_bits_are_pcid_or_flags_not_address(void **state)
{
	uint64_t ent[4], la = 0x7000;
	struct gw_regs regs;
	struct gw_result r;

	(void)state;
	regs = regs_4level(build4(la, 12, 0x9000, P, ent) | 0xabc);
	regs.cr4 |= CR4_PCID;
	assert_int_equal(guest_walk(&regs, &mem_rw, la, 0, &r), 0);
	assert_int_equal(r.gpa, 0x9000);
	regs.cr3 = (regs.cr3 & ~0xfffull) | PWT | PCD;
	regs.cr4 &= ~CR4_PCID;
	assert_int_equal(guest_walk(&regs, &mem_rw, la, 0, &r), 0);
	assert_int_equal(r.gpa, 0x9000);
}

static void test_4level_not_present_at_each_level_gives_p0_with_access_bits(void **state)
{
	uint64_t ent[4], la = 0x0000008123456000ull;
	struct gw_regs regs;
	unsigned lvl;

	(void)state;
	for (lvl = 0; lvl < 4; lvl++) {
		ram_reset();
		regs = regs_4level(build4(la, 12, 0x5000, P | RW | US, ent));
		/* Not present: every other bit (even "reserved" ones) is ignored. */
		set64(ent[lvl], get64(ent[lvl]) & ~P);
		set64(ent[lvl], get64(ent[lvl]) | PS | (1ull << 51));
		regs.cpl = 3;
		ram.writes = 0;
		assert_int_equal(walk_fault(&regs, la, 0), ERR_U);
		assert_int_equal(walk_fault(&regs, la, GW_WRITE), ERR_U | ERR_W);
		assert_int_equal(walk_fault(&regs, la, GW_FETCH), ERR_U | ERR_ID);
		regs.cpl = 0;
		assert_int_equal(walk_fault(&regs, la, GW_WRITE), ERR_W);
		assert_int_equal(walk_fault(&regs, la, GW_FETCH), ERR_ID);
		assert_int_equal(ram.writes, 0); /* no A bits on a failed walk */
	}
}

static void test_4level_reserved_bits_at_each_level_give_rsvd(void **state)
{
	/* {level, bit}: address bits above MAXPHYADDR, PS in PML4E, large-page low bits. */
	static const struct {
		unsigned level, leaf_shift, bit;
	} cases[] = {
		{0, 12, 51}, {0, 12, 40}, {0, 12, 7},  {1, 12, 45}, {1, 30, 13},
		{1, 30, 29}, {1, 30, 51}, {2, 12, 40}, {2, 21, 13}, {2, 21, 20},
		{2, 21, 48}, {3, 12, 40}, {3, 12, 51},
	};
	uint64_t ent[4], la = 0x0000008123456000ull;
	struct gw_regs regs;
	struct gw_result r;
	unsigned i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		ram_reset();
		regs = regs_4level(build4(la, cases[i].leaf_shift, 0, P | RW | US, ent));
		regs.maxphyaddr = 40;
		set64(ent[cases[i].level], get64(ent[cases[i].level]) | (1ull << cases[i].bit));
		assert_int_equal(walk_fault(&regs, la, GW_WRITE), ERR_P | ERR_RSVD | ERR_W);
		regs.cpl = 3;
		assert_int_equal(walk_fault(&regs, la, GW_FETCH),
				 ERR_P | ERR_RSVD | ERR_U | ERR_ID);
		assert_int_equal(ram.writes, 0);
	}
	/* Bit 40 is an address bit with the default MAXPHYADDR (52): the PTE frame is not RAM. */
	ram_reset();
	regs = regs_4level(build4(la, 12, 1ull << 40, P, ent));
	assert_int_equal(guest_walk(&regs, &mem_rw, la, 0, &r), 0);
	assert_int_equal(r.gpa, 1ull << 40);
	set64(ent[2], get64(ent[2]) | (1ull << 40));
	assert_int_equal(guest_walk(&regs, &mem_rw, la, 0, &r), -E_INVAL);
}

static void test_4level_xd_is_reserved_without_nxe(void **state)
{
	uint64_t ent[4], la = 0x3000;
	struct gw_regs regs;
	unsigned lvl;

	(void)state;
	for (lvl = 0; lvl < 4; lvl++) {
		ram_reset();
		regs = regs_4level(build4(la, 12, 0x5000, P | RW | US, ent));
		regs.efer &= ~EFER_NXE;
		set64(ent[lvl], get64(ent[lvl]) | XD);
		assert_int_equal(walk_fault(&regs, la, 0), ERR_P | ERR_RSVD);
		/* Without NXE (and SMEP) the error code reports no I/D. */
		assert_int_equal(walk_fault(&regs, la, GW_FETCH), ERR_P | ERR_RSVD);
	}
}

static void test_4level_reserved_bit_wins_over_lower_not_present(void **state)
{
	uint64_t ent[4], la = 0x3000;
	struct gw_regs regs;

	(void)state;
	regs = regs_4level(build4(la, 12, 0x5000, P | RW | US, ent));
	set64(ent[1], get64(ent[1]) | (1ull << 51));
	set64(ent[3], 0);
	regs.maxphyaddr = 48;
	assert_int_equal(walk_fault(&regs, la, 0), ERR_P | ERR_RSVD);
}

/* ---- access rights ------------------------------------------------------------------------- */

static void test_write_to_read_only_page_user_always_supervisor_iff_wp(void **state)
{
	uint64_t ent[4], la = 0x3000;
	struct gw_regs regs;
	struct gw_result r;

	(void)state;
	regs = regs_4level(build4(la, 12, 0x5000, P | US, ent));
	assert_int_equal(walk_fault(&regs, la, GW_WRITE), ERR_P | ERR_W);
	assert_int_equal(walk_fault(&regs, la, GW_WRITE | GW_USER), ERR_P | ERR_W | ERR_U);
	regs.cpl = 3;
	assert_int_equal(walk_fault(&regs, la, GW_WRITE), ERR_P | ERR_W | ERR_U);
	regs.cr0 &= ~CR0_WP;
	assert_int_equal(walk_fault(&regs, la, GW_WRITE), ERR_P | ERR_W | ERR_U);
	assert_int_equal(get64(ent[3]) & (ACC | DIRT), 0);
	regs.cpl = 0;
	assert_int_equal(guest_walk(&regs, &mem_rw, la, GW_WRITE, &r), 0);
	assert_false(r.writable);
	/* The CPU sets D on any write that happens, even to a read-only page. */
	assert_int_equal(get64(ent[3]) & (ACC | DIRT), ACC | DIRT);
	/* Read-only at an upper level only is read-only too. */
	ram_reset();
	regs = regs_4level(build4(la, 12, 0x5000, P | RW | US, ent));
	set64(ent[1], get64(ent[1]) & ~RW);
	assert_int_equal(walk_fault(&regs, la, GW_WRITE), ERR_P | ERR_W);
}

static void test_user_access_to_supervisor_page_faults(void **state)
{
	uint64_t ent[4], la = 0x3000;
	struct gw_regs regs;
	struct gw_result r;

	(void)state;
	regs = regs_4level(build4(la, 12, 0x5000, P | RW | US, ent));
	set64(ent[2], get64(ent[2]) & ~US); /* supervisor at the PD level only */
	assert_int_equal(walk_fault(&regs, la, GW_USER), ERR_P | ERR_U);
	assert_int_equal(walk_fault(&regs, la, GW_USER | GW_WRITE), ERR_P | ERR_U | ERR_W);
	assert_int_equal(walk_fault(&regs, la, GW_USER | GW_FETCH), ERR_P | ERR_U | ERR_ID);
	regs.cpl = 3;
	assert_int_equal(walk_fault(&regs, la, 0), ERR_P | ERR_U);
	/* Implicit supervisor accesses (GDT, TSS...) at CPL 3 are allowed, U/S = 0. */
	assert_int_equal(guest_walk(&regs, &mem_rw, la, GW_IMPLICIT_SUPERVISOR, &r), 0);
	assert_int_equal(r.gpa, 0x5000);
	regs.cpl = 0;
	assert_int_equal(guest_walk(&regs, &mem_rw, la, GW_WRITE, &r), 0);
}

static void test_nx_fetch_faults_only_with_nxe(void **state)
{
	uint64_t ent[4], la = 0x3000;
	struct gw_regs regs;
	struct gw_result r;

	(void)state;
	regs = regs_4level(build4(la, 12, 0x5000, P | RW | US | XD, ent));
	assert_int_equal(walk_fault(&regs, la, GW_FETCH), ERR_P | ERR_ID);
	assert_int_equal(walk_fault(&regs, la, GW_FETCH | GW_USER), ERR_P | ERR_ID | ERR_U);
	assert_int_equal(guest_walk(&regs, &mem_rw, la, GW_WRITE, &r), 0);
	assert_true(r.nx);
	/* PAE without NXE: XD is reserved, so build an NX-free PAE walk and check I/D stays 0. */
	ram_reset();
	regs = regs_pae(build_pae(la, 12, 0x5000, P | RW | XD, ent));
	assert_int_equal(walk_fault(&regs, la, GW_FETCH), ERR_P | ERR_ID);
	regs.efer = 0;
	assert_int_equal(walk_fault(&regs, la, GW_FETCH), ERR_P | ERR_RSVD);
	set64(ent[2], get64(ent[2]) & ~XD);
	assert_int_equal(guest_walk(&regs, &mem_rw, la, GW_FETCH, &r), 0);
	assert_false(r.nx);
}

static void test_smep_blocks_supervisor_fetch_from_user_page(void **state)
{
	uint64_t ent[4], la = 0x3000;
	struct gw_regs regs;
	struct gw_result r;

	(void)state;
	regs = regs_4level(build4(la, 12, 0x5000, P | RW | US, ent));
	assert_int_equal(guest_walk(&regs, &mem_rw, la, GW_FETCH, &r), 0);
	regs.cr4 |= CR4_SMEP;
	assert_int_equal(walk_fault(&regs, la, GW_FETCH), ERR_P | ERR_ID);
	assert_int_equal(guest_walk(&regs, &mem_rw, la, GW_FETCH | GW_USER, &r), 0);
	assert_int_equal(guest_walk(&regs, &mem_rw, la, GW_WRITE, &r), 0); /* data: not SMEP */
	/* 32-bit paging has no NX: I/D is reported only because of SMEP. */
	ram_reset();
	regs = regs_32(build32(la, 12, 0x5000 | P | US, ent));
	assert_int_equal(guest_walk(&regs, &mem_rw, la, GW_FETCH, &r), 0);
	regs.cr4 |= CR4_SMEP;
	assert_int_equal(walk_fault(&regs, la, GW_FETCH), ERR_P | ERR_ID);
	set32(ent[1], 0);
	assert_int_equal(walk_fault(&regs, la, GW_FETCH), ERR_ID);
	regs.cr4 &= ~CR4_SMEP;
	regs.efer = EFER_NXE; /* NXE without PAE: still no I/D */
	assert_int_equal(walk_fault(&regs, la, GW_FETCH), 0);
}

static void test_smap_blocks_supervisor_data_access_unless_explicit_with_ac(void **state)
{
	uint64_t ent[4], la = 0x3000;
	struct gw_regs regs;
	struct gw_result r;

	(void)state;
	regs = regs_4level(build4(la, 12, 0x5000, P | RW | US, ent));
	regs.cr4 |= CR4_SMAP;
	assert_int_equal(walk_fault(&regs, la, 0), ERR_P);
	assert_int_equal(walk_fault(&regs, la, GW_WRITE), ERR_P | ERR_W);
	assert_int_equal(walk_fault(&regs, la, GW_IMPLICIT_SUPERVISOR), ERR_P);
	assert_int_equal(guest_walk(&regs, &mem_rw, la, GW_FETCH, &r), 0); /* fetch: not SMAP */
	assert_int_equal(guest_walk(&regs, &mem_rw, la, GW_USER | GW_WRITE, &r), 0);
	regs.rflags_ac = true;
	assert_int_equal(guest_walk(&regs, &mem_rw, la, 0, &r), 0);
	assert_int_equal(guest_walk(&regs, &mem_rw, la, GW_WRITE, &r), 0);
	assert_int_equal(walk_fault(&regs, la, GW_IMPLICIT_SUPERVISOR | GW_WRITE), ERR_P | ERR_W);
	regs.cpl = 3; /* implicit at CPL 3: AC never helps, U/S = 0 */
	assert_int_equal(walk_fault(&regs, la, GW_IMPLICIT_SUPERVISOR), ERR_P);
	/* SMAP + AC still obeys WP for a read-only user page. */
	regs.cpl = 0;
	set64(ent[3], get64(ent[3]) & ~RW);
	assert_int_equal(walk_fault(&regs, la, GW_WRITE), ERR_P | ERR_W);
	/* Supervisor pages are unaffected by SMAP. */
	ram_reset();
	regs = regs_4level(build4(la, 12, 0x5000, P | RW, ent));
	regs.cr4 |= CR4_SMAP;
	assert_int_equal(guest_walk(&regs, &mem_rw, la, GW_IMPLICIT_SUPERVISOR, &r), 0);
}

/* LA57: five levels, bits 56:48 index the PML5, every level's rights and A bits count. */
static void test_5level_walk_uses_pml5_index_rights_and_accessed_bits(void **state)
{
	uint64_t ent[4], pml5e, la = 0x00abcdef12345678ull;
	struct gw_regs regs;
	struct gw_result r;

	(void)state;
	regs = regs_4level(build5(la, 12, 0x7000, P | RW | US, ent, &pml5e));
	regs.cr4 |= CR4_LA57;
	assert_int_equal(guest_walk(&regs, &mem_rw, la, GW_WRITE, &r), 0);
	assert_int_equal(r.gpa, 0x7000ull | (la & 0xfff));
	assert_int_equal(get64(pml5e) & ACC, ACC);
	/* Without LA57 the same CR3 is a PML4: la's PML4 index lands on an empty entry. */
	regs.cr4 &= ~CR4_LA57;
	assert_int_equal(walk_fault(&regs, la, 0), 0);
	regs.cr4 |= CR4_LA57;
	set64(pml5e, get64(pml5e) & ~US);
	assert_int_equal(walk_fault(&regs, la, GW_USER), ERR_P | ERR_U);
	set64(pml5e, get64(pml5e) | US | PS); /* PS in a PML5E is reserved */
	assert_int_equal(walk_fault(&regs, la, 0), ERR_P | ERR_RSVD);
	set64(pml5e, 0);
	assert_int_equal(walk_fault(&regs, la, GW_WRITE), ERR_W);
}

/* ---- PAE paging ---------------------------------------------------------------------------- */

static void test_pae_4k_and_2m_pages_pdpt_from_cr3_bits_31_5(void **state)
{
	uint64_t ent[3], la = 0xc0123456ull;
	struct gw_regs regs;
	struct gw_result r;

	(void)state;
	regs = regs_pae(build_pae(la, 12, 0x0000000987654000ull, P | RW, ent));
	regs.cr3 |= PWT | PCD;
	assert_int_equal(ent[0] & 0xfff, PAE_CR3_OFFSET + 3 * 8);
	/* Upper 32 bits of la are not part of a 32-bit linear address. */
	assert_int_equal(guest_walk(&regs, &mem_rw, la | 0xffff000000000000ull, GW_WRITE, &r), 0);
	assert_int_equal(r.gpa, 0x0000000987654456ull);
	assert_int_equal(r.page_shift, 12);
	assert_true(!r.user && r.writable && !r.nx);
	assert_int_equal(get64(ent[0]), (ent[1] & ~0xfffull) | P); /* PDPTE: no A bit */
	assert_int_equal(get64(ent[1]) & ACC, ACC);
	assert_int_equal(get64(ent[2]) & (ACC | DIRT), ACC | DIRT);

	ram_reset();
	regs = regs_pae(build_pae(la, 21, 0x0000001000200000ull, P | US | XD, ent));
	assert_int_equal(guest_walk(&regs, &mem_rw, la, 0, &r), 0);
	assert_int_equal(r.gpa, 0x0000001000200000ull | (la & (2 * MiB - 1)));
	assert_int_equal(r.page_shift, 21);
	assert_true(r.user && !r.writable && r.nx);
}

static void test_pae_pdpte_reserved_bits_and_not_present(void **state)
{
	static const unsigned rsvd_bits[] = {1, 2, 6, 7, 8, 63, 62, 52, 40};
	uint64_t ent[3], la = 0x40001000ull;
	struct gw_regs regs;
	unsigned i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(rsvd_bits); i++) {
		ram_reset();
		regs = regs_pae(build_pae(la, 12, 0x5000, P | RW | US, ent));
		regs.maxphyaddr = 40;
		set64(ent[0], get64(ent[0]) | (1ull << rsvd_bits[i]));
		assert_int_equal(walk_fault(&regs, la, GW_WRITE), ERR_P | ERR_RSVD | ERR_W);
	}
	set64(ent[0], 0);
	assert_int_equal(walk_fault(&regs, la, GW_USER), ERR_U);
}

/* The leaf's G bit counts (a TLB keeps it across CR3 loads) only with CR4.PGE; G on a
 * non-leaf entry means nothing. */
static void test_global_is_leaf_g_with_cr4_pge(void **state)
{
	const uint64_t g = 1ull << 8, pge = 1ull << 7;
	uint64_t ent[3], la = 0x40001000ull;
	struct gw_regs regs;
	struct gw_result r;

	(void)state;
	regs = regs_pae(build_pae(la, 12, 0x5000, P | RW | g, ent));
	assert_int_equal(guest_walk(&regs, &mem_rw, la, 0, &r), 0);
	assert_false(r.global); /* no CR4.PGE */
	regs.cr4 |= pge;
	assert_int_equal(guest_walk(&regs, &mem_rw, la, 0, &r), 0);
	assert_true(r.global);
	set64(ent[2], get64(ent[2]) & ~g);
	set64(ent[1], get64(ent[1]) | g); /* G on the PDE that points to the table */
	assert_int_equal(guest_walk(&regs, &mem_rw, la, 0, &r), 0);
	assert_false(r.global);
}

/* AMD's legacy-mode PDPE has an accessed bit (QEMU sets it): bit 5 is no reserved bit. */
static void test_pae_pdpte_accessed_bit_allowed(void **state)
{
	uint64_t ent[3], la = 0x40001000ull;
	struct gw_regs regs;
	struct gw_result r;

	(void)state;
	regs = regs_pae(build_pae(la, 12, 0x5000, P | RW | US, ent));
	set64(ent[0], get64(ent[0]) | ACC);
	assert_int_equal(guest_walk(&regs, &mem_rw, la, GW_WRITE | GW_USER, &r), 0);
	assert_int_equal(r.gpa, 0x5000ull);
	assert_true(r.user && r.writable);
}

static void test_pae_pde_pte_reserved_bits(void **state)
{
	uint64_t ent[3], la = 0x40201000ull;
	struct gw_regs regs;

	(void)state;
	/* PAE: bits 62:MAXPHYADDR reserved (unlike 4-level, where 62:52 are ignored). */
	regs = regs_pae(build_pae(la, 12, 0x5000, P | RW | US, ent));
	set64(ent[2], get64(ent[2]) | (1ull << 60));
	assert_int_equal(walk_fault(&regs, la, 0), ERR_P | ERR_RSVD);
	ram_reset();
	regs = regs_pae(build_pae(la, 12, 0x5000, P | RW | US, ent));
	set64(ent[1], get64(ent[1]) | (1ull << 52));
	assert_int_equal(walk_fault(&regs, la, 0), ERR_P | ERR_RSVD);
	ram_reset();
	regs = regs_pae(build_pae(la, 21, 0x200000, P | RW | US | (1ull << 16), ent));
	assert_int_equal(walk_fault(&regs, la, 0), ERR_P | ERR_RSVD);
}

/* ---- 32-bit paging ------------------------------------------------------------------------- */

static void test_32bit_4k_page_and_ad_bits_written_as_4_bytes(void **state)
{
	uint64_t ent[2], la = 0x80403abcull;
	struct gw_regs regs;
	struct gw_result r;

	(void)state;
	regs = regs_32(build32(la, 12, 0xfedcb000u | P | RW | US, ent));
	set32(ent[1] + 4, 0xdeadbeef); /* the next entry must not be touched by the write-back */
	assert_int_equal(guest_walk(&regs, &mem_rw, la | (1ull << 40), GW_WRITE | GW_USER, &r), 0);
	assert_int_equal(r.gpa, 0xfedcbabcull);
	assert_int_equal(r.page_shift, 12);
	assert_true(r.user && r.writable && !r.nx);
	assert_int_equal(get32(ent[1]), 0xfedcb000u | P | RW | US | ACC | DIRT);
	assert_int_equal(get32(ent[1] + 4), 0xdeadbeef);
	assert_int_equal(get32(ent[0]) & (ACC | DIRT), ACC);
}

static void test_32bit_4m_page_with_pse36_high_bits(void **state)
{
	uint64_t ent[2], la = 0x12345678ull;
	struct gw_regs regs;
	struct gw_result r;

	(void)state;
	/* PDE bits 13..20 = physical bits 32..39: 0xab. */
	regs = regs_32(build32(la, 22, 0xffc00000u | (0xabu << 13) | P | RW | PS, ent));
	assert_int_equal(guest_walk(&regs, &mem_rw, la, 0, &r), 0);
	assert_int_equal(r.gpa, 0x000000abffc00000ull | (la & (4 * MiB - 1)));
	assert_int_equal(r.page_shift, 22);
	assert_true(!r.user && r.writable && !r.nx);
	/* MAXPHYADDR 36: only bits 13..16 are address bits, 17..20 are reserved. */
	regs.maxphyaddr = 36;
	assert_int_equal(walk_fault(&regs, la, 0), ERR_P | ERR_RSVD);
	set32(ent[0], 0xffc00000u | (0xbu << 13) | P | RW | PS);
	assert_int_equal(guest_walk(&regs, &mem_rw, la, 0, &r), 0);
	assert_int_equal(r.gpa, 0x0000000bffc00000ull | (la & (4 * MiB - 1)));
	/* MAXPHYADDR above 40: PSE-36 still reaches 40 bits, no more reserved bits. */
	regs.maxphyaddr = 46;
	set32(ent[0], 0xffc00000u | (0xffu << 13) | P | RW | PS);
	assert_int_equal(guest_walk(&regs, &mem_rw, la, 0, &r), 0);
	assert_int_equal(r.gpa, 0x000000ffffc00000ull | (la & (4 * MiB - 1)));
	/* Bit 21 is always reserved. */
	set32(ent[0], 0xffc00000u | (1u << 21) | P | RW | PS);
	assert_int_equal(walk_fault(&regs, la, GW_WRITE), ERR_P | ERR_RSVD | ERR_W);
}

static void test_32bit_ps_is_ignored_without_cr4_pse(void **state)
{
	uint64_t ent[2], pt, la = 0x00403000ull;
	struct gw_regs regs;
	struct gw_result r;

	(void)state;
	regs = regs_32(build32(la, 12, 0x77000u | P, ent));
	pt = get32(ent[0]) & ~0xfffull;
	assert_int_equal(pt, 0x101000); /* bit 20 set: PSE-36 bit 13+7 when read as a 4 MiB PDE */
	set32(ent[0], (uint32_t)(pt | P | RW | US | PS));
	regs.cr4 &= ~CR4_PSE;
	assert_int_equal(guest_walk(&regs, &mem_rw, la, 0, &r), 0);
	assert_int_equal(r.gpa, 0x77000);
	assert_int_equal(r.page_shift, 12);
	regs.cr4 |= CR4_PSE; /* now the same PDE maps 4 MiB at physical 0x80_0000_0000 */
	assert_int_equal(guest_walk(&regs, &mem_rw, la, 0, &r), 0);
	assert_int_equal(r.gpa, 0x0000008000003000ull);
	assert_int_equal(r.page_shift, 22);
}

static void test_32bit_not_present_and_protection_faults(void **state)
{
	uint64_t ent[2], la = 0x00403000ull;
	struct gw_regs regs;

	(void)state;
	regs = regs_32(build32(la, 12, 0x77000u | P | US, ent));
	regs.cpl = 3;
	assert_int_equal(walk_fault(&regs, la, GW_WRITE), ERR_P | ERR_W | ERR_U);
	set32(ent[0], get32(ent[0]) & ~US);
	assert_int_equal(walk_fault(&regs, la, 0), ERR_P | ERR_U);
	set32(ent[0], get32(ent[0]) & ~P);
	assert_int_equal(walk_fault(&regs, la, GW_WRITE), ERR_W | ERR_U);
}

/* ---- errors and unsupported cases ---------------------------------------------------------- */

static void test_entry_outside_ram_is_einval_and_write_back_failure_too(void **state)
{
	uint64_t ent[4], la = 0x3000;
	struct gw_regs regs;
	struct gw_result r;

	(void)state;
	regs = regs_4level(build4(la, 12, 0x5000, P | RW | US, ent));
	regs.cr3 = 0x7770000;
	assert_int_equal(guest_walk(&regs, &mem_rw, la, 0, &r), -E_INVAL);
	regs.cr3 = TABLES_HIGH;
	set64(ent[3], get64(ent[3]) & ~P);
	assert_int_equal(walk_fault(&regs, la, 0), 0); /* a fault is not -E_INVAL... */
	set64(ent[3], get64(ent[3]) | P);
	ram.fail_writes = true; /* ...and neither is a walk whose A/D write-back fails */
	assert_int_equal(guest_walk(&regs, &mem_rw, la, 0, &r), -E_INVAL);
	assert_int_equal(ram.writes, 1);
}

static void test_without_write_callback_no_ad_update(void **state)
{
	uint64_t ent[4], la = 0x3000;
	struct gw_regs regs;
	struct gw_result r;
	unsigned i;

	(void)state;
	regs = regs_4level(build4(la, 12, 0x5000, P | RW | US, ent));
	assert_int_equal(guest_walk(&regs, &mem_ro, la, GW_WRITE, &r), 0);
	assert_int_equal(r.gpa, 0x5000);
	for (i = 0; i < 4; i++)
		assert_int_equal(get64(ent[i]) & (ACC | DIRT), 0);
}

/* Protection keys with the guest's PKRU given: AD forbids data access, WD user writes (and
 * supervisor writes with WP); fetches and supervisor pages are not governed by PKRU. */
static void test_protection_keys_judged_with_pkru(void **state)
{
	uint64_t ent[4], la = 0x3000, key5 = 5ull << 59;
	struct gw_regs regs;
	struct gw_result r;

	(void)state;
	regs = regs_4level(build4(la, 12, 0x5000 | key5, P | RW | US, ent));
	regs.cr4 |= CR4_PKE;
	regs.has_pkru = true;
	regs.pkru = 0;
	assert_int_equal(guest_walk(&regs, &mem_rw, la, GW_WRITE | GW_USER, &r), 0);
	assert_int_equal(r.gpa, 0x5000);
	regs.pkru = 1u << (2 * 5); /* AD for key 5 */
	assert_int_equal(guest_walk(&regs, &mem_rw, la, GW_USER, &r), -E_FAULT);
	assert_int_equal(r.pf_error, GW_PF_P | GW_PF_U | GW_PF_PK);
	assert_int_equal(guest_walk(&regs, &mem_rw, la, 0, &r), -E_FAULT); /* supervisor too */
	assert_int_equal(guest_walk(&regs, &mem_rw, la, GW_FETCH | GW_USER, &r), 0);
	regs.pkru = 1u << (2 * 4); /* another key's AD: no effect */
	assert_int_equal(guest_walk(&regs, &mem_rw, la, GW_USER, &r), 0);
	regs.pkru = 2u << (2 * 5); /* WD for key 5 */
	assert_int_equal(guest_walk(&regs, &mem_rw, la, GW_USER, &r), 0);
	assert_int_equal(guest_walk(&regs, &mem_rw, la, GW_WRITE | GW_USER, &r), -E_FAULT);
	assert_int_equal(r.pf_error, GW_PF_P | GW_PF_W | GW_PF_U | GW_PF_PK);
	regs.cr0 &= ~CR0_WP; /* a supervisor write ignores WD without WP */
	assert_int_equal(guest_walk(&regs, &mem_rw, la, GW_WRITE, &r), 0);
	regs.cr0 |= CR0_WP;
	assert_int_equal(guest_walk(&regs, &mem_rw, la, GW_WRITE, &r), -E_FAULT);
	/* A plain protection fault wins: no PK bit on a read-only page's user write. */
	set64(ent[3], get64(ent[3]) & ~RW);
	assert_int_equal(guest_walk(&regs, &mem_rw, la, GW_WRITE | GW_USER, &r), -E_FAULT);
	assert_int_equal(r.pf_error & GW_PF_PK, 0);
	/* Supervisor pages are not keyed by PKRU. */
	set64(ent[3], (get64(ent[3]) | RW) & ~US);
	regs.pkru = ~0u;
	assert_int_equal(guest_walk(&regs, &mem_rw, la, GW_WRITE, &r), 0);
}

static void test_unsupported_modes_and_invalid_arguments(void **state)
{
	uint64_t ent[4], la = 0x3000;
	struct gw_regs regs;
	struct gw_result r;

	(void)state;
	regs = regs_4level(build4(la, 12, 0x5000, P | RW | US, ent));
	regs.cr4 |= CR4_PKE;
	assert_int_equal(guest_walk(&regs, &mem_rw, la, 0, &r), -E_NOTSUP);
	assert_int_equal(guest_walk(&regs, &mem_rw, la, GW_FETCH, &r), 0); /* keys: data only */
	regs.cr4 &= ~CR4_PKE;
	regs.cr4 |= CR4_PKS;
	assert_int_equal(guest_walk(&regs, &mem_rw, la, 0, &r), 0); /* user page: PKS n/a */
	set64(ent[3], get64(ent[3]) & ~US);
	assert_int_equal(guest_walk(&regs, &mem_rw, la, 0, &r), -E_NOTSUP);
	regs.cr4 &= ~CR4_PKS;

	assert_int_equal(guest_walk(&regs, &mem_rw, la, GW_WRITE | GW_FETCH, &r), -E_INVAL);
	assert_int_equal(guest_walk(&regs, &mem_rw, la, GW_USER | GW_IMPLICIT_SUPERVISOR, &r),
			 -E_INVAL);
	assert_int_equal(guest_walk(&regs, &mem_rw, la, 1u, &r), -E_INVAL);
	assert_false(gw_access_allowed(&regs, true, true, false, 1u << 9));
	regs.maxphyaddr = 53;
	assert_int_equal(guest_walk(&regs, &mem_rw, la, 0, &r), -E_INVAL);
	regs.maxphyaddr = 0;
	regs.cr4 &= ~CR4_PAE; /* LMA without PAE cannot happen */
	assert_int_equal(guest_walk(&regs, &mem_rw, la, 0, &r), -E_INVAL);
}

/* ---- the reference walker ------------------------------------------------------------------ */

struct ref_out {
	int rc;
	uint64_t gpa;
	unsigned shift;
	bool u, w, nx;
	uint32_t err;
	uint64_t used[4]; /* entries with an A bit that the walk used */
	unsigned nused;
};

static bool ref_rd(uint64_t gpa, unsigned len, uint64_t *v)
{
	const uint8_t *p = ram_find(gpa);

	*v = 0;
	if (!p)
		return false;
	memcpy(v, p, len);
	return true;
}

static uint64_t mask_from(unsigned lo, unsigned hi) /* bits lo..hi inclusive */
{
	uint64_t m = 0;
	unsigned b;

	for (b = lo; b <= hi && b < 64; b++)
		m |= 1ull << b;
	return m;
}

/*
 * The most literal reading of SDM 4.3-4.7: one block per paging mode, entry by entry.  Returns
 * false when the walk stops (out->rc set), true with out->gpa/shift/u/w/nx filled otherwise.
 */
static bool ref_translate(const struct gw_regs *g, uint64_t la, unsigned mpa, struct ref_out *o,
			  uint32_t err)
{
	bool nxe = g->efer & EFER_NXE;
	uint64_t e, a;

	o->u = o->w = true;
	o->nx = false;
	if (!(g->efer & EFER_LMA) && !(g->cr4 & CR4_PAE)) {
		la &= 0xffffffffull;
		a = (g->cr3 & 0xfffff000ull) + (la >> 22) * 4;
		if (!ref_rd(a, 4, &e))
			goto inval;
		if (!(e & P))
			goto notp;
		o->used[o->nused++] = a;
		o->u &= !!(e & US);
		o->w &= !!(e & RW);
		if ((g->cr4 & CR4_PSE) && (e & PS)) {
			/* PSE-36: PDE bits 13.. hold physical bits 32..min(40, MAXPHYADDR)-1 */
			unsigned hi_bits = (mpa > 40 ? 40 : mpa) - 32;

			if (e & ((1ull << 21) | mask_from(13 + hi_bits, 20)))
				goto rsvd;
			o->gpa = (e & 0xffc00000ull) | (((e >> 13) & 0xff) << 32) | (la & 0x3fffff);
			o->shift = 22;
			return true;
		}
		a = (e & 0xfffff000ull) + ((la >> 12) & 0x3ff) * 4;
		if (!ref_rd(a, 4, &e))
			goto inval;
		if (!(e & P))
			goto notp;
		o->used[o->nused++] = a;
		o->u &= !!(e & US);
		o->w &= !!(e & RW);
		o->gpa = (e & 0xfffff000ull) | (la & 0xfff);
		o->shift = 12;
		return true;
	}
	if (!(g->efer & EFER_LMA)) { /* PAE */
		uint64_t addr = mask_from(12, mpa - 1), rs = mask_from(mpa, 62) | (nxe ? 0 : XD);

		la &= 0xffffffffull;
		a = (g->cr3 & 0xffffffe0ull) + (la >> 30) * 8;
		if (!ref_rd(a, 8, &e))
			goto inval;
		if (!(e & P))
			goto notp;
		if (e & (mask_from(mpa, 63) | 0x1c6)) /* bits 1, 2, 6..8; A (5) allowed */
			goto rsvd;
		a = (e & addr) + ((la >> 21) & 511) * 8;
		if (!ref_rd(a, 8, &e))
			goto inval;
		if (!(e & P))
			goto notp;
		if ((e & rs) || ((e & PS) && (e & mask_from(13, 20))))
			goto rsvd;
		o->used[o->nused++] = a;
		o->u &= !!(e & US);
		o->w &= !!(e & RW);
		o->nx |= nxe && (e & XD);
		if (e & PS) {
			o->gpa = (e & addr & ~0x1fffffull) | (la & 0x1fffff);
			o->shift = 21;
			return true;
		}
		a = (e & addr) + ((la >> 12) & 511) * 8;
		if (!ref_rd(a, 8, &e))
			goto inval;
		if (!(e & P))
			goto notp;
		if (e & rs)
			goto rsvd;
		o->used[o->nused++] = a;
		o->u &= !!(e & US);
		o->w &= !!(e & RW);
		o->nx |= nxe && (e & XD);
		o->gpa = (e & addr) | (la & 0xfff);
		o->shift = 12;
		return true;
	}
	/* 4-level */
	{
		uint64_t addr = mask_from(12, mpa - 1), rs = mpa < 52 ? mask_from(mpa, 51) : 0;
		unsigned level, shift;

		if (!nxe)
			rs |= XD;
		a = (g->cr3 & addr) + ((la >> 39) & 511) * 8;
		for (level = 4; level >= 1; level--) {
			shift = 12 + 9 * (level - 1);
			if (level != 4)
				a = (e & addr) + ((la >> shift) & 511) * 8;
			if (!ref_rd(a, 8, &e))
				goto inval;
			if (!(e & P))
				goto notp;
			if (e & rs)
				goto rsvd;
			if (level == 4 && (e & PS))
				goto rsvd;
			if ((level == 3 || level == 2) && (e & PS) &&
			    (e & mask_from(13, shift - 1)))
				goto rsvd;
			o->used[o->nused++] = a;
			o->u &= !!(e & US);
			o->w &= !!(e & RW);
			o->nx |= nxe && (e & XD);
			if (level == 1 || ((level == 3 || level == 2) && (e & PS))) {
				o->gpa = (e & addr & ~mask_from(0, shift - 1)) |
					 (la & mask_from(0, shift - 1));
				o->shift = shift;
				return true;
			}
		}
	}
	fail_msg("unreachable");
inval:
	o->rc = -E_INVAL;
	return false;
notp:
	o->rc = -E_FAULT;
	o->err = err;
	return false;
rsvd:
	o->rc = -E_FAULT;
	o->err = err | ERR_P | ERR_RSVD;
	return false;
}

/* SDM 4.6.1, bullet by bullet.  nx counts only where XD exists and is enabled (PAE + NXE). */
static bool ref_allowed(const struct gw_regs *g, bool u, bool w, bool nx, unsigned acc)
{
	bool wr = acc & GW_WRITE, fetch = acc & GW_FETCH, impl = acc & GW_IMPLICIT_SUPERVISOR;
	bool user = !impl && (g->cpl == 3 || (acc & GW_USER));

	if (!(g->cr0 & CR0_PG))
		return true;
	nx = nx && (g->efer & EFER_NXE) && (g->cr4 & CR4_PAE);
	if (user) {
		if (!u)
			return false;
		if (wr && !w)
			return false;
		if (fetch && nx)
			return false;
		return true;
	}
	if (fetch) {
		if (u && (g->cr4 & CR4_SMEP))
			return false;
		if (nx)
			return false;
		return true;
	}
	if (u && (g->cr4 & CR4_SMAP) && (impl || !g->rflags_ac))
		return false;
	if (wr && !w && (g->cr0 & CR0_WP))
		return false;
	return true;
}

static void ref_walk(const struct gw_regs *g, uint64_t la, unsigned acc, struct ref_out *o)
{
	bool wr = acc & GW_WRITE, fetch = acc & GW_FETCH, impl = acc & GW_IMPLICIT_SUPERVISOR;
	bool user = !impl && (g->cpl == 3 || (acc & GW_USER));
	bool nxe = (g->efer & EFER_NXE) && (g->cr4 & CR4_PAE);
	unsigned mpa = g->maxphyaddr ? g->maxphyaddr : 52;
	uint32_t err = 0;

	memset(o, 0, sizeof(*o));
	if (!(g->cr0 & CR0_PG)) {
		o->gpa = la & 0xffffffffull;
		o->shift = 12;
		o->u = o->w = true;
		return;
	}
	if (wr)
		err |= ERR_W;
	if (user)
		err |= ERR_U;
	if (fetch && ((g->cr4 & CR4_SMEP) || nxe))
		err |= ERR_ID;
	if (!ref_translate(g, la, mpa, o, err))
		return;
	if (!ref_allowed(g, o->u, o->w, o->nx, acc)) {
		o->rc = -E_FAULT;
		o->err = err | ERR_P;
	}
}

static const unsigned accesses[] = {0,
				    GW_WRITE,
				    GW_FETCH,
				    GW_USER,
				    GW_USER | GW_WRITE,
				    GW_USER | GW_FETCH,
				    GW_IMPLICIT_SUPERVISOR,
				    GW_IMPLICIT_SUPERVISOR | GW_WRITE};

/* Every combination of control bits, CPL, AC, cached rights and access kind. */
static void test_access_allowed_matches_reference_rules_exhaustively(void **state)
{
	static const uint64_t cr0_bits[] = {CR0_PG, CR0_WP};
	static const uint64_t cr4_bits[] = {CR4_PAE, CR4_SMEP, CR4_SMAP};
	unsigned combo, i, allowed = 0, denied = 0;
	const unsigned nbits = 2 + 3 + 1 + 1 + 1 + 3; /* cr0, cr4, nxe, cpl3, ac, u/w/nx */

	(void)state;
	for (combo = 0; combo < (1u << nbits); combo++) {
		struct gw_regs g = {0};
		unsigned b = 0;
		bool u, w, nx;

		for (i = 0; i < ARRAY_SIZE(cr0_bits); i++, b++)
			g.cr0 |= (combo >> b & 1) ? cr0_bits[i] : 0;
		for (i = 0; i < ARRAY_SIZE(cr4_bits); i++, b++)
			g.cr4 |= (combo >> b & 1) ? cr4_bits[i] : 0;
		g.efer = (combo >> b++ & 1) ? EFER_NXE : 0;
		g.cpl = (combo >> b++ & 1) ? 3 : 0;
		g.rflags_ac = combo >> b++ & 1;
		u = combo >> b++ & 1;
		w = combo >> b++ & 1;
		nx = combo >> b++ & 1;
		for (i = 0; i < ARRAY_SIZE(accesses); i++) {
			bool want = ref_allowed(&g, u, w, nx, accesses[i]);

			if (gw_access_allowed(&g, u, w, nx, accesses[i]) != want)
				fail_msg("cr0 %#llx cr4 %#llx efer %#llx cpl %u ac %d u%d w%d nx%d "
					 "acc %#x: want %d",
					 (unsigned long long)g.cr0, (unsigned long long)g.cr4,
					 (unsigned long long)g.efer, g.cpl, g.rflags_ac, u, w, nx,
					 accesses[i], want);
			if (want)
				allowed++;
			else
				denied++;
		}
	}
	assert_true(allowed > 1000 && denied > 1000);
}

/* ---- randomized comparison ----------------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	return xorshift64s(&rng_state);
}

static bool chance(unsigned percent)
{
	return rnd() % 100 < percent;
}

/* Pool pages at addresses aligned to 4 KiB, 2 MiB, 4 MiB and 1 GiB, all below 4 GiB. */
static const uint64_t pool[] = {0x0, 0x40000000ull, 0x200000ull, 0x400000ull, 0x3000ull};
#define ENTRIES_RANDOMIZED 16 /* la indices are 0..1, PAE CR3 offsets up to 0x60: enough */
static const unsigned rsvd_candidates[] = {7, 8, 12, 13, 16, 20, 21, 29, 36, 39, 45, 51, 52, 62};
static const unsigned maxphyaddrs[] = {0, 36, 40, 46, 52};

static uint64_t random_entry(bool wide)
{
	uint64_t e = pool[rnd() % ARRAY_SIZE(pool)];

	if (chance(90))
		e |= P;
	e |= rnd() & (RW | US | PWT | PCD | ACC | DIRT | PS);
	if (wide && chance(20))
		e |= XD;
	if (chance(10))
		e |= 1ull << rsvd_candidates[rnd() % ARRAY_SIZE(rsvd_candidates)];
	if (!wide && chance(10))
		e |= (rnd() & 0xff) << 13; /* PSE-36 bits */
	return wide ? e : (uint32_t)e;
}

static void random_setup(struct gw_regs *g, uint64_t *la)
{
	unsigned i, j, mode = rnd() % 4, lvl;
	bool wide = mode >= 2;

	for (i = 0; i < ARRAY_SIZE(pool); i++) {
		ram_add(pool[i]);
		for (j = 0; j < ENTRIES_RANDOMIZED; j++) {
			if (wide)
				set64(pool[i] + j * 8, random_entry(true));
			else
				set32(pool[i] + j * 4, (uint32_t)random_entry(false));
		}
	}
	memset(g, 0, sizeof(*g));
	g->cr0 = CR0_PE | (chance(97) ? CR0_PG : 0) | (chance(50) ? CR0_WP : 0);
	g->cr3 = pool[rnd() % ARRAY_SIZE(pool)] | (rnd() & (PWT | PCD));
	g->cr4 = (rnd() & (CR4_PSE | CR4_SMEP | CR4_SMAP));
	g->efer = chance(60) ? EFER_NXE : 0;
	g->cpl = chance(50) ? 3 : 0;
	g->rflags_ac = chance(50);
	g->maxphyaddr = maxphyaddrs[rnd() % ARRAY_SIZE(maxphyaddrs)];
	*la = rnd() & 0xfff;
	if (mode == 0 || mode == 1) { /* 32-bit (mode 1: with PSE forced) */
		if (mode == 1)
			g->cr4 |= CR4_PSE;
		*la |= (rnd() % 2) << 22 | (rnd() % 2) << 12;
		if (chance(30)) /* offset bits inside a 4 MiB page */
			*la |= rnd() & 0x3fc000ull;
		*la |= rnd() & 0xffffffff00000000ull; /* not part of a 32-bit linear address */
	} else if (mode == 2) {			      /* PAE */
		g->cr4 |= CR4_PAE;
		g->cr3 |= (rnd() % 4) * 0x20;
		*la |= (rnd() % 2) << 30 | (rnd() % 2) << 21 | (rnd() % 2) << 12;
		*la |= rnd() & 0xffffffff00000000ull;
	} else { /* 4-level */
		g->cr4 |= CR4_PAE | (chance(30) ? CR4_PCID : 0);
		g->efer |= EFER_LME | EFER_LMA;
		if (g->cr4 & CR4_PCID)
			g->cr3 |= rnd() & 0xfff;
		for (lvl = 0; lvl < 4; lvl++)
			*la |= (rnd() % 2) << (12 + 9 * lvl);
		if (chance(30)) /* offset bits inside large pages */
			*la |= rnd() & 0x3fffc000ull;
	}
}

#define RANDOM_ITERS 200000u

enum { OUT_OK, OUT_NOT_PRESENT, OUT_RSVD, OUT_PROTECTION, OUT_INVAL, OUTCOMES };

static unsigned outcome_of(int rc, uint32_t err)
{
	if (rc == 0)
		return OUT_OK;
	if (rc != -E_FAULT)
		return OUT_INVAL;
	if (!(err & ERR_P))
		return OUT_NOT_PRESENT;
	return (err & ERR_RSVD) ? OUT_RSVD : OUT_PROTECTION;
}

static void test_random_tables_match_reference_walker(void **state)
{
	static uint8_t before[ARRAY_SIZE(pool)][PAGE];
	unsigned iter, i, j, k, outcomes[OUTCOMES] = {0};

	(void)state;
	for (iter = 0; iter < RANDOM_ITERS; iter++) {
		struct gw_regs g;
		struct gw_result r;
		struct ref_out o;
		uint64_t la;
		unsigned acc;
		int rc;

		ram_reset();
		random_setup(&g, &la);
		acc = accesses[rnd() % ARRAY_SIZE(accesses)];
		for (i = 0; i < ARRAY_SIZE(pool); i++)
			memcpy(before[i], ram_find(pool[i]), PAGE);
		ref_walk(&g, la, acc, &o);
		rc = guest_walk(&g, &mem_rw, la, acc, &r);
		if (rc != o.rc ||
		    (rc == 0 && (r.gpa != o.gpa || r.page_shift != o.shift || r.user != o.u ||
				 r.writable != o.w || r.nx != o.nx)) ||
		    (rc == -E_FAULT && r.pf_error != o.err))
			fail_msg("iter %u: la %#llx acc %#x cr0 %#llx cr3 %#llx cr4 %#llx efer "
				 "%#llx "
				 "cpl %u ac %d mpa %u: got rc %d gpa %#llx shift %u u%d w%d nx%d "
				 "err %#x, want rc %d gpa %#llx shift %u u%d w%d nx%d err %#x",
				 iter, (unsigned long long)la, acc, (unsigned long long)g.cr0,
				 (unsigned long long)g.cr3, (unsigned long long)g.cr4,
				 (unsigned long long)g.efer, g.cpl, g.rflags_ac, g.maxphyaddr, rc,
				 (unsigned long long)r.gpa, r.page_shift, r.user, r.writable, r.nx,
				 r.pf_error, o.rc, (unsigned long long)o.gpa, o.shift, o.u, o.w,
				 o.nx, o.err);
		outcomes[outcome_of(rc, r.pf_error)]++;
		if (rc == 0 && (g.cr0 & CR0_PG))
			assert_true(gw_access_allowed(&g, r.user, r.writable, r.nx, acc));
		/* Memory: untouched on failure; on success only A (and leaf D) of used entries. */
		for (i = 0; i < ARRAY_SIZE(pool); i++) {
			const uint8_t *now = ram_find(pool[i]);
			unsigned esize = (g.efer & EFER_LMA) || (g.cr4 & CR4_PAE) ? 8 : 4;

			assert_memory_equal(now + ENTRIES_RANDOMIZED * 8,
					    before[i] + ENTRIES_RANDOMIZED * 8,
					    PAGE - ENTRIES_RANDOMIZED * 8);
			for (j = 0; j < ENTRIES_RANDOMIZED * 8; j += esize) {
				uint64_t want = 0, was = 0, is = 0, gpa = pool[i] + j;

				memcpy(&was, before[i] + j, esize);
				memcpy(&is, now + j, esize);
				for (k = 0; rc == 0 && k < o.nused; k++)
					if (o.used[k] == gpa)
						want |= ACC |
							((acc & GW_WRITE) && k == o.nused - 1 ? DIRT
											      : 0);
				assert_int_equal(is, was | want);
			}
		}
	}
	/* The generator must reach every outcome often enough to mean something. */
	for (i = 0; i < ARRAY_SIZE(outcomes); i++)
		if (outcomes[i] < RANDOM_ITERS / 100)
			fail_msg("outcome %u reached only %u times", i, outcomes[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(
			test_paging_off_is_identity_truncated_to_32_bits_with_no_memory_access,
			setup),
		cmocka_unit_test_setup(test_4level_4k_translation_sets_accessed_and_dirty, setup),
		cmocka_unit_test_setup(test_4level_2m_and_1g_pages, setup),
		cmocka_unit_test_setup(test_4level_large_page_pat_bit_is_not_an_address_bit, setup),
		cmocka_unit_test_setup(test_4level_rights_are_and_of_rw_us_and_or_of_xd, setup),
		cmocka_unit_test_setup(test_4level_cr3_low_bits_are_pcid_or_flags_not_address,
				       setup),
		cmocka_unit_test_setup(
			test_4level_not_present_at_each_level_gives_p0_with_access_bits, setup),
		cmocka_unit_test_setup(test_4level_reserved_bits_at_each_level_give_rsvd, setup),
		cmocka_unit_test_setup(test_4level_xd_is_reserved_without_nxe, setup),
		cmocka_unit_test_setup(test_4level_reserved_bit_wins_over_lower_not_present, setup),
		cmocka_unit_test_setup(test_write_to_read_only_page_user_always_supervisor_iff_wp,
				       setup),
		cmocka_unit_test_setup(test_user_access_to_supervisor_page_faults, setup),
		cmocka_unit_test_setup(test_nx_fetch_faults_only_with_nxe, setup),
		cmocka_unit_test_setup(test_smep_blocks_supervisor_fetch_from_user_page, setup),
		cmocka_unit_test_setup(
			test_smap_blocks_supervisor_data_access_unless_explicit_with_ac, setup),
		cmocka_unit_test_setup(test_pae_4k_and_2m_pages_pdpt_from_cr3_bits_31_5, setup),
		cmocka_unit_test_setup(test_pae_pdpte_reserved_bits_and_not_present, setup),
		cmocka_unit_test_setup(test_pae_pdpte_accessed_bit_allowed, setup),
		cmocka_unit_test_setup(test_global_is_leaf_g_with_cr4_pge, setup),
		cmocka_unit_test_setup(test_5level_walk_uses_pml5_index_rights_and_accessed_bits, setup),
		cmocka_unit_test_setup(test_pae_pde_pte_reserved_bits, setup),
		cmocka_unit_test_setup(test_32bit_4k_page_and_ad_bits_written_as_4_bytes, setup),
		cmocka_unit_test_setup(test_32bit_4m_page_with_pse36_high_bits, setup),
		cmocka_unit_test_setup(test_32bit_ps_is_ignored_without_cr4_pse, setup),
		cmocka_unit_test_setup(test_32bit_not_present_and_protection_faults, setup),
		cmocka_unit_test_setup(test_entry_outside_ram_is_einval_and_write_back_failure_too,
				       setup),
		cmocka_unit_test_setup(test_without_write_callback_no_ad_update, setup),
		cmocka_unit_test_setup(test_protection_keys_judged_with_pkru, setup),
		cmocka_unit_test_setup(test_unsupported_modes_and_invalid_arguments, setup),
		cmocka_unit_test(test_access_allowed_matches_reference_rules_exhaustively),
		cmocka_unit_test_setup(test_random_tables_match_reference_walker, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
