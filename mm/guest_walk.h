/*
 * Software walk of the guest's own page tables: guest linear address -> guest-physical address,
 * with the access-rights checks of the SDM (Vol. 3, 4.6) and the exact #PF error code (4.7) to
 * inject when the access must fault.  Used to fetch the instruction at the guest's RIP and to
 * translate memory operands of emulated instructions.
 *
 * Supported: paging off, 32-bit paging (4 KiB, 4 MiB with CR4.PSE, PSE-36), PAE paging (4 KiB,
 * 2 MiB), 4-level and 5-level paging (CR4.LA57; 4 KiB, 2 MiB, 1 GiB), protection keys for user
 * pages (CR4.PKE) when the caller passes PKRU.  Not supported (-E_NOTSUP): with CR4.PKE and no
 * PKRU given, any data access to a user page in 4/5-level paging; with CR4.PKS, any data access
 * to a supervisor page in 4/5-level paging (the key rights live in IA32_PKRS, which the walker
 * does not see).  Shadow-stack (CET) and SGX
 * accesses are not modelled.
 *
 * Caller's responsibilities / approximations:
 *  - In 4/5-level paging la must be canonical: the canonical check (#GP/#SS, not #PF) is the
 *    caller's.  Bits 63:48 (5-level: 63:57) of la are ignored here.  In 32-bit and PAE paging and with paging off
 *    la is truncated to 32 bits, as the linear-address space is 32 bits there.
 *  - PAE PDPTEs are read from guest memory at CR3[31:5] on every walk.  The CPU instead uses the
 *    four PDPTE registers loaded at MOV CR3 time (a reserved bit then gives #GP at load, not #PF);
 *    if the guest changed the PDPT since, the results differ.  Reserved bits in a PDPTE read here
 *    give #PF with RSVD, the best available approximation.
 *  - 1 GiB pages are assumed supported (CPUID.80000001H:EDX.Page1GB); PS in a PML4E is reserved
 *    (Intel; AMD documents it as must-be-zero as well).
 *  - TLBs are not modelled: the walk sees the tables as they are now in memory.
 */
#ifndef MHV_MM_GUEST_WALK_H
#define MHV_MM_GUEST_WALK_H

#include <stdbool.h>
#include <stdint.h>

/* Paging state of the guest, as the vendor backend reads it. */
struct gw_regs {
	uint64_t cr0, cr3, cr4, efer;
	unsigned cpl;
	bool rflags_ac;
	unsigned maxphyaddr; /* guest MAXPHYADDR (CPUID 80000008H:EAX[7:0]); 0 means 52 */
	bool has_pkru;	     /* pkru holds the guest's PKRU (needed when CR4.PKE is set) */
	uint32_t pkru;
};

struct gw_mem {
	/* Read 4 or 8 bytes of guest-physical memory (a paging-structure entry); false if not RAM.
	 */
	bool (*read)(void *ctx, uint64_t gpa, void *buf, unsigned len);
	/*
	 * Optional: set A/D bits like the CPU; may be NULL = don't.  buf holds the entry as read
	 * with GW_PTE_A (and on the leaf of a write GW_PTE_D) set: these are the only bits that
	 * differ from the value read, so a callback racing with other vCPUs should atomically OR in
	 * just those bits rather than store the whole entry.  False = failure (walk returns
	 * -E_INVAL).
	 */
	bool (*write)(void *ctx, uint64_t gpa, const void *buf, unsigned len);
	void *ctx;
};

/* Access kind, same bit positions as the #PF error code. */
#define GW_WRITE (1u << 1)
/* User-mode access.  An access is also user-mode when regs->cpl == 3, unless it is implicit. */
#define GW_USER	 (1u << 2)
#define GW_FETCH (1u << 4)
/* Implicit supervisor access (descriptor tables, TSS...): supervisor even at CPL 3. */
#define GW_IMPLICIT_SUPERVISOR (1u << 8)

/* #PF error-code bits (SDM Vol. 3, 4.7). */
#define GW_PF_P	   (1u << 0) /* 0: not present; 1: protection or reserved-bit violation */
#define GW_PF_W	   (1u << 1) /* the access was a write */
#define GW_PF_U	   (1u << 2) /* the access was user-mode */
#define GW_PF_RSVD (1u << 3) /* a reserved bit was set in a paging-structure entry */
#define GW_PF_ID   (1u << 4) /* instruction fetch, reported only with SMEP or (PAE and NXE) */
#define GW_PF_PK   (1u << 5) /* protection-key violation (user pages, PKRU given) */

/* Entry bits the walker may set through gw_mem.write. */
#define GW_PTE_A (1ull << 5)
#define GW_PTE_D (1ull << 6)

#define GW_MAXPHYADDR_DEFAULT 52

/* The smallest page (and a walk's page_shift with paging off). */
#define GW_PAGE_SHIFT_4K 12

struct gw_result {
	uint64_t gpa;	     /* on success */
	unsigned page_shift; /* 12, 21, 22 or 30: size of the mapping (12 with paging off) */
	bool user, writable,
		nx;	   /* effective rights of the whole walk (AND of U/S, R/W; OR of XD) */
	bool global;	   /* the leaf's G bit with CR4.PGE: a TLB keeps it across CR3 loads */
	uint32_t pf_error; /* on failure: the #PF error code to inject (GW_PF_*) */
};

/*
 * Translate la for an access of kind `access` (GW_* bits; 0 = supervisor/CPL read).
 * 0 on success: r->gpa etc. set, A/D bits set through mem->write if given.
 * -E_FAULT with r->pf_error set when the guest must get #PF (CR2 = la); memory untouched.
 * -E_INVAL if a paging-structure entry is not in guest RAM (read callback failed), a write-back
 *  failed, the access bits are invalid (unknown bits, WRITE|FETCH, USER|IMPLICIT,
 *  FETCH|IMPLICIT), regs->maxphyaddr is outside 32..52, or EFER.LMA without CR4.PAE.
 * -E_NOTSUP for protection-key governed accesses (see top of file).
 * With paging off: gpa = (uint32_t)la, all rights granted, no memory accessed.
 */
int guest_walk(const struct gw_regs *regs, const struct gw_mem *mem, uint64_t la, unsigned access,
	       struct gw_result *r);

/*
 * The control bits the walk, the inline rights check and the MMIO cache's protection-key
 * rule read (SDM Vol. 3, 2.5, 4.6 and 4.6.2).
 */
#define GW_CR0_WP   (1ull << 16)
#define GW_CR0_PG   (1ull << 31)
#define GW_CR4_PAE  (1ull << 5)
#define GW_CR4_SMEP (1ull << 20)
#define GW_CR4_SMAP (1ull << 21)
#define GW_CR4_PKE  (1ull << 22)
#define GW_CR4_PKS  (1ull << 24)
#define GW_EFER_LMA (1ull << 10)
#define GW_EFER_NXE (1ull << 11)
#define GW_USER_CPL 3

/* gw_access_allowed() for every case (the inline version's fallback). */
bool gw_access_check(const struct gw_regs *regs, bool user, bool writable, bool nx,
		     unsigned access);

/*
 * Permission check of cached rights, the exact same rules as the walk (for the MMIO cache):
 * true iff `access` to a mapping with these effective rights is allowed under regs.  Protection
 * keys are not considered.  False for invalid access bits; true whenever paging is off.
 * Inline for the checks on every cached translation, a kernel's (CPL 0-2) explicit data access
 * or fetch (SDM 4.6.1: CR0.WP, XD and SMEP decide; with SMAP, RFLAGS.AC too, left to
 * gw_access_check with everything else).
 */
static inline __attribute__((always_inline)) bool
gw_access_allowed(const struct gw_regs *regs, bool user, bool writable, bool nx,
		  unsigned access)
{
	if (regs->cpl == GW_USER_CPL || (access != 0 && access != GW_WRITE && access != GW_FETCH))
		return gw_access_check(regs, user, writable, nx, access);
	if (!(regs->cr0 & GW_CR0_PG))
		return true;
	if (access == GW_FETCH)
		return !(nx && (regs->cr4 & GW_CR4_PAE) && (regs->efer & GW_EFER_NXE)) &&
		       !(user && (regs->cr4 & GW_CR4_SMEP));
	if (user && (regs->cr4 & GW_CR4_SMAP))
		return gw_access_check(regs, user, writable, nx, access);
	return access != GW_WRITE || writable || !(regs->cr0 & GW_CR0_WP);
}

#endif
