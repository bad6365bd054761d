/*
 * mhv runs the guest on one CPU and keeps the others out of its reach: INIT and STARTUP IPIs
 * the guest sends through the local APIC (xAPIC page or x2APIC ICR MSR) are dropped.  The
 * IPIs here target an APIC ID no CPU has, so even a CPU that delivered them would not start
 * anything; a fixed IPI to the guest's own CPU goes through.  Every other route to another
 * CPU is tried in test_contain_cpus.c.  With SMP (HC_VCPUS > 1) INIT and STARTUP are vCPU
 * transitions instead: one naming no vCPU does nothing and is not counted (test_smp.c).
 */
#include <stddef.h>

#include "core/hypercall_abi.h"
#include "tests/guest/cpu.h"
#include "tests/guest/hv.h"
#include "tests/guest/lapic.h"
#include "tests/guest/report.h"
#include "tests/guest/tests.h"

#define APIC_BASE_ENABLE    (1u << 11)
#define ICR_LEVEL_ASSERT    (1u << 14)
#define ICR_MODE_INIT	    (5u << 8)
#define ICR_MODE_STARTUP    (6u << 8)
#define ICR_MODE_FIXED	    (0u << 8)
#define NOBODY_APIC_ID	    0x0Fu /* no CPU of the test machines has it */
#define ICR_DEST_SHIFT	    24
#define STARTUP_VECTOR	    0x09 /* would start a CPU at 0x9000 */
#define FIXED_VECTOR	    0xEF

static void send_ipi(uintptr_t apic, uint32_t dest, uint32_t low)
{
	mmio_write32(apic + APIC_ICR_HIGH, dest << ICR_DEST_SHIFT);
	mmio_write32(apic + APIC_ICR_LOW, low);
}

void test_apic(void)
{
	uint64_t base = rdmsr(MSR_IA32_APIC_BASE);
	uintptr_t apic = (uintptr_t)(base & APIC_BASE_ADDR_MASK);
	uint32_t before, vcpus = hypercall(HC_VCPUS, 0, 0, 0, NULL);
	uint32_t per_drop = vcpus != (uint32_t)HC_ENOSYS && vcpus > 1 ? 0 : 1;

	if (!hv_present()) {
		gprintf("guest: apic: not under mhv, skipped\n");
		return;
	}
	if (!(base & APIC_BASE_ENABLE) || (base & APIC_BASE_X2APIC)) {
		gprintf("guest: apic: xAPIC not enabled (APIC_BASE 0x%llx), skipped\n",
			(unsigned long long)base);
		return;
	}
	before = hypercall(HC_IPIS_DROPPED, 0, 0, 0, NULL);
	send_ipi(apic, NOBODY_APIC_ID, ICR_MODE_INIT | ICR_LEVEL_ASSERT);
	check_eq(per_drop ? "apic: an INIT IPI is dropped by mhv"
			  : "apic: an INIT IPI to no vCPU does nothing (SMP, not counted)",
		 hypercall(HC_IPIS_DROPPED, 0, 0, 0, NULL) - before, per_drop);
	send_ipi(apic, NOBODY_APIC_ID, ICR_MODE_STARTUP | ICR_LEVEL_ASSERT | STARTUP_VECTOR);
	check_eq(per_drop ? "apic: a STARTUP IPI is dropped by mhv"
			  : "apic: a STARTUP IPI to no vCPU does nothing (SMP, not counted)",
		 hypercall(HC_IPIS_DROPPED, 0, 0, 0, NULL) - before, 2 * per_drop);
	/* With interrupts off it stays pending: nothing later enables them. */
	send_ipi(apic, mmio_read32(apic + APIC_ID_REG) >> ICR_DEST_SHIFT,
		 ICR_MODE_FIXED | ICR_LEVEL_ASSERT | FIXED_VECTOR);
	check_eq("apic: a fixed IPI to this CPU passes through (not counted as dropped)",
		 hypercall(HC_IPIS_DROPPED, 0, 0, 0, NULL) - before, 2 * per_drop);
	check_eq("apic: the APIC ID register reads through the trap like hardware",
		 mmio_read32(apic + APIC_ID_REG) >> ICR_DEST_SHIFT,
		 (uint32_t)(cpuid(1).ebx >> ICR_DEST_SHIFT));
}
