/* CPUID: mhv's own leaves, and the virtualization bits it hides from the guest. */
#include "core/hypercall_abi.h"
#include "tests/guest/cpu.h"
#include "tests/guest/hv.h"
#include "tests/guest/report.h"
#include "tests/guest/tests.h"

#define CPUID_FEATURES	   1
#define CPUID1_ECX_VMX	   (1u << 5)
#define CPUID1_ECX_HV	   (1u << 31)
#define CPUID_EXT_MAX	   0x80000000
#define CPUID_EXT_FEATURES 0x80000001
#define CPUID81_ECX_SVM	   (1u << 2)
#define MHV_VERSION	   MHV_VERSION_CODE
#define CPUID_BURST	   3 /* CPUIDs run between two exit-count reads */

static bool same_regs(const struct cpuid_regs *a, const struct cpuid_regs *b)
{
	return a->eax == b->eax && a->ebx == b->ebx && a->ecx == b->ecx && a->edx == b->edx;
}

static void test_mhv_leaves(void)
{
	struct cpuid_regs base = cpuid(MHV_CPUID_BASE), ver = cpuid(MHV_CPUID_VERSION);
	uint32_t before, after;

	check_eq("cpuid: 0x40000000 EAX is mhv's highest leaf", base.eax, MHV_CPUID_MAX);
	check_eq("cpuid: 0x40000001 EAX is mhv's version", ver.eax, MHV_VERSION);

	/* Every CPUID must exit (mhv edits its results), and each exit counts once. */
	before = hv_exit_count(EXIT_KIND_CPUID);
	for (int i = 0; i < CPUID_BURST; i++)
		cpuid(CPUID_FEATURES);
	after = hv_exit_count(EXIT_KIND_CPUID);
	check_eq("cpuid: each CPUID counts one CPUID exit", after - before, CPUID_BURST);
}

void test_cpuid(void)
{
	struct cpuid_regs l0 = cpuid(0), l1 = cpuid(CPUID_FEATURES);
	struct cpuid_regs l0b = cpuid(0), l1b = cpuid(CPUID_FEATURES);
	uint32_t ext_max = cpuid(CPUID_EXT_MAX).eax;

	gprintf("guest: CPU vendor %s, max leaf 0x%x, max extended leaf 0x%x\n", cpu_vendor_name(),
		l0.eax, ext_max);
	check(cpu_vendor() != VENDOR_OTHER, "cpuid: vendor is GenuineIntel or AuthenticAMD",
	      "vendor %.4s%.4s%.4s", (const char *)&l0.ebx, (const char *)&l0.edx,
	      (const char *)&l0.ecx);
	check(same_regs(&l0, &l0b) && same_regs(&l1, &l1b), "cpuid: leaves 0 and 1 are stable",
	      "leaf 1 EAX 0x%x then 0x%x", l1.eax, l1b.eax);
	check(!(l1.ecx & CPUID1_ECX_VMX), "cpuid: CPUID.1:ECX.VMX is clear", "ECX 0x%x", l1.ecx);
	check(l1.ecx & CPUID1_ECX_HV, "cpuid: CPUID.1:ECX.hypervisor is set", "ECX 0x%x", l1.ecx);
	if (ext_max >= CPUID_EXT_FEATURES) {
		uint32_t ecx = cpuid(CPUID_EXT_FEATURES).ecx;

		check(!(ecx & CPUID81_ECX_SVM), "cpuid: CPUID.80000001h:ECX.SVM is clear",
		      "ECX 0x%x", ecx);
	}
	if (hv_present())
		test_mhv_leaves();
}
