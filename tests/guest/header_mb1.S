/*
 * The multiboot v1 header of the guest test kernel (mhv-guest-test.elf).  Linked instead of
 * header_mb2.S; everything else in the image is shared.  guest_mb_header is global so the
 * kernel can tell which flavor it was built as (bootinfo.c).
 */
#include "tests/guest/multiboot.h"

#define MB1_FLAGS (MB1_HF_PAGE_ALIGN | MB1_HF_MEMORY_INFO)

	.section .multiboot, "a"
	.balign 4
	.globl guest_mb_header
guest_mb_header:
	.long MB1_HEADER_MAGIC
	.long MB1_FLAGS
	.long -(MB1_HEADER_MAGIC + MB1_FLAGS)

	.section .note.GNU-stack, "", @progbits
