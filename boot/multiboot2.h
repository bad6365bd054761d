/*
 * The multiboot2 boot-information block, parsed into a self-contained copy: mhv reuses the
 * memory GRUB left the block in, so nothing here points back into it.
 */
#ifndef MHV_BOOT_MULTIBOOT2_H
#define MHV_BOOT_MULTIBOOT2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mm/memmap.h"

/* Tag types (multiboot2 specification, section 3.6). */
#define MB2_TAG_END	    0
#define MB2_TAG_CMDLINE	    1
#define MB2_TAG_LOADER_NAME 2
#define MB2_TAG_MODULE	    3
#define MB2_TAG_BASIC_MEM   4
#define MB2_TAG_MMAP	    6
#define MB2_TAG_EFI64	    12
#define MB2_TAG_ACPI_OLD    14
#define MB2_TAG_ACPI_NEW    15
#define MB2_TAG_EFI_MMAP    17
#define MB2_TAG_LOAD_BASE   21

#define MB2_INFO_HDR_SIZE 8  /* total_size, reserved */
#define MB2_INFO_MIN_SIZE 16 /* the fixed header plus an end tag */
#define MB2_TAG_HDR_SIZE  8  /* type, size */
#define MB2_TAG_ALIGN	  8

#define BOOT_MMAP_MAX	 128
#define BOOT_MODULES_MAX 16
#define BOOT_CMDLINE_MAX 1024
#define BOOT_MODSTR_MAX	 256
#define BOOT_LOADER_MAX	 64

#define ACPI_RSDP_V1_LEN 20
#define ACPI_RSDP_V2_LEN 36

struct boot_module {
	uint64_t start, end; /* [start, end) */
	char string[BOOT_MODSTR_MAX];
};

struct boot_info {
	uint32_t total_size;
	char cmdline[BOOT_CMDLINE_MAX]; /* raw, may begin with the image path */
	char loader_name[BOOT_LOADER_MAX];
	/*
	 * From tag 17 (EFI, mmap_from_efi) when present, else tag 6.  Types are normalised to
	 * enum mem_type (unknown ones become MEM_RESERVED); zero-length entries are dropped and
	 * contiguous EFI descriptors of the same resulting type are merged.
	 */
	struct mem_region mmap[BOOT_MMAP_MAX];
	unsigned nr_mmap;
	bool mmap_from_efi;
	struct boot_module modules[BOOT_MODULES_MAX];
	unsigned nr_modules;
	uint8_t rsdp[ACPI_RSDP_V2_LEN]; /* tag 15 (ACPI 2.0+) preferred over tag 14 (ACPI 1.0) */
	unsigned rsdp_len;		/* 0: no RSDP tag; checksum NOT verified by mb2_parse */
	bool has_efi64;
	uint64_t efi64_systab; /* tag 12 */
	bool has_load_base;
	uint64_t load_base;	  /* tag 21: where GRUB placed a relocatable image */
	unsigned nr_unknown_tags; /* tags skipped because mhv does not interpret them */
};

/*
 * Parse the block at mbi, of which `avail` bytes may be read.  Returns 0, -E_INVAL for a
 * malformed block or -E_NOMEM when one of the fixed tables above overflows; on failure `err`
 * (when errlen > 0) names the tag type and byte offset, and *bi holds no useful data.
 */
int mb2_parse(const void *mbi, size_t avail, struct boot_info *bi, char *err, size_t errlen);

/*
 * An ACPI RSDP of `len` readable bytes is valid when its signature is "RSD PTR ", the first
 * 20 bytes sum to 0 and, for revision >= 2, its length field is within [36, len] and those
 * bytes sum to 0 too.
 */
bool acpi_rsdp_valid(const void *rsdp, size_t len);

#endif
