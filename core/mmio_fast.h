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

#include "mm/guest_walk.h"

struct vcpu;
struct mmio_region;
struct x86_insn;
struct vcpu_segment;

/*
 * true: the access was completed (RIP advanced); false: take the general path.  region is
 * the one the exit reported, usually the operand's: it saves a lookup.  *decoded: the
 * instruction at RIP when it was decoded (for the general path; valid until the next
 * decode), else NULL.  *regs, *mem: the guest's paging state as vcpu_walk_setup() read it
 * (the general path's too: nothing changes it in between); *cs the guest's CS as read here,
 * *rip and *rflags RIP and RFLAGS as read here (*rflags only when *decoded is set).
 */
bool vcpu_mmio_fast(struct vcpu *v, const struct mmio_region *region,
		    const struct x86_insn **decoded, struct gw_regs *regs, struct gw_mem *mem,
		    struct vcpu_segment *cs, uint64_t *rip, uint64_t *rflags);

#endif
