/* Interrupt messages decoded: see irq_msg.h. */
#include "iommu/irq_msg.h"

bool irq_msg_from_msi(uint32_t addr_lo, uint32_t addr_hi, uint32_t data, struct irq_msg *m)
{
	if (addr_hi || (addr_lo & MSI_ADDR_WINDOW_MASK) != MSI_ADDR_WINDOW)
		return false;
	*m = (struct irq_msg){
		.dest = (addr_lo >> MSI_ADDR_DEST_SHIFT) & MSI_ADDR_DEST_MASK,
		.vector = (uint8_t)(data & MSI_DATA_VECTOR_MASK),
		.mode = (uint8_t)((data >> MSI_DATA_MODE_SHIFT) & MSI_DATA_MODE_MASK),
		.logical = (addr_lo & MSI_ADDR_LOGICAL) != 0,
		.redir_hint = (addr_lo & MSI_ADDR_RH) != 0,
		.level = (data & MSI_DATA_LEVEL) != 0,
	};
	return true;
}

void irq_msg_from_rte(uint32_t low, uint32_t high, struct irq_msg *m)
{
	*m = (struct irq_msg){
		.dest = (high >> RTE_DEST_SHIFT) & RTE_DEST_MASK,
		.vector = (uint8_t)(low & RTE_VECTOR_MASK),
		.mode = (uint8_t)((low >> RTE_MODE_SHIFT) & RTE_MODE_MASK),
		.logical = (low & RTE_LOGICAL) != 0,
		.redir_hint = false,
		.level = (low & RTE_LEVEL) != 0,
	};
}
