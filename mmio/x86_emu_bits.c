/*
 * Shifts, rotates, double shifts and bit scans for the MMIO emulator: group 2 (C0/C1/D0-D3:
 * ROL/ROR/RCL/RCR/SHL/SHR/SAL/SAR by 1, imm8 and CL), SHLD/SHRD (imm8, CL), BSF/BSR,
 * TZCNT/LZCNT and POPCNT, on registers and memory of every operand size.
 *
 * The SDM's defined results and flags are computed here; what it leaves undefined (OF after
 * a multi-bit shift, AF, the flags of BSF/BSR, SHLD/SHRD results past 16 bits...) is decided
 * per vendor in x86_vendor.c.
 */
#include "mmio/x86_emu_internal.h"

#define SHIFT_MASK_32 0x1fu
#define SHIFT_MASK_64 0x3fu
#define GRP2_ONE      0xd0 /* D0/D1: count 1 */
#define GRP2_CL	      0xd2 /* D2/D3: count CL */

enum grp2_op { G2_ROL, G2_ROR, G2_RCL, G2_RCR, G2_SHL, G2_SHR, G2_SAL, G2_SAR };

static uint64_t bit_at(uint64_t v, unsigned int n)
{
	return n < 64 ? (v >> n) & 1 : 0;
}

static uint64_t shl64(uint64_t v, unsigned int n)
{
	return n < 64 ? v << n : 0;
}

static uint64_t shr64(uint64_t v, unsigned int n)
{
	return n < 64 ? v >> n : 0;
}

static uint64_t set_flag(uint64_t flags, uint64_t bit, bool on)
{
	return on ? flags | bit : flags & ~bit;
}

/* RCL/RCR one bit at a time through CF (at most 64 steps). */
static uint64_t rotate_carry(uint64_t a, unsigned int bits, unsigned int cnt, bool left, bool *cf)
{
	uint64_t top = 1ull << (bits - 1);

	for (unsigned int i = 0; i < cnt; i++) {
		bool out = left ? a & top : a & 1;

		if (left)
			a = (a << 1) | (*cf ? 1 : 0);
		else
			a = (a >> 1) | (*cf ? top : 0);
		a &= x86e_mask(bits / BYTE_BITS);
		*cf = out;
	}
	return a;
}

/*
 * The result and flags of a group-2 operation on a (already masked to size bytes) with the
 * raw count; false if the masked count is 0 (no flag changes, the SDM's "flags not affected").
 */
static bool grp2_compute(enum x86_vendor v, enum grp2_op op, unsigned int size, uint64_t a,
			 unsigned int raw, uint64_t *res, uint64_t *flags)
{
	unsigned int bits = size * BYTE_BITS;
	unsigned int cnt = raw & (size == 8 ? SHIFT_MASK_64 : SHIFT_MASK_32);
	uint64_t m = x86e_mask(size), r, f = *flags;
	bool cf = f & X86_FL_CF, of;

	if (!cnt) {
		*res = a;
		return false;
	}
	switch (op) {
	case G2_ROL:
	case G2_ROR: {
		unsigned int c = cnt % bits;

		r = op == G2_ROL ? (shl64(a, c) | shr64(a, bits - c)) & m
				 : (shr64(a, c) | shl64(a, bits - c)) & m;
		if (!c)
			r = a;
		cf = op == G2_ROL ? r & 1 : bit_at(r, bits - 1);
		of = op == G2_ROL ? bit_at(r, bits - 1) != cf
				  : bit_at(r, bits - 1) != bit_at(r, bits - 2);
		f = set_flag(f, X86_FL_CF, cf);
		f = set_flag(f, X86_FL_OF, of);
		x86v_rotate_undef_flags(v, cnt, &f);
		break;
	}
	case G2_RCL:
	case G2_RCR: {
		unsigned int c = size < 4 ? cnt % (bits + 1) : cnt;
		bool msb0 = bit_at(a, bits - 1), cf0 = cf;

		r = rotate_carry(a, bits, c, op == G2_RCL, &cf);
		of = op == G2_RCL ? bit_at(r, bits - 1) != cf : msb0 != cf0;
		if (op == G2_RCR && cnt != 1)
			of = bit_at(r, bits - 1) != bit_at(r, bits - 2);
		f = set_flag(f, X86_FL_CF, cf);
		f = set_flag(f, X86_FL_OF, of);
		x86v_rotate_undef_flags(v, cnt, &f);
		break;
	}
	case G2_SHR:
		r = shr64(a, cnt);
		cf = bit_at(a, cnt - 1);
		of = bit_at(a, bits - 1);
		if (cnt != 1)
			of = bit_at(r, bits - 1) != bit_at(r, bits - 2);
		goto arith;
	case G2_SAR: {
		uint64_t s = x86_sext(a, size);
		unsigned int c = cnt < bits ? cnt : bits - 1;

		r = (uint64_t)((int64_t)s >> c) & m;
		cf = bit_at((uint64_t)((int64_t)s >> (cnt <= bits ? cnt - 1 : bits - 1)), 0);
		of = false;
		goto arith;
	}
	default: /* SHL, SAL */
		r = shl64(a, cnt) & m;
		cf = cnt <= bits ? bit_at(a, bits - cnt) : false;
		of = bit_at(r, bits - 1) != cf;
	arith:
		f = (f & ~X86_FL_ARITH) | x86e_szp(r, size);
		f = set_flag(f, X86_FL_CF, cf);
		f = set_flag(f, X86_FL_OF, of);
		x86v_shift_undef_flags(v, size, cnt, &f);
		break;
	}
	*res = r;
	*flags = f;
	return true;
}

bool x86_grp2(enum x86_vendor v, unsigned int op, unsigned int size, uint64_t a, unsigned int raw,
	      uint64_t *res, uint64_t *flags)
{
	return grp2_compute(v, (enum grp2_op)(op & 7), size, a & x86e_mask(size), raw, res, flags);
}

/* C0/C1 (imm8), D0/D1 (1), D2/D3 (CL). */
int x86e_exec_grp2(struct x86_emu_ctx *e, const struct x86_insn *in)
{
	unsigned int size = (in->opcode & 1) ? in->opsize : 1;
	struct x86_opnd dst;
	unsigned int raw;
	uint64_t a, res;
	int r;

	if (in->opcode == GRP2_ONE || in->opcode == GRP2_ONE + 1)
		raw = 1;
	else if (in->opcode == GRP2_CL || in->opcode == GRP2_CL + 1)
		raw = (unsigned int)(x86e_gpr(e, X86_RCX) & 0xff);
	else
		raw = (unsigned int)(in->imm[0] & 0xff);
	x86e_rm_opnd_inline(e, in, size, &dst);
	if ((r = x86e_rmw_read(e, &dst, &a)))
		return r;
	if (!grp2_compute(e->vendor, (enum grp2_op)(in->reg & 7), size, a, raw, &res,
			  &e->rc.rflags) &&
	    !dst.is_mem && !x86v_shift_zero_count_writes_reg(e->vendor, size))
		return EMU_CONTINUE;
	return x86e_write_op(e, &dst, res);
}

/* SHLD (0F A4/A5) and SHRD (0F AC/AD). */
int x86e_exec_shxd(struct x86_emu_ctx *e, const struct x86_insn *in)
{
	unsigned int size = in->opsize, bits = size * BYTE_BITS;
	bool left = in->opcode < 0xa8, by_cl = in->opcode & 1;
	unsigned int raw = by_cl ? (unsigned int)(x86e_gpr(e, X86_RCX) & 0xff)
				 : (unsigned int)(in->imm[0] & 0xff);
	unsigned int cnt = raw & (size == 8 ? SHIFT_MASK_64 : SHIFT_MASK_32);
	struct x86_opnd dst;
	uint64_t a, b, res, f;
	bool cf;
	int r;

	x86e_rm_opnd_inline(e, in, size, &dst);
	if ((r = x86e_rmw_read(e, &dst, &a)))
		return r;
	/* The source register: no byte form, so never AH..BH (x86e_reg_read of a reg operand). */
	b = x86e_gpr(e, in->reg) & x86e_mask(size);
	if (!cnt) {
		if (dst.is_mem || x86v_shift_zero_count_writes_reg(e->vendor, size))
			return x86e_write_op(e, &dst, a);
		return EMU_CONTINUE;
	}
	if (cnt <= bits) {
		if (left) {
			res = (shl64(a, cnt) | shr64(b, bits - cnt)) & x86e_mask(size);
			cf = bit_at(a, bits - cnt);
		} else {
			res = (shr64(a, cnt) | shl64(b, bits - cnt)) & x86e_mask(size);
			cf = bit_at(a, cnt - 1);
		}
	} else {
		/* Only 16-bit operands reach here (count 17..31): the SDM leaves it undefined. */
		res = x86v_shxd16_wide(e->vendor, left, a, b, cnt, &cf);
	}
	/* X86_FL_ARITH holds CF and OF: cleared with the rest, then set if they are. */
	f = (e->rc.rflags & ~X86_FL_ARITH) | x86e_szp(res, size) | (cf ? X86_FL_CF : 0);
	e->rc.rflags = x86v_shxd_flags(e->vendor, left, size, cnt, a, res, f);
	return x86e_rmw_write(e, &dst, res);
}

static unsigned int popcount(uint64_t v)
{
	unsigned int n = 0;

	for (; v; v &= v - 1)
		n++;
	return n;
}

/* Index of the lowest / highest set bit of a non-zero v. */
static unsigned int lowest_bit(uint64_t v)
{
	unsigned int n = 0;

	while (!(v & 1)) {
		v >>= 1;
		n++;
	}
	return n;
}

static unsigned int highest_bit(uint64_t v)
{
	unsigned int n = 0;

	while (v >>= 1)
		n++;
	return n;
}

/*
 * 0F BC/BD (BSF/BSR; with F3 and the CPU feature: TZCNT/LZCNT) and F3 0F B8 (POPCNT).
 * The F3 forms stay BSF/BSR on a CPU without BMI1/LZCNT, where F3 is an ignored prefix.
 */
int x86e_exec_bitscan(struct x86_emu_ctx *e, const struct x86_insn *in)
{
	unsigned int size = in->opsize, bits = size * BYTE_BITS;
	bool f3 = in->simd_pfx == X86_PFX_F3;
	struct x86_opnd src, dst;
	uint64_t s, f = e->rc.rflags, res;
	int r;

	x86e_rm_opnd(e, in, size, &src);
	x86e_reg_opnd(e, in->reg, size, &dst);
	if ((r = x86e_read_op(e, &src, &s)))
		return r;
	if (in->opcode == 0xb8) { /* POPCNT: every arithmetic flag defined */
		if (!(e->features & X86_FEAT_POPCNT))
			return x86e_ud(e);
		res = popcount(s);
		f = (f & ~X86_FL_ARITH) | (s ? 0 : X86_FL_ZF);
	} else if (f3 && (e->features & (in->opcode == 0xbc ? X86_FEAT_BMI1 : X86_FEAT_LZCNT))) {
		if (!s)
			res = bits;
		else
			res = in->opcode == 0xbc ? lowest_bit(s) : bits - 1 - highest_bit(s);
		f = set_flag(f, X86_FL_CF, !s);
		f = set_flag(f, X86_FL_ZF, !res);
		x86v_count_undef_flags(e->vendor, &f);
	} else {
		f = set_flag(f, X86_FL_ZF, !s);
		if (!s) {
			/* Destination unchanged (Intel: a 32-bit one is still zero-extended). */
			res = x86e_reg_read(e, &dst);
			x86v_bitscan_undef_flags(e->vendor, 0, &f);
			e->rc.rflags = f;
			if (size == 4 && x86v_bitscan_zero_extends(e->vendor))
				x86e_reg_write(e, &dst, res);
			return EMU_CONTINUE;
		}
		res = in->opcode == 0xbc ? lowest_bit(s) : highest_bit(s);
		x86v_bitscan_undef_flags(e->vendor, res, &f);
	}
	e->rc.rflags = f;
	x86e_reg_write(e, &dst, res);
	return EMU_CONTINUE;
}
