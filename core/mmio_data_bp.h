/*
 * The guest's data breakpoints over an instruction the MMIO slow path (core/mmio_exit.c)
 * completes: the CPU never sees those accesses, so mhv matches them against the guest's DR7
 * and DR0-DR3 (mmio/data_bp.h) and owes the trap the CPU would raise after the instruction.
 * The fast paths (the short hit, mmio_fast.c and its stack/string/RMW forms) refuse while any
 * breakpoint is enabled, so every device access of such a guest comes here.
 */
#ifndef MHV_CORE_MMIO_DATA_BP_H
#define MHV_CORE_MMIO_DATA_BP_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/compiler.h"
#include "mmio/data_bp.h"

struct vcpu;

struct mmio_data_bp {
	uint64_t dr7;  /* the guest's, read once per emulation */
	uint64_t hits; /* DR6 B-bits matched so far */
};

/* The guest's DR7 (the gdb stub's saved one while gdb's are loaded). */
uint64_t mmio_data_bp_guest_dr7(struct vcpu *v);

/*
 * Before an emulation, with hw_dr7 the VMCS/VMCB's DR7 (the exit has read it already).  While
 * the gdb stub owns the debug registers that DR7 enables gdb's breakpoints (core/gdbstub.c),
 * otherwise it is the guest's: with nothing enabled in it the guest has no breakpoint either,
 * and the guest's own DR7 need not be looked up.
 */
static inline void mmio_data_bp_begin(struct vcpu *v, struct mmio_data_bp *bp, uint64_t hw_dr7)
{
	bp->dr7 = unlikely(data_bp_armed(hw_dr7)) ? mmio_data_bp_guest_dr7(v) : hw_dr7;
	bp->hits = 0;
}

void mmio_data_bp_note_slow(struct mmio_data_bp *bp, struct vcpu *v, uint64_t la, unsigned len,
			    bool write);

/* A completed data access of the emulated instruction. */
static inline void mmio_data_bp_note(struct mmio_data_bp *bp, struct vcpu *v, uint64_t la,
				     unsigned len, bool write)
{
	if (unlikely(data_bp_armed(bp->dr7)))
		mmio_data_bp_note_slow(bp, v, la, len, write);
}

void mmio_data_bp_trap(struct vcpu *v, const struct mmio_data_bp *bp, bool mov_ss);

/*
 * The instruction (or a REP string's iteration) completed, RIP committed: its trap, if any.
 * mov_ss: it loaded SS (MOV SS / POP SS), and the trap waits until after the next
 * instruction (SDM Vol. 3, 6.8.3): the backend holds it (vcpu_ops.data_bp_trap).
 */
static inline void mmio_data_bp_end(struct vcpu *v, const struct mmio_data_bp *bp, bool mov_ss)
{
	if (unlikely(bp->hits))
		mmio_data_bp_trap(v, bp, mov_ss);
}

/*
 * May the instruction at CS:RIP run as a single step under a TF the guest did not set?  Not
 * when it reads or writes RFLAGS.TF without an exit (PUSHF, POPF, IRET, INT n/INT3/INTO/INT1,
 * SYSCALL's R11, SYSRET, SYSENTER, SYSEXIT, a far CALL/JMP that may switch tasks), stops
 * (HLT), loads SS again, or its opcode and the byte after it are not in guest RAM on the page
 * at RIP.  Reads the bytes, queues nothing.
 */
bool mmio_data_bp_next_steppable(struct vcpu *v);

#endif
