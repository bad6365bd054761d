/*
 * Interrupt entry stubs for vectors 32-255.  mhv runs with interrupts off except in
 * irq_wait_hlt below (arch/x86/irq_wait.h): an interrupt there is the guest's, taken on the
 * guest's behalf.  The stub notes its vector (irq_note_vector) and returns with IF clear in
 * the interrupted RFLAGS, so no second interrupt reaches mhv before the wait ends.  No EOI:
 * the vector stays in service until the guest's own handler ends it.
 */
#define RFLAGS_IF_BIT 9

	.section .text, "ax"

	.altmacro
	.macro IRQSTUB v
	.balign 16
irq_stub_\v:
	pushq $\v
	jmp irq_common
	.endm

	.set i, 32
	.rept 224
	IRQSTUB %i
	.set i, i + 1
	.endr

/* Stack: vector, then the CPU's frame (RIP, CS, RFLAGS, RSP, SS). */
irq_common:
	pushq %rax
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	subq $8, %rsp                   /* 16-byte alignment at the call */
	movq 80(%rsp), %rdi             /* the vector */
	cld
	call irq_note_vector
	addq $8, %rsp
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rax
	addq $8, %rsp                   /* the vector */
	btrq $RFLAGS_IF_BIT, 16(%rsp)   /* resume with interrupts off */
	iretq

/*
 * The one HLT mhv waits on for an interrupt.  An NMI that arrives between the STI and the
 * HLT resumes after the HLT (exception.c compares its RIP with irq_idle_hlt).
 */
	.globl irq_wait_hlt, irq_idle_hlt
irq_wait_hlt:
	sti
irq_idle_hlt:
	hlt
	cli
	ret

	.macro IRQSTUBADDR v
	.quad irq_stub_\v
	.endm

	.section .rodata, "a"
	.balign 8
	.globl irq_stubs
irq_stubs:
	.set i, 32
	.rept 224
	IRQSTUBADDR %i
	.set i, i + 1
	.endr
