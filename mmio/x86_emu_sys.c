/*
 * System instructions with a memory operand on a device page: SGDT/SIDT/LGDT/LIDT/SMSW/LMSW
 * (0F 01 /0-/4, /6) and SLDT/STR (0F 00 /0, /1).  The descriptor-table registers and the CR0
 * write behind LMSW are reached through optional callbacks; without them these forms are not
 * emulated (#UD, reported as unsupported).
 *
 * LLDT/LTR (0F 00 /2, /3) are in x86_emu_lldt.c, MOV Sreg in x86_emu_sreg.c.
 */
#include "mmio/x86_emu_internal.h"

#define GRP6_SLDT     0
#define GRP6_STR      1
#define GRP7_SGDT     0
#define GRP7_SIDT     1
#define GRP7_LGDT     2
#define GRP7_LIDT     3
#define GRP7_SMSW     4
#define GRP7_LMSW     6
#define DT_LIMIT_SIZE 2
#define DT_BASE_24    0xffffffull /* LGDT/LIDT with a 16-bit operand size */
#define DT_MAX_SIZE   (DT_LIMIT_SIZE + 8)

bool x86e_sys_supported(const struct x86_emu_ops *ops, const struct x86_insn *in)
{
	unsigned int reg = in->reg & 7;

	if (in->map != X86_MAP_0F || (in->opcode != 0x00 && in->opcode != 0x01))
		return false;
	if (in->opcode == 0x00)
		return ((reg == GRP6_SLDT || reg == GRP6_STR) && ops->get_sysseg) ||
		       x86e_lldt_supported(ops, in);
	switch (reg) {
	case GRP7_SGDT:
	case GRP7_SIDT:
		return in->has_mem && ops->get_sysseg;
	case GRP7_LGDT:
	case GRP7_LIDT:
		return in->has_mem && ops->set_dtr;
	case GRP7_SMSW:
		return true;
	case GRP7_LMSW:
		return ops->lmsw != NULL;
	default:
		return false;
	}
}

/* UMIP: SGDT/SIDT/SLDT/STR/SMSW outside ring 0 raise #GP(0). */
static bool umip_blocks(const struct x86_emu_ctx *e)
{
	return (e->ctl.cr4 & X86_CR4_UMIP) && e->ctl.cpl > 0 && !e->real_or_v86;
}

/* LGDT/LIDT/LMSW: ring 0 only (virtual-8086 mode runs at CPL 3). */
static bool privileged_blocks(const struct x86_emu_ctx *e)
{
	return e->ctl.cpl > 0 || (e->rc.rflags & X86_FL_VM);
}

static void le_put(uint8_t *b, uint64_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (BYTE_BITS * i));
}

static uint64_t le_get(const uint8_t *b, unsigned int n)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < n; i++)
		v |= (uint64_t)b[i] << (BYTE_BITS * i);
	return v;
}

/*
 * SMSW/SLDT/STR: a word to memory; to a register the value at the operand size, where a
 * 32-bit register keeps bits 63:32 on AMD (vendor rule).
 */
static int store_word(struct x86_emu_ctx *e, const struct x86_insn *in, uint64_t v)
{
	struct x86_opnd dst;

	if (in->has_mem || in->opsize != 4 || !x86v_sys_r32_keeps_upper(e->vendor)) {
		x86e_rm_opnd(e, in, in->has_mem ? 2 : in->opsize, &dst);
		return x86e_write_op(e, &dst, in->has_mem ? v & x86e_mask(2) : v);
	}
	x86e_rm_opnd(e, in, 8, &dst);
	x86e_reg_write(e, &dst, (x86e_reg_read(e, &dst) & ~x86e_mask(4)) | (v & x86e_mask(4)));
	return EMU_CONTINUE;
}

static int store_dtr(struct x86_emu_ctx *e, const struct x86_insn *in, unsigned int which)
{
	unsigned int base_size = e->mode == X86_MODE_64 ? 8 : 4;
	uint8_t buf[DT_MAX_SIZE];
	struct x86_segment s;
	struct x86_opnd m;

	e->ops->get_sysseg(e->opaque, which, &s);
	le_put(buf, s.limit, DT_LIMIT_SIZE);
	le_put(buf + DT_LIMIT_SIZE, s.base, base_size);
	x86e_rm_opnd(e, in, DT_LIMIT_SIZE + base_size, &m);
	return x86e_write_mem(e, m.seg, m.ea, buf, DT_LIMIT_SIZE + base_size);
}

static int load_dtr(struct x86_emu_ctx *e, const struct x86_insn *in, unsigned int which)
{
	unsigned int base_size = e->mode == X86_MODE_64 ? 8 : 4;
	uint8_t buf[DT_MAX_SIZE];
	struct x86_opnd m;
	uint64_t base;
	int r;

	if (privileged_blocks(e))
		return x86e_raise(e, X86_EXC_GP, true, 0);
	x86e_rm_opnd(e, in, DT_LIMIT_SIZE + base_size, &m);
	if ((r = x86e_read_mem(e, m.seg, m.ea, buf, DT_LIMIT_SIZE + base_size)))
		return r;
	base = le_get(buf + DT_LIMIT_SIZE, base_size);
	if (e->mode != X86_MODE_64 && in->opsize == 2)
		base &= DT_BASE_24;
	if (e->mode == X86_MODE_64 && !x86e_canonical(e, base))
		return x86e_raise(e, X86_EXC_GP, true, 0);
	if (e->ops->set_dtr(e->opaque, which, base, (uint32_t)le_get(buf, DT_LIMIT_SIZE),
			    &e->res->exc))
		return X86_EMU_EXCEPTION;
	return EMU_CONTINUE;
}

static int exec_lmsw(struct x86_emu_ctx *e, const struct x86_insn *in)
{
	struct x86_opnd src;
	uint64_t v;
	int r;

	if (privileged_blocks(e))
		return x86e_raise(e, X86_EXC_GP, true, 0);
	x86e_rm_opnd(e, in, 2, &src);
	if ((r = x86e_read_op(e, &src, &v)))
		return r;
	if (e->ops->lmsw(e->opaque, (uint16_t)v, &e->res->exc))
		return X86_EMU_EXCEPTION;
	return EMU_CONTINUE;
}

int x86e_exec_sys(struct x86_emu_ctx *e, const struct x86_insn *in)
{
	unsigned int reg = in->reg & 7;
	struct x86_segment s;

	if (in->opcode == 0x00 && reg > GRP6_STR)
		return x86e_exec_lldt(e, in);
	if (in->opcode == 0x00) {
		/* SLDT/STR are #UD in real and virtual-8086 mode. */
		if (e->real_or_v86)
			return x86e_ud(e);
		if (umip_blocks(e))
			return x86e_raise(e, X86_EXC_GP, true, 0);
		e->ops->get_sysseg(e->opaque, reg == GRP6_SLDT ? X86_SYS_LDTR : X86_SYS_TR, &s);
		return store_word(e, in, s.selector);
	}
	switch (reg) {
	case GRP7_SGDT:
	case GRP7_SIDT:
		if (umip_blocks(e))
			return x86e_raise(e, X86_EXC_GP, true, 0);
		return store_dtr(e, in, reg == GRP7_SGDT ? X86_SYS_GDTR : X86_SYS_IDTR);
	case GRP7_LGDT:
	case GRP7_LIDT:
		return load_dtr(e, in, reg == GRP7_LGDT ? X86_SYS_GDTR : X86_SYS_IDTR);
	case GRP7_SMSW:
		if (umip_blocks(e))
			return x86e_raise(e, X86_EXC_GP, true, 0);
		return store_word(e, in, e->ctl.cr0);
	default:
		return exec_lmsw(e, in);
	}
}
