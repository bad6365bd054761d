/*
 * The ALU forms the MMIO fast and short paths do themselves (core/mmio_forms.c): op [m],r,
 * op r,[m], op [m],imm (80/81/83), TEST [m],r / [m],imm, INC/DEC [m], in byte, word and
 * dword sizes.  Each runs from one RIP several times in a row (the first fills the short
 * path's entry, the repeats replay it), on a RAM word (the CPU) and on a word of a ram device
 * region (mhv), with operands chosen to carry, overflow, borrow and give zero, and with the
 * flags going in alternating between all arithmetic flags set and all clear (ADC/SBB read
 * CF; INC/DEC keep it).  EAX, the memory word and the six arithmetic flags must agree.
 * A form that writes memory is replayed only when the CPU reports its exit as the write (its
 * rights check covered the write): Bochs does, QEMU's TCG reports the read it does first, so
 * there those forms take the fast path every time.  The pass line says how many replays
 * there were, and the Bochs expect files require them.
 * Paging is off: the region is reached at its physical address.
 */
#include "core/hypercall_abi.h"
#include "lib/fmt.h"
#include "tests/guest/hv.h"
#include "tests/guest/report.h"
#include "tests/guest/tests.h"

#define ROUNDS	    8
#define FLAGS_ARITH 0x8d5u /* OF SF ZF AF PF CF (bits 11, 7, 6, 4, 2, 0) */
#define FLAGS_BASE  0x2u   /* bit 1 is always set */

struct alu_out {
	uint32_t eax, flags;
};

/* One form: EAX and the flags in (the word is the caller's), EAX and the flags out.  Each
 * 64-byte aligned: the short path refuses an instruction within 16 bytes of its code page's
 * end (core/mmio_short.c), so an unaligned form's replay count would depend on the layout. */
#define ALU_FORM(name, insn)                                                                 \
	static __attribute__((noinline, aligned(64))) struct alu_out name(uintptr_t p,         \
									uint32_t in,          \
									uint32_t fl)          \
	{                                                                                    \
		struct alu_out o = {.eax = in};                                              \
		__asm__ volatile("pushl %[fi]; popfl\n\t" insn "\n\tpushfl; popl %[fo]"      \
				 : "+a"(o.eax), [fo] "=r"(o.flags)                          \
				 : "c"(p), [fi] "r"(fl)                                     \
				 : "memory", "cc");                                         \
		o.flags &= FLAGS_ARITH;                                                      \
		return o;                                                                    \
	}

ALU_FORM(add_m_r32, "addl %%eax, (%%ecx)")
ALU_FORM(or_m_r8, "orb %%al, (%%ecx)")
ALU_FORM(adc_m_r32, "adcl %%eax, (%%ecx)")
ALU_FORM(sbb_m_r16, "sbbw %%ax, (%%ecx)")
ALU_FORM(and_m_rh, "andb %%ah, (%%ecx)")
ALU_FORM(sub_m_r32, "subl %%eax, (%%ecx)")
ALU_FORM(xor_m_r16, "xorw %%ax, (%%ecx)")
ALU_FORM(cmp_m_r32, "cmpl %%eax, (%%ecx)")
ALU_FORM(add_r_m32, "addl (%%ecx), %%eax")
ALU_FORM(sub_r_m8h, "subb (%%ecx), %%ah")
ALU_FORM(cmp_r_m16, "cmpw (%%ecx), %%ax")
ALU_FORM(adc_r_m8, "adcb (%%ecx), %%al")
ALU_FORM(sbb_r_m32, "sbbl (%%ecx), %%eax")
ALU_FORM(and_r_m16, "andw (%%ecx), %%ax")
ALU_FORM(add_m_i32, "addl $0x7fffffff, (%%ecx)")
ALU_FORM(or_m_i16, "orw $0x8001, (%%ecx)")
ALU_FORM(sub_m_i8, "subb $0x80, (%%ecx)")
ALU_FORM(add_m_si8, "addl $-3, (%%ecx)")
ALU_FORM(cmp_m_si8, "cmpl $5, (%%ecx)")
ALU_FORM(xor_m_si16, "xorw $-2, (%%ecx)")
ALU_FORM(test_m_r32, "testl %%eax, (%%ecx)")
ALU_FORM(test_m_rh, "testb %%ah, (%%ecx)")
ALU_FORM(test_m_i32, "testl $0x80000001, (%%ecx)")
ALU_FORM(test_m_i8, "testb $0x81, (%%ecx)")
ALU_FORM(inc_m32, "incl (%%ecx)")
ALU_FORM(dec_m16, "decw (%%ecx)")
ALU_FORM(inc_m8, "incb (%%ecx)")
ALU_FORM(dec_m32, "decl (%%ecx)")

struct alu_case {
	const char *name;
	struct alu_out (*fn)(uintptr_t p, uint32_t in, uint32_t fl);
	bool writes; /* the word is written (not CMP, TEST, op r,[m]) */
};

static const struct alu_case cases[] = {
	{"add [m],r32", add_m_r32, true},     {"or [m],r8", or_m_r8, true},
	{"adc [m],r32", adc_m_r32, true},     {"sbb [m],r16", sbb_m_r16, true},
	{"and [m],ah", and_m_rh, true},	      {"sub [m],r32", sub_m_r32, true},
	{"xor [m],r16", xor_m_r16, true},     {"cmp [m],r32", cmp_m_r32, false},
	{"add r32,[m]", add_r_m32, false},    {"sub ah,[m]", sub_r_m8h, false},
	{"cmp r16,[m]", cmp_r_m16, false},    {"adc r8,[m]", adc_r_m8, false},
	{"sbb r32,[m]", sbb_r_m32, false},    {"and r16,[m]", and_r_m16, false},
	{"add [m],imm32", add_m_i32, true},   {"or [m],imm16", or_m_i16, true},
	{"sub [m],imm8", sub_m_i8, true},     {"add [m],simm8", add_m_si8, true},
	{"cmp [m],simm8", cmp_m_si8, false},  {"xor [m],simm16", xor_m_si16, true},
	{"test [m],r32", test_m_r32, false},  {"test [m],ah", test_m_rh, false},
	{"test [m],imm32", test_m_i32, false}, {"test [m],imm8", test_m_i8, false},
	{"inc [m]32", inc_m32, true},	      {"dec [m]16", dec_m16, true},
	{"inc [m]8", inc_m8, true},	      {"dec [m]32", dec_m32, true},
};

/* Word and register values per round: carries, overflows, borrows, zero results, signs. */
static const uint32_t mem_vals[ROUNDS] = {0x7fffffff, 0xffffffff, 0x80000000, 0,
					  0x00ff7f80, 0x12345678, 0xfffe8001, 5};
static const uint32_t reg_vals[ROUNDS] = {1, 1, 0x80000000, 0, 0x01018080, 0xedcba988,
					  0x00017fff, 5};

static char what[96];
/* Each round uses its own word, filled beforehand: nothing else exits in between. */
static volatile uint32_t ram_words[ROUNDS];

static uint32_t short_replays(void)
{
	return hypercall(HC_MMIO_COUNTER, MMIO_COUNTER_SHORT, 0, 0, NULL);
}

static bool cache_on(void)
{
	return hypercall(HC_MMIO_COUNTER, MMIO_COUNTER_CACHE_ON, 0, 0, NULL) == 1;
}

void test_mmio_short_alu(volatile uint32_t *dev)
{
	for (unsigned c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		uint32_t bad = 0, before, n;
		uint32_t first_round = 0, got_eax = 0, want_eax = 0, got_fl = 0, want_fl = 0;
		uint32_t got_mem = 0, want_mem = 0;

		for (uint32_t i = 0; i < ROUNDS; i++)
			ram_words[i] = mem_vals[i];
		for (uint32_t i = 0; i < ROUNDS; i++)
			dev[i] = mem_vals[i];
		before = short_replays();
		for (uint32_t i = 0; i < ROUNDS; i++) {
			uint32_t fl = FLAGS_BASE | ((i & 1) ? FLAGS_ARITH : 0);
			struct alu_out want, got;

			want = cases[c].fn((uintptr_t)&ram_words[i], reg_vals[i], fl);
			got = cases[c].fn((uintptr_t)&dev[i], reg_vals[i], fl);
			if ((got.eax != want.eax || got.flags != want.flags) && !bad++) {
				first_round = i;
				got_eax = got.eax;
				want_eax = want.eax;
				got_fl = got.flags;
				want_fl = want.flags;
			}
		}
		n = short_replays() - before;
		for (uint32_t i = 0; i < ROUNDS; i++)
			if (dev[i] != ram_words[i] && !bad++) {
				first_round = i;
				got_mem = dev[i];
				want_mem = ram_words[i];
			}
		fmt_snprintf(what, sizeof(what), "mmio short alu: %s replayed %u times in %u rounds",
			     cases[c].name, n, ROUNDS);
		if (!cache_on())
			check(n == 0, what, "the cache is off");
		else if (cases[c].writes)
			check(n == ROUNDS - 1 || n == 0, what, "want %u (a write exit) or 0 (a read)",
			      ROUNDS - 1);
		else
			check(n == ROUNDS - 1, what, "want %u", ROUNDS - 1);
		fmt_snprintf(what, sizeof(what),
			     "mmio short alu: %s: EAX, memory and flags as on RAM", cases[c].name);
		check(bad == 0, what,
		      "%u of %u rounds differ, first round %u: EAX 0x%x want 0x%x, flags 0x%x "
		      "want 0x%x, word 0x%x want 0x%x",
		      bad, ROUNDS, first_round, got_eax, want_eax, got_fl, want_fl, got_mem,
		      want_mem);
	}
}
