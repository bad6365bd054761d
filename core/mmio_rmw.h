/*
 * Read-modify-write instructions a driver uses on device registers, done by the MMIO fast
 * path (mmio_fast.c) without the general emulator: the group-2 shifts and rotates (C0/C1,
 * D0-D3), NOT/NEG (F6/F7 /2-/3), XCHG (86/87), BT/BTS/BTR/BTC with an immediate bit offset
 * (0F BA /4-/7), CMPXCHG (0F B0/B1) and XADD (0F C0/C1), LOCK allowed where the CPU allows
 * it.  Their arithmetic is the emulator's own (x86_grp2, x86_alu); the device sees the same
 * accesses as from the general emulator: one read, then one write (none for BT).
 * The fast path's preconditions hold (CPL 0-2, TF clear, not 16-bit code); further, the
 * operand's segment is flat (64-bit mode: not FS/GS), the operand lies in one page of one
 * device region and is canonical, and its translation (for writing unless BT) succeeds.
 * Anything else goes to the general emulator, which raises what the CPU would.
 */
#ifndef MHV_CORE_MMIO_RMW_H
#define MHV_CORE_MMIO_RMW_H

#include <stdbool.h>
#include <stdint.h>

struct vcpu;
struct mmio_region;
struct x86_insn;
struct gw_regs;

/*
 * Do in (any decoded instruction with a memory operand) if it is one of the forms above:
 * true when done (registers, RFLAGS, RIP, counters), false with nothing changed otherwise
 * (a device that fails the write has seen the read, as with the ALU forms).
 */
bool vcpu_mmio_rmw(struct vcpu *v, const struct mmio_region *region, const struct x86_insn *in,
		   const struct gw_regs *regs, uint64_t rip);

#endif
