/* Configuration mechanism #1 on bus 0 (pci_cfg.h). */
#include "tests/guest/pci_cfg.h"

#include "arch/x86/io.h"

#define PCI_CONFIG_ADDR 0xCF8
#define PCI_CONFIG_DATA 0xCFC
#define PCI_ENABLE	0x80000000u
#define PCI_DEV_SHIFT	11

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
