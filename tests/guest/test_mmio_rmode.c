/*
 * Real-address mode with the interrupt vector table and the stack on a device page of an
 * mmio=ram region (mhv's deliver_real in x86_emu_event.c, x86e_real_frame in x86_emu_v86.c,
 * the real-mode IRET in x86_emu_iret.c): one run with them in RAM (the CPU delivers), one
 * with them on the device page (the CPU's delivery stops at the page and mhv completes it),
 * and the two must agree word for word.
 *
 * Cases, each with FLAGS set to a pattern first: INT 42h with SP = 0 (the frame FLAGS, CS,
 * IP wraps to SS:FFFA..FFFF); INT3 with SP = 0; #DE from DIV by zero (the frame's IP is the DIV's, the
 * handler moves it past with an ADD on the frame); INT 42h with the IDT limit below vector
 * 42h (#GP, through IVT[13], the INT's IP).  Every handler reads its frame with MOVs from the
 * stack, records SP and returns with a 16-bit IRET from it; after the IRET, SP and FLAGS
 * (PUSHF/POP) are recorded too.  #SS is not run: real mode delivers #SS on the stack that
 * faulted, which faults again up to a triple fault (x86e_real_frame's #SS is unit-tested).
 * On Bochs's SVM model the INT n comparison is skipped: Bochs raises #GP(0) at that INT n in
 * the device run before any access reaches the device (mhv sees no exit before the #GP's own
 * delivery), while the RAM run's INT n works; INT3, #DE and #GP still run there.
 *
 * How real mode reaches a device page at 0xd0000000: the region is far above 1 MiB, so the
 * stack and IVT use bases real mode keeps from protected mode.  IDTR.base is used as loaded
 * (a 32-bit LIDT before leaving protected mode) and SS keeps the base, limit 64K and B=0 of
 * a 16-bit data segment loaded in protected mode, as long as real mode never reloads SS.
 * That is the CPU's documented descriptor cache (SDM vol.3 9.9.2), kept by Bochs and QEMU,
 * and VM entry allows it with unrestricted guest (only virtual-8086 mode requires base =
 * selector << 4), which mhv's VMX backend requires anyway; SVM checks no bases.  A second
 * mmio=ram region below 1 MiB would need free, unused guest RAM there in every firmware
 * layout and a change to every test configuration; this needs neither.  The code runs
 * below 1 MiB (a copy at LOW_CODE, CS = LOW_CODE >> 4), since the IVT's CS:IP and the IRET
 * load CS the real-mode way.
 */
#include "lib/compiler.h"
#include "tests/guest/cpu.h"
#include "tests/guest/desc.h"
#include "tests/guest/frame16.h"
#include "tests/guest/hv.h"
#include "tests/guest/report.h"
#include "tests/guest/segments.h"
#include "tests/guest/tests.h"

#define LOW_CODE	0x7000u /* below 1 MiB: where test_contain_fatals runs its code too */
#define LOW_CS		(LOW_CODE >> 4)
#define RES_OFF		0x800u /* the results, in the low page after the code */
#define IDT_FULL_OFF	0x900u /* two IDTR images for LIDT in real mode */
#define IDT_SHORT_OFF	0x908u
#define BAD_OFF		0x910u /* an unexpected vector's marker */
#define BAD_MARK	0x0badu
#define DEV_IVT		0x2000u /* the IVT's offset in the region */
#define DEV_STACK	0x3000u /* SS:F000..FFFF's offset in the region */
#define STACK_LOW	0xf000u /* the stack page is SS:F000..FFFF */
#define PAGE_SIZE	4096u
#define IVT_VECTORS	256
#define IVT_FULL_LIMIT	(IVT_VECTORS * 4 - 1)
#define VEC_DE		0
#define VEC_BP		3
#define VEC_GP		13
#define VEC_SOFT	0x42u
#define IVT_SHORT_LIMIT (VEC_SOFT * 4 - 1) /* vector 42h past the limit, 13 within */
#define SEL_CODE16	0x18u
#define SEL_SS16	0x20u
#define SEL_DS16	0x28u
#define GDT_ENTRIES	6
#define ACC_CODE16	0x9bull /* present, DPL 0, execute/read, accessed; G = D = 0 */
#define ACC_DATA16	0x93ull /* present, DPL 0, read/write, accessed; G = B = 0 */
#define SEG_LIMIT64K	0xffffu
#define CASES		4
#define CASE_WORDS	6 /* IP, CS, FLAGS from the frame, SP in the handler, SP, FLAGS after */
#define RES_WORDS	(CASES * CASE_WORDS)
#define FLAGS_SET	0x00d7u /* SAHF: SF ZF AF PF CF, and the fixed bit 1 */
#define FLAGS_SEEN	0x0fd7u /* what the cases compare: the arithmetic flags, IF, DF, TF, IOPL */
#define SP_WRAP		0x0000u
#define SP_PLAIN	0xff00u
#define FRAME_BYTES	6
#define RUNS		2

/* rm_enter(): real mode and back; the results are in the low page. */
void rm_enter(void);
extern const char rm_blob[], rm_blob_end[], rm_h_trap[], rm_h_fault[], rm_h_bad[];
extern const char rm_ret_int[], rm_ret_int3[], rm_ret_div[], rm_ret_gp[];

/* The code that runs at LOW_CODE (offsets relative to rm_blob), entered at offset 0 in 16-bit
 * protected mode; it loads SS (the run's base) and DS, clears CR0.PE and runs the cases. */
asm(".pushsection .text\n"
    ".globl rm_enter\n"
    "rm_enter:\n"
    "	pushfl\n"
    "	cli\n"
    "	pushl %ebp\n"
    "	pushl %ebx\n"
    "	pushl %esi\n"
    "	pushl %edi\n"
    "	movl %esp, rm_saved_esp\n"
    "	ljmp $0x18, $0\n"
    "rm_back32:\n"
    "	movl $0x10, %eax\n"
    "	movw %ax, %ss\n"
    "	movw %ax, %ds\n"
    "	movw %ax, %es\n"
    "	movw %ax, %fs\n"
    "	movw %ax, %gs\n"
    "	movl rm_saved_esp, %esp\n"
    "	popl %edi\n"
    "	popl %esi\n"
    "	popl %ebx\n"
    "	popl %ebp\n"
    "	popfl\n"
    "	ret\n"
    ".pushsection .data\n"
    "rm_saved_esp: .long 0\n"
    ".popsection\n"
    ".popsection\n"
    ".pushsection .rodata\n"
    ".globl rm_blob, rm_blob_end, rm_h_trap, rm_h_fault, rm_h_bad\n"
    ".globl rm_ret_int, rm_ret_int3, rm_ret_div, rm_ret_gp\n"
    ".code16\n"
    FRAME16_COPY_MACRO
    ".macro RM_AFTER\n"
    "	movw %sp, 8(%di)\n"
    "	pushfw\n"
    "	popw %ax\n"
    "	movw %ax, 10(%di)\n"
    "	addw $12, %di\n"
    ".endm\n"
    "rm_blob:\n"
    "	movw $0x20, %ax\n"
    "	movw %ax, %ss\n"
    "	movw $0x28, %ax\n"
    "	movw %ax, %ds\n"
    "	movw %ax, %es\n"
    "	movw %ax, %fs\n"
    "	movw %ax, %gs\n"
    "	movl %cr0, %eax\n"
    "	andb $0xfe, %al\n"
    "	movl %eax, %cr0\n"
    "	ljmp $0x700, $(rm_real - rm_blob)\n"
    "rm_real:\n"
    "	movw $0x700, %ax\n"
    "	movw %ax, %ds\n"
    "	movw %ax, %es\n"
    "	movw $0x800, %di\n"
    /* INT 42h with SP = 0: the frame wraps to SS:FFFA. */
    "	xorw %sp, %sp\n"
    "	movb $0xd7, %ah\n"
    "	sahf\n"
    "	int $0x42\n"
    "rm_ret_int:\n"
    "	RM_AFTER\n"
    /* INT3 with SP = 0 too. */
    "	xorw %sp, %sp\n"
    "	movb $0xd7, %ah\n"
    "	sahf\n"
    "	int3\n"
    "rm_ret_int3:\n"
    "	RM_AFTER\n"
    /* #DE: DIV by zero (two bytes, skipped by the handler). */
    "	movw $0xff00, %sp\n"
    "	xorw %cx, %cx\n"
    "	movb $0xd7, %ah\n"
    "	sahf\n"
    "rm_ret_div:\n"
    "	divb %cl\n"
    "	RM_AFTER\n"
    /* #GP: INT 42h past the IDT limit. */
    "	lidtl 0x908\n"
    "	movw $0xff00, %sp\n"
    "	movb $0xd7, %ah\n"
    "	sahf\n"
    "rm_ret_gp:\n"
    "	int $0x42\n"
    "	RM_AFTER\n"
    "	lidtl 0x900\n"
    "rm_leave:\n"
    "	movl %cr0, %eax\n"
    "	orb $1, %al\n"
    "	movl %eax, %cr0\n"
    "	ljmpl $0x08, $rm_back32\n"
    /* INT 42h, INT3 (DX = 0) and #DE, #GP (DX = 2): the frame into the results, its IP
     * moved past the two-byte instruction of a fault, back with IRET. */
    "rm_h_fault:\n"
    "	movw $2, %dx\n"
    "	jmp rm_h_frame\n"
    "rm_h_trap:\n"
    "	xorw %dx, %dx\n"
    "rm_h_frame:\n"
    "	movw %sp, %bp\n"
    "	FRAME16_COPY %di, 3\n"
    "	movw %sp, 6(%di)\n"
    "	addw %dx, 0(%bp)\n"
    "	iret\n"
    /* Any other vector: marked, and straight back to protected mode. */
    "rm_h_bad:\n"
    "	movw $0x700, %ax\n"
    "	movw %ax, %ds\n"
    "	movw $0xbad, 0x910\n"
    "	jmp rm_leave\n"
    "rm_blob_end:\n"
    ".code32\n"
    ".popsection\n");

static uint64_t gdt[GDT_ENTRIES] __aligned(8);
static uint16_t ram_ivt[IVT_VECTORS * 2] __aligned(PAGE_SIZE);
static uint8_t ram_stack[PAGE_SIZE] __aligned(PAGE_SIZE);

static uint16_t blob_off(const char *label)
{
	return (uint16_t)((uint32_t)label - (uint32_t)rm_blob);
}

/* The IVT at ivt: every vector to rm_h_bad but the four the cases raise. */
static void fill_ivt(volatile uint16_t *ivt)
{
	for (unsigned v = 0; v < IVT_VECTORS; v++) {
		const char *h = v == VEC_SOFT || v == VEC_BP		 ? rm_h_trap
				: v == VEC_DE || v == VEC_GP ? rm_h_fault
							     : rm_h_bad;

		ivt[v * 2] = blob_off(h);
		ivt[v * 2 + 1] = LOW_CS;
	}
}

/* One run: the IVT at ivt_base, SS:F000..FFFF on the page at stack_page. */
static void run(uint32_t ivt_base, uint32_t stack_page, uint16_t *res, bool *bad)
{
	volatile uint8_t *low = (volatile uint8_t *)LOW_CODE;
	volatile uint16_t *out = (volatile uint16_t *)(LOW_CODE + RES_OFF);
	const struct table_ptr full = {IVT_FULL_LIMIT, ivt_base};
	const struct table_ptr shrt = {IVT_SHORT_LIMIT, ivt_base};
	const struct table_ptr gdtr = {sizeof(gdt) - 1, (uint32_t)gdt};
	struct table_ptr old_gdt, old_idt;

	for (unsigned i = 0; i < RES_WORDS; i++)
		out[i] = 0;
	*(volatile uint16_t *)(LOW_CODE + BAD_OFF) = 0;
	for (unsigned i = 0; i < sizeof(full); i++) {
		low[IDT_FULL_OFF + i] = ((const uint8_t *)&full)[i];
		low[IDT_SHORT_OFF + i] = ((const uint8_t *)&shrt)[i];
	}
	gdt[SEL_SS16 / 8] = desc_small(stack_page - STACK_LOW, SEG_LIMIT64K, ACC_DATA16);
	asm volatile("sgdt %0" : "=m"(old_gdt));
	asm volatile("sidt %0" : "=m"(old_idt));
	asm volatile("lgdt %0" ::"m"(gdtr) : "memory");
	asm volatile("lidt %0" ::"m"(full) : "memory");
	rm_enter();
	asm volatile("lidt %0" ::"m"(old_idt) : "memory");
	asm volatile("lgdt %0" ::"m"(old_gdt) : "memory");
	for (unsigned i = 0; i < RES_WORDS; i++)
		res[i] = out[i];
	*bad = *(volatile uint16_t *)(LOW_CODE + BAD_OFF) == BAD_MARK;
}

/* The CPU's run against the SDM: case c's IP, CS, FLAGS, handler SP, SP and FLAGS after. */
static bool case_ok(const uint16_t *w, const char *ret, uint16_t sp)
{
	return w[0] == blob_off(ret) && w[1] == LOW_CS && (w[2] & FLAGS_SEEN) == FLAGS_SET &&
	       w[3] == (uint16_t)(sp - FRAME_BYTES) && w[4] == sp &&
	       (w[5] & FLAGS_SEEN) == FLAGS_SET;
}

static void compare(const char *what, const uint16_t *cpu, const uint16_t *dev)
{
	unsigned bad = CASE_WORDS;

	for (unsigned i = 0; i < CASE_WORDS && bad == CASE_WORDS; i++)
		if (cpu[i] != dev[i])
			bad = i;
	check(bad == CASE_WORDS, what, "word %u (IP CS FLAGS SP-in SP FLAGS) %x/%x (CPU/emulated)",
	      bad, bad < CASE_WORDS ? cpu[bad] : 0, bad < CASE_WORDS ? dev[bad] : 0);
}

void test_mmio_rmode(uint32_t base)
{
	static const char *const what[CASES] = {
		"mmio real mode: INT n with SP = 0, IVT and stack on a device page (frame wraps "
		"at 64K), 16-bit IRET from there: as the CPU's",
		"mmio real mode: INT3 with SP = 0, IVT and stack on a device page (frame wraps at "
		"64K): as the CPU's",
		"mmio real mode: #DE with IVT and stack on a device page, the handler's ADD to the "
		"frame: as the CPU's",
		"mmio real mode: INT n past the IDT limit, #GP through the device page's IVT onto "
		"the device stack: as the CPU's",
	};
	const char *const rets[CASES] = {rm_ret_int, rm_ret_int3, rm_ret_div, rm_ret_gp};
	const uint16_t sps[CASES] = {SP_WRAP, SP_WRAP, SP_PLAIN, SP_PLAIN};
	const bool bochs_svm = cpu_vendor() == VENDOR_AMD && !cpu_is_qemu_tcg();
	uint16_t res[RUNS][RES_WORDS];
	bool bad[RUNS], cpu_ok = true;
	const unsigned blob_size = (uint32_t)rm_blob_end - (uint32_t)rm_blob;
	unsigned c;

	if (blob_size > RES_OFF) {
		check(false, "mmio real mode: the code fits below its results", "%u bytes",
		      blob_size);
		return;
	}
	for (unsigned i = 0; i < blob_size; i++)
		((volatile char *)LOW_CODE)[i] = rm_blob[i];
	gdt[0] = 0;
	gdt[SEL_CODE / 8] = GDT_FLAT_CODE32;
	gdt[SEL_DATA / 8] = GDT_FLAT_DATA32;
	gdt[SEL_CODE16 / 8] = desc_small(LOW_CODE, SEG_LIMIT64K, ACC_CODE16);
	gdt[SEL_DS16 / 8] = desc_small(LOW_CODE, SEG_LIMIT64K, ACC_DATA16);
	fill_ivt(ram_ivt);
	fill_ivt((volatile uint16_t *)(base + DEV_IVT));
	run((uint32_t)ram_ivt, (uint32_t)ram_stack, res[0], &bad[0]);
	run(base + DEV_IVT, base + DEV_STACK, res[1], &bad[1]);
	for (c = 0; c < CASES && cpu_ok; c++)
		cpu_ok = case_ok(res[0] + c * CASE_WORDS, rets[c], sps[c]);
	c--;
	check(cpu_ok && !bad[0], "mmio real mode: the four cases on RAM (the CPU's run)",
	      "case %u: %x %x %x %x %x %x, unexpected vector %d", c, res[0][c * CASE_WORDS],
	      res[0][c * CASE_WORDS + 1], res[0][c * CASE_WORDS + 2], res[0][c * CASE_WORDS + 3],
	      res[0][c * CASE_WORDS + 4], res[0][c * CASE_WORDS + 5], bad[0]);
	check(!bad[1], "mmio real mode: no unexpected vector on the device page's run",
	      "an IVT entry other than 0, 3, 13, 42h was taken");
	for (c = 0; c < CASES; c++) {
		if (c == 0 && bochs_svm) {
			gprintf("SKIP guest: mmio real mode: INT n onto a device stack (Bochs 2.7's SVM "
				"raises #GP(0) at INT n there before the device is touched: no exit "
				"precedes it)\n");
			continue;
		}
		compare(what[c], res[0] + c * CASE_WORDS, res[1] + c * CASE_WORDS);
	}
}
