/*
 * The MMIO fast path: the commonest device accesses, MOVs between a register (or an
 * immediate) and memory, the common ALU forms and the string moves, done without the general
 * emulator.  Everything else (and any case the fast path is unsure of: faults, segment
 * quirks, page-crossing, ring 3) goes to mmio/x86_emulate.
 */
#ifndef MHV_CORE_MMIO_FAST_H
#define MHV_CORE_MMIO_FAST_H

#include <stdbool.h>
#include <stdint.h>

#include "core/vcpu.h"
#include "mm/guest_walk.h"

struct vcpu;
struct mmio_region;
struct x86_insn;

/* What the fast path read, for the general path (nothing changes it in between). */
struct mmio_fast_state {
	const struct x86_insn *decoded; /* the instruction at RIP, valid until the next decode,
					   or NULL when it was not decoded */
	struct gw_regs regs;		/* the guest's paging state (as vcpu_walk_setup's; its walks
					   read through vcpu_gw_mem) */
	/* rip, rflags, CS; dr7 the VMCS/VMCB's (the gdb stub's while it owns the debug
	 * registers) */
	struct vcpu_insn_state cpu;
};

/*
 * true: the access was completed (RIP advanced); false: take the general path with *st.
 * region is the one the exit reported, usually the operand's: it saves a lookup.
 */
bool vcpu_mmio_fast(struct vcpu *v, const struct mmio_region *region, struct mmio_fast_state *st);

#endif
