/*
 * boot/multiboot2: blocks are assembled by a small builder, then parsed from a heap copy of
 * exactly `avail` bytes so that AddressSanitizer flags any read past what the parser was given.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "boot/multiboot2.h"
#include "lib/errno.h"

#define BLK_CAP 16384
#define ERR_LEN 160
#define PAGE_4K 4096ull
#define MIB	(1024ull * 1024)

/* ---- block builder ------------------------------------------------------------------------ */

struct blk {
	_Alignas(8) uint8_t buf[BLK_CAP];
	size_t len;
};

static void blk_init(struct blk *b)
{
	memset(b->buf, 0, sizeof(b->buf));
	b->len = MB2_INFO_HDR_SIZE;
}

static void put32(struct blk *b, size_t off, uint32_t v)
{
	memcpy(b->buf + off, &v, sizeof(v));
}

/* Append a tag with the given payload (may be NULL: zeros); returns the tag's offset. */
static size_t blk_tag(struct blk *b, uint32_t type, const void *payload, size_t plen)
{
	size_t off = b->len;

	assert_true(off + MB2_TAG_HDR_SIZE + plen + 8 <= BLK_CAP);
	put32(b, off, type);
	put32(b, off + 4, (uint32_t)(MB2_TAG_HDR_SIZE + plen));
	if (payload)
		memcpy(b->buf + off + MB2_TAG_HDR_SIZE, payload, plen);
	b->len = (off + MB2_TAG_HDR_SIZE + plen + 7) & ~(size_t)7;
	return off;
}

static size_t blk_string(struct blk *b, uint32_t type, const char *s)
{
	return blk_tag(b, type, s, strlen(s) + 1);
}

static size_t blk_module(struct blk *b, uint32_t start, uint32_t end, const char *s)
{
	uint8_t p[8 + 512];
	size_t n = strlen(s) + 1;

	assert_true(n <= 512);
	memcpy(p, &start, 4);
	memcpy(p + 4, &end, 4);
	memcpy(p + 8, s, n);
	return blk_tag(b, MB2_TAG_MODULE, p, 8 + n);
}

struct e820 {
	uint64_t base, len;
	uint32_t type;
};

/* A tag 6 with entries of entsz bytes (>= 24 for real entries). */
static size_t blk_mmap(struct blk *b, uint32_t entsz, const struct e820 *e, size_t n)
{
	static uint8_t p[BLK_CAP];
	size_t i;

	memset(p, 0, sizeof(p));
	memcpy(p, &entsz, 4);
	for (i = 0; i < n; i++) {
		memcpy(p + 8 + i * entsz, &e[i].base, 8);
		memcpy(p + 8 + i * entsz + 8, &e[i].len, 8);
		memcpy(p + 8 + i * entsz + 16, &e[i].type, 4);
	}
	return blk_tag(b, MB2_TAG_MMAP, p, 8 + n * entsz);
}

struct efi_desc {
	uint32_t type;
	uint64_t phys, pages;
};

static size_t blk_efi_mmap(struct blk *b, uint32_t dsz, uint32_t ver, const struct efi_desc *d,
			   size_t n)
{
	static uint8_t p[BLK_CAP];
	size_t i;

	memset(p, 0, sizeof(p));
	memcpy(p, &dsz, 4);
	memcpy(p + 4, &ver, 4);
	for (i = 0; i < n; i++) {
		uint8_t *q = p + 8 + i * dsz;
		uint64_t virt = 0xdead0000;

		memcpy(q, &d[i].type, 4);
		memcpy(q + 8, &d[i].phys, 8);
		memcpy(q + 16, &virt, 8);
		memcpy(q + 24, &d[i].pages, 8);
	}
	return blk_tag(b, MB2_TAG_EFI_MMAP, p, 8 + n * dsz);
}

/* Close the block with an end tag and fill in total_size. */
static void blk_finish(struct blk *b)
{
	blk_tag(b, MB2_TAG_END, NULL, 0);
	put32(b, 0, (uint32_t)b->len);
}

static void make_rsdp(uint8_t *r, unsigned rev)
{
	uint32_t len = ACPI_RSDP_V2_LEN;
	uint64_t xsdt = 0x7fe1234;
	uint8_t s = 0;
	unsigned i;

	memset(r, 0, ACPI_RSDP_V2_LEN);
	memcpy(r, "RSD PTR ", 8);
	memcpy(r + 9, "BOCHS ", 6);
	r[15] = (uint8_t)rev;
	r[16] = 0x78; /* RSDT address */
	r[17] = 0x56;
	for (i = 0; i < ACPI_RSDP_V1_LEN; i++)
		s = (uint8_t)(s + r[i]);
	r[8] = (uint8_t)-s;
	if (rev >= 2) {
		memcpy(r + 20, &len, 4);
		memcpy(r + 24, &xsdt, 8);
		s = 0;
		for (i = 0; i < ACPI_RSDP_V2_LEN; i++)
			s = (uint8_t)(s + r[i]);
		r[32] = (uint8_t)-s;
	}
}

static const struct e820 bios_map[] = {
	{0, 0x9fc00, MEM_USABLE},
	{0x9fc00, 0x400, MEM_RESERVED},
	{0xf0000, 0x10000, MEM_RESERVED},
	{0x100000, 0x1fee0000, MEM_USABLE},
	{0x1ffe0000, 0x20000, MEM_RESERVED},
	{0xfffc0000, 0x40000, MEM_RESERVED},
};

/* A block like GRUB's on BIOS: tags 21, 1, 2, 3, 3, 4, 6, 14. */
static void build_bios(struct blk *b)
{
	uint32_t load_base = 0x200000;
	uint32_t meminfo[2] = {639, 523136};
	uint8_t rsdp[ACPI_RSDP_V2_LEN];

	make_rsdp(rsdp, 0);
	blk_init(b);
	blk_tag(b, MB2_TAG_LOAD_BASE, &load_base, 4);
	blk_string(b, MB2_TAG_CMDLINE, "/boot/mhv.elf console=com1 loglvl=debug");
	blk_string(b, MB2_TAG_LOADER_NAME, "GRUB 2.06-13+deb12u1");
	blk_module(b, 0x400000, 0x401000, "/boot/guest.bin guest");
	blk_module(b, 0x401000, 0x401800, "/boot/initrd");
	blk_tag(b, MB2_TAG_BASIC_MEM, meminfo, sizeof(meminfo));
	blk_mmap(b, 24, bios_map, sizeof(bios_map) / sizeof(bios_map[0]));
	blk_tag(b, MB2_TAG_ACPI_OLD, rsdp, ACPI_RSDP_V1_LEN);
	blk_finish(b);
}

static const struct efi_desc uefi_map[] = {
	{3, 0x0, 0x1},		 /* BootServicesCode */
	{7, 0x1000, 0x9f},	 /* Conventional: merges with the above */
	{0, 0xa0000, 0x60},	 /* Reserved */
	{7, 0x100000, 0x700},	 /* Conventional */
	{10, 0x800000, 0x8},	 /* ACPI NVS */
	{4, 0x808000, 0x8},	 /* BootServicesData */
	{2, 0x810000, 0x10},	 /* LoaderData, contiguous with the previous: merged */
	{9, 0x1f000000, 0x10},	 /* ACPI reclaim */
	{6, 0x1f010000, 0x20},	 /* RuntimeServicesData -> reserved */
	{11, 0xffc00000, 0x400}, /* MMIO -> reserved */
};

/* A block like GRUB's on UEFI: tags 21, 1, 2, 6, 9, 4, 12, 14, 15, 17. */
static void build_uefi(struct blk *b)
{
	uint32_t load_base = 0x1e000000;
	uint64_t systab = 0x1fe9f018;
	uint8_t v1[ACPI_RSDP_V2_LEN], v2[ACPI_RSDP_V2_LEN];
	uint8_t elf[20] = {0};
	uint32_t meminfo[2] = {640, 1000000};

	make_rsdp(v1, 0);
	make_rsdp(v2, 2);
	blk_init(b);
	blk_tag(b, MB2_TAG_LOAD_BASE, &load_base, 4);
	blk_string(b, MB2_TAG_CMDLINE, "/boot/mhv.elf");
	blk_string(b, MB2_TAG_LOADER_NAME, "GRUB 2.06");
	blk_mmap(b, 24, bios_map, 2);
	blk_tag(b, 9, elf, sizeof(elf));
	blk_tag(b, MB2_TAG_BASIC_MEM, meminfo, sizeof(meminfo));
	blk_tag(b, MB2_TAG_EFI64, &systab, 8);
	blk_tag(b, MB2_TAG_ACPI_OLD, v1, ACPI_RSDP_V1_LEN);
	blk_tag(b, MB2_TAG_ACPI_NEW, v2, ACPI_RSDP_V2_LEN);
	blk_efi_mmap(b, 48, 1, uefi_map, sizeof(uefi_map) / sizeof(uefi_map[0]));
	blk_finish(b);
}

/* ---- parsing helpers ---------------------------------------------------------------------- */

static struct boot_info bi;
static char err[ERR_LEN];

/* Parse the first `avail` bytes of b from a heap buffer of exactly that size. */
static int parse_n(const struct blk *b, size_t avail)
{
	uint8_t *copy = malloc(avail ? avail : 1);
	int r;

	assert_non_null(copy);
	memcpy(copy, b->buf, avail);
	memset(err, 'X', sizeof(err));
	r = mb2_parse(copy, avail, &bi, err, sizeof(err));
	free(copy);
	/* Failure always explains itself; success leaves err empty. */
	assert_non_null(memchr(err, '\0', sizeof(err)));
	if (r == 0)
		assert_string_equal(err, "");
	else
		assert_int_equal(strncmp(err, "multiboot2: ", 12), 0);
	return r;
}

static int parse(const struct blk *b)
{
	return parse_n(b, b->len);
}

static void expect_error(const struct blk *b, int code, const char *needle)
{
	assert_int_equal(parse(b), code);
	if (!strstr(err, needle))
		fail_msg("error \"%s\" lacks \"%s\"", err, needle);
}

static uint32_t get32(const struct blk *b, size_t off)
{
	uint32_t v;

	memcpy(&v, b->buf + off, 4);
	return v;
}

/* The smallest acceptable block: a one-entry memory map. */
static void build_minimal_prefix(struct blk *b)
{
	blk_init(b);
	blk_mmap(b, 24, bios_map, 1);
}

/* ---- realistic blocks --------------------------------------------------------------------- */

static void test_mb2_bios_block_parses_all_tags(void **state)
{
	struct blk b;
	size_t i;

	(void)state;
	build_bios(&b);
	assert_int_equal(parse(&b), 0);
	assert_int_equal(bi.total_size, b.len);
	assert_string_equal(bi.cmdline, "/boot/mhv.elf console=com1 loglvl=debug");
	assert_string_equal(bi.loader_name, "GRUB 2.06-13+deb12u1");
	assert_int_equal(bi.nr_modules, 2);
	assert_int_equal(bi.modules[0].start, 0x400000);
	assert_int_equal(bi.modules[0].end, 0x401000);
	assert_string_equal(bi.modules[0].string, "/boot/guest.bin guest");
	assert_int_equal(bi.modules[1].start, 0x401000);
	assert_int_equal(bi.modules[1].end, 0x401800);
	assert_string_equal(bi.modules[1].string, "/boot/initrd");
	assert_false(bi.mmap_from_efi);
	assert_int_equal(bi.nr_mmap, sizeof(bios_map) / sizeof(bios_map[0]));
	for (i = 0; i < bi.nr_mmap; i++) {
		assert_int_equal(bi.mmap[i].base, bios_map[i].base);
		assert_int_equal(bi.mmap[i].len, bios_map[i].len);
		assert_int_equal(bi.mmap[i].type, bios_map[i].type);
	}
	assert_int_equal(bi.rsdp_len, ACPI_RSDP_V1_LEN);
	assert_memory_equal(bi.rsdp, "RSD PTR ", 8);
	assert_true(acpi_rsdp_valid(bi.rsdp, bi.rsdp_len));
	assert_false(bi.has_efi64);
	assert_true(bi.has_load_base);
	assert_int_equal(bi.load_base, 0x200000);
	assert_int_equal(bi.nr_unknown_tags, 1); /* tag 4 */
}

static void test_mb2_uefi_block_prefers_efi_map_and_rsdp_v2(void **state)
{
	static const struct mem_region want[] = {
		{0x0, 0xa0000, MEM_USABLE},	     {0xa0000, 0x60000, MEM_RESERVED},
		{0x100000, 0x700000, MEM_USABLE},    {0x800000, 0x8000, MEM_ACPI_NVS},
		{0x808000, 0x18000, MEM_USABLE},     {0x1f000000, 0x10000, MEM_ACPI_RECLAIM},
		{0x1f010000, 0x20000, MEM_RESERVED}, {0xffc00000, 0x400000, MEM_RESERVED},
	};
	struct blk b;
	size_t i;

	(void)state;
	build_uefi(&b);
	assert_int_equal(parse(&b), 0);
	assert_true(bi.mmap_from_efi);
	assert_int_equal(bi.nr_mmap, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < bi.nr_mmap; i++) {
		assert_int_equal(bi.mmap[i].base, want[i].base);
		assert_int_equal(bi.mmap[i].len, want[i].len);
		assert_int_equal(bi.mmap[i].type, want[i].type);
	}
	assert_true(bi.has_efi64);
	assert_int_equal(bi.efi64_systab, 0x1fe9f018);
	assert_int_equal(bi.rsdp_len, ACPI_RSDP_V2_LEN);
	assert_int_equal(bi.rsdp[15], 2);
	assert_true(acpi_rsdp_valid(bi.rsdp, bi.rsdp_len));
	assert_int_equal(bi.load_base, 0x1e000000);
	assert_string_equal(bi.cmdline, "/boot/mhv.elf");
	assert_int_equal(bi.nr_modules, 0);
	assert_int_equal(bi.nr_unknown_tags, 2); /* tags 9 and 4 */
}

/* Tag order must not matter: EFI map before the legacy one, RSDP v2 before v1. */
static void test_mb2_efi_map_and_rsdp_v2_win_in_any_order(void **state)
{
	static const struct efi_desc d[] = {{7, 0x100000, 0x100}};
	uint8_t v1[ACPI_RSDP_V2_LEN], v2[ACPI_RSDP_V2_LEN];
	struct blk b;

	(void)state;
	make_rsdp(v1, 0);
	make_rsdp(v2, 2);
	blk_init(&b);
	blk_tag(&b, MB2_TAG_ACPI_NEW, v2, ACPI_RSDP_V2_LEN);
	blk_efi_mmap(&b, 40, 1, d, 1);
	blk_tag(&b, MB2_TAG_ACPI_OLD, v1, ACPI_RSDP_V1_LEN);
	blk_mmap(&b, 24, bios_map, 3);
	blk_finish(&b);
	assert_int_equal(parse(&b), 0);
	assert_true(bi.mmap_from_efi);
	assert_int_equal(bi.nr_mmap, 1);
	assert_int_equal(bi.mmap[0].base, 0x100000);
	assert_int_equal(bi.mmap[0].len, 0x100000);
	assert_int_equal(bi.rsdp_len, ACPI_RSDP_V2_LEN);
	assert_memory_equal(bi.rsdp, v2, ACPI_RSDP_V2_LEN);
}

static void test_mb2_efi_types_are_converted(void **state)
{
	/* Every EFI type 0..15 and one beyond, spaced apart so nothing merges. */
	static const uint32_t want[] = {
		MEM_RESERVED, MEM_USABLE,   MEM_USABLE,	  MEM_USABLE,	MEM_USABLE,
		MEM_RESERVED, MEM_RESERVED, MEM_USABLE,	  MEM_BAD,	MEM_ACPI_RECLAIM,
		MEM_ACPI_NVS, MEM_RESERVED, MEM_RESERVED, MEM_RESERVED, MEM_RESERVED,
		MEM_RESERVED, MEM_RESERVED,
	};
	struct efi_desc d[sizeof(want) / sizeof(want[0])];
	struct blk b;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		d[i].type = (uint32_t)i;
		d[i].phys = i * 2 * MIB;
		d[i].pages = 3;
	}
	d[16].type = 0x80000001; /* OEM range */
	blk_init(&b);
	blk_efi_mmap(&b, 40, 1, d, sizeof(want) / sizeof(want[0]));
	blk_finish(&b);
	assert_int_equal(parse(&b), 0);
	assert_int_equal(bi.nr_mmap, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < bi.nr_mmap; i++) {
		assert_int_equal(bi.mmap[i].base, i * 2 * MIB);
		assert_int_equal(bi.mmap[i].len, 3 * PAGE_4K);
		assert_int_equal(bi.mmap[i].type, want[i]);
	}
}

static void test_mb2_e820_types_normalised_and_empty_entries_dropped(void **state)
{
	static const struct e820 e[] = {
		{0, 0x1000, 7},
		{0x1000, 0, MEM_USABLE},
		{0x2000, 0x1000, 5},
		{0x3000, 0x1000, 0},
	};
	struct blk b;

	(void)state;
	blk_init(&b);
	blk_mmap(&b, 24, e, 4);
	blk_finish(&b);
	assert_int_equal(parse(&b), 0);
	assert_int_equal(bi.nr_mmap, 3);
	assert_int_equal(bi.mmap[0].type, MEM_RESERVED);
	assert_int_equal(bi.mmap[1].base, 0x2000);
	assert_int_equal(bi.mmap[1].type, MEM_BAD);
	assert_int_equal(bi.mmap[2].type, MEM_RESERVED);
}

/* Entries larger than 24 bytes are allowed (the size exists so the format can grow). */
static void test_mb2_mmap_larger_entry_size_accepted(void **state)
{
	struct blk b;

	(void)state;
	blk_init(&b);
	blk_mmap(&b, 32, bios_map, 4);
	blk_finish(&b);
	assert_int_equal(parse(&b), 0);
	assert_int_equal(bi.nr_mmap, 4);
	assert_int_equal(bi.mmap[3].base, 0x100000);
	assert_int_equal(bi.mmap[3].len, 0x1fee0000);
}

/* ---- malformed block headers -------------------------------------------------------------- */

static void test_mb2_truncated_avail_below_total_size(void **state)
{
	struct blk b;

	(void)state;
	build_bios(&b);
	assert_int_equal(parse_n(&b, b.len - 1), -E_INVAL);
	assert_non_null(strstr(err, "exceeds"));
	assert_int_equal(parse_n(&b, 4), -E_INVAL);
	assert_int_equal(parse_n(&b, 0), -E_INVAL);
}

static void test_mb2_total_size_below_16(void **state)
{
	struct blk b;
	uint32_t t;

	(void)state;
	build_bios(&b);
	for (t = 0; t < MB2_INFO_MIN_SIZE; t++) {
		put32(&b, 0, t);
		assert_int_equal(parse(&b), -E_INVAL);
		assert_non_null(strstr(err, "smaller than 16"));
	}
}

/* total_size 16 holding only an end tag is well-formed, but has no memory map. */
static void test_mb2_end_tag_only_has_no_memory_map(void **state)
{
	struct blk b;

	(void)state;
	blk_init(&b);
	blk_finish(&b);
	assert_int_equal(b.len, 16);
	expect_error(&b, -E_INVAL, "no memory map");
}

static void test_mb2_zero_sized_tag(void **state)
{
	struct blk b;
	size_t off;

	(void)state;
	build_minimal_prefix(&b);
	off = blk_string(&b, MB2_TAG_CMDLINE, "x");
	put32(&b, off + 4, 0);
	blk_finish(&b);
	expect_error(&b, -E_INVAL, "size 0 smaller than header");
}

static void test_mb2_tag_size_4_exact_message(void **state)
{
	struct blk b;
	size_t off;

	(void)state;
	blk_init(&b);
	blk_string(&b, MB2_TAG_CMDLINE, "/boot/mhv.elf console=com1 baud=9600 loglvl=info");
	off = blk_mmap(&b, 24, bios_map, 1);
	assert_int_equal(off, 0x48);
	put32(&b, off + 4, 4);
	blk_finish(&b);
	assert_int_equal(parse(&b), -E_INVAL);
	assert_string_equal(err, "multiboot2: tag 6 at offset 0x48: size 4 smaller than header");
}

static void test_mb2_huge_tag_size(void **state)
{
	struct blk b;
	size_t off;

	(void)state;
	build_minimal_prefix(&b);
	off = blk_string(&b, MB2_TAG_CMDLINE, "x");
	put32(&b, off + 4, 0xFFFFFFF0);
	blk_finish(&b);
	expect_error(&b, -E_INVAL, "size 4294967280 extends past total_size");
	put32(&b, off + 4, 0xFFFFFFFF);
	expect_error(&b, -E_INVAL, "extends past total_size");
}

static void test_mb2_tag_past_end(void **state)
{
	struct blk b;
	size_t off;

	(void)state;
	build_minimal_prefix(&b);
	off = blk_string(&b, MB2_TAG_CMDLINE, "x");
	blk_finish(&b);
	/* Reaches 1 byte beyond the end tag's end. */
	put32(&b, off + 4, (uint32_t)(b.len - off + 1));
	expect_error(&b, -E_INVAL, "extends past total_size");
	/* Exactly up to total_size is in bounds but then swallows the end tag. */
	put32(&b, off + 4, (uint32_t)(b.len - off));
	expect_error(&b, -E_INVAL, "no end tag");
}

static void test_mb2_missing_end_tag(void **state)
{
	struct blk b;

	(void)state;
	build_minimal_prefix(&b);
	blk_string(&b, MB2_TAG_CMDLINE, "abc");
	put32(&b, 0, (uint32_t)b.len);
	expect_error(&b, -E_INVAL, "no end tag");
	/* Leftover bytes shorter than a tag header after the last tag. */
	b.len += 4;
	put32(&b, 0, (uint32_t)b.len);
	expect_error(&b, -E_INVAL, "no end tag");
}

static void test_mb2_end_tag_wrong_size(void **state)
{
	struct blk b;

	(void)state;
	build_minimal_prefix(&b);
	blk_tag(&b, MB2_TAG_END, NULL, 8);
	put32(&b, 0, (uint32_t)b.len);
	expect_error(&b, -E_INVAL, "end tag size 16 is not 8");
}

/* A builder that forgot the 8-byte padding: the next tag is read from the wrong place. */
static void test_mb2_misaligned_tag(void **state)
{
	struct blk b;
	size_t off;

	(void)state;
	build_minimal_prefix(&b);
	off = blk_string(&b, MB2_TAG_CMDLINE, "abc"); /* size 12, next tag due at off + 16 */
	/* Put the end tag at off + 12 instead. */
	memset(b.buf + off + 12, 0, 12);
	put32(&b, off + 12, MB2_TAG_END);
	put32(&b, off + 16, 8);
	b.len = off + 24; /* 4 zero bytes follow: read as the bogus tag's size */
	put32(&b, 0, (uint32_t)b.len);
	/* The parser reads type 8 (the misplaced size) and then a size past total_size. */
	assert_int_equal(parse(&b), -E_INVAL);
	assert_string_equal(err, "multiboot2: tag 8 at offset 0x40: size 0 smaller than header");
}

/* ---- memory maps -------------------------------------------------------------------------- */

static void test_mb2_mmap_entry_size_invalid(void **state)
{
	static const uint32_t bad[] = {0, 8, 16, 20, 23, 28, 30};
	struct blk b;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t off;

		blk_init(&b);
		off = blk_mmap(&b, 24, bios_map, 2);
		put32(&b, off + 8, bad[i]);
		blk_finish(&b);
		expect_error(&b, -E_INVAL, "entry size");
	}
}

static void test_mb2_mmap_entries_do_not_fit(void **state)
{
	struct blk b;
	size_t off;

	(void)state;
	blk_init(&b);
	off = blk_mmap(&b, 24, bios_map, 2);
	put32(&b, off + 4, get32(&b, off + 4) - 8); /* last entry cut short */
	blk_finish(&b);
	expect_error(&b, -E_INVAL, "entries do not fit");
}

static void test_mb2_mmap_region_wraps(void **state)
{
	const struct e820 e[] = {{0xfffffffffffff000ull, 0x1000, MEM_RESERVED}};
	const struct e820 ok[] = {{0xffffffffffff0000ull, 0xffff, MEM_RESERVED}};
	struct blk b;

	(void)state;
	blk_init(&b);
	blk_mmap(&b, 24, e, 1);
	blk_finish(&b);
	expect_error(&b, -E_INVAL, "wraps");
	blk_init(&b);
	blk_mmap(&b, 24, ok, 1);
	blk_finish(&b);
	assert_int_equal(parse(&b), 0);
}

static void test_mb2_efi_mmap_bad_descriptor_size_or_version(void **state)
{
	static const struct efi_desc d[] = {{7, 0x100000, 1}};
	struct blk b;

	(void)state;
	blk_init(&b);
	blk_efi_mmap(&b, 32, 1, d, 1);
	blk_finish(&b);
	expect_error(&b, -E_INVAL, "entry size 32 invalid");
	blk_init(&b);
	blk_efi_mmap(&b, 44, 1, d, 1);
	blk_finish(&b);
	expect_error(&b, -E_INVAL, "entry size 44 invalid");
	blk_init(&b);
	blk_efi_mmap(&b, 40, 2, d, 1);
	blk_finish(&b);
	expect_error(&b, -E_INVAL, "unsupported descriptor version 2");
}

static void test_mb2_efi_mmap_page_count_overflow(void **state)
{
	static const struct efi_desc huge[] = {{7, 0, 1ull << 52}};
	static const struct efi_desc wrap[] = {{7, 0xfffffffffff00000ull, 0x100}};
	struct blk b;

	(void)state;
	blk_init(&b);
	blk_efi_mmap(&b, 40, 1, huge, 1);
	blk_finish(&b);
	expect_error(&b, -E_INVAL, "wraps");
	blk_init(&b);
	blk_efi_mmap(&b, 40, 1, wrap, 1);
	blk_finish(&b);
	expect_error(&b, -E_INVAL, "wraps");
}

static void test_mb2_too_many_mmap_entries(void **state)
{
	struct e820 e[BOOT_MMAP_MAX + 1];
	struct blk b;
	size_t i;

	(void)state;
	for (i = 0; i <= BOOT_MMAP_MAX; i++) {
		e[i].base = i * 2 * PAGE_4K; /* gaps: no merging */
		e[i].len = PAGE_4K;
		e[i].type = MEM_USABLE;
	}
	blk_init(&b);
	blk_mmap(&b, 24, e, BOOT_MMAP_MAX);
	blk_finish(&b);
	assert_int_equal(parse(&b), 0);
	assert_int_equal(bi.nr_mmap, BOOT_MMAP_MAX);
	blk_init(&b);
	blk_mmap(&b, 24, e, BOOT_MMAP_MAX + 1);
	blk_finish(&b);
	expect_error(&b, -E_NOMEM, "more than 128 memory regions");
}

static void test_mb2_efi_map_contiguous_entries_merge_below_limit(void **state)
{
	struct efi_desc d[2 * BOOT_MMAP_MAX];
	struct blk b;
	size_t i;

	(void)state;
	for (i = 0; i < 2 * BOOT_MMAP_MAX; i++) {
		d[i].type = i % 2 ? 4 : 7; /* BootServicesData / Conventional: both usable */
		d[i].phys = i * PAGE_4K;
		d[i].pages = 1;
	}
	blk_init(&b);
	blk_efi_mmap(&b, 40, 1, d, 2 * BOOT_MMAP_MAX);
	blk_finish(&b);
	assert_int_equal(parse(&b), 0);
	assert_int_equal(bi.nr_mmap, 1);
	assert_int_equal(bi.mmap[0].len, 2 * BOOT_MMAP_MAX * PAGE_4K);
	/* Alternating types cannot merge: too many regions. */
	for (i = 0; i < 2 * BOOT_MMAP_MAX; i++)
		d[i].type = i % 2 ? 0 : 7;
	blk_init(&b);
	blk_efi_mmap(&b, 40, 1, d, 2 * BOOT_MMAP_MAX);
	blk_finish(&b);
	expect_error(&b, -E_NOMEM, "more than 128 memory regions");
}

static void test_mb2_no_memory_map_or_empty_map(void **state)
{
	static const struct e820 empty[] = {{0x1000, 0, MEM_USABLE}};
	struct blk b;

	(void)state;
	blk_init(&b);
	blk_string(&b, MB2_TAG_CMDLINE, "x");
	blk_finish(&b);
	expect_error(&b, -E_INVAL, "no memory map");
	blk_init(&b);
	blk_mmap(&b, 24, empty, 1);
	blk_finish(&b);
	expect_error(&b, -E_INVAL, "memory map has no non-empty region");
	blk_init(&b);
	blk_mmap(&b, 24, empty, 0);
	blk_finish(&b);
	expect_error(&b, -E_INVAL, "memory map has no non-empty region");
}

/* ---- modules ------------------------------------------------------------------------------ */

static void test_mb2_overlapping_modules(void **state)
{
	struct blk b;

	(void)state;
	build_minimal_prefix(&b);
	blk_module(&b, 0x400000, 0x500000, "a");
	blk_module(&b, 0x600000, 0x700000, "b");
	blk_module(&b, 0x4ff000, 0x500001, "c");
	blk_finish(&b);
	expect_error(&b, -E_INVAL, "modules 0 and 2 overlap");
}

static void test_mb2_touching_and_empty_modules_do_not_overlap(void **state)
{
	struct blk b;

	(void)state;
	build_minimal_prefix(&b);
	blk_module(&b, 0x400000, 0x500000, "a");
	blk_module(&b, 0x500000, 0x600000, "b");
	blk_module(&b, 0x450000, 0x450000, "empty");
	blk_finish(&b);
	assert_int_equal(parse(&b), 0);
	assert_int_equal(bi.nr_modules, 3);
	assert_string_equal(bi.modules[2].string, "empty");
}

static void test_mb2_module_end_below_start(void **state)
{
	struct blk b;

	(void)state;
	build_minimal_prefix(&b);
	blk_module(&b, 0x500000, 0x4fffff, "a");
	blk_finish(&b);
	expect_error(&b, -E_INVAL, "module end 0x4fffff below start 0x500000");
}

static void test_mb2_too_many_modules(void **state)
{
	struct blk b;
	uint32_t i;

	(void)state;
	build_minimal_prefix(&b);
	for (i = 0; i < BOOT_MODULES_MAX; i++)
		blk_module(&b, i * 0x1000, i * 0x1000 + 0x1000, "m");
	blk_finish(&b);
	assert_int_equal(parse(&b), 0);
	assert_int_equal(bi.nr_modules, BOOT_MODULES_MAX);
	build_minimal_prefix(&b);
	for (i = 0; i <= BOOT_MODULES_MAX; i++)
		blk_module(&b, i * 0x1000, i * 0x1000 + 0x1000, "m");
	blk_finish(&b);
	expect_error(&b, -E_NOMEM, "more than 16 modules");
}

static void test_mb2_module_tag_too_small(void **state)
{
	struct blk b;
	size_t off;

	(void)state;
	build_minimal_prefix(&b);
	off = blk_module(&b, 0, 0x1000, "m");
	put32(&b, off + 4, 16); /* no room for even the NUL */
	blk_finish(&b);
	expect_error(&b, -E_INVAL, "size 16 too small (minimum 17)");
}

/* ---- strings ------------------------------------------------------------------------------ */

static void test_mb2_strings_not_terminated(void **state)
{
	struct blk b;
	size_t off;

	(void)state;
	build_minimal_prefix(&b);
	blk_tag(&b, MB2_TAG_CMDLINE, "abcdefgh", 8); /* no NUL; padding would have one */
	blk_finish(&b);
	expect_error(&b, -E_INVAL, "command line not NUL-terminated");

	build_minimal_prefix(&b);
	blk_tag(&b, MB2_TAG_LOADER_NAME, "GRUB", 4);
	blk_finish(&b);
	expect_error(&b, -E_INVAL, "loader name not NUL-terminated");

	build_minimal_prefix(&b);
	off = blk_module(&b, 0, 0x1000, "mod");
	put32(&b, off + 4, 16 + 3); /* cut the NUL off */
	blk_finish(&b);
	expect_error(&b, -E_INVAL, "module string not NUL-terminated");
}

static void test_mb2_strings_too_long(void **state)
{
	static char s[BOOT_CMDLINE_MAX + 1];
	struct blk b;

	(void)state;
	memset(s, 'a', BOOT_CMDLINE_MAX - 1);
	s[BOOT_CMDLINE_MAX - 1] = '\0';
	build_minimal_prefix(&b);
	blk_string(&b, MB2_TAG_CMDLINE, s);
	blk_finish(&b);
	assert_int_equal(parse(&b), 0);
	assert_int_equal(strlen(bi.cmdline), BOOT_CMDLINE_MAX - 1);

	s[BOOT_CMDLINE_MAX - 1] = 'a';
	s[BOOT_CMDLINE_MAX] = '\0';
	build_minimal_prefix(&b);
	blk_string(&b, MB2_TAG_CMDLINE, s);
	blk_finish(&b);
	expect_error(&b, -E_INVAL, "command line too long (1024 bytes, max 1023)");

	s[BOOT_LOADER_MAX] = '\0';
	build_minimal_prefix(&b);
	blk_string(&b, MB2_TAG_LOADER_NAME, s);
	blk_finish(&b);
	expect_error(&b, -E_INVAL, "loader name too long (64 bytes, max 63)");

	s[BOOT_LOADER_MAX] = 'a';
	s[BOOT_MODSTR_MAX] = '\0';
	build_minimal_prefix(&b);
	blk_module(&b, 0, 1, s);
	blk_finish(&b);
	expect_error(&b, -E_INVAL, "module string too long (256 bytes, max 255)");
}

/* ---- singletons, unknown tags, minimum sizes ---------------------------------------------- */

static void test_mb2_duplicate_singleton_tags(void **state)
{
	static const struct efi_desc d[] = {{7, 0x100000, 1}};
	struct blk b;

	(void)state;
	build_minimal_prefix(&b);
	blk_string(&b, MB2_TAG_CMDLINE, "a");
	blk_string(&b, MB2_TAG_CMDLINE, "b");
	blk_finish(&b);
	expect_error(&b, -E_INVAL, "tag 1 at offset 0x40: duplicate tag");

	build_minimal_prefix(&b);
	blk_mmap(&b, 24, bios_map, 2);
	blk_finish(&b);
	expect_error(&b, -E_INVAL, "tag 6 at offset 0x30: duplicate tag");

	blk_init(&b);
	blk_efi_mmap(&b, 40, 1, d, 1);
	blk_efi_mmap(&b, 40, 1, d, 1);
	blk_finish(&b);
	expect_error(&b, -E_INVAL, "duplicate tag");
}

static void test_mb2_unknown_tags_skipped_and_counted(void **state)
{
	static const uint32_t types[] = {4, 5, 8, 9, 13, 16, 18, 20, 22, 31, 32, 999, 0xFFFFFFFF};
	uint8_t junk[37];
	struct blk b;
	size_t i;

	(void)state;
	memset(junk, 0xA5, sizeof(junk));
	build_minimal_prefix(&b);
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		blk_tag(&b, types[i], junk, i % sizeof(junk));
	blk_string(&b, MB2_TAG_CMDLINE, "after");
	blk_finish(&b);
	assert_int_equal(parse(&b), 0);
	assert_int_equal(bi.nr_unknown_tags, sizeof(types) / sizeof(types[0]));
	assert_string_equal(bi.cmdline, "after");
}

static void test_mb2_fixed_tags_below_minimum_size(void **state)
{
	static const struct {
		uint32_t type;
		uint32_t size;
		const char *msg;
	} cases[] = {
		{MB2_TAG_EFI64, 12, "size 12 too small (minimum 16)"},
		{MB2_TAG_LOAD_BASE, 8, "size 8 too small (minimum 12)"},
		{MB2_TAG_ACPI_OLD, 27, "size 27 too small (minimum 28)"},
		{MB2_TAG_ACPI_NEW, 28, "size 28 too small (minimum 44)"},
		{MB2_TAG_MMAP, 12, "size 12 too small (minimum 16)"},
		{MB2_TAG_EFI_MMAP, 15, "size 15 too small (minimum 16)"},
		{MB2_TAG_CMDLINE, 8, "size 8 too small (minimum 9)"},
	};
	uint8_t zeros[64] = {0};
	struct blk b;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		build_minimal_prefix(&b);
		blk_tag(&b, cases[i].type, zeros, cases[i].size - MB2_TAG_HDR_SIZE);
		blk_finish(&b);
		expect_error(&b, -E_INVAL, cases[i].msg);
	}
}

static void test_mb2_err_buffer_null_or_tiny(void **state)
{
	struct blk b;
	char tiny[8];

	(void)state;
	blk_init(&b);
	blk_finish(&b);
	assert_int_equal(mb2_parse(b.buf, b.len, &bi, NULL, 0), -E_INVAL);
	assert_int_equal(mb2_parse(b.buf, b.len, &bi, NULL, 100), -E_INVAL);
	memset(tiny, 'X', sizeof(tiny));
	assert_int_equal(mb2_parse(b.buf, b.len, &bi, tiny, sizeof(tiny)), -E_INVAL);
	assert_string_equal(tiny, "multibo");
}

/* ---- ACPI RSDP ---------------------------------------------------------------------------- */

static void test_rsdp_v1_checksum(void **state)
{
	uint8_t r[ACPI_RSDP_V2_LEN];

	(void)state;
	make_rsdp(r, 0);
	assert_true(acpi_rsdp_valid(r, ACPI_RSDP_V1_LEN));
	assert_false(acpi_rsdp_valid(r, ACPI_RSDP_V1_LEN - 1));
	r[19] ^= 1;
	assert_false(acpi_rsdp_valid(r, ACPI_RSDP_V1_LEN));
	make_rsdp(r, 0);
	r[0] = 'X';
	r[8] = (uint8_t)(r[8] + 'R' - 'X'); /* checksum still fine, signature not */
	assert_false(acpi_rsdp_valid(r, ACPI_RSDP_V1_LEN));
}

static void test_rsdp_v2_extended_checksum(void **state)
{
	uint8_t r[ACPI_RSDP_V2_LEN];
	uint32_t len;

	(void)state;
	make_rsdp(r, 2);
	assert_true(acpi_rsdp_valid(r, ACPI_RSDP_V2_LEN));
	/* Only 20 bytes given for a revision 2 table: cannot be checked, so not valid. */
	assert_false(acpi_rsdp_valid(r, ACPI_RSDP_V1_LEN));
	r[30] ^= 0x40; /* XSDT byte: the 20-byte checksum is unaffected */
	assert_false(acpi_rsdp_valid(r, ACPI_RSDP_V2_LEN));
	make_rsdp(r, 2);
	len = 100;
	memcpy(r + 20, &len, 4);
	assert_false(acpi_rsdp_valid(r, ACPI_RSDP_V2_LEN)); /* length beyond what we have */
	len = 20;
	memcpy(r + 20, &len, 4);
	assert_false(acpi_rsdp_valid(r, ACPI_RSDP_V2_LEN)); /* length below 36 */
}

/* ---- robustness: every truncation and every single-byte corruption ------------------------ */

static void check_sane(void)
{
	unsigned i;

	assert_true(bi.nr_mmap >= 1 && bi.nr_mmap <= BOOT_MMAP_MAX);
	assert_true(bi.nr_modules <= BOOT_MODULES_MAX);
	assert_true(bi.rsdp_len == 0 || bi.rsdp_len == ACPI_RSDP_V1_LEN ||
		    bi.rsdp_len == ACPI_RSDP_V2_LEN);
	assert_non_null(memchr(bi.cmdline, '\0', sizeof(bi.cmdline)));
	assert_non_null(memchr(bi.loader_name, '\0', sizeof(bi.loader_name)));
	for (i = 0; i < bi.nr_modules; i++) {
		assert_true(bi.modules[i].start <= bi.modules[i].end);
		assert_non_null(memchr(bi.modules[i].string, '\0', BOOT_MODSTR_MAX));
	}
	for (i = 0; i < bi.nr_mmap; i++)
		assert_true(bi.mmap[i].len <= UINT64_MAX - bi.mmap[i].base);
}

static void truncate_all(void (*build)(struct blk *))
{
	struct blk b;
	size_t k, full;

	build(&b);
	full = b.len;
	for (k = 0; k <= full; k++) {
		/* Less readable than total_size says. */
		int r = parse_n(&b, k);

		assert_int_equal(r, k == full ? 0 : -E_INVAL);
		/* total_size itself claims only k bytes. */
		put32(&b, 0, (uint32_t)k);
		r = parse_n(&b, k);
		if (k == full)
			assert_int_equal(r, 0);
		else
			assert_true(r == -E_INVAL || r == -E_NOMEM);
		put32(&b, 0, (uint32_t)full);
	}
}

static void test_mb2_every_truncation_length_fails_cleanly(void **state)
{
	(void)state;
	truncate_all(build_bios);
	truncate_all(build_uefi);
}

static void corrupt_all(void (*build)(struct blk *))
{
	static const uint8_t patterns[] = {0x00, 0xff, 0x01, 0x80, 0x7f, 0x08, 0x10};
	struct blk b;
	size_t i, p, ok = 0, failed = 0;

	build(&b);
	for (i = 0; i < b.len; i++) {
		uint8_t orig = b.buf[i];

		for (p = 0; p <= sizeof(patterns); p++) {
			/* Each fixed value, plus flipping every bit of the original. */
			b.buf[i] = p < sizeof(patterns) ? patterns[p] : (uint8_t)~orig;
			if (b.buf[i] == orig)
				continue;
			if (parse(&b) == 0) {
				check_sane();
				ok++;
			} else {
				failed++;
			}
		}
		b.buf[i] = orig;
	}
	/* Both outcomes must occur: corrupting a string byte is harmless, a size byte is not. */
	assert_true(ok > 0);
	assert_true(failed > 0);
}

static void test_mb2_every_single_byte_corruption_is_handled(void **state)
{
	(void)state;
	corrupt_all(build_bios);
	corrupt_all(build_uefi);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mb2_bios_block_parses_all_tags),
		cmocka_unit_test(test_mb2_uefi_block_prefers_efi_map_and_rsdp_v2),
		cmocka_unit_test(test_mb2_efi_map_and_rsdp_v2_win_in_any_order),
		cmocka_unit_test(test_mb2_efi_types_are_converted),
		cmocka_unit_test(test_mb2_e820_types_normalised_and_empty_entries_dropped),
		cmocka_unit_test(test_mb2_mmap_larger_entry_size_accepted),
		cmocka_unit_test(test_mb2_truncated_avail_below_total_size),
		cmocka_unit_test(test_mb2_total_size_below_16),
		cmocka_unit_test(test_mb2_end_tag_only_has_no_memory_map),
		cmocka_unit_test(test_mb2_zero_sized_tag),
		cmocka_unit_test(test_mb2_tag_size_4_exact_message),
		cmocka_unit_test(test_mb2_huge_tag_size),
		cmocka_unit_test(test_mb2_tag_past_end),
		cmocka_unit_test(test_mb2_missing_end_tag),
		cmocka_unit_test(test_mb2_end_tag_wrong_size),
		cmocka_unit_test(test_mb2_misaligned_tag),
		cmocka_unit_test(test_mb2_mmap_entry_size_invalid),
		cmocka_unit_test(test_mb2_mmap_entries_do_not_fit),
		cmocka_unit_test(test_mb2_mmap_region_wraps),
		cmocka_unit_test(test_mb2_efi_mmap_bad_descriptor_size_or_version),
		cmocka_unit_test(test_mb2_efi_mmap_page_count_overflow),
		cmocka_unit_test(test_mb2_too_many_mmap_entries),
		cmocka_unit_test(test_mb2_efi_map_contiguous_entries_merge_below_limit),
		cmocka_unit_test(test_mb2_no_memory_map_or_empty_map),
		cmocka_unit_test(test_mb2_overlapping_modules),
		cmocka_unit_test(test_mb2_touching_and_empty_modules_do_not_overlap),
		cmocka_unit_test(test_mb2_module_end_below_start),
		cmocka_unit_test(test_mb2_too_many_modules),
		cmocka_unit_test(test_mb2_module_tag_too_small),
		cmocka_unit_test(test_mb2_strings_not_terminated),
		cmocka_unit_test(test_mb2_strings_too_long),
		cmocka_unit_test(test_mb2_duplicate_singleton_tags),
		cmocka_unit_test(test_mb2_unknown_tags_skipped_and_counted),
		cmocka_unit_test(test_mb2_fixed_tags_below_minimum_size),
		cmocka_unit_test(test_mb2_err_buffer_null_or_tiny),
		cmocka_unit_test(test_rsdp_v1_checksum),
		cmocka_unit_test(test_rsdp_v2_extended_checksum),
		cmocka_unit_test(test_mb2_every_truncation_length_fails_cleanly),
		cmocka_unit_test(test_mb2_every_single_byte_corruption_is_handled),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
