/*
 * lib/elf: images are assembled field by field by a tiny builder, then parsed from a heap copy
 * of exactly the given size so AddressSanitizer flags any read past the file.
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

#include "lib/elf.h"
#include "lib/errno.h"

#define IMG_CAP	 0x4000
#define ERR_LEN	 200
#define EM_386	 3
#define EM_AMD64 62
#define PT_LOAD	 1
#define PT_DYN	 2
#define PT_NOTE	 4
#define RX	 (ELF_PF_R | ELF_PF_X)
#define RW	 (ELF_PF_R | ELF_PF_W)
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

struct seg_spec {
	uint32_t type;
	uint64_t offset, vaddr, paddr, filesz, memsz;
	uint32_t flags;
};

struct img {
	uint8_t b[IMG_CAP];
	size_t size;
};

static void put(uint8_t *p, uint64_t v, int width)
{
	int i;

	for (i = 0; i < width; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Write an ELF header and program headers; segment data is filled with a position pattern. */
static void build(struct img *m, int bits, uint64_t entry, const struct seg_spec *s, unsigned n,
		  size_t size)
{
	bool b64 = bits == 64;
	size_t eh = b64 ? 64 : 52, ph = b64 ? 56 : 32, i;

	memset(m->b, 0, sizeof(m->b));
	for (i = 0; i < sizeof(m->b); i++)
		m->b[i] = (uint8_t)(i * 7 + 3);
	memset(m->b, 0, eh + n * ph);
	memcpy(m->b,
	       "\x7f"
	       "ELF",
	       4);
	m->b[4] = b64 ? 2 : 1;
	m->b[5] = 1;
	m->b[6] = 1;
	put(m->b + 16, 2, 2); /* ET_EXEC */
	put(m->b + 18, b64 ? EM_AMD64 : EM_386, 2);
	put(m->b + 20, 1, 4);
	if (b64) {
		put(m->b + 24, entry, 8);
		put(m->b + 32, eh, 8);
		put(m->b + 52, eh, 2);
		put(m->b + 54, ph, 2);
		put(m->b + 56, n, 2);
	} else {
		put(m->b + 24, entry, 4);
		put(m->b + 28, eh, 4);
		put(m->b + 40, eh, 2);
		put(m->b + 42, ph, 2);
		put(m->b + 44, n, 2);
	}
	for (i = 0; i < n; i++) {
		uint8_t *p = m->b + eh + i * ph;

		if (b64) {
			put(p, s[i].type, 4);
			put(p + 4, s[i].flags, 4);
			put(p + 8, s[i].offset, 8);
			put(p + 16, s[i].vaddr, 8);
			put(p + 24, s[i].paddr, 8);
			put(p + 32, s[i].filesz, 8);
			put(p + 40, s[i].memsz, 8);
			put(p + 48, 0x1000, 8);
		} else {
			put(p, s[i].type, 4);
			put(p + 4, s[i].offset, 4);
			put(p + 8, s[i].vaddr, 4);
			put(p + 12, s[i].paddr, 4);
			put(p + 16, s[i].filesz, 4);
			put(p + 20, s[i].memsz, 4);
			put(p + 24, s[i].flags, 4);
			put(p + 28, 0x1000, 4);
		}
	}
	m->size = size;
}

/* Parse a heap copy of exactly len bytes. */
static int parse_len(const struct img *m, size_t len, struct elf_image *out, char *err)
{
	uint8_t *copy = malloc(len ? len : 1);
	int ret;

	assert_non_null(copy);
	memcpy(copy, m->b, len);
	ret = elf_parse(copy, len, out, err, ERR_LEN);
	free(copy);
	return ret;
}

static int parse(const struct img *m, struct elf_image *out, char *err)
{
	return parse_len(m, m->size, out, err);
}

/* Two segments: text at 1 MiB and data + BSS after it; the file ends with the data. */
static const struct seg_spec two[] = {
	{PT_LOAD, 0x1000, 0x100000, 0x100000, 0x1000, 0x1000, RX},
	{PT_LOAD, 0x2000, 0x101000, 0x101000, 0x800, 0x3000, RW},
};

static void valid32(struct img *m)
{
	build(m, 32, 0x100010, two, 2, 0x2800);
}

static void expect_fail(const struct img *m, const char *msg)
{
	struct elf_image e;
	char err[ERR_LEN];

	assert_int_equal(parse(m, &e, err), -E_INVAL);
	if (!strstr(err, msg))
		fail_msg("error \"%s\" lacks \"%s\"", err, msg);
	assert_true(strncmp(err, "elf: ", 5) == 0);
}

static void test_elf32_two_segments_parse(void **state)
{
	struct img m;
	struct elf_image e;
	char err[ERR_LEN];

	(void)state;
	valid32(&m);
	assert_int_equal(parse(&m, &e, err), 0);
	assert_string_equal(err, "");
	assert_int_equal(e.bits, 32);
	assert_int_equal(e.machine, EM_386);
	assert_int_equal(e.nr_segs, 2);
	assert_int_equal(e.seg[0].paddr, 0x100000);
	assert_int_equal(e.seg[0].offset, 0x1000);
	assert_int_equal(e.seg[0].filesz, 0x1000);
	assert_int_equal(e.seg[0].memsz, 0x1000);
	assert_int_equal(e.seg[0].flags, RX);
	assert_int_equal(e.seg[1].paddr, 0x101000);
	assert_int_equal(e.seg[1].offset, 0x2000);
	assert_int_equal(e.seg[1].filesz, 0x800);
	assert_int_equal(e.seg[1].memsz, 0x3000);
	assert_int_equal(e.seg[1].flags, RW);
	assert_int_equal(e.seg[1].phdr, 1);
	assert_int_equal(e.entry, 0x100010);
	assert_int_equal(e.entry_seg, 0);
	assert_int_equal(e.lowest, 0x100000);
	assert_int_equal(e.highest, 0x104000);
}

static void test_elf64_higher_half_entry_is_translated_to_paddr(void **state)
{
	static const struct seg_spec s[] = {
		{PT_NOTE, 0x100, 0, 0, 0x10, 0x10, 0},
		{PT_LOAD, 0x1000, 0xffffffff80100000ull, 0x100000, 0x1000, 0x1000, RX},
		{PT_LOAD, 0x2000, 0xffffffff80200000ull, 0x200000, 0x100, 0x100, RW},
		{PT_LOAD, 0x2100, 0x300000, 0x300000, 0, 0, RW}, /* empty: ignored */
	};
	struct img m;
	struct elf_image e;
	char err[ERR_LEN];

	(void)state;
	build(&m, 64, 0xffffffff80200040ull, s, 4, 0x2100);
	assert_int_equal(parse(&m, &e, err), 0);
	assert_int_equal(e.bits, 64);
	assert_int_equal(e.machine, EM_AMD64);
	assert_int_equal(e.nr_segs, 2);
	assert_int_equal(e.seg[0].phdr, 1);
	assert_int_equal(e.seg[1].phdr, 2);
	assert_int_equal(e.e_entry, 0xffffffff80200040ull);
	assert_int_equal(e.entry, 0x200040);
	assert_int_equal(e.entry_seg, 1);
	assert_int_equal(e.highest, 0x200100);
}

static void test_elf_too_short_and_bad_magic(void **state)
{
	struct img m;

	(void)state;
	valid32(&m);
	m.size = 15;
	expect_fail(&m, "shorter than the 16-byte ELF ident");
	m.size = 51;
	expect_fail(&m, "shorter than the 52-byte ELF32 header");
	valid32(&m);
	m.b[1] = 'X';
	expect_fail(&m, "bad magic 7f 58 4c 46");
}

static void test_elf_bad_class_encoding_version(void **state)
{
	struct img m;

	(void)state;
	valid32(&m);
	m.b[4] = 3;
	expect_fail(&m, "bad class 3");
	valid32(&m);
	m.b[5] = 2;
	expect_fail(&m, "not little-endian");
	valid32(&m);
	m.b[6] = 0;
	expect_fail(&m, "ident version 0");
	valid32(&m);
	put(m.b + 20, 2, 4);
	expect_fail(&m, "version 2 is not 1");
}

static void test_elf_wrong_machine_or_type(void **state)
{
	struct img m;

	(void)state;
	valid32(&m);
	put(m.b + 18, EM_AMD64, 2); /* ELF32 with x86-64: not accepted */
	expect_fail(&m, "machine 62 invalid for ELF32 (expected 3)");
	valid32(&m);
	put(m.b + 16, 3, 2); /* ET_DYN */
	expect_fail(&m, "type 3 is not ET_EXEC");
}

static void test_elf_program_header_table_checks(void **state)
{
	struct img m;

	(void)state;
	valid32(&m);
	put(m.b + 44, 0, 2);
	expect_fail(&m, "no program headers");
	valid32(&m);
	put(m.b + 44, 0xffff, 2);
	expect_fail(&m, "PN_XNUM");
	valid32(&m);
	put(m.b + 42, 31, 2);
	expect_fail(&m, "program header size 31 smaller than 32");
	valid32(&m);
	put(m.b + 28, 0x27f0, 4); /* 2 x 32 bytes from 0x27f0 run past 0x2800 */
	expect_fail(&m, "program header table [0x27f0,+0x40) outside the 10240-byte file");
	valid32(&m);
	put(m.b + 28, 0xfffffff0u, 4);
	expect_fail(&m, "outside the 10240-byte file");
}

static void test_elf_segment_file_range_outside_file(void **state)
{
	static const struct seg_spec s[] = {
		{PT_LOAD, 0x1000, 0x100000, 0x100000, 0x1000, 0x1000, RX},
		{PT_LOAD, 0x1800, 0x101000, 0x101000, 0x900, 0x900, RW},
		{PT_LOAD, 0x800, 0x102000, 0x102000, 0x1000, 0x1000, RW},
	};
	struct img m;

	(void)state;
	build(&m, 32, 0x100000, s, 3, 0x1000);
	expect_fail(&m,
		    "elf: program header 0: file range [0x1000,0x2000) outside the 4096-byte file");
	build(&m, 32, 0x100000, s, 3, 0x2000);
	expect_fail(&m, "program header 1: file range [0x1800,0x2100) outside the 8192-byte file");
	/* An offset near 2^64 must not wrap the check. */
	{
		struct seg_spec w[] = {
			{PT_LOAD, 0xfffffffffffff000ull, 0x100000, 0x100000, 0x2000, 0x2000, RX}};

		build(&m, 64, 0x100000, w, 1, 0x2000);
		expect_fail(&m, "program header 0: file range [0xfffffffffffff000,");
	}
}

static void test_elf_filesz_above_memsz(void **state)
{
	static const struct seg_spec s[] = {
		{PT_LOAD, 0x1000, 0x100000, 0x100000, 0x1000, 0xfff, RX},
	};
	struct img m;

	(void)state;
	build(&m, 32, 0x100000, s, 1, 0x2000);
	expect_fail(&m, "program header 0: filesz 0x1000 exceeds memsz 0xfff");
}

static void test_elf_overlapping_segments(void **state)
{
	static const struct seg_spec s[] = {
		{PT_LOAD, 0x1000, 0x100000, 0x100000, 0x1000, 0x2000, RX},
		{PT_LOAD, 0x2000, 0x101fff, 0x101fff, 0x10, 0x10, RW},
	};
	struct img m;

	(void)state;
	build(&m, 32, 0x100000, s, 2, 0x2010);
	expect_fail(&m, "program header 1: [0x101fff,0x10200f) overlaps program header 0 "
			"[0x100000,0x102000)");
}

static void test_elf_adjacent_segments_are_fine(void **state)
{
	static const struct seg_spec s[] = {
		{PT_LOAD, 0x1000, 0x100000, 0x100000, 0x1000, 0x2000, RX},
		{PT_LOAD, 0x2000, 0x102000, 0x102000, 0x10, 0x10, RW},
	};
	struct img m;
	struct elf_image e;
	char err[ERR_LEN];

	(void)state;
	build(&m, 32, 0x100000, s, 2, 0x2010);
	assert_int_equal(parse(&m, &e, err), 0);
	assert_int_equal(e.nr_segs, 2);
}

static void test_elf_address_wraps(void **state)
{
	static const struct seg_spec s[] = {
		{PT_LOAD, 0x1000, 0xfffffffffffff000ull, 0xfffffffffffff000ull, 0x10, 0x2000, RX},
	};
	struct img m;

	(void)state;
	build(&m, 64, 0xfffffffffffff000ull, s, 1, 0x1010);
	expect_fail(&m, "program header 0: address 0xfffffffffffff000 + memsz 0x2000 wraps");
}

static void test_elf_too_many_segments(void **state)
{
	struct seg_spec s[ELF_MAX_SEGMENTS + 1];
	struct img m;
	struct elf_image e;
	char err[ERR_LEN];
	unsigned i;

	(void)state;
	for (i = 0; i < NELEM(s); i++)
		s[i] = (struct seg_spec){
			PT_LOAD, 0x1000, 0x100000 + i * 0x1000, 0x100000 + i * 0x1000, 0x10,
			0x10,	 RX};
	build(&m, 32, 0x100000, s, ELF_MAX_SEGMENTS, 0x1010);
	assert_int_equal(parse(&m, &e, err), 0);
	assert_int_equal(e.nr_segs, ELF_MAX_SEGMENTS);
	build(&m, 32, 0x100000, s, ELF_MAX_SEGMENTS + 1, 0x1010);
	expect_fail(&m, "more than 16 loadable segments");
}

static void test_elf_entry_outside_segments(void **state)
{
	struct img m;

	(void)state;
	build(&m, 32, 0x104000, two, 2, 0x2800); /* one past the end of the data segment */
	expect_fail(&m, "entry point 0x104000 is not inside any loadable segment");
}

static void test_elf_dynamic_and_no_load_refused(void **state)
{
	static const struct seg_spec dyn[] = {
		{PT_LOAD, 0x1000, 0x100000, 0x100000, 0x10, 0x10, RX},
		{PT_DYN, 0x1000, 0x100000, 0x100000, 0x10, 0x10, RW},
	};
	static const struct seg_spec none[] = {{PT_NOTE, 0x1000, 0, 0, 0x10, 0x10, 0}};
	struct img m;

	(void)state;
	build(&m, 32, 0x100000, dyn, 2, 0x1010);
	expect_fail(&m, "program header 1: type 2 needs a dynamic loader");
	build(&m, 32, 0x100000, none, 1, 0x1010);
	expect_fail(&m, "no loadable (PT_LOAD) segment");
}

static void test_elf_null_or_tiny_err_buffer(void **state)
{
	struct img m;
	struct elf_image e;
	char err[4] = "zzz";

	(void)state;
	valid32(&m);
	m.b[0] = 0;
	assert_int_equal(elf_parse(m.b, m.size, &e, NULL, 100), -E_INVAL);
	assert_int_equal(elf_parse(m.b, m.size, &e, err, sizeof(err)), -E_INVAL);
	assert_string_equal(err, "elf");
}

static void test_elf_every_truncation_fails_cleanly(void **state)
{
	struct img m;
	struct elf_image e;
	char err[ERR_LEN];
	int bits;
	size_t len;

	(void)state;
	for (bits = 32; bits <= 64; bits += 32) {
		build(&m, bits, 0x100010, two, 2, 0x2800); /* the file ends with segment data */
		for (len = 0; len < m.size; len++) {
			err[0] = '\0';
			assert_int_equal(parse_len(&m, len, &e, err), -E_INVAL);
			assert_true(strncmp(err, "elf: ", 5) == 0);
		}
		assert_int_equal(parse_len(&m, m.size, &e, err), 0);
	}
}

/* Whatever a corrupted file says, an accepted image must respect every documented rule. */
static void check_invariants(const struct elf_image *e, size_t size)
{
	unsigned i, j;

	assert_true(e->nr_segs >= 1 && e->nr_segs <= ELF_MAX_SEGMENTS);
	assert_true(e->entry_seg < e->nr_segs);
	assert_true(e->entry >= e->seg[e->entry_seg].paddr &&
		    e->entry - e->seg[e->entry_seg].paddr < e->seg[e->entry_seg].memsz);
	for (i = 0; i < e->nr_segs; i++) {
		const struct elf_segment *s = &e->seg[i];

		assert_true(s->memsz > 0 && s->filesz <= s->memsz);
		assert_true(s->offset <= size && s->filesz <= size - s->offset);
		assert_true(s->paddr + s->memsz > s->paddr);
		for (j = 0; j < i; j++)
			assert_false(s->paddr < e->seg[j].paddr + e->seg[j].memsz &&
				     e->seg[j].paddr < s->paddr + s->memsz);
	}
}

static void test_elf_every_single_byte_corruption_is_handled(void **state)
{
	static const uint8_t vals[] = {0x00, 0x01, 0x7f, 0x80, 0xff};
	struct img m, c;
	struct elf_image e;
	char err[ERR_LEN];
	unsigned accepted = 0, rejected = 0;
	int bits;
	size_t pos, v;

	(void)state;
	for (bits = 32; bits <= 64; bits += 32) {
		build(&m, bits, 0x100010, two, 2, 0x2800);
		for (pos = 0; pos < m.size; pos++)
			for (v = 0; v < sizeof(vals); v++) {
				int ret;

				c = m;
				c.b[pos] = c.b[pos] == vals[v] ? (uint8_t)~vals[v] : vals[v];
				ret = parse(&c, &e, err);
				if (ret == 0) {
					accepted++;
					check_invariants(&e, c.size);
				} else {
					rejected++;
					assert_int_equal(ret, -E_INVAL);
					assert_true(strncmp(err, "elf: ", 5) == 0);
				}
			}
	}
	assert_true(accepted > 0 && rejected > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_elf32_two_segments_parse),
		cmocka_unit_test(test_elf64_higher_half_entry_is_translated_to_paddr),
		cmocka_unit_test(test_elf_too_short_and_bad_magic),
		cmocka_unit_test(test_elf_bad_class_encoding_version),
		cmocka_unit_test(test_elf_wrong_machine_or_type),
		cmocka_unit_test(test_elf_program_header_table_checks),
		cmocka_unit_test(test_elf_segment_file_range_outside_file),
		cmocka_unit_test(test_elf_filesz_above_memsz),
		cmocka_unit_test(test_elf_overlapping_segments),
		cmocka_unit_test(test_elf_adjacent_segments_are_fine),
		cmocka_unit_test(test_elf_address_wraps),
		cmocka_unit_test(test_elf_too_many_segments),
		cmocka_unit_test(test_elf_entry_outside_segments),
		cmocka_unit_test(test_elf_dynamic_and_no_load_refused),
		cmocka_unit_test(test_elf_null_or_tiny_err_buffer),
		cmocka_unit_test(test_elf_every_truncation_fails_cleanly),
		cmocka_unit_test(test_elf_every_single_byte_corruption_is_handled),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
