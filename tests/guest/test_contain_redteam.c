/*
 * Hostile guest, red team: the attacks the other contain files do not try.
 *
 *   - emulated operands at the edge of mhv's range: a MOVS whose destination straddles the
 *     last RAM page and mhv's first page (nothing may be written, not even the RAM half), REP
 *     MOVS running into mhv's range upwards and (DF=1) downwards, with small and 2^32-1 counts
 *     (the iterations before the fault are kept, as on the CPU);
 *   - a stale translation: the MMIO cache and the code TLB keep a page's old translation
 *     after the guest remaps it onto mhv's range without a flush (allowed), but what they
 *     reach must still be what the old translation named, never mhv's memory;
 *   - XSETBV with values the CPU refuses, and hypercalls with wild arguments;
 *   - the xAPIC ICR written with odd widths and offsets (byte, CMPXCHG8B across it, XCHG).
 *
 * Runs with 32-bit paging on (test_paging's identity map, 4 MiB pages), the local APIC in
 * xAPIC mode (before test_contain_cpus switches it to x2APIC).
 */
#include <stddef.h>

#include "arch/x86/cpuid_msr.h"
#include "arch/x86/io.h"
#include "core/hypercall_abi.h"
#include "tests/guest/cpu.h"
#include "tests/guest/hv.h"
#include "tests/guest/paging32.h"
#include "tests/guest/pci_cfg.h"
#include "tests/guest/lapic.h"
#include "tests/guest/report.h"
#include "tests/guest/serial.h"
#include "tests/guest/tests.h"
#include "tests/guest/trap.h"

#define PATTERN		  0x5EC0DE5Au
#define RAM_MARK	  0xAAu
#define RUN_BYTES	  16u
#define RUN_HALF	  (RUN_BYTES / 2)
#define ALL_ONES	  0xFFFFFFFFu
#define STALE_LA	  0xD0400000u /* a 4 MiB slot of the PCI hole: no device is there */
#define CODE_MOV_EAX_MOFS 0xA1	      /* mov eax, [moffs32] */
#define CODE_RET	  0xC3
#define MOFFS_OFFSET	  1
#define CODE_LEN	  6

#define CPUID1_ECX_XSAVE (1u << 26)
#define CR4_OSXSAVE	 (1u << 18)
#define XCR0_X87	 1ull
#define XCR0_AVX_ONLY	 4ull /* AVX state without SSE: the CPU refuses it */
#define XCR0_BIT62	 (1ull << 62)
#define XCR_XINUSE	 1u /* XCR1 exists only for XGETBV */

#define APIC_BASE_ADDR	  0xFFFFF000u
#define ICR_INIT_ASSERT	  0x4500u /* INIT, level assert */
#define ICR_MODE_BYTE_INIT 0x45u  /* bits 15:8 of that, as the ICR's second byte */
#define APIC_QWORD_BELOW  0x2FC  /* a qword here covers the ICR's first dword */

static uint32_t hv_start, hv_end, dev; /* dev: a page of an mmio=ram region */

struct str_op {
	uint32_t src, dst, count;
};

static void movsl_once(void *arg)
{
	struct str_op *op = arg;
	uint32_t s = op->src, d = op->dst;

	asm volatile("cld; movsl" : "+S"(s), "+D"(d) : : "memory");
}

static void cmpsl_once(void *arg)
{
	struct str_op *op = arg;
	uint32_t s = op->src, d = op->dst;

	asm volatile("cld; cmpsl" : "+S"(s), "+D"(d) : : "memory", "cc");
}

static void rep_movsb_up(void *arg)
{
	struct str_op *op = arg;
	uint32_t s = op->src, d = op->dst, c = op->count;

	asm volatile("cld; rep movsb" : "+S"(s), "+D"(d), "+c"(c) : : "memory");
}

static void rep_movsl_down(void *arg)
{
	struct str_op *op = arg;
	uint32_t s = op->src, d = op->dst, c = op->count;

	asm volatile("std; rep movsl; cld" : "+S"(s), "+D"(d), "+c"(c) : : "memory");
}

static void fill_dev(void)
{
	for (uint32_t i = 0; i < RUN_BYTES; i += sizeof(uint32_t))
		mmio_write32(dev + i, PATTERN + i);
}

static uint8_t dev_byte(uint32_t i)
{
	return (uint8_t)((PATTERN + (i & ~3u)) >> (8 * (i & 3u)));
}

/* A dword access that is half RAM, half mhv: a #GP and nothing written, not even the RAM half. */
static void straddle(void)
{
	volatile uint8_t *ram = (volatile uint8_t *)(hv_start - 2);
	struct str_op op = {.src = dev, .dst = hv_start - 2};
	struct fault f;

	ram[0] = ram[1] = RAM_MARK;
	fill_dev();
	run_catching(movsl_once, &op, &f);
	check_fault("redteam: MOVSD device -> [RAM|mhv] straddle raises #GP", &f, VEC_GP);
	check(ram[0] == RAM_MARK && ram[1] == RAM_MARK,
	      "redteam: the straddling MOVSD wrote nothing, not even its RAM half",
	      "RAM half now 0x%02x 0x%02x", ram[0], ram[1]);
	run_catching(cmpsl_once, &op, &f);
	check_fault("redteam: CMPSD device vs [RAM|mhv] straddle raises #GP", &f, VEC_GP);
	op.dst = hv_end - 2;
	run_catching(cmpsl_once, &op, &f);
	check_fault("redteam: CMPSD device vs [mhv|above] straddle raises #GP", &f, VEC_GP);
}

/* REP MOVSB from a device page up into mhv's range: the RAM part done, #GP at the boundary. */
static void rep_into_hv(const char *what, uint32_t count)
{
	volatile uint8_t *ram = (volatile uint8_t *)(hv_start - RUN_HALF);
	struct str_op op = {.src = dev, .dst = hv_start - RUN_HALF, .count = count};
	bool copied = true;
	struct fault f;

	for (uint32_t i = 0; i < RUN_HALF; i++)
		ram[i] = RAM_MARK;
	fill_dev();
	run_catching(rep_movsb_up, &op, &f);
	check(f.raised && f.vector == VEC_GP, what, "%s", f.raised ? trap_name(f.vector) : "no fault");
	for (uint32_t i = 0; i < RUN_HALF; i++)
		copied = copied && ram[i] == dev_byte(i);
	check(copied && f.ecx == count - RUN_HALF && f.edi == hv_start && f.esi == dev + RUN_HALF,
	      "redteam: ... the iterations before mhv's range are done and counted",
	      "RAM copied %d, ECX 0x%x EDI 0x%x ESI 0x%x", copied, f.ecx, f.edi, f.esi);
}

/* With DF=1 from the RAM above mhv's range down into it (when there is RAM above it). */
static void rep_down_into_hv(void)
{
	volatile uint32_t *above = (volatile uint32_t *)hv_end;
	struct str_op op = {.src = dev + 3 * sizeof(uint32_t), .dst = hv_end + sizeof(uint32_t),
			    .count = 4};
	struct fault f;

	fill_dev();
	above[0] = above[1] = ALL_ONES;
	if (above[0] != ALL_ONES || (above[0] = 0, above[0]) != 0) {
		gprintf("guest: redteam: no RAM above mhv's range: DF=1 run skipped\n");
		return;
	}
	run_catching(rep_movsl_down, &op, &f);
	check_fault("redteam: REP MOVSD with DF=1 from above down into mhv's range raises #GP", &f,
		    VEC_GP);
	check(above[1] == PATTERN + 12 && above[0] == PATTERN + 8 && f.ecx == 2 &&
		      f.edi == hv_end - sizeof(uint32_t),
	      "redteam: ... the two dwords above mhv's range are done and counted",
	      "got 0x%x 0x%x, ECX %u EDI 0x%x", above[1], above[0], f.ecx, f.edi);
}

/* ---- stale translations ---- */

static uint32_t stale_pt[ENTRIES] __aligned(PAGE_SIZE);
static uint8_t code_page[PAGE_SIZE] __aligned(PAGE_SIZE);

static void read_stale(void *arg)
{
	*(uint32_t *)arg = mmio_read32(STALE_LA);
}

static void call_stale_code(void *arg)
{
	uint32_t (*fn)(void) = (uint32_t (*)(void))(STALE_LA + PAGE_SIZE);

	*(uint32_t *)arg = fn();
}

static void stale_cache(void)
{
	volatile uint32_t *pde = (volatile uint32_t *)(read_cr3() & APIC_BASE_ADDR);
	uint32_t slot = STALE_LA >> LARGE_SHIFT, saved = pde[slot], got = 0;
	struct fault f;

	for (uint32_t i = 0; i < ENTRIES; i++)
		stale_pt[i] = 0;
	code_page[0] = CODE_MOV_EAX_MOFS;
	*(uint32_t *)(code_page + MOFFS_OFFSET) = dev;
	code_page[CODE_LEN - 1] = CODE_RET;
	stale_pt[0] = dev | PTE_P | PTE_RW;
	stale_pt[1] = (uint32_t)code_page | PTE_P | PTE_RW;
	pde[slot] = (uint32_t)stale_pt | PTE_P | PTE_RW;
	write_cr3(read_cr3());
	mmio_write32(dev, PATTERN);

	/* Fill the MMIO cache and the code TLB, then aim both pages at mhv without a flush. */
	run_catching(read_stale, &got, &f);
	check(!f.raised && got == PATTERN, "redteam: a device page mapped through a page table",
	      "%s, read 0x%x", f.raised ? trap_name(f.vector) : "no fault", got);
	run_catching(call_stale_code, &got, &f);
	check(!f.raised && got == PATTERN, "redteam: code in a page of that table reads the device",
	      "%s, read 0x%x", f.raised ? trap_name(f.vector) : "no fault", got);
	stale_pt[0] = hv_start | PTE_P | PTE_RW;
	stale_pt[1] = (hv_start + PAGE_SIZE) | PTE_P | PTE_RW;
	got = 0;
	run_catching(read_stale, &got, &f);
	check((f.raised && f.vector == VEC_GP) || (!f.raised && got == PATTERN),
	      "redteam: a device page remapped onto mhv without a flush: old page or #GP",
	      "%s, read 0x%x", f.raised ? trap_name(f.vector) : "no fault", got);
	got = 0;
	run_catching(call_stale_code, &got, &f);
	check((f.raised && f.vector == VEC_GP) || (!f.raised && got == PATTERN),
	      "redteam: a code page remapped onto mhv without a flush: old code or #GP",
	      "%s, read 0x%x", f.raised ? trap_name(f.vector) : "no fault", got);
	invlpg(STALE_LA);
	invlpg(STALE_LA + PAGE_SIZE);
	run_catching(read_stale, &got, &f);
	check_fault("redteam: ... after INVLPG the read reaches mhv's range: #GP", &f, VEC_GP);
	run_catching(call_stale_code, &got, &f);
	check_fault("redteam: ... after INVLPG the code fetch reaches mhv's range: #GP", &f,
		    VEC_GP);
	pde[slot] = saved;
	write_cr3(read_cr3());
}

static void write_dword(void *arg)
{
	*(volatile uint32_t *)(STALE_LA + PAGE_SIZE - 2) = *(uint32_t *)arg;
}

/* A dword write across [device page | mhv's first page]: #GP, and the device gets nothing. */
static void device_hv_straddle(void)
{
	volatile uint32_t *pde = (volatile uint32_t *)(read_cr3() & APIC_BASE_ADDR);
	uint32_t slot = STALE_LA >> LARGE_SHIFT, saved = pde[slot], val = ALL_ONES;
	struct fault f;

	for (uint32_t i = 0; i < ENTRIES; i++)
		stale_pt[i] = 0;
	stale_pt[0] = dev | PTE_P | PTE_RW;
	stale_pt[1] = hv_start | PTE_P | PTE_RW;
	pde[slot] = (uint32_t)stale_pt | PTE_P | PTE_RW;
	write_cr3(read_cr3());
	mmio_write32(dev + PAGE_SIZE - sizeof(uint32_t), PATTERN);
	run_catching(write_dword, &val, &f);
	check_fault("redteam: a dword write across [device|mhv] raises #GP", &f, VEC_GP);
	check_eq("redteam: ... and the device page got none of it",
		 mmio_read32(dev + PAGE_SIZE - sizeof(uint32_t)), PATTERN);
	pde[slot] = saved;
	write_cr3(read_cr3());
}

static void call_split_code(void *arg)
{
	uint32_t (*fn)(void) = (uint32_t (*)(void))(STALE_LA + 2 * PAGE_SIZE - 2);

	*(uint32_t *)arg = fn();
}

static void read_window1(void *arg)
{
	*(uint32_t *)arg = mmio_read32(STALE_LA + PAGE_SIZE);
}

static void write_pte_through_window(void *arg)
{
	*(volatile uint32_t *)(STALE_LA + sizeof(uint32_t)) = *(uint32_t *)arg;
}

/*
 * A page table that maps itself (la STALE_LA is the table, in an mmio=ram page): an emulated
 * write through it re-aims the next entry at mhv's range; what follows may use the old
 * translation or fault, never reach mhv.  And an instruction whose last bytes lie on a page
 * mapped onto mhv's range faults on the fetch.
 */
static void self_mapped_table_and_split_fetch(uint32_t table)
{
	volatile uint32_t *pde = (volatile uint32_t *)(read_cr3() & APIC_BASE_ADDR);
	uint32_t slot = STALE_LA >> LARGE_SHIFT, saved = pde[slot], got = 0,
		 entry = hv_start | PTE_P | PTE_RW;
	struct fault f;

	for (uint32_t i = 0; i < ENTRIES; i++)
		mmio_write32(table + i * sizeof(uint32_t), 0);
	mmio_write32(table, table | PTE_P | PTE_RW);
	mmio_write32(table + sizeof(uint32_t), dev | PTE_P | PTE_RW);
	pde[slot] = table | PTE_P | PTE_RW;
	write_cr3(read_cr3());
	mmio_write32(dev, PATTERN);
	got = mmio_read32(STALE_LA + PAGE_SIZE);
	check_eq("redteam: a page table in a device page maps the device through itself", got,
		 PATTERN);
	run_catching(write_pte_through_window, &entry, &f);
	check(!f.raised && mmio_read32(table + sizeof(uint32_t)) == entry,
	      "redteam: an emulated write through the self-mapped table re-aims its entry",
	      "%s", f.raised ? trap_name(f.vector) : "entry not written");
	invlpg(STALE_LA + PAGE_SIZE);
	run_catching(read_window1, &got, &f);
	check_fault("redteam: ... the re-aimed page (mhv's range) faults after INVLPG", &f, VEC_GP);

	/* page 1: guest code whose last bytes are on page 2, which is mhv's range */
	mmio_write32(table + sizeof(uint32_t), (uint32_t)code_page | PTE_P | PTE_RW);
	mmio_write32(table + 2 * sizeof(uint32_t), entry);
	invlpg(STALE_LA + PAGE_SIZE);
	invlpg(STALE_LA + 2 * PAGE_SIZE);
	code_page[PAGE_SIZE - 2] = CODE_MOV_EAX_MOFS;
	code_page[PAGE_SIZE - 1] = (uint8_t)dev;
	run_catching(call_split_code, &got, &f);
	check_fault("redteam: an instruction running onto a page mapped to mhv faults on the fetch",
		    &f, VEC_GP);
	pde[slot] = saved;
	write_cr3(read_cr3());
}

/* ---- XSETBV and hypercalls ---- */

struct xcr_write {
	uint32_t index;
	uint64_t value;
};

static void do_xsetbv(void *arg)
{
	const struct xcr_write *w = arg;

	asm volatile("xsetbv" ::"c"(w->index), "a"((uint32_t)w->value),
		     "d"((uint32_t)(w->value >> 32)));
}

static uint64_t xgetbv0(void)
{
	uint32_t lo, hi;

	asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (uint64_t)hi << 32 | lo;
}

static void xsetbv_odd(void)
{
	static const struct {
		const char *what;
		struct xcr_write w;
	} bad[] = {
		{"redteam: XSETBV XCR0=0 (x87 bit clear) raises #GP", {0, 0}},
		{"redteam: XSETBV XCR0 with AVX but not SSE raises #GP", {0, XCR0_X87 | XCR0_AVX_ONLY}},
		{"redteam: XSETBV XCR0 with reserved bit 62 raises #GP", {0, XCR0_X87 | XCR0_BIT62}},
		{"redteam: XSETBV to XCR1 raises #GP", {XCR_XINUSE, XCR0_X87}},
		{"redteam: XSETBV to XCR 0xFFFFFFFF raises #GP", {ALL_ONES, XCR0_X87}},
	};
	uint32_t cr4 = read_cr4();
	uint64_t xcr0;
	struct fault f;

	if (!(cpuid(1).ecx & CPUID1_ECX_XSAVE)) {
		gprintf("guest: redteam: no XSAVE: XSETBV checks skipped\n");
		return;
	}
	write_cr4(cr4 | CR4_OSXSAVE);
	xcr0 = xgetbv0();
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		run_catching(do_xsetbv, (void *)&bad[i].w, &f);
		check_fault(bad[i].what, &f, VEC_GP);
	}
	check_eq("redteam: XCR0 unchanged by the refused XSETBVs", xgetbv0(), xcr0);
	{
		struct xcr_write ok = {0, XCR0_X87};

		run_catching(do_xsetbv, &ok, &f);
		check(!f.raised && xgetbv0() == XCR0_X87, "redteam: XSETBV XCR0=1 (x87 only) works",
		      "%s, XCR0 0x%llx", f.raised ? trap_name(f.vector) : "no fault",
		      (unsigned long long)xgetbv0());
		ok.value = xcr0;
		run_catching(do_xsetbv, &ok, &f);
	}
	write_cr4(cr4);
}

static void wild_hypercalls(void)
{
	static const uint32_t nr[] = {HC_EXIT_COUNT, HC_MMIO_COUNTER, HC_FLUSH_COUNT,
				      HC_MMIO_REGION, HC_MMIO_DEVICE, HC_HW_MSR};
	static const uint32_t args[] = {0x7FFFFFFFu, ALL_ONES, 0x80000000u};
	unsigned bad = 0;

	for (unsigned i = 0; i < sizeof(nr) / sizeof(nr[0]); i++)
		for (unsigned j = 0; j < sizeof(args) / sizeof(args[0]); j++)
			if (hypercall(nr[i], args[j], ALL_ONES, ALL_ONES, NULL) != (uint32_t)HC_ENOSYS)
				bad++;
	check_eq("redteam: hypercalls with wild indices answer HC_ENOSYS", bad, 0);
	check_eq("redteam: an unknown hypercall number answers HC_ENOSYS",
		 hypercall(ALL_ONES, ALL_ONES, ALL_ONES, ALL_ONES, NULL), (uint32_t)HC_ENOSYS);
}

/* ---- INVPCID: the CPU's checks apply to an intercepted one too ---- */

#define CPUID7_EBX_INVPCID (1u << 10)
#define INVPCID_ALL_GLOBAL 2u
#define INVPCID_TYPE_BAD   4u
#define PCID_TOO_BIG	   4096u

struct invpcid_op {
	uint32_t type;
	const uint64_t *desc;
};

static void do_invpcid(void *arg)
{
	const struct invpcid_op *op = arg;

	asm volatile("invpcid (%0), %1" ::"r"(op->desc), "r"(op->type) : "memory");
}

static void invpcid_checks(void)
{
	static uint64_t desc[2] __aligned(16);
	struct invpcid_op op = {.type = INVPCID_ALL_GLOBAL, .desc = desc};
	struct fault f;

	if (!(cpuid_count(7, 0).ebx & CPUID7_EBX_INVPCID)) {
		gprintf("guest: redteam: no INVPCID: INVPCID checks skipped\n");
		return;
	}
	desc[0] = desc[1] = 0;
	run_catching(do_invpcid, &op, &f);
	check_no_fault("redteam: INVPCID type 2 (all, with globals) works", &f);
	op.type = INVPCID_TYPE_BAD;
	run_catching(do_invpcid, &op, &f);
	check_fault("redteam: INVPCID type 4 raises #GP", &f, VEC_GP);
	op.type = 0;
	desc[0] = PCID_TOO_BIG;
	run_catching(do_invpcid, &op, &f);
	check_fault("redteam: INVPCID type 0 with PCID 4096 raises #GP", &f, VEC_GP);
	op.type = INVPCID_ALL_GLOBAL;
	op.desc = (const uint64_t *)hv_start;
	run_catching(do_invpcid, &op, &f);
	check_fault("redteam: INVPCID with its descriptor in mhv's range raises #GP", &f, VEC_GP);
}

/* ---- CR0 combinations the CPU refuses ---- */

#define CR0_NW (1u << 29)
#define CR0_CD (1u << 30)

static void set_cr0(void *arg)
{
	write_cr0(*(uint32_t *)arg);
}

static void cr0_checks(void)
{
	uint32_t cr0 = read_cr0(), v;
	struct fault f;

	v = (cr0 & ~CR0_CD) | CR0_NW;
	run_catching(set_cr0, &v, &f);
	check_fault("redteam: CR0.NW=1 with CD=0 raises #GP", &f, VEC_GP);
	v = cr0 & ~CR0_PE;
	run_catching(set_cr0, &v, &f);
	check_fault("redteam: CR0.PG=1 with PE=0 raises #GP", &f, VEC_GP);
	check_eq("redteam: CR0 unchanged by the refused writes", read_cr0(), cr0);
	v = cr0 | CR0_CD | CR0_NW;
	run_catching(set_cr0, &v, &f);
	check(!f.raised && mmio_read32(dev) == PATTERN && hv_present(),
	      "redteam: CR0.CD=NW=1 accepted, MMIO and hypercalls still work", "%s",
	      f.raised ? trap_name(f.vector) : "no fault");
	write_cr0(cr0);
}

/* ---- the xAPIC ICR with odd widths ---- */

static uintptr_t apic;

static uint32_t ipis_dropped(void)
{
	return hypercall(HC_IPIS_DROPPED, 0, 0, 0, NULL);
}

static void icr_byte(void *arg)
{
	(void)arg;
	*(volatile uint8_t *)(apic + APIC_ICR_LOW + 1) = ICR_MODE_BYTE_INIT;
}

static void icr_cmpxchg8b(void *arg)
{
	volatile uint64_t *q = (volatile uint64_t *)(apic + APIC_QWORD_BELOW);
	/* The compare succeeds (EDX:EAX = the current qword), so ECX:EBX is what gets written:
	 * after earlier IPIs the ICR may hold another command, and a failed compare would only
	 * write that back. */
	uint32_t lo = mmio_read32(apic + APIC_QWORD_BELOW), hi = mmio_read32(apic + APIC_ICR_LOW);

	(void)arg;
	asm volatile("lock cmpxchg8b %2"
		     : "+a"(lo), "+d"(hi), "+m"(*q)
		     : "b"(0), "c"(ICR_INIT_ASSERT)
		     : "memory", "cc");
}

static void icr_xchg(void *arg)
{
	uint32_t v = ICR_INIT_ASSERT;

	(void)arg;
	asm volatile("xchgl %0, %1" : "+r"(v), "+m"(*(volatile uint32_t *)(apic + APIC_ICR_LOW))
		     : : "memory");
}

static bool smp_guest(void)
{
	uint32_t vcpus = hypercall(HC_VCPUS, 0, 0, 0, NULL);

	return vcpus != (uint32_t)HC_ENOSYS && vcpus > 1;
}

/*
 * An INIT written into the ICR by an odd-width access.  Aimed at the other CPU; with SMP an
 * INIT to another vCPU is the guest's own business (a virtual INIT, not a drop), so there it
 * is aimed at this vCPU, which mhv refuses (counted) as it refuses any INIT to its sender.
 */
static void icr_attack(const char *what, void (*fn)(void *))
{
	uint32_t self = mmio_read32(apic + APIC_ID_REG) >> XAPIC_ID_SHIFT, before = ipis_dropped();
	struct fault f;

	mmio_write32(apic + APIC_ICR_HIGH, (smp_guest() ? self : self + 1) << XAPIC_ID_SHIFT);
	run_catching(fn, NULL, &f);
	check(!f.raised && ipis_dropped() - before >= 1, what, "%s, HC_IPIS_DROPPED moved by %u",
	      f.raised ? trap_name(f.vector) : "no fault", ipis_dropped() - before);
}

#define APIC_TPR	   0x080
#define APIC_ID_TOP_BYTE   (APIC_ID_REG + 3)
#define APIC_ID_RESERVED   (APIC_ID_REG + 4) /* bytes 4-15 of a register's slot */
#define TPR_PROBE	   0x10u

/* Anything but a 32-bit access at a 16-byte boundary is undefined on the APIC: never sent. */
static void apic_odd_widths(void)
{
	uint32_t id = mmio_read32(apic + APIC_ID_REG) >> XAPIC_ID_SHIFT;
	uint32_t tpr = mmio_read32(apic + APIC_TPR);

	check_eq("redteam: a byte read of the APIC ID's top byte gives the ID",
		 *(volatile uint8_t *)(apic + APIC_ID_TOP_BYTE), id);
	check_eq("redteam: a dword read of a register slot's reserved bytes reads 0",
		 mmio_read32(apic + APIC_ID_RESERVED), 0);
	*(volatile uint8_t *)(apic + APIC_TPR) = TPR_PROBE;
	check_eq("redteam: a byte write to the TPR is dropped (TPR unchanged)",
		 mmio_read32(apic + APIC_TPR), tpr);
}

static void icr_odd_widths(void)
{
	uint64_t base = rdmsr(MSR_IA32_APIC_BASE);

	if (!(base & APIC_BASE_EN) || (base & APIC_BASE_X2APIC)) {
		gprintf("guest: redteam: xAPIC not enabled: ICR width checks skipped\n");
		return;
	}
	apic = (uintptr_t)(base & APIC_BASE_ADDR);
	icr_attack("redteam: a byte write of INIT into the ICR's mode byte is dropped", icr_byte);
	icr_attack("redteam: a CMPXCHG8B across 0x2FC-0x303 (INIT into the ICR) is dropped",
		   icr_cmpxchg8b);
	icr_attack("redteam: XCHG of an INIT into the ICR is dropped", icr_xchg);
	apic_odd_widths();
}

/* ---- the console UART's ports, reached by wider accesses that start outside them ---- */

#define COM1	    serial_port() /* mhv's console UART (COM1, or serial=pci's) */
#define COM1_DLL    COM1	 /* with LCR.DLAB */
#define COM1_LCR    (COM1 + 3)
#define COM1_MCR    (COM1 + 4)
#define COM1_SCR    (COM1 + 7)
#define LCR_DLAB    0x80u
#define BELOW_COM1  (COM1 - 1) /* a word here covers COM1's first port */
#define DLL_PROBE   0x5Au
#define DLL_PROBE2  0xA5u
#define SCR_PROBE   0xC3u
#define BYTE_BITS   8
#define DWORD_TOP   24 /* the fourth byte of a dword */

/*
 * mhv models the console UART.  A word at COM1 - 1 or a dword at COM1 + 4 covers model
 * ports and others: the model's bytes must go to the model (the divisor latch mhv keeps for
 * the guest, the scratch register), never to the real UART around it.
 */
static void uart_wide_accesses(void)
{
	uint8_t lcr = inb(COM1_LCR), mcr = inb(COM1_MCR), scr = inb(COM1_SCR), dll, got_in, got_out;

	/* With DLAB set nothing may be printed: the guest's console writes would go to DLL. */
	outb(COM1_LCR, lcr | LCR_DLAB);
	dll = inb(COM1_DLL);
	outb(COM1_DLL, DLL_PROBE);
	got_in = (uint8_t)(inw(BELOW_COM1) >> BYTE_BITS);
	outw(BELOW_COM1, DLL_PROBE2 << BYTE_BITS);
	got_out = inb(COM1_DLL);
	outb(COM1_DLL, dll);
	outb(COM1_LCR, lcr);
	check_eq("redteam: a word IN at COM1-1 reads COM1's byte from mhv's model (DLL)", got_in,
		 DLL_PROBE);
	check_eq("redteam: a word OUT at COM1-1 writes COM1's byte into mhv's model (DLL)",
		 got_out, DLL_PROBE2);
	outl(COM1_MCR, mcr | (uint32_t)SCR_PROBE << DWORD_TOP);
	check_eq("redteam: a dword OUT at COM1+4 reaches the scratch register at COM1+7",
		 inb(COM1_SCR), SCR_PROBE);
	outb(COM1_SCR, scr);
}

/* ---- string I/O (mhv's own path, not the emulator) with a buffer in mhv's range ---- */

#define SCR_MARK 0x3Cu

struct sio_op {
	uint32_t buf, count;
	bool word;
};

static void rep_outs(void *arg)
{
	struct sio_op *op = arg;
	uint32_t s = op->buf, c = op->count;

	if (op->word)
		asm volatile("cld; rep outsw" : "+S"(s), "+c"(c) : "d"(COM1_SCR) : "memory");
	else
		asm volatile("cld; rep outsb" : "+S"(s), "+c"(c) : "d"(COM1_SCR) : "memory");
}

static void rep_ins(void *arg)
{
	struct sio_op *op = arg;
	uint32_t d = op->buf, c = op->count;

	if (op->word)
		asm volatile("cld; rep insw" : "+D"(d), "+c"(c) : "d"(COM1_SCR) : "memory");
	else
		asm volatile("cld; rep insb" : "+D"(d), "+c"(c) : "d"(COM1_SCR) : "memory");
}

static void string_io_into_hv(void)
{
	volatile uint8_t *ram = (volatile uint8_t *)(hv_start - 2);
	struct sio_op op = {.buf = hv_start, .count = 1};
	uint8_t scr = inb(COM1_SCR);
	struct fault f;

	ram[0] = RAM_MARK;
	ram[1] = RAM_MARK + 1;
	outb(COM1_SCR, SCR_MARK);
	run_catching(rep_outs, &op, &f);
	check(f.raised && f.vector == VEC_GP && inb(COM1_SCR) == SCR_MARK,
	      "redteam: OUTSB from mhv's range raises #GP and sends nothing", "%s, SCR 0x%x",
	      f.raised ? trap_name(f.vector) : "no fault", inb(COM1_SCR));
	op = (struct sio_op){.buf = hv_start - 1, .count = 1, .word = true};
	run_catching(rep_outs, &op, &f);
	check(f.raised && f.vector == VEC_GP && inb(COM1_SCR) == SCR_MARK,
	      "redteam: OUTSW from [RAM|mhv] raises #GP and sends nothing", "%s, SCR 0x%x",
	      f.raised ? trap_name(f.vector) : "no fault", inb(COM1_SCR));
	run_catching(rep_ins, &op, &f);
	check(f.raised && f.vector == VEC_GP && ram[1] == RAM_MARK + 1,
	      "redteam: INSW into [RAM|mhv] raises #GP and writes nothing, not even the RAM byte",
	      "%s, RAM byte 0x%x", f.raised ? trap_name(f.vector) : "no fault", ram[1]);
	op = (struct sio_op){.buf = hv_start - 2, .count = 4};
	run_catching(rep_ins, &op, &f);
	check(f.raised && f.vector == VEC_GP && ram[0] == SCR_MARK && ram[1] == SCR_MARK &&
		      f.ecx == 2 && f.edi == hv_start,
	      "redteam: REP INSB running into mhv's range: the RAM part done, #GP at the boundary",
	      "%s, RAM 0x%x 0x%x, ECX %u EDI 0x%x", f.raised ? trap_name(f.vector) : "no fault",
	      ram[0], ram[1], f.ecx, f.edi);
	ram[1] = RAM_MARK;
	run_catching(rep_outs, &op, &f);
	check(f.raised && f.vector == VEC_GP && inb(COM1_SCR) == RAM_MARK && f.ecx == 2 &&
		      f.esi == hv_start,
	      "redteam: REP OUTSB running into mhv's range: the RAM part sent, #GP at the boundary",
	      "%s, SCR 0x%x, ECX %u ESI 0x%x", f.raised ? trap_name(f.vector) : "no fault",
	      inb(COM1_SCR), f.ecx, f.esi);
	outb(COM1_SCR, scr);
}

/* ---- a PCI memory BAR moved over mhv's range ---- */

#define PCI_DEVS	32u
#define PCI_BAR0	0x10
#define PCI_BARS	6u
#define PCI_NO_DEVICE	0xFFFFu
#define BAR_IO		1u
#define BAR_TYPE_MASK	6u /* 0: 32-bit memory */
#define BAR_ADDR_MASK	0xFFFFFFF0u

/* The first 32-bit memory BAR on bus 0 (function 0s): false if none. */
static bool find_mem_bar(uint32_t *dev, uint8_t *reg, uint32_t *size)
{
	for (uint32_t d = 0; d < PCI_DEVS; d++) {
		if ((pci_read(d, 0) & PCI_NO_DEVICE) == PCI_NO_DEVICE)
			continue;
		for (uint8_t r = PCI_BAR0; r < PCI_BAR0 + PCI_BARS * sizeof(uint32_t);
		     r += sizeof(uint32_t)) {
			uint32_t old = pci_read(d, r), probe;

			if (!old || (old & (BAR_IO | BAR_TYPE_MASK)))
				continue;
			pci_write(d, r, ALL_ONES);
			probe = pci_read(d, r) & BAR_ADDR_MASK;
			pci_write(d, r, old);
			if (!probe)
				continue;
			*dev = d;
			*reg = r;
			*size = ~probe + 1;
			return true;
		}
	}
	return false;
}

/*
 * A device's memory BAR aimed over mhv's range: wherever the platform lets RAM win or the BAR,
 * mhv must go on answering, and its emulator must keep working.
 */
static void pci_bar_over_hv(void)
{
	uint32_t dev_nr, size, old, got;
	uint8_t reg;

	if (!find_mem_bar(&dev_nr, &reg, &size)) {
		gprintf("guest: redteam: no 32-bit memory BAR on bus 0: BAR check skipped\n");
		return;
	}
	old = pci_read(dev_nr, reg);
	gprintf("guest: redteam: PCI 0:%u BAR at 0x%x (0x%x, %u KiB) moved over mhv at 0x%x\n",
		dev_nr, reg, old, size >> 10, hv_start);
	pci_write(dev_nr, reg, (hv_start & ~(size - 1)) | (old & ~BAR_ADDR_MASK));
	got = hypercall(HC_HV_RANGE, 0, 0, 0, NULL);
	mmio_write32(dev, PATTERN);
	check(got == hv_start && mmio_read32(dev) == PATTERN && hypercall(HC_VERSION, 0, 0, 0, NULL),
	      "redteam: a PCI BAR moved over mhv's range: mhv still answers and emulates",
	      "HC_HV_RANGE 0x%x", got);
	pci_write(dev_nr, reg, old);
}

/*
 * ---- the IOAPIC: interrupt messages to the parked CPU that no ICR write sends ----
 *
 * SMP (HC_VCPUS > 1): the other CPU is a vCPU of this guest that mhv holds in wait-for-SIPI
 * (test_smp starts the APs later).  SMI and INIT to it are still refused; an NMI to it is a
 * message between the guest's own CPUs and goes out, and the held vCPU drops it in mhv (it
 * stays held: HC_PARKED_INTERRUPTS counts it); fixed entries to any vCPU are accepted, to an
 * APIC ID that is no vCPU refused.
 */

#define IOAPIC_BASE	   0xFEC00000u /* the PC-compatible default (QEMU, Bochs) */
#define IOAPIC_WIN	   0x10
#define IOAPIC_VER	   0x01
#define IOAPIC_REDTBL	   0x10
#define IOAPIC_MASKED	   (1u << 16)
#define IOAPIC_DEST_SHIFT  24
#define IOAPIC_MODE_SMI	   (2u << 8)
#define IOAPIC_MODE_NMI	   (4u << 8)
#define IOAPIC_MODE_INIT   (5u << 8)
#define IOAPIC_VER_NONE	   0xFFu
#define PIT_PINS	   2 /* ISA IRQ0: pin 0, or pin 2 behind the usual override */
#define PIT_CH0_DATA	   0x40
#define PIT_CMD		   0x43
#define PIT_CMD_CH0_RATE   0x34
#define PIT_CMD_CH0_STOP   0x30 /* mode 0 without a count: OUT stays low */
#define PIT_FAST_DIVISOR   1193u /* ~1 kHz */
#define PARK_POLLS	   4000u
#define VER_MAX_SHIFT	   16 /* version register: index of the last entry */
#define IOAPIC_REG_LIMIT   0x100

static const uint8_t pit_pins[PIT_PINS] = {0, 2};

static uint32_t ioapic_read(uint8_t reg)
{
	mmio_write32(IOAPIC_BASE, reg);
	return mmio_read32(IOAPIC_BASE + IOAPIC_WIN);
}

static void ioapic_write(uint8_t reg, uint32_t v)
{
	mmio_write32(IOAPIC_BASE, reg);
	mmio_write32(IOAPIC_BASE + IOAPIC_WIN, v);
}

static uint32_t park_count(void)
{
	return hypercall(HC_PARKED_INTERRUPTS, 0, 0, 0, NULL);
}

/*
 * Route the PIT's ticks through the IOAPIC as mode to APIC ID dest for a while.  With
 * until_moves, stop as soon as a parked CPU takes an interrupt: true if one did.
 */
static bool ioapic_send(uint32_t mode, uint32_t dest, bool until_moves)
{
	uint32_t saved[PIT_PINS][2], before = park_count();
	bool moved = false;

	for (unsigned i = 0; i < PIT_PINS; i++) {
		uint8_t reg = (uint8_t)(IOAPIC_REDTBL + 2 * pit_pins[i]);

		saved[i][0] = ioapic_read(reg);
		saved[i][1] = ioapic_read(reg + 1);
		ioapic_write(reg, IOAPIC_MASKED);
		ioapic_write(reg + 1, dest << IOAPIC_DEST_SHIFT);
		ioapic_write(reg, mode); /* edge, active high, physical, unmasked */
	}
	outb(PIT_CMD, PIT_CMD_CH0_RATE);
	outb(PIT_CH0_DATA, PIT_FAST_DIVISOR & 0xFF);
	outb(PIT_CH0_DATA, PIT_FAST_DIVISOR >> BYTE_BITS);
	for (unsigned t = 0; t < PARK_POLLS && !(until_moves && moved); t++)
		moved = park_count() != before;
	for (unsigned i = 0; i < PIT_PINS; i++) {
		uint8_t reg = (uint8_t)(IOAPIC_REDTBL + 2 * pit_pins[i]);

		ioapic_write(reg, saved[i][0] | IOAPIC_MASKED);
		ioapic_write(reg + 1, saved[i][1]);
		ioapic_write(reg, saved[i][0]);
	}
	outb(PIT_CMD, PIT_CMD_CH0_STOP);
	return moved;
}

/*
 * SMM entry is SMBASE + 0x8000; SMBASE is 0x30000 after reset, and firmware that never
 * relocates a CPU's SMBASE leaves its SMM entry in ordinary RAM: plant a store of a marker
 * there ("addr32 mov dword [disp32], imm32; hlt; jmp $-1") to see whether an SMI runs it.
 */
#define SMM_ENTRY_DEFAULT 0x38000u
#define SMM_MARKER	  0xDEADC0DEu
#define SMM_DISP_OFFSET	  4
#define SMM_IMM_OFFSET	  8

static volatile uint32_t smm_marker;

static void plant_smm_store(void)
{
	static const uint8_t code[] = {0x67, 0x66, 0xC7, 0x05, 0, 0, 0, 0, 0, 0, 0, 0, 0xF4, 0xEB, 0xFD};
	uint8_t *entry = (uint8_t *)SMM_ENTRY_DEFAULT;
	uint32_t addr = (uint32_t)&smm_marker, imm = SMM_MARKER;

	for (unsigned i = 0; i < sizeof(code); i++)
		entry[i] = code[i];
	for (unsigned i = 0; i < sizeof(uint32_t); i++) {
		entry[SMM_DISP_OFFSET + i] = (uint8_t)(addr >> (BYTE_BITS * i));
		entry[SMM_IMM_OFFSET + i] = (uint8_t)(imm >> (BYTE_BITS * i));
	}
	smm_marker = 0;
}

/* One IOAPIC message to the parked (held) CPU: dropped by mhv, and that CPU never takes it. */
static void ioapic_attack(const char *what, uint32_t mode, uint32_t other)
{
	uint32_t parked = park_count(), before = ipis_dropped();

	ioapic_send(mode, other, true);
	check(ipis_dropped() != before && park_count() == parked, what,
	      "HC_IPIS_DROPPED moved by %u, parked CPU took %u interrupts",
	      ipis_dropped() - before, park_count() - parked);
}

#define IOAPIC_MODE_FIXED 0u
#define SELF_VECTOR	  0xEEu /* stays pending: interrupts are off (test_contain_cpus uses it too) */

/*
 * Program (no PIT ticks: the last pin, which nothing drives) one edge-triggered entry as
 * mode to dest and put it back; returns how far HC_IPIS_DROPPED moved.
 */
static uint32_t ioapic_program_only(uint32_t mode, uint32_t dest)
{
	uint8_t reg = (uint8_t)(IOAPIC_REDTBL + 2 * ((ioapic_read(IOAPIC_VER) >> VER_MAX_SHIFT) &
						     0xFF));
	uint32_t lo = ioapic_read(reg), hi = ioapic_read(reg + 1), before = ipis_dropped();

	ioapic_write(reg, IOAPIC_MASKED);
	ioapic_write(reg + 1, dest << IOAPIC_DEST_SHIFT);
	ioapic_write(reg, mode);
	ioapic_write(reg, lo | IOAPIC_MASKED);
	ioapic_write(reg + 1, hi);
	ioapic_write(reg, lo);
	return ipis_dropped() - before;
}

#define NO_CPU_APIC_ID 0x7Eu /* no CPU of the test machines (IDs from 0) */

/* SMP: an NMI to a held vCPU goes out and is dropped in mhv; fixed entries to vCPUs pass. */
static bool interrupt_remapping(void)
{
	struct hc_regs r = {.eax = HC_IOMMU_STATUS};

	hc_native(&r);
	return r.eax != (uint32_t)HC_ENOSYS && (r.eax & IOMMU_STATUS_INTREMAP);
}

static void ioapic_smp(uint32_t self, uint32_t other)
{
	uint32_t held = park_count(), before = ipis_dropped();
	bool took;

	took = ioapic_send(IOAPIC_MODE_NMI, other, true);
	if (interrupt_remapping()) /* the IOAPIC's messages are remapped too: no NMI passes
				    * (AMD-Vi: the IOMMU refuses it; VT-d: mhv writes no entry for
				    * it and counts it refused) */
		check(!took,
		      "redteam: smp: an IOAPIC NMI to a held vCPU is blocked by interrupt "
		      "remapping",
		      "held vCPU took %u NMIs, HC_IPIS_DROPPED moved by %u", park_count() - held,
		      ipis_dropped() - before);
	else
		check(took && ipis_dropped() == before,
		      "redteam: smp: an IOAPIC NMI to a held vCPU goes out and mhv drops it there",
		      "held vCPU took %u NMIs, HC_IPIS_DROPPED moved by %u", park_count() - held,
		      ipis_dropped() - before);
	check_eq("redteam: smp: an IOAPIC fixed entry aimed at another vCPU is accepted "
		 "(HC_IPIS_DROPPED unchanged)",
		 ioapic_program_only(IOAPIC_MODE_FIXED | SELF_VECTOR, other), 0);
	check_eq("redteam: smp: an IOAPIC fixed entry aimed at this vCPU is accepted",
		 ioapic_program_only(IOAPIC_MODE_FIXED | SELF_VECTOR, self), 0);
	check_eq("redteam: smp: an IOAPIC entry aimed at an APIC ID that is no vCPU is refused "
		 "(HC_IPIS_DROPPED moved by 1)",
		 ioapic_program_only(IOAPIC_MODE_FIXED | SELF_VECTOR, NO_CPU_APIC_ID), 1);
}

static void ioapic_to_parked_cpu(void)
{
	uint32_t self, other, undefined, vcpus = hypercall(HC_VCPUS, 0, 0, 0, NULL);
	bool smp = vcpus != (uint32_t)HC_ENOSYS && vcpus > 1;
	const char *who = smp ? "held vCPU" : "parked CPU";

	if ((ioapic_read(IOAPIC_VER) & IOAPIC_VER_NONE) == IOAPIC_VER_NONE || !apic ||
	    !park_count()) {
		gprintf("guest: redteam: no IOAPIC at 0x%x, xAPIC or parked CPU: IOAPIC checks "
			"skipped\n",
			IOAPIC_BASE);
		return;
	}
	self = mmio_read32(apic + APIC_ID_REG) >> XAPIC_ID_SHIFT;
	other = self + 1;
	gprintf("guest: redteam: IOAPIC messages to the %s (APIC ID %u)\n", who, other);
	/* Bochs' IOAPIC stops the machine on a register it does not have: mhv never sends one. */
	undefined = IOAPIC_REDTBL + 2 * (((ioapic_read(IOAPIC_VER) >> VER_MAX_SHIFT) & 0xFF) + 1);
	if (undefined < IOAPIC_REG_LIMIT) {
		ioapic_write((uint8_t)undefined, ALL_ONES);
		check_eq("redteam: an undefined IOAPIC register reads 0 (and the machine runs on)",
			 ioapic_read((uint8_t)undefined), 0);
	}
	if (smp)
		ioapic_smp(self, other);
	else
		ioapic_attack("redteam: an IOAPIC NMI to the parked CPU is dropped",
			      IOAPIC_MODE_NMI, other);
	plant_smm_store();
	ioapic_attack(smp ? "redteam: an IOAPIC SMI to a held vCPU is dropped"
			  : "redteam: an IOAPIC SMI to the parked CPU is dropped",
		      IOAPIC_MODE_SMI, other);
	check_eq("redteam: ... and no guest code ran in SMM on it (marker untouched)", smm_marker,
		 0);
	ioapic_attack(smp ? "redteam: an IOAPIC INIT to a held vCPU is dropped"
			  : "redteam: an IOAPIC INIT to the parked CPU is dropped",
		      IOAPIC_MODE_INIT, other);
	ioapic_attack("redteam: an IOAPIC INIT to this CPU is dropped", IOAPIC_MODE_INIT, self);

	/* What a guest OS needs still works: a fixed interrupt to this CPU (left pending). */
	ioapic_send(IOAPIC_MODE_FIXED | SELF_VECTOR, self, false);
	check_either(xapic_irr_has(apic, SELF_VECTOR),
		     "redteam: an IOAPIC fixed interrupt to this CPU still arrives (IRR bit set)",
		     "redteam: an IOAPIC fixed interrupt to this CPU never arrived (IRR bit clear)");
}

static uint32_t pt_page; /* the last page of a second mmio=ram region, or 0 */

static bool find_ram_page(void)
{
	for (uint32_t n = 0;; n++) {
		struct hc_regs r = {.eax = HC_MMIO_REGION, .ebx = n};

		hc_native(&r);
		if (r.eax == (uint32_t)HC_ENOSYS)
			return dev != 0;
		if (r.ecx != MMIO_TYPE_RAM || r.ebx < PAGE_SIZE)
			continue;
		/* Their last pages: the other tests use the first ones. */
		if (!dev)
			dev = r.eax + r.ebx - PAGE_SIZE;
		else if (!pt_page)
			pt_page = r.eax + r.ebx - PAGE_SIZE;
	}
}

void test_contain_redteam(void)
{
	hv_start = hypercall(HC_HV_RANGE, 0, 0, 0, &hv_end);
	if (!find_ram_page() || !(read_cr0() & CR0_PG)) {
		gprintf("guest: redteam: needs an mmio=ram region and paging on: skipped\n");
		return;
	}
	straddle();
	rep_into_hv("redteam: REP MOVSB (16) from a device page into mhv's range raises #GP",
		    RUN_BYTES);
	rep_into_hv("redteam: REP MOVSB (2^32-1) from a device page into mhv's range raises #GP",
		    ALL_ONES);
	rep_down_into_hv();
	stale_cache();
	device_hv_straddle();
	if (pt_page)
		self_mapped_table_and_split_fetch(pt_page);
	xsetbv_odd();
	invpcid_checks();
	cr0_checks();
	wild_hypercalls();
	uart_wide_accesses();
	string_io_into_hv();
	pci_bar_over_hv();
	icr_odd_widths();
	ioapic_to_parked_cpu();
}
