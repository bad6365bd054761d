/*
 * VMX world switch.  On a VM exit the CPU loads RSP = &vcpu.gpr[NR_GPRS] (VMCS host RSP), so
 * pushing the guest's registers in reverse Intel order fills vcpu.gpr[] in place; RSP then
 * points at the vcpu itself.  The handler runs on mhv's exit stack and returns the vcpu to
 * resume, whose gpr[] is popped back before VMRESUME.  No other state is saved: mhv's C code
 * preserves the callee-saved registers it uses, and owns nothing across exits.
 */

/* Load the guest's GPRs from vcpu.gpr[] at %rsp (RSP's slot skipped: it is in the VMCS). */
	.macro POP_GUEST_GPRS
	popq %rax
	popq %rcx
	popq %rdx
	popq %rbx
	addq $8, %rsp
	popq %rbp
	popq %rsi
	popq %rdi
	popq %r8
	popq %r9
	popq %r10
	popq %r11
	popq %r12
	popq %r13
	popq %r14
	popq %r15
	.endm

#define VCPU_EXIT_STACK_TOP (8 * 16) /* offsetof(struct vcpu, exit_stack_top): vmx.c checks */

	.section .text, "ax"

	.globl vmx_exit_stub
vmx_exit_stub:
	pushq %r15
	pushq %r14
	pushq %r13
	pushq %r12
	pushq %r11
	pushq %r10
	pushq %r9
	pushq %r8
	pushq %rdi
	pushq %rsi
	pushq %rbp
	subq $8, %rsp                   /* gpr[GPR_RSP]: RSP stays in the VMCS */
	pushq %rbx
	pushq %rdx
	pushq %rcx
	pushq %rax
	movq %rsp, %rdi
	movq VCPU_EXIT_STACK_TOP(%rdi), %rsp	/* this CPU's exit stack */
	xorl %ebp, %ebp                 /* stack traces end here */
	call vmx_handle_exit
	movq %rax, %rsp
	POP_GUEST_GPRS
	vmresume
	jmp vmx_fail

/* void vmx_launch(struct vcpu *v): load the guest's GPRs and VMLAUNCH; never returns. */
	.globl vmx_launch
vmx_launch:
	movq %rdi, %rsp
	POP_GUEST_GPRS
	vmlaunch
vmx_fail:
	movq %rsp, %rdi				/* &gpr[NR_GPRS]: the vcpu is 16 slots below */
	subq $(8 * 16), %rdi
	movq VCPU_EXIT_STACK_TOP(%rdi), %rsp
	xorl %ebp, %ebp
	call vmx_entry_failed
1:	cli
	hlt
	jmp 1b
