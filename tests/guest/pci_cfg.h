/*
 * PCI configuration space of bus 0 through ports 0xCF8/0xCFC, as the guest tests that look for
 * a device reach it: function 0 of device dev, dword register reg.
 */
#ifndef MHV_TESTS_GUEST_PCI_CFG_H
#define MHV_TESTS_GUEST_PCI_CFG_H

#include <stdint.h>

uint32_t pci_read(unsigned dev, unsigned reg);
void pci_write(unsigned dev, unsigned reg, uint32_t v);

#endif
