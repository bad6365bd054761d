/*
 * Every CPU under mhv: the guest starts its APs itself, as an SMP kernel does (INIT, INIT
 * de-assert, STARTUP twice, into its own real-mode trampoline below 1 MiB: smp_trampoline.S),
 * and checks from each AP that it runs under mhv (CPUID hypervisor leaf, a hypercall answered
 * with that vCPU's own counters), that the MMIO path works on all of them at once (each AP
 * writes and reads back its own slice of an mmio=ram region while the others do the same),
 * that IPIs go between vCPUs both ways, that a remap on the boot CPU followed by its own
 * shootdown (an IPI, on which each AP runs INVLPG) reaches every AP's MMIO translation cache,
 * and that a second INIT-SIPI-SIPI restarts an AP that is running (CPU hot-unplug/online).
 * Every AP, the restarted one included, must start as INIT leaves a CPU: its local APIC
 * software-disabled with its LVT entries masked, TPR, LDR and the timer 0, CR3 and CR4 0; the
 * AP that is restarted first dirties all of that.
 * With one vCPU (HC_VCPUS 1) it is skipped.
 */
#include <stddef.h>

#include "core/hypercall_abi.h"
#include "lib/string.h"
#include "tests/guest/cpu.h"
#include "tests/guest/hv.h"
#include "tests/guest/lapic.h"
#include "tests/guest/paging32.h"
#include "tests/guest/report.h"
#include "tests/guest/tests.h"

#define APIC_BASE_ENABLE    (1u << 11)
#define APIC_EOI	    0x0B0
#define APIC_TPR	    0x080
#define APIC_LDR	    0x0D0
#define APIC_DFR	    0x0E0
#define APIC_SVR	    0x0F0
#define APIC_LVT_TIMER	    0x320
#define APIC_LVT_LINT0	    0x350
#define APIC_LVT_LINT1	    0x360
#define APIC_LVT_ERROR	    0x370
#define APIC_TIMER_INIT	    0x380
#define LVT_MASKED	    (1u << 16)
#define SVR_AFTER_INIT	    0xFFu /* software-disabled, spurious vector 0xFF */
#define DFR_AFTER_INIT	    0xFFFFFFFFu
#define SVR_ENABLE	    (1u << 8)
#define MSR_X2APIC_SVR	    0x80F

#define ICR_FIXED	  (0u << 8)
#define ICR_INIT	  (5u << 8)
#define ICR_STARTUP	  (6u << 8)
#define ICR_ASSERT	  (1u << 14)
#define ICR_LEVEL	  (1u << 15)
#define ICR_ALL_EXCL_SELF (3u << 18)

#define TRAMPOLINE_PA	0x8000u /* a free page below 1 MiB in the guest's RAM */
#define PAGE_SHIFT	12
#define AP_MAX		15
#define TO_AP_VECTOR	0xE4 /* fixed IPIs: stay pending in IRR, interrupts are off */
#define TO_BSP_VECTOR	0xE5
#define WAIT_LOOPS	200000000u
#define MMIO_ROUNDS	64
#define MMIO_SLICE	256 /* bytes of the region each AP owns */
#define MMIO_WORDS	(MMIO_SLICE / 4)
#define CPUID_HV_LEAF	0x40000000u
#define ANSWER_OK	1
#define ANSWER_BAD	2

/* The shootdown test: the APs run on their own 32-bit page tables with a 4 KiB window. */
#define WINDOW_PDE	(ENTRIES - 1)
#define WINDOW_VA	((uintptr_t)WINDOW_PDE << LARGE_SHIFT)
#define SHOOT_VECTOR	0xE6
/* What the first AP leaves in its APIC before it is restarted (no interrupt can come of it:
 * the timer's count is 0 and interrupts are off). */
#define DIRTY_TPR	0x10
#define DIRTY_TIMER	0xE7
#define DIRTY_ERROR	0xE8
#define DIRTY_LDR	(1u << XAPIC_ID_SHIFT)
#define DEVICE_VECTOR	0xEB /* a device's MSI aimed at an AP (test_contain_msi.c) */
#define MARK_A		0xA5A5000Au
#define MARK_B		0x5A5A000Bu
#define PAGE_A		2 /* pages of the mmio=ram region (page 0 holds the AP slices) */
#define PAGE_B		3
#define LOCK_PAGE	1 /* test_mmio_lock.c's words */
#define REGION_MIN	((PAGE_B + 1) * PAGE_SIZE)
#define CACHE_FILL_READS 8

extern const char smp_tramp_start[], smp_tramp_end[];
extern volatile uint32_t smp_ap_next;
void smp_ap_main(uint32_t index);

static uintptr_t apic;
static uint32_t bsp_id;
static bool bsp_x2apic; /* test_contain_cpus.c may leave the boot CPU's APIC in x2APIC mode */
static uintptr_t mmio_base; /* an mmio=ram region, or 0 */

/* Written by the APs, read by the boot CPU. */
static volatile uint32_t ap_id[AP_MAX];
static volatile uint32_t ap_hv[AP_MAX], ap_hc[AP_MAX], ap_mmio[AP_MAX], ap_ipi[AP_MAX];
static volatile uint32_t aps_done;
static volatile uint32_t ap_reset_bad[AP_MAX], ap_reset_svr[AP_MAX], ap_dirty;
static volatile uint32_t dev_watch, ap_dev[AP_MAX];
static volatile uint32_t shoot_go, shoot_ready, shoot_done;
static volatile uint32_t ap_saw_a[AP_MAX], ap_saw_b[AP_MAX], ap_flushed[AP_MAX];
static uint32_t shoot_pd[ENTRIES] __attribute__((aligned(PAGE_SIZE)));
static volatile uint32_t shoot_pt[ENTRIES] __attribute__((aligned(PAGE_SIZE)));

/* The APs' APICs are in xAPIC mode (as INIT leaves them). */
static void send_ipi(uint32_t dest, uint32_t low)
{
	mmio_write32(apic + APIC_ICR_HIGH, dest << XAPIC_ID_SHIFT);
	mmio_write32(apic + APIC_ICR_LOW, low);
}

/* The boot CPU's, in either mode. */
static void bsp_send_ipi(uint32_t dest, uint32_t low)
{
	if (bsp_x2apic)
		wrmsr(MSR_X2APIC_ICR, (uint64_t)dest << 32 | low);
	else
		send_ipi(dest, low);
}

static bool bsp_irr_has(uint32_t vector)
{
	if (bsp_x2apic)
		return x2apic_irr_has(vector);
	return xapic_irr_has(apic, vector);
}

static bool wait_until(const volatile uint32_t *p, uint32_t at_least)
{
	return wait_at_least(p, at_least, WAIT_LOOPS);
}

static uint32_t mmio_pattern(uint32_t index, uint32_t round, uint32_t word)
{
	return 0x5a000000u ^ (index << 20) ^ (round << 8) ^ word;
}

/* This AP's slice of the region, written and read back MMIO_ROUNDS times. */
static uint32_t ap_mmio_test(uint32_t index)
{
	uintptr_t slice = mmio_base + (index + 1) * MMIO_SLICE;
	uint32_t bad = 0;

	for (uint32_t round = 0; round < MMIO_ROUNDS; round++) {
		for (uint32_t w = 0; w < MMIO_WORDS; w++)
			mmio_write32(slice + w * 4, mmio_pattern(index, round, w));
		for (uint32_t w = 0; w < MMIO_WORDS; w++)
			bad += mmio_read32(slice + w * 4) != mmio_pattern(index, round, w);
	}
	return bad ? ANSWER_BAD : ANSWER_OK;
}

/*
 * The AP's half of the shootdown: read the window (filling its MMIO cache with page A), wait
 * for the boot CPU's IPI that follows its remap to page B, INVLPG, and read again: the
 * translation must be page B's, and this vCPU's INVLPG counter must have moved.
 */
static void ap_shootdown(uint32_t index)
{
	uint32_t val = 0, before;

	write_cr4(read_cr4() | CR4_PSE);
	write_cr3((uint32_t)shoot_pd);
	write_cr0(read_cr0() | CR0_PG);
	for (uint32_t i = 0; i < CACHE_FILL_READS; i++)
		val = mmio_read32(WINDOW_VA);
	ap_saw_a[index] = val == MARK_A ? ANSWER_OK : ANSWER_BAD;
	__atomic_add_fetch(&shoot_ready, 1, __ATOMIC_SEQ_CST);
	for (uint32_t i = 0; i < WAIT_LOOPS && !xapic_irr_has(apic, SHOOT_VECTOR); i++)
		asm volatile("pause");
	before = hypercall(HC_FLUSH_COUNT, FLUSH_CAUSE_INVLPG, 0, 0, NULL);
	invlpg(WINDOW_VA);
	val = mmio_read32(WINDOW_VA);
	ap_saw_b[index] = val == MARK_B ? ANSWER_OK : ANSWER_BAD;
	/* With the cache off mhv has nothing to flush and need not see the INVLPG. */
	uint32_t counted = hypercall(HC_FLUSH_COUNT, FLUSH_CAUSE_INVLPG, 0, 0, NULL) - before;
	bool cache_on = hypercall(HC_MMIO_COUNTER, MMIO_COUNTER_CACHE_ON, 0, 0, NULL) == 1;
	ap_flushed[index] = counted == 1 || (!cache_on && counted == 0) ? ANSWER_OK : ANSWER_BAD;
	write_cr0(read_cr0() & ~CR0_PG);
	__atomic_add_fetch(&shoot_done, 1, __ATOMIC_SEQ_CST);
}

/* Which parts of the INIT state this AP did not find (0: all of them), in bits. */
static uint32_t init_state_misses(void)
{
	uint32_t bad = 0;

	bad |= (mmio_read32(apic + APIC_SVR) != SVR_AFTER_INIT) << 0;
	bad |= (mmio_read32(apic + APIC_TPR) != 0) << 1;
	bad |= (mmio_read32(apic + APIC_LVT_TIMER) != LVT_MASKED) << 2;
	bad |= (mmio_read32(apic + APIC_LVT_ERROR) != LVT_MASKED) << 3;
	bad |= !(mmio_read32(apic + APIC_LVT_LINT0) & LVT_MASKED) << 4;
	bad |= !(mmio_read32(apic + APIC_LVT_LINT1) & LVT_MASKED) << 5;
	bad |= (mmio_read32(apic + APIC_TIMER_INIT) != 0) << 6;
	bad |= (mmio_read32(apic + APIC_LDR) != 0) << 7;
	bad |= (mmio_read32(apic + APIC_DFR) != DFR_AFTER_INIT) << 8;
	bad |= (read_cr3() != 0) << 9;
	bad |= (read_cr4() != 0) << 10;
	return bad;
}

/* The first AP leaves its APIC and control registers far from INIT's state. */
static void dirty_this_cpu(void)
{
	mmio_write32(apic + APIC_TPR, DIRTY_TPR);
	mmio_write32(apic + APIC_LVT_TIMER, DIRTY_TIMER);
	mmio_write32(apic + APIC_LVT_ERROR, DIRTY_ERROR);
	mmio_write32(apic + APIC_LDR, DIRTY_LDR);
	write_cr4(read_cr4() | CR4_PSE);
	__atomic_store_n(&ap_dirty, 1, __ATOMIC_SEQ_CST);
}

void smp_ap_main(uint32_t index)
{
	struct cpuid_regs r = cpuid(CPUID_HV_LEAF);
	bool mhv = r.ebx == MHV_SIGNATURE_EBX && r.ecx == MHV_SIGNATURE_ECX &&
		   r.edx == MHV_SIGNATURE_EDX;

	ap_reset_svr[index] = mmio_read32(apic + APIC_SVR);
	ap_reset_bad[index] = init_state_misses();
	ap_id[index] = cpuid(1).ebx >> XAPIC_ID_SHIFT;
	ap_hv[index] = mhv ? ANSWER_OK : ANSWER_BAD;
	/* The counters are this vCPU's: it ran CPUID twice, the boot CPU many more times. */
	ap_hc[index] = hypercall(HC_EXIT_COUNT, EXIT_KIND_CPUID, 0, 0, NULL) == 2 ? ANSWER_OK
										   : ANSWER_BAD;
	if (mmio_base)
		ap_mmio[index] = ap_mmio_test(index);
	__atomic_add_fetch(&aps_done, 1, __ATOMIC_SEQ_CST);
	mmio_lock_ap(index); /* until the boot CPU's test_mmio_lock() is over */
	/* A software-disabled APIC (as INIT leaves it) accepts no fixed interrupts. */
	mmio_write32(apic + APIC_SVR, mmio_read32(apic + APIC_SVR) | SVR_ENABLE);
	for (uint32_t i = 0; i < WAIT_LOOPS && !xapic_irr_has(apic, TO_AP_VECTOR); i++)
		asm volatile("pause");
	ap_ipi[index] = xapic_irr_has(apic, TO_AP_VECTOR) ? ANSWER_OK : ANSWER_BAD;
	send_ipi(bsp_id, ICR_FIXED | TO_BSP_VECTOR);
	while (!shoot_go)
		asm volatile("pause");
	if (mmio_base)
		ap_shootdown(index);
	if (index == 0)
		dirty_this_cpu(); /* the AP restart_ap() restarts */
	for (;;) { /* until the run ends or the boot CPU restarts this AP */
		if (dev_watch && !ap_dev[index] && xapic_irr_has(apic, DEVICE_VECTOR))
			ap_dev[index] = ANSWER_OK;
		asm volatile("pause");
	}
}

/* A device's MSI the guest aimed at an AP arrives there (interrupt remapping keeps the
 * guest's destination), not on the boot CPU. */
static void device_msi_to_ap(void)
{
	bool sent;

	if (!contain_msi_send_to(CONTAIN_MSI_ASK_ONLY, 0)) {
		gprintf("guest: smp: no edu device or no interrupt remapping: device MSI to an AP "
			"not checked\n");
		return;
	}
	dev_watch = 1; /* the AP polls its IRR (MMIO exits) only meanwhile */
	sent = contain_msi_send_to(ap_id[0], DEVICE_VECTOR);
	check(sent && wait_until(&ap_dev[0], ANSWER_OK) && !bsp_irr_has(DEVICE_VECTOR),
	      "smp: a device's MSI aimed at an AP arrives there",
	      "AP 0 answered %u, boot CPU pending %d", ap_dev[0], bsp_irr_has(DEVICE_VECTOR));
	dev_watch = 0;
}


static void start_aps(uint32_t dest, uint32_t shorthand)
{
	uint32_t sipi = ICR_STARTUP | (TRAMPOLINE_PA >> PAGE_SHIFT);

	bsp_send_ipi(dest, ICR_INIT | ICR_ASSERT | ICR_LEVEL | shorthand);
	bsp_send_ipi(dest, ICR_INIT | ICR_LEVEL | shorthand); /* de-assert, as firmware does */
	bsp_send_ipi(dest, sipi | shorthand);
	bsp_send_ipi(dest, sipi | shorthand); /* the second SIPI finds the AP running: ignored */
}

static void check_aps(uint32_t aps)
{
	for (uint32_t i = 0; i < aps; i++) {
		gprintf("guest: smp: AP %u: APIC ID %u\n", i, ap_id[i]);
		check(ap_hv[i] == ANSWER_OK, "smp: AP runs under mhv (CPUID 0x40000000 on the AP)",
		      "AP %u answered %u", i, ap_hv[i]);
		check(ap_hc[i] == ANSWER_OK, "smp: AP's hypercall counts its own vCPU's exits",
		      "AP %u answered %u", i, ap_hc[i]);
		check(ap_reset_bad[i] == 0,
		      "smp: AP starts with its local APIC and CR3/CR4 as INIT leaves them",
		      "AP %u: misses 0x%x (SVR 0x%x)", i, ap_reset_bad[i], ap_reset_svr[i]);
		if (mmio_base)
			check(ap_mmio[i] == ANSWER_OK,
			      "smp: AP's MMIO reads and writes, concurrent with the others, are right",
			      "AP %u answered %u", i, ap_mmio[i]);
	}
}

static void ipis_between_vcpus(uint32_t aps)
{
	uint32_t dropped = hypercall(HC_IPIS_DROPPED, 0, 0, 0, NULL);

	for (uint32_t i = 0; i < aps; i++) {
		bsp_send_ipi(ap_id[i], ICR_FIXED | TO_AP_VECTOR);
		for (uint32_t n = 0; n < WAIT_LOOPS && !ap_ipi[i]; n++)
			asm volatile("pause");
		check(ap_ipi[i] == ANSWER_OK, "smp: a fixed IPI from the boot CPU reaches the AP",
		      "AP %u answered %u", i, ap_ipi[i]);
	}
	for (uint32_t n = 0; n < WAIT_LOOPS && !bsp_irr_has(TO_BSP_VECTOR); n++)
		asm volatile("pause");
	check_either(bsp_irr_has(TO_BSP_VECTOR), "smp: a fixed IPI from an AP reaches the boot CPU",
		     "smp: no fixed IPI from the APs reached the boot CPU");
	check_eq("smp: IPIs between vCPUs are not counted as dropped",
		 hypercall(HC_IPIS_DROPPED, 0, 0, 0, NULL) - dropped, 0);
}

/*
 * CPU 0 remaps the window from page A to page B of the region and shoots the APs down with
 * its own IPIs: each AP's INVLPG must reach its MMIO cache (mhv flushes per vCPU only).
 */
static void shootdown(uint32_t aps)
{
	uintptr_t page_a = mmio_base + PAGE_A * PAGE_SIZE, page_b = mmio_base + PAGE_B * PAGE_SIZE;

	for (uint32_t i = 0; i < ENTRIES; i++)
		shoot_pd[i] = (i << LARGE_SHIFT) | PDE_PS | PTE_RW | PTE_P;
	shoot_pd[WINDOW_PDE] = (uint32_t)shoot_pt | PTE_RW | PTE_P;
	mmio_write32(page_a, MARK_A);
	mmio_write32(page_b, MARK_B);
	shoot_pt[0] = (uint32_t)page_a | PTE_RW | PTE_P;
	shoot_go = 1;
	if (!wait_until(&shoot_ready, aps)) {
		check(false, "smp: every AP mapped the window", "%u of %u", shoot_ready, aps);
		return;
	}
	shoot_pt[0] = (uint32_t)page_b | PTE_RW | PTE_P; /* the remap */
	for (uint32_t i = 0; i < aps; i++)
		bsp_send_ipi(ap_id[i], ICR_FIXED | SHOOT_VECTOR); /* the shootdown */
	check(wait_until(&shoot_done, aps), "smp: every AP finished the shootdown",
	      "%u of %u", shoot_done, aps);
	for (uint32_t i = 0; i < aps; i++) {
		check(ap_saw_a[i] == ANSWER_OK, "smp: AP reads MMIO through its page tables",
		      "AP %u answered %u", i, ap_saw_a[i]);
		check(ap_saw_b[i] == ANSWER_OK,
		      "smp: after CPU 0's remap and shootdown the AP's MMIO cache has the new page",
		      "AP %u answered %u", i, ap_saw_b[i]);
		check(ap_flushed[i] == ANSWER_OK,
		      "smp: the AP's INVLPG is counted on its own vCPU (if the cache is on)",
		      "AP %u answered %u", i, ap_flushed[i]);
	}
}

/* INIT a running AP and start it again: it comes back through the trampoline (next index). */
static void restart_ap(uint32_t aps)
{
	uint32_t done = aps_done;
	bool back;

	if (aps >= AP_MAX)
		return;
	shoot_go = 1; /* without an MMIO region the shootdown did not release the APs */
	if (!wait_until(&ap_dirty, 1)) {
		check(false, "smp: the first AP dirtied its APIC before its restart", "it did not");
		return;
	}
	start_aps(ap_id[0], 0);
	back = wait_until(&aps_done, done + 1);
	check(back && ap_id[aps] == ap_id[0] && ap_hv[aps] == ANSWER_OK,
	      "smp: INIT-SIPI-SIPI to a running AP restarts it under mhv",
	      "back %d, APIC ID %u (want %u), CPUID answer %u", back, ap_id[aps], ap_id[0],
	      ap_hv[aps]);
	check(back && ap_reset_bad[aps] == 0,
	      "smp: a re-INITed AP comes back with its local APIC and CR3/CR4 reset (it left its "
	      "timer and error LVTs unmasked, TPR, LDR and CR4.PSE set)",
	      "back %d, misses 0x%x (SVR 0x%x)", back, ap_reset_bad[aps], ap_reset_svr[aps]);
}

void test_smp(void)
{
	uint32_t vcpus = hypercall(HC_VCPUS, 0, 0, 0, NULL);
	uint64_t base = rdmsr(MSR_IA32_APIC_BASE);
	uint32_t aps, dropped, svr;

	if (vcpus == (uint32_t)HC_ENOSYS || vcpus <= 1) {
		gprintf("guest: smp: mhv gives this guest one vCPU (HC_VCPUS %u): skipped\n", vcpus);
		return;
	}
	if (!(base & APIC_BASE_ENABLE)) {
		gprintf("guest: smp: the local APIC is disabled (APIC_BASE 0x%llx): skipped\n",
			(unsigned long long)base);
		return;
	}
	aps = vcpus - 1 < AP_MAX ? vcpus - 1 : AP_MAX;
	apic = (uintptr_t)(base & APIC_BASE_ADDR_MASK);
	bsp_x2apic = base & APIC_BASE_X2APIC;
	if (bsp_x2apic) {
		bsp_id = (uint32_t)rdmsr(MSR_X2APIC_ID);
		svr = (uint32_t)rdmsr(MSR_X2APIC_SVR);
		if (!(svr & SVR_ENABLE))
			wrmsr(MSR_X2APIC_SVR, svr | SVR_ENABLE);
	} else {
		bsp_id = mmio_read32(apic + APIC_ID_REG) >> XAPIC_ID_SHIFT;
		svr = mmio_read32(apic + APIC_SVR);
		if (!(svr & SVR_ENABLE))
			mmio_write32(apic + APIC_SVR, svr | SVR_ENABLE);
	}
	mmio_base = hv_ram_region(REGION_MIN);
	gprintf("guest: smp: %u vCPUs; starting %u AP(s) at 0x%x (boot CPU in %s mode), MMIO "
		"slices at 0x%x\n",
		vcpus, aps, TRAMPOLINE_PA, bsp_x2apic ? "x2APIC" : "xAPIC", (uint32_t)mmio_base);
	/* Two symbols of one blob: compared as addresses (they are distinct C objects). */
	memcpy((void *)TRAMPOLINE_PA, smp_tramp_start,
	       (size_t)((uintptr_t)smp_tramp_end - (uintptr_t)smp_tramp_start));

	dropped = hypercall(HC_IPIS_DROPPED, 0, 0, 0, NULL);
	start_aps(0, ICR_ALL_EXCL_SELF);
	check(wait_until(&aps_done, aps), "smp: every AP started by INIT-SIPI-SIPI reported in",
	      "%u of %u reported in", aps_done, aps);
	check_eq("smp: INIT, INIT de-assert and STARTUP are not counted as dropped",
		 hypercall(HC_IPIS_DROPPED, 0, 0, 0, NULL) - dropped, 0);
	check_eq("smp: each AP ran the trampoline once (the second SIPI was ignored)",
		 smp_ap_next, aps);
	check_aps(aps);
	test_mmio_lock(aps, mmio_base ? mmio_base + LOCK_PAGE * PAGE_SIZE : 0);
	ipis_between_vcpus(aps);
	if (mmio_base)
		shootdown(aps);
	shoot_go = 1; /* without a region: the APs skip the shootdown, into their last loop */
	device_msi_to_ap();
	gdb_smp_wait_if_asked(); /* the gdb thread test: both vCPUs run guest code now */
	restart_ap(aps);
}
