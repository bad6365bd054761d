/*
 * mhv's guest test kernel: run as mhv's guest, it checks every intercept from the inside and
 * reports one PASS/FAIL line per check on COM1 (protocol in report.h), then ends the run with
 * HC_END_RUN.  Run natively (QEMU -kernel) it says it is not under mhv, still runs the checks
 * that need no hypercall, and exits through QEMU's isa-debug-exit port.
 */
#include <stddef.h>

#include "tests/guest/hv.h"
#include "tests/guest/multiboot.h"
#include "tests/guest/report.h"
#include "tests/guest/tests.h"
#include "tests/guest/trap.h"

__noreturn void guest_main(uint32_t magic, uint32_t info_addr);

void guest_main(uint32_t magic, uint32_t info_addr)
{
	/* Without the magic, EBX means nothing: do not read it. */
	const struct mb1_info *info =
		magic == MB1_BOOTLOADER_MAGIC ? (const struct mb1_info *)info_addr : NULL;

	trap_init();
	hv_init();
	gprintf("guest: mhv guest test kernel starting\n");
	check_either(hv_present(), "running under mhv", "not running under mhv");

	test_multiboot(magic, info);
	test_traps();
	test_cpuid();
	if (hv_present())
		test_hypercalls();
	test_msrs();
	test_crs();
	test_io();
	test_irq();
	test_apic();
	if (hv_present())
		test_hv_memory(info, "paging off");
	test_mmio();
	test_paging();
	if (hv_present())
		test_hv_memory(NULL, "paging on");
	if (hv_present()) {
		bench_report();
		hv_print_exit_counts();
	}
	report_finish();
}
