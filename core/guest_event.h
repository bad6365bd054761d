/*
 * What the guest gets when mhv stops short of completing its instruction: the architectural
 * exception, queued for the next entry, plus a rate-limited log line.  Never the end of the run.
 */
#ifndef MHV_CORE_GUEST_EVENT_H
#define MHV_CORE_GUEST_EVENT_H

#include <stdbool.h>
#include <stdint.h>

struct vcpu;
struct x86_exception;

/* An intercepted instruction mhv cannot decode or does not emulate: #UD and a log line. */
void vcpu_refuse_insn(struct vcpu *v, const char *why, uint64_t code);

/*
 * A nested page fault / EPT violation while the CPU delivered an event (info: EXITINTINFO /
 * IDT-vectoring info, same layout in bits 11:0; error: its error code; insn_len: a software
 * interrupt's length, 0 if unknown).  Onto a device region (RSP inside an mmio= region, say)
 * the delivery is emulated, faults on the way combined as the CPU does (#DF, triple fault).
 * Otherwise the guest's IDT, GDT, TSS or stack is not its RAM: on bare metal those reads
 * return junk and the delivery faults, so the guest gets #DF, and a failing #DF is a triple
 * fault (the documented run end).
 */
void vcpu_exit_delivery_fault(struct vcpu *v, uint32_t info, uint32_t error, unsigned insn_len,
			      uint64_t gpa);

/* A hardware task switch (mhv does not emulate them): #GP with the TSS selector. */
void vcpu_exit_task_switch(struct vcpu *v, uint16_t selector);

/* Queue an exception an emulated access produced (sets CR2 first for #PF). */
void vcpu_inject_exc(struct vcpu *v, const struct x86_exception *exc);

/*
 * Read or write len bytes of guest linear memory at la, page by page, through the guest's
 * page tables (mmio_exit.c's access path).  wrap32: outside 64-bit mode linear addresses wrap
 * at 4 GiB.  False: the access faulted and its exception is queued.
 */
bool vcpu_linear_rw(struct vcpu *v, uint64_t la, void *buf, unsigned len, bool write, bool wrap32);
/* Would vcpu_linear_rw() succeed?  Every page checked (translation and the memory gate),
 * nothing touched; false after queueing the fault it would raise. */
bool vcpu_linear_probe(struct vcpu *v, uint64_t la, unsigned len, bool write, bool wrap32);

#endif
