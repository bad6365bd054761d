/*
 * Real-address and virtual-8086 mode pieces of event delivery (x86_emu_event.c calls them).
 *
 * x86e_real_frame: the 8086 frame, FLAGS, CS and IP pushed as words on SS:SP, each push
 * wrapping SP at 64K and checked against SS's limit before the first is written (#SS, no
 * data reaches the device), then CS:IP from an interrupt vector table entry, CS loaded the
 * real-mode way (base = selector << 4).
 *
 * x86e_v86_soft_int: INT n in virtual-8086 mode (SDM vol.3 20.3.3, table 20-2; the AMD APM
 * describes the same six methods):
 *   CR4.VME clear: IOPL 3 goes through the protected-mode IDT (method 1), below it #GP(0)
 *   (method 2).
 *   CR4.VME set: the interrupt redirection bitmap, the 32 bytes below the TSS's I/O map base,
 *   decides.  Bit n set: as without VME (methods 3, 4).  Bit n clear: the interrupt goes to
 *   the 8086 program's own handler through the IVT at linear 0 (methods 5, 6): FLAGS, CS, IP
 *   pushed on the virtual-8086 stack, TF and RF cleared; at IOPL 3 the image is FLAGS and IF
 *   is cleared, below IOPL 3 the image shows IOPL 3 and VIF in IF's place, and VIF is
 *   cleared instead of IF.  A TSS shorter than 104 bytes, or a bitmap byte past its limit, is
 *   #GP(0).  The TSS and IVT reads are implicit supervisor reads; the pushes are the program's.
 * Only INT n is redirected: INT3, INTO, INT1, exceptions and interrupts always go through the
 * IDT (the caller's path).
 */
#include "mmio/x86_emu_internal.h"

#define TSS_IOMAP_BASE	 0x66 /* 16-bit offset of the I/O permission bitmap */
#define TSS32_MIN_LIMIT	 0x67 /* a 32-bit TSS: 104 bytes */
#define REDIR_MAP_BYTES	 32   /* the interrupt redirection bitmap, below the I/O map */
#define IVT_ENTRY	 4    /* IP, CS */
#define REAL_FRAME_WORDS 3 /* FLAGS, CS, IP */
#define REAL_WORD	 2
#define WORD16_MASK	 0xffffull
#define IOPL_SHIFT	 12
#define IOPL_MASK	 3u
#define IOPL_V86_MAX	 3u
#define FL_IOPL		 (3ull << IOPL_SHIFT)
#define FL_RF		 (1ull << 16)
#define FL_VIF		 (1ull << 19)
#define FL_VIP		 (1ull << 20)
#define FL_NT		 (1ull << 14)
/* What a 16-bit POPF or IRET image sets with VME below IOPL 3 (IF goes to VIF instead). */
#define FL_VME_IMAGE	 (X86_FL_ARITH | X86_FL_TF | X86_FL_DF | FL_NT)

int x86e_real_frame(struct x86_emu_ctx *e, const struct x86_segment *old_cs, uint16_t flags,
		    uint16_t ret_ip, const uint8_t *ivt)
{
	const uint64_t word[REAL_FRAME_WORDS] = {flags, old_cs->selector, ret_ip};
	uint64_t sp = x86e_gpr(e, X86_RSP), off[REAL_FRAME_WORDS];
	struct x86_segment cs = *old_cs;
	int r;

	/* Each push decrements the 16-bit SP on its own: a frame may wrap at 64K, and a word
	 * at offset 0xffff crosses the segment's limit (#SS). */
	for (unsigned int i = 0; i < REAL_FRAME_WORDS; i++) {
		off[i] = (sp - REAL_WORD * (i + 1)) & WORD16_MASK;
		if ((r = x86e_probe_write(e, X86_SEG_SS, off[i], REAL_WORD)))
			return r;
	}
	for (unsigned int i = 0; i < REAL_FRAME_WORDS; i++) {
		uint8_t b[REAL_WORD] = {(uint8_t)word[i], (uint8_t)(word[i] >> BYTE_BITS)};

		if ((r = x86e_write_mem(e, X86_SEG_SS, off[i], b, REAL_WORD)))
			return r;
	}
	x86e_set_sp(e, REAL_WORD, off[REAL_FRAME_WORDS - 1]);
	cs.selector = x86e_le16(ivt + 2);
	cs.base = (uint64_t)cs.selector << REAL_SEG_SHIFT;
	e->ops->set_seg(e->opaque, X86_SEG_CS, &cs);
	e->res->next_rip = x86e_le16(ivt);
	return EMU_CONTINUE;
}

/* One byte of the current TSS at offset off: #GP(0) past its limit. */
static int tss_byte(struct x86_emu_ctx *e, const struct x86_segment *tr, uint32_t off,
		    uint8_t *b)
{
	if (off > tr->limit)
		return x86e_raise(e, X86_EXC_GP, true, 0);
	if (e->ops->sys_access(e->opaque, (tr->base + off) & LA32_MASK, b, 1, false, &e->res->exc))
		return X86_EMU_EXCEPTION;
	return EMU_CONTINUE;
}

/* *redirect: vector's bit in the TSS's interrupt redirection bitmap is clear. */
static int redirection_bit(struct x86_emu_ctx *e, unsigned int vector, bool *redirect)
{
	struct x86_segment tr;
	uint8_t b[REAL_WORD], bits;
	uint32_t off;
	int r;

	e->ops->get_sysseg(e->opaque, X86_SYS_TR, &tr);
	if (tr.limit < TSS32_MIN_LIMIT)
		return x86e_raise(e, X86_EXC_GP, true, 0);
	for (unsigned int i = 0; i < REAL_WORD; i++)
		if ((r = tss_byte(e, &tr, TSS_IOMAP_BASE + i, &b[i])))
			return r;
	/* 32-bit arithmetic: a map base below 32 puts the byte far past any limit. */
	off = (uint32_t)x86e_le16(b) - REDIR_MAP_BYTES + vector / BYTE_BITS;
	if ((r = tss_byte(e, &tr, off, &bits)))
		return r;
	*redirect = !((bits >> (vector % BYTE_BITS)) & 1);
	return EMU_CONTINUE;
}

/* Methods 5 and 6: to the 8086 program's handler through its IVT at linear 0. */
static int redirect_int(struct x86_emu_ctx *e, const struct x86_event *ev,
			const struct x86_segment *old_cs, unsigned int iopl)
{
	uint64_t fl = e->rc.rflags;
	uint16_t img = (uint16_t)fl;
	uint8_t ivt[IVT_ENTRY];
	int r;

	if (e->ops->sys_access(e->opaque, (uint64_t)ev->vector * IVT_ENTRY, ivt, IVT_ENTRY, false,
			       &e->res->exc))
		return X86_EMU_EXCEPTION;
	if (iopl < IOPL_V86_MAX)
		img = (uint16_t)((img & ~X86_FL_IF) | FL_IOPL | ((fl & FL_VIF) ? X86_FL_IF : 0));
	if ((r = x86e_real_frame(e, old_cs, img, (uint16_t)(e->rc.rip + ev->insn_len), ivt)))
		return r;
	e->rc.rflags &= ~(X86_FL_TF | FL_RF | (iopl < IOPL_V86_MAX ? FL_VIF : X86_FL_IF));
	return EMU_CONTINUE;
}

int x86e_v86_vme_flags(struct x86_emu_ctx *e, uint64_t img)
{
	if ((img & X86_FL_TF) || ((img & X86_FL_IF) && (e->rc.rflags & FL_VIP)))
		return x86e_raise(e, X86_EXC_GP, true, 0);
	e->rc.rflags = (e->rc.rflags & ~(FL_VME_IMAGE | FL_VIF)) | (img & FL_VME_IMAGE) |
		       ((img & X86_FL_IF) ? FL_VIF : 0) | X86_FL_FIXED;
	return EMU_CONTINUE;
}

int x86e_v86_soft_int(struct x86_emu_ctx *e, const struct x86_event *ev,
		      const struct x86_segment *old_cs, bool *via_idt)
{
	unsigned int iopl = (unsigned int)(e->rc.rflags >> IOPL_SHIFT) & IOPL_MASK;
	bool redirect = false;

	*via_idt = false;
	if (e->ctl.cr4 & X86_CR4_VME) {
		int r = redirection_bit(e, ev->vector, &redirect);

		if (r)
			return r;
		if (redirect)
			return redirect_int(e, ev, old_cs, iopl);
	}
	if (iopl < IOPL_V86_MAX)
		return x86e_raise(e, X86_EXC_GP, true, 0);
	*via_idt = true;
	return EMU_CONTINUE;
}
