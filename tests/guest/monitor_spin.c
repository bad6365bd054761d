/*
 * The monitor's target (tests/boot/monitor-drive.py): with "monitor-spin" in its command line
 * the guest test kernel puts known values in registers and memory, disables interrupts and
 * spins without a single exit until the monitor writes the release flag.  The driver breaks
 * in, checks what "regs" and "mem" show against these values, steps, writes the flag and
 * continues; the guest then checks that its registers survived and that the bytes typed for it
 * during the spin arrived through the virtual UART, in order, a lone Ctrl-] included.  It
 * writes the trace region before the spin (the monitor's per-offset summary shows it) and
 * reads it after (logged only if the monitor switched the region's reads on), then reads the
 * deny region the monitor added.
 */
#include "tests/guest/monitor_spin.h"
#include "arch/x86/io.h"
#include "lib/string.h"
#include "tests/guest/bootinfo.h"
#include "tests/guest/cpu.h"
#include "tests/guest/mb1.h"
#include "tests/guest/report.h"

#define SPIN_OPT       "monitor-spin"
#define GDB_SPIN_OPT   "gdb-spin"
#define CMDLINE_MAX    256
#define COM1	       0x3F8
#define UART_LSR       5
#define LSR_DR	       0x01
#define INPUT_WANT     "hi\x1dz" /* typed by the driver during the spin */
#define INPUT_MAX      16
#define INPUT_POLLS    2000 /* the bytes wait in mhv's queue already: no need to wait long */
#define RELEASE_VALUE  0x600dd00du
#define SPIN_EAX       0x11223344u
#define SPIN_EBX       0xcafef00du
#define SPIN_EDX       0x5eed1234u
#define SPIN_ESI       0x600dbeefu
#define SPIN_EDI       0xdecade00u
/* The trace region of GUEST_MMIO_ARGS (Makefile): its filter logs writes at 0x10-0x1f. */
#define TRACE_REGION   0xd0030000u
#define TRACE_WRITE_AT 0x10 /* before the spin: "trace 3" must show it in the summary */
#define TRACE_READ_AT  0x20 /* after: logged only because the monitor switched reads on */
#define TRACE_VALUE    0x5a5a5a5au
/* The monitor adds "deny@0xd0040000+0x1000" during the stop: this read is then logged. */
#define ADDED_DENY     0xd0040000u

/*
 * Paging during the spin: 4 MiB identity pages (CR4.PSE) everywhere, and one 4 KiB page at
 * ALIAS_LA mapping the pattern's page, so that "walk" shows a PDE and a PTE and "lmem" reads
 * the pattern through the alias.
 */
#define ALIAS_LA     0x40000000u
#define PAGE_4K	     4096u
#define PTE_P	     0x001u
#define PTE_RW	     0x002u
#define PDE_PS	     0x080u
#define PD_SHIFT     22
#define PD_ENTRIES   1024

static volatile uint32_t release_flag;
/* "MHVMONITOR-TEST!" then a counting pattern: what "mem" must show (within one page). */
static volatile uint8_t pattern[32] __attribute__((aligned(32))) = "MHVMONITOR-TEST!";
static uint32_t page_dir[PD_ENTRIES] __attribute__((aligned(PAGE_4K)));
static uint32_t page_table[PD_ENTRIES] __attribute__((aligned(PAGE_4K)));

static void paging_on(void)
{
	for (uint32_t i = 0; i < PD_ENTRIES; i++) {
		page_dir[i] = (i << PD_SHIFT) | PTE_P | PTE_RW | PDE_PS;
		page_table[i] = 0;
	}
	page_table[0] = ((uint32_t)(uintptr_t)pattern & ~(PAGE_4K - 1)) | PTE_P | PTE_RW;
	page_dir[ALIAS_LA >> PD_SHIFT] = (uint32_t)(uintptr_t)page_table | PTE_P | PTE_RW;
	write_cr4(read_cr4() | CR4_PSE);
	write_cr3((uint32_t)(uintptr_t)page_dir);
	write_cr0(read_cr0() | CR0_PG);
}

static void paging_off(void)
{
	write_cr0(read_cr0() & ~CR0_PG);
	write_cr4(read_cr4() & ~CR4_PSE);
}

static bool asked(const struct boot_info *bi, const char *opt)
{
	const char *cmd;

	if (!bi->mb1 || !(bi->mb1->flags & MB1_INFO_CMDLINE))
		return false;
	cmd = (const char *)(uintptr_t)bi->mb1->cmdline;
	for (const char *p = cmd; *p && p < cmd + CMDLINE_MAX; p++)
		if ((p == cmd || p[-1] == ' ') && !strncmp(p, opt, strlen(opt)) &&
		    (p[strlen(opt)] == ' ' || !p[strlen(opt)]))
			return true;
	return false;
}

/* What the guest received on COM1 while it spun. */
static unsigned read_input(char *buf, unsigned max)
{
	unsigned n = 0;

	for (unsigned i = 0; i < INPUT_POLLS && n < max; i++)
		if (inb(COM1 + UART_LSR) & LSR_DR)
			buf[n++] = (char)inb(COM1);
	return n;
}

/* No exit at all until the flag is set: only an interrupt mhv owns gets it back. */
#define SPIN(a, b, d, si, di)                                                                  \
	asm volatile("pushf\n\t"                                                               \
		     "cli\n"                                                                     \
		     "1:\tcmpl $0, (%%ecx)\n\t"                                                  \
		     "je 1b\n\t"                                                                 \
		     "popf"                                                                        \
		     : "+a"(a), "+b"(b), "+d"(d), "+S"(si), "+D"(di)                               \
		     : "c"(&release_flag)                                                          \
		     : "memory", "cc")

/*
 * "gdb-spin" (tests/boot/gdb-spin.gdb): the same spin for gdb, whose Ctrl-C must stop it (the
 * VMX preemption timer, SVM's NMI from gdb's UART pin), step inside it and write the flag.
 */
static void gdb_spin(void)
{
	uint32_t a = SPIN_EAX, b = SPIN_EBX, d = SPIN_EDX, si = SPIN_ESI, di = SPIN_EDI;

	gprintf("guest: gdb-spin: flag at 0x%x, spinning with interrupts off\n",
		(unsigned)(uintptr_t)&release_flag);
	SPIN(a, b, d, si, di);
	check(a == SPIN_EAX && b == SPIN_EBX && d == SPIN_EDX && si == SPIN_ESI && di == SPIN_EDI,
	      "gdb: registers unchanged across the stop", "eax=%08x ebx=%08x edx=%08x esi=%08x "
	      "edi=%08x", a, b, d, si, di);
	check_eq("gdb: the release flag gdb wrote", release_flag, RELEASE_VALUE);
	report_finish();
}

void monitor_spin_if_asked(const struct boot_info *bi)
{
	uint32_t a = SPIN_EAX, b = SPIN_EBX, d = SPIN_EDX, si = SPIN_ESI, di = SPIN_EDI;
	char input[INPUT_MAX + 1];
	unsigned n;

	if (asked(bi, GDB_SPIN_OPT))
		gdb_spin();
	if (!asked(bi, SPIN_OPT))
		return;
	for (unsigned i = 16; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)i;
	paging_on();
	gprintf("guest: monitor-spin: flag at 0x%x, pattern at 0x%x (linear alias 0x%x), eax=%08x "
		"ebx=%08x edx=%08x esi=%08x edi=%08x\n",
		(unsigned)(uintptr_t)&release_flag, (unsigned)(uintptr_t)pattern,
		ALIAS_LA + ((unsigned)(uintptr_t)pattern & (PAGE_4K - 1)), a, b, d, si, di);
	*(volatile uint32_t *)(uintptr_t)(TRACE_REGION + TRACE_WRITE_AT) = TRACE_VALUE;
	gprintf("guest: monitor-spin: spinning with interrupts off\n");
	SPIN(a, b, d, si, di);
	paging_off();
	check(a == SPIN_EAX && b == SPIN_EBX && d == SPIN_EDX && si == SPIN_ESI && di == SPIN_EDI,
	      "monitor: registers unchanged across the stop", "eax=%08x ebx=%08x edx=%08x esi=%08x "
	      "edi=%08x", a, b, d, si, di);
	check_eq("monitor: the release flag the monitor wrote", release_flag, RELEASE_VALUE);
	(void)*(volatile uint32_t *)(uintptr_t)(TRACE_REGION + TRACE_READ_AT);
	check_eq("monitor: the deny region the monitor added reads all ones",
		 *(volatile uint32_t *)(uintptr_t)ADDED_DENY, 0xFFFFFFFFu);
	n = read_input(input, INPUT_MAX);
	input[n] = '\0';
	check(n == strlen(INPUT_WANT) && !memcmp(input, INPUT_WANT, n),
	      "monitor: input typed for the guest reached it, a lone Ctrl-] included",
	      "got %u bytes", n);
	report_finish();
}
