/*
 * Hostile guest, device interrupts through an MSI-X table: with interrupt remapping on, mhv
 * traps the table's page(s) (core/pci_msix_trap.c), keeps the guest's message in a shadow and
 * gives the device a remappable-format one whose entry it builds from the guest's message.
 * With q35's e1000e (its MSI-X table in BAR 3, its "other" cause routed by IVAR to vector 0
 * and raised through ICS):
 *
 *   entry 0's address and data       read back as the guest wrote them
 *   fixed vector to this CPU         delivered (IRR bit set: interrupts are off here)
 *   NMI to this CPU                  blocked: no NMI arrives (mhv logs the refusal)
 *   its BAR sized, moved and back    sizing let be, the move logged (the .expect checks)
 *
 * Without an e1000e or without interrupt remapping the checks are skipped with a line saying
 * so.
 */
#include <stddef.h>

#include "arch/x86/io.h"
#include "core/hypercall_abi.h"
#include "tests/guest/cpu.h"
#include "tests/guest/hv.h"
#include "tests/guest/pci_cfg.h"
#include "tests/guest/lapic.h"
#include "tests/guest/report.h"
#include "tests/guest/tests.h"
#include "tests/guest/trap.h"

#define PCI_BAR_SPAN	 4u
#define PCI_BAR_IO	 1u
#define PCI_BAR_64	 4u
#define PCI_CAP_MSIX	 0x11
#define MSIX_ENABLE	 (1u << 31) /* message control bit 15, in the capability's dword */
#define MSIX_FN_MASK	 (1u << 30)
#define MSIX_TABLE	 4 /* table offset | BIR */
#define MSIX_BIR_MASK	 7u
#define MSIX_ADDR_LO	 0 /* an entry's dwords */
#define MSIX_ADDR_HI	 4
#define MSIX_DATA	 8
#define MSIX_VCTRL	 12
#define MSIX_MASKED	 1u
#define E1000E_ID	 0x10D38086u

/* e1000e registers (82574 datasheet; QEMU's model) */
#define E1000_ICR	 0x00C0
#define E1000_ICS	 0x00C8
#define E1000_IMS	 0x00D0
#define E1000_IMC	 0x00D8
#define E1000_IVAR	 0x00E4
#define E1000_ICR_LSC	 (1u << 2) /* link status change: an "other" cause */
#define E1000_ICR_OTHER	 (1u << 24) /* MSI-X: the summary bit IVAR routes */
#define IVAR_OTHER_V0	 (0x8u << 16) /* other causes: valid, MSI-X vector 0 */
#define ALL_ONES	 0xFFFFFFFFu

#define MSI_ADDR_BASE	 0xFEE00000u
#define MSI_DEST_SHIFT	 12
#define MSI_MODE_NMI	 (4u << 8)
#define VEC_MSIX	 0xE9 /* stays pending in the IRR: interrupts are off */
#define POLLS		 2000000u
#define BAR_MOVE	 0x100000u

struct msix_dev {
	unsigned dev, cap, bir;
	uintptr_t regs, entry; /* BAR 0, entry 0 of the table */
};

/* A 32-bit memory BAR's address (the guest's identity map covers 4 GiB), else 0. */
static uintptr_t bar32(unsigned dev, unsigned bir)
{
	uint32_t lo = pci_read(dev, PCI_BAR0 + PCI_BAR_SPAN * bir);

	if (lo & PCI_BAR_IO)
		return 0;
	if ((lo & PCI_BAR_64) && pci_read(dev, PCI_BAR0 + PCI_BAR_SPAN * (bir + 1)))
		return 0;
	return lo & PCI_BAR_MEM_MASK;
}

/* The e1000e with memory and bus mastering on, its MSI-X capability and table. */
static bool find_e1000e(struct msix_dev *d)
{
	for (unsigned dev = 0; dev < PCI_SLOTS; dev++) {
		uint32_t cmd, header, t;
		uintptr_t table;
		unsigned cap;

		if (pci_read(dev, PCI_ID) != E1000E_ID)
			continue;
		cmd = pci_read(dev, PCI_COMMAND);
		if (!(cmd & PCI_STATUS_CAPS))
			return false;
		pci_write(dev, PCI_COMMAND, (cmd & 0xFFFFu) | PCI_CMD_MEMORY | PCI_CMD_MASTER);
		cap = pci_find_cap(dev, PCI_CAP_MSIX, &header);
		if (!cap)
			return false;
		t = pci_read(dev, cap + MSIX_TABLE);
		table = bar32(dev, t & MSIX_BIR_MASK);
		*d = (struct msix_dev){dev, cap, t & MSIX_BIR_MASK, bar32(dev, 0),
				       table + (t & ~MSIX_BIR_MASK)};
		return table && d->regs;
	}
	return false;
}

/* Entry 0 gets (addr, data), masked while written as drivers do. */
static void program_entry(const struct msix_dev *d, uint32_t addr, uint32_t data)
{
	mmio_write32(d->entry + MSIX_VCTRL, MSIX_MASKED);
	mmio_write32(d->entry + MSIX_ADDR_LO, addr);
	mmio_write32(d->entry + MSIX_ADDR_HI, 0);
	mmio_write32(d->entry + MSIX_DATA, data);
	mmio_write32(d->entry + MSIX_VCTRL, 0);
}

/* The device raises its "other" cause: MSI-X vector 0, then the cause cleared. */
static void raise_other(void *arg)
{
	const struct msix_dev *d = arg;

	mmio_write32(d->regs + E1000_IVAR, IVAR_OTHER_V0);
	mmio_write32(d->regs + E1000_IMS, E1000_ICR_LSC | E1000_ICR_OTHER);
	mmio_write32(d->regs + E1000_ICS, E1000_ICR_LSC | E1000_ICR_OTHER);
	for (uint32_t i = 0; i < POLLS && !lapic_irr_has(VEC_MSIX); i++)
		__asm__ volatile("pause");
	mmio_write32(d->regs + E1000_IMC, ALL_ONES);
	mmio_write32(d->regs + E1000_ICR, ALL_ONES);
}

/*
 * The table's BAR, with memory decoding off as drivers do: sized (all ones, then the address
 * back), which mhv lets be, then moved by 1 MiB and back, which mhv logs (it does not follow a
 * move).  The table still reads back the guest's entry afterwards.
 */
static void bar_writes(const struct msix_dev *d, uint32_t addr)
{
	unsigned reg = PCI_BAR0 + PCI_BAR_SPAN * d->bir;
	uint32_t cmd = pci_read(d->dev, PCI_COMMAND) & 0xFFFFu, bar = pci_read(d->dev, reg);

	pci_write(d->dev, PCI_COMMAND, cmd & ~PCI_CMD_MEMORY);
	pci_write(d->dev, reg, ALL_ONES);
	gprintf("guest: contain msix: BAR %u sized: 0x%x\n", d->bir, pci_read(d->dev, reg));
	pci_write(d->dev, reg, bar);
	pci_write(d->dev, reg, bar + BAR_MOVE);
	pci_write(d->dev, reg, bar);
	pci_write(d->dev, PCI_COMMAND, cmd);
	check(pci_read(d->dev, reg) == bar && mmio_read32(d->entry + MSIX_ADDR_LO) == addr,
	      "contain msix: the table's BAR sized and moved back: the entry still reads back",
	      "BAR 0x%x, entry address 0x%x", pci_read(d->dev, reg),
	      mmio_read32(d->entry + MSIX_ADDR_LO));
}

void test_contain_msix(void)
{
	struct hc_regs r = {.eax = HC_IOMMU_STATUS};
	struct msix_dev d;
	uint32_t self, ctrl, addr;
	struct fault f;

	hc_native(&r);
	if (!(r.eax & IOMMU_STATUS_INTREMAP)) {
		gprintf("guest: contain msix: no interrupt remapping (IOMMU status 0x%x): MSI-X "
			"checks skipped\n",
			r.eax);
		return;
	}
	if (!find_e1000e(&d)) {
		gprintf("guest: contain msix: no e1000e with an MSI-X table in a 32-bit BAR: "
			"MSI-X checks skipped\n");
		return;
	}
	self = lapic_self_id();
	addr = MSI_ADDR_BASE | self << MSI_DEST_SHIFT;
	gprintf("guest: contain msix: e1000e at 00:%02x.0, MSI-X table entry 0 at 0x%x\n", d.dev,
		(uint32_t)d.entry);
	program_entry(&d, addr, VEC_MSIX);
	check(mmio_read32(d.entry + MSIX_ADDR_LO) == addr &&
		      mmio_read32(d.entry + MSIX_ADDR_HI) == 0 &&
		      mmio_read32(d.entry + MSIX_DATA) == VEC_MSIX,
	      "contain msix: an MSI-X table entry reads back as the guest wrote it",
	      "read 0x%x 0x%x 0x%x", mmio_read32(d.entry + MSIX_ADDR_LO),
	      mmio_read32(d.entry + MSIX_ADDR_HI), mmio_read32(d.entry + MSIX_DATA));
	ctrl = pci_read(d.dev, d.cap);
	pci_write(d.dev, d.cap, (ctrl | MSIX_ENABLE) & ~MSIX_FN_MASK);
	raise_other(&d);
	check(lapic_irr_has(VEC_MSIX),
	      "contain msix: a device's fixed MSI-X vector to this CPU arrives",
	      "vector 0x%x is not pending", VEC_MSIX);
	/* The same entry as an NMI: mhv gives it no remapping entry, the device's message is
	 * blocked. */
	program_entry(&d, addr, MSI_MODE_NMI);
	run_catching(raise_other, &d, &f);
	check(!f.raised, "contain msix: a device's NMI through its MSI-X table is blocked",
	      "%s (vector %u) arrived", trap_name(f.vector), f.vector);
	mmio_write32(d.entry + MSIX_VCTRL, MSIX_MASKED);
	pci_write(d.dev, d.cap, ctrl & ~MSIX_ENABLE);
	bar_writes(&d, addr);
}
