/*
 * Path lengths inside mhv, for `make bench`.  RDTSC counts retired instructions under Bochs
 * (clock sync=none) and QEMU -icount shift=0, so each figure is a deterministic path length;
 * on real hardware it is cycles.  Only printed, never judged.
 */
#include "core/bench.h"
#include "lib/log.h"
#include "mmio/devices.h"
#include "mmio/region.h"

#define BENCH_RUNS	  16
#define BENCH_REGION_BASE 0xE0000000ull
#define BENCH_REGION_STEP 0x2000ull /* a gap between regions, so none merge */

static struct mmio_regions bench_regions;
static struct mmio_deny_dev bench_dev;

static inline uint64_t rdtsc_ordered(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi)::"memory");
	return ((uint64_t)hi << 32) | lo;
}

static uint64_t overhead(void)
{
	uint64_t best = ~0ull;

	for (unsigned i = 0; i < BENCH_RUNS; i++) {
		uint64_t t0 = rdtsc_ordered();
		uint64_t t = rdtsc_ordered() - t0;
		if (t < best)
			best = t;
	}
	return best;
}

/*
 * Lookup of the last region: the deepest binary-search path for this count, or (hinted) the
 * exit path's lookup of the region it found last.
 */
static uint64_t time_lookup(unsigned n, bool hinted)
{
	uint64_t best = ~0ull, gpa = BENCH_REGION_BASE + (n - 1) * BENCH_REGION_STEP;
	struct mmio_region_hint hint = {0};

	mmio_regions_init(&bench_regions);
	for (unsigned i = 0; i < n; i++)
		mmio_region_add(&bench_regions, BENCH_REGION_BASE + i * BENCH_REGION_STEP,
				MMIO_PAGE_SIZE, &mmio_deny_ops, &bench_dev);
	(void)mmio_region_find_hinted(&bench_regions, &hint, gpa);
	for (unsigned i = 0; i < BENCH_RUNS; i++) {
		uint64_t t0 = rdtsc_ordered();
		const struct mmio_region *r =
			hinted ? mmio_region_find_hinted(&bench_regions, &hint, gpa)
			       : mmio_region_find(&bench_regions, gpa);
		uint64_t t = rdtsc_ordered() - t0;

		asm volatile("" ::"r"(r)); /* keep the lookup */
		if (t < best)
			best = t;
	}
	return best;
}

void hv_bench_run(void)
{
	static const unsigned counts[] = {1, 16, 256};
	uint64_t base = overhead();

	mmio_deny_init(&bench_dev, NULL, NULL);
	for (unsigned i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
		pr_info("mhv: bench: region lookup %u regions %lu ticks, hinted %lu ticks\n",
			counts[i], time_lookup(counts[i], false) - base,
			time_lookup(counts[i], true) - base);
}
