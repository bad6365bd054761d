/*
 * Device memory the firmware placed above the end of RAM: 64-bit PCI BARs (GPUs, NICs, NVMe,
 * shared-memory devices) and the 64-bit prefetchable windows of PCI bridges, found by a scan
 * of configuration space at boot and added to the guest's physical map as passthrough
 * devices (mm/guest_mem.h), so the guest's drivers reach them as on bare metal.
 */
#ifndef MHV_ARCH_X86_PCI_HIGH_MMIO_H
#define MHV_ARCH_X86_PCI_HIGH_MMIO_H

struct guest_physmap;

/* Add every 64-bit BAR and bridge window above the map's top; logs each and returns how
 * many ranges were added (one the full map cannot take is left out with a warning), or a
 * negative error from the map. */
int pci_high_mmio_add(struct guest_physmap *pm, unsigned maxphyaddr);

#endif
