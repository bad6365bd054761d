/* Interrupt remapping from the guest's own programming: see irq_remap.h. */
#include "core/irq_remap.h"
#include "arch/x86/iommu.h"
#include "arch/x86/smp.h"
#include "core/apic_guard.h"
#include "iommu/vtd_intremap.h"

#define BROADCAST_DEST 0xFFu

bool irq_remap_active(void)
{
	return vtd_intremap_on();
}

int32_t irq_remap_alloc(unsigned count)
{
	return vtd_irte_alloc(count);
}

void irq_remap_clear(unsigned handle)
{
	const struct vtd_irte none = {0, 0};

	vtd_irte_write(handle, &none);
}

/* The destination rule the guest's own IPIs and IOAPIC entries follow (ioapic_guard.h). */
static bool destination_ok(struct irq_msg *m, const char **why)
{
	uint32_t id, ldr;
	bool self;

	if (smp_active()) {
		if (m->logical)
			return true; /* a CPU outside the guest never writes its LDR */
		if (m->dest == BROADCAST_DEST ? smp_every_cpu_is_vcpu()
					      : smp_apic_id_is_vcpu(m->dest))
			return true;
		*why = "programmed a device interrupt for a CPU that is not one of the guest's vCPUs";
		return false;
	}
	apic_guard_self_xapic(&id, &ldr);
	self = m->dest == BROADCAST_DEST || (m->logical ? (m->dest & ldr) != 0 : m->dest == id);
	if (!self) {
		*why = "programmed a device interrupt for another CPU";
		return false;
	}
	m->dest = id; /* only this CPU, whatever else the destination named */
	m->logical = false;
	return true;
}

bool irq_remap_set(unsigned handle, const struct irq_msg *msg, int32_t sid, const char **why)
{
	struct irq_msg m = *msg;
	struct vtd_irte e;

	if (m.mode != IRQ_MODE_FIXED && m.mode != IRQ_MODE_LOWEST) {
		*why = "programmed a device interrupt with NMI, SMI, INIT, ExtINT or a reserved "
		       "delivery mode";
		irq_remap_clear(handle);
		return false;
	}
	if (!destination_ok(&m, why) || !vtd_irte_build(&m, sid, &e)) {
		if (m.dest > VTD_IRTE_XAPIC_MAX_DEST)
			*why = "programmed a device interrupt for an APIC ID beyond 8 bits";
		irq_remap_clear(handle);
		return false;
	}
	vtd_irte_write(handle, &e);
	return true;
}
