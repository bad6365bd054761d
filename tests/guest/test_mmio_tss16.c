/*
 * A 16-bit TSS and 16-bit interrupt gates with the inner stack on a device page of an
 * mmio=ram region (mhv's x86e_tss_stack in x86_emu_gate.c, the 16-bit frame in
 * x86_emu_event.c, the 16-bit IRET to an outer ring in x86_emu_iret.c): one run with SS0:SP0
 * in RAM (the CPU delivers), one with it on the device page (the CPU's delivery stops at the
 * page and mhv completes it), and the two must agree word for word.
 *
 * A 16-bit ring-3 code segment sets FLAGS to a pattern and raises #UD (UD2) through a 16-bit
 * interrupt gate to a 16-bit ring-0 code segment: the stack switch takes SS0:SP0 from the
 * 16-bit TSS (TR), and the frame IP, CS, FLAGS, SP, SS goes on it as words.  The handler
 * reads the frame with MOVs from the stack, records SP, moves the frame's IP past the UD2
 * (an ADD on the stack) and returns to ring 3 with a 16-bit IRET from there (SS:SP popped,
 * DS nulled).  Ring 3 then raises INT3 through a DPL 3 32-bit interrupt gate: SS0:SP0 from
 * the 16-bit TSS again, a 32-bit frame EIP, CS, EFLAGS, ESP, SS on the 16-bit stack (B = 0),
 * which the catcher hands back.  Exceptions rather than INT n: Bochs 2.7's SVM model raises
 * #GP(0) at an INT n whose delivery would reach the device page (see test_mmio_rmode.c).
 *
 * Paging stays off: segment bases put the code at offset 0 (16-bit gates carry 16-bit
 * offsets) and the stacks on their pages (SS:F000..FFFF).  A GDT, IDT and TSSs of the
 * test's own; TR is a 32-bit TSS with its ring-0 stack in RAM afterwards, as the tests
 * before left it, for later ring-3 tests.
 */
#include <stddef.h>

#include "lib/compiler.h"
#include "tests/guest/cpu.h"
#include "tests/guest/desc.h"
#include "tests/guest/frame16.h"
#include "tests/guest/report.h"
#include "tests/guest/segments.h"
#include "tests/guest/tests.h"

#define DEV_STACK	0x3000u /* SS:F000..FFFF's offset in the region */
#define STACK_LOW	0xf000u
#define PAGE_SIZE	4096u
#define SP0		0xff00u
#define SP3		0xff00u
#define SEL_UCODE16	0x1bu
#define SEL_UDATA16	0x23u
#define SEL_SS0		0x28u
#define SEL_KCODE16	0x30u
#define SEL_TSS16	0x38u
#define SEL_TSS32	0x40u
#define GDT_ENTRIES	9
#define ACC_UCODE16	0xfbull /* present, DPL 3, execute/read, accessed; G = D = 0 */
#define ACC_UDATA16	0xf3ull
#define ACC_KCODE16	0x9bull
#define ACC_KDATA16	0x93ull
#define ACC_TSS16	0x81ull /* present, DPL 0, available 16-bit TSS */
#define ACC_TSS32	0x89ull
#define SEG_LIMIT64K	0xffffu
#define TSS16_WORDS	22 /* 44 bytes */
#define TSS16_SP0_WORD	1
#define TSS16_SS0_WORD	2
#define TSS32_WORDS	26
#define TSS32_ESP0_WORD 1
#define TSS32_SS0_WORD	2
#define TSS32_IOMAP_WORD 25
#define TSS32_IOMAP	104u /* no I/O bitmap */
#define STACK_WORDS	256
#define VEC_GATE16	6 /* #UD */
#define VEC_LEAVE	3 /* INT3 */
#define IDT_ENTRIES	32
#define GATE_INTR16	0x86u
#define GATE_INTR32_D3	0xEEu
#define GATE_INTR32	0x8Eu
#define FLAGS_SET	0x00d7u /* SAHF: SF ZF AF PF CF, and the fixed bit 1 */
#define FLAGS_SEEN	0x0fd7u /* the arithmetic flags, TF, IF, DF, OF, IOPL */
#define FL_RF		(1u << 16)
#define SEEN_WORDS	6 /* IP, CS, FLAGS, SP, SS from the 16-bit frame; SP in the handler */
#define FRAME16_BYTES	10
#define FRAME32_WORDS	5 /* EIP, CS, EFLAGS, ESP, SS */
#define SS_SLOT_MASK	0xffffu
/* ESP's upper half at ring 3: an IRET to a 16-bit stack loads SP only, the rest is what the
 * ring it left had (QEMU shows the kernel's); only the device run has to agree on it. */
#define SP_MASK		0xffffu
#define RUNS		2

/* What one run saw (the 16-bit frame's words zero-extended, to compare as the 32-bit one). */
struct tss16_seen {
	uint32_t handler[SEEN_WORDS];
	uint16_t catch_sp;
	uint32_t frame32[FRAME32_WORDS];
};

/* t16_run(): IRET to ring 3 at t16_user; returns the SP t16_catch was entered with. */
uint32_t t16_run(void);
extern const char t16_user[], t16_user_ud[], t16_user_ret[], t16_user_end[], t16_handler[];
extern const char t16_catch[];
uint16_t t16_handler_seen[SEEN_WORDS];

asm(".pushsection .text\n"
    ".globl t16_run, t16_catch, t16_user, t16_user_ud, t16_user_ret, t16_user_end, t16_handler\n"
    "t16_run:\n"
    "	pushfl\n"
    "	cli\n"
    "	pushl %ebp\n"
    "	pushl %ebx\n"
    "	pushl %esi\n"
    "	pushl %edi\n"
    "	movl %esp, t16_saved_esp\n"
    "	pushl $0x23\n"
    "	pushl $0xff00\n"
    "	pushl $2\n"
    "	pushl $0x1b\n"
    "	pushl $0\n"
    "	iret\n"
    /* Ring 0 through the 32-bit gate, on SS0:SP0 (a 16-bit stack): SP locates the frame. */
    "t16_catch:\n"
    "	movzwl %sp, %eax\n"
    "	movl $0x10, %ecx\n"
    "	movw %cx, %ss\n"
    "	movw %cx, %ds\n"
    "	movw %cx, %es\n"
    "	movw %cx, %fs\n"
    "	movw %cx, %gs\n"
    "	movl t16_saved_esp, %esp\n"
    "	popl %edi\n"
    "	popl %esi\n"
    "	popl %ebx\n"
    "	popl %ebp\n"
    "	popfl\n"
    "	ret\n"
    ".code16\n"
    FRAME16_COPY_MACRO
    /* Ring 3, CS base = t16_user. */
    "t16_user:\n"
    "	movb $0xd7, %ah\n"
    "	sahf\n"
    "t16_user_ud:\n"
    "	ud2\n"
    "t16_user_ret:\n"
    "	int3\n"
    "t16_user_end:\n"
    "	hlt\n"
    /* Ring 0 through the 16-bit gate, CS base = t16_handler: the frame into
     * t16_handler_seen, IP past the UD2, back with a 16-bit IRET. */
    "t16_handler:\n"
    "	movw %sp, %bp\n"
    "	movw $0x10, %cx\n"
    "	movw %cx, %ds\n"
    "	movl $t16_handler_seen, %esi\n"
    "	FRAME16_COPY %esi, 5\n"
    "	movw %sp, 10(%esi)\n"
    "	addw $2, 0(%bp)\n"
    "	iret\n"
    ".code32\n"
    ".pushsection .data\n"
    "t16_saved_esp: .long 0\n"
    ".popsection\n"
    ".popsection\n");

static uint64_t gdt[GDT_ENTRIES] __aligned(8);
static uint16_t tss16[TSS16_WORDS] __aligned(8);
static uint32_t tss32[TSS32_WORDS] __aligned(8);
static uint32_t ring0_stack[STACK_WORDS] __aligned(16);
static struct gate32 idt[IDT_ENTRIES] __aligned(8);
static uint8_t user_stack[PAGE_SIZE] __aligned(PAGE_SIZE);
static uint8_t ram_stack[PAGE_SIZE] __aligned(PAGE_SIZE);

static struct gate32 gate(const char *entry, uint16_t selector, uint8_t type_attr)
{
	uint32_t off = (uint32_t)entry;

	return (struct gate32){.offset_lo = (uint16_t)off,
			       .selector = selector,
			       .type_attr = type_attr,
			       .offset_hi = (uint16_t)(off >> 16)};
}

static uint16_t user_off(const char *label)
{
	return (uint16_t)((uint32_t)label - (uint32_t)t16_user);
}

/* One run with SS0:F000..FFFF on the page at stack_page. */
static void run(uint32_t stack_page, struct tss16_seen *seen)
{
	const uint32_t ss0_base = stack_page - STACK_LOW;
	uint32_t sp;

	for (unsigned i = 0; i < SEEN_WORDS; i++)
		t16_handler_seen[i] = 0;
	gdt[SEL_SS0 / 8] = desc_small(ss0_base, SEG_LIMIT64K, ACC_KDATA16);
	gdt[SEL_TSS16 / 8] = desc_small((uint32_t)tss16, sizeof(tss16) - 1, ACC_TSS16);
	asm volatile("ltr %w0" ::"r"((uint16_t)SEL_TSS16) : "memory");
	sp = t16_run();
	for (unsigned i = 0; i < SEEN_WORDS; i++)
		seen->handler[i] = t16_handler_seen[i];
	seen->catch_sp = (uint16_t)sp;
	for (unsigned i = 0; i < FRAME32_WORDS; i++)
		seen->frame32[i] = ((const volatile uint32_t *)(ss0_base + sp))[i];
}

static bool cpu_run_ok(const struct tss16_seen *s)
{
	const uint32_t *h = s->handler;
	const uint32_t *f = s->frame32;

	return h[0] == user_off(t16_user_ud) && h[1] == SEL_UCODE16 &&
	       (h[2] & FLAGS_SEEN) == FLAGS_SET && h[3] == SP3 && h[4] == SEL_UDATA16 &&
	       h[5] == (uint16_t)(SP0 - FRAME16_BYTES) && f[0] == user_off(t16_user_end) &&
	       (f[1] & SS_SLOT_MASK) == SEL_UCODE16 && (f[2] & FLAGS_SEEN) == FLAGS_SET &&
	       (f[3] & SP_MASK) == SP3 && (f[4] & SS_SLOT_MASK) == SEL_UDATA16 &&
	       s->catch_sp == (uint16_t)(SP0 - FRAME32_WORDS * 4);
}

/* The bits of the 32-bit frame's EIP, CS, EFLAGS, ESP, SS both runs must agree on: the
 * selector of the SS slot (its upper half is not written the same by every CPU), EFLAGS but
 * RF. */
static const uint32_t frame32_seen[FRAME32_WORDS] = {~0u, ~0u, ~FL_RF, ~0u, SS_SLOT_MASK};

/* The first of n words where the runs differ in the bits of mask[] (NULL: all), else n. */
static unsigned first_diff(const uint32_t *cpu, const uint32_t *dev, unsigned n,
			   const uint32_t *mask)
{
	for (unsigned i = 0; i < n; i++)
		if ((cpu[i] ^ dev[i]) & (mask ? mask[i] : ~0u))
			return i;
	return n;
}

void test_mmio_tss16(uint32_t base)
{
	const struct table_ptr gdtr = {sizeof(gdt) - 1, (uint32_t)gdt};
	const struct table_ptr idtr = {sizeof(idt) - 1, (uint32_t)idt};
	struct tss16_seen seen[RUNS] = {0};
	const struct tss16_seen *cpu = &seen[0], *dev = &seen[1];
	struct table_ptr old_gdt, old_idt;
	unsigned bad;

	gdt[0] = 0;
	gdt[SEL_CODE / 8] = GDT_FLAT_CODE32;
	gdt[SEL_DATA / 8] = GDT_FLAT_DATA32;
	gdt[SEL_UCODE16 / 8] = desc_small((uint32_t)t16_user, SEG_LIMIT64K, ACC_UCODE16);
	gdt[SEL_UDATA16 / 8] =
		desc_small((uint32_t)user_stack - STACK_LOW, SEG_LIMIT64K, ACC_UDATA16);
	gdt[SEL_KCODE16 / 8] = desc_small((uint32_t)t16_handler, SEG_LIMIT64K, ACC_KCODE16);
	gdt[SEL_TSS32 / 8] = desc_small((uint32_t)tss32, sizeof(tss32) - 1, ACC_TSS32);
	tss16[TSS16_SP0_WORD] = SP0;
	tss16[TSS16_SS0_WORD] = SEL_SS0;
	tss32[TSS32_ESP0_WORD] = (uint32_t)&ring0_stack[STACK_WORDS];
	tss32[TSS32_SS0_WORD] = SEL_DATA;
	tss32[TSS32_IOMAP_WORD] = TSS32_IOMAP << 16;
	/* Every vector to the catcher (an unexpected one shows as a mismatch); #UD through the
	 * 16-bit gate at offset 0 of the 16-bit handler segment, INT3 open to ring 3. */
	for (unsigned i = 0; i < IDT_ENTRIES; i++)
		idt[i] = gate(t16_catch, SEL_CODE, GATE_INTR32);
	idt[VEC_GATE16] = (struct gate32){
		.offset_lo = 0, .selector = SEL_KCODE16, .type_attr = GATE_INTR16};
	idt[VEC_LEAVE] = gate(t16_catch, SEL_CODE, GATE_INTR32_D3);

	asm volatile("sgdt %0" : "=m"(old_gdt));
	asm volatile("sidt %0" : "=m"(old_idt));
	asm volatile("lgdt %0" ::"m"(gdtr) : "memory");
	asm volatile("lidt %0" ::"m"(idtr) : "memory");
	run((uint32_t)ram_stack, &seen[0]);
	run(base + DEV_STACK, &seen[1]);
	asm volatile("ltr %w0" ::"r"((uint16_t)SEL_TSS32) : "memory");
	asm volatile("lidt %0" ::"m"(old_idt) : "memory");
	asm volatile("lgdt %0" ::"m"(old_gdt) : "memory");

	check(cpu_run_ok(cpu), "mmio tss16: ring 3 to 0 through a 16-bit TSS on RAM (the CPU's run)",
	      "16-bit frame %x %x %x %x %x, SP %x; 32-bit frame %x %x %x %x %x, SP %x",
	      cpu->handler[0], cpu->handler[1], cpu->handler[2], cpu->handler[3], cpu->handler[4],
	      cpu->handler[5], cpu->frame32[0], cpu->frame32[1], cpu->frame32[2],
	      cpu->frame32[3], cpu->frame32[4], cpu->catch_sp);
	bad = first_diff(cpu->handler, dev->handler, SEEN_WORDS, NULL);
	check(bad == SEEN_WORDS,
	      "mmio tss16: #UD at 16-bit ring 3 through a 16-bit interrupt gate, SS0:SP0 of a "
	      "16-bit TSS on a device page: frame IP CS FLAGS SP SS as the CPU's, ADD to it and "
	      "16-bit IRET to ring 3 from there",
	      "word %u %x/%x (CPU/emulated)", bad, bad < SEEN_WORDS ? cpu->handler[bad] : 0,
	      bad < SEEN_WORDS ? dev->handler[bad] : 0);
	bad = first_diff(cpu->frame32, dev->frame32, FRAME32_WORDS, frame32_seen);
	check(bad == FRAME32_WORDS && cpu->catch_sp == dev->catch_sp,
	      "mmio tss16: INT3 through a 32-bit gate with a 16-bit TSS's SS0:SP0 on a device "
	      "page: the 32-bit frame on the 16-bit stack as the CPU's",
	      "SP %x/%x, word %u %x/%x (CPU/emulated)", cpu->catch_sp, dev->catch_sp, bad,
	      bad < FRAME32_WORDS ? cpu->frame32[bad] : 0,
	      bad < FRAME32_WORDS ? dev->frame32[bad] : 0);
}
