/*
 * mhv's own memory (HC_HV_RANGE) must be out of the guest's reach: an access either faults
 * (#PF or #GP injected by mhv) or reads all ones, and writes are dropped.
 */
#include "core/hypercall_abi.h"
#include "lib/fmt.h"
#include "tests/guest/cpu.h"
#include "tests/guest/hv.h"
#include "tests/guest/mb1.h"
#include "tests/guest/report.h"
#include "tests/guest/tests.h"
#include "tests/guest/trap.h"

#define PAGE_SIZE     4096u
#define MIB	      0x100000u
#define KIB	      1024u
#define ALL_ONES      0xFFFFFFFFu
#define WRITE_PATTERN 0x6d687621 /* "!vhm" */
#define WHAT_LEN      96

struct access {
	uintptr_t addr;
	uint32_t val;
};

static void do_read(void *arg)
{
	struct access *a = arg;

	a->val = mmio_read32(a->addr);
}

static void do_write(void *arg)
{
	const struct access *a = arg;

	mmio_write32(a->addr, a->val);
}

static bool hiding_fault(const struct fault *f)
{
	return f->raised && (f->vector == VEC_PF || f->vector == VEC_GP);
}

static void check_read(const char *where, uintptr_t addr, const char *when)
{
	struct access a = {.addr = addr};
	char what[WHAT_LEN];
	struct fault f;

	fmt_snprintf(what, sizeof(what), "hv memory: read of %s dword is hidden (%s)", where, when);
	run_catching(do_read, &a, &f);
	if (f.raised)
		check(hiding_fault(&f), what, "%s at 0x%x", trap_name(f.vector), (uint32_t)addr);
	else
		check(a.val == ALL_ONES, what, "0x%x reads 0x%x", (uint32_t)addr, a.val);
}

static void check_write(uintptr_t addr, const char *when)
{
	struct access a = {.addr = addr, .val = WRITE_PATTERN};
	char what[WHAT_LEN];
	struct fault f;

	fmt_snprintf(what, sizeof(what), "hv memory: write is dropped (%s)", when);
	run_catching(do_write, &a, &f);
	if (f.raised) {
		check(hiding_fault(&f), what, "write: %s at 0x%x", trap_name(f.vector),
		      (uint32_t)addr);
		return;
	}
	a.val = 0;
	run_catching(do_read, &a, &f);
	if (f.raised)
		check(hiding_fault(&f), what, "read back: %s at 0x%x", trap_name(f.vector),
		      (uint32_t)addr);
	else
		check(a.val == ALL_ONES, what, "0x%x reads back 0x%x after writing 0x%x",
		      (uint32_t)addr, a.val, WRITE_PATTERN);
}

/* The range is only trusted for accesses once these pass. */
static bool check_range(const struct mb1_info *info, uint32_t start, uint32_t end, const char *when)
{
	bool sane = start < end && !(start % PAGE_SIZE) && !(end % PAGE_SIZE);
	char what[WHAT_LEN];

	fmt_snprintf(what, sizeof(what),
		     "hv memory: HC_HV_RANGE is a non-empty page-aligned range (%s)", when);
	check(sane, what, "[0x%x-0x%x)", start, end);
	if (!info || !sane)
		return sane;
	check(mb1_mmap_covers(info, start, end, false) &&
		      !mb1_mmap_overlaps_available(info, start, end),
	      "hv memory: memory map marks mhv's range not available",
	      "[0x%x-0x%x) overlaps type-1 entries or is not covered", start, end);
	if (info->flags & MB1_INFO_MEMORY)
		check(MIB + (uint64_t)info->mem_upper * KIB <= start,
		      "hv memory: mem_upper ends below mhv's range",
		      "mem_upper %u KiB, range at 0x%x", info->mem_upper, start);
	return sane;
}

void test_hv_memory(const struct mb1_info *info, const char *when)
{
	uint32_t end = 0;
	uint32_t start = hypercall(HC_HV_RANGE, 0, 0, 0, &end);
	uint32_t middle = start + (end - start) / 2;

	gprintf("guest: mhv's memory is [0x%x-0x%x)\n", start, end);
	/* A broken range would make the accesses below meaningless. */
	if (!check_range(info, start, end, when))
		return;
	check_read("the first", start, when);
	check_read("a middle", ALIGN_DOWN(middle, sizeof(uint32_t)), when);
	check_read("the last", end - sizeof(uint32_t), when);
	check_write(ALIGN_DOWN(middle, PAGE_SIZE), when);
}
