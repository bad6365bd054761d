/* The MMIO exit path: a guest access to a device region, decoded, emulated, dispatched. */
#ifndef MHV_ARCH_X86_MMIO_EXIT_H
#define MHV_ARCH_X86_MMIO_EXIT_H

#include <stdint.h>

struct vcpu;
struct mmio_region;

/* The guest touched a page of this MMIO region: emulate the instruction at RIP. */
void vcpu_mmio_exit(struct vcpu *v, const struct mmio_region *region);

#endif
