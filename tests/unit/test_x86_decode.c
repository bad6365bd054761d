/* Unit tests for mmio/x86_decode: exact lengths, operands and errors for known encodings. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "mmio/x86_decode.h"

#define DEC(in, mode, ...)                                                                         \
	({                                                                                         \
		static const uint8_t b_[] = {__VA_ARGS__};                                         \
		x86_decode(in, b_, sizeof(b_), mode);                                              \
	})

static void test_mov_rip_relative_64(void **st)
{
	struct x86_insn in;

	(void)st;
	/* mov eax, [rip+0x12345678] */
	assert_int_equal(DEC(&in, X86_MODE_64, 0x8b, 0x05, 0x78, 0x56, 0x34, 0x12), 0);
	assert_int_equal(in.len, 6);
	assert_true(in.rip_rel);
	assert_int_equal(in.disp, 0x12345678);
	assert_int_equal(in.opsize, 4);
	assert_int_equal(in.mem_seg, X86_SEG_DS);
}

static void test_sib_rex_operands(void **st)
{
	struct x86_insn in;

	(void)st;
	/* mov r9, [r12 + r13*8 - 0x10] : 4f 8b 4c ec f0 */
	assert_int_equal(DEC(&in, X86_MODE_64, 0x4f, 0x8b, 0x4c, 0xec, 0xf0), 0);
	assert_int_equal(in.len, 5);
	assert_int_equal(in.reg, X86_R9);
	assert_int_equal(in.mem_base, X86_R12);
	assert_int_equal(in.mem_index, X86_R13);
	assert_int_equal(in.mem_scale, 8);
	assert_int_equal(in.disp, -0x10);
	assert_int_equal(in.opsize, 8);
}

static void test_16bit_bp_defaults_to_ss(void **st)
{
	struct x86_insn in;

	(void)st;
	/* 16-bit: mov ax, [bp+si+0x1234] = 8b 82 34 12 */
	assert_int_equal(DEC(&in, X86_MODE_16, 0x8b, 0x82, 0x34, 0x12), 0);
	assert_int_equal(in.len, 4);
	assert_int_equal(in.mem_base, X86_RBP);
	assert_int_equal(in.mem_index, X86_RSI);
	assert_int_equal(in.mem_seg, X86_SEG_SS);
	assert_int_equal(in.opsize, 2);
	assert_int_equal(in.addrsize, 2);
}

static void test_32bit_prefixes_change_sizes(void **st)
{
	struct x86_insn in;

	(void)st;
	/* 66 67 c7 07 34 12: mov word [bx], 0x1234 in 32-bit code */
	assert_int_equal(DEC(&in, X86_MODE_32, 0x66, 0x67, 0xc7, 0x07, 0x34, 0x12), 0);
	assert_int_equal(in.len, 6);
	assert_int_equal(in.opsize, 2);
	assert_int_equal(in.addrsize, 2);
	assert_int_equal(in.mem_base, X86_RBX);
	assert_int_equal(in.imm[0], 0x1234);
}

static void test_moffs64_and_imm64(void **st)
{
	struct x86_insn in;

	(void)st;
	assert_int_equal(DEC(&in, X86_MODE_64, 0x48, 0xa1, 1, 2, 3, 4, 5, 6, 7, 8), 0);
	assert_int_equal(in.len, 10);
	assert_true(in.has_mem);
	assert_int_equal((uint64_t)in.disp, 0x0807060504030201ull);
	assert_int_equal(DEC(&in, X86_MODE_64, 0x49, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8), 0);
	assert_int_equal(in.imm_size[0], 8);
	assert_int_equal(in.len, 10);
}

static void test_vex_and_evex_lengths(void **st)
{
	struct x86_insn in;

	(void)st;
	/* vmovdqu ymm0, [rax] = c5 fe 6f 00 */
	assert_int_equal(DEC(&in, X86_MODE_64, 0xc5, 0xfe, 0x6f, 0x00), 0);
	assert_int_equal(in.len, 4);
	assert_int_equal(in.encoding, X86_ENC_VEX);
	assert_int_equal(in.vl, 1);
	/* vpblendd xmm0, xmm1, [rax+8], 5 = c4 e3 71 02 40 08 05 */
	assert_int_equal(DEC(&in, X86_MODE_64, 0xc4, 0xe3, 0x71, 0x02, 0x40, 0x08, 0x05), 0);
	assert_int_equal(in.len, 7);
	assert_int_equal(in.imm[0], 5);
	/* vmovdqu64 zmm0, [rax] = 62 f1 fe 48 6f 00 */
	assert_int_equal(DEC(&in, X86_MODE_64, 0x62, 0xf1, 0xfe, 0x48, 0x6f, 0x00), 0);
	assert_int_equal(in.len, 6);
	assert_int_equal(in.encoding, X86_ENC_EVEX);
	/* In 32-bit mode c5 with mod != 3 is LDS. */
	assert_int_equal(DEC(&in, X86_MODE_32, 0xc5, 0x06), 0);
	assert_int_equal(in.encoding, X86_ENC_LEGACY);
}

static void test_fifteen_byte_limit(void **st)
{
	struct x86_insn in;

	(void)st;
	/* 14 prefixes + nop = 15 bytes: fine; 15 prefixes + nop: too long (#GP). */
	assert_int_equal(DEC(&in, X86_MODE_32, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
			     0x66, 0x66, 0x66, 0x66, 0x66, 0x90),
			 0);
	assert_int_equal(in.len, 15);
	assert_int_equal(DEC(&in, X86_MODE_32, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
			     0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x90),
			 -X86_DEC_TOO_LONG);
}

static void test_truncated_and_invalid(void **st)
{
	struct x86_insn in;

	(void)st;
	assert_int_equal(DEC(&in, X86_MODE_64, 0x8b, 0x05, 0x00), -X86_DEC_TRUNCATED);
	assert_int_equal(DEC(&in, X86_MODE_64, 0x06), -X86_DEC_INVALID);	     /* push es */
	assert_int_equal(DEC(&in, X86_MODE_64, 0x8d, 0xc0), -X86_DEC_INVALID);	     /* lea reg */
	assert_int_equal(DEC(&in, X86_MODE_64, 0xf0, 0x89, 0xc0), -X86_DEC_INVALID); /* lock reg */
	assert_int_equal(DEC(&in, X86_MODE_64, 0xf0, 0x39, 0x00), -X86_DEC_INVALID); /* lock cmp */
	assert_int_equal(DEC(&in, X86_MODE_64, 0xf0, 0x01, 0x00), 0);		     /* lock add */
	assert_true(in.lock);
	assert_int_equal(DEC(&in, X86_MODE_64, 0x66, 0xc5, 0xf8, 0x10, 0x00), -X86_DEC_INVALID);
	assert_int_equal(DEC(&in, X86_MODE_32, 0x0f, 0x0b), 0); /* ud2 is a real instruction */
	assert_int_equal(DEC(&in, X86_MODE_32, 0x0f, 0x04), -X86_DEC_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mov_rip_relative_64),
		cmocka_unit_test(test_sib_rex_operands),
		cmocka_unit_test(test_16bit_bp_defaults_to_ss),
		cmocka_unit_test(test_32bit_prefixes_change_sizes),
		cmocka_unit_test(test_moffs64_and_imm64),
		cmocka_unit_test(test_vex_and_evex_lengths),
		cmocka_unit_test(test_fifteen_byte_limit),
		cmocka_unit_test(test_truncated_and_invalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
