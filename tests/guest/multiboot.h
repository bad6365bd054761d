/*
 * Multiboot v1 (the specification GRUB's `multiboot` command and QEMU's -kernel implement):
 * the header the kernel carries and the information block the loader hands over in EBX.
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
#endif

#endif
