/*
 * Hostile guest, the held #DB of a MOV SS (svm_db_hold.h): after MOV SS from a device word
 * under a data breakpoint, mhv (SVM) single-steps the next instruction under a TF the guest
 * must never see.  Here that instruction is a far JMP to a 32-bit TSS: a hardware task switch
 * saves EFLAGS, TF included, into the old task's TSS, with no exception and no exit unless
 * task switches are intercepted.  Task B reads task A's saved EFLAGS and jumps back, which
 * loads that image into A.  Whatever the configuration (the CPU switches, or mhv refuses the
 * switch with #GP), the guest must see no TF in the image or in A's EFLAGS afterwards, one
 * #DB with B0 and no single-step trap of mhv's.
 *
 * Second: the stepped instruction is a REP MOVSD into the device page, which mhv completes one
 * element per exit (a breakpoint is armed), with a self-IPI pending behind STI and the MOV SS
 * shadow: an interrupt the CPU takes between two of those exits pushes EFLAGS into the
 * guest's frame, which must show no TF either.
 *
 * Own copy of the GDT with two TSS descriptors appended (the LDT selector stays valid), the
 * IDT copied with #DB to a handler here that records and returns (in either task).  TR stays
 * on task A, whose ring-0 stack is a RAM stack of this file (as test_mmio_tss16 leaves its
 * own).  Runs with the identity map of test_paging (linear = physical).
 */
#include <stddef.h>

#include "lib/compiler.h"
#include "tests/guest/cpu.h"
#include "tests/guest/desc.h"
#include "tests/guest/hv.h"
#include "tests/guest/lapic.h"
#include "tests/guest/report.h"
#include "tests/guest/segments.h"
#include "tests/guest/tests.h"
#include "tests/guest/trap.h"

#define PAGE_SIZE     4096u
#define OFF_WORD      0x480u /* the SS selector's word on the device page */
#define GDT_MAX	      64
#define IDT_MAX	      256
#define VEC_DB	      1
#define GATE_INTR32   0x8Eu
#define ACC_TSS32     0x89ull /* present, DPL 0, available 32-bit TSS */
#define TSS32_WORDS   26
#define TSS_ESP0      1
#define TSS_SS0	      2
#define TSS_CR3	      7
#define TSS_EIP	      8
#define TSS_EFLAGS    9
#define TSS_ESP	      14
#define TSS_ES	      18
#define TSS_CS	      19
#define TSS_SS	      20
#define TSS_DS	      21
#define TSS_FS	      22
#define TSS_GS	      23
#define TSS_LDT	      24
#define TSS_IOMAP     25
#define TSS_NO_IOMAP  (104u << 16)
#define FLAGS_FIXED   0x2u
#define FLAG_TF	      0x100u
#define DR6_CLEAR     0xFFFF0FF0u
#define DR6_BS	      0x4000u
#define DR6_SEEN      0x400Fu
#define DR7_B0_RW2    0x00030001u /* L0, R/W = read or write, LEN 2 */
#define DB_RECORDS    4
#define STACK_WORDS   1024
#define VEC_IPI	      0x41
#define VEC_FIRST_IRQ 32
#define OFF_DST	      0x500u /* the REP MOVSD's destination on the device page */
#define STRING_LEN    4
#define APIC_SVR      0x0F0
#define APIC_EOI      0x0B0
#define SVR_ENABLE    0x100u
#define ICR_SELF      (1u << 18) /* destination shorthand: self */
#define ICR_ASSERT    (1u << 14)
#define MSR_X2APIC_SVR 0x80F
#define MSR_X2APIC_EOI 0x80B

struct far_ptr {
	uint32_t off;
	uint16_t sel;
} __attribute__((packed));

static uint64_t gdt[GDT_MAX] __aligned(8);
static struct gate32 idt[IDT_MAX] __aligned(8);
uint32_t tsw_tss_a[TSS32_WORDS] __aligned(8);
static uint32_t tss_b[TSS32_WORDS] __aligned(8);
static uint32_t ring0_stack[STACK_WORDS] __aligned(16);
static uint32_t b_stack[STACK_WORDS] __aligned(16);
struct far_ptr tsw_far_a, tsw_far_b;

/* What the #DB handler and task B saw. */
uint32_t tsw_db_count, tsw_db_eip[DB_RECORDS], tsw_db_dr6[DB_RECORDS];
uint32_t tsw_a_image_flags, tsw_b_ran;

uint32_t tsw_irq_count, tsw_irq_flags, tsw_irq_eip;
uint32_t tsw_src[STRING_LEN] = {1, 2, 3, 4};

extern const char tsw_db_handler[], tsw_b_entry[], tsw_jmp[], tsw_irq_handler[], tsw_rep[];
void tsw_run(uint32_t word);
void tsw_irq_run(uint32_t word, uint32_t dst);
void tsw_irq_c(const uint32_t *frame);

asm(".pushsection .text\n"
    ".globl tsw_db_handler, tsw_b_entry, tsw_run, tsw_jmp\n"
    /* #DB in either task (ring 0, no stack switch): EIP and DR6 recorded, DR6 cleared, TF
     * cleared in the frame so that a leaked TF traps once, not forever. */
    "tsw_db_handler:\n"
    "	pushl %eax\n"
    "	pushl %ecx\n"
    "	movl tsw_db_count, %ecx\n"
    "	cmpl $4, %ecx\n"
    "	jae 1f\n"
    "	movl 8(%esp), %eax\n"
    "	movl %eax, tsw_db_eip(,%ecx,4)\n"
    "	movl %dr6, %eax\n"
    "	movl %eax, tsw_db_dr6(,%ecx,4)\n"
    "1:	incl tsw_db_count\n"
    "	movl $0xffff0ff0, %eax\n"
    "	movl %eax, %dr6\n"
    "	andl $~0x100, 16(%esp)\n"
    "	popl %ecx\n"
    "	popl %eax\n"
    "	iret\n"
    /* Task B: task A's saved EFLAGS, then back to A. */
    "tsw_b_entry:\n"
    "	movl tsw_tss_a+36, %eax\n"
    "	movl %eax, tsw_a_image_flags\n"
    "	movl $1, tsw_b_ran\n"
    "	ljmpl *tsw_far_a\n"
    /* Task A: MOV SS from the device word (its breakpoint), then the far JMP to task B;
     * back here with A's state from its TSS. */
    "tsw_run:\n"
    "	pushl %ebx\n"
    "	pushl %esi\n"
    "	pushl %edi\n"
    "	pushl %ebp\n"
    "	movl 20(%esp), %eax\n"
    "	movw (%eax), %ss\n"
    "tsw_jmp:\n"
    "	ljmpl *tsw_far_b\n"
    "	popl %ebp\n"
    "	popl %edi\n"
    "	popl %esi\n"
    "	popl %ebx\n"
    "	ret\n"
    /* The self-IPI: the frame to C (EIP, CS, EFLAGS), EOI there. */
    "tsw_irq_handler:\n"
    "	pushal\n"
    "	leal 32(%esp), %eax\n"
    "	pushl %eax\n"
    "	call tsw_irq_c\n"
    "	addl $4, %esp\n"
    "	popal\n"
    "	iret\n"
    /* STI, MOV SS from the word (shadows over both), REP MOVSD into the device page. */
    "tsw_irq_run:\n"
    "	pushl %ebx\n"
    "	pushl %esi\n"
    "	pushl %edi\n"
    "	pushl %ebp\n"
    "	movl 20(%esp), %eax\n"
    "	movl 24(%esp), %edi\n"
    "	movl $tsw_src, %esi\n"
    "	movl $4, %ecx\n"
    "	cld\n"
    "	sti\n"
    "	movw (%eax), %ss\n"
    "tsw_rep:\n"
    "	rep movsl\n"
    "	cli\n"
    "	popl %ebp\n"
    "	popl %edi\n"
    "	popl %esi\n"
    "	popl %ebx\n"
    "	ret\n"
    ".popsection\n");

static void apic_eoi(void)
{
	if (lapic_x2apic())
		wrmsr64(MSR_X2APIC_EOI, 0);
	else
		mmio_write32(lapic_xapic_base() + APIC_EOI, 0);
}

void tsw_irq_c(const uint32_t *frame)
{
	if (!tsw_irq_count++)
		tsw_irq_eip = frame[0];
	tsw_irq_flags |= frame[2];
	apic_eoi();
}

/* A fixed self-IPI at VEC_IPI, the APIC software-enabled first. */
static void self_ipi(void)
{
	if (lapic_x2apic()) {
		wrmsr64(MSR_X2APIC_SVR, rdmsr64(MSR_X2APIC_SVR) | SVR_ENABLE);
		wrmsr64(MSR_X2APIC_ICR, ICR_SELF | ICR_ASSERT | VEC_IPI);
		return;
	}
	uintptr_t apic = lapic_xapic_base();

	mmio_write32(apic + APIC_SVR, mmio_read32(apic + APIC_SVR) | SVR_ENABLE);
	mmio_write32(apic + APIC_ICR_LOW, ICR_SELF | ICR_ASSERT | VEC_IPI);
}

static void run_switch(void *arg)
{
	tsw_run((uint32_t)arg);
}

static void set_dr(uint32_t dr0, uint32_t dr7)
{
	asm volatile("movl %0, %%dr7" ::"r"(0u));
	asm volatile("movl %0, %%dr0" ::"r"(dr0));
	asm volatile("movl %0, %%dr6" ::"r"(DR6_CLEAR));
	asm volatile("movl %0, %%dr7" ::"r"(dr7));
}

static struct gate32 gate(const char *entry)
{
	uint32_t off = (uint32_t)entry;

	return (struct gate32){.offset_lo = (uint16_t)off,
			       .selector = SEL_CODE,
			       .type_attr = GATE_INTR32,
			       .offset_hi = (uint16_t)(off >> 16)};
}

static void tss_init(uint32_t *t, uint16_t ldt)
{
	uint16_t ds, es, fs, gs;

	for (unsigned i = 0; i < TSS32_WORDS; i++)
		t[i] = 0;
	asm volatile("movw %%ds, %0; movw %%es, %1; movw %%fs, %2; movw %%gs, %3"
		     : "=r"(ds), "=r"(es), "=r"(fs), "=r"(gs));
	t[TSS_ESP0] = (uint32_t)&ring0_stack[STACK_WORDS];
	t[TSS_SS0] = SEL_DATA;
	t[TSS_CR3] = read_cr3();
	t[TSS_EFLAGS] = FLAGS_FIXED;
	t[TSS_CS] = SEL_CODE;
	t[TSS_SS] = SEL_DATA;
	t[TSS_DS] = ds;
	t[TSS_ES] = es;
	t[TSS_FS] = fs;
	t[TSS_GS] = gs;
	t[TSS_LDT] = ldt;
	t[TSS_IOMAP] = TSS_NO_IOMAP;
}

/* The REP MOVSD run, on this file's IDT: the interrupt's frame and the #DB. */
static void rep_check(uint32_t dev)
{
	uint32_t flags, pending;

	tsw_db_count = 0;
	tsw_irq_count = 0;
	tsw_irq_flags = 0;
	asm volatile("cli");
	self_ipi();
	pending = lapic_irr_has(VEC_IPI);
	set_dr(dev + OFF_WORD, DR7_B0_RW2);
	tsw_irq_run(dev + OFF_WORD, dev + OFF_DST);
	set_dr(0, 0);
	asm volatile("pushfl; popl %0" : "=r"(flags));
	check(pending && tsw_irq_count >= 1 && !(tsw_irq_flags & FLAG_TF) && !(flags & FLAG_TF) &&
		      tsw_db_count == 1 && (tsw_db_dr6[0] & DR6_SEEN) == 0x1,
	      "contain: MOV SS data breakpoint, then REP MOVSD into the device page with an "
	      "interrupt pending: no TF of mhv's in the interrupt's frame, one #DB (B0)",
	      "IPI %s, %u interrupt(s), frames' EFLAGS ORed 0x%x, first at 0x%x (REP at 0x%x), EFLAGS after "
	      "0x%x, %u #DB (first DR6 0x%x at 0x%x)",
	      pending ? "pending" : "not pending", tsw_irq_count, tsw_irq_flags, tsw_irq_eip,
	      (uint32_t)tsw_rep, flags, tsw_db_count, tsw_db_dr6[0] & DR6_SEEN, tsw_db_eip[0]);
}

void test_contain_db_hold(void)
{
	const char *name = "contain: MOV SS data breakpoint, then a far JMP to a TSS: no TF of "
			   "mhv's in the old TSS's EFLAGS or after, one #DB (B0)";
	uint32_t dev = hv_ram_region(PAGE_SIZE), flags, bad_db = 0;
	struct table_ptr old_gdt, old_idt, gdtr, idtr;
	uint16_t ss, ldt, sel_a, sel_b;
	unsigned n_gdt, n_idt;
	struct fault f;
	bool faulted;

	asm volatile("sgdt %0; sidt %1; sldt %2" : "=m"(old_gdt), "=m"(old_idt), "=r"(ldt));
	n_gdt = (old_gdt.limit + 1u) / 8;
	n_idt = (old_idt.limit + 1u) / 8;
	if (!dev || n_gdt + 2 > GDT_MAX || n_idt > IDT_MAX) {
		check(false, name, "no mmio=ram region, or a GDT of %u / IDT of %u entries", n_gdt,
		      n_idt);
		return;
	}
	for (unsigned i = 0; i < n_gdt; i++)
		gdt[i] = ((const uint64_t *)old_gdt.base)[i];
	for (unsigned i = 0; i < IDT_MAX; i++)
		idt[i] = i < n_idt ? ((const struct gate32 *)old_idt.base)[i] : (struct gate32){0};
	idt[VEC_DB] = gate(tsw_db_handler);
	/* Every interrupt vector the guest's IDT lacks, and the IPI's: to the recorder (an
	 * interrupt left pending by the tests before may come too). */
	for (unsigned i = n_idt > VEC_FIRST_IRQ ? n_idt : VEC_FIRST_IRQ; i < IDT_MAX; i++)
		idt[i] = gate(tsw_irq_handler);
	idt[VEC_IPI] = gate(tsw_irq_handler);
	n_idt = IDT_MAX;
	sel_a = (uint16_t)(n_gdt * 8);
	sel_b = (uint16_t)(sel_a + 8);
	gdt[n_gdt] = desc_small((uint32_t)tsw_tss_a, sizeof(tsw_tss_a) - 1, ACC_TSS32);
	gdt[n_gdt + 1] = desc_small((uint32_t)tss_b, sizeof(tss_b) - 1, ACC_TSS32);
	tss_init(tsw_tss_a, ldt);
	tss_init(tss_b, ldt);
	tss_b[TSS_EIP] = (uint32_t)tsw_b_entry;
	tss_b[TSS_ESP] = (uint32_t)&b_stack[STACK_WORDS];
	tsw_far_a = (struct far_ptr){0, sel_a};
	tsw_far_b = (struct far_ptr){0, sel_b};
	gdtr = (struct table_ptr){(uint16_t)((n_gdt + 2) * 8 - 1), (uint32_t)gdt};
	idtr = (struct table_ptr){(uint16_t)(n_idt * 8 - 1), (uint32_t)idt};

	asm volatile("movw %%ss, %0" : "=r"(ss));
	*(volatile uint16_t *)(dev + OFF_WORD) = ss;
	asm volatile("lgdt %0; lidt %1" ::"m"(gdtr), "m"(idtr) : "memory");
	asm volatile("ltr %w0" ::"r"(sel_a) : "memory");
	tsw_db_count = 0;
	tsw_a_image_flags = 0;
	tsw_b_ran = 0;
	set_dr(dev + OFF_WORD, DR7_B0_RW2);
	faulted = run_catching(run_switch, (void *)(dev + OFF_WORD), &f);
	set_dr(0, 0);
	asm volatile("pushfl; popl %0" : "=r"(flags));

	/* B0 alone (no BS: the step was mhv's); where, when the switch ran: before or after
	 * the JMP (refused, the #GP may come first or the #DB go with it: VMX's injection). */
	for (unsigned i = 0; i < tsw_db_count && i < DB_RECORDS; i++)
		if ((tsw_db_dr6[i] & DR6_SEEN) != 0x1 ||
		    (tsw_b_ran && tsw_db_eip[i] != (uint32_t)tsw_jmp &&
		     tsw_db_eip[i] != (uint32_t)tsw_b_entry))
			bad_db++;
	/* The switch ran (B read the image) or was refused with #GP; either way no TF. */
	check(((tsw_b_ran && !faulted && tsw_db_count == 1) ||
	       (!tsw_b_ran && faulted && f.vector == VEC_GP && tsw_db_count <= 1)) &&
		      !bad_db && !(tsw_a_image_flags & FLAG_TF) && !(flags & FLAG_TF),
	      name,
	      "task B %s, A's saved EFLAGS 0x%x, EFLAGS after 0x%x, %s, %u #DB (first at 0x%x "
	      "DR6 0x%x; JMP at 0x%x, B at 0x%x)",
	      tsw_b_ran ? "ran" : "did not run", tsw_a_image_flags, flags,
	      faulted ? trap_name(f.vector) : "no fault", tsw_db_count, tsw_db_eip[0],
	      tsw_db_dr6[0] & DR6_SEEN, (uint32_t)tsw_jmp, (uint32_t)tsw_b_entry);
	rep_check(dev);
	asm volatile("lidt %0; lgdt %1" ::"m"(old_idt), "m"(old_gdt) : "memory");
}
