/*
 * MMX moves with a memory operand on a device page: MOVD/MOVQ mm, r/m32/64 (0F 6E), MOVD/MOVQ
 * r/m32/64, mm (0F 7E), MOVQ mm, mm/m64 (0F 6F) and MOVQ mm/m64, mm (0F 7F), no prefix.  The
 * MMX registers live in the x87 state, reached through the optional mmx callback.
 */
#include "mmio/x86_emu_internal.h"

#define OP_MOVD_LOAD  0x6e
#define OP_MOVQ_LOAD  0x6f
#define OP_MOVD_STORE 0x7e
#define OP_MOVQ_STORE 0x7f
#define MM_REG_MASK   7 /* REX.R/REX.B do not extend MMX register numbers */

bool x86e_mmx_supported(const struct x86_emu_ops *ops, const struct x86_insn *in)
{
	if (!ops->mmx || in->encoding != X86_ENC_LEGACY || in->map != X86_MAP_0F ||
	    in->simd_pfx != X86_PFX_NONE)
		return false;
	switch (in->opcode) {
	case OP_MOVD_LOAD:
	case OP_MOVQ_LOAD:
	case OP_MOVD_STORE:
	case OP_MOVQ_STORE:
		return true;
	default:
		return false;
	}
}

static int mmx_access(struct x86_emu_ctx *e, unsigned int idx, bool write, uint64_t *val)
{
	if (e->ops->mmx(e->opaque, idx & MM_REG_MASK, write, val))
		return x86e_raise(e, X86_EXC_MF, false, 0);
	return EMU_CONTINUE;
}

int x86e_exec_mmx(struct x86_emu_ctx *e, const struct x86_insn *in)
{
	bool gpr_form = in->opcode == OP_MOVD_LOAD || in->opcode == OP_MOVD_STORE;
	bool load = in->opcode == OP_MOVD_LOAD || in->opcode == OP_MOVQ_LOAD;
	unsigned int size = gpr_form ? (in->rex_w ? 8 : 4) : 8;
	struct x86_opnd rm;
	uint64_t v, other;
	int r;

	if (e->ctl.cr0 & X86_CR0_EM)
		return x86e_ud(e);
	if (e->ctl.cr0 & X86_CR0_TS)
		return x86e_raise(e, X86_EXC_NM, false, 0);
	if (!gpr_form && !in->has_mem) {
		/* MOVQ mm, mm: register to register (6F: reg <- rm; 7F: rm <- reg). */
		unsigned int from = load ? in->rm : in->reg, to = load ? in->reg : in->rm;

		if ((r = mmx_access(e, from, false, &v)))
			return r;
		return mmx_access(e, to, true, &v);
	}
	x86e_rm_opnd(e, in, size, &rm);
	if (load) {
		if ((r = x86e_read_op(e, &rm, &v)))
			return r;
		v &= x86e_mask(size); /* MOVD zero-extends into the 64-bit register */
		return mmx_access(e, in->reg, true, &v);
	}
	/* Store: the destination is checked first, so a fault leaves the x87 state alone. */
	if ((r = x86e_check_write(e, &rm)))
		return r;
	other = 0;
	if ((r = mmx_access(e, in->reg, false, &other)))
		return r;
	return x86e_write_op(e, &rm, other & x86e_mask(size));
}
