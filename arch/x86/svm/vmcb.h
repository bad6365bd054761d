/*
 * The VMCB (AMD APM Vol. 2, Appendix B).  A packed struct with every field at its
 * architectural offset (checked at build time), so VMCB state is reached by name and type.
 */
#ifndef MHV_ARCH_X86_SVM_VMCB_H
#define MHV_ARCH_X86_SVM_VMCB_H

#include <stddef.h>
#include <stdint.h>
#include "lib/compiler.h"

struct vmcb_seg {
	uint16_t selector;
	uint16_t attrib; /* descriptor bits 40-47 in 0-7, bits 52-55 in 8-11 */
	uint32_t limit;
	uint64_t base;
} __packed;

struct vmcb_control {
	uint32_t intercept_cr;	       /* 0x000: reads in bits 0-15, writes in 16-31 */
	uint32_t intercept_dr;	       /* 0x004 */
	uint32_t intercept_exceptions; /* 0x008 */
	uint32_t intercept_misc1;      /* 0x00C */
	uint32_t intercept_misc2;      /* 0x010 */
	uint32_t intercept_misc3;      /* 0x014 */
	uint8_t reserved1[0x03C - 0x018];
	uint16_t pause_filter_threshold; /* 0x03C */
	uint16_t pause_filter_count;	 /* 0x03E */
	uint64_t iopm_base_pa;		 /* 0x040 */
	uint64_t msrpm_base_pa;		 /* 0x048 */
	uint64_t tsc_offset;		 /* 0x050 */
	uint32_t asid;			 /* 0x058 */
	uint8_t tlb_control;		 /* 0x05C */
	uint8_t reserved2[3];
	uint64_t vintr;		   /* 0x060 */
	uint64_t interrupt_shadow; /* 0x068 */
	uint64_t exit_code;	   /* 0x070 */
	uint64_t exit_info1;	   /* 0x078 */
	uint64_t exit_info2;	   /* 0x080 */
	uint64_t exit_int_info;	   /* 0x088 */
	uint64_t np_enable;	   /* 0x090 */
	uint64_t avic_apic_bar;	   /* 0x098 */
	uint64_t ghcb_pa;	   /* 0x0A0 */
	uint64_t event_inj;	   /* 0x0A8 */
	uint64_t n_cr3;		   /* 0x0B0 */
	uint64_t lbr_virt;	   /* 0x0B8 */
	uint32_t clean_bits;	   /* 0x0C0 */
	uint32_t reserved3;
	uint64_t next_rip;	/* 0x0C8 (NRIP save) */
	uint8_t insn_len;	/* 0x0D0 (decode assists) */
	uint8_t insn_bytes[15]; /* 0x0D1 */
	uint8_t reserved4[0x400 - 0x0E0];
} __packed;

struct vmcb_save {
	struct vmcb_seg es, cs, ss, ds, fs, gs, gdtr, ldtr, idtr, tr; /* 0x400 */
	uint8_t reserved1[0x4CB - 0x4A0];
	uint8_t cpl; /* 0x4CB */
	uint32_t reserved2;
	uint64_t efer; /* 0x4D0 */
	uint8_t reserved3[0x548 - 0x4D8];
	uint64_t cr4;	 /* 0x548 */
	uint64_t cr3;	 /* 0x550 */
	uint64_t cr0;	 /* 0x558 */
	uint64_t dr7;	 /* 0x560 */
	uint64_t dr6;	 /* 0x568 */
	uint64_t rflags; /* 0x570 */
	uint64_t rip;	 /* 0x578 */
	uint8_t reserved4[0x5D8 - 0x580];
	uint64_t rsp; /* 0x5D8 */
	uint8_t reserved5[0x5F8 - 0x5E0];
	uint64_t rax;					     /* 0x5F8 */
	uint64_t star, lstar, cstar, sfmask, kernel_gs_base; /* 0x600 */
	uint64_t sysenter_cs, sysenter_esp, sysenter_eip;    /* 0x628 */
	uint64_t cr2;					     /* 0x640 */
	uint8_t reserved6[0x668 - 0x648];
	uint64_t g_pat;	 /* 0x668 */
	uint64_t dbgctl; /* 0x670 */
} __packed;

struct vmcb {
	struct vmcb_control control;
	struct vmcb_save save;
} __packed;

#define VMCB_OFFSET_CHECK(f, off) BUILD_BUG_ON(offsetof(struct vmcb, f) != (off))
VMCB_OFFSET_CHECK(control.iopm_base_pa, 0x040);
VMCB_OFFSET_CHECK(control.asid, 0x058);
VMCB_OFFSET_CHECK(control.exit_code, 0x070);
VMCB_OFFSET_CHECK(control.np_enable, 0x090);
VMCB_OFFSET_CHECK(control.event_inj, 0x0A8);
VMCB_OFFSET_CHECK(control.n_cr3, 0x0B0);
VMCB_OFFSET_CHECK(control.clean_bits, 0x0C0);
VMCB_OFFSET_CHECK(control.next_rip, 0x0C8);
VMCB_OFFSET_CHECK(save.es, 0x400);
VMCB_OFFSET_CHECK(save.tr, 0x490);
VMCB_OFFSET_CHECK(save.cpl, 0x4CB);
VMCB_OFFSET_CHECK(save.efer, 0x4D0);
VMCB_OFFSET_CHECK(save.cr4, 0x548);
VMCB_OFFSET_CHECK(save.rip, 0x578);
VMCB_OFFSET_CHECK(save.rsp, 0x5D8);
VMCB_OFFSET_CHECK(save.rax, 0x5F8);
VMCB_OFFSET_CHECK(save.cr2, 0x640);
VMCB_OFFSET_CHECK(save.g_pat, 0x668);

/* VMCB clean bits: set ones let the CPU keep its cached copy of that area. */
#define VMCB_CLEAN_INTERCEPTS (1u << 0) /* intercept vectors, TSC offset, pause filter */

/* Intercept bits */
#define CR_WRITE_INTERCEPT(n) (1u << (16 + (n)))
#define MISC1_INTR	      (1u << 0)
#define MISC1_NMI	      (1u << 1) /* SMP: mhv's kicks and stop requests are NMIs */
#define MISC1_INIT	      (1u << 3) /* a physical INIT would reset the CPU */
#define MISC1_CPUID	      (1u << 18)
#define MISC1_INTN	      (1u << 21) /* INT n (QEMU TCG: INT3 and INTO too) */
#define MISC1_INVD	      (1u << 22)
#define MISC1_HLT	      (1u << 24)
#define MISC1_INVLPG	      (1u << 25)
#define MISC1_INVLPGA	      (1u << 26)
#define MISC1_IOIO	      (1u << 27)
#define MISC1_MSR	      (1u << 28)
#define MISC1_TASK_SWITCH     (1u << 29)
#define MISC1_SHUTDOWN	      (1u << 31)
#define MISC2_VMRUN	      (1u << 0)
#define MISC2_VMMCALL	      (1u << 1)
#define MISC2_VMLOAD	      (1u << 2)
#define MISC2_VMSAVE	      (1u << 3)
#define MISC2_STGI	      (1u << 4)
#define MISC2_CLGI	      (1u << 5)
#define MISC2_SKINIT	      (1u << 6)
#define MISC2_XSETBV	      (1u << 13)
#define MISC3_INVPCID	      (1u << 2)

/* Exit codes */
#define SVM_EXIT_CR0_WRITE   0x010
#define SVM_EXIT_CR3_WRITE   0x013
#define SVM_EXIT_CR4_WRITE   0x014
#define SVM_EXIT_DR0_READ    0x020 /* + n: MOV from DRn */
#define SVM_EXIT_DR0_WRITE   0x030 /* + n: MOV to DRn */
#define SVM_NR_DRS	     8
/* intercept_dr: reads of DR0-DR7 in bits 0-7, writes in bits 16-23 */
#define SVM_DR_INTERCEPT_ALL 0x00FF00FFu
#define SVM_EXIT_EXCP_BASE   0x040
#define SVM_EXIT_INTR	     0x060
#define SVM_EXIT_NMI	     0x061
#define SVM_EXIT_INIT	     0x063
#define SVM_EXIT_CPUID	     0x072
#define SVM_EXIT_SWINT	     0x075
#define SVM_EXIT_INVD	     0x076
#define SVM_EXIT_HLT	     0x078
#define SVM_EXIT_INVLPG	     0x079
#define SVM_EXIT_INVLPGA     0x07A
#define SVM_EXIT_IOIO	     0x07B
#define SVM_EXIT_MSR	     0x07C
#define SVM_EXIT_TASK_SWITCH 0x07D
#define SVM_EXIT_SHUTDOWN    0x07F
#define SVM_EXIT_VMRUN	     0x080
#define SVM_EXIT_VMMCALL     0x081
#define SVM_EXIT_VMLOAD	     0x082
#define SVM_EXIT_VMSAVE	     0x083
#define SVM_EXIT_STGI	     0x084
#define SVM_EXIT_CLGI	     0x085
#define SVM_EXIT_SKINIT	     0x086
#define SVM_EXIT_XSETBV	     0x08D
#define SVM_EXIT_INVPCID     0x0A2
#define SVM_EXIT_NPF	     0x400
#define SVM_EXIT_INVALID     (~0ull)

/* EXITINFO1 layouts */
#define IOIO_IN		 (1u << 0)
#define IOIO_STR	 (1u << 2)
#define IOIO_REP	 (1u << 3)
#define IOIO_SIZE_SHIFT	 4 /* one-hot: 1, 2 or 4 bytes in bits 4, 5, 6 */
#define IOIO_SIZE_MASK	 (7u << IOIO_SIZE_SHIFT)
#define IOIO_PORT_SHIFT	 16
#define CRX_DECODE_VALID (1ull << 63)
#define CRX_GPR_MASK	 0xFu
#define NPF_WRITE	 (1ull << 1)
#define NPF_FETCH	 (1ull << 4)
#define NPF_FINAL_GPA	 (1ull << 32) /* the fault is on the final guest-physical address */
#define MSR_EXIT_WRITE	 1

/* EXITINTINFO: an event was being delivered when the exit happened */
#define EXITINTINFO_VALID (1ull << 31)

/* EVENTINJ */
#define EVENTINJ_VALID		(1ull << 31)
#define EVENTINJ_ERR_VALID	(1ull << 11)
#define EVENTINJ_TYPE_INTR	(0ull << 8) /* external interrupt */
#define EVENTINJ_TYPE_NMI	(2ull << 8)
#define EVENTINJ_TYPE_EXCEPTION (3ull << 8)
#define EVENTINJ_TYPE_SOFT_INT	(4ull << 8) /* INT n: the IDT gate's DPL is checked */
#define EVENTINJ_ERR_SHIFT	32

/* TLB_CONTROL */
#define TLB_CONTROL_NONE       0
#define TLB_CONTROL_FLUSH_ALL  1
#define TLB_CONTROL_FLUSH_ASID 3

/* interrupt_shadow: the guest is in an STI / MOV SS shadow */
#define INTERRUPT_SHADOW_ACTIVE (1ull << 0)

#define NP_ENABLE (1ull << 0)

/* Segment attributes (compressed descriptor format) */
#define SVM_ATTR_CODE32_FLAT 0xC9B
#define SVM_ATTR_DATA32_FLAT 0xC93
#define SVM_ATTR_TSS32_BUSY  0x08B
#define SVM_ATTR_LDT	     0x082
#define SVM_ATTR_CODE16_RESET 0x09B /* present, read/execute, accessed: real mode after INIT */
#define SVM_ATTR_DATA16_RESET 0x093 /* present, read/write, accessed */
#define SVM_ATTR_L	     (1u << 9)
#define SVM_ATTR_DB	     (1u << 10)
#define SVM_ATTR_P	     (1u << 7)
#define SVM_ATTR_LOW_MASK    0x0FFu
#define SVM_ATTR_HIGH_MASK   0xF00u
#define SVM_ATTR_HIGH_SHIFT  4

/* Sizes of the permission maps */
#define SVM_IOPM_PAGES	3
#define SVM_MSRPM_PAGES 2

#endif
