/*
 * Unit tests for the emulator's vendor-specific behaviour (mmio/x86_vendor.c): every place
 * where Intel and AMD differ is run as both vendors, whatever CPU the tests run on (the
 * differential test covers only the host's vendor).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "mmio/x86_emulate.h"

#define MEM_BASE  0x10000ull
#define MEM_SIZE  0x3000u
#define DATA_OFF  0x2000u
#define DATA_ADDR (MEM_BASE + DATA_OFF)
#define UPPER	  0xdead5eed00000000ull /* upper halves a 32-bit address size must ignore */
#define SZAP	  (X86_FL_SF | X86_FL_ZF | X86_FL_AF | X86_FL_PF)

/* A flat 64-bit guest: code and data in one buffer at linear MEM_BASE. */
struct fake {
	uint64_t gpr[16], rip, rflags;
	uint8_t mem[MEM_SIZE];
	unsigned int writes;
};

static uint64_t get_reg(void *o, unsigned int r)
{
	struct fake *f = o;

	return r < 16 ? f->gpr[r] : r == X86_REG_RIP ? f->rip : f->rflags;
}

static void set_reg(void *o, unsigned int r, uint64_t v)
{
	struct fake *f = o;

	if (r < 16)
		f->gpr[r] = v;
	else if (r == X86_REG_RIP)
		f->rip = v;
	else
		f->rflags = v;
}

static void get_seg(void *o, unsigned int seg, struct x86_segment *s)
{
	(void)o;
	memset(s, 0, sizeof(*s));
	s->limit = 0xffffffffu;
	s->attr = X86_SEG_ATTR_P | X86_SEG_ATTR_S | 0x3;
	if (seg == X86_SEG_CS)
		s->attr = X86_SEG_ATTR_P | X86_SEG_ATTR_S | X86_SEG_ATTR_L | 0xb;
}

static void get_ctl(void *o, struct x86_cpu_ctl *c)
{
	(void)o;
	c->cr0 = X86_CR0_PE;
	c->cr4 = 0;
	c->efer = X86_EFER_LMA;
	c->cpl = 0;
}

static int in_mem(uint64_t la, unsigned int len, struct x86_exception *x)
{
	if (la >= MEM_BASE && la - MEM_BASE + len <= MEM_SIZE)
		return 0;
	x->vector = X86_EXC_PF;
	x->has_error_code = true;
	x->error_code = 0;
	x->cr2 = la;
	return -1;
}

static int rd(void *o, uint64_t la, void *buf, unsigned int len, struct x86_exception *x)
{
	struct fake *f = o;

	if (in_mem(la, len, x))
		return -1;
	memcpy(buf, f->mem + (la - MEM_BASE), len);
	return 0;
}

static int wr(void *o, uint64_t la, const void *buf, unsigned int len, struct x86_exception *x)
{
	struct fake *f = o;

	if (in_mem(la, len, x))
		return -1;
	memcpy(f->mem + (la - MEM_BASE), buf, len);
	f->writes++;
	return 0;
}

static void get_vec(void *o, unsigned int i, uint8_t *b, unsigned int l)
{
	(void)o;
	(void)i;
	memset(b, 0, l);
}

static void set_vec(void *o, unsigned int i, const uint8_t *b, unsigned int l, bool z)
{
	(void)o;
	(void)i;
	(void)b;
	(void)l;
	(void)z;
}

static const struct x86_emu_ops ops = {
	get_reg, set_reg, get_seg, get_ctl, rd,	  rd,	wr,   get_vec,
	set_vec, NULL,	  NULL,	   NULL,    NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	NULL,	 NULL,	  NULL,	   NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	NULL,	 NULL, /* read_value, write_value: the byte path */
	NULL,	 NULL, /* rmw_read_value, commit: probe then read, set_reg per register */
};

static void setup(struct fake *f, const uint8_t *code, size_t n)
{
	memset(f, 0, sizeof(*f));
	f->rip = MEM_BASE;
	f->rflags = X86_FL_FIXED;
	memcpy(f->mem, code, n);
}

/* Run one instruction (REP ops to completion) as vendor v. */
static int run_as(enum x86_vendor v, struct fake *f, struct x86_emu_result *res)
{
	struct x86_emu_ctx ctx = {.ops = &ops, .opaque = f, .rep_batch = 4, .vendor = v};
	int r, calls = 0;

	do
		r = x86_emulate(&ctx, res);
	while (!r && res->rep_continue && ++calls < 100);
	return r;
}

/* ---- vendor identification ---- */

static enum x86_vendor from_string(const char *id)
{
	uint32_t ebx, edx, ecx;

	memcpy(&ebx, id, 4);
	memcpy(&edx, id + 4, 4);
	memcpy(&ecx, id + 8, 4);
	return x86_vendor_from_cpuid(ebx, edx, ecx);
}

static void test_vendor_from_cpuid_string(void **st)
{
	(void)st;
	assert_int_equal(from_string("GenuineIntel"), X86_VENDOR_INTEL);
	assert_int_equal(from_string("AuthenticAMD"), X86_VENDOR_AMD);
	assert_int_equal(from_string("HygonGenuine"), X86_VENDOR_AMD);
	assert_int_equal(from_string("CentaurHauls"), X86_VENDOR_INTEL);
	/* Register order matters: EBX, EDX, ECX spell the name. */
	assert_int_equal(from_string("AuthcAMDenti"), X86_VENDOR_INTEL);
}

/* ---- REP string op, 32-bit address size, ECX = 0 ---- */

struct rep_zero_case {
	uint8_t code[3];
	bool intel_si, intel_di; /* Intel zero-extends RSI / RDI too */
};

static const struct rep_zero_case rep_zero_cases[] = {
	{{0xf3, 0x67, 0xa4}, true, true},   /* rep movsb */
	{{0xf3, 0x67, 0xab}, false, true},  /* rep stosd */
	{{0xf3, 0x67, 0xac}, false, false}, /* rep lodsb */
	{{0xf3, 0x67, 0xa6}, false, false}, /* repe cmpsb */
	{{0xf2, 0x67, 0xaf}, false, false}, /* repne scasd */
};

static void rep_zero_setup(struct fake *f, const struct rep_zero_case *c)
{
	setup(f, c->code, sizeof(c->code));
	f->gpr[X86_RCX] = UPPER;
	f->gpr[X86_RSI] = UPPER | DATA_ADDR;
	f->gpr[X86_RDI] = UPPER | (DATA_ADDR + 0x100);
	f->gpr[X86_RAX] = 0x1122334455667788ull;
	f->rflags = X86_FL_FIXED | X86_FL_ZF | X86_FL_CF;
}

static void test_rep_zero_count_addr32_intel_zero_extends(void **st)
{
	struct x86_emu_result res;
	struct fake f;

	(void)st;
	for (size_t i = 0; i < sizeof(rep_zero_cases) / sizeof(rep_zero_cases[0]); i++) {
		const struct rep_zero_case *c = &rep_zero_cases[i];

		rep_zero_setup(&f, c);
		assert_int_equal(run_as(X86_VENDOR_INTEL, &f, &res), 0);
		assert_int_equal(f.rip, MEM_BASE + 3);
		assert_int_equal(f.gpr[X86_RCX], 0);
		assert_int_equal(f.gpr[X86_RSI], c->intel_si ? DATA_ADDR : UPPER | DATA_ADDR);
		assert_int_equal(f.gpr[X86_RDI],
				 c->intel_di ? DATA_ADDR + 0x100 : UPPER | (DATA_ADDR + 0x100));
		assert_int_equal(f.gpr[X86_RAX], 0x1122334455667788ull);
		assert_int_equal(f.rflags, X86_FL_FIXED | X86_FL_ZF | X86_FL_CF);
		assert_int_equal(f.writes, 0);
	}
}

static void test_rep_zero_count_addr32_amd_leaves_registers(void **st)
{
	struct x86_emu_result res;
	struct fake f;

	(void)st;
	for (size_t i = 0; i < sizeof(rep_zero_cases) / sizeof(rep_zero_cases[0]); i++) {
		rep_zero_setup(&f, &rep_zero_cases[i]);
		assert_int_equal(run_as(X86_VENDOR_AMD, &f, &res), 0);
		assert_int_equal(f.rip, MEM_BASE + 3);
		assert_int_equal(f.gpr[X86_RCX], UPPER);
		assert_int_equal(f.gpr[X86_RSI], UPPER | DATA_ADDR);
		assert_int_equal(f.gpr[X86_RDI], UPPER | (DATA_ADDR + 0x100));
		assert_int_equal(f.gpr[X86_RAX], 0x1122334455667788ull);
		assert_int_equal(f.rflags, X86_FL_FIXED | X86_FL_ZF | X86_FL_CF);
		assert_int_equal(f.writes, 0);
	}
}

/* Once an iteration runs, both vendors write the 32-bit registers, zero-extending them. */
static void test_rep_nonzero_count_addr32_same_on_both(void **st)
{
	static const uint8_t code[] = {0xf3, 0x67, 0xa4}; /* rep movsb, 32-bit addresses */
	static const enum x86_vendor vendors[] = {X86_VENDOR_INTEL, X86_VENDOR_AMD};
	struct x86_emu_result res;
	struct fake f;

	(void)st;
	for (size_t i = 0; i < sizeof(vendors) / sizeof(vendors[0]); i++) {
		setup(&f, code, sizeof(code));
		f.gpr[X86_RCX] = UPPER | 3;
		f.gpr[X86_RSI] = UPPER | DATA_ADDR;
		f.gpr[X86_RDI] = UPPER | (DATA_ADDR + 0x100);
		memcpy(f.mem + DATA_OFF, "abc", 3);
		assert_int_equal(run_as(vendors[i], &f, &res), 0);
		assert_int_equal(f.gpr[X86_RCX], 0);
		assert_int_equal(f.gpr[X86_RSI], DATA_ADDR + 3);
		assert_int_equal(f.gpr[X86_RDI], DATA_ADDR + 0x103);
		assert_memory_equal(f.mem + DATA_OFF + 0x100, "abc", 3);
	}
}

/* With a 64-bit address size a zero count changes nothing on either vendor. */
static void test_rep_zero_count_addr64_same_on_both(void **st)
{
	static const uint8_t code[] = {0xf3, 0x48, 0xab}; /* rep stosq */
	static const enum x86_vendor vendors[] = {X86_VENDOR_INTEL, X86_VENDOR_AMD};
	struct x86_emu_result res;
	struct fake f;

	(void)st;
	for (size_t i = 0; i < sizeof(vendors) / sizeof(vendors[0]); i++) {
		setup(&f, code, sizeof(code));
		f.gpr[X86_RCX] = 0;
		f.gpr[X86_RDI] = UPPER | DATA_ADDR;
		assert_int_equal(run_as(vendors[i], &f, &res), 0);
		assert_int_equal(f.rip, MEM_BASE + 3);
		assert_int_equal(f.gpr[X86_RCX], 0);
		assert_int_equal(f.gpr[X86_RDI], UPPER | DATA_ADDR);
		assert_int_equal(f.writes, 0);
	}
}

/* ---- MUL/IMUL: SF/ZF/AF/PF undefined ---- */

struct mul_case {
	uint8_t code[4];
	unsigned int len;
	uint64_t rax, mem; /* rAX and the memory operand at [rbx] */
	uint64_t low;	   /* low half of the product, as the instruction's operand size */
	bool overflow;	   /* CF = OF */
	unsigned int size;
};

static const struct mul_case mul_cases[] = {
	/* mul dword [rbx] */
	{{0xf7, 0x23}, 2, 2, 3, 6, false, 4},
	/* mul byte [rbx] */
	{{0xf6, 0x23}, 2, 0x80, 2, 0x00, true, 1},
	/* imul rax, [rbx] */
	{{0x48, 0x0f, 0xaf, 0x03}, 4, (uint64_t)-3, 5, (uint64_t)-15, false, 8},
	/* imul eax, [rbx], 0x7f */
	{{0x6b, 0x03, 0x7f}, 3, 0, 0x02000000, 0xfe000000, true, 4},
	/* imul word [rbx] */
	{{0x66, 0xf7, 0x2b}, 3, 0x100, 0x100, 0, true, 2},
};

static uint64_t size_mask(unsigned int size)
{
	uint64_t sign = 1ull << (size * 8 - 1);

	return sign | (sign - 1);
}

static uint64_t intel_mul_szap(const struct mul_case *c)
{
	uint64_t sign = 1ull << (c->size * 8 - 1), mask = size_mask(c->size), f = 0;
	unsigned int ones = (unsigned int)__builtin_popcount((unsigned int)(c->low & 0xff));

	if (!(c->low & mask))
		f |= X86_FL_ZF;
	if (c->low & sign)
		f |= X86_FL_SF;
	if (!(ones & 1))
		f |= X86_FL_PF;
	return f; /* AF clear */
}

static void run_mul(enum x86_vendor v, const struct mul_case *c, uint64_t flags_in,
		    uint64_t *flags_out)
{
	struct x86_emu_result res;
	struct fake f;

	setup(&f, c->code, c->len);
	f.gpr[X86_RAX] = c->rax;
	f.gpr[X86_RBX] = DATA_ADDR;
	memcpy(f.mem + DATA_OFF, &c->mem, sizeof(c->mem));
	f.rflags = X86_FL_FIXED | flags_in;
	assert_int_equal(run_as(v, &f, &res), 0);
	assert_int_equal(f.rip, MEM_BASE + c->len);
	assert_int_equal(f.gpr[X86_RAX] & size_mask(c->size), c->low & size_mask(c->size));
	*flags_out = f.rflags;
}

static void test_mul_undefined_flags_intel_from_low_half(void **st)
{
	(void)st;
	for (size_t i = 0; i < sizeof(mul_cases) / sizeof(mul_cases[0]); i++) {
		const struct mul_case *c = &mul_cases[i];
		uint64_t cfof = c->overflow ? X86_FL_CF | X86_FL_OF : 0, out;

		/* Every incoming value of the four flags gives the same result. */
		run_mul(X86_VENDOR_INTEL, c, SZAP, &out);
		assert_int_equal(out, X86_FL_FIXED | cfof | intel_mul_szap(c));
		run_mul(X86_VENDOR_INTEL, c, X86_FL_CF | X86_FL_OF, &out);
		assert_int_equal(out, X86_FL_FIXED | cfof | intel_mul_szap(c));
	}
}

static void test_mul_undefined_flags_amd_unchanged(void **st)
{
	(void)st;
	for (size_t i = 0; i < sizeof(mul_cases) / sizeof(mul_cases[0]); i++) {
		const struct mul_case *c = &mul_cases[i];
		uint64_t cfof = c->overflow ? X86_FL_CF | X86_FL_OF : 0, out;

		run_mul(X86_VENDOR_AMD, c, SZAP, &out);
		assert_int_equal(out, X86_FL_FIXED | cfof | SZAP);
		run_mul(X86_VENDOR_AMD, c, X86_FL_CF | X86_FL_OF | X86_FL_ZF, &out);
		assert_int_equal(out, X86_FL_FIXED | cfof | X86_FL_ZF);
		run_mul(X86_VENDOR_AMD, c, 0, &out);
		assert_int_equal(out, X86_FL_FIXED | cfof);
	}
}

/* ---- DIV/IDIV: all six arithmetic flags undefined ---- */

static const uint8_t div_codes[][3] = {
	{0xf7, 0x33, 0x90}, /* div dword [rbx] */
	{0x48, 0xf7, 0x3b}, /* idiv qword [rbx] */
	{0xf6, 0x33, 0x90}, /* div byte [rbx] */
};

static void run_div(enum x86_vendor v, const uint8_t *code, uint64_t divisor, uint64_t flags_in,
		    int expect, uint64_t *flags_out)
{
	struct x86_emu_result res;
	struct fake f;

	setup(&f, code, 3);
	f.gpr[X86_RAX] = 100;
	f.gpr[X86_RDX] = 0;
	f.gpr[X86_RBX] = DATA_ADDR;
	memcpy(f.mem + DATA_OFF, &divisor, sizeof(divisor));
	f.rflags = X86_FL_FIXED | flags_in;
	assert_int_equal(run_as(v, &f, &res), expect);
	if (!expect)
		assert_int_equal(f.gpr[X86_RAX] & 0xff, 100 / divisor);
	*flags_out = f.rflags;
}

static void test_div_undefined_flags_intel_unchanged(void **st)
{
	uint64_t out;

	(void)st;
	for (size_t i = 0; i < sizeof(div_codes) / sizeof(div_codes[0]); i++) {
		run_div(X86_VENDOR_INTEL, div_codes[i], 7, X86_FL_ARITH, 0, &out);
		assert_int_equal(out, X86_FL_FIXED | X86_FL_ARITH);
		run_div(X86_VENDOR_INTEL, div_codes[i], 7, 0, 0, &out);
		assert_int_equal(out, X86_FL_FIXED);
	}
}

static void test_div_undefined_flags_amd_fixed_pattern(void **st)
{
	uint64_t out;

	(void)st;
	for (size_t i = 0; i < sizeof(div_codes) / sizeof(div_codes[0]); i++) {
		/* CF/OF kept, SF/ZF/PF cleared, AF set, whatever came in. */
		run_div(X86_VENDOR_AMD, div_codes[i], 7, X86_FL_ARITH, 0, &out);
		assert_int_equal(out, X86_FL_FIXED | X86_FL_CF | X86_FL_OF | X86_FL_AF);
		run_div(X86_VENDOR_AMD, div_codes[i], 7, 0, 0, &out);
		assert_int_equal(out, X86_FL_FIXED | X86_FL_AF);
		run_div(X86_VENDOR_AMD, div_codes[i], 1, X86_FL_ZF | X86_FL_PF, 0, &out);
		assert_int_equal(out, X86_FL_FIXED | X86_FL_AF);
	}
}

/* A faulting division changes no flag on either vendor. */
static void test_div_fault_keeps_flags_on_both(void **st)
{
	static const enum x86_vendor vendors[] = {X86_VENDOR_INTEL, X86_VENDOR_AMD};
	uint64_t out;

	(void)st;
	for (size_t i = 0; i < sizeof(vendors) / sizeof(vendors[0]); i++) {
		run_div(vendors[i], div_codes[0], 0, X86_FL_ZF | X86_FL_SF, -X86_EMU_EXCEPTION,
			&out);
		assert_int_equal(out, X86_FL_FIXED | X86_FL_ZF | X86_FL_SF);
	}
}

/* ---- shifts and bit scans (models measured on AMD family 0x19) ---- */

static const enum x86_vendor both[] = {X86_VENDOR_INTEL, X86_VENDOR_AMD};

/* Run code with RAX = a, RDX = b, RCX = c as vendor v with features; flags in/out. */
static uint64_t run_regs(enum x86_vendor v, uint32_t feat, const uint8_t *code, size_t n,
			 uint64_t a, uint64_t b, uint64_t c, uint64_t flags_in, uint64_t *rax)
{
	struct fake f;
	struct x86_emu_result res;
	struct x86_emu_ctx ctx = {.ops = &ops, .opaque = &f, .vendor = v, .features = feat};

	setup(&f, code, n);
	f.gpr[X86_RAX] = a;
	f.gpr[X86_RDX] = b;
	f.gpr[X86_RCX] = c;
	f.rflags = X86_FL_FIXED | flags_in;
	assert_int_equal(x86_emulate(&ctx, &res), 0);
	*rax = f.gpr[X86_RAX];
	return f.rflags & ~X86_FL_FIXED;
}

static void test_shift_af_amd_set_intel_clear(void **st)
{
	static const uint8_t shl[] = {0xd3, 0xe0}; /* shl eax, cl */
	uint64_t rax, fl;

	(void)st;
	fl = run_regs(X86_VENDOR_AMD, 0, shl, sizeof(shl), 0x81, 0, 2, 0, &rax);
	assert_int_equal(rax, 0x204);
	assert_int_equal(fl, X86_FL_AF);
	fl = run_regs(X86_VENDOR_INTEL, 0, shl, sizeof(shl), 0x81, 0, 2, X86_FL_AF, &rax);
	assert_int_equal(fl, 0);
	/* Count 0 (masked): no flag changes, but a 32-bit register is zero-extended. */
	for (size_t i = 0; i < 2; i++) {
		fl = run_regs(both[i], 0, shl, sizeof(shl), 0xffffffff00000001ull, 0, 0x20,
			      X86_FL_CF | X86_FL_AF, &rax);
		assert_int_equal(rax, 1);
		assert_int_equal(fl, X86_FL_CF | X86_FL_AF);
	}
}

static void test_shld16_past_16_amd_rotates_source(void **st)
{
	static const uint8_t shld[] = {0x66, 0x0f, 0xa5, 0xd0}; /* shld ax, dx, cl */
	static const uint8_t shrd[] = {0x66, 0x0f, 0xad, 0xd0}; /* shrd ax, dx, cl */
	uint64_t rax, fl;

	(void)st;
	fl = run_regs(X86_VENDOR_AMD, 0, shld, sizeof(shld), 0x1234, 0xabcd, 17, X86_FL_CF, &rax);
	assert_int_equal(rax, 0x579b);
	assert_int_equal(fl & (X86_FL_CF | X86_FL_OF | X86_FL_AF), X86_FL_AF);
	run_regs(X86_VENDOR_AMD, 0, shrd, sizeof(shrd), 0x1234, 0xabcd, 17, 0, &rax);
	assert_int_equal(rax, 0xd5e6);
	/* Intel is modelled as shifting a:b:a. */
	run_regs(X86_VENDOR_INTEL, 0, shld, sizeof(shld), 0x1234, 0xabcd, 20, 0, &rax);
	assert_int_equal(rax, 0xbcd1);
	/* Defined range: the same on both. */
	for (size_t i = 0; i < 2; i++) {
		run_regs(both[i], 0, shld, sizeof(shld), 0x1234, 0xabcd, 4, 0, &rax);
		assert_int_equal(rax, 0x234a);
	}
}

static void test_bsf_zero_source_destination(void **st)
{
	static const uint8_t bsf[] = {0x0f, 0xbc, 0xc2}; /* bsf eax, edx */
	uint64_t rax, fl;

	(void)st;
	fl = run_regs(X86_VENDOR_AMD, 0, bsf, sizeof(bsf), 0xdead00000055ull, 0, 0, X86_FL_CF,
		      &rax);
	assert_int_equal(rax, 0xdead00000055ull); /* AMD: untouched */
	assert_int_equal(fl, X86_FL_ZF | X86_FL_PF);
	fl = run_regs(X86_VENDOR_INTEL, 0, bsf, sizeof(bsf), 0xdead00000055ull, 0, 0, X86_FL_CF,
		      &rax);
	assert_int_equal(rax, 0x55); /* Intel: upper half cleared */
	assert_true(fl & X86_FL_ZF);
	/* AMD: CF/OF/SF/AF cleared, PF from the bit index (7: odd parity). */
	fl = run_regs(X86_VENDOR_AMD, 0, bsf, sizeof(bsf), 0, 0x80, 0, X86_FL_CF | X86_FL_SF, &rax);
	assert_int_equal(rax, 7);
	assert_int_equal(fl, 0);
}

static void test_tzcnt_needs_bmi1_else_bsf(void **st)
{
	static const uint8_t tz[] = {0xf3, 0x0f, 0xbc, 0xc2}; /* tzcnt eax, edx */
	static const uint8_t pc[] = {0xf3, 0x0f, 0xb8, 0xc2}; /* popcnt eax, edx */
	struct fake f;
	struct x86_emu_result res;
	struct x86_emu_ctx ctx = {.ops = &ops, .opaque = &f};
	uint64_t rax, fl;

	(void)st;
	fl = run_regs(X86_VENDOR_AMD, X86_FEAT_BMI1, tz, sizeof(tz), 5, 0, 0, X86_FL_OF | X86_FL_SF,
		      &rax);
	assert_int_equal(rax, 32);
	assert_int_equal(fl, X86_FL_CF | X86_FL_OF); /* AMD: OF kept, SF/AF/PF cleared */
	run_regs(X86_VENDOR_AMD, 0, tz, sizeof(tz), 5, 0, 0, 0, &rax);
	assert_int_equal(rax, 5); /* no BMI1: BSF, zero source leaves it */
	fl = run_regs(X86_VENDOR_INTEL, X86_FEAT_POPCNT, pc, sizeof(pc), 0, 0xf0f0, 0, X86_FL_CF,
		      &rax);
	assert_int_equal(rax, 8);
	assert_int_equal(fl, 0);
	setup(&f, pc, sizeof(pc));
	assert_int_equal(x86_emulate(&ctx, &res), -X86_EMU_EXCEPTION); /* no POPCNT: #UD */
	assert_int_equal(res.exc.vector, X86_EXC_UD);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vendor_from_cpuid_string),
		cmocka_unit_test(test_rep_zero_count_addr32_intel_zero_extends),
		cmocka_unit_test(test_rep_zero_count_addr32_amd_leaves_registers),
		cmocka_unit_test(test_rep_nonzero_count_addr32_same_on_both),
		cmocka_unit_test(test_rep_zero_count_addr64_same_on_both),
		cmocka_unit_test(test_mul_undefined_flags_intel_from_low_half),
		cmocka_unit_test(test_mul_undefined_flags_amd_unchanged),
		cmocka_unit_test(test_div_undefined_flags_intel_unchanged),
		cmocka_unit_test(test_div_undefined_flags_amd_fixed_pattern),
		cmocka_unit_test(test_div_fault_keeps_flags_on_both),
		cmocka_unit_test(test_shift_af_amd_set_intel_clear),
		cmocka_unit_test(test_shld16_past_16_amd_rotates_source),
		cmocka_unit_test(test_bsf_zero_source_destination),
		cmocka_unit_test(test_tzcnt_needs_bmi1_else_bsf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
