/*
 * Parking the other CPUs (ap_park.c).  Two pieces:
 *
 * ap_trampoline_start..end is a blob ap_park.c copies to a page below 1 MiB and patches
 * (the ap_tr_* fields): a STARTUP IPI starts each CPU there in real mode at page:0.  It
 * loads a temporary GDT, enters protected mode, turns on long mode on transition page tables
 * (mhv's, plus an identity map of the trampoline page) and jumps to ap_park_entry64 in
 * mhv's image.  Nothing in it is specific to one CPU, so every CPU can run it at once.
 *
 * ap_park_entry64 runs in the image: its own stack, mhv's page tables, mhv's GDT, the park
 * IDT; it records the CPU's APIC ID and halts in ap_park_loop with interrupts off.  Every
 * vector of the park IDT goes to ap_park_isr, which drops whatever the CPU pushed and IRETs
 * to the park loop (IRET also ends NMI blocking, so the next NMI parks the same way).
 *
 * Between the STARTUP IPI and the LIDT below an NMI would go through the reset IDT: nothing
 * sends one then (the guest does not run yet, mhv's own test NMI comes after the CPUs report
 * in), so the window is left open rather than bought closed with more code.
 */
#include "arch/x86/ap_park_layout.h"

#define MSR_EFER  0xC0000080
#define CR0_PE	  (1 << 0)
#define CR0_ET	  (1 << 4)
#define CR0_NE	  (1 << 5)
#define CR0_WP	  (1 << 16)
#define CR0_PG	  (1 << 31)
#define CR4_PAE	  (1 << 5)
#define RFLAGS_RESERVED_1 (1 << 1)

/* Selectors of the trampoline's own GDT. */
#define TR_CODE32 0x08
#define TR_DATA32 0x10
#define TR_CODE64 0x18

#define OFF(sym) ((sym) - ap_trampoline_start)

	.section .rodata, "a"
	.balign 16
	.globl ap_trampoline_start
ap_trampoline_start:
	.code16
	cli
	cld
	movw %cs, %ax
	movw %ax, %ds
	movzwl %ax, %ebx
	shll $4, %ebx			/* ebx = the page's physical address, for the 32-bit part */
	lgdtl OFF(ap_tr_gdtr)
	movl %cr0, %eax
	orl $CR0_PE, %eax
	movl %eax, %cr0
	ljmpl *OFF(ap_tr_far32)

	.code32
	.globl ap_tr_pm32
ap_tr_pm32:
	movl $TR_DATA32, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl $CR4_PAE, %eax
	movl %eax, %cr4
	movl OFF(ap_tr_cr3)(%ebx), %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl OFF(ap_tr_efer)(%ebx), %eax	/* LME, and NXE when mhv's tables use NX */
	wrmsr
	/* Paging on; caches on (INIT leaves CD and NW set). */
	movl $(CR0_PG | CR0_WP | CR0_NE | CR0_ET | CR0_PE), %eax
	movl %eax, %cr0
	ljmpl *OFF(ap_tr_far64)(%ebx)

	.code64
	.globl ap_tr_lm64
ap_tr_lm64:
	movl %ebx, %ebx			/* upper halves are undefined after the mode switch */
	movq OFF(ap_tr_entry64)(%rbx), %rax
	jmpq *%rax

	.balign 8
	.globl ap_tr_gdt
ap_tr_gdt:
	.quad 0
	.quad 0x00CF9A000000FFFF	/* TR_CODE32: flat 32-bit code */
	.quad 0x00CF92000000FFFF	/* TR_DATA32: flat data */
	.quad 0x00AF9A000000FFFF	/* TR_CODE64: 64-bit code */
ap_tr_gdt_end:
	/* Patched by ap_park.c: every address is the page's physical address + offset. */
	.globl ap_tr_gdtr, ap_tr_far32, ap_tr_far64, ap_tr_cr3, ap_tr_efer, ap_tr_entry64
ap_tr_gdtr:
	.word ap_tr_gdt_end - ap_tr_gdt - 1
	.long 0				/* page + OFF(ap_tr_gdt) */
ap_tr_far32:
	.long 0				/* page + OFF(ap_tr_pm32) */
	.word TR_CODE32
ap_tr_far64:
	.long 0				/* page + OFF(ap_tr_lm64) */
	.word TR_CODE64
ap_tr_cr3:
	.long 0				/* transition page tables (below 4 GiB) */
ap_tr_efer:
	.long 0				/* EFER bits to set */
	.balign 8
ap_tr_entry64:
	.quad 0				/* ap_park_entry64 */
	.globl ap_trampoline_end
ap_trampoline_end:

	.text
	.code64
	.globl ap_park_entry64
ap_park_entry64:
	/* A slot: this CPU's own stack and APIC-ID record, or the shared spare stack. */
	movl $1, %eax
	lock xaddl %eax, ap_park_next(%rip)
	movl %eax, %edi
	cmpl $AP_PARK_MAX, %edi
	jb 1f
	movl $AP_PARK_MAX, %eax		/* the spare: its stack only, no record */
1:	incq %rax
	shlq $AP_STACK_SHIFT, %rax
	leaq ap_park_stacks(%rip), %rsp
	addq %rax, %rsp
	lidt ap_park_idtr(%rip)
	movq ap_park_cr3(%rip), %rax
	movq %rax, %cr3			/* mhv's own tables: the trampoline page is gone */
	lgdt ap_park_gdtr(%rip)
	movzwl ap_park_cs(%rip), %eax
	pushq %rax
	leaq 2f(%rip), %rax
	pushq %rax
	lretq
2:	movzwl ap_park_ds(%rip), %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	xorl %eax, %eax
	movl %eax, %fs
	movl %eax, %gs
	cmpl $AP_PARK_MAX, %edi
	jae ap_park_loop		/* not recorded: mhv sends it an INIT instead */
	/* The APIC ID: CPUID leaf 0xB EDX (x2APIC ID) or leaf 1 EBX[31:24]. */
	movl ap_park_id_leaf(%rip), %eax
	xorl %ecx, %ecx
	cpuid
	cmpl $1, ap_park_id_leaf(%rip)
	jne 3f
	shrl $24, %ebx
	movl %ebx, %edx
3:	movl %edx, %eax
	btsq $AP_ID_VALID_BIT, %rax
	leaq ap_park_ids(%rip), %rcx
	movq %rax, (%rcx,%rdi,8)
	lock incl ap_park_parked(%rip)
	.globl ap_park_loop
ap_park_loop:
	cli
	movq ap_park_go(%rip), %rax	/* released (SMP): leave for the next stage */
	testq %rax, %rax
	jnz 4f
	hlt
	jmp ap_park_loop
4:	jmpq *%rax

/* Every vector of the park IDT: back to the park loop on an empty stack, NMIs unblocked. */
	.balign 16
	.globl ap_park_isr
ap_park_isr:
	lock incl ap_park_interrupts(%rip)	/* for the boot CPU's NMI self-test */
	orq $(AP_STACK_SIZE - 1), %rsp
	incq %rsp			/* the top of the stack this CPU parks on */
	movq %rsp, %rcx
	movzwl ap_park_ds(%rip), %eax
	pushq %rax			/* SS */
	pushq %rcx			/* RSP */
	pushq $RFLAGS_RESERVED_1	/* RFLAGS: IF clear */
	movzwl ap_park_cs(%rip), %eax
	pushq %rax			/* CS */
	leaq ap_park_loop(%rip), %rax
	pushq %rax			/* RIP */
	iretq

	.bss
	.balign 8
	.globl ap_park_next, ap_park_parked, ap_park_interrupts, ap_park_ids, ap_park_go
ap_park_go:			/* where a released CPU goes from the park loop (0: stay) */
	.quad 0
ap_park_ids:			/* APIC ID | 1 << AP_ID_VALID_BIT, per slot */
	.skip 8 * AP_PARK_MAX
ap_park_next:			/* slots handed out */
	.long 0
ap_park_parked:			/* CPUs in the park loop with their ID recorded */
	.long 0
ap_park_interrupts:		/* park handler runs, all CPUs */
	.long 0

	.balign AP_STACK_SIZE
	.globl ap_park_stacks
ap_park_stacks:
	.skip AP_STACK_SIZE * AP_STACK_SLOTS

