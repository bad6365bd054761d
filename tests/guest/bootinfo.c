/*
 * The boot protocol and its information.  A multiboot v1 block is used in place; a multiboot2
 * block is walked once, with every tag checked against the block's bounds, and copied into
 * static v1-shaped storage (the tests read it again after paging is on, when the loader's
 * memory is still identity-mapped, but a copy does not depend on that).
 */
#include <stddef.h>

#include "lib/compiler.h"
#include "lib/fmt.h"
#include "lib/string.h"
#include "tests/guest/bootinfo.h"

#define MB2_MMAP_MAX	64 /* more entries than any real map; a longer one is rejected */
#define MB2_MODULES_MAX 16
#define ERROR_LEN	96

/* The first word of the multiboot header linked into this image (header_mb1.S or _mb2.S). */
extern const uint32_t guest_mb_header[];

static struct mb1_info mb2_as_mb1;
static struct mb1_mmap_entry mb2_mmap[MB2_MMAP_MAX];
static struct mb1_module mb2_modules[MB2_MODULES_MAX];
static char error_buf[ERROR_LEN];

const char *boot_proto_name(enum boot_proto proto)
{
	switch (proto) {
	case BOOT_PROTO_MB1:
		return "multiboot v1";
	case BOOT_PROTO_MB2:
		return "multiboot2";
	default:
		return "no multiboot protocol";
	}
}

static enum boot_proto built_as(void)
{
	switch (guest_mb_header[0]) {
	case MB1_HEADER_MAGIC:
		return BOOT_PROTO_MB1;
	case MB2_HEADER_MAGIC:
		return BOOT_PROTO_MB2;
	default:
		return BOOT_PROTO_NONE;
	}
}

static const char *fail(const struct mb2_tag *t, const char *why)
{
	fmt_snprintf(error_buf, sizeof(error_buf), "tag %u (size %u) at 0x%x: %s", t->type, t->size,
		     (uint32_t)t, why);
	return error_buf;
}

/* A NUL-terminated string filling the rest of the tag from offset at; NULL if it is not one. */
static const char *tag_string(const struct mb2_tag *t, uint32_t at)
{
	const char *s = (const char *)t + at;

	if (t->size <= at || strnlen(s, t->size - at) == t->size - at)
		return NULL;
	return s;
}

static const char *parse_mmap(const struct mb2_tag *t)
{
	const struct mb2_tag_mmap *m = (const struct mb2_tag_mmap *)t;
	uint32_t n;

	if (t->size < sizeof(*m))
		return fail(t, "shorter than the memory map header");
	if (m->entry_size < sizeof(struct mb2_mmap_entry) || m->entry_size % MB2_TAG_ALIGN)
		return fail(t, "memory map entry_size is not a multiple of 8 of at least 24");
	if ((t->size - sizeof(*m)) % m->entry_size)
		return fail(t, "memory map is not a whole number of entries");
	n = (t->size - sizeof(*m)) / m->entry_size;
	if (n > MB2_MMAP_MAX)
		return fail(t, "memory map has more entries than the guest keeps");
	for (uint32_t i = 0; i < n; i++) {
		const struct mb2_mmap_entry *e =
			(const void *)((const char *)(m + 1) + i * m->entry_size);

		mb2_mmap[i] = (struct mb1_mmap_entry){
			.size = sizeof(mb2_mmap[i]) - sizeof(mb2_mmap[i].size),
			.base = e->base,
			.len = e->len,
			.type = e->type,
		};
	}
	mb2_as_mb1.flags |= MB1_INFO_MMAP;
	mb2_as_mb1.mmap_addr = (uint32_t)mb2_mmap;
	mb2_as_mb1.mmap_length = n * sizeof(mb2_mmap[0]);
	return NULL;
}

static const char *parse_module(const struct mb2_tag *t)
{
	const struct mb2_tag_module *m = (const struct mb2_tag_module *)t;
	uint32_t i = mb2_as_mb1.mods_count;

	if (!tag_string(t, offsetof(struct mb2_tag_module, string)))
		return fail(t, "module string missing or not NUL-terminated");
	if (i >= MB2_MODULES_MAX)
		return fail(t, "more modules than the guest keeps");
	mb2_modules[i] = (struct mb1_module){
		.start = m->start, .end = m->end, .string = (uint32_t)m->string};
	mb2_as_mb1.flags |= MB1_INFO_MODS;
	mb2_as_mb1.mods_addr = (uint32_t)mb2_modules;
	mb2_as_mb1.mods_count = i + 1;
	return NULL;
}

/* One tag inside the block (its size already checked against the block); NULL if fine. */
static const char *parse_tag(const struct mb2_tag *t, const char **loader_name)
{
	const char *s;

	switch (t->type) {
	case MB2_TAG_CMDLINE:
		s = tag_string(t, sizeof(*t));
		if (!s)
			return fail(t, "command line not NUL-terminated");
		mb2_as_mb1.flags |= MB1_INFO_CMDLINE;
		mb2_as_mb1.cmdline = (uint32_t)s;
		return NULL;
	case MB2_TAG_LOADER_NAME:
		*loader_name = tag_string(t, sizeof(*t));
		return *loader_name ? NULL : fail(t, "loader name not NUL-terminated");
	case MB2_TAG_MODULE:
		return parse_module(t);
	case MB2_TAG_BASIC_MEM: {
		const struct mb2_tag_basic_mem *b = (const struct mb2_tag_basic_mem *)t;

		if (t->size < sizeof(*b))
			return fail(t, "shorter than basic memory information");
		mb2_as_mb1.flags |= MB1_INFO_MEMORY;
		mb2_as_mb1.mem_lower = b->mem_lower;
		mb2_as_mb1.mem_upper = b->mem_upper;
		return NULL;
	}
	case MB2_TAG_MMAP:
		return parse_mmap(t);
	default: /* ACPI, framebuffer, ...: not the guest's business */
		return NULL;
	}
}

/* Walk the tags up to the end tag; NULL on success, else why the block is malformed. */
static const char *parse_mb2(uint32_t addr, const char **loader_name)
{
	const struct mb2_info_header *h = (const struct mb2_info_header *)addr;
	uint32_t total, off;

	mb2_as_mb1 = (struct mb1_info){0};
	if (!addr || addr % MB2_TAG_ALIGN) {
		fmt_snprintf(error_buf, sizeof(error_buf), "block at 0x%x is not 8-byte aligned",
			     addr);
		return error_buf;
	}
	total = h->total_size;
	/* The cap keeps addr + off + an aligned size below 2^32 in the walk below. */
	if (total < MB2_INFO_HDR_SIZE + MB2_TAG_HDR_SIZE || total > UINT32_MAX - addr) {
		fmt_snprintf(error_buf, sizeof(error_buf), "block at 0x%x: total_size %u", addr,
			     total);
		return error_buf;
	}
	off = MB2_INFO_HDR_SIZE;
	while (off <= total - MB2_TAG_HDR_SIZE) {
		const struct mb2_tag *t = (const struct mb2_tag *)(addr + off);
		const char *err;

		if (t->size < MB2_TAG_HDR_SIZE || t->size > total - off)
			return fail(t, "size outside the block");
		if (t->type == MB2_TAG_END)
			return t->size == MB2_TAG_HDR_SIZE ? NULL : fail(t, "end tag not 8 bytes");
		err = parse_tag(t, loader_name);
		if (err)
			return err;
		off += ALIGN_UP(t->size, (uint32_t)MB2_TAG_ALIGN);
	}
	fmt_snprintf(error_buf, sizeof(error_buf), "block at 0x%x (%u bytes) has no end tag", addr,
		     total);
	return error_buf;
}

void boot_info_init(struct boot_info *bi, uint32_t magic, uint32_t info_addr)
{
	*bi = (struct boot_info){.magic = magic, .built_as = built_as()};
	switch (magic) {
	case MB1_BOOTLOADER_MAGIC:
		bi->proto = BOOT_PROTO_MB1;
		bi->mb1 = (const struct mb1_info *)info_addr;
		break;
	case MB2_BOOTLOADER_MAGIC:
		bi->proto = BOOT_PROTO_MB2;
		bi->error = parse_mb2(info_addr, &bi->loader_name);
		if (!bi->error)
			bi->mb1 = &mb2_as_mb1;
		break;
	default: /* without a magic, EBX means nothing: do not read it */
		bi->proto = BOOT_PROTO_NONE;
		break;
	}
}
