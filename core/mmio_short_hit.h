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

/* A load's register write: the value's low `width` bytes (1, 2 or 8) at reg. */
static inline __attribute__((always_inline)) void mmio_short_put(uint8_t *reg, uint64_t val,
								 unsigned width)
{
	__builtin_memcpy(reg, &val, width);
}

/*
 * A load form's device read at page offset off - off_bias (dev_offset holds the bias) and its
 * register write.  kind is a constant at each call: the switch folds away, so every kind's
 * hit is the device call, the error test and at most one extension and one store.
 */
static inline __attribute__((always_inline)) bool
mmio_short_load(struct vcpu *v, uint64_t off, enum mmio_short_kind kind)
{
	const struct mmio_short *e = &v->mmio_short;
	struct mmio_value r = e->read_value(e->dev, e->dev_offset + off);
	uint8_t *reg;

	if (r.err)
		return false;
	e = &v->mmio_short; /* after the call: v alone stays in a register across it */
	reg = (uint8_t *)v->gpr + e->gpr_off;
	switch (kind) {
	case MMIO_SHORT_LOAD:
		mmio_short_put(reg, r.val, sizeof(uint64_t));
		break;
	case MMIO_SHORT_LOAD16:
		mmio_short_put(reg, r.val, sizeof(uint16_t));
		break;
	case MMIO_SHORT_LOAD8:
		mmio_short_put(reg, r.val, sizeof(uint8_t));
		break;
	case MMIO_SHORT_SEXT8:
		mmio_short_put(reg, (uint64_t)(int64_t)(int8_t)r.val & e->val_mask, sizeof(uint64_t));
		break;
	case MMIO_SHORT_SEXT16:
		mmio_short_put(reg, (uint64_t)(int64_t)(int16_t)r.val & e->val_mask,
			       sizeof(uint64_t));
		break;
	case MMIO_SHORT_SEXT32:
		mmio_short_put(reg, (uint64_t)(int64_t)(int32_t)r.val & e->val_mask,
			       sizeof(uint64_t));
		break;
	case MMIO_SHORT_SEXT8W:
		mmio_short_put(reg, (uint64_t)(int64_t)(int8_t)r.val, sizeof(uint16_t));
		break;
	default:
		__builtin_unreachable(); /* the callers pass load kinds only */
	}
	return true;
}

/*
 * A replayed form's device access and register write, by the entry's kind: everything that
 * differs between the forms was worked out at fill (mmio_short.h).  MMIO_SHORT_REST goes out
 * of line.
 */
static inline __attribute__((always_inline)) bool mmio_short_replay_inline(struct vcpu *v,
									   uint64_t off)
{
	const struct mmio_short *e = &v->mmio_short;
	uint64_t val;
	bool done;

	switch (e->kind) {
	case MMIO_SHORT_STORE:
		__builtin_memcpy(&val, e->src, sizeof(val));
		done = !e->write_value(e->dev, e->dev_offset + off, val);
		break;
	case MMIO_SHORT_LOAD:
		done = mmio_short_load(v, off, MMIO_SHORT_LOAD);
		break;
	case MMIO_SHORT_LOAD16:
		done = mmio_short_load(v, off, MMIO_SHORT_LOAD16);
		break;
	case MMIO_SHORT_LOAD8:
		done = mmio_short_load(v, off, MMIO_SHORT_LOAD8);
		break;
	case MMIO_SHORT_SEXT8:
		done = mmio_short_load(v, off, MMIO_SHORT_SEXT8);
		break;
	case MMIO_SHORT_SEXT16:
		done = mmio_short_load(v, off, MMIO_SHORT_SEXT16);
		break;
	case MMIO_SHORT_SEXT32:
		done = mmio_short_load(v, off, MMIO_SHORT_SEXT32);
		break;
	case MMIO_SHORT_SEXT8W:
		done = mmio_short_load(v, off, MMIO_SHORT_SEXT8W);
		break;
	case MMIO_SHORT_REST:
		return mmio_short_exit_rest(v, off);
	default:
		__builtin_unreachable(); /* fill sets one of the kinds: the jump needs no bound check */
	}
	if (!done)
		return false;
	mmio_short_count_hit(v);
	return true;
}

/*
 * The entry's instruction is the one at the exit (state x): the same RIP, TF and VM clear,
 * CPL 0-2, the same code address and decode mode (CS's raw word holds CS.L and CS.D/B; CR0.PE
 * is set while the entry is valid, see mmio_short.c), then the same bytes there: the 8 at RIP
 * through the code translation the entry was filled under (the instruction and what follows
 * it: a rewrite of either is a miss; a longer instruction's second word is compared out of
 * line).
 */
static inline __attribute__((always_inline)) bool
mmio_short_same_insn(const struct mmio_short *e, const struct vcpu_exec_state *x)
{
	uint64_t code;

	if (x->rip != e->rip || (x->rflags & (RFLAGS_TF | RFLAGS_VM)) ||
	    x->cpl == MMIO_SHORT_USER_CPL)
		return false;
	if (x->cs_base != e->cs_base || x->cs_key != e->cs_key)
		return false;
	__builtin_memcpy(&code, e->code, sizeof(code));
	return code == e->code_lo;
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
	 * nothing about the page being writable.  The key of an operand wider than a byte is
	 * one past the page (off_bias): offset 0, which needs the out-of-line check that the
	 * operand starts there, falls out of the range to the one value ~0. */
	uint64_t off = (gpa | (uint64_t)write << MMIO_SHORT_WRITE_BIT) - e->key;

	if (off > e->max_off) {
		if (likely(off != ~0ull))
			return false;
		/* Out of line (rare), the state in registers: x's address would cost every hit
		 * its stores. */
		return mmio_short_exit_zero(v, x->rip, x->rflags, x->cs_base, x->cs_key, x->cpl);
	}
	if (!mmio_short_same_insn(e, x))
		return false;
	return mmio_short_replay_inline(v, off);
}

#endif
