/*
 * A function and a variable for the boot test that drives a real gdb over mhv's GDB stub
 * (tests/boot/gdb-session.gdb): gdb breaks on gdb_probe(), checks its argument through ESP and
 * gdb_probe_counter, watches the counter, single-steps and detaches.  The guest then checks the
 * probe did exactly what it does without a debugger: gdb left no trace.
 */
#include "tests/guest/report.h"
#include "tests/guest/tests.h"

#define GDB_PROBE_START 0x1000u
#define GDB_PROBE_MAGIC 0x6d687667u /* "mhvg", checked by the gdb script */
#define GDB_PROBE_FLIP	1u

volatile uint32_t gdb_probe_counter = GDB_PROBE_START;

void __attribute__((noinline, used)) gdb_probe(uint32_t magic);

void __attribute__((noinline, used)) gdb_probe(uint32_t magic)
{
	gdb_probe_counter += magic;
	gdb_probe_counter ^= GDB_PROBE_FLIP;
}

void test_gdb_probe(void)
{
	uint32_t want = (GDB_PROBE_START + GDB_PROBE_MAGIC) ^ GDB_PROBE_FLIP;

	gdb_probe(GDB_PROBE_MAGIC);
	check(gdb_probe_counter == want, "gdb probe: the function ran as written",
	      "counter 0x%x, want 0x%x", gdb_probe_counter, want);
}
