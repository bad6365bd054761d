/*
 * Far branches whose memory side is on a device page: JMP and CALL through a far pointer
 * (FF /5, FF /3: m16:16, m16:32, m16:64; AMD ignores REX.W and reads m16:32), CALL ptr16:16 /
 * ptr16:32 (9A, outside 64-bit mode: the decoder refuses it there, #UD) and RETF / RETF
 * imm16 (CB, CA) with the stack on one.  Real and virtual-8086 mode load selector << 4 as the
 * CS base; protected and long mode load a code-segment descriptor at the same privilege with
 * the SDM's checks (#GP(selector), #NP(selector), #GP(0) for a null selector or an offset past
 * the limit / not canonical).  A RETF to an outer ring is x86e_retf_outer() (x86_emu_iret.c).
 * A system descriptor is a call gate (x86e_far_gate(), x86_emu_gate.c: JMP and CALL, the
 * latter to a more privileged ring too), or a task gate or TSS: #GP(selector) as there; RETF
 * to one is #GP(selector).
 */
#include "mmio/x86_emu_internal.h"

#define OP_CALLF_PTR  0x9a
#define OP_RETF_IMM   0xca
#define OP_RETF	      0xcb
#define OP_GRP5	      0xff
#define GRP5_CALLF    3
#define GRP5_JMPF     5
#define SEL_RPL_MASK  0x3u
#define SEL_BYTES     2
#define ATTR_DPL_SHIFT 5
#define ATTR_DPL_MASK 0x3u
#define TYPE_CONFORM  0x4u
#define FAR_PTR_MAX   (8 + SEL_BYTES)
#define FAR_GATE      (-1) /* load_code: sel names a system descriptor (JMP/CALL only) */

bool x86e_far_supported(const struct x86_emu_ops *ops, const struct x86_insn *in)
{
	if (!ops->sys_access || !ops->set_seg || in->encoding != X86_ENC_LEGACY ||
	    in->map != X86_MAP_ONE)
		return false;
	if (in->opcode == OP_RETF || in->opcode == OP_RETF_IMM || in->opcode == OP_CALLF_PTR)
		return true;
	return in->opcode == OP_GRP5 && in->has_mem &&
	       ((in->reg & 7) == GRP5_CALLF || (in->reg & 7) == GRP5_JMPF);
}

/*
 * The code segment sel names, for a JMP/CALL (ret false) or a RETF (ret true) at the same
 * privilege.  The loaded selector's RPL is the CPL.
 */
static int load_code(struct x86_emu_ctx *e, uint16_t sel, bool ret, struct x86_segment *cs)
{
	unsigned int rpl = sel & SEL_RPL_MASK, cpl = e->ctl.cpl, dpl;
	uint64_t la;
	int r;

	if (!(sel & ~SEL_RPL_MASK))
		return x86e_raise(e, X86_EXC_GP, true, 0);
	if ((r = x86e_read_desc(e, sel, cs, &la)))
		return r;
	if (!(cs->attr & X86_SEG_ATTR_S))
		return ret ? x86e_raise(e, X86_EXC_GP, true, sel & ~SEL_RPL_MASK) : FAR_GATE;
	if (!(cs->attr & X86_SEG_TYPE_CODE))
		return x86e_raise(e, X86_EXC_GP, true, sel & ~SEL_RPL_MASK);
	dpl = (cs->attr >> ATTR_DPL_SHIFT) & ATTR_DPL_MASK;
	if (ret) {
		if (rpl < cpl)
			return x86e_raise(e, X86_EXC_GP, true, sel & ~SEL_RPL_MASK);
	}
	if ((cs->attr & TYPE_CONFORM) ? dpl > cpl : (rpl > cpl || dpl != cpl))
		return x86e_raise(e, X86_EXC_GP, true, sel & ~SEL_RPL_MASK);
	if ((e->ctl.efer & X86_EFER_LMA) && (cs->attr & X86_SEG_ATTR_L) &&
	    (cs->attr & X86_SEG_ATTR_DB))
		return x86e_raise(e, X86_EXC_GP, true, sel & ~SEL_RPL_MASK);
	if (!(cs->attr & X86_SEG_ATTR_P))
		return x86e_raise(e, X86_EXC_NP, true, sel & ~SEL_RPL_MASK);
	if ((r = x86e_desc_accessed(e, la, cs)))
		return r;
	cs->selector = (uint16_t)((sel & ~SEL_RPL_MASK) | cpl);
	return EMU_CONTINUE;
}

/* CS for sel and the new RIP, checked against the new code segment. */
static int far_target(struct x86_emu_ctx *e, uint16_t sel, uint64_t off, bool ret,
		      struct x86_segment *cs)
{
	int r;

	if (e->real_or_v86) {
		e->ops->get_seg(e->opaque, X86_SEG_CS, cs);
		cs->selector = sel;
		cs->base = (uint64_t)sel << REAL_SEG_SHIFT;
	} else if ((r = load_code(e, sel, ret, cs))) {
		return r;
	}
	if ((e->ctl.efer & X86_EFER_LMA) && (cs->attr & X86_SEG_ATTR_L)) {
		if (!x86e_canonical(e, off))
			return x86e_raise(e, X86_EXC_GP, true, 0);
	} else if (off > cs->limit) {
		return x86e_raise(e, X86_EXC_GP, true, 0);
	}
	e->res->next_rip = off;
	return EMU_CONTINUE;
}

static int exec_retf(struct x86_emu_ctx *e, const struct x86_insn *in)
{
	unsigned int size = in->opsize, ss = x86e_stack_size(e);
	struct x86_segment cs;
	uint64_t off, sel;
	int r;

	if ((r = x86e_pop(e, &off, size)) || (r = x86e_pop(e, &sel, size)))
		return r;
	if (!e->real_or_v86 && (sel & SEL_RPL_MASK) > e->ctl.cpl)
		return x86e_retf_outer(e, (uint16_t)sel, off & x86e_mask(size), size,
				       in->opcode == OP_RETF_IMM ? (uint16_t)in->imm[0] : 0);
	if ((r = far_target(e, (uint16_t)sel, off & x86e_mask(size), true, &cs)))
		return r;
	if (in->opcode == OP_RETF_IMM)
		x86e_set_sp(e, ss, x86e_gpr(e, X86_RSP) + (in->imm[0] & x86e_mask(2)));
	e->ops->set_seg(e->opaque, X86_SEG_CS, &cs);
	return EMU_CONTINUE;
}

/*
 * JMP/CALL to sel:off (a call gate goes to x86_emu_gate.c).  A call pushes CS (zero-extended
 * to the operand size) and the return RIP; both slots are checked before the first is written, so a fault leaves the stack.
 */
static int far_jump_or_call(struct x86_emu_ctx *e, uint16_t sel, uint64_t off, unsigned int size,
			    bool call)
{
	unsigned int ss = x86e_stack_size(e);
	uint64_t ret_rip = e->res->next_rip;
	struct x86_segment cs, old_cs;
	int r;

	e->ops->get_seg(e->opaque, X86_SEG_CS, &old_cs);
	r = far_target(e, sel, off, false, &cs);
	if (r == FAR_GATE)
		return x86e_far_gate(e, sel, call, ret_rip, &old_cs);
	if (r)
		return r;
	if (call) {
		uint64_t sp = (x86e_gpr(e, X86_RSP) - 2 * size) & x86e_mask(ss);

		if ((r = x86e_probe_write(e, X86_SEG_SS, sp, 2 * size)) ||
		    (r = x86e_push(e, old_cs.selector, size)) || (r = x86e_push(e, ret_rip, size)))
			return r;
	}
	e->ops->set_seg(e->opaque, X86_SEG_CS, &cs);
	return EMU_CONTINUE;
}

int x86e_exec_far(struct x86_emu_ctx *e, const struct x86_insn *in)
{
	unsigned int size = in->opsize;
	uint8_t ptr[FAR_PTR_MAX] = {0};
	uint64_t off = 0;
	struct x86_opnd m;
	int r;

	if (in->opcode == OP_CALLF_PTR) /* ptr16:16 / ptr16:32 in the instruction */
		return far_jump_or_call(e, (uint16_t)in->imm[1], in->imm[0] & x86e_mask(size),
					size, true);
	if (in->opcode != OP_GRP5)
		return exec_retf(e, in);
	if (size == 8 && !x86v_far_pointer_honours_rex_w(e->vendor))
		size = 4;
	x86e_rm_opnd(e, in, size + SEL_BYTES, &m);
	if ((r = x86e_read_mem(e, m.seg, m.ea, ptr, size + SEL_BYTES)))
		return r;
	for (unsigned int i = 0; i < size; i++)
		off |= (uint64_t)ptr[i] << (BYTE_BITS * i);
	return far_jump_or_call(e, (uint16_t)(ptr[size] | ptr[size + 1] << BYTE_BITS), off, size,
				(in->reg & 7) == GRP5_CALLF);
}
