/* The guest's CPUID policy from the hardware's CPUID (see cpuid_guest.h). */
#include "core/cpuid_guest.h"
#include "arch/x86/cpu.h"
#include "lib/log.h"

#define EXT_LEAF_BASE 0x80000000u

static struct cpuid_guest_env env;
static struct cpuid_policy policy;

static bool hw_query(void *ctx, uint32_t leaf, uint32_t subleaf, uint32_t out[CPUID_NR_REGS])
{
	uint32_t base = leaf & EXT_LEAF_BASE;
	struct cpuid_regs r;

	(void)ctx;
	if (leaf > cpuid(base).eax)
		return false;
	r = cpuid_count(leaf, subleaf);
	out[CPUID_REG_EAX] = r.eax;
	out[CPUID_REG_EBX] = r.ebx;
	out[CPUID_REG_ECX] = r.ecx;
	out[CPUID_REG_EDX] = r.edx;
	return true;
}

void cpuid_guest_init(uint32_t controls, uint64_t cr4_possible)
{
	struct cpuid_source hw = {hw_query, NULL};

	env = (struct cpuid_guest_env){.cr4 = cpuid_cr4_allowed(&hw) & cr4_possible,
				       .efer = cpuid_efer_allowed(&hw),
				       .xcr0 = cpuid_xcr0_allowed(&hw),
				       .controls = controls};
	cpuid_policy_build(&policy, &env);
	for (unsigned i = 0; i < nr_cpuid_features; i++) {
		const struct cpuid_feature *f = &cpuid_features[i];
		uint32_t r[CPUID_NR_REGS];

		if (hw_query(NULL, f->leaf, f->subleaf, r) && (r[f->reg] & (1u << f->bit)) &&
		    !cpuid_feature_usable(f, &env))
			pr_debug("mhv: CPUID: %s hidden from the guest (mhv cannot make it work)\n",
				 f->name);
	}
}

uint64_t cpuid_guest_cr4_allowed(void)
{
	return env.cr4;
}

uint64_t cpuid_guest_efer_allowed(void)
{
	return env.efer;
}

const struct cpuid_policy *cpuid_guest_policy(void)
{
	return &policy;
}
