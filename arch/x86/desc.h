/* mhv's own GDT, TSS and IDT. */
#ifndef MHV_ARCH_X86_DESC_H
#define MHV_ARCH_X86_DESC_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/compiler.h"

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
} __packed;

/* An AP's own GDT (its TSS descriptor differs) and TSS (its own IST stacks). */
struct desc_cpu {
	uint64_t gdt[GDT_ENTRIES] __aligned(16);
	struct tss64 tss __aligned(16);
};

struct hv_desc_ptr {
	uint16_t limit;
	uint64_t base;
} __packed;

/*
 * Two views of mhv's IDT, shared by every CPU (each CPU's IST slots are found through its own
 * TSS).  desc_idtr_ist: #DF, NMI and #MC switch to this CPU's IST stacks, found through the TSS
 * in TR.  desc_idtr_no_ist: the same handlers on the current stack, for code that runs while TR
 * holds a TSS that is not mhv's: SVM leaves the guest's TR loaded across exits (lazy VMLOAD),
 * and an IST lookup there would take a stack pointer from the guest's TSS.  (A #DF on an
 * overflowed stack then becomes a shutdown instead.)  IDTR is per CPU: each CPU switches its
 * own with desc_load_idt().
 */
extern const struct hv_desc_ptr desc_idtr_ist, desc_idtr_no_ist;

void desc_init(void);
/* On an AP: load its own GDT and TSS (IST stacks at ist_top[0..2]) and mhv's IDT (IST view). */
void desc_init_ap(struct desc_cpu *d, const uint64_t ist_top[NR_IST_STACKS]);
/* Load the calling CPU's IDTR with one of the two views. */
void desc_load_idt(bool use_ist);
/* The IST-free view has every gate of the other, with IST 0 (boot self-check). */
bool desc_idt_no_ist_ok(void);
/* Linear address of this CPU's TSS (VMX host state): TR's base, read from its GDT. */
uint64_t desc_tss_base(void);

#endif
