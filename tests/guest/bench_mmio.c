/*
 * MMIO path lengths for `make bench` (information only, as bench.c): one device access of
 * each form the short path replays, an uncached-style general instruction (ALU
 * read-modify-write, PUSH of a device word), the read-modify-write forms of mmio_rmw.c (SHL
 * by CL, XCHG, BTS imm, LOCK CMPXCHG/XADD, NOT on a device word), two instructions only the
 * general emulator does (SHLD imm, BTS with a register bit offset), and REP MOVSD between
 * RAM and the device page.
 * Each figure is the minimum of BENCH_RUNS runs from one RIP, so with the cache on every run
 * after the first is a repeat.  tests/bench/bench.sh reads the "bench: row" lines.
 */
#include "tests/guest/report.h"
#include "tests/guest/tests.h"

#define STR_MAX	   256 /* REP MOVSD elements at most */
#define STR_OFFSET 0x800 /* the device page's second half: STR_MAX dwords fit */

static uintptr_t dev;	  /* a device word */
static uintptr_t dev_str; /* STR_MAX dwords of the device page */
static uint32_t ram_str[STR_MAX];
static uint32_t str_count;

static inline uint64_t tsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi)::"memory");
	return ((uint64_t)hi << 32) | lo;
}

#define TIMED(name, insn, ...)                                                               \
	static uint64_t name(void)                                                           \
	{                                                                                    \
		uint32_t scratch = 0;                                                        \
		uint64_t t0 = tsc();                                                         \
		asm volatile(insn : "+r"(scratch) : "r"(dev), ##__VA_ARGS__ : "memory", "cc"); \
		return tsc() - t0;                                                           \
	}

TIMED(t_ld32, "movl (%1), %0")
TIMED(t_ld16, "movw (%1), %w0")
TIMED(t_ld8, "movb (%1), %b0")
TIMED(t_movzx8, "movzbl (%1), %0")
TIMED(t_movsx16, "movswl (%1), %0")
TIMED(t_st32, "movl %0, (%1)")
TIMED(t_st16, "movw %w0, (%1)")
TIMED(t_st8, "movb %b0, (%1)")
TIMED(t_stimm32, "movl $0x5a5a5a5a, (%1)")
TIMED(t_stimm8, "movb $0x5a, (%1)")
TIMED(t_alu_rmw, "addl $1, (%1)")
TIMED(t_push, "pushl (%1); popl %0")
/* Read-modify-write forms outside the MOV/ALU/stack/string ones (core/mmio_rmw.c), and two
 * instructions only the general emulator does (SHLD, BTS with a register bit offset). */
TIMED(t_shl_cl, "shll %%cl, (%1)", "c"(1))
TIMED(t_xchg, "xchgl %0, (%1)")
TIMED(t_bts_imm, "btsl $3, (%1)")
TIMED(t_xadd, "lock xaddl %0, (%1)")
TIMED(t_not, "notl (%1)")
TIMED(t_shld, "shldl $3, %0, (%1)")
TIMED(t_bts_reg, "btsl %0, (%1)")

/* LOCK CMPXCHG: EAX is the comparand, so the timed asm names it. */
static uint64_t t_cmpxchg(void)
{
	uint32_t cmp = 0, src = 0;
	uint64_t t0 = tsc();

	asm volatile("lock cmpxchgl %2, (%1)" : "+a"(cmp) : "r"(dev), "r"(src) : "memory", "cc");
	return tsc() - t0;
}

static uint64_t t_movsd_to_dev(void)
{
	uint32_t s = (uint32_t)ram_str, d = dev_str, c = str_count;
	uint64_t t0 = tsc();

	asm volatile("cld; rep movsl" : "+S"(s), "+D"(d), "+c"(c)::"memory");
	return tsc() - t0;
}

static uint64_t t_movsd_from_dev(void)
{
	uint32_t s = dev_str, d = (uint32_t)ram_str, c = str_count;
	uint64_t t0 = tsc();

	asm volatile("cld; rep movsl" : "+S"(s), "+D"(d), "+c"(c)::"memory");
	return tsc() - t0;
}

struct bench_row {
	const char *key;
	uint64_t (*fn)(void);
};

static const struct bench_row rows[] = {
	{"load32", t_ld32},   {"load16", t_ld16},     {"load8", t_ld8},
	{"movzx8", t_movzx8}, {"movsx16", t_movsx16}, {"store32", t_st32},
	{"store16", t_st16},  {"store8", t_st8},      {"storeimm32", t_stimm32},
	{"storeimm8", t_stimm8}, {"alu_rmw", t_alu_rmw}, {"push", t_push},
	{"shl_cl", t_shl_cl},	 {"xchg", t_xchg},	 {"bts_imm", t_bts_imm},
	{"cmpxchg", t_cmpxchg},	 {"xadd", t_xadd},	 {"not", t_not},
	{"shld", t_shld},	 {"bts_reg", t_bts_reg},
};

void bench_mmio_forms(uintptr_t dev_word, uintptr_t dev_page)
{
	static const uint32_t counts[] = {1, 16, STR_MAX};

	dev = dev_word;
	dev_str = dev_page + STR_OFFSET;
	for (unsigned i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		gprintf("guest: bench: row %s %u ticks\n", rows[i].key,
			(unsigned)bench_min_ticks(rows[i].fn));
	for (unsigned i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		str_count = counts[i];
		gprintf("guest: bench: row movsd_to_dev_%u %u ticks\n", counts[i],
			(unsigned)bench_min_ticks(t_movsd_to_dev));
		gprintf("guest: bench: row movsd_from_dev_%u %u ticks\n", counts[i],
			(unsigned)bench_min_ticks(t_movsd_from_dev));
	}
}
