/*
 * Hardware-virtualization discovery.  Nothing is assumed from the CPU model: every capability
 * comes from CPUID or a capability MSR, because nested hypervisors and real CPUs offer other
 * sets than the emulators mhv is tested on.
 */
#include "arch/x86/virt_caps.h"
#include "arch/x86/cpu.h"
#include "arch/x86/msr.h"
#include "lib/log.h"
#include "lib/string.h"

#define CPUID_VENDOR	      0x00000000
#define CPUID_EXT_BRAND_FIRST 0x80000002
#define CPUID_EXT_BRAND_LAST  0x80000004
#define CPUID_SVM_LEAF	      0x8000000A
#define CPUID_ECX_VMX	      (1u << 5)
#define CPUID_EXT_ECX_SVM     (1u << 2)

#define PROC_CTLS_MTF		(1u << 27)
#define PROC_CTLS_SECONDARY	(1u << 31)
#define PROC_CTLS2_EPT		(1u << 1)
#define PROC_CTLS2_VPID		(1u << 5)
#define PROC_CTLS2_UNRESTRICTED (1u << 7)

#define EPT_CAP_4LEVEL (1ull << 6)
#define EPT_CAP_WB     (1ull << 14)
#define EPT_CAP_2M     (1ull << 16)
#define EPT_CAP_1G     (1ull << 17)
#define EPT_CAP_AD     (1ull << 21)

#define SVM_FEAT_NP		(1u << 0)
#define SVM_FEAT_NRIPS		(1u << 3)
#define SVM_FEAT_VMCB_CLEAN	(1u << 5)
#define SVM_FEAT_FLUSH_BY_ASID	(1u << 6)
#define SVM_FEAT_DECODE_ASSISTS (1u << 7)

void cpu_identify(struct cpu_ident *id)
{
	struct cpuid_regs r = cpuid(CPUID_VENDOR);
	struct cpuid_regs f = cpuid(CPUID_FEATURES);
	unsigned base_family = (f.eax >> 8) & 0xF;

	memcpy(id->vendor + 0, &r.ebx, 4);
	memcpy(id->vendor + 4, &r.edx, 4);
	memcpy(id->vendor + 8, &r.ecx, 4);
	id->vendor[12] = 0;

	id->family = base_family + (base_family == 0xF ? (f.eax >> 20) & 0xFF : 0);
	id->model = ((f.eax >> 4) & 0xF) | (base_family >= 0x6 ? ((f.eax >> 16) & 0xF) << 4 : 0);
	id->stepping = f.eax & 0xF;

	id->brand[0] = 0;
	if (cpuid(CPUID_EXT_BASE).eax >= CPUID_EXT_BRAND_LAST) {
		for (unsigned i = 0; i < 3; i++) {
			struct cpuid_regs b = cpuid(CPUID_EXT_BRAND_FIRST + i);
			memcpy(id->brand + 16 * i, &b, 16);
		}
		id->brand[48] = 0;
	}
}

static void vmx_detect(struct virt_caps *c)
{
	struct vmx_caps *v = &c->vmx;
	uint64_t fc = 0, procbased, procbased2;

	c->kind = VIRT_VMX;
	c->usable = true;
	/* Locked with VMX-outside-SMX clear: firmware switched VMX off until the next reset. */
	if (rdmsr_safe(MSR_IA32_FEATURE_CONTROL, &fc) && (fc & FEATURE_CONTROL_LOCK) &&
	    !(fc & FEATURE_CONTROL_VMX_OUTSIDE)) {
		c->usable = false;
		c->why_unusable = "VMX is disabled and locked by firmware (IA32_FEATURE_CONTROL); "
				  "enable Intel VT-x in the firmware setup";
	}
	if (!rdmsr_safe(MSR_IA32_VMX_BASIC, &v->basic)) {
		c->usable = false;
		c->why_unusable = "CPUID reports VMX but IA32_VMX_BASIC cannot be read";
		return;
	}
	v->true_ctls = v->basic & VMX_BASIC_TRUE_CTLS;
	if (!rdmsr_safe(v->true_ctls ? MSR_IA32_VMX_TRUE_PROCBASED : MSR_IA32_VMX_PROCBASED_CTLS,
			&procbased))
		return;
	/* Allowed-1 settings are the high 32 bits of each control MSR. */
	v->mtf = (procbased >> 32) & PROC_CTLS_MTF;
	v->secondary = (procbased >> 32) & PROC_CTLS_SECONDARY;
	if (v->secondary && rdmsr_safe(MSR_IA32_VMX_PROCBASED_CTLS2, &procbased2)) {
		v->ept = (procbased2 >> 32) & PROC_CTLS2_EPT;
		v->vpid = (procbased2 >> 32) & PROC_CTLS2_VPID;
		v->unrestricted_guest = (procbased2 >> 32) & PROC_CTLS2_UNRESTRICTED;
	}
	if ((v->ept || v->vpid) && rdmsr_safe(MSR_IA32_VMX_EPT_VPID_CAP, &v->ept_vpid_cap)) {
		v->ept_4level = v->ept_vpid_cap & EPT_CAP_4LEVEL;
		v->ept_wb = v->ept_vpid_cap & EPT_CAP_WB;
		v->ept_2m = v->ept_vpid_cap & EPT_CAP_2M;
		v->ept_1g = v->ept_vpid_cap & EPT_CAP_1G;
		v->ept_ad = v->ept_vpid_cap & EPT_CAP_AD;
	}
}

static void svm_detect(struct virt_caps *c)
{
	struct svm_caps *s = &c->svm;
	uint64_t vm_cr = 0;

	c->kind = VIRT_SVM;
	c->usable = true;
	if (rdmsr_safe(MSR_VM_CR, &vm_cr) && (vm_cr & VM_CR_SVMDIS)) {
		c->usable = false;
		c->why_unusable =
			(vm_cr & VM_CR_LOCK)
				? "SVM is disabled and locked by firmware (VM_CR.SVMDIS); "
				  "enable AMD-V/SVM in the firmware setup"
				: "SVM is disabled (VM_CR.SVMDIS)";
	}
	if (cpuid(CPUID_EXT_BASE).eax < CPUID_SVM_LEAF)
		return;
	struct cpuid_regs r = cpuid(CPUID_SVM_LEAF);
	s->revision = r.eax & 0xFF;
	s->nr_asids = r.ebx;
	s->features = r.edx;
	s->np = r.edx & SVM_FEAT_NP;
	s->nrips = r.edx & SVM_FEAT_NRIPS;
	s->vmcb_clean = r.edx & SVM_FEAT_VMCB_CLEAN;
	s->flush_by_asid = r.edx & SVM_FEAT_FLUSH_BY_ASID;
	s->decode_assists = r.edx & SVM_FEAT_DECODE_ASSISTS;
}

void virt_detect(struct virt_caps *c)
{
	memset(c, 0, sizeof(*c));
	if (cpuid(CPUID_FEATURES).ecx & CPUID_ECX_VMX)
		vmx_detect(c);
	else if (cpuid(CPUID_EXT_BASE).eax >= CPUID_EXT_FEATURES &&
		 (cpuid(CPUID_EXT_FEATURES).ecx & CPUID_EXT_ECX_SVM))
		svm_detect(c);
}

void virt_report(const struct virt_caps *c)
{
	const struct vmx_caps *v = &c->vmx;
	const struct svm_caps *s = &c->svm;

	switch (c->kind) {
	case VIRT_NONE:
		pr_err("mhv: virt: none: this CPU offers neither Intel VT-x (VMX) nor AMD-V "
		       "(SVM)\n");
		return;
	case VIRT_VMX:
		pr_info("mhv: virt: VMX basic=0x%lx true-ctls=%d secondary=%d EPT=%d VPID=%d "
			"unrestricted-guest=%d MTF=%d\n",
			v->basic, v->true_ctls, v->secondary, v->ept, v->vpid,
			v->unrestricted_guest, v->mtf);
		pr_info("mhv: virt: EPT caps=0x%lx 4-level=%d WB=%d 2M=%d 1G=%d A/D=%d\n",
			v->ept_vpid_cap, v->ept_4level, v->ept_wb, v->ept_2m, v->ept_1g, v->ept_ad);
		break;
	case VIRT_SVM:
		pr_info("mhv: virt: SVM rev=%u ASIDs=%u features=0x%x NP=%d NRIPS=%d "
			"decode-assists=%d flush-by-ASID=%d VMCB-clean=%d\n",
			s->revision, s->nr_asids, s->features, s->np, s->nrips, s->decode_assists,
			s->flush_by_asid, s->vmcb_clean);
		break;
	}
	if (!c->usable)
		pr_err("mhv: virt: unusable: %s\n", c->why_unusable);
}
