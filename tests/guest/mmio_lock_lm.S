/*
 * CMPXCHG16B on a device's 16 bytes, for test_mmio_lock.c (64-bit mode only): once with
 * RDX:RAX equal to what the bytes hold (ZF set, RCX:RBX stored), once with it different (ZF
 * clear, RDX:RAX loaded with what they hold, the bytes written back unchanged).
 *
 * void lm64_cmpxchg16b(uint32_t area, uint64_t *io): entered from and back to compatibility
 * mode (as lm64_mmio_forms).  io[0..1]: the expected value, io[2..3]: the new one; out:
 * io[4] ZF of the first, io[5] ZF of the second, io[6..7] RAX, RDX after the second.
 */
#include "tests/guest/long_mode.h"

#define ZF_BIT	   6

	.section .text, "ax"
	.code32
	.globl lm64_cmpxchg16b
lm64_cmpxchg16b:
	pushl %ebx
	pushl %esi
	pushl %edi
	movl 16(%esp), %esi
	movl 20(%esp), %edi
	LM_TO_64BIT
	movl %esi, %esi
	movl %edi, %edi
	movq 0(%rdi), %rax
	movq 8(%rdi), %rdx
	movq 16(%rdi), %rbx
	movq 24(%rdi), %rcx
	lock cmpxchg16b (%rsi)
	pushfq
	popq %r8
	shrq $ZF_BIT, %r8
	andq $1, %r8
	movq %r8, 32(%rdi)
	notq %rax                       /* now certainly not what the bytes hold */
	lock cmpxchg16b (%rsi)
	pushfq
	popq %r8
	shrq $ZF_BIT, %r8
	andq $1, %r8
	movq %r8, 40(%rdi)
	movq %rax, 48(%rdi)
	movq %rdx, 56(%rdi)

	LM_TO_COMPAT ax
	popl %edi
	popl %esi
	popl %ebx
	ret
