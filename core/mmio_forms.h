/*
 * The device-access forms the MMIO fast and short paths do without the general emulator:
 * MOV between a register or an immediate and memory, in every operand size, and the
 * zero/sign-extending loads.  None of them touches RFLAGS, so the device access and one
 * register write are the whole instruction.
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
};

/*
 * Which form in is (a memory operand, no LOCK/REP, legacy encoding): 8A/8B/88/89, A0-A3,
 * C6 /0, C7 /0, 0F B6/B7/BE/BF.  false for anything else.
 */
bool mmio_form_of(const struct x86_insn *in, struct mmio_form *f);

/*
 * Do form f of in with its memory operand at gpa in region: the device access and the
 * register update; RIP and counters are the caller's.  false if the device failed (nothing
 * changed then).
 */
bool vcpu_mmio_form(struct vcpu *v, const struct mmio_region *region, const struct x86_insn *in,
		    const struct mmio_form *f, uint64_t gpa, uint64_t rip);

/*
 * Is segment seg (enum x86_seg) flat for an access in code mode (enum x86_mode): in 64-bit
 * mode any but FS/GS (whose bases need state SVM keeps apart), else base 0, limit 4 GiB, a
 * present, usable, expand-up data segment, writable for a write.  Then the linear address is
 * the offset, and no limit check can fail.
 */
bool vcpu_flat_segment(struct vcpu *v, unsigned mode, unsigned seg, bool write);

#endif
