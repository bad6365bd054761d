/*
 * External interrupts and HLT.  mhv passes interrupts straight to the guest (no interrupt
 * exiting) and intercepts HLT: with IF=1 it lets the guest wait for the interrupt (VMX: the HLT
 * activity state) or resumes it after the HLT (SVM).  Either way the guest must wake on the
 * next interrupt, so this drives the legacy timer: 8259 PIC remapped to VEC_IRQ0, PIT channel
 * 0 as a rate generator, then `sti; hlt` until a few ticks arrive.  Everything but the exit
 * count is plain hardware, so it runs natively too.
 */
#include <stddef.h>

#include "arch/x86/io.h"
#include "core/hypercall_abi.h"
#include "tests/guest/hv.h"
#include "tests/guest/report.h"
#include "tests/guest/tests.h"
#include "tests/guest/trap.h"

#define PIC1_CMD  0x20
#define PIC1_DATA 0x21
#define PIC2_CMD  0xA0
#define PIC2_DATA 0xA1

#define ICW1_INIT	  0x10 /* start initialisation: ICW2-4 follow on the data port */
#define ICW1_ICW4	  0x01 /* ICW4 will be sent */
#define ICW3_SLAVE_ON_IR2 0x04 /* master: a slave hangs off IR2 */
#define ICW3_SLAVE_ID	  0x02 /* slave: its cascade identity (IR2 of the master) */
#define ICW4_8086	  0x01 /* 8086 mode (vectors, not 8080 CALLs), normal EOI */
#define VEC_IRQ8	  (VEC_IRQ0 + 8)
#define OCW2_EOI	  0x20 /* non-specific end of interrupt */
#define OCW3_READ_ISR	  0x0B /* next read of the command port returns the ISR */
#define OCW3_READ_IRR	  0x0A /* ... the IRR (the power-on default) */
#define PIC_MASK_ALL	  0xFF
#define PIC_MASK_BUT_IRQ0 0xFE

#define PIT_CH0_DATA	    0x40
#define PIT_CMD		    0x43
#define PIT_CMD_CH0_RATE    0x34 /* channel 0, lobyte/hibyte, mode 2 (rate generator), binary */
#define PIT_CMD_CH0_ONESHOT 0x30 /* channel 0, lobyte/hibyte, mode 0: OUT stays low, no count */
#define PIT_HZ		    1193182
#define TICK_HZ		    100 /* 10 ms ticks */
#define PIT_DIVISOR	    (PIT_HZ / TICK_HZ)

#define POST_PORT 0x80 /* writes here only take time: the I/O delay old PICs need */

#define WANT_TICKS 3
/*
 * Where mhv resumes the guest after each HLT (SVM, or VMX without the HLT activity state)
 * every HLT is a short exit, not a wait: 3 ticks take ~2,000 HLTs on QEMU and ~16,000 on
 * Bochs, so this leaves a wide margin and still gives up in seconds if no tick ever comes.
 */
#define MAX_HLTS 1000000u

#define EFLAGS_IF (1u << 9)

static volatile uint32_t ticks;

static void io_delay(void)
{
	outb(POST_PORT, 0);
}

static void pic_write(uint16_t port, uint8_t v)
{
	outb(port, v);
	io_delay();
}

static void timer_tick(void)
{
	ticks++;
	outb(PIC1_CMD, OCW2_EOI);
}

/* Both PICs to vectors VEC_IRQ0 and VEC_IRQ8 (past the exceptions), every IRQ masked. */
static void pic_remap(void)
{
	pic_write(PIC1_CMD, ICW1_INIT | ICW1_ICW4);
	pic_write(PIC2_CMD, ICW1_INIT | ICW1_ICW4);
	pic_write(PIC1_DATA, VEC_IRQ0);
	pic_write(PIC2_DATA, VEC_IRQ8);
	pic_write(PIC1_DATA, ICW3_SLAVE_ON_IR2);
	pic_write(PIC2_DATA, ICW3_SLAVE_ID);
	pic_write(PIC1_DATA, ICW4_8086);
	pic_write(PIC2_DATA, ICW4_8086);
	pic_write(PIC1_DATA, PIC_MASK_ALL);
	pic_write(PIC2_DATA, PIC_MASK_ALL);
}

static uint8_t pic1_isr(void)
{
	uint8_t isr;

	outb(PIC1_CMD, OCW3_READ_ISR);
	isr = inb(PIC1_CMD);
	outb(PIC1_CMD, OCW3_READ_IRR);
	return isr;
}

static void pit_start(void)
{
	outb(PIT_CMD, PIT_CMD_CH0_RATE);
	outb(PIT_CH0_DATA, PIT_DIVISOR & 0xFF);
	outb(PIT_CH0_DATA, PIT_DIVISOR >> 8);
}

/* Mode 0 with no count loaded: the output stays low, so no further edge reaches IRQ0. */
static void pit_stop(void)
{
	outb(PIT_CMD, PIT_CMD_CH0_ONESHOT);
}

/* HLT until WANT_TICKS timer interrupts arrived (or MAX_HLTS); returns the HLTs executed. */
static uint32_t wait_for_ticks(void)
{
	uint32_t hlts = 0;

	/*
	 * ticks is read with IF=0, and STI keeps interrupts blocked for one more instruction: a
	 * tick arriving after the check wakes the HLT instead of slipping in before it.
	 */
	while (ticks < WANT_TICKS && hlts < MAX_HLTS) {
		asm volatile("sti; hlt; cli" ::: "memory");
		hlts++;
	}
	return hlts;
}

static uint32_t read_eflags(void)
{
	uint32_t v;

	asm volatile("pushfl; popl %0" : "=r"(v));
	return v;
}

void test_irq(void)
{
	uint32_t hlts, got, hlt_exits = 0, eflags;
	uint8_t isr;

	asm volatile("cli");
	ticks = 0;
	trap_set_irq0_handler(timer_tick);
	pic_remap();
	pit_start();
	pic_write(PIC1_DATA, PIC_MASK_BUT_IRQ0);

	if (hv_present())
		hlt_exits = hv_exit_count(EXIT_KIND_HLT);
	hlts = wait_for_ticks();
	if (hv_present())
		hlt_exits = hv_exit_count(EXIT_KIND_HLT) - hlt_exits;

	/* Still IF=0 from the loop's CLI: nothing can arrive while the timer is shut down. */
	pic_write(PIC1_DATA, PIC_MASK_ALL);
	pit_stop();
	got = ticks;
	isr = pic1_isr();
	trap_set_irq0_handler(NULL);
	eflags = read_eflags();

	gprintf("guest: irq: %u timer ticks in %u HLTs\n", got, hlts);
	check(got >= WANT_TICKS, "irq: PIT timer interrupts wake HLT and reach the guest's IDT",
	      "%u ticks after %u HLTs", got, hlts);
	check(isr == 0, "irq: every timer interrupt was acknowledged (PIC ISR clear)", "ISR 0x%x",
	      isr);
	if (hv_present())
		check(hlt_exits >= 1 && hlt_exits <= hlts,
		      "irq: HLT with IF=1 exits to mhv at most once per HLT",
		      "%u HLT exits for %u HLTs", hlt_exits, hlts);
	check(!(eflags & EFLAGS_IF), "irq: EFLAGS.IF is clear after the test", "EFLAGS 0x%x",
	      eflags);
}
