/*
 * The general emulator's LOCK'd read-modify-write on a device word (mmio/locked_rmw.h): the
 * MMIO exit's device calls during a locked instruction (a LOCK prefix, or XCHG with memory)
 * make its operand's read and write one locked cycle.  The emulator reads the operand once
 * and writes it once (x86e_read_op / x86e_write_op); the read takes the device lock, the
 * write to the same word releases it.  Any other device access in between (an operand that
 * crosses a page or is not naturally aligned) releases it first and is done as before: two
 * accesses.  A write that finds the word changed by a lock-free store (-E_AGAIN) changes
 * nothing; the exit then leaves the guest on the instruction, which exits again.
 */
#ifndef MHV_MMIO_LOCKED_INSN_H
#define MHV_MMIO_LOCKED_INSN_H

#include <stdbool.h>
#include <stdint.h>

#include "mmio/locked_rmw.h"
#include "mmio/x86_decode.h"

#define MMIO_LOCKED_XCHG 0x86 /* 86/87 XCHG r/m, r: locked with a memory operand */

static inline bool mmio_insn_locked(const struct x86_insn *in)
{
	return in->lock ||
	       (in->map == X86_MAP_ONE && (in->opcode & ~1u) == MMIO_LOCKED_XCHG && in->has_mem &&
		in->encoding == X86_ENC_LEGACY);
}

/*
 * One device access of the locked instruction in: true when it was done here (*rc its
 * result), false when the caller does it as a plain access (nothing is held then).  The
 * read is bounded by l->streak (mmio_locked_read_bounded), which the caller sets before.
 */
bool mmio_locked_insn_call(struct mmio_locked *l, const struct x86_insn *in,
			   const struct mmio_region *r, uint64_t gpa, uint64_t rip, void *buf,
			   unsigned len, bool write, int *rc);

#endif
