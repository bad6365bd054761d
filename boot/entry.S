/*
 * From GRUB's 32-bit protected mode to mhv's C code in long mode.
 *
 * GRUB enters at entry32 (BIOS and UEFI alike) with EAX = multiboot2 magic, EBX = physical
 * address of the boot information, paging off, and mhv loaded at some 2 MiB-aligned physical
 * address that only the running code can discover.  So this code is position independent:
 * %ebp holds the load base and every address is load base + a link-time offset.
 *
 * Boot page tables: 0..4 GiB identity-mapped (to reach the boot information and run the
 * next few instructions) and HV_VIRT_BASE mapped onto the image, both with 2 MiB pages.
 * C code replaces them with W^X tables early (arch/x86/paging.c).
 */
#include "boot/multiboot2_abi.h"
#include "core/regs_abi.h"

#define BOOT_STACK_SIZE   16384
#define PDE_LARGE_RW      (BOOT_PTE_P | BOOT_PTE_RW | BOOT_PTE_PS)
#define TABLE_RW          (BOOT_PTE_P | BOOT_PTE_RW)
#define LOW_PD_PAGES      4                   /* 4 x 1 GiB = the low 4 GiB */
#define PML4_HI_INDEX     511                 /* HV_VIRT_BASE = 0xFFFFFFFF80000000 */
#define PDPT_HI_INDEX     510
#define TWO_MIB           0x200000

	.section .text.boot32, "ax"
	.code32
	.globl entry32
entry32:
	cli
	cld
	/* Find where we run: call/pop gives our own physical address. */
	movl %eax, %esi
	call 1f
1:	popl %ebp
	subl $(1b - entry32), %ebp
	subl $__entry32_off, %ebp               /* %ebp = physical load base */

	cmpl $MB2_BOOTLOADER_MAGIC, %esi
	jne bad_magic

	/* Keep magic, info pointer and load base in .data (the stack is in .bss, zeroed below). */
	movl %esi, __boot_args_off + 0(%ebp)
	movl %ebx, __boot_args_off + 8(%ebp)
	movl %ebp, __boot_args_off + 16(%ebp)

	/* Long mode and PAE are required. */
	movl $CPUID_EXT_BASE, %eax
	cpuid
	cmpl $CPUID_EXT_FEATURES, %eax
	jb no_long_mode
	movl $CPUID_EXT_FEATURES, %eax
	cpuid
	testl $CPUID_EXT_EDX_LM, %edx
	jz no_long_mode
	movl $CPUID_FEATURES, %eax
	cpuid
	testl $CPUID_EDX_PAE, %edx
	jz no_long_mode

	/* Zero .bss: page tables, stack, mhv's memory pool. */
	leal __bss_start_off(%ebp), %edi
	movl $__bss_dwords, %ecx
	xorl %eax, %eax
	rep stosl

	/* Low identity map: PML4[0] -> PDPT_LO; PDPT_LO[i] -> PD_LO page i; 2 MiB leaves. */
	leal __boot_pdpt_lo_off(%ebp), %eax
	orl $TABLE_RW, %eax
	movl %eax, __boot_pml4_off(%ebp)
	xorl %ecx, %ecx
2:	leal __boot_pd_lo_off(%ebp), %eax
	movl %ecx, %edx
	shll $12, %edx
	addl %edx, %eax
	orl $TABLE_RW, %eax
	movl %eax, __boot_pdpt_lo_off(%ebp, %ecx, 8)
	incl %ecx
	cmpl $LOW_PD_PAGES, %ecx
	jb 2b
	xorl %ecx, %ecx
3:	movl %ecx, %eax
	shll $21, %eax
	orl $PDE_LARGE_RW, %eax
	movl %eax, __boot_pd_lo_off(%ebp, %ecx, 8)
	incl %ecx
	cmpl $(LOW_PD_PAGES * 512), %ecx
	jb 3b

	/* High map: PML4[511] -> PDPT_HI; PDPT_HI[510] -> PD_HI; PD_HI[k] -> load base + k*2M. */
	leal __boot_pdpt_hi_off(%ebp), %eax
	orl $TABLE_RW, %eax
	movl %eax, __boot_pml4_off + PML4_HI_INDEX * 8(%ebp)
	leal __boot_pd_hi_off(%ebp), %eax
	orl $TABLE_RW, %eax
	movl %eax, __boot_pdpt_hi_off + PDPT_HI_INDEX * 8(%ebp)
	xorl %ecx, %ecx
	movl %ebp, %eax
	orl $PDE_LARGE_RW, %eax
4:	movl %eax, __boot_pd_hi_off(%ebp, %ecx, 8)
	addl $TWO_MIB, %eax
	incl %ecx
	cmpl $__image_2m_pages, %ecx
	jb 4b

	/* PAE, CR3, EFER.LME, then paging: the CPU is in long mode (compatibility submode). */
	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	leal __boot_pml4_off(%ebp), %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	wrmsr
	movl %cr0, %eax
	orl $(CR0_PG | CR0_PE), %eax
	movl %eax, %cr0

	/* GDTR base is physical here: patch it, load it, far-return into 64-bit code. */
	leal __boot_gdt_off(%ebp), %eax
	movl %eax, __boot_gdtr_off + 2(%ebp)
	lgdt __boot_gdtr_off(%ebp)
	leal __entry64_off(%ebp), %eax
	pushl $BOOT_CS64
	pushl %eax
	lret

/* Early failures: no console driver yet, so write straight to COM1 and stop. */
bad_magic:
	leal (msg_bad_magic - entry32)(%ebp), %esi
	jmp early_fail
no_long_mode:
	leal (msg_no_lm - entry32)(%ebp), %esi
early_fail:
	movw $COM1_PORT, %dx
5:	lodsb
	testb %al, %al
	jz 7f
	movb %al, %bl
	movl $100000, %ecx                      /* bounded wait for the transmitter */
6:	addw $UART_LSR, %dx
	inb %dx, %al
	subw $UART_LSR, %dx
	testb $UART_LSR_THRE, %al
	loopz 6b
	movb %bl, %al
	outb %al, %dx
	jmp 5b
7:	cli
	hlt
	jmp 7b

msg_bad_magic:
	.asciz "\r\nmhv: FATAL: not started by a multiboot2 loader (bad magic in EAX)\r\n"
msg_no_lm:
	.asciz "\r\nmhv: FATAL: this CPU has no long mode/PAE; mhv needs an x86-64 CPU\r\n"

	.code64
	.globl entry64_low
entry64_low:
	/* Still running at the physical (identity-mapped) address: jump to the link address. */
	movabsq $entry64_high, %rax
	jmp *%rax

	.section .text, "ax"
entry64_high:
	movl $BOOT_DS, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	xorl %eax, %eax
	movl %eax, %fs
	movl %eax, %gs
	leaq boot_stack_top(%rip), %rsp
	xorl %ebp, %ebp                         /* ends stack traces */
	movl boot_args + 0(%rip), %edi          /* magic */
	movl boot_args + 8(%rip), %esi          /* boot information (physical) */
	movl boot_args + 16(%rip), %edx         /* load base (physical) */
	call hv_main
8:	cli
	hlt
	jmp 8b

	.section .data, "aw"
	.balign 16
	.globl boot_args
boot_args:
	.quad 0, 0, 0
	.globl boot_gdt, boot_gdtr
boot_gdt:
	.quad 0
	.quad GDT_CODE64_DESC                   /* BOOT_CS64 */
	.quad GDT_DATA_DESC                     /* BOOT_DS */
boot_gdt_end:
	.balign 8
boot_gdtr:
	.short boot_gdt_end - boot_gdt - 1
	.quad 0                                 /* patched with the physical base */

	.section .bss.pagetables, "aw", @nobits
	.balign 4096
	.globl boot_pml4, boot_pdpt_lo, boot_pd_lo, boot_pdpt_hi, boot_pd_hi
boot_pml4:	.skip 4096
boot_pdpt_lo:	.skip 4096
boot_pd_lo:	.skip 4096 * LOW_PD_PAGES
boot_pdpt_hi:	.skip 4096
boot_pd_hi:	.skip 4096
	.globl boot_stack_bottom, boot_stack_top
boot_stack_bottom:
	.skip BOOT_STACK_SIZE
boot_stack_top:
