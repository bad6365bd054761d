/*
 * Legacy opcode maps (Intel SDM vol.2 appendix A) as decoder tables, and the per-group
 * validity rules.  Where the SDM marks an encoding reserved the decoder reports #UD.
 */
#include "mmio/x86_optab.h"

#define M    OPF_MODRM
#define IB   IMM_B
#define IW   IMM_W
#define IZ   IMM_Z
#define LK   OPF_LOCK
#define I64  OPF_INV64
#define MO   OPF_MEMONLY
#define RO   OPF_REGONLY
#define SSE2 OPF_PFX(PM_NP | PM_66)
#define SALL OPF_PFX(PM_ALL)

static const struct x86_opinfo one_byte[256] = {
	[0x00] = {M | LK},
	[0x01] = {M | LK},
	[0x02] = {M},
	[0x03] = {M},
	[0x04] = {IB},
	[0x05] = {IZ},
	[0x06] = {I64},
	[0x07] = {I64},
	[0x08] = {M | LK},
	[0x09] = {M | LK},
	[0x0a] = {M},
	[0x0b] = {M},
	[0x0c] = {IB},
	[0x0d] = {IZ},
	[0x0e] = {I64},
	[0x10] = {M | LK},
	[0x11] = {M | LK},
	[0x12] = {M},
	[0x13] = {M},
	[0x14] = {IB},
	[0x15] = {IZ},
	[0x16] = {I64},
	[0x17] = {I64},
	[0x18] = {M | LK},
	[0x19] = {M | LK},
	[0x1a] = {M},
	[0x1b] = {M},
	[0x1c] = {IB},
	[0x1d] = {IZ},
	[0x1e] = {I64},
	[0x1f] = {I64},
	[0x20] = {M | LK},
	[0x21] = {M | LK},
	[0x22] = {M},
	[0x23] = {M},
	[0x24] = {IB},
	[0x25] = {IZ},
	[0x27] = {I64},
	[0x28] = {M | LK},
	[0x29] = {M | LK},
	[0x2a] = {M},
	[0x2b] = {M},
	[0x2c] = {IB},
	[0x2d] = {IZ},
	[0x2f] = {I64},
	[0x30] = {M | LK},
	[0x31] = {M | LK},
	[0x32] = {M},
	[0x33] = {M},
	[0x34] = {IB},
	[0x35] = {IZ},
	[0x37] = {I64},
	[0x38] = {M},
	[0x39] = {M},
	[0x3a] = {M},
	[0x3b] = {M},
	[0x3c] = {IB},
	[0x3d] = {IZ},
	[0x3f] = {I64},
	[0x50 ... 0x5f] = {OPF_D64},
	[0x60] = {I64},
	[0x61] = {I64},
	[0x62] = {M | I64 | MO},
	[0x63] = {M},
	[0x68] = {IZ | OPF_D64},
	[0x69] = {M | IZ},
	[0x6a] = {IB | OPF_D64},
	[0x6b] = {M | IB},
	[0x70 ... 0x7f] = {IMM_RB | OPF_F64},
	[0x80] = {M | IB | LK},
	[0x81] = {M | IZ | LK},
	[0x82] = {M | IB | LK | I64},
	[0x83] = {M | IB | LK},
	[0x84] = {M},
	[0x85] = {M},
	[0x86] = {M | LK},
	[0x87] = {M | LK},
	[0x88 ... 0x8c] = {M},
	[0x8d] = {M | MO},
	[0x8e] = {M},
	[0x8f] = {M | OPF_D64},
	[0x9a] = {IMM_FAR | I64},
	[0x9c] = {OPF_D64},
	[0x9d] = {OPF_D64},
	[0xa0 ... 0xa3] = {IMM_MOFFS},
	[0xa8] = {IB},
	[0xa9] = {IZ},
	[0xb0 ... 0xb7] = {IB},
	[0xb8 ... 0xbf] = {IMM_V},
	[0xc0] = {M | IB},
	[0xc1] = {M | IB},
	[0xc2] = {IW | OPF_F64},
	[0xc3] = {OPF_F64},
	[0xc4] = {M | I64 | MO},
	[0xc5] = {M | I64 | MO},
	[0xc6] = {M | IMM_GROUP},
	[0xc7] = {M | IMM_GROUP},
	[0xc8] = {IMM_WB | OPF_D64},
	[0xc9] = {OPF_D64},
	[0xca] = {IW},
	[0xcd] = {IB},
	[0xce] = {I64},
	[0xd0 ... 0xd3] = {M},
	[0xd4] = {IB | I64},
	[0xd5] = {IB | I64},
	[0xd6] = {I64},
	[0xd8 ... 0xdf] = {M},
	[0xe0 ... 0xe3] = {IMM_RB | OPF_F64},
	[0xe4 ... 0xe7] = {IB},
	[0xe8] = {IMM_RZ | OPF_F64},
	[0xe9] = {IMM_RZ | OPF_F64},
	[0xea] = {IMM_FAR | I64},
	[0xeb] = {IMM_RB | OPF_F64},
	[0xf6] = {M | IMM_GROUP | LK},
	[0xf7] = {M | IMM_GROUP | LK},
	[0xfe] = {M | LK},
	[0xff] = {M | LK},
};

static const struct x86_opinfo two_byte[256] = {
	[0x00] = {M},
	[0x01] = {M},
	[0x02] = {M},
	[0x03] = {M},
	[0x04] = {OPF_INV},
	[0x0a] = {OPF_INV},
	[0x0c] = {OPF_INV},
	[0x0d] = {M},
	[0x0f] = {M},
	[0x10] = {M | SALL},
	[0x11] = {M | SALL},
	[0x12] = {M | SALL},
	[0x13] = {M | SSE2 | MO},
	[0x14] = {M | SSE2},
	[0x15] = {M | SSE2},
	[0x16] = {M | OPF_PFX(PM_NP | PM_66 | PM_F3)},
	[0x17] = {M | SSE2 | MO},
	[0x18 ... 0x1f] = {M},
	[0x20 ... 0x23] = {M | OPF_MODREG},
	[0x24 ... 0x27] = {OPF_INV},
	[0x28] = {M | SSE2},
	[0x29] = {M | SSE2},
	[0x2a] = {M | SALL},
	[0x2b] = {M | SALL | MO},
	[0x2c] = {M | SALL},
	[0x2d] = {M | SALL},
	[0x2e] = {M | SSE2},
	[0x2f] = {M | SSE2},
	[0x36] = {OPF_INV},
	[0x39] = {OPF_INV},
	[0x3b ... 0x3f] = {OPF_INV},
	[0x40 ... 0x4f] = {M},
	[0x50] = {M | SSE2 | RO},
	[0x51] = {M | SALL},
	[0x52] = {M | OPF_PFX(PM_NP | PM_F3)},
	[0x53] = {M | OPF_PFX(PM_NP | PM_F3)},
	[0x54 ... 0x57] = {M | SSE2},
	[0x58 ... 0x5a] = {M | SALL},
	[0x5b] = {M | OPF_PFX(PM_NP | PM_66 | PM_F3)},
	[0x5c ... 0x5f] = {M | SALL},
	[0x60 ... 0x6b] = {M | SSE2},
	[0x6c] = {M | OPF_PFX(PM_66)},
	[0x6d] = {M | OPF_PFX(PM_66)},
	[0x6e] = {M | SSE2},
	[0x6f] = {M | OPF_PFX(PM_NP | PM_66 | PM_F3)},
	[0x70] = {M | IB | SALL},
	[0x71 ... 0x73] = {M | IB | SSE2 | RO},
	[0x74 ... 0x76] = {M | SSE2},
	[0x77] = {OPF_PFX(PM_NP)},
	[0x78] = {M | IMM_GROUP | OPF_PFX(PM_NP | PM_66 | PM_F2)},
	[0x79] = {M | OPF_PFX(PM_NP | PM_66 | PM_F2)},
	[0x7a] = {OPF_INV},
	[0x7b] = {OPF_INV},
	[0x7c] = {M | OPF_PFX(PM_66 | PM_F2)},
	[0x7d] = {M | OPF_PFX(PM_66 | PM_F2)},
	[0x7e] = {M | OPF_PFX(PM_NP | PM_66 | PM_F3)},
	[0x7f] = {M | OPF_PFX(PM_NP | PM_66 | PM_F3)},
	[0x80 ... 0x8f] = {IMM_RZ | OPF_F64},
	[0x90 ... 0x9f] = {M},
	[0xa0] = {OPF_D64},
	[0xa1] = {OPF_D64},
	[0xa3] = {M},
	[0xa4] = {M | IB},
	[0xa5] = {M},
	[0xa6] = {M | OPF_REGONLY},
	[0xa7] = {M | OPF_REGONLY},
	[0xa8] = {OPF_D64},
	[0xa9] = {OPF_D64},
	[0xab] = {M | LK},
	[0xac] = {M | IB},
	[0xad] = {M},
	[0xae] = {M},
	[0xaf] = {M},
	[0xb0] = {M | LK},
	[0xb1] = {M | LK},
	[0xb2] = {M | MO},
	[0xb3] = {M | LK},
	[0xb4] = {M | MO},
	[0xb5] = {M | MO},
	[0xb6] = {M},
	[0xb7] = {M},
	[0xb8] = {M | OPF_PFX(PM_F3)},
	[0xb9] = {M},
	[0xba] = {M | IB | LK},
	[0xbb] = {M | LK},
	[0xbc ... 0xbf] = {M},
	[0xc0] = {M | LK},
	[0xc1] = {M | LK},
	[0xc2] = {M | IB | SALL},
	[0xc3] = {M | OPF_PFX(PM_NP) | MO},
	[0xc4] = {M | IB | SSE2},
	[0xc5] = {M | IB | SSE2 | RO},
	[0xc6] = {M | IB | SSE2},
	[0xc7] = {M | LK},
	[0xd0] = {M | OPF_PFX(PM_66 | PM_F2)},
	[0xd1 ... 0xd5] = {M | SSE2},
	[0xd6] = {M | OPF_PFX(PM_66 | PM_F3 | PM_F2)},
	[0xd7] = {M | SSE2 | RO},
	[0xd8 ... 0xe5] = {M | SSE2},
	[0xe6] = {M | OPF_PFX(PM_66 | PM_F3 | PM_F2)},
	[0xe7] = {M | SSE2 | MO},
	[0xe8 ... 0xef] = {M | SSE2},
	[0xf0] = {M | OPF_PFX(PM_F2) | MO},
	[0xf1 ... 0xf6] = {M | SSE2},
	[0xf7] = {M | SSE2 | RO},
	[0xf8 ... 0xfe] = {M | SSE2},
	[0xff] = {M},
};

static const struct x86_opinfo map_0f38 = {M};
static const struct x86_opinfo map_0f3a = {M | IB};
static const struct x86_opinfo no_info = {0};

const struct x86_opinfo *x86_opinfo(unsigned int map, unsigned int opcode)
{
	opcode &= 0xff;
	switch (map) {
	case X86_MAP_ONE:
		return &one_byte[opcode];
	case X86_MAP_0F:
		return &two_byte[opcode];
	case X86_MAP_0F38:
		return &map_0f38;
	case X86_MAP_0F3A:
		return &map_0f3a;
	default:
		return &no_info;
	}
}

#define MODRM_XABORT 0xf8 /* C6 F8 ib */
#define MODRM_XBEGIN 0xf8 /* C7 F8 rel */

unsigned int x86_imm_kind(const struct x86_insn *in, const struct x86_opinfo *oi)
{
	unsigned int kind = oi->flags & OPF_IMM_MASK;
	unsigned int reg = in->reg & 7;

	if (kind != IMM_GROUP)
		return kind;
	if (in->map == X86_MAP_0F) /* 0F 78: VMREAD (none), 66 /0 EXTRQ, F2 INSERTQ: ib ib */
		return in->simd_pfx == X86_PFX_NONE ? IMM_NONE : IMM_BB;
	switch (in->opcode) {
	case 0xf6:
		return reg < 2 ? IMM_B : IMM_NONE;
	case 0xf7:
		return reg < 2 ? IMM_Z : IMM_NONE;
	case 0xc6:
		return IMM_B;
	case 0xc7:
		return in->modrm == MODRM_XBEGIN ? IMM_RO : IMM_Z;
	default:
		return IMM_NONE;
	}
}

unsigned int x86_grp5_flags(unsigned int reg)
{
	switch (reg) {
	case 2: /* CALL near */
	case 4: /* JMP near */
		return OPF_F64;
	case 6: /* PUSH */
		return OPF_D64;
	default:
		return 0;
	}
}

/* Which one-byte / 0F opcodes accept LOCK, given ModRM.reg (mem destination is required). */
static bool lock_ok(const struct x86_insn *in, unsigned int flags)
{
	unsigned int reg = in->reg & 7;

	if (!(flags & OPF_LOCK) || !in->has_mem || !in->has_modrm)
		return false;
	if (in->map == X86_MAP_ONE) {
		switch (in->opcode) {
		case 0x80:
		case 0x81:
		case 0x82:
		case 0x83:
			return reg != 7; /* CMP is not lockable */
		case 0xf6:
		case 0xf7:
			return reg == 2 || reg == 3; /* NOT, NEG */
		case 0xfe:
		case 0xff:
			return reg < 2; /* INC, DEC */
		default:
			return true;
		}
	}
	if (in->opcode == 0xba)
		return reg >= 5; /* BTS/BTR/BTC, not BT */
	if (in->opcode == 0xc7)
		return reg == 1; /* CMPXCHG8B/16B */
	return true;
}

/* x87 escape D8-DF: reserved register forms and memory forms (SDM table A-7..A-22). */
static bool x87_valid(const struct x86_insn *in)
{
	unsigned int reg = in->reg & 7;
	unsigned int m = in->modrm;

	if (in->has_mem) {
		switch (in->opcode) {
		case 0xd9:
			return reg != 1;
		case 0xdb:
			return reg != 4 && reg != 6;
		case 0xdd:
			return reg != 5;
		default:
			return true;
		}
	}
	switch (in->opcode) {
	case 0xd9:
		return !((m >= 0xd1 && m <= 0xd7) || m == 0xe2 || m == 0xe3 || m == 0xe6 ||
			 m == 0xe7 || m == 0xef);
	case 0xda:
		return m < 0xe0 || m == 0xe9;
	case 0xdb:
		return !((m >= 0xe5 && m <= 0xe7) || m >= 0xf8);
	case 0xdd:
		return m < 0xf0;
	case 0xde:
		return !(m == 0xd8 || (m >= 0xda && m <= 0xdf));
	case 0xdf:
		return !((m >= 0xe1 && m <= 0xe7) || m >= 0xf8);
	default:
		return true;
	}
}

static bool one_byte_valid(const struct x86_insn *in)
{
	unsigned int reg = in->reg & 7;

	switch (in->opcode) {
	case 0x8c:
		return reg <= X86_SEG_GS;
	case 0x8e:
		return reg <= X86_SEG_GS && reg != X86_SEG_CS;
	case 0x8f:
		return reg == 0;
	case 0xc6:
		return reg == 0 || in->modrm == MODRM_XABORT;
	case 0xc7:
		return reg == 0 || in->modrm == MODRM_XBEGIN;
	case 0xfe:
		return reg < 2;
	case 0xff:
		if (reg == 7)
			return false;
		return !((reg == 3 || reg == 5) && !in->has_mem); /* far CALL/JMP need m16:xx */
	case 0xd8 ... 0xdf:
		return x87_valid(in);
	default:
		return true;
	}
}

static bool two_byte_valid(const struct x86_insn *in)
{
	unsigned int reg = in->reg & 7;

	switch (in->opcode) {
	case 0x00:
		return reg < 6;
	case 0x01:
		if (in->has_mem)
			return reg != 5 || in->simd_pfx == X86_PFX_F3; /* RSTORSSP */
		return true;
	case 0x71:
	case 0x72:
		return reg == 2 || reg == 4 || reg == 6;
	case 0x73:
		return reg == 2 || reg == 6 ||
		       ((reg == 3 || reg == 7) && in->simd_pfx == X86_PFX_66);
	case 0x78:
		if (in->simd_pfx == X86_PFX_66)
			return !in->has_mem && reg == 0;	     /* EXTRQ xmm, ib, ib */
		return in->simd_pfx == X86_PFX_NONE || !in->has_mem; /* VMREAD / INSERTQ */
	case 0x79:
		return in->simd_pfx == X86_PFX_NONE || !in->has_mem; /* VMWRITE / EXTRQ / INSERTQ */
	case 0x1a:
	case 0x1b:
		return !(in->has_mem && in->addrsize == 2); /* MPX has no 16-bit addressing */
	case 0x20:
	case 0x22:
		return in->reg == 0 || in->reg == 2 || in->reg == 3 || in->reg == 4 || in->reg == 8;
	case 0xa6: /* VIA PadLock: REP MONTMUL / XSHA1 / XSHA256 */
		return in->modrm == 0xc0 || in->modrm == 0xc8 || in->modrm == 0xd0;
	case 0xa7: /* VIA PadLock: XSTORE / XCRYPT* */
		return in->modrm <= 0xe8 && (in->modrm & 7) == 0;
	case 0xb9:
		return true; /* UD1: a defined instruction that raises #UD when executed */
	case 0xba:
		return reg >= 4;
	case 0xc7:
		if (in->has_mem)
			return reg != 0 && reg != 2;
		return reg >= 6;
	default:
		return true;
	}
}

bool x86_validate(const struct x86_insn *in)
{
	const struct x86_opinfo *oi;
	unsigned int flags, pm;

	if (in->encoding != X86_ENC_LEGACY) {
		/* Length/operands are decoded; LOCK/66/F2/F3/REX were rejected before. */
		return !in->lock;
	}
	if (in->map == X86_MAP_3DNOW)
		return !in->lock;
	oi = x86_opinfo(in->map, in->opcode);
	flags = oi->flags;
	if (in->lock && !lock_ok(in, flags))
		return false;
	if ((flags & OPF_MEMONLY) && !in->has_mem)
		return false;
	if ((flags & OPF_REGONLY) && in->has_mem)
		return false;
	pm = (flags >> OPF_PFX_SHIFT) & PM_ALL;
	if (pm && !(pm & (1u << in->simd_pfx)))
		return false;
	if (in->map == X86_MAP_ONE)
		return one_byte_valid(in);
	if (in->map == X86_MAP_0F)
		return two_byte_valid(in);
	return true;
}
