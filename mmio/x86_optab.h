/*
 * Opcode tables for the x86 decoder (internal to mmio/x86_decode.c and its tests).
 * One entry per opcode byte of each legacy map: ModRM presence, immediate kind, mode and
 * prefix validity.  Group (ModRM.reg dependent) rules live in x86_validate().
 */
#ifndef MHV_MMIO_X86_OPTAB_H
#define MHV_MMIO_X86_OPTAB_H

#include "mmio/x86_decode.h"

/* Immediate kinds (bits 0..3 of the flags). */
enum x86_imm_kind {
	IMM_NONE,
	IMM_B,	   /* imm8 */
	IMM_W,	   /* imm16 */
	IMM_Z,	   /* imm16 or imm32 by operand size */
	IMM_V,	   /* imm16/32/64 by operand size (MOV r, imm) */
	IMM_RB,	   /* rel8 */
	IMM_RZ,	   /* rel16/rel32 (rel32 in 64-bit mode) */
	IMM_WB,	   /* imm16 + imm8 (ENTER) */
	IMM_BB,	   /* imm8 + imm8 (EXTRQ/INSERTQ) */
	IMM_FAR,   /* ptr16:16/32 (far CALL/JMP) */
	IMM_MOFFS, /* address-size memory offset (MOV A0-A3) */
	IMM_GROUP, /* depends on ModRM.reg (F6/F7, C6/C7, 0F 78) */
	IMM_RO,	   /* rel16/rel32 by operand size in every mode (XBEGIN) */
};

#define OPF_IMM_MASK  0x000fu
#define OPF_MODRM     0x0010u /* has a ModRM byte */
#define OPF_INV	      0x0020u /* always #UD */
#define OPF_INV64     0x0040u /* #UD in 64-bit mode */
#define OPF_D64	      0x0080u /* 64-bit default operand size in 64-bit mode */
#define OPF_F64	      0x0100u /* 64-bit operand size forced in 64-bit mode (Intel) */
#define OPF_MODREG    0x0200u /* ModRM.mod ignored: always register operands */
#define OPF_LOCK      0x0400u /* LOCK allowed with a memory destination */
#define OPF_MEMONLY   0x0800u /* mod == 3 is #UD */
#define OPF_REGONLY   0x1000u /* mod != 3 is #UD */
#define OPF_PFX_SHIFT 16
#define OPF_PFX(m)    ((unsigned int)(m) << OPF_PFX_SHIFT) /* valid mandatory prefixes */
#define PM_NP	      0x1u
#define PM_66	      0x2u
#define PM_F3	      0x4u
#define PM_F2	      0x8u
#define PM_ALL	      0xfu

struct x86_opinfo {
	uint32_t flags;
};

const struct x86_opinfo *x86_opinfo(unsigned int map, unsigned int opcode);
/* Immediate kind once ModRM is known (resolves IMM_GROUP). */
unsigned int x86_imm_kind(const struct x86_insn *in, const struct x86_opinfo *oi);
/* Operand size flags of FF /reg (near CALL/JMP forced 64, PUSH default 64). */
unsigned int x86_grp5_flags(unsigned int reg);
/* Group, prefix, LOCK and mod rules on a fully decoded instruction; false = #UD. */
bool x86_validate(const struct x86_insn *in);

#endif
