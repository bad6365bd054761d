/*
 * A 64-bit PCI BAR the firmware placed above 4 GiB (QEMU's ivshmem-plain with a 2 GiB memory
 * backend in the qemu-highbar boot test; GPUs, NICs and NVMe on real machines): the guest
 * maps it through PAE paging and reads back what it wrote.  Under mhv the address lies above
 * the end of RAM, where the guest's physical map once stopped (#GP for every access).
 * Without such a BAR the test says so and checks nothing.
 */
#include "tests/guest/cpu.h"
#include "tests/guest/pci_cfg.h"
#include "tests/guest/report.h"
#include "tests/guest/tests.h"
#include "tests/guest/trap.h"

#define PCI_NR_DEVS	  32
#define PCI_REG_COMMAND	  0x04
#define PCI_REG_HEADER	  0x0C
#define PCI_REG_BAR0	  0x10
#define PCI_NR_BARS	  6
#define PCI_CMD_MEM	  0x2
#define PCI_VENDOR_NONE	  0xFFFF
#define BAR_IO		  0x1
#define BAR_TYPE_MASK	  0x6
#define BAR_TYPE_64	  0x4
#define BAR_MEM_MASK	  0xFFFFFFF0u
#define PAGE_SIZE	  4096u
#define ENTRIES64	  512u
#define PAE_LARGE_SHIFT	  21
#define PTE_P		  (1u << 0)
#define PTE_RW		  (1u << 1)
#define PTE_PWT		  (1u << 3)
#define PTE_PCD		  (1u << 4)
#define PTE_PS		  (1u << 7)
#define CR4_PAE		  (1u << 5)
#define WINDOW_PDPTE	  1 /* linear 1-2 GiB: above the test machine's RAM */
#define WINDOW		  ((uint32_t)WINDOW_PDPTE << 30)
#define FAR_OFFSET	  (1u << 20) /* a second spot, 1 MiB into the BAR */
#define PATTERN_A	  0x600DF00Du
#define PATTERN_B	  0x8BADCAFEu

static uint64_t hb_pd[2][ENTRIES64] __attribute__((aligned(PAGE_SIZE)));
static uint64_t hb_pdpt[4] __attribute__((aligned(32)));

/* The first 64-bit memory BAR at or above 4 GiB on bus 0 with memory decoding on, or 0. */
static uint64_t find_high_bar(void)
{
	for (unsigned dev = 0; dev < PCI_NR_DEVS; dev++) {
		if ((pci_read(dev, 0) & 0xFFFF) == PCI_VENDOR_NONE ||
		    ((pci_read(dev, PCI_REG_HEADER) >> 16) & 0x7F) != 0 ||
		    !(pci_read(dev, PCI_REG_COMMAND) & PCI_CMD_MEM))
			continue;
		for (unsigned i = 0; i + 1 < PCI_NR_BARS; i++) {
			uint32_t lo = pci_read(dev, PCI_REG_BAR0 + 4 * i);

			if ((lo & BAR_IO) || (lo & BAR_TYPE_MASK) != BAR_TYPE_64)
				continue;
			uint32_t hi = pci_read(dev, PCI_REG_BAR0 + 4 * (i + 1));
			i++;
			if (hi)
				return ((uint64_t)hi << 32) | (lo & BAR_MEM_MASK);
		}
	}
	return 0;
}

struct hb_result {
	uint32_t cr0, cr3, cr4; /* the paging state to come back to, even after a fault */
	uint32_t a, b;
};

static void paging_back(const struct hb_result *r)
{
	write_cr0(r->cr0 & ~CR0_PG);
	write_cr4(r->cr4);
	write_cr3(r->cr3);
	write_cr0(r->cr0);
}

/* PAE paging: linear 0-1 GiB identity, linear 1 GiB + 2 MiB -> the BAR (uncached). */
static void touch_high_bar(void *arg)
{
	struct hb_result *r = arg;
	volatile uint32_t *w = (volatile uint32_t *)WINDOW;

	write_cr0(r->cr0 & ~CR0_PG);
	write_cr3((uint32_t)hb_pdpt);
	write_cr4(r->cr4 | CR4_PAE);
	write_cr0(r->cr0 | CR0_PG | CR0_PE);
	w[0] = PATTERN_A;
	w[FAR_OFFSET / 4] = PATTERN_B;
	r->a = w[0];
	r->b = w[FAR_OFFSET / 4];
}

void test_high_bar(void)
{
	uint64_t bar = find_high_bar();
	struct hb_result r = {.cr0 = read_cr0(), .cr3 = read_cr3(), .cr4 = read_cr4()};
	struct fault f;

	if (!bar) {
		gprintf("guest: highbar: no 64-bit BAR above 4 GiB on bus 0: nothing to check\n");
		return;
	}
	gprintf("guest: highbar: 64-bit BAR at 0x%x%08x\n", (uint32_t)(bar >> 32),
		(uint32_t)bar);
	for (uint32_t i = 0; i < ENTRIES64; i++)
		hb_pd[0][i] = ((uint64_t)i << PAE_LARGE_SHIFT) | PTE_PS | PTE_RW | PTE_P;
	hb_pd[1][0] = bar | PTE_PS | PTE_PCD | PTE_PWT | PTE_RW | PTE_P;
	hb_pdpt[0] = (uint32_t)hb_pd[0] | PTE_P;
	hb_pdpt[WINDOW_PDPTE] = (uint32_t)hb_pd[1] | PTE_P;
	run_catching(touch_high_bar, &r, &f);
	paging_back(&r);
	check_no_fault("highbar: the BAR above 4 GiB is reachable through PAE paging", &f);
	check_eq("highbar: a write to the BAR reads back", r.a, PATTERN_A);
	check_eq("highbar: a write 1 MiB into the BAR reads back", r.b, PATTERN_B);
}
