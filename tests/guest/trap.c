/* IDT setup and the C side of exception handling (see trap.h and trap_entry.S). */
#include <stddef.h>

#include "lib/compiler.h"
#include "tests/guest/cpu.h"
#include "tests/guest/hv.h"
#include "tests/guest/report.h"
#include "tests/guest/segments.h"
#include "tests/guest/trap.h"

#define GATE_INTR32_DPL0 0x8E /* present, DPL 0, 32-bit interrupt gate: IF stays clear */

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
bool trap_try(void (*fn)(void *), void *arg);
void trap_dispatch(const struct trap_frame *tf);

static struct idt_gate idt[NR_EXCEPTION_VECTORS] __aligned(8);

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

void trap_init(void)
{
	struct idt_desc desc = {.limit = sizeof(idt) - 1, .base = (uint32_t)idt};

	for (uint32_t v = 0; v < NR_EXCEPTION_VECTORS; v++) {
		uint32_t handler = (uint32_t)(trap_stubs + v * TRAP_STUB_SIZE);

		idt[v] = (struct idt_gate){
			.offset_lo = (uint16_t)handler,
			.selector = SEL_CODE,
			.type_attr = GATE_INTR32_DPL0,
			.offset_hi = (uint16_t)(handler >> 16),
		};
	}
	asm volatile("lidt %0" ::"m"(desc));
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
}

bool run_catching(void (*fn)(void *), void *arg, struct fault *f)
{
	*f = (struct fault){0};
	armed = f;
	trap_try(fn, arg);
	armed = NULL;
	return f->raised;
}
