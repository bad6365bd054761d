/*
 * Which MSRs mhv steps in for, and what the guest sees there.  Everything else passes
 * through to the hardware.  Both backends build their MSR bitmaps from msr_intercepts[].
 */
#ifndef MHV_ARCH_X86_MSR_POLICY_H
#define MHV_ARCH_X86_MSR_POLICY_H

#include <stdbool.h>
#include <stdint.h>

struct vcpu;

struct msr_intercept {
	uint32_t first, last;
	bool read, write;
};

extern const struct msr_intercept msr_intercepts[];
extern const unsigned nr_msr_intercepts;

/* Guest RDMSR/WRMSR that exited; false means the guest gets #GP. */
bool msr_policy_read(struct vcpu *v, uint32_t msr, uint64_t *val);
bool msr_policy_write(struct vcpu *v, uint32_t msr, uint64_t val);

#endif
