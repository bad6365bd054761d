/*
 * FXSAVE/FXRSTOR (0F AE /0, /1; REX.W: the 64-bit FPU pointer format) with the 512-byte area
 * on a device page.  The image itself comes from / goes to the CPU through the optional
 * fxsave/fxrstor callbacks; the emulator does the checks and the memory side.
 *
 * Only the bytes the CPU writes are stored: the x87 and MXCSR header, ST0-7 and XMM0-7, and
 * XMM8-15 in 64-bit mode (bytes 464-511 are software's and never written).
 */
#include "mmio/x86_emu_internal.h"

#define GRP15_FXSAVE  0
#define GRP15_FXRSTOR 1
#define FXSR_BYTES_32 288 /* header, ST0-7, XMM0-7 */
#define FXSR_BYTES_64 416 /* and XMM8-15 */

bool x86e_fxsr_supported(const struct x86_emu_ops *ops, const struct x86_insn *in)
{
	return ops->fxsave && ops->fxrstor && in->encoding == X86_ENC_LEGACY &&
	       in->map == X86_MAP_0F && in->opcode == 0xae && in->has_mem &&
	       in->simd_pfx == X86_PFX_NONE && (in->reg & 7) <= GRP15_FXRSTOR;
}

int x86e_exec_fxsr(struct x86_emu_ctx *e, const struct x86_insn *in)
{
	unsigned int len = e->mode == X86_MODE_64 ? FXSR_BYTES_64 : FXSR_BYTES_32;
	bool rex_w = in->rex_w && e->mode == X86_MODE_64;
	uint8_t img[X86_FXSR_AREA];
	struct x86_opnd m;
	int r;

	if (e->ctl.cr0 & X86_CR0_EM)
		return x86e_ud(e);
	if (e->ctl.cr0 & X86_CR0_TS)
		return x86e_raise(e, X86_EXC_NM, false, 0);
	x86e_rm_opnd(e, in, X86_FXSR_AREA, &m);
	if ((r = x86e_check_aligned16(e, &m, (in->reg & 7) == GRP15_FXSAVE)))
		return r;
	if ((in->reg & 7) == GRP15_FXSAVE) {
		/* Both pages checked before the first byte is written. */
		if ((r = x86e_probe_write(e, m.seg, m.ea, len)))
			return r;
		e->ops->fxsave(e->opaque, img, rex_w);
		return x86e_write_mem(e, m.seg, m.ea, img, len);
	}
	if ((r = x86e_read_mem(e, m.seg, m.ea, img, len)))
		return r;
	if (e->ops->fxrstor(e->opaque, img, len, rex_w, &e->res->exc))
		return X86_EMU_EXCEPTION; /* reserved MXCSR bits: #GP(0) */
	return EMU_CONTINUE;
}
