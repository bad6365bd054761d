/*
 * Ending a run.  `exit=debugexit` (tests) reports the status to the emulator: QEMU's
 * isa-debug-exit device at port 0xf4 ends QEMU with status (v << 1) | 1; Bochs ends on the
 * string "Shutdown" written to port 0x8900.  On real hardware the default is to halt.
 */
#include "core/run_end.h"
#include "arch/x86/acpi.h"
#include "arch/x86/cpu.h"
#include "arch/x86/io.h"
#include "arch/x86/iommu.h"
#include "arch/x86/smp.h"
#include "arch/x86/uart16550.h"
#include "core/vuart.h"
#include "lib/log.h"

#define QEMU_DEBUG_EXIT_PORT 0xF4
#define BOCHS_SHUTDOWN_PORT  0x8900

static enum exit_mode exit_mode = EXIT_HALT;

void run_end_set_mode(enum exit_mode mode)
{
	exit_mode = mode;
}

static uint64_t tsc_now(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static void emulator_exit(int status)
{
	static const char shutdown[] = "Shutdown";

	outl(QEMU_DEBUG_EXIT_PORT, (uint32_t)status);
	for (const char *p = shutdown; *p; p++)
		outb(BOCHS_SHUTDOWN_PORT, (uint8_t)*p);
}

void hv_end_run(int status)
{
	vuart_flush();
	iommu_drain_faults(); /* blocked DMA not yet reported */
	log_end_line(); /* the closing line starts at column 0, whatever was printed before */
	smp_stop_others(); /* every other CPU prints its counters and halts first */
	/* Retired instructions since power-on under QEMU -icount shift=0 (make bench). */
	pr_info("mhv: TSC at the end of the run: %lu\n", tsc_now());
	pr_info("mhv: run ended, status %d (%s)\n", status,
		status == HV_STATUS_PASS ? "pass" : "fail");
	uart_drain();

	switch (exit_mode) {
	case EXIT_DEBUGEXIT:
		emulator_exit(status);
		pr_err("mhv: no emulator exit device answered; halting\n");
		break;
	case EXIT_POWEROFF:
		acpi_poweroff();
		pr_err("mhv: ACPI power-off failed; halting\n");
		break;
	case EXIT_HALT:
		break;
	}
	uart_drain();
	cpu_halt_forever();
}
