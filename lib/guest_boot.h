/*
 * The guest kernel loader: boots a multiboot v1 or multiboot2 ELF kernel the way GRUB would,
 * into guest RAM reached only through a callback (no hardware access here).
 *
 * Decisions (see guest_boot.c for the reasons):
 * - Header choice: a valid multiboot2 header wins; a v1 header is used only when the image has
 *   no multiboot2 header.  A magic with a bad checksum is skipped (the search continues) and is
 *   reported only if no valid header is found.
 * - Command line: kernel->string as GRUB gave it ("guest.elf arg1 arg2"), unchanged: the
 *   guest sees its name first, as a kernel booted by GRUB does.
 * - Placement: everything the loader places (boot information, moved modules, the moved
 *   kernel file) goes highest-first into usable RAM in [1 MiB, 4 GiB), falling back to
 *   [4 KiB, 1 MiB) only when nothing above 1 MiB fits.  It never covers a loaded segment, a
 *   module (where GRUB put it or where it was moved), the kernel file, a caller-reserved range,
 *   a non-usable map region or page 0.  Highest-first keeps it away from the memory right
 *   after the kernel's end, which simple kernels use for early page tables without checking.
 * - Modules: a module stays where GRUB put it unless it is outside guest RAM, not in usable
 *   memory, above 4 GiB, overlaps a segment, or is not page-aligned while the kernel asked for
 *   page alignment (v1 flag 0, multiboot2 module-alignment tag); a moved module starts on a
 *   page boundary.
 */
#ifndef MHV_LIB_GUEST_BOOT_H
#define MHV_LIB_GUEST_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot/multiboot2.h"
#include "boot/multiboot2_abi.h" /* MB2_HEADER_MAGIC, MB2_BOOTLOADER_MAGIC, MB2_ARCH_I386 */
#include "mm/memmap.h"

#define MB1_HEADER_MAGIC     0x1BADB002u
#define MB1_BOOTLOADER_MAGIC 0x2BADB002u
#define MB1_SEARCH_LIMIT     8192
#define MB1_HEADER_ALIGN     4
#define MB2_SEARCH_LIMIT     32768
#define MB2_HEADER_ALIGN     8

/* Multiboot v1 header flags. */
#define MB1_HF_PAGE_ALIGN  (1u << 0)  /* modules on page boundaries: honoured */
#define MB1_HF_MEMORY_INFO (1u << 1)  /* always provided */
#define MB1_HF_VIDEO_MODE  (1u << 2)  /* ignored: the guest gets no video information */
#define MB1_HF_REQUIRED	   0xFFFFu    /* bits a loader must understand or refuse */
#define MB1_HF_AOUT_KLUDGE (1u << 16) /* refused (-E_NOTSUP) */

/* Multiboot v1 information flags. */
#define MB1_INFO_MEMORY		  (1u << 0)
#define MB1_INFO_CMDLINE	  (1u << 2)
#define MB1_INFO_MODS		  (1u << 3)
#define MB1_INFO_MMAP		  (1u << 6)
#define MB1_INFO_BOOT_LOADER_NAME (1u << 9)

/* Multiboot v1 information block offsets (struct multiboot_info). */
#define MB1_OFF_FLAGS		 0
#define MB1_OFF_MEM_LOWER	 4
#define MB1_OFF_MEM_UPPER	 8
#define MB1_OFF_CMDLINE		 16
#define MB1_OFF_MODS_COUNT	 20
#define MB1_OFF_MODS_ADDR	 24
#define MB1_OFF_MMAP_LENGTH	 44
#define MB1_OFF_MMAP_ADDR	 48
#define MB1_OFF_BOOT_LOADER_NAME 64
#define MB1_INFO_SIZE		 120 /* the whole structure, framebuffer fields included */
#define MB1_MOD_SIZE		 16  /* mod_start, mod_end, string, reserved */
#define MB1_MMAP_ENTRY_SIZE	 24  /* size, base_addr, length, type */
#define MB1_MMAP_SIZE_FIELD	 20  /* the size field excludes itself */

/* Multiboot2 header tags. */
#define MB2H_TAG_END	       0
#define MB2H_TAG_INFO_REQUEST  1
#define MB2H_TAG_ADDRESS       2 /* a.out kludge: refused when required, else ignored */
#define MB2H_TAG_ENTRY	       3 /* i386 entry address: honoured */
#define MB2H_TAG_CONSOLE       4 /* accepted, nothing to give */
#define MB2H_TAG_FRAMEBUFFER   5
#define MB2H_TAG_MODULE_ALIGN  6 /* honoured */
#define MB2H_TAG_EFI_BS	       7
#define MB2H_TAG_ENTRY_EFI32   8
#define MB2H_TAG_ENTRY_EFI64   9
#define MB2H_TAG_RELOCATABLE   10 /* accepted: loading at the link address is allowed */
#define MB2H_TAG_FLAG_OPTIONAL 1u
#define MB2H_HEADER_SIZE       16
#define MB2H_TAG_HDR	       8

#define GUEST_LOADER_NAME "mhv"
#define GUEST_LOW_LIMIT	  0x100000ull /* prefer placing above 1 MiB */
#define GUEST_4G	  0x100000000ull
#define GUEST_LOWMEM_KIB  640 /* mem_lower counts at most this much */

enum guest_boot_kind { GUEST_MULTIBOOT1 = 1, GUEST_MULTIBOOT2 = 2 };

struct guest_mem {
	/* Host pointer for guest-physical [gpa, gpa+len), or NULL when that is not guest RAM. */
	void *(*map)(void *ctx, uint64_t gpa, uint64_t len);
	/*
	 * Host pointer to host-physical [pa, pa+len) for reading modules (and the kernel file)
	 * where GRUB left them, which may be outside guest RAM (e.g. in mhv's hidden range);
	 * NULL when unreadable.  For addresses in guest RAM it aliases map().
	 */
	const void *(*src)(void *ctx, uint64_t pa, uint64_t len);
	void *ctx;
};

struct guest_boot_params {
	const struct boot_module *kernel;  /* module 0 as GRUB left it; string = cmdline */
	const struct boot_module *modules; /* modules handed to the guest (1..n) */
	unsigned nr_modules;		   /* <= BOOT_MODULES_MAX */
	const struct mem_region *map;	   /* the guest's map (mhv's range already reserved) */
	unsigned nr_map;
	const struct phys_range *reserved; /* further ranges the loader must not touch */
	unsigned nr_reserved;
	const uint8_t *rsdp; /* copied into multiboot2 tag 14 (and 15 when 36 bytes) */
	unsigned rsdp_len;   /* 0, ACPI_RSDP_V1_LEN or ACPI_RSDP_V2_LEN */
	const struct guest_mem *mem;
};

struct guest_boot_result {
	enum guest_boot_kind kind;
	uint32_t entry, eax, ebx;
	uint64_t lowest, highest; /* [lowest, highest): hull of the loaded segments */
	struct phys_range info;	  /* where the boot information block was written */
	unsigned nr_modules;
	struct phys_range modules[BOOT_MODULES_MAX]; /* where each module is for the guest */
};

/* What the header search found (exposed for tests and for mhv's log). */
struct guest_header {
	enum guest_boot_kind kind;
	uint32_t offset;    /* of the header in the file */
	uint32_t mb1_flags; /* v1 only */
	bool page_align_modules;
	bool has_entry; /* multiboot2 entry address tag */
	uint32_t entry;
};

/*
 * Find and validate the multiboot header of the image [file, file+size).  Returns 0,
 * -E_NOENT (no header), -E_INVAL (bad checksum, malformed tag, wrong architecture) or
 * -E_NOTSUP (a.out kludge, unknown or unsupported required tag), with a message in err.
 * rsdp_len says which ACPI tags an information request can be given.
 */
int guest_find_header(const void *file, size_t size, unsigned rsdp_len, struct guest_header *h,
		      char *err, size_t errlen);

/*
 * Load the kernel and build its boot information.  On success *r says how to enter it
 * (32-bit protected mode, paging off: EAX = r->eax, EBX = r->ebx, EIP = r->entry).  Errors:
 * -E_INVAL (bad ELF or header, segment not in usable guest RAM, bad parameters), -E_NOTSUP,
 * -E_NOENT, -E_NOMEM (no room for the boot information or a module), -E_FAULT (a module or
 * the kernel file cannot be read); err says which.  Guest memory may have been modified
 * when it fails.
 */
int guest_boot_load(const struct guest_boot_params *p, struct guest_boot_result *r, char *err,
		    size_t errlen);

#endif
