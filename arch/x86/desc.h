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

struct hv_desc_ptr {
	uint16_t limit;
	uint64_t base;
} __packed;

/*
 * Two views of mhv's IDT.  desc_idtr_ist: #DF, NMI and #MC switch to mhv's IST stacks, found
 * through the TSS in TR.  desc_idtr_no_ist: the same handlers on the current stack, for code
 * that runs while TR holds a TSS that is not mhv's: SVM leaves the guest's TR loaded across
 * exits (lazy VMLOAD), and an IST lookup there would take a stack pointer from the guest's
 * TSS.  (A #DF on an overflowed stack then becomes a shutdown instead.)
 */
extern const struct hv_desc_ptr desc_idtr_ist, desc_idtr_no_ist;

void desc_init(void);
void desc_load_idt(bool use_ist);
/* The IST-free view has every gate of the other, with IST 0 (boot self-check). */
bool desc_idt_no_ist_ok(void);
/* Linear address of the TSS (VMX host state). */
uint64_t desc_tss_base(void);

#endif
