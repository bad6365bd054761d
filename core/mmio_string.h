/*
 * String instructions on a device page without the general emulator: MOVS, STOS and LODS
 * (REP or not) with a device on one or both sides.  Each operand is translated once per page
 * and the elements then go to the device one by one in a tight loop, in the CPU's order.
 */
#ifndef MHV_CORE_MMIO_STRING_H
#define MHV_CORE_MMIO_STRING_H

#include <stdbool.h>
#include <stdint.h>

/* What the string path needs of vcpu.insn_cache's instruction, worked out once per decode
 * (vcpu.string_memo). */
struct mmio_string_memo {
	uint64_t gen; /* insn_cache.gen it was worked out for */
	bool valid;
	uint8_t op;   /* mmio_string.c's operation; its "none": not a string this path takes */
	uint8_t size; /* element bytes: 1 << shift */
	uint8_t shift;
	uint8_t sseg; /* the source's segment (DS or its override) */
	bool rep;
	uint64_t am; /* the address size's mask */
};

struct vcpu;
struct x86_insn;
struct gw_regs;
struct mmio_region;

/*
 * in (decoded at RIP, TF clear, CPL 0-2, 32- or 64-bit code): true if it was a string
 * instruction this path takes and at least one element was done (RCX/RSI/RDI updated; RIP
 * advanced when the count is exhausted, else left on the instruction so the guest re-executes
 * it, as after an interrupted REP).  false: nothing done, take the general path.  rflags: the
 * guest's (its DF), as the caller read it.  region:
 * the device region of the access the exit reports (v->npf_access), whose page serves that
 * operand's first element without a translation.
 */
bool vcpu_mmio_string(struct vcpu *v, const struct x86_insn *in, const struct gw_regs *regs,
		      uint64_t rip, uint64_t rflags, const struct mmio_region *region);

#endif
