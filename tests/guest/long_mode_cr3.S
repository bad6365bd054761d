/*
 * MOV to CR3 from 64-bit code, for test_contain_fatals.c's IA-32e mode visit (entered and
 * left in compatibility mode, with long_mode_gp_handler as the #GP handler, which skips the
 * 3-byte MOV %rax, %cr3 it refuses).
 *
 * uint32_t lm64_mov_cr3(uint32_t lo, uint32_t hi): far-jump to 64-bit code, MOV hi:lo to
 * CR3, come back; returns the low half of CR3 afterwards.
 * void lm64_dirty_rax_mov_cr3(uint32_t cr3, uint32_t junk): in 64-bit code put junk in RAX's
 * upper half and cr3 in its lower, return to compatibility mode and MOV %eax, %cr3 there:
 * outside 64-bit mode the upper half is no part of the operand.
 */
#include "tests/guest/long_mode.h"

	.section .text, "ax"
	.code32
	.globl lm64_mov_cr3
lm64_mov_cr3:
	pushl %ebx
	movl 8(%esp), %eax
	movl 12(%esp), %edx
	LM_TO_64BIT
	movl %eax, %eax
	shlq $32, %rdx
	orq %rdx, %rax
	movq %rax, %cr3                 /* 0F 22 D8: a #GP resumes after it */
	LM_TO_COMPAT cx
	movl %cr3, %eax
	popl %ebx
	ret

	.globl lm64_dirty_rax_mov_cr3
lm64_dirty_rax_mov_cr3:
	pushl %ebx
	movl 8(%esp), %ebx
	movl 12(%esp), %edx
	LM_TO_64BIT
	movl %ebx, %eax
	shlq $32, %rdx
	orq %rdx, %rax                  /* RAX = junk:cr3 */
	LM_TO_COMPAT cx
	movl %eax, %cr3                 /* compatibility mode: CR3 = EAX */
	popl %ebx
	ret

	.section .note.GNU-stack, "", @progbits
