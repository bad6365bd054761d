/*
 * A function and a variable for the boot test that drives a real gdb over mhv's GDB stub
 * (tests/boot/gdb-session.gdb): gdb breaks on gdb_probe(), checks its argument through ESP and
 * gdb_probe_counter, watches the counter, single-steps and detaches.  The guest then checks the
 * probe did exactly what it does without a debugger: gdb left no trace.  At the breakpoint gdb
 * also sets CR0.TS through the stub's register write (and gdb_probe_set_ts, to say so): the
 * guest must see TS set when the probe returns.  Before the call the
 * guest loads debug registers of its own (no breakpoint enabled): while gdb holds DR0-DR3 and
 * DR7 the guest must read back its own values, and gdb's breakpoint must still fire (the boot
 * test's gdb log shows it); after gdb lets go, the hardware holds the guest's values again.
 */
#include "arch/x86/io.h"
#include "tests/guest/report.h"
#include "tests/guest/tests.h"

#define GDB_PROBE_START 0x1000u
#define GDB_PROBE_MAGIC 0x6d687667u /* "mhvg", checked by the gdb script */
#define GDB_PROBE_FLIP	1u
#define GUEST_DR0	0x00dead00u
#define GUEST_DR7	0x700u /* bit 10 and the LE/GE hints: nothing enabled */
#define DR7_RESET	0x400u
#define COM2_SCRATCH	0x2ffu /* COM2's scratch register: a UART keeps what is written there */
#define SCRATCH_PROBE	0x5au
#define CR0_TS		(1u << 3)

volatile uint32_t gdb_probe_counter = GDB_PROBE_START;
/* Set by gdb when it sets CR0.TS (tests/boot/gdb-session.gdb); 0 without a debugger. */
volatile uint32_t gdb_probe_set_ts;

void __attribute__((noinline, used)) gdb_probe(uint32_t magic);

void __attribute__((noinline, used)) gdb_probe(uint32_t magic)
{
	gdb_probe_counter += magic;
	gdb_probe_counter ^= GDB_PROBE_FLIP;
}

static void read_drs(uint32_t *dr0, uint32_t *dr7)
{
	asm volatile("movl %%dr0, %0" : "=r"(*dr0));
	asm volatile("movl %%dr7, %0" : "=r"(*dr7));
}

void test_gdb_probe(void)
{
	uint32_t want = (GDB_PROBE_START + GDB_PROBE_MAGIC) ^ GDB_PROBE_FLIP;
	uint32_t dr0, dr7;

	asm volatile("movl %0, %%dr0" ::"r"(GUEST_DR0));
	asm volatile("movl %0, %%dr7" ::"r"(GUEST_DR7));
	read_drs(&dr0, &dr7);
	check(dr0 == GUEST_DR0 && dr7 == GUEST_DR7, "gdb probe: the guest's own DR0 and DR7 read back",
	      "DR0 0x%x DR7 0x%x", dr0, dr7);
	gdb_probe(GDB_PROBE_MAGIC);
	if (gdb_probe_set_ts) {
		uint32_t cr0;

		asm volatile("movl %%cr0, %0" : "=r"(cr0));
		asm volatile("clts");
		check(cr0 & CR0_TS, "gdb probe: CR0.TS the debugger set is the guest's",
		      "CR0 0x%x", cr0);
	}
	check(gdb_probe_counter == want, "gdb probe: the function ran as written",
	      "counter 0x%x, want 0x%x", gdb_probe_counter, want);
	read_drs(&dr0, &dr7);
	check(dr0 == GUEST_DR0 && dr7 == GUEST_DR7,
	      "gdb probe: the guest's debug registers are its own after the debugger",
	      "DR0 0x%x DR7 0x%x", dr0, dr7);
	asm volatile("movl %0, %%dr7" ::"r"(DR7_RESET));
	asm volatile("movl %0, %%dr0" ::"r"(0u));
	/* With gdb=com2 the debugger's UART is hidden: no device answers there (the gdb boot
	 * tests' .expect files judge this line; elsewhere COM2 may exist or not). */
	outb(COM2_SCRATCH, SCRATCH_PROBE);
	gprintf("guest: gdb probe: COM2 scratch reads 0x%x\n", inb(COM2_SCRATCH));
}
