/* Control registers: CR4.VMXE is mhv's and stays invisible; other bits belong to the guest. */
#include "core/hypercall_abi.h"
#include "tests/guest/cpu.h"
#include "tests/guest/hv.h"
#include "tests/guest/report.h"
#include "tests/guest/tests.h"
#include "tests/guest/trap.h"

static void do_write_cr4(void *arg)
{
	write_cr4(*(const uint32_t *)arg);
}

void test_crs(void)
{
	uint32_t cr0 = read_cr0(), cr4 = read_cr4(), val;
	struct fault f;

	/* Multiboot enters in protected mode with paging off; test_paging turns it on later. */
	check_eq("cr: CR0 at entry has PE set and PG clear", cr0 & (CR0_PE | CR0_PG), CR0_PE);
	check_eq("cr: CR4.VMXE reads clear", cr4 & CR4_VMXE, 0);

	/*
	 * Only under mhv: natively, QEMU 7.2 TCG (which has no VMX) spins forever on this MOV
	 * instead of raising #GP, and a real Intel CPU would accept it.
	 */
	if (hv_present()) {
		uint32_t before, after;

		val = cr4 | CR4_VMXE;
		before = hv_exit_count(EXIT_KIND_CR_ACCESS);
		run_catching(do_write_cr4, &val, &f);
		after = hv_exit_count(EXIT_KIND_CR_ACCESS);
		/* Intel: VMXE is a real bit, so only mhv's intercept can refuse it.  AMD: it is
		 * reserved, and the CPU may raise #GP before the intercept is checked. */
		if (cpu_vendor() == VENDOR_INTEL)
			check_eq("cr: MOV to CR4 with VMXE counts one CR-access exit",
				 after - before, 1);
		else
			check(after - before <= 1,
			      "cr: MOV to CR4 with VMXE counts at most one CR-access exit",
			      "%u exits", (unsigned)(after - before));
		check_fault("cr: MOV to CR4 with VMXE raises #GP", &f, VEC_GP);
		check_eq("cr: #GP from CR4.VMXE has error code 0", f.errcode, 0);
		val = read_cr4();
		check_eq("cr: CR4 unchanged by the refused write", val, cr4);
		if (val != cr4)
			write_cr4(cr4);
	}

	/* A bit mhv does not own must reach the (virtual) CR4 and come back. */
	val = cr4 ^ CR4_DE;
	run_catching(do_write_cr4, &val, &f);
	check_no_fault("cr: MOV to CR4 toggling DE succeeds", &f);
	check_eq("cr: CR4.DE toggle reads back", read_cr4(), val);
	write_cr4(cr4);
	check_eq("cr: CR4 restored", read_cr4(), cr4);
}
