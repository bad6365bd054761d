/*
 * MSR virtualization.  Every MSR exits unless it is on msr_passthrough[] (the hot ones that
 * are harmless in the guest's hands, many of them switched with the guest by the VMCS/VMCB
 * anyway).  An MSR that exits is, in this order:
 *  - mhv's own: the guest must not see or enable VMX/SVM (IA32_FEATURE_CONTROL, the VMX
 *    capability MSRs, EFER.SVME, VM_CR, VM_HSAVE_PA), nor move the local APIC over mhv's
 *    memory (IA32_APIC_BASE), nor start another CPU (x2APIC ICR); EFER lives in the
 *    VMCS/VMCB, so it always goes through the backend;
 *  - virtualised: the MTRRs (msr_mtrr.c) and IA32_MISC_ENABLE (a shadow: XD disable, fast
 *    strings and the other platform bits never reach the hardware);
 *  - on the reviewed allow-list (msr_rules.c): hardware, read-only, guarded or ignored;
 *  - unknown: #GP, as on a CPU without it, with a log line.
 * Log lines a guest can provoke at will are limited (lib/log_limit.h).
 */
#include "core/msr_policy.h"
#include "arch/x86/cpu.h"
#include "arch/x86/exception.h"
#include "arch/x86/msr.h"
#include "core/apic_guard.h"
#include "core/cpuid_guest.h"
#include "core/msr_mtrr.h"
#include "core/msr_rules.h"
#include "core/vcpu.h"
#include "lib/compiler.h"
#include "lib/log.h"
#include "lib/log_limit.h"

#define MSR_IA32_TSC	       0x00000010
#define MSR_IA32_APIC_BASE     0x0000001B
#define MSR_IA32_SPEC_CTRL     0x00000048
#define MSR_IA32_PRED_CMD      0x00000049
#define MSR_IA32_FLUSH_CMD     0x0000010B
#define MSR_IA32_SYSENTER_CS   0x00000174
#define MSR_IA32_SYSENTER_EIP  0x00000176
#define MSR_IA32_DEBUGCTL      0x000001D9
#define MSR_IA32_PAT	       0x00000277
#define MSR_IA32_TSC_DEADLINE  0x000006E0
#define MSR_X2APIC_FIRST       0x00000800
#define MSR_X2APIC_LAST	       0x000008FF
#define MSR_X2APIC_LVT_CMCI    0x0000082F /* x2APIC LVTs with a delivery mode (apic_guard) */
#define MSR_X2APIC_LVT_THERMAL 0x00000833
#define MSR_X2APIC_LVT_LINT1   0x00000836
#define MSR_STAR	       0xC0000081
#define MSR_SFMASK	       0xC0000084
#define MSR_FS_BASE	       0xC0000100
#define MSR_TSC_AUX	       0xC0000103
#define APIC_BASE_ADDR_MASK    0x000FFFFFFFFFF000ull
#define APIC_BASE_X2APIC       (1ull << 10)
#define APIC_MMIO_SIZE	       0x1000
#define MSR_VMX_FIRST	       MSR_IA32_VMX_BASIC
#define MSR_VMX_LAST	       0x00000491
#define FEATURE_CONTROL_VMX    (FEATURE_CONTROL_VMX_IN_SMX | FEATURE_CONTROL_VMX_OUTSIDE)

/*
 * Straight to the hardware.  Syscall/sysenter, segment bases and TSC_AUX are guest state the
 * VMCS/VMCB switch (or SVM's VMLOAD/VMSAVE); PAT is the guest's own (VMCS guest PAT / VMCB
 * G_PAT), the CPU itself #GPs on invalid types; the speculation controls only affect the
 * guest's own execution; DEBUGCTL is the VMCS's under VT-x and, under SVM, holds only LBR,
 * BTF and the PMC pin bits, none of which reaches mhv's memory (README); the
 * x2APIC registers are the guest's APIC except writes to the ICR and to the LVTs that have a
 * delivery mode (apic_guard).
 */
const struct msr_range msr_passthrough[] = {
	{MSR_IA32_TSC, MSR_IA32_TSC, true, false},
	{MSR_IA32_APIC_BASE, MSR_IA32_APIC_BASE, true, false},
	{MSR_IA32_SPEC_CTRL, MSR_IA32_PRED_CMD, true, true},
	{MSR_IA32_FLUSH_CMD, MSR_IA32_FLUSH_CMD, true, true},
	{MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_EIP, true, true},
	{MSR_IA32_DEBUGCTL, MSR_IA32_DEBUGCTL, true, true},
	{MSR_IA32_PAT, MSR_IA32_PAT, true, true},
	{MSR_IA32_TSC_DEADLINE, MSR_IA32_TSC_DEADLINE, true, true},
	{MSR_X2APIC_FIRST, MSR_X2APIC_LVT_CMCI - 1, true, true},
	{MSR_X2APIC_LVT_CMCI, MSR_X2APIC_ICR, true, false},
	{MSR_X2APIC_ICR + 1, MSR_X2APIC_LVT_THERMAL - 1, true, true},
	{MSR_X2APIC_LVT_THERMAL, MSR_X2APIC_LVT_LINT1, true, false},
	{MSR_X2APIC_LVT_LINT1 + 1, MSR_X2APIC_LAST, true, true},
	{MSR_STAR, MSR_SFMASK, true, true},
	{MSR_FS_BASE, MSR_TSC_AUX, true, true},
};
const unsigned nr_msr_passthrough = ARRAY_SIZE(msr_passthrough);

static struct log_limit unknown_log, refused_log, ignored_log, misc_enable_log;

static struct {
	bool present;
	uint64_t hw, guest;
} misc_enable;

bool msr_policy_init(void)
{
	if (!msr_rules_sorted()) {
		pr_err("mhv: FATAL: the MSR allow-list (msr_rules.c) is out of order\n");
		return false;
	}
	misc_enable.present = rdmsr_safe(MSR_IA32_MISC_ENABLE, &misc_enable.hw);
	misc_enable.guest = misc_enable.hw;
	mtrr_init();
	return true;
}

static bool wrmsr_safe(uint32_t msr, uint64_t val)
{
	bool ok = true;

	asm volatile("1: wrmsr\n"
		     "2:\n" EXTABLE_ENTRY(1b, 3f) ".pushsection .text.fixup, \"ax\"\n"
						  "3: movb $0, %[ok]\n\t"
						  "jmp 2b\n"
						  ".popsection\n"
		     : [ok] "+qm"(ok)
		     : "c"(msr), "a"((uint32_t)val), "d"((uint32_t)(val >> 32))
		     : "memory");
	return ok;
}

static bool hidden_msr(uint32_t msr)
{
	return (msr >= MSR_VMX_FIRST && msr <= MSR_VMX_LAST) || msr == MSR_VM_CR ||
	       msr == MSR_VM_HSAVE_PA;
}

static bool passthrough_msr(uint32_t msr, bool write)
{
	for (unsigned i = 0; i < nr_msr_passthrough; i++)
		if (msr >= msr_passthrough[i].first && msr <= msr_passthrough[i].last)
			return write ? msr_passthrough[i].write : msr_passthrough[i].read;
	return false;
}

/* Rules for MSRs that are not mhv's own. */
static bool rule_read(struct vcpu *v, uint32_t msr, uint64_t *val)
{
	if (msr_is_mtrr(msr))
		return mtrr_read(msr, val);
	if (msr == MSR_IA32_MISC_ENABLE) {
		*val = misc_enable.guest;
		return misc_enable.present;
	}
	if (msr_rule_lookup(msr) != MSR_RULE_UNKNOWN || passthrough_msr(msr, false))
		return rdmsr_safe(msr, val);
	if (log_limit_allow(&unknown_log, "accesses to unknown MSRs"))
		pr_warn("mhv: guest read MSR 0x%x, not on mhv's allow-list: #GP (RIP 0x%lx)\n",
			msr, v->ops->get_rip(v));
	return false;
}

bool msr_policy_read(struct vcpu *v, uint32_t msr, uint64_t *val)
{
	if (hidden_msr(msr))
		return false;
	switch (msr) {
	case MSR_EFER:
		*val = v->ops->get_efer(v);
		return true;
	case MSR_IA32_FEATURE_CONTROL:
		/* Locked, VMX off: what firmware that disabled VT-x would leave. */
		if (!rdmsr_safe(msr, val))
			return false;
		*val = (*val & ~FEATURE_CONTROL_VMX) | FEATURE_CONTROL_LOCK;
		return true;
	default:
		return rule_read(v, msr, val);
	}
}

static bool write_efer(struct vcpu *v, uint64_t val)
{
	uint64_t old = v->ops->get_efer(v);

	/* What this CPU has and mhv virtualises (lib/cpuid_policy.c): never SVME (SVM is
	 * hidden), FFXSR on AMD only (Intel would refuse VM entry), AutoIBRS where offered. */
	if (val & ~(cpuid_guest_efer_allowed() | EFER_LMA))
		return false;
	/* LME cannot change while paging is on; LMA is the CPU's to set. */
	if (((old ^ val) & EFER_LME) && (v->ops->get_cr(v, 0) & CR0_PG))
		return false;
	v->ops->set_efer(v, (val & ~EFER_LMA) | (old & EFER_LMA));
	/* NXE changes what every translation allows: a paging-mode change. */
	if ((old ^ val) & EFER_NXE)
		vcpu_guest_tlb_flush(v, FLUSH_PAGING_MODE, 0);
	return true;
}

static bool write_misc_enable(struct vcpu *v, uint64_t val)
{
	if (!misc_enable.present)
		return false;
	if (val != misc_enable.guest && val != misc_enable.hw &&
	    log_limit_allow(&misc_enable_log, "MISC_ENABLE writes"))
		pr_warn("mhv: guest wrote IA32_MISC_ENABLE 0x%lx%s: kept in mhv's copy, the "
			"hardware keeps 0x%lx (RIP 0x%lx)\n",
			val, (val ^ misc_enable.hw) & MISC_ENABLE_XD_DISABLE ? " (XD disable)" : "",
			misc_enable.hw, v->ops->get_rip(v));
	misc_enable.guest = val;
	return true;
}

static bool rule_write(struct vcpu *v, uint32_t msr, uint64_t val)
{
	uint64_t cur;

	if (msr_is_mtrr(msr))
		return mtrr_write(msr, val);
	if (msr == MSR_IA32_MISC_ENABLE)
		return write_misc_enable(v, val);
	switch (msr_rule_lookup(msr)) {
	case MSR_RULE_HW:
		return wrmsr_safe(msr, val);
	case MSR_RULE_READ_ONLY:
		return false;
	case MSR_RULE_GUARDED:
		if (rdmsr_safe(msr, &cur) && cur == val)
			return true; /* nothing changes */
		if (log_limit_allow(&refused_log, "refused MSR writes"))
			pr_warn("mhv: guest wrote 0x%lx to MSR 0x%x (platform configuration under "
				"mhv): refused, #GP (RIP 0x%lx)\n",
				val, msr, v->ops->get_rip(v));
		return false;
	case MSR_RULE_IGNORED:
		if (log_limit_allow(&ignored_log, "microcode loads"))
			pr_warn("mhv: guest tried to load microcode (MSR 0x%x): ignored\n", msr);
		return true;
	case MSR_RULE_UNKNOWN:
		break;
	}
	if (passthrough_msr(msr, true))
		return wrmsr_safe(msr, val);
	if (log_limit_allow(&unknown_log, "accesses to unknown MSRs"))
		pr_warn("mhv: guest wrote MSR 0x%x, not on mhv's allow-list: #GP (RIP 0x%lx)\n",
			msr, v->ops->get_rip(v));
	return false;
}

bool msr_policy_hw_value(uint32_t msr, uint64_t *val)
{
	if (!msr_is_mtrr(msr) && msr != MSR_IA32_MISC_ENABLE)
		return false;
	return rdmsr_safe(msr, val);
}

bool msr_policy_write(struct vcpu *v, uint32_t msr, uint64_t val)
{
	if (hidden_msr(msr))
		return false;
	switch (msr) {
	case MSR_EFER:
		return write_efer(v, val);
	case MSR_IA32_FEATURE_CONTROL:
		return false; /* locked */
	case MSR_X2APIC_ICR: {
		uint64_t send;

		/* Not in x2APIC mode: the hardware's #GP.  Otherwise only IPIs to this CPU go. */
		if (!(rdmsr(MSR_IA32_APIC_BASE) & APIC_BASE_X2APIC))
			return false;
		if (!apic_guard_x2apic_icr(val, &send))
			return true;
		return wrmsr_safe(msr, send);
	}
	case MSR_X2APIC_LVT_CMCI:
	case MSR_X2APIC_LVT_THERMAL ... MSR_X2APIC_LVT_LINT1:
		/* No SMI or INIT from the guest's own APIC (apic_guard); the rest as written. */
		if (!(rdmsr(MSR_IA32_APIC_BASE) & APIC_BASE_X2APIC))
			return false;
		if (!apic_guard_lvt_write(apic_guard_x2apic_lvt_offset(msr), (uint32_t)val))
			return true;
		return wrmsr_safe(msr, val);
	case MSR_IA32_APIC_BASE: {
		uint64_t base = val & APIC_BASE_ADDR_MASK;
		/* mhv traps the APIC page where it is; moving it would bypass the guard. */
		if (apic_guard_base() && base != apic_guard_base()) {
			pr_warn("mhv: guest tried to move the local APIC to 0x%lx: #GP\n", base);
			return false;
		}
		if (base + APIC_MMIO_SIZE > v->hv_start && base < v->hv_end) {
			pr_warn("mhv: guest tried to move the local APIC into mhv's memory "
				"(0x%lx): #GP\n",
				base);
			return false;
		}
		if (!wrmsr_safe(msr, val))
			return false;
		/* What the CPU made of it (some keep a globally disabled APIC off). */
		apic_guard_base_written(rdmsr(MSR_IA32_APIC_BASE));
		return true;
	}
	default:
		return rule_write(v, msr, val);
	}
}
