/*
 * The MMIO short path's MOV forms in 64-bit mode, for test_mmio_short_lm.c: REX byte registers
 * (SIL/DIL/SPL against DH/AH), R8-R15 at every width, the 32-bit zero-extension, MOVSX/MOVZX
 * to 16, 32 and 64 bits, 64-bit stores and sign-extended immediates, and instructions of 9 and
 * more bytes (replayed out of line).  Each form runs LM_ROUNDS times in a row from one RIP on
 * the words (RBX + 8 * RCX), RCX = LM_ROUNDS..1, with junk in every register first; a load
 * saves the registers after each round, a store the words after its last.
 *
 * void lm64_mmio_forms(uint32_t area, uint64_t *out): entered from and back to
 * compatibility mode (IA-32e mode set up by the caller, lm_run's GDT, interrupts
 * off, no exception expected).
 */
#include "tests/guest/mmio_short_lm.h"

#include "tests/guest/long_mode.h"

/* A load: junk in, the form, the registers out, LM_ROUNDS times. */
.macro LOAD insn:vararg
	.balign 32
	movl $LM_ROUNDS, %ecx
99:	call lm_junk
	\insn
	call lm_save_regs
	decl %ecx
	jnz 99b
.endm

/* A load into SPL: RSP itself is the register (mhv keeps it apart from the others). */
.macro LOAD_SPL
	.balign 32
	movl $LM_ROUNDS, %ecx
99:	call lm_junk
	movq %rsp, %r14
	movb (%rbx,%rcx,8), %spl
	movq %rsp, %rax
	movq %r14, %rsp
	call lm_save_regs
	decl %ecx
	jnz 99b
.endm

/* MOV R12 with a DS prefix (ignored in 64-bit mode): 9 bytes, past the 8 a hit compares inline. */
.macro LOAD_DS_R12
	.balign 32
	movl $LM_ROUNDS, %ecx
99:	call lm_junk
	.byte 0x3e
	movq LM_FAR_OFF(%rbx,%rcx,8), %r12
	call lm_save_regs
	decl %ecx
	jnz 99b
.endm

/* A store: the words set first, junk in, the form LM_ROUNDS times, the words out. */
.macro STORE insn:vararg
	.balign 32
	call lm_fill_words
	movl $LM_ROUNDS, %ecx
99:	call lm_junk
	\insn
	decl %ecx
	jnz 99b
	call lm_save_words
.endm

	.section .text, "ax"
	.code32
	.globl lm64_mmio_forms
lm64_mmio_forms:
	pushl %ebx
	pushl %esi
	pushl %edi
	pushl %ebp
	movl 20(%esp), %ebx
	movl 24(%esp), %edi
	LM_TO_64BIT
	movl %ebx, %ebx
	movl %edi, %r15d                /* the output pointer */
	call lm_fill_words              /* what the loads read */

	LOAD movb (%rbx,%rcx,8), %sil
	LOAD movb (%rbx,%rcx,8), %dh
	LOAD movb (%rbx,%rcx,8), %dil
	LOAD movb (%rbx,%rcx,8), %ah
	LOAD movb (%rbx,%rcx,8), %r9b
	LOAD movw (%rbx,%rcx,8), %r10w
	LOAD movl (%rbx,%rcx,8), %r11d
	LOAD movq (%rbx,%rcx,8), %r12
	LOAD movzbl (%rbx,%rcx,8), %r13d
	LOAD movsbq (%rbx,%rcx,8), %r14
	LOAD movsbw (%rbx,%rcx,8), %r8w
	LOAD movswl (%rbx,%rcx,8), %eax
	LOAD movzbw (%rbx,%rcx,8), %dx
	LOAD movswq (%rbx,%rcx,8), %rsi
	LOAD movzwq (%rbx,%rcx,8), %rdi
	LOAD movl (%rbx,%rcx,8), %eax
	LOAD_SPL
	LOAD movq LM_FAR_OFF(%rbx,%rcx,8), %r12          /* 8 bytes: the whole window */
	LOAD_DS_R12                                         /* 9 bytes (DS ignored) */

	STORE movb %sil, (%rbx,%rcx,8)
	STORE movb %dh, (%rbx,%rcx,8)
	STORE movb %dil, (%rbx,%rcx,8)
	STORE movb %ah, (%rbx,%rcx,8)
	STORE movb %r9b, (%rbx,%rcx,8)
	STORE movw %r10w, (%rbx,%rcx,8)
	STORE movl %r11d, (%rbx,%rcx,8)
	STORE movq %r12, (%rbx,%rcx,8)
	STORE movq $-0x12345678, (%rbx,%rcx,8)
	STORE movb %spl, (%rbx,%rcx,8)
	STORE movw $0x7e81, (%rbx,%rcx,8)
	STORE movl $0x89abcdef, LM_FAR_OFF(%rbx,%rcx,8)   /* 11 bytes */
	STORE movq $-0x76543211, LM_FAR_OFF(%rbx,%rcx,8)  /* 12 bytes */
	STORE movq %r13, LM_FAR_OFF(%rbx,%rcx,8)

	LM_TO_COMPAT ax
	popl %ebp
	popl %edi
	popl %esi
	popl %ebx
	ret

	.code64
/* Junk with every byte different in RAX RDX RSI RDI R8-R14, varying with RCX. */
lm_junk:
	movabsq $0x8796a5b4c3d2e1f0, %rax
	rolq %cl, %rax
	movabsq $0x0f1e2d3c4b5a6978, %rdx
	rorq %cl, %rdx
	movabsq $0x1122334455667788, %rsi
	addq %rcx, %rsi
	movabsq $0x99aabbccddeeff00, %rdi
	subq %rcx, %rdi
	movabsq $0xf8e9dacbbcad9e8f, %r8
	movabsq $0x7061524334251607, %r9
	movabsq $0xe1d2c3b4a5968778, %r10
	movabsq $0x6958473625140302, %r11
	movabsq $0xd1c2b3a495867768, %r12
	movabsq $0x5948372615040392, %r13
	movabsq $0xc1b2a39485766758, %r14
	xorq %rcx, %r9
	xorq %rcx, %r13
	ret

lm_save_regs:
	movq %rax, 0(%r15)
	movq %rdx, 8(%r15)
	movq %rsi, 16(%r15)
	movq %rdi, 24(%r15)
	movq %r8, 32(%r15)
	movq %r9, 40(%r15)
	movq %r10, 48(%r15)
	movq %r11, 56(%r15)
	movq %r12, 64(%r15)
	movq %r13, 72(%r15)
	movq %r14, 80(%r15)
	addq $LM_LOAD_WORDS * 8, %r15
	ret

/* Words 1-5 at +0 and at +LM_FAR_OFF: a pattern a store must change only where it writes. */
lm_fill_words:
	movabsq $0xa55a0ff0c33c9669, %rax
	xorl %edx, %edx
3:	movq %rax, 8(%rbx,%rdx,8)
	movq %rax, LM_FAR_OFF + 8(%rbx,%rdx,8)
	rolq $9, %rax
	incl %edx
	cmpl $5, %edx
	jne 3b
	ret

lm_save_words:
	xorl %edx, %edx
4:	movq 8(%rbx,%rdx,8), %rax
	movq %rax, (%r15,%rdx,8)
	movq LM_FAR_OFF + 8(%rbx,%rdx,8), %rax
	movq %rax, 40(%r15,%rdx,8)
	incl %edx
	cmpl $5, %edx
	jne 4b
	addq $LM_STORE_WORDS * 8, %r15
	ret
	.code32

	.section .note.GNU-stack, "", @progbits
