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
#include "lib/compiler.h"
#include "mm/memmap.h"
#include "mmio/region.h"

#define MMIO_SHORT_USER_CPL 3

/* The bytes at RIP, read through the code translation the entry was filled under, are still
 * the entry's (a rewritten instruction, or a short path for another one, is seen).  The
 * second word only for an instruction longer than 8 bytes (mask_hi 0 otherwise). */
static inline __attribute__((always_inline)) bool mmio_short_same_bytes(const struct mmio_short *e)
{
	uint64_t lo, hi;

	__builtin_memcpy(&lo, e->code, sizeof(lo));
	if ((lo ^ e->code_lo) & e->mask_lo)
		return false;
	if (likely(!e->mask_hi))
		return true;
	__builtin_memcpy(&hi, e->code + sizeof(lo), sizeof(hi));
	return !((hi ^ e->code_hi) & e->mask_hi);
}

/*
 * A hit: an NPF exit the MMIO path served from its cache, by the short path.  Counted once,
 * in MMIO_COUNTER_SHORT; the exit, MMIO exit and cache hit counters take it in when read
 * (mmio_short_exit_count(), mmio_short_mmio_count()).
 */
static inline __attribute__((always_inline)) void mmio_short_count_hit(struct vcpu *v)
{
	v->mmio[MMIO_COUNTER_SHORT]++;
}

/* v->exits[kind] with the short path's hits (NPF exits) in. */
static inline uint64_t mmio_short_exit_count(const struct vcpu *v, unsigned kind)
{
	return v->exits[kind] + (kind == EXIT_KIND_NPF ? v->mmio[MMIO_COUNTER_SHORT] : 0);
}

/* v->mmio[i] with the short path's hits in (MMIO exits, and cache hits). */
static inline uint64_t mmio_short_mmio_count(const struct vcpu *v, unsigned i)
{
	bool has_short = i == MMIO_COUNTER_EXITS || i == MMIO_COUNTER_HITS;

	return v->mmio[i] + (has_short ? v->mmio[MMIO_COUNTER_SHORT] : 0);
}

/*
 * A MOV form's device access and register write at the device's offset dev_off
 * (mmio_short_replay() for the others), with what differs between the forms worked out at
 * fill: a store sends *src >> shift (a register, or the immediate); a load that sets the whole
 * register (MOV and MOVZX to 32 or 64 bits) writes the device's zero-extended value as it is,
 * any other one sign-extends it by sext_shift, masks it to the register's width and merges it
 * with the bits it keeps.
 */
static inline __attribute__((always_inline)) bool mmio_short_replay_plain(struct vcpu *v,
									 uint64_t dev_off)
{
	struct mmio_short *e = &v->mmio_short;

	if (e->write) {
		if (e->write_value(e->dev, dev_off, *e->src >> e->shift))
			return false;
	} else {
		struct mmio_value r = e->read_value(e->dev, dev_off);

		if (r.err)
			return false;
		e = &v->mmio_short; /* after the call: v alone stays in a register across it */
		if (likely(e->whole)) {
			v->gpr[e->reg] = r.val;
		} else {
			uint64_t val = (uint64_t)((int64_t)(r.val << e->sext_shift) >> e->sext_shift);

			v->gpr[e->reg] = ((val & e->val_mask) << e->shift) |
					 (v->gpr[e->reg] & e->keep_mask);
		}
	}
	mmio_short_count_hit(v);
	return true;
}

/*
 * The exit's fast side (a backend calls it before anything else of a nested page fault / EPT
 * violation): an exit for the final translation of a data access to gpa, with no event
 * delivery in progress, x the guest's state at the exit.  If the entry matches, the access is
 * done and counted, and true returned: the caller sets RIP to v->mmio_short.next_rip, as for
 * EXIT_NEXT_SKIP.  Else false, nothing changed: the exit goes on to vcpu_exit_npf().
 */
static inline __attribute__((always_inline)) bool
mmio_short_exit(struct vcpu *v, uint64_t gpa, bool write, const struct vcpu_exec_state *x)
{
	const struct mmio_short *e = &v->mmio_short;
	/* The same device page, the same direction and the operand inside the page, in one
	 * compare: the offset from the entry's key, which an invalid entry's never gives.  The
	 * direction must be the entry's: the CPU checked the guest's rights for the access it
	 * reports, and a read-modify-write reported as its read (QEMU's TCG loads first) says
	 * nothing about the page being writable. */
	uint64_t off = (gpa | (uint64_t)write << MMIO_SHORT_WRITE_BIT) - e->key;

	if (off > e->max_off)
		return false;
	if (x->rip != e->rip || (x->rflags & (RFLAGS_TF | RFLAGS_VM)) ||
	    x->cpl == MMIO_SHORT_USER_CPL)
		return false;
	/* The same decode mode and code address, then the same bytes there.  CR0.PE set: long
	 * mode has it, and what was decoded in real mode is never replayed. */
	if (x->cs_base != e->cs_base || x->cs_mode != e->cs_mode || !(x->cr0 & CR0_PE) ||
	    !mmio_short_same_bytes(e))
		return false;
	/* Out of line, so that the common hit keeps nothing but v across the device call. */
	if (unlikely(!off) || !e->plain)
		return mmio_short_exit_rest(v, off, x->rip);
	return mmio_short_replay_plain(v, e->dev_offset + off);
}

#endif
