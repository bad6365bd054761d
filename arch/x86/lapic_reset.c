/*
 * The local APIC after INIT (SDM Vol. 3, "Local APIC State After an INIT Reset"): as after
 * power-up except the APIC ID: TPR, timer initial count and divide configuration 0, every LVT
 * entry masked (0x10000), LDR 0, DFR all ones, ESR clear, SVR 0xFF (software-disabled,
 * spurious vector 0xFF), IRR and ISR empty.  IA32_APIC_BASE (and with it the xAPIC/x2APIC
 * mode) is not changed by INIT.
 *
 * How far software gets there:
 * - ISR: emptied with EOIs (one per vector in service).  A level-triggered vector's EOI also
 *   reaches the IOAPIC, which clears its Remote IRR: a line still asserted fires again, where
 *   after a real INIT it would stay blocked until the guest's next EOI; both are states a
 *   kernel that restarts a CPU copes with.
 * - IRR: software cannot clear it; a software-disabled APIC holds what is pending (as the
 *   SDM says for that state).
 * - ICR is left alone (writing it sends an IPI); AMD's extended LVT entries (0x500-) too.
 * - LVT entries beyond the Max LVT Entry of the version register do not exist and are not
 *   written (an x2APIC MSR that does not exist would #GP).
 */
#include "arch/x86/lapic_reset.h"
#include "arch/x86/cpuid_msr.h"
#include "arch/x86/paging.h"

#define MSR_IA32_APIC_BASE  0x0000001B
#define MSR_X2APIC_BASE	    0x00000800 /* x2APIC MSR = 0x800 + xAPIC offset / 16 */
#define APIC_BASE_X2APIC    (1ull << 10)
#define APIC_BASE_ENABLE    (1ull << 11)
#define APIC_BASE_ADDR_MASK 0x000FFFFFFFFFF000ull
#define APIC_REG_SPAN	    16

#define APIC_VERSION	  0x030
#define APIC_TPR	  0x080
#define APIC_EOI	  0x0B0
#define APIC_LDR	  0x0D0
#define APIC_DFR	  0x0E0
#define APIC_SVR	  0x0F0
#define APIC_ISR_BASE	  0x100
#define APIC_ESR	  0x280
#define APIC_LVT_CMCI	  0x2F0
#define APIC_LVT_TIMER	  0x320
#define APIC_LVT_THERMAL  0x330
#define APIC_LVT_PMC	  0x340
#define APIC_LVT_LINT0	  0x350
#define APIC_LVT_LINT1	  0x360
#define APIC_LVT_ERROR	  0x370
#define APIC_TIMER_INIT	  0x380
#define APIC_TIMER_DIVIDE 0x3E0

#define VERSION_MAX_LVT_SHIFT 16
#define VERSION_MAX_LVT_MASK  0xFFu
#define MAX_LVT_PMC	      4 /* Max LVT Entry from which the entry exists */
#define MAX_LVT_THERMAL	      5
#define MAX_LVT_CMCI	      6
#define LVT_RESET	      0x00010000u /* masked, everything else 0 */
#define SVR_RESET	      0x000000FFu /* software-disabled, spurious vector 0xFF */
#define DFR_RESET	      0xFFFFFFFFu
#define ISR_REGS	      8
#define VECTORS		      256

struct lapic {
	bool x2apic;
	uint64_t pa; /* xAPIC page */
};

static uint32_t reg_read(const struct lapic *a, unsigned offset)
{
	uint32_t v = 0;

	if (a->x2apic)
		return (uint32_t)rdmsr(MSR_X2APIC_BASE + offset / APIC_REG_SPAN);
	hv_device_read(a->pa + offset, &v, sizeof(v));
	return v;
}

static void reg_write(const struct lapic *a, unsigned offset, uint32_t v)
{
	if (a->x2apic)
		wrmsr(MSR_X2APIC_BASE + offset / APIC_REG_SPAN, v);
	else
		hv_device_write(a->pa + offset, &v, sizeof(v));
}

static bool isr_empty(const struct lapic *a)
{
	for (unsigned i = 0; i < ISR_REGS; i++)
		if (reg_read(a, APIC_ISR_BASE + i * APIC_REG_SPAN))
			return false;
	return true;
}

void lapic_init_reset(void)
{
	uint64_t base = rdmsr(MSR_IA32_APIC_BASE);
	struct lapic a = {.x2apic = base & APIC_BASE_X2APIC, .pa = base & APIC_BASE_ADDR_MASK};
	unsigned max_lvt;

	if (!(base & APIC_BASE_ENABLE))
		return; /* globally disabled: its registers are not there (and re-enabling resets) */
	max_lvt = (reg_read(&a, APIC_VERSION) >> VERSION_MAX_LVT_SHIFT) & VERSION_MAX_LVT_MASK;
	reg_write(&a, APIC_LVT_TIMER, LVT_RESET);
	reg_write(&a, APIC_TIMER_INIT, 0); /* stops the timer */
	reg_write(&a, APIC_TIMER_DIVIDE, 0);
	reg_write(&a, APIC_LVT_LINT0, LVT_RESET);
	reg_write(&a, APIC_LVT_LINT1, LVT_RESET);
	reg_write(&a, APIC_LVT_ERROR, LVT_RESET);
	if (max_lvt >= MAX_LVT_PMC)
		reg_write(&a, APIC_LVT_PMC, LVT_RESET);
	if (max_lvt >= MAX_LVT_THERMAL)
		reg_write(&a, APIC_LVT_THERMAL, LVT_RESET);
	if (max_lvt >= MAX_LVT_CMCI)
		reg_write(&a, APIC_LVT_CMCI, LVT_RESET);
	reg_write(&a, APIC_TPR, 0);
	if (!a.x2apic) { /* x2APIC: LDR is read-only (from the ID), DFR does not exist */
		reg_write(&a, APIC_LDR, 0);
		reg_write(&a, APIC_DFR, DFR_RESET);
	}
	for (unsigned n = 0; n < VECTORS && !isr_empty(&a); n++)
		reg_write(&a, APIC_EOI, 0);
	reg_write(&a, APIC_ESR, 0); /* a write latches the errors, the second clears them */
	reg_write(&a, APIC_ESR, 0);
	reg_write(&a, APIC_SVR, SVR_RESET);
}
