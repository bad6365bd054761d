/*
 * Hostile guest, DMA: a device the guest programs must not reach mhv's memory, and must still
 * reach the guest's own.  The device is QEMU's "edu" PCI device (1234:11e8), whose DMA engine
 * copies up to 4 KiB (here 2 KiB) between RAM and its internal buffer; its requests go through the IOMMU
 * like any other bus master's.  The boot configs with an IOMMU (qemu-q35-*-iommu) add it.
 *
 *   RAM -> device -> RAM        the copy arrives whole: ordinary DMA still works
 *   device -> mhv's canary page the write is blocked: the page's checksum (HC_IOMMU_STATUS)
 *                               is unchanged and mhv counts (and logs) a fault
 *   mhv's canary page -> device the read is blocked and counted too
 *
 * Also: the ACPI tables the guest sees name no DMAR or IVRS, and the IOMMU's registers (at
 * QEMU's fixed addresses) read all ones.  Without the device, or without an IOMMU, the attack
 * is skipped with a line saying so (it would overwrite mhv).
 */
#include <stddef.h>

#include "arch/x86/io.h"
#include "core/hypercall_abi.h"
#include "tests/guest/cpu.h"
#include "tests/guest/edu.h"
#include "tests/guest/hv.h"
#include "tests/guest/pci_cfg.h"
#include "tests/guest/report.h"
#include "tests/guest/tests.h"


/* QEMU 7.2's range check refuses a DMA that ends exactly at the buffer's end: copy half. */
#define DMA_LEN		  2048u

/* QEMU's IOMMU register bases (what the hidden DMAR/IVRS would say). */
#define QEMU_VTD_BASE	  0xFED90000u
#define QEMU_AMDVI_BASE	  0xFED80000u
#define ALL_ONES	  0xFFFFFFFFu

#define BIOS_AREA	  0xE0000u
#define BIOS_AREA_END	  0x100000u
#define RSDP_ALIGN	  16
#define RSDP_RSDT	  16
#define RSDP_REVISION	  15
#define RSDP_XSDT	  24
#define ACPI_HDR_LEN	  36
#define ACPI_LENGTH	  4

#define PATTERN_GOOD 0x5au
#define PATTERN_EVIL 0xe7u

static uint8_t src_buf[EDU_BUFFER_SIZE] __attribute__((aligned(4096)));
static uint8_t dst_buf[EDU_BUFFER_SIZE] __attribute__((aligned(4096)));

/* The edu device's registers on bus 0, bus mastering on; 0 if there is none. */
static uintptr_t find_edu(unsigned *slot)
{
	for (unsigned dev = 0; dev < PCI_SLOTS; dev++) {
		if (pci_read(dev, PCI_ID) != EDU_ID)
			continue;
		pci_write(dev, PCI_COMMAND,
			  pci_read(dev, PCI_COMMAND) | PCI_CMD_MEMORY | PCI_CMD_MASTER);
		*slot = dev;
		return pci_read(dev, PCI_BAR0) & PCI_BAR_MEM_MASK;
	}
	return 0;
}

static void fill(uint8_t *b, uint8_t seed)
{
	for (unsigned i = 0; i < DMA_LEN; i++)
		b[i] = (uint8_t)(seed + i * 7);
}

static bool same(const uint8_t *a, const uint8_t *b)
{
	for (unsigned i = 0; i < DMA_LEN; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

struct iommu_state {
	uint32_t kind, units, faults, canary_pa, canary_sum;
};

static struct iommu_state iommu_state(void)
{
	struct hc_regs r = {.eax = HC_IOMMU_STATUS};

	hc_native(&r);
	return (struct iommu_state){r.eax & 0xff, (r.eax >> 8) & 0xff, r.ebx, r.ecx, r.edx};
}

/*
 * mhv must have drained and counted the blocked access.  QEMU 7.2's AMD-Vi model writes no
 * event-log entry for an I/O page fault (nor moves the event-log tail register), so there the
 * count is only reported: the block itself is checked by the canary.
 */
static void check_fault_count(const char *dir, const struct iommu_state *before,
			      const struct iommu_state *after)
{
	if (before->kind == IOMMU_STATUS_AMDVI && cpu_is_qemu_tcg()) {
		gprintf("guest: contain dma: blocked DMA %s: AMD-Vi event log reports %u new "
			"fault(s) (QEMU 7.2 logs none)\n",
			dir, after->faults - before->faults);
		return;
	}
	check(after->faults > before->faults,
	      dir[0] == 'w' ? "contain dma: mhv counted the blocked DMA write"
			    : "contain dma: mhv counted the blocked DMA read",
	      "%u fault(s) before, %u after", before->faults, after->faults);
}

static bool sig_is(uint32_t pa, const char *sig)
{
	const char *p = (const char *)(uintptr_t)pa;

	return p[0] == sig[0] && p[1] == sig[1] && p[2] == sig[2] && p[3] == sig[3];
}

/* Does the RSDT (or the XSDT below 4 GiB) name a table with this signature? */
static bool acpi_names(uint32_t root, unsigned entry_size, const char *sig)
{
	uint32_t len = *(const uint32_t *)(uintptr_t)(root + ACPI_LENGTH);

	for (uint32_t off = ACPI_HDR_LEN; off + entry_size <= len; off += entry_size) {
		const uint32_t *e = (const uint32_t *)(uintptr_t)(root + off);

		if ((entry_size == 8 && e[1]) || !e[0])
			continue; /* above 4 GiB: out of this 32-bit guest's reach */
		if (sig_is(e[0], sig))
			return true;
	}
	return false;
}

static void check_acpi_hidden(void)
{
	for (uint32_t pa = BIOS_AREA; pa < BIOS_AREA_END; pa += RSDP_ALIGN) {
		const uint8_t *p = (const uint8_t *)(uintptr_t)pa;
		uint32_t rsdt, xsdt_lo = 0, xsdt_hi = 0;
		bool named;

		if (!sig_is(pa, "RSD ") || !sig_is(pa + 4, "PTR "))
			continue;
		rsdt = *(const uint32_t *)(p + RSDP_RSDT);
		if (p[RSDP_REVISION] >= 2) {
			xsdt_lo = *(const uint32_t *)(p + RSDP_XSDT);
			xsdt_hi = *(const uint32_t *)(p + RSDP_XSDT + 4);
		}
		named = (rsdt && (acpi_names(rsdt, 4, "DMAR") || acpi_names(rsdt, 4, "IVRS"))) ||
			(xsdt_lo && !xsdt_hi &&
			 (acpi_names(xsdt_lo, 8, "DMAR") || acpi_names(xsdt_lo, 8, "IVRS")));
		check(!named, "contain dma: the guest's ACPI tables name no DMAR or IVRS",
		      "RSDT 0x%x names one", rsdt);
		return;
	}
	gprintf("guest: contain dma: no RSDP in the BIOS area (UEFI?): ACPI view not checked\n");
}

void test_contain_dma(void)
{
	struct iommu_state before = iommu_state(), after;
	uintptr_t edu;
	unsigned slot = 0;

	gprintf("guest: contain dma: IOMMU kind %u, %u unit(s), %u fault(s) so far\n", before.kind,
		before.units, before.faults);
	check_acpi_hidden();
	if (before.kind == IOMMU_STATUS_VTD)
		check_eq("contain dma: the VT-d version register reads all ones",
			 mmio_read32(QEMU_VTD_BASE), ALL_ONES);
	if (before.kind == IOMMU_STATUS_AMDVI)
		check_eq("contain dma: the AMD-Vi capability register reads all ones",
			 mmio_read32(QEMU_AMDVI_BASE), ALL_ONES);
	edu = find_edu(&slot);
	if (!edu) {
		gprintf("guest: contain dma: no edu DMA device: DMA checks skipped\n");
		return;
	}
	gprintf("guest: contain dma: edu device at 00:%02x.0, registers at 0x%x\n", slot,
		(unsigned)edu);

	/* Ordinary DMA: guest RAM -> device -> other guest RAM. */
	fill(src_buf, PATTERN_GOOD);
	fill(dst_buf, 0);
	check(edu_dma(edu, (uint32_t)(uintptr_t)src_buf, DMA_LEN, false) &&
		      edu_dma(edu, (uint32_t)(uintptr_t)dst_buf, DMA_LEN, true) &&
		      same(src_buf, dst_buf),
	      "contain dma: a device's DMA to and from guest RAM still works",
	      "the copy through the device differs");
	if (before.kind == IOMMU_STATUS_NONE) {
		gprintf("guest: contain dma: no IOMMU: the attack on mhv's memory is skipped\n");
		return;
	}

	/* The attack: the device writes a page of mhv's data. */
	fill(src_buf, PATTERN_EVIL);
	check(edu_dma(edu, (uint32_t)(uintptr_t)src_buf, DMA_LEN, false) &&
		      edu_dma(edu, before.canary_pa, DMA_LEN, true),
	      "contain dma: the device finished its DMA write aimed at mhv", "it never finished");
	after = iommu_state();
	check_eq("contain dma: mhv's data is intact after a DMA write into it", after.canary_sum,
		 before.canary_sum);
	check_fault_count("write", &before, &after);

	/* And reads it: blocked and counted too. */
	before = after;
	check(edu_dma(edu, before.canary_pa, DMA_LEN, false),
	      "contain dma: the device finished its DMA read aimed at mhv", "it never finished");
	after = iommu_state();
	check_fault_count("read", &before, &after);

	/* Guest DMA still works after the faults. */
	fill(src_buf, PATTERN_GOOD + 1);
	fill(dst_buf, 0);
	check(edu_dma(edu, (uint32_t)(uintptr_t)src_buf, DMA_LEN, false) &&
		      edu_dma(edu, (uint32_t)(uintptr_t)dst_buf, DMA_LEN, true) &&
		      same(src_buf, dst_buf),
	      "contain dma: guest DMA still works after the blocked ones",
	      "the copy through the device differs");
}
