/*
 * The platform under mhv, attacked from the guest: MTRR writes stay in mhv's copy,
 * IA32_MISC_ENABLE writes never reach the hardware, platform configuration MSRs (SYSCFG,
 * HWCR, TOP_MEM, SMRR) refuse changes with #GP, MSRs off mhv's allow-list fault, and the
 * ports mhv now intercepts (0x92, 0xCF8-0xCFB) still work for what is not a reset.
 * The run-ending attacks (resets, S5) and S3 have their own boots (attack.c).
 */
#include "arch/x86/io.h"
#include "arch/x86/msr.h"
#include "core/hypercall_abi.h"
#include "lib/fmt.h"
#include "tests/guest/cpu.h"
#include "tests/guest/hv.h"
#include "tests/guest/report.h"
#include "tests/guest/tests.h"
#include "tests/guest/trap.h"

#define CPUID_FEATURES	     1
#define CPUID_EDX_MTRR	     (1u << 12)
#define MTRR_TYPE_UC	     0
#define MTRR_TYPE_WC	     1
#define MTRR_TYPE_INVALID    2
#define MTRR_PROBE_BASE	     0xC0000000ull /* a base address every MAXPHYADDR reaches */
#define MTRR_RESERVED_BIT    (1ull << 8)
#define MTRR_FIX_BAD_TYPES   0x0707070707070707ull
#define MSR_DS_AREA	     0x00000600
#define MSR_MISC_FEATURES    0x00000140
#define MSR_AMD_CPUID_OVR    0xC0011004 /* CPUID override: never the guest's */
#define HWCR_IRPERF_EN	     (1ull << 30)
#define SYSCFG_MTRR_FIX_EN   (1ull << 18)
#define TOP_MEM_PROBE	     (1ull << 28)
#define SMRR_PROBE	     0x6ull /* WB at 0 */
#define PORT_SYS_CTRL_A	     0x92
#define SYS_CTRL_A_A20	     0x02
#define SYS_CTRL_A_RESET     0x01
#define PORT_PCI_CONFIG_ADDR 0xCF8
#define PORT_PCI_CONFIG_DATA 0xCFC
#define PCI_HOST_BRIDGE_ID   0x80000000u /* enable, bus 0, device 0, function 0, register 0 */
#define PCI_NO_DEVICE	     0xFFFFFFFFu
/* Config addresses whose second byte (what 0xCF9 would see) is a reset value: 0x06 is
 * Reset Control's RST_CPU, 0x0F QEMU q35's FADT RESET_VALUE.  Device 0, function 6 and
 * device 1, function 7: nothing is written there, only the address register. */
#define PCI_ADDR_LOOKS_LIKE_CF9_06 0x80000600u
#define PCI_ADDR_LOOKS_LIKE_CF9_0F 0x80000F00u
#define HIGH_WORD_SHIFT	     32

static bool guest_rdmsr(uint32_t msr, uint64_t *val)
{
	struct fault f;

	return try_rdmsr(msr, val, &f);
}

/* WRMSR; the fault (if any) in *f. */
static void guest_wrmsr(uint32_t msr, uint64_t val, struct fault *f)
{
	try_wrmsr(msr, val, f);
}

/* The hardware's value of an MSR mhv virtualises; false if mhv has none to give. */
static bool hw_msr(uint32_t msr, uint64_t *val)
{
	uint32_t hi = 0, lo = hypercall(HC_HW_MSR, msr, 0, 0, &hi);

	*val = ((uint64_t)hi << HIGH_WORD_SHIFT) | lo;
	return lo != (uint32_t)HC_ENOSYS;
}

static void test_variable_mtrr(unsigned vcnt)
{
	uint32_t base_msr = MSR_IA32_MTRR_PHYSBASE0 + 2 * (vcnt - 1);
	uint64_t orig = 0, hw_before = 0, hw_after = 0, want, got = 0;
	struct fault f;

	guest_rdmsr(base_msr, &orig);
	check(hw_msr(base_msr, &hw_before), "platform: HC_HW_MSR reads the hardware's MTRR",
	      "MSR 0x%x", base_msr);
	want = MTRR_PROBE_BASE | ((orig & MTRR_TYPE_MASK) == MTRR_TYPE_WC ? MTRR_TYPE_UC
									: MTRR_TYPE_WC);
	guest_wrmsr(base_msr, want, &f);
	check_no_fault("platform: WRMSR of a variable MTRR succeeds", &f);
	guest_rdmsr(base_msr, &got);
	check_eq("platform: the variable MTRR reads back the guest's value", got, want);
	hw_msr(base_msr, &hw_after);
	check_eq("platform: the hardware's variable MTRR is untouched", hw_after, hw_before);

	guest_wrmsr(base_msr, want | MTRR_RESERVED_BIT, &f);
	check_fault("platform: a variable MTRR with a reserved bit raises #GP", &f, VEC_GP);
	guest_wrmsr(base_msr, MTRR_PROBE_BASE | MTRR_TYPE_INVALID, &f);
	check_fault("platform: a variable MTRR with memory type 2 raises #GP", &f, VEC_GP);
	guest_wrmsr(base_msr, orig, &f);
}

static void test_mtrrs(void)
{
	uint64_t cap = 0, def = 0, hw_def = 0, got = 0, hw_after = 0;
	struct fault f;

	if (!(cpuid(CPUID_FEATURES).edx & CPUID_EDX_MTRR)) {
		gprintf("guest: platform: no MTRRs on this CPU: MTRR checks skipped\n");
		return;
	}
	check(guest_rdmsr(MSR_IA32_MTRRCAP, &cap), "platform: RDMSR MTRRCAP succeeds", "#GP");
	guest_wrmsr(MSR_IA32_MTRRCAP, cap, &f);
	check_fault("platform: WRMSR MTRRCAP (read-only) raises #GP", &f, VEC_GP);
	if (cap & MTRRCAP_VCNT_MASK)
		test_variable_mtrr((unsigned)(cap & MTRRCAP_VCNT_MASK));

	/* Turning the MTRRs off would make all memory, mhv's too, uncached. */
	guest_rdmsr(MSR_IA32_MTRR_DEF_TYPE, &def);
	hw_msr(MSR_IA32_MTRR_DEF_TYPE, &hw_def);
	guest_wrmsr(MSR_IA32_MTRR_DEF_TYPE, MTRR_TYPE_UC, &f);
	check_no_fault("platform: WRMSR MTRR_DEF_TYPE = UC, MTRRs off succeeds", &f);
	guest_rdmsr(MSR_IA32_MTRR_DEF_TYPE, &got);
	check_eq("platform: MTRR_DEF_TYPE reads back the guest's value", got, MTRR_TYPE_UC);
	hw_msr(MSR_IA32_MTRR_DEF_TYPE, &hw_after);
	check_eq("platform: the hardware's MTRR_DEF_TYPE is untouched", hw_after, hw_def);
	guest_wrmsr(MSR_IA32_MTRR_DEF_TYPE, def, &f);
	guest_rdmsr(MSR_IA32_MTRR_DEF_TYPE, &got);
	check_eq("platform: MTRR_DEF_TYPE restored", got, def);

	if (cap & MTRRCAP_FIX) {
		guest_wrmsr(MSR_IA32_MTRR_FIX64K_00000, MTRR_FIX_BAD_TYPES, &f);
		check_fault("platform: a fixed MTRR with memory type 7 raises #GP", &f, VEC_GP);
	}
}

static void test_misc_enable(void)
{
	uint64_t orig = 0, hw_before = 0, hw_after = 0, got = 0;
	struct fault f;

	if (!guest_rdmsr(MSR_IA32_MISC_ENABLE, &orig)) {
		check(!hw_msr(MSR_IA32_MISC_ENABLE, &hw_before),
		      "platform: IA32_MISC_ENABLE faults only where the hardware has none",
		      "hardware 0x%llx", (unsigned long long)hw_before);
		return;
	}
	hw_msr(MSR_IA32_MISC_ENABLE, &hw_before);
	guest_wrmsr(MSR_IA32_MISC_ENABLE, orig ^ MISC_ENABLE_XD_DISABLE, &f);
	check_no_fault("platform: WRMSR MISC_ENABLE with XD disable flipped succeeds", &f);
	guest_rdmsr(MSR_IA32_MISC_ENABLE, &got);
	check_eq("platform: MISC_ENABLE reads back the guest's value", got,
		 orig ^ MISC_ENABLE_XD_DISABLE);
	hw_msr(MSR_IA32_MISC_ENABLE, &hw_after);
	check_eq("platform: the hardware's MISC_ENABLE is untouched", hw_after, hw_before);
	guest_wrmsr(MSR_IA32_MISC_ENABLE, orig, &f);
}

/* A write that would change a platform configuration MSR gets #GP (and mhv logs it). */
static void check_refused(uint32_t msr, const char *name, uint64_t flip)
{
	uint64_t cur = 0;
	struct fault f;
	char what[96];

	guest_rdmsr(msr, &cur); /* may fault (SMRR outside SMM): then try from 0 */
	guest_wrmsr(msr, cur ^ flip, &f);
	fmt_snprintf(what, sizeof(what), "platform: WRMSR %s changing it raises #GP", name);
	check_fault(what, &f, VEC_GP);
}

static void test_platform_msrs(void)
{
	uint64_t val = 0;
	struct fault f;
	bool read;

	check_refused(MSR_AMD64_SYSCFG, "SYSCFG", SYSCFG_MTRR_FIX_EN);
	check_refused(MSR_AMD64_HWCR, "HWCR", HWCR_IRPERF_EN);
	check_refused(MSR_AMD64_TOP_MEM, "TOP_MEM", TOP_MEM_PROBE);
	check_refused(MSR_IA32_SMRR_PHYSBASE, "SMRR_PHYSBASE", SMRR_PROBE);

	read = guest_rdmsr(MSR_AMD_CPUID_OVR, &val);
	check(!read, "platform: RDMSR of an MSR off the allow-list (0xC0011004) raises #GP", "read 0x%llx",
	      (unsigned long long)val);
	read = guest_rdmsr(MSR_MISC_FEATURES, &val);
	check(!read, "platform: RDMSR of an MSR off the allow-list (0x140) raises #GP", "read 0x%llx",
	      (unsigned long long)val);
	guest_wrmsr(MSR_DS_AREA, MTRR_PROBE_BASE, &f);
	check_fault("platform: WRMSR DS_AREA (off the allow-list) raises #GP", &f, VEC_GP);
}

/* Port 0x92 without the reset bit and the PCI configuration ports still work. */
static void test_ports(void)
{
	uint32_t before, after, id;
	uint8_t a;

	before = hv_exit_count(EXIT_KIND_IO);
	a = inb(PORT_SYS_CTRL_A);
	outb(PORT_SYS_CTRL_A, (uint8_t)((a | SYS_CTRL_A_A20) & ~SYS_CTRL_A_RESET));
	after = hv_exit_count(EXIT_KIND_IO);
	check_eq("platform: port 0x92 is intercepted (2 I/O exits)", after - before, 2);
	check(inb(PORT_SYS_CTRL_A) & SYS_CTRL_A_A20, "platform: port 0x92 keeps A20 on",
	      "0x92 = 0x%x", inb(PORT_SYS_CTRL_A));

	outl(PORT_PCI_CONFIG_ADDR, PCI_HOST_BRIDGE_ID);
	check_eq("platform: the PCI configuration address (dword 0xCF8) reads back",
		 inl(PORT_PCI_CONFIG_ADDR), PCI_HOST_BRIDGE_ID);
	id = inl(PORT_PCI_CONFIG_DATA);
	check(id != PCI_NO_DEVICE && id != 0, "platform: PCI 0:0.0 answers through 0xCF8/0xCFC",
	      "ID 0x%x", id);
	/* mhv must not take these for reset requests: the run would end here. */
	outl(PORT_PCI_CONFIG_ADDR, PCI_ADDR_LOOKS_LIKE_CF9_06);
	outl(PORT_PCI_CONFIG_ADDR, PCI_ADDR_LOOKS_LIKE_CF9_0F);
	check_eq("platform: PCI config addresses with a reset value in byte 1 are no reset",
		 inl(PORT_PCI_CONFIG_ADDR), PCI_ADDR_LOOKS_LIKE_CF9_0F);
}

void test_contain_platform(void)
{
	test_mtrrs();
	test_misc_enable();
	test_platform_msrs();
	test_ports();
}
