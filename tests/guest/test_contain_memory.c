/*
 * Hostile guest, memory: guest page tables that name guest-physical addresses mhv must never
 * dereference for the guest.  Each attack uses an instruction whose first access is to a
 * trapped mmio=ram page, so the CPU never checks the other operand: mhv's emulator translates
 * it, and only mhv's memory gate stands between the guest's page tables and mhv's memory.
 *
 *   CMPS  [esi = device page], [edi = attack address]   mhv reads the attack address
 *   MOVS  [esi = device page] -> [edi = attack address] mhv writes the attack address
 *
 * The attack address is a 2 MiB PAE page aimed at: mhv's own range; the direct-map alias of
 * mhv's image (direct-map base + gpa == image base); an address beyond the top of the guest's
 * map; an address beyond MAXPHYADDR.  Then the page tables themselves are aimed at mhv's range
 * and beyond the map, and finally a page table that lives inside an mmio=ram region must be
 * read through the region's device (not from the RAM or hole behind it).
 */
#include "core/hypercall_abi.h"
#include "lib/fmt.h"
#include "tests/guest/cpu.h"
#include "tests/guest/hv.h"
#include "tests/guest/report.h"
#include "tests/guest/tests.h"
#include "tests/guest/trap.h"

#define PAGE_SIZE      4096u
#define PAE_ENTRIES    512u
#define PAE_PDPTES     4u
#define LARGE_SHIFT    21 /* a PAE PDE maps 2 MiB */
#define LARGE_SIZE     (1ull << LARGE_SHIFT)
#define GIB_SHIFT      30
#define PTE_P	       (1ull << 0)
#define PTE_RW	       (1ull << 1)
#define PDE_PS	       (1ull << 7)
#define CR4_PAE	       (1u << 5)
#define PF_ERR_RSVD    (1u << 3)
#define ADDR_SIZES     0x80000008u
#define PHYS_BITS_MASK 0xFFu
#define ALIAS_GPA      0x7FFF80000000ull /* direct-map base + this == mhv's image base */
#define WINDOW	       0xBFE00000u	 /* the last 2 MiB of PDPTE 2's GiB: the attack page */
#define WINDOW_PD      2u
#define WINDOW_PDE     (PAE_ENTRIES - 1)
#define PT_WINDOW      0xBFC00000u /* a 2 MiB span mapped through a page table in a region */
#define PT_WINDOW_PDE  (PAE_ENTRIES - 2)
#define PATTERN	       0x5A17C0DEu
#define NAME_LEN       112

static uint64_t pdpt[PAE_PDPTES] __aligned(32);
static uint64_t pd[PAE_PDPTES][PAE_ENTRIES] __aligned(PAGE_SIZE);
static uint32_t saved_cr0, saved_cr3, saved_cr4;
static uint32_t dev_base, pt_region_base; /* two mmio=ram regions */

struct string_op {
	uint32_t src, dst;
	bool equal;
};

static void do_cmps(void *arg)
{
	struct string_op *op = arg;
	uint32_t esi = op->src, edi = op->dst;
	uint8_t eq;

	asm volatile("cld; cmpsl; sete %2" : "+S"(esi), "+D"(edi), "=q"(eq) : : "memory", "cc");
	op->equal = eq;
}

static void do_movs(void *arg)
{
	struct string_op *op = arg;
	uint32_t esi = op->src, edi = op->dst;

	asm volatile("cld; movsl" : "+S"(esi), "+D"(edi) : : "memory");
}

static void pae_on(void)
{
	for (unsigned i = 0; i < PAE_PDPTES; i++) {
		for (unsigned j = 0; j < PAE_ENTRIES; j++)
			pd[i][j] = ((uint64_t)i << GIB_SHIFT) | ((uint64_t)j << LARGE_SHIFT) | PTE_P |
				   PTE_RW | PDE_PS;
		pdpt[i] = (uint32_t)(uintptr_t)pd[i] | PTE_P;
	}
	saved_cr0 = read_cr0();
	saved_cr3 = read_cr3();
	saved_cr4 = read_cr4();
	write_cr0(saved_cr0 & ~CR0_PG);
	write_cr4(saved_cr4 | CR4_PAE);
	write_cr3((uint32_t)(uintptr_t)pdpt);
	write_cr0(saved_cr0 | CR0_PG);
}

static void pae_off(void)
{
	write_cr0(saved_cr0 & ~CR0_PG);
	write_cr4(saved_cr4);
	write_cr3(saved_cr3);
	write_cr0(saved_cr0);
}

/* Reload CR3: the PDPTEs (loaded at MOV CR3 in PAE paging) and every translation. */
static void reload_cr3(void)
{
	write_cr3((uint32_t)(uintptr_t)pdpt);
}

static void aim_window(uint64_t gpa)
{
	pd[WINDOW_PD][WINDOW_PDE] = (gpa & ~(LARGE_SIZE - 1)) | PTE_P | PTE_RW | PDE_PS;
	reload_cr3();
}

static bool contained(const struct fault *f)
{
	return f->raised && (f->vector == VEC_GP || f->vector == VEC_PF);
}

/*
 * Read and write through the emulator at gpa: each must fault, never reach memory.  Where a
 * reserved bit must fault, only RSVD is checked: QEMU's CMPS may read EDI before ESI and raise
 * the #PF itself (without P), before any exit.
 */
static void attack(const char *what, uint64_t gpa, uint32_t want_pf_error)
{
	struct string_op op = {.src = dev_base, .dst = WINDOW + (uint32_t)(gpa & (LARGE_SIZE - 1))};
	char name[NAME_LEN];
	struct fault f;

	aim_window(gpa);
	mmio_write32(dev_base, PATTERN);
	for (unsigned write = 0; write < 2; write++) {
		fmt_snprintf(name, sizeof(name), "contain memory: emulated %s of %s (GPA 0x%llx) faults",
			     write ? "write" : "read", what, (unsigned long long)gpa);
		run_catching(write ? do_movs : do_cmps, &op, &f);
		if (want_pf_error)
			check(f.raised && f.vector == VEC_PF &&
				      (f.errcode & want_pf_error) == want_pf_error,
			      name, "%s error 0x%x, want #PF with 0x%x",
			      f.raised ? trap_name(f.vector) : "no fault", f.errcode, want_pf_error);
		else
			check(contained(&f), name, "%s", f.raised ? trap_name(f.vector) : "no fault");
	}
}

/* A page-directory pointer or directory entry aimed at a table the guest does not own. */
static void attack_table(const char *what, uint64_t table_gpa, bool via_pdpte)
{
	uint64_t saved_pdpte = pdpt[WINDOW_PD], saved_pde = pd[WINDOW_PD][WINDOW_PDE];
	struct string_op op = {.src = dev_base, .dst = WINDOW};
	char name[NAME_LEN];
	struct fault f;

	if (via_pdpte)
		pdpt[WINDOW_PD] = table_gpa | PTE_P;
	else
		pd[WINDOW_PD][WINDOW_PDE] = table_gpa | PTE_P | PTE_RW;
	reload_cr3();
	fmt_snprintf(name, sizeof(name), "contain memory: %s at GPA 0x%llx is never read", what,
		     (unsigned long long)table_gpa);
	run_catching(do_cmps, &op, &f);
	pdpt[WINDOW_PD] = saved_pdpte;
	pd[WINDOW_PD][WINDOW_PDE] = saved_pde;
	reload_cr3();
	check(contained(&f), name, "%s", f.raised ? trap_name(f.vector) : "no fault");
}

/*
 * A page table inside an mmio=ram region: the guest writes it through the device, and mhv's
 * walk must read it back through the device too.  It maps PT_WINDOW's first page onto the
 * device page at dev_base + PAGE_SIZE.
 */
static void page_table_in_region(void)
{
	uint64_t saved_pde = pd[WINDOW_PD][PT_WINDOW_PDE];
	uint32_t target = dev_base + PAGE_SIZE;
	struct string_op op = {.src = dev_base, .dst = PT_WINDOW};
	struct fault f;

	mmio_write32(pt_region_base, target | (uint32_t)(PTE_P | PTE_RW));
	mmio_write32(pt_region_base + sizeof(uint32_t), 0);
	mmio_write32(dev_base, PATTERN);
	mmio_write32(target, ~PATTERN);
	pd[WINDOW_PD][PT_WINDOW_PDE] = pt_region_base | PTE_P | PTE_RW;
	reload_cr3();
	run_catching(do_movs, &op, &f);
	pd[WINDOW_PD][PT_WINDOW_PDE] = saved_pde;
	reload_cr3();
	check_no_fault("contain memory: MOVS through a page table inside an mmio=ram region", &f);
	check_eq("contain memory: the page table in the region was read through its device",
		 mmio_read32(target), PATTERN);
}

static bool find_ram_regions(void)
{
	unsigned found = 0;

	for (uint32_t n = 0; found < 2; n++) {
		struct hc_regs r = {.eax = HC_MMIO_REGION, .ebx = n};

		hc_native(&r);
		if (r.eax == HC_ENOSYS)
			break;
		if (r.ecx != MMIO_TYPE_RAM || r.ebx < 2 * PAGE_SIZE)
			continue;
		if (found++ == 0)
			dev_base = r.eax;
		else
			pt_region_base = r.eax;
	}
	return found == 2;
}

void test_contain_memory(void)
{
	uint32_t hv_end = 0, hv_start = hypercall(HC_HV_RANGE, 0, 0, 0, &hv_end);
	unsigned maxphyaddr = PHYS_BITS_MASK & cpuid(ADDR_SIZES).eax;
	uint64_t beyond_map = 1ull << (maxphyaddr - 1); /* far above the RAM of any test machine */

	if (!find_ram_regions()) {
		gprintf("guest: contain memory: needs two mmio=ram regions of 2 pages: skipped\n");
		return;
	}
	gprintf("guest: contain memory: MAXPHYADDR %u, mhv at [0x%x-0x%x)\n", maxphyaddr, hv_start,
		hv_end);
	pae_on();
	attack("mhv's own range", hv_start, 0);
	attack("mhv's last page", hv_end - PAGE_SIZE, 0);
	/* Below MAXPHYADDR the walk succeeds and the gate refuses (#GP); above, a reserved bit. */
	attack("the direct-map alias of mhv's image", ALIAS_GPA + (hv_start & (LARGE_SIZE - 1)),
	       (ALIAS_GPA >> maxphyaddr) ? PF_ERR_RSVD : 0);
	attack("an address beyond the guest's map", beyond_map, 0);
	attack("an address beyond MAXPHYADDR", 1ull << maxphyaddr, PF_ERR_RSVD);
	attack_table("a page directory in mhv's range", hv_start, true);
	attack_table("a page table in mhv's range", hv_start + PAGE_SIZE, false);
	attack_table("a page table beyond the guest's map", beyond_map, false);
	page_table_in_region();
	pae_off();
}
