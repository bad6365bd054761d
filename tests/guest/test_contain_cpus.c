/*
 * Hostile guest: every interrupt-message route to another CPU.  mhv parks the CPUs it does
 * not give the guest; a guest that could send them an NMI, INIT, STARTUP, SMI or any other
 * IPI (through the xAPIC ICR, the x2APIC ICR MSR, or an MSI write into the 0xFEExxxxx window)
 * would run code or firmware on them outside mhv.  Each attack here must be dropped (mhv's
 * HC_IPIS_DROPPED counter moves by one), leave the guest running, and broadcasts that include
 * the guest's CPU must still reach it.  The target is the next APIC ID, which on the test
 * machines (two CPUs) is the parked CPU itself.
 */
#include <stddef.h>

#include "core/hypercall_abi.h"
#include "tests/guest/cpu.h"
#include "tests/guest/hv.h"
#include "tests/guest/lapic.h"
#include "tests/guest/report.h"
#include "tests/guest/tests.h"
#include "tests/guest/trap.h"

#define CPUID_1_ECX_X2APIC  (1u << 21)

#define APIC_LDR      0x0D0
#define APIC_SVR      0x0F0
#define SVR_ENABLE    (1u << 8)

#define ICR_FIXED	  (0u << 8)
#define ICR_LOWEST	  (1u << 8)
#define ICR_SMI		  (2u << 8)
#define ICR_NMI		  (4u << 8)
#define ICR_INIT	  (5u << 8)
#define ICR_STARTUP	  (6u << 8)
#define ICR_EXTINT	  (7u << 8)
#define ICR_LOGICAL	  (1u << 11)
#define ICR_ASSERT	  (1u << 14)
#define ICR_LEVEL	  (1u << 15)
#define ICR_SELF	  (1u << 18)
#define ICR_ALL_INCL_SELF (2u << 18)
#define ICR_ALL_EXCL_SELF (3u << 18)

#define TEST_VECTOR	0xEE /* a fixed vector; stays pending (interrupts are off) */
#define STARTUP_VECTOR	0x09 /* would start a CPU at 0x9000 */
#define LOGICAL_OTHER	0x02 /* flat logical ID bit of a CPU that is not this one */
#define X2APIC_CLUSTER1 (1u << 16)

#define MSR_X2APIC_SELF	 0x83F
#define MSI_WINDOW	 0xFEE00000u
#define MSI_DEST_SHIFT	 12
#define MSI_LAST_PAGE	 0xFEEFF000u
#define MSI_INIT	 0x500u
#define MSI_NMI		 0x400u
#define ALL_ONES	 0xFFFFFFFFu

static uintptr_t apic;
static uint32_t self_id;

static uint32_t dropped(void)
{
	return hypercall(HC_IPIS_DROPPED, 0, 0, 0, NULL);
}

static void xapic_send(uint32_t dest, uint32_t low)
{
	mmio_write32(apic + APIC_ICR_HIGH, dest << XAPIC_ID_SHIFT);
	mmio_write32(apic + APIC_ICR_LOW, low);
}

/*
 * SMP (mhv's HC_VCPUS > 1: every other CPU is a vCPU of this guest): fixed, lowest-priority
 * and NMI IPIs to other CPUs go out, INIT and STARTUP become vCPU transitions (counted only
 * for the part that names the sender itself), SMI and ExtINT are still dropped.  A STARTUP
 * to another vCPU would start it here on junk: test_smp.c sends the real ones.
 */
static bool smp;

#define SKIP_SMP (-1) /* not tried with SMP */

/* One xAPIC IPI: HC_IPIS_DROPPED must move by want (one CPU) or want_smp. */
static void xapic_attack(const char *what, uint32_t dest, uint32_t low, int want, int want_smp)
{
	uint32_t before = dropped();
	uint32_t w = (uint32_t)(smp ? want_smp : want);

	if (smp && want_smp == SKIP_SMP)
		return;
	xapic_send(dest, low);
	check(dropped() - before == w, what, "HC_IPIS_DROPPED moved by %u, not %u",
	      dropped() - before, w);
}

static void xapic_attacks(void)
{
	uint32_t other = self_id + 1;

	xapic_attack("cpus: NMI IPI to another CPU (physical destination) is dropped (SMP: sent)",
		     other, ICR_NMI, 1, 0);
	xapic_attack("cpus: NMI IPI to another CPU (logical destination) is dropped (SMP: sent)",
		     LOGICAL_OTHER, ICR_NMI | ICR_LOGICAL, 1, 0);
	xapic_attack("cpus: NMI IPI to all excluding self is dropped (SMP: sent)", 0,
		     ICR_NMI | ICR_ALL_EXCL_SELF, 1, 0);
	xapic_attack("cpus: INIT IPI to another CPU is dropped (SMP: a vCPU INIT)", other,
		     ICR_INIT | ICR_ASSERT | ICR_LEVEL, 1, 0);
	xapic_attack("cpus: INIT IPI to all excluding self is dropped (SMP: vCPU INITs)", 0,
		     ICR_INIT | ICR_ASSERT | ICR_LEVEL | ICR_ALL_EXCL_SELF, 1, 0);
	xapic_attack("cpus: INIT IPI to all including self is dropped (SMP: self part)", 0,
		     ICR_INIT | ICR_ASSERT | ICR_LEVEL | ICR_ALL_INCL_SELF, 1, 1);
	xapic_attack("cpus: INIT IPI by the self shorthand is dropped", 0,
		     ICR_INIT | ICR_ASSERT | ICR_LEVEL | ICR_SELF, 1, 1);
	xapic_attack("cpus: INIT IPI to the broadcast ID is dropped (SMP: self part)",
		     ALL_ONES >> XAPIC_ID_SHIFT, ICR_INIT | ICR_ASSERT | ICR_LEVEL, 1, 1);
	xapic_attack("cpus: STARTUP IPI to another CPU is dropped", other,
		     ICR_STARTUP | STARTUP_VECTOR, 1, SKIP_SMP);
	xapic_attack("cpus: STARTUP IPI to all excluding self is dropped", 0,
		     ICR_STARTUP | ICR_ALL_EXCL_SELF | STARTUP_VECTOR, 1, SKIP_SMP);
	xapic_attack("cpus: STARTUP IPI to all including self is dropped", 0,
		     ICR_STARTUP | ICR_ALL_INCL_SELF | STARTUP_VECTOR, 1, SKIP_SMP);
	xapic_attack("cpus: STARTUP IPI by the self shorthand is dropped", 0,
		     ICR_STARTUP | ICR_SELF | STARTUP_VECTOR, 1, 1);
	xapic_attack("cpus: SMI IPI to another CPU is dropped", other, ICR_SMI, 1, 1);
	xapic_attack("cpus: SMI IPI to all excluding self is dropped", 0, ICR_SMI | ICR_ALL_EXCL_SELF,
		     1, 1);
	xapic_attack("cpus: ExtINT IPI to another CPU is dropped", other, ICR_EXTINT, 1, 1);
	xapic_attack("cpus: lowest-priority IPI to another CPU is dropped (SMP: sent)", other,
		     ICR_LOWEST | TEST_VECTOR, 1, 0);
	xapic_attack("cpus: fixed IPI to another CPU is dropped (SMP: sent)", other,
		     ICR_FIXED | TEST_VECTOR, 1, 0);
	xapic_attack("cpus: fixed IPI to all excluding self is dropped (SMP: sent)", 0,
		     ICR_FIXED | ICR_ALL_EXCL_SELF | TEST_VECTOR, 1, 0);
}

/* A broadcast including self reaches this CPU only (counted: the others' copies dropped). */
static void xapic_broadcast_to_self(void)
{
	uint32_t svr = mmio_read32(apic + APIC_SVR);

	if (!(svr & SVR_ENABLE))
		mmio_write32(apic + APIC_SVR, svr | SVR_ENABLE); /* a disabled APIC drops it */
	xapic_attack("cpus: fixed IPI to all including self is cut down to self (SMP: sent)", 0,
		     ICR_FIXED | ICR_ALL_INCL_SELF | TEST_VECTOR, 1, 0);
	check_either(xapic_irr_has(apic, TEST_VECTOR),
		     "cpus: ... and this CPU received it (IRR bit set)",
		     "cpus: ... but this CPU never received it (IRR bit clear)");
}

/* Writes through the APIC page's reserved registers and the rest of the MSI window. */
static void msi_attacks(void)
{
	static const struct {
		const char *what;
		uintptr_t addr;
		uint32_t data;
	} msi[] = {
		{"cpus: MSI INIT through APIC page offset 0 is dropped", 0, MSI_INIT},
		{"cpus: MSI INIT to 0xFEE01000 (APIC ID 1) is dropped", 1u << MSI_DEST_SHIFT, MSI_INIT},
		{"cpus: MSI NMI to 0xFEE01000 (APIC ID 1) is dropped", 1u << MSI_DEST_SHIFT, MSI_NMI},
		{"cpus: MSI INIT to 0xFEEFF000 is dropped", MSI_LAST_PAGE - MSI_WINDOW, MSI_INIT},
		{"cpus: MSI NMI to 0xFEEFF000 is dropped", MSI_LAST_PAGE - MSI_WINDOW, MSI_NMI},
	};

	for (size_t i = 0; i < sizeof(msi) / sizeof(msi[0]); i++) {
		uint32_t before = dropped();

		mmio_write32(MSI_WINDOW + msi[i].addr, msi[i].data);
		check(dropped() - before == 1, msi[i].what, "HC_IPIS_DROPPED moved by %u, not 1",
		      dropped() - before);
	}
	check_eq("cpus: the MSI window outside the APIC page reads all ones",
		 mmio_read32(MSI_WINDOW + (1u << MSI_DEST_SHIFT)), ALL_ONES);
}

static void x2apic_attack(const char *what, uint64_t icr, uint32_t want_moved, int want_smp)
{
	uint32_t before = dropped();

	if (smp && want_smp == SKIP_SMP)
		return;
	if (smp)
		want_moved = (uint32_t)want_smp;
	wrmsr(MSR_X2APIC_ICR, icr);
	check(dropped() - before == want_moved, what, "HC_IPIS_DROPPED moved by %u, not %u",
	      dropped() - before, want_moved);
}

static void enable_x2apic(void *base)
{
	wrmsr(MSR_IA32_APIC_BASE, *(uint64_t *)base | APIC_BASE_X2APIC);
}

/*
 * The same through the x2APIC MSRs.  The APIC stays in x2APIC mode: the way back goes through
 * a globally disabled APIC, which Bochs (like P6-era CPUs) cannot re-enable without a reset.
 * Nothing after this test uses the APIC.
 */
static void x2apic_attacks(void)
{
	uint64_t base = rdmsr(MSR_IA32_APIC_BASE);
	uint64_t other;
	struct fault f;

	if (!(cpuid(1).ecx & CPUID_1_ECX_X2APIC)) {
		gprintf("guest: cpus: this CPU has no x2APIC: x2APIC IPI attacks skipped\n");
		return;
	}
	if (run_catching(enable_x2apic, &base, &f)) {
		gprintf("guest: cpus: enabling x2APIC mode faulted (%s): x2APIC IPI attacks "
			"skipped\n",
			trap_name(f.vector));
		return;
	}
	other = (uint64_t)((uint32_t)rdmsr(MSR_X2APIC_ID) + 1) << 32;
	x2apic_attack("cpus: x2APIC NMI IPI to another CPU is dropped (SMP: sent)",
		      other | ICR_NMI, 1, 0);
	x2apic_attack("cpus: x2APIC NMI IPI to another cluster (logical) is dropped (SMP: sent)",
		      ((uint64_t)(X2APIC_CLUSTER1 | 1) << 32) | ICR_NMI | ICR_LOGICAL, 1, 0);
	x2apic_attack("cpus: x2APIC INIT IPI to all excluding self is dropped (SMP: vCPU INITs)",
		      ICR_INIT | ICR_ASSERT | ICR_LEVEL | ICR_ALL_EXCL_SELF, 1, 0);
	x2apic_attack("cpus: x2APIC INIT IPI by the self shorthand is dropped",
		      ICR_INIT | ICR_ASSERT | ICR_LEVEL | ICR_SELF, 1, 1);
	x2apic_attack("cpus: x2APIC STARTUP IPI to another CPU is dropped",
		      other | ICR_STARTUP | STARTUP_VECTOR, 1, SKIP_SMP);
	x2apic_attack("cpus: x2APIC SMI IPI to all excluding self is dropped",
		      ICR_SMI | ICR_ALL_EXCL_SELF, 1, 1);
	x2apic_attack("cpus: x2APIC fixed IPI to another CPU is dropped (SMP: sent)",
		      other | ICR_FIXED | TEST_VECTOR, 1, 0);
	x2apic_attack("cpus: x2APIC fixed IPI to this CPU passes (not counted)",
		      ((uint64_t)(uint32_t)rdmsr(MSR_X2APIC_ID) << 32) | ICR_FIXED | TEST_VECTOR, 0,
		      0);
	{
		uint32_t before = dropped();

		wrmsr(MSR_X2APIC_SELF, TEST_VECTOR);
		check_eq("cpus: x2APIC SELF IPI passes (not counted)", dropped() - before, 0);
	}
	check_eq("cpus: the x2APIC ID is still this CPU's after every attack",
		 (uint32_t)rdmsr(MSR_X2APIC_ID), self_id);
}

/* With this CPU's ID on a parked CPU, "self" IPIs would reach that one as well. */
static void id_write_attack(void)
{
	uint32_t before = dropped();

	mmio_write32(apic + APIC_ID_REG, (self_id + 1) << XAPIC_ID_SHIFT);
	check(dropped() - before == 1, "cpus: writing the APIC ID register is dropped",
	      "HC_IPIS_DROPPED moved by %u, not 1", dropped() - before);
}

void test_contain_cpus(void)
{
	uint64_t base = rdmsr(MSR_IA32_APIC_BASE);

	apic = (uintptr_t)(base & APIC_BASE_ADDR_MASK);
	if (!(base & APIC_BASE_EN) || (base & APIC_BASE_X2APIC)) {
		gprintf("guest: cpus: xAPIC not enabled (APIC_BASE 0x%llx), skipped\n",
			(unsigned long long)base);
		return;
	}
	self_id = mmio_read32(apic + APIC_ID_REG) >> XAPIC_ID_SHIFT;
	smp = hypercall(HC_VCPUS, 0, 0, 0, NULL) != (uint32_t)HC_ENOSYS &&
	      hypercall(HC_VCPUS, 0, 0, 0, NULL) > 1;
	id_write_attack();
	xapic_attacks();
	xapic_broadcast_to_self();
	msi_attacks();
	check_eq("cpus: the APIC ID is still this CPU's after every attack",
		 mmio_read32(apic + APIC_ID_REG) >> XAPIC_ID_SHIFT, self_id);
	x2apic_attacks(); /* last: leaves the APIC in x2APIC mode */
}
