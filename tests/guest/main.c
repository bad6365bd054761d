/*
 * mhv's guest test kernel: run as mhv's guest, it checks every intercept from the inside and
 * reports one PASS/FAIL line per check on COM1 (protocol in report.h), then ends the run with
 * HC_END_RUN.  Run natively (QEMU -kernel, v1 flavor only) it says it is not under mhv, still
 * runs the checks that need no hypercall, and exits through QEMU's isa-debug-exit port.
 * The same code is built as a multiboot v1 and a multiboot2 kernel (suite.mk): only the
 * header differs, and bootinfo.c hides the protocol from the tests.
 */
#include <stddef.h>

#include "tests/guest/attack.h"
#include "tests/guest/bootinfo.h"
#include "tests/guest/hv.h"
#include "tests/guest/monitor_spin.h"
#include "tests/guest/report.h"
#include "tests/guest/serial_pci.h"
#include "tests/guest/tests.h"
#include "tests/guest/trap.h"

__noreturn void guest_main(uint32_t magic, uint32_t info_addr);

void guest_main(uint32_t magic, uint32_t info_addr)
{
	struct boot_info bi;

	trap_init();
	hv_init();
	boot_info_init(&bi, magic, info_addr);
	serial_select(&bi); /* serial=pci: the console is a PCI UART, not COM1 */
	gprintf("guest: mhv guest test kernel starting\n");
	check_either(hv_present(), "running under mhv", "not running under mhv");

	attack_run_if_asked(&bi);
	test_gdb_probe();
	gdb_smp_run_if_asked(&bi);
	monitor_spin_if_asked(&bi);
	test_multiboot(&bi);
	test_traps();
	test_cpuid();
	test_cpuid_promises();
	test_exit_len();
	if (hv_present())
		test_hypercalls();
	test_msrs();
	test_crs();
	test_cr3_regs();
	test_io();
	test_irq();
	test_apic();
	if (hv_present())
		test_hv_memory(bi.mb1, "paging off");
	test_mmio();
	if (hv_present()) {
		test_mmio_short();
		test_mmio_short_forms();
		test_mmio_data_bp();
	}
	test_mmio_forms();
	test_mmio_rmw();
	if (hv_present())
		test_mmio_riprel();
	test_high_bar();
	test_mmio_trace();
	if (hv_present())
		test_mmio_soak(&bi);
	test_paging();
	if (hv_present())
		test_hv_memory(NULL, "paging on");
	if (hv_present()) { /* the hostile-guest suite: every attack must be contained */
		test_contain_memory();
		test_contain_console();
		test_contain_redteam(); /* before test_contain_cpus: needs the xAPIC */
		test_contain_cpus();
		test_contain_fatals();
		test_contain_platform();
		test_contain_dma();
		test_contain_msi();
		test_contain_msix();
		test_contain_db_hold();
		test_contain_lock_walk();
	}
	if (hv_present()) {
		bench_report();
		hv_print_exit_counts();
	}
	if (hv_present())
		test_smp(); /* last: the APs stay busy afterwards */
	report_finish();
}
