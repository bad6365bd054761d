/*
 * The #GP handler test_contain_fatals.c installs while it visits IA-32e (compatibility) mode:
 * 64-bit code, as IA-32e mode requires of interrupt handlers.  It records the error code,
 * counts the #GP and resumes after the faulting instruction, which must be the 3-byte
 * MOV %eax, %cr4 (0F 22 E0).
 */
#define MOV_CR4_LEN 3

	.section .text, "ax"
	.code64
	.globl long_mode_gp_handler
long_mode_gp_handler:
	pushq %rax
	pushq %rcx
	movl 16(%rsp), %ecx             /* error code, above the saved RAX and RCX */
	movl $long_mode_gp_error, %eax  /* absolute addresses via a register: ELF32 object */
	movl %ecx, (%rax)
	movl $long_mode_gp_count, %eax
	incl (%rax)
	popq %rcx
	popq %rax
	addq $8, %rsp                   /* drop the error code */
	addq $MOV_CR4_LEN, (%rsp)       /* RIP past the refused MOV to CR4 */
	iretq
	.code32

	.bss
	.balign 4
	.globl long_mode_gp_count, long_mode_gp_error
long_mode_gp_count:
	.long 0
long_mode_gp_error:
	.long 0

	.section .note.GNU-stack, "", @progbits
