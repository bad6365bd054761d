/*
 * XSAVE and XRSTOR (0F AE /4, /5; REX.W: XSAVE64/XRSTOR64) with the area on a device page.
 * The emulator does the checks in the CPU's order (#UD without CR4.OSXSAVE, #NM with CR0.TS,
 * #GP(0) for an area not 64-byte aligned, segment and page faults of the whole area before
 * any byte is written) and the memory side; the state itself is moved by the CPU, running the
 * same instruction with the same requested-feature bitmap (RFBM = XCR0 & EDX:EAX) on the
 * caller's scratch buffer (ops->xsave / ops->xrstor), so the image and every check on the
 * header and MXCSR are the CPU's own (XRSTOR's #GP comes back as the guest's #GP).
 *
 * XSAVE writes the standard form: the scratch buffer first takes what memory holds over the
 * area (the bytes XSAVE leaves alone: the rest of the header, software's bytes 464-511,
 * components outside RFBM), the CPU overwrites its part, and the area is written back.
 * Outside 64-bit mode every enabled component is saved and restored, except the parts of
 * registers only 64-bit mode names (XMM8-15, the upper parts of YMM8-15/ZMM8-15, ZMM16-31):
 * their bytes stay as memory had them, the registers as they were (x86_emu_xsave_hidden.c).
 * The area may be larger than a page: every page is checked before the first byte moves.
 *
 * XSAVEOPT (0F AE /6) and XSAVEC (0F C7 /4), #UD where the guest's CPUID lacks them (mhv passes
 * both bits through: the CPU would run them, or raise #UD itself):
 *  - XSAVEOPT may use the init and the modified optimizations (SDM vol.1 13.9); neither is
 *    required.  The CPU's own XSAVEOPT cannot run on the scratch buffer: its modified
 *    optimization tracks the last XRSTOR's linear address, and the scratch buffer is where
 *    every emulated XRSTOR ran, so the CPU could skip components the buffer holds only as
 *    the guest's memory had them.  XSAVE runs instead (the same XSTATE_BV: XINUSE for RFBM),
 *    and every RFBM component whose XSTATE_BV bit it cleared is put back as memory had it:
 *    XSAVEOPT with the init optimization and without the modified one, an outcome the SDM
 *    allows.  MXCSR is written whenever RFBM[1] or RFBM[2] is set, as XSAVEOPT does.
 *  - XSAVEC has no modified optimization: the CPU's own XSAVEC runs on the scratch buffer
 *    (compacted form, XCOMP_BV and the init optimization exactly the CPU's).
 *
 * XSAVES and XRSTORS (0F C7 /5, /3): #UD where the guest may not execute them (ops->xss says:
 * on VMX the CPU raises #UD unless mhv set the 'enable XSAVES/XRSTORS' control, and mhv's
 * CPUID policy hides them exactly then; on SVM they run natively if the CPU has them), #NM
 * with CR0.TS, #GP(0) at CPL > 0 or for an area not 64-byte aligned.  RFBM is EDX:EAX &
 * (XCR0 | IA32_XSS), the guest's IA32_XSS (it reaches the hardware: mhv uses no XSAVES).  The
 * CPU's own XSAVES/XRSTORS run on the caller's scratch buffer, so the compacted image, the
 * init and modified optimizations and every header check are the CPU's; the caller keeps
 * XSAVES off every address an XRSTOR/XRSTORS ran from, so the modified optimization never
 * leaves in the buffer what only the guest's memory held.
 */
#include <string.h>

#include "mmio/x86_emu_internal.h"

#define GRP15_XSAVE	  4
#define GRP15_XRSTOR	  5
#define GRP15_XSAVEOPT	  6
#define GRP9_XRSTORS	  3 /* 0F C7 /3 */
#define GRP9_XSAVEC	  4 /* 0F C7 /4 */
#define GRP9_XSAVES	  5 /* 0F C7 /5 */
#define XSAVE_COMPONENTS  64
#define X87_FIRST_END	  24 /* x87: bytes 0-23 and 32-159 (MXCSR and its mask between) */
#define X87_ST0		  32
#define XSAVE_ALIGN	  64
#define XSAVE_HEADER	  512
#define XSAVE_MIN	  576 /* legacy region and header */
#define XSTATE_BV_OFF	  512
#define XCOMP_BV_OFF	  520
#define XCOMP_COMPACTED	  (1ull << 63)
#define XCR0_X87	  (1ull << 0)
#define XCR0_SSE	  (1ull << 1)
#define LEGACY_XMM_END	  416
#define FXSR_XMM0	  160

static bool is_xsavec(const struct x86_insn *in)
{
	return in->opcode == 0xc7 && (in->reg & 7) == GRP9_XSAVEC;
}

/* XSAVES or XRSTORS: the supervisor forms. */
static bool is_supervisor(const struct x86_insn *in)
{
	return in->opcode == 0xc7 &&
	       ((in->reg & 7) == GRP9_XSAVES || (in->reg & 7) == GRP9_XRSTORS);
}

/* A restore: XRSTOR or XRSTORS. */
static bool is_restore(const struct x86_insn *in)
{
	return in->opcode == 0xc7 ? (in->reg & 7) == GRP9_XRSTORS : (in->reg & 7) == GRP15_XRSTOR;
}

bool x86e_xsave_supported(const struct x86_emu_ops *ops, const struct x86_insn *in)
{
	unsigned int reg = in->reg & 7;

	if (!ops->xsave_area || !ops->xsave_extent || !ops->xsave || !ops->xrstor ||
	    in->encoding != X86_ENC_LEGACY || in->map != X86_MAP_0F || !in->has_mem ||
	    in->simd_pfx != X86_PFX_NONE)
		return false;
	if (is_xsavec(in))
		return ops->xsavec != NULL;
	if (is_supervisor(in))
		return ops->xss && ops->xsaves && ops->xrstors;
	if (in->opcode != 0xae)
		return false;
	if (reg == GRP15_XSAVEOPT)
		return ops->xsave_layout != NULL;
	return reg == GRP15_XSAVE || reg == GRP15_XRSTOR;
}

static int not_emulated(struct x86_emu_ctx *e)
{
	x86e_ud(e);
	return X86_EMU_UNSUPPORTED;
}

/* Bytes [off, off + len) of the area back as memory has them (not yet written). */
static int reread(struct x86_emu_ctx *e, const struct x86_opnd *m, uint8_t *buf, uint32_t off,
		  uint32_t len)
{
	return len ? x86e_read_mem(e, m->seg, m->ea + off, buf + off, len) : EMU_CONTINUE;
}

/* XSAVEOPT after XSAVE: the RFBM components XSTATE_BV says are initial were not saved. */
static int xsaveopt_unsave(struct x86_emu_ctx *e, const struct x86_opnd *m, uint8_t *buf,
			   uint64_t rfbm, uint32_t n)
{
	uint64_t unsaved = rfbm & ~x86e_le64(buf + XSTATE_BV_OFF);
	int r;

	if ((unsaved & XCR0_X87) && ((r = reread(e, m, buf, 0, X87_FIRST_END)) ||
				     (r = reread(e, m, buf, X87_ST0, FXSR_XMM0 - X87_ST0))))
		return r;
	if ((unsaved & XCR0_SSE) && (r = reread(e, m, buf, FXSR_XMM0, LEGACY_XMM_END - FXSR_XMM0)))
		return r;
	for (unsigned int i = 2; i < XSAVE_COMPONENTS; i++) {
		uint32_t size, off;

		if (!(unsaved >> i & 1))
			continue;
		off = e->ops->xsave_layout(e->opaque, i, &size);
		if (off + size > n || (r = reread(e, m, buf, off, size)))
			return off + size > n ? not_emulated(e) : r;
	}
	return EMU_CONTINUE;
}

/* XSAVE, XSAVEOPT (opt), XSAVEC (compacted) and XSAVES (compacted, supervisor). */
static int exec_xsave(struct x86_emu_ctx *e, const struct x86_opnd *m, uint8_t *buf,
		      uint32_t cap, uint64_t rfbm, bool rex_w, bool opt, bool compacted,
		      bool supervisor)
{
	uint32_t n = e->ops->xsave_extent(e->opaque, rfbm, compacted);
	uint8_t keep[X86E_XSAVE_HIDDEN_MAX];
	int r;

	if (n < XSAVE_MIN || n > cap)
		return not_emulated(e);
	/* Every page checked for the write before the first byte moves. */
	if ((r = x86e_probe_write(e, m->seg, m->ea, n)) ||
	    (r = x86e_read_mem(e, m->seg, m->ea, buf, n)))
		return r;
	if (e->mode != X86_MODE_64)
		x86e_xsave_hidden_copy(e, buf, n, compacted, rfbm, rfbm, keep, true);
	if (supervisor)
		e->ops->xsaves(e->opaque, rfbm, rex_w);
	else if (compacted)
		e->ops->xsavec(e->opaque, rfbm, rex_w);
	else
		e->ops->xsave(e->opaque, rfbm, rex_w);
	/* The compacted forms lay out RFBM (XCOMP_BV is RFBM with bit 63). */
	if (e->mode != X86_MODE_64)
		x86e_xsave_hidden_copy(e, buf, n, compacted, rfbm, rfbm, keep, false);
	if (opt && (r = xsaveopt_unsave(e, m, buf, rfbm, n)))
		return r;
	return x86e_write_mem(e, m->seg, m->ea, buf, n);
}

/* XRSTOR, or XRSTORS (supervisor: xcr0 is XCR0 | IA32_XSS). */
static int exec_xrstor(struct x86_emu_ctx *e, const struct x86_opnd *m, uint8_t *buf,
		       uint32_t cap, uint64_t rfbm, uint64_t xcr0, bool rex_w, bool supervisor)
{
	uint8_t cur[X86E_XSAVE_HIDDEN_MAX];
	uint64_t bv, comp, live = 0;
	uint32_t n;
	int r;

	/* Outside 64-bit mode: the hidden registers' values, before the image fills buf. */
	if (e->mode != X86_MODE_64 &&
	    (r = x86e_xsave_hidden_current(e, buf, cap, rfbm, cur, &live)))
		return r;
	if ((r = x86e_read_mem(e, m->seg, m->ea, buf, XSAVE_MIN)))
		return r;
	bv = x86e_le64(buf + XSTATE_BV_OFF);
	comp = x86e_le64(buf + XCOMP_BV_OFF);
	if (comp & XCOMP_COMPACTED)
		n = e->ops->xsave_extent(e->opaque, comp & xcr0, true);
	else
		n = e->ops->xsave_extent(e->opaque, rfbm & bv & xcr0, false);
	if (n < XSAVE_MIN)
		n = XSAVE_MIN;
	if (n > cap)
		return not_emulated(e);
	if (n > XSAVE_MIN &&
	    (r = x86e_read_mem(e, m->seg, m->ea + XSAVE_MIN, buf + XSAVE_MIN, n - XSAVE_MIN)))
		return r;
	memset(buf + n, 0, cap - n);
	if (e->mode != X86_MODE_64 && (rfbm & X86E_XSAVE_HIDDEN_COMPONENTS) &&
	    (r = x86e_xsave_hidden_restore(e, buf, cap, rfbm, xcr0, cur, live)))
		return r;
	if (supervisor ? e->ops->xrstors(e->opaque, rfbm, rex_w, &e->res->exc)
		       : e->ops->xrstor(e->opaque, rfbm, rex_w, &e->res->exc))
		return X86_EMU_EXCEPTION; /* the CPU refused the header or MXCSR: #GP(0) */
	return EMU_CONTINUE;
}

int x86e_exec_xsave(struct x86_emu_ctx *e, const struct x86_insn *in)
{
	bool rex_w = in->rex_w && e->mode == X86_MODE_64, sup = is_supervisor(in);
	bool opt = !is_xsavec(in) && !sup && (in->reg & 7) == GRP15_XSAVEOPT;
	uint64_t xcr0, rfbm, xss = 0;
	struct x86_opnd m;
	uint32_t cap;
	uint8_t *buf;
	int r;

	if (!(e->ctl.cr4 & X86_CR4_OSXSAVE) ||
	    (is_xsavec(in) && !(e->features & X86_FEAT_XSAVEC)) ||
	    (opt && !(e->features & X86_FEAT_XSAVEOPT)) || (sup && e->ops->xss(e->opaque, &xss)))
		return x86e_ud(e);
	if (e->ctl.cr0 & X86_CR0_TS)
		return x86e_raise(e, X86_EXC_NM, false, 0);
	if (sup && e->ctl.cpl)
		return x86e_raise(e, X86_EXC_GP, true, 0);
	x86e_rm_opnd(e, in, 1, &m);
	if ((r = x86e_check_aligned_to(e, &m, !is_restore(in), XSAVE_ALIGN)))
		return r;
	buf = e->ops->xsave_area(e->opaque, &cap, &xcr0);
	xcr0 |= xss;
	rfbm = xcr0 & (x86e_gpr(e, X86_RDX) << 32 | (x86e_gpr(e, X86_RAX) & 0xffffffffull));
	if (e->mode != X86_MODE_64 && !x86e_xsave_hidden_known(e, rfbm))
		return not_emulated(e);
	if (!is_restore(in))
		return exec_xsave(e, &m, buf, cap, rfbm, rex_w, opt, is_xsavec(in) || sup, sup);
	return exec_xrstor(e, &m, buf, cap, rfbm, xcr0, rex_w, sup);
}
