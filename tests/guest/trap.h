/*
 * Exceptions in the guest test kernel.  A test that expects an instruction to fault runs it
 * through run_catching(): the exception is recorded and execution resumes after the call, so
 * the test can compare the vector and error code with what it expected.  An exception
 * nobody expected is reported as a failed check and ends the run.
 */
#ifndef MHV_TESTS_GUEST_TRAP_H
#define MHV_TESTS_GUEST_TRAP_H

/* trap_entry.S lays its per-vector stubs out this far apart, starting at trap_stubs. */
#define TRAP_STUB_SIZE 16

#ifndef __ASSEMBLY__
#include <stdbool.h>
#include <stdint.h>

struct fault {
	bool raised;
	uint32_t vector;
	uint32_t errcode; /* 0 for vectors that push none */
	uint32_t eip;	  /* the faulting instruction */
	uint32_t cr2;	  /* #PF only */
	uint32_t ecx, esi, edi; /* at the fault: a string instruction's progress */
};

/*
 * The 8259 master PIC's IRQ0 (the PIT timer) once test_irq.c has remapped the PICs to the
 * first vectors past the exceptions.
 */
#define VEC_IRQ0 0x20

/* Install the IDT: exceptions (vectors 0-31) and VEC_IRQ0. */
void trap_init(void);

/*
 * Handler for VEC_IRQ0, called with interrupts off; it must send the PIC its EOI.  With none
 * (NULL, the default), a timer interrupt is reported as a failed check and ends the run.
 */
void trap_set_irq0_handler(void (*fn)(void));

/* Run fn(arg); returns true if it raised an exception, described in *f (always written). */
bool run_catching(void (*fn)(void *), void *arg, struct fault *f);

/* RDMSR / WRMSR that may fault: true if it did not, else the exception in *f. */
bool try_rdmsr(uint32_t msr, uint64_t *val, struct fault *f);
bool try_wrmsr(uint32_t msr, uint64_t val, struct fault *f);
/* Name of an exception vector ("#GP"), or "?" */
const char *trap_name(uint32_t vector);
#endif

#endif
