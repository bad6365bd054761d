/*
 * SVM: the #DB of a data breakpoint that an emulated MOV SS / POP SS matched, held until after
 * the next instruction (SDM Vol. 3, 6.8.3: MOV SS inhibits debug exceptions until the
 * instruction boundary after the next instruction; VMX does this with its pending debug
 * exceptions under blocking by MOV SS, SVM has no such state).
 *
 * mhv single-steps that instruction: RFLAGS.TF forced with every exception intercepted, the
 * #DB's B-bits kept here.  The step ends in one of three ways:
 *   - the CPU's single-step trap (#DB exit, DR6.BS): the instruction ran;
 *   - mhv completes the instruction at an exit (RIP moves with TF set: single_step_trap);
 *   - an exception exit, an injected fault, an interrupt or an NMI first: the instruction did
 *     not run (or, a REP string, not to its end).
 * The first two deliver the #DB after it (BS only if the guest's own TF was set); the third
 * delivers it before it, as mhv did before the hold (the instruction runs again after the
 * guest's #DB handler, faulting again if it must).  The guest never sees the forced TF:
 * get_rflags hides it, instructions that read or write TF without an exit are never stepped
 * (mmio_data_bp_next_steppable), and an exception, an interrupt or an NMI exits before its
 * frame is pushed.
 * Approximations: a fault mhv would inject for the instruction is dropped for the #DB (a #PF's
 * CR2 is written already); a REP string mhv completes at one exit gets the #DB after the
 * iterations it ran there.
 */
#ifndef MHV_ARCH_X86_SVM_SVM_DB_HOLD_H
#define MHV_ARCH_X86_SVM_SVM_DB_HOLD_H

#include <stdbool.h>
#include <stdint.h>

#include "arch/x86/exception.h"
#include "arch/x86/svm/vmcb.h"
#include "core/regs_abi.h"
#include "lib/gdb_hwbp.h"

struct svm_db_hold {
	bool armed;
	bool guest_tf;	     /* the guest's own RFLAGS.TF under the forced one */
	uint64_t hide;	     /* RFLAGS.TF while mhv forces it, else 0: what get_rflags clears */
	uint64_t dr6_bs;     /* DR6.BS as the guest left it (sticky) */
	uint32_t exceptions; /* the exception intercepts before the hold */
	uint32_t misc1;	     /* the intercepts word with INTR and NMI, before the hold */
	uint64_t b_bits;     /* DR6's B0-B3 owed */
};

#define SVM_EXCEPTION_VECTORS 32 /* the exception intercepts: exit codes 0x40-0x5F */

/* Every exception an instruction can raise, #MC aside (not the instruction's). */
#define SVM_DB_HOLD_EXCEPTIONS (~((1u << VEC_NMI) | (1u << VEC_MC)))

static inline void svm_db_hold_arm(struct svm_db_hold *h, struct vmcb *vmcb, uint64_t b_bits)
{
	*h = (struct svm_db_hold){.armed = true,
				  .guest_tf = vmcb->save.rflags & RFLAGS_TF,
				  .dr6_bs = vmcb->save.dr6 & DR6_BS,
				  .exceptions = vmcb->control.intercept_exceptions,
				  .misc1 = vmcb->control.intercept_misc1,
				  .b_bits = b_bits};
	h->hide = h->guest_tf ? 0 : RFLAGS_TF;
	vmcb->save.rflags |= RFLAGS_TF;
	vmcb->control.intercept_exceptions = SVM_DB_HOLD_EXCEPTIONS;
	/* The guest's physical interrupts and NMIs (not intercepted on one CPU without a
	 * debugger) go to its IDT without an exit: one taken between two iterations of a REP
	 * string (the shadow covers the first only; mhv completes them one per exit here) would
	 * push the forced TF. */
	vmcb->control.intercept_misc1 |= MISC1_INTR | MISC1_NMI;
}

/* The guest's RFLAGS under the hold, and a write of them that keeps the step. */
static inline uint64_t svm_db_hold_rflags(const struct svm_db_hold *h, uint64_t rflags)
{
	return rflags & ~h->hide;
}

static inline uint64_t svm_db_hold_set_rflags(struct svm_db_hold *h, uint64_t rflags)
{
	if (!h->armed)
		return rflags;
	h->guest_tf = rflags & RFLAGS_TF;
	h->hide = h->guest_tf ? 0 : RFLAGS_TF;
	return rflags | RFLAGS_TF;
}

/*
 * The step ends: the guest's TF and intercepts back, the #DB queued with the B-bits owed (and
 * any the CPU's trap added).  ran: the instruction completed, the trap is its single-step
 * trap too when the guest had TF set.
 */
static inline void svm_db_hold_release(struct svm_db_hold *h, struct vmcb *vmcb, bool ran)
{
	uint64_t bs = ran && h->guest_tf ? DR6_BS : h->dr6_bs;

	vmcb->save.rflags = (vmcb->save.rflags & ~RFLAGS_TF) | (h->guest_tf ? RFLAGS_TF : 0);
	vmcb->control.intercept_exceptions = h->exceptions;
	vmcb->control.intercept_misc1 = h->misc1;
	vmcb->save.dr6 = (vmcb->save.dr6 & ~DR6_BS) | bs | h->b_bits;
	vmcb->control.event_inj = EVENTINJ_VALID | EVENTINJ_TYPE_EXCEPTION | VEC_DB;
	h->armed = false;
	h->hide = 0;
}

#endif
