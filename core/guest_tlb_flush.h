/*
 * A guest TLB flush mhv saw (MOV to CR3, INVLPG, INVPCID, a paging-mode write): what it does
 * to mhv's translation caches and to the flush exits (core/flush_exits.h).  Inline, so that
 * the MOV to CR3 exit, where the cause is a constant, runs it without the cause's branches
 * (core/exit_cr.c); everything else calls vcpu_guest_tlb_flush.
 */
#ifndef MHV_CORE_GUEST_TLB_FLUSH_H
#define MHV_CORE_GUEST_TLB_FLUSH_H

#include "core/flush_exits.h"
#include "core/insn_fetch.h"
#include "core/mmio_short.h"
#include "core/vcpu.h"
#include "mmio/mmio_cache.h"

/* ops: v->ops (SVM's own MOV to CR3 exit passes its table, a constant: direct calls). */
static inline __attribute__((always_inline)) void
guest_tlb_flush(struct vcpu *v, const struct vcpu_ops *ops, enum tlb_flush_cause cause,
		uint64_t la)
{
	/* The caches are TLBs too: INVLPG drops its page, everything else all of it; and when
	 * the flush exits go off here, everything (core/flush_exits.h).  A MOV to CR3 keeps a
	 * global code translation, as a TLB does, and with it the INVLPG/INVPCID exits. */
	bool keep_code, disarmed, one_page;

	v->flushes[cause]++;
	keep_code = cause == FLUSH_CR3 && code_tlb_survives_cr3(&v->code_tlb);
	disarmed = !keep_code && vcpu_flush_exits_disarm(v, ops);
	one_page = cause == FLUSH_INVLPG && !disarmed;
	if (keep_code)
		vcpu_flush_exits_keep_global(v, ops);
	if (one_page)
		mmio_cache_invalidate_page(&v->mmio_cache, la);
	else
		mmio_cache_invalidate(&v->mmio_cache);
	if (!keep_code)
		code_tlb_invalidate(&v->code_tlb, one_page, la);
	mmio_short_invalidate(&v->mmio_short);
	/* mhv emulated the instruction, so the hardware has not seen it: flush for it. */
	ops->flush_tlb(v, cause == FLUSH_INVLPG, la);
}

#endif
