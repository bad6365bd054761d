/*
 * Architectural constants shared by assembly and C: control-register bits, MSR numbers,
 * CPUID leaves, descriptor values, UART registers.  Plain #defines so .S files can use them.
 */
#ifndef MHV_CORE_REGS_ABI_H
#define MHV_CORE_REGS_ABI_H

#ifdef __ASSEMBLY__
#define _BITUL(n)  (1 << (n))
#define _BITULL(n) (1 << (n))
#else
#define _BITUL(n)  (1ul << (n))
#define _BITULL(n) (1ull << (n))
#endif

/* CR0 */
#define CR0_PE _BITUL(0)
#define CR0_MP _BITUL(1)
#define CR0_EM _BITUL(2)
#define CR0_TS _BITUL(3)
#define CR0_ET _BITUL(4)
#define CR0_NE _BITUL(5)
#define CR0_WP _BITUL(16)
#define CR0_AM _BITUL(18)
#define CR0_NW _BITUL(29)
#define CR0_CD _BITUL(30)
#define CR0_PG _BITUL(31)

/* CR4 */
#define CR4_VME	       _BITUL(0)
#define CR4_PVI	       _BITUL(1)
#define CR4_TSD	       _BITUL(2)
#define CR4_DE	       _BITUL(3)
#define CR4_PSE	       _BITUL(4)
#define CR4_PAE	       _BITUL(5)
#define CR4_MCE	       _BITUL(6)
#define CR4_PGE	       _BITUL(7)
#define CR4_PCE	       _BITUL(8)
#define CR4_OSFXSR     _BITUL(9)
#define CR4_OSXMMEXCPT _BITUL(10)
#define CR4_UMIP       _BITUL(11)
#define CR4_LA57       _BITUL(12)
#define CR4_VMXE       _BITUL(13)
#define CR4_SMXE       _BITUL(14)
#define CR4_FSGSBASE   _BITUL(16)
#define CR4_PCIDE      _BITUL(17)
#define CR4_OSXSAVE    _BITUL(18)
#define CR4_SMEP       _BITUL(20)
#define CR4_SMAP       _BITUL(21)
#define CR4_PKE	       _BITUL(22)

/* RFLAGS */
#define RFLAGS_TF _BITUL(8)
#define RFLAGS_IF _BITUL(9)
#define RFLAGS_AC _BITUL(18)
#define RFLAGS_VM _BITUL(17)

/* EFER */
#define MSR_EFER  0xC0000080
#define EFER_SCE  _BITUL(0)
#define EFER_LME  _BITUL(8)
#define EFER_LMA  _BITUL(10)
#define EFER_NXE  _BITUL(11)
#define EFER_SVME _BITUL(12)

/* Page-table entry bits used by the boot code (mm/pagetable.h has the full set). */
#define BOOT_PTE_P  0x001
#define BOOT_PTE_RW 0x002
#define BOOT_PTE_PS 0x080

/* CPUID */
#define CPUID_FEATURES	   0x00000001
#define CPUID_EXT_BASE	   0x80000000
#define CPUID_EXT_FEATURES 0x80000001
#define CPUID_EDX_PAE	   _BITUL(6)
#define CPUID_EXT_EDX_LM   _BITUL(29)

/* Boot GDT selectors and descriptors (flat 64-bit code, flat data). */
#define BOOT_CS64	0x08
#define BOOT_DS		0x10
#define GDT_CODE64_DESC 0x00AF9A000000FFFF
#define GDT_DATA_DESC	0x00CF92000000FFFF

/* 16550 UART */
#define COM1_PORT     0x3F8
#define UART_LSR      5
#define UART_LSR_THRE 0x20

#endif
