/*
 * lib/linux_boot: a fake machine of 64 MiB (the top 2 MiB "hidden": mhv's range, readable as a
 * module source but not guest RAM) and synthetic bzImages: a setup part with the boot protocol
 * header and a protected-mode part filled with a pattern.  Failures must leave guest memory
 * exactly as it was.
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

#include "lib/errno.h"
#include "lib/linux_boot.h"

#define MIB	     0x100000ull
#define RAM_SIZE     (32 * MIB)
#define HIDDEN	     (30 * MIB)
#define FILL	     0xAA
#define ERR_LEN	     256
#define SETUP_SECTS  2
#define SETUP_SIZE   ((SETUP_SECTS + 1) * 512)
#define PM_SIZE	     0x8000
#define IMG_SIZE     (SETUP_SIZE + PM_SIZE)
#define PREF	     (8 * MIB)
#define INIT_SIZE    (4 * MIB)
#define ALIGN	     (2 * MIB)
#define KFILE_AT     (22 * MIB)
#define MOD_AT	     (24 * MIB)
#define ACPI_AT	     (20 * MIB)
#define HDR_JUMP_LEN 0x66 /* header ends at 0x268, as in 6.x kernels */
#define NELEM(a)     (sizeof(a) / sizeof((a)[0]))

static uint8_t *phys, *snapshot;

struct fake {
	const uint8_t *ext; /* an exact-size heap copy of the kernel file, at EXT_BASE */
	uint64_t ext_len;
};

#define EXT_BASE 0x200000000ull

static void *fake_map(void *ctx, uint64_t gpa, uint64_t len)
{
	(void)ctx;
	if (len > HIDDEN || gpa > HIDDEN - len)
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
	return NULL;
}

static const struct mem_region std_map[] = {
	{0, 0x9fc00, MEM_USABLE},
	{0x9fc00, 0x400, MEM_RESERVED},
	{0xf0000, 0x10000, MEM_RESERVED},
	{0x100000, ACPI_AT - 0x100000, MEM_USABLE},
	{ACPI_AT, 0x10000, MEM_ACPI_RECLAIM},
	{ACPI_AT + 0x10000, HIDDEN - ACPI_AT - 0x10000, MEM_USABLE},
	{HIDDEN, RAM_SIZE - HIDDEN, MEM_RESERVED},
};

static const uint8_t rsdp[ACPI_RSDP_V2_LEN] = "RSD PTR \x42rsdp-copy-test-bytes....";

static uint32_t g32(uint64_t pa)
{
	uint32_t v;

	memcpy(&v, phys + pa, 4);
	return v;
}

static uint64_t g64(uint64_t pa)
{
	uint64_t v;

	memcpy(&v, phys + pa, 8);
	return v;
}

static void p16(uint8_t *b, unsigned off, uint16_t v)
{
	memcpy(b + off, &v, 2);
}

static void p32(uint8_t *b, unsigned off, uint32_t v)
{
	memcpy(b + off, &v, 4);
}

static void p64(uint8_t *b, unsigned off, uint64_t v)
{
	memcpy(b + off, &v, 8);
}

/* A bzImage as a 6.x kernel lays it out (values scaled down to the fake machine). */
static void build_image(uint8_t *b)
{
	memset(b, 0, IMG_SIZE);
	b[LX_SETUP_SECTS] = SETUP_SECTS;
	p32(b, LX_SYSSIZE, PM_SIZE / 16);
	p16(b, LX_BOOT_FLAG, LX_BOOT_FLAG_MAGIC);
	b[LX_JUMP] = 0xEB;
	b[LX_JUMP + 1] = HDR_JUMP_LEN;
	p32(b, LX_HEADER, LX_HDRS_MAGIC);
	p16(b, LX_VERSION, 0x020F);
	b[LX_LOADFLAGS] = LX_LOADED_HIGH | LX_CAN_USE_HEAP;
	p32(b, LX_CODE32_START, 0x100000);
	p32(b, LX_INITRD_ADDR_MAX, 0x7fffffff);
	p32(b, LX_KERNEL_ALIGNMENT, ALIGN);
	b[LX_RELOCATABLE] = 1;
	p16(b, LX_XLOADFLAGS, LX_XLF_KERNEL_64);
	p32(b, LX_CMDLINE_SIZE, 2047);
	p64(b, LX_PREF_ADDRESS, PREF);
	p32(b, LX_INIT_SIZE, INIT_SIZE);
	for (unsigned i = 0; i < PM_SIZE; i++)
		b[SETUP_SIZE + i] = (uint8_t)(i * 7 + 3);
}

struct boot {
	struct fake fake;
	struct guest_mem mem;
	struct boot_module kernel, mods[3];
	struct guest_boot_params p;
	struct linux_boot_result r;
	uint8_t img[IMG_SIZE];
	char err[ERR_LEN];
};

static void boot_init(struct boot *b, const char *cmdline)
{
	memset(b, 0, sizeof(*b));
	b->mem = (struct guest_mem){fake_map, fake_src, &b->fake};
	build_image(b->img);
	snprintf(b->kernel.string, sizeof(b->kernel.string), "%s", cmdline);
	b->p.kernel = &b->kernel;
	b->p.modules = b->mods;
	b->p.map = std_map;
	b->p.nr_map = NELEM(std_map);
	b->p.mem = &b->mem;
	b->p.rsdp = rsdp;
	b->p.rsdp_len = ACPI_RSDP_V2_LEN;
}

/* Put the (possibly edited) image into "memory" at pa: GRUB's copy. */
static void place_kernel(struct boot *b, uint64_t pa)
{
	memcpy(phys + pa, b->img, IMG_SIZE);
	b->kernel.start = pa;
	b->kernel.end = pa + IMG_SIZE;
}

static void add_module(struct boot *b, uint64_t pa, uint64_t len)
{
	unsigned i = b->p.nr_modules++;

	for (uint64_t j = 0; j < len; j++)
		phys[pa + j] = (uint8_t)(j * 13 + i * 5 + 1);
	b->mods[i].start = pa;
	b->mods[i].end = pa + len;
}

static void take_snapshot(void)
{
	memcpy(snapshot, phys, RAM_SIZE);
}

static void assert_untouched(void)
{
	assert_memory_equal(phys, snapshot, RAM_SIZE);
}

static bool overlaps(struct phys_range a, uint64_t s, uint64_t e)
{
	return a.start < e && s < a.end;
}

/* The e820 entry that contains pa, or -1. */
static int e820_type_at(uint64_t zp, uint64_t pa)
{
	unsigned n = phys[zp + LX_ZP_E820_ENTRIES];

	for (unsigned i = 0; i < n; i++) {
		uint64_t e = zp + LX_ZP_E820_TABLE + i * LX_E820_ENTRY_SIZE;

		if (g64(e) <= pa && pa < g64(e) + g64(e + 8))
			return (int)g32(e + 16);
	}
	return -1;
}

static int setup(void **state)
{
	(void)state;
	phys = malloc(RAM_SIZE);
	snapshot = malloc(RAM_SIZE);
	if (!phys || !snapshot)
		return -1;
	memset(phys, FILL, RAM_SIZE);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(phys);
	free(snapshot);
	return 0;
}

/* ---- tests -------------------------------------------------------------------------------- */

static void test_detects_bzimage(void **state)
{
	uint8_t img[IMG_SIZE];

	(void)state;
	build_image(img);
	assert_true(linux_is_bzimage(img, IMG_SIZE));
	assert_false(linux_is_bzimage(img, LX_HEADER + 3));
	img[LX_HEADER] = 'X';
	assert_false(linux_is_bzimage(img, IMG_SIZE));
}

static void test_loads_at_pref_address(void **state)
{
	static struct boot b;
	uint64_t zp, cl;

	(void)state;
	boot_init(&b, "vmlinuz console=ttyS0 quiet");
	place_kernel(&b, KFILE_AT);
	add_module(&b, MOD_AT, 0x3001);
	add_module(&b, MOD_AT + 0x10000, 0x2000);
	assert_int_equal(linux_boot_load(&b.p, &b.r, b.err, sizeof(b.err)), 0);
	assert_int_equal(b.r.entry, PREF);
	assert_int_equal(b.r.kernel.start, PREF);
	assert_int_equal(b.r.kernel.end, PREF + INIT_SIZE);
	assert_memory_equal(phys + PREF, b.img + SETUP_SIZE, PM_SIZE);

	/* initrd: both modules back to back, below the hidden range, clear of the kernel */
	assert_int_equal(b.r.initrd.end - b.r.initrd.start, 0x5001);
	assert_true(b.r.initrd.end <= HIDDEN);
	assert_false(overlaps(b.r.initrd, PREF, PREF + INIT_SIZE));
	assert_false(overlaps(b.r.initrd, KFILE_AT, KFILE_AT + IMG_SIZE));
	assert_memory_equal(phys + b.r.initrd.start, phys + MOD_AT, 0x3001);
	assert_memory_equal(phys + b.r.initrd.start + 0x3001, phys + MOD_AT + 0x10000, 0x2000);

	zp = b.r.zero_page;
	assert_int_equal(zp, b.r.boot_data.start);
	assert_true(b.r.boot_data.end <= HIDDEN);
	assert_int_equal(g32(zp + LX_HEADER), LX_HDRS_MAGIC);
	assert_int_equal(phys[zp + LX_TYPE_OF_LOADER], LX_LOADER_UNDEFINED);
	assert_int_equal(phys[zp + LX_LOADFLAGS], LX_LOADED_HIGH); /* CAN_USE_HEAP cleared */
	assert_int_equal(g32(zp + LX_CODE32_START), PREF);
	assert_int_equal(g32(zp + LX_RAMDISK_IMAGE), b.r.initrd.start);
	assert_int_equal(g32(zp + LX_RAMDISK_SIZE), 0x5001);
	cl = g32(zp + LX_CMD_LINE_PTR);
	assert_string_equal((char *)phys + cl, "BOOT_IMAGE=vmlinuz console=ttyS0 quiet");
	assert_memory_equal(phys + g64(zp + LX_ZP_ACPI_RSDP), rsdp, sizeof(rsdp));
	/* Fields past the setup header stay zero; the boot-sector part before it too. */
	assert_int_equal(phys[zp + 0x268], 0);
	assert_int_equal(g32(zp + 0x100), 0);

	/* e820: the map, the hidden range reserved, the boot data reserved, ACPI kept */
	assert_int_equal(e820_type_at(zp, 0x200000), MEM_USABLE);
	assert_int_equal(e820_type_at(zp, ACPI_AT), MEM_ACPI_RECLAIM);
	assert_int_equal(e820_type_at(zp, HIDDEN), MEM_RESERVED);
	assert_int_equal(e820_type_at(zp, zp), MEM_RESERVED);
	assert_int_equal(e820_type_at(zp, g64(zp + LX_ZP_ACPI_RSDP)), MEM_RESERVED);
	assert_int_equal(e820_type_at(zp, b.r.boot_data.start - 1), MEM_USABLE);
	assert_int_equal(e820_type_at(zp, PREF), MEM_USABLE);
}

static void test_relocates_when_pref_is_busy(void **state)
{
	static struct boot b;

	(void)state;
	boot_init(&b, "k");
	place_kernel(&b, PREF + 0x1000); /* GRUB put the file inside [pref, pref + init_size) */
	assert_int_equal(linux_boot_load(&b.p, &b.r, b.err, sizeof(b.err)), 0);
	assert_true(b.r.entry > PREF);
	assert_int_equal(b.r.entry % ALIGN, 0);
	assert_false(overlaps(b.r.kernel, PREF + 0x1000, PREF + 0x1000 + IMG_SIZE));
	assert_memory_equal(phys + b.r.entry, b.img + SETUP_SIZE, PM_SIZE);
	assert_int_equal(b.r.initrd.start, b.r.initrd.end); /* no module, no initrd */
	assert_int_equal(g32(b.r.zero_page + LX_RAMDISK_SIZE), 0);
}

static void test_non_relocatable_kernel_with_busy_pref_is_refused(void **state)
{
	static struct boot b;

	(void)state;
	boot_init(&b, "k");
	b.img[LX_RELOCATABLE] = 0;
	place_kernel(&b, PREF + 0x1000);
	take_snapshot();
	assert_int_equal(linux_boot_load(&b.p, &b.r, b.err, sizeof(b.err)), -E_NOMEM);
	assert_non_null(strstr(b.err, "non-relocatable"));
	assert_untouched();
}

static void test_old_protocol_and_zimage_are_refused(void **state)
{
	static struct boot b;

	(void)state;
	boot_init(&b, "k");
	p16(b.img, LX_VERSION, 0x0209);
	place_kernel(&b, KFILE_AT);
	take_snapshot();
	assert_int_equal(linux_boot_load(&b.p, &b.r, b.err, sizeof(b.err)), -E_NOTSUP);
	assert_non_null(strstr(b.err, "2.09 is too old"));
	assert_untouched();

	boot_init(&b, "k");
	b.img[LX_LOADFLAGS] = 0;
	place_kernel(&b, KFILE_AT);
	take_snapshot();
	assert_int_equal(linux_boot_load(&b.p, &b.r, b.err, sizeof(b.err)), -E_NOTSUP);
	assert_non_null(strstr(b.err, "zImage"));
	assert_untouched();
}

static void test_inconsistent_headers_are_refused(void **state)
{
	static struct boot b;
	struct {
		unsigned off, size;
		uint64_t val;
	} bad[] = {
		{LX_INIT_SIZE, 4, PM_SIZE - 16},   /* init_size below the kernel's size */
		{LX_KERNEL_ALIGNMENT, 4, 0x3000},  /* not a power of two */
		{LX_PREF_ADDRESS, 8, 0x1000},	   /* below 1 MiB */
		{LX_PREF_ADDRESS, 8, 0x100000001}, /* not a page, above 4 GiB */
		{LX_SYSSIZE, 4, 0},		   /* no kernel */
		{LX_BOOT_FLAG, 2, 0x1234},
		{LX_JUMP + 1, 1, 0x10}, /* the header ends before init_size */
	};

	(void)state;
	for (unsigned i = 0; i < NELEM(bad); i++) {
		boot_init(&b, "k");
		memcpy(b.img + bad[i].off, &bad[i].val, bad[i].size);
		place_kernel(&b, KFILE_AT);
		take_snapshot();
		assert_int_equal(linux_boot_load(&b.p, &b.r, b.err, sizeof(b.err)), -E_INVAL);
		assert_true(strlen(b.err) > 0);
		assert_untouched();
	}
}

static void test_every_truncation_is_refused_untouched(void **state)
{
	static struct boot b;

	(void)state;
	for (size_t len = 0; len < IMG_SIZE; len += (len < 0x270 ? 5 : 509)) {
		uint8_t *copy = malloc(len ? len : 1);
		int ret;

		boot_init(&b, "k");
		memcpy(copy, b.img, len);
		b.fake.ext = copy;
		b.fake.ext_len = len;
		b.kernel.start = EXT_BASE;
		b.kernel.end = EXT_BASE + len;
		take_snapshot();
		ret = linux_boot_load(&b.p, &b.r, b.err, sizeof(b.err));
		assert_true(ret < 0);
		assert_untouched();
		free(copy);
	}
}

static void test_initrd_must_fit_below_its_limit(void **state)
{
	static struct boot b;

	(void)state;
	boot_init(&b, "k");
	p32(b.img, LX_INITRD_ADDR_MAX, 0xffffff); /* below 16 MiB: the kernel takes 8-12 */
	place_kernel(&b, KFILE_AT);
	add_module(&b, MOD_AT, 8 * MIB);
	take_snapshot();
	assert_int_equal(linux_boot_load(&b.p, &b.r, b.err, sizeof(b.err)), -E_NOMEM);
	assert_non_null(strstr(b.err, "initrd"));
	assert_untouched();

	boot_init(&b, "k");
	p32(b.img, LX_INITRD_ADDR_MAX, 0xffffff);
	place_kernel(&b, KFILE_AT);
	add_module(&b, MOD_AT, 2 * MIB);
	assert_int_equal(linux_boot_load(&b.p, &b.r, b.err, sizeof(b.err)), 0);
	assert_true(b.r.initrd.end <= 0x1000000);
	assert_false(overlaps(b.r.initrd, PREF, PREF + INIT_SIZE));
}

static void test_cmdline_is_cut_at_cmdline_size(void **state)
{
	static struct boot b;

	(void)state;
	boot_init(&b, "  vmlinuz root=/dev/sda1 quiet");
	p32(b.img, LX_CMDLINE_SIZE, 16);
	place_kernel(&b, KFILE_AT);
	assert_int_equal(linux_boot_load(&b.p, &b.r, b.err, sizeof(b.err)), 0);
	assert_string_equal((char *)phys + g32(b.r.zero_page + LX_CMD_LINE_PTR),
			    "BOOT_IMAGE=vmlin");
}

static void test_no_rsdp_leaves_acpi_rsdp_addr_zero(void **state)
{
	static struct boot b;

	(void)state;
	boot_init(&b, "k");
	b.p.rsdp = NULL;
	b.p.rsdp_len = 0;
	place_kernel(&b, KFILE_AT);
	assert_int_equal(linux_boot_load(&b.p, &b.r, b.err, sizeof(b.err)), 0);
	assert_int_equal(g64(b.r.zero_page + LX_ZP_ACPI_RSDP), 0);
}

static void test_unreadable_module_is_refused_untouched(void **state)
{
	static struct boot b;

	(void)state;
	boot_init(&b, "k");
	place_kernel(&b, KFILE_AT);
	b.mods[0].start = 0x300000000ull;
	b.mods[0].end = 0x300001000ull;
	b.p.nr_modules = 1;
	take_snapshot();
	assert_int_equal(linux_boot_load(&b.p, &b.r, b.err, sizeof(b.err)), -E_FAULT);
	assert_untouched();
}

/* Random corruption of the setup header: never a crash; a success still obeys the rules. */
static void test_header_corruption_is_handled(void **state)
{
	static struct boot b;
	unsigned seed = 12345;

	(void)state;
	for (unsigned round = 0; round < 150; round++) {
		int ret;

		boot_init(&b, "k x");
		for (unsigned k = 0; k < 3; k++) {
			seed = seed * 1103515245u + 12345u;
			unsigned off = LX_SETUP_SECTS + (seed >> 8) % (0x268 - LX_SETUP_SECTS);

			seed = seed * 1103515245u + 12345u;
			b.img[off] = (uint8_t)(seed >> 16);
		}
		place_kernel(&b, KFILE_AT);
		add_module(&b, MOD_AT, 0x1000);
		take_snapshot();
		ret = linux_boot_load(&b.p, &b.r, b.err, sizeof(b.err));
		if (ret) {
			assert_untouched();
			continue;
		}
		assert_true(b.r.kernel.end <= HIDDEN);
		assert_true(b.r.kernel.end - b.r.kernel.start >= b.r.hdr.pm_size);
		assert_false(overlaps(b.r.kernel, KFILE_AT, KFILE_AT + IMG_SIZE));
		assert_false(overlaps(b.r.initrd, b.r.kernel.start, b.r.kernel.end));
		assert_false(overlaps(b.r.boot_data, b.r.kernel.start, b.r.kernel.end));
		assert_false(overlaps(b.r.boot_data, b.r.initrd.start, b.r.initrd.end));
		assert_true(b.r.initrd.end <= (uint64_t)b.r.hdr.initrd_addr_max + 1);
	}
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_detects_bzimage),
		T(test_loads_at_pref_address),
		T(test_relocates_when_pref_is_busy),
		T(test_non_relocatable_kernel_with_busy_pref_is_refused),
		T(test_old_protocol_and_zimage_are_refused),
		T(test_inconsistent_headers_are_refused),
		T(test_every_truncation_is_refused_untouched),
		T(test_initrd_must_fit_below_its_limit),
		T(test_cmdline_is_cut_at_cmdline_size),
		T(test_no_rsdp_leaves_acpi_rsdp_addr_zero),
		T(test_unreadable_module_is_refused_untouched),
		T(test_header_corruption_is_handled),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
