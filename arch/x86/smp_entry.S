/*
 * A parked AP released for SMP (ap_park_release) comes here from ap_park_loop with RSP at
 * the top of its park stack: slot s (ap_trampoline.S) sits at ap_park_stacks + s * size and
 * is CPU s + 1.  It switches to its own mhv stack (smp_stack_tops, filled in by the boot CPU;
 * 0: not released, it halts again) and calls smp_ap_main(cpu), which never returns.
 */
#include "arch/x86/ap_park_layout.h"
#include "arch/x86/percpu_layout.h"

	.text
	.code64
	.globl smp_ap_entry64
smp_ap_entry64:
	movq %rsp, %rax
	leaq ap_park_stacks(%rip), %rcx
	subq %rcx, %rax
	shrq $AP_STACK_SHIFT, %rax	/* slot + 1 = the CPU number */
	cmpq $HV_MAX_CPUS, %rax
	jae 2f
	leaq smp_stack_tops(%rip), %rcx
	movq (%rcx,%rax,8), %rdx
	testq %rdx, %rdx
	jz 2f
	movq %rdx, %rsp
	xorl %ebp, %ebp			/* stack traces end here */
	movl %eax, %edi
	call smp_ap_main
2:	cli
	hlt
	jmp 2b
