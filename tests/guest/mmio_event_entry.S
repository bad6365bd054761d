/*
 * Exceptions taken with the stack on a device page (test_mmio_event.c).  The CPU's delivery
 * of the exception touches the device page, exits to mhv, and mhv pushes the frame through
 * the device; the handler then runs as after a native delivery.
 *
 * uint32_t mmio_event_run(uint32_t top, uint32_t which): ESP := top, then raise an exception
 * there (which 0: UD2, #UD; 1: MOV to DS with a selector past the GDT, #GP).  The handler
 * installed for the vectors under test (mmio_event_handler32 in legacy protected mode,
 * mmio_event_handler64 in IA-32e mode) switches back to the RAM stack and makes
 * mmio_event_run return the ESP it was entered with: the frame's address.
 */
#include "tests/guest/segments.h"

#define SEL_PAST_GDT 0x38 /* past both GDTs the test uses */

	.text
	.code32
	.globl mmio_event_run, mmio_event_handler32, mmio_event_handler64
	.globl mmio_event_ud_at, mmio_event_gp_at
mmio_event_run:
	pushl %ebp
	pushl %ebx
	pushl %esi
	pushl %edi
	movl 20(%esp), %eax             /* top */
	movl 24(%esp), %ecx             /* which */
	movl %esp, mmio_event_saved_esp
	movl %eax, %esp
	testl %ecx, %ecx
	jnz 1f
mmio_event_ud_at:
	ud2
1:	movl $SEL_PAST_GDT, %eax
mmio_event_gp_at:
	movw %ax, %ds
	ud2                             /* not reached: the MOV faults */

mmio_event_handler32:
	movl %esp, %eax
	movl mmio_event_saved_esp, %esp
mmio_event_back32:
	popl %edi
	popl %esi
	popl %ebx
	popl %ebp
	ret

/*
 * uint32_t mmio_event_iret_run(uint32_t top): ESP := top, UD2; the handler installed
 * (mmio_event_iret32 or mmio_event_iret64) steps the saved EIP past the UD2 and returns with
 * IRET from the device page; the result is ESP after it (top, if the IRET restored it).
 */
	.globl mmio_event_iret_run, mmio_event_iret32, mmio_event_iret64
mmio_event_iret_run:
	pushl %ebp
	pushl %ebx
	pushl %esi
	pushl %edi
	movl 20(%esp), %eax
	movl %esp, mmio_event_saved_esp
	movl %eax, %esp
	ud2
	movl %esp, %eax
	movl mmio_event_saved_esp, %esp
	jmp mmio_event_back32

mmio_event_iret32:
	addl $2, (%esp)                 /* past the UD2 */
	iret

/* IA-32e mode (the test runs in compatibility mode): a 64-bit handler, back by far return. */
	.code64
mmio_event_handler64:
	movl %esp, %eax
	movl $mmio_event_saved_esp, %ecx /* absolute addresses via a register: ELF32 object */
	movl (%rcx), %esp
	pushq $SEL_CODE
	movl $mmio_event_back32, %ecx
	pushq %rcx
	lretq

mmio_event_iret64:
	addq $2, (%rsp)
	iretq
	.code32

	.bss
	.balign 4
mmio_event_saved_esp:
	.long 0

	.section .note.GNU-stack, "", @progbits
