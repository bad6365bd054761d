/*
 * mhv's MMIO path, from the inside.  mhv leaves its MMIO regions (mmio=ram@.../deny@... on its
 * command line) out of EPT/NPT, so every access exits and mhv decodes, emulates and dispatches
 * it to the region's device; each vCPU caches the last MMIO translation (linear page -> gfn +
 * access rights) and every TLB flush it intercepts clears that cache.
 *
 * Every check compares what the device saw (HC_MMIO_DEVICE: reads, writes, bytes each way,
 * before/after deltas) with exactly the accesses the check made, so an access that went to
 * the wrong region, went twice or went nowhere fails even if the value happens to match.
 * Counter snapshots are hypercalls: they exit but flush nothing, so they do not disturb the
 * cache they measure.
 *
 * Layout expected (the boot test's): region 0 and 1 are ram (region 0 at least 2 pages) and one
 * region is deny.  Paging is off on entry (physical checks), then 32-bit paging with our own
 * page directories: all 4 GiB identity-mapped with 4 MiB user pages (so ring 3 can run the
 * kernel image and the regions stay reachable at their physical address), except the top
 * 4 MiB, a window of 4 KiB pages each test maps to regions, RAM or nothing.
 */
#include <stddef.h>

#include "core/hypercall_abi.h"
#include "lib/compiler.h"
#include "lib/fmt.h"
#include "tests/guest/cpu.h"
#include "tests/guest/hv.h"
#include "tests/guest/paging32.h"
#include "tests/guest/report.h"
#include "tests/guest/segments.h"
#include "tests/guest/tests.h"
#include "tests/guest/trap.h"

#define PF_ERR_P    (1u << 0) /* protection violation (else not present) */
#define PF_ERR_W    (1u << 1) /* write access */
#define PF_ERR_U    (1u << 2) /* CPL 3 access */
#define CR4_PAE	    (1u << 5)
#define CR4_PGE	    (1u << 7)
#define CR4_SMEP    (1u << 20)
#define CR4_SMAP    (1u << 21)
#define WINDOW_PDE  (ENTRIES - 1)
#define WINDOW	    ((uintptr_t)WINDOW_PDE << LARGE_SHIFT)

/* Window pages: each test maps its own, so no test depends on another's mappings. */
enum window_page {
	WIN_REMAP,
	WIN_AS,
	WIN_SPLIT, /* and WIN_SPLIT + 1 */
	WIN_SPLIT_HI,
	WIN_RAMSPLIT, /* RAM page, then region 0 */
	WIN_RAMSPLIT_HI,
	WIN_STRING,
	WIN_STALE,
	WIN_USER,
	WIN_SUPER,
	WIN_USPLIT, /* user RAM page, then a supervisor-only region page */
	WIN_USPLIT_HI,
	WIN_RO,
	WIN_BENCH,
	WIN_SHORT, /* the short path's remap at one RIP */
	WIN_DELIV, /* RAM: an IDT's first gates, then WIN_DELIV_DEV: its #PF gate on a device */
	WIN_DELIV_DEV,
	WIN_DELIV_HOLE, /* never mapped */
	WIN_RMW,	/* region 0's first page, writable, then WIN_RMW_RO: read-only */
	WIN_RMW_RO,
};

/* Regions by index, as the boot test configures them. */
#define R0	     0
#define R1	     1
#define MAX_REGIONS  8 /* we track (and expect) no more */
#define R0_MIN_PAGES 2 /* the in-region straddle needs two pages */

/* Offsets inside a region page: one per check, so a stray access cannot pass for another. */
#define OFF_PHYS8   0x10
#define OFF_PHYS16  0x20
#define OFF_PHYS32  0x30
#define OFF_GVA	    0x40
#define OFF_AS	    0x50
#define OFF_USER    0x60
#define OFF_SUPER   0x70
#define OFF_RO	    0x80
#define OFF_STRING  0x100 /* STR_LEN bytes */
#define OFF_STALE   0x200
#define OFF_BENCH   0x300
#define OFF_SHORT   0x210 /* beside test_stale's word */
#define OFF_RMW	    0x220
#define OFF_DENY    0x0
#define OFF_PAGE_HI (PAGE_SIZE - 2) /* a 4-byte access here straddles into the next page */

#define VAL8	       0x5Au
#define VAL16	       0xA55Au
#define VAL32	       0x12345678u
#define VAL_GVA0       0x0DDBA11u
#define VAL_GVA1       0xC0FFEE01u
#define VAL_AS	       0xA5000000u /* + switch number */
#define VAL_USER       0x05E20001u
#define VAL_SUPER      0x5EC00001u
#define VAL_RO	       0x0EAD0001u
#define VAL_SPLIT      0x44332211u
#define VAL_RAMSPLIT   0xDDCCBBAAu
#define VAL_STALE_OLD0 0x01D00000u /* region 0 before the stale test writes */
#define VAL_STALE_OLD1 0x01D00001u
#define VAL_STALE_X    0x57A1E000u /* through the first mapping */
#define VAL_STALE_Y    0x57A1E001u /* after the remap, without INVLPG */
#define VAL_STALE_Z    0x57A1E002u /* after INVLPG */
#define VAL_DENY_WRITE 0x87654321u
#define ALL_ONES32     0xFFFFFFFFu

#define AS_SWITCHES 8 /* CR3 switches in the address-space test (even: ends on pd_a) */
#define STR_LEN	    64
#define STR_SEED0   1 /* first case's pattern seed; each case uses the next */
#define PAT_MUL	    0x25u
#define PAT_STEP    7u
#define BYTE_BITS   8
#define NAME_LEN    96
#define NR_FLUSH    (FLUSH_CAUSE_PAGING_MODE + 1)

struct region {
	uint32_t base, size, type;
};

struct dev_count {
	uint32_t reads, writes, bytes_read, bytes_written;
};

/* Accesses a device should have seen over an interval; counts are ranges, bytes exact. */
struct dev_expect {
	uint32_t reads_min, reads_max, writes_min, writes_max;
	uint32_t bytes_read, bytes_written;
};

struct snap {
	struct dev_count dev[MAX_REGIONS];
	uint32_t exits, hits, misses;
	uint32_t flush[NR_FLUSH];
};

struct access {
	uintptr_t va;
	uint32_t val;
};

static struct region regions[MAX_REGIONS];
static uint32_t nr_regions;
static uint32_t deny; /* index of the deny region */
static bool cache_on;

static uint32_t pd_a[ENTRIES] __aligned(PAGE_SIZE);
static uint32_t pd_b[ENTRIES] __aligned(PAGE_SIZE);
static uint32_t pt_a[ENTRIES] __aligned(PAGE_SIZE); /* pd_a's window */
static uint32_t pt_b[ENTRIES] __aligned(PAGE_SIZE); /* pd_b's window */
static uint8_t split_ram[PAGE_SIZE] __aligned(PAGE_SIZE);
static uint8_t user_ram[PAGE_SIZE] __aligned(PAGE_SIZE);
static uint8_t str_ram[STR_LEN] __aligned(4);
static uintptr_t bench_va;

/* ---- volatile accesses: the compiler issues exactly one access of exactly this size ---- */

static inline uint8_t rd8(uintptr_t a)
{
	return *(volatile const uint8_t *)a;
}

static inline uint16_t rd16(uintptr_t a)
{
	return *(volatile const uint16_t *)a;
}

static inline void wr8(uintptr_t a, uint8_t v)
{
	*(volatile uint8_t *)a = v;
}

static inline void wr16(uintptr_t a, uint16_t v)
{
	*(volatile uint16_t *)a = v;
}

static uint8_t byte_of(uint32_t v, uint32_t i)
{
	return (uint8_t)(v >> (i * BYTE_BITS));
}

static void do_write32(void *arg)
{
	const struct access *a = arg;

	mmio_write32(a->va, a->val);
}

/* ---- mhv's counters ---- */

static uint32_t mmio_counter(uint32_t which)
{
	return hypercall(HC_MMIO_COUNTER, which, 0, 0, NULL);
}

static struct dev_count dev_count(uint32_t region)
{
	struct hc_regs r = {.eax = HC_MMIO_DEVICE, .ebx = region};

	hc_native(&r);
	return (struct dev_count){r.eax, r.ebx, r.ecx, r.edx};
}

static void take_snap(struct snap *s)
{
	for (uint32_t i = 0; i < nr_regions; i++)
		s->dev[i] = dev_count(i);
	s->exits = mmio_counter(MMIO_COUNTER_EXITS);
	s->hits = mmio_counter(MMIO_COUNTER_HITS);
	s->misses = mmio_counter(MMIO_COUNTER_MISSES);
	for (uint32_t c = 0; c < NR_FLUSH; c++)
		s->flush[c] = hypercall(HC_FLUSH_COUNT, c, 0, 0, NULL);
}

static struct dev_expect dev_exact(uint32_t reads, uint32_t writes, uint32_t bytes_read,
				   uint32_t bytes_written)
{
	return (struct dev_expect){reads, reads, writes, writes, bytes_read, bytes_written};
}

static bool dev_matches(const struct dev_count *d, const struct dev_expect *e)
{
	return d->reads >= e->reads_min && d->reads <= e->reads_max && d->writes >= e->writes_min &&
	       d->writes <= e->writes_max && d->bytes_read == e->bytes_read &&
	       d->bytes_written == e->bytes_written;
}

/* Every region saw exactly want[region] between b and a (zeroed entries: nothing at all). */
static void check_devices(const char *what, const struct snap *b, const struct snap *a,
			  const struct dev_expect want[MAX_REGIONS])
{
	for (uint32_t i = 0; i < nr_regions; i++) {
		const struct dev_count d = {
			a->dev[i].reads - b->dev[i].reads,
			a->dev[i].writes - b->dev[i].writes,
			a->dev[i].bytes_read - b->dev[i].bytes_read,
			a->dev[i].bytes_written - b->dev[i].bytes_written,
		};
		const struct dev_expect *e = &want[i];

		if (!dev_matches(&d, e)) {
			check(false, what,
			      "region %u saw %u reads (%u bytes), %u writes (%u bytes); expected "
			      "%u..%u reads (%u bytes), %u..%u writes (%u bytes)",
			      i, d.reads, d.bytes_read, d.writes, d.bytes_written, e->reads_min,
			      e->reads_max, e->bytes_read, e->writes_min, e->writes_max,
			      e->bytes_written);
			return;
		}
	}
	check(true, what, "-");
}

/* Only region r saw anything, exactly this. */
static void check_device(const char *what, const struct snap *b, const struct snap *a, uint32_t r,
			 struct dev_expect e)
{
	struct dev_expect want[MAX_REGIONS] = {0};

	want[r] = e;
	check_devices(what, b, a, want);
}

static void check_nothing(const char *what, const struct snap *b, const struct snap *a)
{
	const struct dev_expect want[MAX_REGIONS] = {0};

	check_devices(what, b, a, want);
}

static void check_exits(const char *what, const struct snap *b, const struct snap *a, uint32_t min,
			uint32_t max)
{
	uint32_t got = a->exits - b->exits;

	check(got >= min && got <= max, what, "%u MMIO exits, expected %u..%u", got, min, max);
}

/* With the cache on exactly these hits and misses; with it off, no hit whatsoever. */
static void check_cache(const char *what, const struct snap *b, const struct snap *a, uint32_t hits,
			uint32_t misses)
{
	uint32_t dh = a->hits - b->hits, dm = a->misses - b->misses;

	if (cache_on)
		check(dh == hits && dm == misses, what, "%u hits, %u misses; expected %u and %u",
		      dh, dm, hits, misses);
	else
		check(dh == 0, what, "%u hits with the cache off", dh);
}

/*
 * This many flushes of this cause counted.  With the cache off mhv may leave the flush
 * unintercepted (it has nothing to clear: mhv sets CR3-load exiting only for the cache), so
 * there 0 passes too.
 */
static void check_flush(const char *what, const struct snap *b, const struct snap *a,
			uint32_t cause, uint32_t want)
{
	const uint32_t got = a->flush[cause] - b->flush[cause];

	check(got == want || (!cache_on && got == 0), what, "%u counted, expected %u%s", got, want,
	      cache_on ? "" : " (or 0 with the cache off)");
}

/* ---- regions and page tables ---- */

static uint32_t discover_regions(void)
{
	uint32_t n;

	for (n = 0; n < MAX_REGIONS; n++) {
		struct hc_regs r = {.eax = HC_MMIO_REGION, .ebx = n};

		hc_native(&r);
		if (r.eax == (uint32_t)HC_ENOSYS)
			break;
		regions[n] = (struct region){.base = r.eax, .size = r.ebx, .type = r.ecx};
	}
	return n;
}

static bool region_usable(const struct region *r, uint32_t type, uint32_t min_size)
{
	/* Reachable through the identity map, below the window. */
	return r->type == type && r->size >= min_size && r->base % PAGE_SIZE == 0 &&
	       r->base < WINDOW && r->size <= WINDOW - r->base;
}

static bool layout_ok(void)
{
	bool ok;

	deny = nr_regions;
	for (uint32_t i = 0; i < nr_regions; i++) {
		gprintf("guest: mmio: region %u: base 0x%x size 0x%x type %u\n", i, regions[i].base,
			regions[i].size, regions[i].type);
		if (regions[i].type == MMIO_TYPE_DENY && deny == nr_regions)
			deny = i;
	}
	ok = nr_regions > R1 && deny < nr_regions &&
	     region_usable(&regions[R0], MMIO_TYPE_RAM, R0_MIN_PAGES * PAGE_SIZE) &&
	     region_usable(&regions[R1], MMIO_TYPE_RAM, PAGE_SIZE) &&
	     region_usable(&regions[deny], MMIO_TYPE_DENY, PAGE_SIZE);
	check(ok,
	      "mmio: regions 0 and 1 are ram (0 of 2+ pages), one is deny, all below the window",
	      "%u regions, deny region index %u", nr_regions, deny);
	return ok;
}

static uint32_t region_page(uint32_t r, uint32_t page)
{
	return regions[r].base + page * PAGE_SIZE;
}

static uintptr_t win_va(uint32_t page)
{
	return WINDOW + page * PAGE_SIZE;
}

/* A volatile store: it must not move past the accesses that follow (no INVLPG in between). */
static void map(uint32_t *pt, uint32_t page, uint32_t frame, uint32_t flags)
{
	mmio_write32((uintptr_t)&pt[page], frame | flags);
}

/* Map a window page of pd_a and drop any translation of it. */
static uintptr_t map_fresh(uint32_t page, uint32_t frame, uint32_t flags)
{
	map(pt_a, page, frame, flags);
	invlpg(win_va(page));
	return win_va(page);
}

static void paging_on(void)
{
	for (uint32_t i = 0; i < ENTRIES; i++) {
		pd_a[i] = (i << LARGE_SHIFT) | PDE_PS | PTE_US | PTE_RW | PTE_P;
		pd_b[i] = pd_a[i];
		pt_a[i] = 0;
		pt_b[i] = 0;
	}
	pd_a[WINDOW_PDE] = (uint32_t)pt_a | PTE_US | PTE_RW | PTE_P;
	pd_b[WINDOW_PDE] = (uint32_t)pt_b | PTE_US | PTE_RW | PTE_P;

	/* 32-bit paging with 4 MiB pages; no SMEP/SMAP: ring 0 and 3 share the user pages. */
	write_cr4((read_cr4() | CR4_PSE) & ~(CR4_PAE | CR4_PGE | CR4_SMEP | CR4_SMAP));
	write_cr3((uint32_t)pd_a);
	write_cr0(read_cr0() | CR0_PG | CR0_WP);
}

/* ---- 1 and 9: paging off, physical addresses ---- */

static void test_phys(void)
{
	const uintptr_t base = regions[R0].base;
	const uint32_t sizes = sizeof(uint8_t) + sizeof(uint16_t) + sizeof(uint32_t);
	struct snap b, a;
	uint8_t v8;
	uint16_t v16;
	uint32_t v32;

	take_snap(&b);
	wr8(base + OFF_PHYS8, VAL8);
	wr16(base + OFF_PHYS16, VAL16);
	mmio_write32(base + OFF_PHYS32, VAL32);
	v8 = rd8(base + OFF_PHYS8);
	v16 = rd16(base + OFF_PHYS16);
	v32 = mmio_read32(base + OFF_PHYS32);
	take_snap(&a);

	check_eq("mmio: phys: 1-byte write then read returns the value", v8, VAL8);
	check_eq("mmio: phys: 2-byte write then read returns the value", v16, VAL16);
	check_eq("mmio: phys: 4-byte write then read returns the value", v32, VAL32);
	check_device("mmio: phys: region 0 saw 3 reads and 3 writes of 1+2+4 bytes", &b, &a, R0,
		     dev_exact(3, 3, sizes, sizes));
	check_exits("mmio: phys: one MMIO exit per access", &b, &a, 6, 6);
}

static void test_deny(void)
{
	const uintptr_t va = regions[deny].base + OFF_DENY;
	struct snap b, a;
	uint32_t first, after;

	take_snap(&b);
	first = mmio_read32(va);
	mmio_write32(va, VAL_DENY_WRITE);
	after = mmio_read32(va);
	take_snap(&a);

	check_eq("mmio: deny: 4-byte read returns all ones", first, ALL_ONES32);
	check_eq("mmio: deny: write is dropped (read back all ones)", after, ALL_ONES32);
	{
		/* Byte counts: what the ABI promises, or 0 (mhv's deny model counts no bytes). */
		const struct dev_expect counted =
			dev_exact(2, 1, 2 * sizeof(uint32_t), sizeof(uint32_t));
		const struct dev_expect uncounted = dev_exact(2, 1, 0, 0);
		const struct dev_count d = {
			a.dev[deny].reads - b.dev[deny].reads,
			a.dev[deny].writes - b.dev[deny].writes,
			a.dev[deny].bytes_read - b.dev[deny].bytes_read,
			a.dev[deny].bytes_written - b.dev[deny].bytes_written,
		};

		check(dev_matches(&d, &counted) || dev_matches(&d, &uncounted),
		      "mmio: deny: device saw 2 reads and 1 write (4 bytes each, or bytes "
		      "uncounted)",
		      "%u reads (%u bytes), %u writes (%u bytes)", d.reads, d.bytes_read, d.writes,
		      d.bytes_written);
		b.dev[deny] =
			a.dev[deny]; /* checked: now every other region must have seen nothing */
		check_nothing("mmio: deny: no other region saw anything", &b, &a);
	}
	check_exits("mmio: deny: one MMIO exit per access", &b, &a, 3, 3);
}

/* ---- 2: through a GVA; remap + INVLPG ---- */

static void test_gva(void)
{
	const uintptr_t va = win_va(WIN_REMAP) + OFF_GVA;
	struct snap b, a;
	uint32_t v;

	map_fresh(WIN_REMAP, region_page(R0, 0), PTE_RW | PTE_P);
	take_snap(&b);
	mmio_write32(va, VAL_GVA0);
	v = mmio_read32(va);
	take_snap(&a);
	check_eq("mmio: gva: write then read through a 4 KiB page returns the value", v, VAL_GVA0);
	check_device("mmio: gva: region 0 saw 1 read and 1 write of 4 bytes", &b, &a, R0,
		     dev_exact(1, 1, sizeof(v), sizeof(v)));
	check_exits("mmio: gva: one MMIO exit per access", &b, &a, 2, 2);
	check_cache("mmio: gva: write misses, read hits", &b, &a, 1, 1);

	map(pt_a, WIN_REMAP, region_page(R1, 0), PTE_RW | PTE_P);
	take_snap(&b);
	invlpg(va);
	mmio_write32(va, VAL_GVA1);
	v = mmio_read32(va);
	take_snap(&a);
	check_eq("mmio: gva: after remap + INVLPG the value round-trips", v, VAL_GVA1);
	check_device("mmio: gva: after remap + INVLPG only region 1 saw the accesses", &b, &a, R1,
		     dev_exact(1, 1, sizeof(v), sizeof(v)));
	check_exits("mmio: gva: after remap, one MMIO exit per access", &b, &a, 2, 2);
	check_cache("mmio: gva: after INVLPG the write misses, the read hits", &b, &a, 1, 1);
	check_flush("mmio: gva: INVLPG counted as one INVLPG flush", &b, &a, FLUSH_CAUSE_INVLPG, 1);
	check_flush("mmio: gva: INVLPG counted as no CR3 flush", &b, &a, FLUSH_CAUSE_CR3, 0);
	check_eq("mmio: gva: region 0 kept its value", mmio_read32(regions[R0].base + OFF_GVA),
		 VAL_GVA0);
}

/* ---- 3: two address spaces, one GVA ---- */

static bool dev_delta_is(const struct dev_count *b, const struct dev_count *a, uint32_t reads,
			 uint32_t writes)
{
	return a->reads - b->reads == reads && a->writes - b->writes == writes &&
	       a->bytes_read - b->bytes_read == reads * sizeof(uint32_t) &&
	       a->bytes_written - b->bytes_written == writes * sizeof(uint32_t);
}

static void test_address_spaces(void)
{
	const uintptr_t va = win_va(WIN_AS) + OFF_AS;
	uint32_t wrong_value = 0, wrong_region = 0;
	struct snap b, a;

	map(pt_a, WIN_AS, region_page(R0, 0), PTE_RW | PTE_P);
	map(pt_b, WIN_AS, region_page(R1, 0), PTE_RW | PTE_P);
	take_snap(&b);
	/* Even switches load pd_b (region 1), odd ones pd_a (region 0): CR3 changes every time. */
	for (uint32_t i = 0; i < AS_SWITCHES; i++) {
		const bool to_b = i % 2 == 0;
		struct dev_count d0b, d1b, d0a, d1a;

		write_cr3((uint32_t)(to_b ? pd_b : pd_a));
		d0b = dev_count(R0);
		d1b = dev_count(R1);
		mmio_write32(va, VAL_AS + i);
		if (mmio_read32(va) != VAL_AS + i)
			wrong_value++;
		d0a = dev_count(R0);
		d1a = dev_count(R1);
		if (!dev_delta_is(&d0b, &d0a, to_b ? 0 : 1, to_b ? 0 : 1) ||
		    !dev_delta_is(&d1b, &d1a, to_b ? 1 : 0, to_b ? 1 : 0))
			wrong_region++;
	}
	take_snap(&a);
	check_eq("mmio: cr3: every access read back its value", wrong_value, 0);
	check_eq("mmio: cr3: every access reached its address space's region only", wrong_region,
		 0);
	{
		struct dev_expect want[MAX_REGIONS] = {0};
		const uint32_t half = AS_SWITCHES / 2;

		want[R0] = dev_exact(half, half, half * sizeof(uint32_t), half * sizeof(uint32_t));
		want[R1] = want[R0];
		check_devices("mmio: cr3: regions 0 and 1 each saw half the accesses", &b, &a,
			      want);
	}
	check_flush("mmio: cr3: one CR3 flush per switch", &b, &a, FLUSH_CAUSE_CR3, AS_SWITCHES);
	check_exits("mmio: cr3: one MMIO exit per access", &b, &a, 2 * AS_SWITCHES,
		    2 * AS_SWITCHES);
	check_cache("mmio: cr3: each write after a switch misses, each read hits", &b, &a,
		    AS_SWITCHES, AS_SWITCHES);
	/* pd_a is current again; the last switch to each directory left its value. */
	check_eq("mmio: cr3: region 0 holds the last pd_a value",
		 mmio_read32(regions[R0].base + OFF_AS), VAL_AS + AS_SWITCHES - 1);
	check_eq("mmio: cr3: region 1 holds the last pd_b value",
		 mmio_read32(regions[R1].base + OFF_AS), VAL_AS + AS_SWITCHES - 2);
}

/* ---- 4 and 5: the cache must not bypass U/S and R/W checks ---- */

static void test_user_one(uintptr_t va, bool write)
{
	const char *what = write ? "mmio: user: CPL3 write to a supervisor page raises #PF"
				 : "mmio: user: CPL3 read of a supervisor page raises #PF";
	uint32_t val = VAL_SUPER;
	struct fault f;
	struct snap b, a;

	/* A CPL0 access just before: the cache holds this page with supervisor rights. */
	check_eq(write ? "mmio: user: CPL0 read of the supervisor page (before the write)"
		       : "mmio: user: CPL0 read of the supervisor page (before the read)",
		 mmio_read32(va), VAL_SUPER);
	take_snap(&b);
	mmio_user_access(write, va, &val, &f);
	take_snap(&a);
	check_fault(what, &f, VEC_PF);
	check_eq(write ? "mmio: user: #PF error code for the CPL3 write is U|W|P"
		       : "mmio: user: #PF error code for the CPL3 read is U|P",
		 f.errcode, write ? PF_ERR_U | PF_ERR_W | PF_ERR_P : PF_ERR_U | PF_ERR_P);
	check_eq(write ? "mmio: user: #PF CR2 of the CPL3 write"
		       : "mmio: user: #PF CR2 of the CPL3 read",
		 f.cr2, va);
	check_nothing(write ? "mmio: user: no device saw the CPL3 write"
			    : "mmio: user: no device saw the CPL3 read",
		      &b, &a);
	check_exits(write ? "mmio: user: the CPL3 write caused no MMIO exit"
			  : "mmio: user: the CPL3 read caused no MMIO exit",
		    &b, &a, 0, 0);
}

static void test_user(void)
{
	const uintptr_t uva =
		map_fresh(WIN_USER, region_page(R0, 0), PTE_US | PTE_RW | PTE_P) + OFF_USER;
	const uintptr_t sva = map_fresh(WIN_SUPER, region_page(R0, 0), PTE_RW | PTE_P) + OFF_SUPER;
	const uintptr_t split =
		map_fresh(WIN_USPLIT, (uint32_t)user_ram, PTE_US | PTE_RW | PTE_P) + OFF_PAGE_HI;
	const uintptr_t split_hi = map_fresh(WIN_USPLIT_HI, region_page(R1, 0), PTE_RW | PTE_P);
	uint32_t wval = VAL_USER, rval = 0;
	struct fault fw, fr;
	struct snap b, a;

	mmio_user_begin();

	/* Control: ring 3 does reach MMIO through a user page, so the #PFs below mean something. */
	take_snap(&b);
	mmio_user_access(true, uva, &wval, &fw);
	mmio_user_access(false, uva, &rval, &fr);
	take_snap(&a);
	check_no_fault("mmio: user: CPL3 write to a user page completes", &fw);
	check_no_fault("mmio: user: CPL3 read of a user page completes", &fr);
	check_eq("mmio: user: CPL3 read returns the CPL3 write", rval, VAL_USER);
	check_device("mmio: user: region 0 saw the CPL3 read and write", &b, &a, R0,
		     dev_exact(1, 1, sizeof(rval), sizeof(wval)));
	check_exits("mmio: user: one MMIO exit per CPL3 access", &b, &a, 2, 2);

	mmio_write32(sva, VAL_SUPER);
	test_user_one(sva, false);
	test_user_one(sva, true);

	/*
	 * A CPL3 write straddling from a user RAM page into a supervisor-only MMIO page whose
	 * translation the cache holds from a CPL0 write: if the first part's EPT/NPT fault
	 * reaches mhv first, only mhv's own checks stand between ring 3 and the device.
	 */
	mmio_write32(split_hi, VAL_SUPER);
	take_snap(&b);
	wval = VAL_USER;
	mmio_user_access(true, split, &wval, &fw);
	take_snap(&a);
	check_fault("mmio: user: CPL3 write straddling into a supervisor MMIO page raises #PF", &fw,
		    VEC_PF);
	check_eq("mmio: user: #PF error code for the straddling CPL3 write is U|W|P", fw.errcode,
		 PF_ERR_U | PF_ERR_W | PF_ERR_P);
	check_nothing("mmio: user: no device saw the straddling CPL3 write", &b, &a);

	mmio_user_end();
}

static void test_read_only(void)
{
	const uintptr_t va = map_fresh(WIN_RO, region_page(R0, 0), PTE_P) + OFF_RO;
	struct access acc = {.va = va, .val = VAL_SUPER};
	struct fault f;
	struct snap b, a;

	mmio_write32(regions[R0].base + OFF_RO, VAL_RO);
	/* The read caches the translation (read-only rights). */
	check_eq("mmio: ro: read through a read-only page returns the value", mmio_read32(va),
		 VAL_RO);
	take_snap(&b);
	run_catching(do_write32, &acc, &f);
	take_snap(&a);
	check_fault("mmio: ro: CPL0 write to a read-only page raises #PF (CR0.WP)", &f, VEC_PF);
	check_eq("mmio: ro: #PF error code is W|P", f.errcode, PF_ERR_W | PF_ERR_P);
	check_eq("mmio: ro: #PF CR2 is the address", f.cr2, va);
	check_nothing("mmio: ro: no device saw the write", &b, &a);
	check_exits("mmio: ro: the write caused no MMIO exit", &b, &a, 0, 0);
	check_eq("mmio: ro: region 0 kept its value", mmio_read32(regions[R0].base + OFF_RO),
		 VAL_RO);
}

/* ---- 6: accesses straddling a page boundary ---- */

static bool bytes_are(uintptr_t lo, uintptr_t hi, uint32_t v)
{
	/* Two bytes at lo (the end of one page), two at hi (the start of the next). */
	return rd8(lo) == byte_of(v, 0) && rd8(lo + 1) == byte_of(v, 1) &&
	       rd8(hi) == byte_of(v, 2) && rd8(hi + 1) == byte_of(v, 3);
}

static void test_straddle(void)
{
	const uintptr_t va = map_fresh(WIN_SPLIT, region_page(R0, 0), PTE_RW | PTE_P) + OFF_PAGE_HI;
	const uintptr_t r0 = regions[R0].base;
	const uintptr_t rva =
		map_fresh(WIN_RAMSPLIT, (uint32_t)split_ram, PTE_RW | PTE_P) + OFF_PAGE_HI;
	struct snap b, a;
	uint32_t v;

	map_fresh(WIN_SPLIT_HI, region_page(R0, 1), PTE_RW | PTE_P);
	map_fresh(WIN_RAMSPLIT_HI, region_page(R0, 0), PTE_RW | PTE_P);

	/* Within region 0: mhv may split at the page boundary (1 or 2 device accesses). */
	take_snap(&b);
	mmio_write32(va, VAL_SPLIT);
	v = mmio_read32(va);
	take_snap(&a);
	check_eq("mmio: straddle: 4-byte write/read across region 0's pages round-trips", v,
		 VAL_SPLIT);
	check_device("mmio: straddle: region 0 saw 4 bytes each way in 1 or 2 accesses", &b, &a, R0,
		     (struct dev_expect){1, 2, 1, 2, sizeof(v), sizeof(v)});
	check_exits("mmio: straddle: one MMIO exit per instruction", &b, &a, 2, 2);
	check(bytes_are(r0 + OFF_PAGE_HI, r0 + PAGE_SIZE, VAL_SPLIT),
	      "mmio: straddle: bytes landed at region 0 offsets 0xffe..0x1001", "bytes %x %x %x %x",
	      rd8(r0 + OFF_PAGE_HI), rd8(r0 + OFF_PAGE_HI + 1), rd8(r0 + PAGE_SIZE),
	      rd8(r0 + PAGE_SIZE + 1));

	/* From guest RAM into region 0: the device sees only the 2 bytes past the boundary. */
	mmio_write32((uintptr_t)&split_ram[OFF_PAGE_HI - 2], 0);
	mmio_write32(r0, 0);
	take_snap(&b);
	mmio_write32(rva, VAL_RAMSPLIT);
	take_snap(&a);
	check_device("mmio: straddle: ram->mmio write: region 0 saw 1 write of 2 bytes", &b, &a, R0,
		     dev_exact(0, 1, 0, sizeof(uint16_t)));
	check_exits("mmio: straddle: ram->mmio write is one MMIO exit", &b, &a, 1, 1);
	check(bytes_are((uintptr_t)&split_ram[OFF_PAGE_HI], r0, VAL_RAMSPLIT),
	      "mmio: straddle: ram->mmio write: 2 bytes in RAM, 2 at region 0 offset 0",
	      "bytes %x %x %x %x", rd8((uintptr_t)&split_ram[OFF_PAGE_HI]),
	      rd8((uintptr_t)&split_ram[OFF_PAGE_HI + 1]), rd8(r0), rd8(r0 + 1));
	take_snap(&b);
	v = mmio_read32(rva);
	take_snap(&a);
	check_eq("mmio: straddle: ram->mmio read returns the value", v, VAL_RAMSPLIT);
	check_device("mmio: straddle: ram->mmio read: region 0 saw 1 read of 2 bytes", &b, &a, R0,
		     dev_exact(1, 0, sizeof(uint16_t), 0));
	check_exits("mmio: straddle: ram->mmio read is one MMIO exit", &b, &a, 1, 1);
}

/*
 * The short path's split-access check reads the operand's segment base: an FS-relative load
 * (FS flat) replayed at region 0's offset 0, then the same instruction with the same offset
 * register one page lower and FS based at 0xffe, which straddles from RAM into region 0 and
 * faults at its offset 0 too.  On SVM FS is VMLOAD state, live in the CPU while the short path
 * runs: the flat base read from a stale VMCB would take the straddle for the aligned access.
 */
#define SEL_FS_SHIFTED	0x18u
#define FS_SHIFT	(PAGE_SIZE - 2)
#define DESC_BASE_SHIFT 16 /* base bits 15:0 sit at descriptor bit 16 */
#define FS_GDT_ENTRIES	4
#define FS_ROUNDS	4
#define VAL_FS_DEV	0xF5D0F5D0u
#define VAL_FS_RAM	0x1234u

struct __attribute__((packed)) fs_gdt_ptr {
	uint16_t limit;
	uint32_t base;
};

static uint64_t fs_gdt[FS_GDT_ENTRIES] __aligned(8);

static __attribute__((noinline)) uint32_t load_fs(uintptr_t off)
{
	uint32_t v;

	asm volatile("movl %%fs:(%1), %0" : "=r"(v) : "r"(off) : "memory");
	return v;
}

static void test_straddle_fs(void)
{
	const uintptr_t dev = map_fresh(WIN_RAMSPLIT_HI, region_page(R0, 0), PTE_RW | PTE_P);
	const uintptr_t r0 = regions[R0].base;
	const struct fs_gdt_ptr mine = {sizeof(fs_gdt) - 1, (uint32_t)fs_gdt};
	struct fs_gdt_ptr old;
	uint32_t bad = 0, shorts = mmio_counter(MMIO_COUNTER_SHORT), v;

	map_fresh(WIN_RAMSPLIT, (uint32_t)split_ram, PTE_RW | PTE_P);
	fs_gdt[0] = 0;
	fs_gdt[SEL_CODE / 8] = GDT_FLAT_CODE32;
	fs_gdt[SEL_DATA / 8] = GDT_FLAT_DATA32;
	fs_gdt[SEL_FS_SHIFTED / 8] = GDT_FLAT_DATA32 | (uint64_t)FS_SHIFT << DESC_BASE_SHIFT;
	mmio_write32(r0, VAL_FS_DEV);
	*(volatile uint16_t *)&split_ram[OFF_PAGE_HI] = VAL_FS_RAM;
	asm volatile("sgdt %0" : "=m"(old));
	asm volatile("lgdt %0" ::"m"(mine) : "memory");
	asm volatile("mov %0, %%fs" ::"r"(SEL_DATA));
	for (uint32_t i = 0; i < FS_ROUNDS; i++)
		bad += load_fs(dev) != VAL_FS_DEV;
	/* No exit in between (a hypercall would move the code translation off this page). */
	asm volatile("mov %0, %%fs" ::"r"(SEL_FS_SHIFTED));
	v = load_fs(dev - PAGE_SIZE);
	asm volatile("mov %0, %%fs" ::"r"(SEL_DATA));
	shorts = mmio_counter(MMIO_COUNTER_SHORT) - shorts;
	asm volatile("lgdt %0" ::"m"(old) : "memory");
	check_eq("mmio: straddle fs: fs:[x] (FS flat) reads region 0 offset 0 each time", bad, 0);
	if (cache_on)
		check(shorts >= FS_ROUNDS - 1, "mmio: straddle fs: the repeats took the short path",
		      "%u of %u", shorts, FS_ROUNDS);
	check_eq("mmio: straddle fs: the same fs:[x] with FS based at 0xffe straddles RAM and "
		 "region 0",
		 v, VAL_FS_RAM | (uint32_t)(uint16_t)VAL_FS_DEV << 16);
}

/* ---- 7: REP MOVS between RAM and MMIO ---- */

struct movs {
	uint32_t elem;		/* 1: MOVSB, 4: MOVSD */
	bool down;		/* DF=1 */
	uintptr_t dst, src;	/* lowest address of each STR_LEN buffer */
	uint32_t edi, esi, ecx; /* after the instruction */
};

static void do_movs(struct movs *m)
{
	/* DF=1 starts at the last element and walks down. */
	const uint32_t last = m->down ? STR_LEN - m->elem : 0;
	uint32_t d = m->dst + last, s = m->src + last, c = STR_LEN / m->elem;

	if (m->elem == 1 && !m->down)
		asm volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(c)::"memory");
	else if (m->elem == 1)
		asm volatile("std\n\trep movsb\n\tcld" : "+D"(d), "+S"(s), "+c"(c)::"memory");
	else if (!m->down)
		asm volatile("rep movsl" : "+D"(d), "+S"(s), "+c"(c)::"memory");
	else
		asm volatile("std\n\trep movsl\n\tcld" : "+D"(d), "+S"(s), "+c"(c)::"memory");
	m->edi = d;
	m->esi = s;
	m->ecx = c;
}

static uint32_t pattern_word(uint32_t seed, uint32_t word)
{
	uint32_t v = 0;

	for (uint32_t i = 0; i < sizeof(v); i++) {
		const uint32_t byte = word * sizeof(v) + i;

		v |= (uint32_t)(uint8_t)(seed * PAT_MUL + byte * PAT_STEP) << (i * BYTE_BITS);
	}
	return v;
}

/* Fill STR_LEN bytes at p with the pattern (or its complement), 4 bytes per access. */
static void pattern_fill(uintptr_t p, uint32_t seed, bool complement)
{
	for (uint32_t w = 0; w < STR_LEN / sizeof(uint32_t); w++)
		mmio_write32(p + w * sizeof(uint32_t),
			     complement ? ~pattern_word(seed, w) : pattern_word(seed, w));
}

/* Words at p that differ from the pattern. */
static uint32_t pattern_mismatches(uintptr_t p, uint32_t seed)
{
	uint32_t bad = 0;

	for (uint32_t w = 0; w < STR_LEN / sizeof(uint32_t); w++)
		if (mmio_read32(p + w * sizeof(uint32_t)) != pattern_word(seed, w))
			bad++;
	return bad;
}

static void test_string_one(uintptr_t mmio, uint32_t elem, bool down, bool to_mmio, uint32_t seed)
{
	const uintptr_t ram = (uintptr_t)str_ram;
	const uint32_t count = STR_LEN / elem;
	struct movs m = {.elem = elem, .down = down};
	char what[NAME_LEN], prefix[NAME_LEN];
	uint32_t want_d, want_s;
	struct snap b, a;

	fmt_snprintf(prefix, sizeof(prefix), "mmio: rep movs%s %s DF=%u", elem == 1 ? "b" : "d",
		     to_mmio ? "ram->mmio" : "mmio->ram", down);
	m.dst = to_mmio ? mmio : ram;
	m.src = to_mmio ? ram : mmio;
	pattern_fill(m.src, seed, false);
	/* Every destination byte starts different from the byte that should arrive. */
	pattern_fill(m.dst, seed, true);

	take_snap(&b);
	do_movs(&m);
	take_snap(&a);

	fmt_snprintf(what, sizeof(what), "%s: data arrives", prefix);
	check_eq(what, pattern_mismatches(m.dst, seed), 0);
	want_d = down ? m.dst - elem : m.dst + STR_LEN;
	want_s = down ? m.src - elem : m.src + STR_LEN;
	fmt_snprintf(what, sizeof(what), "%s: ECX, ESI, EDI end right", prefix);
	check(m.ecx == 0 && m.esi == want_s && m.edi == want_d, what,
	      "ecx %u esi 0x%x edi 0x%x, expected 0 0x%x 0x%x", m.ecx, m.esi, m.edi, want_s,
	      want_d);
	fmt_snprintf(what, sizeof(what), "%s: region 0 saw exactly %u bytes %s", prefix, STR_LEN,
		     to_mmio ? "written" : "read");
	/* One device access per element, or fewer if mhv batches iterations. */
	check_device(what, &b, &a, R0,
		     to_mmio ? (struct dev_expect){0, 0, 1, count, 0, STR_LEN}
			     : (struct dev_expect){1, count, 0, 0, STR_LEN, 0});
	fmt_snprintf(what, sizeof(what), "%s: 1..%u MMIO exits", prefix, count);
	check_exits(what, &b, &a, 1, count);
}

static void test_string(void)
{
	static const uint32_t elems[] = {sizeof(uint8_t), sizeof(uint32_t)};
	const uintptr_t mmio =
		map_fresh(WIN_STRING, region_page(R0, 0), PTE_RW | PTE_P) + OFF_STRING;
	uint32_t seed = STR_SEED0;

	for (uint32_t e = 0; e < ARRAY_SIZE(elems); e++)
		for (uint32_t down = 0; down <= 1; down++)
			for (uint32_t to_mmio = 0; to_mmio <= 1; to_mmio++)
				test_string_one(mmio, elems[e], down, to_mmio, seed++);
	/* The next window page (WIN_STALE) is still unmapped: test_stale maps it later. */
	test_mmio_string_edges(mmio - OFF_STRING);
}

/* ---- 8: remap without INVLPG ---- */

static void test_stale(void)
{
	const uintptr_t va = map_fresh(WIN_STALE, region_page(R0, 0), PTE_RW | PTE_P) + OFF_STALE;
	const uintptr_t p0 = regions[R0].base + OFF_STALE, p1 = regions[R1].base + OFF_STALE;
	struct snap b, a;
	uint32_t w0, w1, v0, v1;

	mmio_write32(p0, VAL_STALE_OLD0);
	mmio_write32(p1, VAL_STALE_OLD1);
	mmio_write32(va, VAL_STALE_X); /* the cache (and maybe the TLB) now hold region 0 */
	check_eq("mmio: stale: first write reached region 0", mmio_read32(p0), VAL_STALE_X);
	mmio_write32(va, VAL_STALE_X); /* refill the translation the identity read replaced */

	take_snap(&b);
	map(pt_a, WIN_STALE, region_page(R1, 0), PTE_RW | PTE_P);
	mmio_write32(va, VAL_STALE_Y);
	take_snap(&a);
	w0 = a.dev[R0].writes - b.dev[R0].writes;
	w1 = a.dev[R1].writes - b.dev[R1].writes;
	v0 = mmio_read32(p0);
	v1 = mmio_read32(p1);
	/* Architecturally either mapping may be used; it must be exactly one of them. */
	check((w0 == 1 && w1 == 0 && v0 == VAL_STALE_Y && v1 == VAL_STALE_OLD1) ||
		      (w0 == 0 && w1 == 1 && v0 == VAL_STALE_X && v1 == VAL_STALE_Y),
	      "mmio: stale: write after a remap without INVLPG reaches exactly one region",
	      "region 0: %u writes, holds 0x%x; region 1: %u writes, holds 0x%x", w0, v0, w1, v1);
	gprintf("guest: mmio: remap without INVLPG reached region %s (cache %s)\n",
		w0 == 1	  ? "0 (stale)"
		: w1 == 1 ? "1 (new)"
			  : "none",
		cache_on ? "on" : "off");

	take_snap(&b);
	invlpg(va);
	mmio_write32(va, VAL_STALE_Z);
	take_snap(&a);
	check_device("mmio: stale: after INVLPG the write reaches region 1 only", &b, &a, R1,
		     dev_exact(0, 1, 0, sizeof(uint32_t)));
	check_flush("mmio: stale: INVLPG counted as one INVLPG flush", &b, &a, FLUSH_CAUSE_INVLPG,
		    1);
	check_eq("mmio: stale: region 1 holds the value written after INVLPG", mmio_read32(p1),
		 VAL_STALE_Z);
}

/* ---- the short path at one RIP across a remap without INVLPG ---- */

#define SHORT_ROUNDS 4
#define VAL_SHORT0   0x51000000u
#define VAL_SHORT1   0x51111111u

static __attribute__((noinline)) uint32_t short_load(uintptr_t va)
{
	return mmio_read32(va);
}

static void test_short_remap(void)
{
	const uintptr_t va = map_fresh(WIN_SHORT, region_page(R0, 0), PTE_RW | PTE_P) + OFF_SHORT;
	struct snap b, a;
	uint32_t bad = 0, r0, r1, v;

	mmio_write32(regions[R0].base + OFF_SHORT, VAL_SHORT0);
	mmio_write32(regions[R1].base + OFF_SHORT, VAL_SHORT1);
	for (uint32_t i = 0; i < SHORT_ROUNDS; i++) /* the first fills, the rest replay */
		bad += short_load(va) != VAL_SHORT0;
	check_eq("mmio: short: one RIP through one mapping reads region 0 each time", bad, 0);

	take_snap(&b);
	map(pt_a, WIN_SHORT, region_page(R1, 0), PTE_RW | PTE_P);
	v = short_load(va);
	take_snap(&a);
	r0 = a.dev[R0].reads - b.dev[R0].reads;
	r1 = a.dev[R1].reads - b.dev[R1].reads;
	/* Either translation may be used; the value must come from the device that was read. */
	check((r0 == 1 && r1 == 0 && v == VAL_SHORT0) || (r0 == 0 && r1 == 1 && v == VAL_SHORT1),
	      "mmio: short: remap without INVLPG, same RIP: exactly one region read, its value",
	      "region 0: %u reads, region 1: %u reads, value 0x%x", r0, r1, v);

	take_snap(&b);
	invlpg(va);
	v = short_load(va);
	take_snap(&a);
	check(v == VAL_SHORT1 && a.dev[R1].reads - b.dev[R1].reads == 1 &&
		      a.dev[R0].reads == b.dev[R0].reads,
	      "mmio: short: after INVLPG the same RIP reads region 1 only",
	      "value 0x%x, region 1 reads %u, region 0 reads %u", v,
	      a.dev[R1].reads - b.dev[R1].reads, a.dev[R0].reads - b.dev[R0].reads);
}

/*
 * A read-modify-write replayed through a writable mapping, then the same instruction (the
 * same RIP, device page and offset) through a read-only alias: #PF with W|P, and no device
 * sees anything.  QEMU reports the alias's exit as the read its TCG does first: the short
 * path must not take that as a write the CPU allowed.
 */
#define VAL_RMW 0x52000000u

static __attribute__((noinline)) void rmw_add(uintptr_t va)
{
	__asm__ volatile("addl $1, (%0)" ::"r"(va) : "memory", "cc");
}

static uintptr_t rmw_ro_va;

static void rmw_add_ro(void *arg)
{
	(void)arg;
	rmw_add(rmw_ro_va);
}

static void test_short_rmw_ro(void)
{
	const uintptr_t rw = map_fresh(WIN_RMW, region_page(R0, 0), PTE_RW | PTE_P) + OFF_RMW;
	struct snap b, a;
	struct fault f;

	rmw_ro_va = map_fresh(WIN_RMW_RO, region_page(R0, 0), PTE_P) + OFF_RMW;
	mmio_write32(regions[R0].base + OFF_RMW, VAL_RMW);
	for (uint32_t i = 0; i < SHORT_ROUNDS; i++) /* the first fills, the rest replay */
		rmw_add(rw);
	take_snap(&b); /* hypercalls only: the entry stays the add's */
	run_catching(rmw_add_ro, NULL, &f);
	take_snap(&a);
	check_fault("mmio: short: add [m] replayed, then through a read-only alias: #PF", &f,
		    VEC_PF);
	check_eq("mmio: short: read-only alias: #PF error code is W|P", f.errcode,
		 PF_ERR_W | PF_ERR_P);
	check_eq("mmio: short: read-only alias: #PF CR2 is the alias", f.cr2, rmw_ro_va);
	check_nothing("mmio: short: read-only alias: no device saw the add", &b, &a);
	check_eq("mmio: short: add [m] through the writable mapping counted each time, the "
		 "alias's never",
		 mmio_read32(regions[R0].base + OFF_RMW), VAL_RMW + SHORT_ROUNDS);
}

/*
 * A fault during event delivery at the RIP the short path has an entry for: the load at that
 * RIP is replayed from a device page, then faults (#PF) with an IDT whose #PF gate lies on
 * that very device page at the load's page offset.  The exit for the gate read has the same
 * RIP, device page, direction and offset as the entry, but an event is being delivered:
 * mhv completes the delivery with the gate read from the device (mmio/x86_emu_event.c), so
 * the guest's #PF handler runs; a replayed load would raise nothing at all.
 */
#define GATE_BYTES 8
#define DELIV_VEC  14 /* #PF */

struct __attribute__((packed)) dtr32 {
	uint16_t limit;
	uint32_t base;
};

static uint8_t deliv_ram[PAGE_SIZE] __aligned(PAGE_SIZE);
static uintptr_t deliv_addr;

static __attribute__((noinline)) uint32_t deliv_load(uintptr_t va)
{
	return mmio_read32(va);
}

static void deliv_fault(void *arg)
{
	(void)arg;
	(void)deliv_load(deliv_addr);
}

static void test_short_delivery(void)
{
	const uintptr_t ram_va = map_fresh(WIN_DELIV, (uint32_t)deliv_ram, PTE_RW | PTE_P);
	const uintptr_t dev_va = map_fresh(WIN_DELIV_DEV, region_page(R0, 0), PTE_RW | PTE_P);
	const uint32_t head = GATE_BYTES * DELIV_VEC;
	uint8_t *idt = (uint8_t *)(ram_va + PAGE_SIZE - head);
	struct dtr32 orig, crafted;
	const uint32_t *gate;
	uint32_t bad = 0;
	struct fault f;

	asm volatile("sidt %0" : "=m"(orig));
	gate = (const uint32_t *)(orig.base + head);
	for (uint32_t i = 0; i < head; i++)
		idt[i] = ((const uint8_t *)orig.base)[i];
	mmio_write32(dev_va, gate[0]); /* the real #PF gate, on the device page */
	mmio_write32(dev_va + sizeof(uint32_t), gate[1]);
	for (uint32_t i = 0; i < SHORT_ROUNDS; i++) /* the first fills, the rest replay */
		bad += deliv_load(dev_va) != gate[0];
	check_eq("mmio: short: delivery: the load at one RIP reads the device each time", bad, 0);

	crafted = (struct dtr32){.limit = head + GATE_BYTES - 1, .base = (uint32_t)idt};
	deliv_addr = win_va(WIN_DELIV_HOLE);
	invlpg(deliv_addr);
	asm volatile("lidt %0" ::"m"(crafted));
	run_catching(deliv_fault, NULL, &f);
	asm volatile("lidt %0" ::"m"(orig));
	check(f.raised && f.vector == DELIV_VEC,
	      "mmio: short: #PF whose gate is on the device page at the same RIP: delivered, "
	      "no replay",
	      "%s", f.raised ? trap_name(f.vector) : "no exception (the load was replayed?)");
}

/* ---- benchmarks (information only, as bench.c) ---- */

static uint64_t time_mmio_read(void)
{
	uint64_t t0 = rdtsc();

	(void)mmio_read32(bench_va);
	return rdtsc() - t0;
}

/*
 * MOV to CR3 exits only while mhv's translation caches hold something (core/flush_exits.h):
 * a cached MMIO read before each sample fills the cache, so the write is timed with the flush
 * exits armed, as a guest that uses a device meets it (with the cache off it never exits).
 */
static uint64_t time_mov_cr3(void)
{
	const uint32_t cr3 = read_cr3();
	uint64_t t0;

	(void)mmio_read32(bench_va);
	t0 = rdtsc();
	write_cr3(cr3);
	return rdtsc() - t0;
}

static void bench_mmio(void)
{
	bench_va = map_fresh(WIN_BENCH, region_page(R0, 0), PTE_RW | PTE_P) + OFF_BENCH;
	/* With the cache on, every read after the first hits: the minimum is the cached path. */
	gprintf("guest: bench: mmio read (%s) %u ticks\n", cache_on ? "cached" : "uncached",
		(unsigned)bench_min_ticks(time_mmio_read));
	gprintf("guest: bench: mov cr3 %u ticks\n", (unsigned)bench_min_ticks(time_mov_cr3));
	bench_mmio_forms(bench_va, bench_va - OFF_BENCH);
}

/* ---- 10 and the entry point ---- */

static void test_consistency(void)
{
	const uint32_t exits = mmio_counter(MMIO_COUNTER_EXITS);
	const uint32_t hits = mmio_counter(MMIO_COUNTER_HITS);
	const uint32_t misses = mmio_counter(MMIO_COUNTER_MISSES);

	gprintf("guest: mmio: %u MMIO exits, %u cache hits, %u misses\n", exits, hits, misses);
	if (cache_on)
		check(hits + misses == exits, "mmio: cache hits + misses equal MMIO exits",
		      "%u + %u != %u", hits, misses, exits);
	else
		check_eq("mmio: no cache hits with the cache off", hits, 0);
}

void test_mmio(void)
{
	const uint32_t cr0 = read_cr0(), cr3 = read_cr3(), cr4 = read_cr4();

	if (!hv_present()) {
		gprintf("guest: mmio: not under mhv, skipped\n");
		return;
	}
	nr_regions = discover_regions();
	if (nr_regions == 0) {
		gprintf("guest: mmio: no regions, skipped\n");
		return;
	}
	if (!layout_ok())
		return;
	cache_on = mmio_counter(MMIO_COUNTER_CACHE_ON) == 1;
	gprintf("guest: mmio: %u regions, translation cache %s\n", nr_regions,
		cache_on ? "on" : "off");

	write_cr0(cr0 & ~CR0_PG);
	test_phys();
	test_deny();
	test_cr3_regs_armed(region_page(R0, 0), cache_on);

	paging_on();
	test_gva();
	test_address_spaces();
	test_user();
	test_read_only();
	test_straddle();
	test_straddle_fs();
	test_string();
	test_stale();
	test_short_remap();
	test_short_rmw_ro();
	test_short_delivery();
	bench_mmio();

	/* Back as found: paging off first, then the old CR4/CR3 under the old CR0. */
	write_cr0(read_cr0() & ~CR0_PG);
	write_cr4(cr4);
	write_cr3(cr3);
	write_cr0(cr0);
	test_consistency();
}
