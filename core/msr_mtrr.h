/* The guest's MTRRs, kept by mhv and never written to the hardware (msr_mtrr.c). */
#ifndef MHV_CORE_MSR_MTRR_H
#define MHV_CORE_MSR_MTRR_H

#include <stdbool.h>
#include <stdint.h>

/* Take the guest's initial view from the hardware (before the guest runs). */
void mtrr_init(void);
/* MTRRCAP, MTRR_DEF_TYPE, a fixed-range or a variable-range MTRR number? */
bool msr_is_mtrr(uint32_t msr);
/* The guest's view; false means #GP (no such register on this CPU, reserved bits, bad type). */
bool mtrr_read(uint32_t msr, uint64_t *val);
bool mtrr_write(uint32_t msr, uint64_t val);

#endif
