/*
 * Exceptions delivered while ESP points into an mmio=ram region.  The CPU's delivery pushes
 * the frame onto the device page, which exits to mhv; mhv must complete the delivery through
 * the device (not end the run, not turn it into #DF).  Each case runs twice with the same
 * instructions: once with the stack in RAM (the CPU delivers it) and once with the stack on
 * the device page (mhv does): the frames must agree word for word, at the same distance below
 * the stack top.  In legacy protected mode (the kernel's own mode) and in IA-32e mode
 * (compatibility mode with 64-bit gates: 16-byte aligned frames with SS:RSP).
 */
#include "lib/compiler.h"
#include "tests/guest/cpu.h"
#include "tests/guest/desc.h"
#include "tests/guest/long_mode.h"
#include "tests/guest/report.h"
#include "tests/guest/segments.h"
#include "tests/guest/tests.h"

#define EVENT_TOP	  0x2800u /* stack top in the region (frames go below it) */
#define TOP_MISALIGN	  4u	  /* both tops 4 bytes short of 16-byte alignment */
#define RAM_STACK_WORDS	  64
#define FRAME_WORDS_MAX	  12 /* IA-32e: six 8-byte slots */
#define RUN_UD		  0
#define FL_RF		  (1u << 16)
#define RUN_GP		  1
#define SEL_PAST_GDT	  0x38u
#define EC_IDT_EXT	  0x3u /* error code bits: IDT entry, external event */
#define GATE_INTR32	  0x8Eu
#define GATE_ABSENT32	  0x0Eu
#define VEC_NP		  11
#define IDT64_ENTRIES	  (VEC_GP + 1)
#define GATE64_INTR	  0x8E00u

uint32_t mmio_event_run(uint32_t top, uint32_t which);
uint32_t mmio_event_iret_run(uint32_t top);
extern const char mmio_event_handler32[], mmio_event_handler64[];
extern const char mmio_event_iret32[], mmio_event_iret64[];
extern const char mmio_event_ud_at[], mmio_event_gp_at[];

struct gate64 {
	uint16_t offset_lo, selector, type_attr, offset_mid;
	uint32_t offset_hi, reserved;
};

static uint32_t ram_stack[RAM_STACK_WORDS] __aligned(16);

/* One case's two runs: the frame words and how far below the top each frame starts. */
struct event_pair {
	uint32_t ram[FRAME_WORDS_MAX], dev[FRAME_WORDS_MAX];
	uint32_t ram_depth, dev_depth;
};

static void run_pair(uint32_t dev_top, uint32_t which, unsigned words, struct event_pair *p)
{
	uint32_t ram_top = (uint32_t)&ram_stack[RAM_STACK_WORDS] - TOP_MISALIGN;
	uint32_t fr = mmio_event_run(ram_top, which);
	uint32_t fd = mmio_event_run(dev_top - TOP_MISALIGN, which);

	p->ram_depth = ram_top - fr;
	p->dev_depth = dev_top - TOP_MISALIGN - fd;
	for (unsigned i = 0; i < words; i++) {
		p->ram[i] = ((const volatile uint32_t *)fr)[i];
		p->dev[i] = ((const volatile uint32_t *)fd)[i];
	}
}

/*
 * Where the words of a frame are: the saved stack pointer (IA-32e mode only, else ~0u), the
 * EFLAGS image, EIP, and a word the comparison skips (~0u: none).
 */
struct frame_layout {
	unsigned words, rsp, flags, eip, skip;
};

/*
 * The frames agree but for the saved stack pointer, RF and the skipped word.  RF: the SDM
 * (vol.3 17.3.1.1) pushes it set for every fault, which mhv does and QEMU's TCG does not;
 * it is checked on the device frame alone.
 */
static void check_pair(const char *what, const struct event_pair *p, const struct frame_layout *l,
		       uint32_t dev_top, uint32_t want_eip)
{
	uint32_t ram_top = (uint32_t)&ram_stack[RAM_STACK_WORDS] - TOP_MISALIGN;
	unsigned bad = l->words;

	for (unsigned i = 0; i < l->words && bad == l->words; i++) {
		uint32_t r = p->ram[i], d = p->dev[i];

		if (i == l->flags) {
			r &= ~FL_RF;
			d &= ~FL_RF;
		}
		if (i == l->rsp ? r != ram_top || d != dev_top - TOP_MISALIGN
				: i != l->skip && r != d)
			bad = i;
	}
	check(bad == l->words && p->ram_depth == p->dev_depth && p->dev[l->eip] == want_eip &&
		      (p->dev[l->flags] & FL_RF),
	      what, "frame depth %u/%u, word %u %x/%x (CPU/emulated), EIP %x (want %x), EFLAGS %x",
	      p->ram_depth, p->dev_depth, bad, bad < l->words ? p->ram[bad] : 0,
	      bad < l->words ? p->dev[bad] : 0, p->dev[l->eip], want_eip, p->dev[l->flags]);
}

/* ---- legacy protected mode: the kernel's IDT, three gates borrowed ---- */

static void set_gate32(struct gate32 *g, const char *handler, uint8_t type_attr)
{
	*g = (struct gate32){.offset_lo = (uint16_t)(uint32_t)handler,
			     .selector = SEL_CODE,
			     .type_attr = type_attr,
			     .offset_hi = (uint16_t)((uint32_t)handler >> 16)};
}

static void test_legacy(uint32_t dev_top)
{
	struct table_ptr idtr;
	struct gate32 *idt, saved[3];
	struct event_pair ud, gp, np;
	const unsigned vecs[3] = {VEC_UD, VEC_NP, VEC_GP};

	asm volatile("sidt %0" : "=m"(idtr));
	idt = (struct gate32 *)idtr.base;
	for (unsigned i = 0; i < 3; i++) {
		saved[i] = idt[vecs[i]];
		set_gate32(&idt[vecs[i]], mmio_event_handler32, GATE_INTR32);
	}
	run_pair(dev_top, RUN_UD, 3, &ud);
	run_pair(dev_top, RUN_GP, 4, &gp);
	/* #UD through a gate that is not present: #NP(IDT entry 6), delivered onto the stack. */
	idt[VEC_UD].type_attr = GATE_ABSENT32;
	run_pair(dev_top, RUN_UD, 4, &np);
	/* A handler that returns with IRET, its frame on the device page. */
	set_gate32(&idt[VEC_UD], mmio_event_iret32, GATE_INTR32);
	uint32_t esp_after = mmio_event_iret_run(dev_top);
	for (unsigned i = 0; i < 3; i++)
		idt[vecs[i]] = saved[i];
	check_eq("mmio event: iret from a device page returns past the #UD with ESP restored",
		 esp_after, dev_top);

	static const struct frame_layout no_ec = {3, ~0u, 2, 0, ~0u}, ec = {4, ~0u, 3, 1, ~0u},
					 ec_unchecked = {4, ~0u, 3, 1, 0};

	check_pair("mmio event: #UD with ESP on a device page: the handler runs, frame as the CPU's",
		   &ud, &no_ec, dev_top, (uint32_t)mmio_event_ud_at);
	check_pair("mmio event: #GP(selector) with ESP on a device page: frame and error code as "
		   "the CPU's",
		   &gp, &ec, dev_top, (uint32_t)mmio_event_gp_at);
	check_eq("mmio event: the #GP frame on the device page holds the selector", gp.dev[0],
		 SEL_PAST_GDT);
	/* The error code is checked against the SDM (EXT set: the #NP interrupted the #UD's
	 * delivery), which QEMU's TCG leaves clear. */
	check_pair("mmio event: #UD through an absent gate: #NP onto the device page as the CPU's",
		   &np, &ec_unchecked, dev_top, (uint32_t)mmio_event_ud_at);
	check_eq("mmio event: the #NP frame names IDT entry 6", np.dev[0],
		 VEC_UD * 8 + EC_IDT_EXT);
}

/* ---- IA-32e mode, visited in compatibility mode ---- */

static struct gate64 idt64[IDT64_ENTRIES] __aligned(16);

static void set_gate64(unsigned v, const char *handler)
{
	idt64[v] = (struct gate64){.offset_lo = (uint16_t)(uint32_t)handler,
				   .selector = LM_SEL_CODE64,
				   .type_attr = GATE64_INTR,
				   .offset_mid = (uint16_t)((uint32_t)handler >> 16)};
}

static void __attribute__((noinline)) visit_ia32e(uint32_t dev_top, struct event_pair *ud,
						  struct event_pair *gp, uint32_t *esp_after)
{
	uint32_t pml4 = (uint32_t)lm_identity()->pml4; /* the region at 0xd0000000 too */
	struct lm_saved s;
	struct table_ptr old_gdt, old_idt, gdt = {sizeof(lm_gdt) - 1, (uint32_t)lm_gdt},
					   idt = {sizeof(idt64) - 1, (uint32_t)idt64};

	asm volatile("sgdt %0; sidt %1" : "=m"(old_gdt), "=m"(old_idt));
	asm volatile("lgdt %0; lidt %1" ::"m"(gdt), "m"(idt));
	lm_enter(&s, pml4);
	run_pair(dev_top, RUN_UD, 10, ud);
	run_pair(dev_top, RUN_GP, 12, gp);
	set_gate64(VEC_UD, mmio_event_iret64);
	*esp_after = mmio_event_iret_run(dev_top);
	lm_leave(&s);
	asm volatile("lgdt %0; lidt %1" ::"m"(old_gdt), "m"(old_idt));
}

static void test_ia32e(uint32_t dev_top)
{
	struct event_pair ud, gp;
	uint32_t esp_after = 0;

	for (unsigned v = 0; v < IDT64_ENTRIES; v++)
		set_gate64(v, mmio_event_handler64);
	visit_ia32e(dev_top, &ud, &gp, &esp_after);
	check_eq("mmio event: iretq from a device page (64-bit handler) returns to compatibility "
		 "mode past the #UD with ESP restored",
		 esp_after, dev_top);
	static const struct frame_layout no_ec = {10, 6, 4, 0, ~0u}, ec = {12, 8, 6, 2, ~0u};

	/* 8-byte slots, low halves at even words: [error code,] RIP, CS, RFLAGS, RSP, SS. */
	check_pair("mmio event: #UD in IA-32e mode with RSP on a device page: 64-bit frame as the "
		   "CPU's",
		   &ud, &no_ec, dev_top, (uint32_t)mmio_event_ud_at);
	check_pair("mmio event: #GP(selector) in IA-32e mode with RSP on a device page: frame as "
		   "the CPU's",
		   &gp, &ec, dev_top, (uint32_t)mmio_event_gp_at);
	check_eq("mmio event: the IA-32e #GP frame holds the selector", gp.dev[0], SEL_PAST_GDT);
}

void test_mmio_event(uint32_t base)
{
	test_legacy(base + EVENT_TOP);
	test_ia32e(base + EVENT_TOP);
}
