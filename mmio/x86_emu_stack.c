/*
 * Stack and near-branch instructions whose memory side is on a device page (RSP inside an
 * MMIO region, or a branch target read from one): PUSHA/POPA (60/61), PUSHF/POPF (9C/9D), near CALL rel and
 * CALL/JMP r/m (E8, FF /2, FF /4), near RET and RET imm16 (C3/C2), ENTER and LEAVE (C8/C9),
 * PUSH ES/CS/SS/DS (06, 0E, 16, 1E outside 64-bit mode) and PUSH FS/GS (0F A0, 0F A8).
 *
 * In virtual-8086 mode below IOPL 3, PUSHF/POPF trap (#GP(0)) unless CR4.VME is set and the
 * operand size is 16: then PUSHF stores FLAGS with VIF in IF's place and IOPL 3, and POPF
 * sets VIF from the image's IF (IF and IOPL stay), #GP(0) for an image with TF set or with IF
 * set while VIP is (SDM PUSHF/POPF, virtual-8086 mode with VME).
 *
 * Far CALL/JMP/RET and POP of segment registers load descriptors and are not here.
 * In 64-bit mode AMD honours a 66 prefix on near branches (16-bit IP, rel16) where Intel
 * ignores it; the decoder follows Intel's lengths, so those forms are left unemulated on AMD.
 */
#include "mmio/x86_emu_internal.h"

#define OP_PUSHA      0x60
#define OP_POPA	      0x61
#define PUSHA_SLOTS   8
#define OP_PUSHF      0x9c
#define OP_POPF	      0x9d
#define OP_RET_IMM    0xc2
#define OP_RET	      0xc3
#define OP_ENTER      0xc8
#define OP_LEAVE      0xc9
#define OP_CALL_REL   0xe8
#define OP_GRP5	      0xff
#define GRP5_CALL     2
#define GRP5_JMP      4
#define ENTER_LEVELS  0x1f /* the nesting level is taken modulo 32 */
#define FL_RF	      (1ull << 16)
#define FL_NT	      (1ull << 14)
#define FL_IOPL	      (3ull << 12)
#define FL_IOPL_SHIFT 12
#define FL_ID	      (1ull << 21)
#define FL_VIF	      (1ull << 19)
#define FL_VIP	      (1ull << 20)
#define FL_WORD	      0xffffull
#define IOPL_MAX      3
#define OP_PUSH_ES    0x06
#define OP_PUSH_CS    0x0e
#define OP_PUSH_SS    0x16
#define OP_PUSH_DS    0x1e
#define OP_PUSH_FS    0xa0 /* 0F A0 */
#define OP_PUSH_GS    0xa8 /* 0F A8 */
#define SEL_BYTES     2

static bool near_branch(const struct x86_insn *in)
{
	if (in->map != X86_MAP_ONE)
		return false;
	switch (in->opcode) {
	case OP_RET_IMM:
	case OP_RET:
	case OP_CALL_REL:
		return true;
	case OP_GRP5:
		return (in->reg & 7) == GRP5_CALL || (in->reg & 7) == GRP5_JMP;
	default:
		return false;
	}
}

/* The segment register PUSH Sreg stores, or X86_SEG_NONE for another instruction. */
static unsigned int push_sreg_source(const struct x86_insn *in)
{
	if (in->map == X86_MAP_0F)
		return in->opcode == OP_PUSH_FS	  ? X86_SEG_FS
		       : in->opcode == OP_PUSH_GS ? X86_SEG_GS
						  : X86_SEG_NONE;
	if (in->map != X86_MAP_ONE)
		return X86_SEG_NONE;
	switch (in->opcode) { /* the decoder refuses these in 64-bit mode */
	case OP_PUSH_ES:
		return X86_SEG_ES;
	case OP_PUSH_CS:
		return X86_SEG_CS;
	case OP_PUSH_SS:
		return X86_SEG_SS;
	case OP_PUSH_DS:
		return X86_SEG_DS;
	default:
		return X86_SEG_NONE;
	}
}

bool x86e_stack_supported(const struct x86_insn *in)
{
	if (push_sreg_source(in) != X86_SEG_NONE)
		return true;
	if (in->map != X86_MAP_ONE)
		return false;
	switch (in->opcode) {
	case OP_PUSHA: /* outside 64-bit mode only: the decoder refuses them there */
	case OP_POPA:
	case OP_PUSHF:
	case OP_POPF:
	case OP_ENTER:
	case OP_LEAVE:
		return true;
	default:
		return near_branch(in);
	}
}

/*
 * PUSHA/PUSHAD: EAX, ECX, EDX, EBX, the original ESP, EBP, ESI, EDI, as one store (every
 * slot is checked before the first is written, so a fault leaves the stack untouched).
 * POPA/POPAD: the reverse, the ESP slot skipped.
 */
static int exec_pusha_popa(struct x86_emu_ctx *e, const struct x86_insn *in)
{
	static const uint8_t order[PUSHA_SLOTS] = {X86_RDI, X86_RSI, X86_RBP, X86_RSP,
						   X86_RBX, X86_RDX, X86_RCX, X86_RAX};
	unsigned int size = in->opsize, ssz = x86e_stack_size(e);
	uint64_t sp = x86e_gpr(e, X86_RSP) & x86e_mask(ssz);
	uint8_t buf[PUSHA_SLOTS * 4];
	struct x86_opnd r;
	int rc;

	if (in->opcode == OP_PUSHA) {
		uint64_t top = (sp - PUSHA_SLOTS * size) & x86e_mask(ssz);

		for (unsigned int i = 0; i < PUSHA_SLOTS; i++) {
			uint64_t v = x86e_gpr(e, order[i]);

			for (unsigned int b = 0; b < size; b++)
				buf[i * size + b] = (uint8_t)(v >> (BYTE_BITS * b));
		}
		if ((rc = x86e_write_mem(e, X86_SEG_SS, top, buf, PUSHA_SLOTS * size)))
			return rc;
		x86e_set_sp(e, ssz, top);
		return EMU_CONTINUE;
	}
	if ((rc = x86e_read_mem(e, X86_SEG_SS, sp, buf, PUSHA_SLOTS * size)))
		return rc;
	for (unsigned int i = 0; i < PUSHA_SLOTS; i++) {
		uint64_t v = 0;

		if (order[i] == X86_RSP)
			continue;
		for (unsigned int b = 0; b < size; b++)
			v |= (uint64_t)buf[i * size + b] << (BYTE_BITS * b);
		x86e_reg_opnd(e, order[i], size, &r);
		x86e_reg_write(e, &r, v);
	}
	x86e_set_sp(e, ssz, sp + PUSHA_SLOTS * size);
	return EMU_CONTINUE;
}

/* A new RIP: canonical in 64-bit mode, else within the CS limit (#GP(0) otherwise). */
static int set_target(struct x86_emu_ctx *e, uint64_t target)
{
	if (e->mode == X86_MODE_64) {
		if (!x86e_canonical(e, target))
			return x86e_raise(e, X86_EXC_GP, true, 0);
	} else {
		struct x86_segment cs;

		e->ops->get_seg(e->opaque, X86_SEG_CS, &cs);
		if (target > cs.limit)
			return x86e_raise(e, X86_EXC_GP, true, 0);
	}
	e->res->next_rip = target;
	return EMU_CONTINUE;
}

static int exec_branch(struct x86_emu_ctx *e, const struct x86_insn *in)
{
	unsigned int size = in->opsize;
	uint64_t next = e->res->next_rip, target, m = x86e_mask(size);
	struct x86_opnd rm;
	int r;

	switch (in->opcode) {
	case OP_RET:
	case OP_RET_IMM: {
		unsigned int ss = x86e_stack_size(e);

		if ((r = x86e_pop(e, &target, size)) || (r = set_target(e, target & m)))
			return r;
		if (in->opcode == OP_RET_IMM)
			x86e_set_sp(e, ss, (x86e_gpr(e, X86_RSP) + (in->imm[0] & FL_WORD)));
		return EMU_CONTINUE;
	}
	case OP_CALL_REL:
		target = (next + x86_sext(in->imm[0], in->imm_size[0])) & m;
		break;
	default: /* FF /2, FF /4 */
		x86e_rm_opnd(e, in, size, &rm);
		if ((r = x86e_read_op(e, &rm, &target)))
			return r;
		break;
	}
	if ((r = set_target(e, target & m)))
		return r;
	if (in->opcode == OP_GRP5 && (in->reg & 7) == GRP5_JMP)
		return EMU_CONTINUE;
	return x86e_push(e, next, size);
}

/* Virtual-8086 mode below IOPL 3: only the 16-bit form with CR4.VME is not a #GP(0). */
static bool v86_below_iopl3(uint64_t fl)
{
	return (fl & X86_FL_VM) && ((fl & FL_IOPL) >> FL_IOPL_SHIFT) < IOPL_MAX;
}

static int exec_pushf(struct x86_emu_ctx *e, const struct x86_insn *in)
{
	uint64_t fl = e->rc.rflags;

	if (v86_below_iopl3(fl)) {
		if (!(e->ctl.cr4 & X86_CR4_VME) || in->opsize != 2)
			return x86e_raise(e, X86_EXC_GP, true, 0);
		return x86e_push(e, (fl & FL_WORD & ~X86_FL_IF) | FL_IOPL |
					    ((fl & FL_VIF) ? X86_FL_IF : 0),
				 2);
	}
	/* The image has VM and RF clear. */
	return x86e_push(e, fl & ~(X86_FL_VM | FL_RF), in->opsize);
}

static int exec_popf(struct x86_emu_ctx *e, const struct x86_insn *in)
{
	uint64_t old = e->rc.rflags, v, chg;
	unsigned int iopl = (unsigned int)((old & FL_IOPL) >> FL_IOPL_SHIFT);
	int r;

	if (v86_below_iopl3(old)) {
		if (!(e->ctl.cr4 & X86_CR4_VME) || in->opsize != 2)
			return x86e_raise(e, X86_EXC_GP, true, 0);
		if ((r = x86e_pop(e, &v, 2)))
			return r;
		if ((r = x86e_v86_vme_flags(e, v)))
			return r;
		e->rc.rflags &= ~FL_RF;
		return EMU_CONTINUE;
	}
	if ((r = x86e_pop(e, &v, in->opsize)))
		return r;
	chg = X86_FL_ARITH | X86_FL_TF | X86_FL_DF | FL_NT | X86_FL_AC | FL_ID;
	if (e->ctl.cpl == 0 && !(old & X86_FL_VM))
		chg |= X86_FL_IF | FL_IOPL;
	else if (e->ctl.cpl <= iopl)
		chg |= X86_FL_IF;
	if (in->opsize == 2)
		chg &= FL_WORD;
	/* VM, VIF, VIP never change through POPF; RF is cleared. */
	chg &= ~(X86_FL_VM | FL_VIF | FL_VIP);
	e->rc.rflags = ((old & ~chg) | (v & chg) | X86_FL_FIXED) & ~FL_RF;
	return EMU_CONTINUE;
}

static int exec_leave(struct x86_emu_ctx *e, const struct x86_insn *in)
{
	unsigned int ss = x86e_stack_size(e);
	struct x86_opnd bp;
	uint64_t v;
	int r;

	x86e_set_sp(e, ss, x86e_gpr(e, X86_RBP));
	if ((r = x86e_pop(e, &v, in->opsize)))
		return r;
	x86e_reg_opnd(e, X86_RBP, in->opsize, &bp);
	x86e_reg_write(e, &bp, v);
	return EMU_CONTINUE;
}

/* ENTER size, level (SDM ENTER): push rBP, copy level-1 frame pointers, push the frame. */
static int exec_enter(struct x86_emu_ctx *e, const struct x86_insn *in)
{
	unsigned int size = in->opsize, ss = x86e_stack_size(e);
	unsigned int level = (unsigned int)(in->imm[1] & ENTER_LEVELS);
	uint64_t sm = x86e_mask(ss), frame, final, bp = x86e_gpr(e, X86_RBP);
	struct x86_opnd rbp;
	int r;

	if ((r = x86e_push(e, bp, size)))
		return r;
	frame = x86e_gpr(e, X86_RSP) & sm;
	for (unsigned int i = 1; i < level; i++) {
		uint8_t b[sizeof(uint64_t)] = {0};
		uint64_t v;

		bp = (bp - size) & sm;
		if ((r = x86e_read_mem(e, X86_SEG_SS, bp, b, size)))
			return r;
		v = 0;
		for (unsigned int k = 0; k < size; k++)
			v |= (uint64_t)b[k] << (BYTE_BITS * k);
		if ((r = x86e_push(e, v, size)))
			return r;
	}
	if (level && (r = x86e_push(e, frame, size)))
		return r;
	/* The CPU checks that a write at the final stack pointer would not fault (SDM ENTER). */
	final = (x86e_gpr(e, X86_RSP) - (in->imm[0] & FL_WORD)) & sm;
	if ((r = x86e_probe_write(e, X86_SEG_SS, final, size)))
		return r;
	x86e_reg_opnd(e, X86_RBP, size, &rbp);
	x86e_reg_write(e, &rbp, frame);
	x86e_set_sp(e, ss, final);
	return EMU_CONTINUE;
}

/*
 * PUSH Sreg: rSP drops by the operand size.  A 64-bit push stores the selector zero-extended;
 * a 32-bit one zero-extended on AMD (measured: family 0x19, compat mode) but as a 16-bit move
 * on recent Intel cores, leaving bytes 2-3 of the slot as they were (SDM PUSH).
 */
static int exec_push_sreg(struct x86_emu_ctx *e, const struct x86_insn *in, unsigned int seg)
{
	unsigned int size = in->opsize, ss = x86e_stack_size(e);
	uint64_t sp = (x86e_gpr(e, X86_RSP) - size) & x86e_mask(ss);
	uint8_t b[sizeof(uint64_t)] = {0};
	struct x86_segment s;
	int r;

	e->ops->get_seg(e->opaque, seg, &s);
	b[0] = (uint8_t)s.selector;
	b[1] = (uint8_t)(s.selector >> BYTE_BITS);
	if (size == 4 && x86v_push_sreg32_writes_word(e->vendor))
		size = SEL_BYTES;
	if ((r = x86e_write_mem(e, X86_SEG_SS, sp, b, size)))
		return r;
	x86e_set_sp(e, ss, sp);
	return EMU_CONTINUE;
}

int x86e_exec_stack(struct x86_emu_ctx *e, const struct x86_insn *in)
{
	unsigned int sreg = push_sreg_source(in);

	if (sreg != X86_SEG_NONE)
		return exec_push_sreg(e, in, sreg);
	if (near_branch(in) && e->mode == X86_MODE_64 && in->opsize_pfx &&
	    x86v_near_branch_honours_66(e->vendor)) {
		x86e_ud(e);
		return X86_EMU_UNSUPPORTED;
	}
	switch (in->opcode) {
	case OP_PUSHA:
	case OP_POPA:
		return exec_pusha_popa(e, in);
	case OP_PUSHF:
		return exec_pushf(e, in);
	case OP_POPF:
		return exec_popf(e, in);
	case OP_LEAVE:
		return exec_leave(e, in);
	case OP_ENTER:
		return exec_enter(e, in);
	default:
		return exec_branch(e, in);
	}
}
