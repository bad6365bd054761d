/*
 * Guest actions that used to stop mhv (a FATAL exit) must now end as what the CPU would do:
 * string I/O to the console UART is emulated (with #PF for a bad buffer), PAE walks accept the
 * PDPTE accessed bit, CR0.PG toggles from low memory work, a single-step trap over an
 * intercepted instruction still arrives, and CR4.LA57 follows the SDM.  Each check's outcome
 * is the architectural one; mhv surviving is shown by the run going on.
 *
 * Runs with 32-bit paging on (test_paging.c) and leaves CR0/CR3/CR4 as found.
 */
#include <stddef.h>

#include "arch/x86/io.h"
#include "core/hypercall_abi.h"
#include "tests/guest/cpu.h"
#include "tests/guest/desc.h"
#include "tests/guest/hv.h"
#include "tests/guest/long_mode.h"
#include "tests/guest/report.h"
#include "tests/guest/serial.h"
#include "tests/guest/tests.h"
#include "tests/guest/trap.h"

#define COM1		serial_port() /* mhv's console UART */
#define COM1_SCR	(COM1 + 7) /* scratch register: reads back what was written */
#define SCR_PATTERN	0x5A
#define PAGE_SIZE	4096u
#define ENTRIES32	1024u
#define ENTRIES64	512u
#define PTE_P		(1u << 0)
#define PTE_RW		(1u << 1)
#define PTE_A		(1u << 5)
#define PTE_PS		(1u << 7)
#define PF_ERR_W	(1u << 1)
#define CR4_PSE		(1u << 4)
#define CR4_PAE		(1u << 5)
#define CR4_LA57	(1u << 12)
#define RFLAGS_TF	(1u << 8)
#define DR6_BS		(1u << 14)
#define VEC_DB		1
#define CPUID_7_ECX_LA57 (1u << 16)
#define LARGE_SHIFT	22	    /* 32-bit paging: a PDE maps 4 MiB */
#define PAE_LARGE_SHIFT 21	    /* PAE: a PDE maps 2 MiB */
#define FAULT_PDE	(ENTRIES32 - 3) /* 0xFF400000: our window, mapped by fault_pt */
#define FAULT_WINDOW	((uintptr_t)FAULT_PDE << LARGE_SHIFT)
#define EDGE_BYTES	2 /* a string element run that crosses into the unmapped page */
#define LOW_CODE	0x7000u /* below 1 MiB: where Linux puts its 32-bit trampoline */
#define MMIO_TEST_OFF	0x800	/* region 0 offset no other test uses */
#define MMIO_PATTERN	0xC0FFEE57u

static const char outs_line[] = "guest: contain: REP OUTSB reached the console\n";

/* 32-bit paging: 4 MiB identity pages, except a window with one page mapped, one not. */
static uint32_t fault_pd[ENTRIES32] __attribute__((aligned(PAGE_SIZE)));
static uint32_t fault_pt[ENTRIES32] __attribute__((aligned(PAGE_SIZE)));
static uint8_t fault_page[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
/* PAE: four page directories of 2 MiB identity pages (all 4 GiB). */
static uint64_t pae_pd[4][ENTRIES64] __attribute__((aligned(PAGE_SIZE)));
static uint64_t pae_pdpt[4] __attribute__((aligned(32)));

static void rep_outsb(uint16_t port, const void *buf, uint32_t n, uint32_t *esi, uint32_t *ecx)
{
	uint32_t s = (uint32_t)buf, c = n;

	asm volatile("cld; rep outsb" : "+S"(s), "+c"(c) : "d"(port) : "memory");
	*esi = s;
	*ecx = c;
}

static void rep_insb(uint16_t port, void *buf, uint32_t n, bool down, uint32_t *edi,
		     uint32_t *ecx)
{
	uint32_t d = (uint32_t)buf, c = n;

	if (down)
		asm volatile("std; rep insb; cld" : "+D"(d), "+c"(c) : "d"(port) : "memory");
	else
		asm volatile("cld; rep insb" : "+D"(d), "+c"(c) : "d"(port) : "memory");
	*edi = d;
	*ecx = c;
}

static void test_string_io(void)
{
	uint8_t buf[8] = {0};
	uint32_t reg, count;

	rep_outsb(COM1, outs_line, sizeof(outs_line) - 1, &reg, &count);
	check_eq("contain: REP OUTSB to COM1 leaves ECX 0", count, 0);
	check_eq("contain: REP OUTSB to COM1 advances ESI by the count", reg,
		 (uint32_t)outs_line + sizeof(outs_line) - 1);

	outb(COM1_SCR, SCR_PATTERN);
	rep_insb(COM1_SCR, buf, 4, false, &reg, &count);
	check_eq("contain: REP INSB from COM1 leaves ECX 0", count, 0);
	check_eq("contain: REP INSB from COM1 advances EDI by the count", reg, (uint32_t)buf + 4);
	check(buf[0] == SCR_PATTERN && buf[3] == SCR_PATTERN && buf[4] == 0,
	      "contain: REP INSB from COM1 stores the port's bytes", "%x %x %x", buf[0],
	      buf[3], buf[4]);
	rep_insb(COM1_SCR, buf + 7, 2, true, &reg, &count);
	check_eq("contain: REP INSB with DF=1 moves EDI down", reg, (uint32_t)buf + 5);
	check_eq("contain: REP INSB with DF=1 stores downwards", buf[6], SCR_PATTERN);
}

/* 16-bit address size (67 prefix): DI and CX count, the upper halves stay as they were. */
#define LOW_BUF	      0x7100u
#define UPPER_EDI     0x12340000u
#define UPPER_ECX     0x56780000u
#define A16_COUNT     3

static void test_string_io_addr16(void)
{
	uint32_t d = UPPER_EDI | LOW_BUF, c = UPPER_ECX | A16_COUNT;
	volatile uint8_t *buf = (volatile uint8_t *)LOW_BUF;

	buf[A16_COUNT - 1] = 0;
	buf[A16_COUNT] = 0;
	outb(COM1_SCR, SCR_PATTERN);
	asm volatile("cld; .byte 0x67; rep insb" : "+D"(d), "+c"(c) : "d"(COM1_SCR) : "memory");
	check_eq("contain: a16 REP INSB advances DI and keeps EDI's upper half", d,
		 UPPER_EDI | (LOW_BUF + A16_COUNT));
	check_eq("contain: a16 REP INSB counts CX down and keeps ECX's upper half", c, UPPER_ECX);
	check(buf[A16_COUNT - 1] == SCR_PATTERN && buf[A16_COUNT] == 0,
	      "contain: a16 REP INSB stores exactly CX bytes at ES:DI", "%x %x",
	      buf[A16_COUNT - 1], buf[A16_COUNT]);
}

/* ---- string I/O on a buffer that runs into a not-present page ---- */

static void fault_paging_on(uint32_t *old_cr3)
{
	for (uint32_t i = 0; i < ENTRIES32; i++)
		fault_pd[i] = (i << LARGE_SHIFT) | PTE_PS | PTE_RW | PTE_P;
	fault_pt[0] = (uint32_t)fault_page | PTE_RW | PTE_P;
	fault_pt[1] = 0;
	fault_pd[FAULT_PDE] = (uint32_t)fault_pt | PTE_RW | PTE_P;
	*old_cr3 = read_cr3();
	write_cr3((uint32_t)fault_pd);
}

static void outs_into_hole(void *arg)
{
	uint32_t s = FAULT_WINDOW + PAGE_SIZE - EDGE_BYTES, c = 2 * EDGE_BYTES;

	(void)arg;
	asm volatile("cld; rep outsb" : "+S"(s), "+c"(c) : "d"(COM1) : "memory");
}

static void ins_into_hole(void *arg)
{
	uint32_t d = FAULT_WINDOW + PAGE_SIZE - EDGE_BYTES, c = 2 * EDGE_BYTES;

	(void)arg;
	asm volatile("cld; rep insb" : "+D"(d), "+c"(c) : "d"(COM1_SCR) : "memory");
}

static void test_string_io_faults(void)
{
	uint32_t old_cr3;
	struct fault f;

	/* The two bytes before the hole print as line ends: they cannot splice a line. */
	fault_page[PAGE_SIZE - 2] = '\n';
	fault_page[PAGE_SIZE - 1] = '\n';
	fault_paging_on(&old_cr3);
	run_catching(outs_into_hole, NULL, &f);
	write_cr3(old_cr3);
	check_fault("contain: REP OUTSB from a buffer running into a hole raises #PF", &f, VEC_PF);
	check_eq("contain: #PF from OUTS names the first missing byte", f.cr2,
		 FAULT_WINDOW + PAGE_SIZE);
	check_eq("contain: #PF from OUTS is a not-present read", f.errcode, 0);

	outb(COM1_SCR, SCR_PATTERN);
	fault_page[PAGE_SIZE - 2] = 0;
	fault_page[PAGE_SIZE - 1] = 0;
	fault_paging_on(&old_cr3);
	run_catching(ins_into_hole, NULL, &f);
	write_cr3(old_cr3);
	check_fault("contain: REP INSB into a buffer running into a hole raises #PF", &f, VEC_PF);
	check_eq("contain: #PF from INS names the first missing byte", f.cr2,
		 FAULT_WINDOW + PAGE_SIZE);
	check_eq("contain: #PF from INS is a not-present write", f.errcode, PF_ERR_W);
	check(fault_page[PAGE_SIZE - 2] == SCR_PATTERN && fault_page[PAGE_SIZE - 1] == SCR_PATTERN,
	      "contain: REP INSB completed the elements before the hole", "%x %x", fault_page[PAGE_SIZE - 2], fault_page[PAGE_SIZE - 1]);
}

/* ---- PAE paging with the PDPTE accessed bit set, through an MMIO access ---- */

static void pae_on(void *arg)
{
	uint32_t cr0 = read_cr0();

	(void)arg;
	write_cr0(cr0 & ~CR0_PG);
	write_cr3((uint32_t)pae_pdpt);
	write_cr4(read_cr4() | CR4_PAE);
	write_cr0(cr0); /* Intel loads the PDPTEs here: #GP for a reserved bit */
}

static void paging_restore(uint32_t cr0, uint32_t cr3, uint32_t cr4)
{
	write_cr0(cr0 & ~CR0_PG);
	write_cr4(cr4);
	write_cr3(cr3);
	write_cr0(cr0);
}

static void pae_tables(uint32_t pdpte_flags)
{
	for (uint32_t d = 0; d < 4; d++) {
		for (uint32_t i = 0; i < ENTRIES64; i++)
			pae_pd[d][i] = ((uint64_t)(d * ENTRIES64 + i) << PAE_LARGE_SHIFT) | PTE_PS |
				       PTE_RW | PTE_P;
		pae_pdpt[d] = (uint32_t)pae_pd[d] | pdpte_flags;
	}
}

/*
 * QEMU sets the accessed bit of the PAE PDPTEs it walks; mhv's own walk of the same tables
 * (for an MMIO access) must not call it reserved.  Intel calls bits 8:5 reserved and checks
 * them when PAE paging starts (#GP); Bochs's AMD model faults on them too, so the guest
 * never sets the bit itself there.
 */
static void test_pae_pdpte_accessed(void)
{
	uint32_t cr0 = read_cr0(), cr3 = read_cr3(), cr4 = read_cr4(), base, got = 0;
	struct hc_regs r = {.eax = HC_MMIO_REGION, .ebx = 0};
	struct fault f;

	hc_native(&r);
	if (r.eax == (uint32_t)HC_ENOSYS || r.ecx != MMIO_TYPE_RAM) {
		gprintf("SKIP guest: contain: PAE walk through MMIO (no ram region 0)\n");
		return;
	}
	base = r.eax;
	if (cpu_vendor() == VENDOR_INTEL) {
		uint32_t pg_after;

		pae_tables(PTE_A | PTE_P);
		run_catching(pae_on, NULL, &f);
		pg_after = read_cr0() & CR0_PG;
		paging_restore(cr0, cr3, cr4);
		check_fault("contain: PAE paging with PDPTE.A raises #GP on Intel", &f, VEC_GP);
		check_eq("contain: the refused MOV to CR0 left paging off", pg_after, 0);
	}
	pae_tables(PTE_P);
	run_catching(pae_on, NULL, &f);
	if (!f.raised) {
		mmio_write32(base + MMIO_TEST_OFF, MMIO_PATTERN);
		got = mmio_read32(base + MMIO_TEST_OFF);
	}
	paging_restore(cr0, cr3, cr4);
	check_no_fault("contain: PAE paging starts", &f);
	check_eq("contain: MMIO write+read through mhv's PAE walk", got, MMIO_PATTERN);
	gprintf("guest: contain: PDPTE.A after the PAE walks: %s\n",
		(pae_pdpt[base >> 30] & PTE_A) ? "set by the CPU" : "clear");
}

/* ---- CR0.PG off and on again, from code below 1 MiB ---- */

/* mov %cr0,%eax; and $~PG,%eax; mov %eax,%cr0; or $PG,%eax; mov %eax,%cr0; ret */
static const uint8_t pg_toggle_code[] = {0x0F, 0x20, 0xC0, 0x25, 0xFF, 0xFF, 0xFF, 0x7F,
					 0x0F, 0x22, 0xC0, 0x0D, 0x00, 0x00, 0x00, 0x80,
					 0x0F, 0x22, 0xC0, 0xC3};

static void run_low_code(void *arg)
{
	(void)arg;
	((void (*)(void))LOW_CODE)();
}

static void test_low_pg_toggle(void)
{
	uint8_t *low = (uint8_t *)LOW_CODE;
	struct fault f;

	for (uint32_t i = 0; i < sizeof(pg_toggle_code); i++)
		low[i] = pg_toggle_code[i];
	run_catching(run_low_code, NULL, &f);
	check_no_fault("contain: CR0.PG off and on from code below 1 MiB", &f);
	check_eq("contain: paging is on again after the low-memory toggle", read_cr0() & CR0_PG,
		 CR0_PG);
}

/* ---- EIP wrapping past 4 GiB after an intercepted instruction ---- */

#define WRAP_PDE_HI   (ENTRIES32 - 1) /* 0xFFC00000-0xFFFFFFFF */
#define WRAP_PTE_HI   (ENTRIES32 - 1) /* 0xFFFFF000 */
#define CPUID_LEN     2
#define OPC_CPUID     0xA20F /* 0F A2, little-endian */
#define OPC_JMP_ESI   0xE6FF /* FF E6: jmp *%esi */

static uint32_t wrap_pt_lo[ENTRIES32] __attribute__((aligned(PAGE_SIZE)));
static uint32_t wrap_pt_hi[ENTRIES32] __attribute__((aligned(PAGE_SIZE)));
static uint8_t wrap_page_lo[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static uint8_t wrap_page_hi[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));

/* CPUID as the last two bytes below 4 GiB; linear 0 holds a jump back through ESI. */
static void cpuid_at_4g(void *arg)
{
	uint32_t *eax = arg;

	asm volatile("movl $1f, %%esi\n\t"
		     "jmp *%1\n"
		     "1:"
		     : "=a"(*eax)
		     : "r"(0u - CPUID_LEN), "a"(0), "c"(0)
		     : "ebx", "edx", "esi", "memory");
}

static void test_eip_wrap(void)
{
	uint32_t old_cr3, eax = 0;
	struct fault f;

	fault_paging_on(&old_cr3); /* 4 MiB identity pages, to be refined below */
	for (uint32_t i = 0; i < ENTRIES32; i++)
		wrap_pt_lo[i] = (i * PAGE_SIZE) | PTE_RW | PTE_P;
	wrap_pt_lo[0] = (uint32_t)wrap_page_lo | PTE_RW | PTE_P;
	wrap_pt_hi[WRAP_PTE_HI] = (uint32_t)wrap_page_hi | PTE_RW | PTE_P;
	*(volatile uint16_t *)wrap_page_lo = OPC_JMP_ESI;
	*(volatile uint16_t *)(wrap_page_hi + PAGE_SIZE - CPUID_LEN) = OPC_CPUID;
	fault_pd[0] = (uint32_t)wrap_pt_lo | PTE_RW | PTE_P;
	fault_pd[WRAP_PDE_HI] = (uint32_t)wrap_pt_hi | PTE_RW | PTE_P;
	write_cr3((uint32_t)fault_pd);
	run_catching(cpuid_at_4g, &eax, &f);
	write_cr3(old_cr3);
	check_no_fault("contain: CPUID ending at 4 GiB continues at EIP 0", &f);
	check_eq("contain: CPUID ending at 4 GiB returns its result", eax, cpuid(0).eax);
}

/* ---- a single-step trap over an intercepted instruction ---- */

extern const char tf_after_cpuid[];

static void cpuid_single_step(void *arg)
{
	(void)arg;
	asm volatile("pushfl\n\t"
		     "orl %0, (%%esp)\n\t"
		     "popfl\n\t"
		     "cpuid\n"
		     "tf_after_cpuid:\n\t"
		     "nop"
		     :
		     : "i"(RFLAGS_TF), "a"(0), "c"(0)
		     : "ebx", "edx", "memory", "cc");
}

static void test_single_step_over_cpuid(void)
{
	uint32_t dr6;
	struct fault f;

	asm volatile("movl %0, %%dr6" ::"r"(0u));
	run_catching(cpuid_single_step, NULL, &f);
	asm volatile("movl %%dr6, %0" : "=r"(dr6));
	check_fault("contain: TF over CPUID raises #DB", &f, VEC_DB);
	check_eq("contain: the #DB trap points past CPUID", f.eip, (uint32_t)tf_after_cpuid);
	check_eq("contain: DR6.BS reports the single step", dr6 & DR6_BS, DR6_BS);
}

/* TF over an instruction mhv emulates (an MMIO read) and one it skips after doing its work
 * (an OUT to the console UART's scratch register): a #DB trap right after each. */
extern const char tf_after_mmio[], tf_after_out[];

static void mmio_read_single_step(void *arg)
{
	uint32_t val;

	asm volatile("pushfl\n\t"
		     "orl %2, (%%esp)\n\t"
		     "popfl\n\t"
		     "movl (%1), %0\n"
		     "tf_after_mmio:\n\t"
		     "nop"
		     : "=&r"(val)
		     : "r"(*(uint32_t *)arg), "i"(RFLAGS_TF)
		     : "memory", "cc");
}

static void out_single_step(void *arg)
{
	(void)arg;
	asm volatile("pushfl\n\t"
		     "orl %2, (%%esp)\n\t"
		     "popfl\n\t"
		     "outb %%al, %%dx\n"
		     "tf_after_out:\n\t"
		     "nop"
		     :
		     : "a"(SCR_PATTERN), "d"(COM1_SCR), "i"(RFLAGS_TF)
		     : "memory", "cc");
}

static void test_single_step_over_emulated(void)
{
	struct hc_regs r = {.eax = HC_MMIO_REGION, .ebx = 0};
	uint32_t dr6, addr;
	struct fault f;

	hc_native(&r);
	if (r.eax != (uint32_t)HC_ENOSYS && r.ecx == MMIO_TYPE_RAM) {
		addr = r.eax + MMIO_TEST_OFF;
		asm volatile("movl %0, %%dr6" ::"r"(0u));
		run_catching(mmio_read_single_step, &addr, &f);
		asm volatile("movl %%dr6, %0" : "=r"(dr6));
		check_fault("contain: TF over an emulated MMIO read raises #DB", &f, VEC_DB);
		check_eq("contain: the MMIO #DB trap points past the read", f.eip,
			 (uint32_t)tf_after_mmio);
		check_eq("contain: DR6.BS reports the MMIO single step", dr6 & DR6_BS, DR6_BS);
	}
	asm volatile("movl %0, %%dr6" ::"r"(0u));
	run_catching(out_single_step, NULL, &f);
	asm volatile("movl %%dr6, %0" : "=r"(dr6));
	check_fault("contain: TF over an intercepted OUT raises #DB", &f, VEC_DB);
	check_eq("contain: the OUT #DB trap points past the OUT", f.eip, (uint32_t)tf_after_out);
	check_eq("contain: DR6.BS reports the OUT single step", dr6 & DR6_BS, DR6_BS);
}

/* ---- guest debug registers across exits ---- */

#define DR7_FIXED   0x400u
#define DR7_LE_GE   0x300u /* exact-breakpoint hints: no breakpoint armed */
#define DR7_L0	    (1u << 0)
#define DR6_B0	    (1u << 0)

extern const char bp_after_cpuid[];

static void cpuid_then_breakpoint(void *arg)
{
	(void)arg;
	asm volatile("cpuid\n"
		     "bp_after_cpuid:\n\t"
		     "nop"
		     :
		     : "a"(0), "c"(0)
		     : "ebx", "edx", "memory");
}

static void test_debug_registers(void)
{
	uint32_t dr7, dr6;
	struct fault f;

	asm volatile("movl %0, %%dr7" ::"r"(DR7_FIXED | DR7_LE_GE));
	cpuid(0);
	asm volatile("movl %%dr7, %0" : "=r"(dr7));
	check_eq("contain: guest DR7 survives an exit", dr7, DR7_FIXED | DR7_LE_GE);

	/* An instruction breakpoint right after an intercepted instruction: a #DB fault in
	 * the guest, none in mhv (the guest's DR0 stays loaded while mhv runs). */
	asm volatile("movl %0, %%dr6" ::"r"(0u));
	asm volatile("movl %0, %%dr0" ::"r"((uint32_t)bp_after_cpuid));
	asm volatile("movl %0, %%dr7" ::"r"(DR7_FIXED | DR7_L0));
	run_catching(cpuid_then_breakpoint, NULL, &f);
	asm volatile("movl %0, %%dr7" ::"r"(DR7_FIXED));
	asm volatile("movl %%dr6, %0" : "=r"(dr6));
	check_fault("contain: breakpoint after CPUID raises #DB in the guest", &f, VEC_DB);
	check_eq("contain: the breakpoint #DB points at the breakpoint", f.eip,
		 (uint32_t)bp_after_cpuid);
	check_eq("contain: DR6.B0 reports breakpoint 0", dr6 & DR6_B0, DR6_B0);
}

/* ---- CR4.LA57 outside long mode: allowed iff the CPU has LA57 ---- */

static void set_cr4_bits(void *arg)
{
	write_cr4(read_cr4() | *(const uint32_t *)arg);
}

static void test_la57_legacy(void)
{
	uint32_t cr4 = read_cr4(), bit = CR4_LA57;
	bool has_la57 = cpuid_count(7, 0).ecx & CPUID_7_ECX_LA57;
	struct fault f;

	run_catching(set_cr4_bits, &bit, &f);
	if (has_la57) {
		check_no_fault("contain: CR4.LA57 set outside long mode (CPU has LA57)", &f);
		check_eq("contain: CR4.LA57 reads back", read_cr4() & CR4_LA57, CR4_LA57);
	} else {
		check_fault("contain: CR4.LA57 without LA57 in CPUID raises #GP", &f, VEC_GP);
	}
	write_cr4(cr4);
	check_eq("contain: CR4 restored after the LA57 check", read_cr4(), cr4);
}

/* ---- CR4.LA57 in IA-32e mode: #GP (SDM MOV CRn), checked from compatibility mode ---- */

#define EFER_LME	(1u << 8)
#define EFER_LMA	(1u << 10)
#define GATE_INTR64	0x8E00u /* present, DPL 0, 64-bit interrupt gate */
#define VEC_GP_LM	13
#define IDT64_ENTRIES	(VEC_GP_LM + 1)

struct idt64_gate {
	uint16_t offset_lo, selector, type_attr, offset_mid;
	uint32_t offset_hi, reserved;
};

extern const char long_mode_gp_handler[];
extern volatile uint32_t long_mode_gp_count, long_mode_gp_error;

static struct idt64_gate idt64[IDT64_ENTRIES] __attribute__((aligned(16)));
static uint64_t lm_pml4[ENTRIES64] __attribute__((aligned(PAGE_SIZE)));
static uint64_t lm_pdpt[ENTRIES64] __attribute__((aligned(PAGE_SIZE)));
static uint64_t lm_pml5[ENTRIES64] __attribute__((aligned(PAGE_SIZE)));

uint32_t lm64_mov_cr3(uint32_t lo, uint32_t hi);
void lm64_dirty_rax_mov_cr3(uint32_t cr3, uint32_t junk);

#define CR3_PCID_NOFLUSH_HI (1u << 31) /* bit 63 */
#define CR3_JUNK_HIGH	    0xDEAD0000u
#define CPUID_ADDR_SIZES    0x80000008u

struct lm_result {
	uint32_t efer_in_lm, cr4_after, gp_count, gp_error;
	/* MOV to CR3 in IA-32e mode: #GPs for bit 63 without PCIDE and for a bit at
	 * MAXPHYADDR, CR3 after them, and CR3 after a compatibility-mode MOV with junk in
	 * RAX's upper half */
	uint32_t cr3_gp_count, cr3_after_refused, cr3_after_compat;
	uint32_t cr4_5level, cpuid_5level; /* Linux's trampoline path, with LA57 only */
};

/* No calls and no exceptions but the expected #GP while in IA-32e mode: the kernel's IDT
 * holds 32-bit gates, which IA-32e mode cannot use. */
/*
 * With mmio_cache=on mhv intercepts MOV to CR3 only while one of its translation caches holds
 * something (core/flush_exits.h): a read of region 0 fills the MMIO cache.  0: no such region.
 */
static uint32_t cache_fill_addr;

static void fill_mmio_cache(void)
{
	if (cache_fill_addr)
		(void)mmio_read32(cache_fill_addr);
}

static void __attribute__((noinline)) visit_long_mode(struct lm_result *r, bool la57,
						      uint32_t maxphyaddr_bit_hi)
{
	uint32_t cr0 = read_cr0(), cr3 = read_cr3(), cr4 = read_cr4();
	uint64_t efer = rdmsr(MSR_EFER);
	struct table_ptr old_gdt, old_idt, gdt = {sizeof(lm_gdt) - 1, (uint32_t)lm_gdt},
					   idt = {sizeof(idt64) - 1, (uint32_t)idt64};

	asm volatile("sgdt %0; sidt %1" : "=m"(old_gdt), "=m"(old_idt));
	asm volatile("lgdt %0; lidt %1" ::"m"(gdt), "m"(idt));
	long_mode_gp_count = 0;
	write_cr0(cr0 & ~CR0_PG);
	write_cr4(cr4 | CR4_PAE);
	write_cr3((uint32_t)lm_pml4);
	wrmsr(MSR_EFER, efer | EFER_LME);
	write_cr0(cr0 | CR0_PG); /* IA-32e mode, running on in compatibility mode */
	r->efer_in_lm = (uint32_t)rdmsr(MSR_EFER);
	asm volatile("movl %%eax, %%cr4" ::"a"(cr4 | CR4_PAE | CR4_LA57) : "memory");
	r->cr4_after = read_cr4();
	r->gp_count = long_mode_gp_count;
	r->gp_error = long_mode_gp_error;
	if (maxphyaddr_bit_hi) {
		fill_mmio_cache(); /* the refused MOVs flush nothing: the third one exits too */
		lm64_mov_cr3((uint32_t)lm_pml4, CR3_PCID_NOFLUSH_HI); /* CR4.PCIDE is clear */
		r->cr3_after_refused = lm64_mov_cr3((uint32_t)lm_pml4, maxphyaddr_bit_hi);
		r->cr3_gp_count = long_mode_gp_count - r->gp_count;
		lm64_dirty_rax_mov_cr3((uint32_t)lm_pml4, CR3_JUNK_HIGH);
		r->cr3_after_compat = read_cr3();
	}
	write_cr0(cr0 & ~CR0_PG); /* allowed from compatibility mode: back to legacy mode */
	if (la57) {
		/* What Linux's 32-bit trampoline below 1 MiB does: LA57 set with paging off,
		 * then paging (and IA-32e mode) on with 5-level tables, then an intercepted
		 * instruction, whose length mhv must find through a 5-level walk on SVM
		 * without NRIPS. */
		write_cr4(cr4 | CR4_PAE | CR4_LA57);
		write_cr3((uint32_t)lm_pml5);
		write_cr0(cr0 | CR0_PG);
		r->cr4_5level = read_cr4();
		r->cpuid_5level = cpuid(0).eax;
		write_cr0(cr0 & ~CR0_PG);
	}
	wrmsr(MSR_EFER, efer);
	write_cr4(cr4);
	write_cr3(cr3);
	write_cr0(cr0);
	asm volatile("lgdt %0; lidt %1" ::"m"(old_gdt), "m"(old_idt));
}

static void test_la57_long_mode(void)
{
	uint32_t handler = (uint32_t)long_mode_gp_handler;
	bool has_la57 = cpuid_count(7, 0).ecx & CPUID_7_ECX_LA57;
	struct lm_result r = {0};

	idt64[VEC_GP_LM] = (struct idt64_gate){.offset_lo = (uint16_t)handler,
					       .selector = LM_SEL_CODE64,
					       .type_attr = GATE_INTR64,
					       .offset_mid = (uint16_t)(handler >> 16)};
	for (uint32_t d = 0; d < 4; d++) {
		for (uint32_t i = 0; i < ENTRIES64; i++)
			pae_pd[d][i] = ((uint64_t)(d * ENTRIES64 + i) << PAE_LARGE_SHIFT) | PTE_PS |
				       PTE_RW | PTE_P;
		lm_pdpt[d] = (uint32_t)pae_pd[d] | PTE_RW | PTE_P;
	}
	lm_pml4[0] = (uint32_t)lm_pdpt | PTE_RW | PTE_P;
	lm_pml5[0] = (uint32_t)lm_pml4 | PTE_RW | PTE_P;
	unsigned maxphyaddr = cpuid(CPUID_ADDR_SIZES).eax & 0xFF;

	/* Whether MOV to CR3 exits (mmio_cache=on) or the CPU does it alone, which an emulator
	 * may get wrong: QEMU 7.2 TCG loads all of RAX in compatibility mode, and VMRUN then
	 * refuses the CR3 it made. */
	struct hc_regs region = {.eax = HC_MMIO_REGION, .ebx = 0};

	hc_native(&region);
	if (region.eax != (uint32_t)HC_ENOSYS && region.ecx == MMIO_TYPE_RAM)
		cache_fill_addr = region.eax + MMIO_TEST_OFF;
	fill_mmio_cache();
	uint32_t exits = hv_exit_count(EXIT_KIND_CR_ACCESS);
	write_cr3(read_cr3());
	bool cr3_exits = hv_exit_count(EXIT_KIND_CR_ACCESS) != exits;

	/* A 64-bit CR3 with the bit at MAXPHYADDR set: reserved (MAXPHYADDR is 32..52). */
	visit_long_mode(&r, has_la57, cr3_exits ? 1u << (maxphyaddr - 32) : 0);
	check_eq("contain: EFER.LMA set in the IA-32e mode visit", r.efer_in_lm & EFER_LMA,
		 EFER_LMA);
	check_eq("contain: MOV to CR4 toggling LA57 in IA-32e mode raises one #GP", r.gp_count,
		 1);
	check_eq("contain: #GP from the LA57 toggle has error code 0", r.gp_error, 0);
	check_eq("contain: CR4.LA57 unchanged by the refused toggle", r.cr4_after & CR4_LA57, 0);
	if (cr3_exits) {
		check_eq("contain: MOV to CR3 with bit 63 (no PCIDE) and with a bit at MAXPHYADDR "
			 "in IA-32e mode raises two #GP",
			 r.cr3_gp_count, 2);
		check_eq("contain: CR3 unchanged by the refused MOVs", r.cr3_after_refused,
			 (uint32_t)lm_pml4);
		check_eq("contain: compatibility-mode MOV to CR3 ignores RAX's upper half",
			 r.cr3_after_compat, (uint32_t)lm_pml4);
	} else {
		gprintf("guest: contain: MOV to CR3 does not exit: its operand is the CPU's to "
			"check\n");
	}
	if (!has_la57)
		return;
	check_eq("contain: 5-level paging entered from below-4 GiB 32-bit code",
		 r.cr4_5level & CR4_LA57, CR4_LA57);
	check_eq("contain: CPUID under 5-level paging completes", r.cpuid_5level,
		 cpuid(0).eax);
}

void test_contain_fatals(void)
{
	test_string_io();
	test_string_io_addr16();
	test_string_io_faults();
	test_pae_pdpte_accessed();
	test_low_pg_toggle();
	test_eip_wrap();
	test_single_step_over_cpuid();
	test_single_step_over_emulated();
	test_debug_registers();
	test_la57_legacy();
	test_la57_long_mode();
}
