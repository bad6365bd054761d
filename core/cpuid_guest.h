/*
 * The guest's CPUID policy on this CPU (lib/cpuid_policy.h): the CR4/EFER/XCR0 the guest may
 * use and the CPUID bits it sees, from the hardware's CPUID and the controls the backend
 * enabled.  cpuid_guest_init() runs once before the guest starts.
 */
#ifndef MHV_CORE_CPUID_GUEST_H
#define MHV_CORE_CPUID_GUEST_H

#include <stdint.h>

#include "lib/cpuid_policy.h"

/* controls: CPUID_CTL_* the backend enabled; cr4_possible: the CR4 bits the guest's CR4 can
 * hold at all (VMX: IA32_VMX_CR4_FIXED1; SVM: all). */
void cpuid_guest_init(uint32_t controls, uint64_t cr4_possible);
uint64_t cpuid_guest_cr4_allowed(void);
uint64_t cpuid_guest_efer_allowed(void);
const struct cpuid_policy *cpuid_guest_policy(void);

#endif
