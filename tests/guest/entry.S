/*
 * 32-bit entry of the guest test kernel, shared by both flavors: the multiboot header is in
 * header_mb1.S or header_mb2.S, whichever the image is linked with.
 *
 * The loader (mhv, GRUB or QEMU -kernel) enters _start in 32-bit protected mode with paging
 * off, EAX = the bootloader magic (v1 or multiboot2) and EBX = the multiboot information.
 * Both specifications leave GDTR undefined, so load our own flat GDT before anything reloads
 * a segment.
 */
#include "tests/guest/segments.h"

#define STACK_SIZE  16384

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
