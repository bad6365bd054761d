/*
 * Unit tests for the XSAVE family outside 64-bit mode and with areas over a page
 * (mmio/x86_emu_xsave.c, mmio/x86_emu_xsave_hidden.c), against a software model of the CPU's
 * 64-bit-mode XSAVE/XSAVEC/XRSTOR: x87, SSE, AVX, AVX-512 (opmask, ZMM_Hi256, Hi16_ZMM at
 * their AMD standard offsets) and an 8 KiB component 18 (AMX TILEDATA's size, 64-byte
 * aligned when compacted), so the standard area is 10,688 bytes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "mmio/x86_emulate.h"

#define MEM_BASE     0x10000ull
#define MEM_SIZE     0x6000u
#define PG	     0x1000u
#define AREA	     (MEM_BASE + 0x1040) /* crosses pages 1, 2 and 3 */
#define XCR0	     ((1ull << 18) | 0xe7)
#define STD_SIZE     10688u
#define SCRATCH	     16384u
#define BV	     512
#define COMP	     520
#define COMPACTED    (1ull << 63)
#define MXCSR	     24
#define FCW_INIT     0x037f
#define MXCSR_INIT   0x1f80

struct model {
	uint64_t gpr[16], rip;
	uint8_t mem[MEM_SIZE];
	uint64_t unmapped_page; /* accesses to this page fault (#PF) */
	unsigned int mode, writes;
	uint32_t cap;
	uint8_t st[STD_SIZE];  /* the CPU's state in the standard form */
	uint64_t xinuse;
	uint8_t scratch[SCRATCH] __attribute__((aligned(64)));
};

static const struct {
	uint32_t off, size;
	bool align64;
} comp_tab[19] = {[2] = {576, 256, false},   [5] = {832, 64, false},
		  [6] = {896, 512, false},   [7] = {1408, 1024, false},
		  [18] = {2496, 8192, true}};

static uint64_t rd64(const uint8_t *b)
{
	uint64_t v;

	memcpy(&v, b, sizeof(v));
	return v;
}

static void wr64(uint8_t *b, uint64_t v)
{
	memcpy(b, &v, sizeof(v));
}

static uint32_t extent(uint64_t c, bool compacted)
{
	uint32_t end = 576;

	for (unsigned int i = 2; i < 19; i++) {
		if (!(c >> i & 1) || !comp_tab[i].size)
			continue;
		if (!compacted) {
			end = end > comp_tab[i].off + comp_tab[i].size ? end
								      : comp_tab[i].off + comp_tab[i].size;
			continue;
		}
		if (comp_tab[i].align64)
			end = (end + 63) & ~63u;
		end += comp_tab[i].size;
	}
	return end;
}

/* Offset of component i in an image of the given form and layout. */
static uint32_t where(unsigned int i, bool compacted, uint64_t layout)
{
	if (!compacted)
		return comp_tab[i].off;
	return extent(layout & ((2ull << i) - 1) & ~3ull, true) - comp_tab[i].size;
}

/* Copy component i between the state and an image (legacy: x87 or XMM0-15). */
static void move(struct model *m, unsigned int i, uint8_t *img, uint32_t at, bool to_img)
{
	static const struct {
		uint32_t off, len;
	} legacy[3] = {{0, 24}, {32, 128}, {160, 256}}; /* x87 (two parts), XMM0-15 */

	if (i >= 2) {
		if (to_img)
			memcpy(img + at, m->st + comp_tab[i].off, comp_tab[i].size);
		else
			memcpy(m->st + comp_tab[i].off, img + at, comp_tab[i].size);
		return;
	}
	for (unsigned int p = i ? 2 : 0; p < (i ? 3u : 2u); p++) {
		if (to_img)
			memcpy(img + legacy[p].off, m->st + legacy[p].off, legacy[p].len);
		else
			memcpy(m->st + legacy[p].off, img + legacy[p].off, legacy[p].len);
	}
}

static void init_comp(struct model *m, unsigned int i)
{
	if (i == 0) {
		memset(m->st, 0, 24);
		memset(m->st + 32, 0, 128);
		m->st[0] = FCW_INIT & 0xff;
		m->st[1] = FCW_INIT >> 8;
	} else if (i == 1) {
		memset(m->st + 160, 0, 256);
	} else {
		memset(m->st + comp_tab[i].off, 0, comp_tab[i].size);
	}
}

static bool valid(uint64_t c)
{
	return c < 19 && (XCR0 >> c & 1);
}

static void cb_xsave(void *o, uint64_t rfbm, bool rex_w)
{
	struct model *m = o;

	(void)rex_w;
	assert_true(extent(rfbm, false) <= m->cap);
	for (unsigned int i = 0; i < 19; i++)
		if (rfbm >> i & 1)
			move(m, i, m->scratch, comp_tab[i].off, true);
	if (rfbm & 6)
		memcpy(m->scratch + MXCSR, m->st + MXCSR, 8);
	wr64(m->scratch + BV, (rd64(m->scratch + BV) & ~rfbm) | (m->xinuse & rfbm));
}

static void cb_xsavec(void *o, uint64_t rfbm, bool rex_w)
{
	struct model *m = o;

	(void)rex_w;
	for (unsigned int i = 0; i < 19; i++)
		if (rfbm >> i & 1 & m->xinuse >> i)
			move(m, i, m->scratch, where(i, true, rfbm), true);
	if (rfbm & m->xinuse & 2)
		memcpy(m->scratch + MXCSR, m->st + MXCSR, 4);
	wr64(m->scratch + BV, rfbm & m->xinuse);
	wr64(m->scratch + COMP, rfbm | COMPACTED);
}

static int gp(struct x86_exception *x)
{
	x->vector = X86_EXC_GP;
	x->has_error_code = true;
	x->error_code = 0;
	return -1;
}

static int cb_xrstor(void *o, uint64_t rfbm, bool rex_w, struct x86_exception *x)
{
	struct model *m = o;
	uint64_t bv = rd64(m->scratch + BV), comp = rd64(m->scratch + COMP);
	bool compacted = comp & COMPACTED;

	(void)rex_w;
	for (unsigned int b = 528; b < 576; b++)
		if (m->scratch[b])
			return gp(x);
	if (bv & ~XCR0 || (compacted ? (bv & ~comp) || (comp & ~COMPACTED & ~XCR0) : comp))
		return gp(x);
	for (unsigned int i = 0; i < 19; i++) {
		if (!(rfbm >> i & 1))
			continue;
		if (bv >> i & 1)
			move(m, i, m->scratch, where(i, compacted, comp), false);
		else
			init_comp(m, i);
	}
	if (compacted ? (rfbm & 2) : (rfbm & 6)) {
		if (!compacted || (bv & 2))
			memcpy(m->st + MXCSR, m->scratch + MXCSR, 4);
		else
			wr64(m->st + MXCSR, MXCSR_INIT);
	}
	m->xinuse = (m->xinuse & ~rfbm) | (bv & rfbm);
	return 0;
}

static uint32_t cb_layout(void *o, unsigned int i, uint32_t *size)
{
	(void)o;
	assert_true(valid(i));
	*size = comp_tab[i].size;
	return comp_tab[i].off;
}

static uint32_t cb_extent(void *o, uint64_t c, bool compacted)
{
	(void)o;
	return extent(c, compacted);
}

static uint8_t *cb_area(void *o, uint32_t *cap, uint64_t *xcr0)
{
	struct model *m = o;

	*cap = m->cap;
	*xcr0 = XCR0;
	return m->scratch;
}

static uint64_t cb_get_reg(void *o, unsigned int r)
{
	struct model *m = o;

	return r < 16 ? m->gpr[r] : r == X86_REG_RIP ? m->rip : X86_FL_FIXED;
}

static void cb_set_reg(void *o, unsigned int r, uint64_t v)
{
	struct model *m = o;

	if (r < 16)
		m->gpr[r] = v;
	else if (r == X86_REG_RIP)
		m->rip = v;
}

static void cb_get_seg(void *o, unsigned int seg, struct x86_segment *s)
{
	struct model *m = o;

	memset(s, 0, sizeof(*s));
	s->limit = 0xffffffffu;
	s->attr = X86_SEG_ATTR_P | X86_SEG_ATTR_S | X86_SEG_ATTR_G | X86_SEG_ATTR_DB | 0x3;
	if (seg == X86_SEG_CS)
		s->attr = X86_SEG_ATTR_P | X86_SEG_ATTR_S | X86_SEG_ATTR_G | 0xb |
			  (m->mode == 64 ? X86_SEG_ATTR_L : X86_SEG_ATTR_DB);
}

static void cb_get_ctl(void *o, struct x86_cpu_ctl *c)
{
	struct model *m = o;

	c->cr0 = X86_CR0_PE;
	c->cr4 = X86_CR4_OSFXSR | X86_CR4_OSXSAVE;
	c->efer = m->mode == 64 ? X86_EFER_LMA : 0;
	c->cpl = 0;
}

static uint8_t *mem(struct model *m, uint64_t la, unsigned int len)
{
	if (la < MEM_BASE || la - MEM_BASE + len > MEM_SIZE || (la & ~(PG - 1ull)) == m->unmapped_page)
		return NULL;
	return m->mem + (la - MEM_BASE);
}

static int pf(struct x86_exception *x, uint64_t la)
{
	x->vector = X86_EXC_PF;
	x->has_error_code = true;
	x->cr2 = la;
	return -1;
}

static int cb_read(void *o, uint64_t la, void *buf, unsigned int len, struct x86_exception *x)
{
	uint8_t *p = mem(o, la, len);

	if (!p)
		return pf(x, la);
	memcpy(buf, p, len);
	return 0;
}

static int cb_write(void *o, uint64_t la, const void *buf, unsigned int len,
		    struct x86_exception *x)
{
	struct model *m = o;
	uint8_t *p = mem(m, la, len);

	if (!p)
		return pf(x, la);
	memcpy(p, buf, len);
	m->writes++;
	return 0;
}

static int cb_probe(void *o, uint64_t la, unsigned int len, bool write, struct x86_exception *x)
{
	(void)write;
	return mem(o, la, len) ? 0 : pf(x, la);
}

static const struct x86_emu_ops ops = {
	.get_reg = cb_get_reg,
	.set_reg = cb_set_reg,
	.get_seg = cb_get_seg,
	.get_ctl = cb_get_ctl,
	.fetch = cb_read,
	.read = cb_read,
	.write = cb_write,
	.probe = cb_probe,
	.xsave_area = cb_area,
	.xsave_extent = cb_extent,
	.xsave = cb_xsave,
	.xrstor = cb_xrstor,
	.xsave_layout = cb_layout,
	.xsavec = cb_xsavec,
};

static void fill(uint8_t *b, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(seed + i * 13 + (i >> 8));
}

/* The model with every component in use, its state a pattern with a valid MXCSR. */
static void setup(struct model *m, unsigned int mode, uint8_t reg, uint8_t op)
{
	memset(m, 0, sizeof(*m));
	m->mode = mode;
	m->cap = SCRATCH;
	m->unmapped_page = ~0ull;
	m->rip = MEM_BASE;
	m->mem[0] = 0x0f; /* 0F op /reg [rbx] */
	m->mem[1] = op;
	m->mem[2] = (uint8_t)(reg << 3 | 3);
	m->gpr[X86_RBX] = AREA;
	m->gpr[X86_RAX] = 0xffffffffu;
	m->gpr[X86_RDX] = 0xffffffffu;
	fill(m->st, STD_SIZE, 0x11);
	wr64(m->st + MXCSR, 0x1f80);
	m->xinuse = XCR0;
	fill(m->mem + (AREA - MEM_BASE), STD_SIZE, 0x77);
}

static int run(struct model *m, struct x86_emu_result *res)
{
	struct x86_emu_ctx ctx = {.ops = &ops, .opaque = m, .features = X86_FEAT_XSAVEC};

	return x86_emulate(&ctx, res);
}

static const uint8_t *area(const struct model *m)
{
	return m->mem + (AREA - MEM_BASE);
}

/* XSAVE in 32-bit mode: all of every component, the registers 8-15/16-31 parts excepted. */
static void test_xsave_32bit_avx512(void **st)
{
	static struct model m, before;
	struct x86_emu_result res;

	(void)st;
	setup(&m, 32, 4, 0xae);
	before = m;
	assert_int_equal(run(&m, &res), 0);
	/* Written: x87, XMM0-7, YMM0-7_H, opmask, ZMM0-7_H, component 18; XSTATE_BV. */
	assert_memory_equal(area(&m) + 160, m.st + 160, 128);
	assert_memory_equal(area(&m) + 576, m.st + 576, 128);
	assert_memory_equal(area(&m) + 832, m.st + 832, 64 + 256);
	assert_memory_equal(area(&m) + 2496, m.st + 2496, 8192);
	assert_int_equal(rd64(area(&m) + BV) & XCR0, XCR0);
	/* As memory had them: XMM8-15, YMM8-15_H, ZMM8-15_H, ZMM16-31. */
	assert_memory_equal(area(&m) + 288, area(&before) + 288, 128);
	assert_memory_equal(area(&m) + 704, area(&before) + 704, 128);
	assert_memory_equal(area(&m) + 1152, area(&before) + 1152, 256);
	assert_memory_equal(area(&m) + 1408, area(&before) + 1408, 1024);

	/* XSAVEC (compacted, RFBM = Hi16_ZMM | component 18): Hi16_ZMM's bytes stay, the
	 * component after it is written at its aligned compacted offset. */
	setup(&m, 32, 4, 0xc7);
	m.gpr[X86_RAX] = (1u << 18) | 0x80;
	m.gpr[X86_RDX] = 0;
	before = m;
	assert_int_equal(run(&m, &res), 0);
	assert_memory_equal(area(&m) + 576, area(&before) + 576, 1024);
	assert_memory_equal(area(&m) + 1600, m.st + 2496, 8192);
	assert_int_equal(rd64(area(&m) + COMP), (1ull << 18) | 0x80 | COMPACTED);
}

/* XRSTOR in 32-bit mode: the hidden registers keep their values, the rest is loaded. */
static void test_xrstor_32bit_avx512(void **st)
{
	static struct model m, before;
	struct x86_emu_result res;
	uint8_t img[STD_SIZE];

	(void)st;
	setup(&m, 32, 5, 0xae);
	memcpy(img, area(&m), STD_SIZE);
	memset(img + 512, 0, 64);
	wr64(img + BV, XCR0);
	wr64(img + MXCSR, 0x1f80);
	memcpy(m.mem + (AREA - MEM_BASE), img, STD_SIZE);
	before = m;
	assert_int_equal(run(&m, &res), 0);
	assert_memory_equal(m.st + 160, img + 160, 128);	 /* XMM0-7 */
	assert_memory_equal(m.st + 288, before.st + 288, 128);	 /* XMM8-15 */
	assert_memory_equal(m.st + 576, img + 576, 128);	 /* YMM0-7_H */
	assert_memory_equal(m.st + 704, before.st + 704, 128);	 /* YMM8-15_H */
	assert_memory_equal(m.st + 832, img + 832, 64 + 256);	 /* k0-7, ZMM0-7_H */
	assert_memory_equal(m.st + 1152, before.st + 1152, 256); /* ZMM8-15_H */
	assert_memory_equal(m.st + 1408, before.st + 1408, 1024); /* ZMM16-31 */
	assert_memory_equal(m.st + 2496, img + 2496, 8192);

	/* ZMM_Hi256 and Hi16_ZMM initial in the image: ZMM0-7_H become zeros, 8-15 and
	 * ZMM16-31 keep their values. */
	setup(&m, 32, 5, 0xae);
	wr64(img + BV, XCR0 & ~0xc0ull);
	memcpy(m.mem + (AREA - MEM_BASE), img, STD_SIZE);
	before = m;
	assert_int_equal(run(&m, &res), 0);
	for (unsigned int i = 896; i < 1152; i++)
		assert_int_equal(m.st[i], 0);
	assert_memory_equal(m.st + 1152, before.st + 1152, 256);
	assert_memory_equal(m.st + 1408, before.st + 1408, 1024);
	/* The same with those registers in their initial state: the image is left alone and
	 * XRSTOR initialises the components (nothing to keep). */
	setup(&m, 32, 5, 0xae);
	memcpy(m.mem + (AREA - MEM_BASE), img, STD_SIZE);
	memset(m.st + 896, 0, 1536);
	m.xinuse &= ~0xc0ull;
	assert_int_equal(run(&m, &res), 0);
	assert_int_equal(m.xinuse & 0xc0, 0);
}

/*
 * A compacted image in 32-bit mode whose XCOMP_BV lacks Hi16_ZMM while ZMM16-31 hold values:
 * the component is inserted (component 18 moves up, 64-byte aligned) and loaded with them.
 */
static void test_xrstor_32bit_compacted_insert(void **st)
{
	static struct model m, before;
	struct x86_emu_result res;
	uint8_t *a;
	uint32_t at18;

	(void)st;
	setup(&m, 32, 5, 0xae);
	a = m.mem + (AREA - MEM_BASE);
	memset(a + 512, 0, 64);
	wr64(a + MXCSR, 0x1f80);
	wr64(a + BV, (1ull << 18) | 0x23);
	wr64(a + COMP, (1ull << 18) | 0x23 | COMPACTED);
	at18 = where(18, true, (1ull << 18) | 0x23);
	fill(a + at18, 8192, 0x5a);
	before = m;
	assert_int_equal(run(&m, &res), 0);
	assert_memory_equal(m.st + 2496, area(&before) + at18, 8192); /* component 18 */
	assert_memory_equal(m.st + 1408, before.st + 1408, 1024);     /* ZMM16-31 kept */
	assert_memory_equal(m.st + 1152, before.st + 1152, 256);      /* ZMM8-15_H kept */
	for (unsigned int i = 896; i < 1152; i++)
		assert_int_equal(m.st[i], 0); /* ZMM0-7_H: initial */
	assert_memory_equal(m.st + 288, before.st + 288, 128);	      /* XMM8-15 kept */
	/* The same with no room for the grown image: not emulated, state untouched. */
	setup(&m, 32, 5, 0xae);
	memcpy(m.mem, before.mem, MEM_SIZE);
	m.cap = extent((1ull << 18) | 0x23, true);
	before = m;
	assert_int_equal(run(&m, &res), -X86_EMU_UNSUPPORTED);
	assert_int_equal(res.exc.vector, X86_EXC_UD);
	assert_memory_equal(m.st, before.st, STD_SIZE);
}

/* An area of 10,688 bytes over four pages in 64-bit mode; every page probed first. */
static void test_xsave_area_over_pages(void **st)
{
	static struct model m, before;
	struct x86_emu_result res;

	(void)st;
	setup(&m, 64, 4, 0xae);
	assert_int_equal(run(&m, &res), 0);
	assert_memory_equal(area(&m) + 288, m.st + 288, 128);
	assert_memory_equal(area(&m) + 1408, m.st + 1408, 1024);
	assert_memory_equal(area(&m) + 2496, m.st + 2496, 8192);
	/* The last page faults: #PF at it, nothing written. */
	setup(&m, 64, 4, 0xae);
	m.unmapped_page = (AREA + STD_SIZE - 1) & ~(PG - 1ull);
	before = m;
	assert_int_equal(run(&m, &res), -X86_EMU_EXCEPTION);
	assert_int_equal(res.exc.vector, X86_EXC_PF);
	assert_int_equal(res.exc.cr2, m.unmapped_page);
	assert_int_equal(m.writes, 0);
	assert_memory_equal(m.mem, before.mem, MEM_SIZE);
	/* XRSTOR of it loads component 18 from pages 2-3. */
	setup(&m, 64, 5, 0xae);
	memset(m.mem + (AREA - MEM_BASE) + 512, 0, 64);
	wr64(m.mem + (AREA - MEM_BASE) + MXCSR, 0x1f80);
	wr64(m.mem + (AREA - MEM_BASE) + BV, XCR0);
	assert_int_equal(run(&m, &res), 0);
	assert_memory_equal(m.st + 2496, area(&m) + 2496, 8192);
	/* A scratch buffer smaller than the area: not emulated (#UD + log), nothing written. */
	setup(&m, 64, 4, 0xae);
	m.cap = 4096;
	assert_int_equal(run(&m, &res), -X86_EMU_UNSUPPORTED);
	assert_int_equal(res.exc.vector, X86_EXC_UD);
	assert_int_equal(m.writes, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xsave_32bit_avx512),
		cmocka_unit_test(test_xrstor_32bit_avx512),
		cmocka_unit_test(test_xrstor_32bit_compacted_insert),
		cmocka_unit_test(test_xsave_area_over_pages),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
