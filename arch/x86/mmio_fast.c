/*
 * MMIO fast path.  A device driver's accesses are almost all `mov reg, [mem]` / `mov [mem],
 * reg`, executed again and again from the same code.  With the MMIO translation cache on,
 * this path keeps three things per vCPU, all dropped or re-validated exactly like the
 * guest's TLB:
 *   - the translation of the code page at CS:RIP (struct code_tlb, cleared by every guest
 *     TLB flush mhv intercepts, checked against the current rights on every use);
 *   - the last decoded instruction, reused only when the bytes at RIP are identical;
 *   - the operand's translation: mmio_translate() and its cache (mmio/mmio_cache.c).
 * It handles only opcode 8B/89 with a 16/32/64-bit register, no LOCK/REP, a flat segment
 * (base 0, limit 4 GiB, or 64-bit mode), CPL 0-2 (no #AC), TF clear, and an operand inside
 * one page of one device region.  Anything else, and any fault, returns false: the general
 * emulator then does the instruction from scratch and raises what the CPU would.
 */
#include "arch/x86/mmio_fast.h"
#include "arch/x86/cpu.h"
#include "arch/x86/insn_fetch.h"
#include "arch/x86/mmio_setup.h"
#include "arch/x86/paging.h"
#include "arch/x86/vcpu.h"
#include "lib/compiler.h"
#include "lib/string.h"
#include "mm/memmap.h"
#include "mmio/mmio_cache.h"

#define OPCODE_MOV_LOAD	  0x8B /* mov r16/32/64, r/m */
#define OPCODE_MOV_STORE  0x89 /* mov r/m, r16/32/64 */
#define SEG_CS		  1
#define FLAT_LIMIT	  0xFFFFFFFFu
#define SEG_TYPE_CODE	  0x8u
#define SEG_TYPE_EXPDN	  0x4u
#define SEG_TYPE_WRITABLE 0x2u
#define SEG_PRESENT	  (1u << 7)
#define USER_CPL	  3

void code_tlb_invalidate(struct code_tlb *t, bool one_page, uint64_t la)
{
	if (!one_page || (la >> t->page_shift) == ((t->gva_page << PAGE_SHIFT) >> t->page_shift))
		t->valid = false;
}

static enum x86_mode mode_of(const struct gw_regs *r, const struct vcpu_segment *cs,
			     uint64_t rflags)
{
	if ((r->efer & EFER_LMA) && cs->long_mode)
		return X86_MODE_64;
	if (!(r->cr0 & CR0_PE) || (rflags & RFLAGS_VM))
		return X86_MODE_16;
	return cs->db ? X86_MODE_32 : X86_MODE_16;
}

/* The code page's guest-physical address, from the code TLB or a fresh walk. */
static bool code_gpa(struct vcpu *v, const struct gw_regs *regs, const struct gw_mem *mem,
		     uint64_t la, uint64_t *gpa)
{
	struct code_tlb *t = &v->code_tlb;
	struct gw_result r;

	if (!t->valid || t->gva_page != la >> PAGE_SHIFT ||
	    !gw_access_allowed(regs, t->user, t->writable, t->nx, GW_FETCH)) {
		if (guest_walk(regs, mem, la, GW_FETCH, &r))
			return false;
		/* Code must be plain guest RAM: not mhv, not a device page. */
		if ((r.gpa < v->hv_end && r.gpa + PAGE_SIZE > v->hv_start) ||
		    mmio_region_find(mmio_regions(), r.gpa))
			return false;
		*t = (struct code_tlb){true,	     la >> PAGE_SHIFT, r.gpa >> PAGE_SHIFT,
				       r.page_shift, r.user,	       r.writable,
				       r.nx};
	}
	*gpa = (t->gpa_page << PAGE_SHIFT) | (la & (PAGE_SIZE - 1));
	return true;
}

/* The decoded instruction at la: the cached one if the bytes there are unchanged. */
static const struct x86_insn *decode_at(struct vcpu *v, uint64_t la, const uint8_t *bytes,
					enum x86_mode mode)
{
	struct insn_cache *ic = &v->insn_cache;

	if (ic->valid && ic->la == la && ic->insn.mode == mode &&
	    !memcmp(ic->bytes, bytes, ic->insn.len))
		return &ic->insn;
	ic->valid = false;
	if (x86_decode(&ic->insn, bytes, X86_MAX_INSN_LEN, mode))
		return NULL;
	memcpy(ic->bytes, bytes, ic->insn.len);
	ic->la = la;
	ic->valid = true;
	return &ic->insn;
}

static bool plain_mov(const struct x86_insn *in)
{
	return in->encoding == X86_ENC_LEGACY && in->map == X86_MAP_ONE &&
	       (in->opcode == OPCODE_MOV_LOAD || in->opcode == OPCODE_MOV_STORE) && in->has_mem &&
	       !in->lock && in->rep == X86_REP_NONE && !in->vsib;
}

static uint64_t gpr_read(struct vcpu *v, unsigned reg)
{
	return reg == GPR_RSP ? v->ops->get_rsp(v) : v->gpr[reg];
}

/* Effective address -> linear, for a flat or 64-bit segment; false if not flat. */
static bool operand_la(struct vcpu *v, const struct x86_insn *in, uint64_t next_rip, uint64_t *la)
{
	uint64_t ea = (uint64_t)in->disp;
	struct vcpu_segment seg;

	if (in->rip_rel) {
		*la = next_rip + ea;
		return true;
	}
	if (in->mem_base != X86_REG_NONE)
		ea += gpr_read(v, in->mem_base);
	if (in->mem_index != X86_REG_NONE)
		ea += gpr_read(v, in->mem_index) * in->mem_scale;
	if (in->addrsize != 8)
		ea &= in->addrsize == 4 ? 0xFFFFFFFFull : 0xFFFFull;
	if (in->mode == X86_MODE_64) {
		if (in->mem_seg == X86_SEG_FS || in->mem_seg == X86_SEG_GS)
			return false; /* their bases need the VMLOAD state on SVM: general path */
		*la = ea;
		return true;
	}
	v->ops->get_segment(v, in->mem_seg, &seg);
	if (seg.base || seg.limit != FLAT_LIMIT || !(seg.attr & SEG_PRESENT) ||
	    (seg.attr & VCPU_SEG_UNUSABLE) || (seg.attr & SEG_TYPE_CODE) ||
	    (seg.attr & SEG_TYPE_EXPDN) ||
	    (in->opcode == OPCODE_MOV_STORE && !(seg.attr & SEG_TYPE_WRITABLE)))
		return false;
	*la = ea & 0xFFFFFFFFull;
	return true;
}

bool vcpu_mmio_fast(struct vcpu *v, const struct mmio_region *region)
{
	uint64_t rip = v->ops->get_rip(v), rflags = v->ops->get_rflags(v);
	uint64_t la_code, gpa_code, la, gpa, hits = v->mmio_cache.hits, val = 0;
	unsigned size, access;
	const struct x86_insn *in;
	struct vcpu_segment cs;
	struct gw_regs regs;
	struct gw_mem mem;
	struct gw_result fault;
	enum x86_mode mode;

	if (rflags & RFLAGS_TF)
		return false;
	vcpu_walk_setup(v, &regs, &mem);
	if (regs.cpl == USER_CPL)
		return false;
	v->ops->get_segment(v, SEG_CS, &cs);
	mode = mode_of(&regs, &cs, rflags);
	if (mode == X86_MODE_16)
		return false;
	la_code = mode == X86_MODE_64 ? rip : (cs.base + rip) & 0xFFFFFFFFull;
	if ((la_code & (PAGE_SIZE - 1)) > PAGE_SIZE - X86_MAX_INSN_LEN)
		return false; /* the instruction may run onto the next page */
	if (!code_gpa(v, &regs, &mem, la_code, &gpa_code))
		return false;
	in = decode_at(v, la_code, phys_to_virt(gpa_code), mode);
	if (!in || !plain_mov(in) || (mode != X86_MODE_64 && rip + in->len - 1 > cs.limit))
		return false;

	size = in->opsize;
	access = in->opcode == OPCODE_MOV_STORE ? GW_WRITE : 0;
	if (!operand_la(v, in, rip + in->len, &la) || (la & (PAGE_SIZE - 1)) + size > PAGE_SIZE)
		return false;
	if (mmio_translate(&v->mmio_cache, true, &regs, &mem, la, access, &gpa, &fault))
		return false; /* a fault: let the emulator raise it */
	if (gpa < region->base || gpa > region->last)
		region = mmio_region_find(mmio_regions(), gpa);
	if (!region)
		return false; /* not a device operand after all */

	if (access == GW_WRITE) {
		val = gpr_read(v, in->reg);
		if (mmio_region_access(region, gpa, rip, &val, size, true))
			return false;
	} else {
		if (mmio_region_access(region, gpa, rip, &val, size, false))
			return false;
		if (size == 2)
			val = (gpr_read(v, in->reg) & ~0xFFFFull) | (val & 0xFFFF);
		/* 32-bit results zero-extend; 64-bit ones are whole. */
		if (in->reg == GPR_RSP)
			v->ops->set_rsp(v, val);
		else
			v->gpr[in->reg] = val;
	}
	v->mmio[MMIO_COUNTER_EXITS]++;
	v->mmio[v->mmio_cache.hits != hits ? MMIO_COUNTER_HITS : MMIO_COUNTER_MISSES]++;
	v->ops->set_rip(v, rip + in->len);
	return true;
}
