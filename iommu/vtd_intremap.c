/* VT-d interrupt remapping entries and remappable-format messages: see vtd_intremap.h. */
#include "iommu/vtd_intremap.h"

#define RTE_KEPT (RTE_VECTOR_MASK | RTE_POLARITY_LOW | RTE_LEVEL | RTE_MASKED)

bool vtd_irte_build(const struct irq_msg *m, int32_t sid, struct vtd_irte *e)
{
	*e = (struct vtd_irte){0, 0};
	if (m->mode != IRQ_MODE_FIXED && m->mode != IRQ_MODE_LOWEST)
		return false;
	if (m->dest > VTD_IRTE_XAPIC_MAX_DEST)
		return false;
	e->lo = VTD_IRTE_P | (uint64_t)m->mode << VTD_IRTE_DLM_SHIFT |
		(uint64_t)m->vector << VTD_IRTE_VECTOR_SHIFT |
		(uint64_t)m->dest << VTD_IRTE_XAPIC_DEST_SHIFT;
	if (m->logical)
		e->lo |= VTD_IRTE_DM_LOGICAL;
	if (m->redir_hint || m->mode == IRQ_MODE_LOWEST)
		e->lo |= VTD_IRTE_RH;
	if (m->level)
		e->lo |= VTD_IRTE_TM_LEVEL;
	if (sid >= 0)
		e->hi = ((uint64_t)sid & VTD_IRTE_SID_MASK) | VTD_IRTE_SVT_SID << VTD_IRTE_SVT_SHIFT;
	return true;
}

void vtd_irte_build_nmi(uint8_t dest, int32_t sid, struct vtd_irte *e)
{
	/* The vector field is ignored for NMI delivery (VT-d 9.10): left 0. */
	e->lo = VTD_IRTE_P | (uint64_t)IRQ_MODE_NMI << VTD_IRTE_DLM_SHIFT |
		(uint64_t)dest << VTD_IRTE_XAPIC_DEST_SHIFT;
	e->hi = 0;
	if (sid >= 0)
		e->hi = ((uint64_t)sid & VTD_IRTE_SID_MASK) | VTD_IRTE_SVT_SID << VTD_IRTE_SVT_SHIFT;
}

uint32_t vtd_msi_remap_addr(uint16_t handle)
{
	uint32_t a = MSI_ADDR_WINDOW | VTD_MSI_FORMAT_REMAP | VTD_MSI_SHV |
		     (uint32_t)(handle & VTD_HANDLE_LOW_MASK) << VTD_MSI_HANDLE_SHIFT;

	if (handle & VTD_HANDLE_BIT15)
		a |= VTD_MSI_HANDLE15;
	return a;
}

void vtd_rte_remap(uint16_t handle, uint32_t guest_low, uint32_t *low, uint32_t *high)
{
	*low = guest_low & RTE_KEPT; /* delivery mode 000b, bit 11 = handle[15] */
	if (handle & VTD_HANDLE_BIT15)
		*low |= VTD_RTE_HANDLE15;
	*high = VTD_RTE_FORMAT_REMAP | (uint32_t)(handle & VTD_HANDLE_LOW_MASK)
					       << VTD_RTE_HANDLE_SHIFT;
}
