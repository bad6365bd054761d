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
 *
 * Software breakpoints (gdb's Z0, INT3s mhv plants): gdb breaks on the five hops and on
 * gdb_probe at once (more than the four debug registers), and, with a breakpoint planted on
 * gdb_probe_after_int3, the guest's own INT3 must still reach the guest's #BP handler, EIP
 * after the INT3, as without a debugger.
 */
#include <stddef.h>

#include "arch/x86/io.h"
#include "core/hypercall_abi.h"
#include "tests/guest/hv.h"
#include "tests/guest/cpu.h"
#include "tests/guest/report.h"
#include "tests/guest/tests.h"
#include "tests/guest/trap.h"

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

/*
 * Every function gdb breaks on shares one page of its own (a page-aligned section), and the
 * guest reads that page from code on another page (read_own_code): the read is a data access
 * to a page with gdb's INT3s, which mhv emulates against the original bytes.
 */
#define GDB_BP_PAGE	 __attribute__((section(".text.gdb_bp_page")))
#define GDB_BP_PAGE_FIRST __attribute__((section(".text.gdb_bp_page"), aligned(4096)))
#define OTHER_PAGE	 __attribute__((section(".text.gdb_reader"), aligned(4096)))

void __attribute__((noinline, used)) GDB_BP_PAGE gdb_probe(uint32_t magic);

/* Five places gdb breaks on before gdb_probe (tests/boot/gdb-session.gdb). */
#define GDB_HOPS_WANT	  0x1fu /* each hop sets its own bit */
volatile uint32_t gdb_probe_hops;
/* The guest's own #BP taken while gdb had INT3s planted (gdb checks it at the next stop). */
volatile uint32_t gdb_probe_guest_bp;

#define GDB_HOP(n, where)                                                                   \
	void __attribute__((noinline, used)) where gdb_probe_hop##n(void);                  \
	void __attribute__((noinline, used)) where gdb_probe_hop##n(void)                   \
	{                                                                                   \
		gdb_probe_hops |= 1u << (n);                                                \
	}
GDB_HOP(0, GDB_BP_PAGE_FIRST)
GDB_HOP(1, GDB_BP_PAGE)
GDB_HOP(2, GDB_BP_PAGE)
GDB_HOP(3, GDB_BP_PAGE)
GDB_HOP(4, GDB_BP_PAGE)

/* The guest reads its own code where gdb has a breakpoint (gdb compares with the original). */
volatile uint8_t gdb_probe_code_byte;

/*
 * With gdb's INT3s planted on the hops, the guest reads the first byte of gdb_probe_hop4 (as a
 * byte and within a 32-bit word) and writes the first byte of gdb_probe_hop3 back unchanged:
 * it must read what was compiled, and gdb's breakpoint on hop3 must still fire.
 */
static void __attribute__((noinline)) OTHER_PAGE read_own_code(void)
{
	const volatile uint8_t *hop4 = (const volatile uint8_t *)(uintptr_t)gdb_probe_hop4;
	volatile uint8_t *hop3 = (volatile uint8_t *)(uintptr_t)gdb_probe_hop3;
	uint32_t word = *(const volatile uint32_t *)hop4;
	uint8_t byte = hop4[0], first3;

	gdb_probe_code_byte = byte;
	check(byte != 0xCC && (word & 0xFF) == byte,
	      "gdb probe: the guest reads its own code under gdb's breakpoint as compiled",
	      "byte 0x%x, word 0x%x", byte, word);
	first3 = hop3[0];
	hop3[0] = first3; /* the same byte written back: gdb's INT3 must stay under it */
}

void __attribute__((noinline, used)) GDB_BP_PAGE gdb_probe_after_int3(void);
void __attribute__((noinline, used)) GDB_BP_PAGE gdb_probe_after_int3(void)
{
	asm volatile("" ::: "memory"); /* a place for gdb's breakpoint */
}

extern const char gdb_guest_int3[];

static void guest_int3(void *arg)
{
	(void)arg;
	asm volatile(".globl gdb_guest_int3\ngdb_guest_int3: int3");
}

/* The guest's own INT3 while gdb's are planted (gdb breaks on gdb_probe_after_int3): the
 * guest's handler gets it, EIP just after it. */
static void test_guest_int3(void)
{
	struct fault f;

	run_catching(guest_int3, NULL, &f);
	check(f.raised && f.vector == VEC_BP && f.eip == (uint32_t)gdb_guest_int3 + 1,
	      "gdb probe: the guest's own INT3 reaches its #BP handler, EIP after it",
	      "raised %u vector %u EIP 0x%x (INT3 at 0x%x)", f.raised, f.vector, f.eip,
	      (uint32_t)gdb_guest_int3);
	gdb_probe_guest_bp = f.raised && f.vector == VEC_BP;
	gdb_probe_after_int3();
}

/*
 * A stop that moves mhv's device regions under a remembered device access: gdb breaks on
 * gdb_probe_shift (its page becomes a region below the device regions while the INT3 is
 * planted, tests/boot/gdb-session.gdb) and deletes the breakpoint there, so the regions above
 * that page move down one slot while the guest is stopped.  The same load (one RIP, one
 * device word) before the stop, with the page's region in place, and after it must read the
 * device's own word: mhv's MMIO short path must not call the region that now sits where the
 * device's was.
 */
#define SHIFT_ROUNDS	 4
#define SHIFT_OFF	 0x240 /* a word no other test uses */
#define SHIFT_VAL0	 0x5A0B0001u
#define SHIFT_VAL1	 0x5A0B0002u
#define SHIFT_MAX_REGION 8

void __attribute__((noinline, used)) GDB_BP_PAGE gdb_probe_shift(void);
void __attribute__((noinline, used)) GDB_BP_PAGE gdb_probe_shift(void)
{
	asm volatile("" ::: "memory"); /* a place for gdb's breakpoint */
}

static __attribute__((noinline)) uint32_t shift_load(uintptr_t addr)
{
	return *(const volatile uint32_t *)addr;
}

static void test_region_shift(void)
{
	uintptr_t base[2];
	uint32_t n = 0, bad_before = 0, bad_after = 0;

	for (uint32_t i = 0; i < SHIFT_MAX_REGION && n < 2; i++) {
		struct hc_regs r = {.eax = HC_MMIO_REGION, .ebx = i};

		hc_native(&r);
		if (r.eax == (uint32_t)HC_ENOSYS)
			break;
		if (r.ecx == MMIO_TYPE_RAM && r.ebx > SHIFT_OFF)
			base[n++] = r.eax;
	}
	if (n < 2)
		return; /* no two ram regions (gdb-spin's ISO): nothing to shift under */
	*(volatile uint32_t *)(base[0] + SHIFT_OFF) = SHIFT_VAL0;
	*(volatile uint32_t *)(base[1] + SHIFT_OFF) = SHIFT_VAL1;
	for (uint32_t i = 0; i < SHIFT_ROUNDS; i++)
		bad_before += shift_load(base[0] + SHIFT_OFF) != SHIFT_VAL0;
	gdb_probe_shift();
	for (uint32_t i = 0; i < SHIFT_ROUNDS; i++)
		bad_after += shift_load(base[0] + SHIFT_OFF) != SHIFT_VAL0;
	check(!bad_before && !bad_after,
	      "gdb probe: one load reads its device's word before and after a stop that moved "
	      "the device regions",
	      "%u wrong before, %u after", bad_before, bad_after);
}

void __attribute__((noinline, used)) GDB_BP_PAGE gdb_probe(uint32_t magic)
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
	read_own_code();
	gdb_probe_hop0();
	gdb_probe_hop1();
	gdb_probe_hop2();
	gdb_probe_hop3();
	gdb_probe_hop4();
	check(gdb_probe_hops == GDB_HOPS_WANT, "gdb probe: the five hops ran as written",
	      "hops 0x%x", gdb_probe_hops);
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
	test_guest_int3();
	test_region_shift();
	/* With gdb=com2 the debugger's UART is hidden: no device answers there (the gdb boot
	 * tests' .expect files judge this line; elsewhere COM2 may exist or not). */
	outb(COM2_SCRATCH, SCRATCH_PROBE);
	gprintf("guest: gdb probe: COM2 scratch reads 0x%x\n", inb(COM2_SCRATCH));
}
