/* The guest's MSI programming, trapped: see pci_msi_trap.h. */
#include "core/pci_msi_trap.h"
#include "arch/x86/pci_conf.h"
#include "core/apic_guard.h"
#include "core/irq_remap.h"
#include "core/pci_msi_internal.h"
#include "core/pci_msix_trap.h"
#include "lib/log.h"

#define PCI_STATUS_CAPS	   (1u << 20) /* in the dword at PCI_REG_COMMAND */
#define PCI_REG_CAP_PTR	   0x34
#define PCI_CAP_PTR_MASK   0xFCu
#define PCI_CAP_ID_MASK	   0xFFu
#define PCI_CAP_NEXT_SHIFT 8
#define PCI_CAP_ID_MSIX	   0x11
#define PCI_CAP_HOPS	   48 /* more than 256 bytes of config space can hold: broken */
#define PCI_CTRL_SHIFT	   16 /* message control in the capability's first dword */
#define PCI_BDF_MASK	   0xFFFF00u
#define PCI_REG_MASK	   0xFCu
#define PCI_EXT_REG_MASK   0x0F000000u /* AMD's extended register bits: not the MSI cap */
#define PCI_DATA_PORTS	   4
#define BDF_SHIFT	   8 /* CF8 bits 23:8 are bus:dev.fn */
#define DATA_HIGH_MASK	   0xFFFF0000u

static struct msi_fn fns[MSI_FN_MAX];
static unsigned nr_fns;
struct spinlock pci_msi_lock = SPINLOCK_INIT;

static uint32_t cfg_addr(uint16_t bdf, unsigned reg)
{
	return PCI_CONFIG_ENABLE | (uint32_t)bdf << BDF_SHIFT | (reg & PCI_REG_MASK);
}

static uint32_t cfg_read(uint16_t bdf, unsigned reg)
{
	outl(PCI_CONFIG_ADDR, cfg_addr(bdf, reg));
	return inl(PCI_CONFIG_DATA);
}

static void cfg_write(uint16_t bdf, unsigned reg, uint32_t v)
{
	outl(PCI_CONFIG_ADDR, cfg_addr(bdf, reg));
	outl(PCI_CONFIG_DATA, v);
}

/* The device's own message in its registers (the data dword's upper half kept). */
void pci_msi_write_hw_message(const struct msi_fn *f)
{
	uint32_t dw[3];
	unsigned n = msi_cap_hw_dwords(&f->cap, dw), data_reg = f->cap.cap + MSI_CAP_ADDR_LO +
								4 * (n - 1);

	for (unsigned i = 0; i + 1 < n; i++)
		cfg_write(f->bdf, f->cap.cap + MSI_CAP_ADDR_LO + 4 * i, dw[i]);
	cfg_write(f->bdf, data_reg, (cfg_read(f->bdf, data_reg) & DATA_HIGH_MASK) | dw[n - 1]);
}

/*
 * The function's entries from the guest's message, while MSI is enabled (a disabled function
 * sends nothing; its entries are rebuilt when the guest enables it).  Message k of a
 * multi-message function carries the guest's vector with k in its low bits, as the device
 * would have written them.
 */
void pci_msi_rebuild(const struct msi_fn *f)
{
	uint32_t ctrl = cfg_read(f->bdf, f->cap.cap) >> PCI_CTRL_SHIFT, lo, hi;
	unsigned enabled = 1u << ((ctrl >> MSI_CTRL_MME_SHIFT) & MSI_CTRL_MM_MASK);
	const char *why = "";
	struct irq_msg m;
	uint16_t data;
	bool refused = false;

	if (!(ctrl & MSI_CTRL_ENABLE))
		return;
	msi_cap_message(&f->cap, &lo, &hi, &data);
	if (!irq_msg_from_msi(lo, hi, data, &m)) {
		why = "programmed a device interrupt with an address outside the interrupt window";
		refused = true;
	}
	for (unsigned k = 0; k < f->count; k++) {
		struct irq_msg mk = m;

		if (refused || k >= enabled) {
			irq_remap_clear(f->handle, k);
			continue;
		}
		mk.vector = (uint8_t)((m.vector & ~(enabled - 1)) | k);
		if (!irq_remap_set(f->handle, k, &mk, f->sid, &why))
			refused = true;
	}
	if (refused)
		apic_guard_count_drop(why, (uint64_t)hi << 32 | lo, (uint64_t)data << 16 | f->bdf);
}

/* The MSI capability (whether PCI Express exists, where MSI-X is: 0 if none) of bus:dev.fn. */
static int find_msi_cap(uint16_t bdf, bool *express, uint8_t *msix)
{
	unsigned cap;
	int msi = -1;

	*express = false;
	*msix = 0;
	if (!(cfg_read(bdf, PCI_REG_COMMAND) & PCI_STATUS_CAPS))
		return -1;
	cap = cfg_read(bdf, PCI_REG_CAP_PTR) & PCI_CAP_PTR_MASK;
	for (unsigned hop = 0; cap && hop < PCI_CAP_HOPS; hop++) {
		uint32_t d = cfg_read(bdf, cap);

		if ((d & PCI_CAP_ID_MASK) == PCI_CAP_ID_MSI && msi < 0)
			msi = (int)cap;
		if ((d & PCI_CAP_ID_MASK) == PCI_CAP_ID_EXP)
			*express = true;
		if ((d & PCI_CAP_ID_MASK) == PCI_CAP_ID_MSIX)
			*msix = (uint8_t)cap;
		cap = (d >> PCI_CAP_NEXT_SHIFT) & PCI_CAP_PTR_MASK;
	}
	return msi;
}

static void add_function(uint16_t bdf, uint8_t cap, bool express, bool msix)
{
	uint32_t ctrl = cfg_read(bdf, cap) >> PCI_CTRL_SHIFT, lo, hi = 0, data, handle, hw_lo;
	struct msi_fn *f;
	uint16_t hw_data;
	unsigned count = 1u << ((ctrl >> MSI_CTRL_MMC_SHIFT) & MSI_CTRL_MM_MASK);

	if (nr_fns == MSI_FN_MAX) {
		pr_warn("mhv: msi: more than %u MSI functions: %02x:%02x.%x's interrupts are "
			"blocked\n",
			MSI_FN_MAX, bdf >> 8, (bdf >> 3) & 0x1f, bdf & 7);
		return;
	}
	if (!irq_remap_alloc_msi(bdf, count, msix, &handle)) {
		pr_warn("mhv: msi: no remapping entries of its own for %02x:%02x.%x: its MSI is "
			"not rewritten\n",
			bdf >> 8, (bdf >> 3) & 0x1f, bdf & 7);
		return;
	}
	f = &fns[nr_fns++];
	f->bdf = bdf;
	/* Behind a PCI(-X) bridge a requester ID may be the bridge's: no source check there. */
	f->sid = (bdf >> 8) == 0 || express ? bdf : -1;
	f->handle = handle;
	f->count = (uint8_t)count;
	lo = cfg_read(bdf, cap + MSI_CAP_ADDR_LO);
	if (ctrl & MSI_CTRL_64BIT)
		hi = cfg_read(bdf, cap + MSI_CAP_ADDR_LO + 4);
	data = cfg_read(bdf, cap + MSI_CAP_ADDR_LO + ((ctrl & MSI_CTRL_64BIT) ? 8 : 4));
	msi_cap_init(&f->cap, cap, (uint16_t)ctrl, lo, hi, (uint16_t)data);
	irq_remap_msi_hw(handle, &hw_lo, &hw_data);
	msi_cap_set_hw(&f->cap, hw_lo, 0, hw_data);
	pci_msi_write_hw_message(f);
	pci_msi_rebuild(f);
	pr_info("mhv: msi: %02x:%02x.%x: MSI capability at 0x%x, %u message(s): entries 0x%x-0x%x "
		"(device's address 0x%x data 0x%x), requester ID %s\n",
		bdf >> 8, (bdf >> 3) & 0x1f, bdf & 7, cap, count, handle, handle + count - 1, hw_lo,
		hw_data, f->sid >= 0 ? "checked" : "not checked (behind a bridge)");
}

void pci_msi_trap_init(void)
{
	if (!irq_remap_active())
		return;
	for (unsigned bus = 0; bus < PCI_NR_BUSES; bus++)
		for (unsigned dev = 0; dev < PCI_NR_DEVS; dev++) {
			unsigned nfn = pci_nr_functions(bus, dev);

			for (unsigned fn = 0; fn < nfn; fn++) {
				uint16_t bdf = (uint16_t)(bus << 8 | dev << 3 | fn);
				bool express, msix_trapped = false;
				uint8_t msix;
				int cap;

				if ((cfg_read(bdf, PCI_REG_ID) & 0xFFFF) == PCI_VENDOR_NONE)
					continue;
				cap = find_msi_cap(bdf, &express, &msix);
				/* Behind a PCI(-X) bridge a requester ID may be the bridge's. */
				if (msix)
					msix_trapped = pci_msix_add(bdf, msix,
								    bus == 0 || express ? bdf : -1);
				if (cap > 0)
					add_function(bdf, (uint8_t)cap, express,
						     msix && !msix_trapped);
			}
		}
	pr_info("mhv: msi: %u function(s) with MSI: their messages are rewritten for interrupt "
		"remapping (configuration ports 0xCF8/0xCFC trapped)\n",
		nr_fns);
}

bool pci_msi_trapped(void)
{
	return irq_remap_active();
}

/* The function and register offset a data-port access at port reaches, or NULL. */
static struct msi_fn *target(uint32_t addr, uint16_t port, unsigned *off)
{
	uint16_t bdf = (uint16_t)((addr & PCI_BDF_MASK) >> BDF_SHIFT);

	if (!(addr & PCI_CONFIG_ENABLE) || (addr & PCI_EXT_REG_MASK))
		return NULL;
	*off = (addr & PCI_REG_MASK) + (port - PCI_CONFIG_DATA) % PCI_DATA_PORTS;
	for (unsigned i = 0; i < nr_fns; i++)
		if (fns[i].bdf == bdf)
			return &fns[i];
	return NULL;
}

uint32_t pci_msi_config_in(uint16_t port, unsigned size, uint32_t hw)
{
	unsigned off;
	const struct msi_fn *f;

	spin_lock(&pci_msi_lock);
	f = target(inl(PCI_CONFIG_ADDR), port, &off);
	if (f && msi_cap_touches_message(&f->cap, off, size))
		hw = msi_cap_read(&f->cap, off, size, hw);
	spin_unlock(&pci_msi_lock);
	return hw;
}

/* A write to an MSI-X table's BAR: done here, then checked for a move (true). */
static bool msix_bar_write(uint32_t addr, uint16_t port, unsigned size, uint32_t val)
{
	uint16_t bdf = (uint16_t)((addr & PCI_BDF_MASK) >> BDF_SHIFT);
	unsigned off = (addr & PCI_REG_MASK) + (port - PCI_CONFIG_DATA) % PCI_DATA_PORTS;

	if (!(addr & PCI_CONFIG_ENABLE) || (addr & PCI_EXT_REG_MASK) ||
	    !pci_msix_is_bar(bdf, off, size))
		return false;
	port_out(port, size, val);
	pci_msix_bar_written(bdf);
	outl(PCI_CONFIG_ADDR, addr); /* the guest's address, as it left it */
	return true;
}

bool pci_msi_config_out(uint16_t port, unsigned size, uint32_t val)
{
	uint32_t addr = inl(PCI_CONFIG_ADDR);
	unsigned off;
	struct msi_fn *f;
	bool message, control;

	spin_lock(&pci_msi_lock);
	if (msix_bar_write(addr, port, size, val)) {
		spin_unlock(&pci_msi_lock);
		return true;
	}
	f = target(addr, port, &off);
	message = f && msi_cap_touches_message(&f->cap, off, size);
	control = f && msi_cap_touches_control(&f->cap, off, size);
	if (!message && !control) {
		spin_unlock(&pci_msi_lock);
		return false;
	}
	if (message)
		val = msi_cap_write(&f->cap, off, size, val);
	port_out(port, size, val);
	pci_msi_write_hw_message(f); /* a function reset may have cleared it */
	pci_msi_rebuild(f);
	outl(PCI_CONFIG_ADDR, addr); /* the guest's address, as it left it */
	spin_unlock(&pci_msi_lock);
	return true;
}

struct msi_fn *pci_msi_functions(unsigned *n)
{
	*n = nr_fns;
	return fns;
}
