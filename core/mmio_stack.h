/*
 * PUSH [m] and POP [m] with the memory operand on a device page, without the general
 * emulator: the device access, the stack slot in guest RAM (translated like any data access,
 * so the MMIO cache's RAM entry usually serves it), RSP and RIP.  One of the MMIO fast path's
 * forms (mmio_fast.c): the same preconditions (CPL 0-2, TF clear, not 16-bit code), plus a
 * flat stack segment with a 32- or 64-bit stack pointer, both operands each inside one page,
 * and the stack slot in plain guest RAM.  Anything else goes to the general emulator, which
 * raises what the CPU would.
 */
#ifndef MHV_CORE_MMIO_STACK_H
#define MHV_CORE_MMIO_STACK_H

#include <stdbool.h>
#include <stdint.h>

#include "mm/guest_walk.h"

#include "mmio/x86_decode.h"

struct vcpu;
struct mmio_region;

#define MMIO_OPC_GRP5	  0xFF /* /6: PUSH r/m */
#define MMIO_OPC_POP_RM	  0x8F /* /0: POP r/m */
#define MMIO_GRP5_PUSH	  6
#define MMIO_MODRM_REG(m) (((m) >> 3) & 7)

/* Is in PUSH m or POP m (legacy encoding, no LOCK or REP)?  Inline: the fast path asks first. */
static inline bool mmio_stack_form(const struct x86_insn *in)
{
	if (in->encoding != X86_ENC_LEGACY || in->map != X86_MAP_ONE || !in->has_mem || in->lock ||
	    in->rep != X86_REP_NONE)
		return false;
	return (in->opcode == MMIO_OPC_GRP5 && MMIO_MODRM_REG(in->modrm) == MMIO_GRP5_PUSH) ||
	       (in->opcode == MMIO_OPC_POP_RM && MMIO_MODRM_REG(in->modrm) == 0);
}

/* in is a mmio_stack_form(): true when it is done (RIP advanced, counted), else nothing changed. */
bool vcpu_mmio_stack(struct vcpu *v, const struct mmio_region *region, const struct x86_insn *in,
		     const struct gw_regs *regs, uint64_t rip);

#endif
