/*
 * Instruction semantics for the MMIO emulator.  Each handler reads all its inputs, then does
 * its memory writes, then updates the register cache; x86_emulate.c commits the cache only on
 * success, so a fault leaves registers as they were.
 */
#include "mmio/x86_emu_internal.h"
#include "lib/string.h"

#define OP_ALU_LAST    0x3f
#define ALU_FORM_MASK  7
#define ALU_FORM_IMM_A 4 /* AL/eAX, imm forms */
#define GRP_CMP	       7
#define XMM_BYTES      16
#define YMM_BYTES      32
#define BT_IMM_MASK    0xff
#define STR_BYTE_FORM  1 /* string opcodes: low bit clear = byte element */

enum str_kind { STR_MOVS, STR_CMPS, STR_STOS, STR_LODS, STR_SCAS, STR_INS, STR_OUTS };

static uint64_t imm_sext(const struct x86_insn *in, unsigned int i)
{
	return x86_sext(in->imm[i], in->imm_size[i]);
}

static unsigned int byte_or_op(const struct x86_insn *in)
{
	return (in->opcode & 1) ? in->opsize : 1;
}

/* ---- ALU, INC/DEC/NOT/NEG, TEST ---- */

static int do_alu(struct x86_emu_ctx *e, enum x86_alu_op op, const struct x86_opnd *dst,
		  uint64_t src)
{
	uint64_t a, res;
	bool writes = op != ALU_CMP && op != ALU_TEST;
	int r;

	if (writes && (r = x86e_check_write(e, dst)))
		return r;
	if ((r = x86e_read_op(e, dst, &a)))
		return r;
	res = x86_alu(op, dst->size, a, src, &e->rc.rflags);
	if (writes)
		return x86e_write_op(e, dst, res);
	return EMU_CONTINUE;
}

static int exec_alu_block(struct x86_emu_ctx *e, const struct x86_insn *in)
{
	enum x86_alu_op op = (enum x86_alu_op)(in->opcode >> 3);
	unsigned int form = in->opcode & ALU_FORM_MASK;
	unsigned int size = byte_or_op(in);
	struct x86_opnd rm, reg;
	uint64_t v;
	int r;

	if (form >= ALU_FORM_IMM_A) {
		x86e_reg_opnd(e, X86_RAX, size, &reg);
		return do_alu(e, op, &reg, imm_sext(in, 0));
	}
	x86e_rm_opnd(e, in, size, &rm);
	x86e_reg_opnd(e, in->reg, size, &reg);
	if (form < 2) { /* Ev, Gv */
		v = x86e_reg_read(e, &reg);
		return do_alu(e, op, &rm, v);
	}
	if ((r = x86e_read_op(e, &rm, &v))) /* Gv, Ev */
		return r;
	return do_alu(e, op, &reg, v);
}

static int exec_unary(struct x86_emu_ctx *e, const struct x86_opnd *dst, unsigned int reg)
{
	uint64_t a;
	int r;

	if ((r = x86e_check_write(e, dst)) || (r = x86e_read_op(e, dst, &a)))
		return r;
	switch (reg) {
	case 0:
		a = x86_alu(ALU_INC, dst->size, a, 0, &e->rc.rflags);
		break;
	case 1:
		a = x86_alu(ALU_DEC, dst->size, a, 0, &e->rc.rflags);
		break;
	case 2:
		a = ~a; /* NOT: no flags */
		break;
	default:
		a = x86_alu(ALU_NEG, dst->size, a, 0, &e->rc.rflags);
		break;
	}
	return x86e_write_op(e, dst, a);
}

/* ---- MUL/IMUL/DIV/IDIV (F6/F7 /4../7) ---- */

static int exec_muldiv(struct x86_emu_ctx *e, const struct x86_insn *in, const struct x86_opnd *src)
{
	unsigned int size = src->size, reg = in->reg & 7;
	bool sign = reg == 5 || reg == 7;
	struct x86_opnd ax, dx;
	uint64_t s, lo, hi;
	int r;

	if ((r = x86e_read_op(e, src, &s)))
		return r;
	x86e_reg_opnd(e, X86_RAX, size == 1 ? 2 : size, &ax);
	x86e_reg_opnd(e, X86_RDX, size, &dx);
	if (reg <= 5) {
		x86_mul(e->vendor, size, sign, x86e_gpr(e, X86_RAX), s, &lo, &hi, &e->rc.rflags);
		if (size == 1) {
			x86e_reg_write(e, &ax, lo | (hi << BYTE_BITS));
		} else {
			x86e_reg_write(e, &ax, lo);
			x86e_reg_write(e, &dx, hi);
		}
		return EMU_CONTINUE;
	}
	if (size == 1) {
		uint64_t ax16 = x86e_gpr(e, X86_RAX);

		hi = (ax16 >> BYTE_BITS) & 0xff;
		lo = ax16 & 0xff;
	} else {
		hi = x86e_gpr(e, X86_RDX);
		lo = x86e_gpr(e, X86_RAX);
	}
	if (!x86_div(size, sign, hi, lo, s, &lo, &hi))
		return x86e_raise(e, X86_EXC_DE, false, 0);
	x86v_div_undef_flags(e->vendor, &e->rc.rflags);
	if (size == 1) {
		x86e_reg_write(e, &ax, lo | (hi << BYTE_BITS));
	} else {
		x86e_reg_write(e, &ax, lo);
		x86e_reg_write(e, &dx, hi);
	}
	return EMU_CONTINUE;
}

static __attribute__((noinline)) int exec_imul2(struct x86_emu_ctx *e, const struct x86_insn *in, bool has_imm)
{
	struct x86_opnd rm, reg;
	uint64_t a, b, lo, hi;
	int r;

	x86e_rm_opnd(e, in, in->opsize, &rm);
	x86e_reg_opnd(e, in->reg, in->opsize, &reg);
	if ((r = x86e_read_op(e, &rm, &a)))
		return r;
	b = has_imm ? imm_sext(in, 0) : x86e_reg_read(e, &reg);
	x86_mul(e->vendor, in->opsize, true, a, b, &lo, &hi, &e->rc.rflags);
	x86e_reg_write(e, &reg, lo);
	return EMU_CONTINUE;
}

/* ---- BT/BTS/BTR/BTC ---- */

static __attribute__((noinline)) int exec_bt(struct x86_emu_ctx *e, const struct x86_insn *in, unsigned int kind, bool imm)
{
	unsigned int size = in->opsize, bits = size * BYTE_BITS;
	struct x86_opnd rm, reg;
	uint64_t off, v, mask;
	int r;

	x86e_rm_opnd_inline(e, in, size, &rm);
	if (imm) {
		off = (in->imm[0] & BT_IMM_MASK) % bits;
	} else {
		x86e_reg_opnd(e, in->reg, size, &reg);
		off = x86e_reg_read(e, &reg);
		if (rm.is_mem) {
			/*
			 * Register bit offsets are signed and may leave the operand (SDM BT): the
			 * operand floor(offset / bits) words away, bit offset mod bits in it.  bits
			 * is 16, 32 or 64 (no byte form): an arithmetic shift and a mask.
			 */
			unsigned int shift = (unsigned int)__builtin_ctz(bits);
			int64_t so = (int64_t)x86_sext(off, size);
			int64_t words = so >> shift;

			rm.ea = (rm.ea + (uint64_t)words * size) &
				(in->addrsize == 2   ? 0xffffull
				 : in->addrsize == 4 ? 0xffffffffull
						     : ~0ull);
			off = (uint64_t)so & (bits - 1);
		} else {
			off %= bits;
		}
	}
	/* BTS/BTR/BTC write their operand: checked for writing before the read. */
	r = kind ? x86e_rmw_read(e, &rm, &v) : x86e_read_op(e, &rm, &v);
	if (r)
		return r;
	mask = 1ull << off;
	e->rc.rflags = (e->rc.rflags & ~X86_FL_CF) | ((v & mask) ? X86_FL_CF : 0);
	switch (kind) {
	case 1: /* BTS */
		v |= mask;
		break;
	case 2: /* BTR */
		v &= ~mask;
		break;
	case 3: /* BTC */
		v ^= mask;
		break;
	default:
		return EMU_CONTINUE;
	}
	return x86e_rmw_write(e, &rm, v); /* the operand x86e_rmw_read read, v within its size */
}

/* ---- XCHG / XADD / CMPXCHG ---- */

static int exec_xchg(struct x86_emu_ctx *e, const struct x86_insn *in)
{
	unsigned int size = byte_or_op(in);
	struct x86_opnd rm, reg;
	uint64_t a, b;
	int r;

	x86e_rm_opnd(e, in, size, &rm);
	x86e_reg_opnd(e, in->reg, size, &reg);
	if ((r = x86e_rmw_read(e, &rm, &a)))
		return r;
	b = x86e_reg_read(e, &reg);
	if ((r = x86e_write_op(e, &rm, b)))
		return r;
	x86e_reg_write(e, &reg, a);
	return EMU_CONTINUE;
}

static __attribute__((noinline)) int exec_xadd(struct x86_emu_ctx *e, const struct x86_insn *in)
{
	unsigned int size = byte_or_op(in);
	struct x86_opnd rm, reg;
	uint64_t a, b, sum;
	int r;

	x86e_rm_opnd_inline(e, in, size, &rm);
	x86e_reg_opnd(e, in->reg, size, &reg);
	if ((r = x86e_rmw_read(e, &rm, &a)))
		return r;
	b = x86e_reg_read(e, &reg);
	sum = x86_alu(ALU_ADD, size, a, b, &e->rc.rflags);
	if ((r = x86e_write_op(e, &rm, sum)))
		return r;
	if (rm.is_mem || rm.reg != reg.reg || rm.hi8 != reg.hi8)
		x86e_reg_write(e, &reg, a);
	return EMU_CONTINUE;
}

static __attribute__((noinline)) int exec_cmpxchg(struct x86_emu_ctx *e, const struct x86_insn *in)
{
	unsigned int size = byte_or_op(in);
	struct x86_opnd rm, reg, acc;
	uint64_t d, a;
	int r;

	x86e_rm_opnd_inline(e, in, size, &rm);
	x86e_reg_opnd(e, in->reg, size, &reg);
	x86e_reg_opnd(e, X86_RAX, size, &acc);
	if ((r = x86e_rmw_read(e, &rm, &d)))
		return r;
	a = x86e_reg_read(e, &acc);
	x86_alu(ALU_CMP, size, a, d, &e->rc.rflags);
	if (a == d)
		return x86e_write_op(e, &rm, x86e_reg_read(e, &reg));
	/* A memory destination is written back unchanged (locked RMW cycle); a register one is
	 * left alone (no 32-bit zero-extension, as the native CPU shows). */
	if (rm.is_mem && (r = x86e_write_op(e, &rm, d)))
		return r;
	x86e_reg_write(e, &acc, d);
	return EMU_CONTINUE;
}

static __attribute__((noinline)) int exec_cmpxchg8b(struct x86_emu_ctx *e, const struct x86_insn *in)
{
	unsigned int half = in->rex_w ? 8 : 4;
	struct x86_opnd rm;
	uint8_t buf[16];
	uint64_t lo, hi, m = x86e_mask(half);
	int r;

	x86e_rm_opnd(e, in, half * 2, &rm);
	if (half == 8 && (r = x86e_check_aligned(e, &rm, true))) /* CMPXCHG16B */
		return r;
	if ((r = x86e_check_write(e, &rm)) || (r = x86e_read_mem(e, rm.seg, rm.ea, buf, half * 2)))
		return r;
	memcpy(&lo, buf, sizeof(lo));
	if (half == 8)
		memcpy(&hi, buf + 8, sizeof(hi));
	else
		hi = lo >> 32;
	lo &= m;
	if (lo == (x86e_gpr(e, X86_RAX) & m) && hi == (x86e_gpr(e, X86_RDX) & m)) {
		uint64_t bl = x86e_gpr(e, X86_RBX) & m, ch = x86e_gpr(e, X86_RCX) & m;

		if (half == 8) {
			memcpy(buf, &bl, 8);
			memcpy(buf + 8, &ch, 8);
		} else {
			uint64_t v = bl | (ch << 32);

			memcpy(buf, &v, 8);
		}
		e->rc.rflags |= X86_FL_ZF;
		return x86e_write_mem(e, rm.seg, rm.ea, buf, half * 2);
	}
	if ((r = x86e_write_mem(e, rm.seg, rm.ea, buf, half * 2)))
		return r;
	e->rc.rflags &= ~X86_FL_ZF;
	x86e_set_gpr(e, X86_RAX, half == 8 ? lo : lo & m);
	x86e_set_gpr(e, X86_RDX, hi & m);
	return EMU_CONTINUE;
}

/* ---- MOV family ---- */

static int exec_mov(struct x86_emu_ctx *e, const struct x86_insn *in)
{
	unsigned int size = byte_or_op(in);
	struct x86_opnd rm, reg;
	uint64_t v;
	int r;

	switch (in->opcode) {
	case 0x88:
	case 0x89:
		x86e_rm_opnd(e, in, size, &rm);
		x86e_reg_opnd(e, in->reg, size, &reg);
		return x86e_write_op(e, &rm, x86e_reg_read(e, &reg));
	case 0x8a:
	case 0x8b:
		x86e_rm_opnd(e, in, size, &rm);
		x86e_reg_opnd(e, in->reg, size, &reg);
		if ((r = x86e_read_op(e, &rm, &v)))
			return r;
		x86e_reg_write(e, &reg, v);
		return EMU_CONTINUE;
	case 0xa0:
	case 0xa1:
		x86e_rm_opnd(e, in, size, &rm);
		x86e_reg_opnd(e, X86_RAX, size, &reg);
		if ((r = x86e_read_op(e, &rm, &v)))
			return r;
		x86e_reg_write(e, &reg, v);
		return EMU_CONTINUE;
	case 0xa2:
	case 0xa3:
		x86e_rm_opnd(e, in, size, &rm);
		x86e_reg_opnd(e, X86_RAX, size, &reg);
		return x86e_write_op(e, &rm, x86e_reg_read(e, &reg));
	case 0x8c: {
		struct x86_segment s;

		e->ops->get_seg(e->opaque, in->reg & 7, &s);
		x86e_rm_opnd(e, in, in->has_mem ? 2 : in->opsize, &rm);
		return x86e_write_op(e, &rm, s.selector);
	}
	default: /* C6 / C7 */
		x86e_rm_opnd(e, in, size, &rm);
		return x86e_write_op(e, &rm, imm_sext(in, 0));
	}
}

static __attribute__((noinline)) int exec_movx(struct x86_emu_ctx *e, const struct x86_insn *in, unsigned int src_size,
		     bool sign)
{
	struct x86_opnd rm, reg;
	uint64_t v;
	int r;

	x86e_rm_opnd(e, in, src_size, &rm);
	x86e_reg_opnd(e, in->reg, in->opsize, &reg);
	if ((r = x86e_read_op(e, &rm, &v)))
		return r;
	x86e_reg_write(e, &reg, sign ? x86_sext(v, src_size) : v);
	return EMU_CONTINUE;
}

static __attribute__((noinline)) int exec_cmov(struct x86_emu_ctx *e, const struct x86_insn *in)
{
	struct x86_opnd rm, reg;
	uint64_t v;
	int r;

	x86e_rm_opnd(e, in, in->opsize, &rm);
	x86e_reg_opnd(e, in->reg, in->opsize, &reg);
	/* The source is read whatever the condition (faults are raised either way). */
	if ((r = x86e_read_op(e, &rm, &v)))
		return r;
	if (!x86_cond(in->opcode & 0xf, e->rc.rflags))
		v = x86e_reg_read(e, &reg); /* 32-bit form still zero-extends the destination */
	x86e_reg_write(e, &reg, v);
	return EMU_CONTINUE;
}

static __attribute__((noinline)) int exec_movbe(struct x86_emu_ctx *e, const struct x86_insn *in)
{
	struct x86_opnd rm, reg;
	uint64_t v, sw = 0;

	x86e_rm_opnd(e, in, in->opsize, &rm);
	x86e_reg_opnd(e, in->reg, in->opsize, &reg);
	if (in->opcode == 0xf0) {
		int r;

		if ((r = x86e_read_op(e, &rm, &v)))
			return r;
	} else {
		v = x86e_reg_read(e, &reg);
	}
	for (unsigned int i = 0; i < in->opsize; i++)
		sw |= ((v >> (BYTE_BITS * i)) & 0xff) << (BYTE_BITS * (in->opsize - 1 - i));
	if (in->opcode == 0xf0) {
		x86e_reg_write(e, &reg, sw);
		return EMU_CONTINUE;
	}
	return x86e_write_op(e, &rm, sw);
}

/* ---- CRC32 (F2 0F 38 F0/F1): CRC-32C of the source bytes into the destination ---- */

#define CRC32C_POLY_REFLECTED 0x82f63b78u

static __attribute__((noinline)) int exec_crc32(struct x86_emu_ctx *e, const struct x86_insn *in)
{
	unsigned int src_size = in->opcode == 0xf0 ? 1 : in->opsize;
	struct x86_opnd src, dst;
	uint64_t v;
	uint32_t crc;
	int r;

	if (!(e->features & X86_FEAT_SSE42))
		return x86e_ud(e);
	x86e_rm_opnd(e, in, src_size, &src);
	x86e_reg_opnd(e, in->reg, in->rex_w ? 8 : 4, &dst);
	if ((r = x86e_read_op(e, &src, &v)))
		return r;
	crc = (uint32_t)x86e_reg_read(e, &dst);
	for (unsigned int i = 0; i < src_size; i++) {
		crc ^= (uint8_t)(v >> (BYTE_BITS * i));
		for (unsigned int b = 0; b < BYTE_BITS; b++)
			crc = (crc >> 1) ^ (CRC32C_POLY_REFLECTED & (0u - (crc & 1)));
	}
	x86e_reg_write(e, &dst, crc); /* a 64-bit destination is zero-extended */
	return EMU_CONTINUE;
}

/* ---- stack ---- */

static uint64_t sp_mask(unsigned int ss)
{
	return x86e_mask(ss);
}

void x86e_set_sp(struct x86_emu_ctx *e, unsigned int ss, uint64_t v)
{
	struct x86_opnd sp;

	x86e_reg_opnd(e, X86_RSP, ss, &sp);
	x86e_reg_write(e, &sp, v);
}

int x86e_push(struct x86_emu_ctx *e, uint64_t v, unsigned int size)
{
	unsigned int ss = x86e_stack_size(e);
	uint64_t sp = (x86e_gpr(e, X86_RSP) - size) & sp_mask(ss);
	uint8_t b[sizeof(uint64_t)];
	int r;

	memcpy(b, &v, sizeof(b));
	if ((r = x86e_write_mem(e, X86_SEG_SS, sp, b, size)))
		return r;
	x86e_set_sp(e, ss, sp);
	return EMU_CONTINUE;
}

int x86e_pop(struct x86_emu_ctx *e, uint64_t *v, unsigned int size)
{
	unsigned int ss = x86e_stack_size(e);
	uint64_t sp = x86e_gpr(e, X86_RSP) & sp_mask(ss);
	uint8_t b[sizeof(uint64_t)] = {0};
	int r;

	if ((r = x86e_read_mem(e, X86_SEG_SS, sp, b, size)))
		return r;
	memcpy(v, b, sizeof(*v));
	x86e_set_sp(e, ss, sp + size);
	return EMU_CONTINUE;
}

static int exec_push_rm(struct x86_emu_ctx *e, const struct x86_insn *in)
{
	struct x86_opnd rm;
	uint64_t v;
	int r;

	x86e_rm_opnd(e, in, in->opsize, &rm);
	if ((r = x86e_read_op(e, &rm, &v)))
		return r;
	return x86e_push(e, v, in->opsize);
}

static int exec_pop_rm(struct x86_emu_ctx *e, const struct x86_insn *in)
{
	struct x86_opnd rm;
	uint64_t v;
	int r;

	if ((r = x86e_pop(e, &v, in->opsize)))
		return r;
	/* The address is computed after RSP is incremented (SDM POP). */
	x86e_rm_opnd(e, in, in->opsize, &rm);
	return x86e_write_op(e, &rm, v);
}

/* ---- string instructions ---- */

static void set_addr_reg(struct x86_emu_ctx *e, unsigned int reg, unsigned int asz, uint64_t v)
{
	struct x86_opnd op;

	x86e_reg_opnd(e, reg, asz, &op);
	x86e_reg_write(e, &op, v);
}

static int string_once(struct x86_emu_ctx *e, const struct x86_insn *in, enum str_kind k,
		       unsigned int size)
{
	unsigned int asz = in->addrsize;
	uint64_t am = x86e_mask(asz);
	uint64_t si = x86e_gpr(e, X86_RSI) & am, di = x86e_gpr(e, X86_RDI) & am;
	uint64_t step = (e->rc.rflags & X86_FL_DF) ? -(uint64_t)size : size;
	unsigned int sseg = in->seg_override != X86_SEG_NONE ? in->seg_override : X86_SEG_DS;
	uint8_t a[sizeof(uint64_t)] = {0}, b[sizeof(uint64_t)] = {0};
	struct x86_opnd acc;
	uint64_t va, vb;
	int r;

	x86e_reg_opnd(e, X86_RAX, size, &acc);
	switch (k) {
	case STR_INS: {
		uint32_t port = (uint32_t)(x86e_gpr(e, X86_RDX) & 0xffff), val = 0;

		/* The destination is checked before the port is read: a fault reads nothing. */
		if ((r = x86e_probe_write(e, X86_SEG_ES, di, size)))
			return r;
		e->ops->port_io(e->opaque, (uint16_t)port, size, true, &val);
		memcpy(a, &val, size);
		if ((r = x86e_write_mem(e, X86_SEG_ES, di, a, size)))
			return r;
		break;
	}
	case STR_OUTS: {
		uint32_t val = 0;

		if ((r = x86e_read_mem(e, sseg, si, a, size)))
			return r;
		memcpy(&val, a, size);
		e->ops->port_io(e->opaque, (uint16_t)(x86e_gpr(e, X86_RDX) & 0xffff), size, false,
				&val);
		break;
	}
	case STR_MOVS:
		if ((r = x86e_read_mem(e, sseg, si, a, size)) ||
		    (r = x86e_write_mem(e, X86_SEG_ES, di, a, size)))
			return r;
		break;
	case STR_CMPS:
		if ((r = x86e_read_mem(e, sseg, si, a, size)) ||
		    (r = x86e_read_mem(e, X86_SEG_ES, di, b, size)))
			return r;
		memcpy(&va, a, sizeof(va));
		memcpy(&vb, b, sizeof(vb));
		x86_alu(ALU_CMP, size, va, vb, &e->rc.rflags);
		break;
	case STR_STOS:
		va = x86e_reg_read(e, &acc);
		memcpy(a, &va, sizeof(va));
		if ((r = x86e_write_mem(e, X86_SEG_ES, di, a, size)))
			return r;
		break;
	case STR_LODS:
		if ((r = x86e_read_mem(e, sseg, si, a, size)))
			return r;
		memcpy(&va, a, sizeof(va));
		x86e_reg_write(e, &acc, va);
		break;
	default: /* SCAS */
		if ((r = x86e_read_mem(e, X86_SEG_ES, di, b, size)))
			return r;
		memcpy(&vb, b, sizeof(vb));
		x86_alu(ALU_CMP, size, x86e_reg_read(e, &acc), vb, &e->rc.rflags);
		break;
	}
	if (k == STR_MOVS || k == STR_CMPS || k == STR_LODS || k == STR_OUTS)
		set_addr_reg(e, X86_RSI, asz, si + step);
	if (k != STR_LODS && k != STR_OUTS)
		set_addr_reg(e, X86_RDI, asz, di + step);
	return EMU_CONTINUE;
}

/*
 * Intel writes ECX (and for MOVS/STOS also ESI/EDI) even for zero iterations under a 32-bit
 * address size, zero-extending them (observed on the native CPU); AMD does not.
 */
static void rep_zero_count_writes(struct x86_emu_ctx *e, enum str_kind k)
{
	set_addr_reg(e, X86_RCX, 4, 0);
	if (k == STR_MOVS)
		set_addr_reg(e, X86_RSI, 4, x86e_gpr(e, X86_RSI));
	if (k == STR_MOVS || k == STR_STOS)
		set_addr_reg(e, X86_RDI, 4, x86e_gpr(e, X86_RDI));
}

static int exec_string(struct x86_emu_ctx *e, const struct x86_insn *in, enum str_kind k)
{
	unsigned int size = (in->opcode & STR_BYTE_FORM) ? in->opsize : 1;
	unsigned int batch = e->rep_batch ? e->rep_batch : 1;
	uint64_t am = x86e_mask(in->addrsize);
	bool cond = k == STR_CMPS || k == STR_SCAS;

	if (k == STR_INS || k == STR_OUTS) {
		int r;

		if (size > 4)
			size = 4; /* INSD/OUTSD at most, REX.W or not */
		if ((r = x86e_io_permitted(e, (uint16_t)x86e_gpr(e, X86_RDX), size)))
			return r;
	}

	if (batch > X86_EMU_REP_BATCH_MAX)
		batch = X86_EMU_REP_BATCH_MAX;
	/* With TF the CPU traps after every iteration: one per call, RIP kept on the insn. */
	if (e->rc.rflags & X86_FL_TF)
		batch = 1;
	if (!in->rep)
		return string_once(e, in, k, size);
	for (unsigned int done = 0;; done++) {
		uint64_t cx = x86e_gpr(e, X86_RCX) & am;
		int r;

		if (!cx) {
			if (!done && in->addrsize == 4 && x86v_rep_zero_count_writes(e->vendor))
				rep_zero_count_writes(e, k);
			return EMU_CONTINUE;
		}
		if (done == batch) {
			e->res->rep_continue = true; /* re-enter: like an interrupted REP */
			return EMU_CONTINUE;
		}
		r = string_once(e, in, k, size);
		if (r) {
			e->res->rep_continue = done > 0;
			return r;
		}
		set_addr_reg(e, X86_RCX, in->addrsize, cx - 1);
		if (cond) {
			bool zf = e->rc.rflags & X86_FL_ZF;

			if ((in->rep == X86_REP_F3 && !zf) || (in->rep == X86_REP_F2 && zf))
				return EMU_CONTINUE;
		}
	}
}

/* ---- SSE / AVX moves through get_vec/set_vec ---- */

enum vec_kind {
	VK_NONE,
	VK_LOAD_FULL,  /* xmm/ymm <- m (MOVUPS/MOVDQU/...) */
	VK_STORE_FULL, /* m <- xmm/ymm */
	VK_LOAD_ZX,    /* xmm <- r/m32/64 zero-extended (MOVD/MOVQ, MOVSS/MOVSD load) */
	VK_STORE_LOW,  /* r/m32/64 <- low part of xmm (MOVD/MOVQ store, MOVSS/MOVSD store) */
};

struct vec_form {
	enum vec_kind kind;
	unsigned int size; /* memory bytes */
	bool aligned;	   /* #GP(0) if not naturally aligned (MOVAPS/MOVDQA/MOVNT*) */
	bool gpr_ok;	   /* mod == 3 means a GPR, not a vector register (MOVD/MOVQ) */
};

static struct vec_form vec_classify(const struct x86_insn *in)
{
	struct vec_form f = {VK_NONE, 0, false, false};
	unsigned int full = in->encoding == X86_ENC_VEX && in->vl ? YMM_BYTES : XMM_BYTES;
	unsigned int q = in->rex_w && in->mode == X86_MODE_64 ? 8 : 4;
	unsigned int p = in->simd_pfx;

	if (in->map != X86_MAP_0F)
		return f;
	switch (in->opcode) {
	case 0x10:
	case 0x11:
		if (p == X86_PFX_NONE || p == X86_PFX_66) {
			f.kind = in->opcode == 0x10 ? VK_LOAD_FULL : VK_STORE_FULL;
			f.size = full;
		} else if (in->has_mem) { /* MOVSS / MOVSD memory forms */
			f.kind = in->opcode == 0x10 ? VK_LOAD_ZX : VK_STORE_LOW;
			f.size = p == X86_PFX_F3 ? 4 : 8;
		}
		break;
	case 0x28:
	case 0x29:
		if (p > X86_PFX_66)
			break;
		f.kind = in->opcode == 0x28 ? VK_LOAD_FULL : VK_STORE_FULL;
		f.size = full;
		f.aligned = true;
		break;
	case 0x2b:
	case 0xe7:
		if ((in->opcode == 0x2b && p > X86_PFX_66) ||
		    (in->opcode == 0xe7 && p != X86_PFX_66))
			break;
		f.kind = VK_STORE_FULL;
		f.size = full;
		f.aligned = true;
		break;
	case 0x6e:
		if (p == X86_PFX_66) {
			f.kind = VK_LOAD_ZX;
			f.size = q;
			f.gpr_ok = true;
		}
		break;
	case 0x7e:
		if (p == X86_PFX_66) {
			f.kind = VK_STORE_LOW;
			f.size = q;
			f.gpr_ok = true;
		} else if (p == X86_PFX_F3) {
			f.kind = VK_LOAD_ZX;
			f.size = 8;
		}
		break;
	case 0xd6:
		if (p == X86_PFX_66) {
			f.kind = VK_STORE_LOW;
			f.size = 8;
		}
		break;
	case 0x6f:
	case 0x7f:
		if (p == X86_PFX_66 || p == X86_PFX_F3) {
			f.kind = in->opcode == 0x6f ? VK_LOAD_FULL : VK_STORE_FULL;
			f.size = full;
			f.aligned = p == X86_PFX_66;
		}
		break;
	default:
		break;
	}
	/* Non-temporal stores and the aligned forms have no register-destination variant. */
	if ((in->opcode == 0x2b || in->opcode == 0xe7) && !in->has_mem)
		f.kind = VK_NONE;
	return f;
}

/* VEX moves: vvvv must be 1111b; VMOVD/VMOVQ need VEX.L = 0 (VMOVSS/VMOVSD ignore L). */
static bool vex_form_ok(const struct x86_insn *in, const struct vec_form *f)
{
	bool lig = in->opcode == 0x10 || in->opcode == 0x11;

	return !in->vvvv && (f->size >= XMM_BYTES || lig || !in->vl);
}

static __attribute__((noinline)) int exec_vec(struct x86_emu_ctx *e, const struct x86_insn *in)
{
	struct vec_form f = vec_classify(in);
	bool vex = in->encoding == X86_ENC_VEX;
	unsigned int xreg = in->reg & (in->mode == X86_MODE_64 ? 0xf : 0x7);
	uint8_t buf[VEC_MAX_BYTES];
	struct x86_opnd rm;
	uint64_t v;
	int r;

	if (e->ctl.cr0 & X86_CR0_EM && !vex)
		return x86e_ud(e);
	if (!vex && !(e->ctl.cr4 & X86_CR4_OSFXSR))
		return x86e_ud(e);
	if (vex && !(e->ctl.cr4 & X86_CR4_OSXSAVE))
		return x86e_ud(e);
	/* VEX moves: vvvv must be 1111b, 32/64-bit element forms require VEX.L = 0. */
	if (vex && !vex_form_ok(in, &f))
		return x86e_ud(e);
	if (e->ctl.cr0 & X86_CR0_TS)
		return x86e_raise(e, X86_EXC_NM, false, 0);
	memset(buf, 0, sizeof(buf));
	if (!in->has_mem) {
		unsigned int rmr = in->rm & (in->mode == X86_MODE_64 ? 0xf : 0x7);

		if (f.gpr_ok) {
			x86e_reg_opnd(e, in->rm, f.size, &rm);
			if (f.kind == VK_LOAD_ZX) {
				v = x86e_reg_read(e, &rm);
				memcpy(buf, &v, f.size);
				e->ops->set_vec(e->opaque, xreg, buf, XMM_BYTES, vex);
			} else {
				e->ops->get_vec(e->opaque, xreg, buf, f.size);
				memcpy(&v, buf, sizeof(v));
				x86e_reg_write(e, &rm, v & x86e_mask(f.size));
			}
			return EMU_CONTINUE;
		}
		/* Register-to-register copies. */
		if (f.kind == VK_LOAD_FULL || f.kind == VK_LOAD_ZX) {
			e->ops->get_vec(e->opaque, rmr, buf, f.size);
			e->ops->set_vec(e->opaque, xreg, buf,
					f.kind == VK_LOAD_ZX ? XMM_BYTES : f.size, vex);
		} else {
			e->ops->get_vec(e->opaque, xreg, buf, f.size);
			e->ops->set_vec(e->opaque, rmr, buf,
					f.kind == VK_STORE_LOW ? XMM_BYTES : f.size, vex);
		}
		return EMU_CONTINUE;
	}
	x86e_rm_opnd(e, in, f.size, &rm);
	if (f.aligned && (r = x86e_check_aligned(e, &rm, f.kind == VK_STORE_FULL)))
		return r;
	if (f.kind == VK_LOAD_FULL || f.kind == VK_LOAD_ZX) {
		if ((r = x86e_read_mem(e, rm.seg, rm.ea, buf, f.size)))
			return r;
		e->ops->set_vec(e->opaque, xreg, buf, f.kind == VK_LOAD_ZX ? XMM_BYTES : f.size,
				vex);
		return EMU_CONTINUE;
	}
	e->ops->get_vec(e->opaque, xreg, buf, f.size);
	return x86e_write_mem(e, rm.seg, rm.ea, buf, f.size);
}

/* ---- dispatch ---- */

static bool supported_one_byte(const struct x86_insn *in)
{
	unsigned int op = in->opcode, reg = in->reg & 7;

	if (op <= OP_ALU_LAST)
		return (op & ALU_FORM_MASK) < 6 || x86e_stack_supported(in); /* PUSH Sreg */
	switch (op) {
	case 0x50 ... 0x5f:
	case 0x68:
	case 0x69:
	case 0x6a:
	case 0x6b:
	case 0x80 ... 0x8c:
	case 0xa0 ... 0xa7:
	case 0xaa ... 0xaf:
		return true;
	case 0x63:
		return in->mode == X86_MODE_64;
	case 0x8f:
	case 0xc6:
	case 0xc7:
		return reg == 0;
	case 0xc0:
	case 0xc1:
	case 0xd0 ... 0xd3:
		return true;
	case 0xf6:
	case 0xf7:
		return true;
	case 0xfe:
		return reg < 2;
	case 0xff:
		return reg < 2 || reg == 6 || x86e_stack_supported(in);
	default:
		return x86e_stack_supported(in);
	}
}

#define OP_BIT(op) (1ull << ((op) & 63))

/*
 * The 0F opcodes emulated whatever their prefixes and ModRM (F2/F3 ignored repeat prefixes;
 * F3 BC/BD: TZCNT/LZCNT), as a bitmap by opcode / 64: one test for the common forms.
 * 40-4F CMOVcc, 90-9F SETcc, A3 BT, A4/A5 SHLD, AB BTS, AC/AD SHRD, AF IMUL, B0/B1 CMPXCHG,
 * B3 BTR, B6/B7 MOVZX, BB BTC, BC/BD BSF/BSR, BE/BF MOVSX, C0/C1 XADD.
 */
static const uint64_t supported_0f_always[4] = {
	[0x40 / 64] = 0xffffull << (0x40 & 63),
	[0x90 / 64] = (0xffffull << (0x90 & 63)) | OP_BIT(0xa3) | OP_BIT(0xa4) | OP_BIT(0xa5) |
		      OP_BIT(0xab) | OP_BIT(0xac) | OP_BIT(0xad) | OP_BIT(0xaf) | OP_BIT(0xb0) |
		      OP_BIT(0xb1) | OP_BIT(0xb3) | OP_BIT(0xb6) | OP_BIT(0xb7) | OP_BIT(0xbb) |
		      OP_BIT(0xbc) | OP_BIT(0xbd) | OP_BIT(0xbe) | OP_BIT(0xbf),
	[0xc0 / 64] = OP_BIT(0xc0) | OP_BIT(0xc1),
};

static bool supported_0f(const struct x86_insn *in)
{
	unsigned int op = in->opcode, reg = in->reg & 7;

	if (supported_0f_always[op / 64] & OP_BIT(op))
		return true;
	switch (op) {
	case 0xb8:
		return in->simd_pfx == X86_PFX_F3; /* POPCNT */
	case 0xba:
		return reg >= 4;
	case 0xc3:
		return in->has_mem;
	case 0xc7:
		return reg == 1 && in->has_mem;
	case 0xa0:
	case 0xa8:
		return x86e_stack_supported(in); /* PUSH FS, PUSH GS */
	default:
		return vec_classify(in).kind != VK_NONE;
	}
}

/* Out of line: its classification's stack space is not set up for the legacy forms. */
static __attribute__((noinline)) bool vex_supported(const struct x86_insn *in)
{
	struct vec_form f = vec_classify(in);

	return in->map == X86_MAP_0F && f.kind != VK_NONE && vex_form_ok(in, &f);
}

bool x86e_supported(const struct x86_insn *in)
{
	if (in->encoding == X86_ENC_VEX)
		return vex_supported(in);
	if (in->encoding != X86_ENC_LEGACY)
		return false;
	switch (in->map) {
	case X86_MAP_ONE:
		return supported_one_byte(in);
	case X86_MAP_0F:
		return supported_0f(in);
	case X86_MAP_0F38:
		if (in->opcode != 0xf0 && in->opcode != 0xf1)
			return false;
		if (in->simd_pfx == X86_PFX_F2)
			return true; /* CRC32 */
		/* MOVBE: register forms are #UD. */
		return in->has_mem && (in->simd_pfx == X86_PFX_NONE || in->simd_pfx == X86_PFX_66);
	default:
		return false;
	}
}

static int exec_grp1(struct x86_emu_ctx *e, const struct x86_insn *in)
{
	unsigned int size = (in->opcode == 0x80 || in->opcode == 0x82) ? 1 : in->opsize;
	struct x86_opnd rm;

	x86e_rm_opnd(e, in, size, &rm);
	return do_alu(e, (enum x86_alu_op)(in->reg & 7), &rm, imm_sext(in, 0));
}

static int exec_grp3(struct x86_emu_ctx *e, const struct x86_insn *in)
{
	unsigned int reg = in->reg & 7;
	struct x86_opnd rm;

	x86e_rm_opnd(e, in, byte_or_op(in), &rm);
	if (reg < 2)
		return do_alu(e, ALU_TEST, &rm, imm_sext(in, 0));
	if (reg < 4)
		return exec_unary(e, &rm, reg);
	return exec_muldiv(e, in, &rm);
}

static __attribute__((noinline)) int exec_one_byte(struct x86_emu_ctx *e, const struct x86_insn *in)
{
	unsigned int op = in->opcode, reg = in->reg & 7;
	struct x86_opnd rm, r1;
	uint64_t v;
	int r;

	if (op == 0x07 || op == 0x17 || op == 0x1f)
		return x86e_exec_sreg(e, in); /* POP ES/SS/DS */
	if (op == 0x06 || op == 0x0e || op == 0x16 || op == 0x1e)
		return x86e_exec_stack(e, in); /* PUSH ES/CS/SS/DS */
	if (op <= OP_ALU_LAST)
		return exec_alu_block(e, in);
	switch (op) {
	case 0x50 ... 0x57:
		x86e_reg_opnd(e, (op & 7) | (in->rex_b ? 8 : 0), in->opsize, &r1);
		return x86e_push(e, x86e_reg_read(e, &r1), in->opsize);
	case 0x58 ... 0x5f:
		if ((r = x86e_pop(e, &v, in->opsize)))
			return r;
		x86e_reg_opnd(e, (op & 7) | (in->rex_b ? 8 : 0), in->opsize, &r1);
		x86e_reg_write(e, &r1, v);
		return EMU_CONTINUE;
	case 0x63:
		return exec_movx(e, in, 4, true);
	case 0x68:
	case 0x6a:
		return x86e_push(e, imm_sext(in, 0), in->opsize);
	case 0x69:
	case 0x6b:
		return exec_imul2(e, in, true);
	case 0x80 ... 0x83:
		return exec_grp1(e, in);
	case 0x84:
	case 0x85:
		x86e_rm_opnd(e, in, byte_or_op(in), &rm);
		x86e_reg_opnd(e, in->reg, byte_or_op(in), &r1);
		return do_alu(e, ALU_TEST, &rm, x86e_reg_read(e, &r1));
	case 0x86:
	case 0x87:
		return exec_xchg(e, in);
	case 0x8f:
		return exec_pop_rm(e, in);
	case 0x8e:
		return x86e_exec_sreg(e, in);
	case 0x60:
	case 0x61:
		return x86e_exec_stack(e, in); /* PUSHA, POPA */
	case 0x6c:
	case 0x6d:
		return exec_string(e, in, STR_INS);
	case 0x6e:
	case 0x6f:
		return exec_string(e, in, STR_OUTS);
	case 0xa4:
	case 0xa5:
		return exec_string(e, in, STR_MOVS);
	case 0xa6:
	case 0xa7:
		return exec_string(e, in, STR_CMPS);
	case 0xaa:
	case 0xab:
		return exec_string(e, in, STR_STOS);
	case 0xac:
	case 0xad:
		return exec_string(e, in, STR_LODS);
	case 0xae:
	case 0xaf:
		return exec_string(e, in, STR_SCAS);
	case 0xf6:
	case 0xf7:
		return exec_grp3(e, in);
	case 0xc0:
	case 0xc1:
	case 0xd0 ... 0xd3:
		return x86e_exec_grp2(e, in);
	case 0x9c:
	case 0x9d:
	case 0xc2:
	case 0xc3:
	case 0xc8:
	case 0xc9:
	case 0xe8:
		return x86e_exec_stack(e, in);
	case 0x9a:
	case 0xca:
	case 0xcb:
		return x86e_exec_far(e, in);
	case 0xcf:
		return x86e_exec_iret(e, in);
	case 0xcc ... 0xce:
	case 0xf1:
		return x86e_exec_int(e, in);
	case 0xfe:
	case 0xff:
		if (reg == 6)
			return exec_push_rm(e, in);
		if (op == 0xff && (reg == 2 || reg == 4))
			return x86e_exec_stack(e, in);
		if (op == 0xff && (reg == 3 || reg == 5))
			return x86e_exec_far(e, in);
		x86e_rm_opnd(e, in, byte_or_op(in), &rm);
		return exec_unary(e, &rm, reg);
	default:
		return exec_mov(e, in);
	}
}

/* SETcc (0F 90-9F). */
static __attribute__((noinline)) int exec_setcc(struct x86_emu_ctx *e, const struct x86_insn *in)
{
	struct x86_opnd rm;

	x86e_rm_opnd(e, in, 1, &rm);
	return x86e_write_op(e, &rm, x86_cond(in->opcode & 0xf, e->rc.rflags) ? 1 : 0);
}

/* MOVNTI (0F C3): a plain store here. */
static __attribute__((noinline)) int exec_movnti(struct x86_emu_ctx *e, const struct x86_insn *in)
{
	struct x86_opnd rm, r1;

	x86e_rm_opnd(e, in, in->opsize, &rm);
	x86e_reg_opnd(e, in->reg, in->opsize, &r1);
	return x86e_write_op(e, &rm, x86e_reg_read(e, &r1));
}

/*
 * The 0F map's dispatch: every case a tail call (the bodies out of line), so it sets up no
 * stack frame of its own before the handler sets up its.
 */
static int exec_0f(struct x86_emu_ctx *e, const struct x86_insn *in)
{
	unsigned int op = in->opcode;

	switch (op) {
	case 0x40 ... 0x4f:
		return exec_cmov(e, in);
	case 0x90 ... 0x9f:
		return exec_setcc(e, in);
	case 0xa3:
		return exec_bt(e, in, 0, false);
	case 0xab:
		return exec_bt(e, in, 1, false);
	case 0xb3:
		return exec_bt(e, in, 2, false);
	case 0xbb:
		return exec_bt(e, in, 3, false);
	case 0xba:
		return exec_bt(e, in, (in->reg & 7) - 4, true);
	case 0xaf:
		return exec_imul2(e, in, false);
	case 0xb0:
	case 0xb1:
		return exec_cmpxchg(e, in);
	case 0xc0:
	case 0xc1:
		return exec_xadd(e, in);
	case 0xb6:
	case 0xb7:
		return exec_movx(e, in, op == 0xb6 ? 1 : 2, false);
	case 0xbe:
	case 0xbf:
		return exec_movx(e, in, op == 0xbe ? 1 : 2, true);
	case 0xc3:
		return exec_movnti(e, in);
	case 0xc7:
		if ((in->reg & 7) != 1)
			return x86e_exec_xsave(e, in); /* XSAVEC */
		return exec_cmpxchg8b(e, in);
	case 0x00:
	case 0x01:
		return x86e_exec_sys(e, in);
	case 0x6e:
	case 0x6f:
	case 0x7e:
	case 0x7f:
		if (in->simd_pfx == X86_PFX_NONE)
			return x86e_exec_mmx(e, in);
		return exec_vec(e, in);
	case 0xae:
		if ((in->reg & 7) >= 4)
			return x86e_exec_xsave(e, in); /* XSAVE, XRSTOR, XSAVEOPT */
		return x86e_exec_fxsr(e, in);
	case 0xa1:
	case 0xa9:
		return x86e_exec_sreg(e, in);
	case 0xa0:
	case 0xa8:
		return x86e_exec_stack(e, in); /* PUSH FS/GS */
	case 0xa4:
	case 0xa5:
	case 0xac:
	case 0xad:
		return x86e_exec_shxd(e, in);
	case 0xb8:
	case 0xbc:
	case 0xbd:
		return x86e_exec_bitscan(e, in);
	default:
		return exec_vec(e, in);
	}
}

int x86e_execute(struct x86_emu_ctx *e, const struct x86_insn *in)
{
	if (in->encoding == X86_ENC_VEX)
		return exec_vec(e, in);
	switch (in->map) {
	case X86_MAP_ONE:
		return exec_one_byte(e, in);
	case X86_MAP_0F:
		return exec_0f(e, in);
	default:
		if (in->simd_pfx == X86_PFX_F2)
			return exec_crc32(e, in);
		return exec_movbe(e, in);
	}
}
