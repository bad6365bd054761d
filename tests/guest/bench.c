/*
 * Path-length measurements, printed as information (never judged: the harness and
 * `make bench` read them).  Under Bochs with clock sync=none and under QEMU -icount
 * shift=0, RDTSC counts retired instructions, so these are deterministic path lengths.
 * Each figure is the minimum over BENCH_RUNS runs, minus the cost of RDTSC itself.
 */
#include "core/hypercall_abi.h"
#include "tests/guest/cpu.h"
#include "tests/guest/hv.h"
#include "tests/guest/report.h"
#include "tests/guest/tests.h"

#define BENCH_RUNS 16

/* Not inlined: tests/bench/trace-exit.sh breaks on these functions to trace one exit. */
static __attribute__((noinline)) uint64_t time_empty(void)
{
	uint64_t t0 = rdtsc();

	return rdtsc() - t0;
}

static __attribute__((noinline)) uint64_t time_cpuid(void)
{
	uint32_t a = 0, b, c = 0, d;
	uint64_t t0 = rdtsc();

	asm volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d)::"memory");
	return rdtsc() - t0;
}

static __attribute__((noinline)) uint64_t time_hypercall(void)
{
	uint32_t a = HC_VERSION;
	uint64_t t0 = rdtsc();

	if (cpu_vendor() == VENDOR_AMD)
		asm volatile("vmmcall" : "+a"(a)::"ebx", "ecx", "edx", "memory");
	else
		asm volatile("vmcall" : "+a"(a)::"ebx", "ecx", "edx", "memory");
	return rdtsc() - t0;
}

static uint64_t min_of(uint64_t (*fn)(void))
{
	uint64_t best = ~0ull;

	for (unsigned i = 0; i < BENCH_RUNS; i++) {
		uint64_t t = fn();
		if (t < best)
			best = t;
	}
	return best;
}

uint64_t bench_min_ticks(uint64_t (*fn)(void))
{
	return min_of(fn) - min_of(time_empty);
}

void bench_report(void)
{
	gprintf("guest: bench: rdtsc overhead %u ticks\n", (unsigned)min_of(time_empty));
	gprintf("guest: bench: cpuid round trip %u ticks\n", (unsigned)bench_min_ticks(time_cpuid));
	gprintf("guest: bench: null hypercall round trip %u ticks\n",
		(unsigned)bench_min_ticks(time_hypercall));
}
