/*
 * An EIP-relative load (67 prefix, ModRM RIP-relative) in 64-bit mode from a RIP above
 * 4 GiB, for test_mmio_riprel.c: the CPU truncates RIP + length + disp32 to 32 bits (SDM
 * vol. 2 2.2.1.6), so the operand is below 4 GiB whatever RIP's upper half is.
 *
 * uint32_t lm64_riprel67(uint32_t high): entered from and back to compatibility mode
 * (IA-32e mode set up by the caller, lm_run's GDT, interrupts off); runs the load
 * at its link address + high * 4 GiB (an alias the caller maps) and returns what it read.
 * The caller patches riprel67_disp so that riprel67_next + disp is the operand (mod 2^32).
 */
#include "tests/guest/long_mode.h"

	.text
	.code32
	.globl lm64_riprel67, riprel67_disp, riprel67_next
lm64_riprel67:
	pushl %ebx
	movl 8(%esp), %ebx              /* high */
	LM_TO_64BIT
	shlq $32, %rbx
	movl $2f, %edx                  /* absolute addresses via a register: ELF32 object */
	addq %rbx, %rdx
	jmp *%rdx                       /* to the alias above 4 GiB */
2:	.byte 0x67, 0x8b, 0x05          /* movl disp32(%eip), %eax */
riprel67_disp:
	.long 0
riprel67_next:
	movl $3f, %edx                  /* back below 4 GiB */
	jmp *%rdx
3:	LM_TO_COMPAT dx
	popl %ebx
	ret
