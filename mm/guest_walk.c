/*
 * Guest page-table walker: one loop over a per-mode level list; the modes differ only in the
 * level geometry, the entry size, the reserved-bit masks and how a leaf encodes its frame.
 * References are to the Intel SDM Vol. 3, chapter 4.
 */
#include "mm/guest_walk.h"

#include "lib/errno.h"

/* Control-register bits only the walk reads (the others: GW_* in the header). */
#define CR4_PSE	 (1ull << 4)
#define CR4_PGE	 (1ull << 7)
#define CR4_LA57 (1ull << 12)

/* Paging-structure entry bits. */
#define PTE_P  (1ull << 0)
#define PTE_RW (1ull << 1)
#define PTE_US (1ull << 2)
#define PTE_PS (1ull << 7)
#define PTE_G  (1ull << 8) /* global, on a leaf, with CR4.PGE */
#define PTE_XD (1ull << 63)

#define PAGE_SHIFT_2M 21
#define PAGE_SHIFT_4M 22
#define PAGE_SHIFT_1G 30
#define PML4_SHIFT    39
#define PML5_SHIFT    48

#define LA32_MASK	   0xffffffffull
#define ADDR32_4K_MASK	   0xfffff000ull /* 32-bit paging: CR3 / PDE / PTE frame bits 31:12 */
#define ADDR32_4M_MASK	   0xffc00000ull /* 32-bit paging: 4 MiB PDE frame bits 31:22 */
#define PAE_CR3_MASK	   0xffffffe0ull /* PAE: PDPT address is CR3[31:5] */
#define PSE36_LOW_BIT	   13		 /* 4 MiB PDE bits 13..20 hold physical bits 32.. */
#define PSE36_HIGH_BIT	   20
#define PSE36_PHYS_SHIFT   32
#define PSE36_MAXPHYADDR   40 /* PSE-36 reaches at most 40 physical bits */
#define PDE32_4M_RSVD	   (1ull << 21)
#define LARGE_RSVD_LOW_BIT 13 /* bit 12 of a large leaf is PAT; bits 13.. up to the frame: 0 */
#define PAE_PHYS_TOP	   62 /* PAE entries: bits 62:MAXPHYADDR are reserved */
#define LM_PHYS_TOP	   51 /* 4-level entries: bits 51:MAXPHYADDR are reserved */
/*
 * PAE PDPTE: bits 1, 2 and 6..8 are reserved (no R/W, U/S, D, PS, G).  Bit 5 (A) is not:
 * AMD's legacy-mode PDPE has an accessed bit that the processor may set, QEMU's model
 * accepts it, and on Intel a PDPTE with bit 5 set never reaches a walk (MOV to CR3 #GPs).
 */
#define PAE_PDPTE_RSVD ((3ull << 1) | (7ull << 6))
#define MAXPHYADDR_MIN 32

#define ENTRY32_SIZE 4
#define ENTRY64_SIZE 8
#define MAX_LEVELS   5

#define ACCESS_KNOWN (GW_WRITE | GW_USER | GW_FETCH | GW_IMPLICIT_SUPERVISOR)

enum gw_mode { MODE_OFF, MODE_32, MODE_PAE, MODE_4LEVEL, MODE_5LEVEL };

struct gw_level {
	unsigned shift;	   /* la bit where this level's index starts = page shift of its leaves */
	unsigned idx_bits; /* index width */
};

static const struct gw_level levels_32[] = {{PAGE_SHIFT_4M, 10}, {GW_PAGE_SHIFT_4K, 10}};
static const struct gw_level levels_pae[] = {
	{PAGE_SHIFT_1G, 2}, {PAGE_SHIFT_2M, 9}, {GW_PAGE_SHIFT_4K, 9}};
static const struct gw_level levels_5[] = {{PML5_SHIFT, 9},	 {PML4_SHIFT, 9},
					    {PAGE_SHIFT_1G, 9}, {PAGE_SHIFT_2M, 9},
					    {GW_PAGE_SHIFT_4K, 9}};
/* 4-level paging is 5-level paging without its top level. */
static const struct gw_level *const levels_4 = levels_5 + 1;
#define NR_LEVELS_5 (sizeof(levels_5) / sizeof(levels_5[0]))

/* Decoded access kind. */
struct gw_access {
	bool write, fetch, user, implicit;
};

/* Bits hi..lo set; empty (0) when hi < lo.  hi, lo <= 63. */
static uint64_t bit_range(unsigned hi, unsigned lo)
{
	if (hi < lo)
		return 0;
	return (~0ull >> (63 - hi)) & (~0ull << lo);
}

/* The low n bits set, n <= 63. */
static uint64_t low_bits(unsigned n)
{
	return (1ull << n) - 1;
}

static bool decode_access(const struct gw_regs *regs, unsigned access, struct gw_access *a)
{
	if (access & ~ACCESS_KNOWN)
		return false;
	if ((access & GW_WRITE) && (access & GW_FETCH))
		return false;
	if ((access & GW_IMPLICIT_SUPERVISOR) && (access & (GW_USER | GW_FETCH)))
		return false;
	a->write = access & GW_WRITE;
	a->fetch = access & GW_FETCH;
	a->implicit = access & GW_IMPLICIT_SUPERVISOR;
	/* SDM 4.6: user-mode iff CPL 3 and not implicit; GW_USER forces it at any CPL. */
	a->user = !a->implicit && ((access & GW_USER) || regs->cpl == 3);
	return true;
}

static int paging_mode(const struct gw_regs *regs, enum gw_mode *mode)
{
	if (!(regs->cr0 & GW_CR0_PG)) {
		*mode = MODE_OFF;
	} else if (regs->efer & GW_EFER_LMA) {
		if (!(regs->cr4 & GW_CR4_PAE))
			return -E_INVAL; /* the CPU cannot be in this state */
		*mode = (regs->cr4 & CR4_LA57) ? MODE_5LEVEL : MODE_4LEVEL;
	} else {
		*mode = (regs->cr4 & GW_CR4_PAE) ? MODE_PAE : MODE_32;
	}
	return 0;
}

/* XD is only architectural in PAE/4-level paging and only honoured with EFER.NXE. */
static bool nx_enabled(const struct gw_regs *regs)
{
	return (regs->cr4 & GW_CR4_PAE) && (regs->efer & GW_EFER_NXE);
}

/* SDM 4.6.1: the whole access-rights decision for a translation with these effective rights. */
static bool rights_allow(const struct gw_regs *regs, bool user_page, bool writable, bool nx,
			 const struct gw_access *a)
{
	if (a->fetch) {
		if (nx && nx_enabled(regs))
			return false;
		if (a->user)
			return user_page;
		return !(user_page && (regs->cr4 & GW_CR4_SMEP));
	}
	if (a->user)
		return user_page && (!a->write || writable);
	/* SMAP: only an explicit supervisor access with RFLAGS.AC=1 may touch user data. */
	if (user_page && (regs->cr4 & GW_CR4_SMAP) && !(regs->rflags_ac && !a->implicit))
		return false;
	return !a->write || writable || !(regs->cr0 & GW_CR0_WP);
}

bool gw_access_check(const struct gw_regs *regs, bool user, bool writable, bool nx,
		     unsigned access)
{
	struct gw_access a;

	if (!decode_access(regs, access, &a))
		return false;
	if (!(regs->cr0 & GW_CR0_PG))
		return true;
	return rights_allow(regs, user, writable, nx, &a);
}

/* SDM 4.7: the W/R, U/S and I/D bits describe the access, whatever the fault kind. */
static uint32_t pf_access_bits(const struct gw_regs *regs, const struct gw_access *a)
{
	uint32_t e = 0;

	if (a->write)
		e |= GW_PF_W;
	if (a->user)
		e |= GW_PF_U;
	if (a->fetch && ((regs->cr4 & GW_CR4_SMEP) || nx_enabled(regs)))
		e |= GW_PF_ID;
	return e;
}

/* Physical-address bits 32.. a 4 MiB PDE can hold (PSE-36). */
static unsigned pse36_bits(unsigned maxphyaddr)
{
	unsigned m = maxphyaddr < PSE36_MAXPHYADDR ? maxphyaddr : PSE36_MAXPHYADDR;

	return m - PSE36_PHYS_SHIFT;
}

/* Reserved bits of a present entry at the level with this shift (SDM tables 4-4 .. 4-19). */
static uint64_t reserved_mask(const struct gw_regs *regs, enum gw_mode mode, unsigned m,
			      unsigned shift, bool leaf)
{
	uint64_t rsvd;

	if (mode == MODE_32) {
		if (!leaf || shift != PAGE_SHIFT_4M)
			return 0;
		return PDE32_4M_RSVD | bit_range(PSE36_HIGH_BIT, PSE36_LOW_BIT + pse36_bits(m));
	}
	rsvd = bit_range(mode == MODE_PAE ? PAE_PHYS_TOP : LM_PHYS_TOP, m);
	if (!(regs->efer & GW_EFER_NXE))
		rsvd |= PTE_XD;
	if (mode == MODE_PAE && shift == PAGE_SHIFT_1G)
		return rsvd | PTE_XD | PAE_PDPTE_RSVD;
	if (shift >= PML4_SHIFT)
		rsvd |= PTE_PS; /* PS in a PML4E or PML5E is reserved */
	if (leaf && shift > GW_PAGE_SHIFT_4K)
		rsvd |= bit_range(shift - 1, LARGE_RSVD_LOW_BIT);
	return rsvd;
}

/* Does this present entry map a page rather than point to the next table? */
static bool is_leaf(const struct gw_regs *regs, enum gw_mode mode, unsigned shift, uint64_t e)
{
	if (shift == GW_PAGE_SHIFT_4K)
		return true;
	if (!(e & PTE_PS))
		return false;
	switch (mode) {
	case MODE_32:
		return regs->cr4 & CR4_PSE; /* without PSE, PS is ignored */
	case MODE_PAE:
		return shift == PAGE_SHIFT_2M; /* PS in a PDPTE is reserved */
	default:
		return shift <= PAGE_SHIFT_1G; /* PS in a PML4E or PML5E is reserved */
	}
}

/* Frame address held by a present, reserved-bit-clean entry. */
static uint64_t entry_frame(enum gw_mode mode, unsigned m, unsigned shift, bool leaf, uint64_t e)
{
	if (mode == MODE_32) {
		if (!leaf || shift == GW_PAGE_SHIFT_4K)
			return e & ADDR32_4K_MASK;
		return (e & ADDR32_4M_MASK) |
		       (((e >> PSE36_LOW_BIT) & low_bits(pse36_bits(m))) << PSE36_PHYS_SHIFT);
	}
	return e & bit_range(m - 1, leaf ? shift : GW_PAGE_SHIFT_4K);
}

static uint64_t root_table(const struct gw_regs *regs, enum gw_mode mode, unsigned m)
{
	switch (mode) {
	case MODE_32:
		return regs->cr3 & ADDR32_4K_MASK;
	case MODE_PAE:
		return regs->cr3 & PAE_CR3_MASK;
	default:
		/*
		 * CR3[11:0] are PWT/PCD or, with CR4.PCIDE, the PCID: never address bits.  Bits at
		 * and above MAXPHYADDR (LAM controls, or what MOV CR3 would have refused) are
		 * dropped.
		 */
		return regs->cr3 & bit_range(m - 1, GW_PAGE_SHIFT_4K);
	}
}

/* The entries a walk used, for the A/D write-back. */
struct gw_path {
	uint64_t gpa[MAX_LEVELS];
	uint64_t entry[MAX_LEVELS];
	bool has_ad[MAX_LEVELS]; /* false for PAE PDPTEs: no A bit */
	unsigned n;
};

/* SDM 4.8: A on every entry used, D on the leaf of a write.  Only after a successful walk. */
static int set_accessed_dirty(const struct gw_mem *mem, const struct gw_path *p, bool write,
			      unsigned esize)
{
	unsigned i;

	if (!mem->write)
		return 0;
	for (i = 0; i < p->n; i++) {
		uint64_t e = p->entry[i];
		uint32_t e32;

		if (!p->has_ad[i])
			continue;
		e |= GW_PTE_A;
		if (write && i == p->n - 1)
			e |= GW_PTE_D;
		if (e == p->entry[i])
			continue;
		e32 = (uint32_t)e;
		if (!mem->write(mem->ctx, p->gpa[i],
				esize == ENTRY32_SIZE ? (void *)&e32 : (void *)&e, esize))
			return -E_INVAL;
	}
	return 0;
}

static int read_entry(const struct gw_mem *mem, uint64_t gpa, unsigned esize, uint64_t *e)
{
	uint32_t e32;

	if (esize == ENTRY32_SIZE) {
		if (!mem->read(mem->ctx, gpa, &e32, esize))
			return -E_INVAL;
		*e = e32;
		return 0;
	}
	return mem->read(mem->ctx, gpa, e, esize) ? 0 : -E_INVAL;
}

static void mode_levels(enum gw_mode mode, const struct gw_level **lv, unsigned *n)
{
	switch (mode) {
	case MODE_32:
		*lv = levels_32;
		*n = sizeof(levels_32) / sizeof(levels_32[0]);
		break;
	case MODE_PAE:
		*lv = levels_pae;
		*n = sizeof(levels_pae) / sizeof(levels_pae[0]);
		break;
	case MODE_4LEVEL:
		*lv = levels_4;
		*n = NR_LEVELS_5 - 1;
		break;
	default:
		*lv = levels_5;
		*n = NR_LEVELS_5;
		break;
	}
}

#define PTE_PKEY_SHIFT 59
#define PTE_PKEY_MASK  0xFu
#define PKRU_AD	       1u /* access disable, per key */
#define PKRU_WD	       2u /* write disable, per key */

/*
 * Protection keys decide data accesses in 4/5-level paging.  User pages (CR4.PKE) are judged
 * by PKRU when the caller gave it (has_pkru); supervisor pages (CR4.PKS) need IA32_PKRS, which
 * the walker never sees: those walks are refused.
 */
static bool pkeys_unknown(const struct gw_regs *regs, enum gw_mode mode, bool user_page,
			  const struct gw_access *a)
{
	if ((mode != MODE_4LEVEL && mode != MODE_5LEVEL) || a->fetch)
		return false;
	return (user_page && (regs->cr4 & GW_CR4_PKE) && !regs->has_pkru) ||
	       (!user_page && (regs->cr4 & GW_CR4_PKS));
}

/* SDM 4.6.2: AD forbids every data access to the page, WD user writes (and, with CR0.WP,
 * supervisor writes). */
static bool pkey_denies(const struct gw_regs *regs, enum gw_mode mode, bool user_page,
			const struct gw_access *a, uint64_t leaf)
{
	unsigned key = (unsigned)(leaf >> PTE_PKEY_SHIFT) & PTE_PKEY_MASK;
	unsigned rights = (regs->pkru >> (2 * key)) & (PKRU_AD | PKRU_WD);

	if ((mode != MODE_4LEVEL && mode != MODE_5LEVEL) || a->fetch || !user_page ||
	    !(regs->cr4 & GW_CR4_PKE))
		return false;
	if (rights & PKRU_AD)
		return true;
	return a->write && (rights & PKRU_WD) && (a->user || (regs->cr0 & GW_CR0_WP));
}

int guest_walk(const struct gw_regs *regs, const struct gw_mem *mem, uint64_t la, unsigned access,
	       struct gw_result *r)
{
	const struct gw_level *lv;
	struct gw_access a;
	struct gw_path path;
	enum gw_mode mode;
	unsigned m = regs->maxphyaddr ? regs->maxphyaddr : GW_MAXPHYADDR_DEFAULT;
	unsigned nlevels, esize, i, shift = GW_PAGE_SHIFT_4K;
	uint64_t table, e = 0;
	bool user = true, writable = true, nx = false, leaf = false;
	int rc;

	*r = (struct gw_result){0};
	if (!decode_access(regs, access, &a) || m < MAXPHYADDR_MIN || m > GW_MAXPHYADDR_DEFAULT)
		return -E_INVAL;
	rc = paging_mode(regs, &mode);
	if (rc)
		return rc;
	if (mode == MODE_OFF) {
		/* Without paging the CPU is never in long mode: linear addresses are 32 bits. */
		*r = (struct gw_result){.gpa = la & LA32_MASK,
					.page_shift = GW_PAGE_SHIFT_4K,
					.user = true,
					.writable = true};
		return 0;
	}
	if (mode != MODE_4LEVEL && mode != MODE_5LEVEL)
		la &= LA32_MASK;

	mode_levels(mode, &lv, &nlevels);
	esize = mode == MODE_32 ? ENTRY32_SIZE : ENTRY64_SIZE;
	table = root_table(regs, mode, m);
	path.n = 0;
	for (i = 0; i < nlevels && !leaf; i++) {
		uint64_t idx = (la >> lv[i].shift) & low_bits(lv[i].idx_bits);
		uint64_t gpa = table + idx * esize;
		bool pdpte = mode == MODE_PAE && lv[i].shift == PAGE_SHIFT_1G;

		rc = read_entry(mem, gpa, esize, &e);
		if (rc)
			return rc;
		if (!(e & PTE_P)) {
			r->pf_error = pf_access_bits(regs, &a);
			return -E_FAULT;
		}
		leaf = is_leaf(regs, mode, lv[i].shift, e);
		if (e & reserved_mask(regs, mode, m, lv[i].shift, leaf)) {
			r->pf_error = pf_access_bits(regs, &a) | GW_PF_P | GW_PF_RSVD;
			return -E_FAULT;
		}
		if (!pdpte) { /* PAE PDPTEs carry no rights */
			user = user && (e & PTE_US);
			writable = writable && (e & PTE_RW);
			nx = nx || ((e & PTE_XD) && (regs->efer & GW_EFER_NXE));
		}
		path.gpa[path.n] = gpa;
		path.entry[path.n] = e;
		path.has_ad[path.n] = !pdpte;
		path.n++;
		shift = lv[i].shift;
		table = entry_frame(mode, m, lv[i].shift, leaf, e);
	}

	if (pkeys_unknown(regs, mode, user, &a))
		return -E_NOTSUP;
	if (!rights_allow(regs, user, writable, nx, &a)) {
		r->pf_error = pf_access_bits(regs, &a) | GW_PF_P;
		return -E_FAULT;
	}
	if (pkey_denies(regs, mode, user, &a, e)) {
		r->pf_error = pf_access_bits(regs, &a) | GW_PF_P | GW_PF_PK;
		return -E_FAULT;
	}
	rc = set_accessed_dirty(mem, &path, a.write, esize);
	if (rc)
		return rc;
	r->page_shift = shift;
	r->gpa = table | (la & low_bits(shift));
	r->user = user;
	r->writable = writable;
	r->nx = nx;
	r->global = (e & PTE_G) && (regs->cr4 & CR4_PGE);
	return 0;
}
