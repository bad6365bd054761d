/* mhv's own GDT, TSS and IDT. */
#ifndef MHV_ARCH_X86_DESC_H
#define MHV_ARCH_X86_DESC_H

#include <stdint.h>

#define HV_CS  0x08
#define HV_DS  0x10
#define HV_TSS 0x18

/* Interrupt-stack-table slots: faults that must not run on a possibly broken stack. */
#define IST_DF	1
#define IST_NMI 2
#define IST_MC	3

#define NR_IST_STACKS 3
#define GDT_ENTRIES   5 /* null, code, data, TSS (two slots) */

struct tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));

/* An AP's own GDT (its TSS descriptor differs) and TSS (its own IST stacks). */
struct desc_cpu {
	uint64_t gdt[GDT_ENTRIES] __attribute__((aligned(16)));
	struct tss64 tss __attribute__((aligned(16)));
};

void desc_init(void);
/* On an AP: load its own GDT and TSS (IST stacks at ist_top[0..2]) and mhv's IDT. */
void desc_init_ap(struct desc_cpu *d, const uint64_t ist_top[NR_IST_STACKS]);
/* Linear address of this CPU's TSS (VMX host state): TR's base, read from its GDT. */
uint64_t desc_tss_base(void);

#endif
