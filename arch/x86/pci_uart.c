/* console=pci: find a 16550-compatible UART by its PCI class code (see pci_uart.h). */
#include <stdbool.h>

#include "arch/x86/pci_uart.h"
#include "arch/x86/io.h"
#include "lib/errno.h"

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
#define PCI_NR_BARS	   6
#define PCI_VENDOR_NONE	   0xFFFF
#define PCI_HEADER_MULTIFN 0x80
#define PCI_HEADER_TYPE(r) (((r) >> 16) & 0x7F)
#define PCI_HEADER_DEVICE  0 /* type 0: an endpoint, with six BARs */
#define PCI_CMD_IO	   0x1
#define PCI_BAR_IO	   0x1
#define PCI_BAR_IO_MASK	   0xFFFCu
#define CLASS_SERIAL	   0x07 /* simple communication controller */
#define SUBCLASS_UART	   0x00 /* serial controller */
#define PROGIF_16550	   0x02 /* 16550; 0x03-0x06 are its compatible successors */
#define PROGIF_16950	   0x06

static uint32_t conf_read(unsigned bus, unsigned dev, unsigned fn, unsigned reg)
{
	outl(PCI_CONFIG_ADDR, PCI_CONFIG_ENABLE | bus << 16 | dev << 11 | fn << 8 | reg);
	return inl(PCI_CONFIG_DATA);
}

static void conf_write(unsigned bus, unsigned dev, unsigned fn, unsigned reg, uint32_t val)
{
	outl(PCI_CONFIG_ADDR, PCI_CONFIG_ENABLE | bus << 16 | dev << 11 | fn << 8 | reg);
	outl(PCI_CONFIG_DATA, val);
}

static bool is_16550(uint32_t class_reg)
{
	unsigned cls = class_reg >> 24, sub = (class_reg >> 16) & 0xFF;
	unsigned progif = (class_reg >> 8) & 0xFF;

	return cls == CLASS_SERIAL && sub == SUBCLASS_UART && progif >= PROGIF_16550 &&
	       progif <= PROGIF_16950;
}

/* The first I/O BAR with a base, or 0. */
static uint16_t io_bar(unsigned bus, unsigned dev, unsigned fn)
{
	for (unsigned i = 0; i < PCI_NR_BARS; i++) {
		uint32_t bar = conf_read(bus, dev, fn, PCI_REG_BAR0 + 4 * i);

		if ((bar & PCI_BAR_IO) && (bar & PCI_BAR_IO_MASK))
			return (uint16_t)(bar & PCI_BAR_IO_MASK);
	}
	return 0;
}

static bool probe_fn(unsigned bus, unsigned dev, unsigned fn, struct pci_uart *out)
{
	uint32_t id = conf_read(bus, dev, fn, PCI_REG_ID);

	if ((id & 0xFFFF) == PCI_VENDOR_NONE || !is_16550(conf_read(bus, dev, fn, PCI_REG_CLASS)) ||
	    PCI_HEADER_TYPE(conf_read(bus, dev, fn, PCI_REG_HEADER)) != PCI_HEADER_DEVICE)
		return false;
	uint16_t port = io_bar(bus, dev, fn);
	if (!port)
		return false;
	uint32_t cmd = conf_read(bus, dev, fn, PCI_REG_COMMAND);
	if (!(cmd & PCI_CMD_IO)) /* status bits are write-1-to-clear: write the command only */
		conf_write(bus, dev, fn, PCI_REG_COMMAND, (cmd & 0xFFFF) | PCI_CMD_IO);
	*out = (struct pci_uart){
		.bus = (uint8_t)bus, .dev = (uint8_t)dev, .fn = (uint8_t)fn,
		.vendor = (uint16_t)id, .device = (uint16_t)(id >> 16), .port = port,
	};
	return true;
}

int pci_uart_find(struct pci_uart *out)
{
	for (unsigned bus = 0; bus < PCI_NR_BUSES; bus++)
		for (unsigned dev = 0; dev < PCI_NR_DEVS; dev++) {
			uint32_t id = conf_read(bus, dev, 0, PCI_REG_ID);

			if ((id & 0xFFFF) == PCI_VENDOR_NONE)
				continue;
			unsigned nfn = conf_read(bus, dev, 0, PCI_REG_HEADER) >> 16 &
						       PCI_HEADER_MULTIFN
					       ? PCI_NR_FNS
					       : 1;
			for (unsigned fn = 0; fn < nfn; fn++)
				if (probe_fn(bus, dev, fn, out))
					return 0;
		}
	return -E_NOENT;
}
