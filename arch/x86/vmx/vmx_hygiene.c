/* VMCS and TLB hygiene before the first VMLAUNCH (see vmx_hygiene.h). */
#include "arch/x86/vmx/vmx_hygiene.h"
#include "arch/x86/vmx/vmcs.h"
#include "arch/x86/vmx/vmx_defs.h"
#include "core/run_end.h"
#include "lib/log.h"

bool vmx_vpid_flushable(uint64_t cap)
{
	return (cap & VPID_CAP_INVVPID) && (cap & (VPID_CAP_INVVPID_SINGLE | VPID_CAP_INVVPID_ALL));
}

void vmx_write_idle_fields(uint32_t proc2)
{
	vmwrite32(VMCS_ENTRY_INTR_INFO, 0); /* bit 31 clear: nothing to inject */
	vmwrite32(VMCS_ENTRY_EXCEPTION_ERROR, 0);
	vmwrite32(VMCS_ENTRY_INSN_LEN, 0);
	vmwrite32(VMCS_EXIT_MSR_STORE_COUNT, 0);
	vmwrite32(VMCS_EXIT_MSR_LOAD_COUNT, 0);
	vmwrite32(VMCS_ENTRY_MSR_LOAD_COUNT, 0);
	/* Mask 0, match 0: every #PF matches, so the exception bitmap's bit 14 alone decides
	 * (clear: the guest's page faults never exit). */
	vmwrite32(VMCS_PF_ERROR_MASK, 0);
	vmwrite32(VMCS_PF_ERROR_MATCH, 0);
	vmwrite64(VMCS_TSC_OFFSET, 0);
	if (proc2 & PROC2_XSAVES)
		vmwrite64(VMCS_XSS_EXIT_BITMAP, 0); /* XSAVES/XRSTORS never exit */
}

/* Both take a 128-bit descriptor in memory and the type in a register; CF or ZF = VMfail. */
static bool invept(uint64_t type, uint64_t eptp)
{
	struct {
		uint64_t eptp, zero;
	} desc = {eptp, 0};
	bool fail;

	asm volatile("invept %[d], %[t]" : "=@ccbe"(fail) : [d] "m"(desc), [t] "r"(type) : "memory");
	return !fail;
}

static bool invvpid_checked(uint64_t type, uint16_t vpid)
{
	struct {
		uint64_t vpid, la;
	} desc = {vpid, 0};
	bool fail;

	asm volatile("invvpid %[d], %[t]" : "=@ccbe"(fail) : [d] "m"(desc), [t] "r"(type) : "memory");
	return !fail;
}

static void __noreturn hygiene_fatal(const char *what, uint64_t cap)
{
	pr_err("mhv: VMX: FATAL: %s (IA32_VMX_EPT_VPID_CAP 0x%lx)\n", what, cap);
	hv_end_run(HV_STATUS_FAIL);
}

void vmx_flush_stale_translations(uint64_t cap, uint64_t eptp, bool vpid, uint16_t guest_vpid)
{
	bool ept_all = cap & EPT_CAP_INVEPT_ALL, vpid_all = cap & VPID_CAP_INVVPID_ALL;

	if (!(cap & EPT_CAP_INVEPT) || !(cap & (EPT_CAP_INVEPT_ALL | EPT_CAP_INVEPT_SINGLE)))
		hygiene_fatal("INVEPT is not offered: stale EPT translations cannot be dropped", cap);
	if (!invept(ept_all ? INVEPT_ALL : INVEPT_SINGLE, eptp))
		hygiene_fatal("INVEPT failed (VMfail)", cap);
	if (vpid && !invvpid_checked(vpid_all ? INVVPID_ALL : INVVPID_SINGLE, guest_vpid))
		hygiene_fatal("INVVPID failed (VMfail)", cap);
	pr_info("mhv: VMX: stale translations dropped: INVEPT %s%s\n",
		ept_all ? "all-context" : "single-context",
		!vpid ? ", VPID off"
		: vpid_all ? ", INVVPID all-context"
			   : ", INVVPID single-context");
}
