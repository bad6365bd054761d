/* The local APIC guard: see apic_guard.h. */
#include "arch/x86/apic_guard.h"
#include "arch/x86/cpu.h"
#include "arch/x86/mmio_setup.h"
#include "lib/log.h"
#include "mmio/device.h"
#include "mmio/region.h"

#define MSR_IA32_APIC_BASE  0x0000001B
#define APIC_BASE_ENABLE    (1ull << 11)
#define APIC_BASE_ADDR_MASK 0x000FFFFFFFFFF000ull
#define APIC_ICR_LOW	    0x300
#define ICR_DELIVERY_SHIFT  8
#define ICR_DELIVERY_MASK   7u
#define ICR_MODE_INIT	    5u
#define ICR_MODE_STARTUP    6u
#define DROP_REPORT_LIMIT   4

static uint64_t dropped;
static uint64_t apic_base;

bool apic_guard_ipi_allowed(uint64_t icr)
{
	unsigned mode = (unsigned)(icr >> ICR_DELIVERY_SHIFT) & ICR_DELIVERY_MASK;

	if (mode != ICR_MODE_INIT && mode != ICR_MODE_STARTUP)
		return true;
	if (dropped++ < DROP_REPORT_LIMIT)
		pr_warn("mhv: guest sent an %s IPI (ICR 0x%lx): dropped, mhv runs one CPU\n",
			mode == ICR_MODE_INIT ? "INIT" : "STARTUP", icr);
	return false;
}

uint64_t apic_guard_dropped(void)
{
	return dropped;
}

uint64_t apic_guard_base(void)
{
	return apic_base;
}

static int apic_read(void *dev, const struct mmio_access *a, void *buf)
{
	(void)dev;
	return hv_phys_read(NULL, a->gpa, buf, a->len);
}

static int apic_write(void *dev, const struct mmio_access *a, const void *buf)
{
	uint32_t icr;

	(void)dev;
	if (a->offset == APIC_ICR_LOW && a->len >= sizeof(icr)) {
		__builtin_memcpy(&icr, buf, sizeof(icr));
		if (!apic_guard_ipi_allowed(icr))
			return 0;
	}
	return hv_phys_write(NULL, a->gpa, buf, a->len);
}

static const struct mmio_dev_ops apic_guard_ops = {
	.name = "apic",
	.read = apic_read,
	.write = apic_write,
};

bool apic_guard_setup(struct mmio_regions *regions)
{
	uint64_t msr = rdmsr(MSR_IA32_APIC_BASE);
	int err;

	if (!(msr & APIC_BASE_ENABLE))
		return true; /* no xAPIC page to guard; x2APIC ICR writes are intercepted anyway */
	apic_base = msr & APIC_BASE_ADDR_MASK;
	err = mmio_region_add(regions, apic_base, MMIO_PAGE_SIZE, &apic_guard_ops, NULL);
	if (err) {
		pr_err("mhv: cannot trap the local APIC page at 0x%lx (an mmio= region there?): "
		       "error %d\n",
		       apic_base, err);
		return false;
	}
	pr_info("mhv: apic: local APIC page at 0x%lx trapped: INIT/STARTUP IPIs are dropped\n",
		apic_base);
	return true;
}
