/*
 * CPUID promises only what mhv lets the guest do.  One table names each CPUID feature bit
 * that needs something from mhv before it works in the guest: a CR4 bit the CR4 validator must
 * accept, an EFER bit the EFER validator must accept, XCR0 components XSETBV must accept, or a
 * virtualization control the backend must have enabled (VMX secondary controls).  A feature
 * whose need is not met is cleared from the guest's CPUID; some are never shown (VMX, SMX).
 * The validators themselves are computed here from the CPU's own CPUID, so the table, the
 * validators and the guest's view are derived from one source and checked against each other
 * by tests/unit/test_cpuid_policy.c on CPUID dumps of real CPUs.
 *
 * Plain C: compiled into mhv (core/cpuid_guest.c, exit_cr.c, msr_policy.c) and the host
 * tests.
 */
#ifndef MHV_LIB_CPUID_POLICY_H
#define MHV_LIB_CPUID_POLICY_H

#include <stdbool.h>
#include <stdint.h>

enum cpuid_reg { CPUID_REG_EAX, CPUID_REG_EBX, CPUID_REG_ECX, CPUID_REG_EDX, CPUID_NR_REGS };

enum cpuid_need {
	NEED_CR4,     /* what: CR4 bits the guest must be able to set */
	NEED_EFER,    /* what: EFER bits the guest must be able to set */
	NEED_XCR0,    /* what: XCR0 components the guest must be able to enable */
	NEED_CONTROL, /* what: CPUID_CTL_* the backend must have enabled */
};

/* Virtualization controls a feature depends on (VMX secondary controls; SVM has them all). */
#define CPUID_CTL_RDTSCP  (1u << 0) /* "enable RDTSCP": RDTSCP and RDPID, else #UD */
#define CPUID_CTL_INVPCID (1u << 1) /* "enable INVPCID", else #UD */
#define CPUID_CTL_XSAVES  (1u << 2) /* "enable XSAVES/XRSTORS", else #UD */
#define CPUID_CTL_WAITPKG (1u << 3) /* "enable user wait and pause": TPAUSE/UMWAIT, else #UD */

struct cpuid_feature {
	uint32_t leaf, subleaf;
	enum cpuid_reg reg;
	uint8_t bit;
	enum cpuid_need need;
	uint64_t what;
	const char *name;
};

extern const struct cpuid_feature cpuid_features[];
extern const unsigned nr_cpuid_features;

/* A CPU's CPUID (the hardware, or a dump in a test): false for a leaf it does not have. */
struct cpuid_source {
	bool (*query)(void *ctx, uint32_t leaf, uint32_t subleaf, uint32_t out[CPUID_NR_REGS]);
	void *ctx;
};

/* The validators' inputs, from the CPU's CPUID: what the guest may set in CR4 (never VMXE,
 * SMXE or a bit mhv does not virtualise), in EFER (never SVME; FFXSR on AMD only), in XCR0. */
uint64_t cpuid_cr4_allowed(const struct cpuid_source *s);
uint64_t cpuid_efer_allowed(const struct cpuid_source *s);
uint64_t cpuid_xcr0_allowed(const struct cpuid_source *s);

/* What the guest can use: the validators above and the backend's enabled controls. */
struct cpuid_guest_env {
	uint64_t cr4, efer, xcr0;
	uint32_t controls;
};

/* Does env meet feature f's need? */
bool cpuid_feature_usable(const struct cpuid_feature *f, const struct cpuid_guest_env *env);

/* Per leaf, the bits to clear from the guest's view; computed once, applied on CPUID exits. */
#define CPUID_POLICY_MAX_LEAVES 8
struct cpuid_policy {
	struct {
		uint32_t leaf, subleaf;
		uint32_t clear[CPUID_NR_REGS];
	} leaf[CPUID_POLICY_MAX_LEAVES];
	unsigned n;
};

void cpuid_policy_build(struct cpuid_policy *p, const struct cpuid_guest_env *env);
/* Clear what the guest cannot use from regs (the CPU's answer for leaf/subleaf). */
void cpuid_policy_apply(const struct cpuid_policy *p, uint32_t leaf, uint32_t subleaf,
			uint32_t regs[CPUID_NR_REGS]);

#endif
