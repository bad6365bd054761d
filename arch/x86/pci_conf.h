/* PCI configuration space through mechanism #1 (ports 0xCF8/0xCFC), for boot-time scans. */
#ifndef MHV_ARCH_X86_PCI_CONF_H
#define MHV_ARCH_X86_PCI_CONF_H

#include <stdint.h>

#include "arch/x86/io.h"

#define PCI_CONFIG_ADDR	   0xCF8
#define PCI_CONFIG_DATA	   0xCFC
#define PCI_CONFIG_ENABLE  0x80000000u
#define PCI_NR_BUSES	   256
#define PCI_NR_DEVS	   32
#define PCI_NR_FNS	   8
#define PCI_REG_ID	   0x00 /* vendor [15:0], device [31:16] */
#define PCI_REG_COMMAND	   0x04 /* command [15:0], status [31:16] */
#define PCI_REG_CLASS	   0x08 /* revision [7:0], prog-if [15:8], subclass, class */
#define PCI_REG_HEADER	   0x0C /* header type in [23:16] */
#define PCI_REG_BAR0	   0x10
#define PCI_VENDOR_NONE	   0xFFFF
#define PCI_HEADER_MULTIFN 0x80
#define PCI_HEADER_TYPE(r) (((r) >> 16) & 0x7F)
#define PCI_HEADER_DEVICE  0 /* an endpoint: six BARs */
#define PCI_HEADER_BRIDGE  1 /* a PCI-to-PCI bridge: two BARs and windows */
#define PCI_CMD_IO	   0x1
#define PCI_CMD_MEM	   0x2

static inline uint32_t pci_conf_read(unsigned bus, unsigned dev, unsigned fn, unsigned reg)
{
	outl(PCI_CONFIG_ADDR, PCI_CONFIG_ENABLE | bus << 16 | dev << 11 | fn << 8 | reg);
	return inl(PCI_CONFIG_DATA);
}

static inline void pci_conf_write(unsigned bus, unsigned dev, unsigned fn, unsigned reg,
				  uint32_t val)
{
	outl(PCI_CONFIG_ADDR, PCI_CONFIG_ENABLE | bus << 16 | dev << 11 | fn << 8 | reg);
	outl(PCI_CONFIG_DATA, val);
}

/* How many functions device bus:dev has (0 if it is absent). */
static inline unsigned pci_nr_functions(unsigned bus, unsigned dev)
{
	if ((pci_conf_read(bus, dev, 0, PCI_REG_ID) & 0xFFFF) == PCI_VENDOR_NONE)
		return 0;
	return (pci_conf_read(bus, dev, 0, PCI_REG_HEADER) >> 16) & PCI_HEADER_MULTIFN ? PCI_NR_FNS
										       : 1;
}

#endif
