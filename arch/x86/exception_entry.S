/*
 * Exception entry stubs: make every vector look the same (push a dummy error code where the
 * CPU pushes none, then the vector), save all GPRs into a struct exc_frame and call C.
 * A handled exception (a fixup) returns here and resumes with IRETQ.
 */
	.section .text, "ax"

/* The CPU pushes an error code for vectors 8, 10-14, 17, 21, 29 and 30 only. */
	.altmacro
	.macro STUB v
	.balign 16
exc_stub_\v:
	.if !(\v == 8 || (\v >= 10 && \v <= 14) || \v == 17 || \v == 21 || \v == 29 || \v == 30)
	pushq $0
	.endif
	pushq $\v
	jmp exception_common
	.endm

	.set i, 0
	.rept 32
	STUB %i
	.set i, i + 1
	.endr

exception_common:
	pushq %rax
	pushq %rcx
	pushq %rdx
	pushq %rbx
	pushq %rbp
	pushq %rsi
	pushq %rdi
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, %rdi
	cld
	call exception_dispatch
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rdi
	popq %rsi
	popq %rbp
	popq %rbx
	popq %rdx
	popq %rcx
	popq %rax
	addq $16, %rsp                          /* vector and error code */
	iretq

	.macro STUBADDR v
	.quad exc_stub_\v
	.endm

	.section .rodata, "a"
	.balign 8
	.globl exception_stubs
exception_stubs:
	.set i, 0
	.rept 32
	STUBADDR %i
	.set i, i + 1
	.endr
