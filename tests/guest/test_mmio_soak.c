/*
 * A randomized soak of mhv's MMIO path and its translation caches (the MMIO cache, the code
 * translation, the short path) against the guest's TLB flushes.  Seeded and reproducible: one
 * xorshift generator, its seed printed, drives everything.
 *
 * The devices are the mmio=ram regions (their content is the model: what a read must return is
 * what the last write left).  Linear window pages in several address spaces (one page directory
 * and page table each) map random device pages with random rights; between the accesses the
 * soak remaps pages, switches and reloads CR3, runs INVLPG and INVPCID (when the CPU has it),
 * toggles CR0.WP and CR4.PGE, and accesses from ring 3 as well as ring 0, in many instruction
 * forms.  Every access is checked against the model: the value read, or the #PF the guest must
 * get (vector, error code, CR2); at the end every modelled device word is read back through the
 * identity map and the devices' own access counters are compared with the accesses made.
 *
 * The model is exact because the soak never leaves the TLB's choice open: a remap of a page the
 * current address space uses is always followed by a flush that covers it (for a global page,
 * one that drops global translations); a remap in another address space needs none, since the
 * switch to it drops non-global translations; the window pages that may be global are mapped
 * alike in every address space.  So a stale translation in mhv (a flush it did not see or did
 * not apply) sends an access to the wrong device word, and a later read reports it.
 */
#include <stddef.h>

#include "core/hypercall_abi.h"
#include "arch/x86/io.h"
#include "lib/compiler.h"
#include "tests/guest/cpu.h"
#include "tests/guest/cmdline.h"
#include "tests/guest/hv.h"
#include "tests/guest/paging32.h"
#include "tests/guest/report.h"
#include "tests/guest/tests.h"
#include "tests/guest/trap.h"

#define SOAK_SEED     0x6D687631u /* fixed, printed: a run is reproduced by running it again */
/* Device accesses that must complete (faults not counted); "soak=N" on the command line sets
 * another count (the multiboot2 variants run fewer: Bochs spends ~0.5 G ticks on 100,000). */
#define SOAK_ACCESSES	  100000u
#define SOAK_ACCESSES_OPT "soak="

#define PTE_G	    (1u << 8)
#define PF_ERR_P    (1u << 0)
#define PF_ERR_W    (1u << 1)
#define PF_ERR_U    (1u << 2)
#define CR4_PAE	    (1u << 5)
#define CR4_PGE	    (1u << 7)
#define CR4_PCIDE   (1u << 17)
#define CR4_SMEP    (1u << 20)
#define CR4_SMAP    (1u << 21)
#define WINDOW_PDE  (ENTRIES - 1)
#define WINDOW	    ((uintptr_t)WINDOW_PDE << LARGE_SHIFT)

#define CPUID7_EBX_INVPCID (1u << 10)
#define INVPCID_ADDR	   0u /* one address, non-global */
#define INVPCID_CTX	   1u /* one PCID, non-global */
#define INVPCID_ALL_G	   2u /* everything, global too */
#define INVPCID_ALL	   3u /* everything but global */
#define NR_INVPCID_STEPS   3  /* a lone INVPCID step: address, context or all but global */

#define NR_AS		 3  /* address spaces: page directories */
#define NR_WIN		 16 /* window pages per address space */
#define NR_SHARED	 4  /* window pages 0..3: alike in every address space, may be global */
#define MAX_DEV_PAGES	 8
#define PAGES_PER_REGION 4
#define NR_REGIONS_USED	 2
#define MAX_REGIONS	 8
#define SLOTS		 64 /* device words modelled per page, SLOT_STRIDE apart */
#define SLOT_STRIDE	 (PAGE_SIZE / SLOTS)
#define WORD		 4
#define MISMATCH_REPORTS 8
#define BYTE_BITS	 8
#define IMM32		 0xC0DE5EEDu
#define IMM8		 0xA7u

/* Step kinds, by weight out of STEP_WEIGHTS (the rest are accesses). */
#define STEP_WEIGHTS 1000u
#define W_REMAP	     50u
#define W_CR3_SWITCH 30u
#define W_CR3_RELOAD 10u
#define W_INVLPG     20u
#define W_INVPCID    10u
#define W_WP	     20u
#define W_PGE	     10u
#define USER_ONE_IN  8u	 /* one access in 8 from ring 3 */
#define ABSENT_ONE_IN 8u /* one mapping in 8 not present */
#define RO_ONE_IN    4u	 /* one in 4 read-only */

enum form { LD32, ST32, LD16, ST16, LD8, ST8, MOVZX8, MOVSX16, ST32_IMM, ST8_IMM, ADD32, NR_FORMS };

enum flush_kind {
	FL_INVLPG,
	FL_PGE,
	FL_INVPCID_ALL_G,
	FL_NR_GLOBAL, /* the kinds above also drop global translations */
	FL_CR3_RELOAD = FL_NR_GLOBAL,
	FL_AS_ROUNDTRIP,
	FL_INVPCID_ADDR,
	FL_INVPCID_CTX,
	FL_INVPCID_ALL,
	NR_FLUSH_KINDS,
};

struct mapping {
	bool present, rw, us, global;
	uint8_t dev;
};

struct soak_op {
	uint32_t va, val;
	enum form form;
};

struct counts {
	uint32_t accesses, reads, writes, user, faults, remaps, cr3_switches, cr3_reloads, invlpg,
		invpcid, wp_toggles, pge_toggles, mismatches, rmw_denied;
};

static uint32_t pd[NR_AS][ENTRIES] __aligned(PAGE_SIZE);
static uint32_t pt[NR_AS][ENTRIES] __aligned(PAGE_SIZE);
static struct mapping maps[NR_AS][NR_WIN];
static uint32_t dev_phys[MAX_DEV_PAGES];
static uint8_t dev_region[MAX_DEV_PAGES];
static uint32_t region_index[NR_REGIONS_USED];
static uint8_t model[MAX_DEV_PAGES][SLOTS][WORD];
static uint32_t nr_dev, cur_as, rng;
static bool wp, has_invpcid;
static struct counts n;

static uint32_t rnd(uint32_t bound)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng % bound;
}

/* ---- the devices ---- */

static bool find_devices(void)
{
	uint32_t found = 0;

	for (uint32_t i = 0; i < MAX_REGIONS && found < NR_REGIONS_USED; i++) {
		struct hc_regs r = {.eax = HC_MMIO_REGION, .ebx = i};

		hc_native(&r);
		if (r.eax == (uint32_t)HC_ENOSYS)
			break;
		if (r.ecx != MMIO_TYPE_RAM || r.eax % PAGE_SIZE || r.ebx < PAGE_SIZE ||
		    r.eax >= WINDOW)
			continue;
		for (uint32_t p = 0; p < PAGES_PER_REGION && p < r.ebx / PAGE_SIZE; p++) {
			dev_phys[nr_dev] = r.eax + p * PAGE_SIZE;
			dev_region[nr_dev++] = (uint8_t)found;
		}
		region_index[found++] = i;
	}
	return found == NR_REGIONS_USED;
}

struct dev_total {
	uint32_t reads, writes;
};

static struct dev_total dev_total(void)
{
	struct dev_total t = {0};

	for (uint32_t i = 0; i < NR_REGIONS_USED; i++) {
		struct hc_regs r = {.eax = HC_MMIO_DEVICE, .ebx = region_index[i]};

		hc_native(&r);
		t.reads += r.eax;
		t.writes += r.ebx;
	}
	return t;
}

static uint32_t model_word(uint32_t dev, uint32_t slot)
{
	const uint8_t *b = model[dev][slot];

	return b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static void model_store(uint32_t dev, uint32_t slot, uint32_t sub, uint32_t val, uint32_t size)
{
	for (uint32_t i = 0; i < size; i++)
		model[dev][slot][sub + i] = (uint8_t)(val >> (i * BYTE_BITS));
}

static uint32_t model_load(uint32_t dev, uint32_t slot, uint32_t sub, uint32_t size)
{
	uint32_t v = 0;

	for (uint32_t i = 0; i < size; i++)
		v |= (uint32_t)model[dev][slot][sub + i] << (i * BYTE_BITS);
	return v;
}

/* ---- page tables ---- */

static void write_pte(uint32_t as, uint32_t w)
{
	const struct mapping *m = &maps[as][w];
	uint32_t pte = 0;

	if (m->present)
		pte = dev_phys[m->dev] | PTE_P | (m->rw ? PTE_RW : 0) | (m->us ? PTE_US : 0) |
		      (m->global ? PTE_G : 0);
	mmio_write32((uintptr_t)&pt[as][w], pte); /* volatile: never moved past a flush */
}

static struct mapping random_mapping(bool shared)
{
	return (struct mapping){
		.present = rnd(ABSENT_ONE_IN) != 0,
		.rw = rnd(RO_ONE_IN) != 0,
		.us = rnd(2),
		.global = shared && rnd(2),
		.dev = (uint8_t)rnd(nr_dev),
	};
}

static void build_tables(void)
{
	for (uint32_t as = 0; as < NR_AS; as++) {
		for (uint32_t i = 0; i < ENTRIES; i++)
			pd[as][i] = (i << LARGE_SHIFT) | PDE_PS | PTE_US | PTE_RW | PTE_P;
		pd[as][WINDOW_PDE] = (uint32_t)pt[as] | PTE_US | PTE_RW | PTE_P;
	}
	for (uint32_t w = 0; w < NR_WIN; w++) {
		struct mapping shared = random_mapping(true);

		for (uint32_t as = 0; as < NR_AS; as++) {
			maps[as][w] = w < NR_SHARED ? shared : random_mapping(false);
			write_pte(as, w);
		}
	}
}

/* ---- flushes ---- */

static void invpcid(uint32_t type, uint32_t la)
{
	static uint64_t desc[2] __aligned(16);

	desc[0] = 0; /* PCID 0: CR4.PCIDE stays clear outside IA-32e mode */
	desc[1] = la;
	asm volatile("invpcid (%0), %1" ::"r"(desc), "r"(type) : "memory");
	n.invpcid++;
}

static void set_cr3(uint32_t as)
{
	cur_as = as;
	write_cr3((uint32_t)pd[as]);
}

static void flush(enum flush_kind k, uintptr_t va)
{
	switch (k) {
	case FL_INVLPG:
		invlpg(va);
		n.invlpg++;
		break;
	case FL_PGE:
		write_cr4(read_cr4() ^ CR4_PGE);
		n.pge_toggles++;
		break;
	case FL_INVPCID_ALL_G:
		invpcid(INVPCID_ALL_G, 0);
		break;
	case FL_CR3_RELOAD:
		set_cr3(cur_as);
		n.cr3_reloads++;
		break;
	case FL_AS_ROUNDTRIP: {
		uint32_t back = cur_as;

		set_cr3((cur_as + 1 + rnd(NR_AS - 1)) % NR_AS);
		set_cr3(back);
		n.cr3_switches += 2;
		break;
	}
	case FL_INVPCID_ADDR:
		invpcid(INVPCID_ADDR, va);
		break;
	case FL_INVPCID_CTX:
		invpcid(INVPCID_CTX, 0);
		break;
	case FL_INVPCID_ALL:
	default:
		invpcid(INVPCID_ALL, 0);
		break;
	}
}

static bool is_invpcid(enum flush_kind k)
{
	return k == FL_INVPCID_ALL_G || k == FL_INVPCID_ADDR || k == FL_INVPCID_CTX ||
	       k == FL_INVPCID_ALL;
}

/* A random flush that drops the translation of va (global ones too if global). */
static void flush_covering(uintptr_t va, bool global)
{
	enum flush_kind k;

	do
		k = (enum flush_kind)rnd(global ? FL_NR_GLOBAL : NR_FLUSH_KINDS);
	while (is_invpcid(k) && !has_invpcid);
	flush(k, va);
}

static void step_remap(void)
{
	const uint32_t w = rnd(NR_WIN);
	const uintptr_t va = WINDOW + w * PAGE_SIZE;

	n.remaps++;
	if (w < NR_SHARED) {
		const struct mapping m = random_mapping(true);

		for (uint32_t as = 0; as < NR_AS; as++) {
			maps[as][w] = m;
			write_pte(as, w);
		}
		flush_covering(va, true);
		return;
	}
	const uint32_t as = rnd(NR_AS);

	maps[as][w] = random_mapping(false);
	write_pte(as, w);
	if (as == cur_as)
		flush_covering(va, false);
	/* else: the switch to that address space drops its non-global translations */
}

/* ---- accesses ---- */

static void do_access(void *arg)
{
	struct soak_op *op = arg;
	uint16_t v16;
	uint8_t v8;

	switch (op->form) {
	case LD32:
		asm volatile("movl (%1), %0" : "=r"(op->val) : "r"(op->va) : "memory");
		break;
	case ST32:
		asm volatile("movl %0, (%1)" ::"r"(op->val), "r"(op->va) : "memory");
		break;
	case LD16:
		asm volatile("movw (%1), %0" : "=r"(v16) : "r"(op->va) : "memory");
		op->val = v16;
		break;
	case ST16:
		asm volatile("movw %w0, (%1)" ::"r"(op->val), "r"(op->va) : "memory");
		break;
	case LD8:
		asm volatile("movb (%1), %0" : "=q"(v8) : "r"(op->va) : "memory");
		op->val = v8;
		break;
	case ST8:
		asm volatile("movb %b0, (%1)" ::"q"(op->val), "r"(op->va) : "memory");
		break;
	case MOVZX8:
		asm volatile("movzbl (%1), %0" : "=r"(op->val) : "r"(op->va) : "memory");
		break;
	case MOVSX16:
		asm volatile("movswl (%1), %0" : "=r"(op->val) : "r"(op->va) : "memory");
		break;
	case ST32_IMM:
		asm volatile("movl %0, (%1)" ::"i"(IMM32), "r"(op->va) : "memory");
		break;
	case ST8_IMM:
		asm volatile("movb %0, (%1)" ::"i"(IMM8), "r"(op->va) : "memory");
		break;
	case ADD32:
	default:
		asm volatile("addl %0, (%1)" ::"r"(op->val), "r"(op->va) : "memory", "cc");
		break;
	}
}

static uint32_t form_size(enum form f)
{
	switch (f) {
	case LD16:
	case ST16:
	case MOVSX16:
		return sizeof(uint16_t);
	case LD8:
	case ST8:
	case MOVZX8:
	case ST8_IMM:
		return sizeof(uint8_t);
	default:
		return sizeof(uint32_t);
	}
}

static bool form_reads(enum form f)
{
	return f == LD32 || f == LD16 || f == LD8 || f == MOVZX8 || f == MOVSX16 || f == ADD32;
}

static bool form_writes(enum form f)
{
	return f == ST32 || f == ST16 || f == ST8 || f == ST32_IMM || f == ST8_IMM || f == ADD32;
}

/* True when the access must raise #PF, with its error code in *err. */
static bool expected_fault(const struct mapping *m, bool user, bool write, uint32_t *err)
{
	*err = (write ? PF_ERR_W : 0) | (user ? PF_ERR_U : 0);
	if (!m->present)
		return true;
	*err |= PF_ERR_P;
	return (user && !m->us) || (write && !m->rw && (user || wp));
}

static void mismatch(uint32_t step, const struct soak_op *op, bool user, const char *what,
		     uint32_t got, uint32_t want)
{
	if (n.mismatches++ < MISMATCH_REPORTS)
		gprintf("guest: soak: MISMATCH at step %u: %s form %u va 0x%x (address space %u, "
			"WP %u, CR4 0x%x): %s 0x%x, expected 0x%x\n",
			step, user ? "ring 3" : "ring 0", op->form, op->va, cur_as, wp,
			read_cr4(), what, got, want);
}

static uint32_t sign_extend16(uint32_t v)
{
	return (uint32_t)(int32_t)(int16_t)(uint16_t)v;
}

static void step_access(uint32_t step)
{
	const uint32_t w = rnd(NR_WIN), slot = rnd(SLOTS);
	const struct mapping *m = &maps[cur_as][w];
	const bool user = rnd(USER_ONE_IN) == 0;
	struct soak_op op = {.val = rng, .form = user ? (rnd(2) ? ST32 : LD32)
						       : (enum form)rnd(NR_FORMS)};
	const uint32_t size = form_size(op.form);
	const uint32_t sub = size == WORD ? 0 : rnd(WORD / size) * size;
	const bool write = form_writes(op.form);
	uint32_t want;
	const bool want_pf = expected_fault(m, user, write, &want);
	struct fault f = {0};

	op.va = WINDOW + w * PAGE_SIZE + slot * SLOT_STRIDE + sub;
	if (user) {
		uint32_t val = op.val;

		n.user++;
		if (mmio_user_access(write, op.va, &val, &f))
			op.val = val;
	} else {
		run_catching(do_access, &op, &f);
	}
	if (want_pf) {
		/* An RMW to a page that is not present: the CPU may report the read or the write. */
		const uint32_t loose = op.form == ADD32 && !m->present ? PF_ERR_W : 0;

		n.faults++;
		n.rmw_denied += op.form == ADD32 && m->present;
		if (!f.raised || f.vector != VEC_PF)
			mismatch(step, &op, user, "no #PF, vector", f.raised ? f.vector : 0,
				 VEC_PF);
		else if ((f.errcode & ~loose) != (want & ~loose) || f.cr2 != op.va)
			mismatch(step, &op, user, "#PF error code", f.errcode, want);
		return;
	}
	if (f.raised) {
		mismatch(step, &op, user, "unexpected exception", f.vector, 0);
		return;
	}
	n.accesses++;
	n.reads += form_reads(op.form);
	n.writes += write;
	{
		const uint32_t old = model_load(m->dev, slot, sub, size);

		switch (op.form) {
		case LD32:
		case LD16:
		case LD8:
		case MOVZX8:
			if (op.val != old)
				mismatch(step, &op, user, "read", op.val, old);
			break;
		case MOVSX16:
			if (op.val != sign_extend16(old))
				mismatch(step, &op, user, "read", op.val, sign_extend16(old));
			break;
		case ST32_IMM:
			model_store(m->dev, slot, sub, IMM32, size);
			break;
		case ST8_IMM:
			model_store(m->dev, slot, sub, IMM8, size);
			break;
		case ADD32:
			model_store(m->dev, slot, sub, old + op.val, size);
			break;
		default:
			model_store(m->dev, slot, sub, op.val, size);
			break;
		}
	}
}

/* The kinds' cumulative weights. */
#define T_REMAP	     W_REMAP
#define T_CR3_SWITCH (T_REMAP + W_CR3_SWITCH)
#define T_CR3_RELOAD (T_CR3_SWITCH + W_CR3_RELOAD)
#define T_INVLPG     (T_CR3_RELOAD + W_INVLPG)
#define T_INVPCID    (T_INVLPG + W_INVPCID)
#define T_WP	     (T_INVPCID + W_WP)
#define T_PGE	     (T_WP + W_PGE)

static void step(uint32_t i)
{
	const uint32_t r = rnd(STEP_WEIGHTS);

	if (r < T_REMAP) {
		step_remap();
	} else if (r < T_CR3_SWITCH) {
		set_cr3(rnd(NR_AS));
		n.cr3_switches++;
	} else if (r < T_CR3_RELOAD) {
		flush(FL_CR3_RELOAD, 0);
	} else if (r < T_INVLPG) {
		flush(FL_INVLPG, WINDOW + rnd(NR_WIN) * PAGE_SIZE);
	} else if (r < T_INVPCID) {
		if (has_invpcid)
			flush((enum flush_kind)(FL_INVPCID_ADDR + rnd(NR_INVPCID_STEPS)),
			      WINDOW + rnd(NR_WIN) * PAGE_SIZE);
	} else if (r < T_WP) {
		wp = !wp;
		write_cr0(wp ? read_cr0() | CR0_WP : read_cr0() & ~CR0_WP);
		n.wp_toggles++;
	} else if (r < T_PGE) {
		flush(FL_PGE, 0);
	} else {
		step_access(i);
	}
}

/* Every modelled word through the identity map: what the devices hold must be the model. */
static uint32_t sweep(void)
{
	uint32_t bad = 0;

	for (uint32_t d = 0; d < nr_dev; d++)
		for (uint32_t s = 0; s < SLOTS; s++)
			if (mmio_read32(dev_phys[d] + s * SLOT_STRIDE) != model_word(d, s))
				bad++;
	return bad;
}

void test_mmio_soak(const struct boot_info *bi)
{
	const uint32_t cr0 = read_cr0(), cr3 = read_cr3(), cr4 = read_cr4();
	const bool cache_on = hypercall(HC_MMIO_COUNTER, MMIO_COUNTER_CACHE_ON, 0, 0, NULL) == 1;
	struct dev_total before, after;
	uint64_t t0, t1;
	const uint32_t target = cmdline_u32(bi, SOAK_ACCESSES_OPT, SOAK_ACCESSES);
	uint32_t steps = 0, bad;

	if (!find_devices()) {
		check(false, "soak: two mmio=ram regions below the window", "%u device pages",
		      nr_dev);
		return;
	}
	has_invpcid = cpuid_count(7, 0).ebx & CPUID7_EBX_INVPCID;
	rng = SOAK_SEED;
	n = (struct counts){0};

	write_cr0(cr0 & ~CR0_PG);
	build_tables();
	write_cr4((read_cr4() | CR4_PSE) & ~(CR4_PAE | CR4_PGE | CR4_PCIDE | CR4_SMEP | CR4_SMAP));
	set_cr3(0);
	wp = true;
	write_cr0(read_cr0() | CR0_PG | CR0_WP);
	mmio_user_begin();

	for (uint32_t d = 0; d < nr_dev; d++)
		for (uint32_t s = 0; s < SLOTS; s++)
			model_store(d, s, 0, mmio_read32(dev_phys[d] + s * SLOT_STRIDE), WORD);
	before = dev_total();
	t0 = rdtsc();
	while (n.accesses < target)
		step(steps++);
	t1 = rdtsc();
	after = dev_total();
	bad = sweep();

	mmio_user_end();
	write_cr0(read_cr0() & ~CR0_PG);
	write_cr4(cr4);
	write_cr3(cr3);
	write_cr0(cr0);

	gprintf("guest: soak: seed 0x%x, %u accesses asked, cache %s, %u device pages, %u address spaces, "
		"INVPCID %s: %u steps, %u device accesses (%u reads, %u writes, %u from ring 3), "
		"%u #PF, %u remaps, %u CR3 switches, %u CR3 reloads, %u INVLPG, %u INVPCID, "
		"%u CR0.WP and %u CR4.PGE toggles, %u denied RMW, %lu ticks\n",
		SOAK_SEED, target,
		cache_on ? "on" : "off", nr_dev, NR_AS, has_invpcid ? "yes" : "no",
		steps, n.accesses, n.reads, n.writes, n.user, n.faults, n.remaps, n.cr3_switches,
		n.cr3_reloads, n.invlpg, n.invpcid, n.wp_toggles, n.pge_toggles, n.rmw_denied,
		(unsigned long)(t1 - t0));
	check(n.mismatches == 0, "soak: every access saw the model's value or #PF",
	      "%u mismatches", n.mismatches);
	check(bad == 0, "soak: the devices hold exactly the model afterwards", "%u words differ",
	      bad);
	check(after.reads - before.reads == n.reads && after.writes - before.writes == n.writes,
	      "soak: the devices counted exactly the soak's reads and writes",
	      "%u reads, %u writes counted; %u, %u made", after.reads - before.reads,
	      after.writes - before.writes, n.reads, n.writes);
}
