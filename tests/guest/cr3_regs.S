/*
 * MOV to CR3 from each general register (test_cr3_regs.c), right after a CPUID in the same
 * 64-byte block: on SVM without NRIP save the CPUID's exit leaves mhv holding this page's code
 * translation with the flush exits armed, so the MOV's CR3-write exit takes its register from
 * the bytes at RIP (arch/x86/svm/svm_known_insn.c) instead of the decoder.
 *
 * uint32_t cr3_via_REG(uint32_t val, uint32_t junk): every other general register (ESP aside)
 * holds junk, REG holds val; MOV REG, CR3; returns CR3 as read back.  Paging must be off.
 * cr3_via_esp: the same with ESP holding val (and EAX junk) for the one instruction; val must
 * be the top of memory the caller owns, with interrupts off (nothing is pushed meanwhile).
 */
	.macro CR3_VIA reg
	.section .text, "ax"
	.balign 64
	.globl cr3_via_\reg
cr3_via_\reg:
	pushl %ebx
	pushl %ebp
	pushl %esi
	pushl %edi
	xorl %eax, %eax
	xorl %ecx, %ecx
	cpuid
	movl 24(%esp), %eax             /* junk */
	movl %eax, %ecx
	movl %eax, %edx
	movl %eax, %ebx
	movl %eax, %ebp
	movl %eax, %esi
	movl %eax, %edi
	movl 20(%esp), %\reg            /* val */
	movl %\reg, %cr3
	movl %cr3, %eax
	popl %edi
	popl %esi
	popl %ebp
	popl %ebx
	ret
	.endm

	CR3_VIA eax
	CR3_VIA ecx
	CR3_VIA edx
	CR3_VIA ebx
	CR3_VIA ebp
	CR3_VIA esi
	CR3_VIA edi

	.section .text, "ax"
	.balign 64
	.globl cr3_via_esp
cr3_via_esp:
	pushl %ebx
	pushl %ebp
	pushl %esi
	pushl %edi
	xorl %eax, %eax
	xorl %ecx, %ecx
	cpuid
	movl 24(%esp), %eax             /* junk */
	movl %eax, %ecx
	movl %eax, %edx
	movl %eax, %ebx
	movl %eax, %ebp
	movl %eax, %esi
	movl 20(%esp), %edi             /* val, for ESP */
	xchgl %edi, %esp                /* EDI: the stack, ESP: val */
	movl %esp, %cr3
	movl %edi, %esp
	movl %cr3, %eax
	popl %edi
	popl %esi
	popl %ebp
	popl %ebx
	ret
