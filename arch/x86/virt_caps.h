/* What hardware virtualization this CPU offers, read from CPUID and the capability MSRs. */
#ifndef MHV_ARCH_X86_VIRT_CAPS_H
#define MHV_ARCH_X86_VIRT_CAPS_H

#include <stdbool.h>
#include <stdint.h>

enum virt_kind {
	VIRT_NONE,
	VIRT_VMX,
	VIRT_SVM,
};

struct vmx_caps {
	uint64_t basic;
	bool true_ctls; /* TRUE_* control MSRs exist (VMX_BASIC bit 55) */
	bool secondary; /* secondary processor-based controls may be enabled */
	bool ept, vpid, unrestricted_guest, mtf;
	bool ept_4level, ept_wb, ept_2m, ept_1g, ept_ad;
	uint64_t ept_vpid_cap;
};

struct svm_caps {
	uint32_t revision;
	uint32_t nr_asids;
	uint32_t features; /* CPUID 0x8000000A EDX */
	bool np, nrips, vmcb_clean, flush_by_asid, decode_assists;
};

struct virt_caps {
	enum virt_kind kind;
	bool usable; /* false: present but switched off (firmware lock) */
	const char *why_unusable;
	struct vmx_caps vmx;
	struct svm_caps svm;
};

struct cpu_ident {
	char vendor[13];
	char brand[49];
	unsigned family, model, stepping;
};

void cpu_identify(struct cpu_ident *id);
void virt_detect(struct virt_caps *caps);
void virt_report(const struct virt_caps *caps);

#endif
