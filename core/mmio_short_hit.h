/*
 * The MMIO short path's hit test (core/mmio_short.h), inlined into each backend's exit
 * handler: the state it compares comes straight from the VMCB / VMCS, with no struct passed
 * and no call until the entry is known to match.
 */
#ifndef MHV_CORE_MMIO_SHORT_HIT_H
#define MHV_CORE_MMIO_SHORT_HIT_H

#include "arch/x86/cpu.h"
#include "core/mmio_short.h"
#include "core/vcpu.h"
#include "mm/memmap.h"
#include "mmio/region.h"

#define MMIO_SHORT_USER_CPL 3

/* The bytes at RIP, read through the code translation (a TLB entry), are still the entry's. */
static inline __attribute__((always_inline)) bool mmio_short_same_bytes(const struct vcpu *v,
									 const struct mmio_short *e)
{
	const struct code_tlb *t = &v->code_tlb;
	const uint8_t *p;
	uint64_t lo, hi;

	if (!t->valid || t->gva_page != e->code_la >> PAGE_SHIFT)
		return false;
	p = t->host_page + e->code_off;
	__builtin_memcpy(&lo, p, sizeof(lo));
	__builtin_memcpy(&hi, p + sizeof(lo), sizeof(hi));
	return !((lo ^ e->code_lo) & e->mask_lo) && !((hi ^ e->code_hi) & e->mask_hi);
}

/* A hit: an NPF exit the MMIO path served from its cache, by the short path. */
static inline __attribute__((always_inline)) void mmio_short_count_hit(struct vcpu *v)
{
	v->exits[EXIT_KIND_NPF]++;
	v->mmio[MMIO_COUNTER_EXITS]++;
	v->mmio[MMIO_COUNTER_HITS]++;
	v->mmio[MMIO_COUNTER_SHORT]++;
}

/* A MOV form's device access and register write (mmio_short_replay() for a plain entry). */
static inline __attribute__((always_inline)) unsigned
mmio_short_replay_plain(struct vcpu *v, uint64_t gpa, unsigned off)
{
	struct mmio_short *e = &v->mmio_short;
	uint64_t *reg = &v->gpr[e->reg];
	uint64_t val;

	e->access.gpa = gpa;
	e->access.offset = e->page_offset + off;
	if (e->write) {
		val = e->imm ? e->imm_val : *reg >> e->shift;
		if (mmio_region_write(e->region, &e->access, &val))
			return 0;
	} else {
		val = 0;
		if (mmio_region_read(e->region, &e->access, &val))
			return 0;
		if (e->sign)
			val = mmio_short_sign_extend(val, e->size);
		/* 32-bit results zero-extend to 64 bits (keep_mask 0); 8- and 16-bit ones merge. */
		*reg = ((val & e->val_mask) << e->shift) | (*reg & e->keep_mask);
	}
	mmio_short_count_hit(v);
	return e->insn.len;
}

/*
 * The exit's fast side (a backend calls it before anything else of a nested page fault / EPT
 * violation): an exit for the final translation of a data access to gpa, with no event
 * delivery in progress, x the guest's state at the exit.  If the entry matches, the access is
 * done and counted, and the instruction's length returned: the caller moves RIP past it, as
 * for EXIT_NEXT_SKIP.  Else 0, nothing changed: the exit goes on to vcpu_exit_npf().
 */
static inline __attribute__((always_inline)) unsigned
mmio_short_exit(struct vcpu *v, uint64_t gpa, bool write, const struct vcpu_exec_state *x)
{
	const struct mmio_short *e = &v->mmio_short;
	unsigned off = gpa & (PAGE_SIZE - 1);

	/* The exit's direction must be the entry's: the CPU checked the guest's rights for the
	 * access it reports, and a read-modify-write reported as its read (QEMU's TCG loads
	 * first) says nothing about the page being writable. */
	if (!e->valid || gpa >> PAGE_SHIFT != e->gfn || write != e->write || off > e->max_off)
		return 0;
	if (x->rip != e->rip || (x->rflags & (RFLAGS_TF | RFLAGS_VM)) ||
	    x->cpl == MMIO_SHORT_USER_CPL)
		return 0;
	/* The same decode mode and code address, then the same bytes there. */
	if (x->cs_base != e->cs_base || x->cs_mode != e->cs_mode ||
	    (e->protected_mode && !(x->cr0 & CR0_PE)) || !mmio_short_same_bytes(v, e))
		return 0;
	if (!off && e->size > 1 && !mmio_short_starts_on_page(v, x->rip))
		return 0;
	if (!e->plain)
		return mmio_short_replay(v, gpa);
	return mmio_short_replay_plain(v, gpa, off);
}

#endif
