/*
 * The Linux loader: boots an x86 bzImage per the Linux x86 boot protocol (2.10 or later),
 * entered through its 32-bit entry point (protected mode, flat segments, paging off,
 * ESI = the zero page), into guest RAM reached only through the guest_mem callbacks.
 *
 * Decisions:
 * - Command line: the module string with its first word (the file name) turned into
 *   "BOOT_IMAGE=name", as GRUB's linux command does; cut at the header's cmdline_size.
 * - Initrd: every further module, concatenated in order (as GRUB's initrd command does),
 *   copied highest-first below initrd_addr_max and 4 GiB.
 * - Kernel: the protected-mode part goes to pref_address when [pref, pref + init_size) is free
 *   usable RAM, else (relocatable kernels only) to the lowest kernel_alignment-aligned address
 *   above pref_address that is (a relocatable kernel's decompressor never runs below
 *   pref_address = LOAD_PHYSICAL_ADDR, so lower slots would not be honoured anyway).
 * - Every destination (kernel, initrd, boot data) avoids every source (the kernel file and
 *   the modules where GRUB left them), page 0, the caller's reserved ranges and non-usable
 *   map regions, so no copy reads memory an earlier copy wrote.
 * - Boot data: one block of LINUX_BOOT_DATA_PAGES pages below 4 GiB holding the zero page,
 *   the command line and a copy of the ACPI RSDP (acpi_rsdp_addr points at it: a UEFI
 *   machine has no legacy RSDP scan area).  The block is reported reserved in the e820 table
 *   so the kernel never allocates over the RSDP copy.
 * - e820: the guest's map as given (mhv's range is reserved there), types passed unchanged.
 */
#ifndef MHV_LIB_LINUX_BOOT_H
#define MHV_LIB_LINUX_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/guest_boot.h"

/* Setup header offsets in the bzImage file and in the zero page (struct boot_params). */
#define LX_SETUP_SECTS	    0x1F1
#define LX_SYSSIZE	    0x1F4
#define LX_BOOT_FLAG	    0x1FE
#define LX_JUMP		    0x200
#define LX_HEADER	    0x202
#define LX_VERSION	    0x206
#define LX_TYPE_OF_LOADER   0x210
#define LX_LOADFLAGS	    0x211
#define LX_CODE32_START	    0x214
#define LX_RAMDISK_IMAGE    0x218
#define LX_RAMDISK_SIZE	    0x21C
#define LX_CMD_LINE_PTR	    0x228
#define LX_INITRD_ADDR_MAX  0x22C
#define LX_KERNEL_ALIGNMENT 0x230
#define LX_RELOCATABLE	    0x234
#define LX_XLOADFLAGS	    0x236
#define LX_CMDLINE_SIZE	    0x238
#define LX_PREF_ADDRESS	    0x258
#define LX_INIT_SIZE	    0x260
#define LX_HEADER_END_MAX   0x290 /* struct setup_header ends before the zero page's 0x290 */

#define LX_ZP_ACPI_RSDP	   0x070
#define LX_ZP_E820_ENTRIES 0x1E8
#define LX_ZP_E820_TABLE   0x2D0
#define LX_E820_ENTRY_SIZE 20
#define LX_E820_MAX	   128

#define LX_HDRS_MAGIC	       0x53726448u /* "HdrS" */
#define LX_BOOT_FLAG_MAGIC     0xAA55u
#define LX_MIN_VERSION	       0x020A /* 2.10: pref_address, init_size, min_alignment */
#define LX_SECTOR	       512
#define LX_DEFAULT_SETUP_SECTS 4
#define LX_LOADED_HIGH	       0x01 /* loadflags: protected-mode code at 0x100000+ */
#define LX_KEEP_SEGMENTS       0x40
#define LX_CAN_USE_HEAP	       0x80
#define LX_XLF_KERNEL_64       0x01
#define LX_LOADER_UNDEFINED    0xFF /* type_of_loader: no assigned boot loader ID */

#define LINUX_BOOT_DATA_PAGES 3 /* zero page, command line, RSDP copy */
#define LX_CMDLINE_MAX	      4095

/* What the setup header says (exposed for tests and for mhv's log). */
struct linux_header {
	uint16_t version;
	uint8_t loadflags;
	uint16_t xloadflags;
	uint32_t setup_size; /* bytes of real-mode setup, boot sector included */
	uint32_t pm_size;    /* bytes of the protected-mode kernel in the file */
	uint32_t header_end; /* file offset after the setup header */
	uint32_t header_len; /* bytes copied into the zero page, from LX_SETUP_SECTS */
	uint32_t initrd_addr_max, kernel_alignment, cmdline_size, init_size;
	uint64_t pref_address;
	bool relocatable;
};

struct linux_boot_result {
	uint32_t entry;		  /* the 32-bit entry: the protected-mode kernel's load address */
	uint32_t zero_page;	  /* ESI at entry */
	struct phys_range kernel; /* [load address, + init_size) */
	struct phys_range initrd; /* empty when there is no module */
	struct phys_range boot_data; /* zero page, command line, RSDP copy */
	struct linux_header hdr;
};

/* True when the image carries the boot protocol's "HdrS" magic (it is meant for Linux). */
bool linux_is_bzimage(const void *file, size_t size);

/*
 * Check the setup header of the image [file, file+size): -E_NOENT (not a bzImage),
 * -E_NOTSUP (protocol older than 2.10, not loaded high), -E_INVAL (truncated or inconsistent),
 * with a message in err.
 */
int linux_parse_header(const void *file, size_t size, struct linux_header *h, char *err,
		       size_t errlen);

/*
 * Load the kernel in p->kernel, its initrd (p->modules concatenated) and its boot data.
 * Nothing in guest memory is written unless every check and placement succeeded: a
 * malformed or truncated image is refused whole.  Errors as linux_parse_header, plus
 * -E_NOMEM (no room), -E_FAULT (a source cannot be read), -E_INVAL (bad parameters).
 */
int linux_boot_load(const struct guest_boot_params *p, struct linux_boot_result *r, char *err,
		    size_t errlen);

#endif
