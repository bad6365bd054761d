/*
 * Read-modify-write instructions a driver uses on device registers, done by the MMIO fast
 * path (mmio_fast.c) without the general emulator: the group-2 shifts and rotates (C0/C1,
 * D0-D3), NOT/NEG (F6/F7 /2-/3), XCHG (86/87), BT/BTS/BTR/BTC with an immediate bit offset
 * (0F BA /4-/7), CMPXCHG (0F B0/B1) and XADD (0F C0/C1), LOCK allowed where the CPU allows
 * it.  Their arithmetic is the emulator's own (x86_grp2, x86_alu); the device sees the same
 * accesses as from the general emulator: one read, then one write (none for BT); a locked
 * form's are one locked cycle (mmio/locked_rmw.h) when its operand is naturally aligned.
 * The fast path's preconditions hold (CPL 0-2, TF clear, not 16-bit code); further, the
 * operand's segment is flat (64-bit mode: not FS/GS), the operand lies in one page of one
 * device region and is canonical, and its translation (for writing unless BT) succeeds.
 * Anything else goes to the general emulator, which raises what the CPU would.
 */
#ifndef MHV_CORE_MMIO_RMW_H
#define MHV_CORE_MMIO_RMW_H

#include <stdbool.h>
#include <stdint.h>

#include "mmio/x86_decode.h"

struct vcpu;
struct mmio_region;
struct gw_regs;

#define MMIO_RMW_GRP2_IMM8 0xC0 /* C0/C1: by imm8 */
#define MMIO_RMW_GRP2_ONE  0xD0 /* D0/D1: by 1 */
#define MMIO_RMW_GRP2_CL   0xD2 /* D2/D3: by CL */
#define MMIO_RMW_GRP3	   0xF6 /* F6/F7 /2 NOT, /3 NEG */
#define MMIO_RMW_XCHG	   0x86 /* 86/87 */
#define MMIO_RMW_GRP8	   0xBA /* 0F BA /4-/7: BT/BTS/BTR/BTC r/m, imm8 */
#define MMIO_RMW_CMPXCHG   0xB0 /* 0F B0/B1 */
#define MMIO_RMW_XADD	   0xC0 /* 0F C0/C1 */
#define MMIO_RMW_FULL	   1	/* the opcode's low bit: the full-size form of the pair */
#define MMIO_RMW_NOT	   2
#define MMIO_RMW_NEG	   3
#define MMIO_RMW_BT	   4
#define MMIO_RMW_GRP_MASK  7

enum mmio_rmw_kind {
	MMIO_RMW_KIND_GRP2,
	MMIO_RMW_KIND_NOT,
	MMIO_RMW_KIND_NEG,
	MMIO_RMW_KIND_BT,
	MMIO_RMW_KIND_XCHG,
	MMIO_RMW_KIND_XADD,
	MMIO_RMW_KIND_CMPXCHG,
};

/*
 * Which form in (a decoded instruction with a memory operand) is, and its operand size;
 * false for anything else.  Inline: the fast path sends every other instruction on to the
 * general emulator at the price of a few compares.
 */
static inline bool mmio_rmw_form(const struct x86_insn *in, enum mmio_rmw_kind *k, unsigned *size)
{
	unsigned grp = in->reg & MMIO_RMW_GRP_MASK, pair = in->opcode & ~MMIO_RMW_FULL;

	if (in->encoding != X86_ENC_LEGACY || !in->has_modrm || in->rep != X86_REP_NONE)
		return false;
	*size = (in->opcode & MMIO_RMW_FULL) ? in->opsize : 1;
	if (in->map == X86_MAP_ONE) {
		if (pair == MMIO_RMW_GRP2_IMM8 || pair == MMIO_RMW_GRP2_ONE ||
		    pair == MMIO_RMW_GRP2_CL) {
			*k = MMIO_RMW_KIND_GRP2;
			return !in->lock;
		}
		if (pair == MMIO_RMW_GRP3) {
			*k = grp == MMIO_RMW_NOT ? MMIO_RMW_KIND_NOT : MMIO_RMW_KIND_NEG;
			return grp == MMIO_RMW_NOT || grp == MMIO_RMW_NEG;
		}
		*k = MMIO_RMW_KIND_XCHG;
		return pair == MMIO_RMW_XCHG;
	}
	if (in->map != X86_MAP_0F)
		return false;
	if (in->opcode == MMIO_RMW_GRP8) {
		*k = MMIO_RMW_KIND_BT;
		*size = in->opsize;
		/* BT itself takes no LOCK (#UD): the decoder's check is not relied on here. */
		return grp >= MMIO_RMW_BT && !(grp == MMIO_RMW_BT && in->lock);
	}
	*k = pair == MMIO_RMW_CMPXCHG ? MMIO_RMW_KIND_CMPXCHG : MMIO_RMW_KIND_XADD;
	return pair == MMIO_RMW_CMPXCHG || pair == MMIO_RMW_XADD;
}

/*
 * A locked cycle on the CPU: a LOCK prefix, or XCHG with memory (locked without one).  Each
 * lockable form writes its operand (CMPXCHG writes back what it read when it differs).
 */
static inline bool mmio_rmw_locked(const struct x86_insn *in, enum mmio_rmw_kind k)
{
	return in->lock || k == MMIO_RMW_KIND_XCHG;
}

/*
 * Do in, a form k of size bytes (mmio_rmw_form): true when done (registers, RFLAGS, RIP,
 * counters), false with nothing changed otherwise (a device that fails the write has seen
 * the read, as with the ALU forms).
 */
bool vcpu_mmio_rmw(struct vcpu *v, const struct mmio_region *region, const struct x86_insn *in,
		   const struct gw_regs *regs, uint64_t rip, enum mmio_rmw_kind k, unsigned size);

#endif
