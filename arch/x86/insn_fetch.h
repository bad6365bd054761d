/*
 * Fetch and decode the guest instruction at CS:RIP, through the guest's own page tables.
 * Used where the hardware does not say enough: a VMMCALL/VMCALL that raised #UD, and SVM
 * exits on CPUs without NRIP save or decode assists (QEMU TCG).
 */
#ifndef MHV_ARCH_X86_INSN_FETCH_H
#define MHV_ARCH_X86_INSN_FETCH_H

#include "mm/guest_walk.h"
#include "mmio/x86_decode.h"

struct vcpu;

/* The guest's paging state and RAM, as mm/guest_walk.c needs them. */
void vcpu_walk_setup(struct vcpu *v, struct gw_regs *regs, struct gw_mem *mem);

/*
 * 0 and the decoded instruction; -E_FAULT when fetching faulted (the #PF is already queued
 * for the guest: resume it); -E_INVAL when the bytes are no valid instruction or not in
 * guest RAM (the caller decides, usually #UD).
 */
int vcpu_decode_current(struct vcpu *v, struct x86_insn *insn);

/* Linear address of a decoded instruction's memory operand (segment base included). */
uint64_t vcpu_insn_mem_linear(struct vcpu *v, const struct x86_insn *insn);

#endif
