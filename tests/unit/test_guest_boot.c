/*
 * lib/guest_boot: a fake machine of 32 MiB (the top 2 MiB "hidden": readable as module source,
 * not guest RAM) plus 1 MiB above 4 GiB outside guest RAM.  Kernels are hand-assembled ELF
 * images with a multiboot header inside their first segment; multiboot2 information blocks
 * are read back with boot/multiboot2.c's parser as an independent oracle.
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
#include "lib/elf.h"
#include "lib/errno.h"
#include "lib/guest_boot.h"
#include "tests/unit/elf_build.h"

#define MIB	  0x100000ull
#define RAM_SIZE  (32 * MIB)
#define HIDDEN	  (30 * MIB) /* [HIDDEN, RAM_SIZE): mhv's range */
#define HIGH_BASE 0x100000000ull
#define HIGH_SIZE MIB
#define KFILE_AT  0x800000ull
#define FILL	  0xAA
#define ERR_LEN	  256
#define HDR_OFF	  0x1000 /* multiboot header: first bytes of segment 0's data */
#define RX	  (ELF_PF_R | ELF_PF_X)
#define RW	  (ELF_PF_R | ELF_PF_W)
#define NELEM(a)  (sizeof(a) / sizeof((a)[0]))

static uint8_t *phys, *high;

/* ---- fake guest memory ----------------------------------------------------------------- */

struct fake {
	uint64_t ram_end;   /* map() succeeds below this */
	const uint8_t *ext; /* optional: an exact-size heap copy of a file, at EXT_BASE */
	uint64_t ext_len;
};

#define EXT_BASE 0x200000000ull

static void *fake_map(void *ctx, uint64_t gpa, uint64_t len)
{
	const struct fake *f = ctx;

	if (len > f->ram_end || gpa > f->ram_end - len)
		return NULL;
	return phys + gpa;
}

static const void *fake_src(void *ctx, uint64_t pa, uint64_t len)
{
	const struct fake *f = ctx;

	if (f->ext && pa >= EXT_BASE && len <= f->ext_len && pa - EXT_BASE <= f->ext_len - len)
		return f->ext + (pa - EXT_BASE);
	if (len <= RAM_SIZE && pa <= RAM_SIZE - len)
		return phys + pa;
	if (pa >= HIGH_BASE && len <= HIGH_SIZE && pa - HIGH_BASE <= HIGH_SIZE - len)
		return high + (pa - HIGH_BASE);
	return NULL;
}

static uint8_t *at(uint64_t pa)
{
	return pa >= HIGH_BASE ? high + (pa - HIGH_BASE) : phys + pa;
}

static uint32_t g32(uint64_t pa)
{
	uint32_t v;

	memcpy(&v, at(pa), 4);
	return v;
}

static uint64_t g64(uint64_t pa)
{
	uint64_t v;

	memcpy(&v, at(pa), 8);
	return v;
}

static int setup(void **state)
{
	(void)state;
	phys = malloc(RAM_SIZE);
	high = malloc(HIGH_SIZE);
	if (!phys || !high)
		return -1;
	memset(phys, FILL, RAM_SIZE);
	memset(high, FILL, HIGH_SIZE);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(phys);
	free(high);
	return 0;
}

/* The guest's map: mhv's range reserved, plus a zero-length and an unknown-type entry. */
static const struct mem_region std_map[] = {
	{0, 0x9fc00, MEM_USABLE},
	{0x9fc00, 0x400, MEM_RESERVED},
	{0xf0000, 0x10000, MEM_RESERVED},
	{0x100000, HIDDEN - 0x100000, MEM_USABLE},
	{HIDDEN, RAM_SIZE - HIDDEN, MEM_RESERVED},
	{0x4000000, 0, MEM_USABLE},
	{0xfec00000, 0x1000, 7},
};

/* ---- kernel images ------------------------------------------------------------------------ */

struct seg_spec {
	uint64_t offset, addr, filesz, memsz;
	uint32_t flags;
};

/* s as program headers (ELF_PT_LOAD, physical = virtual address) of an elf_build image. */
static void build_elf(struct elf_img *m, int bits, uint64_t entry, const struct seg_spec *s,
		      unsigned n, size_t size)
{
	struct elf_seg e[ELF_MAX_SEGMENTS];

	assert_true(n <= ELF_MAX_SEGMENTS);
	for (unsigned i = 0; i < n; i++)
		e[i] = (struct elf_seg){ELF_PT_LOAD, s[i].offset, s[i].addr, s[i].addr,
					s[i].filesz, s[i].memsz, s[i].flags};
	elf_build(m, bits, entry, e, n, size);
}

/* Text at 1 MiB, then data with 0x2800 bytes of BSS; the header sits in the text. */
static const struct seg_spec two[] = {
	{0x1000, 0x100000, 0x1000, 0x1000, RX},
	{0x2000, 0x101000, 0x800, 0x3000, RW},
};
#define TWO_ENTRY 0x100040
#define TWO_SIZE  0x2800

static void mb1_header(struct elf_img *m, size_t off, uint32_t flags)
{
	put_le(m->b + off, MB1_HEADER_MAGIC, 4);
	put_le(m->b + off + 4, flags, 4);
	put_le(m->b + off + 8, (uint32_t)(0u - MB1_HEADER_MAGIC - flags), 4);
}

/* multiboot2 header builder: tags appended, then end tag, length and checksum. */
struct hb {
	uint8_t b[512];
	size_t len;
};

static void hb_init(struct hb *h)
{
	memset(h, 0, sizeof(*h));
	h->len = MB2H_HEADER_SIZE;
}

static void hb_tag(struct hb *h, uint16_t type, uint16_t flags, const void *payload, size_t plen)
{
	put_le(h->b + h->len, type, 2);
	put_le(h->b + h->len + 2, flags, 2);
	put_le(h->b + h->len + 4, 8 + plen, 4);
	if (plen)
		memcpy(h->b + h->len + 8, payload, plen);
	h->len = (h->len + 8 + plen + 7) & ~(size_t)7;
}

static void hb_put(struct elf_img *m, size_t off, struct hb *h, uint32_t arch, bool end)
{
	uint32_t len;

	if (end)
		hb_tag(h, 0, 0, NULL, 0);
	len = (uint32_t)h->len;
	put_le(h->b, MB2_HEADER_MAGIC, 4);
	put_le(h->b + 4, arch, 4);
	put_le(h->b + 8, len, 4);
	put_le(h->b + 12, (uint32_t)(0u - MB2_HEADER_MAGIC - arch - len), 4);
	memcpy(m->b + off, h->b, h->len);
}

static void kernel_mb1(struct elf_img *m, uint32_t flags)
{
	build_elf(m, 32, TWO_ENTRY, two, 2, TWO_SIZE);
	mb1_header(m, HDR_OFF, flags);
}

static void kernel_mb2(struct elf_img *m)
{
	struct hb h;

	build_elf(m, 64, TWO_ENTRY, two, 2, TWO_SIZE);
	hb_init(&h);
	hb_put(m, HDR_OFF, &h, MB2_ARCH_I386, true);
}

/* ---- one boot ---------------------------------------------------------------------------- */

struct boot {
	struct fake fake;
	struct guest_mem mem;
	struct boot_module kernel, mods[4];
	struct guest_boot_params p;
	struct guest_boot_result r;
	struct elf_img file; /* the kernel file as built (oracle for segment contents) */
	char err[ERR_LEN];
};

static void boot_init(struct boot *b, const struct elf_img *k, uint64_t kat, const char *cmdline)
{
	memset(b, 0, sizeof(*b));
	b->fake.ram_end = HIDDEN;
	b->mem = (struct guest_mem){fake_map, fake_src, &b->fake};
	b->file = *k;
	memcpy(at(kat), k->b, k->size);
	b->kernel.start = kat;
	b->kernel.end = kat + k->size;
	snprintf(b->kernel.string, sizeof(b->kernel.string), "%s", cmdline);
	b->p.kernel = &b->kernel;
	b->p.modules = b->mods;
	b->p.map = std_map;
	b->p.nr_map = NELEM(std_map);
	b->p.mem = &b->mem;
}

/* Read the kernel file from an exact-size heap copy, so ASan sees any read past its end. */
static void boot_ext(struct boot *b, const struct elf_img *k, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);

	assert_non_null(copy);
	memcpy(copy, k->b, len);
	b->fake.ext = copy;
	b->fake.ext_len = len;
	b->kernel.start = EXT_BASE;
	b->kernel.end = EXT_BASE + len;
}

/* Module i: len bytes of a pattern seeded by i, placed at pa. */
static void add_module(struct boot *b, uint64_t pa, uint64_t len, const char *str)
{
	unsigned i = b->p.nr_modules++;
	uint64_t j;

	for (j = 0; j < len; j++)
		at(pa)[j] = (uint8_t)(j * 31 + i * 17 + 1);
	b->mods[i].start = pa;
	b->mods[i].end = pa + len;
	snprintf(b->mods[i].string, sizeof(b->mods[i].string), "%s", str);
}

static void check_module_bytes(unsigned i, uint64_t pa, uint64_t len)
{
	uint64_t j;

	for (j = 0; j < len; j++)
		if (at(pa)[j] != (uint8_t)(j * 31 + i * 17 + 1))
			fail_msg("module %u byte 0x%llx at 0x%llx wrong", i, (unsigned long long)j,
				 (unsigned long long)pa);
}

static int boot_run(struct boot *b)
{
	return guest_boot_load(&b->p, &b->r, b->err, sizeof(b->err));
}

static void boot_ok(struct boot *b)
{
	int ret = boot_run(b);

	if (ret)
		fail_msg("guest_boot_load: %d: %s", ret, b->err);
}

static void expect_err(struct boot *b, int code, const char *msg)
{
	int ret = boot_run(b);

	if (ret != code || !strstr(b->err, msg))
		fail_msg("got %d \"%s\", expected %d with \"%s\"", ret, b->err, code, msg);
}

static bool overlap(uint64_t a, uint64_t ae, uint64_t b, uint64_t be)
{
	return a < be && b < ae;
}

/* The loaded image equals the file's segments, with BSS zeroed. */
static void check_segments(const struct boot *b, const struct seg_spec *s, unsigned n)
{
	unsigned i;
	uint64_t j;

	for (i = 0; i < n; i++) {
		assert_memory_equal(at(s[i].addr), b->file.b + s[i].offset, s[i].filesz);
		for (j = s[i].filesz; j < s[i].memsz; j++)
			if (at(s[i].addr)[j] != 0)
				fail_msg("segment %u BSS byte 0x%llx not zero", i,
					 (unsigned long long)j);
	}
}

/* Nothing the loader placed covers a segment, page 0 or another placed block. */
static void check_placement(const struct boot *b, const struct seg_spec *s, unsigned n)
{
	const struct guest_boot_result *r = &b->r;
	unsigned i, j;

	assert_true(r->info.start >= PAGE_SIZE && r->info.end <= HIDDEN);
	for (i = 0; i < n; i++) {
		assert_false(
			overlap(r->info.start, r->info.end, s[i].addr, s[i].addr + s[i].memsz));
		for (j = 0; j < r->nr_modules; j++)
			assert_false(overlap(r->modules[j].start, r->modules[j].end, s[i].addr,
					     s[i].addr + s[i].memsz));
	}
	for (j = 0; j < r->nr_modules; j++) {
		assert_true(r->modules[j].end <= HIDDEN);
		assert_false(overlap(r->info.start, r->info.end, r->modules[j].start,
				     r->modules[j].end));
		for (i = 0; i < j; i++)
			assert_false(overlap(r->modules[i].start, r->modules[i].end,
					     r->modules[j].start, r->modules[j].end));
	}
}

/* ---- tests: multiboot v1 ------------------------------------------------------------------ */

static void test_mb1_segments_loaded_and_bss_zeroed(void **state)
{
	struct boot b;
	struct elf_img k;

	(void)state;
	kernel_mb1(&k, MB1_HF_MEMORY_INFO);
	boot_init(&b, &k, KFILE_AT, "guest.elf console=com1");
	boot_ok(&b);
	assert_int_equal(b.r.kind, GUEST_MULTIBOOT1);
	assert_int_equal(b.r.eax, MB1_BOOTLOADER_MAGIC);
	assert_int_equal(b.r.entry, TWO_ENTRY);
	assert_int_equal(b.r.lowest, 0x100000);
	assert_int_equal(b.r.highest, 0x104000);
	assert_int_equal(b.r.ebx, b.r.info.start);
	assert_true(b.r.info.start >= MIB); /* highest-first above 1 MiB */
	assert_int_equal(b.r.info.start % 8, 0);
	check_segments(&b, two, 2);
	check_placement(&b, two, 2);
}

static void test_mb1_info_fields(void **state)
{
	struct boot b;
	struct elf_img k;
	uint64_t info, mods, mmap, e;
	unsigned i, n = 0;

	(void)state;
	kernel_mb1(&k, MB1_HF_MEMORY_INFO);
	boot_init(&b, &k, KFILE_AT, "guest.elf console=com1");
	add_module(&b, 0x900000, 0x1234, "initrd.img rootfs=1");
	add_module(&b, 0x902000, 0x10, "cfg");
	boot_ok(&b);
	info = b.r.ebx;
	assert_int_equal(g32(info + MB1_OFF_FLAGS), MB1_INFO_MEMORY | MB1_INFO_CMDLINE |
							    MB1_INFO_MODS | MB1_INFO_MMAP |
							    MB1_INFO_BOOT_LOADER_NAME);
	assert_int_equal(g32(info + MB1_OFF_MEM_LOWER), 0x9fc00 / 1024);
	assert_int_equal(g32(info + MB1_OFF_MEM_UPPER), (HIDDEN - MIB) / 1024);
	assert_string_equal((char *)at(g32(info + MB1_OFF_CMDLINE)), "guest.elf console=com1");
	assert_string_equal((char *)at(g32(info + MB1_OFF_BOOT_LOADER_NAME)), "mhv");
	/* Modules in guest RAM, clear of the kernel: left where GRUB put them. */
	assert_int_equal(g32(info + MB1_OFF_MODS_COUNT), 2);
	mods = g32(info + MB1_OFF_MODS_ADDR);
	assert_int_equal(g32(mods), 0x900000);
	assert_int_equal(g32(mods + 4), 0x901234);
	assert_string_equal((char *)at(g32(mods + 8)), "initrd.img rootfs=1");
	assert_int_equal(g32(mods + 12), 0);
	assert_int_equal(g32(mods + 16), 0x902000);
	assert_int_equal(g32(mods + 20), 0x902010);
	assert_string_equal((char *)at(g32(mods + 24)), "cfg");
	check_module_bytes(0, 0x900000, 0x1234);
	/* The map: zero-length entry dropped, unknown type 7 handed over as reserved. */
	mmap = g32(info + MB1_OFF_MMAP_ADDR);
	e = mmap;
	for (i = 0; i < NELEM(std_map); i++) {
		if (!std_map[i].len)
			continue;
		assert_int_equal(g32(e), 20);
		assert_int_equal(g64(e + 4), std_map[i].base);
		assert_int_equal(g64(e + 12), std_map[i].len);
		assert_int_equal(g32(e + 20),
				 std_map[i].type == 7 ? MEM_RESERVED : std_map[i].type);
		e += g32(e) + 4;
		n++;
	}
	assert_int_equal(n, NELEM(std_map) - 1);
	assert_int_equal(e - mmap, g32(info + MB1_OFF_MMAP_LENGTH));
	assert_int_equal(g32(info + MB1_OFF_MMAP_LENGTH), (NELEM(std_map) - 1) * 24);
	/* The hidden range is in the map as reserved. */
	assert_int_equal(g64(mmap + 4 * 24 + 4), HIDDEN);
	assert_int_equal(g32(mmap + 4 * 24 + 20), MEM_RESERVED);
	/* Every string lies inside the info block. */
	for (i = 0; i < 2; i++)
		assert_true(g32(mods + 16 * i + 8) >= b.r.info.start &&
			    g32(mods + 16 * i + 8) < b.r.info.end);
	check_placement(&b, two, 2);
}

static void test_mb1_page_align_flag_moves_unaligned_module(void **state)
{
	struct boot b;
	struct elf_img k;

	(void)state;
	kernel_mb1(&k, MB1_HF_PAGE_ALIGN);
	boot_init(&b, &k, KFILE_AT, "k");
	add_module(&b, 0x900010, 0x300, "unaligned");
	boot_ok(&b);
	assert_int_not_equal(b.r.modules[0].start, 0x900010);
	assert_int_equal(b.r.modules[0].start % PAGE_SIZE, 0);
	assert_int_equal(b.r.modules[0].end - b.r.modules[0].start, 0x300);
	check_module_bytes(0, b.r.modules[0].start, 0x300);
	/* Without the flag it stays. */
	kernel_mb1(&k, 0);
	boot_init(&b, &k, KFILE_AT, "k");
	add_module(&b, 0x900010, 0x300, "unaligned");
	boot_ok(&b);
	assert_int_equal(b.r.modules[0].start, 0x900010);
}

static void test_mb1_module_outside_guest_ram_is_copied_in(void **state)
{
	struct boot b;
	struct elf_img k;
	unsigned i;

	(void)state;
	kernel_mb1(&k, 0);
	boot_init(&b, &k, KFILE_AT, "k");
	add_module(&b, HIDDEN + 0x10000, 0x2345, "hidden"); /* in mhv's range */
	add_module(&b, HIGH_BASE + 0x1000, 0x1800, "high"); /* above 4 GiB */
	add_module(&b, 0x900000, 0x100, "stays");
	boot_ok(&b);
	for (i = 0; i < 2; i++) {
		assert_true(b.r.modules[i].start >= MIB && b.r.modules[i].end <= HIDDEN);
		assert_int_equal(b.r.modules[i].start % PAGE_SIZE, 0);
	}
	assert_int_equal(b.r.modules[0].end - b.r.modules[0].start, 0x2345);
	assert_int_equal(b.r.modules[1].end - b.r.modules[1].start, 0x1800);
	assert_int_equal(b.r.modules[2].start, 0x900000);
	check_module_bytes(0, b.r.modules[0].start, 0x2345);
	check_module_bytes(1, b.r.modules[1].start, 0x1800);
	check_module_bytes(2, 0x900000, 0x100);
	assert_int_equal(g32(g32(b.r.ebx + MB1_OFF_MODS_ADDR)), b.r.modules[0].start);
	assert_int_equal(g32(g32(b.r.ebx + MB1_OFF_MODS_ADDR) + 16), b.r.modules[1].start);
	check_placement(&b, two, 2);
}

static void test_module_overlapping_a_segment_is_moved_first(void **state)
{
	struct boot b;
	struct elf_img k;

	(void)state;
	kernel_mb1(&k, 0);
	boot_init(&b, &k, KFILE_AT, "k");
	add_module(&b, 0x101000, 0x2000, "in the BSS"); /* GRUB put it where the BSS goes */
	boot_ok(&b);
	assert_true(b.r.modules[0].start >= 0x104000);
	check_module_bytes(0, b.r.modules[0].start, 0x2000);
	check_segments(&b, two, 2);
	check_placement(&b, two, 2);
}

/*
 * The file at the load address: zeroing segment 0's BSS would wipe segment 1's file bytes
 * before they are copied, unless the file is moved out of the way first.
 */
static void test_kernel_file_overlapping_its_load_address(void **state)
{
	static const struct seg_spec s[] = {
		{0x1000, 0x100000, 0x800, 0x3000, RW},
		{0x2000, 0x103000, 0x1000, 0x1000, RX},
	};
	struct boot b;
	struct elf_img k;

	(void)state;
	build_elf(&k, 32, 0x103000, s, 2, 0x3000);
	mb1_header(&k, HDR_OFF, 0);
	boot_init(&b, &k, 0x100000, "k");
	add_module(&b, 0x104000, 0x1000, "right after");
	boot_ok(&b);
	check_segments(&b, s, 2);
	check_placement(&b, s, 2);
	assert_int_equal(b.r.modules[0].start, 0x104000);
	check_module_bytes(0, 0x104000, 0x1000);
	assert_int_equal(b.r.entry, 0x103000);
}

static void test_kernel_file_outside_guest_ram(void **state)
{
	struct boot b;
	struct elf_img k;

	(void)state;
	kernel_mb1(&k, 0);
	boot_init(&b, &k, HIDDEN + 0x1000, "k");
	boot_ok(&b);
	check_segments(&b, two, 2);
}

static void test_boot_info_falls_back_below_1mib(void **state)
{
	static const struct mem_region m[] = {
		{0, 0x9fc00, MEM_USABLE}, {0x100000, 0x4000, MEM_USABLE}, /* exactly the kernel */
	};
	struct boot b;
	struct elf_img k;

	(void)state;
	kernel_mb1(&k, 0);
	boot_init(&b, &k, HIDDEN, "k");
	b.p.map = m;
	b.p.nr_map = NELEM(m);
	boot_ok(&b);
	assert_true(b.r.info.start >= PAGE_SIZE && b.r.info.end <= 0x9fc00);
	assert_int_equal(g32(b.r.ebx + MB1_OFF_MEM_UPPER), 0x4000 / 1024);
	check_segments(&b, two, 2);
}

static void test_no_room_for_boot_info(void **state)
{
	static const struct mem_region m[] = {{0x100000, 0x4000, MEM_USABLE}};
	struct boot b;
	struct elf_img k;

	(void)state;
	kernel_mb1(&k, 0);
	boot_init(&b, &k, HIDDEN, "k");
	b.p.map = m;
	b.p.nr_map = NELEM(m);
	expect_err(&b, -E_NOMEM, "no free guest RAM below 4 GiB for the boot information");
}

static void test_reserved_ranges_are_avoided(void **state)
{
	struct boot b;
	struct elf_img k;
	struct phys_range res = {HIDDEN - 4 * MIB, HIDDEN};

	(void)state;
	kernel_mb1(&k, 0);
	boot_init(&b, &k, KFILE_AT, "k");
	b.p.reserved = &res;
	b.p.nr_reserved = 1;
	boot_ok(&b);
	assert_true(b.r.info.end <= res.start);
	res.start = 0x103000;
	expect_err(&b, -E_INVAL, "overlaps reserved");
}

/* ---- tests: multiboot2 -------------------------------------------------------------------- */

static void test_mb2_info_parses_back_with_mb2_parse(void **state)
{
	uint8_t rsdp[ACPI_RSDP_V2_LEN];
	struct boot b;
	struct elf_img k;
	struct boot_info bi;
	char err[ERR_LEN];
	uint64_t off;
	unsigned i, n = 0, seen4 = 0;

	(void)state;
	for (i = 0; i < sizeof(rsdp); i++)
		rsdp[i] = (uint8_t)(i + 0x40);
	kernel_mb2(&k);
	boot_init(&b, &k, KFILE_AT, "guest.elf a=1 b=2");
	add_module(&b, 0x900000, 0x1000, "mod one");
	add_module(&b, HIDDEN + 0x4000, 0x777, "mod two");
	b.p.rsdp = rsdp;
	b.p.rsdp_len = sizeof(rsdp);
	boot_ok(&b);
	assert_int_equal(b.r.kind, GUEST_MULTIBOOT2);
	assert_int_equal(b.r.eax, MB2_BOOTLOADER_MAGIC);
	assert_int_equal(b.r.ebx % 8, 0);
	check_segments(&b, two, 2);
	check_placement(&b, two, 2);
	assert_int_equal(g32(b.r.ebx), b.r.info.end - b.r.info.start);
	assert_int_equal(
		mb2_parse(at(b.r.ebx), b.r.info.end - b.r.info.start, &bi, err, sizeof(err)), 0);
	assert_string_equal(bi.cmdline, "guest.elf a=1 b=2");
	assert_string_equal(bi.loader_name, "mhv");
	assert_int_equal(bi.nr_modules, 2);
	assert_int_equal(bi.modules[0].start, 0x900000);
	assert_int_equal(bi.modules[0].end, 0x901000);
	assert_string_equal(bi.modules[0].string, "mod one");
	assert_int_equal(bi.modules[1].start, b.r.modules[1].start);
	assert_int_equal(bi.modules[1].end - bi.modules[1].start, 0x777);
	assert_true(bi.modules[1].end <= HIDDEN);
	assert_string_equal(bi.modules[1].string, "mod two");
	check_module_bytes(1, bi.modules[1].start, 0x777);
	for (i = 0; i < NELEM(std_map); i++) {
		if (!std_map[i].len)
			continue;
		assert_int_equal(bi.mmap[n].base, std_map[i].base);
		assert_int_equal(bi.mmap[n].len, std_map[i].len);
		assert_int_equal(bi.mmap[n].type,
				 std_map[i].type == 7 ? MEM_RESERVED : std_map[i].type);
		n++;
	}
	assert_int_equal(bi.nr_mmap, n);
	assert_int_equal(bi.rsdp_len, ACPI_RSDP_V2_LEN);
	assert_memory_equal(bi.rsdp, rsdp, sizeof(rsdp));
	assert_int_equal(bi.nr_unknown_tags, 1); /* tag 4, which mb2_parse does not store */
	/* Basic meminfo (tag 4) and the mmap entry size, read directly. */
	for (off = b.r.ebx + 8; g32(off) != MB2_TAG_END; off += (g32(off + 4) + 7) & ~7u) {
		if (g32(off) == MB2_TAG_BASIC_MEM) {
			seen4++;
			assert_int_equal(g32(off + 4), 16);
			assert_int_equal(g32(off + 8), 0x9fc00 / 1024);
			assert_int_equal(g32(off + 12), (HIDDEN - MIB) / 1024);
		}
		if (g32(off) == MB2_TAG_MMAP) {
			assert_int_equal(g32(off + 8), 24);
			assert_int_equal(g32(off + 12), 0);
		}
	}
	assert_int_equal(seen4, 1);
}

static void test_mb2_rsdp_v1_gives_tag14_only(void **state)
{
	uint8_t rsdp[ACPI_RSDP_V1_LEN] = "RSD PTR abcdefghijkl";
	struct boot b;
	struct elf_img k;
	struct boot_info bi;
	uint64_t off;
	unsigned seen14 = 0, seen15 = 0;

	(void)state;
	kernel_mb2(&k);
	boot_init(&b, &k, KFILE_AT, "k");
	b.p.rsdp = rsdp;
	b.p.rsdp_len = sizeof(rsdp);
	boot_ok(&b);
	assert_int_equal(mb2_parse(at(b.r.ebx), b.r.info.end - b.r.info.start, &bi, NULL, 0), 0);
	assert_int_equal(bi.rsdp_len, ACPI_RSDP_V1_LEN);
	assert_memory_equal(bi.rsdp, rsdp, sizeof(rsdp));
	for (off = b.r.ebx + 8; g32(off) != MB2_TAG_END; off += (g32(off + 4) + 7) & ~7u) {
		seen14 += g32(off) == MB2_TAG_ACPI_OLD;
		seen15 += g32(off) == MB2_TAG_ACPI_NEW;
	}
	assert_int_equal(seen14, 1);
	assert_int_equal(seen15, 0);
}

static void test_mb2_preferred_over_mb1(void **state)
{
	struct boot b;
	struct elf_img k;

	(void)state;
	kernel_mb2(&k);
	mb1_header(&k, HDR_OFF + 0x100, 0);
	boot_init(&b, &k, KFILE_AT, "k");
	boot_ok(&b);
	assert_int_equal(b.r.kind, GUEST_MULTIBOOT2);
	assert_int_equal(b.r.eax, MB2_BOOTLOADER_MAGIC);
}

static void test_mb2_entry_tag_and_optional_tags(void **state)
{
	uint8_t entry[4], req[8], fb[12] = {0};
	struct boot b;
	struct elf_img k;
	struct hb h;

	(void)state;
	put_le(entry, 0x100800, 4);
	put_le(req, MB2_TAG_MMAP, 4);
	put_le(req + 4, 8 /* framebuffer info: optional request */, 4);
	build_elf(&k, 64, TWO_ENTRY, two, 2, TWO_SIZE);
	hb_init(&h);
	hb_tag(&h, MB2H_TAG_INFO_REQUEST, MB2H_TAG_FLAG_OPTIONAL, req, sizeof(req));
	hb_tag(&h, MB2H_TAG_ENTRY, 0, entry, sizeof(entry));
	hb_tag(&h, MB2H_TAG_FRAMEBUFFER, MB2H_TAG_FLAG_OPTIONAL, fb, sizeof(fb));
	hb_tag(&h, 42, MB2H_TAG_FLAG_OPTIONAL, NULL, 0);
	hb_tag(&h, MB2H_TAG_MODULE_ALIGN, 0, NULL, 0);
	hb_put(&k, HDR_OFF, &h, MB2_ARCH_I386, true);
	boot_init(&b, &k, KFILE_AT, "k");
	add_module(&b, 0x900100, 0x100, "m");
	boot_ok(&b);
	assert_int_equal(b.r.entry, 0x100800);
	assert_int_equal(b.r.modules[0].start % PAGE_SIZE, 0); /* module-alignment tag */
	check_module_bytes(0, b.r.modules[0].start, 0x100);
}

/* ---- tests: errors ------------------------------------------------------------------------ */

static void test_err_no_header(void **state)
{
	struct boot b;
	struct elf_img k;

	(void)state;
	build_elf(&k, 32, TWO_ENTRY, two, 2, TWO_SIZE);
	boot_init(&b, &k, KFILE_AT, "k");
	expect_err(&b, -E_NOENT, "no multiboot2 header");
}

static void test_err_mb1_header_beyond_8k_or_bad_checksum(void **state)
{
	static const struct seg_spec big[] = {{0x1000, 0x100000, 0x2400, 0x2400, RX}};
	struct boot b;
	struct elf_img k;

	(void)state;
	kernel_mb1(&k, 0);
	put_le(k.b + HDR_OFF + 8, 0x12345678, 4);
	boot_init(&b, &k, KFILE_AT, "k");
	expect_err(&b, -E_INVAL, "multiboot: header at 0x1000 has a bad checksum");
	build_elf(&k, 32, 0x100000, big, 1, 0x3400);
	mb1_header(&k, 8192 - 8, 0); /* straddles the 8 KiB limit */
	boot_init(&b, &k, KFILE_AT, "k");
	expect_err(&b, -E_NOENT, "no multiboot");
	mb1_header(&k, 8192 - 12, 0); /* the last place it may be */
	boot_init(&b, &k, KFILE_AT, "k");
	boot_ok(&b);
}

static void test_err_mb1_aout_kludge_and_unknown_required_flag(void **state)
{
	struct boot b;
	struct elf_img k;

	(void)state;
	kernel_mb1(&k, MB1_HF_AOUT_KLUDGE);
	boot_init(&b, &k, KFILE_AT, "k");
	expect_err(&b, -E_NOTSUP, "a.out kludge (flag bit 16) not supported");
	kernel_mb1(&k, 1u << 5);
	boot_init(&b, &k, KFILE_AT, "k");
	expect_err(&b, -E_NOTSUP, "unknown required flags 0x20");
	kernel_mb1(&k, MB1_HF_VIDEO_MODE | (1u << 20)); /* video ignored, bit 20 optional */
	boot_init(&b, &k, KFILE_AT, "k");
	boot_ok(&b);
}

static void test_err_mb2_header_problems(void **state)
{
	uint8_t req[4], addr[16] = {0};
	struct boot b;
	struct elf_img k;
	struct hb h;

	(void)state;
	build_elf(&k, 64, TWO_ENTRY, two, 2, TWO_SIZE);
	hb_init(&h);
	hb_tag(&h, 42, 0, NULL, 0);
	hb_put(&k, HDR_OFF, &h, MB2_ARCH_I386, true);
	boot_init(&b, &k, KFILE_AT, "k");
	expect_err(&b, -E_NOTSUP, "required header tag type 42 (unknown) not supported");

	hb_init(&h);
	hb_tag(&h, MB2H_TAG_ADDRESS, 0, addr, sizeof(addr));
	hb_put(&k, HDR_OFF, &h, MB2_ARCH_I386, true);
	boot_init(&b, &k, KFILE_AT, "k");
	expect_err(&b, -E_NOTSUP, "address tag (a.out kludge) not supported");

	put_le(req, 8, 4); /* framebuffer info, required */
	hb_init(&h);
	hb_tag(&h, MB2H_TAG_INFO_REQUEST, 0, req, sizeof(req));
	hb_put(&k, HDR_OFF, &h, MB2_ARCH_I386, true);
	boot_init(&b, &k, KFILE_AT, "k");
	expect_err(&b, -E_NOTSUP, "required information tag type 8 cannot be provided");

	put_le(req, MB2_TAG_ACPI_NEW, 4); /* providable only with a 36-byte RSDP */
	hb_init(&h);
	hb_tag(&h, MB2H_TAG_INFO_REQUEST, 0, req, sizeof(req));
	hb_put(&k, HDR_OFF, &h, MB2_ARCH_I386, true);
	boot_init(&b, &k, KFILE_AT, "k");
	expect_err(&b, -E_NOTSUP, "required information tag type 15");

	hb_init(&h);
	hb_put(&k, HDR_OFF, &h, 4 /* MIPS */, true);
	boot_init(&b, &k, KFILE_AT, "k");
	expect_err(&b, -E_INVAL, "architecture 4 is not i386");

	hb_init(&h);
	hb_tag(&h, MB2H_TAG_MODULE_ALIGN, 0, NULL, 0);
	hb_put(&k, HDR_OFF, &h, MB2_ARCH_I386, false);
	boot_init(&b, &k, KFILE_AT, "k");
	expect_err(&b, -E_INVAL, "has no end tag");

	hb_init(&h);
	hb_put(&k, HDR_OFF, &h, MB2_ARCH_I386, true);
	put_le(k.b + HDR_OFF + 12, 0, 4);
	boot_init(&b, &k, KFILE_AT, "k");
	expect_err(&b, -E_INVAL, "multiboot2: header at 0x1000 has a bad checksum");
}

static void test_err_segment_in_hidden_range_or_outside_ram(void **state)
{
	struct seg_spec s[] = {{0x1000, HIDDEN - 0x1000, 0x1000, 0x2000, RX}};
	struct boot b;
	struct elf_img k;

	(void)state;
	build_elf(&k, 32, HIDDEN - 0x1000, s, 1, 0x2000);
	mb1_header(&k, HDR_OFF, 0);
	boot_init(&b, &k, KFILE_AT, "k");
	expect_err(&b, -E_INVAL, "segment 0 [0x1dff000,0x1e01000): 0x1e00000 is not usable");
	s[0].addr = 0x40000000;
	build_elf(&k, 32, 0x40000000, s, 1, 0x2000);
	mb1_header(&k, HDR_OFF, 0);
	boot_init(&b, &k, KFILE_AT, "k");
	expect_err(&b, -E_INVAL, "0x40000000 is not usable guest RAM");
	/* The map claims usable but map() refuses: still refused, naming the range. */
	s[0].addr = 0x1000000;
	build_elf(&k, 32, 0x1000000, s, 1, 0x2000);
	mb1_header(&k, HDR_OFF, 0);
	boot_init(&b, &k, KFILE_AT, "k");
	b.fake.ram_end = 0x1001000;
	expect_err(&b, -E_INVAL, "segment 0 [0x1000000,0x1002000) is not guest RAM");
}

static void test_err_entry_outside_segments(void **state)
{
	uint8_t entry[4];
	struct boot b;
	struct elf_img k;
	struct hb h;

	(void)state;
	build_elf(&k, 32, 0x200000, two, 2, TWO_SIZE);
	mb1_header(&k, HDR_OFF, 0);
	boot_init(&b, &k, KFILE_AT, "k");
	expect_err(&b, -E_INVAL, "elf: entry point 0x200000 is not inside any loadable segment");
	put_le(entry, 0x104000, 4);
	build_elf(&k, 64, TWO_ENTRY, two, 2, TWO_SIZE);
	hb_init(&h);
	hb_tag(&h, MB2H_TAG_ENTRY, 0, entry, sizeof(entry));
	hb_put(&k, HDR_OFF, &h, MB2_ARCH_I386, true);
	boot_init(&b, &k, KFILE_AT, "k");
	expect_err(&b, -E_INVAL, "guest: entry point 0x104000 is not inside a loaded segment");
}

static void test_err_bad_elf_and_bad_params(void **state)
{
	struct boot b;
	struct elf_img k;

	(void)state;
	kernel_mb1(&k, 0);
	k.b[4] = 9;
	boot_init(&b, &k, KFILE_AT, "k");
	expect_err(&b, -E_INVAL, "elf: bad class 9");
	kernel_mb1(&k, 0);
	boot_init(&b, &k, KFILE_AT, "k");
	b.p.rsdp = k.b;
	b.p.rsdp_len = 7;
	expect_err(&b, -E_INVAL, "RSDP length 7");
	b.p.rsdp_len = 0;
	b.kernel.start = RAM_SIZE + MIB; /* unreadable */
	b.kernel.end = b.kernel.start + k.size;
	expect_err(&b, -E_FAULT, "kernel file");
	boot_init(&b, &k, KFILE_AT, "k");
	b.p.nr_modules = BOOT_MODULES_MAX + 1;
	expect_err(&b, -E_INVAL, "modules (max 16)");
	boot_init(&b, &k, KFILE_AT, "k");
	add_module(&b, 0x900000, 0x10, "m");
	b.mods[0].end = 0x8fffff;
	expect_err(&b, -E_INVAL, "module 1 ends");
	boot_init(&b, &k, KFILE_AT, "k");
	b.p.nr_modules = 1;
	b.mods[0].start = RAM_SIZE + MIB; /* unreadable module */
	b.mods[0].end = b.mods[0].start + 0x10;
	expect_err(&b, -E_FAULT, "a module [0x2100000,0x2100010) cannot be read");
}

static void test_every_kernel_truncation_fails_cleanly(void **state)
{
	struct boot b;
	struct elf_img k;
	size_t len;

	(void)state;
	kernel_mb1(&k, 0);
	for (len = 0; len < k.size; len++) {
		boot_init(&b, &k, KFILE_AT, "k");
		boot_ext(&b, &k, len);
		assert_int_not_equal(boot_run(&b), 0);
		assert_true(b.err[0] != '\0');
		free((void *)b.fake.ext);
	}
}

static void test_every_header_byte_corruption_is_handled(void **state)
{
	static const uint8_t vals[] = {0x00, 0x01, 0x80, 0xff};
	struct boot b;
	struct elf_img k, c;
	size_t pos, v;
	int kind, ret;
	unsigned ok = 0, bad = 0;

	(void)state;
	for (kind = 1; kind <= 2; kind++) {
		if (kind == 1)
			kernel_mb1(&k, 0);
		else
			kernel_mb2(&k);
		/* The ELF headers and the multiboot header: the bytes that steer the loader. */
		for (pos = 0; pos < HDR_OFF + 0x20; pos++) {
			if (pos == 0x200)
				pos = HDR_OFF;
			for (v = 0; v < sizeof(vals); v++) {
				c = k;
				c.b[pos] = c.b[pos] == vals[v] ? (uint8_t)~vals[v] : vals[v];
				boot_init(&b, &c, KFILE_AT, "k");
				boot_ext(&b, &c, c.size);
				ret = boot_run(&b);
				free((void *)b.fake.ext);
				if (ret == 0) {
					ok++;
					assert_true(b.r.ebx >= PAGE_SIZE && b.r.info.end <= HIDDEN);
				} else {
					bad++;
					assert_true(b.err[0] != '\0');
				}
			}
		}
	}
	assert_true(ok > 0 && bad > 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_mb1_segments_loaded_and_bss_zeroed),
		T(test_mb1_info_fields),
		T(test_mb1_page_align_flag_moves_unaligned_module),
		T(test_mb1_module_outside_guest_ram_is_copied_in),
		T(test_module_overlapping_a_segment_is_moved_first),
		T(test_kernel_file_overlapping_its_load_address),
		T(test_kernel_file_outside_guest_ram),
		T(test_boot_info_falls_back_below_1mib),
		T(test_no_room_for_boot_info),
		T(test_reserved_ranges_are_avoided),
		T(test_mb2_info_parses_back_with_mb2_parse),
		T(test_mb2_rsdp_v1_gives_tag14_only),
		T(test_mb2_preferred_over_mb1),
		T(test_mb2_entry_tag_and_optional_tags),
		T(test_err_no_header),
		T(test_err_mb1_header_beyond_8k_or_bad_checksum),
		T(test_err_mb1_aout_kludge_and_unknown_required_flag),
		T(test_err_mb2_header_problems),
		T(test_err_segment_in_hidden_range_or_outside_ram),
		T(test_err_entry_outside_segments),
		T(test_err_bad_elf_and_bad_params),
		T(test_every_kernel_truncation_fails_cleanly),
		T(test_every_header_byte_corruption_is_handled),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
