/* Every CPU under mhv: see smp.h. */
#include "arch/x86/smp.h"
#include "arch/x86/ap_park.h"
#include "arch/x86/cpu.h"
#include "arch/x86/cpuid_msr.h"
#include "arch/x86/desc.h"
#include "arch/x86/exception.h"
#include "arch/x86/lapic_reset.h"
#include "arch/x86/msr.h"
#include "arch/x86/paging.h"
#include "arch/x86/percpu.h"
#include "core/guest.h"
#include "core/vcpu.h"
#include "lib/ipi_filter.h"
#include "lib/log.h"
#include "lib/spinlock.h"

#define MSR_IA32_APIC_BASE  0x0000001B
#define MSR_X2APIC_ICR_REG  0x00000830
#define APIC_BASE_X2APIC    (1ull << 10)
#define APIC_BASE_ADDR_MASK 0x000FFFFFFFFFF000ull
#define APIC_ICR_LOW	    0x300
#define APIC_ICR_HIGH	    0x310
#define XAPIC_DEST_SHIFT    24
#define ICR_BUSY	    (1u << 12)
#define ICR_SEND_POLLS	    100000
#define ICR_NMI		    ((uint32_t)ICR_MODE_NMI << ICR_MODE_SHIFT)
#define ICR_ALL_BUT_SELF    ((uint32_t)ICR_SH_ALL_EXCL_SELF << ICR_SHORTHAND_SHIFT)
#define NO_SIPI		    (-1)
#define XAPIC_DFR_FLAT	    0xFu /* DFR bits 31:28: flat model; 0 is the cluster model */
#define DFR_MODEL_SHIFT	    28
#define XAPIC_DFR_RESET	    0xFFFFFFFFu
#define CLUSTER_SHIFT	    4
#define CLUSTER_MEMBERS	    0xFu
#define X2APIC_CLUSTER_SHIFT 16
#define X2APIC_MEMBERS	    0xFFFFu
#define ARRIVAL_POLLS	    50000000ull /* pause loops: generous, the APs run a few hundred insns */
#define STOP_POLLS	    200000000ull
#define CPUID_TOPOLOGY_LEAF 0x0B
#define CPUID_FEATURES_LEAF 1

/* HALTED: HLT with interrupts off; only an NMI or INIT moves it on (nr_idle counts it). */
enum vcpu_run_state { VCPU_WAIT_SIPI, VCPU_RUNNING, VCPU_HALTED };

struct smp_cpu {
	struct vcpu *vcpu;
	uint32_t apic_id;
	uint32_t xapic_ldr, xapic_dfr;
	int state;	/* enum vcpu_run_state */
	int sipi;	/* the latched STARTUP vector, or NO_SIPI */
	int init;	/* an INIT is waiting to be applied */
	int kicks;	/* NMIs mhv sent this CPU */
	int stopped;	/* halted at the end of the run */
	int stats_out;	/* its counters are printed */
	int online;
};

/* Each AP's stacks: its own, and one per IST slot; each starts with a head naming the CPU. */
struct ap_stacks {
	uint8_t stack[1 + NR_IST_STACKS][HV_STACK_SIZE];
} __attribute__((aligned(HV_STACK_SIZE)));

static struct smp_cpu cpus[HV_MAX_CPUS];
static struct ap_stacks ap_stacks[HV_MAX_CPUS - 1];
static struct desc_cpu ap_desc[HV_MAX_CPUS - 1];
static unsigned nr_vcpus = 1;
static bool active;
static smp_ap_entry_fn ap_entry_fn;
static int run_ending;	/* 1 + the CPU that ends the run */
static unsigned stop_turn = HV_MAX_CPUS; /* nobody's turn yet */
static int nr_online;
static unsigned nr_idle; /* vCPUs in wait-for-SIPI or halted with interrupts off */
/* NMIs, not mhv's, that reached a vCPU waiting for a SIPI (each dropped, as that state does) */
static unsigned held_nmis;

/* Read by smp_entry.S: each AP's stack top by CPU number (0: not released). */
uint64_t smp_stack_tops[HV_MAX_CPUS];
void smp_ap_entry64(void);
void smp_ap_main(unsigned cpu);

static uint32_t own_apic_id(void)
{
	if (cpuid(0).eax >= CPUID_TOPOLOGY_LEAF && cpuid_count(CPUID_TOPOLOGY_LEAF, 0).ebx)
		return cpuid_count(CPUID_TOPOLOGY_LEAF, 0).edx;
	return cpuid(CPUID_FEATURES_LEAF).ebx >> XAPIC_DEST_SHIFT;
}

static unsigned cpu_index_for_log(void)
{
	return hv_cpu_index();
}

bool smp_active(void)
{
	return active;
}

unsigned smp_nr_vcpus(void)
{
	return nr_vcpus;
}

enum smp_vcpu_state smp_vcpu_state(unsigned cpu)
{
	static const enum smp_vcpu_state map[] = {[VCPU_WAIT_SIPI] = SMP_VCPU_WAIT_SIPI,
						  [VCPU_RUNNING] = SMP_VCPU_RUNNING,
						  [VCPU_HALTED] = SMP_VCPU_HALTED};

	if (cpu >= nr_vcpus)
		return SMP_VCPU_NONE;
	return map[__atomic_load_n(&cpus[cpu].state, __ATOMIC_ACQUIRE)];
}

uint32_t smp_vcpu_apic_id(unsigned cpu)
{
	return cpu < nr_vcpus ? cpus[cpu].apic_id : 0;
}

unsigned smp_ap_count(void)
{
	unsigned n = ap_park_count();

	return n < HV_MAX_CPUS - 1 ? n : HV_MAX_CPUS - 1;
}

void smp_set_vcpu(unsigned cpu, struct vcpu *v)
{
	v->cpu = cpu;
	cpus[cpu].vcpu = v;
}

/* A physical IPI from mhv, in whatever APIC mode the guest left this CPU's APIC. */
static void send_ipi(uint32_t dest, uint32_t low)
{
	uint64_t base = rdmsr(MSR_IA32_APIC_BASE);
	uint64_t pa = base & APIC_BASE_ADDR_MASK;
	uint32_t high, saved, busy = ICR_BUSY;

	if (base & APIC_BASE_X2APIC) {
		wrmsr(MSR_X2APIC_ICR_REG, (uint64_t)dest << 32 | low);
		return;
	}
	high = dest << XAPIC_DEST_SHIFT;
	hv_device_read(pa + APIC_ICR_HIGH, &saved, sizeof(saved)); /* the guest's, put back */
	hv_device_write(pa + APIC_ICR_HIGH, &high, sizeof(high));
	hv_device_write(pa + APIC_ICR_LOW, &low, sizeof(low));
	for (unsigned i = 0; i < ICR_SEND_POLLS && (busy & ICR_BUSY); i++)
		hv_device_read(pa + APIC_ICR_LOW, &busy, sizeof(busy));
	hv_device_write(pa + APIC_ICR_HIGH, &saved, sizeof(saved));
}

void smp_send_ipi(uint32_t dest, uint32_t low)
{
	send_ipi(dest, low);
}

void smp_ap_main(unsigned cpu)
{
	struct ap_stacks *s = &ap_stacks[cpu - 1];
	uint64_t ist_top[NR_IST_STACKS];

	for (unsigned i = 0; i < NR_IST_STACKS; i++)
		ist_top[i] = (uint64_t)s->stack[1 + i] + HV_STACK_SIZE;
	desc_init_ap(&ap_desc[cpu - 1], ist_top);
	cpus[cpu].apic_id = own_apic_id();
	guest_host_cr4(); /* the CR4 bits the boot CPU's exit paths rely on, on this CPU too */
	__atomic_store_n(&cpus[cpu].online, 1, __ATOMIC_RELEASE);
	__atomic_add_fetch(&nr_online, 1, __ATOMIC_ACQ_REL);
	ap_entry_fn(cpu);
	cpu_halt_forever();
}

unsigned smp_start_aps(smp_ap_entry_fn ap_entry, unsigned max)
{
	unsigned want = smp_ap_count();

	if (want > max)
		want = max;
	cpus[0].apic_id = own_apic_id();
	cpus[0].state = VCPU_RUNNING;
	cpus[0].sipi = NO_SIPI;
	cpus[0].online = 1;
	cpus[0].xapic_dfr = XAPIC_DFR_RESET;
	log_set_cpu_fn(cpu_index_for_log);
	if (!want)
		return 0;
	ap_entry_fn = ap_entry;
	for (unsigned cpu = 1; cpu <= want; cpu++) {
		struct ap_stacks *s = &ap_stacks[cpu - 1];

		for (unsigned i = 0; i < 1 + NR_IST_STACKS; i++)
			*(struct hv_stack_head *)s->stack[i] =
				(struct hv_stack_head){HV_STACK_MAGIC, cpu};
		cpus[cpu].xapic_dfr = XAPIC_DFR_RESET;
		cpus[cpu].state = VCPU_WAIT_SIPI;
		cpus[cpu].sipi = NO_SIPI;
		smp_stack_tops[cpu] = (uint64_t)s->stack[0] + HV_STACK_SIZE;
	}
	/* The parked APs leave their park loop for smp_ap_entry64 at the next NMI. */
	ap_park_release(smp_ap_entry64);
	send_ipi(0, ICR_NMI | ICR_ALL_BUT_SELF);
	for (uint64_t i = 0; i < ARRIVAL_POLLS; i++) {
		if (__atomic_load_n(&nr_online, __ATOMIC_ACQUIRE) >= (int)want)
			break;
		cpu_relax();
	}
	nr_vcpus = 1 + (unsigned)__atomic_load_n(&nr_online, __ATOMIC_ACQUIRE);
	__atomic_store_n(&nr_idle, nr_vcpus - 1, __ATOMIC_RELEASE); /* all wait for a SIPI */
	active = nr_vcpus > 1;
	if (nr_vcpus - 1 < want)
		pr_err("mhv: smp: only %u of %u APs reported in\n", nr_vcpus - 1, want);
	return nr_vcpus - 1;
}

void smp_note_xapic_logical(unsigned cpu, bool dfr, uint32_t value)
{
	if (cpu >= HV_MAX_CPUS)
		return;
	if (dfr)
		cpus[cpu].xapic_dfr = value;
	else
		cpus[cpu].xapic_ldr = value;
}

/* Does a logical destination name this CPU?  x2APIC: cluster:bits from the ID; xAPIC: LDR/DFR. */
static bool logical_match(const struct smp_cpu *c, uint32_t dest, bool x2apic)
{
	if (x2apic)
		return (dest >> X2APIC_CLUSTER_SHIFT) == (c->apic_id >> CLUSTER_SHIFT) &&
		       (dest & X2APIC_MEMBERS & (1u << (c->apic_id & CLUSTER_MEMBERS)));
	{
		uint32_t ldr = c->xapic_ldr >> XAPIC_DEST_SHIFT;

		if ((c->xapic_dfr >> DFR_MODEL_SHIFT) == XAPIC_DFR_FLAT)
			return dest & ldr;
		return (dest >> CLUSTER_SHIFT) == (ldr >> CLUSTER_SHIFT) &&
		       (dest & ldr & CLUSTER_MEMBERS);
	}
}

static bool names_cpu(uint64_t icr, bool x2apic, unsigned sender, unsigned cpu)
{
	enum icr_shorthand sh =
		(enum icr_shorthand)((icr & ICR_SHORTHAND_MASK) >> ICR_SHORTHAND_SHIFT);
	uint32_t dest = x2apic ? (uint32_t)(icr >> ICR_X2APIC_DEST_SHIFT)
			       : (uint32_t)(icr >> ICR_XAPIC_DEST_SHIFT);

	switch (sh) {
	case ICR_SH_SELF:
		return cpu == sender;
	case ICR_SH_ALL_INCL_SELF:
		return true;
	case ICR_SH_ALL_EXCL_SELF:
		return cpu != sender;
	case ICR_SH_NONE:
	default:
		break;
	}
	if (dest == (x2apic ? X2APIC_BROADCAST_ID : XAPIC_BROADCAST_ID))
		return true;
	if (icr & ICR_LOGICAL)
		return logical_match(&cpus[cpu], dest, x2apic);
	return dest == cpus[cpu].apic_id;
}

static void kick(unsigned cpu)
{
	__atomic_add_fetch(&cpus[cpu].kicks, 1, __ATOMIC_ACQ_REL);
	send_ipi(cpus[cpu].apic_id, ICR_NMI);
}

/*
 * A waiting CPU halts; NMIs wake it.  An NMI that interrupts this very HLT before it halts
 * resumes after it (exception.c), so a wake-up between the last check and the HLT is never
 * lost.  One copy of the instruction: the handler compares RIP with smp_idle_hlt.
 */
static void __attribute__((noinline, noclone)) idle_until_nmi(void)
{
	asm volatile(".globl smp_idle_hlt\n"
		     "smp_idle_hlt:\n\t"
		     "hlt" ::: "memory");
}

/*
 * After an NMI exit (VMX) NMIs stay blocked until an IRET: one to the next instruction
 * unblocks them, so the wake-up NMIs reach the HLT above.
 */
void smp_unblock_nmis(void)
{
	asm volatile("movq %%rsp, %%rax\n\t"
		     "pushq %[ss]\n\t"
		     "pushq %%rax\n\t"
		     "pushfq\n\t"
		     "pushq %[cs]\n\t"
		     "leaq 1f(%%rip), %%rax\n\t"
		     "pushq %%rax\n\t"
		     "iretq\n"
		     "1:"
		     :
		     : [ss] "i"(HV_DS), [cs] "i"(HV_CS)
		     : "rax", "memory", "cc");
}

/* INIT: the vCPU goes to wait-for-SIPI; one running the guest is kicked out of it first. */
static void virtual_init(unsigned cpu)
{
	struct smp_cpu *c = &cpus[cpu];
	int was = __atomic_exchange_n(&c->state, VCPU_WAIT_SIPI, __ATOMIC_ACQ_REL);

	__atomic_store_n(&c->sipi, NO_SIPI, __ATOMIC_RELEASE);
	if (was == VCPU_WAIT_SIPI)
		return;
	if (was == VCPU_RUNNING) /* a halted one is counted idle already */
		__atomic_add_fetch(&nr_idle, 1, __ATOMIC_ACQ_REL);
	__atomic_store_n(&c->init, 1, __ATOMIC_RELEASE);
	kick(cpu);
}

/* STARTUP: latched by a vCPU waiting for it (the first one wins); ignored by a running one. */
static void virtual_sipi(unsigned cpu, uint8_t vector)
{
	struct smp_cpu *c = &cpus[cpu];
	int none = NO_SIPI;

	if (__atomic_load_n(&c->state, __ATOMIC_ACQUIRE) != VCPU_WAIT_SIPI)
		return;
	if (__atomic_compare_exchange_n(&c->sipi, &none, (int)vector, false, __ATOMIC_ACQ_REL,
					__ATOMIC_RELAXED))
		kick(cpu); /* wakes it (a kick, in case it is already back in the guest) */
}

enum smp_ipi_result smp_virtual_ipi(uint64_t icr, bool x2apic, unsigned sender)
{
	enum icr_mode mode = (enum icr_mode)((icr & ICR_MODE_MASK) >> ICR_MODE_SHIFT);
	bool self = false;

	/* INIT level de-assert (firmware sends it after the INIT): nothing to do. */
	if (mode == ICR_MODE_INIT && !(icr & ICR_LEVEL_ASSERT) && (icr & ICR_TRIGGER_LEVEL))
		return SMP_IPI_DONE;
	for (unsigned cpu = 0; cpu < nr_vcpus; cpu++) {
		if (!names_cpu(icr, x2apic, sender, cpu))
			continue;
		if (cpu == sender) {
			self = true; /* the sender would stop itself with no one to restart it */
			continue;
		}
		if (mode == ICR_MODE_INIT)
			virtual_init(cpu);
		else
			virtual_sipi(cpu, (uint8_t)(icr & ICR_VECTOR_MASK));
	}
	return self ? SMP_IPI_SELF_DROPPED : SMP_IPI_DONE;
}

/* This CPU stops for the end of the run: its counters when its turn comes, then halt. */
static void __attribute__((noreturn)) stop_self(unsigned cpu)
{
	while (__atomic_load_n(&stop_turn, __ATOMIC_ACQUIRE) != cpu)
		cpu_relax();
	if (cpus[cpu].vcpu && !__atomic_load_n(&cpus[cpu].stats_out, __ATOMIC_ACQUIRE))
		vcpu_print_stats(cpus[cpu].vcpu);
	log_flush();
	__atomic_store_n(&cpus[cpu].stopped, 1, __ATOMIC_RELEASE);
	cpu_halt_forever();
}

static void check_run_end(unsigned cpu)
{
	if (__atomic_load_n(&run_ending, __ATOMIC_ACQUIRE))
		stop_self(cpu);
}

uint8_t smp_wait_for_sipi(struct vcpu *v)
{
	struct smp_cpu *c = &cpus[v->cpu];

	/* The INIT that put it here reset its local APIC (the first wait: mhv's own INIT did). */
	lapic_init_reset();
	c->xapic_ldr = 0;
	c->xapic_dfr = XAPIC_DFR_RESET;
	smp_unblock_nmis();
	for (;;) {
		int vec = __atomic_load_n(&c->sipi, __ATOMIC_ACQUIRE);

		check_run_end(v->cpu);
		__atomic_store_n(&c->init, 0, __ATOMIC_RELEASE); /* INIT while waiting: waits on */
		if (vec == NO_SIPI && nmi_pending[v->cpu]) {
			/* Dropped, as the state drops it; one that is not mhv's kick is counted. */
			nmi_pending[v->cpu] = false;
			if (!__atomic_exchange_n(&c->kicks, 0, __ATOMIC_ACQ_REL))
				__atomic_add_fetch(&held_nmis, 1, __ATOMIC_ACQ_REL);
		}
		if (vec != NO_SIPI &&
		    __atomic_compare_exchange_n(&c->sipi, &vec, NO_SIPI, false, __ATOMIC_ACQ_REL,
						__ATOMIC_RELAXED)) {
			__atomic_store_n(&c->state, VCPU_RUNNING, __ATOMIC_RELEASE);
			__atomic_sub_fetch(&nr_idle, 1, __ATOMIC_ACQ_REL);
			/* The wake-up NMI already reached mhv: no NMI exit will consume the kick. */
			if (nmi_pending[v->cpu]) {
				nmi_pending[v->cpu] = false;
				__atomic_store_n(&c->kicks, 0, __ATOMIC_RELEASE);
			}
			return (uint8_t)vec;
		}
		idle_until_nmi();
	}
}

bool smp_apic_id_is_vcpu(uint32_t apic_id)
{
	for (unsigned cpu = 0; cpu < nr_vcpus; cpu++)
		if (cpus[cpu].apic_id == apic_id)
			return true;
	return false;
}

bool smp_every_cpu_is_vcpu(void)
{
	return nr_vcpus == 1 + ap_park_count();
}

bool smp_halt_is_last(struct vcpu *v)
{
	struct smp_cpu *c = &cpus[v->cpu];
	int running = VCPU_RUNNING;

	if (!__atomic_compare_exchange_n(&c->state, &running, VCPU_HALTED, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_RELAXED))
		return false; /* an INIT is on its way: smp_halt_wait() sees it */
	if (__atomic_add_fetch(&nr_idle, 1, __ATOMIC_ACQ_REL) < nr_vcpus)
		return false;
	/* Nothing else runs the guest: undo, the caller ends the run. */
	__atomic_sub_fetch(&nr_idle, 1, __ATOMIC_ACQ_REL);
	__atomic_store_n(&c->state, VCPU_RUNNING, __ATOMIC_RELEASE);
	return true;
}

enum smp_halt_wake smp_halt_wait(struct vcpu *v)
{
	struct smp_cpu *c = &cpus[v->cpu];

	for (;;) {
		check_run_end(v->cpu);
		if (__atomic_exchange_n(&c->init, 0, __ATOMIC_ACQ_REL)) {
			__atomic_store_n(&c->kicks, 0, __ATOMIC_RELEASE);
			nmi_pending[v->cpu] = false;
			return SMP_HALT_INIT; /* virtual_init() moved it to wait-for-SIPI */
		}
		if (nmi_pending[v->cpu]) {
			int halted = VCPU_HALTED;

			nmi_pending[v->cpu] = false;
			if (!__atomic_exchange_n(&c->kicks, 0, __ATOMIC_ACQ_REL) &&
			    __atomic_compare_exchange_n(&c->state, &halted, VCPU_RUNNING, false,
							__ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
				__atomic_sub_fetch(&nr_idle, 1, __ATOMIC_ACQ_REL);
				return SMP_HALT_NMI; /* the guest's NMI wakes it, as on a CPU */
			}
			continue; /* mhv's kick: INIT (above) or the end of the run */
		}
		idle_until_nmi();
	}
}

enum smp_nmi smp_nmi_exit(struct vcpu *v)
{
	struct smp_cpu *c = &cpus[v->cpu];

	check_run_end(v->cpu);
	if (!__atomic_exchange_n(&c->kicks, 0, __ATOMIC_ACQ_REL))
		return SMP_NMI_GUEST;
	if (__atomic_exchange_n(&c->init, 0, __ATOMIC_ACQ_REL))
		return SMP_NMI_INIT;
	return SMP_NMI_KICK;
}

bool smp_take_kick(unsigned cpu)
{
	return cpu < nr_vcpus && __atomic_exchange_n(&cpus[cpu].kicks, 0, __ATOMIC_ACQ_REL);
}

void smp_nmi_to_self(void)
{
	send_ipi(cpus[hv_cpu_index()].apic_id, ICR_NMI);
}

void smp_kick_running_others(unsigned self)
{
	for (unsigned i = 0; i < nr_vcpus; i++)
		if (i != self && __atomic_load_n(&cpus[i].state, __ATOMIC_ACQUIRE) == VCPU_RUNNING)
			kick(i);
}

void smp_poll_run_end(unsigned cpu)
{
	check_run_end(cpu);
}

bool smp_others_wait_for_sipi(unsigned cpu)
{
	for (unsigned i = 0; i < nr_vcpus; i++)
		if (i != cpu && __atomic_load_n(&cpus[i].state, __ATOMIC_ACQUIRE) != VCPU_WAIT_SIPI)
			return false;
	return true;
}

unsigned smp_held_nmis(void)
{
	return __atomic_load_n(&held_nmis, __ATOMIC_ACQUIRE);
}

void smp_stats_printed(unsigned cpu)
{
	if (cpu < HV_MAX_CPUS)
		__atomic_store_n(&cpus[cpu].stats_out, 1, __ATOMIC_RELEASE);
}

void smp_stop_others(void)
{
	unsigned me = hv_cpu_index();
	int none = 0;

	if (!active)
		return;
	if (!__atomic_compare_exchange_n(&run_ending, &none, (int)me + 1, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_RELAXED))
		stop_self(me); /* another CPU is ending the run: this one stops in its turn */
	log_flush();
	/* One NMI per vCPU (not the all-but-self shorthand: only vCPUs, in any APIC mode). */
	for (unsigned cpu = 0; cpu < nr_vcpus; cpu++)
		if (cpu != me)
			send_ipi(cpus[cpu].apic_id, ICR_NMI);
	for (unsigned cpu = 0; cpu < nr_vcpus; cpu++) {
		uint64_t polls;

		if (cpu == me)
			continue;
		__atomic_store_n(&stop_turn, cpu, __ATOMIC_RELEASE);
		for (polls = 0; polls < STOP_POLLS; polls++) {
			if (__atomic_load_n(&cpus[cpu].stopped, __ATOMIC_ACQUIRE))
				break;
			cpu_relax();
		}
		if (polls == STOP_POLLS)
			pr_err("mhv: cpu %u did not stop\n", cpu);
	}
	__atomic_store_n(&stop_turn, me, __ATOMIC_RELEASE);
	pr_info("mhv: every CPU stopped (%u vCPUs)\n", nr_vcpus);
}
