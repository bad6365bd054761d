/*
 * PCI configuration space of bus 0 through ports 0xCF8/0xCFC, as the guest tests that look for
 * a device reach it: function 0 of device dev, dword register reg.
 */
#ifndef MHV_TESTS_GUEST_PCI_CFG_H
#define MHV_TESTS_GUEST_PCI_CFG_H

#include <stdint.h>

#define PCI_SLOTS	 32 /* devices on a bus */
#define PCI_ID		 0x00
#define PCI_COMMAND	 0x04
#define PCI_STATUS_CAPS	 (1u << 20) /* in the dword at PCI_COMMAND */
#define PCI_BAR0	 0x10
#define PCI_CMD_MEMORY	 (1u << 1)
#define PCI_CMD_MASTER	 (1u << 2)
#define PCI_BAR_MEM_MASK 0xFFFFFFF0u

uint32_t pci_read(unsigned dev, unsigned reg);
void pci_write(unsigned dev, unsigned reg, uint32_t v);
/* The offset of dev's first capability with this ID (its first dword in *header), or 0. */
unsigned pci_find_cap(unsigned dev, uint32_t id, uint32_t *header);

#endif
