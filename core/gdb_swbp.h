/*
 * The GDB stub's software breakpoints (gdb's Z0): an INT3 (0xCC) written into guest memory at
 * the breakpoint's guest-linear address, through the guest's page tables and the memory gate,
 * the original byte kept here.  Unlike the four debug registers (Z1, lib/gdb_hwbp.h) there is
 * no limit but GDB_SWBP_MAX.
 *
 * While any is planted, #BP is intercepted (on SVM also the INTn instruction: QEMU's TCG
 * reports INT3 to an SVM hypervisor as a software-interrupt intercept, not as #BP).  An INT3
 * at a planted breakpoint (same linear address, same guest-physical byte) stops the guest for
 * gdb with RIP at the INT3 (stop reply "swbreak", so gdb does not move the PC back); any
 * other INT3, INT n or INTO goes to the guest as the CPU would deliver it (RIP after the
 * instruction, the IDT gate's DPL checked).
 *
 * The debugger's own reads and writes (gdb's m/M/X) see and change the original bytes, the
 * INT3 staying planted over a new one.  Continuing or stepping from a planted breakpoint runs
 * the original instruction first: the byte is put back for one hidden single step, then the
 * INT3 is planted again (gdb's "step over the breakpoint").  z0, detach and kill put every
 * byte back.
 *
 * The guest never sees an INT3 of gdb's.  A page holding one becomes an mmio region of ours
 * (the MMIO path emulates the guest's reads and writes there against the original bytes; a
 * write keeps the INT3 planted over the new byte) and leaves the guest's nested mapping:
 *  - VT-x whose IA32_VMX_EPT_VPID_CAP offers execute-only EPT: the page is mapped execute
 *    only.  Its code runs at full speed and the INT3 traps as #BP; each data access to the
 *    page costs an EPT-violation exit and an emulated access.
 *  - SVM (NPT has no execute-only) and VT-x without it: the page is absent.  Data accesses
 *    are emulated as above; an instruction fetch exits: at a breakpoint the guest stops for
 *    gdb (the INT3 is never executed), elsewhere the page gets its original bytes back, is
 *    mapped, the one instruction is single-stepped (hidden: debug_stop's step), and the
 *    page is hidden again with the INT3s planted.  Each instruction executed on the page
 *    then costs two exits and a stop of the other vCPUs; while that step runs the page is
 *    mapped for every vCPU (another vCPU may pass a breakpoint on it unnoticed then).
 * Any vCPU reaching an INT3 of gdb's stops the guest as its thread.  The other vCPUs take up
 * a change of the INT3 pages (their #BP intercept, a flush of their nested TLB) when they leave their wait
 * for the session, or at their next exit.
 */
#ifndef MHV_CORE_GDB_SWBP_H
#define MHV_CORE_GDB_SWBP_H

#include <stdbool.h>
#include <stdint.h>

struct vcpu;

#define GDB_SWBP_MAX 64
#define X86_INT3     0xCCu

/* gdb's Z0/z0: 0, -E_NOMEM (all GDB_SWBP_MAX used), -E_FAULT (la is not mapped to guest
 * RAM), -E_NOENT (z0 of a breakpoint that is not there). */
int gdb_swbp_insert(struct vcpu *v, uint64_t la);
int gdb_swbp_remove(struct vcpu *v, uint64_t la);
/* Lift them all (detach, kill): every original byte back. */
void gdb_swbp_clear(struct vcpu *v);

/* The debugger's view of guest RAM at gpa: after a read, the original bytes in place of the
 * INT3s; after a write, the written bytes become the originals and the INT3s stay. */
void gdb_swbp_hide(uint64_t gpa, uint8_t *buf, unsigned len);
void gdb_swbp_written(uint64_t gpa, const uint8_t *buf, unsigned len);

/*
 * Resuming at a planted breakpoint: put its byte back for one step (true: the caller steps
 * instead of continuing).  quiet: the step ends in a continue without telling gdb.  After the
 * step (or any stop) gdb_swbp_step_over_done() plants it again and says whether that stop
 * was the quiet step's end (the caller continues at once).
 */
bool gdb_swbp_step_over(struct vcpu *v, bool quiet);
bool gdb_swbp_step_over_done(struct vcpu *v, bool step_ended);

/*
 * The backends' exits.  vcpu_exit_bp: #BP intercepted, RIP at the INT3: true when it was
 * gdb's (the guest stopped for the debugger and was resumed); false: the backend delivers
 * the guest's own #BP (RIP after the INT3).  vcpu_exit_int_insn (SVM's INTn intercept): the
 * INT3 / INT n / INTO at RIP; true when gdb's, else *vector and *len say what to deliver
 * (a software interrupt, RIP advanced by *len); false with *len 0 when the instruction could
 * not be read (a #PF for the guest is queued: resume it).
 */
bool vcpu_exit_bp(struct vcpu *v);
/*
 * An instruction fetch from a page of ours (vcpu_exit_npf, before the MMIO path): true when
 * handled.  At gdb's breakpoint the guest stops for gdb; elsewhere the page gets its original
 * bytes and is mapped for one hidden single step, after which gdb_swbp_fetch_step_done
 * (called by the GDB session on the step's stop) hides it again and says whether that stop
 * was only this (the guest continues at once).
 */
struct mmio_region;
bool gdb_swbp_fetch(struct vcpu *v, const struct mmio_region *region);
bool gdb_swbp_fetch_step_done(struct vcpu *v, bool step_ended);
/* The state and cost of hiding, one line for `monitor gdb`. */
void gdb_swbp_describe(char *buf, unsigned long len);
/* The debugger may read and write gpa: guest RAM, or RAM under one of our pages. */
bool gdb_swbp_debugger_ram(uint64_t gpa);
/* At every exit of every vCPU while gdb= is armed: its #BP intercept follows the table. */
void gdb_swbp_sync(struct vcpu *v);
bool vcpu_exit_int_insn(struct vcpu *v, unsigned *vector, unsigned *len);

#endif
