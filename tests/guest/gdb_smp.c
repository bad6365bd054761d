/*
 * The target of the gdb thread test (tests/boot/gdb-smp.gdb), with "gdb-smp" in the command
 * line: the guest runs its SMP test alone (the rest of the suite has its own boot tests; on
 * Bochs it would take minutes before gdb's turn), and once the APs run (test_smp.c, before
 * the restart test) the boot CPU waits here for gdb with the AP spinning in guest code too, so that gdb's Ctrl-C finds both vCPUs running
 * and every thread has registers.  gdb reads them, steps thread 2 and writes the release value;
 * without the option nothing waits.
 */
#include "tests/guest/cmdline.h"
#include "tests/guest/report.h"
#include "tests/guest/tests.h"

#define GDB_SMP_OPT	"gdb-smp"
#define GDB_SMP_RELEASE 0x5eed600du

static bool asked;
/* gdb's view: 1 while the boot CPU waits; gdb writes the release value. */
volatile uint32_t gdb_smp_waiting;
volatile uint32_t gdb_smp_release;

void gdb_smp_run_if_asked(const struct boot_info *bi)
{
	asked = cmdline_has(bi, GDB_SMP_OPT);
	if (!asked)
		return;
	test_smp();
	report_finish();
}

void gdb_smp_wait_if_asked(void)
{
	if (!asked)
		return;
	gprintf("guest: gdb-smp: the APs run; waiting for gdb to release the boot CPU\n");
	gdb_smp_waiting = 1;
	while (gdb_smp_release != GDB_SMP_RELEASE)
		asm volatile("pause");
	gdb_smp_waiting = 0;
	gprintf("guest: gdb-smp: released by gdb\n");
}
