/*
 * MMIO short path (see mmio_short.h).  What stays checked on every hit, because the CPU's
 * having faulted does not prove it: the same RIP and the same instruction bytes (through the
 * code translation kept like a TLB entry, so a remapped or rewritten code page is seen), the
 * same CS (base, L, D/B) and CR0.PE (the decode's mode), TF and VM clear, CPL 0-2, the whole
 * operand inside the exit's page and starting at the exit's GPA (an access split across two
 * pages faults on the second at its offset 0: the operand's linear address tells), and the
 * same direction.  The caller passes only exits for the final translation with no event being
 * delivered.  Everything the instruction does to a register is worked out at fill time, so a
 * hit is the checks, one device call and one register (or nothing) written.
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

#define USER_CPL	3
#define WORD_BYTES	8
#define BYTE_BITS	8
#define HIGH_BYTE_REGS	4 /* without REX, byte registers 4-7 are AH, CH, DH, BH */
#define HIGH_BYTE_SHIFT 8
#define OPC_MOFFS_FIRST 0xA0 /* A0-A3: mov al/eax, moffs and back */
#define OPC_MOFFS_LAST	0xA3

/* The low n bytes (0..8) set. */
static uint64_t byte_mask(unsigned n)
{
	return n >= WORD_BYTES ? ~0ull : (1ull << (BYTE_BITS * n)) - 1;
}

static uint64_t sign_extend(uint64_t val, unsigned size)
{
	unsigned shift = 64 - BYTE_BITS * size;

	return (uint64_t)((int64_t)(val << shift) >> shift);
}

static unsigned form_reg(const struct x86_insn *in, const struct mmio_form *f)
{
	if (in->map == X86_MAP_ONE && in->opcode >= OPC_MOFFS_FIRST && in->opcode <= OPC_MOFFS_LAST)
		return GPR_RAX;
	return f->high_byte ? in->reg - HIGH_BYTE_REGS : in->reg;
}

/* The register side of form f, as masks: a load writes (old & keep) | (val & mask) << shift. */
static void fill_register(struct mmio_short *e, const struct x86_insn *in,
			  const struct mmio_form *f)
{
	e->reg = (uint8_t)form_reg(in, f);
	e->shift = f->high_byte ? HIGH_BYTE_SHIFT : 0;
	e->sign = f->sign;
	e->imm = f->imm;
	e->imm_val = f->imm ? sign_extend(in->imm[0], in->imm_size[0]) : 0;
	e->val_mask = byte_mask(f->reg_size);
	/* 32-bit results zero-extend to 64 bits; 8- and 16-bit ones merge. */
	e->keep_mask = f->reg_size >= 4 ? 0 : ~(e->val_mask << e->shift);
}

void mmio_short_fill(struct vcpu *v, const struct x86_insn *in, const struct mmio_form *form,
		     uint64_t rip, const struct vcpu_segment *cs, uint64_t code_la, uint64_t gpa,
		     const struct mmio_region *region)
{
	struct mmio_short *e = &v->mmio_short;
	const struct insn_cache *ic = &v->insn_cache;
	uint64_t lo, hi;

	if (mmio_short_holds(e, ic->gen, rip, gpa >> PAGE_SHIFT, region, cs->base, cs->long_mode,
			     cs->db))
		return;
	if (!ic->valid || ic->la != code_la || &ic->insn != in ||
	    (code_la & (PAGE_SIZE - 1)) + 2 * WORD_BYTES > PAGE_SIZE) {
		/* Decoded across a page or without the code translation; or near the page's end,
		 * where the two words same_bytes() compares would leave it. */
		e->valid = false;
		return;
	}
	/* The instruction's bytes as two words, zero past its end (insn_cache keeps two words). */
	_Static_assert(sizeof(ic->bytes) >= 2 * WORD_BYTES, "insn_cache holds two words");
	__builtin_memcpy(&lo, ic->bytes, WORD_BYTES);
	__builtin_memcpy(&hi, ic->bytes + WORD_BYTES, WORD_BYTES);
	lo &= byte_mask(in->len);
	hi &= in->len > WORD_BYTES ? byte_mask(in->len - WORD_BYTES) : 0;
	/* The entry already describes this instruction on this page (an exit it could not take,
	 * such as a read-modify-write reported as its read): nothing to rewrite. */
	if (e->valid && e->rip == rip && e->code_la == code_la && e->gfn == gpa >> PAGE_SHIFT &&
	    e->region == region && e->cs_base == cs->base && e->cs_long == cs->long_mode &&
	    e->cs_db == cs->db && e->insn.len == in->len && e->insn.mode == in->mode &&
	    e->code_lo == lo && e->code_hi == hi) {
		e->insn_gen = ic->gen;
		return;
	}
	e->valid = false;
	e->insn_gen = ic->gen;
	e->form = *form;
	e->write = form->write;
	e->alu = form->alu;
	e->size = form->mem_size;
	e->max_off = (uint16_t)(PAGE_SIZE - form->mem_size);
	fill_register(e, in, form);
	e->gfn = gpa >> PAGE_SHIFT;
	e->rip = rip;
	e->code_la = code_la;
	e->code_off = code_la & (PAGE_SIZE - 1);
	e->cs_base = cs->base;
	e->cs_long = cs->long_mode;
	e->cs_db = cs->db;
	e->protected_mode = in->mode != X86_MODE_64;
	e->region = region;
	e->code_lo = lo;
	e->code_hi = hi;
	e->mask_lo = byte_mask(in->len);
	e->mask_hi = in->len > WORD_BYTES ? byte_mask(in->len - WORD_BYTES) : 0;
	e->insn = *in;
	e->valid = true;
}

/* The bytes at RIP, read through the code translation (a TLB entry), are still the entry's. */
static bool same_bytes(const struct vcpu *v, const struct mmio_short *e)
{
	const struct code_tlb *t = &v->code_tlb;
	const uint8_t *p;
	uint64_t lo, hi;

	if (!t->valid || t->gva_page != e->code_la >> PAGE_SHIFT)
		return false;
	p = t->host_page + e->code_off;
	__builtin_memcpy(&lo, p, WORD_BYTES);
	__builtin_memcpy(&hi, p + WORD_BYTES, WORD_BYTES);
	return !((lo ^ e->code_lo) & e->mask_lo) && !((hi ^ e->code_hi) & e->mask_hi);
}

/*
 * An exit at page offset 0 may be the second half of an access split across two pages: the
 * operand's own linear address must be page-aligned too.
 */
static bool starts_on_page(struct vcpu *v, const struct mmio_short *e, uint64_t rip)
{
	const struct x86_insn *in = &e->insn;
	uint64_t ea = vcpu_insn_ea(v, in, rip);
	struct vcpu_segment seg;

	if (in->mode != X86_MODE_64) { /* FS/GS operands are never filled in 64-bit mode */
		v->ops->get_segment(v, in->mem_seg, &seg);
		ea += seg.base;
	}
	return !(ea & (PAGE_SIZE - 1));
}

static uint64_t reg_value(struct vcpu *v, unsigned reg)
{
	return reg == GPR_RSP ? v->ops->get_rsp(v) : v->gpr[reg];
}

/* The device access and the register write; false if the device failed (nothing changed). */
static bool replay(struct vcpu *v, const struct mmio_short *e, uint64_t gpa, uint64_t rip)
{
	const struct mmio_region *r = e->region;
	struct mmio_access a = {
		.gpa = gpa, .offset = gpa - r->base, .rip = rip, .len = e->size, .write = e->write};
	uint64_t val = 0, nv;

	if (e->alu) /* a read, flags, a write or a register: as the fast path did it */
		return vcpu_mmio_form(v, r, &e->insn, &e->form, gpa, rip);
	if (e->write) {
		val = e->imm ? e->imm_val : reg_value(v, e->reg) >> e->shift;
		return !mmio_region_call(r, &a, &val);
	}
	if (mmio_region_call(r, &a, &val))
		return false;
	if (e->sign)
		val = sign_extend(val, e->size);
	nv = (val & e->val_mask) << e->shift;
	if (e->keep_mask)
		nv |= reg_value(v, e->reg) & e->keep_mask;
	if (e->reg == GPR_RSP)
		v->ops->set_rsp(v, nv);
	else
		v->gpr[e->reg] = nv;
	return true;
}

static inline __attribute__((always_inline)) bool short_hit(struct vcpu *v, uint64_t gpa,
								 bool write)
{
	const struct mmio_short *e = &v->mmio_short;
	unsigned off = gpa & (PAGE_SIZE - 1);
	struct vcpu_exec_state x;

	/* The exit's direction must be the entry's: the CPU checked the guest's rights for the
	 * access it reports, and a read-modify-write reported as its read (QEMU's TCG loads
	 * first) says nothing about the page being writable. */
	if (gpa >> PAGE_SHIFT != e->gfn || write != e->write || off > e->max_off)
		return false;
	v->ops->get_exec_state(v, &x);
	if (x.rip != e->rip || (x.rflags & (RFLAGS_TF | RFLAGS_VM)) || x.cpl == USER_CPL)
		return false;
	/* The same decode mode and code address, then the same bytes there. */
	if (x.cs_base != e->cs_base || x.cs_long != e->cs_long || x.cs_db != e->cs_db ||
	    (e->protected_mode && !(x.cr0 & CR0_PE)) || !same_bytes(v, e))
		return false;
	if (!off && e->size > 1 && !starts_on_page(v, e, x.rip))
		return false;
	if (!replay(v, e, gpa, x.rip))
		return false;
	v->mmio[MMIO_COUNTER_EXITS]++;
	v->mmio[MMIO_COUNTER_HITS]++;
	v->mmio[MMIO_COUNTER_SHORT]++;
	v->ops->set_rip(v, x.rip + e->insn.len);
	return true;
}

void mmio_short_exit(struct vcpu *v, uint64_t gpa, uint64_t gla, bool gla_valid, bool write)
{
	if (!short_hit(v, gpa, write))
		vcpu_exit_npf_full(v, gpa, gla, gla_valid, write, false, true);
}
