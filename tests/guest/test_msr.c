/* MSRs: the VMX/SVM control MSRs mhv hides, and ordinary ones it passes through. */
#include "arch/x86/msr.h"
#include "core/hypercall_abi.h"
#include "lib/fmt.h"
#include "tests/guest/cpu.h"
#include "tests/guest/hv.h"
#include "tests/guest/report.h"
#include "tests/guest/tests.h"
#include "tests/guest/trap.h"

#define VMX_CAP_FIRST	  0x480
#define VMX_CAP_LAST	  0x491
#define MSR_UNIMPLEMENTED 0xDEADBEEF /* in no architectural or model-specific range */
#define FC_VMX_BITS                                                                                \
	(FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMX_IN_SMX | FEATURE_CONTROL_VMX_OUTSIDE)
/* PAT with entry 7 changed from UC (0) to WC (1): a value nothing maps through, safe to try. */
#define PAT_TEST_VALUE_PA7 (1ull << 56)
#define PAT_PA7_MASK	   (0xffull << 56)
#define WHAT_LEN	   64

static void test_feature_control(void)
{
	struct fault f;
	uint64_t fc = 0;
	uint32_t before = 0, after;

	if (hv_present())
		before = hv_exit_count(EXIT_KIND_MSR_READ);
	try_rdmsr(MSR_IA32_FEATURE_CONTROL, &fc, &f);
	if (hv_present()) {
		after = hv_exit_count(EXIT_KIND_MSR_READ);
		check_eq("msr: RDMSR FEATURE_CONTROL counts one MSR-read exit", after - before, 1);
	}
	check_no_fault("msr: RDMSR IA32_FEATURE_CONTROL succeeds", &f);
	check_eq("msr: IA32_FEATURE_CONTROL is locked with VMX off", fc & FC_VMX_BITS,
		 FEATURE_CONTROL_LOCK);

	if (hv_present())
		before = hv_exit_count(EXIT_KIND_MSR_WRITE);
	try_wrmsr(MSR_IA32_FEATURE_CONTROL, fc, &f);
	if (hv_present()) {
		after = hv_exit_count(EXIT_KIND_MSR_WRITE);
		check_eq("msr: WRMSR FEATURE_CONTROL counts one MSR-write exit", after - before, 1);
	}
	check_fault("msr: WRMSR IA32_FEATURE_CONTROL raises #GP", &f, VEC_GP);
}

static void test_vmx_caps(void)
{
	char what[WHAT_LEN];
	struct fault f;
	uint64_t val;

	for (uint32_t msr = VMX_CAP_FIRST; msr <= VMX_CAP_LAST; msr++) {
		fmt_snprintf(what, sizeof(what), "msr: RDMSR 0x%x (VMX capability) raises #GP",
			     msr);
		try_rdmsr(msr, &val, &f);
		check_fault(what, &f, VEC_GP);
	}
}

static void test_efer(void)
{
	struct fault f;
	uint64_t efer = 0, after = 0;

	try_rdmsr(MSR_EFER, &efer, &f);
	check_no_fault("msr: RDMSR EFER succeeds", &f);
	try_wrmsr(MSR_EFER, efer, &f);
	check_no_fault("msr: WRMSR EFER with its own value succeeds", &f);
	try_wrmsr(MSR_EFER, efer | EFER_SVME, &f);
	check_fault("msr: WRMSR EFER with SVME raises #GP", &f, VEC_GP);
	try_rdmsr(MSR_EFER, &after, &f);
	check_eq("msr: EFER unchanged by the refused write", after, efer);
	if (after != efer)
		try_wrmsr(MSR_EFER, efer, &f);
}

static void test_svm_msrs(void)
{
	struct fault f;
	uint64_t val;

	try_rdmsr(MSR_VM_CR, &val, &f);
	check_fault("msr: RDMSR VM_CR raises #GP", &f, VEC_GP);
	try_wrmsr(MSR_VM_CR, 0, &f);
	check_fault("msr: WRMSR VM_CR raises #GP", &f, VEC_GP);
	try_rdmsr(MSR_VM_HSAVE_PA, &val, &f);
	check_fault("msr: RDMSR VM_HSAVE_PA raises #GP", &f, VEC_GP);
	try_wrmsr(MSR_VM_HSAVE_PA, 0, &f);
	check_fault("msr: WRMSR VM_HSAVE_PA raises #GP", &f, VEC_GP);
}

/* MSRs mhv does not own behave as on bare metal. */
static void test_passthrough(void)
{
	struct fault f;
	uint64_t pat = 0, val = 0, want;

	/* The guest runs on the boot CPU, which firmware left with its local APIC enabled. */
	try_rdmsr(MSR_IA32_APIC_BASE, &val, &f);
	check_eq("msr: IA32_APIC_BASE has the BSP and enable flags",
		 val & (APIC_BASE_BSP | APIC_BASE_EN), APIC_BASE_BSP | APIC_BASE_EN);

	try_rdmsr(MSR_IA32_PAT, &pat, &f);
	want = (pat & ~PAT_PA7_MASK) | PAT_TEST_VALUE_PA7;
	try_wrmsr(MSR_IA32_PAT, want, &f);
	try_rdmsr(MSR_IA32_PAT, &val, &f);
	check_eq("msr: IA32_PAT write reads back", val, want);
	try_wrmsr(MSR_IA32_PAT, pat, &f);
	try_rdmsr(MSR_IA32_PAT, &val, &f);
	check_eq("msr: IA32_PAT restored", val, pat);

	/*
	 * Under mhv an MSR off its allow-list always gets #GP.  Natively, QEMU's TCG CPU
	 * raises none for unknown MSRs (it reads 0): there the check is for CPUs that fault
	 * (real ones, Bochs with ignore_bad_msrs=0).
	 */
	try_rdmsr(MSR_UNIMPLEMENTED, &val, &f);
	if (!hv_present() && cpu_is_qemu_tcg())
		gprintf("guest: msr: unimplemented MSR not checked: QEMU TCG never faults on it\n");
	else
		check_fault("msr: RDMSR of an unimplemented MSR raises #GP", &f, VEC_GP);
}

void test_msrs(void)
{
	test_feature_control();
	test_vmx_caps();
	test_efer();
	test_svm_msrs();
	test_passthrough();
}
