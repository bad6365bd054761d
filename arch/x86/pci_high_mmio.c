/* 64-bit PCI BARs and bridge windows into the guest's physical map (pci_high_mmio.h). */
#include "arch/x86/pci_high_mmio.h"
#include "arch/x86/pci_conf.h"
#include "lib/errno.h"
#include "lib/log.h"
#include "mm/guest_mem.h"

#define NR_BARS_DEVICE	   6
#define NR_BARS_BRIDGE	   2
#define BAR_IO		   0x1
#define BAR_TYPE_MASK	   0x6
#define BAR_TYPE_64	   0x4
#define BAR_MEM_MASK	   0xFFFFFFF0u
#define BAR_SIZE_PROBE	   0xFFFFFFFFu
#define LOW_4GIB	   (1ull << 32)
#define BRIDGE_PREF_BASE   0x24 /* prefetchable base [15:0], limit [31:16] */
#define BRIDGE_PREF_BASE_HI 0x28
#define BRIDGE_PREF_LIMIT_HI 0x2C
#define BRIDGE_PREF_64	   0x1 /* low nibble 1: the window has 64-bit addresses */
#define BRIDGE_PREF_ADDR   0xFFF0u
#define BRIDGE_WINDOW_GRAN 0x100000ull /* windows are 1 MiB grained */

struct scan {
	struct guest_physmap *pm;
	unsigned maxphyaddr;
	int added, err;
};

static void add(struct scan *s, unsigned bus, unsigned dev, unsigned fn, const char *what,
		uint64_t start, uint64_t end)
{
	if (s->err || end <= LOW_4GIB || end <= start)
		return;
	int err = guest_physmap_add_device(s->pm, start, end, s->maxphyaddr);

	if (err == -E_NOMEM) { /* the guest runs on without it: its driver will get #GP */
		pr_warn("mhv: guest map full: %02x:%02x.%x %s [0x%lx-0x%lx) left out\n", bus, dev,
			fn, what, start, end);
		return;
	}
	if (err) {
		s->err = err;
		return;
	}
	s->added++;
	pr_info("mhv: guest map: %02x:%02x.%x %s [0x%lx-0x%lx) passed through\n", bus, dev, fn,
		what, start, end);
}

/*
 * A 64-bit memory BAR's base and size.  Sizing writes all ones to both halves and reads the
 * mask back, with memory decoding off meanwhile (the BAR would otherwise claim addresses
 * while it holds the probe); the BAR and the command register are restored.
 */
static bool bar64(unsigned bus, unsigned dev, unsigned fn, unsigned reg, uint64_t *base,
		  uint64_t *size)
{
	uint32_t lo = pci_conf_read(bus, dev, fn, reg);

	if ((lo & BAR_IO) || (lo & BAR_TYPE_MASK) != BAR_TYPE_64)
		return false;
	uint32_t hi = pci_conf_read(bus, dev, fn, reg + 4);
	uint32_t cmd = pci_conf_read(bus, dev, fn, PCI_REG_COMMAND) & 0xFFFF;

	pci_conf_write(bus, dev, fn, PCI_REG_COMMAND, cmd & ~PCI_CMD_MEM);
	pci_conf_write(bus, dev, fn, reg, BAR_SIZE_PROBE);
	pci_conf_write(bus, dev, fn, reg + 4, BAR_SIZE_PROBE);
	uint64_t mask = ((uint64_t)pci_conf_read(bus, dev, fn, reg + 4) << 32) |
			(pci_conf_read(bus, dev, fn, reg) & BAR_MEM_MASK);
	pci_conf_write(bus, dev, fn, reg, lo);
	pci_conf_write(bus, dev, fn, reg + 4, hi);
	pci_conf_write(bus, dev, fn, PCI_REG_COMMAND, cmd);
	*base = ((uint64_t)hi << 32) | (lo & BAR_MEM_MASK);
	*size = ~mask + 1; /* the lowest writable bit */
	return mask != 0;
}

static void scan_bars(struct scan *s, unsigned bus, unsigned dev, unsigned fn, unsigned nbars)
{
	for (unsigned i = 0; i < nbars; i++) {
		unsigned reg = PCI_REG_BAR0 + 4 * i;
		uint64_t base, size;

		if (!bar64(bus, dev, fn, reg, &base, &size))
			continue;
		i++; /* the upper half is the next BAR register */
		if (base && base + size > base)
			add(s, bus, dev, fn, "64-bit BAR", base, base + size);
	}
}

static void scan_bridge_window(struct scan *s, unsigned bus, unsigned dev, unsigned fn)
{
	uint32_t bl = pci_conf_read(bus, dev, fn, BRIDGE_PREF_BASE);

	if ((bl & 0xF) != BRIDGE_PREF_64)
		return;
	uint64_t base = ((uint64_t)pci_conf_read(bus, dev, fn, BRIDGE_PREF_BASE_HI) << 32) |
			((uint64_t)(bl & BRIDGE_PREF_ADDR) << 16);
	uint64_t limit = ((uint64_t)pci_conf_read(bus, dev, fn, BRIDGE_PREF_LIMIT_HI) << 32) |
			 ((uint64_t)((bl >> 16) & BRIDGE_PREF_ADDR) << 16);

	if (limit >= base) /* a closed window has its limit below its base */
		add(s, bus, dev, fn, "bridge window", base, limit + BRIDGE_WINDOW_GRAN);
}

int pci_high_mmio_add(struct guest_physmap *pm, unsigned maxphyaddr)
{
	struct scan s = {.pm = pm, .maxphyaddr = maxphyaddr};

	for (unsigned bus = 0; bus < PCI_NR_BUSES; bus++)
		for (unsigned dev = 0; dev < PCI_NR_DEVS; dev++)
			for (unsigned fn = 0, nfn = pci_nr_functions(bus, dev); fn < nfn; fn++) {
				uint32_t hdr = pci_conf_read(bus, dev, fn, PCI_REG_HEADER);

				if ((pci_conf_read(bus, dev, fn, PCI_REG_ID) & 0xFFFF) ==
				    PCI_VENDOR_NONE)
					continue;
				if (PCI_HEADER_TYPE(hdr) == PCI_HEADER_DEVICE) {
					scan_bars(&s, bus, dev, fn, NR_BARS_DEVICE);
				} else if (PCI_HEADER_TYPE(hdr) == PCI_HEADER_BRIDGE) {
					scan_bars(&s, bus, dev, fn, NR_BARS_BRIDGE);
					scan_bridge_window(&s, bus, dev, fn);
				}
			}
	return s.err ? s.err : s.added;
}
