/*
 * CPUID promises only what works (issue 14, lib/cpuid_policy.c): for each feature mhv can
 * offer or must hide, the guest checks that what CPUID shows matches what the CPU then does
 * under mhv: an offered instruction runs, an offered CR4/EFER bit can be set; a refused bit
 * raises #GP.  (The CPUs of the emulators have only some of these features; the host unit
 * test test_cpuid_policy.c covers real CPUs' tables.)
 */
#include <stddef.h>

#include "tests/guest/cpu.h"
#include "tests/guest/report.h"
#include "tests/guest/tests.h"
#include "tests/guest/trap.h"

#define LEAF_EXT	  0x80000001u
#define LEAF_EXT_MAX	  0x80000000u
#define LEAF_EXT21	  0x80000021u
#define EXT_EDX_FFXSR	  (1u << 25)
#define EXT_EDX_RDTSCP	  (1u << 27)
#define F7_EBX_INVPCID	  (1u << 10)
#define F7_ECX_WAITPKG	  (1u << 5)
#define F7_ECX_CET_SS	  (1u << 7)
#define F7_ECX_RDPID	  (1u << 22)
#define F7_EDX_IBT	  (1u << 20)
#define F21_EAX_AUTOIBRS  (1u << 8)
#define EFER_FFXSR	  (1ull << 14)
#define EFER_AUTOIBRS	  (1ull << 21)
#define CR4_CET		  (1u << 23)
#define INVPCID_ALL_GLOBAL 2

static void do_rdtscp(void *arg)
{
	(void)arg;
	asm volatile("rdtscp" ::: "eax", "ecx", "edx");
}

static void do_rdpid(void *arg)
{
	(void)arg;
	asm volatile(".byte 0xf3, 0x0f, 0xc7, 0xf8" ::: "eax"); /* rdpid %eax */
}

static void do_invpcid(void *arg)
{
	static const uint64_t desc[2] __attribute__((aligned(16))) = {0, 0};

	(void)arg;
	asm volatile("invpcid %0, %1" ::"m"(desc), "r"((uint32_t)INVPCID_ALL_GLOBAL) : "memory");
}

static void do_tpause(void *arg)
{
	(void)arg;
	/* tpause %ecx with a deadline already past: returns at once */
	asm volatile(".byte 0x66, 0x0f, 0xae, 0xf1" ::"a"(0), "d"(0), "c"(0) : "cc");
}

/* Set and clear an EFER bit; the fault (if any) of the setting WRMSR. */
static uint64_t efer_bit;
static void toggle_efer(void *arg)
{
	uint64_t efer = rdmsr(MSR_EFER);

	(void)arg;
	wrmsr(MSR_EFER, efer | efer_bit);
	wrmsr(MSR_EFER, efer);
}

static void set_cr4_cet(void *arg)
{
	uint32_t cr4 = read_cr4();

	(void)arg;
	write_cr4(cr4 | CR4_CET);
	write_cr4(cr4);
}

static void check_insn(bool offered, const char *name_ok, const char *name_ud,
		       void (*fn)(void *))
{
	struct fault f;

	run_catching(fn, NULL, &f);
	if (offered)
		check_no_fault(name_ok, &f);
	else
		check_fault(name_ud, &f, VEC_UD);
}

static void check_efer(bool offered, uint64_t bit, const char *name_ok, const char *name_gp)
{
	struct fault f;

	efer_bit = bit;
	run_catching(toggle_efer, NULL, &f);
	if (offered)
		check_no_fault(name_ok, &f);
	else
		check_fault(name_gp, &f, VEC_GP);
}

void test_cpuid_promises(void)
{
	struct cpuid_regs l7 = cpuid_count(7, 0);
	uint32_t ext_max = cpuid(LEAF_EXT_MAX).eax;
	struct cpuid_regs ext = cpuid(LEAF_EXT);
	bool cet = (l7.ecx & F7_ECX_CET_SS) || (l7.edx & F7_EDX_IBT);
	bool autoibrs = ext_max >= LEAF_EXT21 && (cpuid(LEAF_EXT21).eax & F21_EAX_AUTOIBRS);
	struct fault f;

	check_insn(ext.edx & EXT_EDX_RDTSCP, "cpuid: RDTSCP offered and runs",
		   "cpuid: RDTSCP not offered and #UD", do_rdtscp);
	check_insn(l7.ecx & F7_ECX_RDPID, "cpuid: RDPID offered and runs",
		   "cpuid: RDPID not offered and #UD", do_rdpid);
	check_insn(l7.ebx & F7_EBX_INVPCID, "cpuid: INVPCID offered and runs",
		   "cpuid: INVPCID not offered and #UD", do_invpcid);
	/* WAITPKG: mhv never enables user wait/pause, so it must never be offered. */
	check_eq("cpuid: WAITPKG is never offered", l7.ecx & F7_ECX_WAITPKG, 0);
	if (l7.ecx & F7_ECX_WAITPKG) {
		run_catching(do_tpause, NULL, &f);
		check_no_fault("cpuid: TPAUSE offered and runs", &f);
	}
	check_efer(ext.edx & EXT_EDX_FFXSR, EFER_FFXSR, "cpuid: EFER.FFXSR offered and settable",
		   "cpuid: EFER.FFXSR not offered and #GP");
	check_efer(autoibrs, EFER_AUTOIBRS, "cpuid: EFER.AutoIBRS offered and settable",
		   "cpuid: EFER.AutoIBRS not offered and #GP");
	write_cr0(read_cr0() | CR0_WP);
	run_catching(set_cr4_cet, NULL, &f);
	if (cet)
		check_no_fault("cpuid: CET offered and CR4.CET settable", &f);
	else
		check_fault("cpuid: CET not offered and CR4.CET #GP", &f, VEC_GP);
	gprintf("guest: cpuid: RDTSCP %d RDPID %d INVPCID %d FFXSR %d AutoIBRS %d CET %d\n",
		!!(ext.edx & EXT_EDX_RDTSCP), !!(l7.ecx & F7_ECX_RDPID),
		!!(l7.ebx & F7_EBX_INVPCID), !!(ext.edx & EXT_EDX_FFXSR), autoibrs, cet);
}
