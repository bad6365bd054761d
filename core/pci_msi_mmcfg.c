/* The MSI capability through the MMCONFIG window: see pci_msi_trap.h. */
#include "arch/x86/acpi.h"
#include "arch/x86/io.h"
#include "arch/x86/paging.h"
#include "arch/x86/pci_conf.h"
#include "core/pci_msi_internal.h"
#include "core/pci_msi_trap.h"
#include "core/pci_msix_trap.h"
#include "lib/log.h"
#include "lib/string.h"
#include "mmio/device.h"
#include "mmio/region.h"

/* MCFG (PCI Firmware spec 4.1.2): entries of 16 bytes after a 44-byte header */
#define MCFG_ENTRIES	   44
#define MCFG_ENTRY_LEN	   16
#define MCFG_SEGMENT	   8
#define MCFG_START_BUS	   10
#define MCFG_END_BUS	   11
#define ECAM_BUS_SHIFT	   20
#define ECAM_FN_SHIFT	   12 /* bus:dev.fn << 12: the function's 4 KiB page */
#define ECAM_PAGE	   4096u
#define DWORD		   4u

/* The function's MMCONFIG page: a read as the guest sees it (the message from the shadow). */
static int mmcfg_read(void *dev, const struct mmio_access *a, void *buf)
{
	const struct msi_fn *f = dev;
	uint8_t *b = buf;
	int err;

	spin_lock(&pci_msi_lock);
	err = hv_device_read(f->ecam + a->offset, buf, a->len);
	for (unsigned i = 0; !err && i < a->len; i += DWORD) {
		unsigned n = a->len - i < DWORD ? a->len - i : DWORD;
		uint32_t v = 0;

		memcpy(&v, b + i, n);
		v = msi_cap_read(&f->cap, (unsigned)a->offset + i, n, v);
		memcpy(b + i, &v, n);
	}
	spin_unlock(&pci_msi_lock);
	return err;
}

/* A write: the message bytes to the shadow (the device keeps its own), the rest through. */
static int mmcfg_write(void *dev, const struct mmio_access *a, const void *buf)
{
	struct msi_fn *f = dev;
	unsigned off = (unsigned)a->offset;
	bool message = msi_cap_touches_message(&f->cap, off, a->len);
	bool control = msi_cap_touches_control(&f->cap, off, a->len);
	uint8_t b[MMIO_ACCESS_MAX];
	uint32_t cf8;
	int err;

	memcpy(b, buf, a->len);
	spin_lock(&pci_msi_lock);
	for (unsigned i = 0; i < a->len; i += DWORD) {
		unsigned n = a->len - i < DWORD ? a->len - i : DWORD;
		uint32_t v = 0;

		memcpy(&v, b + i, n);
		v = msi_cap_write(&f->cap, off + i, n, v);
		memcpy(b + i, &v, n);
	}
	err = hv_device_write(f->ecam + off, b, a->len);
	if (pci_msix_is_bar(f->bdf, off, a->len)) {
		cf8 = inl(PCI_CONFIG_ADDR);
		pci_msix_bar_written(f->bdf);
		outl(PCI_CONFIG_ADDR, cf8);
	}
	if (message || control) {
		cf8 = inl(PCI_CONFIG_ADDR); /* the guest's, kept across mhv's own accesses */
		pci_msi_write_hw_message(f); /* a function reset may have cleared it */
		pci_msi_rebuild(f);
		outl(PCI_CONFIG_ADDR, cf8);
	}
	spin_unlock(&pci_msi_lock);
	return err;
}

static const struct mmio_dev_ops mmcfg_ops = {
	.name = "msi-mmcfg",
	.read = mmcfg_read,
	.write = mmcfg_write,
};

/* The MMCONFIG page of bus:dev.fn on segment 0 from the MCFG, or 0. */
static uint64_t ecam_page(const struct acpi_header *mcfg, uint16_t bdf)
{
	const uint8_t *p = (const uint8_t *)mcfg;
	unsigned bus = bdf >> 8;

	for (uint32_t off = MCFG_ENTRIES; off + MCFG_ENTRY_LEN <= mcfg->length;
	     off += MCFG_ENTRY_LEN) {
		uint64_t base;
		uint16_t seg;

		memcpy(&base, p + off, sizeof(base));
		memcpy(&seg, p + off + MCFG_SEGMENT, sizeof(seg));
		if (seg || bus < p[off + MCFG_START_BUS] || bus > p[off + MCFG_END_BUS])
			continue;
		return base + ((uint64_t)(bus - p[off + MCFG_START_BUS]) << ECAM_BUS_SHIFT) +
		       ((uint64_t)(bdf & 0xFF) << ECAM_FN_SHIFT);
	}
	return 0;
}

bool pci_msi_mmcfg_setup(struct mmio_regions *regions)
{
	const struct acpi_header *mcfg = acpi_find_table("MCFG");
	unsigned trapped = 0, nr_fns;
	struct msi_fn *fns = pci_msi_functions(&nr_fns);

	if (!mcfg || !nr_fns)
		return true;
	for (unsigned i = 0; i < nr_fns; i++) {
		struct msi_fn *f = &fns[i];
		uint64_t page = ecam_page(mcfg, f->bdf);
		int err;

		if (!page)
			continue;
		err = mmio_region_add(regions, page, ECAM_PAGE, &mmcfg_ops, f);
		if (err) {
			pr_err("mhv: msi: cannot trap %02x:%02x.%x's MMCONFIG page at 0x%lx (error "
			       "%d)\n",
			       f->bdf >> 8, (f->bdf >> 3) & 0x1f, f->bdf & 7, page, err);
			return false;
		}
		f->ecam = page;
		trapped++;
	}
	pr_info("mhv: msi: %u MMCONFIG page(s) of MSI functions trapped (the window the firmware "
		"set; one the guest moves is not followed)\n",
		trapped);
	return true;
}
