/*
 * SVM world switch.  VMRUN saves and restores host RSP/RAX/RIP itself, so this is a plain
 * loop on mhv's stack: load the guest's GPRs from vcpu.gpr[] (RAX and RSP live in the
 * VMCB), VMRUN, store the GPRs, call the exit handler.
 *
 * The state VMLOAD/VMSAVE move (FS, GS, TR, LDTR, syscall/sysenter MSRs) is switched
 * lazily: the guest's stays live in the CPU across exits, because mhv's hot exits use none
 * of it.  Slow paths call svm_use_host_state() (VMSAVE guest, VMLOAD mhv's), which sets
 * the vCPU's guest_state_saved flag (third argument) so that the next entry VMLOADs the
 * guest's again.  While the guest's TR is loaded, mhv's IDT without IST stacks is in force
 * on that CPU (IDTR is per CPU; each CPU's IST slots live in its own TSS).  GIF stays clear
 * in mhv after the first exit: NMIs wait for the guest.
 *
 * void svm_run_loop(struct vcpu *v, uint64_t vmcb_pa, bool *guest_state_saved): never returns.
 */
#define GPR(n) (8 * (n))

	.section .text, "ax"
	.globl svm_run_loop
svm_run_loop:
	pushq %rdx                      /* 24(%rsp): padding (keeps the stack's parity) */
	pushq %rdx                      /* 16(%rsp): &guest_state_saved */
	pushq %rsi                      /*  8(%rsp): VMCB */
	pushq %rdi                      /*   (%rsp): vcpu */
	jmp 1f
2:	movq (%rsp), %rax
	movq GPR(1)(%rax), %rcx
	movq GPR(2)(%rax), %rdx
	movq GPR(3)(%rax), %rbx
	movq GPR(5)(%rax), %rbp
	movq GPR(6)(%rax), %rsi
	movq GPR(7)(%rax), %rdi
	movq GPR(8)(%rax), %r8
	movq GPR(9)(%rax), %r9
	movq GPR(10)(%rax), %r10
	movq GPR(11)(%rax), %r11
	movq GPR(12)(%rax), %r12
	movq GPR(13)(%rax), %r13
	movq GPR(14)(%rax), %r14
	movq GPR(15)(%rax), %r15
	movq 8(%rsp), %rax
	vmrun %rax
	pushq %rdi
	movq 8(%rsp), %rdi              /* the vcpu, one slot further down now */
	movq %rcx, GPR(1)(%rdi)
	movq %rdx, GPR(2)(%rdi)
	movq %rbx, GPR(3)(%rdi)
	movq %rbp, GPR(5)(%rdi)
	movq %rsi, GPR(6)(%rdi)
	popq GPR(7)(%rdi)
	movq %r8, GPR(8)(%rdi)
	movq %r9, GPR(9)(%rdi)
	movq %r10, GPR(10)(%rdi)
	movq %r11, GPR(11)(%rdi)
	movq %r12, GPR(12)(%rdi)
	movq %r13, GPR(13)(%rdi)
	movq %r14, GPR(14)(%rdi)
	movq %r15, GPR(15)(%rdi)
	xorl %ebp, %ebp                 /* stack traces end here */
	call svm_handle_exit
	/* The guest's VMLOAD state still in the CPU (the common case): straight back to the
	 * loads, a taken branch instead of a jump here and one there. */
1:	movq 16(%rsp), %rax
	cmpb $0, (%rax)
	je 2b
	movb $0, (%rax)
	movq 8(%rsp), %rax
	vmload %rax
	/* TR now holds the guest's TSS until the next svm_use_host_state(): an exception in
	 * mhv meanwhile must not look up an IST stack there (arch/x86/desc.h).  #VMEXIT
	 * restores the IDTR VMRUN saved, so this one stays in force across exits. */
	lidt desc_idtr_no_ist(%rip)
	jmp 2b
