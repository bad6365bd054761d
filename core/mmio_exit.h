/* The MMIO exit path: a guest access to a device region, decoded, emulated, dispatched. */
#ifndef MHV_CORE_MMIO_EXIT_H
#define MHV_CORE_MMIO_EXIT_H

#include <stdbool.h>
#include <stdint.h>

struct vcpu;
struct mmio_region;
struct x86_exception;
struct x86_event;

/* The guest touched a page of this MMIO region: emulate the instruction at RIP. */
void vcpu_mmio_exit(struct vcpu *v, const struct mmio_region *region);

/*
 * The CPU stopped delivering ev because an access of the delivery reached a device page:
 * complete it through the emulator (mmio/x86_emu_event.c).  Returns enum x86_emu_status;
 * with X86_EMU_EXCEPTION *exc holds the fault the delivery raised.
 */
int vcpu_mmio_deliver_event(struct vcpu *v, const struct x86_event *ev, struct x86_exception *exc);
/* A debugger's segment register write: MOV Sreg's descriptor load and checks
 * (x86_load_sreg); X86_EMU_OK, or nothing changed. */
int vcpu_load_segment(struct vcpu *v, unsigned seg, uint16_t sel);

/*
 * One access of guest linear memory within a page, by the path the emulator's operands take
 * (guest walk, then a device, or guest RAM; never mhv's memory).  0, or 1 with *exc holding
 * the exception the guest must get (#PF with CR2, #GP).  With buf NULL it only probes:
 * translates and checks the gate, touching nothing.
 */
int vcpu_linear_access(struct vcpu *v, uint64_t la, void *buf, unsigned len, bool write,
		       struct x86_exception *exc);

#endif
