/* console=pci: find a 16550-compatible UART by its PCI class code (see pci_uart.h). */
#include <stdbool.h>

#include "arch/x86/pci_uart.h"
#include "arch/x86/pci_conf.h"
#include "lib/errno.h"

#define PCI_NR_BARS	   6
#define PCI_BAR_IO	   0x1
#define PCI_BAR_IO_MASK	   0xFFFCu
#define CLASS_SERIAL	   0x07 /* simple communication controller */
#define SUBCLASS_UART	   0x00 /* serial controller */
#define PROGIF_16550	   0x02 /* 16550; 0x03-0x06 are its compatible successors */
#define PROGIF_16950	   0x06

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
		uint32_t bar = pci_conf_read(bus, dev, fn, PCI_REG_BAR0 + 4 * i);

		if ((bar & PCI_BAR_IO) && (bar & PCI_BAR_IO_MASK))
			return (uint16_t)(bar & PCI_BAR_IO_MASK);
	}
	return 0;
}

static bool probe_fn(unsigned bus, unsigned dev, unsigned fn, struct pci_uart *out)
{
	uint32_t id = pci_conf_read(bus, dev, fn, PCI_REG_ID);

	if ((id & 0xFFFF) == PCI_VENDOR_NONE || !is_16550(pci_conf_read(bus, dev, fn, PCI_REG_CLASS)) ||
	    PCI_HEADER_TYPE(pci_conf_read(bus, dev, fn, PCI_REG_HEADER)) != PCI_HEADER_DEVICE)
		return false;
	uint16_t port = io_bar(bus, dev, fn);
	if (!port)
		return false;
	uint32_t cmd = pci_conf_read(bus, dev, fn, PCI_REG_COMMAND);
	if (!(cmd & PCI_CMD_IO)) /* status bits are write-1-to-clear: write the command only */
		pci_conf_write(bus, dev, fn, PCI_REG_COMMAND, (cmd & 0xFFFF) | PCI_CMD_IO);
	*out = (struct pci_uart){
		.bus = (uint8_t)bus, .dev = (uint8_t)dev, .fn = (uint8_t)fn,
		.vendor = (uint16_t)id, .device = (uint16_t)(id >> 16), .port = port,
	};
	return true;
}

int pci_uart_find(struct pci_uart *out)
{
	for (unsigned bus = 0; bus < PCI_NR_BUSES; bus++)
		for (unsigned dev = 0; dev < PCI_NR_DEVS; dev++)
			for (unsigned fn = 0, nfn = pci_nr_functions(bus, dev); fn < nfn; fn++)
				if (probe_fn(bus, dev, fn, out))
					return 0;
	return -E_NOENT;
}
