/* Configuration mechanism #1 on bus 0 (pci_cfg.h). */
#include "tests/guest/pci_cfg.h"

#include "arch/x86/io.h"

#define PCI_CONFIG_ADDR	 0xCF8
#define PCI_CONFIG_DATA	 0xCFC
#define PCI_ENABLE	 0x80000000u
#define PCI_DEV_SHIFT	 11
#define PCI_CAP_PTR	 0x34
#define PCI_CAP_PTR_MASK 0xFCu
#define PCI_CAP_ID_MASK	 0xFFu
#define PCI_CAP_NEXT(d)	 (((d) >> 8) & PCI_CAP_PTR_MASK)
#define PCI_CAP_HOPS	 48 /* a capability list longer than config space allows is broken */

uint32_t pci_read(unsigned dev, unsigned reg)
{
	outl(PCI_CONFIG_ADDR, PCI_ENABLE | dev << PCI_DEV_SHIFT | reg);
	return inl(PCI_CONFIG_DATA);
}

void pci_write(unsigned dev, unsigned reg, uint32_t v)
{
	outl(PCI_CONFIG_ADDR, PCI_ENABLE | dev << PCI_DEV_SHIFT | reg);
	outl(PCI_CONFIG_DATA, v);
}

unsigned pci_find_cap(unsigned dev, uint32_t id, uint32_t *header)
{
	unsigned cap = pci_read(dev, PCI_CAP_PTR) & PCI_CAP_PTR_MASK;

	for (unsigned hop = 0; cap && hop < PCI_CAP_HOPS; hop++) {
		uint32_t d = pci_read(dev, cap);

		if ((d & PCI_CAP_ID_MASK) == id) {
			*header = d;
			return cap;
		}
		cap = PCI_CAP_NEXT(d);
	}
	return 0;
}
