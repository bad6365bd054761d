/*
 * x86 instruction decoder: prefixes, opcode maps, ModRM/SIB/displacement, immediates,
 * VEX/EVEX/XOP.  Table driven for the legacy maps; the validity rules for each opcode are
 * from the Intel SDM vol.2 opcode maps (appendix A) plus the AMD APM for AMD-only encodings
 * (3DNow!, SSE4a, XOP).  Every byte read goes through struct rd so a short buffer or the
 * 15-byte limit is reported instead of read past.
 */
#include "mmio/x86_decode.h"
#include "mmio/x86_optab.h"
#include "lib/string.h"

/* Byte reader bounded by both the buffer and the architectural 15-byte limit. */
struct rd {
	const uint8_t *buf;
	size_t avail;
	size_t pos;
	int err;
};

static uint8_t rd_byte(struct rd *r)
{
	if (r->err)
		return 0;
	if (r->pos >= X86_MAX_INSN_LEN) {
		r->err = X86_DEC_TOO_LONG;
		return 0;
	}
	if (r->pos >= r->avail) {
		r->err = X86_DEC_TRUNCATED;
		return 0;
	}
	return r->buf[r->pos++];
}

/* Look at the byte at the cursor without consuming it; false if it is not available. */
static bool rd_peek(const struct rd *r, uint8_t *b)
{
	if (r->err || r->pos >= r->avail || r->pos >= X86_MAX_INSN_LEN)
		return false;
	*b = r->buf[r->pos];
	return true;
}

static uint64_t rd_le(struct rd *r, unsigned int size)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < size; i++)
		v |= (uint64_t)rd_byte(r) << (8 * i);
	return v;
}

static int64_t sign_extend(uint64_t v, unsigned int size)
{
	unsigned int shift = 64 - 8 * size;

	if (size >= sizeof(uint64_t))
		return (int64_t)v;
	return (int64_t)(v << shift) >> shift;
}

/* Legacy prefix bytes. */
#define PFX_LOCK      0xf0
#define PFX_REPNE     0xf2
#define PFX_REP	      0xf3
#define PFX_OPSIZE    0x66
#define PFX_ADSIZE    0x67
#define PFX_ES	      0x26
#define PFX_CS	      0x2e
#define PFX_SS	      0x36
#define PFX_DS	      0x3e
#define PFX_FS	      0x64
#define PFX_GS	      0x65
#define REX_FIRST     0x40
#define REX_LAST      0x4f
#define REX_W	      0x08
#define REX_R	      0x04
#define REX_X	      0x02
#define REX_B	      0x01
#define ESC_0F	      0x0f
#define ESC_0F38      0x38
#define ESC_0F3A      0x3a
#define ESC_3DNOW     0x0f
#define VEX3	      0xc4
#define VEX2	      0xc5
#define EVEX	      0x62
#define XOP	      0x8f
#define MOD_REG	      3
#define MODRM_MOD(b)  ((b) >> 6)
#define MODRM_REG(b)  (((b) >> 3) & 7)
#define MODRM_RM(b)   ((b)&7)
#define RM_SIB	      4
#define RM_DISP32     5
#define SIB_NO_INDEX  4
#define SIB_NO_BASE   5
#define XOP_MIN_MAP   8
#define VEX_MAP_MASK  0x1f
#define EVEX_MAP_MASK 0x07

/* Records which legacy prefixes were seen; decides opsize/addrsize/segment/mandatory. */
struct pfx {
	bool lock, opsize, adsize;
	uint8_t last_rep; /* 0, F2 or F3 */
	uint8_t seg;
	uint8_t rex; /* effective REX byte or 0 */
	unsigned int count;
};

static uint8_t seg_of_prefix(uint8_t b)
{
	switch (b) {
	case PFX_ES:
		return X86_SEG_ES;
	case PFX_CS:
		return X86_SEG_CS;
	case PFX_SS:
		return X86_SEG_SS;
	case PFX_DS:
		return X86_SEG_DS;
	case PFX_FS:
		return X86_SEG_FS;
	case PFX_GS:
		return X86_SEG_GS;
	default:
		return X86_SEG_NONE;
	}
}

static void read_prefixes(struct rd *r, struct pfx *p, enum x86_mode mode)
{
	uint8_t b;

	memset(p, 0, sizeof(*p));
	p->seg = X86_SEG_NONE;
	while (rd_peek(r, &b)) {
		if (mode == X86_MODE_64 && b >= REX_FIRST && b <= REX_LAST) {
			/* REX counts only if it is the last prefix before the opcode. */
			p->rex = b;
			r->pos++;
			p->count++;
			continue;
		}
		if (b == PFX_LOCK)
			p->lock = true;
		else if (b == PFX_REPNE || b == PFX_REP)
			p->last_rep = b;
		else if (b == PFX_OPSIZE)
			p->opsize = true;
		else if (b == PFX_ADSIZE)
			p->adsize = true;
		else if (seg_of_prefix(b) != X86_SEG_NONE) {
			/* 64-bit mode ignores ES/CS/SS/DS overrides entirely (SDM 3.3.7.1). */
			if (mode != X86_MODE_64 || seg_of_prefix(b) >= X86_SEG_FS)
				p->seg = seg_of_prefix(b);
		} else
			break;
		p->rex = 0; /* a legacy prefix after REX cancels it */
		r->pos++;
		p->count++;
	}
}

static unsigned int addr_size(enum x86_mode mode, bool adsize)
{
	switch (mode) {
	case X86_MODE_16:
		return adsize ? 4 : 2;
	case X86_MODE_32:
		return adsize ? 2 : 4;
	default:
		return adsize ? 4 : 8;
	}
}

static unsigned int op_size(enum x86_mode mode, bool opsize, bool rex_w, unsigned int flags)
{
	if (mode == X86_MODE_64) {
		if (flags & OPF_F64)
			return 8;
		if (rex_w)
			return 8;
		if (opsize)
			return 2;
		return (flags & OPF_D64) ? 8 : 4;
	}
	if (mode == X86_MODE_16)
		return opsize ? 4 : 2;
	return opsize ? 2 : 4;
}

/* 16-bit ModRM addressing: rm -> base, index (SDM vol.2 table 2-1). */
static const uint8_t rm16_base[8] = {X86_RBX, X86_RBX, X86_RBP, X86_RBP,
				     X86_RSI, X86_RDI, X86_RBP, X86_RBX};
static const uint8_t rm16_index[8] = {X86_RSI,	    X86_RDI,	  X86_RSI,	X86_RDI,
				      X86_REG_NONE, X86_REG_NONE, X86_REG_NONE, X86_REG_NONE};

/*
 * Read ModRM and, for memory forms, SIB and displacement; fills the memory operand.
 * force_reg: the opcode ignores mod and always takes register operands (MOV CR/DR).
 */
static void decode_modrm(struct rd *r, struct x86_insn *in, bool force_reg)
{
	uint8_t m = rd_byte(r);
	unsigned int rm = MODRM_RM(m);

	in->has_modrm = true;
	in->modrm_offset = (uint8_t)(r->pos - 1);
	in->modrm = m;
	in->mod = force_reg ? MOD_REG : MODRM_MOD(m);
	in->reg = (uint8_t)(MODRM_REG(m) | (in->rex_r ? 8 : 0));
	in->mem_base = X86_REG_NONE;
	in->mem_index = X86_REG_NONE;
	in->mem_scale = 1;
	if (in->mod == MOD_REG) {
		in->rm = (uint8_t)(rm | (in->rex_b ? 8 : 0));
		return;
	}
	in->rm = (uint8_t)rm;
	in->has_mem = true;

	if (in->addrsize == 2) {
		in->mem_base = rm16_base[rm];
		in->mem_index = rm16_index[rm];
		if (in->mod == 0 && rm == 6) {
			in->mem_base = X86_REG_NONE;
			in->disp_size = 2;
		} else if (in->mod == 1) {
			in->disp_size = 1;
		} else if (in->mod == 2) {
			in->disp_size = 2;
		}
	} else {
		if (rm == RM_SIB) {
			uint8_t sib = rd_byte(r);
			unsigned int idx = ((sib >> 3) & 7) | (in->rex_x ? 8 : 0);
			unsigned int base = (sib & 7);

			in->has_sib = true;
			in->sib = sib;
			in->mem_scale = (uint8_t)(1u << (sib >> 6));
			if (idx != SIB_NO_INDEX || in->vsib)
				in->mem_index = (uint8_t)idx;
			if (base == SIB_NO_BASE && in->mod == 0)
				in->disp_size = 4;
			else
				in->mem_base = (uint8_t)(base | (in->rex_b ? 8 : 0));
		} else if (rm == RM_DISP32 && in->mod == 0) {
			in->disp_size = 4;
			in->rip_rel = (in->mode == X86_MODE_64);
		} else {
			in->mem_base = (uint8_t)(rm | (in->rex_b ? 8 : 0));
		}
		if (in->mod == 1)
			in->disp_size = 1;
		else if (in->mod == 2)
			in->disp_size = 4;
	}
	if (in->disp_size) {
		in->disp_offset = (uint8_t)r->pos;
		in->disp = sign_extend(rd_le(r, in->disp_size), in->disp_size);
	}
}

static void set_mem_seg(struct x86_insn *in)
{
	uint8_t def = X86_SEG_DS;

	if (!in->has_mem)
		return;
	if (!in->rip_rel && (in->mem_base == X86_RSP || in->mem_base == X86_RBP))
		def = X86_SEG_SS;
	in->mem_seg = in->seg_override != X86_SEG_NONE ? in->seg_override : def;
}

static void read_imm(struct rd *r, struct x86_insn *in, unsigned int i, unsigned int size)
{
	in->imm_size[i] = (uint8_t)size;
	in->imm_offset[i] = (uint8_t)r->pos;
	in->imm[i] = rd_le(r, size);
}

/* Immediate bytes for a table immediate kind. */
static void read_imm_kind(struct rd *r, struct x86_insn *in, unsigned int kind)
{
	unsigned int z = in->opsize == 2 ? 2 : 4;

	switch (kind) {
	case IMM_B:
		read_imm(r, in, 0, 1);
		break;
	case IMM_W:
		read_imm(r, in, 0, 2);
		break;
	case IMM_Z:
		read_imm(r, in, 0, z);
		break;
	case IMM_V:
		read_imm(r, in, 0, in->opsize);
		break;
	case IMM_RB:
		read_imm(r, in, 0, 1);
		in->imm_rel = true;
		break;
	case IMM_RZ:
		read_imm(r, in, 0, in->mode == X86_MODE_64 ? 4 : z);
		in->imm_rel = true;
		break;
	case IMM_RO:
		read_imm(r, in, 0, z);
		in->imm_rel = true;
		break;
	case IMM_WB:
		read_imm(r, in, 0, 2);
		read_imm(r, in, 1, 1);
		break;
	case IMM_BB:
		read_imm(r, in, 0, 1);
		read_imm(r, in, 1, 1);
		break;
	case IMM_FAR:
		read_imm(r, in, 0, z);
		read_imm(r, in, 1, 2);
		break;
	case IMM_MOFFS:
		/* moffs is a displacement with no ModRM; it is the memory operand. */
		in->has_mem = true;
		in->mem_base = X86_REG_NONE;
		in->mem_index = X86_REG_NONE;
		in->mem_scale = 1;
		in->disp_offset = (uint8_t)r->pos;
		in->disp_size = in->addrsize;
		in->disp = (int64_t)rd_le(r, in->addrsize);
		break;
	default:
		break;
	}
}

/* VEX/EVEX/XOP payload: fills map, vvvv, L, W, pp and the REX-equivalent bits. */
static int read_vex(struct rd *r, struct x86_insn *in, uint8_t esc, const struct pfx *p)
{
	uint8_t b1, b2, b3;

	/* SDM 2.3.2: VEX/EVEX after 66, F2, F3, LOCK or REX is #UD. */
	if (p->opsize || p->last_rep || p->lock || p->rex)
		return X86_DEC_INVALID;
	b1 = rd_byte(r);
	in->rex = false;
	if (esc == VEX2) {
		in->encoding = X86_ENC_VEX;
		in->map = X86_MAP_0F;
		in->rex_r = !(b1 & 0x80);
		in->vvvv = (uint8_t)((~b1 >> 3) & 0xf);
		in->vl = (b1 >> 2) & 1;
		in->simd_pfx = b1 & 3;
		return 0;
	}
	b2 = rd_byte(r);
	in->rex_r = !(b1 & 0x80);
	in->rex_x = !(b1 & 0x40);
	in->rex_b = !(b1 & 0x20);
	in->rex_w = !!(b2 & 0x80);
	in->simd_pfx = b2 & 3;
	if (esc == VEX3 || esc == XOP) {
		in->encoding = esc == VEX3 ? X86_ENC_VEX : X86_ENC_XOP;
		in->map = b1 & VEX_MAP_MASK;
		in->vvvv = (uint8_t)((~b2 >> 3) & 0xf);
		in->vl = (b2 >> 2) & 1;
		if (esc == VEX3 && (in->map < X86_MAP_0F || in->map > X86_MAP_0F3A))
			return X86_DEC_INVALID;
		if (esc == XOP && (in->map < X86_MAP_XOP8 || in->map > X86_MAP_XOPA))
			return X86_DEC_INVALID;
		if (in->mode != X86_MODE_64) {
			in->rex_b = false;
			in->rex_x = false;
			in->rex_r = false;
		}
		return 0;
	}
	/* EVEX: P0 = R X B R' 0 m m m, P1 = W vvvv 1 pp, P2 = z L'L b V' aaa */
	b3 = rd_byte(r);
	in->encoding = X86_ENC_EVEX;
	in->map = b1 & EVEX_MAP_MASK;
	if ((b1 & 0x08) || !(b2 & 0x04))
		return X86_DEC_INVALID;
	if (in->map == 0 || in->map == 4 || in->map == 7)
		return X86_DEC_INVALID;
	in->vvvv = (uint8_t)(((~b2 >> 3) & 0xf) | ((b3 & 0x08) ? 0 : 0x10));
	in->vl = (b3 >> 5) & 3;
	in->evex_z = !!(b3 & 0x80);
	in->evex_b = !!(b3 & 0x10);
	in->evex_aaa = b3 & 7;
	if (!(b1 & 0x10))
		in->reg |= 0x10; /* R' is folded in after ModRM; remembered via the flag below */
	if (in->mode != X86_MODE_64) {
		in->rex_b = false;
		in->rex_x = false;
		in->rex_r = false;
		in->vvvv &= 0x7;
	}
	return 0;
}

/* Immediate size of VEX/EVEX/XOP encoded instructions (no table: fixed per map/opcode). */
static unsigned int vex_imm_size(const struct x86_insn *in)
{
	switch (in->map) {
	case X86_MAP_0F3A:
	case X86_MAP_XOP8:
		return 1;
	case X86_MAP_XOPA:
		return 4;
	case X86_MAP_0F:
		switch (in->opcode) {
		case 0x70:
		case 0x71:
		case 0x72:
		case 0x73:
		case 0xc2:
		case 0xc4:
		case 0xc5:
		case 0xc6:
			return 1;
		default:
			return 0;
		}
	default:
		return 0;
	}
}

static int decode_vex_body(struct rd *r, struct x86_insn *in)
{
	bool evex_rp = in->encoding == X86_ENC_EVEX && (in->reg & 0x10);
	unsigned int imm;

	in->reg = 0;
	in->opcode = rd_byte(r);
	in->opsize = in->rex_w && in->mode == X86_MODE_64 ? 8 : 4;
	/* VZEROUPPER / VZEROALL are the only VEX instructions without ModRM. */
	if (!(in->encoding == X86_ENC_VEX && in->map == X86_MAP_0F && in->opcode == 0x77))
		decode_modrm(r, in, false);
	if (evex_rp)
		in->reg |= 0x10;
	imm = vex_imm_size(in);
	if (imm)
		read_imm(r, in, 0, imm);
	return 0;
}

int x86_decode(struct x86_insn *in, const uint8_t *buf, size_t avail, enum x86_mode mode)
{
	struct rd r = {.buf = buf, .avail = avail};
	struct pfx p;
	const struct x86_opinfo *oi;
	uint8_t b, next;
	unsigned int flags;

	memset(in, 0, sizeof(*in));
	in->mode = (uint8_t)mode;
	in->seg_override = X86_SEG_NONE;
	in->mem_seg = X86_SEG_NONE;
	in->mem_base = X86_REG_NONE;
	in->mem_index = X86_REG_NONE;
	read_prefixes(&r, &p, mode);
	in->nr_prefixes = (uint8_t)p.count;
	in->lock = p.lock;
	in->opsize_pfx = p.opsize;
	in->addrsize_pfx = p.adsize;
	in->rep = p.last_rep == PFX_REP ? X86_REP_F3 : p.last_rep == PFX_REPNE ? X86_REP_F2 : 0;
	in->simd_pfx = p.last_rep == PFX_REP	 ? X86_PFX_F3
		       : p.last_rep == PFX_REPNE ? X86_PFX_F2
		       : p.opsize		 ? X86_PFX_66
						 : X86_PFX_NONE;
	in->seg_override = p.seg;
	in->rex = p.rex != 0;
	in->rex_w = !!(p.rex & REX_W);
	in->rex_r = !!(p.rex & REX_R);
	in->rex_x = !!(p.rex & REX_X);
	in->rex_b = !!(p.rex & REX_B);
	in->addrsize = (uint8_t)addr_size(mode, p.adsize);

	b = rd_byte(&r);
	if (r.err)
		return -r.err;

	/* VEX / EVEX / XOP escapes (in 16/32-bit code only when the next byte has mod == 3). */
	if ((b == VEX2 || b == VEX3 || b == EVEX || b == XOP) && rd_peek(&r, &next)) {
		bool is_vex;

		if (b == XOP)
			is_vex = (next & VEX_MAP_MASK) >= XOP_MIN_MAP;
		else
			is_vex = mode == X86_MODE_64 || MODRM_MOD(next) == MOD_REG;
		if (is_vex) {
			int ret = read_vex(&r, in, b, &p);
			if (!ret && !r.err)
				ret = decode_vex_body(&r, in);
			if (r.err)
				return -r.err;
			if (ret)
				return -ret;
			set_mem_seg(in);
			in->len = (uint8_t)r.pos;
			return x86_validate(in) ? 0 : -X86_DEC_INVALID;
		}
	}

	in->map = X86_MAP_ONE;
	if (b == ESC_0F) {
		b = rd_byte(&r);
		in->map = X86_MAP_0F;
		if (b == ESC_0F38 || b == ESC_0F3A) {
			in->map = b == ESC_0F38 ? X86_MAP_0F38 : X86_MAP_0F3A;
			b = rd_byte(&r);
		}
	}
	if (r.err)
		return -r.err;
	in->opcode = b;
	oi = x86_opinfo(in->map, b);
	flags = oi->flags;
	if ((flags & OPF_INV) || (mode == X86_MODE_64 && (flags & OPF_INV64)))
		return -X86_DEC_INVALID;
	in->opsize = (uint8_t)op_size(mode, p.opsize, in->rex_w, flags);
	if (flags & OPF_MODRM)
		decode_modrm(&r, in, (flags & OPF_MODREG) != 0);
	if (in->map == X86_MAP_ONE && b == 0xff && in->has_modrm)
		in->opsize =
			(uint8_t)op_size(mode, p.opsize, in->rex_w, x86_grp5_flags(in->reg & 7));
	set_mem_seg(in);
	if (in->map == X86_MAP_0F && b == ESC_3DNOW) {
		/* 3DNow!: the real opcode is an imm8-like suffix after the operands. */
		in->map = X86_MAP_3DNOW;
		in->opcode = rd_byte(&r);
	} else {
		read_imm_kind(&r, in, x86_imm_kind(in, oi));
	}
	if (r.err)
		return -r.err;
	if (in->has_mem && !in->has_modrm)
		set_mem_seg(in);
	in->len = (uint8_t)r.pos;
	return x86_validate(in) ? 0 : -X86_DEC_INVALID;
}
