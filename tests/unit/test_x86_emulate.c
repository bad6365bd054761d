/* Unit tests for mmio/x86_emulate: exact results and exceptions through fake callbacks. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "mmio/x86_emulate.h"

#define MEM_BASE 0x10000ull
#define MEM_SIZE 0x3000u
#define PG	 0x1000u

struct fake {
	uint64_t gpr[16], rip, rflags;
	uint8_t mem[MEM_SIZE]; /* guest linear MEM_BASE.. (code and data) */
	uint64_t nofetch_page; /* fetches from this page fault (#PF) */
	unsigned int mode;
	uint32_t ds_limit;
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
	struct fake *f = o;

	memset(s, 0, sizeof(*s));
	s->limit = seg == X86_SEG_DS ? f->ds_limit : 0xffffffffu;
	s->attr = X86_SEG_ATTR_P | X86_SEG_ATTR_S | 0x3 | (f->mode == 32 ? X86_SEG_ATTR_DB : 0);
	if (seg == X86_SEG_CS)
		s->attr = X86_SEG_ATTR_P | X86_SEG_ATTR_S | 0xb |
			  (f->mode == 64   ? X86_SEG_ATTR_L
			   : f->mode == 32 ? X86_SEG_ATTR_DB
					   : 0);
}

static void get_ctl(void *o, struct x86_cpu_ctl *c)
{
	struct fake *f = o;

	c->cr0 = X86_CR0_PE;
	c->cr4 = X86_CR4_OSFXSR;
	c->efer = f->mode == 64 ? X86_EFER_LMA : 0;
	c->cpl = 0;
}

static int pf(struct x86_exception *x, uint64_t la)
{
	x->vector = X86_EXC_PF;
	x->has_error_code = true;
	x->error_code = 0;
	x->cr2 = la;
	return -1;
}

static int fetch(void *o, uint64_t la, void *buf, unsigned int len, struct x86_exception *x)
{
	struct fake *f = o;

	if (la / PG == f->nofetch_page || la < MEM_BASE || la - MEM_BASE + len > MEM_SIZE)
		return pf(x, la);
	memcpy(buf, f->mem + (la - MEM_BASE), len);
	return 0;
}

static int rd(void *o, uint64_t la, void *buf, unsigned int len, struct x86_exception *x)
{
	struct fake *f = o;

	if (la < MEM_BASE || la - MEM_BASE + len > MEM_SIZE)
		return pf(x, la);
	memcpy(buf, f->mem + (la - MEM_BASE), len);
	return 0;
}

static int wr(void *o, uint64_t la, const void *buf, unsigned int len, struct x86_exception *x)
{
	struct fake *f = o;

	if (la < MEM_BASE || la - MEM_BASE + len > MEM_SIZE)
		return pf(x, la);
	memcpy(f->mem + (la - MEM_BASE), buf, len);
	f->writes++;
	return 0;
}

static void get_vec(void *o, unsigned int i, uint8_t *b, unsigned int l)
{
	(void)o;
	memset(b, (int)i, l);
}

static void set_vec(void *o, unsigned int i, const uint8_t *b, unsigned int l, bool z)
{
	(void)o;
	(void)i;
	(void)b;
	(void)l;
	(void)z;
}

static const struct x86_emu_ops ops = {get_reg, set_reg, get_seg, get_ctl, fetch,
				       rd,	wr,	 get_vec, set_vec, NULL};

static void setup(struct fake *f, unsigned int mode, uint64_t rip, const uint8_t *code, size_t n)
{
	memset(f, 0, sizeof(*f));
	f->mode = mode;
	f->rip = rip;
	f->rflags = X86_FL_FIXED;
	f->ds_limit = 0xffffffffu;
	f->nofetch_page = ~0ull;
	memcpy(f->mem + (rip - MEM_BASE), code, n);
}

static int run(struct fake *f, struct x86_emu_result *res, unsigned int batch)
{
	struct x86_emu_ctx ctx = {.ops = &ops, .opaque = f, .rep_batch = batch};

	return x86_emulate(&ctx, res);
}

static void test_mov_store_and_rip_advance(void **st)
{
	static const uint8_t code[] = {0x89, 0x43, 0x10}; /* mov [rbx+0x10], eax */
	struct fake f;
	struct x86_emu_result res;
	uint32_t v;

	(void)st;
	setup(&f, 64, MEM_BASE, code, sizeof(code));
	f.gpr[X86_RAX] = 0x1122334455667788ull;
	f.gpr[X86_RBX] = MEM_BASE + 0x2000;
	assert_int_equal(run(&f, &res, 1), 0);
	assert_int_equal(res.insn_len, 3);
	assert_int_equal(f.rip, MEM_BASE + 3);
	memcpy(&v, f.mem + 0x2010, 4);
	assert_int_equal(v, 0x55667788);
}

static void test_fetch_crossing_into_missing_page_faults(void **st)
{
	/* mov eax, [rbx] split "8b | 03": the second byte is on an unmapped page. */
	static const uint8_t code[] = {0x8b, 0x03};
	struct fake f;
	struct x86_emu_result res;

	(void)st;
	setup(&f, 64, MEM_BASE + PG - 1, code, sizeof(code));
	f.nofetch_page = (MEM_BASE + PG) / PG;
	assert_int_equal(run(&f, &res, 1), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_PF);
	assert_int_equal(res.exc.cr2, MEM_BASE + PG);
	assert_int_equal(f.rip, MEM_BASE + PG - 1); /* nothing committed */
	/* A one-byte instruction at the end of the page never touches the next page. */
	f.mem[PG - 1] = 0xa4; /* movsb */
	f.gpr[X86_RSI] = MEM_BASE + 0x2000;
	f.gpr[X86_RDI] = MEM_BASE + 0x2100;
	assert_int_equal(run(&f, &res, 1), 0);
}

static int probe(void *o, uint64_t la, unsigned int len, bool write, struct x86_exception *x)
{
	(void)o;
	(void)write;
	if (la < MEM_BASE || la - MEM_BASE + len > MEM_SIZE)
		return pf(x, la);
	return 0;
}

static const struct x86_emu_ops ops_probe = {get_reg, set_reg, get_seg, get_ctl, fetch,
					     rd,      wr,      get_vec, set_vec, probe};

/* A write whose second page faults: with a probe, the first page is left untouched. */
static void test_write_crossing_into_missing_page_writes_nothing(void **st)
{
	static const uint8_t code[] = {0x89, 0x03}; /* mov [rbx], eax */
	struct fake f;
	struct x86_emu_result res;
	struct x86_emu_ctx ctx = {.ops = &ops_probe, .rep_batch = 1};

	(void)st;
	setup(&f, 64, MEM_BASE, code, sizeof(code));
	ctx.opaque = &f;
	f.gpr[X86_RAX] = 0x11223344;
	f.gpr[X86_RBX] = MEM_BASE + MEM_SIZE - 2;
	assert_int_equal(x86_emulate(&ctx, &res), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_PF);
	assert_int_equal(res.exc.cr2, MEM_BASE + MEM_SIZE);
	assert_int_equal(f.writes, 0);
	assert_int_equal(f.mem[MEM_SIZE - 2], 0);
	/* Without a probe the first page's half is written before the fault (the old way). */
	assert_int_equal(run(&f, &res, 1), -X86_EMU_EXCEPTION);
	assert_int_equal(f.mem[MEM_SIZE - 2], 0x44);
}

static void test_div_by_zero_raises_de_without_changes(void **st)
{
	static const uint8_t code[] = {0xf7, 0x33}; /* div dword [rbx] */
	struct fake f;
	struct x86_emu_result res;

	(void)st;
	setup(&f, 64, MEM_BASE, code, sizeof(code));
	f.gpr[X86_RBX] = MEM_BASE + 0x2000;
	f.gpr[X86_RAX] = 77;
	assert_int_equal(run(&f, &res, 1), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_DE);
	assert_false(res.exc.has_error_code);
	assert_int_equal(f.gpr[X86_RAX], 77);
	assert_int_equal(f.rip, MEM_BASE);
}

static void test_rep_movs_batches_and_resumes(void **st)
{
	static const uint8_t code[] = {0xf3, 0xa4}; /* rep movsb */
	struct fake f;
	struct x86_emu_result res;
	int calls = 0;

	(void)st;
	setup(&f, 64, MEM_BASE, code, sizeof(code));
	f.gpr[X86_RSI] = MEM_BASE + 0x2000;
	f.gpr[X86_RDI] = MEM_BASE + 0x2800;
	f.gpr[X86_RCX] = 10;
	for (int i = 0; i < 10; i++)
		f.mem[0x2000 + i] = (uint8_t)(i + 1);
	do {
		assert_int_equal(run(&f, &res, 4), 0);
		calls++;
	} while (res.rep_continue && calls < 10);
	assert_int_equal(calls, 3); /* 4 + 4 + 2 */
	assert_int_equal(f.gpr[X86_RCX], 0);
	assert_int_equal(f.rip, MEM_BASE + 2);
	assert_memory_equal(f.mem + 0x2800, f.mem + 0x2000, 10);
}

static void test_32bit_segment_limit_gp(void **st)
{
	static const uint8_t code[] = {0x8b, 0x03}; /* mov eax, [ebx] */
	struct fake f;
	struct x86_emu_result res;

	(void)st;
	setup(&f, 32, MEM_BASE, code, sizeof(code));
	f.ds_limit = 0x12000;
	f.gpr[X86_RBX] = 0x11ffe; /* 4-byte read ends past the limit */
	assert_int_equal(run(&f, &res, 1), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_GP);
	assert_true(res.exc.has_error_code);
	assert_int_equal(res.exc.error_code, 0);
	f.gpr[X86_RBX] = 0x11ffc;
	assert_int_equal(run(&f, &res, 1), 0);
}

static void test_unsupported_and_invalid(void **st)
{
	static const uint8_t shl[] = {0xd1, 0x23};	/* shl dword [rbx], 1: not emulated */
	static const uint8_t bad[] = {0x0f, 0x04};	/* reserved opcode */
	static const uint8_t lk[] = {0xf0, 0x8b, 0x03}; /* lock mov: #UD */
	struct fake f;
	struct x86_emu_result res;

	(void)st;
	setup(&f, 64, MEM_BASE, shl, sizeof(shl));
	assert_int_equal(run(&f, &res, 1), -X86_EMU_UNSUPPORTED);
	assert_int_equal(res.exc.vector, X86_EXC_UD);
	assert_int_equal(res.insn_len, 2);
	setup(&f, 64, MEM_BASE, bad, sizeof(bad));
	assert_int_equal(run(&f, &res, 1), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_UD);
	setup(&f, 64, MEM_BASE, lk, sizeof(lk));
	assert_int_equal(run(&f, &res, 1), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_UD);
}

static void test_16bit_fetch_from_unmapped_linear_faults(void **st)
{
	static const uint8_t code[] = {0x01, 0x07}; /* 16-bit: add [bx], ax */
	struct fake f;
	struct x86_emu_result res;

	(void)st;
	setup(&f, 16, MEM_BASE, code, sizeof(code));
	f.rip = 0; /* CS base 0: linear 0 is not mapped by the fake */
	assert_int_equal(run(&f, &res, 1), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_PF);
	assert_int_equal(res.exc.cr2, 0);
	assert_int_equal(f.rip, 0);
}

static void test_movzx_byte_from_mmio(void **st)
{
	static const uint8_t code[] = {0x48, 0x0f, 0xbe, 0x43, 0x01}; /* movsx rax, byte [rbx+1] */
	struct fake f;
	struct x86_emu_result res;

	(void)st;
	setup(&f, 64, MEM_BASE, code, sizeof(code));
	f.gpr[X86_RBX] = MEM_BASE + 0x2000;
	f.mem[0x2001] = 0x80;
	assert_int_equal(run(&f, &res, 1), 0);
	assert_int_equal(f.gpr[X86_RAX], 0xffffffffffffff80ull);
	assert_int_equal(f.writes, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mov_store_and_rip_advance),
		cmocka_unit_test(test_fetch_crossing_into_missing_page_faults),
		cmocka_unit_test(test_div_by_zero_raises_de_without_changes),
		cmocka_unit_test(test_rep_movs_batches_and_resumes),
		cmocka_unit_test(test_32bit_segment_limit_gp),
		cmocka_unit_test(test_unsupported_and_invalid),
		cmocka_unit_test(test_16bit_fetch_from_unmapped_linear_faults),
		cmocka_unit_test(test_movzx_byte_from_mmio),
		cmocka_unit_test(test_write_crossing_into_missing_page_writes_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
