/*
 * Differential test of the XSAVE family (mmio/x86_emu_xsave*.c) against the host CPU, in
 * 64-bit mode and in compatibility mode, with every user component the host's XCR0 enables
 * (AVX-512's opmask, ZMM_Hi256 and Hi16_ZMM where it has them).
 *
 * A case is an initial register state (a random standard-form image with a random
 * XSTATE_BV), a random data region (three pages, the area anywhere 64-byte aligned in it, so
 * it crosses pages), a random instruction mask and, for XRSTOR, a random image with a random
 * header (standard or compacted; one in 16 with a header the CPU refuses).  Natively a stub
 * loads the state (XRSTOR64), runs the instruction (compatibility mode: far-called through
 * Linux's 32-bit user code segment) and saves the state after it (XSAVE64).  The emulator
 * runs the same instruction on a copy of the region with callbacks that do what mhv's do:
 * the real instruction in 64-bit mode on a scratch buffer, with the case's state loaded.
 * The region, the register state after (components XSTATE_BV leaves initial compared as
 * their initial values: XRSTOR may leave XINUSE set or clear, SDM vol.1 13.8.1) and the
 * exception vector must match.  Legacy 32-bit protected mode runs the emulator's same code
 * (its mode is X86_MODE_32 for both); a Linux process cannot run it natively.
 *
 * Not covered: PKRU (a random PKRU would deny the process its own pages), AMX (XFD: Linux
 * arms it until a process asks), XSAVES/XRSTORS (CPL 0; diff_emulate checks their #GP).
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#include "mmio/x86_emulate.h"

#define STATE_ADDR    0x11000000ul /* host state, case state before/after, far pointer */
#define HOST_IMG      (STATE_ADDR + 0x0000)
#define INIT_IMG      (STATE_ADDR + 0x4000)
#define FINAL_IMG     (STATE_ADDR + 0x8000)
#define FAR_PTR	      (STATE_ADDR + 0xc000)
#define STATE_SIZE    0x10000u
#define IMG_MAX	      0x4000u
#define DATA_ADDR     0x21000000ul
#define DATA_SIZE     0x3000u
#define STACK_ADDR    0x22000000ul /* the compatibility-mode stack */
#define CODE_ADDR     0x31000000ul
#define PG	      0x1000u
#define COMPAT_CODE   0x800u /* code page offset of the 32-bit code */
#define USER32_CS     0x23u  /* Linux's __USER32_CS */
#define CASES	      400u
#define MAX_REPORT    12
#define NO_VEC	      0xffu
#define XSTATE_BV_OFF 512
#define XCOMP_BV_OFF  520
#define HEADER_END    576
#define LEGACY_SW     464 /* bytes 464-511: software's */
#define MXCSR_OFF     24
#define MXCSR_MASK_OFF 28
#define X87_ST0	      32
#define SSE_XMM0      160
#define SSE_END	      416
#define FCW_INIT      0x037f
#define COMPACTED     (1ull << 63)
#define COMP_PKRU     9
#define AMX_COMPONENTS (3ull << 17)
#define LEAF_XSAVE    0xd
#define CPUID1_ECX_OSXSAVE (1u << 27)
#define ALIGN64	      (1u << 1) /* CPUID.(0xD,i).ECX: 64-byte aligned when compacted */

static uint8_t *const code = (uint8_t *)CODE_ADDR;
static uint8_t *const data = (uint8_t *)DATA_ADDR;
static uint64_t user_mask;  /* the components tested: XCR0 without PKRU and AMX */
static uint64_t host_xcr0;
static uint32_t mxcsr_mask, std_size, host_features;
static enum x86_vendor host_vendor;
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static sigjmp_buf *fault_jb;
static volatile int fault_vec;
static unsigned long n_cases, n_faults, n_bad, n_report, n_retried;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void on_fault(int sig, siginfo_t *si, void *uc_)
{
	ucontext_t *uc = uc_;

	(void)sig;
	(void)si;
	fault_vec = (int)uc->uc_mcontext.gregs[REG_TRAPNO];
	siglongjmp(*fault_jb, 1);
}

/* The host's own extended state back after a fault left the case's (or the kernel's). */
static void host_state_back(void)
{
	uint32_t lo = (uint32_t)user_mask, hi = (uint32_t)(user_mask >> 32);

	asm volatile("xrstor64 (%0)" ::"r"(HOST_IMG), "a"(lo), "d"(hi) : "memory");
}

/* ---- the CPU's layout (CPUID leaf 0xD), as mhv's core/mmio_xsave.c reads it ---- */

static uint32_t layout(unsigned int i, uint32_t *size)
{
	unsigned int a, b, c, d;

	__cpuid_count(LEAF_XSAVE, i, a, b, c, d);
	*size = a;
	return b;
}

static uint32_t extent(uint64_t comp, bool compacted)
{
	uint32_t end = HEADER_END;

	for (unsigned int i = 2; i < 63; i++) {
		unsigned int a, b, c, d;

		if (!(comp >> i & 1))
			continue;
		__cpuid_count(LEAF_XSAVE, i, a, b, c, d);
		if (!compacted) {
			end = end > b + a ? end : b + a;
			continue;
		}
		if (c & ALIGN64)
			end = (end + 63) & ~63u;
		end += a;
	}
	return end;
}

/* ---- the emulator's side: the case's state in a standard-form image ---- */

static uint8_t guest_img[IMG_MAX] __attribute__((aligned(64)));
static uint8_t scratch[IMG_MAX] __attribute__((aligned(64)));

struct emu_state {
	uint64_t gpr[16], rip, rflags;
	uint8_t mem[DATA_SIZE];
	bool compat;
};

enum cpu_op { OP_XSAVE, OP_XSAVE64, OP_XSAVEC, OP_XSAVEC64, OP_XRSTOR, OP_XRSTOR64 };

/*
 * Load the case's state, run op on the scratch buffer with rfbm, save the state after it,
 * and put the host's back: all in one asm statement, so no compiled code runs in between.
 */
#define ON_CASE_STATE(insn)                                                                     \
	asm volatile("mov %[all_lo], %%eax; mov %[all_hi], %%edx\n\t"                           \
		     "xsave64 %[host]\n\t"                                                       \
		     "xrstor64 %[img]\n\t"                                                       \
		     "mov %[lo], %%eax; mov %[hi], %%edx\n\t" insn " %[scr]\n\t"                 \
		     "mov %[all_lo], %%eax; mov %[all_hi], %%edx\n\t"                            \
		     "xsave64 %[img]\n\t"                                                        \
		     "xrstor64 %[host]\n\t"                                                      \
		     : [img] "+m"(guest_img), [scr] "+m"(scratch)                                \
		     : [host] "m"(*(uint8_t(*)[IMG_MAX])HOST_IMG), [lo] "r"((uint32_t)rfbm),    \
		       [hi] "r"((uint32_t)(rfbm >> 32)), [all_lo] "r"((uint32_t)user_mask),     \
		       [all_hi] "r"((uint32_t)(user_mask >> 32))                                \
		     : "rax", "rdx", "memory")

static int cpu_run(enum cpu_op op, uint64_t rfbm, struct x86_exception *x)
{
	sigjmp_buf jb;

	fault_jb = &jb;
	if (sigsetjmp(jb, 1)) {
		host_state_back();
		x->vector = (uint8_t)fault_vec;
		x->has_error_code = true;
		x->error_code = 0;
		return -1;
	}
	switch (op) {
	case OP_XSAVE: ON_CASE_STATE("xsave"); break;
	case OP_XSAVE64: ON_CASE_STATE("xsave64"); break;
	case OP_XSAVEC: ON_CASE_STATE("xsavec"); break;
	case OP_XSAVEC64: ON_CASE_STATE("xsavec64"); break;
	case OP_XRSTOR: ON_CASE_STATE("xrstor"); break;
	case OP_XRSTOR64: ON_CASE_STATE("xrstor64"); break;
	}
	return 0;
}

static uint64_t cb_get_reg(void *o, unsigned int r)
{
	struct emu_state *s = o;

	return r < 16 ? s->gpr[r] : r == X86_REG_RIP ? s->rip : s->rflags;
}

static void cb_set_reg(void *o, unsigned int r, uint64_t v)
{
	struct emu_state *s = o;

	if (r < 16)
		s->gpr[r] = v;
	else if (r == X86_REG_RIP)
		s->rip = v;
	else
		s->rflags = v;
}

static void cb_get_seg(void *o, unsigned int seg, struct x86_segment *sg)
{
	struct emu_state *s = o;

	memset(sg, 0, sizeof(*sg));
	sg->limit = 0xffffffffu;
	sg->attr = X86_SEG_ATTR_P | X86_SEG_ATTR_S | X86_SEG_ATTR_G | X86_SEG_ATTR_DB | 0x3;
	if (seg == X86_SEG_CS)
		sg->attr = X86_SEG_ATTR_P | X86_SEG_ATTR_S | X86_SEG_ATTR_G | 0xb |
			   (s->compat ? X86_SEG_ATTR_DB : X86_SEG_ATTR_L);
}

static void cb_get_ctl(void *o, struct x86_cpu_ctl *c)
{
	(void)o;
	c->cr0 = X86_CR0_PE | X86_CR0_MP;
	c->cr4 = X86_CR4_OSFXSR | X86_CR4_OSXSAVE;
	c->efer = X86_EFER_LMA;
	c->cpl = 3;
}

static int pf(struct x86_exception *x, uint64_t la, bool write)
{
	x->vector = X86_EXC_PF;
	x->has_error_code = true;
	x->error_code = (write ? 2 : 0) | 4;
	x->cr2 = la;
	return -1;
}

static bool in_data(uint64_t la, unsigned int len)
{
	return la >= DATA_ADDR && len <= DATA_SIZE && la - DATA_ADDR <= DATA_SIZE - len;
}

static int cb_fetch(void *o, uint64_t la, void *buf, unsigned int len, struct x86_exception *x)
{
	(void)o;
	if (la < CODE_ADDR || la + len > CODE_ADDR + PG)
		return pf(x, la, false);
	memcpy(buf, (const void *)la, len);
	return 0;
}

static int cb_read(void *o, uint64_t la, void *buf, unsigned int len, struct x86_exception *x)
{
	struct emu_state *s = o;

	if ((la & ~(PG - 1ul)) != ((la + len - 1) & ~(PG - 1ul)))
		abort(); /* the emulator promised page-contained accesses */
	if (!in_data(la, len))
		return pf(x, la, false);
	memcpy(buf, s->mem + (la - DATA_ADDR), len);
	return 0;
}

static int cb_write(void *o, uint64_t la, const void *buf, unsigned int len,
		    struct x86_exception *x)
{
	struct emu_state *s = o;

	if ((la & ~(PG - 1ul)) != ((la + len - 1) & ~(PG - 1ul)))
		abort();
	if (!in_data(la, len))
		return pf(x, la, true);
	memcpy(s->mem + (la - DATA_ADDR), buf, len);
	return 0;
}

static int cb_probe(void *o, uint64_t la, unsigned int len, bool write, struct x86_exception *x)
{
	(void)o;
	return in_data(la, len) ? 0 : pf(x, la, write);
}

/* No vector move is emulated here: reaching these is a mismatch. */
static void cb_get_vec(void *o, unsigned int i, uint8_t *buf, unsigned int len)
{
	(void)o, (void)i, (void)buf, (void)len;
	abort();
}

static void cb_set_vec(void *o, unsigned int i, const uint8_t *buf, unsigned int len, bool zu)
{
	(void)o, (void)i, (void)buf, (void)len, (void)zu;
	abort();
}

static uint8_t *cb_xsave_area(void *o, uint32_t *cap, uint64_t *xcr0)
{
	(void)o;
	*cap = sizeof(scratch);
	*xcr0 = host_xcr0;
	return scratch;
}

static uint32_t cb_xsave_extent(void *o, uint64_t comp, bool compacted)
{
	(void)o;
	return extent(comp, compacted);
}

static uint32_t cb_xsave_layout(void *o, unsigned int i, uint32_t *size)
{
	(void)o;
	return layout(i, size);
}

static void cb_xsave(void *o, uint64_t rfbm, bool rex_w)
{
	struct x86_exception x;

	(void)o;
	if (cpu_run(rex_w ? OP_XSAVE64 : OP_XSAVE, rfbm, &x))
		abort();
}

static void cb_xsavec(void *o, uint64_t rfbm, bool rex_w)
{
	struct x86_exception x;

	(void)o;
	if (cpu_run(rex_w ? OP_XSAVEC64 : OP_XSAVEC, rfbm, &x))
		abort();
}

static int cb_xrstor(void *o, uint64_t rfbm, bool rex_w, struct x86_exception *x)
{
	(void)o;
	return cpu_run(rex_w ? OP_XRSTOR64 : OP_XRSTOR, rfbm, x);
}

static const struct x86_emu_ops ops = {
	.get_reg = cb_get_reg,
	.set_reg = cb_set_reg,
	.get_seg = cb_get_seg,
	.get_ctl = cb_get_ctl,
	.fetch = cb_fetch,
	.read = cb_read,
	.write = cb_write,
	.get_vec = cb_get_vec,
	.set_vec = cb_set_vec,
	.probe = cb_probe,
	.xsave_area = cb_xsave_area,
	.xsave_extent = cb_xsave_extent,
	.xsave = cb_xsave,
	.xrstor = cb_xrstor,
	.xsave_layout = cb_xsave_layout,
	.xsavec = cb_xsavec,
};

/* ---- native ---- */

static uint8_t *put(uint8_t *p, const void *b, size_t n)
{
	memcpy(p, b, n);
	return p + n;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
	return put(p, &v, sizeof(v));
}

/* mov eax, lo; mov edx, hi */
static uint8_t *put_mask(uint8_t *p, uint64_t m)
{
	*p++ = 0xb8;
	p = put32(p, (uint32_t)m);
	*p++ = 0xba;
	return put32(p, (uint32_t)(m >> 32));
}

/* REX.W 0F AE /reg [abs32] (64-bit SIB form) */
static uint8_t *put_abs64(uint8_t *p, unsigned int reg, uint64_t at)
{
	p = put(p, (const uint8_t[]){0x48, 0x0f, 0xae, (uint8_t)(reg << 3 | 4), 0x25}, 5);
	return put32(p, (uint32_t)at);
}

struct form {
	const char *name;
	bool compat, rex_w, restore;
	uint8_t op, reg; /* 0F op /reg */
	uint32_t feature;
};

/*
 * The stub: host state saved, the case's loaded, mask in EDX:EAX, the instruction (or a far
 * call to it in compatibility mode), the state after saved, the host's back.  Returns the
 * instruction's offset in the code page.
 */
static unsigned int build_code(const struct form *f, uint64_t mask, uint64_t area)
{
	uint8_t insn[16], *q = insn, *p = code;
	unsigned int at;

	if (f->compat)
		*q++ = 0x36; /* SS: (Linux leaves DS null, a #GP outside 64-bit mode) */
	if (f->rex_w)
		*q++ = 0x48;
	q = put(q, (const uint8_t[]){0x0f, f->op}, 2);
	if (f->compat) {
		*q++ = (uint8_t)(f->reg << 3 | 5); /* [disp32] */
	} else {
		*q++ = (uint8_t)(f->reg << 3 | 4); /* SIB: [disp32] */
		*q++ = 0x25;
	}
	q = put32(q, (uint32_t)area);

	p = put_mask(p, user_mask);
	p = put_abs64(p, 4, HOST_IMG);
	p = put_abs64(p, 5, INIT_IMG);
	p = put_mask(p, mask);
	if (f->compat) {
		/* mov rcx, rsp; mov rsp, STACK_TOP; push rcx; lcall *FAR_PTR; pop rcx; mov rsp, rcx */
		p = put(p, (const uint8_t[]){0x48, 0x89, 0xe1, 0x48, 0xc7, 0xc4}, 6);
		p = put32(p, (uint32_t)(STACK_ADDR + PG));
		p = put(p, (const uint8_t[]){0x51, 0xff, 0x1c, 0x25}, 4);
		p = put32(p, (uint32_t)FAR_PTR);
		p = put(p, (const uint8_t[]){0x59, 0x48, 0x89, 0xcc}, 4);
		put32((uint8_t *)FAR_PTR, (uint32_t)(CODE_ADDR + COMPAT_CODE));
		memcpy((uint8_t *)FAR_PTR + 4, &(uint16_t){USER32_CS}, 2);
		at = COMPAT_CODE;
		code[at + (q - insn)] = 0xcb; /* lret */
	} else {
		at = (unsigned int)(p - code);
		p += q - insn;
	}
	memcpy(code + at, insn, q - insn);
	p = put_mask(p, user_mask);
	p = put_abs64(p, 4, FINAL_IMG);
	p = put_abs64(p, 5, HOST_IMG);
	*p = 0xc3;
	return at;
}

/* ---- cases ---- */

static void fill(uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)rng();
}

static uint64_t random_subset(uint64_t of)
{
	return rng() & rng() ? of & rng() : of; /* often all of it */
}

/* Legacy region with a valid MXCSR; header with XSTATE_BV within user_mask. */
static void random_image(uint8_t *img, size_t n, bool compacted, bool bad_header)
{
	uint64_t bv = user_mask & rng(), comp = 0;
	uint32_t mxcsr = (uint32_t)rng() & mxcsr_mask;

	fill(img, n);
	memcpy(img + MXCSR_OFF, &mxcsr, sizeof(mxcsr));
	memset(img + XSTATE_BV_OFF, 0, HEADER_END - XSTATE_BV_OFF);
	if (compacted)
		comp = (bv | (user_mask & rng())) | COMPACTED;
	memcpy(img + XSTATE_BV_OFF, &bv, sizeof(bv));
	memcpy(img + XCOMP_BV_OFF, &comp, sizeof(comp));
	if (bad_header)
		img[XSTATE_BV_OFF + 16 + rng() % (HEADER_END - XSTATE_BV_OFF - 16)] = 1;
}

/* A standard-form state image with components XSTATE_BV leaves initial made initial. */
static void normalize(uint8_t *img)
{
	uint64_t bv;

	memcpy(&bv, img + XSTATE_BV_OFF, sizeof(bv));
	if (!(bv & 1)) {
		memset(img, 0, MXCSR_OFF);
		img[0] = (uint8_t)FCW_INIT, img[1] = FCW_INIT >> 8;
		memset(img + X87_ST0, 0, SSE_XMM0 - X87_ST0);
	}
	if (!(bv & 2))
		memset(img + SSE_XMM0, 0, SSE_END - SSE_XMM0);
	for (unsigned int i = 2; i < 63; i++) {
		uint32_t size, off;

		if (!(user_mask >> i & 1) || (bv >> i & 1))
			continue;
		off = layout(i, &size);
		memset(img + off, 0, size);
	}
	memset(img + SSE_END, 0, HEADER_END - SSE_END); /* reserved, software's, header */
}

/* DIFF_XSAVE_DEBUG: the start and header of the state before, the area, the state after
 * natively and emulated. */
static void dump_images(uint64_t area)
{
	const uint8_t *imgs[] = {(uint8_t *)INIT_IMG, (uint8_t *)area, (uint8_t *)FINAL_IMG,
				 guest_img};
	static const char *const names[] = {"before", "area", "native", "emulated"};

	for (unsigned int k = 0; k < sizeof(imgs) / sizeof(imgs[0]); k++) {
		uint64_t bv, comp;

		memcpy(&bv, imgs[k] + XSTATE_BV_OFF, sizeof(bv));
		memcpy(&comp, imgs[k] + XCOMP_BV_OFF, sizeof(comp));
		printf("#  %-8s", names[k]);
		for (unsigned int j = 0; j < 32; j++)
			printf(" %02x", imgs[k][j]);
		printf(" | XSTATE_BV %llx XCOMP_BV %llx\n", (unsigned long long)bv,
		       (unsigned long long)comp);
	}
}

static bool one_case(const struct form *f, bool last_try)
{
	static struct emu_state es;
	static uint8_t native_after[IMG_MAX], emu_after[IMG_MAX];
	struct x86_emu_ctx ctx = {.ops = &ops, .opaque = &es, .vendor = host_vendor,
				  .features = host_features};
	struct x86_emu_result res;
	uint64_t mask = random_subset(user_mask) | (rng() & ~user_mask & 0xffffffff00000000ull);
	uint32_t n = extent(user_mask, false);
	uint64_t area = DATA_ADDR + (rng() % ((DATA_SIZE - n) / 64)) * 64;
	volatile unsigned int at, native_vec = NO_VEC;
	sigjmp_buf jb;

	mask &= ~AMX_COMPONENTS;
	random_image((uint8_t *)INIT_IMG, std_size, false, false);
	fill(data, DATA_SIZE);
	if (f->restore)
		random_image((uint8_t *)area, n,
			     (host_features & X86_FEAT_XSAVEC) && (rng() & 1), rng() % 16 == 0);
	memcpy(es.mem, data, DATA_SIZE);
	/* The state as the CPU holds it (reserved x87 bits dropped): what a fault leaves. */
	memcpy(guest_img, (uint8_t *)INIT_IMG, std_size);
	if (cpu_run(OP_XSAVE, 0, &res.exc))
		abort();
	memcpy((uint8_t *)INIT_IMG, guest_img, std_size);
	at = build_code(f, mask, area);

	fault_jb = &jb;
	if (sigsetjmp(jb, 1)) {
		host_state_back();
		native_vec = (unsigned int)fault_vec;
		n_faults++;
		memcpy((uint8_t *)FINAL_IMG, (uint8_t *)INIT_IMG, std_size); /* nothing loaded */
	} else {
		((void (*)(void))code)();
	}

	memset(es.gpr, 0, sizeof(es.gpr));
	es.gpr[X86_RAX] = (uint32_t)mask;
	es.gpr[X86_RDX] = mask >> 32;
	es.rip = CODE_ADDR + at;
	es.rflags = X86_FL_FIXED;
	es.compat = f->compat;
	x86_emulate(&ctx, &res);
	n_cases++;

	memcpy(native_after, (uint8_t *)FINAL_IMG, std_size);
	memcpy(emu_after, guest_img, std_size);
	normalize(native_after);
	normalize(emu_after);
	if (native_vec != NO_VEC ? res.status != X86_EMU_EXCEPTION || res.exc.vector != native_vec
				 : res.status != X86_EMU_OK) {
		if (!last_try)
			return false;
		n_bad++;
		if (n_report++ < MAX_REPORT)
			printf("# mismatch: %s: mask %llx: status %d vector %u, native vector %u\n",
			       f->name, (unsigned long long)mask, res.status, res.exc.vector,
			       native_vec);
		return false;
	}
	if (memcmp(es.mem, data, DATA_SIZE) || memcmp(native_after, emu_after, std_size)) {
		unsigned int i = 0;
		bool mem = memcmp(es.mem, data, DATA_SIZE) != 0;

		if (mem)
			while (es.mem[i] == data[i])
				i++;
		else
			while (native_after[i] == emu_after[i])
				i++;
		if (!last_try)
			return false;
		n_bad++;
		if (n_report++ < MAX_REPORT)
			printf("# mismatch: %s: mask %llx area +%llx: %s differs at byte %#x "
			       "(emulator %02x, native %02x)\n",
			       f->name, (unsigned long long)mask,
			       (unsigned long long)(area - DATA_ADDR), mem ? "memory" : "state",
			       mem ? (unsigned int)(i - (area - DATA_ADDR)) : i,
			       mem ? es.mem[i] : emu_after[i], mem ? data[i] : native_after[i]);
		if (getenv("DIFF_XSAVE_DEBUG"))
			dump_images(area);
		return false;
	}
	return true;
}

static bool host_ready(void)
{
	unsigned int a, b, c, d;
	uint32_t lo, hi;

	__cpuid(0, a, b, c, d);
	host_vendor = x86_vendor_from_cpuid(b, d, c);
	__cpuid(1, a, b, c, d);
	if (!(c & CPUID1_ECX_OSXSAVE))
		return false;
	asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	host_xcr0 = (uint64_t)hi << 32 | lo;
	user_mask = host_xcr0 & ~(AMX_COMPONENTS | 1ull << COMP_PKRU);
	__cpuid_count(LEAF_XSAVE, 1, a, b, c, d);
	host_features = x86_xsave_features_from_cpuid(a);
	std_size = extent(user_mask, false);
	if (std_size > IMG_MAX)
		return false;
	/* MXCSR_MASK from the host's own image. */
	asm volatile("xsave64 (%0)" ::"r"(HOST_IMG), "a"(3), "d"(0) : "memory");
	memcpy(&mxcsr_mask, (uint8_t *)HOST_IMG + MXCSR_MASK_OFF, sizeof(mxcsr_mask));
	if (!mxcsr_mask)
		mxcsr_mask = 0xffbf;
	return true;
}

int main(void)
{
	static const struct form forms[] = {
		{"xsave", false, false, false, 0xae, 4, 0},
		{"xsave64", false, true, false, 0xae, 4, 0},
		{"xrstor", false, false, true, 0xae, 5, 0},
		{"xrstor64", false, true, true, 0xae, 5, 0},
		{"xsaveopt", false, false, false, 0xae, 6, X86_FEAT_XSAVEOPT},
		{"xsaveopt64", false, true, false, 0xae, 6, X86_FEAT_XSAVEOPT},
		{"xsavec", false, false, false, 0xc7, 4, X86_FEAT_XSAVEC},
		{"xsavec64", false, true, false, 0xc7, 4, X86_FEAT_XSAVEC},
		{"xsave (compatibility mode)", true, false, false, 0xae, 4, 0},
		{"xrstor (compatibility mode)", true, false, true, 0xae, 5, 0},
		{"xsaveopt (compatibility mode)", true, false, false, 0xae, 6, X86_FEAT_XSAVEOPT},
		{"xsavec (compatibility mode)", true, false, false, 0xc7, 4, X86_FEAT_XSAVEC},
	};
	const size_t nforms = sizeof(forms) / sizeof(forms[0]);
	struct sigaction sa;
	stack_t ss;
	static uint8_t altstack[1 << 16];
	int fails = 0;

	if (mmap((void *)STATE_ADDR, STATE_SIZE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) != (void *)STATE_ADDR ||
	    mmap((void *)DATA_ADDR, DATA_SIZE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) != (void *)DATA_ADDR ||
	    mmap((void *)STACK_ADDR, PG, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) != (void *)STACK_ADDR ||
	    mmap((void *)CODE_ADDR, PG, PROT_READ | PROT_WRITE | PROT_EXEC,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) != (void *)CODE_ADDR) {
		printf("1..1\nnot ok 1 - cannot map the native test pages\n");
		return 1;
	}
	ss.ss_sp = altstack;
	ss.ss_size = sizeof(altstack);
	ss.ss_flags = 0;
	sigaltstack(&ss, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGILL, &sa, NULL);

	if (getenv("DIFF_XSAVE_SEED"))
		rng_state = strtoull(getenv("DIFF_XSAVE_SEED"), NULL, 0) | 1;
	printf("TAP version 13\n1..%zu\n", nforms);
	if (!host_ready()) {
		for (size_t f = 0; f < nforms; f++)
			printf("ok %zu - %s # SKIP host without XSAVE enabled\n", f + 1, forms[f].name);
		return 0;
	}
	printf("# XCR0 %#llx, tested components %#llx, standard area %u bytes\n",
	       (unsigned long long)host_xcr0, (unsigned long long)user_mask, std_size);
	for (size_t f = 0; f < nforms; f++) {
		unsigned int bad = 0;

		if (forms[f].feature && !(host_features & forms[f].feature)) {
			printf("ok %zu - %s # SKIP not in the host's CPUID\n", f + 1, forms[f].name);
			continue;
		}
		for (unsigned int i = 0; i < CASES; i++) {
			uint64_t seed = rng_state;

			if (one_case(&forms[f], false))
				continue;
			/* Once more, the same case: a preemption between the native run and the
			 * emulation may change XINUSE (the kernel's XRSTORS), which XSAVEC and
			 * XSAVEOPT's init optimization show. */
			rng_state = seed;
			n_retried++;
			bad += !one_case(&forms[f], true);
		}
		printf("%sok %zu - emulator as %s matches native CPU: %s with components %#llx "
		       "(%u cases)\n",
		       bad ? "not " : "", f + 1, host_vendor == X86_VENDOR_AMD ? "AMD" : "Intel",
		       forms[f].name, (unsigned long long)user_mask, CASES);
		fails += bad != 0;
	}
	printf("# %lu cases, %lu natively faulting compared by vector, %lu run twice, %lu "
	       "mismatches\n",
	       n_cases, n_faults, n_retried, n_bad);
	return fails ? 1 : 0;
}
