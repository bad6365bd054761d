/*
 * Fetch and decode the guest instruction at CS:RIP, through the guest's own page tables.
 * Used where the hardware does not say enough: a VMMCALL/VMCALL that raised #UD, and SVM
 * exits on CPUs without NRIP save or decode assists (QEMU TCG).
 */
#ifndef MHV_CORE_INSN_FETCH_H
#define MHV_CORE_INSN_FETCH_H

#include "mm/guest_walk.h"
#include "mm/memmap.h"
#include "mmio/x86_decode.h"

struct vcpu;
struct vcpu_segment;

/* Per-vCPU: the translation of the code page at RIP (kept only while vcpu.code_tlb_on; its
 * fill arms the flush exits, so mhv sees every guest TLB flush and drops it like a TLB entry:
 * a global one survives a MOV to CR3, and keeps the flush exits armed meanwhile).  A non-global
 * one is also keyed on the CR3 it was walked under: a task switch loads CR3 without an exit
 * when the MMIO cache is off (task switches are intercepted only with it on). */
struct code_tlb {
	bool valid;
	uint64_t gva_page;	 /* page number (>> 12) */
	uint64_t gva_base;	 /* gva_page << 12: la - gva_base is the offset in the page */
	uint64_t cr3;		 /* the guest CR3 of the walk */
	const uint8_t *host_page; /* the code page, guest RAM found through the memory gate */
	unsigned page_shift;	 /* size of the guest mapping, for INVLPG */
	bool user, writable, nx;
	bool global; /* G with CR4.PGE: survives CR3 loads */
};

/* The entry serves an access under this CR3: walked under it, or global. */
static inline bool code_tlb_cr3_ok(const struct code_tlb *t, uint64_t cr3)
{
	return t->cr3 == cr3 || t->global;
}

/* The instruction bytes kept: the longest instruction, rounded up to two words for compares. */
#define INSN_CACHE_BYTES 16

/* Per-vCPU: the last decoded instruction and its bytes (reused only if they match). */
struct insn_cache {
	bool valid;
	uint64_t la;
	uint8_t bytes[INSN_CACHE_BYTES];
	struct x86_insn insn;
	uint64_t gen; /* bumped whenever insn is rewritten: what is worked out from it is keyed on it */
};

/* Every guest TLB flush: the code translation is a TLB entry too. */
static inline void code_tlb_invalidate(struct code_tlb *t, bool one_page, uint64_t la)
{
	if (!one_page || (la >> t->page_shift) == ((t->gva_page << PAGE_SHIFT) >> t->page_shift))
		t->valid = false;
}
/* A MOV to CR3 keeps it if it is global (a TLB keeps global entries across CR3 loads). */
static inline bool code_tlb_survives_cr3(const struct code_tlb *t)
{
	return t->global && t->valid; /* global first: one test when it is not */
}

/* The guest's paging state and memory (through the gate), as mm/guest_walk.c needs them. */
void vcpu_walk_setup(struct vcpu *v, struct gw_regs *regs, struct gw_mem *mem);
/* vcpu_walk_setup's regs alone, for a caller that walks with vcpu_gw_mem itself. */
void vcpu_walk_regs(struct vcpu *v, struct gw_regs *regs);
/* The walker's memory callbacks: page-table entries read and A/D bits set through the gate. */
extern const struct gw_mem vcpu_gw_mem;

/*
 * The decoded instruction at CS:RIP (valid until the next call), or NULL with *err:
 * -E_FAULT when fetching faulted (the #PF is already queued for the guest: resume it),
 * -E_INVAL when the bytes are no valid instruction or not in guest RAM (the caller decides,
 * usually #UD).
 */
const struct x86_insn *vcpu_decode_current(struct vcpu *v, int *err);
/* The same for callers that already hold the paging state, CS and RIP. */
const struct x86_insn *vcpu_decode_at(struct vcpu *v, const struct gw_regs *regs,
				      const struct vcpu_segment *cs, uint64_t rip, int *err);
/* The same with RFLAGS as the caller read it (its VM bit decides the code mode). */
const struct x86_insn *vcpu_decode_at_rflags(struct vcpu *v, const struct gw_regs *regs,
					     const struct vcpu_segment *cs, uint64_t rip,
					     uint64_t rflags, int *err);

/* A guest GPR (RSP lives in the VMCS/VMCB, the others in gpr[]). */
uint64_t vcpu_gpr(struct vcpu *v, unsigned reg);
/* Effective address (segment offset) of a decoded memory operand; rip: the instruction's. */
uint64_t vcpu_insn_ea(struct vcpu *v, const struct x86_insn *insn, uint64_t rip);
/* Linear address of a decoded instruction's memory operand (segment base included). */
uint64_t vcpu_insn_mem_linear(struct vcpu *v, const struct x86_insn *insn);

#endif
