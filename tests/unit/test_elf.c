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
#include "tests/unit/elf_build.h"

#define ERR_LEN	 200
#define PT_DYN	 2
#define PT_NOTE	 4
#define RX	 (ELF_PF_R | ELF_PF_X)
#define RW	 (ELF_PF_R | ELF_PF_W)
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Parse a heap copy of exactly len bytes. */
static int parse_len(const struct elf_img *m, size_t len, struct elf_image *out, char *err)
{
	uint8_t *copy = malloc(len ? len : 1);
	int ret;

	assert_non_null(copy);
	memcpy(copy, m->b, len);
	ret = elf_parse(copy, len, out, err, ERR_LEN);
	free(copy);
	return ret;
}

static int parse(const struct elf_img *m, struct elf_image *out, char *err)
{
	return parse_len(m, m->size, out, err);
}

/* Two segments: text at 1 MiB and data + BSS after it; the file ends with the data. */
static const struct elf_seg two[] = {
	{ELF_PT_LOAD, 0x1000, 0x100000, 0x100000, 0x1000, 0x1000, RX},
	{ELF_PT_LOAD, 0x2000, 0x101000, 0x101000, 0x800, 0x3000, RW},
};

static void valid32(struct elf_img *m)
{
	elf_build(m, 32, 0x100010, two, 2, 0x2800);
}

static void expect_fail(const struct elf_img *m, const char *msg)
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
	struct elf_img m;
	struct elf_image e;
	char err[ERR_LEN];

	(void)state;
	valid32(&m);
	assert_int_equal(parse(&m, &e, err), 0);
	assert_string_equal(err, "");
	assert_int_equal(e.bits, 32);
	assert_int_equal(e.machine, ELF_EM_386);
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
	static const struct elf_seg s[] = {
		{PT_NOTE, 0x100, 0, 0, 0x10, 0x10, 0},
		{ELF_PT_LOAD, 0x1000, 0xffffffff80100000ull, 0x100000, 0x1000, 0x1000, RX},
		{ELF_PT_LOAD, 0x2000, 0xffffffff80200000ull, 0x200000, 0x100, 0x100, RW},
		{ELF_PT_LOAD, 0x2100, 0x300000, 0x300000, 0, 0, RW}, /* empty: ignored */
	};
	struct elf_img m;
	struct elf_image e;
	char err[ERR_LEN];

	(void)state;
	elf_build(&m, 64, 0xffffffff80200040ull, s, 4, 0x2100);
	assert_int_equal(parse(&m, &e, err), 0);
	assert_int_equal(e.bits, 64);
	assert_int_equal(e.machine, ELF_EM_AMD64);
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
	struct elf_img m;

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
	struct elf_img m;

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
	put_le(m.b + 20, 2, 4);
	expect_fail(&m, "version 2 is not 1");
}

static void test_elf_wrong_machine_or_type(void **state)
{
	struct elf_img m;

	(void)state;
	valid32(&m);
	put_le(m.b + 18, ELF_EM_AMD64, 2); /* ELF32 with x86-64: not accepted */
	expect_fail(&m, "machine 62 invalid for ELF32 (expected 3)");
	valid32(&m);
	put_le(m.b + 16, 3, 2); /* ET_DYN */
	expect_fail(&m, "type 3 is not ET_EXEC");
}

static void test_elf_program_header_table_checks(void **state)
{
	struct elf_img m;

	(void)state;
	valid32(&m);
	put_le(m.b + 44, 0, 2);
	expect_fail(&m, "no program headers");
	valid32(&m);
	put_le(m.b + 44, 0xffff, 2);
	expect_fail(&m, "PN_XNUM");
	valid32(&m);
	put_le(m.b + 42, 31, 2);
	expect_fail(&m, "program header size 31 smaller than 32");
	valid32(&m);
	put_le(m.b + 28, 0x27f0, 4); /* 2 x 32 bytes from 0x27f0 run past 0x2800 */
	expect_fail(&m, "program header table [0x27f0,+0x40) outside the 10240-byte file");
	valid32(&m);
	put_le(m.b + 28, 0xfffffff0u, 4);
	expect_fail(&m, "outside the 10240-byte file");
}

static void test_elf_segment_file_range_outside_file(void **state)
{
	static const struct elf_seg s[] = {
		{ELF_PT_LOAD, 0x1000, 0x100000, 0x100000, 0x1000, 0x1000, RX},
		{ELF_PT_LOAD, 0x1800, 0x101000, 0x101000, 0x900, 0x900, RW},
		{ELF_PT_LOAD, 0x800, 0x102000, 0x102000, 0x1000, 0x1000, RW},
	};
	struct elf_img m;

	(void)state;
	elf_build(&m, 32, 0x100000, s, 3, 0x1000);
	expect_fail(&m,
		    "elf: program header 0: file range [0x1000,0x2000) outside the 4096-byte file");
	elf_build(&m, 32, 0x100000, s, 3, 0x2000);
	expect_fail(&m, "program header 1: file range [0x1800,0x2100) outside the 8192-byte file");
	/* An offset near 2^64 must not wrap the check. */
	{
		struct elf_seg w[] = {
			{ELF_PT_LOAD, 0xfffffffffffff000ull, 0x100000, 0x100000, 0x2000, 0x2000, RX}};

		elf_build(&m, 64, 0x100000, w, 1, 0x2000);
		expect_fail(&m, "program header 0: file range [0xfffffffffffff000,");
	}
}

static void test_elf_filesz_above_memsz(void **state)
{
	static const struct elf_seg s[] = {
		{ELF_PT_LOAD, 0x1000, 0x100000, 0x100000, 0x1000, 0xfff, RX},
	};
	struct elf_img m;

	(void)state;
	elf_build(&m, 32, 0x100000, s, 1, 0x2000);
	expect_fail(&m, "program header 0: filesz 0x1000 exceeds memsz 0xfff");
}

static void test_elf_overlapping_segments(void **state)
{
	static const struct elf_seg s[] = {
		{ELF_PT_LOAD, 0x1000, 0x100000, 0x100000, 0x1000, 0x2000, RX},
		{ELF_PT_LOAD, 0x2000, 0x101fff, 0x101fff, 0x10, 0x10, RW},
	};
	struct elf_img m;

	(void)state;
	elf_build(&m, 32, 0x100000, s, 2, 0x2010);
	expect_fail(&m, "program header 1: [0x101fff,0x10200f) overlaps program header 0 "
			"[0x100000,0x102000)");
}

static void test_elf_adjacent_segments_are_fine(void **state)
{
	static const struct elf_seg s[] = {
		{ELF_PT_LOAD, 0x1000, 0x100000, 0x100000, 0x1000, 0x2000, RX},
		{ELF_PT_LOAD, 0x2000, 0x102000, 0x102000, 0x10, 0x10, RW},
	};
	struct elf_img m;
	struct elf_image e;
	char err[ERR_LEN];

	(void)state;
	elf_build(&m, 32, 0x100000, s, 2, 0x2010);
	assert_int_equal(parse(&m, &e, err), 0);
	assert_int_equal(e.nr_segs, 2);
}

static void test_elf_address_wraps(void **state)
{
	static const struct elf_seg s[] = {
		{ELF_PT_LOAD, 0x1000, 0xfffffffffffff000ull, 0xfffffffffffff000ull, 0x10, 0x2000, RX},
	};
	struct elf_img m;

	(void)state;
	elf_build(&m, 64, 0xfffffffffffff000ull, s, 1, 0x1010);
	expect_fail(&m, "program header 0: address 0xfffffffffffff000 + memsz 0x2000 wraps");
}

static void test_elf_too_many_segments(void **state)
{
	struct elf_seg s[ELF_MAX_SEGMENTS + 1];
	struct elf_img m;
	struct elf_image e;
	char err[ERR_LEN];
	unsigned i;

	(void)state;
	for (i = 0; i < NELEM(s); i++)
		s[i] = (struct elf_seg){
			ELF_PT_LOAD, 0x1000, 0x100000 + i * 0x1000, 0x100000 + i * 0x1000, 0x10,
			0x10,	 RX};
	elf_build(&m, 32, 0x100000, s, ELF_MAX_SEGMENTS, 0x1010);
	assert_int_equal(parse(&m, &e, err), 0);
	assert_int_equal(e.nr_segs, ELF_MAX_SEGMENTS);
	elf_build(&m, 32, 0x100000, s, ELF_MAX_SEGMENTS + 1, 0x1010);
	expect_fail(&m, "more than 16 loadable segments");
}

static void test_elf_entry_outside_segments(void **state)
{
	struct elf_img m;

	(void)state;
	elf_build(&m, 32, 0x104000, two, 2, 0x2800); /* one past the end of the data segment */
	expect_fail(&m, "entry point 0x104000 is not inside any loadable segment");
}

static void test_elf_dynamic_and_no_load_refused(void **state)
{
	static const struct elf_seg dyn[] = {
		{ELF_PT_LOAD, 0x1000, 0x100000, 0x100000, 0x10, 0x10, RX},
		{PT_DYN, 0x1000, 0x100000, 0x100000, 0x10, 0x10, RW},
	};
	static const struct elf_seg none[] = {{PT_NOTE, 0x1000, 0, 0, 0x10, 0x10, 0}};
	struct elf_img m;

	(void)state;
	elf_build(&m, 32, 0x100000, dyn, 2, 0x1010);
	expect_fail(&m, "program header 1: type 2 needs a dynamic loader");
	elf_build(&m, 32, 0x100000, none, 1, 0x1010);
	expect_fail(&m, "no loadable (PT_LOAD) segment");
}

static void test_elf_null_or_tiny_err_buffer(void **state)
{
	struct elf_img m;
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
	struct elf_img m;
	struct elf_image e;
	char err[ERR_LEN];
	int bits;
	size_t len;

	(void)state;
	for (bits = 32; bits <= 64; bits += 32) {
		elf_build(&m, bits, 0x100010, two, 2, 0x2800); /* the file ends with segment data */
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
	struct elf_img m, c;
	struct elf_image e;
	char err[ERR_LEN];
	unsigned accepted = 0, rejected = 0;
	int bits;
	size_t pos, v;

	(void)state;
	for (bits = 32; bits <= 64; bits += 32) {
		elf_build(&m, bits, 0x100010, two, 2, 0x2800);
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
