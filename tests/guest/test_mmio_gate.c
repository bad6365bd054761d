/*
 * Call gates and privilege-changing event delivery with the memory side on a device page of
 * an mmio=ram region (mhv's x86_emu_gate.c): every case runs once on RAM (the CPU does it)
 * and once with the far pointer or the inner stack on the device page (mhv does), and the
 * two must agree.
 *
 * - far CALL/JMP at ring 0 through a DPL 0 call gate, the pointer on the device page;
 * - far CALL from ring 3 through a DPL 3 call gate with two parameters to ring 0: the stack
 *   switch to the TSS's SS0:ESP0, the frame EIP, CS, the copied parameters, ESP, SS; with the
 *   pointer on the device page, and with ESP0 there;
 * - #UD raised at ring 3 with ESP0 on the device page: the frame EIP, CS, EFLAGS, ESP, SS;
 * - IA-32e mode, from compatibility mode at ring 0: far CALL through a 64-bit call gate (16
 *   bytes) into 64-bit code, which returns with RETFQ; the pointer, then the stack, on the
 *   device page: the 8-byte RIP and CS slots as the CPU's; #UD raised in compatibility mode
 *   at ring 3 with the 64-bit TSS's RSP0 on the device page: the 64-bit frame RIP, CS,
 *   RFLAGS, RSP, SS at RSP0 aligned down to 16, SS then null.
 *
 * The ring-0 entry point (mmio_gate_catch) records where the frame is and returns to the
 * kernel stack the run started from.  A GDT and TSS of the test's own; TR keeps the TSS
 * afterwards with its ring-0 stack in RAM, so later ring-3 tests still have where to go.
 */
#include "lib/compiler.h"
#include "tests/guest/cpu.h"
#include "tests/guest/desc.h"
#include "tests/guest/long_mode.h"
#include "tests/guest/report.h"
#include "tests/guest/segments.h"
#include "tests/guest/tests.h"

#define GATE_PTR_OFF   0x3400u /* the far pointer in the region */
#define GATE_STACK_TOP 0x3800u /* ESP0 in the region (frames go below it) */
#define SEL_UCODE      0x1bu
#define SEL_UDATA      0x23u
#define SEL_TSS	       0x28u
#define SEL_GATE_USER  0x33u /* call gate, DPL 3, two parameters, to ring 0 */
#define SEL_GATE_KERN  0x38u /* call gate, DPL 0, no parameters */
#define GDT_ENTRIES    8
#define GDT_USER_CODE32 0x00CFFB000000FFFFull
#define GDT_USER_DATA32 0x00CFF3000000FFFFull
#define TYPE_TSS_AVAIL 0x89ull
#define TYPE_CALL32_D3 0xECull /* present, DPL 3, 32-bit call gate */
#define TYPE_CALL32_D0 0x8Cull
#define TYPE_SHIFT     40
#define LIMIT_LO_MASK  0xffffu
#define GATE_SEL_SHIFT 16
#define GATE_PARAMS_SHIFT 32
#define GATE_OFF_HI_SHIFT 48
#define GATE_PARAMS    2
#define TSS_WORDS      26
#define TSS_ESP0_WORD  1
#define TSS_SS0_WORD   2
#define TSS_IOMAP_WORD 25
#define TSS_BYTES      104
#define STACK_WORDS    256
#define FRAME_WORDS    6
#define SS_SLOT_MASK   0xffffu /* a pushed SS: only its low word is defined */
#define FL_RF	       (1u << 16)
#define GATE_RESULT    0x6a7e5u
#define PARAM0	       0x11110000u
#define PARAM1	       0x22220000u
#define GATE_INTR32    0x8Eu

#define GATE64_STACK_TOP 0x3a00u /* the IA-32e case's stack in the region */
#define SEL_CODE64	 0x28u /* in gdt64, after the same four as in gdt */
#define SEL_GATE64	 0x30u /* a 64-bit call gate, DPL 0, to SEL_CODE64 */
#define SEL_TSS64	 0x40u /* a 64-bit TSS (16-byte descriptor) */
#define GDT64_ENTRIES	 10
#define GATE64_INTR	 0x8E00u
#define EV64_WORDS	 10 /* RIP, CS, RFLAGS, RSP, SS: five 8-byte slots */
#define TYPE_TSS_BUSY_BIT 0x2ull
#define GDT_CODE64	 0x00AF9B000000FFFFull
#define TYPE_CALL64_D0	 0x8Cull
#define GATE64_WORDS	 4 /* RIP, CS: two 8-byte slots */

struct gate64 {
	uint16_t offset_lo, selector, type_attr, offset_mid;
	uint32_t offset_hi, reserved;
};

/* mmio_gate_run(entry, ebx): IRET to ring 3 at entry (EBX = ebx, ESP = the user stack top);
 * returns the ESP mmio_gate_catch was entered with at ring 0. */
uint32_t mmio_gate_run(uint32_t entry, uint32_t ebx);
extern const char mmio_gate_catch[], mmio_gate_user_call[], mmio_gate_user_call_ret[];
extern const char mmio_gate_user_ud[], mmio_gate_same[], mmio_gate_jmp_target[];
/* Compatibility mode: far CALL through the pointer at ptr with ESP at stack (0: as it is);
 * returns the RSP the 64-bit target was entered with. */
uint32_t mmio_gate_call64(uint32_t ptr, uint32_t stack);
extern const char mmio_gate_target64[], mmio_gate_call64_ret[], mmio_gate_handler64[];
uint32_t mmio_gate_user_top;

static uint64_t gdt[GDT_ENTRIES] __aligned(8);
static uint32_t tss[TSS_WORDS] __aligned(8);
static uint32_t ring0_stack[STACK_WORDS] __aligned(16);
static uint32_t user_stack[STACK_WORDS] __aligned(16);
static volatile uint32_t ram_ptr[2];

asm(".pushsection .text\n"
    ".globl mmio_gate_run, mmio_gate_catch, mmio_gate_user_call, mmio_gate_user_call_ret\n"
    ".globl mmio_gate_user_ud, mmio_gate_same, mmio_gate_jmp_target\n"
    "mmio_gate_run:\n"
    "	pushl %ebp\n"
    "	pushl %ebx\n"
    "	pushl %esi\n"
    "	pushl %edi\n"
    "	movl %esp, mmio_gate_saved_esp\n"
    "	movl 20(%esp), %edx\n"
    "	movl 24(%esp), %ebx\n"
    "	movl $0x23, %eax\n"
    "	movw %ax, %ds\n"
    "	movw %ax, %es\n"
    "	pushl $0x23\n"
    "	pushl mmio_gate_user_top\n"
    "	pushl $2\n"
    "	pushl $0x1b\n"
    "	pushl %edx\n"
    "	iret\n"
    /* Ring 0, through a gate or the IDT: the frame is at ESP. */
    "mmio_gate_catch:\n"
    "	movl %esp, %eax\n"
    "mmio_gate_catch_eax:\n"
    "	movl $0x10, %ecx\n"
    "	movw %cx, %ds\n"
    "	movw %cx, %es\n"
    "	movw %cx, %fs\n"
    "	movw %cx, %gs\n"
    "	movl mmio_gate_saved_esp, %esp\n"
    "	popl %edi\n"
    "	popl %esi\n"
    "	popl %ebx\n"
    "	popl %ebp\n"
    "	ret\n"
    /* Ring 3: two parameters, then the far call through the pointer at EBX. */
    "mmio_gate_user_call:\n"
    "	pushl $0x22220000\n"
    "	pushl $0x11110000\n"
    "	lcall *(%ebx)\n"
    "mmio_gate_user_call_ret:\n"
    "	ud2\n"
    "mmio_gate_user_ud:\n"
    "	ud2\n"
    /* Ring 0 through the DPL 0 gate: a result, back with RETF. */
    "mmio_gate_same:\n"
    "	movl $0x6a7e5, %eax\n"
    "	lret\n"
    ".globl mmio_gate_call64, mmio_gate_target64, mmio_gate_call64_ret\n"
    "mmio_gate_call64:\n"
    "	movl 4(%esp), %ecx\n"
    "	movl 8(%esp), %edx\n"
    "	pushl %ebp\n"
    "	movl %esp, %ebp\n"
    "	testl %edx, %edx\n"
    "	jz 1f\n"
    "	movl %edx, %esp\n"
    "1:	lcall *(%ecx)\n"
    "mmio_gate_call64_ret:\n"
    "	movl %ebp, %esp\n"
    "	popl %ebp\n"
    "	ret\n"
    ".code64\n"
    "mmio_gate_target64:\n"
    "	movl %esp, %eax\n"
    "	lretq\n"
    /* 64-bit #UD handler: EAX = the frame, SS back to a data segment (a null SS is for
     * 64-bit mode only), then mmio_gate_catch's tail in compatibility mode. */
    ".globl mmio_gate_handler64\n"
    "mmio_gate_handler64:\n"
    "	movl %esp, %eax\n"
    "	movl $0x10, %ecx\n"
    "	movw %cx, %ss\n"
    "	pushq $0x08\n"
    "	movl $mmio_gate_catch_eax, %ecx\n"
    "	pushq %rcx\n"
    "	lretq\n"
    ".code32\n"
    ".pushsection .data\n"
    "mmio_gate_saved_esp: .long 0\n"
    ".popsection\n"
    ".popsection\n");

static uint64_t call_gate(const char *entry, unsigned params, uint64_t type)
{
	uint32_t off = (uint32_t)entry;

	return (off & LIMIT_LO_MASK) | (uint64_t)SEL_CODE << GATE_SEL_SHIFT |
	       (uint64_t)params << GATE_PARAMS_SHIFT | type << TYPE_SHIFT |
	       (uint64_t)(off >> 16) << GATE_OFF_HI_SHIFT;
}

/* One ring-3 run with ESP0 at esp0: the frame's words and its depth below esp0. */
static void run_user(uint32_t esp0, uint32_t entry, uint32_t ebx, uint32_t *frame,
		     uint32_t *depth)
{
	uint32_t at;

	tss[TSS_ESP0_WORD] = esp0;
	at = mmio_gate_run(entry, ebx);
	*depth = esp0 - at;
	for (unsigned i = 0; i < FRAME_WORDS; i++)
		frame[i] = ((const volatile uint32_t *)at)[i];
}

/* The CPU's frame (ram) and mhv's (dev) agree, but for a pushed SS's upper half and RF. */
static void check_frames(const char *what, const uint32_t *ram, uint32_t ram_depth,
			 const uint32_t *dev, uint32_t dev_depth, unsigned words, unsigned ss,
			 unsigned flags, uint32_t want_eip)
{
	unsigned bad = words;

	for (unsigned i = 0; i < words && bad == words; i++) {
		uint32_t mask = i == ss ? SS_SLOT_MASK : i == flags ? ~FL_RF : ~0u;

		if ((ram[i] & mask) != (dev[i] & mask))
			bad = i;
	}
	check(bad == words && ram_depth == dev_depth && dev[0] == want_eip, what,
	      "depth %u/%u, word %u %x/%x (CPU/emulated), EIP %x (want %x)", ram_depth, dev_depth,
	      bad, bad < words ? ram[bad] : 0, bad < words ? dev[bad] : 0, dev[0], want_eip);
}

static void __attribute__((noinline)) test_same_privilege(volatile uint32_t *dev_ptr)
{
	uint32_t result = 0, jumped;

	dev_ptr[0] = 0;
	dev_ptr[1] = SEL_GATE_KERN;
	asm volatile("lcall *(%1)" : "=a"(result) : "r"(dev_ptr) : "memory");
	check_eq("mmio gate: far call m16:32 from a device page through a ring-0 call gate",
		 result, GATE_RESULT);
	gdt[SEL_GATE_KERN / 8] = call_gate(mmio_gate_jmp_target, 0, TYPE_CALL32_D0);
	asm volatile("movl $1, %0\n\t"
		     "ljmp *(%1)\n\t"
		     "movl $0, %0\n"
		     "mmio_gate_jmp_target:"
		     : "=&r"(jumped)
		     : "r"(dev_ptr)
		     : "memory");
	gdt[SEL_GATE_KERN / 8] = call_gate(mmio_gate_same, 0, TYPE_CALL32_D0);
	check(jumped == 1, "mmio gate: far jmp m16:32 from a device page through a call gate",
	      "fell through");
}

static void test_more_privileged(uint32_t base, volatile uint32_t *dev_ptr)
{
	const uint32_t ram_top = (uint32_t)&ring0_stack[STACK_WORDS];
	const uint32_t dev_top = base + GATE_STACK_TOP;
	uint32_t cpu[FRAME_WORDS], ptr_dev[FRAME_WORDS], stack_dev[FRAME_WORDS];
	uint32_t d_cpu, d_ptr, d_stack;
	const uint32_t want = (uint32_t)mmio_gate_user_call_ret;

	ram_ptr[0] = dev_ptr[0] = 0;
	ram_ptr[1] = dev_ptr[1] = SEL_GATE_USER;
	run_user(ram_top, (uint32_t)mmio_gate_user_call, (uint32_t)ram_ptr, cpu, &d_cpu);
	run_user(ram_top, (uint32_t)mmio_gate_user_call, (uint32_t)dev_ptr, ptr_dev, &d_ptr);
	run_user(dev_top, (uint32_t)mmio_gate_user_call, (uint32_t)ram_ptr, stack_dev, &d_stack);
	check(cpu[0] == want && cpu[1] == SEL_UCODE && cpu[2] == PARAM0 && cpu[3] == PARAM1 &&
		      (cpu[5] & SS_SLOT_MASK) == SEL_UDATA && d_cpu == 4 * FRAME_WORDS,
	      "mmio gate: ring-3 far call through a call gate on RAM (the CPU's frame)",
	      "frame %x %x %x %x %x %x, depth %u", cpu[0], cpu[1], cpu[2], cpu[3], cpu[4], cpu[5],
	      d_cpu);
	check_frames("mmio gate: ring-3 far call, pointer on a device page: to ring 0 through the "
		     "gate, stack switch and parameters as the CPU's",
		     cpu, d_cpu, ptr_dev, d_ptr, FRAME_WORDS, 5, ~0u, want);
	check_frames("mmio gate: ring-3 far call with ESP0 on a device page: the inner frame as "
		     "the CPU's",
		     cpu, d_cpu, stack_dev, d_stack, FRAME_WORDS, 5, ~0u, want);
}

static void test_event_to_ring0(uint32_t base)
{
	const uint32_t ram_top = (uint32_t)&ring0_stack[STACK_WORDS];
	const uint32_t dev_top = base + GATE_STACK_TOP;
	const uint32_t want = (uint32_t)mmio_gate_user_ud;
	uint32_t cpu[FRAME_WORDS], dev[FRAME_WORDS], d_cpu, d_dev;
	struct table_ptr idtr;
	struct gate32 *idt, saved;

	asm volatile("sidt %0" : "=m"(idtr));
	idt = (struct gate32 *)idtr.base;
	saved = idt[VEC_UD];
	idt[VEC_UD] = (struct gate32){.offset_lo = (uint16_t)(uint32_t)mmio_gate_catch,
				      .selector = SEL_CODE,
				      .type_attr = GATE_INTR32,
				      .offset_hi = (uint16_t)((uint32_t)mmio_gate_catch >> 16)};
	run_user(ram_top, want, 0, cpu, &d_cpu);
	run_user(dev_top, want, 0, dev, &d_dev);
	idt[VEC_UD] = saved;
	check(cpu[0] == want && cpu[1] == SEL_UCODE && (cpu[4] & SS_SLOT_MASK) == SEL_UDATA,
	      "mmio gate: #UD at ring 3 on RAM (the CPU's frame)", "frame %x %x %x %x %x", cpu[0],
	      cpu[1], cpu[2], cpu[3], cpu[4]);
	check_frames("mmio gate: #UD at ring 3 with ESP0 on a device page: stack switch, frame "
		     "EIP CS EFLAGS ESP SS as the CPU's",
		     cpu, d_cpu, dev, d_dev, FRAME_WORDS - 1, 4, 2, want);
}

static const uint64_t gdt64_init[] = {0,		     GDT_FLAT_CODE32, GDT_FLAT_DATA32,
				      GDT_USER_CODE32, GDT_USER_DATA32, GDT_CODE64};
static uint64_t gdt64[GDT64_ENTRIES] __aligned(16);
static uint32_t tss64[TSS_WORDS] __aligned(16);
static struct gate64 idt64[VEC_UD + 1] __aligned(16);
static struct lm_tables user_tables; /* identity, the region too, ring 3 allowed */
static uint32_t ram_stack64[2][STACK_WORDS] __aligned(16); /* the CPU's run, mhv's */

/* The three runs in IA-32e mode (compatibility mode, paging on, no IDT: nothing may fault). */
/* #UD at ring 3 in compatibility mode with RSP0 at top: the frame's address. */
static uint32_t ud64_from_ring3(uint32_t top)
{
	tss64[TSS_ESP0_WORD] = top;
	tss64[TSS_ESP0_WORD + 1] = 0;
	return mmio_gate_run((uint32_t)mmio_gate_user_ud, 0);
}

static void __attribute__((noinline)) visit_ia32e(uint32_t dev_ptr, uint32_t dev_stack,
						  uint32_t *at, uint32_t *ev_at)
{
	struct table_ptr old_idt, lm_idt = {sizeof(idt64) - 1, (uint32_t)idt64};
	struct table_ptr old_gdt, gdt64_ptr = {sizeof(gdt64) - 1, (uint32_t)gdt64};
	struct lm_saved s;

	asm volatile("sgdt %0" : "=m"(old_gdt));
	asm volatile("lgdt %0" ::"m"(gdt64_ptr));
	lm_enter(&s, (uint32_t)user_tables.pml4);
	at[0] = mmio_gate_call64((uint32_t)ram_ptr, (uint32_t)&ram_stack64[0][STACK_WORDS]);
	at[1] = mmio_gate_call64(dev_ptr, (uint32_t)&ram_stack64[1][STACK_WORDS]);
	at[2] = mmio_gate_call64((uint32_t)ram_ptr, dev_stack);
	asm volatile("sidt %0" : "=m"(old_idt));
	asm volatile("lidt %0" ::"m"(lm_idt));
	asm volatile("ltr %w0" ::"r"((uint16_t)SEL_TSS64) : "memory");
	ev_at[0] = ud64_from_ring3((uint32_t)&ring0_stack[STACK_WORDS]);
	ev_at[1] = ud64_from_ring3(dev_stack - (GATE64_STACK_TOP - GATE_STACK_TOP));
	asm volatile("lidt %0" ::"m"(old_idt));
	lm_leave(&s);
	asm volatile("lgdt %0" ::"m"(old_gdt));
}

static void test_ia32e(uint32_t base, volatile uint32_t *dev_ptr)
{
	const uint32_t ram_top = (uint32_t)&ram_stack64[0][STACK_WORDS];
	const uint32_t dev_top = base + GATE64_STACK_TOP;
	const uint32_t tops[3] = {ram_top, (uint32_t)&ram_stack64[1][STACK_WORDS], dev_top};
	const uint32_t target = (uint32_t)mmio_gate_target64;
	uint32_t at[3], frames[3][GATE64_WORDS], ev_at[2], ev[2][EV64_WORDS];
	const uint32_t ev_tops[2] = {(uint32_t)&ring0_stack[STACK_WORDS],
				     dev_top - (GATE64_STACK_TOP - GATE_STACK_TOP)};
	const struct table_ptr mine = {sizeof(gdt) - 1, (uint32_t)gdt};
	const uint32_t tss_base = (uint32_t)tss64;
	unsigned bad = 0;

	for (unsigned i = 0; i < sizeof(gdt64_init) / sizeof(gdt64_init[0]); i++)
		gdt64[i] = gdt64_init[i];
	/* The 16-byte gate: offset 15:0, selector, type, offset 31:16; offset 63:32 = 0. */
	gdt64[SEL_GATE64 / 8] = (target & LIMIT_LO_MASK) |
				(uint64_t)SEL_CODE64 << GATE_SEL_SHIFT |
				TYPE_CALL64_D0 << TYPE_SHIFT |
				(uint64_t)(target >> 16) << GATE_OFF_HI_SHIFT;
	gdt64[SEL_GATE64 / 8 + 1] = 0;
	gdt64[SEL_TSS64 / 8] = desc_small(tss_base, TSS_BYTES - 1, TYPE_TSS_AVAIL);
	gdt64[SEL_TSS64 / 8 + 1] = 0;
	tss64[TSS_IOMAP_WORD] = (uint32_t)TSS_BYTES << 16;
	idt64[VEC_UD] = (struct gate64){.offset_lo = (uint16_t)(uint32_t)mmio_gate_handler64,
					.selector = SEL_CODE64,
					.type_attr = GATE64_INTR,
					.offset_mid = (uint16_t)((uint32_t)mmio_gate_handler64 >> 16)};
	lm_identity_map(&user_tables, LM_PTE_US);
	ram_ptr[0] = dev_ptr[0] = 0;
	ram_ptr[1] = dev_ptr[1] = SEL_GATE64;
	visit_ia32e((uint32_t)dev_ptr, dev_top, at, ev_at);
	/* TR back on the legacy TSS (its descriptor busy since the first LTR). */
	gdt[SEL_TSS / 8] &= ~(TYPE_TSS_BUSY_BIT << TYPE_SHIFT);
	{
		struct table_ptr old;

		asm volatile("sgdt %0" : "=m"(old));
		asm volatile("lgdt %0" ::"m"(mine) : "memory");
		asm volatile("ltr %w0" ::"r"((uint16_t)SEL_TSS) : "memory");
		asm volatile("lgdt %0" ::"m"(old) : "memory");
	}
	for (unsigned r = 0; r < 2; r++)
		for (unsigned i = 0; i < EV64_WORDS; i++)
			ev[r][i] = ((const volatile uint32_t *)ev_at[r])[i];
	check(ev[0][0] == (uint32_t)mmio_gate_user_ud && ev[0][2] == SEL_UCODE &&
		      ev[0][8] == SEL_UDATA && ev_tops[0] - ev_at[0] == 8 * EV64_WORDS / 2,
	      "mmio gate: IA-32e #UD at ring 3 on RAM (the CPU's 64-bit frame)",
	      "RIP %x CS %x RSP %x SS %x, depth %u", ev[0][0], ev[0][2], ev[0][6], ev[0][8],
	      ev_tops[0] - ev_at[0]);
	check_frames("mmio gate: IA-32e #UD at ring 3 with RSP0 on a device page: stack switch, "
		     "frame RIP CS RFLAGS RSP SS as the CPU's",
		     ev[0], ev_tops[0] - ev_at[0], ev[1], ev_tops[1] - ev_at[1], EV64_WORDS, 8, 4,
		     (uint32_t)mmio_gate_user_ud);
	for (unsigned r = 0; r < 3; r++)
		for (unsigned i = 0; i < GATE64_WORDS; i++)
			frames[r][i] = ((const volatile uint32_t *)at[r])[i];
	check(frames[0][0] == (uint32_t)mmio_gate_call64_ret && frames[0][1] == 0 &&
		      frames[0][2] == SEL_CODE && ram_top - at[0] > 0,
	      "mmio gate: IA-32e far call through a 64-bit call gate on RAM (the CPU's frame)",
	      "frame %x %x %x %x", frames[0][0], frames[0][1], frames[0][2], frames[0][3]);
	for (unsigned r = 1; r < 3; r++)
		for (unsigned i = 0; i < GATE64_WORDS && !bad; i++)
			if (frames[r][i] != frames[0][i] || tops[r] - at[r] != ram_top - at[0])
				bad = r * 16 + i + 1;
	check(!bad, "mmio gate: IA-32e far call through a 64-bit call gate, pointer then stack "
		    "on a device page: RIP and CS slots as the CPU's",
	      "run %u word %u (depth %u/%u/%u)", bad / 16, bad % 16 - 1, ram_top - at[0],
	      tops[1] - at[1], dev_top - at[2]);
}

void test_mmio_gate(uint32_t base)
{
	volatile uint32_t *dev_ptr = (volatile uint32_t *)(base + GATE_PTR_OFF);
	const struct table_ptr mine = {sizeof(gdt) - 1, (uint32_t)gdt};
	struct table_ptr old;

	gdt[0] = 0;
	gdt[SEL_CODE / 8] = GDT_FLAT_CODE32;
	gdt[SEL_DATA / 8] = GDT_FLAT_DATA32;
	gdt[SEL_UCODE / 8] = GDT_USER_CODE32;
	gdt[SEL_UDATA / 8] = GDT_USER_DATA32;
	gdt[SEL_TSS / 8] = desc_small((uint32_t)tss, TSS_BYTES - 1, TYPE_TSS_AVAIL);
	gdt[SEL_GATE_USER / 8] = call_gate(mmio_gate_catch, GATE_PARAMS, TYPE_CALL32_D3);
	gdt[SEL_GATE_KERN / 8] = call_gate(mmio_gate_same, 0, TYPE_CALL32_D0);
	tss[TSS_ESP0_WORD] = (uint32_t)&ring0_stack[STACK_WORDS];
	tss[TSS_SS0_WORD] = SEL_DATA;
	tss[TSS_IOMAP_WORD] = (uint32_t)TSS_BYTES << 16;
	mmio_gate_user_top = (uint32_t)&user_stack[STACK_WORDS];

	asm volatile("sgdt %0" : "=m"(old));
	asm volatile("lgdt %0" ::"m"(mine) : "memory");
	asm volatile("ltr %w0" ::"r"((uint16_t)SEL_TSS) : "memory");
	test_same_privilege(dev_ptr);
	test_more_privileged(base, dev_ptr);
	test_event_to_ring0(base);
	/* TR keeps this TSS, its ring-0 stack in RAM. */
	tss[TSS_ESP0_WORD] = (uint32_t)&ring0_stack[STACK_WORDS];
	asm volatile("lgdt %0" ::"m"(old) : "memory");
	test_ia32e(base, dev_ptr);
}
