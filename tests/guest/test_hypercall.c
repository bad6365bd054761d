/* Hypercalls (only under mhv: natively VMCALL/VMMCALL raise #UD). */
#include <stddef.h>

#include "core/hypercall_abi.h"
#include "tests/guest/cpu.h"
#include "tests/guest/hv.h"
#include "tests/guest/report.h"
#include "tests/guest/tests.h"
#include "tests/guest/trap.h"

#define MHV_VERSION MHV_VERSION_CODE
#define HC_UNKNOWN  0x7fff /* no such hypercall */
#define ESI_PATTERN 0x5e5e5e5e
#define EDI_PATTERN 0xd1d1d1d1

static void call_other_insn(void *arg)
{
	struct hc_regs *r = arg;

	/* The instruction the other vendor uses: a real CPU raises #UD, mhv must not. */
	if (cpu_vendor() == VENDOR_AMD)
		hc_vmcall(r);
	else
		hc_vmmcall(r);
}

void test_hypercalls(void)
{
	struct hc_regs r = {.eax = HC_VERSION, .esi = ESI_PATTERN, .edi = EDI_PATTERN};
	struct fault f;
	uint32_t before, after;

	hc_native(&r);
	check_eq("hypercall: HC_VERSION returns mhv's version", r.eax, MHV_VERSION);
	check(r.esi == ESI_PATTERN && r.edi == EDI_PATTERN, "hypercall: ESI and EDI preserved",
	      "ESI 0x%x EDI 0x%x", r.esi, r.edi);
	check_eq("hypercall: HC_VERSION matches CPUID 0x40000001", r.eax,
		 cpuid(MHV_CPUID_VERSION).eax);
	check_eq("hypercall: unknown number returns HC_ENOSYS",
		 hypercall(HC_UNKNOWN, 0, 0, 0, NULL), (uint32_t)HC_ENOSYS);

	/* The version call in between plus one of the two count calls: two more hypercalls. */
	before = hv_exit_count(EXIT_KIND_HYPERCALL);
	hypercall(HC_VERSION, 0, 0, 0, NULL);
	after = hv_exit_count(EXIT_KIND_HYPERCALL);
	check_eq("hypercall: HC_EXIT_COUNT counts hypercall exits", after - before, 2);

	r = (struct hc_regs){.eax = HC_VERSION};
	run_catching(call_other_insn, &r, &f);
	check_no_fault(cpu_vendor() == VENDOR_AMD ? "hypercall: VMCALL works on AMD too"
						  : "hypercall: VMMCALL works on Intel too",
		       &f);
	check_eq("hypercall: the other instruction returns the version", r.eax, MHV_VERSION);
}
