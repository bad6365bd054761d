/* The local APIC helpers the guest tests share (lapic.h). */
#include "tests/guest/lapic.h"

#include "tests/guest/cpu.h"

bool lapic_x2apic(void)
{
	return rdmsr(MSR_IA32_APIC_BASE) & APIC_BASE_X2APIC;
}

uintptr_t lapic_xapic_base(void)
{
	return (uintptr_t)(rdmsr(MSR_IA32_APIC_BASE) & APIC_BASE_ADDR_MASK);
}

uint32_t lapic_self_id(void)
{
	if (lapic_x2apic())
		return (uint32_t)rdmsr(MSR_X2APIC_ID);
	return mmio_read32(lapic_xapic_base() + APIC_ID_REG) >> XAPIC_ID_SHIFT;
}

bool xapic_irr_has(uintptr_t apic, uint32_t vector)
{
	uint32_t reg = mmio_read32(apic + APIC_IRR_BASE + (vector / IRR_REG_BITS) * IRR_REG_SPAN);

	return reg & (1u << (vector % IRR_REG_BITS));
}

bool x2apic_irr_has(uint32_t vector)
{
	uint32_t reg = (uint32_t)rdmsr(MSR_X2APIC_IRR + vector / IRR_REG_BITS);

	return reg & (1u << (vector % IRR_REG_BITS));
}

bool lapic_irr_has(uint32_t vector)
{
	if (lapic_x2apic())
		return x2apic_irr_has(vector);
	return xapic_irr_has(lapic_xapic_base(), vector);
}
