/*
 * The multiboot2 header of the guest test kernel (mhv-guest-test-mb2.elf).  Linked instead of
 * header_mb1.S; everything else in the image is shared.  No address or entry tag: the loader
 * takes the load addresses and the entry point from the ELF headers.  No information request
 * either: mhv always gives the tags bootinfo.c reads, and a required request is one more thing
 * a loader may refuse.  guest_mb_header is global so the kernel can tell which flavor it was
 * built as (bootinfo.c).
 */
#include "tests/guest/multiboot.h"

	.section .multiboot, "a"
	.balign MB2_HEADER_ALIGN
	.globl guest_mb_header
guest_mb_header:
	.long MB2_HEADER_MAGIC
	.long MB2_ARCH_I386
	.long mb2_header_end - guest_mb_header
	/* checksum: magic + architecture + length + checksum = 0 (mod 2^32), kept positive for gas */
	.long 0x100000000 - (MB2_HEADER_MAGIC + MB2_ARCH_I386 + (mb2_header_end - guest_mb_header))
	/* end tag: type, flags, size */
	.balign MB2_TAG_ALIGN
	.short MB2_HTAG_END
	.short MB2_HTAG_FLAGS_NONE
	.long MB2_TAG_HDR_SIZE
mb2_header_end:

	.section .note.GNU-stack, "", @progbits
