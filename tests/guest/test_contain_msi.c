/*
 * Hostile guest, device interrupts: an MSI is a DMA write into 0xFEExxxxx, so a device the
 * guest programs could send an NMI or INIT to a CPU mhv holds (an AP waiting in mhv for its
 * SIPI, or one mhv parked), past every check mhv makes on the CPU's own IPIs and MSI writes
 * (test_contain_cpus.c).  This runs before test_smp: the other CPU ("held", APIC ID + 1) is
 * still in wait-for-SIPI, and HC_PARKED_INTERRUPTS counts the NMIs that reach it there.
 * With interrupt remapping on (HC_IOMMU_STATUS says so), QEMU's edu device (its MSI
 * capability, raised through its interrupt-raise register) must get:
 *
 *   fixed vector to this CPU        delivered (IRR bit set: interrupts are off here)
 *   fixed vector to the held CPU    delivered to this CPU instead (mhv's remapping table names
 *                                   one CPU per vector: the boot vCPU); the held CPU takes none
 *   NMI to the held CPU             blocked: the held CPUs' interrupt count does not move
 *   NMI to this CPU                 blocked: no NMI arrives
 *   INIT to this CPU                blocked: the run goes on (a physical INIT ends it;
 *                                   the boot test's .expect checks the line after it)
 *
 * The IOAPIC is the other device whose messages go through the IOMMU: the guest programs it
 * directly, so its redirection entries for the PCI interrupt pins (GSI 16-23 on q35) are
 * aimed the same way, with edu's INTx (raised while its MSI is off) as the source:
 *
 *   fixed vector to this CPU        delivered (finds which pin edu's INTx is wired to)
 *   NMI to the held CPU             blocked: the held CPUs' interrupt count does not move
 *   NMI to this CPU                 blocked: no NMI arrives
 *
 * Without edu or without interrupt remapping the checks are skipped with a line saying so.
 */
#include <stddef.h>

#include "arch/x86/io.h"
#include "core/hypercall_abi.h"
#include "tests/guest/cpu.h"
#include "tests/guest/edu.h"
#include "tests/guest/hv.h"
#include "tests/guest/pci_cfg.h"
#include "tests/guest/lapic.h"
#include "tests/guest/report.h"
#include "tests/guest/tests.h"
#include "tests/guest/trap.h"

#define PCI_CAP_MSI	 0x05
#define MSI_CTRL_ENABLE	 (1u << 16) /* in the capability's first dword */
#define MSI_CTRL_64BIT	 (1u << 23)
#define MSI_ADDR_LO	 4
#define MSI_ADDR_HI	 8
#define MSI_DATA_32	 8
#define MSI_DATA_64	 12

/* edu's DMA engine (edu.h): one dword from its buffer to any address */
#define MSI_DWORD	 4u
/* VT-d remappable format (VT-d 5.1.2.2): bit 4 = remappable, bit 3 = SHV, 19:5 = handle */
#define VTD_MSI_REMAP	 (1u << 4)
#define VTD_MSI_SHV	 (1u << 3)
#define VTD_HANDLE_SHIFT 5
/* Beyond the few entries mhv hands out here, and read as compatibility format (IR off) it is
 * a message to APIC ID 0 (address bits 19:12 = handle bits 14:7): it would arrive here. */
#define VTD_UNUSED_HANDLE 0x7Fu

/* q35's MMCONFIG window (PCIEXBAR in the MCH, 0:0.0) */
#define Q35_MCH_ID	 0x29C08086u
#define PCIEXBAR	 0x60
#define PCIEXBAR_EN	 1u
#define PCIEXBAR_LEN_SHIFT 1
#define PCIEXBAR_LEN_MASK 3u
#define PCIEXBAR_256M	 0xF0000000u /* base masks by length field 0, 1, 2 */
#define PCIEXBAR_128M	 0xF8000000u
#define PCIEXBAR_64M	 0xFC000000u
#define ECAM_DEV_SHIFT	 15
#define VEC_MMCFG	 0xE8

#define MSI_ADDR_BASE	 0xFEE00000u
#define MSI_DEST_SHIFT	 12
#define MSI_MODE_FIXED	 (0u << 8)
#define MSI_MODE_NMI	 (4u << 8)
#define MSI_MODE_INIT	 (5u << 8)
#define VEC_SELF	 0xE4 /* stay pending in the IRR: interrupts are off */
#define VEC_OTHER	 0xE5
#define VEC_PROBE	 0xE6

#define PCI_CMD_INTX_OFF (1u << 10)

#define IOAPIC_BASE	 0xFEC00000u
#define IOAPIC_REGSEL	 0x00
#define IOAPIC_WIN	 0x10
#define IOAPIC_RTE_LO(p) (0x10u + 2u * (p))
#define IOAPIC_RTE_HI(p) (0x11u + 2u * (p))
#define IOAPIC_MASKED	 (1u << 16)
#define IOAPIC_DEST_SHIFT 24
#define GSI_PCI_FIRST	 16 /* q35: PIRQ A-H are GSI 16-23 */
#define GSI_PCI_COUNT	 8
#define VEC_GSI_BASE	 0xD0 /* VEC_GSI_BASE + n for GSI 16 + n */
#define PIC1_DATA	 0x21
#define PIC2_DATA	 0xA1
#define PIC_ALL_MASKED	 0xFF
/* How long a held CPU gets to take a message that got through (it is a real CPU): mhv's
 * own NMI self-test sees it in well under this. */
#define SETTLE_POLLS	 200u
#define SETTLE_SPINS	 20000u

struct edu_msi {
	unsigned dev, cap;
	uintptr_t regs;
	bool wide; /* 64-bit address */
};

/* The edu device with memory and bus mastering on, and its MSI capability. */
static bool find_edu_msi(struct edu_msi *e)
{
	for (unsigned dev = 0; dev < PCI_SLOTS; dev++) {
		uint32_t cmd, d;
		unsigned cap;

		if (pci_read(dev, PCI_ID) != EDU_ID)
			continue;
		cmd = pci_read(dev, PCI_COMMAND);
		pci_write(dev, PCI_COMMAND, (cmd & 0xFFFFu) | PCI_CMD_MEMORY | PCI_CMD_MASTER);
		if (!(cmd & PCI_STATUS_CAPS))
			return false;
		cap = pci_find_cap(dev, PCI_CAP_MSI, &d);
		if (!cap)
			return false;
		*e = (struct edu_msi){dev, cap, pci_read(dev, PCI_BAR0) & PCI_BAR_MEM_MASK,
				      (d & MSI_CTRL_64BIT) != 0};
		return true;
	}
	return false;
}

static uint32_t held_interrupts(void)
{
	return hypercall(HC_PARKED_INTERRUPTS, 0, 0, 0, NULL);
}

/* The edu device sends one MSI with this destination APIC ID and data; MSI off after. */
static void edu_send(const struct edu_msi *e, uint32_t dest, uint32_t data)
{
	uint32_t ctrl = pci_read(e->dev, e->cap);

	pci_write(e->dev, e->cap + MSI_ADDR_LO, MSI_ADDR_BASE | dest << MSI_DEST_SHIFT);
	if (e->wide)
		pci_write(e->dev, e->cap + MSI_ADDR_HI, 0);
	pci_write(e->dev, e->cap + (e->wide ? MSI_DATA_64 : MSI_DATA_32), data);
	pci_write(e->dev, e->cap, ctrl | MSI_CTRL_ENABLE);
	mmio_write32(e->regs + EDU_IRQ_RAISE, EDU_IRQ_BIT);
	mmio_write32(e->regs + EDU_IRQ_ACK, EDU_IRQ_BIT);
	pci_write(e->dev, e->cap, ctrl & ~MSI_CTRL_ENABLE);
}

/* Give a held CPU that got a message time to take it; the held count at the end. */
static uint32_t settle(uint32_t before)
{
	for (uint32_t i = 0; i < SETTLE_POLLS && held_interrupts() == before; i++)
		for (uint32_t spin = 0; spin < SETTLE_SPINS; spin++)
			__asm__ volatile("pause");
	return held_interrupts();
}

static uint32_t dma_word __attribute__((aligned(64)));

/* edu's DMA engine writes data to addr: an interrupt message of the device's own making. */
static bool edu_dma_write(const struct edu_msi *e, uint32_t addr, uint32_t data)
{
	dma_word = data;
	/* Into the device's buffer first; only the second run's outcome is reported. */
	(void)edu_dma(e->regs, (uint32_t)(uintptr_t)&dma_word, MSI_DWORD, false);
	return edu_dma(e->regs, addr, MSI_DWORD, true);
}

struct dma_args {
	const struct edu_msi *e;
	uint32_t addr, data;
	bool done;
};

static void dma_caught(void *arg)
{
	struct dma_args *a = arg;

	a->done = edu_dma_write(a->e, a->addr, a->data);
	settle(held_interrupts());
}

/*
 * The device as the attacker: its DMA engine writes interrupt messages into 0xFEExxxxx
 * itself, never through the MSI capability mhv rewrites.  An NMI to this CPU and one to the
 * held CPU, each in compatibility format and (VT-d) in remappable format naming an entry mhv
 * never filled; then an INIT to this CPU (a physical INIT ends the run: the .expect checks
 * the line after it).
 */
static void dma_attacks(const struct edu_msi *e, uint32_t self, uint32_t other, bool vtd,
			bool compat_passed)
{
	struct dma_args a = {e, MSI_ADDR_BASE | self << MSI_DEST_SHIFT, MSI_MODE_NMI, false};
	struct fault f;

	/* QEMU 7.2's VT-d model passes compatibility-format messages whatever GSTS.CFIS says
	 * (later QEMUs block them, as the hardware does): a fixed one shows which it is. */
	if (compat_passed) {
		gprintf("guest: contain msi: mhv passes compatibility-format messages (an MSI-X "
			"function it does not trap): the compatibility-format DMA attacks are "
			"skipped\n");
	} else if (vtd && edu_dma_write(e, MSI_ADDR_BASE | self << MSI_DEST_SHIFT,
				 MSI_MODE_FIXED | VEC_PROBE) &&
	    lapic_irr_has(VEC_PROBE)) {
		gprintf("guest: contain msi: this VT-d model delivers compatibility-format "
			"messages although mhv blocks them (GSTS.CFIS clear): the compatibility-"
			"format DMA attacks are skipped\n");
	} else {
		uint32_t before;

		run_catching(dma_caught, &a, &f);
		check(a.done && !f.raised,
		      "contain msi: a device's DMA write of an NMI message to this CPU is blocked",
		      "%s (vector %u) arrived", trap_name(f.vector), f.vector);
		before = held_interrupts();
		check(edu_dma_write(e, MSI_ADDR_BASE | other << MSI_DEST_SHIFT, MSI_MODE_NMI) &&
			      settle(before) == before,
		      "contain msi: a device's DMA write of an NMI message to the held CPU is "
		      "blocked",
		      "the held CPU took %u interrupt(s)", held_interrupts() - before);
		edu_dma_write(e, MSI_ADDR_BASE | self << MSI_DEST_SHIFT, MSI_MODE_INIT);
		settle(held_interrupts());
		gprintf("guest: contain msi: a device's DMA write of an INIT message to this CPU "
			"was sent; the run goes on\n");
	}
	if (!vtd)
		return;
	/* Remappable format with NMI in the data: without SHV (the IOAPIC's form) it names an
	 * entry mhv never filled; with SHV the data is a subhandle and the index lies beyond the
	 * table.  Either one, were remapping off, is an NMI to APIC ID 0. */
	a.addr = MSI_ADDR_BASE | VTD_MSI_REMAP | VTD_UNUSED_HANDLE << VTD_HANDLE_SHIFT;
	a.data = MSI_MODE_NMI;
	run_catching(dma_caught, &a, &f);
	check(a.done && !f.raised,
	      "contain msi: a device's DMA write of a remappable message naming an entry mhv "
	      "never filled is blocked",
	      "%s (vector %u) arrived", trap_name(f.vector), f.vector);
	a.addr |= VTD_MSI_SHV;
	run_catching(dma_caught, &a, &f);
	check(a.done && !f.raised,
	      "contain msi: ... and one whose subhandle reaches beyond the table is blocked",
	      "%s (vector %u) arrived", trap_name(f.vector), f.vector);
}

/* Bus 0 device dev's MMCONFIG page on q35, or 0. */
static uintptr_t q35_ecam(unsigned dev)
{
	static const uint32_t masks[] = {PCIEXBAR_256M, PCIEXBAR_128M, PCIEXBAR_64M};
	uint32_t bar = pci_read(0, PCIEXBAR), len = (bar >> PCIEXBAR_LEN_SHIFT) & PCIEXBAR_LEN_MASK;

	if (pci_read(0, PCI_ID) != Q35_MCH_ID || !(bar & PCIEXBAR_EN) || len >= 3)
		return 0;
	return (uintptr_t)(bar & masks[len]) + ((uintptr_t)dev << ECAM_DEV_SHIFT);
}

/*
 * The same MSI programmed through the MMCONFIG window instead of ports 0xCF8/0xCFC: mhv must
 * see it there too (else the device keeps the message it had, and remapping blocks or misroutes
 * the guest's), and either way of reading gives back what the guest wrote.
 */
static void mmcfg_checks(const struct edu_msi *e, uint32_t self)
{
	uintptr_t ecam = q35_ecam(e->dev);
	uint32_t addr = MSI_ADDR_BASE | self << MSI_DEST_SHIFT, ctrl;
	unsigned data_off = e->cap + (e->wide ? MSI_DATA_64 : MSI_DATA_32);

	if (!ecam) {
		gprintf("guest: contain msi: no q35 MMCONFIG window: MMCONFIG checks skipped\n");
		return;
	}
	ctrl = mmio_read32(ecam + e->cap);
	mmio_write32(ecam + e->cap + MSI_ADDR_LO, addr);
	if (e->wide)
		mmio_write32(ecam + e->cap + MSI_ADDR_HI, 0);
	mmio_write32(ecam + data_off, MSI_MODE_FIXED | VEC_MMCFG);
	check(mmio_read32(ecam + e->cap + MSI_ADDR_LO) == addr &&
		      pci_read(e->dev, e->cap + MSI_ADDR_LO) == addr &&
		      (pci_read(e->dev, data_off) & 0xFFFFu) == (MSI_MODE_FIXED | VEC_MMCFG),
	      "contain msi: the MSI message written through MMCONFIG reads back as written (both "
	      "ways)",
	      "MMCONFIG 0x%x, ports 0x%x", mmio_read32(ecam + e->cap + MSI_ADDR_LO),
	      pci_read(e->dev, e->cap + MSI_ADDR_LO));
	mmio_write32(ecam + e->cap, ctrl | MSI_CTRL_ENABLE);
	mmio_write32(e->regs + EDU_IRQ_RAISE, EDU_IRQ_BIT);
	mmio_write32(e->regs + EDU_IRQ_ACK, EDU_IRQ_BIT);
	mmio_write32(ecam + e->cap, ctrl & ~MSI_CTRL_ENABLE);
	check(lapic_irr_has(VEC_MMCFG),
	      "contain msi: a device's fixed MSI programmed through MMCONFIG arrives",
	      "vector 0x%x is not pending", VEC_MMCFG);
}

struct send_args {
	const struct edu_msi *e;
	uint32_t dest, data;
};

static void send_caught(void *arg)
{
	const struct send_args *a = arg;

	edu_send(a->e, a->dest, a->data);
	settle(held_interrupts());
}

static uint32_t ioapic_read(uint32_t reg)
{
	mmio_write32(IOAPIC_BASE + IOAPIC_REGSEL, reg);
	return mmio_read32(IOAPIC_BASE + IOAPIC_WIN);
}

static void ioapic_write(uint32_t reg, uint32_t v)
{
	mmio_write32(IOAPIC_BASE + IOAPIC_REGSEL, reg);
	mmio_write32(IOAPIC_BASE + IOAPIC_WIN, v);
}

static void ioapic_route(unsigned gsi, uint32_t dest, uint32_t low)
{
	ioapic_write(IOAPIC_RTE_LO(gsi), IOAPIC_MASKED);
	ioapic_write(IOAPIC_RTE_HI(gsi), dest << IOAPIC_DEST_SHIFT);
	ioapic_write(IOAPIC_RTE_LO(gsi), low); /* edge-triggered, unmasked */
}

/* One rising edge of edu's INTx (MSI is off), then low again. */
static void edu_intx_pulse(const struct edu_msi *e)
{
	mmio_write32(e->regs + EDU_IRQ_RAISE, EDU_IRQ_BIT);
	mmio_write32(e->regs + EDU_IRQ_ACK, EDU_IRQ_BIT);
}

struct intx_args {
	const struct edu_msi *e;
};

static void intx_caught(void *arg)
{
	const struct intx_args *a = arg;

	edu_intx_pulse(a->e);
	settle(held_interrupts());
}

static void ioapic_attacks(const struct edu_msi *e, uint32_t self, uint32_t other)
{
	uint32_t saved_lo[GSI_PCI_COUNT], saved_hi[GSI_PCI_COUNT];
	uint8_t pic1 = inb(PIC1_DATA), pic2 = inb(PIC2_DATA);
	unsigned gsi = GSI_PCI_COUNT;
	struct intx_args a = {e};
	struct fault f;

	/* The 8259s see the same pins: keep them quiet while edu's INTx moves. */
	outb(PIC1_DATA, PIC_ALL_MASKED);
	outb(PIC2_DATA, PIC_ALL_MASKED);
	pci_write(e->dev, PCI_COMMAND,
		  (pci_read(e->dev, PCI_COMMAND) & 0xFFFFu & ~PCI_CMD_INTX_OFF) | PCI_CMD_MEMORY |
			  PCI_CMD_MASTER);
	for (unsigned n = 0; n < GSI_PCI_COUNT; n++) {
		saved_lo[n] = ioapic_read(IOAPIC_RTE_LO(GSI_PCI_FIRST + n));
		saved_hi[n] = ioapic_read(IOAPIC_RTE_HI(GSI_PCI_FIRST + n));
		ioapic_route(GSI_PCI_FIRST + n, self, MSI_MODE_FIXED | (VEC_GSI_BASE + n));
	}
	edu_intx_pulse(e);
	for (unsigned n = 0; n < GSI_PCI_COUNT && gsi == GSI_PCI_COUNT; n++)
		if (lapic_irr_has(VEC_GSI_BASE + n))
			gsi = n;
	check(gsi < GSI_PCI_COUNT,
	      "contain msi: an IOAPIC fixed interrupt (edu's INTx) to this CPU still arrives",
	      "none of vectors 0x%x-0x%x is pending", VEC_GSI_BASE,
	      VEC_GSI_BASE + GSI_PCI_COUNT - 1);
	if (gsi < GSI_PCI_COUNT) {
		uint32_t before;

		gprintf("guest: contain msi: edu's INTx is GSI %u\n", GSI_PCI_FIRST + gsi);
		ioapic_route(GSI_PCI_FIRST + gsi, other, MSI_MODE_NMI);
		before = held_interrupts();
		edu_intx_pulse(e);
		check_eq("contain msi: an IOAPIC NMI to the held CPU is blocked",
			 settle(before) - before, 0);
		ioapic_route(GSI_PCI_FIRST + gsi, self, MSI_MODE_NMI);
		run_catching(intx_caught, &a, &f);
		check(!f.raised, "contain msi: an IOAPIC NMI to this CPU is blocked",
		      "%s (vector %u) arrived", trap_name(f.vector), f.vector);
	}
	for (unsigned n = 0; n < GSI_PCI_COUNT; n++) {
		ioapic_write(IOAPIC_RTE_LO(GSI_PCI_FIRST + n), IOAPIC_MASKED);
		ioapic_write(IOAPIC_RTE_HI(GSI_PCI_FIRST + n), saved_hi[n]);
		ioapic_write(IOAPIC_RTE_LO(GSI_PCI_FIRST + n), saved_lo[n]);
	}
	pci_write(e->dev, PCI_COMMAND, (pci_read(e->dev, PCI_COMMAND) & 0xFFFFu) | PCI_CMD_INTX_OFF);
	outb(PIC1_DATA, pic1);
	outb(PIC2_DATA, pic2);
}

void test_contain_msi(void)
{
	struct hc_regs r = {.eax = HC_IOMMU_STATUS};
	struct edu_msi e;
	uint32_t self, other, before;
	struct fault f;
	bool vtd;

	hc_native(&r);
	vtd = (r.eax & 0xFFu) == IOMMU_STATUS_VTD;
	if (!(r.eax & IOMMU_STATUS_INTREMAP)) {
		gprintf("guest: contain msi: no interrupt remapping (IOMMU status 0x%x): device "
			"MSI checks skipped\n",
			r.eax);
		return;
	}
	if (!find_edu_msi(&e)) {
		gprintf("guest: contain msi: no edu device with MSI: device MSI checks skipped\n");
		return;
	}
	self = lapic_self_id();
	other = self + 1;
	if (hypercall(HC_VCPUS, 0, 0, 0, NULL) < 2)
		gprintf("guest: contain msi: one vCPU: APIC ID %u is no CPU mhv holds, the "
			"held-CPU checks below cannot see a breach here\n",
			other);
	gprintf("guest: contain msi: edu at 00:%02x.0, MSI capability at 0x%x (%s), this CPU "
		"APIC ID %u\n",
		e.dev, e.cap, e.wide ? "64-bit" : "32-bit", self);

	edu_send(&e, self, MSI_MODE_FIXED | VEC_SELF);
	check(lapic_irr_has(VEC_SELF),
	      "contain msi: a device's fixed MSI to this CPU still arrives",
	      "vector 0x%x is not pending", VEC_SELF);

	before = held_interrupts();
	edu_send(&e, other, MSI_MODE_FIXED | VEC_OTHER);
	check_eq("contain msi: a device's fixed MSI to the held CPU is not taken there",
		 settle(before) - before, 0);
	/* The guest's own destination: the other vCPU (held until test_smp starts it), or
	 * nowhere when there is none. */
	check(!lapic_irr_has(VEC_OTHER),
	      "contain msi: ... nor on this CPU (the remapping entry keeps the guest's destination)",
	      "vector 0x%x is pending here", VEC_OTHER);

	before = held_interrupts();
	edu_send(&e, other, MSI_MODE_NMI);
	check_eq("contain msi: a device's NMI MSI to the held CPU is blocked",
		 settle(before) - before, 0);

	{
		struct send_args a = {&e, self, MSI_MODE_NMI};

		run_catching(send_caught, &a, &f);
		check(!f.raised, "contain msi: a device's NMI MSI to this CPU is blocked",
		      "%s (vector %u) arrived", trap_name(f.vector), f.vector);
	}

	/* A physical INIT on the guest's CPU ends the run ("INIT received"): the line after it
	 * and the suite's end are the proof (qemu-q35-amd-iommu.expect). */
	edu_send(&e, self, MSI_MODE_INIT);
	settle(held_interrupts());
	gprintf("guest: contain msi: a device's INIT MSI to this CPU was sent; the run goes on\n");
	ioapic_attacks(&e, self, other);
	dma_attacks(&e, self, other, vtd, r.eax & IOMMU_STATUS_COMPAT_PASSED);
	mmcfg_checks(&e, self);
}

bool contain_msi_send_to(uint32_t apic_id, uint8_t vector)
{
	struct hc_regs r = {.eax = HC_IOMMU_STATUS};
	struct edu_msi e;

	hc_native(&r);
	if (!(r.eax & IOMMU_STATUS_INTREMAP) || !find_edu_msi(&e))
		return false;
	if (apic_id != CONTAIN_MSI_ASK_ONLY)
		edu_send(&e, apic_id, MSI_MODE_FIXED | vector);
	return true;
}
