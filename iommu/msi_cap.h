/*
 * A PCI function's MSI capability as the guest sees it and as the device holds it.  With
 * interrupt remapping the device must send a message in the IOMMU's format, which the guest
 * (unaware of the IOMMU) never writes: mhv keeps the guest's message address and data in a
 * shadow, gives the device its own (msi_cap_set_hw), and builds the remapping entry from the
 * shadow.  Configuration accesses are split byte by byte: a byte of the message address or
 * data is the shadow's (reads) and the device's own value (writes); every other byte (the
 * capability header, message control, mask and pending bits) passes through.
 */
#ifndef MHV_IOMMU_MSI_CAP_H
#define MHV_IOMMU_MSI_CAP_H

#include <stdbool.h>
#include <stdint.h>

#define PCI_CAP_ID_MSI	     0x05
#define PCI_CAP_ID_EXP	     0x10
#define MSI_CTRL_ENABLE	     (1u << 0) /* message control, bits of the 16-bit register */
#define MSI_CTRL_MMC_SHIFT   1
#define MSI_CTRL_MME_SHIFT   4
#define MSI_CTRL_MM_MASK     7u
#define MSI_CTRL_64BIT	     (1u << 7)
#define MSI_CAP_CTRL	     2 /* offsets in the capability */
#define MSI_CAP_ADDR_LO	     4
#define MSI_SHADOW_MAX	     10 /* address low, address high, data */

struct msi_cap {
	uint8_t cap;  /* the capability's offset in configuration space */
	bool wide;    /* 64-bit message address */
	uint8_t len;  /* shadowed bytes from cap + 4: 6 (32-bit) or 10 (64-bit) */
	uint8_t guest[MSI_SHADOW_MAX];
	uint8_t hw[MSI_SHADOW_MAX];
};

/* A capability at cap with message control ctrl; the guest's shadow starts as the device's
 * current address and data (hw). */
void msi_cap_init(struct msi_cap *c, uint8_t cap, uint16_t ctrl, uint32_t addr_lo,
		  uint32_t addr_hi, uint16_t data);

/* Does [off, off + size) touch the shadowed bytes / the message control register? */
bool msi_cap_touches_message(const struct msi_cap *c, unsigned off, unsigned size);
bool msi_cap_touches_control(const struct msi_cap *c, unsigned off, unsigned size);

/* A guest write of size bytes at configuration offset off: the shadowed bytes go to the
 * shadow; returns the value for the device (its own bytes in their place). */
uint32_t msi_cap_write(struct msi_cap *c, unsigned off, unsigned size, uint32_t val);

/* A guest read: the device's value hw with the shadowed bytes replaced by the guest's. */
uint32_t msi_cap_read(const struct msi_cap *c, unsigned off, unsigned size, uint32_t hw);

/* The guest's message. */
void msi_cap_message(const struct msi_cap *c, uint32_t *addr_lo, uint32_t *addr_hi,
		     uint16_t *data);

/* The device's own message (what it must hold). */
void msi_cap_set_hw(struct msi_cap *c, uint32_t addr_lo, uint32_t addr_hi, uint16_t data);

/* The device's own address/data as dwords at cap + 4 ... (count dwords: 2 or 3); the data
 * dword's upper half is the caller's to keep. */
unsigned msi_cap_hw_dwords(const struct msi_cap *c, uint32_t *dw);

#endif
