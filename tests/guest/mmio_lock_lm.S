/*
 * CMPXCHG16B on a device's 16 bytes, for test_mmio_lock.c (64-bit mode only): once with
 * RDX:RAX equal to what the bytes hold (ZF set, RCX:RBX stored), once with it different (ZF
 * clear, RDX:RAX loaded with what they hold, the bytes written back unchanged).
 *
 * void lm64_cmpxchg16b(uint32_t area, uint64_t *io): entered from and back to compatibility
 * mode (as lm64_mmio_forms).  io[0..1]: the expected value, io[2..3]: the new one; out:
 * io[4] ZF of the first, io[5] ZF of the second, io[6..7] RAX, RDX after the second.
 */
#define SEL_CODE32 0x08
#define SEL_CODE64 0x18
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
	ljmp $SEL_CODE64, $1f
	.code64
1:	movl %esp, %esp                 /* RSP's upper half is undefined after compat mode */
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

	pushq $SEL_CODE32
	movl $2f, %eax                  /* absolute addresses via a register: ELF32 object */
	pushq %rax
	lretq
	.code32
2:	popl %edi
	popl %esi
	popl %ebx
	ret
