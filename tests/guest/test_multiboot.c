/*
 * What the loader handed over: the multiboot magic and information block (v1 as is,
 * multiboot2 through its v1-shaped copy, bootinfo.c).
 */
#include "lib/fmt.h"
#include "lib/string.h"
#include "tests/guest/bootinfo.h"
#include "tests/guest/hv.h"
#include "tests/guest/mb1.h"
#include "tests/guest/report.h"
#include "tests/guest/tests.h"

#define LOW_MEM_KIB 640u /* conventional memory ends at 640 KiB */
#define CMDLINE_MAX 256u
#define LOADER_NAME "mhv"
#define WHAT_LEN    96

extern const char __image_start[], __image_end[];

static void print_info(const struct mb1_info *info)
{
	gprintf("guest: multiboot flags 0x%x, mem_lower %u KiB, mem_upper %u KiB, %u map entries, "
		"%u modules\n",
		info->flags, info->mem_lower, info->mem_upper, mb1_mmap_count(info),
		(info->flags & MB1_INFO_MODS) ? info->mods_count : 0);
	if (info->flags & MB1_INFO_CMDLINE) {
		const char *cmdline = (const char *)info->cmdline;

		gprintf("guest: command line '%.*s'\n", (int)strnlen(cmdline, CMDLINE_MAX),
			cmdline);
	}
}

static void check_protocol(const struct boot_info *bi)
{
	char what[WHAT_LEN];

	check(bi->proto != BOOT_PROTO_NONE, "multiboot: EAX holds a bootloader magic", "EAX 0x%x",
	      bi->magic);
	fmt_snprintf(what, sizeof(what), "multiboot: started as %s, the flavor this image is",
		     boot_proto_name(bi->built_as));
	check(bi->proto == bi->built_as && bi->built_as != BOOT_PROTO_NONE, what,
	      "started as %s (EAX 0x%x)", boot_proto_name(bi->proto), bi->magic);
	if (bi->proto != BOOT_PROTO_MB2)
		return;
	check(!bi->error, "multiboot2: information block is well-formed", "%s", bi->error);
	/* Natively some other loader booted us, and "running under mhv" already failed. */
	if (hv_present()) {
		const char *name = bi->loader_name ? bi->loader_name : "(none)";

		check(!strcmp(name, LOADER_NAME), "multiboot2: loader name is '" LOADER_NAME "'",
		      "'%s'", name);
	}
}

void test_multiboot(const struct boot_info *bi)
{
	const struct mb1_info *info = bi->mb1;
	uint64_t start = (uint32_t)__image_start, end = (uint32_t)__image_end;

	gprintf("guest: started as %s, built as %s\n", boot_proto_name(bi->proto),
		boot_proto_name(bi->built_as));
	check_protocol(bi);
	if (!info)
		return;
	print_info(info);
	check(info->flags & MB1_INFO_MEMORY, "multiboot: mem_lower/mem_upper present", "flags 0x%x",
	      info->flags);
	if (info->flags & MB1_INFO_MEMORY)
		check(info->mem_lower <= LOW_MEM_KIB, "multiboot: mem_lower within 640 KiB",
		      "mem_lower %u KiB", info->mem_lower);
	check(info->flags & MB1_INFO_MMAP, "multiboot: memory map present", "flags 0x%x",
	      info->flags);
	check(mb1_mmap_covers(info, start, end, true),
	      "multiboot: memory map marks the kernel image available",
	      "[0x%llx-0x%llx) not inside type-1 entries", (unsigned long long)start,
	      (unsigned long long)end);
}
