/*
 * The exception machinery itself: every later check that expects a fault relies on it, and
 * under mhv it shows exceptions reach the guest intact (mhv intercepts #UD to emulate the
 * other vendor's hypercall instruction, so a genuine #UD must be reflected back).
 */
#include <stddef.h>

#include "tests/guest/cpu.h"
#include "tests/guest/report.h"
#include "tests/guest/tests.h"
#include "tests/guest/trap.h"

/* A selector past the end of our 3-entry GDT: loading it raises #GP(selector). */
#define BAD_SELECTOR 0x100

extern const char ud2_insn[];

static void do_nothing(void *arg)
{
	(void)arg;
}

static void do_ud2(void *arg)
{
	(void)arg;
	asm volatile(".globl ud2_insn\nud2_insn: ud2");
}

static void do_int3(void *arg)
{
	(void)arg;
	asm volatile("int3");
}

static void do_divide_by_zero(void *arg)
{
	uint32_t eax = 1, edx = 0, divisor = *(const uint32_t *)arg;

	asm volatile("divl %2" : "+a"(eax), "+d"(edx) : "r"(divisor));
}

static void do_load_bad_selector(void *arg)
{
	uint16_t sel = *(const uint16_t *)arg;

	asm volatile("mov %0, %%fs" ::"r"(sel));
}

void test_traps(void)
{
	struct fault f;
	const uint32_t zero = 0;
	const uint16_t bad_sel = BAD_SELECTOR;

	run_catching(do_nothing, NULL, &f);
	check_no_fault("trap: a function that does not fault reports none", &f);

	run_catching(do_ud2, NULL, &f);
	check_fault("trap: UD2 raises #UD", &f, VEC_UD);
	check_eq("trap: #UD reports the UD2 address", f.eip, (uint32_t)ud2_insn);

	run_catching(do_int3, NULL, &f);
	check_fault("trap: INT3 raises #BP", &f, VEC_BP);

	run_catching(do_divide_by_zero, (void *)&zero, &f);
	check_fault("trap: DIV by zero raises #DE", &f, VEC_DE);

	run_catching(do_load_bad_selector, (void *)&bad_sel, &f);
	check_fault("trap: loading a selector beyond the GDT raises #GP", &f, VEC_GP);
	check_eq("trap: #GP error code is the selector", f.errcode, BAD_SELECTOR);
}
