/*
 * libFuzzer target over x86_decode + x86_emulate.
 *
 * Input: [mode|vendor|features|probe|VM|IOPL 3|CR4.VME][flags][rep_batch][cpl|cr bits][16 x 8
 * bytes GPRs (as available)] then the instruction bytes.  Guest memory is two 4 KiB pages
 * around a fixed base, and a read-only interrupt vector table at linear 0 (virtual-8086
 * redirection); anything else raises #PF.  Checks: no sanitizer report, no abort, results self-consistent (length <= 15,
 * every access inside one page, bounded callback count).
 *
 * Run with no arguments: a bounded run (FUZZ_SECONDS env, default 10) in a child process,
 * reported as TAP.  With arguments: plain libFuzzer (make fuzz).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmio/x86_emulate.h"
#include "tests/fuzz/fuzz_driver.h"
#include "tests/emu_value_ops.h"

#define MEM_BASE	0x7000ull
#define MEM_SIZE	0x2000u
#define PG		0x1000u
#define HDR		4
#define IDT_OFF		0x100 /* the IDT, filled from the input for the event delivery */
#define IDT_FUZZ_BYTES	128   /* eight 16-byte gates */
#define TSS_OFF		0x200
#define GDT_FUZZ_BYTES	128 /* sixteen descriptors: gates, code and stack segments */
#define TSS_FUZZ_BYTES	0x68
#define MAX_CALLS	4096
#define IVT_BYTES	0x400 /* linear 0..0x3ff: the 8086 program's IVT, readable only */
#define IVT_PATTERN	0x35
#define FL_IOPL3	(3ull << 12)
#define FL_VIF		(1ull << 19)
#define FL_VIP		(1ull << 20)
#define V86_CS_ATTR	0xf3u /* what a load in virtual-8086 mode gives every segment */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fstate {
	uint64_t gpr[16], rip, rflags;
	uint8_t mem[MEM_SIZE];
	uint8_t ymm[16][32];
	uint64_t mm[8];
	const uint8_t *code;
	size_t code_len;
	unsigned int mode, calls;
	uint8_t cpl;
	uint8_t cr_bits;
	bool vme; /* CR4.VME */
};


/* One access: never empty, within a page (an XSAVE area's part on one page can be all of it). */
static void check_page(uint64_t la, unsigned int len)
{
	if (len == 0 || len > PG || (la / PG) != ((la + len - 1) / PG))
		abort();
}

static uint64_t get_reg(void *o, unsigned int r)
{
	struct fstate *s = o;

	if (r < 16)
		return s->gpr[r];
	return r == X86_REG_RIP ? s->rip : s->rflags;
}

static void set_reg(void *o, unsigned int r, uint64_t v)
{
	struct fstate *s = o;

	if (r > X86_REG_RFLAGS)
		abort();
	if (r < 16)
		s->gpr[r] = v;
	else if (r == X86_REG_RIP)
		s->rip = v;
	else
		s->rflags = v;
}

static void get_seg(void *o, unsigned int seg, struct x86_segment *sg)
{
	struct fstate *s = o;

	if (seg >= X86_NR_SEGS)
		abort();
	memset(sg, 0, sizeof(*sg));
	sg->limit = (s->cr_bits & 1) ? 0xffffu : 0xffffffffu;
	sg->attr = X86_SEG_ATTR_P | X86_SEG_ATTR_S | 0x3 | ((s->cr_bits & 2) ? 0x4 : 0);
	if (s->mode == 32)
		sg->attr |= X86_SEG_ATTR_DB;
	if (seg == X86_SEG_CS) {
		sg->attr = X86_SEG_ATTR_P | X86_SEG_ATTR_S | 0xb;
		if (s->mode == 64)
			sg->attr |= X86_SEG_ATTR_L;
		if (s->mode == 32)
			sg->attr |= X86_SEG_ATTR_DB;
	}
	if (seg == X86_SEG_FS)
		sg->base = 0x100;
}

static void get_ctl(void *o, struct x86_cpu_ctl *c)
{
	struct fstate *s = o;

	c->cr0 = (s->mode == 16 && (s->cr_bits & 4)) ? 0 : X86_CR0_PE;
	if (s->cr_bits & 8)
		c->cr0 |= X86_CR0_AM;
	if (s->cr_bits & 16)
		c->cr0 |= X86_CR0_TS;
	c->cr4 = (s->cr_bits & 32) ? 0 : X86_CR4_OSFXSR | X86_CR4_OSXSAVE;
	if (s->vme)
		c->cr4 |= 1; /* CR4.VME */
	c->efer = s->mode == 64 ? X86_EFER_LMA : 0;
	c->cpl = s->cpl;
}

static int fault(struct x86_exception *x, uint64_t la)
{
	x->vector = X86_EXC_PF;
	x->has_error_code = true;
	x->error_code = 0;
	x->cr2 = la;
	return -1;
}

static int fetch(void *o, uint64_t la, void *buf, unsigned int len, struct x86_exception *x)
{
	struct fstate *s = o;

	check_page(la, len);
	if (++s->calls > MAX_CALLS)
		abort();
	if (la < s->rip || la - s->rip > s->code_len || s->code_len - (la - s->rip) < len)
		return fault(x, la);
	memcpy(buf, s->code + (la - s->rip), len);
	return 0;
}

static int mem_rw(struct fstate *s, uint64_t la, void *buf, const void *src, unsigned int len,
		  struct x86_exception *x)
{
	check_page(la, len);
	if (++s->calls > MAX_CALLS)
		abort();
	if (buf && la + len <= IVT_BYTES) {
		for (unsigned int i = 0; i < len; i++)
			((uint8_t *)buf)[i] = (uint8_t)((la + i) * IVT_PATTERN);
		return 0;
	}
	if (la < MEM_BASE || la - MEM_BASE > MEM_SIZE - len)
		return fault(x, la);
	if (buf)
		memcpy(buf, s->mem + (la - MEM_BASE), len);
	else
		memcpy(s->mem + (la - MEM_BASE), src, len);
	return 0;
}

static int rd(void *o, uint64_t la, void *buf, unsigned int len, struct x86_exception *x)
{
	return mem_rw(o, la, buf, NULL, len, x);
}

static int wr(void *o, uint64_t la, const void *buf, unsigned int len, struct x86_exception *x)
{
	return mem_rw(o, la, NULL, buf, len, x);
}

static void get_vec(void *o, unsigned int i, uint8_t *buf, unsigned int len)
{
	struct fstate *s = o;

	if (i >= 16 || len > 32)
		abort();
	memcpy(buf, s->ymm[i], len);
}

static void set_vec(void *o, unsigned int i, const uint8_t *buf, unsigned int len, bool zu)
{
	struct fstate *s = o;

	if (i >= 16 || len > 32)
		abort();
	memcpy(s->ymm[i], buf, len);
	if (zu)
		memset(s->ymm[i] + len, 0, 32 - len);
}

/* Half the inputs run without the optional callbacks (probe, system registers). */
static int probe(void *o, uint64_t la, unsigned int len, bool write, struct x86_exception *x)
{
	struct fstate *s = o;

	(void)write;
	check_page(la, len);
	if (++s->calls > MAX_CALLS)
		abort();
	if (la < MEM_BASE || la - MEM_BASE > MEM_SIZE - len)
		return fault(x, la);
	return 0;
}

static void get_sysseg(void *o, unsigned int which, struct x86_segment *sg)
{
	if (which > X86_SYS_TR)
		abort();
	(void)o;
	memset(sg, 0, sizeof(*sg));
	/* The GDT and LDT in the fuzzed memory (MOV Sreg reads descriptors from there), the IDT
	 * at IDT_OFF (event delivery) and a TSS (IST stacks) there too. */
	sg->base = which == X86_SYS_GDTR || which == X86_SYS_LDTR ? MEM_BASE
		   : which == X86_SYS_IDTR			 ? MEM_BASE + IDT_OFF
								 : MEM_BASE + TSS_OFF;
	sg->limit = 0xfff;
	sg->selector = (uint16_t)(which << 3);
}

static int set_dtr(void *o, unsigned int which, uint64_t base, uint32_t limit,
		   struct x86_exception *x)
{
	(void)o;
	(void)base;
	if (which > X86_SYS_IDTR || limit > 0xffff)
		abort();
	(void)x;
	return 0;
}

/* LMSW that mhv refuses half the time (#GP), as a CR0 check would. */
static int lmsw(void *o, uint16_t src, struct x86_exception *x)
{
	(void)o;
	if (!(src & 1))
		return 0;
	x->vector = X86_EXC_GP;
	x->has_error_code = true;
	x->error_code = 0;
	return -1;
}

/* MMX registers in fstate; a pending x87 exception when register 7 has its top bit set. */
static int mmx(void *o, unsigned int idx, bool write, uint64_t *val)
{
	struct fstate *s = o;

	if (idx > 7)
		abort();
	if (s->mm[7] >> 63)
		return -1;
	if (write)
		s->mm[idx] = *val;
	else
		*val = s->mm[idx];
	return 0;
}

static void fxsave(void *o, uint8_t *img, bool rex_w)
{
	(void)o;
	memset(img, rex_w ? 0x64 : 0x32, X86_FXSR_AREA);
}

static int fxrstor(void *o, const uint8_t *img, unsigned int len, bool rex_w,
		   struct x86_exception *x)
{
	(void)o;
	(void)rex_w;
	if (len > X86_FXSR_AREA)
		abort();
	if (img[24] & 0x80) { /* "reserved MXCSR bits" */
		x->vector = X86_EXC_GP;
		x->has_error_code = true;
		x->error_code = 0;
		return -1;
	}
	return 0;
}

static int sys_access(void *o, uint64_t la, void *buf, unsigned int len, bool write,
		      struct x86_exception *x)
{
	if (!buf) /* a supervisor probe: checked like an access, nothing copied */
		return probe(o, la, len, write, x);
	return mem_rw(o, la, write ? NULL : buf, write ? buf : NULL, len, x);
}

static void set_seg(void *o, unsigned int seg, const struct x86_segment *sg)
{
	(void)o;
	/* Never a usable segment whose descriptor is not present; CS only a code segment, or
	 * the virtual-8086 form (IRET to virtual-8086 mode). */
	bool v86_cs = sg->attr == V86_CS_ATTR && sg->limit == 0xffff &&
		      sg->base == (uint64_t)sg->selector << 4;

	if (seg > X86_SEG_GS || !(sg->attr & (X86_SEG_UNUSABLE | X86_SEG_ATTR_P)) ||
	    (seg == X86_SEG_CS && !(sg->attr & X86_SEG_TYPE_CODE) && !v86_cs))
		abort();
}

static void set_sysseg(void *o, unsigned int which, const struct x86_segment *sg)
{
	unsigned int type = sg->attr & X86_SEG_TYPE_MASK;

	(void)o;
	/* LDTR: unusable or a present LDT; TR: a present busy TSS. */
	if ((sg->attr & X86_SEG_UNUSABLE) ? which != X86_SYS_LDTR
	    : (sg->attr & X86_SEG_ATTR_S) || !(sg->attr & X86_SEG_ATTR_P) ||
		      (which == X86_SYS_LDTR ? type != 0x2 : type != 0x3 && type != 0xb))
		abort();
}

/*
 * XSAVE scratch: the emulator must stay within the capacity it is given (ASan).  Two fake
 * CPUs: XCR0 x87|SSE|AVX, or with AVX-512 too (opmask, ZMM_Hi256, Hi16_ZMM at their usual
 * standard offsets; Hi16_ZMM 64-byte aligned when compacted) with a capacity the input picks,
 * sometimes smaller than the largest area (not emulated, nothing past the buffer touched).
 */
#define FZ_XCR0_AVX	0x7ull
#define FZ_XCR0_AVX512	0xe7ull
static uint8_t xscratch[4096] __attribute__((aligned(64)));
static uint64_t fz_xcr0 = FZ_XCR0_AVX;
static uint32_t fz_cap = 1024;
static const struct {
	uint32_t off, size;
	bool align64;
} fz_comp[8] = {[2] = {576, 256, false}, [5] = {832, 64, false},
		[6] = {896, 512, false}, [7] = {1408, 1024, true}};

static uint8_t *xsave_area(void *o, uint32_t *cap, uint64_t *xcr0)
{
	(void)o;
	*cap = fz_cap;
	*xcr0 = fz_xcr0;
	return xscratch;
}

static uint32_t xsave_extent(void *o, uint64_t comp, bool compacted)
{
	uint32_t end = 576;

	(void)o;
	if (comp & ~fz_xcr0)
		abort(); /* only XCR0's components are asked about */
	for (unsigned int i = 2; i < 8; i++) {
		if (!(comp >> i & 1))
			continue;
		if (!compacted) {
			end = end > fz_comp[i].off + fz_comp[i].size ? end
								      : fz_comp[i].off + fz_comp[i].size;
			continue;
		}
		if (fz_comp[i].align64)
			end = (end + 63) & ~63u;
		end += fz_comp[i].size;
	}
	return end;
}

/* A fill of the legacy region and the RFBM components, XSTATE_BV from the fill's pattern. */
static void xsave(void *o, uint64_t rfbm, bool rex_w)
{
	(void)o;
	if (rfbm & ~fz_xcr0)
		abort(); /* RFBM within XCR0 */
	memset(xscratch, rex_w ? 0x64 : 0x32, 512);
	for (unsigned int i = 2; i < 8; i++)
		if (rfbm >> i & 1) {
			if (fz_comp[i].off + fz_comp[i].size > fz_cap)
				abort(); /* the emulator checked the extent against the capacity */
			memset(xscratch + fz_comp[i].off, 0x40 + (int)i, fz_comp[i].size);
		}
	xscratch[512] = (uint8_t)(rfbm & 0xa5);
}

static int xrstor(void *o, uint64_t rfbm, bool rex_w, struct x86_exception *x)
{
	(void)o;
	(void)rex_w;
	if (rfbm & ~fz_xcr0)
		abort();
	if (xscratch[520]) {
		x->vector = X86_EXC_GP;
		x->has_error_code = true;
		x->error_code = 0;
		return 1;
	}
	return 0;
}

/* The fake layout: only components of XCR0 are asked about. */
static uint32_t xsave_layout(void *o, unsigned int i, uint32_t *size)
{
	(void)o;
	if (i >= 8 || !(fz_xcr0 >> i & 1) || !fz_comp[i].size)
		abort();
	*size = fz_comp[i].size;
	return fz_comp[i].off;
}

/* XSAVEC: a fill, and some components reported initial (XSTATE_BV from the fill). */
static void xsavec(void *o, uint64_t rfbm, bool rex_w)
{
	(void)o;
	if (rfbm & ~fz_xcr0)
		abort();
	memset(xscratch, rex_w ? 0x65 : 0x33, 512);
}

/* XSAVES/XRSTORS allowed, IA32_XSS 0 (so RFBM stays within the fake XCR0). */
static int xss(void *o, uint64_t *v)
{
	(void)o;
	*v = 0;
	return 0;
}

static void xsaves(void *o, uint64_t rfbm, bool rex_w)
{
	(void)o;
	if (rfbm & ~fz_xcr0)
		abort();
	memset(xscratch, rex_w ? 0x66 : 0x34, 512);
}

static int xrstors(void *o, uint64_t rfbm, bool rex_w, struct x86_exception *x)
{
	(void)o;
	(void)rex_w;
	if (rfbm & ~fz_xcr0)
		abort();
	if (!(xscratch[527] & 0x80)) { /* XCOMP_BV[63] clear: the standard form is #GP */
		x->vector = X86_EXC_GP;
		x->has_error_code = true;
		x->error_code = 0;
		return 1;
	}
	return 0;
}

static void port_io(void *o, uint16_t port, unsigned int size, bool in, uint32_t *val)
{
	(void)o;
	if (size != 1 && size != 2 && size != 4)
		abort(); /* a port access is a byte, word or dword */
	if (in)
		*val = port * 0x01010101u;
}


EMU_VALUE_OPS_OVER(rd, wr, probe, set_reg)

static const struct x86_emu_ops fops = {
	get_reg, set_reg, get_seg, get_ctl, fetch,	rd,	 wr,
	get_vec, set_vec, probe,   get_sysseg, set_dtr, lmsw, mmx, fxsave, fxrstor, sys_access,
	set_seg, set_sysseg, xsave_area, xsave_extent, xsave, xrstor, port_io, xsave_layout, xsavec,
	xss, xsaves, xrstors, value_read, value_write, value_rmw_read, value_commit,
};
/* Without the optional callbacks. */
static const struct x86_emu_ops fops_noprobe = {get_reg, set_reg, get_seg, get_ctl, fetch,
						rd,	 wr,	  get_vec, set_vec, NULL,
						NULL,	 NULL,	  NULL,	   NULL,
						NULL,	 NULL,	  NULL,	   NULL, NULL,
						NULL,	 NULL,	  NULL,	   NULL, NULL,
						NULL,	 NULL,	  NULL,	   NULL, NULL,
						NULL,	 NULL, /* read_value, write_value */
						NULL,	 NULL}; /* rmw_read_value, commit */

/*
 * Event delivery onto the fuzzed stack: the input's first bytes pick the event and fill the
 * IDT.  The status must be valid, a delivery that faults must leave RSP alone, and the
 * CS it loads must be a code segment (set_seg checks).
 */
static void fuzz_event(struct x86_emu_ctx *ctx, struct fstate *s, const uint8_t *data,
		       size_t size)
{
	struct x86_emu_result res;
	struct x86_event ev;
	uint64_t rsp = s->gpr[X86_RSP];

	if (size < 4)
		return;
	ev = (struct x86_event){.vector = data[0] & 7,
				.kind = data[1] % (X86_EVENT_PRIV_SOFT + 1),
				.has_error_code = data[2] & 1,
				.error_code = data[3],
				.insn_len = data[2] >> 4};
	memcpy(s->mem + IDT_OFF, data, size < IDT_FUZZ_BYTES ? size : IDT_FUZZ_BYTES);
	if (x86_deliver_event(ctx, &ev, &res) != -res.status || res.status > X86_EMU_UNSUPPORTED)
		abort();
	if (res.status != X86_EMU_OK && s->gpr[X86_RSP] != rsp)
		abort();
	if (res.status == X86_EMU_EXCEPTION &&
	    x86_event_nested(&ev, res.exc.vector) > X86_NESTED_SHUTDOWN)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fstate s;
	static const unsigned int modes[] = {16, 32, 64, 64};
	struct x86_emu_ctx ctx = {.ops = &fops, .opaque = &s};
	struct x86_emu_result res;
	struct x86_insn in;
	size_t nregs;

	if (fuzz_execs)
		(*fuzz_execs)++;
	if (size < HDR)
		return 0;
	memset(&s, 0, sizeof(s));
	s.mode = modes[data[0] & 3];
	ctx.vendor = (data[0] & 4) ? X86_VENDOR_AMD : X86_VENDOR_INTEL; /* both vendors' paths */
	ctx.features =
		(data[0] & 8) ? X86_FEAT_POPCNT | X86_FEAT_LZCNT | X86_FEAT_BMI1 | X86_FEAT_SSE42 |
				 X86_FEAT_XSAVEOPT | X86_FEAT_XSAVEC
			       : 0;
	if (data[0] & 0x10)
		ctx.ops = &fops_noprobe;
	fz_xcr0 = (data[0] & 0x20) ? FZ_XCR0_AVX512 : FZ_XCR0_AVX;
	fz_cap = (data[0] & 0x40) ? sizeof(xscratch) : (data[0] & 0x80) ? 2048 : 1024;
	s.rflags = (data[1] & 0xd5) | ((uint64_t)(data[1] & 0x20) << 13) |
		   ((uint64_t)(data[1] & 0x02) << 9) | X86_FL_FIXED;
	/* Virtual-8086 mode (not in IA-32e mode): IOPL, CR4.VME, VIF (with CF) and VIP. */
	if ((data[0] & 0x20) && s.mode != 64)
		s.rflags |= X86_FL_VM;
	if (data[0] & 0x40)
		s.rflags |= FL_IOPL3;
	if (data[1] & 0x01)
		s.rflags |= FL_VIF;
	if (data[1] & 0x08)
		s.rflags |= FL_VIP;
	s.vme = data[0] & 0x80;
	ctx.rep_batch = data[2] % (X86_EMU_REP_BATCH_MAX + 8);
	s.cpl = data[3] & 3;
	s.cr_bits = data[3] >> 2;
	data += HDR;
	size -= HDR;
	/* Registers point into (or near) guest memory so accesses hit it. */
	nregs = size >= 32 ? 16 : size / 2;
	for (size_t i = 0; i < 16; i++)
		s.gpr[i] = MEM_BASE + 0x800 + i * 0x40;
	for (size_t i = 0; i < nregs && 2 * i + 1 < size; i++)
		s.gpr[i] = (i % 5 == 4)
				   ? ((uint64_t)data[2 * i] << 56 | data[2 * i + 1])
				   : MEM_BASE + (uint64_t)(data[2 * i] | data[2 * i + 1] << 8) %
							MEM_SIZE;
	s.gpr[X86_RCX] &= 0x3f;
	s.mm[7] = s.gpr[X86_R9]; /* its top bit: an x87 exception pending (#MF) */
	if (size > 32) {
		data += 32;
		size -= 32;
	}
	s.code = data;
	s.code_len = size;
	s.rip = s.mode == 64 ? 0x400000 : 0x1000;
	for (unsigned int i = 0; i < MEM_SIZE; i++)
		s.mem[i] = (uint8_t)(i * 7);
	/* The GDT's first entries and the TSS's stack pointers from the input's tail: far
	 * branches through call gates and switches to an inner ring's stack see fuzzed
	 * descriptors. */
	memcpy(s.mem, data + size - (size < GDT_FUZZ_BYTES ? size : GDT_FUZZ_BYTES),
	       size < GDT_FUZZ_BYTES ? size : GDT_FUZZ_BYTES);
	memcpy(s.mem + TSS_OFF, data + size - (size < TSS_FUZZ_BYTES ? size : TSS_FUZZ_BYTES),
	       size < TSS_FUZZ_BYTES ? size : TSS_FUZZ_BYTES);

	/* Decode alone over every mode: must never read past size nor report > 15 bytes. */
	for (unsigned int m = 0; m < 3; m++) {
		int r = x86_decode(&in, data, size, (enum x86_mode)modes[m]);

		if (r == 0 && (in.len == 0 || in.len > X86_MAX_INSN_LEN || in.len > size))
			abort();
		if (r > 0 || r < -X86_DEC_INVALID)
			abort();
	}
	for (int i = 0; i < 4; i++) {
		int r = x86_emulate(&ctx, &res);

		if (r != -res.status || res.status > X86_EMU_UNSUPPORTED)
			abort();
		if (res.insn_len > X86_MAX_INSN_LEN)
			abort();
		if (res.status == X86_EMU_UNSUPPORTED && res.exc.vector != X86_EXC_UD)
			abort();
		if (res.status != X86_EMU_OK || !res.rep_continue)
			break;
	}
	fuzz_event(&ctx, &s, data, size);
	return 0;
}

int main(int argc, char **argv)
{
	return fuzz_main(argc, argv, LLVMFuzzerTestOneInput, "decode+emulate", 96);
}
