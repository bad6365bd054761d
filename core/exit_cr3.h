/*
 * MOV to CR3, the frequent CR exit while the flush exits are armed (core/flush_exits.h):
 * inline, so that a backend's own CR3-write exit runs it without a call (SVM's
 * exit_cr3_write); vcpu_exit_mov_to_cr3 is the same out of line.
 */
#ifndef MHV_CORE_EXIT_CR3_H
#define MHV_CORE_EXIT_CR3_H

#include "arch/x86/exception.h"
#include "core/guest_tlb_flush.h"
#include "core/vcpu.h"
#include "lib/compiler.h"

#define VCPU_CR3_PCID_NOFLUSH (1ull << 63)
#define VCPU_CR3_LOW_BITS     32	 /* below every MAXPHYADDR (36 at least on x86-64) */
#define VCPU_CR3_REFUSED      (~0ull) /* never a CR3 to load: bits 62:52 are reserved */

/* Out of line, so that the common path keeps no value across them and reads no more state:
 * an operand with its upper half set (its mode decides what counts), a CR3 value with bits
 * from 32 up (the PCID no-flush bit dropped where it means that, or VCPU_CR3_REFUSED for bits
 * from MAXPHYADDR up in IA-32e mode), and the #GP(0) of a refused write. */
uint64_t vcpu_mov_to_cr_operand_high(struct vcpu *v, enum gpr reg);
uint64_t vcpu_cr3_high_bits(struct vcpu *v, uint64_t val);
enum exit_next vcpu_cr_write_refused(struct vcpu *v);

static inline __attribute__((always_inline)) uint64_t vcpu_mov_to_cr_operand(struct vcpu *v,
									     enum gpr reg)
{
	if (likely(!(v->gpr[reg] >> 32))) /* nothing to drop: no extra state reads */
		return v->gpr[reg];
	return vcpu_mov_to_cr_operand_high(v, reg);
}

/*
 * MOV to CR3.  With PCIDs, bit 63 asks the CPU not to flush and is not part of CR3 (mhv
 * flushes anyway: never less than the guest asked for).  In IA-32e mode, bits from MAXPHYADDR
 * up are reserved: #GP, which also covers bit 63 without CR4.PCIDE (SDM MOV CRn) - VM entry
 * and VMRUN would refuse such a CR3 instead.
 */
static inline __attribute__((always_inline)) bool
vcpu_guest_write_cr3(struct vcpu *v, const struct vcpu_ops *ops, uint64_t val)
{
	/* A value below 4 GiB has no bit from MAXPHYADDR up (never below 36 on x86-64). */
	if (unlikely(val >> VCPU_CR3_LOW_BITS)) {
		val = vcpu_cr3_high_bits(v, val);
		if (val == VCPU_CR3_REFUSED)
			return false;
	}
	if (!ops->set_cr(v, 3, val))
		return false;
	guest_tlb_flush(v, ops, FLUSH_CR3, 0);
	return true;
}

/* vcpu_exit_mov_to_cr3 (core/vcpu.h), inline; ops: v->ops, which a backend's own exit passes
 * as its table, a constant, so that the backend calls (set_cr, set_flush_exits, flush_tlb)
 * are direct and inline. */
static inline __attribute__((always_inline)) enum exit_next
vcpu_exit_mov_to_cr3_inline(struct vcpu *v, const struct vcpu_ops *ops, enum gpr reg)
{
	v->exits[EXIT_KIND_CR_ACCESS]++;
	if (unlikely(!vcpu_guest_write_cr3(v, ops, vcpu_mov_to_cr_operand(v, reg))))
		return vcpu_cr_write_refused(v);
	return EXIT_NEXT_SKIP;
}

#endif
