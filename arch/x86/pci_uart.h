/*
 * Finding a PCI 16550 for mhv's console (console=pci): PCIe serial cards and the
 * serial-over-LAN UARTs of server BMCs sit on PCI, with an I/O BAR the firmware places
 * (often at 0x8000 or above).
 */
#ifndef MHV_ARCH_X86_PCI_UART_H
#define MHV_ARCH_X86_PCI_UART_H

#include <stdint.h>

struct pci_uart {
	uint8_t bus, dev, fn;
	uint16_t vendor, device;
	uint16_t port; /* the I/O BAR's base */
};

/* The first 16550-compatible UART with an I/O BAR, by bus/device/function order, through
 * configuration mechanism #1; its I/O decoding is switched on.  -E_NOENT if there is none. */
int pci_uart_find(struct pci_uart *out);

#endif
