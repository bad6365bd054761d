/*
 * Multiboot2 boot-information parser.  The block comes from outside mhv and may be corrupt,
 * so every field is read through rd32()/rd64() at an offset already checked against the
 * block's total_size (itself checked against what the caller says is readable), and every
 * rule violation is reported with the tag type and offset.  Reads use memcpy because a tag
 * payload (e.g. a u64 after a u32 pair) need not be naturally aligned for the host sanitizers.
 */
#include <stdarg.h>

#include "boot/multiboot2.h"
#include "lib/compiler.h"
#include "lib/errno.h"
#include "lib/fmt.h"
#include "lib/string.h"

#define NO_TAG UINT32_MAX /* error not tied to one tag */

/* Tag 3: mod_start, mod_end, then the string. */
#define MOD_START_OFF  8
#define MOD_END_OFF    12
#define MOD_STRING_OFF 16

/* Tags 6 and 17: entry/descriptor size and version, then the entries. */
#define MMAP_ENTSZ_OFF	 8
#define MMAP_VERSION_OFF 12
#define MMAP_ENTRIES_OFF 16

/* Tag 6 entry: u64 base, u64 length, u32 type, u32 reserved. */
#define MMAP_ENTRY_MIN	  24
#define MMAP_ENT_BASE_OFF 0
#define MMAP_ENT_LEN_OFF  8
#define MMAP_ENT_TYPE_OFF 16
#define MMAP_ENTRY_ALIGN  8

/* EFI_MEMORY_DESCRIPTOR: u32 Type, pad, u64 PhysicalStart, VirtualStart, NumberOfPages, ... */
#define EFI_DESC_MIN	    40
#define EFI_DESC_VERSION    1
#define EFI_DESC_TYPE_OFF   0
#define EFI_DESC_PHYS_OFF   8
#define EFI_DESC_NPAGES_OFF 24
#define EFI_PAGE_SHIFT	    12

/* UEFI memory types (UEFI spec, EFI_MEMORY_TYPE). */
enum efi_mem_type {
	EFI_LOADER_CODE = 1,
	EFI_LOADER_DATA = 2,
	EFI_BOOT_SERVICES_CODE = 3,
	EFI_BOOT_SERVICES_DATA = 4,
	EFI_CONVENTIONAL_MEMORY = 7,
	EFI_UNUSABLE_MEMORY = 8,
	EFI_ACPI_RECLAIM_MEMORY = 9,
	EFI_ACPI_MEMORY_NVS = 10,
};

#define EFI64_PTR_OFF  8
#define EFI64_TAG_SIZE 16
#define LOAD_BASE_OFF  8
#define LOAD_BASE_SIZE 12
#define RSDP_OFF       8

/* ACPI RSDP layout. */
#define RSDP_SIG	  "RSD PTR "
#define RSDP_SIG_LEN	  8
#define RSDP_REVISION_OFF 15
#define RSDP_LENGTH_OFF	  20
#define RSDP_REV_ACPI2	  2

struct mb2_ctx {
	const uint8_t *base;
	uint32_t total;
	struct boot_info *bi;
	char *err;
	size_t errlen;
	uint32_t seen; /* bit per singleton tag type already parsed */
};

struct tag_handler {
	uint32_t type;
	uint32_t min_size;
	bool singleton;
	int (*parse)(struct mb2_ctx *c, uint32_t type, size_t off, uint32_t size);
};

static uint32_t rd32(const struct mb2_ctx *c, size_t off)
{
	uint32_t v;

	memcpy(&v, c->base + off, sizeof(v));
	return v;
}

static uint64_t rd64(const struct mb2_ctx *c, size_t off)
{
	uint64_t v;

	memcpy(&v, c->base + off, sizeof(v));
	return v;
}

static int __printf(5, 6)
	fail(struct mb2_ctx *c, int code, uint32_t type, size_t off, const char *fmt, ...)
{
	int n;

	if (!c->errlen)
		return code;
	if (type == NO_TAG)
		n = fmt_snprintf(c->err, c->errlen, "multiboot2: ");
	else
		n = fmt_snprintf(c->err, c->errlen, "multiboot2: tag %u at offset 0x%zx: ", type,
				 off);
	if (n >= 0 && (size_t)n < c->errlen) {
		va_list ap;

		va_start(ap, fmt);
		fmt_vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return code;
}

/* Copy the NUL-terminated string occupying [off, end) of the block into dst[cap]. */
static int copy_string(struct mb2_ctx *c, uint32_t type, size_t tag_off, size_t off, size_t end,
		       char *dst, size_t cap, const char *what)
{
	size_t len = strnlen((const char *)c->base + off, end - off);

	if (len == end - off)
		return fail(c, -E_INVAL, type, tag_off, "%s not NUL-terminated inside the tag",
			    what);
	if (len >= cap)
		return fail(c, -E_INVAL, type, tag_off, "%s too long (%zu bytes, max %zu)", what,
			    len, cap - 1);
	memcpy(dst, c->base + off, len + 1);
	return 0;
}

static int tag_cmdline(struct mb2_ctx *c, uint32_t type, size_t off, uint32_t size)
{
	return copy_string(c, type, off, off + MB2_TAG_HDR_SIZE, off + size, c->bi->cmdline,
			   sizeof(c->bi->cmdline), "command line");
}

static int tag_loader_name(struct mb2_ctx *c, uint32_t type, size_t off, uint32_t size)
{
	return copy_string(c, type, off, off + MB2_TAG_HDR_SIZE, off + size, c->bi->loader_name,
			   sizeof(c->bi->loader_name), "loader name");
}

static int tag_module(struct mb2_ctx *c, uint32_t type, size_t off, uint32_t size)
{
	struct boot_info *bi = c->bi;
	struct boot_module *m;
	uint32_t start = rd32(c, off + MOD_START_OFF), end = rd32(c, off + MOD_END_OFF);

	if (bi->nr_modules >= BOOT_MODULES_MAX)
		return fail(c, -E_NOMEM, type, off, "more than %d modules", BOOT_MODULES_MAX);
	if (end < start)
		return fail(c, -E_INVAL, type, off, "module end 0x%x below start 0x%x", end, start);
	m = &bi->modules[bi->nr_modules];
	m->start = start;
	m->end = end;
	bi->nr_modules++;
	return copy_string(c, type, off, off + MOD_STRING_OFF, off + size, m->string,
			   sizeof(m->string), "module string");
}

/* Append a region, merging it into the previous one when asked and contiguous. */
static int add_region(struct mb2_ctx *c, uint32_t type, size_t off, uint64_t base, uint64_t len,
		      uint32_t mtype, bool merge)
{
	struct boot_info *bi = c->bi;
	struct mem_region *prev = bi->nr_mmap ? &bi->mmap[bi->nr_mmap - 1] : NULL;

	if (len == 0)
		return 0;
	if (merge && prev && prev->type == mtype && prev->base + prev->len == base) {
		prev->len += len;
		return 0;
	}
	if (bi->nr_mmap >= BOOT_MMAP_MAX)
		return fail(c, -E_NOMEM, type, off, "more than %d memory regions", BOOT_MMAP_MAX);
	bi->mmap[bi->nr_mmap].base = base;
	bi->mmap[bi->nr_mmap].len = len;
	bi->mmap[bi->nr_mmap].type = mtype;
	bi->nr_mmap++;
	return 0;
}

/* Checks shared by tags 6 and 17: the entry size, and that the entries tile the payload. */
static int check_entries(struct mb2_ctx *c, uint32_t type, size_t off, uint32_t size,
			 uint32_t entsz, uint32_t min)
{
	uint32_t payload = size - MMAP_ENTRIES_OFF;

	if (entsz < min || entsz % MMAP_ENTRY_ALIGN)
		return fail(c, -E_INVAL, type, off,
			    "entry size %u invalid (must be >= %u and a multiple of %u)", entsz,
			    min, MMAP_ENTRY_ALIGN);
	if (payload % entsz)
		return fail(
			c, -E_INVAL, type, off,
			"entries do not fit: %u payload bytes is not a multiple of entry size %u",
			payload, entsz);
	return 0;
}

static uint32_t e820_type(uint32_t t)
{
	return t >= MEM_USABLE && t <= MEM_BAD ? t : MEM_RESERVED;
}

static int tag_mmap(struct mb2_ctx *c, uint32_t type, size_t off, uint32_t size)
{
	uint32_t entsz = rd32(c, off + MMAP_ENTSZ_OFF);
	/* The EFI map takes precedence; this one is still validated but not stored. */
	bool store = !c->bi->mmap_from_efi;
	size_t e;
	int ret = check_entries(c, type, off, size, entsz, MMAP_ENTRY_MIN);

	if (ret)
		return ret;
	for (e = off + MMAP_ENTRIES_OFF; e < off + size; e += entsz) {
		uint64_t base = rd64(c, e + MMAP_ENT_BASE_OFF);
		uint64_t len = rd64(c, e + MMAP_ENT_LEN_OFF);

		if (len > UINT64_MAX - base)
			return fail(c, -E_INVAL, type, off,
				    "entry at 0x%zx: base 0x%llx + length 0x%llx wraps", e,
				    (unsigned long long)base, (unsigned long long)len);
		if ((e - off - MMAP_ENTRIES_OFF) / entsz >= BOOT_MMAP_MAX)
			return fail(c, -E_NOMEM, type, off, "more than %d memory regions",
				    BOOT_MMAP_MAX);
		if (store) {
			ret = add_region(c, type, off, base, len,
					 e820_type(rd32(c, e + MMAP_ENT_TYPE_OFF)), false);
			if (ret)
				return ret;
		}
	}
	return 0;
}

static uint32_t efi_type(uint32_t t)
{
	switch (t) {
	case EFI_LOADER_CODE:
	case EFI_LOADER_DATA:
	case EFI_BOOT_SERVICES_CODE:
	case EFI_BOOT_SERVICES_DATA:
	case EFI_CONVENTIONAL_MEMORY:
		return MEM_USABLE;
	case EFI_ACPI_RECLAIM_MEMORY:
		return MEM_ACPI_RECLAIM;
	case EFI_ACPI_MEMORY_NVS:
		return MEM_ACPI_NVS;
	case EFI_UNUSABLE_MEMORY:
		return MEM_BAD;
	default:
		return MEM_RESERVED;
	}
}

static int tag_efi_mmap(struct mb2_ctx *c, uint32_t type, size_t off, uint32_t size)
{
	uint32_t dsz = rd32(c, off + MMAP_ENTSZ_OFF), ver = rd32(c, off + MMAP_VERSION_OFF);
	size_t e;
	int ret = check_entries(c, type, off, size, dsz, EFI_DESC_MIN);

	if (ret)
		return ret;
	if (ver != EFI_DESC_VERSION)
		return fail(c, -E_INVAL, type, off, "unsupported descriptor version %u", ver);
	c->bi->nr_mmap = 0; /* replaces a tag-6 map parsed earlier */
	c->bi->mmap_from_efi = true;
	for (e = off + MMAP_ENTRIES_OFF; e < off + size; e += dsz) {
		uint64_t base = rd64(c, e + EFI_DESC_PHYS_OFF);
		uint64_t pages = rd64(c, e + EFI_DESC_NPAGES_OFF);
		uint64_t len = pages << EFI_PAGE_SHIFT;

		if (pages > (UINT64_MAX >> EFI_PAGE_SHIFT) || len > UINT64_MAX - base)
			return fail(c, -E_INVAL, type, off,
				    "descriptor at 0x%zx: base 0x%llx + 0x%llx pages wraps", e,
				    (unsigned long long)base, (unsigned long long)pages);
		ret = add_region(c, type, off, base, len, efi_type(rd32(c, e + EFI_DESC_TYPE_OFF)),
				 true);
		if (ret)
			return ret;
	}
	return 0;
}

static int tag_efi64(struct mb2_ctx *c, uint32_t type, size_t off, uint32_t size)
{
	(void)type;
	(void)size;
	c->bi->has_efi64 = true;
	c->bi->efi64_systab = rd64(c, off + EFI64_PTR_OFF);
	return 0;
}

static int tag_load_base(struct mb2_ctx *c, uint32_t type, size_t off, uint32_t size)
{
	(void)type;
	(void)size;
	c->bi->has_load_base = true;
	c->bi->load_base = rd32(c, off + LOAD_BASE_OFF);
	return 0;
}

static int tag_rsdp(struct mb2_ctx *c, uint32_t type, size_t off, uint32_t size)
{
	unsigned len = type == MB2_TAG_ACPI_NEW ? ACPI_RSDP_V2_LEN : ACPI_RSDP_V1_LEN;

	(void)size;
	/* Tag 15 (ACPI 2.0+) wins whatever the order; a later tag 14 does not replace it. */
	if (type == MB2_TAG_ACPI_OLD && c->bi->rsdp_len == ACPI_RSDP_V2_LEN)
		return 0;
	memset(c->bi->rsdp, 0, sizeof(c->bi->rsdp));
	memcpy(c->bi->rsdp, c->base + off + RSDP_OFF, len);
	c->bi->rsdp_len = len;
	return 0;
}

static const struct tag_handler handlers[] = {
	{MB2_TAG_CMDLINE, MB2_TAG_HDR_SIZE + 1, true, tag_cmdline},
	{MB2_TAG_LOADER_NAME, MB2_TAG_HDR_SIZE + 1, true, tag_loader_name},
	{MB2_TAG_MODULE, MOD_STRING_OFF + 1, false, tag_module},
	{MB2_TAG_MMAP, MMAP_ENTRIES_OFF, true, tag_mmap},
	{MB2_TAG_EFI64, EFI64_TAG_SIZE, true, tag_efi64},
	{MB2_TAG_ACPI_OLD, RSDP_OFF + ACPI_RSDP_V1_LEN, true, tag_rsdp},
	{MB2_TAG_ACPI_NEW, RSDP_OFF + ACPI_RSDP_V2_LEN, true, tag_rsdp},
	{MB2_TAG_EFI_MMAP, MMAP_ENTRIES_OFF, true, tag_efi_mmap},
	{MB2_TAG_LOAD_BASE, LOAD_BASE_SIZE, true, tag_load_base},
};

BUILD_BUG_ON(MB2_TAG_LOAD_BASE >= 32); /* singleton tracking uses a 32-bit mask */

static const struct tag_handler *find_handler(uint32_t type)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(handlers); i++)
		if (handlers[i].type == type)
			return &handlers[i];
	return NULL;
}

static int parse_tag(struct mb2_ctx *c, uint32_t type, size_t off, uint32_t size)
{
	const struct tag_handler *h = find_handler(type);

	if (!h) {
		c->bi->nr_unknown_tags++;
		return 0;
	}
	if (size < h->min_size)
		return fail(c, -E_INVAL, type, off, "size %u too small (minimum %u)", size,
			    h->min_size);
	if (h->singleton) {
		if (c->seen & (1u << type))
			return fail(c, -E_INVAL, type, off, "duplicate tag");
		c->seen |= 1u << type;
	}
	return h->parse(c, type, off, size);
}

static int check_modules_disjoint(struct mb2_ctx *c)
{
	const struct boot_info *bi = c->bi;
	unsigned i, j;

	for (i = 0; i < bi->nr_modules; i++)
		for (j = i + 1; j < bi->nr_modules; j++) {
			const struct boot_module *a = &bi->modules[i], *b = &bi->modules[j];

			/* Half-open ranges; an empty module shares no byte with anything. */
			if (a->start < a->end && b->start < b->end && a->start < b->end &&
			    b->start < a->end)
				return fail(c, -E_INVAL, NO_TAG, 0, "modules %u and %u overlap", i,
					    j);
		}
	return 0;
}

int mb2_parse(const void *mbi, size_t avail, struct boot_info *bi, char *err, size_t errlen)
{
	struct mb2_ctx c = {.base = mbi, .bi = bi, .err = err, .errlen = err ? errlen : 0};
	size_t off = MB2_INFO_HDR_SIZE;
	bool ended = false;

	memset(bi, 0, sizeof(*bi));
	if (c.errlen)
		err[0] = '\0';
	if (avail < MB2_INFO_HDR_SIZE)
		return fail(&c, -E_INVAL, NO_TAG, 0, "only %zu bytes available, header needs %d",
			    avail, MB2_INFO_HDR_SIZE);
	c.total = rd32(&c, 0);
	if (c.total < MB2_INFO_MIN_SIZE)
		return fail(&c, -E_INVAL, NO_TAG, 0, "total_size %u smaller than %d", c.total,
			    MB2_INFO_MIN_SIZE);
	if (c.total > avail)
		return fail(&c, -E_INVAL, NO_TAG, 0,
			    "total_size %u exceeds the %zu bytes available", c.total, avail);
	bi->total_size = c.total;

	while (off + MB2_TAG_HDR_SIZE <= c.total) {
		uint32_t type = rd32(&c, off), size = rd32(&c, off + sizeof(uint32_t));
		int ret;

		if (size < MB2_TAG_HDR_SIZE)
			return fail(&c, -E_INVAL, type, off, "size %u smaller than header", size);
		if (size > c.total - off)
			return fail(&c, -E_INVAL, type, off, "size %u extends past total_size %u",
				    size, c.total);
		if (type == MB2_TAG_END) {
			if (size != MB2_TAG_HDR_SIZE)
				return fail(&c, -E_INVAL, type, off, "end tag size %u is not %d",
					    size, MB2_TAG_HDR_SIZE);
			ended = true;
			break;
		}
		ret = parse_tag(&c, type, off, size);
		if (ret)
			return ret;
		/* size <= total - off <= UINT32_MAX, so this cannot wrap a size_t. */
		off += ALIGN_UP((size_t)size, (size_t)MB2_TAG_ALIGN);
	}
	if (!ended)
		return fail(&c, -E_INVAL, NO_TAG, 0, "no end tag before total_size %u", c.total);
	if (!(c.seen & (1u << MB2_TAG_MMAP | 1u << MB2_TAG_EFI_MMAP)))
		return fail(&c, -E_INVAL, NO_TAG, 0, "no memory map");
	if (bi->nr_mmap == 0)
		return fail(&c, -E_INVAL, NO_TAG, 0, "memory map has no non-empty region");
	return check_modules_disjoint(&c);
}

static uint8_t byte_sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

bool acpi_rsdp_valid(const void *rsdp, size_t len)
{
	const uint8_t *p = rsdp;
	uint32_t length;

	if (len < ACPI_RSDP_V1_LEN || memcmp(p, RSDP_SIG, RSDP_SIG_LEN) != 0)
		return false;
	if (byte_sum(p, ACPI_RSDP_V1_LEN) != 0)
		return false;
	if (p[RSDP_REVISION_OFF] < RSDP_REV_ACPI2)
		return true;
	if (len < ACPI_RSDP_V2_LEN)
		return false;
	memcpy(&length, p + RSDP_LENGTH_OFF, sizeof(length));
	if (length < ACPI_RSDP_V2_LEN || length > len)
		return false;
	return byte_sum(p, length) == 0;
}
