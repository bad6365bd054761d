/*
 * The FADT reset register when it lives in system memory: its page is trapped like an mmio=
 * region, accesses pass through to the device, and a write of RESET_VALUE ends the run.
 */
#ifndef MHV_CORE_PLATFORM_RESET_MMIO_H
#define MHV_CORE_PLATFORM_RESET_MMIO_H

#include <stdbool.h>

struct mmio_regions;

/* Register the trap if the FADT names a memory reset register; false only on a bug. */
bool platform_reset_mmio_setup(struct mmio_regions *regions);

#endif
