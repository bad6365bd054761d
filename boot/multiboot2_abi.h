/* Multiboot2 numbers shared by the assembly header/entry and the C parser. */
#ifndef MHV_BOOT_MULTIBOOT2_ABI_H
#define MHV_BOOT_MULTIBOOT2_ABI_H

#define MB2_HEADER_MAGIC	 0xE85250D6
#define MB2_BOOTLOADER_MAGIC	 0x36D76289 /* in EAX at entry */
#define MB2_ARCH_I386		 0
#define MB2_HTAG_END		 0
#define MB2_HTAG_RELOCATABLE	 10
#define MB2_LOAD_PREFERENCE_HIGH 2

/* Anywhere from 2 MiB to 4 GiB, 2 MiB aligned (the image end is 2 MiB aligned too). */
#define MB2_RELOC_MIN_ADDR 0x00200000
#define MB2_RELOC_MAX_ADDR 0xFFFFFFFF
#define MB2_RELOC_ALIGN	   0x00200000

#endif
