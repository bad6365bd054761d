/* The MOV forms of the MMIO fast and short paths (see mmio_forms.h). */
#include "core/mmio_forms.h"
#include "core/insn_fetch.h"
#include "core/vcpu.h"
#include "mmio/region.h"
#include "mmio/x86_decode.h"
#include "mmio/x86_emu_internal.h" /* x86_alu: the emulator's own flag arithmetic */

#define OPC_MOV_STORE8	0x88 /* mov r/m8, r8 */
#define OPC_MOV_STORE	0x89 /* mov r/m, r16/32/64 */
#define OPC_MOV_LOAD8	0x8A /* mov r8, r/m8 */
#define OPC_MOV_LOAD	0x8B /* mov r16/32/64, r/m */
#define OPC_MOFFS_LOAD8 0xA0 /* mov al, moffs8 */
#define OPC_MOFFS_LOAD	0xA1 /* mov eax, moffs */
#define OPC_MOFFS_STORE8 0xA2
#define OPC_MOFFS_STORE 0xA3
#define OPC_MOV_IMM8	0xC6 /* mov r/m8, imm8 (/0) */
#define OPC_MOV_IMM	0xC7 /* mov r/m, imm16/32 (/0) */
#define OPC_MOVZX8	0xB6 /* 0F B6: movzx r, r/m8 */
#define OPC_MOVZX16	0xB7
#define OPC_MOVSX8	0xBE
#define OPC_MOVSX16	0xBF
#define MODRM_REG(m)	(((m) >> 3) & 7)
#define OPC_ALU_LAST	0x3B /* 00-3B: op Eb,Gb / Ev,Gv / Gb,Eb / Gv,Ev for each of 8 ops */
#define ALU_FORM_MASK	7
#define ALU_FORM_TO_REG 2    /* forms 2-3 load the register; 4-7 are not memory forms */
#define ALU_OP_SHIFT	3
#define OPC_GRP1_IMM8	0x80 /* op Eb, Ib */
#define OPC_GRP1_IMM	0x81 /* op Ev, Iz */
#define OPC_GRP1_SIMM8	0x83 /* op Ev, Ib sign-extended */
#define OPC_TEST8	0x84
#define OPC_TEST	0x85
#define OPC_GRP3_8	0xF6 /* /0: TEST Eb, Ib */
#define OPC_GRP3	0xF7
#define OPC_GRP4	0xFE /* /0 INC Eb, /1 DEC Eb */
#define OPC_GRP5	0xFF /* /0 INC Ev, /1 DEC Ev */
#define GRP_INC		0
#define GRP_DEC		1
#define HIGH_BYTE_REGS	4 /* without REX, byte registers 4-7 are AH, CH, DH, BH */
#define BYTE_MASK	0xFFull
#define WORD_MASK	0xFFFFull
#define HIGH_BYTE_SHIFT 8

static bool one_byte_form(const struct x86_insn *in, struct mmio_form *f)
{
	bool byte_reg = false;

	switch (in->opcode) {
	case OPC_MOV_LOAD8:
		byte_reg = true;
		f->mem_size = f->reg_size = 1;
		break;
	case OPC_MOV_LOAD:
		f->mem_size = f->reg_size = in->opsize;
		break;
	case OPC_MOV_STORE8:
		byte_reg = true;
		f->mem_size = 1;
		f->write = true;
		break;
	case OPC_MOV_STORE:
		f->mem_size = in->opsize;
		f->write = true;
		break;
	case OPC_MOFFS_LOAD8:
	case OPC_MOFFS_STORE8:
		f->mem_size = f->reg_size = 1;
		f->write = in->opcode == OPC_MOFFS_STORE8;
		break;
	case OPC_MOFFS_LOAD:
	case OPC_MOFFS_STORE:
		f->mem_size = f->reg_size = in->opsize;
		f->write = in->opcode == OPC_MOFFS_STORE;
		break;
	case OPC_MOV_IMM8:
	case OPC_MOV_IMM:
		if (!in->has_modrm || MODRM_REG(in->modrm))
			return false; /* only /0 is MOV */
		f->mem_size = in->opcode == OPC_MOV_IMM8 ? 1 : in->opsize;
		f->write = f->imm = true;
		break;
	default:
		return false;
	}
	f->high_byte = byte_reg && !in->rex && in->reg >= HIGH_BYTE_REGS &&
		       in->reg < 2 * HIGH_BYTE_REGS;
	return true;
}

static void alu(struct mmio_form *f, enum x86_alu_op op, unsigned size)
{
	f->alu = (uint8_t)(op + 1);
	f->mem_size = f->reg_size = (uint8_t)size;
	/* CMP and TEST only read; op r,[m] writes the register, the others the memory. */
	f->write = op != ALU_CMP && op != ALU_TEST && !f->alu_to_reg;
}

/* The ALU forms: byte or operand size by the opcode's low bit, like the emulator. */
static bool alu_form(const struct x86_insn *in, struct mmio_form *f)
{
	unsigned op = in->opcode, sub = MODRM_REG(in->modrm);
	unsigned size = (op & 1) ? in->opsize : 1;

	if (!in->has_modrm)
		return false;
	if (op <= OPC_ALU_LAST && (op & ALU_FORM_MASK) < 4) {
		f->alu_to_reg = (op & ALU_FORM_MASK) >= ALU_FORM_TO_REG;
		f->high_byte = !(op & 1) && !in->rex && in->reg >= HIGH_BYTE_REGS &&
			       in->reg < 2 * HIGH_BYTE_REGS;
		alu(f, (enum x86_alu_op)(op >> ALU_OP_SHIFT), size);
		return true;
	}
	switch (op) {
	case OPC_GRP1_IMM8:
	case OPC_GRP1_IMM:
	case OPC_GRP1_SIMM8: /* 82 (#UD in 64-bit mode) is the emulator's */
		f->alu_imm = true;
		alu(f, (enum x86_alu_op)sub, op == OPC_GRP1_IMM8 ? 1 : in->opsize);
		return true;
	case OPC_TEST8:
	case OPC_TEST:
		f->high_byte = op == OPC_TEST8 && !in->rex && in->reg >= HIGH_BYTE_REGS &&
			       in->reg < 2 * HIGH_BYTE_REGS;
		alu(f, ALU_TEST, size);
		return true;
	case OPC_GRP3_8:
	case OPC_GRP3:
		if (sub != 0)
			return false; /* /1 (an alias), NOT, NEG, MUL, DIV: the emulator */
		f->alu_imm = true;
		alu(f, ALU_TEST, size);
		return true;
	case OPC_GRP4:
	case OPC_GRP5:
		if (sub != GRP_INC && sub != GRP_DEC)
			return false;
		alu(f, sub == GRP_INC ? ALU_INC : ALU_DEC, size);
		return true;
	default:
		return false;
	}
}

static bool two_byte_form(const struct x86_insn *in, struct mmio_form *f)
{
	switch (in->opcode) {
	case OPC_MOVSX8:
		f->sign = true;
		__attribute__((fallthrough));
	case OPC_MOVZX8:
		f->mem_size = 1;
		break;
	case OPC_MOVSX16:
		f->sign = true;
		__attribute__((fallthrough));
	case OPC_MOVZX16:
		f->mem_size = 2;
		break;
	default:
		return false;
	}
	f->reg_size = in->opsize;
	return true;
}

bool mmio_form_of(const struct x86_insn *in, struct mmio_form *f)
{
	*f = (struct mmio_form){0};
	if (in->encoding != X86_ENC_LEGACY || !in->has_mem || in->lock ||
	    in->rep != X86_REP_NONE || in->vsib)
		return false;
	if (in->map == X86_MAP_ONE)
		return one_byte_form(in, f) || alu_form(in, f);
	if (in->map == X86_MAP_0F)
		return two_byte_form(in, f);
	return false;
}

unsigned mmio_form_reg(const struct x86_insn *in, const struct mmio_form *f)
{
	if (in->map == X86_MAP_ONE && in->opcode >= OPC_MOFFS_LOAD8 &&
	    in->opcode <= OPC_MOFFS_STORE)
		return GPR_RAX;
	return f->high_byte ? in->reg - HIGH_BYTE_REGS : in->reg;
}

/* The value a store puts in memory (low mem_size bytes are used). */
static uint64_t store_value(struct vcpu *v, const struct x86_insn *in, const struct mmio_form *f)
{
	uint64_t val;

	if (f->imm)
		return mmio_sign_extend(in->imm[0], in->imm_size[0]); /* imm32 -> 64 for REX.W */
	val = vcpu_gpr(v, mmio_form_reg(in, f));
	return f->high_byte ? val >> HIGH_BYTE_SHIFT : val;
}

/* Write a load's result as the CPU does: 8/16-bit writes merge, 32-bit ones zero-extend. */
static void load_result(struct vcpu *v, const struct x86_insn *in, const struct mmio_form *f,
			uint64_t val)
{
	unsigned reg = mmio_form_reg(in, f);
	uint64_t old, nv;

	if (f->sign)
		val = mmio_sign_extend(val, f->mem_size);
	switch (f->reg_size) {
	case 8:
		nv = val;
		break;
	case 4:
		nv = (uint32_t)val;
		break;
	case 2:
		old = vcpu_gpr(v, reg);
		nv = (old & ~WORD_MASK) | (val & WORD_MASK);
		break;
	default:
		old = vcpu_gpr(v, reg);
		if (f->high_byte)
			nv = (old & ~(BYTE_MASK << HIGH_BYTE_SHIFT)) |
			     ((val & BYTE_MASK) << HIGH_BYTE_SHIFT);
		else
			nv = (old & ~BYTE_MASK) | (val & BYTE_MASK);
		break;
	}
	if (reg == GPR_RSP)
		v->ops->set_rsp(v, nv);
	else
		v->gpr[reg] = nv;
}

/*
 * An ALU form: the device read, the emulator's arithmetic and flags, then the device write or
 * the register (CMP and TEST: neither), RFLAGS last, once nothing can fail any more.
 */
static bool alu_exec(struct vcpu *v, const struct mmio_region *region, const struct x86_insn *in,
		     const struct mmio_form *f, uint64_t gpa, uint64_t rip)
{
	enum x86_alu_op op = (enum x86_alu_op)(f->alu - 1);
	uint64_t mem = 0, other, flags, res;

	if (mmio_region_access(region, gpa, rip, &mem, f->mem_size, false))
		return false;
	other = f->alu_imm ? mmio_sign_extend(in->imm[0], in->imm_size[0]) : store_value(v, in, f);
	flags = v->ops->get_rflags(v);
	if (f->alu_to_reg)
		res = x86_alu(op, f->mem_size, other, mem, &flags);
	else
		res = x86_alu(op, f->mem_size, mem, other, &flags);
	if (op != ALU_CMP && op != ALU_TEST) {
		if (!f->alu_to_reg) {
			if (mmio_region_access(region, gpa, rip, &res, f->mem_size, true))
				return false;
		} else {
			load_result(v, in, f, res);
		}
	}
	v->ops->set_rflags(v, flags);
	return true;
}

bool vcpu_mmio_form(struct vcpu *v, const struct mmio_region *region, const struct x86_insn *in,
		    const struct mmio_form *f, uint64_t gpa, uint64_t rip)
{
	uint64_t val = 0;

	if (f->alu)
		return alu_exec(v, region, in, f, gpa, rip);

	if (f->write) {
		val = store_value(v, in, f);
		return !mmio_region_access(region, gpa, rip, &val, f->mem_size, true);
	}
	if (mmio_region_access(region, gpa, rip, &val, f->mem_size, false))
		return false;
	load_result(v, in, f, val);
	return true;
}
