/*
 * INVPCID, intercepted (VMX: with INVLPG exiting; SVM: its own intercept).  The VM exit comes
 * before the CPU checks the type or reads the descriptor, so mhv does both, as the SDM's
 * INVPCID pseudocode does: #GP for a type above 3, a reserved PCID bit, a non-canonical
 * address (type 0), or a nonzero PCID with CR4.PCIDE clear (types 0, 1); the descriptor is
 * read through the guest's page tables and mhv's memory gate (#PF or #GP like any operand).
 * Then every type is served by dropping all of the guest's translations: never less than the
 * guest asked for.
 */
#include "arch/x86/cpu.h"
#include "arch/x86/exception.h"
#include "core/insn_fetch.h"
#include "core/mmio_exit.h"
#include "core/vcpu.h"
#include "lib/errno.h"
#include "mm/memmap.h"

#define INVPCID_TYPE_MAX  3u
#define INVPCID_ADDR_TYPE 0u /* individual address: the descriptor's address is used */
#define INVPCID_CTX_TYPE  1u /* single context: the descriptor's PCID is used */
#define PCID_MASK	  0xFFFull
#define CANONICAL_BITS	  48 /* LA57 guests: a stricter check than theirs is never reached */

static bool canonical(uint64_t la)
{
	return (uint64_t)(((int64_t)la << (64 - CANONICAL_BITS)) >> (64 - CANONICAL_BITS)) == la;
}

static enum exit_next fault(struct vcpu *v, const struct x86_exception *exc)
{
	if (exc->vector == VEC_PF)
		v->ops->set_cr2(v, exc->cr2);
	v->ops->inject_exception(v, exc->vector, exc->has_error_code, exc->error_code);
	return EXIT_NEXT_RETRY;
}

/* The 16-byte descriptor at la, page by page: 0, or 1 with the fault in *exc. */
static int read_desc(struct vcpu *v, uint64_t la, uint64_t desc[2], struct x86_exception *exc)
{
	uint8_t *p = (uint8_t *)desc;
	unsigned done = 0, len = 2 * sizeof(desc[0]);

	while (done < len) {
		unsigned room = (unsigned)(PAGE_SIZE - ((la + done) & (PAGE_SIZE - 1)));
		unsigned chunk = len - done < room ? len - done : room;

		if (vcpu_linear_access(v, la + done, p + done, chunk, false, exc))
			return 1;
		done += chunk;
	}
	return 0;
}

enum exit_next vcpu_exit_invpcid(struct vcpu *v)
{
	struct gw_regs regs;
	struct x86_exception gp = {.vector = VEC_GP, .has_error_code = true};
	struct x86_exception exc = {0};
	const struct x86_insn *insn;
	uint64_t type, desc[2];
	int err = 0;

	v->exits[EXIT_KIND_INVPCID]++;
	insn = vcpu_decode_current(v, &err);
	if (!insn) {
		if (err != -E_FAULT) /* a fetch #PF is queued already */
			v->ops->inject_exception(v, VEC_UD, false, 0);
		return EXIT_NEXT_RETRY;
	}
	type = vcpu_gpr(v, insn->reg);
	if (insn->mode != X86_MODE_64)
		type = (uint32_t)type;
	if (!insn->has_mem || type > INVPCID_TYPE_MAX)
		return fault(v, &gp);
	if (read_desc(v, vcpu_insn_mem_linear(v, insn), desc, &exc))
		return fault(v, &exc);
	if (desc[0] & ~PCID_MASK)
		return fault(v, &gp);
	if (type == INVPCID_ADDR_TYPE && !canonical(desc[1]))
		return fault(v, &gp);
	v->ops->get_paging(v, &regs);
	if (type <= INVPCID_CTX_TYPE && desc[0] && !(regs.cr4 & CR4_PCIDE))
		return fault(v, &gp);
	vcpu_guest_tlb_flush(v, FLUSH_INVPCID, 0);
	return EXIT_NEXT_SKIP;
}
