/*
 * Multiboot2 header.  GRUB finds it in the first 32 KiB of the file.
 * The relocatable tag lets GRUB load mhv at the highest free 2 MiB-aligned address below
 * 4 GiB: mhv then sits at the top of low memory and the guest gets one contiguous RAM range
 * from 0 up to mhv.
 */
#include "boot/multiboot2_abi.h"

	.section .multiboot2, "a"
	.balign 8
mb2_header:
	.long MB2_HEADER_MAGIC
	.long MB2_ARCH_I386
	.long mb2_header_end - mb2_header
	.long -(MB2_HEADER_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))

	.balign 8
	.short MB2_HTAG_RELOCATABLE
	.short 0                        /* required: refuse to boot without it */
	.long 24
	.long MB2_RELOC_MIN_ADDR
	.long MB2_RELOC_MAX_ADDR
	.long MB2_RELOC_ALIGN
	.long MB2_LOAD_PREFERENCE_HIGH

	.balign 8
	.short MB2_HTAG_END
	.short 0
	.long 8
mb2_header_end:
