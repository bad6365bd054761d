/* serial=pci: find the PCI 16550 by class code and print there (serial_pci.h). */
#include "tests/guest/serial_pci.h"
#include "arch/x86/io.h"
#include "lib/string.h"
#include "tests/guest/cmdline.h"
#include "tests/guest/report.h"
#include "tests/guest/serial.h"

#define SERIAL_PCI_OPT	  "serial=pci"
#define PCI_CONFIG_ADDR	  0xCF8
#define PCI_CONFIG_DATA	  0xCFC
#define PCI_CONFIG_ENABLE 0x80000000u
#define PCI_NR_BUSES	  256
#define PCI_NR_DEVS	  32
#define PCI_REG_CLASS	  0x08
#define PCI_REG_BAR0	  0x10
#define PCI_NR_BARS	  6
#define PCI_VENDOR_NONE	  0xFFFF
#define CLASS_16550	  0x070002u /* class 07 (communication), 00 (serial), prog-if 02 */
#define PCI_BAR_IO	  0x1
#define PCI_BAR_IO_MASK	  0xFFFCu
#define IO_BITMAP_B_FIRST 0x8000 /* VT-x: ports from here on are in I/O bitmap B */

static uint32_t conf_read(unsigned bus, unsigned dev, unsigned reg)
{
	outl(PCI_CONFIG_ADDR, PCI_CONFIG_ENABLE | bus << 16 | dev << 11 | reg);
	return inl(PCI_CONFIG_DATA);
}

/* Function 0 of each device is enough for the test machine's single-function card. */
static uint16_t find_pci_uart(void)
{
	for (unsigned bus = 0; bus < PCI_NR_BUSES; bus++)
		for (unsigned dev = 0; dev < PCI_NR_DEVS; dev++) {
			if ((conf_read(bus, dev, 0) & 0xFFFF) == PCI_VENDOR_NONE ||
			    conf_read(bus, dev, PCI_REG_CLASS) >> 8 != CLASS_16550)
				continue;
			for (unsigned i = 0; i < PCI_NR_BARS; i++) {
				uint32_t bar = conf_read(bus, dev, PCI_REG_BAR0 + 4 * i);
				if ((bar & PCI_BAR_IO) && (bar & PCI_BAR_IO_MASK))
					return (uint16_t)(bar & PCI_BAR_IO_MASK);
			}
		}
	return 0;
}

void serial_select(const struct boot_info *bi)
{
	if (!cmdline_has(bi, SERIAL_PCI_OPT))
		return;
	uint16_t port = find_pci_uart();

	if (port)
		serial_use_port(port);
	gprintf("guest: console on the PCI UART at port 0x%x\n", port);
	check(port >= IO_BITMAP_B_FIRST, "io: the PCI UART's I/O BAR is at 0x8000 or above",
	      "port 0x%x", port);
}
