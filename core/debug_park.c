/* Parked vCPUs and calls to them: see debug_park.h. */
#include "core/debug_park.h"
#include "arch/x86/cpu.h"
#include "arch/x86/percpu_layout.h"
#include "arch/x86/smp.h"
#include "core/vcpu.h"

/* How long the session waits for a kicked vCPU to reach its exit's tail (loop turns): an
 * NMI exit takes microseconds; a vCPU that never comes shows as not stopped. */
#define PARK_WAIT_TURNS (1u << 24)

static struct park_slot {
	struct vcpu *v;	  /* set while the vCPU is parked */
	debug_park_fn fn; /* a call for it: written before pending */
	void *arg;
	bool pending;
} slots[HV_MAX_CPUS];

void debug_park_begin(struct vcpu *v)
{
	if (v->cpu < HV_MAX_CPUS)
		__atomic_store_n(&slots[v->cpu].v, v, __ATOMIC_RELEASE);
}

void debug_park_serve(struct vcpu *v)
{
	struct park_slot *s = &slots[v->cpu];

	if (v->cpu >= HV_MAX_CPUS || !__atomic_load_n(&s->pending, __ATOMIC_ACQUIRE))
		return;
	s->fn(v, s->arg);
	__atomic_store_n(&s->pending, false, __ATOMIC_RELEASE);
}

/* The session ended before this vCPU leaves (it waits for every call it makes). */
void debug_park_end(struct vcpu *v)
{
	if (v->cpu < HV_MAX_CPUS)
		__atomic_store_n(&slots[v->cpu].v, NULL, __ATOMIC_RELEASE);
}

struct vcpu *debug_park_vcpu(unsigned cpu)
{
	return cpu < HV_MAX_CPUS ? __atomic_load_n(&slots[cpu].v, __ATOMIC_ACQUIRE) : NULL;
}

static bool all_parked(unsigned self)
{
	for (unsigned cpu = 0; cpu < smp_nr_vcpus(); cpu++)
		if (cpu != self && smp_vcpu_state(cpu) == SMP_VCPU_RUNNING && !debug_park_vcpu(cpu))
			return false;
	return true;
}

void debug_park_wait_others(unsigned self)
{
	for (unsigned turn = 0; turn < PARK_WAIT_TURNS && !all_parked(self); turn++)
		cpu_relax();
}

bool debug_park_call(struct vcpu *self, unsigned cpu, debug_park_fn fn, void *arg)
{
	struct park_slot *s;

	if (cpu == self->cpu) {
		fn(self, arg);
		return true;
	}
	if (!debug_park_vcpu(cpu))
		return false;
	s = &slots[cpu];
	s->fn = fn;
	s->arg = arg;
	__atomic_store_n(&s->pending, true, __ATOMIC_RELEASE);
	while (__atomic_load_n(&s->pending, __ATOMIC_ACQUIRE))
		cpu_relax();
	return true;
}
