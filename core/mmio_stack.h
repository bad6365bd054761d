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

struct vcpu;
struct mmio_region;
struct x86_insn;

/* true: in was PUSH r/m (FF /6) or POP r/m (8F /0) and is done (RIP advanced, counted). */
bool vcpu_mmio_stack(struct vcpu *v, const struct mmio_region *region, const struct x86_insn *in,
		     const struct gw_regs *regs, uint64_t rip);

#endif
