/*
 * What the loader handed over, whichever multiboot protocol it used.  A multiboot2
 * information block is converted into the v1 form (struct mb1_info and its memory map) that
 * the tests and mb1.c read, so they need not know which protocol booted the kernel.
 */
#ifndef MHV_TESTS_GUEST_BOOTINFO_H
#define MHV_TESTS_GUEST_BOOTINFO_H

#include <stdint.h>

#include "tests/guest/multiboot.h"

enum boot_proto { BOOT_PROTO_NONE, BOOT_PROTO_MB1, BOOT_PROTO_MB2 };

struct boot_info {
	uint32_t magic;		    /* EAX at entry */
	enum boot_proto proto;	    /* the protocol EAX names, NONE for an unknown magic */
	enum boot_proto built_as;   /* the protocol of the header this image carries */
	const struct mb1_info *mb1; /* NULL without magic, or when the block is malformed */
	const char *loader_name;    /* multiboot2 tag 2, NULL when absent */
	const char *error;	    /* multiboot2: why the block was rejected, else NULL */
};

/* Fill *bi from the entry registers; reads info_addr only when magic names a protocol. */
void boot_info_init(struct boot_info *bi, uint32_t magic, uint32_t info_addr);
const char *boot_proto_name(enum boot_proto proto);

#endif
