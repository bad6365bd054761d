/*
 * Which MSRs mhv steps in for, and what the guest sees there.  The MSR bitmaps (VMX) and the
 * permission map (SVM) start with every MSR intercepted; both backends then clear the bits of
 * msr_passthrough[], the hot MSRs that are harmless to hand to the guest.  Everything else
 * exits to msr_policy_read/write: mhv's own handlers, the MTRR shadow, and the reviewed
 * allow-list in msr_rules.c; an MSR on none of them gets #GP.
 */
#ifndef MHV_CORE_MSR_POLICY_H
#define MHV_CORE_MSR_POLICY_H

#include <stdbool.h>
#include <stdint.h>

struct vcpu;

/* MSRs first..last: reads (read) and/or writes (write) go straight to the hardware. */
struct msr_range {
	uint32_t first, last;
	bool read, write;
};

extern const struct msr_range msr_passthrough[];
extern const unsigned nr_msr_passthrough;

/* Check the allow-list and take the shadows' initial values; false: cannot run a guest. */
bool msr_policy_init(void);
/* Guest RDMSR/WRMSR that exited; false means the guest gets #GP. */
bool msr_policy_read(struct vcpu *v, uint32_t msr, uint64_t *val);
bool msr_policy_write(struct vcpu *v, uint32_t msr, uint64_t val);
/* The hardware's value of an MSR mhv virtualises (MTRRs, MISC_ENABLE), for HC_HW_MSR. */
bool msr_policy_hw_value(uint32_t msr, uint64_t *val);

#endif
