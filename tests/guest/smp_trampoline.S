/*
 * The guest's own AP start-up (test_smp.c), as an SMP kernel does it: a STARTUP IPI starts
 * each AP in real mode at vector << 12, so smp_tramp_start..end is copied to a page below
 * 1 MiB.  It loads a flat GDT (absolute addresses: the kernel is linked below 4 GiB), enters
 * 32-bit protected mode (an intercepted CR0 write in real mode), and jumps into the kernel at
 * smp_ap_entry32, which takes the next AP stack and calls smp_ap_main(index).
 */
#include "tests/guest/segments.h"

#define CR0_PE	     1
#define CR0_ET	     (1 << 4)
#define AP_STACK_SIZE 4096
#define AP_MAX	     15

	.section .rodata
	.code16
	.globl smp_tramp_start, smp_tramp_end
smp_tramp_start:
	cli
	cld
	lgdtl %cs:(smp_tr_gdtr - smp_tramp_start)
	movl $(CR0_PE | CR0_ET), %eax	/* caches on: INIT left CD and NW set */
	movl %eax, %cr0
	ljmpl $SEL_CODE, $smp_ap_entry32
	.balign 8
smp_tr_gdtr:
	.word smp_gdt_end - smp_gdt - 1
	.long smp_gdt
smp_tramp_end:

	.balign 8
smp_gdt:
	.quad 0
	.quad GDT_FLAT_CODE32
	.quad GDT_FLAT_DATA32
smp_gdt_end:

	.text
	.code32
smp_ap_entry32:
	movl $SEL_DATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %fs
	movl %eax, %gs
	movl %eax, %ss
	movl $1, %eax
	lock xaddl %eax, smp_ap_next	/* 0, 1, ...: each start takes a fresh stack */
	cmpl $AP_MAX, %eax
	jae 2f
	movl %eax, %ecx
	incl %ecx
	imull $AP_STACK_SIZE, %ecx
	leal smp_ap_stacks(%ecx), %esp
	pushl $0
	popfl				/* IF, DF, AC clear */
	pushl %eax
	call smp_ap_main
2:	pause				/* no HLT with interrupts off: that ends a run under mhv */
	jmp 2b

	.bss
	.balign 16
	.globl smp_ap_next
smp_ap_next:
	.long 0
	.balign 16
smp_ap_stacks:
	.skip AP_STACK_SIZE * AP_MAX

	.section .note.GNU-stack, "", @progbits
