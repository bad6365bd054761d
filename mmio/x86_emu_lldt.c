/*
 * LLDT and LTR (0F 00 /2, /3) with the selector on a device page (or in a register): the
 * SDM's checks in its order, then the load through ops->set_sysseg.  Ring 0 only (#GP(0)),
 * #UD in real and virtual-8086 mode.  The selector must name the GDT (TI clear) within its
 * limit, else #GP(selector); the descriptor must be an LDT (LLDT) or an available TSS (LTR:
 * 16- or 32-bit outside IA-32e mode, 64-bit in it), else #GP(selector); not present:
 * #NP(selector).  In IA-32e mode these descriptors are 16 bytes: the upper half's type field
 * must be zero and the base canonical (#GP(selector)).  LLDT with a null selector leaves the
 * LDTR unusable; LTR with one raises #GP(0).  LTR marks the descriptor busy in the GDT (an
 * implicit supervisor write) before it loads TR.
 */
#include "mmio/x86_emu_internal.h"

#define GRP6_LLDT	 2
#define SEL_RPL_MASK	 0x3u
#define SEL_TI		 0x4u
#define SEL_ERROR_MASK	 0xfffcu
#define DESC_BYTES	 8
#define DESC_ACCESS_BYTE 5
#define UPPER_TYPE_BYTE	 5 /* of the upper half: bits 12:8 of its second dword */
#define UPPER_TYPE_MASK	 0x1fu
#define SYS_TYPE_LDT	 0x2u
#define SYS_TYPE_TSS16	 0x1u
#define SYS_TYPE_TSS32	 0x9u /* also the 64-bit TSS in IA-32e mode */
#define SYS_TYPE_BUSY	 0x2u /* available -> busy */

bool x86e_lldt_supported(const struct x86_emu_ops *ops, const struct x86_insn *in)
{
	unsigned int reg = in->reg & 7;

	return in->map == X86_MAP_0F && in->opcode == 0x00 && (reg == GRP6_LLDT || reg == 3) &&
	       ops->sys_access && ops->set_sysseg && ops->get_sysseg;
}

static int fault_sel(struct x86_emu_ctx *e, unsigned int vector, uint16_t sel)
{
	return x86e_raise(e, vector, true, sel & SEL_ERROR_MASK);
}

/* IA-32e mode: the descriptor's upper 8 bytes (type 0, base bits 63:32 canonical). */
static int read_upper(struct x86_emu_ctx *e, uint16_t sel, uint64_t la, struct x86_segment *s)
{
	struct x86_segment gdtr;
	uint8_t d[DESC_BYTES];
	uint64_t at = la + DESC_BYTES;

	e->ops->get_sysseg(e->opaque, X86_SYS_GDTR, &gdtr);
	if ((uint32_t)(sel & ~(SEL_RPL_MASK | SEL_TI)) + 2 * DESC_BYTES - 1 > gdtr.limit)
		return fault_sel(e, X86_EXC_GP, sel);
	for (unsigned int done = 0; done < DESC_BYTES;) {
		uint64_t room = PAGE_SIZE_4K - ((at + done) & (PAGE_SIZE_4K - 1));
		unsigned int n = DESC_BYTES - done < room ? DESC_BYTES - done : (unsigned int)room;

		if (e->ops->sys_access(e->opaque, at + done, d + done, n, false, &e->res->exc))
			return X86_EMU_EXCEPTION;
		done += n;
	}
	if (d[UPPER_TYPE_BYTE] & UPPER_TYPE_MASK)
		return fault_sel(e, X86_EXC_GP, sel);
	s->base = (s->base & 0xffffffffull) |
		  (uint64_t)(d[0] | d[1] << 8 | d[2] << 16 | (uint32_t)d[3] << 24) << 32;
	if (!x86e_canonical(e, s->base))
		return fault_sel(e, X86_EXC_GP, sel);
	return EMU_CONTINUE;
}

int x86e_exec_lldt(struct x86_emu_ctx *e, const struct x86_insn *in)
{
	bool lldt = (in->reg & 7) == GRP6_LLDT, ia32e = e->ctl.efer & X86_EFER_LMA;
	unsigned int type;
	struct x86_segment s;
	struct x86_opnd src;
	uint64_t v, la;
	uint16_t sel;
	int r;

	if (e->real_or_v86)
		return x86e_ud(e);
	if (e->ctl.cpl > 0)
		return x86e_raise(e, X86_EXC_GP, true, 0);
	x86e_rm_opnd(e, in, 2, &src);
	if ((r = x86e_read_op(e, &src, &v)))
		return r;
	sel = (uint16_t)v;
	if (!(sel & ~SEL_RPL_MASK)) {
		if (!lldt)
			return x86e_raise(e, X86_EXC_GP, true, 0);
		s = (struct x86_segment){.selector = sel, .attr = X86_SEG_UNUSABLE};
		e->ops->set_sysseg(e->opaque, X86_SYS_LDTR, &s);
		return EMU_CONTINUE;
	}
	if (sel & SEL_TI)
		return fault_sel(e, X86_EXC_GP, sel);
	if ((r = x86e_read_desc(e, sel, &s, &la)))
		return r;
	type = s.attr & X86_SEG_TYPE_MASK;
	if ((s.attr & X86_SEG_ATTR_S) ||
	    (lldt ? type != SYS_TYPE_LDT
		  : type != SYS_TYPE_TSS32 && (ia32e || type != SYS_TYPE_TSS16)))
		return fault_sel(e, X86_EXC_GP, sel);
	if (!(s.attr & X86_SEG_ATTR_P))
		return fault_sel(e, X86_EXC_NP, sel);
	if (ia32e && (r = read_upper(e, sel, la, &s)))
		return r;
	if (!lldt) {
		uint8_t acc = (uint8_t)(s.attr | SYS_TYPE_BUSY);

		if (e->ops->sys_access(e->opaque, la + DESC_ACCESS_BYTE, &acc, 1, true,
				       &e->res->exc))
			return X86_EMU_EXCEPTION;
		s.attr |= SYS_TYPE_BUSY;
	}
	e->ops->set_sysseg(e->opaque, lldt ? X86_SYS_LDTR : X86_SYS_TR, &s);
	return EMU_CONTINUE;
}
