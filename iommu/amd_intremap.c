/* AMD-Vi interrupt remapping table and DTE fields: see amd_intremap.h. */
#include "iommu/amd_intremap.h"

#define VECTORS		 256u
#define DTE_INTTABLEN_512 9ull /* 2^9 = AMD_IRT_ENTRIES */

void amd_irt_fill(uint32_t *table, uint8_t dest)
{
	for (uint32_t i = 0; i < AMD_IRT_ENTRIES; i++) {
		uint32_t mode = i / VECTORS, vector = i % VECTORS;

		table[i] = AMD_IRTE_REMAP_EN | mode << AMD_IRTE_TYPE_SHIFT |
			   (uint32_t)dest << AMD_IRTE_DEST_SHIFT | vector << AMD_IRTE_VECTOR_SHIFT;
	}
}

uint64_t amd_dte_intremap(uint64_t table_pa)
{
	return AMD_DTE_IV | DTE_INTTABLEN_512 << AMD_DTE_INTTABLEN_SHIFT |
	       (table_pa & AMD_DTE_INTTAB_MASK) | AMD_DTE_INTCTL_REMAP << AMD_DTE_INTCTL_SHIFT;
}

uint64_t amd_dte_intabort(void)
{
	return AMD_DTE_IV | AMD_DTE_INTCTL_ABORT << AMD_DTE_INTCTL_SHIFT;
}

uint32_t amd_irte_build(const struct irq_msg *m)
{
	uint32_t e;

	if ((m->mode != IRQ_MODE_FIXED && m->mode != IRQ_MODE_LOWEST) || m->dest > AMD_IRTE_MAX_DEST)
		return 0;
	e = AMD_IRTE_REMAP_EN | (uint32_t)m->mode << AMD_IRTE_TYPE_SHIFT |
	    m->dest << AMD_IRTE_DEST_SHIFT | (uint32_t)m->vector << AMD_IRTE_VECTOR_SHIFT;
	if (m->logical)
		e |= AMD_IRTE_DM_LOGICAL;
	return e;
}

unsigned amd_irt_index(uint8_t mode, uint8_t vector)
{
	return ((unsigned)mode * VECTORS + vector) % AMD_IRT_ENTRIES;
}
