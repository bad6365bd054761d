/*
 * The guest-TLB-flush exits, paid for only while there is something to flush.
 *
 * mhv keeps three translation caches per vCPU with mmio_cache=on: the MMIO translation cache
 * (mmio/mmio_cache.h), the code page's translation (code_tlb, core/insn_fetch.h) and the short
 * path's entry, which is only used through the code translation (core/mmio_short.c).  Like TLB
 * entries they must go when the guest flushes its TLB, so mhv has to see every flush: MOV to
 * CR3, INVLPG, INVPCID (VMX: exits with INVLPG exiting), and the paging-mode writes to CR0/CR4
 * and EFER, which always exit anyway.  A Linux boot does tens of thousands of CR3 loads and
 * INVLPGs and only hundreds of MMIO accesses, so those exits are turned on only while a cache
 * holds something:
 *   - filling any of the caches arms them on this vCPU (vcpu_flush_exits_arm);
 *   - the first flush mhv then sees drops every cache entry, whatever it flushes (one page or
 *     all), and disarms them (vcpu_flush_exits_disarm, from vcpu_guest_tlb_flush).
 * So the caches are empty whenever a flush can go unseen: no entry can outlive a flush, and
 * the flush exits never outnumber the exits that filled a cache.
 * One exception, as in a TLB: a global code translation (G with CR4.PGE) survives a MOV to
 * CR3.  Only INVLPG/INVPCID (and the paging-mode writes) can drop it, so it arms only those;
 * a MOV to CR3 that finds nothing else cached keeps it and turns the CR3 exit off
 * (vcpu_flush_exits_keep_global).  A Linux kernel's text is global: its CR3 loads stop
 * exiting after the first, while its rare INVLPGs still drop the translation.  Each vCPU has its own caches
 * and its own exits (VMCS/VMCB): a remote vCPU's shootdown reaches this one as its own INVLPG
 * or CR3 load.  Task switches, the other CR3 load, are refused while the cache is on
 * (guest_event.c) whether armed or not, so the guest sees the same CPU either way.
 *
 * A backend whose CPU forces these exits on (flush_exits_fixed) keeps them armed for good;
 * the caches then follow the flushes exactly (INVLPG drops one page).
 */
#ifndef MHV_CORE_FLUSH_EXITS_H
#define MHV_CORE_FLUSH_EXITS_H

#include "core/vcpu.h"
#include "lib/compiler.h"

/* After a cache fill: from now on this vCPU's flushes in mask (FLUSH_EXIT_*) exit. */
static inline void vcpu_flush_exits_arm(struct vcpu *v, unsigned mask)
{
	if (likely((v->flush_exits_armed & mask) == mask))
		return;
	v->flush_exits_armed |= mask;
	v->flush_exits_arms++;
	v->ops->set_flush_exits(v, v->flush_exits_armed);
}

/* On a flush mhv saw: true when the exits went off, and the caller must empty every cache.
 * ops: v->ops (a backend's own exit may pass its table, a constant: the call is direct). */
static inline bool vcpu_flush_exits_disarm(struct vcpu *v, const struct vcpu_ops *ops)
{
	if (!v->flush_exits_armed || v->flush_exits_fixed)
		return false;
	v->flush_exits_armed = 0;
	ops->set_flush_exits(v, 0);
	return true;
}

/* A MOV to CR3 kept a global code translation and emptied the rest: only INVLPG/INVPCID can
 * drop what is left, so the CR3 exit goes off. */
static inline void vcpu_flush_exits_keep_global(struct vcpu *v, const struct vcpu_ops *ops)
{
	if (!(v->flush_exits_armed & FLUSH_EXIT_CR3) || v->flush_exits_fixed)
		return;
	v->flush_exits_armed &= ~FLUSH_EXIT_CR3;
	ops->set_flush_exits(v, v->flush_exits_armed);
}

#endif
