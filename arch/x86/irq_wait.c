/* Waiting in mhv for the guest's next interrupt: see irq_wait.h. */
#include "arch/x86/irq_wait.h"
#include "arch/x86/exception.h"
#include "arch/x86/percpu.h"

#define NO_VECTOR (-1)

/* The vector each CPU took during its wait (NO_VECTOR: none yet). */
static volatile int irq_vector[HV_MAX_CPUS];

/* irq_entry.S: STI; HLT (the STI shadow covers the HLT, so no interrupt slips in between); CLI. */
void irq_wait_hlt(void);

void irq_note_vector(uint64_t vector)
{
	irq_vector[hv_cpu_index()] = (int)vector;
}

int irq_wait_for_interrupt(void)
{
	unsigned cpu = hv_cpu_index();

	irq_vector[cpu] = NO_VECTOR;
	for (;;) {
		int vector;

		/* An NMI after this check but before the HLT halts skips the HLT (exception.c). */
		if (nmi_pending[cpu])
			return IRQ_WAIT_NMI;
		irq_wait_hlt();
		vector = irq_vector[cpu];
		if (vector != NO_VECTOR)
			return vector;
	}
}
