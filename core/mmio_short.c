/*
 * MMIO short path (see mmio_short.h).  What stays checked on every hit, because the CPU's
 * having faulted does not prove it: the same RIP and the same instruction bytes (through the
 * code translation kept like a TLB entry, so a remapped or rewritten code page is seen), the
 * same CS (base, L, D/B) and CR0.PE (the decode's mode), TF and VM clear, CPL 0-2, the exit's
 * GPA equal to the operand's first byte (page offset of its linear address) with the whole
 * operand inside that page, and the same direction.  The caller passes only exits for the
 * final translation with no event being delivered.
 */
#include "core/mmio_short.h"
#include "arch/x86/cpu.h"
#include "core/insn_fetch.h"
#include "core/mmio_forms.h"
#include "core/vcpu.h"
#include "lib/compiler.h"
#include "lib/string.h"
#include "mm/memmap.h"
#include "mmio/region.h"

#define SEG_CS	 1
#define USER_CPL 3

void mmio_short_fill(struct vcpu *v, const struct x86_insn *in, const struct mmio_form *form,
		     uint64_t rip, const struct vcpu_segment *cs, uint64_t code_la, uint64_t gpa,
		     const struct mmio_region *region)
{
	struct mmio_short *e = &v->mmio_short;
	const struct insn_cache *ic = &v->insn_cache;

	e->valid = false;
	if (!ic->valid || ic->la != code_la || &ic->insn != in)
		return; /* decoded across a page or without the code translation */
	e->form = *form;
	e->gfn = gpa >> PAGE_SHIFT;
	e->rip = rip;
	e->code_la = code_la;
	e->cs_base = cs->base;
	e->cs_long = cs->long_mode;
	e->cs_db = cs->db;
	e->region = region;
	memcpy(e->bytes, ic->bytes, in->len);
	e->insn = *in;
	e->valid = true;
}

/* The operand's linear address, as the CPU formed it (segment base outside 64-bit mode). */
static uint64_t operand_linear(struct vcpu *v, const struct x86_insn *in, uint64_t rip)
{
	uint64_t ea = vcpu_insn_ea(v, in, rip);
	struct vcpu_segment seg;

	if (in->mode == X86_MODE_64)
		return ea; /* FS/GS operands are never filled (mmio_fast.c) */
	v->ops->get_segment(v, in->mem_seg, &seg);
	return (seg.base + ea) & 0xFFFFFFFFull;
}

bool mmio_short_try(struct vcpu *v, uint64_t gpa, bool write)
{
	struct mmio_short *e = &v->mmio_short;
	const struct code_tlb *t = &v->code_tlb;
	const struct x86_insn *in = &e->insn;
	const struct mmio_region *r = e->region;
	unsigned size = e->form.mem_size, off = gpa & (PAGE_SIZE - 1);
	struct vcpu_segment cs;
	uint64_t rip;

	if (gpa >> PAGE_SHIFT != e->gfn || write != e->form.write)
		return false;
	rip = v->ops->get_rip(v);
	if (rip != e->rip || (v->ops->get_rflags(v) & (RFLAGS_TF | RFLAGS_VM)) ||
	    v->ops->get_cpl(v) == USER_CPL)
		return false;
	v->ops->get_segment(v, SEG_CS, &cs);
	if (cs.base != e->cs_base || cs.long_mode != e->cs_long || cs.db != e->cs_db)
		return false;
	if (in->mode != X86_MODE_64 && !(v->ops->get_cr(v, 0) & CR0_PE))
		return false;
	if (!t->valid || t->gva_page != e->code_la >> PAGE_SHIFT ||
	    memcmp(t->host_page + (e->code_la & (PAGE_SIZE - 1)), e->bytes, in->len))
		return false;
	if (off + size > PAGE_SIZE || (operand_linear(v, in, rip) & (PAGE_SIZE - 1)) != off)
		return false;
	if (gpa < r->base || r->last - gpa < size - 1)
		return false;

	if (!vcpu_mmio_form(v, r, in, &e->form, gpa, rip))
		return false;
	v->mmio[MMIO_COUNTER_EXITS]++;
	v->mmio[MMIO_COUNTER_HITS]++;
	v->mmio[MMIO_COUNTER_SHORT]++;
	v->ops->set_rip(v, rip + in->len);
	return true;
}
