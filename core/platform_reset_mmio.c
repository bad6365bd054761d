/*
 * A reset register in system memory (FADT RESET_REG, address space 0).  Its page leaves the
 * nested page tables like an mmio= region; every access to the page is forwarded to the
 * device at its exact width (other registers may share the page), except a write whose byte
 * at the register's address is RESET_VALUE: that ends the run (status 0, the guest asked
 * for it), as a reset through the I/O ports does (platform_ports.c).  The emulators' FADTs
 * have no such register, so this path is exercised only on machines that do.
 */
#include "core/platform_reset_mmio.h"
#include "arch/x86/acpi.h"
#include "core/mmio_setup.h"
#include "core/run_end.h"
#include "core/vuart.h"
#include "lib/log.h"
#include "mmio/device.h"
#include "mmio/region.h"

#define PAGE_MASK_LOW 0xFFFull

static struct {
	uint64_t addr;
	uint8_t value;
} reset_reg;

static int reset_page_read(void *dev, const struct mmio_access *a, void *buf)
{
	(void)dev;
	return hv_phys_read(NULL, a->gpa, buf, a->len);
}

static int reset_page_write(void *dev, const struct mmio_access *a, const void *buf)
{
	(void)dev;
	if (reset_reg.addr >= a->gpa && reset_reg.addr < a->gpa + a->len &&
	    ((const uint8_t *)buf)[reset_reg.addr - a->gpa] == reset_reg.value) {
		vuart_flush();
		pr_info("mhv: guest requested a reset via the FADT reset register (memory 0x%lx): "
			"run ends\n",
			reset_reg.addr);
		hv_end_run(HV_STATUS_PASS);
	}
	return hv_phys_write(NULL, a->gpa, buf, a->len);
}

static const struct mmio_dev_ops reset_page_ops = {
	.name = "reset", .read = reset_page_read, .write = reset_page_write};

bool platform_reset_mmio_setup(struct mmio_regions *regions)
{
	struct acpi_pm_regs r;
	int err;

	if (!acpi_pm_regs(&r) || r.reset_space != ACPI_GAS_SYSTEM_MEMORY || !r.reset_addr)
		return true;
	reset_reg.addr = r.reset_addr;
	reset_reg.value = r.reset_value;
	err = mmio_region_add(regions, r.reset_addr & ~PAGE_MASK_LOW, MMIO_PAGE_SIZE,
			      &reset_page_ops, NULL);
	if (err)
		pr_warn("mhv: platform: cannot trap the FADT reset register's page at 0x%lx "
			"(error %d): not intercepted\n",
			r.reset_addr, err);
	else
		pr_info("mhv: platform: FADT reset register at memory 0x%lx trapped\n",
			r.reset_addr);
	return true;
}
