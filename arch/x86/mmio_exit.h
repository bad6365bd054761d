/* The MMIO exit path: a guest access to a device region, decoded, emulated, dispatched. */
#ifndef MHV_ARCH_X86_MMIO_EXIT_H
#define MHV_ARCH_X86_MMIO_EXIT_H

#include <stdint.h>

struct vcpu;

/* The guest touched gpa, which lies in an MMIO region: emulate the instruction at RIP. */
void vcpu_mmio_exit(struct vcpu *v, uint64_t gpa);

#endif
