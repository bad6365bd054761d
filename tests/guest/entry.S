/*
 * Multiboot v1 header and 32-bit entry of the guest test kernel.
 *
 * The loader (mhv, GRUB or QEMU -kernel) enters _start in 32-bit protected mode with paging
 * off, EAX = MB1_BOOTLOADER_MAGIC and EBX = the multiboot information.  The specification
 * leaves GDTR undefined, so load our own flat GDT before anything reloads a segment.
 */
#include "tests/guest/multiboot.h"
#include "tests/guest/segments.h"

#define MB1_FLAGS   (MB1_HF_PAGE_ALIGN | MB1_HF_MEMORY_INFO)
#define STACK_SIZE  16384

	.section .multiboot, "a"
	.balign 4
	.long MB1_HEADER_MAGIC
	.long MB1_FLAGS
	.long -(MB1_HEADER_MAGIC + MB1_FLAGS)

	.text
	.code32
	.globl _start
_start:
	cli
	cld
	movl $stack_top, %esp
	/* Keep the loader's EAX/EBX: they are guest_main's arguments. */
	movl %eax, %esi
	movl %ebx, %edi
	lgdt gdt_desc
	ljmp $SEL_CODE, $1f
1:	movl $SEL_DATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %fs
	movl %eax, %gs
	movl %eax, %ss
	pushl $0                /* clear EFLAGS: IF, DF, AC and friends */
	popfl
	pushl %edi
	pushl %esi
	call guest_main
	/* guest_main ends the run and does not return; stop here if it ever does. */
2:	cli
	hlt
	jmp 2b

	.section .rodata
	.balign 8
gdt:
	.quad 0                           /* null */
	.quad GDT_FLAT_CODE32             /* SEL_CODE */
	.quad GDT_FLAT_DATA32             /* SEL_DATA */
gdt_end:
gdt_desc:
	.word gdt_end - gdt - 1
	.long gdt

	.bss
	.balign 16
stack:
	.skip STACK_SIZE
stack_top:

	.section .note.GNU-stack, "", @progbits
