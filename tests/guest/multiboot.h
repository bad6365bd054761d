/*
 * Multiboot v1 (the specification GRUB's `multiboot` command and QEMU's -kernel implement) and
 * multiboot2 (GRUB's `multiboot2`): the header the kernel carries and the information block the
 * loader hands over in EBX.  Written from the specifications, not shared with mhv's loader, so
 * the guest checks mhv against the specifications rather than against itself.
 */
#ifndef MHV_TESTS_GUEST_MULTIBOOT_H
#define MHV_TESTS_GUEST_MULTIBOOT_H

#define MB1_HEADER_MAGIC     0x1BADB002
#define MB1_BOOTLOADER_MAGIC 0x2BADB002 /* EAX at entry */
#define MB1_HF_PAGE_ALIGN    (1u << 0)	/* load modules on page boundaries */
#define MB1_HF_MEMORY_INFO   (1u << 1)	/* ask for mem_lower/upper and the memory map */
#define MB1_HF_AOUT_KLUDGE   (1u << 16) /* never set: the kernel is a plain ELF */

/* Which fields of struct mb1_info are valid. */
#define MB1_INFO_MEMORY	 (1u << 0)
#define MB1_INFO_CMDLINE (1u << 2)
#define MB1_INFO_MODS	 (1u << 3)
#define MB1_INFO_MMAP	 (1u << 6)

#define MB1_MMAP_AVAILABLE 1

/* Multiboot2 header: 8-byte aligned, header_length covers the tags, end tag last. */
#define MB2_HEADER_MAGIC     0xE85250D6
#define MB2_BOOTLOADER_MAGIC 0x36D76289 /* EAX at entry */
#define MB2_ARCH_I386	     0		/* 32-bit protected mode */
#define MB2_HEADER_ALIGN     8
#define MB2_HTAG_END	     0
#define MB2_HTAG_FLAGS_NONE  0 /* a tag without the "optional" flag */

/* Multiboot2 information: total_size, reserved, then 8-byte aligned tags up to an end tag. */
#define MB2_TAG_ALIGN	    8
#define MB2_TAG_HDR_SIZE    8 /* type, size */
#define MB2_INFO_HDR_SIZE   8 /* total_size, reserved */
#define MB2_TAG_END	    0
#define MB2_TAG_CMDLINE	    1
#define MB2_TAG_LOADER_NAME 2
#define MB2_TAG_MODULE	    3
#define MB2_TAG_BASIC_MEM   4
#define MB2_TAG_MMAP	    6

#ifndef __ASSEMBLY__
#include <stdint.h>

#include "lib/compiler.h"

struct mb1_info {
	uint32_t flags;
	uint32_t mem_lower; /* KiB below 1 MiB */
	uint32_t mem_upper; /* KiB of contiguous RAM from 1 MiB */
	uint32_t boot_device;
	uint32_t cmdline;
	uint32_t mods_count;
	uint32_t mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length;
	uint32_t mmap_addr;
} __packed;

/* size counts the bytes after itself: the next entry is at (char *)e + size + 4. */
struct mb1_mmap_entry {
	uint32_t size;
	uint64_t base;
	uint64_t len;
	uint32_t type;
} __packed;

struct mb1_module {
	uint32_t start, end, string, reserved;
} __packed;

struct mb2_info_header {
	uint32_t total_size; /* of the whole block, this header and the end tag included */
	uint32_t reserved;
};

/* size covers this header and the payload, not the padding up to the next 8-byte boundary. */
struct mb2_tag {
	uint32_t type;
	uint32_t size;
};

struct mb2_tag_module {
	struct mb2_tag tag;
	uint32_t start, end;
	char string[]; /* NUL-terminated */
};

struct mb2_tag_basic_mem {
	struct mb2_tag tag;
	uint32_t mem_lower, mem_upper; /* KiB, as in v1 */
};

/* entry_size may grow in later versions: step by it, read only the fields below. */
struct mb2_tag_mmap {
	struct mb2_tag tag;
	uint32_t entry_size, entry_version;
};

struct mb2_mmap_entry {
	uint64_t base;
	uint64_t len;
	uint32_t type; /* same values as v1 */
	uint32_t reserved;
} __packed;
#endif

#endif
