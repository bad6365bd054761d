/* Unit tests for mmio/x86_emulate: exact results and exceptions through fake callbacks. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "mmio/x86_emulate.h"
#include "tests/emu_value_ops.h"

#define MEM_BASE 0x10000ull
#define MEM_SIZE 0x3000u
#define PG	 0x1000u
#define LOW_SIZE 16u

struct fake {
	uint64_t gpr[X86_NR_GPRS], rip, rflags;
	uint8_t mem[MEM_SIZE]; /* guest linear MEM_BASE.. (code and data) */
	uint64_t nofetch_page; /* fetches from this page fault (#PF) */
	unsigned int mode;
	uint32_t ds_limit;
	uint64_t ds_base;
	unsigned int writes;
	unsigned int cpl;
	uint64_t cr0, cr4;
	struct x86_segment sys[4]; /* enum x86_sys_seg */
	unsigned int lmsw_calls;
	uint16_t lmsw_src;
	uint64_t mm[8];
	bool mmx_pending; /* an x87 exception is pending: MMX forms raise #MF */
	unsigned int fxrstor_len;
	uint64_t tf_at_rip_write; /* RFLAGS.TF when RIP was written (the single-step rule) */
	bool real_mode; /* CR0.PE clear */
	struct x86_segment loaded[6]; /* set_seg */
	unsigned int set_seg_calls, sys_writes;
	uint8_t xbuf[4096] __attribute__((aligned(64))); /* the XSAVE scratch buffer */
	uint64_t xrstor_rfbm;
	uint64_t xinit; /* components the fake XSAVE/XSAVEC report initial (XINUSE clear) */
	bool no_xsaves;	/* the guest's CPUID lacks XSAVES/XRSTORS */
	uint64_t xrstors_rfbm;
	unsigned int xrstors_calls;
	unsigned int xrstor_calls;
	uint32_t port_out_last;
	unsigned int port_outs;
	uint16_t sel[6]; /* the selectors get_seg reports (enum x86_seg) */
	uint64_t ss_base;
	uint32_t ss_limit;
	bool low_mapped; /* low[] is linear 0..LOW_SIZE-1 (where a real-mode stack wraps) */
	uint8_t low[LOW_SIZE];
	uint64_t ro_page;   /* page number a write (or a probe for writing) faults on */
	unsigned int reads; /* rd calls that read */
};

/* The fake's memory at la, or NULL (not mapped: #PF). */
static uint8_t *fake_mem(struct fake *f, uint64_t la, unsigned int len)
{
	if (f->low_mapped && la + len <= LOW_SIZE)
		return f->low + la;
	if (la < MEM_BASE || la - MEM_BASE + len > MEM_SIZE)
		return NULL;
	return f->mem + (la - MEM_BASE);
}

static uint64_t get_reg(void *o, unsigned int r)
{
	struct fake *f = o;

	return r < 16 ? f->gpr[r] : r == X86_REG_RIP ? f->rip : f->rflags;
}

static void set_reg(void *o, unsigned int r, uint64_t v)
{
	struct fake *f = o;

	if (r < 16) {
		f->gpr[r] = v;
	} else if (r == X86_REG_RIP) {
		f->rip = v;
		f->tf_at_rip_write = f->rflags & X86_FL_TF;
	} else {
		f->rflags = v;
	}
}

static void get_seg(void *o, unsigned int seg, struct x86_segment *s)
{
	struct fake *f = o;

	memset(s, 0, sizeof(*s));
	s->selector = seg < 6 ? f->sel[seg] : 0;
	s->limit = seg == X86_SEG_DS ? f->ds_limit : seg == X86_SEG_SS ? f->ss_limit : 0xffffffffu;
	s->base = seg == X86_SEG_DS ? f->ds_base : seg == X86_SEG_SS ? f->ss_base : 0;
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

	c->cr0 = (f->real_mode ? 0 : X86_CR0_PE) | f->cr0;
	c->cr4 = X86_CR4_OSFXSR | f->cr4;
	c->efer = f->mode == 64 ? X86_EFER_LMA : 0;
	c->cpl = (uint8_t)f->cpl;
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
	const uint8_t *m = fake_mem(f, la, len);

	if (!m)
		return pf(x, la);
	memcpy(buf, m, len);
	f->reads++;
	return 0;
}

static int wr(void *o, uint64_t la, const void *buf, unsigned int len, struct x86_exception *x)
{
	struct fake *f = o;
	uint8_t *m = fake_mem(f, la, len);

	if (!m || la / PG == f->ro_page)
		return pf(x, la);
	memcpy(m, buf, len);
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

static int probe(void *o, uint64_t la, unsigned int len, bool write, struct x86_exception *x)
{
	const struct fake *f = o;

	if (!fake_mem(o, la, len) || (write && la / PG == f->ro_page))
		return pf(x, la);
	return 0;
}

static void get_sysseg(void *o, unsigned int which, struct x86_segment *s)
{
	struct fake *f = o;

	*s = f->sys[which & 3];
}

static int set_dtr(void *o, unsigned int which, uint64_t base, uint32_t limit,
		   struct x86_exception *x)
{
	struct fake *f = o;

	(void)x;
	f->sys[which & 3].base = base;
	f->sys[which & 3].limit = limit;
	return 0;
}

static int lmsw(void *o, uint16_t src, struct x86_exception *x)
{
	struct fake *f = o;

	(void)x;
	f->lmsw_calls++;
	f->lmsw_src = src;
	return 0;
}

static int mmx(void *o, unsigned int idx, bool write, uint64_t *val)
{
	struct fake *f = o;

	if (f->mmx_pending)
		return -1;
	if (write)
		f->mm[idx & 7] = *val;
	else
		*val = f->mm[idx & 7];
	return 0;
}

/* The fake FPU image: byte i is i ^ 0x5a; an image with byte 24 (MXCSR) 0xff is refused. */
static void fxsave(void *o, uint8_t *img, bool rex_w)
{
	(void)o;
	for (unsigned int i = 0; i < X86_FXSR_AREA; i++)
		img[i] = (uint8_t)(i ^ 0x5a ^ (rex_w ? 1 : 0));
}

static int fxrstor(void *o, const uint8_t *img, unsigned int len, bool rex_w,
		   struct x86_exception *x)
{
	struct fake *f = o;

	(void)rex_w;
	if (img[24] == 0xff) {
		x->vector = X86_EXC_GP;
		x->has_error_code = true;
		x->error_code = 0;
		return -1;
	}
	f->fxrstor_len = len;
	return 0;
}

static int sys_access(void *o, uint64_t la, void *buf, unsigned int len, bool write,
		      struct x86_exception *x)
{
	struct fake *f = o;
	uint8_t *m = fake_mem(f, la, len);

	if (!m)
		return pf(x, la);
	if (!buf)
		return 0; /* a supervisor probe */
	if (write) {
		memcpy(m, buf, len);
		f->sys_writes++;
	} else {
		memcpy(buf, m, len);
	}
	return 0;
}

static void set_seg(void *o, unsigned int seg, const struct x86_segment *s)
{
	struct fake *f = o;

	f->loaded[seg % 6] = *s;
	f->set_seg_calls++;
}

static void set_sysseg(void *o, unsigned int which, const struct x86_segment *s)
{
	struct fake *f = o;

	f->sys[which & 3] = *s;
	f->set_seg_calls++;
}

/* The fake XSAVE layout: x87, SSE and AVX (standard form 832 bytes). */
static uint8_t *xsave_area(void *o, uint32_t *cap, uint64_t *xcr0)
{
	struct fake *f = o;

	*cap = sizeof(f->xbuf);
	*xcr0 = 7;
	return f->xbuf;
}

static uint32_t xsave_extent(void *o, uint64_t comp, bool compacted)
{
	(void)o;
	return ((comp & 4) || (compacted && (comp & (1ull << 8))) ? 832 : 576) +
	       (compacted && (comp & (1ull << 8)) ? 64 : 0);
}

/* XSAVE: x87 bytes 0xa0, MXCSR 0x1f80, XMM bytes 0xb0, YMM_Hi128 0xc0; XSTATE_BV updated. */
static void xsave(void *o, uint64_t rfbm, bool rex_w)
{
	struct fake *f = o;
	uint64_t bv;

	(void)rex_w;
	if (rfbm & 1) {
		memset(f->xbuf, 0xa0, 24);
		memset(f->xbuf + 32, 0xa0, 128);
	}
	if (rfbm & 6)
		memcpy(f->xbuf + 24, (const uint8_t[]){0x80, 0x1f, 0, 0, 0xff, 0xff, 0, 0}, 8);
	if (rfbm & 2)
		memset(f->xbuf + 160, 0xb0, 256);
	if (rfbm & 4)
		memset(f->xbuf + 576, 0xc0, 256);
	memcpy(&bv, f->xbuf + 512, 8);
	bv = (bv & ~rfbm) | (rfbm & ~f->xinit);
	memcpy(f->xbuf + 512, &bv, 8);
}

static uint32_t xsave_layout(void *o, unsigned int i, uint32_t *size)
{
	(void)o;
	*size = i == 2 ? 256 : 0;
	return i == 2 ? 576 : 0;
}

/* XSAVEC: the components in use get 0xd0.., the header XSTATE_BV and XCOMP_BV. */
static void xsavec(void *o, uint64_t rfbm, bool rex_w)
{
	struct fake *f = o;
	uint64_t bv = rfbm & ~f->xinit, comp = rfbm | (1ull << 63);

	(void)rex_w;
	if (bv & 1)
		memset(f->xbuf, 0xd0, 24);
	if (bv & 2)
		memset(f->xbuf + 160, 0xd1, 256);
	if (bv & 4)
		memset(f->xbuf + 576, 0xd2, 256);
	memcpy(f->xbuf + 512, &bv, 8);
	memcpy(f->xbuf + 520, &comp, 8);
}

/* XRSTOR: #GP for a standard-form header with bytes 8-23 not zero. */
static int xrstor(void *o, uint64_t rfbm, bool rex_w, struct x86_exception *x)
{
	struct fake *f = o;

	(void)rex_w;
	for (unsigned int i = 520; i < 536; i++)
		if (f->xbuf[i]) {
			x->vector = X86_EXC_GP;
			x->has_error_code = true;
			x->error_code = 0;
			return -1;
		}
	f->xrstor_rfbm = rfbm;
	f->xrstor_calls++;
	return 0;
}

/* XSAVES/XRSTORS: IA32_XSS holds component 8 (a supervisor state, 64 bytes in the fake). */
static int xss(void *o, uint64_t *v)
{
	struct fake *f = o;

	*v = 1ull << 8;
	return f->no_xsaves ? -1 : 0;
}

static void xsaves(void *o, uint64_t rfbm, bool rex_w)
{
	struct fake *f = o;

	xsavec(o, rfbm, rex_w);
	if (rfbm & (1ull << 8))
		memset(f->xbuf + 832, 0xe8, 64);
}

static int xrstors(void *o, uint64_t rfbm, bool rex_w, struct x86_exception *x)
{
	struct fake *f = o;

	(void)rex_w;
	if (!(f->xbuf[527] & 0x80)) { /* the standard form: #GP(0) */
		x->vector = X86_EXC_GP;
		x->has_error_code = true;
		x->error_code = 0;
		return -1;
	}
	f->xrstors_rfbm = rfbm;
	f->xrstors_calls++;
	return 0;
}

/* Ports: a read gives 0xc0 + the port's low byte per byte; writes are recorded. */
static void port_io(void *o, uint16_t port, unsigned int size, bool in, uint32_t *val)
{
	struct fake *f = o;

	if (in) {
		*val = 0;
		for (unsigned int i = 0; i < size; i++)
			*val |= (uint32_t)(0xc0 + (port & 0xf)) << (8 * i);
	} else {
		f->port_out_last = *val;
		f->port_outs++;
	}
}


EMU_VALUE_OPS_OVER(rd, wr, probe, set_reg)

static const struct x86_emu_ops ops = {
	get_reg, set_reg, get_seg,    get_ctl, fetch, rd,	  wr,	   get_vec,    set_vec,
	probe,	 get_sysseg, set_dtr, lmsw,  mmx, fxsave, fxrstor, sys_access, set_seg, set_sysseg,
	xsave_area, xsave_extent, xsave, xrstor, port_io, xsave_layout, xsavec,
	xss, xsaves, xrstors, value_read, value_write, value_rmw_read, value_commit,
};
static const struct x86_emu_ops ops_nosys = {
	get_reg, set_reg, get_seg, get_ctl, fetch, rd,	 wr,   get_vec,
	set_vec, probe,	  NULL,	   NULL,    NULL,  NULL, NULL, NULL, NULL, NULL, NULL,
	NULL,	 NULL,	  NULL,	   NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	NULL,	 NULL, /* read_value, write_value: the byte path */
	NULL,	 NULL, /* rmw_read_value, commit: probe then read, set_reg per register */
};

static void setup(struct fake *f, unsigned int mode, uint64_t rip, const uint8_t *code, size_t n)
{
	memset(f, 0, sizeof(*f));
	f->mode = mode;
	f->rip = rip;
	f->rflags = X86_FL_FIXED;
	f->ds_limit = 0xffffffffu;
	f->ss_limit = 0xffffffffu;
	f->nofetch_page = ~0ull;
	f->ro_page = ~0ull;
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

static int run_with(const struct x86_emu_ops *o, struct fake *f, struct x86_emu_result *res)
{
	struct x86_emu_ctx ctx = {.ops = o, .opaque = f, .rep_batch = 1};

	return x86_emulate(&ctx, res);
}

/* A read-modify-write of a page the write faults on faults before the read (rmw_read_value
 * as probe + read, and the two calls it stands for), nothing read, written or committed. */
static void test_rmw_write_fault_before_read(void **st)
{
	static const uint8_t code[] = {0x0f, 0xa4, 0x03, 0x03}; /* shld [rbx], eax, 3 */
	const struct x86_emu_ops *tables[] = {&ops, &ops_nosys};
	struct fake f;
	struct x86_emu_result res;

	(void)st;
	for (unsigned int i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		setup(&f, 64, MEM_BASE, code, sizeof(code));
		f.gpr[X86_RBX] = MEM_BASE + 0x2000;
		f.ro_page = (MEM_BASE + 0x2000) / PG;
		assert_int_equal(run_with(tables[i], &f, &res), -X86_EMU_EXCEPTION);
		assert_int_equal(res.exc.vector, X86_EXC_PF);
		assert_int_equal(f.reads, 0);
		assert_int_equal(f.writes, 0);
		assert_int_equal(f.rip, MEM_BASE);
		/* Writable: read once, written once. */
		f.ro_page = ~0ull;
		assert_int_equal(run_with(tables[i], &f, &res), 0);
		assert_int_equal(f.reads, 1);
		assert_int_equal(f.writes, 1);
		assert_int_equal(f.rip, MEM_BASE + sizeof(code));
	}
}

/* x86_emulate_entered with the entry state written in place (x86_emu_enter, ctx.ctl): the
 * same result as x86_emulate, decoded by the caller or not; a later x86_emulate on the same
 * context reads the registers through get_reg again, not the entry's array. */
static void test_entered_matches_emulate(void **st)
{
	static const uint8_t code[] = {0x0f, 0xa4, 0x03, 0x03}; /* shld [ebx], eax, 3 */
	struct x86_emu_ctx ctx = {.ops = &ops, .rep_batch = 1};
	struct x86_emu_result res;
	struct x86_segment cs;
	struct x86_insn in;
	uint64_t gpr[X86_NR_GPRS];
	struct fake f;
	uint32_t v;

	(void)st;
	ctx.opaque = &f;
	assert_int_equal(x86_decode(&in, code, sizeof(code), X86_MODE_32), 0);
	for (unsigned int decoded = 0; decoded < 2; decoded++) {
		setup(&f, 32, MEM_BASE, code, sizeof(code));
		f.gpr[X86_RAX] = 0xa0000000u;
		f.gpr[X86_RBX] = MEM_BASE + 0x2000;
		v = 0x10000001u;
		memcpy(f.mem + 0x2000, &v, 4);
		memcpy(gpr, f.gpr, sizeof(gpr));
		get_ctl(&f, &ctx.ctl);
		get_seg(&f, X86_SEG_CS, &cs);
		x86_emu_enter(&ctx, f.rip, f.rflags, gpr);
		assert_int_equal(x86_emulate_entered(&ctx, decoded ? &in : NULL, &cs, &res), 0);
		memcpy(&v, f.mem + 0x2000, 4);
		assert_int_equal(v, 0x8000000du); /* 0x10000001 << 3 | 0xa0000000 >> 29 */
		assert_int_equal(f.rip, MEM_BASE + sizeof(code));
		assert_true(f.rflags & X86_FL_SF);
		assert_true(f.rflags & X86_FL_OF); /* the sign changed */
		/* Again through x86_emulate: RBX as get_reg gives it now. */
		f.rip = MEM_BASE;
		f.gpr[X86_RBX] = MEM_BASE + 0x2100;
		memset(f.mem + 0x2100, 0, 4);
		assert_int_equal(x86_emulate(&ctx, &res), 0);
		memcpy(&v, f.mem + 0x2100, 4);
		assert_int_equal(v, 5); /* 0 << 3 | 0xa0000000 >> 29 */
	}
}

/* x86_emulate_entered's GPRs read in place until written: a REP MOVSB batch reads back the
 * RSI, RDI and RCX its earlier iterations wrote (not the caller's unchanged array), and a
 * fault in the batch commits the completed iterations' counts, RIP unchanged. */
static void test_entered_rep_reads_its_writes(void **st)
{
	static const uint8_t code[] = {0xf3, 0xa4}; /* rep movsb */
	struct x86_emu_ctx ctx = {.ops = &ops, .rep_batch = 8};
	struct x86_emu_result res;
	struct x86_segment cs;
	uint64_t gpr[16];
	struct fake f;

	(void)st;
	ctx.opaque = &f;
	setup(&f, 64, MEM_BASE, code, sizeof(code));
	f.gpr[X86_RSI] = MEM_BASE + 0x2000;
	f.gpr[X86_RDI] = MEM_BASE + 0x2100;
	f.gpr[X86_RCX] = 3;
	memcpy(f.mem + 0x2000, "\x01\x02\x03", 3);
	memcpy(gpr, f.gpr, sizeof(gpr)); /* the caller's copy: commit goes to f.gpr */
	get_ctl(&f, &ctx.ctl);
	get_seg(&f, X86_SEG_CS, &cs);
	x86_emu_enter(&ctx, f.rip, f.rflags, gpr);
	assert_int_equal(x86_emulate_entered(&ctx, NULL, &cs, &res), 0);
	assert_memory_equal(f.mem + 0x2100, "\x01\x02\x03", 3);
	assert_int_equal(f.gpr[X86_RSI], MEM_BASE + 0x2003);
	assert_int_equal(f.gpr[X86_RDI], MEM_BASE + 0x2103);
	assert_int_equal(f.gpr[X86_RCX], 0);
	assert_int_equal(f.rip, MEM_BASE + sizeof(code));
	/* The third element's source past the mapped memory: two done, then #PF. */
	f.rip = MEM_BASE;
	f.gpr[X86_RSI] = MEM_BASE + MEM_SIZE - 2;
	f.gpr[X86_RDI] = MEM_BASE + 0x2200;
	f.gpr[X86_RCX] = 4;
	memcpy(gpr, f.gpr, sizeof(gpr));
	get_ctl(&f, &ctx.ctl);
	x86_emu_enter(&ctx, f.rip, f.rflags, gpr);
	assert_int_equal(x86_emulate_entered(&ctx, NULL, &cs, &res), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_PF);
	assert_int_equal(f.gpr[X86_RSI], MEM_BASE + MEM_SIZE);
	assert_int_equal(f.gpr[X86_RDI], MEM_BASE + 0x2202);
	assert_int_equal(f.gpr[X86_RCX], 2);
	assert_int_equal(f.rip, MEM_BASE);
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

/* The same fake without the optional callbacks (probe included). */
static const struct x86_emu_ops ops_plain = {
	get_reg, set_reg, get_seg, get_ctl, fetch, rd,	 wr,   get_vec,
	set_vec, NULL,	  NULL,	   NULL,    NULL,  NULL, NULL, NULL, NULL, NULL, NULL,
	NULL,	 NULL,	  NULL,	   NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	NULL,	 NULL, /* read_value, write_value: the byte path */
	NULL,	 NULL, /* rmw_read_value, commit: probe then read, set_reg per register */
};

/* A write whose second page faults: with a probe, the first page is left untouched. */
static void test_write_crossing_into_missing_page_writes_nothing(void **st)
{
	static const uint8_t code[] = {0x89, 0x03}; /* mov [rbx], eax */
	struct fake f;
	struct x86_emu_result res;
	struct x86_emu_ctx ctx = {.ops = &ops, .rep_batch = 1};

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
	ctx.ops = &ops_plain;
	assert_int_equal(x86_emulate(&ctx, &res), -X86_EMU_EXCEPTION);
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

/* A word read past a 64 KiB segment limit: #GP in both modes; in virtual-8086 mode it goes
 * to the protected-mode monitor with its error code, in real mode without one. */
static void test_v86_gp_keeps_error_code_real_mode_drops_it(void **st)
{
	static const uint8_t code[] = {0x8b, 0x07}; /* mov ax, [bx] */
	struct fake f;
	struct x86_emu_result res;

	(void)st;
	setup(&f, 16, MEM_BASE, code, sizeof(code));
	f.rflags |= X86_FL_VM;
	f.ds_limit = 0xffff;
	f.gpr[X86_RBX] = 0xffff;
	assert_int_equal(run(&f, &res, 1), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_GP);
	assert_true(res.exc.has_error_code);
	assert_int_equal(res.exc.error_code, 0);

	setup(&f, 16, MEM_BASE, code, sizeof(code));
	f.real_mode = true;
	f.ds_limit = 0xffff;
	f.gpr[X86_RBX] = 0xffff;
	assert_int_equal(run(&f, &res, 1), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_GP);
	assert_false(res.exc.has_error_code);
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
	static const uint8_t shl[] = {0xd9, 0x03};	/* fld dword [rbx]: x87 is not emulated */
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

static void test_shifts_and_rotates_on_memory(void **st)
{
	static const uint8_t rcl[] = {0xd0, 0x13};		/* rcl byte [rbx], 1 */
	static const uint8_t sar[] = {0x48, 0xd3, 0x7b, 0x08};	/* sar qword [rbx+8], cl */
	static const uint8_t ror[] = {0x66, 0xc1, 0x0b, 0x04};	/* ror word [rbx], 4 */
	static const uint8_t shrd[] = {0x0f, 0xac, 0x03, 0x08}; /* shrd [rbx], eax, 8 */
	struct fake f;
	struct x86_emu_result res;
	uint64_t q;
	uint32_t d;

	(void)st;
	setup(&f, 64, MEM_BASE, rcl, sizeof(rcl));
	f.gpr[X86_RBX] = MEM_BASE + 0x2000;
	f.mem[0x2000] = 0x80;
	f.rflags |= X86_FL_CF;
	assert_int_equal(run(&f, &res, 1), 0);
	assert_int_equal(f.mem[0x2000], 0x01); /* CF rotated in, bit 7 out */
	assert_true(f.rflags & X86_FL_CF);
	assert_true(f.rflags & X86_FL_OF); /* MSB(result) ^ CF */
	assert_int_equal(f.rip, MEM_BASE + sizeof(rcl));

	setup(&f, 64, MEM_BASE, sar, sizeof(sar));
	f.gpr[X86_RBX] = MEM_BASE + 0x2000;
	f.gpr[X86_RCX] = 0x44; /* masked to 4 */
	q = 0x8000000000000010ull;
	memcpy(f.mem + 0x2008, &q, 8);
	assert_int_equal(run(&f, &res, 1), 0);
	memcpy(&q, f.mem + 0x2008, 8);
	assert_int_equal(q, 0xf800000000000001ull);
	assert_true(f.rflags & X86_FL_SF);
	assert_false(f.rflags & X86_FL_CF);

	setup(&f, 64, MEM_BASE, ror, sizeof(ror));
	f.gpr[X86_RBX] = MEM_BASE + 0x2000;
	f.mem[0x2000] = 0x34;
	f.mem[0x2001] = 0x12;
	assert_int_equal(run(&f, &res, 1), 0);
	assert_int_equal(f.mem[0x2000] | f.mem[0x2001] << 8, 0x4123);

	setup(&f, 64, MEM_BASE, shrd, sizeof(shrd));
	f.gpr[X86_RBX] = MEM_BASE + 0x2000;
	f.gpr[X86_RAX] = 0xab;
	d = 0x11223344;
	memcpy(f.mem + 0x2000, &d, 4);
	assert_int_equal(run(&f, &res, 1), 0);
	memcpy(&d, f.mem + 0x2000, 4);
	assert_int_equal(d, 0xab112233);
	assert_false(f.rflags & X86_FL_CF); /* last bit out: bit 7 of 0x44 */
}

static void test_shift_fault_changes_nothing(void **st)
{
	static const uint8_t shl[] = {0xd3, 0x23}; /* shl dword [rbx], cl */
	struct fake f;
	struct x86_emu_result res;

	(void)st;
	setup(&f, 64, MEM_BASE, shl, sizeof(shl));
	f.gpr[X86_RBX] = MEM_BASE + MEM_SIZE - 2; /* crosses the end of mapped memory */
	f.gpr[X86_RCX] = 3;
	f.rflags |= X86_FL_ZF;
	assert_int_equal(run(&f, &res, 1), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_PF);
	assert_int_equal(f.writes, 0);
	assert_int_equal(f.rflags, X86_FL_FIXED | X86_FL_ZF);
	assert_int_equal(f.rip, MEM_BASE);
}

static void test_bsr_from_memory(void **st)
{
	static const uint8_t bsr[] = {0x66, 0x0f, 0xbd, 0x43, 0x02}; /* bsr ax, [rbx+2] */
	struct fake f;
	struct x86_emu_result res;

	(void)st;
	setup(&f, 64, MEM_BASE, bsr, sizeof(bsr));
	f.gpr[X86_RBX] = MEM_BASE + 0x2000;
	f.gpr[X86_RAX] = 0xffffffffffffffffull;
	f.mem[0x2003] = 0x20; /* word 0x2000: bit 13 */
	assert_int_equal(run(&f, &res, 1), 0);
	assert_int_equal(f.gpr[X86_RAX], 0xffffffffffff000dull);
	assert_false(f.rflags & X86_FL_ZF);
}

static void test_crossing_store_into_fault_writes_nothing(void **st)
{
	static const uint8_t mov[] = {0x48, 0x89, 0x03}; /* mov [rbx], rax */
	static const uint8_t rep[] = {0xf3, 0xab};	 /* rep stosd */
	struct fake f;
	struct x86_emu_result res;

	(void)st;
	setup(&f, 64, MEM_BASE, mov, sizeof(mov));
	f.gpr[X86_RBX] = MEM_BASE + MEM_SIZE - 4; /* 4 bytes mapped, 4 past the end */
	f.gpr[X86_RAX] = 0x1122334455667788ull;
	assert_int_equal(run(&f, &res, 1), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_PF);
	assert_int_equal(res.exc.cr2, MEM_BASE + MEM_SIZE);
	assert_int_equal(f.writes, 0);
	/* REP STOSD: the elements before the crossing one are written, that one not at all. */
	setup(&f, 64, MEM_BASE, rep, sizeof(rep));
	f.gpr[X86_RDI] = MEM_BASE + MEM_SIZE - 10;
	f.gpr[X86_RCX] = 4;
	f.gpr[X86_RAX] = 0xa5a5a5a5;
	assert_int_equal(run(&f, &res, 8), -X86_EMU_EXCEPTION);
	assert_true(res.rep_continue);
	assert_int_equal(f.writes, 2);
	assert_int_equal(f.gpr[X86_RCX], 2);
	assert_int_equal(f.gpr[X86_RDI], MEM_BASE + MEM_SIZE - 2);
	assert_int_equal(f.mem[MEM_SIZE - 2], 0);
}

static void test_alignment_uses_linear_address(void **st)
{
	static const uint8_t movaps[] = {0x0f, 0x28, 0x03}; /* movaps xmm0, [ebx] */
	struct fake f;
	struct x86_emu_result res;

	(void)st;
	/* 32-bit: DS base 8 makes the aligned offset 0x2008 a misaligned linear address. */
	setup(&f, 32, MEM_BASE, movaps, sizeof(movaps));
	f.ds_base = 8;
	f.gpr[X86_RBX] = MEM_BASE + 0x2000;
	assert_int_equal(run(&f, &res, 1), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_GP);
	f.gpr[X86_RBX] = MEM_BASE + 0x2008; /* misaligned offset, aligned linear address */
	assert_int_equal(run(&f, &res, 1), 0);
}

static void test_sgdt_sidt_store_limit_and_base(void **st)
{
	static const uint8_t sgdt[] = {0x0f, 0x01, 0x03}; /* sgdt [rbx] / [ebx] */
	static const uint8_t sidt[] = {0x0f, 0x01, 0x0b}; /* sidt [rbx] / [ebx] */
	struct fake f;
	struct x86_emu_result res;
	uint64_t base;

	(void)st;
	setup(&f, 64, MEM_BASE, sgdt, sizeof(sgdt));
	f.sys[X86_SYS_GDTR] = (struct x86_segment){.base = 0xffff800012345678ull, .limit = 0x7f};
	f.gpr[X86_RBX] = MEM_BASE + 0x2000;
	memset(f.mem + 0x2000, 0xee, 12);
	assert_int_equal(run(&f, &res, 1), 0);
	assert_int_equal(f.mem[0x2000] | f.mem[0x2001] << 8, 0x7f);
	memcpy(&base, f.mem + 0x2002, 8);
	assert_int_equal(base, 0xffff800012345678ull);
	assert_int_equal(f.mem[0x200a], 0xee); /* 10 bytes in 64-bit mode */
	setup(&f, 32, MEM_BASE, sidt, sizeof(sidt));
	f.sys[X86_SYS_IDTR] = (struct x86_segment){.base = 0x00abcdef, .limit = 0x7ff};
	f.gpr[X86_RBX] = MEM_BASE + 0x2000;
	memset(f.mem + 0x2000, 0xee, 12);
	assert_int_equal(run(&f, &res, 1), 0);
	memcpy(&base, f.mem + 0x2002, 8);
	assert_int_equal(base, 0xeeeeeeee00abcdefull); /* 6 bytes in 32-bit mode */
	/* UMIP outside ring 0: #GP(0), nothing stored. */
	setup(&f, 64, MEM_BASE, sgdt, sizeof(sgdt));
	f.gpr[X86_RBX] = MEM_BASE + 0x2000;
	f.cr4 = X86_CR4_UMIP;
	f.cpl = 3;
	assert_int_equal(run(&f, &res, 1), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_GP);
	assert_int_equal(f.writes, 0);
	/* Without the callbacks: not emulated. */
	setup(&f, 64, MEM_BASE, sgdt, sizeof(sgdt));
	f.gpr[X86_RBX] = MEM_BASE + 0x2000;
	{
		struct x86_emu_ctx ctx = {.ops = &ops_nosys, .opaque = &f};

		assert_int_equal(x86_emulate(&ctx, &res), -X86_EMU_UNSUPPORTED);
	}
}

static void test_sldt_str_smsw(void **st)
{
	static const uint8_t sldt[] = {0x0f, 0x00, 0x03};	  /* sldt [rbx] */
	static const uint8_t str[] = {0x0f, 0x00, 0xc8};	  /* str eax */
	static const uint8_t smsw[] = {0x0f, 0x01, 0x23};	  /* smsw [rbx] */
	static const uint8_t smsw_r[] = {0x48, 0x0f, 0x01, 0xe0}; /* smsw rax */
	struct fake f;
	struct x86_emu_result res;

	(void)st;
	setup(&f, 64, MEM_BASE, sldt, sizeof(sldt));
	f.sys[X86_SYS_LDTR].selector = 0x28;
	f.gpr[X86_RBX] = MEM_BASE + 0x2000;
	memset(f.mem + 0x2000, 0xee, 4);
	assert_int_equal(run(&f, &res, 1), 0);
	assert_int_equal(f.mem[0x2000], 0x28);
	assert_int_equal(f.mem[0x2001], 0);
	assert_int_equal(f.mem[0x2002], 0xee); /* a word only */
	setup(&f, 64, MEM_BASE, str, sizeof(str));
	f.sys[X86_SYS_TR].selector = 0x40;
	f.gpr[X86_RAX] = ~0ull;
	assert_int_equal(run(&f, &res, 1), 0);
	assert_int_equal(f.gpr[X86_RAX], 0x40); /* zero-extended */
	setup(&f, 64, MEM_BASE, smsw, sizeof(smsw));
	f.cr0 = X86_CR0_TS | X86_CR0_AM;
	f.gpr[X86_RBX] = MEM_BASE + 0x2000;
	assert_int_equal(run(&f, &res, 1), 0);
	assert_int_equal(f.mem[0x2000] | f.mem[0x2001] << 8, X86_CR0_PE | X86_CR0_TS);
	setup(&f, 64, MEM_BASE, smsw_r, sizeof(smsw_r));
	f.cr0 = X86_CR0_AM;
	assert_int_equal(run(&f, &res, 1), 0);
	assert_int_equal(f.gpr[X86_RAX], X86_CR0_PE | X86_CR0_AM); /* all of CR0 */
}

static void test_lgdt_lidt_lmsw(void **st)
{
	static const uint8_t lgdt[] = {0x0f, 0x01, 0x13};	  /* lgdt [rbx] */
	static const uint8_t lidt16[] = {0x66, 0x0f, 0x01, 0x1b}; /* o16 lidt [ebx] */
	static const uint8_t lmsw_m[] = {0x0f, 0x01, 0x33};	  /* lmsw [rbx] */
	static const uint8_t desc[] = {0xff, 0x0f, 0x78, 0x56, 0x34, 0x12, 0x00, 0x80, 0xff, 0xff};
	struct fake f;
	struct x86_emu_result res;

	(void)st;
	setup(&f, 64, MEM_BASE, lgdt, sizeof(lgdt));
	f.gpr[X86_RBX] = MEM_BASE + 0x2000;
	memcpy(f.mem + 0x2000, desc, sizeof(desc));
	assert_int_equal(run(&f, &res, 1), 0);
	assert_int_equal(f.sys[X86_SYS_GDTR].base, 0xffff800012345678ull);
	assert_int_equal(f.sys[X86_SYS_GDTR].limit, 0xfff);
	f.mem[0x2009] = 0x7f; /* non-canonical base: #GP(0), GDTR unchanged */
	f.rip = MEM_BASE;
	f.sys[X86_SYS_GDTR].base = 0;
	assert_int_equal(run(&f, &res, 1), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_GP);
	assert_int_equal(f.sys[X86_SYS_GDTR].base, 0);
	f.mem[0x2009] = 0xff;
	f.rip = MEM_BASE;
	f.cpl = 3; /* ring 3: #GP(0) */
	assert_int_equal(run(&f, &res, 1), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_GP);
	/* 16-bit operand size outside 64-bit mode: a 24-bit base. */
	setup(&f, 32, MEM_BASE, lidt16, sizeof(lidt16));
	f.gpr[X86_RBX] = MEM_BASE + 0x2000;
	memcpy(f.mem + 0x2000, desc, sizeof(desc));
	assert_int_equal(run(&f, &res, 1), 0);
	assert_int_equal(f.sys[X86_SYS_IDTR].base, 0x345678);
	setup(&f, 64, MEM_BASE, lmsw_m, sizeof(lmsw_m));
	f.gpr[X86_RBX] = MEM_BASE + 0x2000;
	f.mem[0x2000] = 0x0b;
	assert_int_equal(run(&f, &res, 1), 0);
	assert_int_equal(f.lmsw_calls, 1);
	assert_int_equal(f.lmsw_src, 0x0b);
	f.rip = MEM_BASE;
	f.cpl = 1;
	assert_int_equal(run(&f, &res, 1), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_GP);
	assert_int_equal(f.lmsw_calls, 1);
}

static void test_call_ret_on_a_device_stack(void **st)
{
	static const uint8_t call[] = {0xff, 0x53, 0x08}; /* call [rbx+8] */
	static const uint8_t ret[] = {0xc2, 0x10, 0x00};  /* ret 16 */
	struct fake f;
	struct x86_emu_result res;
	uint64_t v, target = MEM_BASE + 0x40;

	(void)st;
	setup(&f, 64, MEM_BASE, call, sizeof(call));
	f.gpr[X86_RBX] = MEM_BASE + 0x2000;
	f.gpr[X86_RSP] = MEM_BASE + 0x2800;
	memcpy(f.mem + 0x2008, &target, 8);
	assert_int_equal(run(&f, &res, 1), 0);
	assert_int_equal(f.rip, target);
	assert_int_equal(f.gpr[X86_RSP], MEM_BASE + 0x27f8);
	memcpy(&v, f.mem + 0x27f8, 8);
	assert_int_equal(v, MEM_BASE + sizeof(call)); /* the return address */
	/* A non-canonical target: #GP(0), nothing pushed. */
	setup(&f, 64, MEM_BASE, call, sizeof(call));
	f.gpr[X86_RBX] = MEM_BASE + 0x2000;
	f.gpr[X86_RSP] = MEM_BASE + 0x2800;
	target = 0x0000800000000000ull;
	memcpy(f.mem + 0x2008, &target, 8);
	assert_int_equal(run(&f, &res, 1), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_GP);
	assert_int_equal(f.writes, 0);
	assert_int_equal(f.gpr[X86_RSP], MEM_BASE + 0x2800);

	setup(&f, 64, MEM_BASE, ret, sizeof(ret));
	f.gpr[X86_RSP] = MEM_BASE + 0x2800;
	target = MEM_BASE + 0x100;
	memcpy(f.mem + 0x2800, &target, 8);
	assert_int_equal(run(&f, &res, 1), 0);
	assert_int_equal(f.rip, MEM_BASE + 0x100);
	assert_int_equal(f.gpr[X86_RSP], MEM_BASE + 0x2818);
}

static void test_popf_privilege_and_enter_leave(void **st)
{
	static const uint8_t popf[] = {0x9d};
	static const uint8_t enter[] = {0xc8, 0x20, 0x00, 0x02}; /* enter 32, 2 */
	static const uint8_t leave[] = {0xc9};
	struct fake f;
	struct x86_emu_result res;
	uint64_t img = X86_FL_IF | (3ull << 12) | X86_FL_CF | X86_FL_DF, v;

	(void)st;
	setup(&f, 64, MEM_BASE, popf, sizeof(popf));
	f.gpr[X86_RSP] = MEM_BASE + 0x2800;
	memcpy(f.mem + 0x2800, &img, 8);
	f.cpl = 3; /* IOPL 0: IF and IOPL stay as they were */
	assert_int_equal(run(&f, &res, 1), 0);
	assert_int_equal(f.rflags, X86_FL_FIXED | X86_FL_CF | X86_FL_DF);
	f.rip = MEM_BASE;
	f.gpr[X86_RSP] = MEM_BASE + 0x2800;
	f.cpl = 0;
	assert_int_equal(run(&f, &res, 1), 0);
	assert_int_equal(f.rflags, X86_FL_FIXED | img);

	setup(&f, 64, MEM_BASE, enter, sizeof(enter));
	f.gpr[X86_RSP] = MEM_BASE + 0x2800;
	f.gpr[X86_RBP] = MEM_BASE + 0x2900;
	v = 0x1234;
	memcpy(f.mem + 0x28f8, &v, 8); /* the outer frame pointer at [rbp-8] */
	assert_int_equal(run(&f, &res, 1), 0);
	assert_int_equal(f.gpr[X86_RBP], MEM_BASE + 0x27f8);
	memcpy(&v, f.mem + 0x27f8, 8);
	assert_int_equal(v, MEM_BASE + 0x2900); /* old rbp */
	memcpy(&v, f.mem + 0x27f0, 8);
	assert_int_equal(v, 0x1234); /* copied frame pointer */
	memcpy(&v, f.mem + 0x27e8, 8);
	assert_int_equal(v, MEM_BASE + 0x27f8); /* this frame */
	assert_int_equal(f.gpr[X86_RSP], MEM_BASE + 0x27e8 - 0x20);

	setup(&f, 64, MEM_BASE, leave, sizeof(leave));
	f.gpr[X86_RBP] = MEM_BASE + 0x27f8;
	v = MEM_BASE + 0x2900;
	memcpy(f.mem + 0x27f8, &v, 8);
	assert_int_equal(run(&f, &res, 1), 0);
	assert_int_equal(f.gpr[X86_RBP], MEM_BASE + 0x2900);
	assert_int_equal(f.gpr[X86_RSP], MEM_BASE + 0x2800);
}

static void test_near_branch_66_on_amd_not_emulated(void **st)
{
	static const uint8_t call[] = {0x66, 0xff, 0x13}; /* o16 call [rbx] */
	struct fake f;
	struct x86_emu_result res;
	struct x86_emu_ctx ctx = {.ops = &ops, .opaque = &f, .vendor = X86_VENDOR_AMD};

	(void)st;
	setup(&f, 64, MEM_BASE, call, sizeof(call));
	f.gpr[X86_RBX] = MEM_BASE + 0x2000;
	f.gpr[X86_RSP] = MEM_BASE + 0x2800;
	assert_int_equal(x86_emulate(&ctx, &res), -X86_EMU_UNSUPPORTED);
	assert_int_equal(res.exc.vector, X86_EXC_UD);
	assert_int_equal(f.writes, 0);
}

static void test_crc32_from_memory(void **st)
{
	static const uint8_t code[] = {0xf2, 0x48, 0x0f, 0x38, 0xf1, 0x03,  /* crc32 rax, [rbx] */
				       0xf2, 0x0f, 0x38, 0xf0, 0x43, 0x08}; /* crc32 eax, [rbx+8] */
	struct fake f;
	struct x86_emu_result res;
	struct x86_emu_ctx ctx = {.ops = &ops, .opaque = &f, .features = X86_FEAT_SSE42};

	(void)st;
	setup(&f, 64, MEM_BASE, code, sizeof(code));
	f.gpr[X86_RBX] = MEM_BASE + 0x2000;
	f.gpr[X86_RAX] = 0xdeadbeefffffffffull;
	memcpy(f.mem + 0x2000, "123456789", 9);
	assert_int_equal(x86_emulate(&ctx, &res), 0);
	assert_int_equal(f.gpr[X86_RAX] >> 32, 0); /* 64-bit destination: zero-extended */
	assert_int_equal(x86_emulate(&ctx, &res), 0);
	assert_int_equal(~(uint32_t)f.gpr[X86_RAX], 0xe3069283u); /* CRC-32C check value */
	ctx.features = 0;					  /* no SSE4.2: #UD */
	f.rip = MEM_BASE;
	assert_int_equal(x86_emulate(&ctx, &res), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_UD);
}

static void test_mmx_moves_on_memory(void **st)
{
	static const uint8_t movd[] = {0x0f, 0x6e, 0x4b, 0x04};	      /* movd mm1, [rbx+4] */
	static const uint8_t movq[] = {0x48, 0x0f, 0x7f, 0x53, 0x10}; /* movq [rbx+16], mm2 */
	struct fake f;
	struct x86_emu_result res;
	uint64_t v;

	(void)st;
	setup(&f, 64, MEM_BASE, movd, sizeof(movd));
	f.gpr[X86_RBX] = MEM_BASE + 0x2000;
	f.mm[1] = ~0ull;
	memcpy(f.mem + 0x2004, "\x11\x22\x33\x44\x55", 5);
	assert_int_equal(run(&f, &res, 1), 0);
	assert_int_equal(f.mm[1], 0x44332211ull); /* zero-extended */
	setup(&f, 64, MEM_BASE, movq, sizeof(movq));
	f.gpr[X86_RBX] = MEM_BASE + 0x2000;
	f.mm[2] = 0x0123456789abcdefull;
	assert_int_equal(run(&f, &res, 1), 0);
	memcpy(&v, f.mem + 0x2010, 8);
	assert_int_equal(v, 0x0123456789abcdefull);
	/* A pending x87 exception: #MF, nothing written; CR0.TS: #NM. */
	f.rip = MEM_BASE;
	f.mmx_pending = true;
	f.writes = 0;
	assert_int_equal(run(&f, &res, 1), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_MF);
	assert_int_equal(f.writes, 0);
	f.mmx_pending = false;
	f.cr0 = X86_CR0_TS;
	assert_int_equal(run(&f, &res, 1), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_NM);
}

static void test_fxsave_fxrstor_on_memory(void **st)
{
	static const uint8_t code_fxsave[] = {0x48, 0x0f, 0xae, 0x03}; /* fxsave64 [rbx] */
	static const uint8_t code_fxrstor[] = {0x0f, 0xae, 0x0b};      /* fxrstor [rbx] */
	struct fake f;
	struct x86_emu_result res;

	(void)st;
	setup(&f, 64, MEM_BASE, code_fxsave, sizeof(code_fxsave));
	f.gpr[X86_RBX] = MEM_BASE + 0x2000;
	memset(f.mem + 0x2000, 0xee, 512);
	assert_int_equal(run(&f, &res, 1), 0);
	assert_int_equal(f.mem[0x2000 + 10], 10 ^ 0x5a ^ 1);
	assert_int_equal(f.mem[0x2000 + 415], (uint8_t)(415 ^ 0x5a ^ 1));
	assert_int_equal(f.mem[0x2000 + 416], 0xee); /* software's bytes untouched */
	/* Misaligned: #GP(0), nothing written. */
	f.rip = MEM_BASE;
	f.gpr[X86_RBX] = MEM_BASE + 0x2008;
	f.writes = 0;
	assert_int_equal(run(&f, &res, 1), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_GP);
	assert_int_equal(f.writes, 0);
	/* Crossing into a missing page: #PF, nothing written. */
	f.rip = MEM_BASE;
	f.gpr[X86_RBX] = MEM_BASE + MEM_SIZE - 0x100;
	assert_int_equal(run(&f, &res, 1), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_PF);
	assert_int_equal(f.writes, 0);

	setup(&f, 32, MEM_BASE, code_fxrstor, sizeof(code_fxrstor));
	f.gpr[X86_RBX] = MEM_BASE + 0x2000;
	assert_int_equal(run(&f, &res, 1), 0);
	assert_int_equal(f.fxrstor_len, 288); /* no XMM8-15 outside 64-bit mode */
	f.rip = MEM_BASE;
	f.mem[0x2000 + 24] = 0xff;
	assert_int_equal(run(&f, &res, 1), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_GP);
}

static void test_single_step_sees_the_starting_tf(void **st)
{
	static const uint8_t popf[] = {0x9d};
	static const uint8_t rep[] = {0xf3, 0xa4}; /* rep movsb */
	struct fake f;
	struct x86_emu_result res;
	uint64_t img = X86_FL_TF;

	(void)st;
	/* POPF setting TF: RIP moves while TF is still clear (the trap is one insn later). */
	setup(&f, 64, MEM_BASE, popf, sizeof(popf));
	f.gpr[X86_RSP] = MEM_BASE + 0x2800;
	memcpy(f.mem + 0x2800, &img, 8);
	assert_int_equal(run(&f, &res, 1), 0);
	assert_int_equal(f.tf_at_rip_write, 0);
	assert_true(f.rflags & X86_FL_TF);
	/* POPF clearing TF: RIP moves while TF is still set (the trap follows this POPF). */
	f.rip = MEM_BASE;
	f.gpr[X86_RSP] = MEM_BASE + 0x2800;
	img = 0;
	memcpy(f.mem + 0x2800, &img, 8);
	assert_int_equal(run(&f, &res, 1), 0);
	assert_int_equal(f.tf_at_rip_write, X86_FL_TF);
	assert_false(f.rflags & X86_FL_TF);
	/* REP under TF: one iteration per call, RIP kept on the instruction. */
	setup(&f, 64, MEM_BASE, rep, sizeof(rep));
	f.rflags |= X86_FL_TF;
	f.gpr[X86_RSI] = MEM_BASE + 0x2000;
	f.gpr[X86_RDI] = MEM_BASE + 0x2800;
	f.gpr[X86_RCX] = 3;
	assert_int_equal(run(&f, &res, 64), 0);
	assert_true(res.rep_continue);
	assert_int_equal(f.gpr[X86_RCX], 2);
	assert_int_equal(f.rip, MEM_BASE);
}

/* A GDT at MEM_BASE + 0x1000 for the MOV Sreg tests (descriptor i at selector i * 8). */
#define GDT_OFF 0x1000u
static const uint8_t gdt[][8] = {
	{0},
	{0xff, 0xff, 0, 0, 0, 0x9b, 0xaf, 0},		  /* 0x08 code, readable */
	{0xff, 0xff, 0, 0, 0, 0x92, 0xcf, 0},		  /* 0x10 data RW, not accessed */
	{0xff, 0xff, 0, 0, 0, 0x13, 0xcf, 0},		  /* 0x18 data RW, not present */
	{0xff, 0xff, 0, 0, 0, 0x99, 0xcf, 0},		  /* 0x20 code, execute-only */
	{0xff, 0xff, 0, 0, 0, 0x91, 0xcf, 0},		  /* 0x28 data read-only */
	{0xff, 0xff, 0x78, 0x56, 0x34, 0xf3, 0x8f, 0x12}, /* 0x30 data RW, DPL 3 */
	{0, 0, 0x08, 0, 0, 0x8c, 0, 0},			  /* 0x38 call gate */
	{0xff, 0xff, 0, 0, 0, 0x1b, 0xcf, 0},		  /* 0x40 code, not present */
};

static int run_mov_sreg(struct fake *f, unsigned int mode, unsigned int seg, uint16_t sel,
			struct x86_emu_result *res)
{
	/* mov sreg, [rbx] */
	const uint8_t code[] = {0x8e, (uint8_t)(0x03 | seg << 3)};
	unsigned int cpl = f->cpl;

	setup(f, mode, MEM_BASE, code, sizeof(code));
	f->cpl = cpl;
	memcpy(f->mem + GDT_OFF, gdt, sizeof(gdt));
	f->sys[X86_SYS_GDTR].base = MEM_BASE + GDT_OFF;
	f->sys[X86_SYS_GDTR].limit = sizeof(gdt) - 1;
	f->gpr[X86_RBX] = MEM_BASE + 0x2000;
	f->mem[0x2000] = (uint8_t)sel;
	f->mem[0x2001] = (uint8_t)(sel >> 8);
	return run(f, res, 1);
}

static void expect_fault(struct fake *f, unsigned int mode, unsigned int seg, uint16_t sel,
			 unsigned int vector, uint32_t ec)
{
	struct x86_emu_result res;

	assert_int_equal(run_mov_sreg(f, mode, seg, sel, &res), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, vector);
	assert_int_equal(res.exc.error_code, ec);
	assert_int_equal(f->set_seg_calls, 0);
	assert_int_equal(f->rip, MEM_BASE);
}

static void test_mov_sreg_loads_descriptor(void **st)
{
	struct fake f = {0};
	struct x86_emu_result res;

	(void)st;
	assert_int_equal(run_mov_sreg(&f, 64, X86_SEG_DS, 0x10, &res), 0);
	assert_int_equal(f.set_seg_calls, 1);
	assert_int_equal(f.loaded[X86_SEG_DS].selector, 0x10);
	assert_int_equal(f.loaded[X86_SEG_DS].limit, 0xffffffffu);
	assert_int_equal(f.loaded[X86_SEG_DS].attr, 0xc093);
	assert_int_equal(f.mem[GDT_OFF + 0x10 + 5], 0x93); /* accessed bit written back */
	assert_int_equal(f.sys_writes, 1);
	assert_false(res.mov_ss_shadow);
	assert_int_equal(f.rip, MEM_BASE + 2);
	/* SS: the same descriptor, with the interrupt shadow. */
	assert_int_equal(run_mov_sreg(&f, 32, X86_SEG_SS, 0x10, &res), 0);
	assert_int_equal(f.loaded[X86_SEG_SS].selector, 0x10);
	assert_true(res.mov_ss_shadow);
	/* Readable code in a data segment register. */
	assert_int_equal(run_mov_sreg(&f, 64, X86_SEG_ES, 0x08, &res), 0);
	assert_int_equal(f.loaded[X86_SEG_ES].attr & 0xff, 0x9b);
	assert_int_equal(f.sys_writes, 0); /* already accessed */
	/* Ring 3, DPL 3, RPL 3: base and page-granular limit. */
	f.cpl = 3;
	assert_int_equal(run_mov_sreg(&f, 32, X86_SEG_GS, 0x33, &res), 0);
	assert_int_equal(f.loaded[X86_SEG_GS].base, 0x12345678u);
	assert_int_equal(f.loaded[X86_SEG_GS].limit, 0xffffffffu);
	assert_int_equal(f.loaded[X86_SEG_GS].selector, 0x33);
	assert_int_equal(run_mov_sreg(&f, 32, X86_SEG_SS, 0x33, &res), 0);
}

static void test_mov_sreg_null_selectors(void **st)
{
	struct fake f = {0};
	struct x86_emu_result res;

	(void)st;
	assert_int_equal(run_mov_sreg(&f, 32, X86_SEG_FS, 0x3, &res), 0);
	assert_true(f.loaded[X86_SEG_FS].attr & X86_SEG_UNUSABLE);
	assert_int_equal(f.loaded[X86_SEG_FS].selector, 3);
	/* SS: 64-bit mode below ring 3 with RPL = CPL only. */
	assert_int_equal(run_mov_sreg(&f, 64, X86_SEG_SS, 0x0, &res), 0);
	assert_true(f.loaded[X86_SEG_SS].attr & X86_SEG_UNUSABLE);
	assert_true(res.mov_ss_shadow);
	expect_fault(&f, 64, X86_SEG_SS, 0x1, X86_EXC_GP, 0);
	expect_fault(&f, 32, X86_SEG_SS, 0x0, X86_EXC_GP, 0);
	f.cpl = 3;
	expect_fault(&f, 64, X86_SEG_SS, 0x3, X86_EXC_GP, 0);
}

static void test_mov_sreg_faults(void **st)
{
	struct fake f = {0};

	(void)st;
	expect_fault(&f, 64, X86_SEG_DS, 0x18, X86_EXC_NP, 0x18);
	expect_fault(&f, 64, X86_SEG_SS, 0x18, X86_EXC_SS, 0x18);
	expect_fault(&f, 64, X86_SEG_DS, 0x20, X86_EXC_GP, 0x20); /* execute-only */
	expect_fault(&f, 32, X86_SEG_SS, 0x28, X86_EXC_GP, 0x28); /* read-only */
	expect_fault(&f, 32, X86_SEG_SS, 0x08, X86_EXC_GP, 0x08); /* code */
	expect_fault(&f, 32, X86_SEG_SS, 0x13, X86_EXC_GP, 0x10); /* RPL != CPL */
	expect_fault(&f, 32, X86_SEG_DS, 0x48, X86_EXC_GP, 0x48); /* past the GDT limit */
	expect_fault(&f, 32, X86_SEG_DS, 0x0c, X86_EXC_GP, 0x0c); /* LDT, none loaded */
	f.cpl = 3;
	expect_fault(&f, 32, X86_SEG_DS, 0x13, X86_EXC_GP, 0x10); /* DPL 0 from ring 3 */
	expect_fault(&f, 32, X86_SEG_SS, 0x30, X86_EXC_GP, 0x30); /* RPL 0 != CPL 3 */
	f.cpl = 0;
	/* The descriptor table itself is unreadable: its #PF. */
	{
		struct x86_emu_result res;

		static const uint8_t code[] = {0x8e, 0x1b}; /* mov ds, [rbx] */

		setup(&f, 32, MEM_BASE, code, sizeof(code));
		f.gpr[X86_RBX] = MEM_BASE + 0x2000;
		f.mem[0x2000] = 0x10;
		f.sys[X86_SYS_GDTR].limit = 0xff; /* base 0: not mapped by the fake */
		assert_int_equal(run(&f, &res, 1), -X86_EMU_EXCEPTION);
		assert_int_equal(res.exc.vector, X86_EXC_PF);
		assert_int_equal(res.exc.cr2, 0x10);
		assert_int_equal(f.set_seg_calls, 0);
	}
}

/* x86_load_sreg (a debugger's segment write): MOV Sreg's loads and faults, and CS. */
static int load_sreg(struct fake *f, unsigned int mode, unsigned int seg, uint16_t sel,
		     struct x86_emu_result *res)
{
	static const uint8_t nop[] = {0x90};
	struct x86_emu_ctx ctx = {.ops = &ops, .opaque = f};
	unsigned int cpl = f->cpl;

	setup(f, mode, MEM_BASE, nop, sizeof(nop));
	f->cpl = cpl;
	memcpy(f->mem + GDT_OFF, gdt, sizeof(gdt));
	f->sys[X86_SYS_GDTR].base = MEM_BASE + GDT_OFF;
	f->sys[X86_SYS_GDTR].limit = sizeof(gdt) - 1;
	return x86_load_sreg(&ctx, seg, sel, res);
}

static void expect_load_refused(struct fake *f, unsigned int mode, unsigned int seg,
				uint16_t sel, unsigned int vector)
{
	struct x86_emu_result res;

	assert_int_equal(load_sreg(f, mode, seg, sel, &res), X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, vector);
	assert_int_equal(f->set_seg_calls, 0);
	assert_int_equal(f->sys_writes, 0);
}

static void test_debugger_segment_load(void **st)
{
	struct fake f = {0};
	struct x86_emu_result res;

	(void)st;
	assert_int_equal(load_sreg(&f, 64, X86_SEG_DS, 0x10, &res), X86_EMU_OK);
	assert_int_equal(f.loaded[X86_SEG_DS].selector, 0x10);
	assert_int_equal(f.loaded[X86_SEG_DS].attr, 0xc093);
	assert_int_equal(f.mem[GDT_OFF + 0x10 + 5], 0x93); /* accessed, as the CPU marks it */
	assert_int_equal(f.rip, MEM_BASE);		   /* no instruction: RIP stays */
	expect_load_refused(&f, 64, X86_SEG_DS, 0x18, X86_EXC_NP);
	expect_load_refused(&f, 32, X86_SEG_SS, 0x08, X86_EXC_GP);
	expect_load_refused(&f, 32, X86_SEG_DS, 0x48, X86_EXC_GP); /* past the GDT */
	/* CS: the 64-bit code segment in 64-bit mode; data, a gate, another mode, a wrong RPL,
	 * a null selector or a segment not present are refused. */
	assert_int_equal(load_sreg(&f, 64, X86_SEG_CS, 0x08, &res), X86_EMU_OK);
	assert_int_equal(f.loaded[X86_SEG_CS].attr & 0xff, 0x9b);
	expect_load_refused(&f, 64, X86_SEG_CS, 0x10, X86_EXC_GP);
	expect_load_refused(&f, 64, X86_SEG_CS, 0x38, X86_EXC_GP);
	expect_load_refused(&f, 64, X86_SEG_CS, 0x20, X86_EXC_GP); /* L=0: compatibility mode */
	expect_load_refused(&f, 64, X86_SEG_CS, 0x0b, X86_EXC_GP); /* RPL 3 at CPL 0 */
	expect_load_refused(&f, 64, X86_SEG_CS, 0x00, X86_EXC_GP);
	expect_load_refused(&f, 32, X86_SEG_CS, 0x40, X86_EXC_NP);
	/* Outside IA-32e mode the L bit means nothing: an execute-only 32-bit code segment. */
	assert_int_equal(load_sreg(&f, 32, X86_SEG_CS, 0x20, &res), X86_EMU_OK);
	f.cpl = 3;
	expect_load_refused(&f, 32, X86_SEG_CS, 0x23, X86_EXC_GP); /* DPL 0 from ring 3 */
}

static void test_mov_cs_is_ud(void **st)
{
	static const uint8_t mov_cs[] = {0x8e, 0x0b}; /* mov cs, [rbx]: #UD */
	struct fake f = {0};
	struct x86_emu_result res;

	(void)st;
	setup(&f, 64, MEM_BASE, mov_cs, sizeof(mov_cs));
	f.gpr[X86_RBX] = MEM_BASE + 0x2000;
	run(&f, &res, 1);
	assert_int_equal(res.exc.vector, X86_EXC_UD);
	assert_int_equal(f.rip, MEM_BASE);
}

static void test_pop_sreg_from_a_device_stack(void **st)
{
	static const uint8_t pop_ds[] = {0x1f}, pop_ss[] = {0x17}, pop_fs[] = {0x0f, 0xa1};
	struct fake f;
	struct x86_emu_result res;

	(void)st;
	setup(&f, 32, MEM_BASE, pop_ds, sizeof(pop_ds));
	memcpy(f.mem + GDT_OFF, gdt, sizeof(gdt));
	f.sys[X86_SYS_GDTR] = (struct x86_segment){.base = MEM_BASE + GDT_OFF, .limit = 0xff};
	f.gpr[X86_RSP] = MEM_BASE + 0x2100;
	f.mem[0x2100] = 0x10;
	f.mem[0x2104] = 0x08;
	assert_int_equal(run(&f, &res, 1), 0);
	assert_int_equal(f.loaded[X86_SEG_DS].selector, 0x10);
	assert_int_equal(f.gpr[X86_RSP], MEM_BASE + 0x2104);
	/* POP SS of a code selector: #GP(selector), ESP unchanged. */
	memcpy(f.mem, pop_ss, sizeof(pop_ss));
	f.rip = MEM_BASE;
	f.set_seg_calls = 0;
	assert_int_equal(run(&f, &res, 1), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_GP);
	assert_int_equal(res.exc.error_code, 0x08);
	assert_int_equal(f.gpr[X86_RSP], MEM_BASE + 0x2104);
	assert_int_equal(f.set_seg_calls, 0);
	/* 64-bit POP FS: eight bytes. */
	memcpy(f.mem, pop_fs, sizeof(pop_fs));
	f.mode = 64;
	f.rip = MEM_BASE;
	f.mem[0x2104] = 0x10;
	assert_int_equal(run(&f, &res, 1), 0);
	assert_int_equal(f.loaded[X86_SEG_FS].selector, 0x10);
	assert_int_equal(f.gpr[X86_RSP], MEM_BASE + 0x210c);
	assert_false(res.mov_ss_shadow);
}

static int run_far(struct fake *f, unsigned int mode, enum x86_vendor vendor, const uint8_t *code,
		   size_t n, struct x86_emu_result *res)
{
	struct x86_emu_ctx ctx = {.ops = &ops, .opaque = f, .rep_batch = 1, .vendor = vendor};

	setup(f, mode, MEM_BASE, code, n);
	memcpy(f->mem + GDT_OFF, gdt, sizeof(gdt));
	f->sys[X86_SYS_GDTR] = (struct x86_segment){.base = MEM_BASE + GDT_OFF,
						    .limit = sizeof(gdt) - 1};
	f->gpr[X86_RBX] = MEM_BASE + 0x2000;
	f->gpr[X86_RSP] = MEM_BASE + 0x2200;
	return x86_emulate(&ctx, res);
}

static void put_far(struct fake *f, unsigned int at, uint64_t off, unsigned int size, uint16_t sel)
{
	for (unsigned int i = 0; i < size; i++)
		f->mem[at + i] = (uint8_t)(off >> (8 * i));
	f->mem[at + size] = (uint8_t)sel;
	f->mem[at + size + 1] = (uint8_t)(sel >> 8);
}

static void test_far_jmp_call_through_memory(void **st)
{
	static const uint8_t jmpf[] = {0xff, 0x2b}, jmpf_w[] = {0x48, 0xff, 0x2b};
	static const uint8_t callf[] = {0xff, 0x1b};
	struct fake f;
	struct x86_emu_result res;

	(void)st;
	/* 64-bit, m16:32 into the 64-bit code segment. */
	memset(&f, 0, sizeof(f));
	assert_int_equal(run_far(&f, 64, X86_VENDOR_INTEL, jmpf, sizeof(jmpf), &res), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_GP); /* null selector: #GP(0) */
	assert_int_equal(res.exc.error_code, 0);
	put_far(&f, 0x2000, 0x12345678, 4, 0x08);
	f.rip = MEM_BASE;
	{
		struct x86_emu_ctx ctx = {.ops = &ops, .opaque = &f, .rep_batch = 1};

		assert_int_equal(x86_emulate(&ctx, &res), 0);
	}
	assert_int_equal(f.rip, 0x12345678);
	assert_int_equal(f.loaded[X86_SEG_CS].selector, 0x08);
	assert_true(f.loaded[X86_SEG_CS].attr & X86_SEG_ATTR_L);
	/* REX.W: m16:64 on Intel, m16:32 on AMD (the selector follows the 4-byte offset). */
	run_far(&f, 64, X86_VENDOR_INTEL, jmpf_w, sizeof(jmpf_w), &res);
	put_far(&f, 0x2000, 0x0000123400000000ull, 8, 0x08);
	f.rip = MEM_BASE;
	{
		struct x86_emu_ctx ctx = {.ops = &ops, .opaque = &f, .rep_batch = 1};

		assert_int_equal(x86_emulate(&ctx, &res), 0);
		assert_int_equal(f.rip, 0x0000123400000000ull);
		put_far(&f, 0x2000, 0x9abc, 4, 0x08);
		f.rip = MEM_BASE;
		ctx.vendor = X86_VENDOR_AMD;
		assert_int_equal(x86_emulate(&ctx, &res), 0);
		assert_int_equal(f.rip, 0x9abc);
	}
	/* 32-bit far CALL: CS and the return EIP pushed, then the new CS:EIP. */
	memset(&f, 0, sizeof(f));
	run_far(&f, 32, X86_VENDOR_INTEL, callf, sizeof(callf), &res); /* null: #GP(0) */
	assert_int_equal(res.exc.vector, X86_EXC_GP);
	assert_int_equal(f.gpr[X86_RSP], MEM_BASE + 0x2200);
	put_far(&f, 0x2000, 0x1234, 4, 0x08);
	f.rip = MEM_BASE;
	assert_int_equal(run(&f, &res, 1), 0);
	assert_int_equal(f.rip, 0x1234);
	assert_int_equal(f.gpr[X86_RSP], MEM_BASE + 0x2200 - 8);
	assert_int_equal(f.mem[0x2200 - 8], 2); /* return EIP: MEM_BASE + 2 */
	assert_int_equal(f.mem[0x2200 - 6], 1);
	assert_int_equal(f.mem[0x2200 - 4], 0); /* old CS selector (0 in the fake) */
}

static void test_far_branch_faults_and_gates(void **st)
{
	static const uint8_t jmpf[] = {0xff, 0x2b}, retf[] = {0xcb}, retf_imm[] = {0xca, 8, 0};
	struct fake f;
	struct x86_emu_result res;

	(void)st;
	memset(&f, 0, sizeof(f));
	run_far(&f, 32, X86_VENDOR_INTEL, jmpf, sizeof(jmpf), &res);
	put_far(&f, 0x2000, 0x10, 4, 0x10); /* data segment */
	f.rip = MEM_BASE;
	assert_int_equal(run(&f, &res, 1), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_GP);
	assert_int_equal(res.exc.error_code, 0x10);
	put_far(&f, 0x2000, 0x10, 4, 0x40); /* not present */
	f.rip = MEM_BASE;
	assert_int_equal(run(&f, &res, 1), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_NP);
	assert_int_equal(res.exc.error_code, 0x40);
	put_far(&f, 0x2000, 0x10, 4, 0x0b); /* RPL 3 > CPL 0 */
	f.rip = MEM_BASE;
	assert_int_equal(run(&f, &res, 1), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.error_code, 0x08);
	put_far(&f, 0x2000, 0x10, 4, 0x38); /* call gate to 0x08:0 (test_call_gates has more) */
	f.rip = MEM_BASE;
	assert_int_equal(run(&f, &res, 1), 0);
	assert_int_equal(f.rip, 0);
	assert_int_equal(f.loaded[X86_SEG_CS].selector, 0x08);
	/* RETF and RETF imm16 from the stack. */
	run_far(&f, 32, X86_VENDOR_INTEL, retf, sizeof(retf), &res);
	put_far(&f, 0x2200, 0x4321, 4, 0);
	f.mem[0x2204] = 0x08;
	f.rip = MEM_BASE;
	assert_int_equal(run(&f, &res, 1), 0);
	assert_int_equal(f.rip, 0x4321);
	assert_int_equal(f.loaded[X86_SEG_CS].selector, 0x08);
	assert_int_equal(f.gpr[X86_RSP], MEM_BASE + 0x2208);
	run_far(&f, 32, X86_VENDOR_INTEL, retf_imm, sizeof(retf_imm), &res);
	put_far(&f, 0x2200, 0x4321, 4, 0);
	f.mem[0x2204] = 0x08;
	f.rip = MEM_BASE;
	assert_int_equal(run(&f, &res, 1), 0);
	assert_int_equal(f.gpr[X86_RSP], MEM_BASE + 0x2210);
	/* Return to ring 3 through a DPL 0 code segment: #GP(selector), nothing changes. */
	f.mem[0x2204] = 0x0b;
	f.rip = MEM_BASE;
	f.gpr[X86_RSP] = MEM_BASE + 0x2200;
	f.set_seg_calls = 0;
	assert_int_equal(run(&f, &res, 1), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_GP);
	assert_int_equal(res.exc.error_code, 0x08);
	assert_int_equal(f.gpr[X86_RSP], MEM_BASE + 0x2200);
	assert_int_equal(f.set_seg_calls, 0);
}

/* ---- PUSH Sreg and CALL ptr16:xx with the stack on a device page ---- */

static uint64_t mem_at(const struct fake *f, uint64_t la, unsigned int size);

static int run_vendor(struct fake *f, enum x86_vendor vendor, struct x86_emu_result *res)
{
	struct x86_emu_ctx ctx = {.ops = &ops, .opaque = f, .rep_batch = 1, .vendor = vendor};

	return x86_emulate(&ctx, res);
}

/* Push with the stack at MEM_BASE + 0x2200, its bytes below 0xaa; returns the new RSP offset. */
static uint64_t push_sreg_as(struct fake *f, unsigned int mode, enum x86_vendor v,
			     const uint8_t *code, size_t n)
{
	struct x86_emu_result res;

	setup(f, mode, MEM_BASE, code, n);
	for (unsigned int i = 0; i < 6; i++)
		f->sel[i] = (uint16_t)(0x1230 + i);
	memset(f->mem + 0x2200 - 16, 0xaa, 16);
	f->gpr[X86_RSP] = MEM_BASE + 0x2200;
	assert_int_equal(run_vendor(f, v, &res), 0);
	assert_int_equal(f->rip, MEM_BASE + n);
	return f->gpr[X86_RSP] - MEM_BASE;
}

static void test_push_sreg_on_a_device_stack(void **st)
{
	static const uint8_t push_ds[] = {0x1e}, push_cs16[] = {0x66, 0x0e};
	static const uint8_t push_fs[] = {0x0f, 0xa0}, push_gs16[] = {0x66, 0x0f, 0xa8};
	static const uint8_t push_es[] = {0x06}, push_ss[] = {0x16};
	struct fake f;
	struct x86_emu_result res;

	(void)st;
	/* 32-bit operand size: Intel moves 16 bits, AMD stores the selector zero-extended. */
	assert_int_equal(push_sreg_as(&f, 32, X86_VENDOR_INTEL, push_ds, 1), 0x21fc);
	assert_int_equal(mem_at(&f, MEM_BASE + 0x21fc, 4), 0xaaaa1233);
	assert_int_equal(push_sreg_as(&f, 32, X86_VENDOR_AMD, push_ds, 1), 0x21fc);
	assert_int_equal(mem_at(&f, MEM_BASE + 0x21fc, 4), 0x1233);
	assert_int_equal(push_sreg_as(&f, 32, X86_VENDOR_AMD, push_es, 1), 0x21fc);
	assert_int_equal(mem_at(&f, MEM_BASE + 0x21fc, 4), 0x1230);
	assert_int_equal(push_sreg_as(&f, 32, X86_VENDOR_INTEL, push_ss, 1), 0x21fc);
	assert_int_equal(mem_at(&f, MEM_BASE + 0x21fc, 4), 0xaaaa1232);
	assert_int_equal(push_sreg_as(&f, 32, X86_VENDOR_INTEL, push_fs, 2), 0x21fc);
	assert_int_equal(mem_at(&f, MEM_BASE + 0x21fc, 4), 0xaaaa1234);
	/* 16-bit: two bytes on both. */
	for (int v = X86_VENDOR_INTEL; v <= X86_VENDOR_AMD; v++) {
		assert_int_equal(push_sreg_as(&f, 32, (enum x86_vendor)v, push_cs16, 2), 0x21fe);
		assert_int_equal(mem_at(&f, MEM_BASE + 0x21fc, 4), 0x1231aaaa);
		assert_int_equal(push_sreg_as(&f, 64, (enum x86_vendor)v, push_gs16, 3), 0x21fe);
		assert_int_equal(mem_at(&f, MEM_BASE + 0x21fe, 2), 0x1235);
		/* 64-bit: zero-extended on both. */
		assert_int_equal(push_sreg_as(&f, 64, (enum x86_vendor)v, push_fs, 2), 0x21f8);
		assert_int_equal(mem_at(&f, MEM_BASE + 0x21f8, 8), 0x1234);
	}
	/* 06/0E/16/1E are invalid in 64-bit mode. */
	setup(&f, 64, MEM_BASE, push_ds, 1);
	assert_int_equal(run(&f, &res, 1), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_UD);
	/* A stack slot that faults: #PF, RSP and memory unchanged. */
	setup(&f, 32, MEM_BASE, push_fs, 2);
	f.gpr[X86_RSP] = MEM_BASE + 2;
	f.rip = MEM_BASE + 0x100;
	memcpy(f.mem + 0x100, push_fs, 2);
	assert_int_equal(run(&f, &res, 1), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_PF);
	assert_int_equal(f.gpr[X86_RSP], MEM_BASE + 2);
	assert_int_equal(f.writes, 0);
}

static void test_call_far_ptr_on_a_device_stack(void **st)
{
	static const uint8_t call32[] = {0x9a, 0x34, 0x12, 0, 0, 0x08, 0};
	static const uint8_t call16[] = {0x66, 0x9a, 0x78, 0x56, 0x08, 0};
	static const uint8_t call_gate[] = {0x9a, 0x34, 0x12, 0, 0, 0x38, 0};
	static const uint8_t call_null[] = {0x9a, 0x34, 0x12, 0, 0, 0x00, 0};
	struct fake f;
	struct x86_emu_result res;

	(void)st;
	memset(&f, 0, sizeof(f));
	assert_int_equal(run_far(&f, 32, X86_VENDOR_AMD, call32, sizeof(call32), &res), 0);
	assert_int_equal(f.rip, 0x1234);
	assert_int_equal(f.loaded[X86_SEG_CS].selector, 0x08);
	assert_int_equal(f.gpr[X86_RSP], MEM_BASE + 0x2200 - 8);
	assert_int_equal(mem_at(&f, MEM_BASE + 0x21f8, 4), MEM_BASE + sizeof(call32));
	assert_int_equal(mem_at(&f, MEM_BASE + 0x21fc, 4), 0); /* old CS, zero-extended */
	/* ptr16:16: 2-byte slots, IP zero-extended into EIP. */
	assert_int_equal(run_far(&f, 32, X86_VENDOR_INTEL, call16, sizeof(call16), &res), 0);
	assert_int_equal(f.rip, 0x5678);
	assert_int_equal(f.gpr[X86_RSP], MEM_BASE + 0x2200 - 4);
	assert_int_equal(mem_at(&f, MEM_BASE + 0x21fc, 2), (MEM_BASE + sizeof(call16)) & 0xffff);
	/* A null selector: #GP(0), the stack untouched. */
	assert_int_equal(run_far(&f, 32, X86_VENDOR_INTEL, call_null, sizeof(call_null), &res),
			 -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_GP);
	assert_int_equal(res.exc.error_code, 0);
	assert_int_equal(f.gpr[X86_RSP], MEM_BASE + 0x2200);
	/* Through the 32-bit call gate at 0x38 (to 0x08:0): the gate's offset, 4-byte slots. */
	assert_int_equal(run_far(&f, 32, X86_VENDOR_INTEL, call_gate, sizeof(call_gate), &res), 0);
	assert_int_equal(f.rip, 0);
	assert_int_equal(f.loaded[X86_SEG_CS].selector, 0x08);
	assert_int_equal(f.gpr[X86_RSP], MEM_BASE + 0x2200 - 8);
	assert_int_equal(mem_at(&f, MEM_BASE + 0x21f8, 4), MEM_BASE + sizeof(call_gate));
	/* A stack that faults: #PF before CS changes. */
	run_far(&f, 32, X86_VENDOR_INTEL, call32, sizeof(call32), &res);
	f.rip = MEM_BASE;
	f.gpr[X86_RSP] = MEM_BASE + 4;
	f.set_seg_calls = 0;
	f.writes = 0;
	assert_int_equal(run(&f, &res, 1), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_PF);
	assert_int_equal(f.set_seg_calls, 0);
	assert_int_equal(f.writes, 0);
	/* 9A is invalid in 64-bit mode. */
	assert_int_equal(run_far(&f, 64, X86_VENDOR_INTEL, call32, sizeof(call32), &res),
			 -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_UD);
}

/* ---- LLDT / LTR with the selector on a device page ---- */

static const uint8_t sys_gdt[][8] = {
	{0},
	{0xff, 0xff, 0, 0, 0, 0x9b, 0xcf, 0},		/* 0x08 code */
	{0xff, 0, 0x78, 0x56, 0x34, 0x82, 0, 0x12},	/* 0x10 LDT, base 0x12345678 */
	{0x67, 0, 0, 0x10, 0, 0x89, 0, 0},		/* 0x18 available 32-bit TSS */
	{0x67, 0, 0, 0x10, 0, 0x8b, 0, 0},		/* 0x20 busy TSS */
	{0xff, 0, 0, 0, 0, 0x02, 0, 0},			/* 0x28 LDT, not present */
	{0xff, 0xff, 0, 0, 0, 0x92, 0xcf, 0},		/* 0x30 data */
	{0x2b, 0, 0, 0x20, 0, 0x81, 0, 0},		/* 0x38 available 16-bit TSS */
	{0xff, 0, 0x78, 0x56, 0x34, 0x82, 0, 0x12},	/* 0x40 LDT (16 bytes in IA-32e mode) */
	{0x01, 0, 0, 0, 0, 0, 0, 0},			/*      base 63:32 = 1 */
	{0x67, 0, 0, 0x10, 0, 0x89, 0, 0},		/* 0x50 available 64-bit TSS */
	{0},
	{0x67, 0, 0, 0x10, 0, 0x89, 0, 0},		/* 0x60 TSS whose upper type is not 0 */
	{0, 0, 0, 0, 0, 0x09, 0, 0},
};

static int run_lldt_ltr(struct fake *f, unsigned int mode, bool ltr, uint16_t sel,
			struct x86_emu_result *res)
{
	/* lldt [rbx] / ltr [rbx] */
	const uint8_t code[] = {0x0f, 0x00, ltr ? 0x1b : 0x13};
	unsigned int cpl = f->cpl;

	setup(f, mode, MEM_BASE, code, sizeof(code));
	f->cpl = cpl;
	memcpy(f->mem + GDT_OFF, sys_gdt, sizeof(sys_gdt));
	f->sys[X86_SYS_GDTR].base = MEM_BASE + GDT_OFF;
	f->sys[X86_SYS_GDTR].limit = sizeof(sys_gdt) - 1;
	f->gpr[X86_RBX] = MEM_BASE + 0x2000;
	f->mem[0x2000] = (uint8_t)sel;
	f->mem[0x2001] = (uint8_t)(sel >> 8);
	return run(f, res, 1);
}

static void expect_sys_fault(unsigned int mode, bool ltr, uint16_t sel, unsigned int vector,
			     uint32_t ec, unsigned int cpl)
{
	struct x86_emu_result res;
	struct fake f = {.cpl = cpl};

	assert_int_equal(run_lldt_ltr(&f, mode, ltr, sel, &res), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, vector);
	assert_int_equal(res.exc.error_code, ec);
	assert_int_equal(f.set_seg_calls, 0);
	assert_int_equal(f.rip, MEM_BASE);
	assert_int_equal(f.mem[GDT_OFF + 0x18 + 5], 0x89); /* no TSS marked busy */
}

static void test_lldt_ltr_from_memory(void **st)
{
	struct x86_emu_result res;
	struct fake f = {0};

	(void)st;
	assert_int_equal(run_lldt_ltr(&f, 32, false, 0x10, &res), 0);
	assert_int_equal(f.sys[X86_SYS_LDTR].selector, 0x10);
	assert_int_equal(f.sys[X86_SYS_LDTR].base, 0x12345678);
	assert_int_equal(f.sys[X86_SYS_LDTR].limit, 0xff);
	assert_int_equal(f.sys[X86_SYS_LDTR].attr & 0x9f, 0x82);
	assert_int_equal(f.rip, MEM_BASE + 3);
	assert_int_equal(run_lldt_ltr(&f, 32, false, 0x3, &res), 0);
	assert_true(f.sys[X86_SYS_LDTR].attr & X86_SEG_UNUSABLE);

	/* LTR loads TR busy and marks the descriptor busy in the GDT. */
	assert_int_equal(run_lldt_ltr(&f, 32, true, 0x18, &res), 0);
	assert_int_equal(f.sys[X86_SYS_TR].selector, 0x18);
	assert_int_equal(f.sys[X86_SYS_TR].base, 0x1000);
	assert_int_equal(f.sys[X86_SYS_TR].attr & 0x9f, 0x8b);
	assert_int_equal(f.mem[GDT_OFF + 0x18 + 5], 0x8b);
	assert_int_equal(run_lldt_ltr(&f, 32, true, 0x38, &res), 0); /* 16-bit TSS */
	assert_int_equal(f.sys[X86_SYS_TR].attr & 0x9f, 0x83);

	/* IA-32e mode: 16-byte descriptors. */
	assert_int_equal(run_lldt_ltr(&f, 64, false, 0x40, &res), 0);
	assert_int_equal(f.sys[X86_SYS_LDTR].base, 0x112345678ull);
	assert_int_equal(run_lldt_ltr(&f, 64, true, 0x50, &res), 0);
	assert_int_equal(f.mem[GDT_OFF + 0x50 + 5], 0x8b);

	expect_sys_fault(32, false, 0x14, X86_EXC_GP, 0x14, 0);	/* TI: the LDT */
	expect_sys_fault(32, false, 0x30, X86_EXC_GP, 0x30, 0);	/* not an LDT */
	expect_sys_fault(32, false, 0x2b, X86_EXC_NP, 0x28, 0);	/* not present */
	expect_sys_fault(32, false, 0x78, X86_EXC_GP, 0x78, 0);	/* past the GDT */
	expect_sys_fault(32, false, 0x10, X86_EXC_GP, 0, 3);	/* ring 3 */
	expect_sys_fault(32, true, 0, X86_EXC_GP, 0, 0);	/* LTR null */
	expect_sys_fault(32, true, 0x20, X86_EXC_GP, 0x20, 0);	/* busy TSS */
	expect_sys_fault(32, true, 0x10, X86_EXC_GP, 0x10, 0);	/* an LDT */
	expect_sys_fault(64, true, 0x38, X86_EXC_GP, 0x38, 0);	/* 16-bit TSS in IA-32e mode */
	expect_sys_fault(64, true, 0x60, X86_EXC_GP, 0x60, 0);	/* upper type not 0 */
}

/* ---- event delivery onto a device stack (x86_deliver_event) ---- */

#define IDT_OFF	  0x1400u
#define EV_STACK  0x2800u
#define TSS_OFF	  0x1200u
#define EV_RIP	  (MEM_BASE + 0x100)

static void put_gate(struct fake *f, bool ia32e, unsigned int vec, uint16_t sel, uint64_t off,
		     uint8_t type_attr, uint8_t ist)
{
	uint8_t *g = f->mem + IDT_OFF + vec * (ia32e ? 16 : 8);

	memset(g, 0, ia32e ? 16 : 8);
	g[0] = (uint8_t)off;
	g[1] = (uint8_t)(off >> 8);
	g[2] = (uint8_t)sel;
	g[3] = (uint8_t)(sel >> 8);
	g[4] = ist;
	g[5] = type_attr;
	g[6] = (uint8_t)(off >> 16);
	g[7] = (uint8_t)(off >> 24);
	if (ia32e)
		for (unsigned int i = 0; i < 4; i++)
			g[8 + i] = (uint8_t)(off >> (32 + 8 * i));
}

static void setup_event(struct fake *f, unsigned int mode)
{
	setup(f, mode, EV_RIP, (const uint8_t[]){0x90}, 1);
	memcpy(f->mem + GDT_OFF, gdt, sizeof(gdt));
	f->sys[X86_SYS_GDTR].base = MEM_BASE + GDT_OFF;
	f->sys[X86_SYS_GDTR].limit = sizeof(gdt) - 1;
	f->sys[X86_SYS_IDTR].base = MEM_BASE + IDT_OFF;
	f->sys[X86_SYS_IDTR].limit = 32 * (mode == 64 ? 16 : 8) - 1;
	f->gpr[X86_RSP] = MEM_BASE + EV_STACK + 8; /* not 16-byte aligned */
	f->rflags = X86_FL_FIXED | X86_FL_IF | X86_FL_TF;
}

static uint64_t mem_at(const struct fake *f, uint64_t la, unsigned int size)
{
	uint64_t v = 0;

	memcpy(&v, f->mem + (la - MEM_BASE), size);
	return v;
}

static int deliver(struct fake *f, uint8_t vector, uint8_t kind, bool has_ec, uint32_t ec,
		   struct x86_emu_result *res)
{
	struct x86_emu_ctx ctx = {.ops = &ops, .opaque = f};
	struct x86_event ev = {.vector = vector, .kind = kind, .has_error_code = has_ec,
			       .error_code = ec, .insn_len = 2};

	return x86_deliver_event(&ctx, &ev, res);
}

static void test_event_delivery_32bit(void **st)
{
	struct x86_emu_result res;
	struct fake f;
	uint64_t sp;

	(void)st;
	setup_event(&f, 32);
	put_gate(&f, false, 13, 0x20, 0x12345678, 0x8e, 0); /* interrupt gate, CS 0x20 */
	assert_int_equal(deliver(&f, 13, X86_EVENT_HW_EXC, true, 0x18, &res), 0);
	sp = MEM_BASE + EV_STACK + 8 - 16;
	assert_int_equal(f.gpr[X86_RSP], sp);
	assert_int_equal(mem_at(&f, sp, 4), 0x18);
	assert_int_equal(mem_at(&f, sp + 4, 4), EV_RIP);
	assert_int_equal(mem_at(&f, sp + 8, 4), 0); /* the fake's CS selector */
	/* The pushed EFLAGS: as before, with RF for a fault. */
	assert_int_equal(mem_at(&f, sp + 12, 4), X86_FL_FIXED | X86_FL_IF | X86_FL_TF | 0x10000);
	assert_int_equal(f.rip, 0x12345678);
	assert_int_equal(f.rflags, X86_FL_FIXED); /* interrupt gate: IF and TF clear */
	assert_int_equal(f.tf_at_rip_write, 0);	  /* RFLAGS went first: no single-step trap */
	assert_int_equal(f.loaded[X86_SEG_CS].selector, 0x20);

	/* A trap gate keeps IF; INT n returns past the instruction and pushes no RF. */
	setup_event(&f, 32);
	put_gate(&f, false, 0x80, 0x20, 0x1000, 0x8f, 0);
	f.sys[X86_SYS_IDTR].limit = 0x81 * 8 - 1;
	assert_int_equal(deliver(&f, 0x80, X86_EVENT_SOFT_INT, false, 0, &res), 0);
	sp = MEM_BASE + EV_STACK + 8 - 12;
	assert_int_equal(mem_at(&f, sp, 4), EV_RIP + 2);
	assert_int_equal(mem_at(&f, sp + 8, 4), X86_FL_FIXED | X86_FL_IF | X86_FL_TF);
	assert_int_equal(f.rflags, X86_FL_FIXED | X86_FL_IF);
}

static void test_event_delivery_ia32e(void **st)
{
	struct x86_emu_result res;
	struct fake f;
	uint64_t sp;

	(void)st;
	setup_event(&f, 64);
	put_gate(&f, true, 6, 0x08, 0xffffffff80001000ull, 0x8e, 0);
	assert_int_equal(deliver(&f, 6, X86_EVENT_HW_EXC, false, 0, &res), 0);
	sp = MEM_BASE + EV_STACK - 40; /* RSP aligned down to 16 first */
	assert_int_equal(f.gpr[X86_RSP], sp);
	assert_int_equal(mem_at(&f, sp, 8), EV_RIP);
	assert_int_equal(mem_at(&f, sp + 24, 8), MEM_BASE + EV_STACK + 8); /* old RSP */
	assert_int_equal(mem_at(&f, sp + 32, 8), 0);			     /* old SS */
	assert_int_equal(f.rip, 0xffffffff80001000ull);

	/* An IST stack from the 64-bit TSS. */
	setup_event(&f, 64);
	put_gate(&f, true, 14, 0x08, 0x2000, 0x8e, 2);
	f.sys[X86_SYS_TR].base = MEM_BASE + TSS_OFF;
	f.sys[X86_SYS_TR].limit = 0x67;
	f.sys[X86_SYS_TR].selector = 0x40;
	uint64_t ist2 = MEM_BASE + 0x2f08;
	memcpy(f.mem + TSS_OFF + 0x2c, &ist2, 8);
	assert_int_equal(deliver(&f, 14, X86_EVENT_HW_EXC, true, 2, &res), 0);
	assert_int_equal(f.gpr[X86_RSP], MEM_BASE + 0x2f00 - 48);
	assert_int_equal(mem_at(&f, MEM_BASE + 0x2f00 - 48, 8), 2);
	/* #PF is a fault: RF in the pushed RFLAGS. */
	assert_int_equal(mem_at(&f, MEM_BASE + 0x2f00 - 48 + 24, 8) & 0x10000, 0x10000);

	/* IST past the TSS limit: #TS(TR selector | EXT). */
	f.sys[X86_SYS_TR].limit = 0x2b;
	f.gpr[X86_RSP] = MEM_BASE + EV_STACK;
	assert_int_equal(deliver(&f, 14, X86_EVENT_HW_EXC, true, 2, &res), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, 10);
	assert_int_equal(res.exc.error_code, 0x41);
}

static void test_event_delivery_faults(void **st)
{
	struct x86_emu_result res;
	struct fake f;

	(void)st;
	/* Past the IDT limit: #GP(vector * 8 + IDT + EXT). */
	setup_event(&f, 32);
	assert_int_equal(deliver(&f, 40, X86_EVENT_EXT_INTR, false, 0, &res), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_GP);
	assert_int_equal(res.exc.error_code, 40 * 8 + 3);
	/* Not present: #NP. */
	put_gate(&f, false, 13, 0x20, 0x1000, 0x0e, 0);
	assert_int_equal(deliver(&f, 13, X86_EVENT_HW_EXC, true, 0, &res), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_NP);
	assert_int_equal(res.exc.error_code, 13 * 8 + 3);
	/* Every fault-class vector pushes RF, traps and interrupts do not. */
	for (unsigned int v = 0; v < 32; v++) {
		bool fault = v == 0 || v == 5 || v == 6 || v == 7 || (v >= 10 && v <= 14) ||
			     v == 16 || v == 17 || v == 19 || v == 20 || v == 21;

		setup_event(&f, 32);
		put_gate(&f, false, v, 0x20, 0x1000, 0x8e, 0);
		assert_int_equal(deliver(&f, (uint8_t)v, X86_EVENT_HW_EXC, false, 0, &res), 0);
		assert_int_equal(mem_at(&f, f.gpr[X86_RSP] + 8, 4) & 0x10000, fault ? 0x10000 : 0);
	}
	setup_event(&f, 32);
	put_gate(&f, false, 13, 0x20, 0x1000, 0x0e, 0);
	/* INT n through a DPL 0 gate from ring 3: #GP, no EXT. */
	put_gate(&f, false, 13, 0x20, 0x1000, 0x8e, 0);
	f.cpl = 3;
	assert_int_equal(deliver(&f, 13, X86_EVENT_SOFT_INT, false, 0, &res), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.error_code, 13 * 8 + 2);
	/* The same exception from ring 3 needs the inner stack; no TSS: #TS(EXT), nothing
	 * changed (test_event_inner_privilege has the switch itself). */
	assert_int_equal(deliver(&f, 13, X86_EVENT_HW_EXC, true, 0, &res), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, 10);
	assert_int_equal(res.exc.error_code, 1);
	assert_int_equal(f.gpr[X86_RSP], MEM_BASE + EV_STACK + 8);
	f.cpl = 0;
	/* A data segment as the handler's CS: #GP(selector | EXT). */
	put_gate(&f, false, 13, 0x10, 0x1000, 0x8e, 0);
	assert_int_equal(deliver(&f, 13, X86_EVENT_HW_EXC, true, 0, &res), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.error_code, 0x11);
	/* Handler past the code segment's limit: #GP(EXT), checked before the pushes. */
	put_gate(&f, false, 13, 0x20, 0x1000, 0x8e, 0);
	memcpy(f.mem + GDT_OFF + 0x20, (const uint8_t[]){0xff, 0x0f, 0, 0, 0, 0x9b, 0x40, 0}, 8);
	assert_int_equal(deliver(&f, 13, X86_EVENT_HW_EXC, true, 0, &res), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_GP);
	assert_int_equal(res.exc.error_code, 1);
	assert_int_equal(f.writes, 0);
	/* The stack push faults (#PF): nothing committed. */
	put_gate(&f, false, 13, 0x08, 0x1000, 0x8e, 0);
	memcpy(f.mem + GDT_OFF + 0x08, (const uint8_t[]){0xff, 0xff, 0, 0, 0, 0x9b, 0xcf, 0}, 8);
	f.gpr[X86_RSP] = MEM_BASE + 4;
	assert_int_equal(deliver(&f, 13, X86_EVENT_HW_EXC, true, 0, &res), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_PF);
	assert_int_equal(f.gpr[X86_RSP], MEM_BASE + 4);
	assert_int_equal(f.rip, EV_RIP);
	/* A task gate is a task switch, which mhv does not emulate: #GP(TSS selector). */
	f.gpr[X86_RSP] = MEM_BASE + EV_STACK;
	put_gate(&f, false, 13, 0x08, 0, 0x85, 0);
	assert_int_equal(deliver(&f, 13, X86_EVENT_HW_EXC, true, 0, &res), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_GP);
	assert_int_equal(res.exc.error_code, 0x08);
	assert_int_equal(f.gpr[X86_RSP], MEM_BASE + EV_STACK);
}

/* Real mode: the IVT entry, FLAGS/CS/IP as words on SS:SP, no error code, IF TF AC RF clear. */
#define RM_IVT_LIMIT 0x3ffu
#define RM_FLAGS_IN  (X86_FL_FIXED | X86_FL_CF | X86_FL_IF | X86_FL_TF | X86_FL_AC | 0x10000)

static void setup_real_event(struct fake *f, unsigned int vec, uint16_t ip, uint16_t cs)
{
	uint8_t *ent;

	setup_event(f, 16);
	ent = f->mem + IDT_OFF + vec * 4;
	f->real_mode = true;
	f->rip = 0x0100;
	f->sel[X86_SEG_CS] = 0x2000;
	f->sys[X86_SYS_IDTR].limit = RM_IVT_LIMIT;
	f->ss_base = MEM_BASE;
	f->ss_limit = 0xffff;
	f->gpr[X86_RSP] = 0x12340000ull | EV_STACK;
	f->rflags = RM_FLAGS_IN;
	ent[0] = (uint8_t)ip;
	ent[1] = (uint8_t)(ip >> 8);
	ent[2] = (uint8_t)cs;
	ent[3] = (uint8_t)(cs >> 8);
}

static void test_event_delivery_real_mode(void **st)
{
	struct x86_emu_result res;
	struct fake f;

	(void)st;
	/* #GP with an error code from the caller: real mode pushes none. */
	setup_real_event(&f, 13, 0x1234, 0xf000);
	assert_int_equal(deliver(&f, 13, X86_EVENT_HW_EXC, true, 0x18, &res), 0);
	assert_int_equal(f.gpr[X86_RSP], 0x12340000ull | (EV_STACK - 6)); /* only SP moves */
	assert_int_equal(mem_at(&f, MEM_BASE + EV_STACK - 2, 2), RM_FLAGS_IN & 0xffff);
	assert_int_equal(mem_at(&f, MEM_BASE + EV_STACK - 4, 2), 0x2000);
	assert_int_equal(mem_at(&f, MEM_BASE + EV_STACK - 6, 2), 0x0100);
	assert_int_equal(mem_at(&f, MEM_BASE + EV_STACK - 8, 2), 0); /* nothing more */
	assert_int_equal(f.writes, 3);
	assert_int_equal(f.rip, 0x1234);
	assert_int_equal(f.loaded[X86_SEG_CS].selector, 0xf000);
	assert_int_equal(f.loaded[X86_SEG_CS].base, 0xf0000);
	assert_int_equal(f.rflags, X86_FL_FIXED | X86_FL_CF);
	assert_int_equal(f.tf_at_rip_write, 0);

	/* INT 21h returns past the instruction. */
	setup_real_event(&f, 0x21, 0x0040, 0x0070);
	assert_int_equal(deliver(&f, 0x21, X86_EVENT_SOFT_INT, false, 0, &res), 0);
	assert_int_equal(mem_at(&f, MEM_BASE + EV_STACK - 6, 2), 0x0102);
	assert_int_equal(f.loaded[X86_SEG_CS].base, 0x700);
	assert_int_equal(f.rip, 0x0040);

	/* SP 0: the frame goes to the top of the segment, SP wraps. */
	setup_real_event(&f, 13, 0x1234, 0xf000);
	f.ss_base = MEM_BASE + 0x2000 - 0x10000;
	f.gpr[X86_RSP] = 0;
	assert_int_equal(deliver(&f, 13, X86_EVENT_HW_EXC, false, 0, &res), 0);
	assert_int_equal(f.gpr[X86_RSP], 0xfffa);
	assert_int_equal(mem_at(&f, MEM_BASE + 0x1ffe, 2), RM_FLAGS_IN & 0xffff);
	assert_int_equal(mem_at(&f, MEM_BASE + 0x1ffa, 2), 0x0100);

	/* SP 2: FLAGS at offset 0, CS and IP at the top: the pushes wrap one by one. */
	setup_real_event(&f, 13, 0x1234, 0xf000);
	f.low_mapped = true;
	f.ss_base = MEM_BASE - 0xfffc;
	f.gpr[X86_RSP] = 2;
	assert_int_equal(deliver(&f, 13, X86_EVENT_HW_EXC, false, 0, &res), 0);
	assert_int_equal(f.gpr[X86_RSP], 0xfffc);
	assert_int_equal(f.low[4] | f.low[5] << 8, RM_FLAGS_IN & 0xffff);
	assert_int_equal(mem_at(&f, MEM_BASE + 2, 2), 0x2000);
	assert_int_equal(mem_at(&f, MEM_BASE, 2), 0x0100);

	/* SP 1 and 3: a word at offset 0xffff crosses the limit: #SS, no error code, nothing
	 * written (every push is checked first). */
	for (unsigned int sp = 1; sp <= 3; sp += 2) {
		setup_real_event(&f, 13, 0x1234, 0xf000);
		f.low_mapped = true;
		f.ss_base = MEM_BASE - 0xfffc;
		f.gpr[X86_RSP] = sp;
		assert_int_equal(deliver(&f, 13, X86_EVENT_HW_EXC, false, 0, &res),
				 -X86_EMU_EXCEPTION);
		assert_int_equal(res.exc.vector, X86_EXC_SS);
		assert_false(res.exc.has_error_code);
		assert_int_equal(f.writes, 0);
		assert_int_equal(f.gpr[X86_RSP], sp);
		assert_int_equal(f.rip, 0x0100);
		assert_int_equal(f.set_seg_calls, 0);
	}

	/* A smaller SS limit (left from protected mode) holds too. */
	setup_real_event(&f, 13, 0x1234, 0xf000);
	f.ss_limit = 0x0fff;
	f.gpr[X86_RSP] = 0x1002;
	assert_int_equal(deliver(&f, 13, X86_EVENT_HW_EXC, false, 0, &res), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_SS);
	assert_int_equal(f.writes, 0);

	/* The IVT entry past IDTR's limit: #GP without an error code (then #DF by the nesting
	 * rules for a hardware exception), nothing written. */
	setup_real_event(&f, 13, 0x1234, 0xf000);
	f.sys[X86_SYS_IDTR].limit = 13 * 4 + 2;
	assert_int_equal(deliver(&f, 13, X86_EVENT_HW_EXC, false, 0, &res), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_GP);
	assert_false(res.exc.has_error_code);
	assert_int_equal(f.writes, 0);
	f.sys[X86_SYS_IDTR].limit = 13 * 4 + 3;
	assert_int_equal(deliver(&f, 13, X86_EVENT_HW_EXC, false, 0, &res), 0);
}

static void test_event_nested_rules(void **st)
{
	struct x86_event gp = {.vector = X86_EXC_GP, .kind = X86_EVENT_HW_EXC};
	struct x86_event pf_ev = {.vector = X86_EXC_PF, .kind = X86_EVENT_HW_EXC};
	struct x86_event df = {.vector = 8, .kind = X86_EVENT_HW_EXC};
	struct x86_event ud = {.vector = X86_EXC_UD, .kind = X86_EVENT_HW_EXC};
	struct x86_event irq = {.vector = X86_EXC_GP, .kind = X86_EVENT_EXT_INTR};

	(void)st;
	assert_int_equal(x86_event_nested(&gp, X86_EXC_NP), X86_NESTED_DF);
	assert_int_equal(x86_event_nested(&gp, X86_EXC_PF), X86_NESTED_SERIAL);
	assert_int_equal(x86_event_nested(&pf_ev, X86_EXC_PF), X86_NESTED_DF);
	assert_int_equal(x86_event_nested(&pf_ev, X86_EXC_SS), X86_NESTED_DF);
	assert_int_equal(x86_event_nested(&ud, X86_EXC_GP), X86_NESTED_SERIAL);
	assert_int_equal(x86_event_nested(&irq, X86_EXC_GP), X86_NESTED_SERIAL);
	assert_int_equal(x86_event_nested(&df, X86_EXC_PF), X86_NESTED_SHUTDOWN);
	assert_int_equal(x86_event_nested(&df, X86_EXC_GP), X86_NESTED_SHUTDOWN);
}

/* ---- XSAVE / XRSTOR with the area on a device page ---- */

#define XS_OFF 0x1000u

/* The area's bytes before the instruction (copied after setup() clears the fake). */
static uint8_t xs_img[1024];

static int run_xs(struct fake *f, unsigned int mode, bool rstor, uint64_t mask, uint64_t area,
		  struct x86_emu_result *res)
{
	/* xsave [rbx] / xrstor [rbx] (REX.W in 64-bit mode: the 64-bit forms) */
	const uint8_t code64[] = {0x48, 0x0f, 0xae, rstor ? 0x2b : 0x23};
	const uint8_t *code = mode == 64 ? code64 : code64 + 1;

	setup(f, mode, MEM_BASE, code, mode == 64 ? 4 : 3);
	memcpy(f->mem + XS_OFF, xs_img, sizeof(xs_img));
	f->cr4 = X86_CR4_OSXSAVE;
	f->gpr[X86_RBX] = area;
	f->gpr[X86_RAX] = (uint32_t)mask;
	f->gpr[X86_RDX] = mask >> 32;
	return run(f, res, 1);
}

static void test_xsave_on_memory(void **st)
{
	static struct fake f;
	struct x86_emu_result res;
	uint64_t bv;

	(void)st;
	/* All of XCR0: legacy, header XSTATE_BV, AVX; software's bytes and the rest of the
	 * header as memory had them. */
	memset(xs_img, 0x55, 1024);
	assert_int_equal(run_xs(&f, 64, false, ~0ull, MEM_BASE + XS_OFF, &res), 0);
	assert_int_equal(f.rip, MEM_BASE + 4);
	assert_int_equal(f.mem[XS_OFF + 0], 0xa0);
	assert_int_equal(f.mem[XS_OFF + 160], 0xb0);
	assert_int_equal(f.mem[XS_OFF + 400], 0xb0); /* XMM15 in 64-bit mode */
	assert_int_equal(f.mem[XS_OFF + 470], 0x55);
	memcpy(&bv, f.mem + XS_OFF + 512, 8);
	assert_int_equal(bv, (0x5555555555555555ull & ~7ull) | 7);
	assert_int_equal(f.mem[XS_OFF + 530], 0x55);
	assert_int_equal(f.mem[XS_OFF + 600], 0xc0);
	assert_int_equal(f.mem[XS_OFF + 832], 0x55); /* past the area */

	/* EDX:EAX masks it: x87 only. */
	setup(&f, 64, MEM_BASE, (const uint8_t[]){0x90}, 1);
	memset(xs_img, 0x55, 1024);
	assert_int_equal(run_xs(&f, 64, false, 1, MEM_BASE + XS_OFF, &res), 0);
	assert_int_equal(f.mem[XS_OFF + 0], 0xa0);
	assert_int_equal(f.mem[XS_OFF + 160], 0x55);
	assert_int_equal(f.mem[XS_OFF + 600], 0x55);

	/* 32-bit mode: XMM8-15 and their upper halves stay as memory had them. */
	memset(xs_img, 0x55, 1024);
	assert_int_equal(run_xs(&f, 32, false, 7, MEM_BASE + XS_OFF, &res), 0);
	assert_int_equal(f.mem[XS_OFF + 287], 0xb0);
	assert_int_equal(f.mem[XS_OFF + 288], 0x55);
	assert_int_equal(f.mem[XS_OFF + 703], 0xc0);
	assert_int_equal(f.mem[XS_OFF + 704], 0x55);

	/* Faults: not 64-byte aligned, CR4.OSXSAVE clear, CR0.TS, the area's end not mapped. */
	assert_int_equal(run_xs(&f, 64, false, 7, MEM_BASE + XS_OFF + 16, &res),
			 -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_GP);
	assert_int_equal(f.writes, 0);
	setup(&f, 64, MEM_BASE, (const uint8_t[]){0x48, 0x0f, 0xae, 0x23}, 4);
	f.gpr[X86_RBX] = MEM_BASE + XS_OFF;
	assert_int_equal(run(&f, &res, 1), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_UD);
	f.cr4 = X86_CR4_OSXSAVE;
	f.cr0 = X86_CR0_TS;
	assert_int_equal(run(&f, &res, 1), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_NM);
	assert_int_equal(run_xs(&f, 64, false, 7, MEM_BASE + MEM_SIZE - 0x100, &res),
			 -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_PF);
	assert_int_equal(f.writes, 0);
}

/* XSAVEOPT / XSAVEC / XSAVES [rbx] (REX.W: the 64-bit forms) with the guest's features. */
static int run_xs_form(struct fake *f, uint8_t op, uint8_t modrm, uint32_t features, uint64_t mask,
		       uint64_t area, struct x86_emu_result *res)
{
	const uint8_t code[] = {0x48, 0x0f, op, modrm};
	uint64_t xinit = f->xinit;
	struct x86_emu_ctx ctx = {.ops = &ops, .opaque = f, .rep_batch = 1, .features = features};

	setup(f, 64, MEM_BASE, code, sizeof(code));
	f->xinit = xinit;
	memcpy(f->mem + XS_OFF, xs_img, sizeof(xs_img));
	f->cr4 = X86_CR4_OSXSAVE;
	f->gpr[X86_RBX] = area;
	f->gpr[X86_RAX] = (uint32_t)mask;
	f->gpr[X86_RDX] = mask >> 32;
	return x86_emulate(&ctx, res);
}

static void test_xsaveopt_xsavec_on_memory(void **st)
{
	static struct fake f;
	struct x86_emu_result res;
	uint64_t bv, comp;

	(void)st;
	/* XSAVEOPT: AVX initial (XSTATE_BV clear) is not written; x87 and SSE are. */
	memset(xs_img, 0x55, 1024);
	memset(&f, 0, sizeof(f));
	f.xinit = 4;
	assert_int_equal(run_xs_form(&f, 0xae, 0x33, X86_FEAT_XSAVEOPT, 7, MEM_BASE + XS_OFF, &res),
			 0);
	assert_int_equal(f.mem[XS_OFF + 0], 0xa0);
	assert_int_equal(f.mem[XS_OFF + 160], 0xb0);
	assert_int_equal(f.mem[XS_OFF + 600], 0x55);
	memcpy(&bv, f.mem + XS_OFF + 512, 8);
	assert_int_equal(bv & 7, 3);
	/* SSE initial: XMM left as memory had it, MXCSR written all the same. */
	memset(xs_img, 0x55, 1024);
	f.xinit = 2;
	assert_int_equal(run_xs_form(&f, 0xae, 0x33, X86_FEAT_XSAVEOPT, 2, MEM_BASE + XS_OFF, &res),
			 0);
	assert_int_equal(f.mem[XS_OFF + 160], 0x55);
	assert_int_equal(f.mem[XS_OFF + 24], 0x80);
	assert_int_equal(f.mem[XS_OFF + 0], 0x55); /* x87 not in RFBM */
	/* Not in the guest's CPUID: #UD, nothing written. */
	f.writes = 0;
	assert_int_equal(run_xs_form(&f, 0xae, 0x33, 0, 7, MEM_BASE + XS_OFF, &res),
			 -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_UD);
	assert_int_equal(f.writes, 0);

	/* XSAVEC: the CPU's compacted image, XCOMP_BV; an initial component left alone. */
	memset(xs_img, 0x55, 1024);
	f.xinit = 4;
	assert_int_equal(run_xs_form(&f, 0xc7, 0x23, X86_FEAT_XSAVEC, 7, MEM_BASE + XS_OFF, &res), 0);
	assert_int_equal(f.rip, MEM_BASE + 4);
	assert_int_equal(f.mem[XS_OFF + 0], 0xd0);
	assert_int_equal(f.mem[XS_OFF + 160], 0xd1);
	assert_int_equal(f.mem[XS_OFF + 600], 0x55);
	memcpy(&bv, f.mem + XS_OFF + 512, 8);
	memcpy(&comp, f.mem + XS_OFF + 520, 8);
	assert_int_equal(bv, 3);
	assert_int_equal(comp, 7 | (1ull << 63));
	/* Faults: #UD without the feature, #GP(0) not 64-byte aligned, #PF before a write. */
	f.writes = 0;
	assert_int_equal(run_xs_form(&f, 0xc7, 0x23, 0, 7, MEM_BASE + XS_OFF, &res),
			 -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_UD);
	assert_int_equal(run_xs_form(&f, 0xc7, 0x23, X86_FEAT_XSAVEC, 7, MEM_BASE + XS_OFF + 32,
				     &res),
			 -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_GP);
	assert_int_equal(run_xs_form(&f, 0xc7, 0x23, X86_FEAT_XSAVEC, 7,
				     MEM_BASE + MEM_SIZE - 0x100, &res),
			 -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_PF);
	assert_int_equal(f.writes, 0);
}

static void test_xsaves_xrstors_on_memory(void **st)
{
	static struct fake f;
	struct x86_emu_result res;
	uint64_t bv, comp;

	(void)st;
	/* XSAVES: RFBM from XCR0 | IA32_XSS, the supervisor component saved too (compacted). */
	memset(xs_img, 0x55, 1024);
	memset(&f, 0, sizeof(f));
	assert_int_equal(run_xs_form(&f, 0xc7, 0x2b, 0, ~0ull, MEM_BASE + XS_OFF, &res), 0);
	assert_int_equal(f.mem[XS_OFF + 160], 0xd1);
	assert_int_equal(f.mem[XS_OFF + 832], 0xe8);
	assert_int_equal(f.mem[XS_OFF + 896], 0x55); /* past the compacted area */
	memcpy(&bv, f.mem + XS_OFF + 512, 8);
	memcpy(&comp, f.mem + XS_OFF + 520, 8);
	assert_int_equal(bv, 0x107);
	assert_int_equal(comp, 0x107 | (1ull << 63));
	/* XRSTORS from that image: the CPU gets RFBM EDX:EAX & (XCR0 | IA32_XSS). */
	memcpy(xs_img, f.mem + XS_OFF, sizeof(xs_img));
	assert_int_equal(run_xs_form(&f, 0xc7, 0x1b, 0, 0x105, MEM_BASE + XS_OFF, &res), 0);
	assert_int_equal(f.xrstors_calls, 1);
	assert_int_equal(f.xrstors_rfbm, 0x105);
	/* The standard form: the CPU's #GP(0). */
	xs_img[527] = 0;
	assert_int_equal(run_xs_form(&f, 0xc7, 0x1b, 0, ~0ull, MEM_BASE + XS_OFF, &res),
			 -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_GP);
	/* 32-bit mode, a compacted image with SSE in its initial state and no AVX in XCOMP_BV:
	 * XMM8-15 and YMM8-15's upper halves keep their values (the CPU's current ones go into
	 * the image), XMM0-7 become zeros, MXCSR its initial value, both components loaded. */
	memset(xs_img, 0x77, 1024);
	memset(xs_img + 512, 0, 64);
	xs_img[512] = 1;	   /* XSTATE_BV: x87 */
	xs_img[520] = 3;	   /* XCOMP_BV: x87 | SSE */
	xs_img[527] = 0x80;
	setup(&f, 32, MEM_BASE, (const uint8_t[]){0x0f, 0xc7, 0x1b}, 3);
	memcpy(f.mem + XS_OFF, xs_img, sizeof(xs_img));
	f.cr4 = X86_CR4_OSXSAVE;
	f.gpr[X86_RBX] = MEM_BASE + XS_OFF;
	f.gpr[X86_RAX] = 7;
	assert_int_equal(run(&f, &res, 1), 0);
	assert_int_equal(f.xrstors_calls, 1);
	assert_int_equal(f.xrstors_rfbm, 7);
	assert_int_equal(f.xbuf[0], 0x77);   /* x87 from the image */
	assert_int_equal(f.xbuf[160], 0);    /* XMM0: initial */
	assert_int_equal(f.xbuf[288], 0xb0); /* XMM8: the CPU's current value */
	assert_int_equal(f.xbuf[24], 0x80);  /* MXCSR 0x1f80 */
	assert_int_equal(f.xbuf[25], 0x1f);
	assert_int_equal(f.xbuf[576], 0);    /* YMM0 upper: initial */
	assert_int_equal(f.xbuf[704], 0xc0); /* YMM8 upper: current */
	memcpy(&bv, f.xbuf + 512, 8);
	memcpy(&comp, f.xbuf + 520, 8);
	assert_int_equal(bv, 7);
	assert_int_equal(comp, 7 | (1ull << 63));
	/* CPL 3: #GP(0); not in the guest's CPUID: #UD; nothing written. */
	memset(xs_img, 0x55, 1024);
	f.writes = 0;
	f.cpl = 3;
	{
		const uint8_t code[] = {0x48, 0x0f, 0xc7, 0x2b};
		struct x86_emu_ctx ctx = {.ops = &ops, .opaque = &f, .rep_batch = 1};

		setup(&f, 64, MEM_BASE, code, sizeof(code));
		f.cr4 = X86_CR4_OSXSAVE;
		f.gpr[X86_RBX] = MEM_BASE + XS_OFF;
		f.cpl = 3;
		assert_int_equal(x86_emulate(&ctx, &res), -X86_EMU_EXCEPTION);
		assert_int_equal(res.exc.vector, X86_EXC_GP);
		assert_int_equal(res.exc.error_code, 0);
		f.cpl = 0;
		f.no_xsaves = true;
		assert_int_equal(x86_emulate(&ctx, &res), -X86_EMU_EXCEPTION);
		assert_int_equal(res.exc.vector, X86_EXC_UD);
		assert_int_equal(f.writes, 0);
		/* CR0.TS: #NM before the privilege check. */
		f.no_xsaves = false;
		f.cr0 = X86_CR0_TS;
		f.cpl = 3;
		assert_int_equal(x86_emulate(&ctx, &res), -X86_EMU_EXCEPTION);
		assert_int_equal(res.exc.vector, X86_EXC_NM);
	}
}

static void test_xrstor_on_memory(void **st)
{
	static struct fake f;
	struct x86_emu_result res;

	(void)st;
	memset(xs_img, 0, 1024);
	xs_img[512] = 7;
	assert_int_equal(run_xs(&f, 64, true, 5, MEM_BASE + XS_OFF, &res), 0);
	assert_int_equal(f.xrstor_calls, 1);
	assert_int_equal(f.xrstor_rfbm, 5);
	assert_int_equal(f.rip, MEM_BASE + 4);
	/* The CPU refuses a header with XCOMP_BV set in the standard form: #GP(0). */
	memset(xs_img, 0, 1024);
	xs_img[520] = 1;
	assert_int_equal(run_xs(&f, 64, true, 7, MEM_BASE + XS_OFF, &res), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_GP);
	assert_int_equal(f.rip, MEM_BASE);
	/* 32-bit mode: an SSE component in its initial state loads zeros for XMM0-7 with
	 * XSTATE_BV set (XMM8-15 keep the values the CPU has). */
	memset(xs_img, 0x11, 1024);
	memset(xs_img + 512, 0, 64);
	xs_img[512] = 1;
	assert_int_equal(run_xs(&f, 32, true, 3, MEM_BASE + XS_OFF, &res), 0);
	assert_int_equal(f.xbuf[160], 0);
	assert_int_equal(f.xbuf[288], 0xb0);
	assert_int_equal(f.xbuf[512], 3);
}

/* ---- IRET with the stack on a device page ---- */

static const uint8_t iret_gdt[][8] = {
	{0},
	{0xff, 0xff, 0, 0, 0, 0x9b, 0xcf, 0}, /* 0x08 code, DPL 0 */
	{0xff, 0xff, 0, 0, 0, 0x93, 0xcf, 0}, /* 0x10 data, DPL 0 */
	{0xff, 0xff, 0, 0, 0, 0xfb, 0xcf, 0}, /* 0x18 code, DPL 3 */
	{0xff, 0xff, 0, 0, 0, 0xf3, 0xcf, 0}, /* 0x20 data, DPL 3 */
	{0xff, 0xff, 0, 0, 0, 0x1b, 0xcf, 0}, /* 0x28 code, not present */
	{0xff, 0xff, 0, 0, 0, 0x9b, 0xaf, 0}, /* 0x30 64-bit code, DPL 0 */
};

static void setup_iret(struct fake *f, unsigned int mode, const uint64_t *slots, unsigned int n)
{
	const uint8_t code64[] = {0x48, 0xcf};
	unsigned int size = mode == 64 ? 8 : 4, cpl = f->cpl;
	uint64_t rflags = f->rflags ? f->rflags : X86_FL_FIXED;

	setup(f, mode, MEM_BASE, mode == 64 ? code64 : code64 + 1, mode == 64 ? 2 : 1);
	f->cpl = cpl;
	f->rflags = rflags;
	memcpy(f->mem + GDT_OFF, iret_gdt, sizeof(iret_gdt));
	f->sys[X86_SYS_GDTR].base = MEM_BASE + GDT_OFF;
	f->sys[X86_SYS_GDTR].limit = sizeof(iret_gdt) - 1;
	f->gpr[X86_RSP] = MEM_BASE + 0x2000;
	for (unsigned int i = 0; i < n; i++)
		memcpy(f->mem + 0x2000 + i * size, &slots[i], size);
}

static int run_iret(struct fake *f, unsigned int mode, const uint64_t *slots, unsigned int n,
		    struct x86_emu_result *res)
{
	setup_iret(f, mode, slots, n);
	return run(f, res, 1);
}

static void test_iret_from_a_device_stack(void **st)
{
	struct x86_emu_result res;
	static struct fake f;

	(void)st;
	/* Same privilege: EIP, CS, EFLAGS; IF from the image (CPL 0), RSP past the frame. */
	f.rflags = X86_FL_FIXED;
	assert_int_equal(run_iret(&f, 32, (const uint64_t[]){0x1234, 0x08, 0x202 | X86_FL_CF}, 3,
				  &res),
			 0);
	assert_int_equal(f.rip, 0x1234);
	assert_int_equal(f.rflags, 0x202 | X86_FL_CF);
	assert_int_equal(f.gpr[X86_RSP], MEM_BASE + 0x200c);
	assert_int_equal(f.loaded[X86_SEG_CS].selector, 0x08);

	/* To ring 3: SS:ESP popped and loaded, DPL 0 data segments nulled. */
	f = (struct fake){0};
	assert_int_equal(run_iret(&f, 32,
				  (const uint64_t[]){0x4000, 0x1b, 0x3202, 0x5000, 0x23}, 5, &res),
			 0);
	assert_int_equal(f.rip, 0x4000);
	assert_int_equal(f.loaded[X86_SEG_CS].selector, 0x1b);
	assert_int_equal(f.loaded[X86_SEG_SS].selector, 0x23);
	assert_int_equal((f.loaded[X86_SEG_SS].attr >> 5) & 3, 3);
	assert_int_equal(f.gpr[X86_RSP], 0x5000);
	assert_true(f.loaded[X86_SEG_DS].attr & X86_SEG_UNUSABLE);
	assert_int_equal(f.rflags, 0x3202);

	/* From ring 3 (IOPL 0): IF and IOPL stay as they were. */
	f = (struct fake){.cpl = 3, .rflags = X86_FL_FIXED};
	assert_int_equal(run_iret(&f, 32, (const uint64_t[]){0x4000, 0x1b, 0x3202 | X86_FL_ZF}, 3,
				  &res),
			 0);
	assert_int_equal(f.rflags, X86_FL_FIXED | X86_FL_ZF);

	/* IRETQ in 64-bit mode pops SS:RSP at the same privilege too. */
	f = (struct fake){0};
	assert_int_equal(run_iret(&f, 64, (const uint64_t[]){0xffffffff80001000ull, 0x30, 0x2,
							      MEM_BASE + 0x2800, 0x10},
				  5, &res),
			 0);
	assert_int_equal(f.rip, 0xffffffff80001000ull);
	assert_int_equal(f.gpr[X86_RSP], MEM_BASE + 0x2800);
	assert_int_equal(f.loaded[X86_SEG_SS].selector, 0x10);

	/* Faults: a return to an inner ring, a CS not present, a SS of the wrong privilege. */
	f = (struct fake){.cpl = 3};
	assert_int_equal(run_iret(&f, 32, (const uint64_t[]){0x4000, 0x08, 0x2}, 3, &res),
			 -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_GP);
	assert_int_equal(res.exc.error_code, 0x08);
	assert_int_equal(f.gpr[X86_RSP], MEM_BASE + 0x2000);
	f = (struct fake){0};
	assert_int_equal(run_iret(&f, 32, (const uint64_t[]){0x4000, 0x28, 0x2}, 3, &res),
			 -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_NP);
	assert_int_equal(res.exc.error_code, 0x28);
	assert_int_equal(run_iret(&f, 32,
				  (const uint64_t[]){0x4000, 0x1b, 0x2, 0x5000, 0x10}, 5, &res),
			 -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_GP);
	assert_int_equal(res.exc.error_code, 0x10);
	assert_int_equal(f.set_seg_calls, 0);
	/* RETF 8 to ring 3: CS:EIP, 8 bytes skipped, ESP:SS, the new stack moved by 8 too. */
	{
		const uint8_t retf8[] = {0xca, 0x08, 0x00};
		uint64_t slots[] = {0x4000, 0x1b, 0xdead, 0xbeef, 0x5000, 0x23};

		f = (struct fake){0};
		setup(&f, 32, MEM_BASE, retf8, sizeof(retf8));
		memcpy(f.mem + GDT_OFF, iret_gdt, sizeof(iret_gdt));
		f.sys[X86_SYS_GDTR].base = MEM_BASE + GDT_OFF;
		f.sys[X86_SYS_GDTR].limit = sizeof(iret_gdt) - 1;
		f.gpr[X86_RSP] = MEM_BASE + 0x2000;
		for (unsigned int i = 0; i < 6; i++)
			memcpy(f.mem + 0x2000 + i * 4, &slots[i], 4);
		assert_int_equal(run(&f, &res, 1), 0);
		assert_int_equal(f.rip, 0x4000);
		assert_int_equal(f.loaded[X86_SEG_CS].selector, 0x1b);
		assert_int_equal(f.loaded[X86_SEG_SS].selector, 0x23);
		assert_int_equal(f.gpr[X86_RSP], 0x5008);
		assert_true(f.loaded[X86_SEG_DS].attr & X86_SEG_UNUSABLE);
		/* SS of another privilege: #GP(SS selector), nothing changes. */
		f.rip = MEM_BASE;
		f.gpr[X86_RSP] = MEM_BASE + 0x2000;
		f.set_seg_calls = 0;
		f.mem[0x2014] = 0x10;
		assert_int_equal(run(&f, &res, 1), -X86_EMU_EXCEPTION);
		assert_int_equal(res.exc.vector, X86_EXC_GP);
		assert_int_equal(res.exc.error_code, 0x10);
		assert_int_equal(f.set_seg_calls, 0);
	}
	/* A nested-task return is a task switch to the back link: #GP(that selector), nothing
	 * popped; in IA-32e mode #GP(0). */
	f = (struct fake){.rflags = X86_FL_FIXED | (1u << 14)};
	setup_iret(&f, 32, (const uint64_t[]){0x4000, 0x08, 0x2}, 3);
	f.sys[X86_SYS_TR] = (struct x86_segment){.base = MEM_BASE + 0x1200, .limit = 0x67};
	f.mem[0x1200] = 0x4b;
	assert_int_equal(run(&f, &res, 1), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_GP);
	assert_int_equal(res.exc.error_code, 0x48);
	assert_int_equal(f.gpr[X86_RSP], MEM_BASE + 0x2000);
	assert_int_equal(f.set_seg_calls, 0);
	f = (struct fake){.rflags = X86_FL_FIXED | (1u << 14)};
	assert_int_equal(run_iret(&f, 64, (const uint64_t[]){0x4000, 0x30, 0x2, 0x5000, 0x10}, 5,
				  &res),
			 -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_GP);
	assert_int_equal(res.exc.error_code, 0);
}

/* ---- INS / OUTS with the memory on a device page ---- */

static void test_ins_outs_on_memory(void **st)
{
	static struct fake f;
	struct x86_emu_result res;

	(void)st;
	/* rep insb: three bytes from port 0x21 to [RDI], forward. */
	setup(&f, 64, MEM_BASE, (const uint8_t[]){0xf3, 0x6c}, 2);
	f.gpr[X86_RDX] = 0x21;
	f.gpr[X86_RCX] = 3;
	f.gpr[X86_RDI] = MEM_BASE + 0x2000;
	assert_int_equal(run(&f, &res, 8), 0);
	assert_int_equal(f.mem[0x2000], 0xc1);
	assert_int_equal(f.mem[0x2002], 0xc1);
	assert_int_equal(f.mem[0x2003], 0);
	assert_int_equal(f.gpr[X86_RDI], MEM_BASE + 0x2003);
	assert_int_equal(f.gpr[X86_RCX], 0);
	assert_int_equal(f.rip, MEM_BASE + 2);

	/* outsw backwards (DF): [RSI] to the port, RSI - 2. */
	setup(&f, 32, MEM_BASE, (const uint8_t[]){0x66, 0x6f}, 2);
	f.rflags |= X86_FL_DF;
	f.gpr[X86_RDX] = 0x80;
	f.gpr[X86_RSI] = MEM_BASE + 0x2010;
	f.mem[0x2010] = 0x34;
	f.mem[0x2011] = 0x12;
	assert_int_equal(run(&f, &res, 1), 0);
	assert_int_equal(f.port_outs, 1);
	assert_int_equal(f.port_out_last, 0x1234);
	assert_int_equal(f.gpr[X86_RSI], MEM_BASE + 0x200e);

	/* Ring 3 above IOPL: the TSS bitmap decides; a set bit is #GP(0) and no port access. */
	setup(&f, 32, MEM_BASE, (const uint8_t[]){0x6e}, 1);
	f.cpl = 3;
	f.gpr[X86_RDX] = 0x21;
	f.gpr[X86_RSI] = MEM_BASE + 0x2010;
	f.sys[X86_SYS_TR].base = MEM_BASE + 0x1200;
	f.sys[X86_SYS_TR].limit = 0x68 + 8;
	f.mem[0x1200 + 0x66] = 0x68;
	f.mem[0x1200 + 0x68 + 4] = 0x02; /* port 0x21 */
	assert_int_equal(run(&f, &res, 1), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_GP);
	assert_int_equal(f.port_outs, 0);
	f.mem[0x1200 + 0x68 + 4] = 0xfd; /* every port of the byte but 0x21 */
	assert_int_equal(run(&f, &res, 1), 0);
	assert_int_equal(f.port_outs, 1);
	/* A port whose bitmap byte lies past the TSS limit: #GP(0). */
	f.rip = MEM_BASE;
	f.gpr[X86_RDX] = 0x100;
	assert_int_equal(run(&f, &res, 1), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_GP);

	/* insb to a page that faults: #PF before the port is read. */
	setup(&f, 64, MEM_BASE, (const uint8_t[]){0x6c}, 1);
	f.gpr[X86_RDI] = MEM_BASE + MEM_SIZE;
	assert_int_equal(run(&f, &res, 1), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_PF);
}

static void test_pusha_popa_on_a_device_stack(void **st)
{
	static struct fake f;
	struct x86_emu_result res;
	uint32_t slot;

	(void)st;
	/* pushad: EDI at the new ESP, EAX at the top, the original ESP in between. */
	setup(&f, 32, MEM_BASE, (const uint8_t[]){0x60}, 1);
	for (unsigned int i = 0; i < 8; i++)
		f.gpr[i] = 0x1000 + i;
	f.gpr[X86_RSP] = MEM_BASE + 0x2020;
	assert_int_equal(run(&f, &res, 1), 0);
	assert_int_equal(f.gpr[X86_RSP], MEM_BASE + 0x2000);
	memcpy(&slot, f.mem + 0x2000, 4);
	assert_int_equal(slot, 0x1007); /* EDI */
	memcpy(&slot, f.mem + 0x200c, 4);
	assert_int_equal(slot, MEM_BASE + 0x2020); /* ESP as it was */
	memcpy(&slot, f.mem + 0x201c, 4);
	assert_int_equal(slot, 0x1000); /* EAX */
	/* popad: back, the ESP slot skipped. */
	setup(&f, 32, MEM_BASE, (const uint8_t[]){0x61}, 1);
	for (unsigned int i = 0; i < 8; i++)
		memcpy(f.mem + 0x2000 + 4 * i, &(uint32_t){0x2000u + i}, 4);
	f.gpr[X86_RSP] = MEM_BASE + 0x2000;
	assert_int_equal(run(&f, &res, 1), 0);
	assert_int_equal(f.gpr[X86_RDI], 0x2000);
	assert_int_equal(f.gpr[X86_RAX], 0x2007);
	assert_int_equal(f.gpr[X86_RSP], MEM_BASE + 0x2020);
	/* pushaw crossing into a missing page: #PF, nothing written, ESP kept. */
	setup(&f, 32, MEM_BASE, (const uint8_t[]){0x66, 0x60}, 2);
	f.gpr[X86_RSP] = MEM_BASE + 4;
	assert_int_equal(run(&f, &res, 1), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_PF);
	assert_int_equal(f.writes, 0);
	assert_int_equal(f.gpr[X86_RSP], MEM_BASE + 4);
}

/* ---- call gates and inner-privilege stack switches (x86_emu_gate.c) ---- */

static const uint8_t gate_gdt[][8] = {
	{0},
	{0xff, 0xff, 0, 0, 0, 0x9b, 0xcf, 0},	     /* 0x08 code32, DPL 0 */
	{0xff, 0xff, 0, 0, 0, 0x93, 0xcf, 0},	     /* 0x10 data32, DPL 0 */
	{0xff, 0xff, 0, 0, 0, 0xfb, 0xcf, 0},	     /* 0x18 code32, DPL 3 */
	{0xff, 0xff, 0, 0, 0, 0xf3, 0xcf, 0},	     /* 0x20 data32, DPL 3 */
	{0x00, 0x50, 0x08, 0, 2, 0xec, 0, 0},	     /* 0x28 call gate32, DPL 3, 2 params */
	{0x00, 0x60, 0x08, 0, 1, 0xe4, 0x34, 0x12}, /* 0x30 call gate16, DPL 3, 1 param */
	{0x00, 0x70, 0x08, 0, 0, 0x8c, 0, 0},	     /* 0x38 call gate32, DPL 0 */
	{0x00, 0x70, 0x08, 0, 0, 0x6c, 0, 0},	     /* 0x40 call gate32, DPL 3, not present */
	{0x67, 0, 0x00, 0x12, 0x01, 0x89, 0, 0},     /* 0x48 TSS32 at MEM_BASE + 0x1200 */
	{0xff, 0xff, 0, 0, 0, 0x13, 0xcf, 0},	     /* 0x50 data32, DPL 0, not present */
	{0xff, 0xff, 0, 0, 0, 0x9b, 0xaf, 0},	     /* 0x58 code64, DPL 0 */
	{0x00, 0x20, 0x58, 0, 0, 0xec, 0, 0},	     /* 0x60 call gate64, DPL 3, to 0x58: */
	{0x01, 0, 0, 0, 0, 0, 0, 0},		     /*	     offset 0x1_0000_2000 */
	{0, 0, 0x48, 0, 0, 0xe5, 0, 0},		     /* 0x70 task gate, DPL 3 */
};

#define GATE_STACK 0x2800u /* the inner stack the TSS names */

/* FF /3 or /5 [rbx] at CPL cpl, the far pointer at 0x2000, ESP at 0x2200, the TSS ready. */
static int run_gate(struct fake *f, unsigned int mode, unsigned int cpl, bool call, uint16_t sel,
		    struct x86_emu_result *res)
{
	const uint8_t code[] = {0xff, call ? 0x1b : 0x2b};
	uint32_t esp0 = MEM_BASE + GATE_STACK, ss0 = 0x10;
	uint64_t rsp0 = MEM_BASE + GATE_STACK;

	setup(f, mode, MEM_BASE, code, sizeof(code));
	f->cpl = cpl;
	memcpy(f->mem + GDT_OFF, gate_gdt, sizeof(gate_gdt));
	f->sys[X86_SYS_GDTR] = (struct x86_segment){.base = MEM_BASE + GDT_OFF,
						    .limit = sizeof(gate_gdt) - 1};
	f->sys[X86_SYS_TR] = (struct x86_segment){
		.base = MEM_BASE + TSS_OFF, .limit = 0x67, .selector = 0x48, .attr = 0x8b};
	if (mode == 64) {
		memcpy(f->mem + TSS_OFF + 4, &rsp0, 8);
	} else {
		memcpy(f->mem + TSS_OFF + 4, &esp0, 4);
		memcpy(f->mem + TSS_OFF + 8, &ss0, 4);
	}
	f->gpr[X86_RBX] = MEM_BASE + 0x2000;
	f->gpr[X86_RSP] = MEM_BASE + 0x2200;
	memcpy(f->mem + 0x2200, (const uint32_t[]){0x11111111, 0x22222222}, 8);
	put_far(f, 0x2000, 0xdead, 4, sel); /* the offset is not used */
	return run(f, res, 1);
}

static void expect_gate_fault(unsigned int mode, unsigned int cpl, bool call, uint16_t sel,
			      unsigned int vector, uint32_t ec, void (*tweak)(struct fake *))
{
	static struct fake f;
	struct x86_emu_result res;

	run_gate(&f, mode, cpl, call, 0, &res);
	if (tweak)
		tweak(&f);
	put_far(&f, 0x2000, 0xdead, 4, sel);
	f.rip = MEM_BASE;
	f.set_seg_calls = 0;
	f.writes = 0;
	assert_int_equal(run(&f, &res, 1), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, vector);
	assert_int_equal(res.exc.error_code, ec);
	assert_int_equal(f.set_seg_calls, 0);
	assert_int_equal(f.gpr[X86_RSP], MEM_BASE + 0x2200);
	assert_int_equal(f.rip, MEM_BASE);
}

static void tss_ss0_null(struct fake *f)
{
	memset(f->mem + TSS_OFF + 8, 0, 4);
}

static void tss_ss0_absent(struct fake *f)
{
	f->mem[TSS_OFF + 8] = 0x50;
}

static void tss_ss0_code(struct fake *f)
{
	f->mem[TSS_OFF + 8] = 0x08;
}

static void tss_short(struct fake *f)
{
	f->sys[X86_SYS_TR].limit = 8;
}

/* SS0's word inside the TSS, the rest of its dword past the limit. */
static void tss_ss0_slot_cut(struct fake *f)
{
	f->sys[X86_SYS_TR].limit = 0x0a;
}

static void tss_stack_unmapped(struct fake *f)
{
	memcpy(f->mem + TSS_OFF + 4, &(uint32_t){MEM_BASE + 8}, 4);
}

/* ESP0 8 bytes past the last page: the frame's low 16 bytes fit, the rest faults. */
static void tss_stack_crosses_out(struct fake *f)
{
	memcpy(f->mem + TSS_OFF + 4, &(uint32_t){MEM_BASE + MEM_SIZE + 8}, 4);
	memset(f->mem + MEM_SIZE - 16, 0x5a, 16);
}

static void gate64_upper_type(struct fake *f)
{
	f->mem[GDT_OFF + 0x68 + 5] = 0x0c;
}

static void test_call_gates(void **st)
{
	static struct fake f;
	struct x86_emu_result res;
	uint64_t sp = MEM_BASE + GATE_STACK - 24;

	(void)st;
	/* Ring 3 through a 32-bit gate with 2 parameters to ring 0: the TSS's SS0:ESP0; EIP,
	 * CS, the parameters as they were, ESP, SS (lowest address first). */
	assert_int_equal(run_gate(&f, 32, 3, true, 0x2b, &res), 0);
	assert_int_equal(f.rip, 0x5000);
	assert_int_equal(f.gpr[X86_RSP], sp);
	assert_int_equal(mem_at(&f, sp, 4), MEM_BASE + 2);
	assert_int_equal(mem_at(&f, sp + 4, 4), 0); /* old CS (the fake's) */
	assert_int_equal(mem_at(&f, sp + 8, 4), 0x11111111);
	assert_int_equal(mem_at(&f, sp + 12, 4), 0x22222222);
	assert_int_equal(mem_at(&f, sp + 16, 4), MEM_BASE + 0x2200);
	assert_int_equal(mem_at(&f, sp + 20, 4), 0);
	assert_int_equal(f.loaded[X86_SEG_CS].selector, 0x08);
	assert_int_equal(f.loaded[X86_SEG_SS].selector, 0x10);
	assert_int_equal((f.loaded[X86_SEG_SS].attr >> 5) & 3, 0); /* the CPL follows SS */

	/* A 16-bit gate: 2-byte slots, one parameter, the offset's high half ignored. */
	assert_int_equal(run_gate(&f, 32, 3, true, 0x33, &res), 0);
	sp = MEM_BASE + GATE_STACK - 10;
	assert_int_equal(f.rip, 0x6000);
	assert_int_equal(f.gpr[X86_RSP], sp);
	assert_int_equal(mem_at(&f, sp, 2), 2);
	assert_int_equal(mem_at(&f, sp + 4, 2), 0x1111);
	assert_int_equal(mem_at(&f, sp + 6, 2), 0x2200);

	/* Same privilege (CPL 0, DPL 0 code): CS:EIP pushed on the current stack. */
	assert_int_equal(run_gate(&f, 32, 0, true, 0x38, &res), 0);
	assert_int_equal(f.rip, 0x7000);
	assert_int_equal(f.gpr[X86_RSP], MEM_BASE + 0x2200 - 8);
	assert_int_equal(mem_at(&f, MEM_BASE + 0x2200 - 8, 4), MEM_BASE + 2);
	assert_int_equal(f.loaded[X86_SEG_SS].selector, 0); /* SS untouched */
	/* JMP through it: no push. */
	assert_int_equal(run_gate(&f, 32, 0, false, 0x38, &res), 0);
	assert_int_equal(f.rip, 0x7000);
	assert_int_equal(f.gpr[X86_RSP], MEM_BASE + 0x2200);
	assert_int_equal(f.writes, 0);
	assert_int_equal(f.loaded[X86_SEG_CS].selector, 0x08);

	/* IA-32e mode: a 64-bit gate (16 bytes), RSP0, a null SS with RPL 0, 8-byte slots. */
	assert_int_equal(run_gate(&f, 64, 3, true, 0x63, &res), 0);
	sp = MEM_BASE + GATE_STACK - 32;
	assert_int_equal(f.rip, 0x100002000ull);
	assert_int_equal(f.gpr[X86_RSP], sp);
	assert_int_equal(mem_at(&f, sp, 8), MEM_BASE + 2);
	assert_int_equal(mem_at(&f, sp + 16, 8), MEM_BASE + 0x2200);
	assert_int_equal(f.loaded[X86_SEG_CS].selector, 0x58);
	assert_true(f.loaded[X86_SEG_SS].attr & X86_SEG_UNUSABLE);
	assert_int_equal(f.loaded[X86_SEG_SS].selector, 0);

	/* The checks, each leaving everything as it was. */
	expect_gate_fault(32, 3, true, 0x3b, X86_EXC_GP, 0x38, NULL);	/* gate DPL < CPL */
	expect_gate_fault(32, 0, true, 0x3b, X86_EXC_GP, 0x38, NULL);	/* RPL > gate DPL */
	expect_gate_fault(32, 3, true, 0x43, X86_EXC_NP, 0x40, NULL);	/* gate not present */
	expect_gate_fault(32, 3, false, 0x2b, X86_EXC_GP, 0x08, NULL); /* JMP to an inner ring */
	expect_gate_fault(32, 3, true, 0x73, X86_EXC_GP, 0x70, NULL);	/* task gate */
	expect_gate_fault(32, 0, true, 0x48, X86_EXC_GP, 0x48, NULL);	/* TSS */
	expect_gate_fault(32, 3, true, 0x2b, 10, 0, tss_ss0_null);
	expect_gate_fault(32, 3, true, 0x2b, X86_EXC_SS, 0x50, tss_ss0_absent);
	expect_gate_fault(32, 3, true, 0x2b, 10, 0x08, tss_ss0_code);
	expect_gate_fault(32, 3, true, 0x2b, 10, 0x48, tss_short);
	expect_gate_fault(32, 3, true, 0x2b, 10, 0x48, tss_ss0_slot_cut);
	expect_gate_fault(32, 3, true, 0x2b, X86_EXC_PF, 0, tss_stack_unmapped);
	expect_gate_fault(32, 3, true, 0x2b, X86_EXC_PF, 0, tss_stack_crosses_out);
	{
		static struct fake g;
		struct x86_emu_result r2;

		run_gate(&g, 32, 3, true, 0, &r2);
		tss_stack_crosses_out(&g);
		put_far(&g, 0x2000, 0xdead, 4, 0x2b);
		g.rip = MEM_BASE;
		g.sys_writes = 0;
		assert_int_equal(run(&g, &r2, 1), -X86_EMU_EXCEPTION);
		assert_int_equal(r2.exc.cr2, MEM_BASE + MEM_SIZE);
		assert_int_equal(g.sys_writes, 0); /* the first page's part not written */
		assert_int_equal(g.mem[MEM_SIZE - 16], 0x5a);
	}
	expect_gate_fault(64, 3, true, 0x2b, X86_EXC_GP, 0x28, NULL);	/* 32-bit type: 64-bit gate */
	expect_gate_fault(64, 3, true, 0x63, X86_EXC_GP, 0x60, gate64_upper_type);
	expect_gate_fault(64, 3, true, 0x63, 10, 0x48, tss_short);
}

static void setup_inner_event(struct fake *f, unsigned int mode)
{
	uint32_t esp0 = MEM_BASE + GATE_STACK + 8, ss0 = 0x10;
	uint64_t rsp0 = MEM_BASE + GATE_STACK + 8;

	setup_event(f, mode);
	memcpy(f->mem + GDT_OFF, gate_gdt, sizeof(gate_gdt));
	f->sys[X86_SYS_GDTR].limit = sizeof(gate_gdt) - 1;
	f->sys[X86_SYS_TR] = (struct x86_segment){
		.base = MEM_BASE + TSS_OFF, .limit = 0x67, .selector = 0x48, .attr = 0x8b};
	if (mode == 64) {
		memcpy(f->mem + TSS_OFF + 4, &rsp0, 8);
	} else {
		memcpy(f->mem + TSS_OFF + 4, &esp0, 4);
		memcpy(f->mem + TSS_OFF + 8, &ss0, 4);
	}
	f->cpl = 3;
}

/* A 16-bit TSS in TR (SP0 = GATE_STACK + 8, SS0 = 0x50, which becomes a 16-bit data segment
 * with base MEM_BASE) and a 16-bit interrupt gate for #GP to 0x08:0x4000 (the offset's upper
 * half ignored). */
static void setup_tss16_event(struct fake *f)
{
	static const uint8_t data16[8] = {0xff, 0xff, 0, 0, 1, 0x93, 0, 0};

	setup_inner_event(f, 32);
	memcpy(f->mem + GDT_OFF + 0x50, data16, sizeof(data16));
	memset(f->mem + TSS_OFF, 0, 0x2c);
	f->mem[TSS_OFF + 2] = (uint8_t)(GATE_STACK + 8);
	f->mem[TSS_OFF + 3] = (uint8_t)((GATE_STACK + 8) >> 8);
	f->mem[TSS_OFF + 4] = 0x50;
	f->sys[X86_SYS_TR].limit = 0x2b;
	f->sys[X86_SYS_TR].attr = 0x83;
	put_gate(f, false, 13, 0x08, 0x12344000, 0x86, 0);
}

static void test_event_inner_privilege(void **st)
{
	static struct fake f;
	struct x86_emu_result res;
	uint64_t sp;

	(void)st;
	/* Legacy: #GP from ring 3 to a DPL 0 handler: SS0:ESP0, then EC, EIP, CS, EFLAGS,
	 * ESP, SS. */
	setup_inner_event(&f, 32);
	put_gate(&f, false, 13, 0x08, 0x4000, 0x8e, 0);
	assert_int_equal(deliver(&f, 13, X86_EVENT_HW_EXC, true, 0x18, &res), 0);
	sp = MEM_BASE + GATE_STACK + 8 - 24;
	assert_int_equal(f.gpr[X86_RSP], sp);
	assert_int_equal(mem_at(&f, sp, 4), 0x18);
	assert_int_equal(mem_at(&f, sp + 4, 4), EV_RIP);
	assert_int_equal(mem_at(&f, sp + 12, 4), X86_FL_FIXED | X86_FL_IF | X86_FL_TF | 0x10000);
	assert_int_equal(mem_at(&f, sp + 16, 4), MEM_BASE + EV_STACK + 8); /* old ESP */
	assert_int_equal(f.rip, 0x4000);
	assert_int_equal(f.loaded[X86_SEG_CS].selector, 0x08);
	assert_int_equal(f.loaded[X86_SEG_SS].selector, 0x10);
	assert_int_equal(f.rflags, X86_FL_FIXED);
	/* The new SS not present: #SS(SS | EXT), nothing written. */
	setup_inner_event(&f, 32);
	put_gate(&f, false, 13, 0x08, 0x4000, 0x8e, 0);
	f.mem[TSS_OFF + 8] = 0x50;
	assert_int_equal(deliver(&f, 13, X86_EVENT_HW_EXC, true, 0, &res), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_SS);
	assert_int_equal(res.exc.error_code, 0x51);
	assert_int_equal(f.writes + f.set_seg_calls, 0);
	/* A task gate: a task switch mhv does not emulate, #GP(TSS selector). */
	setup_inner_event(&f, 32);
	put_gate(&f, false, 13, 0x48, 0, 0x85, 0);
	assert_int_equal(deliver(&f, 13, X86_EVENT_HW_EXC, true, 0, &res), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_GP);
	assert_int_equal(res.exc.error_code, 0x48);

	/* A 16-bit trap gate at the same privilege: IP, CS, FLAGS in 2-byte slots, IF kept. */
	setup_inner_event(&f, 32);
	f.cpl = 0;
	put_gate(&f, false, 0x21, 0x08, 0x12344567, 0x87, 0);
	f.sys[X86_SYS_IDTR].limit = 0x22 * 8 - 1;
	assert_int_equal(deliver(&f, 0x21, X86_EVENT_EXT_INTR, false, 0, &res), 0);
	sp = MEM_BASE + EV_STACK + 8 - 6;
	assert_int_equal(f.gpr[X86_RSP], sp);
	assert_int_equal(mem_at(&f, sp, 2), EV_RIP & 0xffff);
	assert_int_equal(mem_at(&f, sp + 4, 2), X86_FL_FIXED | X86_FL_IF | X86_FL_TF);
	assert_int_equal(f.rip, 0x4567);
	assert_int_equal(f.rflags, X86_FL_FIXED | X86_FL_IF);

	/* A 16-bit TSS (busy, type 3): SP0 and SS0 are the words at 2 and 4.  #GP(0x18) from
	 * ring 3 through a 16-bit interrupt gate: EC, IP, CS, FLAGS, SP, SS in 2-byte slots on
	 * SS0:SP0, a 16-bit stack (setup_tss16_event). */
	setup_tss16_event(&f);
	assert_int_equal(deliver(&f, 13, X86_EVENT_HW_EXC, true, 0x18, &res), 0);
	sp = MEM_BASE + GATE_STACK + 8 - 12;
	assert_int_equal(f.gpr[X86_RSP] & 0xffff, sp & 0xffff);
	assert_int_equal(mem_at(&f, sp, 2), 0x18);
	assert_int_equal(mem_at(&f, sp + 2, 2), EV_RIP & 0xffff);
	assert_int_equal(mem_at(&f, sp + 6, 2), X86_FL_FIXED | X86_FL_IF | X86_FL_TF);
	assert_int_equal(mem_at(&f, sp + 8, 2), (MEM_BASE + EV_STACK + 8) & 0xffff); /* old SP */
	assert_int_equal(f.rip, 0x4000);
	assert_int_equal(f.loaded[X86_SEG_SS].selector, 0x50);
	assert_int_equal(f.rflags, X86_FL_FIXED);
	/* The same TSS taken as a 32-bit one (a TR reported without its type, as mhv's glue
	 * did) reads SS1 as SS0: #TS(0). */
	setup_tss16_event(&f);
	f.sys[X86_SYS_TR].attr = 0x8b;
	f.sys[X86_SYS_TR].limit = 0x67;
	assert_int_equal(deliver(&f, 13, X86_EVENT_HW_EXC, true, 0x18, &res), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, 10);

	/* IA-32e: RSP0 aligned down to 16, SS:RSP pushed, a null SS with RPL 0 loaded. */
	setup_inner_event(&f, 64);
	put_gate(&f, true, 6, 0x58, 0xffffffff80001000ull, 0x8e, 0);
	assert_int_equal(deliver(&f, 6, X86_EVENT_HW_EXC, false, 0, &res), 0);
	sp = MEM_BASE + GATE_STACK - 40;
	assert_int_equal(f.gpr[X86_RSP], sp);
	assert_int_equal(mem_at(&f, sp, 8), EV_RIP);
	assert_int_equal(mem_at(&f, sp + 24, 8), MEM_BASE + EV_STACK + 8);
	assert_int_equal(f.loaded[X86_SEG_CS].selector, 0x58);
	assert_true(f.loaded[X86_SEG_SS].attr & X86_SEG_UNUSABLE);
	assert_int_equal(f.loaded[X86_SEG_SS].selector, 0);
	/* RSP0 past the TSS limit: #TS(TR | EXT). */
	setup_inner_event(&f, 64);
	put_gate(&f, true, 6, 0x58, 0x1000, 0x8e, 0);
	f.sys[X86_SYS_TR].limit = 8;
	assert_int_equal(deliver(&f, 6, X86_EVENT_HW_EXC, false, 0, &res), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, 10);
	assert_int_equal(res.exc.error_code, 0x49);
}

/* Virtual-8086 mode: to ring 0 on SS0:ESP0 with GS FS DS ES above the frame, VM cleared. */
#define V86_FLAGS (X86_FL_FIXED | X86_FL_IF | X86_FL_TF | X86_FL_VM)

static void setup_v86_event(struct fake *f)
{
	static const uint16_t sels[6] = {[X86_SEG_ES] = 0x1111, [X86_SEG_CS] = 0x2222,
					 [X86_SEG_SS] = 0x3333, [X86_SEG_DS] = 0x4444,
					 [X86_SEG_FS] = 0x5555, [X86_SEG_GS] = 0x6666};

	setup_inner_event(f, 32);
	memcpy(f->sel, sels, sizeof(sels));
	f->rip = 0x0100;
	f->gpr[X86_RSP] = 0x0ffe;
	f->rflags = V86_FLAGS;
	f->sys[X86_SYS_IDTR].limit = 0x22 * 8 - 1;
}

static void test_event_delivery_v86(void **st)
{
	static const unsigned int data_segs[] = {X86_SEG_ES, X86_SEG_DS, X86_SEG_FS, X86_SEG_GS};
	static struct fake f;
	struct x86_emu_result res;
	uint64_t sp = MEM_BASE + GATE_STACK + 8 - 40;

	(void)st;
	setup_v86_event(&f);
	put_gate(&f, false, 13, 0x08, 0x4000, 0x8e, 0);
	assert_int_equal(deliver(&f, 13, X86_EVENT_HW_EXC, true, 0x18, &res), 0);
	assert_int_equal(f.gpr[X86_RSP], sp);
	assert_int_equal(mem_at(&f, sp, 4), 0x18);
	assert_int_equal(mem_at(&f, sp + 4, 4), 0x0100);
	assert_int_equal(mem_at(&f, sp + 8, 4), 0x2222);
	assert_int_equal(mem_at(&f, sp + 12, 4), V86_FLAGS | 0x10000); /* VM, and RF: a fault */
	assert_int_equal(mem_at(&f, sp + 16, 4), 0x0ffe);
	assert_int_equal(mem_at(&f, sp + 20, 4), 0x3333);
	assert_int_equal(mem_at(&f, sp + 24, 4), 0x6666); /* GS */
	assert_int_equal(mem_at(&f, sp + 28, 4), 0x5555); /* FS */
	assert_int_equal(mem_at(&f, sp + 32, 4), 0x4444); /* DS */
	assert_int_equal(mem_at(&f, sp + 36, 4), 0x1111); /* ES */
	assert_int_equal(f.rip, 0x4000);
	assert_int_equal(f.rflags, X86_FL_FIXED);
	assert_int_equal(f.loaded[X86_SEG_CS].selector, 0x08);
	assert_int_equal(f.loaded[X86_SEG_SS].selector, 0x10);
	for (unsigned int i = 0; i < 4; i++) {
		assert_int_equal(f.loaded[data_segs[i]].selector, 0);
		assert_true(f.loaded[data_segs[i]].attr & X86_SEG_UNUSABLE);
	}

	/* No error code: 36 bytes; a trap gate keeps IF. */
	setup_v86_event(&f);
	put_gate(&f, false, 6, 0x08, 0x4000, 0x8f, 0);
	assert_int_equal(deliver(&f, 6, X86_EVENT_HW_EXC, false, 0, &res), 0);
	assert_int_equal(f.gpr[X86_RSP], sp + 4);
	assert_int_equal(mem_at(&f, sp + 4, 4), 0x0100);
	assert_int_equal(mem_at(&f, sp + 36, 4), 0x1111);
	assert_int_equal(f.rflags, X86_FL_FIXED | X86_FL_IF);

	/* A ring-3 handler: #GP(selector | EXT), nothing written or loaded. */
	setup_v86_event(&f);
	put_gate(&f, false, 13, 0x18, 0x4000, 0x8e, 0);
	assert_int_equal(deliver(&f, 13, X86_EVENT_HW_EXC, true, 0, &res), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_GP);
	assert_int_equal(res.exc.error_code, 0x19);
	assert_int_equal(f.writes + f.sys_writes + f.set_seg_calls, 0);
	assert_int_equal(f.rflags, V86_FLAGS);
	/* A ring-1 handler is more privileged, but not ring 0: #GP(selector | EXT) too. */
	f.mem[GDT_OFF + 0x18 + 5] = 0xbb;
	assert_int_equal(deliver(&f, 13, X86_EVENT_HW_EXC, true, 0, &res), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.error_code, 0x19);
	assert_int_equal(f.writes + f.sys_writes + f.set_seg_calls, 0);

	/* INT n is IOPL-sensitive: #GP(0) below IOPL 3; at IOPL 3 it returns past itself. */
	setup_v86_event(&f);
	put_gate(&f, false, 0x21, 0x08, 0x4000, 0xee, 0);
	assert_int_equal(deliver(&f, 0x21, X86_EVENT_SOFT_INT, false, 0, &res), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_GP);
	assert_int_equal(res.exc.error_code, 0);
	assert_int_equal(f.writes + f.sys_writes + f.set_seg_calls, 0);
	f.rflags |= 3u << 12;
	assert_int_equal(deliver(&f, 0x21, X86_EVENT_SOFT_INT, false, 0, &res), 0);
	assert_int_equal(mem_at(&f, sp + 4, 4), 0x0102);
	assert_int_equal(mem_at(&f, sp + 12, 4), V86_FLAGS | 3u << 12); /* no RF for INT n */
	/* INT3 is not IOPL-sensitive, but its gate's DPL must allow ring 3. */
	setup_v86_event(&f);
	put_gate(&f, false, 3, 0x08, 0x4000, 0x8e, 0);
	assert_int_equal(deliver(&f, 3, X86_EVENT_SOFT_EXC, false, 0, &res), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.error_code, 3 * 8 + 2);
	put_gate(&f, false, 3, 0x08, 0x4000, 0xee, 0);
	assert_int_equal(deliver(&f, 3, X86_EVENT_SOFT_EXC, false, 0, &res), 0);
	assert_int_equal(f.rip, 0x4000);
}

/* ---- virtual-8086 mode extensions: INT n redirection, IRET in and to v86 mode ---- */

#define V86_IOMAP    0x88u /* the I/O map base: the redirection bitmap at TSS + 0x68 */
#define V86_VEC	     3u	   /* INT 3 in its two-byte form (CD 03): an INT n */
#define V86_IVT_IP   0x1234u
#define V86_IVT_CS   0x0f00u
#define FL_IOPL3     (3u << 12)
#define FL_VIF	     (1u << 19)
#define FL_VIP	     (1u << 20)
#define FL_NT	     (1u << 14)
#define CR4_VME	     1u

/* VME on, IOPL iopl, the vector's redirection bit redir_bit, the IVT at linear 0, the
 * virtual-8086 stack at MEM_BASE + EV_STACK (SS base MEM_BASE). */
static void setup_vme(struct fake *f, unsigned int iopl, uint64_t extra_flags, bool redir_bit)
{
	setup_v86_event(f);
	f->cr4 = CR4_VME;
	f->rflags = V86_FLAGS | (uint64_t)iopl << 12 | extra_flags;
	f->sys[X86_SYS_TR].limit = V86_IOMAP + 1;
	f->mem[TSS_OFF + 0x66] = V86_IOMAP;
	f->mem[TSS_OFF + 0x68 + V86_VEC / 8] = (uint8_t)(redir_bit ? 1u << (V86_VEC % 8) : 0);
	f->low_mapped = true;
	f->low[V86_VEC * 4] = (uint8_t)V86_IVT_IP;
	f->low[V86_VEC * 4 + 1] = (uint8_t)(V86_IVT_IP >> 8);
	f->low[V86_VEC * 4 + 2] = (uint8_t)V86_IVT_CS;
	f->low[V86_VEC * 4 + 3] = (uint8_t)(V86_IVT_CS >> 8);
	f->ss_base = MEM_BASE;
	f->ss_limit = 0xffff;
	f->gpr[X86_RSP] = 0xabcd0000ull | EV_STACK;
	put_gate(f, false, V86_VEC, 0x08, 0x4000, 0xee, 0);
}

static void expect_redirected(const struct fake *f, uint16_t flags_image, uint64_t rflags)
{
	assert_int_equal(f->gpr[X86_RSP], 0xabcd0000ull | (EV_STACK - 6)); /* SP only */
	assert_int_equal(mem_at(f, MEM_BASE + EV_STACK - 2, 2), flags_image);
	assert_int_equal(mem_at(f, MEM_BASE + EV_STACK - 4, 2), 0x2222); /* CS */
	assert_int_equal(mem_at(f, MEM_BASE + EV_STACK - 6, 2), 0x0102); /* IP past INT n */
	assert_int_equal(f->writes, 3);
	assert_int_equal(f->rip, V86_IVT_IP);
	assert_int_equal(f->loaded[X86_SEG_CS].selector, V86_IVT_CS);
	assert_int_equal(f->loaded[X86_SEG_CS].base, V86_IVT_CS << 4);
	assert_int_equal(f->rflags, rflags);
	assert_int_equal(f->tf_at_rip_write, 0);
}

static void test_v86_int_redirection(void **st)
{
	static struct fake f;
	struct x86_emu_result res;
	const uint64_t base = V86_FLAGS | X86_FL_CF;

	(void)st;
	/* Method 5: IOPL 3, bit clear: FLAGS as they are, IF and TF cleared. */
	setup_vme(&f, 3, X86_FL_CF, false);
	assert_int_equal(deliver(&f, V86_VEC, X86_EVENT_SOFT_INT, false, 0, &res), 0);
	expect_redirected(&f, (uint16_t)(base | FL_IOPL3),
			  (base | FL_IOPL3) & ~(X86_FL_IF | X86_FL_TF));

	/* Method 6: IOPL 0, bit clear: the image shows IOPL 3 and VIF as IF; VIF is cleared,
	 * IF stays. */
	setup_vme(&f, 0, X86_FL_CF | FL_VIF, false);
	assert_int_equal(deliver(&f, V86_VEC, X86_EVENT_SOFT_INT, false, 0, &res), 0);
	expect_redirected(&f, (uint16_t)(base | FL_IOPL3), base & ~X86_FL_TF);
	setup_vme(&f, 1, X86_FL_CF, false); /* VIF clear: IF clear in the image */
	assert_int_equal(deliver(&f, V86_VEC, X86_EVENT_SOFT_INT, false, 0, &res), 0);
	expect_redirected(&f, (uint16_t)((base | FL_IOPL3) & ~X86_FL_IF),
			  (base | 1u << 12) & ~X86_FL_TF);

	/* Method 3: IOPL < 3, bit set: #GP(0), nothing read past the bitmap or written. */
	setup_vme(&f, 2, 0, true);
	assert_int_equal(deliver(&f, V86_VEC, X86_EVENT_SOFT_INT, false, 0, &res),
			 -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_GP);
	assert_int_equal(res.exc.error_code, 0);
	assert_int_equal(f.writes + f.sys_writes + f.set_seg_calls, 0);
	assert_int_equal(f.rflags, V86_FLAGS | 2u << 12);

	/* Method 4: IOPL 3, bit set: the protected-mode handler, as method 1. */
	setup_vme(&f, 3, 0, true);
	assert_int_equal(deliver(&f, V86_VEC, X86_EVENT_SOFT_INT, false, 0, &res), 0);
	assert_int_equal(f.rip, 0x4000);
	assert_int_equal(f.loaded[X86_SEG_CS].selector, 0x08);
	assert_int_equal(f.loaded[X86_SEG_SS].selector, 0x10);
	assert_int_equal(f.rflags & X86_FL_VM, 0);

	/* INT3 (CC) and exceptions are never redirected: through the IDT though the bit is
	 * clear. */
	setup_vme(&f, 0, 0, false);
	assert_int_equal(deliver(&f, V86_VEC, X86_EVENT_SOFT_EXC, false, 0, &res), 0);
	assert_int_equal(f.rip, 0x4000);
	setup_vme(&f, 0, 0, false);
	assert_int_equal(deliver(&f, V86_VEC, X86_EVENT_HW_EXC, false, 0, &res), 0);
	assert_int_equal(f.rip, 0x4000);
	assert_int_equal(f.loaded[X86_SEG_SS].selector, 0x10);

	/* A TSS shorter than 104 bytes, a bitmap byte past its limit: #GP(0). */
	setup_vme(&f, 3, 0, false);
	f.sys[X86_SYS_TR].limit = 0x66;
	assert_int_equal(deliver(&f, V86_VEC, X86_EVENT_SOFT_INT, false, 0, &res),
			 -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_GP);
	assert_int_equal(res.exc.error_code, 0);
	setup_vme(&f, 3, 0, false);
	f.mem[TSS_OFF + 0x66] = 0;
	f.mem[TSS_OFF + 0x67] = 0x02; /* map base 0x200: byte 0x1e0 is past the limit */
	assert_int_equal(deliver(&f, V86_VEC, X86_EVENT_SOFT_INT, false, 0, &res),
			 -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_GP);
	setup_vme(&f, 3, 0, false);
	f.mem[TSS_OFF + 0x66] = 0x10; /* map base below 32: far past any limit */
	assert_int_equal(deliver(&f, V86_VEC, X86_EVENT_SOFT_INT, false, 0, &res),
			 -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_GP);
	assert_int_equal(f.writes + f.set_seg_calls, 0);

	/* The IVT not mapped: its #PF, nothing written. */
	setup_vme(&f, 3, 0, false);
	f.low_mapped = false;
	assert_int_equal(deliver(&f, V86_VEC, X86_EVENT_SOFT_INT, false, 0, &res),
			 -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_PF);
	assert_int_equal(res.exc.cr2, V86_VEC * 4);
	assert_int_equal(f.writes + f.set_seg_calls, 0);

	/* SP 1: the FLAGS word would sit at offset 0xffff: #SS(0) (virtual-8086 mode keeps
	 * error codes), nothing written. */
	setup_vme(&f, 3, 0, false);
	f.gpr[X86_RSP] = 1;
	assert_int_equal(deliver(&f, V86_VEC, X86_EVENT_SOFT_INT, false, 0, &res),
			 -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_SS);
	assert_true(res.exc.has_error_code);
	assert_int_equal(f.writes + f.set_seg_calls, 0);
	assert_int_equal(f.gpr[X86_RSP], 1);
}

/* INT n, INT3, INTO as instructions (the CPU reported the delivery's access as theirs). */
static void test_int_instructions(void **st)
{
	static struct fake f;
	struct x86_emu_result res;
	const uint64_t base = V86_FLAGS | X86_FL_CF;

	(void)st;
	/* INT 3 (CD 03) in virtual-8086 mode with VME, redirected: as the delivery. */
	setup_vme(&f, 3, X86_FL_CF, false);
	f.rip = EV_RIP; /* IP 0x0100 in the 16 bits pushed */
	f.mem[EV_RIP - MEM_BASE] = 0xcd;
	f.mem[EV_RIP - MEM_BASE + 1] = V86_VEC;
	assert_int_equal(run(&f, &res, 1), 0);
	expect_redirected(&f, (uint16_t)(base | FL_IOPL3),
			  (base | FL_IOPL3) & ~(X86_FL_IF | X86_FL_TF));

	/* INT3 (CC) in protected mode through a DPL 3 gate: EIP past the one byte, TF clear
	 * before RIP moves (no single-step trap). */
	setup_event(&f, 32);
	f.mem[EV_RIP - MEM_BASE] = 0xcc;
	put_gate(&f, false, 3, 0x20, 0x5000, 0xee, 0);
	assert_int_equal(run(&f, &res, 1), 0);
	assert_int_equal(f.rip, 0x5000);
	assert_int_equal(mem_at(&f, MEM_BASE + EV_STACK + 8 - 12, 4), EV_RIP + 1);
	assert_int_equal(f.tf_at_rip_write, 0);
	assert_int_equal(f.rflags, X86_FL_FIXED);
	/* A DPL 0 gate from ring 3: #GP(vector * 8 + 2), the instruction's own fault. */
	put_gate(&f, false, 3, 0x20, 0x5000, 0x8e, 0);
	f.cpl = 3;
	f.rip = EV_RIP;
	assert_int_equal(run(&f, &res, 1), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_GP);
	assert_int_equal(res.exc.error_code, 3 * 8 + 2);

	/* INTO without OF: on to the next instruction, nothing pushed. */
	setup_event(&f, 32);
	f.mem[EV_RIP - MEM_BASE] = 0xce;
	assert_int_equal(run(&f, &res, 1), 0);
	assert_int_equal(f.rip, EV_RIP + 1);
	assert_int_equal(f.writes, 0);
}

/* IRET (66 for IRETD) in virtual-8086 mode, the stack at MEM_BASE + 0x2000. */
static int run_v86_iret(struct fake *f, bool o32, uint64_t rflags, uint64_t cr4,
			const uint64_t *slots, struct x86_emu_result *res)
{
	const uint8_t code[] = {0x66, 0xcf};
	unsigned int size = o32 ? 4 : 2;

	setup(f, 16, MEM_BASE, o32 ? code : code + 1, o32 ? 2 : 1);
	f->cpl = 3;
	f->rflags = rflags | X86_FL_VM | X86_FL_FIXED;
	f->cr4 = cr4;
	f->ss_base = MEM_BASE;
	f->ss_limit = 0xffff;
	f->gpr[X86_RSP] = 0x2000;
	for (unsigned int i = 0; i < 3; i++)
		memcpy(f->mem + 0x2000 + i * size, &slots[i], size);
	return run(f, res, 1);
}

/* One instruction in virtual-8086 mode (CPL 3), SS:SP at MEM_BASE + 0x2000 holding top. */
static int run_v86(struct fake *f, const uint8_t *code, size_t n, uint64_t rflags, uint64_t cr4,
		   uint16_t top, struct x86_emu_result *res)
{
	setup(f, 16, MEM_BASE, code, n);
	f->cpl = 3;
	f->rflags = rflags | X86_FL_VM | X86_FL_FIXED;
	f->cr4 = cr4;
	f->ss_base = MEM_BASE;
	f->ss_limit = 0xffff;
	f->gpr[X86_RSP] = 0x2000;
	memcpy(f->mem + 0x2000, &top, sizeof(top));
	return run(f, res, 1);
}

static void test_pushf_popf_v86_vme(void **st)
{
	static const uint8_t pushf[] = {0x9c}, pushfd[] = {0x66, 0x9c}, popf[] = {0x9d};
	static struct fake f;
	struct x86_emu_result res;

	(void)st;
	/* PUSHF, IOPL 0, VME: FLAGS with VIF as IF and IOPL 3. */
	assert_int_equal(run_v86(&f, pushf, 1, FL_VIF | X86_FL_CF, CR4_VME, 0, &res), 0);
	assert_int_equal(f.gpr[X86_RSP], 0x1ffe);
	assert_int_equal(mem_at(&f, MEM_BASE + 0x1ffe, 2),
			 X86_FL_FIXED | X86_FL_CF | FL_IOPL3 | X86_FL_IF);
	assert_int_equal(run_v86(&f, pushf, 1, X86_FL_IF, CR4_VME, 0, &res), 0);
	assert_int_equal(mem_at(&f, MEM_BASE + 0x1ffe, 2), X86_FL_FIXED | FL_IOPL3);
	/* PUSHFD below IOPL 3, or PUSHF without VME: #GP(0), nothing pushed. */
	assert_int_equal(run_v86(&f, pushfd, 2, 0, CR4_VME, 0, &res), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_GP);
	assert_int_equal(run_v86(&f, pushf, 1, 0, 0, 0, &res), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_GP);
	assert_int_equal(f.writes, 0);
	/* IOPL 3: the ordinary image (VM and RF clear). */
	assert_int_equal(run_v86(&f, pushfd, 2, FL_IOPL3 | X86_FL_IF, 0, 0, &res), 0);
	assert_int_equal(mem_at(&f, MEM_BASE + 0x1ffc, 4), X86_FL_FIXED | FL_IOPL3 | X86_FL_IF);

	/* POPF, IOPL 0, VME: VIF from the image's IF; IF and IOPL stay. */
	assert_int_equal(run_v86(&f, popf, 1, X86_FL_CF, CR4_VME,
				 X86_FL_ZF | X86_FL_IF | FL_IOPL3 | FL_NT, &res),
			 0);
	assert_int_equal(f.rflags, X86_FL_VM | X86_FL_FIXED | FL_VIF | X86_FL_ZF | FL_NT);
	assert_int_equal(f.gpr[X86_RSP], 0x2002);
	/* The image's TF, or its IF with VIP set: #GP(0), SP unchanged. */
	assert_int_equal(run_v86(&f, popf, 1, 0, CR4_VME, X86_FL_TF, &res), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_GP);
	assert_int_equal(f.gpr[X86_RSP], 0x2000);
	assert_int_equal(run_v86(&f, popf, 1, FL_VIP, CR4_VME, X86_FL_IF, &res),
			 -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_GP);
	assert_int_equal(run_v86(&f, popf, 1, FL_VIP, CR4_VME, X86_FL_CF, &res), 0);
	assert_int_equal(f.rflags, X86_FL_VM | X86_FL_FIXED | FL_VIP | X86_FL_CF);
}

static void test_iret_in_v86(void **st)
{
	static struct fake f;
	struct x86_emu_result res;
	const uint64_t keep = FL_IOPL3 | FL_VIF | FL_VIP | X86_FL_VM | X86_FL_FIXED;

	(void)st;
	/* IOPL 3, 16-bit: IP, CS, FLAGS; IOPL (not in the image's 0), VM, VIF, VIP kept. */
	assert_int_equal(run_v86_iret(&f, false, FL_IOPL3 | FL_VIF | FL_VIP, 0,
				      (const uint64_t[]){0x0200, 0x3000, 0x4ad5 | X86_FL_IF}, &res),
			 0);
	assert_int_equal(f.rip, 0x0200);
	assert_int_equal(f.loaded[X86_SEG_CS].selector, 0x3000);
	assert_int_equal(f.loaded[X86_SEG_CS].base, 0x30000);
	assert_int_equal(f.gpr[X86_RSP], 0x2006);
	assert_int_equal(f.rflags, keep | 0x4ad5 | X86_FL_IF);
	/* IOPL 3, 32-bit: AC and RF from the image, not VM, IOPL, VIP. */
	assert_int_equal(run_v86_iret(&f, true, FL_IOPL3, 0,
				      (const uint64_t[]){0x0300, 0x4000,
							 X86_FL_AC | 0x10000 | FL_VIP | X86_FL_ZF},
				      &res),
			 0);
	assert_int_equal(f.rip, 0x0300);
	assert_int_equal(f.gpr[X86_RSP], 0x200c);
	assert_int_equal(f.rflags,
			 FL_IOPL3 | X86_FL_VM | X86_FL_FIXED | X86_FL_AC | 0x10000 | X86_FL_ZF);
	/* Below IOPL 3 without VME, or 32-bit with it: #GP(0) before any pop. */
	assert_int_equal(run_v86_iret(&f, false, 2u << 12, 0,
				      (const uint64_t[]){0x0200, 0x3000, 0x0002}, &res),
			 -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_GP);
	assert_int_equal(res.exc.error_code, 0);
	assert_int_equal(f.gpr[X86_RSP], 0x2000);
	assert_int_equal(run_v86_iret(&f, true, 0, CR4_VME,
				      (const uint64_t[]){0x0200, 0x3000, 0x0002}, &res),
			 -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_GP);
	assert_int_equal(f.set_seg_calls, 0);

	/* VME, IOPL 0, 16-bit: IF and IOPL stay, VIF takes the image's IF. */
	assert_int_equal(run_v86_iret(&f, false, X86_FL_CF, CR4_VME,
				      (const uint64_t[]){0x0200, 0x3000,
							 X86_FL_IF | X86_FL_ZF | FL_NT | FL_IOPL3},
				      &res),
			 0);
	assert_int_equal(f.rflags, X86_FL_VM | X86_FL_FIXED | FL_VIF | X86_FL_ZF | FL_NT);
	assert_int_equal(f.loaded[X86_SEG_CS].base, 0x30000);
	assert_int_equal(run_v86_iret(&f, false, X86_FL_IF | FL_VIF, CR4_VME,
				      (const uint64_t[]){0x0200, 0x3000, 0x0002}, &res),
			 0);
	assert_int_equal(f.rflags, X86_FL_VM | X86_FL_FIXED | X86_FL_IF);
	/* VIP set and the image's IF set: #GP(0); VIP with IF clear returns. */
	assert_int_equal(run_v86_iret(&f, false, FL_VIP, CR4_VME,
				      (const uint64_t[]){0x0200, 0x3000, X86_FL_IF}, &res),
			 -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_GP);
	assert_int_equal(f.gpr[X86_RSP], 0x2000);
	assert_int_equal(f.set_seg_calls, 0);
	assert_int_equal(run_v86_iret(&f, false, FL_VIP, CR4_VME,
				      (const uint64_t[]){0x0200, 0x3000, X86_FL_CF}, &res),
			 0);
	assert_int_equal(f.rflags, X86_FL_VM | X86_FL_FIXED | FL_VIP | X86_FL_CF);
	/* The image's TF set: #GP(0). */
	assert_int_equal(run_v86_iret(&f, false, 0, CR4_VME,
				      (const uint64_t[]){0x0200, 0x3000, X86_FL_TF}, &res),
			 -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_GP);
}

static void test_iret_to_v86(void **st)
{
	static const unsigned int segs[] = {X86_SEG_CS, X86_SEG_SS, X86_SEG_ES,
					    X86_SEG_DS, X86_SEG_FS, X86_SEG_GS};
	static const uint64_t frame[] = {0x12345, 0x1000, X86_FL_VM | FL_IOPL3 | FL_VIF |
							      X86_FL_IF | X86_FL_TF | 0x2,
					 0xabcdfffe, 0x2000, 0x3000, 0x4000, 0x5000, 0x6000};
	static struct fake f;
	struct x86_emu_result res;

	(void)st;
	/* CPL 0, 32-bit: EIP CS EFLAGS ESP SS ES DS FS GS; segments the virtual-8086 way. */
	f = (struct fake){0};
	setup_iret(&f, 32, frame, 9);
	assert_int_equal(run(&f, &res, 1), 0);
	assert_int_equal(f.rip, 0x2345); /* the high half of the EIP image dropped */
	assert_int_equal(f.rflags, frame[2]);
	assert_int_equal(f.gpr[X86_RSP], 0xabcdfffe);
	assert_int_equal(f.tf_at_rip_write, 0); /* no trap for the IRET itself */
	for (unsigned int i = 0; i < 6; i++) {
		const struct x86_segment *s = &f.loaded[segs[i]];
		uint16_t sel = (uint16_t)frame[i ? i + 3 : 1];

		assert_int_equal(s->selector, sel);
		assert_int_equal(s->base, (uint64_t)sel << 4);
		assert_int_equal(s->limit, 0xffff);
		assert_int_equal(s->attr, 0xf3);
	}
	/* The frame's last word past SS's limit: #SS(0), nothing loaded. */
	f = (struct fake){0};
	setup_iret(&f, 32, frame, 9);
	f.ss_limit = MEM_BASE + 0x2000 + 34;
	assert_int_equal(run(&f, &res, 1), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_SS);
	assert_int_equal(f.set_seg_calls, 0);
	assert_int_equal(f.gpr[X86_RSP], MEM_BASE + 0x2000);
	/* At CPL 3 the image's VM is ignored: an ordinary return (to ring 3 here). */
	f = (struct fake){.cpl = 3};
	assert_int_equal(run_iret(&f, 32,
				  (const uint64_t[]){0x4000, 0x1b, X86_FL_VM | 0x2}, 3, &res),
			 0);
	assert_int_equal(f.rflags & X86_FL_VM, 0);
	assert_int_equal(f.loaded[X86_SEG_CS].selector, 0x1b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mov_store_and_rip_advance),
		cmocka_unit_test(test_rmw_write_fault_before_read),
		cmocka_unit_test(test_entered_matches_emulate),
		cmocka_unit_test(test_entered_rep_reads_its_writes),
		cmocka_unit_test(test_fetch_crossing_into_missing_page_faults),
		cmocka_unit_test(test_div_by_zero_raises_de_without_changes),
		cmocka_unit_test(test_rep_movs_batches_and_resumes),
		cmocka_unit_test(test_32bit_segment_limit_gp),
		cmocka_unit_test(test_v86_gp_keeps_error_code_real_mode_drops_it),
		cmocka_unit_test(test_unsupported_and_invalid),
		cmocka_unit_test(test_16bit_fetch_from_unmapped_linear_faults),
		cmocka_unit_test(test_movzx_byte_from_mmio),
		cmocka_unit_test(test_shifts_and_rotates_on_memory),
		cmocka_unit_test(test_shift_fault_changes_nothing),
		cmocka_unit_test(test_bsr_from_memory),
		cmocka_unit_test(test_crossing_store_into_fault_writes_nothing),
		cmocka_unit_test(test_alignment_uses_linear_address),
		cmocka_unit_test(test_sgdt_sidt_store_limit_and_base),
		cmocka_unit_test(test_sldt_str_smsw),
		cmocka_unit_test(test_lgdt_lidt_lmsw),
		cmocka_unit_test(test_mov_sreg_loads_descriptor),
		cmocka_unit_test(test_mov_sreg_null_selectors),
		cmocka_unit_test(test_mov_sreg_faults),
		cmocka_unit_test(test_debugger_segment_load),
		cmocka_unit_test(test_mov_cs_is_ud),
		cmocka_unit_test(test_pop_sreg_from_a_device_stack),
		cmocka_unit_test(test_far_jmp_call_through_memory),
		cmocka_unit_test(test_far_branch_faults_and_gates),
		cmocka_unit_test(test_push_sreg_on_a_device_stack),
		cmocka_unit_test(test_call_far_ptr_on_a_device_stack),
		cmocka_unit_test(test_call_ret_on_a_device_stack),
		cmocka_unit_test(test_popf_privilege_and_enter_leave),
		cmocka_unit_test(test_near_branch_66_on_amd_not_emulated),
		cmocka_unit_test(test_crc32_from_memory),
		cmocka_unit_test(test_mmx_moves_on_memory),
		cmocka_unit_test(test_fxsave_fxrstor_on_memory),
		cmocka_unit_test(test_single_step_sees_the_starting_tf),
		cmocka_unit_test(test_write_crossing_into_missing_page_writes_nothing),
		cmocka_unit_test(test_lldt_ltr_from_memory),
		cmocka_unit_test(test_pusha_popa_on_a_device_stack),
		cmocka_unit_test(test_ins_outs_on_memory),
		cmocka_unit_test(test_iret_from_a_device_stack),
		cmocka_unit_test(test_xsave_on_memory),
		cmocka_unit_test(test_xrstor_on_memory),
		cmocka_unit_test(test_xsaveopt_xsavec_on_memory),
		cmocka_unit_test(test_xsaves_xrstors_on_memory),
		cmocka_unit_test(test_event_delivery_32bit),
		cmocka_unit_test(test_event_delivery_ia32e),
		cmocka_unit_test(test_event_delivery_faults),
		cmocka_unit_test(test_event_delivery_real_mode),
		cmocka_unit_test(test_event_nested_rules),
		cmocka_unit_test(test_call_gates),
		cmocka_unit_test(test_event_inner_privilege),
		cmocka_unit_test(test_event_delivery_v86),
		cmocka_unit_test(test_v86_int_redirection),
		cmocka_unit_test(test_iret_in_v86),
		cmocka_unit_test(test_iret_to_v86),
		cmocka_unit_test(test_int_instructions),
		cmocka_unit_test(test_pushf_popf_v86_vme),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
