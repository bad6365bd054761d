/*
 * vcpu_walk_regs()'s part after the backend's and vcpu_decode_at_rflags() (core/insn_fetch.h)
 * inline, for the exit that decodes every time, the MMIO fast path: no call or frame of their
 * own.  The decode's common
 * case is a few compares (the code page's translation kept and still allowed, the same bytes
 * at RIP as the decoded instruction's); anything else (a code TLB miss, other bytes, a decode,
 * a fetch fault) is vcpu_decode_at_slow()'s.
 */
#ifndef MHV_CORE_INSN_FETCH_HIT_H
#define MHV_CORE_INSN_FETCH_HIT_H

#include "arch/x86/cpu.h"
#include "arch/x86/paging.h"
#include "core/insn_fetch.h"
#include "core/vcpu.h"
#include "lib/string.h"

/* What vcpu_walk_regs() adds to the backend's get_paging (or get_insn_state) regs; the MMIO
 * paths walk with vcpu_gw_mem itself, no copy of it. */
static inline __attribute__((always_inline)) void vcpu_walk_regs_finish(struct gw_regs *regs)
{
	/* Frame bits at and above MAXPHYADDR are reserved bits: a #PF, never an address. */
	regs->maxphyaddr = hv_maxphyaddr();
	/* Protection keys on user pages: the guest's PKRU is live (host CR4.PKE, guest_run). */
	if (regs->cr4 & CR4_PKE) {
		uint32_t eax, edx;

		__asm__ volatile("rdpkru" : "=a"(eax), "=d"(edx) : "c"(0));
		regs->pkru = eax;
		regs->has_pkru = true;
	}
}

/* The decode mode at CS:RIP: CS.L under EFER.LMA, real/virtual-8086 mode, else CS.D. */
static inline enum x86_mode vcpu_code_mode(const struct gw_regs *regs,
					   const struct vcpu_segment *cs, uint64_t rflags)
{
	if ((regs->efer & EFER_LMA) && vcpu_seg_long_mode(cs))
		return X86_MODE_64;
	if (!(regs->cr0 & CR0_PE) || (rflags & RFLAGS_VM))
		return X86_MODE_16;
	return vcpu_seg_db(cs) ? X86_MODE_32 : X86_MODE_16;
}

/* The low n bytes of a word set (n <= 8). */
static inline uint64_t insn_low_bytes(unsigned n)
{
	return n >= sizeof(uint64_t) ? ~0ull : (1ull << (n * 8)) - 1;
}

/*
 * The cached instruction's bytes are the ones at bytes (room: readable bytes up to the code
 * page's end): two masked word compares when both words lie in the page.
 */
static inline __attribute__((always_inline)) bool
insn_cache_same_bytes(const struct insn_cache *ic, const uint8_t *bytes, unsigned room)
{
	unsigned len = ic->insn.len;
	uint64_t c0, c1, g0, g1;

	if (room < INSN_CACHE_BYTES)
		return !memcmp(ic->bytes, bytes, len);
	__builtin_memcpy(&c0, ic->bytes, sizeof(c0));
	__builtin_memcpy(&c1, ic->bytes + sizeof(c0), sizeof(c1));
	__builtin_memcpy(&g0, bytes, sizeof(g0));
	__builtin_memcpy(&g1, bytes + sizeof(g0), sizeof(g1));
	return !((c0 ^ g0) & insn_low_bytes(len)) &&
	       !((c1 ^ g1) & (len > sizeof(c0) ? insn_low_bytes(len - sizeof(c0)) : 0));
}

/* Everything but the common case, for the code's linear address la in mode. */
const struct x86_insn *vcpu_decode_at_slow(struct vcpu *v, const struct gw_regs *regs,
					   uint64_t la, enum x86_mode mode, int *err);

/* vcpu_decode_at_rflags(), inline. */
static inline __attribute__((always_inline)) const struct x86_insn *
vcpu_decode_at_inline(struct vcpu *v, const struct gw_regs *regs, const struct vcpu_segment *cs,
		      uint64_t rip, uint64_t rflags, int *err)
{
	const struct insn_cache *ic = &v->insn_cache;
	const struct code_tlb *t = &v->code_tlb;
	enum x86_mode mode = vcpu_code_mode(regs, cs, rflags);
	uint64_t la = (mode == X86_MODE_64 ? 0 : cs->base) + rip;

	if (mode != X86_MODE_64)
		la &= 0xFFFFFFFFull;
	/* code_bytes()'s test of the kept translation (insn_fetch.c), then the instruction's. */
	if (v->code_tlb_on && t->valid && t->gva_page == la >> PAGE_SHIFT &&
	    code_tlb_cr3_ok(t, regs->cr3) &&
	    gw_access_allowed(regs, t->user, t->writable, t->nx, GW_FETCH) && ic->valid &&
	    ic->la == la && ic->insn.mode == mode &&
	    insn_cache_same_bytes(ic, t->host_page + (la & (PAGE_SIZE - 1)),
				  (unsigned)(PAGE_SIZE - (la & (PAGE_SIZE - 1)))))
		return &ic->insn;
	return vcpu_decode_at_slow(v, regs, la, mode, err);
}

#endif
