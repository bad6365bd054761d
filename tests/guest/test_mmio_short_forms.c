/*
 * The MOV forms the MMIO fast and short paths do themselves (core/mmio_forms.c): each form
 * runs from one RIP several times in a row (the first fills the short path's entry, the
 * repeats replay it), on a RAM word (the CPU) and on a word of a ram device region (mhv),
 * with a different value each round.  Register and memory results must agree, and the
 * flags must be what the instruction left (MOV changes none): the arithmetic flags are set
 * to a pattern before each run and read back after.  Paging is off: the region is reached
 * at its physical address.
 */
#include "core/hypercall_abi.h"
#include "lib/fmt.h"
#include "lib/string.h"
#include "tests/guest/hv.h"
#include "tests/guest/report.h"
#include "tests/guest/tests.h"

#define PAGE_SIZE	4096u
#define OFF_FORMS	0x240 /* a word no other test uses */
#define ROUNDS		4
#define SEED		0x80c3e1f5u
#define STEP		0x9e3779b9u
#define FLAGS_PATTERN	0x8d5u /* OF SF ZF AF PF CF set (bits 11, 7, 6, 4, 2, 0) */
#define FLAGS_ARITH	0x8d5u
#define MOFFS_CODE_LEN	6      /* A0-A3 + a 32-bit address, then RET */
#define OPC_RET		0xC3
#define MOFFS_RAM_CODE	0x20 /* the RAM twin's code, in the same buffer */

struct load_out {
	uint32_t eax, flags;
};

/* One load form: EAX in, EAX and the arithmetic flags out. */
#define LOAD_FORM(name, insn)                                                                \
	static __attribute__((noinline)) struct load_out name(uintptr_t p, uint32_t in)      \
	{                                                                                    \
		struct load_out o = {.eax = in};                                             \
		__asm__ volatile("pushl %[fl]; popfl\n\t" insn "\n\tpushfl; popl %[fo]"      \
				 : "+a"(o.eax), [fo] "=r"(o.flags)                          \
				 : "c"(p), [fl] "i"(FLAGS_PATTERN)                          \
				 : "memory", "cc");                                         \
		o.flags &= FLAGS_ARITH;                                                      \
		return o;                                                                    \
	}

LOAD_FORM(ld_al, "movb (%%ecx), %%al")
LOAD_FORM(ld_ah, "movb (%%ecx), %%ah")
LOAD_FORM(ld_ax, "movw (%%ecx), %%ax")
LOAD_FORM(ld_eax, "movl (%%ecx), %%eax")
LOAD_FORM(ld_movzb, "movzbl (%%ecx), %%eax")
LOAD_FORM(ld_movzw, "movzwl (%%ecx), %%eax")
LOAD_FORM(ld_movsb, "movsbl (%%ecx), %%eax")
LOAD_FORM(ld_movsw, "movswl (%%ecx), %%eax")
LOAD_FORM(ld_movzbw, "movzbw (%%ecx), %%ax")
LOAD_FORM(ld_movsbw, "movsbw (%%ecx), %%ax")

/* One store form: EAX (and DH from it) in, the flags out. */
#define STORE_FORM(name, insn)                                                               \
	static __attribute__((noinline)) uint32_t name(uintptr_t p, uint32_t in)             \
	{                                                                                    \
		uint32_t fl;                                                                 \
		__asm__ volatile("pushl %[fp]; popfl\n\t" insn "\n\tpushfl; popl %[fo]"      \
				 : [fo] "=r"(fl)                                            \
				 : "a"(in), "c"(p), [fp] "i"(FLAGS_PATTERN)                 \
				 : "memory", "cc");                                         \
		return fl & FLAGS_ARITH;                                                     \
	}

STORE_FORM(st_al, "movb %%al, (%%ecx)")
STORE_FORM(st_ah, "movb %%ah, (%%ecx)")
STORE_FORM(st_ax, "movw %%ax, (%%ecx)")
STORE_FORM(st_imm8, "movb $0xa5, (%%ecx)")
STORE_FORM(st_imm16, "movw $0xb6c7, (%%ecx)")
STORE_FORM(st_imm32, "movl $0xd8e9fa0b, (%%ecx)")

struct load_case {
	const char *name;
	struct load_out (*fn)(uintptr_t p, uint32_t in);
};

struct store_case {
	const char *name;
	uint32_t (*fn)(uintptr_t p, uint32_t in);
};

static const struct load_case loads[] = {
	{"mov al,[m]", ld_al},	     {"mov ah,[m]", ld_ah},	  {"mov ax,[m]", ld_ax},
	{"mov eax,[m]", ld_eax},     {"movzx eax,byte", ld_movzb}, {"movzx eax,word", ld_movzw},
	{"movsx eax,byte", ld_movsb}, {"movsx eax,word", ld_movsw}, {"movzx ax,byte", ld_movzbw},
	{"movsx ax,byte", ld_movsbw},
};

static const struct store_case stores[] = {
	{"mov [m],al", st_al},	      {"mov [m],ah", st_ah},	   {"mov [m],ax", st_ax},
	{"mov byte [m],imm8", st_imm8}, {"mov word [m],imm16", st_imm16},
	{"mov dword [m],imm32", st_imm32},
};

static char what[96];

static uint32_t short_replays(void)
{
	return hypercall(HC_MMIO_COUNTER, MMIO_COUNTER_SHORT, 0, 0, NULL);
}

static uint32_t cache_on(void)
{
	return hypercall(HC_MMIO_COUNTER, MMIO_COUNTER_CACHE_ON, 0, 0, NULL) == 1;
}

/* With the cache on every round after the first is a replay; with it off there are none. */
static void check_replays(const char *form, uint32_t before)
{
	uint32_t n = short_replays() - before;

	fmt_snprintf(what, sizeof(what), "mmio short forms: %s replayed %s", form,
		     cache_on() ? "after its first run" : "never (cache off)");
	check(cache_on() ? n >= ROUNDS - 1 : n == 0, what, "%u replays in %u rounds", n, ROUNDS);
}
static uint8_t moffs_code[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));


static uint32_t round_value(uint32_t i)
{
	return SEED + i * STEP; /* bit 7 and bit 15 vary: both sign extensions are seen */
}

/* Each round uses its own word of the device page: nothing else exits in between. */
static volatile uint32_t ram_words[ROUNDS];

static void fill(volatile uint32_t *dev, unsigned f, bool inverted)
{
	for (uint32_t i = 0; i < ROUNDS; i++) {
		uint32_t v = round_value(i + f);

		ram_words[i] = inverted ? ~v : v;
		dev[i] = inverted ? ~v : v;
	}
}

static void test_loads(volatile uint32_t *dev)
{
	for (unsigned f = 0; f < sizeof(loads) / sizeof(loads[0]); f++) {
		uint32_t bad = 0, first_got = 0, first_want = 0, before;

		fill(dev, f, false);
		before = short_replays();
		for (uint32_t i = 0; i < ROUNDS; i++) {
			uint32_t in = ~round_value(i + f);
			struct load_out want, got;

			want = loads[f].fn((uintptr_t)&ram_words[i], in);
			got = loads[f].fn((uintptr_t)&dev[i], in);
			if ((got.eax != want.eax || got.flags != want.flags) && !bad++) {
				first_got = got.eax;
				first_want = want.eax;
			}
		}
		check_replays(loads[f].name, before);
		fmt_snprintf(what, sizeof(what), "mmio short forms: %s: result and flags as on RAM",
			     loads[f].name);
		check(bad == 0, what, "%u of %u rounds differ, first EAX 0x%x want 0x%x", bad,
		      ROUNDS, first_got, first_want);
	}
}

static void test_stores(volatile uint32_t *dev)
{
	for (unsigned f = 0; f < sizeof(stores) / sizeof(stores[0]); f++) {
		uint32_t bad = 0, first_got = 0, first_want = 0, before;

		fill(dev, f, true);
		before = short_replays();
		for (uint32_t i = 0; i < ROUNDS; i++) {
			uint32_t v = round_value(i + f);

			bad += stores[f].fn((uintptr_t)&ram_words[i], v) !=
			       stores[f].fn((uintptr_t)&dev[i], v);
		}
		check_replays(stores[f].name, before);
		for (uint32_t i = 0; i < ROUNDS; i++)
			if (dev[i] != ram_words[i] && !bad++) {
				first_got = dev[i];
				first_want = ram_words[i];
			}
		fmt_snprintf(what, sizeof(what), "mmio short forms: %s: memory and flags as on RAM",
			     stores[f].name);
		check(bad == 0, what, "%u of %u rounds differ, first word 0x%x want 0x%x", bad,
		      ROUNDS, first_got, first_want);
	}
}

/* MOV AL/EAX with a 32-bit absolute address (moffs), built at run time in a code buffer. */
static void build_moffs(uint8_t *code, uint8_t opcode, uintptr_t addr)
{
	code[0] = opcode;
	memcpy(&code[1], &addr, sizeof(uint32_t));
	code[MOFFS_CODE_LEN - 1] = OPC_RET;
}

static uint32_t run_moffs(const uint8_t *code, uint32_t eax)
{
	__asm__ volatile("call *%[f]" : "+a"(eax) : [f] "r"(code) : "memory", "cc");
	return eax;
}

/* The address is part of the bytes: every round uses word 0, stores leave the last value. */
static void test_moffs(volatile uint32_t *dev)
{
	static const uint8_t opcodes[] = {0xA0, 0xA1, 0xA2, 0xA3};

	for (unsigned o = 0; o < sizeof(opcodes); o++) {
		uint32_t bad = 0, before;
		char name[24];

		fill(dev, o, true);
		build_moffs(moffs_code, opcodes[o], (uintptr_t)&dev[0]);
		build_moffs(moffs_code + MOFFS_RAM_CODE, opcodes[o], (uintptr_t)&ram_words[0]);
		before = short_replays();
		for (uint32_t i = 0; i < ROUNDS; i++) {
			uint32_t v = round_value(i + o);

			bad += run_moffs(moffs_code + MOFFS_RAM_CODE, v) != run_moffs(moffs_code, v);
		}
		fmt_snprintf(name, sizeof(name), "moffs MOV opcode 0x%X", opcodes[o]);
		check_replays(name, before);
		bad += dev[0] != ram_words[0];
		fmt_snprintf(what, sizeof(what), "mmio short forms: moffs MOV opcode 0x%X as on RAM",
			     opcodes[o]);
		check(bad == 0, what, "%u of %u rounds differ", bad, ROUNDS);
	}
}

void test_mmio_short_forms(void)
{
	uintptr_t base = hv_ram_region(PAGE_SIZE);
	volatile uint32_t *dev = (volatile uint32_t *)(base + OFF_FORMS);

	if (!base) {
		check(false, "mmio short forms: a ram region configured", "none");
		return;
	}
	test_loads(dev);
	test_stores(dev);
	test_moffs(dev);
	test_mmio_short_alu(dev);
	test_mmio_short_lm(base);
	test_mmio_lock_lm(base); /* after it: the identity map is built */
}
