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

void desc_init(void);
/* Linear address of the TSS (VMX host state). */
uint64_t desc_tss_base(void);

#endif
