/*
 * VMCS fields and typed accessors.  Each field lives in the enum of its width (SDM Vol. 3,
 * Appendix B), so reading a 64-bit field into a 16-bit variable is a compile error, not a
 * silent truncation.
 */
#ifndef MHV_ARCH_X86_VMX_VMCS_H
#define MHV_ARCH_X86_VMX_VMCS_H

#include <stdbool.h>
#include <stdint.h>

enum vmcs_field16 {
	VMCS_VPID = 0x0000,
	VMCS_GUEST_ES_SEL = 0x0800,
	VMCS_GUEST_CS_SEL = 0x0802,
	VMCS_GUEST_SS_SEL = 0x0804,
	VMCS_GUEST_DS_SEL = 0x0806,
	VMCS_GUEST_FS_SEL = 0x0808,
	VMCS_GUEST_GS_SEL = 0x080A,
	VMCS_GUEST_LDTR_SEL = 0x080C,
	VMCS_GUEST_TR_SEL = 0x080E,
	VMCS_HOST_ES_SEL = 0x0C00,
	VMCS_HOST_CS_SEL = 0x0C02,
	VMCS_HOST_SS_SEL = 0x0C04,
	VMCS_HOST_DS_SEL = 0x0C06,
	VMCS_HOST_FS_SEL = 0x0C08,
	VMCS_HOST_GS_SEL = 0x0C0A,
	VMCS_HOST_TR_SEL = 0x0C0C,
};

enum vmcs_field64 {
	VMCS_IO_BITMAP_A = 0x2000,
	VMCS_IO_BITMAP_B = 0x2002,
	VMCS_MSR_BITMAP = 0x2004,
	VMCS_EXIT_MSR_STORE_ADDR = 0x2006,
	VMCS_EXIT_MSR_LOAD_ADDR = 0x2008,
	VMCS_ENTRY_MSR_LOAD_ADDR = 0x200A,
	VMCS_TSC_OFFSET = 0x2010,
	VMCS_EPT_POINTER = 0x201A,
	VMCS_XSS_EXIT_BITMAP = 0x202C, /* consulted when "enable XSAVES/XRSTORS" is set */
	VMCS_GUEST_PHYS_ADDR = 0x2400, /* read-only: EPT violation / misconfiguration */
	VMCS_LINK_POINTER = 0x2800,
	VMCS_GUEST_DEBUGCTL = 0x2802,
	VMCS_GUEST_PAT = 0x2804,
	VMCS_GUEST_EFER = 0x2806,
	VMCS_GUEST_PDPTE0 = 0x280A,
	VMCS_GUEST_PDPTE1 = 0x280C,
	VMCS_GUEST_PDPTE2 = 0x280E,
	VMCS_GUEST_PDPTE3 = 0x2810,
	VMCS_HOST_PAT = 0x2C00,
	VMCS_HOST_EFER = 0x2C02,
};

enum vmcs_field32 {
	VMCS_PIN_CONTROLS = 0x4000,
	VMCS_PROC_CONTROLS = 0x4002,
	VMCS_EXCEPTION_BITMAP = 0x4004,
	VMCS_PF_ERROR_MASK = 0x4006,
	VMCS_PF_ERROR_MATCH = 0x4008,
	VMCS_CR3_TARGET_COUNT = 0x400A,
	VMCS_EXIT_CONTROLS = 0x400C,
	VMCS_EXIT_MSR_STORE_COUNT = 0x400E,
	VMCS_EXIT_MSR_LOAD_COUNT = 0x4010,
	VMCS_ENTRY_CONTROLS = 0x4012,
	VMCS_ENTRY_MSR_LOAD_COUNT = 0x4014,
	VMCS_ENTRY_INTR_INFO = 0x4016,
	VMCS_ENTRY_EXCEPTION_ERROR = 0x4018,
	VMCS_ENTRY_INSN_LEN = 0x401A,
	VMCS_PROC_CONTROLS2 = 0x401E,
	VMCS_VM_INSN_ERROR = 0x4400, /* read-only from here ... */
	VMCS_EXIT_REASON = 0x4402,
	VMCS_EXIT_INTR_INFO = 0x4404,
	VMCS_EXIT_INTR_ERROR = 0x4406,
	VMCS_IDT_VECTORING_INFO = 0x4408,
	VMCS_IDT_VECTORING_ERROR = 0x440A,
	VMCS_EXIT_INSN_LEN = 0x440C,
	VMCS_EXIT_INSN_INFO = 0x440E, /* ... to here */
	VMCS_GUEST_ES_LIMIT = 0x4800,
	VMCS_GUEST_CS_LIMIT = 0x4802,
	VMCS_GUEST_SS_LIMIT = 0x4804,
	VMCS_GUEST_DS_LIMIT = 0x4806,
	VMCS_GUEST_FS_LIMIT = 0x4808,
	VMCS_GUEST_GS_LIMIT = 0x480A,
	VMCS_GUEST_LDTR_LIMIT = 0x480C,
	VMCS_GUEST_TR_LIMIT = 0x480E,
	VMCS_GUEST_GDTR_LIMIT = 0x4810,
	VMCS_GUEST_IDTR_LIMIT = 0x4812,
	VMCS_GUEST_ES_AR = 0x4814,
	VMCS_GUEST_CS_AR = 0x4816,
	VMCS_GUEST_SS_AR = 0x4818,
	VMCS_GUEST_DS_AR = 0x481A,
	VMCS_GUEST_FS_AR = 0x481C,
	VMCS_GUEST_GS_AR = 0x481E,
	VMCS_GUEST_LDTR_AR = 0x4820,
	VMCS_GUEST_TR_AR = 0x4822,
	VMCS_GUEST_INTERRUPTIBILITY = 0x4824,
	VMCS_GUEST_ACTIVITY_STATE = 0x4826,
	VMCS_GUEST_SYSENTER_CS = 0x482A,
	VMCS_PREEMPT_TIMER = 0x482E,
	VMCS_HOST_SYSENTER_CS = 0x4C00,
};

enum vmcs_field_nat {
	VMCS_CR0_MASK = 0x6000,
	VMCS_CR4_MASK = 0x6002,
	VMCS_CR0_READ_SHADOW = 0x6004,
	VMCS_CR4_READ_SHADOW = 0x6006,
	VMCS_EXIT_QUALIFICATION = 0x6400, /* read-only */
	VMCS_GUEST_LINEAR_ADDR = 0x640A,  /* read-only */
	VMCS_GUEST_CR0 = 0x6800,
	VMCS_GUEST_CR3 = 0x6802,
	VMCS_GUEST_CR4 = 0x6804,
	VMCS_GUEST_ES_BASE = 0x6806,
	VMCS_GUEST_CS_BASE = 0x6808,
	VMCS_GUEST_SS_BASE = 0x680A,
	VMCS_GUEST_DS_BASE = 0x680C,
	VMCS_GUEST_FS_BASE = 0x680E,
	VMCS_GUEST_GS_BASE = 0x6810,
	VMCS_GUEST_LDTR_BASE = 0x6812,
	VMCS_GUEST_TR_BASE = 0x6814,
	VMCS_GUEST_GDTR_BASE = 0x6816,
	VMCS_GUEST_IDTR_BASE = 0x6818,
	VMCS_GUEST_DR7 = 0x681A,
	VMCS_GUEST_RSP = 0x681C,
	VMCS_GUEST_RIP = 0x681E,
	VMCS_GUEST_RFLAGS = 0x6820,
	VMCS_GUEST_PENDING_DBG = 0x6822,
	VMCS_GUEST_SYSENTER_ESP = 0x6824,
	VMCS_GUEST_SYSENTER_EIP = 0x6826,
	VMCS_HOST_CR0 = 0x6C00,
	VMCS_HOST_CR3 = 0x6C02,
	VMCS_HOST_CR4 = 0x6C04,
	VMCS_HOST_FS_BASE = 0x6C06,
	VMCS_HOST_GS_BASE = 0x6C08,
	VMCS_HOST_TR_BASE = 0x6C0A,
	VMCS_HOST_GDTR_BASE = 0x6C0C,
	VMCS_HOST_IDTR_BASE = 0x6C0E,
	VMCS_HOST_SYSENTER_ESP = 0x6C10,
	VMCS_HOST_SYSENTER_EIP = 0x6C12,
	VMCS_HOST_RSP = 0x6C14,
	VMCS_HOST_RIP = 0x6C16,
};

/*
 * VMREAD/VMWRITE of the current VMCS.  A failing VMWRITE is a bug in mhv (a field this CPU
 * lacks, or a bad value): it is reported with the field and stops the run.
 * -Wenum-conversion (-Wextra) turns a field passed to the wrong width into a build error.
 */
void vmcs_write_failed(uint64_t field, uint64_t value);

static inline uint64_t __vmread(uint64_t field)
{
	uint64_t v;

	asm volatile("vmread %[f], %[v]" : [v] "=rm"(v) : [f] "r"(field) : "cc");
	return v;
}

static inline void __vmwrite(uint64_t field, uint64_t value)
{
	bool fail;

	asm volatile("vmwrite %[v], %[f]"
		     : "=@ccbe"(fail)
		     : [f] "r"(field), [v] "rm"(value)
		     : "memory");
	if (__builtin_expect(fail, 0))
		vmcs_write_failed(field, value);
}

#define VMCS_ACCESSORS(suffix, type, field_enum)                                                   \
	static inline type vmread##suffix(enum field_enum f)                                       \
	{                                                                                          \
		return (type)__vmread(f);                                                          \
	}                                                                                          \
	static inline void vmwrite##suffix(enum field_enum f, type v)                              \
	{                                                                                          \
		__vmwrite(f, v);                                                                   \
	}
VMCS_ACCESSORS(16, uint16_t, vmcs_field16)
VMCS_ACCESSORS(32, uint32_t, vmcs_field32)
VMCS_ACCESSORS(64, uint64_t, vmcs_field64)
VMCS_ACCESSORS(_nat, uint64_t, vmcs_field_nat)
#undef VMCS_ACCESSORS

#endif
