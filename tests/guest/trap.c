/* IDT setup and the C side of exception handling (see trap.h and trap_entry.S). */
#include <stddef.h>

#include "lib/compiler.h"
#include "tests/guest/cpu.h"
#include "tests/guest/hv.h"
#include "tests/guest/report.h"
#include "tests/guest/segments.h"
#include "tests/guest/trap.h"

#define GATE_INTR32_DPL0 0x8E		/* present, DPL 0, 32-bit interrupt gate: IF stays clear */
#define NR_IDT_VECTORS	 (VEC_IRQ0 + 1) /* nothing else is ever unmasked at the PIC */

struct idt_gate {
	uint16_t offset_lo;
	uint16_t selector;
	uint8_t zero;
	uint8_t type_attr;
	uint16_t offset_hi;
} __packed;

struct idt_desc {
	uint16_t limit;
	uint32_t base;
} __packed;

/* What trap_common pushes: PUSHAL block, then the stub's vector/error code, then the CPU's. */
struct trap_frame {
	uint32_t edi, esi, ebp, esp_unused, ebx, edx, ecx, eax;
	uint32_t vector, errcode;
	uint32_t eip, cs, eflags;
};

extern const char trap_stubs[];
extern const char irq0_stub[];
bool trap_try(void (*fn)(void *), void *arg);
void trap_dispatch(const struct trap_frame *tf);
void trap_irq0(void);

static struct idt_gate idt[NR_IDT_VECTORS] __aligned(8);

/* What irq0_stub calls: set by trap_set_irq0_handler(). */
static void (*irq0_handler)(void);

/* The pending run_catching() call, if any: where to record the exception. */
static struct fault *armed;

static const char *const names[NR_EXCEPTION_VECTORS] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "#CSO", "#TS",
	"#NP", "#SS", "#GP", "#PF", "#15", "#MF", "#AC", "#MC", "#XM", "#VE",  "#CP",
	"#22", "#23", "#24", "#25", "#26", "#27", "#HV", "#VC", "#SX", "#31",
};

const char *trap_name(uint32_t vector)
{
	return vector < NR_EXCEPTION_VECTORS ? names[vector] : "?";
}

static void set_gate(uint32_t vector, const char *stub)
{
	uint32_t handler = (uint32_t)stub;

	idt[vector] = (struct idt_gate){
		.offset_lo = (uint16_t)handler,
		.selector = SEL_CODE,
		.type_attr = GATE_INTR32_DPL0,
		.offset_hi = (uint16_t)(handler >> 16),
	};
}

void trap_init(void)
{
	struct idt_desc desc = {.limit = sizeof(idt) - 1, .base = (uint32_t)idt};

	for (uint32_t v = 0; v < NR_EXCEPTION_VECTORS; v++)
		set_gate(v, trap_stubs + v * TRAP_STUB_SIZE);
	set_gate(VEC_IRQ0, irq0_stub);
	asm volatile("lidt %0" ::"m"(desc));
}

void trap_set_irq0_handler(void (*fn)(void))
{
	irq0_handler = fn;
}

/* Called by irq0_stub with interrupts off. */
void trap_irq0(void)
{
	if (!irq0_handler) {
		check(false, "no unexpected interrupt",
		      "timer interrupt (vector 0x%x) with no handler", VEC_IRQ0);
		report_finish();
	}
	irq0_handler();
}

/* Called by trap_common; returns only if run_catching() is waiting for this exception. */
void trap_dispatch(const struct trap_frame *tf)
{
	struct fault *f = armed;

	if (!f) {
		static bool reporting;

		/* A fault while reporting one (say, in the console) must not recurse forever. */
		if (reporting)
			guest_end(1);
		reporting = true;
		check(false, "no unexpected exception",
		      "%s (vector %u, error code 0x%x) at 0x%x, cr2 0x%x", trap_name(tf->vector),
		      tf->vector, tf->errcode, tf->eip, read_cr2());
		report_finish();
	}
	/* Disarm first: a fault while recovering must be reported, not looped on. */
	armed = NULL;
	f->raised = true;
	f->vector = tf->vector;
	f->errcode = tf->errcode;
	f->eip = tf->eip;
	f->cr2 = tf->vector == VEC_PF ? read_cr2() : 0;
	f->ecx = tf->ecx;
	f->esi = tf->esi;
	f->edi = tf->edi;
}

bool run_catching(void (*fn)(void *), void *arg, struct fault *f)
{
	*f = (struct fault){0};
	armed = f;
	trap_try(fn, arg);
	armed = NULL;
	return f->raised;
}

struct msr_op {
	uint32_t msr;
	uint64_t val;
};

static void do_rdmsr(void *arg)
{
	struct msr_op *op = arg;

	op->val = rdmsr(op->msr);
}

static void do_wrmsr(void *arg)
{
	const struct msr_op *op = arg;

	wrmsr(op->msr, op->val);
}

bool try_rdmsr(uint32_t msr, uint64_t *val, struct fault *f)
{
	struct msr_op op = {.msr = msr};

	run_catching(do_rdmsr, &op, f);
	*val = op.val;
	return !f->raised;
}

bool try_wrmsr(uint32_t msr, uint64_t val, struct fault *f)
{
	struct msr_op op = {.msr = msr, .val = val};

	return !run_catching(do_wrmsr, &op, f);
}
