/*
 * "serial=pci" in the guest's command line: the guest writes its lines to the first PCI
 * 16550 (the UART mhv takes as its console with console=pci), so the whole suite runs over a
 * console whose I/O BAR the firmware put at 0x8000 or above.
 */
#ifndef MHV_TESTS_GUEST_SERIAL_PCI_H
#define MHV_TESTS_GUEST_SERIAL_PCI_H

#include "tests/guest/bootinfo.h"

void serial_select(const struct boot_info *bi);

#endif
