/* What the loader handed over: the multiboot v1 magic and information block. */
#include "lib/string.h"
#include "tests/guest/mb1.h"
#include "tests/guest/report.h"
#include "tests/guest/tests.h"

#define LOW_MEM_KIB 640u /* conventional memory ends at 640 KiB */
#define CMDLINE_MAX 256u

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

void test_multiboot(uint32_t magic, const struct mb1_info *info)
{
	uint64_t start = (uint32_t)__image_start, end = (uint32_t)__image_end;

	check_eq("multiboot: EAX holds the bootloader magic", magic, MB1_BOOTLOADER_MAGIC);
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
