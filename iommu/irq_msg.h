/*
 * An interrupt message as the guest programmed it, whichever way it programmed it: an MSI
 * (address and data in a device's MSI capability) or an IOAPIC redirection entry.  Decoded
 * here once, so the rule for what may reach a CPU (core/irq_remap.c) and the IOMMUs' entry
 * builders (vtd_intremap.h) see the same fields.
 */
#ifndef MHV_IOMMU_IRQ_MSG_H
#define MHV_IOMMU_IRQ_MSG_H

#include <stdbool.h>
#include <stdint.h>

/* Delivery modes, as in MSI data[10:8], IOAPIC entries[10:8] and the ICR. */
#define IRQ_MODE_FIXED	0u
#define IRQ_MODE_LOWEST 1u
#define IRQ_MODE_SMI	2u
#define IRQ_MODE_NMI	4u
#define IRQ_MODE_INIT	5u
#define IRQ_MODE_EXTINT 7u

/* Compatibility-format MSI (Intel SDM vol. 3 11.11) */
#define MSI_ADDR_WINDOW	     0xFEE00000u
#define MSI_ADDR_WINDOW_MASK 0xFFF00000u
#define MSI_ADDR_DEST_SHIFT  12
#define MSI_ADDR_DEST_MASK   0xFFu
#define MSI_ADDR_RH	     (1u << 3)
#define MSI_ADDR_LOGICAL     (1u << 2)
#define MSI_DATA_VECTOR_MASK 0xFFu
#define MSI_DATA_MODE_SHIFT  8
#define MSI_DATA_MODE_MASK   7u
#define MSI_DATA_LEVEL	     (1u << 15)

/* IOAPIC redirection entry (low and high dwords) */
#define RTE_VECTOR_MASK	 0xFFu
#define RTE_MODE_SHIFT	 8
#define RTE_MODE_MASK	 7u
#define RTE_LOGICAL	 (1u << 11)
#define RTE_POLARITY_LOW (1u << 13)
#define RTE_LEVEL	 (1u << 15)
#define RTE_MASKED	 (1u << 16)
#define RTE_DEST_SHIFT	 24 /* high dword */
#define RTE_DEST_MASK	 0xFFu

struct irq_msg {
	uint32_t dest; /* physical APIC ID, or logical destination (logical) */
	uint8_t vector;
	uint8_t mode; /* IRQ_MODE_* */
	bool logical;
	bool redir_hint; /* MSI address RH: lowest-priority among the destination */
	bool level;	 /* level-triggered */
};

/* A compatibility-format MSI; false when the address is outside 0xFEExxxxx (no interrupt:
 * a DMA write to memory). */
bool irq_msg_from_msi(uint32_t addr_lo, uint32_t addr_hi, uint32_t data, struct irq_msg *m);

/* An IOAPIC redirection entry (the mask bit is the caller's). */
void irq_msg_from_rte(uint32_t low, uint32_t high, struct irq_msg *m);

#endif
