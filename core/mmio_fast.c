/*
 * MMIO fast path.  A device driver's accesses are almost all MOVs between a register (or an
 * immediate) and memory, executed again and again from the same code.  With the MMIO
 * translation cache on, the instruction comes from vcpu_decode_at() (the code page's
 * translation and the last decoded instruction are cached, see insn_fetch.c) and the
 * operand's translation from mmio_translate() and its cache (mmio/mmio_cache.c), all dropped
 * or re-validated exactly like the guest's TLB; with it off, both are walked every time.
 * It handles the forms of mmio_forms.c (MOV in every size, MOVZX/MOVSX, the common ALU
 * forms), the string instructions of mmio_string.c, PUSH/POP [m] of mmio_stack.c and the
 * read-modify-write forms of mmio_rmw.c (shifts, XCHG, BT*, CMPXCHG, XADD, NOT/NEG), with
 * a flat segment (base 0, limit 4 GiB, or 64-bit mode), CPL 0-2 (no #AC), TF clear, and a
 * form's operand inside one page of one device region.
 * Anything else, and any fault, returns false: the general emulator then does the
 * instruction (with the decode made here) and raises what the CPU would.
 */
#include "core/mmio_fast.h"
#include "arch/x86/cpu.h"
#include "arch/x86/paging.h"
#include "core/insn_fetch.h"
#include "core/insn_fetch_hit.h"
#include "core/mmio_forms.h"
#include "core/mmio_setup.h"
#include "core/mmio_rmw.h"
#include "core/mmio_short.h"
#include "core/mmio_stack.h"
#include "core/mmio_string.h"
#include "core/seg_flat.h"
#include "core/vcpu.h"
#include "lib/compiler.h"
#include "lib/errno.h"
#include "lib/string.h"
#include "mm/memmap.h"
#include "mmio/data_bp.h"
#include "mmio/mmio_cache.h"

#define USER_CPL	  3

/* Operand linear address, for a flat or 64-bit segment only; false if not flat. */
static bool operand_la(struct vcpu *v, const struct x86_insn *in, uint64_t rip, bool write,
		       uint64_t *la)
{
	if (!vcpu_flat_segment(v, in->mode, in->mem_seg, write))
		return false;
	*la = vcpu_insn_ea(v, in, rip);
	if (in->mode != X86_MODE_64)
		*la &= 0xFFFFFFFFull;
	return true;
}

/* CS:RIP as the decoder's linear address (insn_fetch.c). */
static uint64_t code_linear(const struct x86_insn *in, const struct vcpu_segment *cs,
			    uint64_t rip)
{
	if (in->mode == X86_MODE_64)
		return rip;
	return (cs->base + rip) & 0xFFFFFFFFull;
}

/* The form of the instruction insn_cache holds, worked out once per decode. */
static const struct mmio_form *form_of(struct vcpu *v, const struct x86_insn *in)
{
	struct mmio_form_memo *m = &v->form_memo;

	if (!m->valid || m->gen != v->insn_cache.gen) {
		m->is_form = mmio_form_of(in, &m->form);
		m->general = false;
		m->gen = v->insn_cache.gen;
		m->valid = true;
	}
	return m->is_form ? &m->form : NULL;
}

/* A general instruction at a device exit (32- or 64-bit mode, inside CS's limit, CPL 0-2, TF
 * clear): kept for the next exit of it (mmio_short.h). */
static void remember_general(struct vcpu *v, const struct x86_insn *in, uint64_t rip,
			     const struct vcpu_segment *cs, const struct gw_regs *regs)
{
	uint64_t access = v->npf_access;

	if (!v->mmio_cache_on || access == VCPU_NPF_NONE)
		return;
	mmio_short_fill_general(v, in, rip, cs, regs, code_linear(in, cs, rip),
				access & ~VCPU_NPF_WRITE, access & VCPU_NPF_WRITE);
}

bool vcpu_mmio_fast(struct vcpu *v, const struct mmio_region *region, struct mmio_fast_state *st)
{
	struct gw_regs *regs = &st->regs;
	struct vcpu_segment *cs = &st->cpu.cs;
	uint64_t rip, rflags, la, gpa, hits = v->mmio_cache.hits;
	const struct x86_insn *in;
	const struct mmio_form *form;
	struct gw_result fault;
	int err = 0;

	st->decoded = NULL;
	/* One backend call for both paths (DR7 too: the general path's data breakpoints start
	 * from it). */
	v->ops->get_insn_state(v, &st->cpu, regs);
	vcpu_walk_regs_finish(regs);
	rip = st->cpu.rip;
	rflags = st->cpu.rflags;
	in = vcpu_decode_at_inline(v, regs, cs, rip, rflags, &err);
	if (!in)
		return err == -E_FAULT; /* a fetch fault is queued: this exit is done */
	st->decoded = in; /* the general path's instruction, whatever happens here */
	/* TF, or a breakpoint the emulator's accesses must be checked against (mmio/data_bp.h) */
	if (regs->cpl == USER_CPL || (rflags & RFLAGS_TF) || data_bp_armed(st->cpu.dr7))
		return false;
	if (in->mode == X86_MODE_16 || (in->mode != X86_MODE_64 && rip + in->len - 1 > cs->limit))
		return false;
	/* vcpu_decode_at's instruction is insn_cache's: its form is remembered with it. */
	form = form_of(v, in);
	if (!form) {
		enum mmio_rmw_kind k;
		unsigned size;

		/* The memo's verdict for this decode: neither a stack, an RMW nor a string form. */
		if (v->form_memo.general) {
			remember_general(v, in, rip, cs, regs);
			return false;
		}
		if (mmio_stack_form(in))
			return vcpu_mmio_stack(v, region, in, regs, rip);
		/* A ModRM or moffs memory operand is no string instruction's. */
		if (in->has_mem) {
			if (mmio_rmw_form(in, &k, &size))
				return vcpu_mmio_rmw(v, region, in, regs, rip, k, size);
			v->form_memo.general = true;
			remember_general(v, in, rip, cs, regs);
			return false;
		}
		return vcpu_mmio_string(v, in, regs, rip, rflags, region);
	}

	if (!operand_la(v, in, rip, form->write, &la) ||
	    (la & (PAGE_SIZE - 1)) + form->mem_size > PAGE_SIZE)
		return false;
	if (mmio_translate(&v->mmio_cache, v->mmio_cache_on, regs, &vcpu_gw_mem, la,
			   form->write ? GW_WRITE : 0, &gpa, &fault))
		return false; /* a fault: let the emulator raise it */
	if (gpa < region->base || gpa > region->last)
		region = mmio_region_find_hinted(mmio_regions(), &v->region_hint, gpa);
	if (!region)
		return false; /* not a device operand after all */

	if (!vcpu_mmio_form(v, region, in, form, gpa, rip))
		return false;
	v->mmio[MMIO_COUNTER_EXITS]++;
	if (v->mmio_cache_on) {
		v->mmio[v->mmio_cache.hits != hits ? MMIO_COUNTER_HITS : MMIO_COUNTER_MISSES]++;
		uint64_t cs_key = v->ops->cs_key(v);

		if (!mmio_short_holds(&v->mmio_short, v->insn_cache.gen, rip, gpa >> PAGE_SHIFT,
				      region, cs->base,
				      mmio_short_cs_mode(vcpu_seg_long_mode(cs), vcpu_seg_db(cs)),
				      cs_key))
			mmio_short_fill(v, in, form, rip, cs, cs_key, code_linear(in, cs, rip),
					gpa, region);
	}
	v->ops->set_rip(v, rip + in->len);
	return true;
}
