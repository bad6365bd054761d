/*
 * MSR virtualization.  The guest must not see or enable VMX/SVM (IA32_FEATURE_CONTROL, the
 * VMX capability MSRs, EFER.SVME, VM_CR, VM_HSAVE_PA) nor move the local APIC over mhv's
 * memory (IA32_APIC_BASE).  EFER lives in the VMCS/VMCB, so it always goes through the
 * backend.  Any other MSR that exits (outside the bitmap ranges) passes through; a #GP from
 * the hardware becomes the guest's #GP.
 */
#include "arch/x86/msr_policy.h"
#include "arch/x86/apic_guard.h"
#include "arch/x86/cpu.h"
#include "arch/x86/exception.h"
#include "arch/x86/msr.h"
#include "arch/x86/vcpu.h"
#include "lib/compiler.h"
#include "lib/log.h"

#define MSR_IA32_APIC_BASE  0x0000001B
#define APIC_BASE_ADDR_MASK 0x000FFFFFFFFFF000ull
#define APIC_BASE_X2APIC    (1ull << 10)
#define APIC_MMIO_SIZE	    0x1000
#define MSR_VMX_FIRST	    MSR_IA32_VMX_BASIC
#define MSR_VMX_LAST	    0x00000491
#define EFER_GUEST_WRITABLE (EFER_SCE | EFER_LME | EFER_NXE | EFER_FFXSR_AMD)
#define EFER_FFXSR_AMD	    (1ull << 14)
#define FEATURE_CONTROL_VMX (FEATURE_CONTROL_VMX_IN_SMX | FEATURE_CONTROL_VMX_OUTSIDE)

const struct msr_intercept msr_intercepts[] = {
	{MSR_IA32_FEATURE_CONTROL, MSR_IA32_FEATURE_CONTROL, true, true},
	{MSR_IA32_APIC_BASE, MSR_IA32_APIC_BASE, false, true},
	{MSR_X2APIC_ICR, MSR_X2APIC_ICR, false, true},
	{MSR_VMX_FIRST, MSR_VMX_LAST, true, true},
	{MSR_EFER, MSR_EFER, true, true},
	{MSR_VM_CR, MSR_VM_CR, true, true},
	{MSR_VM_HSAVE_PA, MSR_VM_HSAVE_PA, true, true},
};
const unsigned nr_msr_intercepts = ARRAY_SIZE(msr_intercepts);

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
		return rdmsr_safe(msr, val);
	}
}

static bool write_efer(struct vcpu *v, uint64_t val)
{
	uint64_t old = v->ops->get_efer(v);

	if (val & ~(EFER_GUEST_WRITABLE | EFER_LMA))
		return false; /* includes SVME: SVM is hidden */
	/* LME cannot change while paging is on; LMA is the CPU's to set. */
	if (((old ^ val) & EFER_LME) && (v->ops->get_cr(v, 0) & CR0_PG))
		return false;
	v->ops->set_efer(v, (val & ~EFER_LMA) | (old & EFER_LMA));
	/* NXE changes what every translation allows: a paging-mode change. */
	if ((old ^ val) & EFER_NXE)
		vcpu_guest_tlb_flush(v, FLUSH_PAGING_MODE, 0);
	return true;
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
		return wrmsr_safe(msr, val);
	}
}
