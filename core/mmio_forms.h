/*
 * The device-access forms the MMIO fast and short paths do without the general emulator:
 * MOV between a register or an immediate and memory, in every operand size, and the
 * zero/sign-extending loads; and the common ALU forms with a memory operand: op [m],r,
 * op r,[m], op [m],imm (ADD/OR/ADC/SBB/AND/SUB/XOR/CMP), TEST [m],r / [m],imm and INC/DEC
 * [m].  A MOV is the device access and one register write; an ALU form is a device read,
 * the arithmetic (mmio/x86_emu_alu.c, as the general emulator does it), RFLAGS, and a device
 * write or a register write (neither for CMP/TEST).
 */
#ifndef MHV_CORE_MMIO_FORMS_H
#define MHV_CORE_MMIO_FORMS_H

#include <stdbool.h>
#include <stdint.h>

struct vcpu;
struct mmio_region;
struct x86_insn;

struct mmio_form {
	uint8_t mem_size; /* bytes of the memory operand: 1, 2, 4 or 8 */
	uint8_t reg_size; /* a load: bytes written to the register (4 zero-extends to 64) */
	bool write;	  /* a store to memory */
	bool imm;	  /* a store of the immediate (C6/C7) */
	bool sign;	  /* MOVSX: the loaded value is sign-extended to reg_size */
	bool high_byte;	  /* the register is AH/CH/DH/BH (reg - 4, bits 15:8) */
	uint8_t alu;	  /* 0: a MOV form; else enum x86_alu_op + 1 */
	bool alu_imm;	  /* an ALU form's source is the immediate (sign-extended) */
	bool alu_to_reg;  /* an ALU form's result goes to the register (op r,[m]) */
};

/* The form of the last decoded instruction (vcpu.insn_cache, whose gen it was worked out at). */
struct mmio_form_memo {
	bool valid;
	bool is_form; /* mmio_form_of's answer; form holds the form if true */
	bool general; /* no fast path of any kind takes it: straight to the emulator */
	uint64_t gen;
	struct mmio_form form;
};

/*
 * Which form in is (a memory operand, no LOCK/REP, legacy encoding): 8A/8B/88/89, A0-A3,
 * C6 /0, C7 /0, 0F B6/B7/BE/BF; 00-3B (the first four of each eight), 80/81/83, 84/85,
 * F6/F7 /0, FE/FF /0-1.  false for anything else.  write: memory is written (an ALU form's
 * write follows its read).
 */
bool mmio_form_of(const struct x86_insn *in, struct mmio_form *f);

/* The general register form f of in names (RAX for A0-A3; AH-BH as their full register). */
unsigned mmio_form_reg(const struct x86_insn *in, const struct mmio_form *f);

#define MMIO_WORD_BITS 64
#define MMIO_BYTE_BITS 8

/* val's low size bytes, sign-extended (MOVSX, and an immediate to the operand size). */
static inline uint64_t mmio_sign_extend(uint64_t val, unsigned size)
{
	unsigned shift = MMIO_WORD_BITS - MMIO_BYTE_BITS * size;

	return (uint64_t)((int64_t)(val << shift) >> shift);
}

/*
 * Do form f of in with its memory operand at gpa in region: the device access and the
 * register (and RFLAGS) update; RIP and counters are the caller's.  false if the device
 * failed (nothing changed then, except the read of an ALU form whose write failed).
 */
bool vcpu_mmio_form(struct vcpu *v, const struct mmio_region *region, const struct x86_insn *in,
		    const struct mmio_form *f, uint64_t gpa, uint64_t rip);

#endif
