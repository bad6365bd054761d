/*
 * Exception entry stubs, the recovery jump used by run_catching(), and the timer interrupt's
 * stub.
 *
 * Every exception stub leaves the same frame: [vector, error code, EIP, CS, EFLAGS] under the
 * PUSHAL block (a dummy error code for vectors that push none).  The guest runs at ring 0
 * only, so the CPU pushes no ESP/SS and the frame sits on the faulting code's own stack.
 */
#include "tests/guest/trap.h"

/* Vectors with a CPU-pushed error code: #DF #TS #NP #SS #GP #PF #AC #CP #VC #SX. */
#define ERRCODE_VECTORS 0x60227d00

	.text
	.code32

.macro stub vec
	.balign TRAP_STUB_SIZE
trap_stub_\vec:
	.if ((ERRCODE_VECTORS >> \vec) & 1) == 0
	pushl $0
	.endif
	pushl $\vec
	jmp trap_common
.endm

	.globl trap_stubs
	.balign TRAP_STUB_SIZE
trap_stubs:
	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	stub \v
	.endr

trap_common:
	pushal
	cld
	pushl %esp              /* struct trap_frame * */
	call trap_dispatch      /* returns only when run_catching() armed a recovery point */
	jmp trap_recover

/*
 * The timer interrupt (VEC_IRQ0): it pushes no error code and may arrive between any two
 * instructions, so save every register (the C code may clobber EAX, ECX and EDX, the
 * interrupted code expects all of them back) and return with IRET, which restores EFLAGS
 * (IF, DF) as they were.
 */
	.globl irq0_stub
irq0_stub:
	pushal
	cld
	call trap_irq0
	popal
	iret

/*
 * bool trap_try(void (*fn)(void *), void *arg): calls fn(arg) and returns false; if fn
 * faults, trap_recover unwinds to here and trap_try returns true instead.  Saves the
 * callee-saved registers because the fault abandons fn mid-way.
 */
	.globl trap_try
trap_try:
	pushl %ebp
	pushl %ebx
	pushl %esi
	pushl %edi
	movl %esp, trap_saved_esp
	pushl 24(%esp)          /* arg (4 registers + return address above it) */
	call *24(%esp)          /* fn, one slot further away after the push */
	addl $4, %esp
	xorl %eax, %eax
	jmp 1f
trap_recover:
	movl trap_saved_esp, %esp
	movl $1, %eax
1:	popl %edi
	popl %esi
	popl %ebx
	popl %ebp
	ret

	.bss
	.balign 4
trap_saved_esp:
	.long 0

	.section .note.GNU-stack, "", @progbits
