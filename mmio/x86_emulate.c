/*
 * x86 MMIO emulator core: mode derivation, instruction fetch (page split, 15-byte limit),
 * register cache with commit-on-success, segmentation/canonical/alignment checks and
 * page-split memory accesses.  Instruction semantics are in x86_emu_exec.c.
 */
#include "mmio/x86_emu_internal.h"
#include "lib/string.h"

#define ADDR_MASK_32  0xffffffffull
#define ADDR_MASK_16  0xffffull
#define CANON_BITS_48 48
#define CANON_BITS_57 57
#define X86_CR4_LA57  (1ull << 12)
#define HI8_SHIFT     X86E_HI8_SHIFT
#define USER_CPL      3

int x86e_raise(struct x86_emu_ctx *e, unsigned int vector, bool has_ec, uint32_t ec)
{
	struct x86_exception *x = &e->res->exc;

	x->vector = (uint8_t)vector;
	/* Real mode exceptions push no error code; virtual-8086 mode ones go through the
	 * protected-mode IDT to the monitor and keep theirs (#GP, #SS, #AC, #PF). */
	x->has_error_code = has_ec && (e->ctl.cr0 & X86_CR0_PE);
	x->error_code = x->has_error_code ? ec : 0;
	x->cr2 = 0;
	return X86_EMU_EXCEPTION;
}

int x86e_ud(struct x86_emu_ctx *e)
{
	return x86e_raise(e, X86_EXC_UD, false, 0);
}

/* ---- register cache: loaded lazily, written back only on success ---- */

uint64_t x86e_gpr_load(struct x86_emu_ctx *e, unsigned int reg)
{
	e->rc.gpr[reg] = e->ops->get_reg(e->opaque, reg);
	e->rc.loaded |= 1u << reg;
	return e->rc.gpr[reg];
}

void x86e_set_gpr(struct x86_emu_ctx *e, unsigned int reg, uint64_t val)
{
	reg &= X86_NR_GPRS - 1;
	e->rc.gpr[reg] = val;
	e->rc.loaded |= 1u << reg;
	e->rc.dirty |= 1u << reg;
	e->rc.direct &= ~(1u << reg); /* read back from gpr[] from now on */
}

/* Partial register writes: 8/16-bit merge, 32-bit zero-extends (SDM vol.1 3.4.1.1). */
void x86e_reg_write(struct x86_emu_ctx *e, const struct x86_opnd *op, uint64_t val)
{
	uint64_t old = x86e_gpr(e, op->reg);

	if (op->hi8)
		val = (old & ~(x86e_mask(1) << HI8_SHIFT)) | ((val & x86e_mask(1)) << HI8_SHIFT);
	else if (op->size == 1 || op->size == 2)
		val = (old & ~x86e_mask(op->size)) | (val & x86e_mask(op->size));
	else if (op->size == 4)
		val &= ADDR_MASK_32;
	x86e_set_gpr(e, op->reg, val);
}

uint64_t x86e_next_rip(struct x86_emu_ctx *e, const struct x86_insn *in)
{
	uint64_t rip = e->rc.rip + in->len;

	if (e->mode == X86_MODE_64)
		return rip;
	/* Outside 64-bit mode EIP wraps at the operand size of the code segment. */
	return rip & (e->mode == X86_MODE_16 ? ADDR_MASK_16 : ADDR_MASK_32);
}

uint64_t x86e_ea(struct x86_emu_ctx *e, const struct x86_insn *in)
{
	return x86e_ea_inline(e, in);
}

void x86e_rm_opnd(struct x86_emu_ctx *e, const struct x86_insn *in, unsigned int size,
		  struct x86_opnd *op)
{
	x86e_rm_opnd_inline(e, in, size, op);
}

unsigned int x86e_stack_size(struct x86_emu_ctx *e)
{
	struct x86_segment ss;

	if (e->mode == X86_MODE_64)
		return 8;
	if (e->real_or_v86)
		return 2;
	e->ops->get_seg(e->opaque, X86_SEG_SS, &ss);
	return (ss.attr & X86_SEG_ATTR_DB) ? 4 : 2;
}

bool x86_canonical(uint64_t la, uint64_t cr4)
{
	unsigned int bits = (cr4 & X86_CR4_LA57) ? CANON_BITS_57 : CANON_BITS_48;

	return (uint64_t)((int64_t)(la << (64 - bits)) >> (64 - bits)) == la;
}

bool x86e_canonical(const struct x86_emu_ctx *e, uint64_t la)
{
	return x86_canonical(la, e->ctl.cr4);
}

/* x86_segment_allows's body, inline in x86e_linear: every memory access outside 64-bit mode
 * checks its segment. */
static inline __attribute__((always_inline)) bool segment_allows(const struct x86_segment *s,
								  bool real_or_v86, uint64_t ea,
								  unsigned int size, bool write)
{
	uint64_t last = ea + size - 1;
	unsigned int type = s->attr & X86_SEG_TYPE_MASK;

	if (!real_or_v86) {
		if (s->attr & X86_SEG_UNUSABLE)
			return false;
		if (type & X86_SEG_TYPE_CODE) {
			if (write || !(type & X86_SEG_TYPE_WR))
				return false;
		} else if (write && !(type & X86_SEG_TYPE_WR)) {
			return false;
		}
		if (!(type & X86_SEG_TYPE_CODE) && (type & X86_SEG_TYPE_EXPDN)) {
			uint64_t upper = (s->attr & X86_SEG_ATTR_DB) ? ADDR_MASK_32 : ADDR_MASK_16;

			return ea > s->limit && last <= upper;
		}
	}
	return last <= s->limit;
}

bool x86_segment_allows(const struct x86_segment *s, bool real_or_v86, uint64_t ea,
			unsigned int size, bool write)
{
	return segment_allows(s, real_or_v86, ea, size, write);
}

/* x86e_linear's body, inline in x86e_check_write (one stack frame for both). */
static inline __attribute__((always_inline)) int linear(struct x86_emu_ctx *e, unsigned int seg,
							 uint64_t ea, unsigned int size, bool write,
							 uint64_t *la)
{
	unsigned int vec = seg == X86_SEG_SS ? X86_EXC_SS : X86_EXC_GP;
	struct x86_segment s;

	if (e->mode == X86_MODE_64) {
		uint64_t base = 0;

		if (seg == X86_SEG_FS || seg == X86_SEG_GS) {
			e->ops->get_seg(e->opaque, seg, &s);
			base = s.base;
		}
		*la = base + ea;
		if (!x86_canonical(*la, e->ctl.cr4) || !x86_canonical(*la + size - 1, e->ctl.cr4))
			return x86e_raise(e, vec, true, 0);
	} else {
		e->ops->get_seg(e->opaque, seg, &s);
		if (!segment_allows(&s, e->real_or_v86, ea, size, write))
			return x86e_raise(e, vec, true, 0);
		*la = (s.base + ea) & ADDR_MASK_32;
	}
	/* #AC: alignment checking on at CPL 3 (SDM vol.3 6.15, interrupt 17). */
	if ((e->ctl.cr0 & X86_CR0_AM) && (e->rc.rflags & X86_FL_AC) && e->ctl.cpl == USER_CPL &&
	    size > 1 && size <= 8 && (*la & (size - 1)))
		return x86e_raise(e, X86_EXC_AC, true, 0);
	return EMU_CONTINUE;
}

int x86e_linear(struct x86_emu_ctx *e, unsigned int seg, uint64_t ea, unsigned int size, bool write,
		uint64_t *la)
{
	return linear(e, seg, ea, size, write, la);
}

/* Each page of [la, la + size) in turn: probed (probe) or read/written through the callbacks. */
static int access_pages(struct x86_emu_ctx *e, uint64_t la, uint8_t *buf, unsigned int size,
			bool write, bool probe)
{
	while (size) {
		uint64_t room = PAGE_SIZE_4K - (la & (PAGE_SIZE_4K - 1));
		unsigned int n = size < room ? size : (unsigned int)room;
		int r;

		if (e->mode != X86_MODE_64)
			la &= ADDR_MASK_32;
		if (probe)
			r = e->ops->probe(e->opaque, la, n, write, &e->res->exc);
		else if (write)
			r = e->ops->write(e->opaque, la, buf, n, &e->res->exc);
		else
			r = e->ops->read(e->opaque, la, buf, n, &e->res->exc);
		if (r)
			return X86_EMU_EXCEPTION;
		la += n;
		if (buf) /* a probe has none */
			buf += n;
		size -= n;
	}
	return EMU_CONTINUE;
}

int x86e_probe_write(struct x86_emu_ctx *e, unsigned int seg, uint64_t ea, unsigned int size)
{
	uint64_t la;
	int r = x86e_linear(e, seg, ea, size, true, &la);

	if (r || !e->ops->probe)
		return r;
	return access_pages(e, la, NULL, size, true, true);
}

/*
 * Split at 4 KiB boundaries so each callback access stays within one page.  An access that
 * crosses a page is probed first: if its second page faults, the first is left untouched.
 */
static __attribute__((noinline)) int access_crossing(struct x86_emu_ctx *e, uint64_t la,
						      uint8_t *buf, unsigned int size, bool write)
{
	if (e->ops->probe && access_pages(e, la, buf, size, write, true))
		return X86_EMU_EXCEPTION;
	return access_pages(e, la, buf, size, write, false);
}

static inline int access_split(struct x86_emu_ctx *e, uint64_t la, uint8_t *buf, unsigned int size,
			       bool write)
{
	int r;

	/* Crossing a page, or empty (nothing accessed, as by the page loop): the loop. */
	if ((la & (PAGE_SIZE_4K - 1)) + size > PAGE_SIZE_4K || !size)
		return access_crossing(e, la, buf, size, write);
	/* Within one page (la is already masked to the mode): one callback. */
	r = write ? e->ops->write(e->opaque, la, buf, size, &e->res->exc)
		  : e->ops->read(e->opaque, la, buf, size, &e->res->exc);
	return r ? X86_EMU_EXCEPTION : EMU_CONTINUE;
}

int x86e_read_mem(struct x86_emu_ctx *e, unsigned int seg, uint64_t ea, void *buf,
		  unsigned int size)
{
	uint64_t la;
	int r = x86e_linear(e, seg, ea, size, false, &la);

	if (r)
		return r;
	return access_split(e, la, buf, size, false);
}

int x86e_write_mem(struct x86_emu_ctx *e, unsigned int seg, uint64_t ea, const void *buf,
		   unsigned int size)
{
	uint64_t la;
	int r = x86e_linear(e, seg, ea, size, true, &la);

	if (r)
		return r;
	return access_split(e, la, (uint8_t *)(uintptr_t)buf, size, true);
}

/* Little-endian byte buffer <-> integer without relying on host byte order tricks. */
static uint64_t le_load(const uint8_t *b, unsigned int size)
{
	uint64_t v = 0;

	if (size == 4) /* the common case, in one expression the compiler makes one load */
		return (uint64_t)b[0] | (uint64_t)b[1] << BYTE_BITS |
		       (uint64_t)b[2] << (2 * BYTE_BITS) | (uint64_t)b[3] << (3 * BYTE_BITS);
	for (unsigned int i = 0; i < size; i++)
		v |= (uint64_t)b[i] << (BYTE_BITS * i);
	return v;
}

static void le_store(uint8_t *b, uint64_t v, unsigned int size)
{
	if (size == 4) {
		b[0] = (uint8_t)v;
		b[1] = (uint8_t)(v >> BYTE_BITS);
		b[2] = (uint8_t)(v >> (2 * BYTE_BITS));
		b[3] = (uint8_t)(v >> (3 * BYTE_BITS));
		return;
	}
	for (unsigned int i = 0; i < size; i++)
		b[i] = (uint8_t)(v >> (BYTE_BITS * i));
}

/* op's linear address: x86e_check_write's if it checked op last, else the checks' answer
 * (inline in the operand reads and writes, one stack frame for both). */
static inline __attribute__((always_inline)) int op_linear(struct x86_emu_ctx *e,
							    const struct x86_opnd *op, bool write,
							    uint64_t *la)
{
	if (e->rmw.op == op && e->rmw.ea == op->ea && e->rmw.seg == op->seg &&
	    e->rmw.size == op->size) {
		*la = e->rmw.la;
		return EMU_CONTINUE;
	}
	return linear(e, op->seg, op->ea, op->size, write, la);
}

/* A 1, 2, 4 or 8-byte access within one page: one value callback can take it whole. */
static inline bool value_access(uint64_t la, unsigned int size)
{
	return size && !(size & (size - 1)) && size <= sizeof(uint64_t) &&
	       (la & (PAGE_SIZE_4K - 1)) + size <= PAGE_SIZE_4K;
}

/* One value callback's read at la (value_access() holds), its answer as a status: the end of
 * every operand read the callbacks take whole (x86e_write_value: the writes). */
static inline int read_value(struct x86_emu_ctx *e, uint64_t la, unsigned int size, uint64_t *val)
{
	return e->ops->read_value(e->opaque, la, size, val, &e->res->exc) ? X86_EMU_EXCEPTION
									   : EMU_CONTINUE;
}

/* x86e_read_op's and x86e_write_op's general paths, out of line: their fast paths below
 * need no stack frame of their own. */
static __attribute__((noinline)) int read_op_mem(struct x86_emu_ctx *e, const struct x86_opnd *op,
						 uint64_t *val)
{
	uint8_t b[sizeof(uint64_t)];
	uint64_t la;
	int r = op_linear(e, op, false, &la);

	if (r)
		return r;
	if (e->ops->read_value && value_access(la, op->size))
		return read_value(e, la, op->size, val);
	r = access_split(e, la, b, op->size, false);
	if (r)
		return r;
	*val = le_load(b, op->size);
	return EMU_CONTINUE;
}

static __attribute__((noinline)) int read_op_reg(struct x86_emu_ctx *e, const struct x86_opnd *op,
						 uint64_t *val)
{
	*val = x86e_reg_read(e, op);
	return EMU_CONTINUE;
}

static __attribute__((noinline)) int write_op_mem(struct x86_emu_ctx *e,
						  const struct x86_opnd *op, uint64_t val)
{
	uint8_t b[sizeof(uint64_t)];
	uint64_t la;
	int r = op_linear(e, op, true, &la);

	if (r)
		return r;
	if (e->ops->write_value && value_access(la, op->size))
		return x86e_write_value(e, la, op->size, val & x86e_mask(op->size));
	le_store(b, val, op->size);
	return access_split(e, la, b, op->size, true);
}

static __attribute__((noinline)) int write_op_reg(struct x86_emu_ctx *e,
						  const struct x86_opnd *op, uint64_t val)
{
	x86e_reg_write(e, op, val);
	return EMU_CONTINUE;
}

/* The operand x86e_check_write() checked last, by a value callback: a read-modify-write's
 * read and write (what read_op_mem/write_op_mem would do, without their frames). */
static inline bool rmw_value(const struct x86_emu_ctx *e, const struct x86_opnd *op,
			     const void *cb)
{
	return e->rmw.op == op && e->rmw.ea == op->ea && e->rmw.seg == op->seg &&
	       e->rmw.size == op->size && e->rmw.value && cb;
}

int x86e_read_op(struct x86_emu_ctx *e, const struct x86_opnd *op, uint64_t *val)
{
	if (!op->is_mem)
		return read_op_reg(e, op, val);
	if (!rmw_value(e, op, e->ops->read_value))
		return read_op_mem(e, op, val);
	return read_value(e, e->rmw.la, op->size, val);
}

int x86e_write_op(struct x86_emu_ctx *e, const struct x86_opnd *op, uint64_t val)
{
	if (!op->is_mem)
		return write_op_reg(e, op, val);
	if (!rmw_value(e, op, e->ops->write_value))
		return write_op_mem(e, op, val);
	return x86e_write_value(e, e->rmw.la, op->size, val & x86e_mask(op->size));
}

int x86e_check_aligned_to(struct x86_emu_ctx *e, const struct x86_opnd *op, bool write,
			  unsigned int align)
{
	uint64_t la;
	int r = x86e_linear(e, op->seg, op->ea, 1, write, &la);

	if (r)
		return r;
	if (la & (align - 1))
		return x86e_raise(e, X86_EXC_GP, true, 0);
	return EMU_CONTINUE;
}

int x86e_check_aligned(struct x86_emu_ctx *e, const struct x86_opnd *op, bool write)
{
	return x86e_check_aligned_to(e, op, write, op->size);
}

#define FXSR_ALIGNMENT 16

int x86e_check_aligned16(struct x86_emu_ctx *e, const struct x86_opnd *op, bool write)
{
	return x86e_check_aligned_to(e, op, write, FXSR_ALIGNMENT);
}

/*
 * Paging too, not only the segment: the CPU translates a read-modify-write destination for
 * writing before it reads, so a write that would fault must not let a device see the read.
 */
/* x86e_check_write's body for a memory operand, inline in x86e_rmw_read too. */
static inline __attribute__((always_inline)) int check_write_mem(struct x86_emu_ctx *e,
								  const struct x86_opnd *op)
{
	bool one_page;
	uint64_t la;
	int r;

	r = linear(e, op->seg, op->ea, op->size, true, &la);
	if (r)
		return r;
	e->rmw.op = op;
	e->rmw.ea = op->ea;
	e->rmw.la = la;
	e->rmw.seg = op->seg;
	e->rmw.size = op->size;
	one_page = op->size && (la & (PAGE_SIZE_4K - 1)) + op->size <= PAGE_SIZE_4K;
	e->rmw.value = one_page && !(op->size & (op->size - 1)) && op->size <= sizeof(uint64_t);
	if (!e->ops->probe)
		return EMU_CONTINUE;
	if (one_page) /* one probe */
		return e->ops->probe(e->opaque, la, op->size, true, &e->res->exc) ? X86_EMU_EXCEPTION
										  : EMU_CONTINUE;
	return access_pages(e, la, NULL, op->size, true, true);
}

int x86e_check_write(struct x86_emu_ctx *e, const struct x86_opnd *op)
{
	if (!op->is_mem)
		return EMU_CONTINUE;
	return check_write_mem(e, op);
}

/* x86e_rmw_read without rmw_read_value, or for an access it cannot take: the write check
 * (probe), then the read (out of line: x86e_rmw_read's fast path needs no frame for it). */
static __attribute__((noinline)) int rmw_read_checked(struct x86_emu_ctx *e,
						      const struct x86_opnd *op, uint64_t *val)
{
	int r = check_write_mem(e, op);

	if (r)
		return r;
	if (!e->rmw.value || !e->ops->read_value)
		return read_op_mem(e, op, val);
	return read_value(e, e->rmw.la, op->size, val);
}

int x86e_rmw_read(struct x86_emu_ctx *e, const struct x86_opnd *op, uint64_t *val)
{
	unsigned int size = op->size, seg = op->seg;
	uint64_t ea = op->ea, la;
	int r;

	if (!op->is_mem)
		return read_op_reg(e, op, val);
	if (!e->ops->rmw_read_value)
		return rmw_read_checked(e, op, val);
	/* One callback checks for writing and reads (what check_write_mem's probe and the read
	 * do); an access it cannot take goes that way. */
	r = linear(e, seg, ea, size, true, &la);
	if (r)
		return r;
	if (!value_access(la, size))
		return rmw_read_checked(e, op, val);
	e->rmw.op = op;
	e->rmw.ea = ea;
	e->rmw.la = la;
	e->rmw.seg = (uint8_t)seg;
	e->rmw.size = (uint8_t)size;
	e->rmw.value = true;
	return e->ops->rmw_read_value(e->opaque, la, size, val, &e->res->exc) ? X86_EMU_EXCEPTION
										: EMU_CONTINUE;
}

int x86e_rmw_write_general(struct x86_emu_ctx *e, const struct x86_opnd *op, uint64_t val)
{
	if (!op->is_mem)
		return write_op_reg(e, op, val);
	return write_op_mem(e, op, val);
}

/* ---- entry points ---- */

static inline __attribute__((always_inline)) void derive_mode(struct x86_emu_ctx *e, const struct x86_segment *cs)
{
	e->real_or_v86 = false;
	if ((e->ctl.efer & X86_EFER_LMA) && (cs->attr & X86_SEG_ATTR_L)) {
		e->mode = X86_MODE_64;
	} else if (!(e->ctl.cr0 & X86_CR0_PE) || (e->rc.rflags & X86_FL_VM)) {
		e->mode = X86_MODE_16;
		e->real_or_v86 = true;
	} else {
		e->mode = (cs->attr & X86_SEG_ATTR_DB) ? X86_MODE_32 : X86_MODE_16;
	}
}

/*
 * Per-instruction state, without clearing whole structures (this runs on every emulated
 * exit): the register cache is valid by its loaded/dirty bits, the decode fills the insn.
 */
static void start(struct x86_emu_ctx *e, struct x86_emu_result *res)
{
	res->status = 0;
	res->insn_len = 0;
	res->rep_continue = false;
	res->mov_ss_shadow = false;
	res->exc = (struct x86_exception){0};
	e->rc.loaded = 0;
	e->rc.dirty = 0;
	e->res = res;
	e->insn = &res->insn;
	e->rmw.op = NULL;
}

void x86e_begin(struct x86_emu_ctx *e, struct x86_emu_result *res, struct x86_segment *cs)
{
	start(e, res);
	e->rc.direct = 0; /* every GPR through ops->get_reg (e->gpr unread) */
	e->ops->get_ctl(e->opaque, &e->ctl);
	e->ops->get_seg(e->opaque, X86_SEG_CS, cs);
	e->rc.rip = e->ops->get_reg(e->opaque, X86_REG_RIP);
	e->rc.rflags = e->ops->get_reg(e->opaque, X86_REG_RFLAGS);
	derive_mode(e, cs);
	res->next_rip = e->rc.rip;
}

static int fetch_split(struct x86_emu_ctx *e, uint64_t la, uint8_t *buf, unsigned int n)
{
	while (n) {
		uint64_t room = PAGE_SIZE_4K - (la & (PAGE_SIZE_4K - 1));
		unsigned int c = n < room ? n : (unsigned int)room;

		if (e->mode != X86_MODE_64)
			la &= ADDR_MASK_32;
		if (e->ops->fetch(e->opaque, la, buf, c, &e->res->exc))
			return X86_EMU_EXCEPTION;
		la += c;
		buf += c;
		n -= c;
	}
	return EMU_CONTINUE;
}

/*
 * Fetch and decode.  First take the bytes up to the end of the page (at most 15); only if the
 * decoder needs more is the next page touched, so a #PF on it is raised exactly when the
 * hardware would raise it.
 */
static int fetch_decode(struct x86_emu_ctx *e, const struct x86_segment *cs, const uint8_t *pre,
			unsigned int npre)
{
	uint8_t buf[X86_MAX_INSN_LEN];
	uint64_t la = e->mode == X86_MODE_64 ? e->rc.rip : (cs->base + e->rc.rip) & ADDR_MASK_32;
	unsigned int have = npre < X86_MAX_INSN_LEN ? npre : X86_MAX_INSN_LEN;
	struct x86_insn *in = &e->res->insn;
	int r;

	if (have)
		memcpy(buf, pre, have);
	for (;;) {
		uint64_t at = la + have;
		uint64_t room = PAGE_SIZE_4K - (at & (PAGE_SIZE_4K - 1));
		unsigned int n = X86_MAX_INSN_LEN - have;

		r = x86_decode(in, buf, have, e->mode);
		if (r != -X86_DEC_TRUNCATED || !n)
			break;
		if (room < n)
			n = (unsigned int)room;
		if (fetch_split(e, at, buf + have, n))
			return X86_EMU_EXCEPTION;
		have += n;
	}
	if (r == -X86_DEC_TOO_LONG)
		return x86e_raise(e, X86_EXC_GP, true, 0);
	if (r)
		return x86e_ud(e);
	/* CS limit (not checked in 64-bit mode). */
	if (e->mode != X86_MODE_64 && e->rc.rip + in->len - 1 > cs->limit)
		return x86e_raise(e, X86_EXC_GP, true, 0);
	if (e->real_or_v86 && in->encoding != X86_ENC_LEGACY)
		return x86e_ud(e); /* no VEX/EVEX/XOP in real or virtual-8086 mode */
	e->res->insn_len = in->len;
	return EMU_CONTINUE;
}

/*
 * Write back the registers; with rip, RIP goes before RFLAGS, so a caller that raises the
 * single-step trap when RIP advances sees the TF the instruction started with (POPF that
 * sets TF traps after the next instruction, one that clears it still traps after itself).
 */
static __attribute__((noinline)) void commit_each(struct x86_emu_ctx *e, uint64_t rflags_before,
						   const uint64_t *rip)
{
	/* Only the registers written: one step per dirty bit, not per register. */
	for (uint32_t left = e->rc.dirty; left; left &= left - 1) {
		unsigned int i = (unsigned int)__builtin_ctz(left);

		e->ops->set_reg(e->opaque, i, e->rc.gpr[i]);
	}
	if (rip)
		e->ops->set_reg(e->opaque, X86_REG_RIP, *rip);
	if (e->rc.rflags != rflags_before)
		e->ops->set_reg(e->opaque, X86_REG_RFLAGS, e->rc.rflags);
}

/* ops->commit's one call, or set_reg per register (out of line: its loop's frame); inline in
 * the emulation's body, a call less on every emulated instruction. */
static inline __attribute__((always_inline)) void commit(struct x86_emu_ctx *e,
							  uint64_t rflags_before, const uint64_t *rip)
{
	if (!e->ops->commit)
		commit_each(e, rflags_before, rip);
	else
		e->ops->commit(e->opaque, e->rc.gpr, e->rc.dirty, rip, e->rc.rflags,
			       e->rc.rflags != rflags_before);
}

void x86e_commit(struct x86_emu_ctx *e, uint64_t rflags_before, const uint64_t *rip)
{
	commit(e, rflags_before, rip);
}

/*
 * The checks fetch_decode() makes after decoding, for an instruction decoded by the caller for
 * the same mode: the CS limit, no VEX/EVEX/XOP in real or virtual-8086 mode.
 */
static inline __attribute__((always_inline)) int check_decoded(struct x86_emu_ctx *e,
								const struct x86_segment *cs)
{
	const struct x86_insn *in = e->insn;

	if (e->mode != X86_MODE_64 && e->rc.rip + in->len - 1 > cs->limit)
		return x86e_raise(e, X86_EXC_GP, true, 0);
	if (e->real_or_v86 && in->encoding != X86_ENC_LEGACY)
		return x86e_ud(e);
	e->res->insn_len = in->len;
	return EMU_CONTINUE;
}

static inline __attribute__((always_inline)) int
emulate_body(struct x86_emu_ctx *e, const uint8_t *bytes, unsigned int n,
	     const struct x86_insn *decoded, const struct x86_segment *entry_cs,
	     struct x86_emu_result *res)
{
	struct x86_segment cs_read;
	const struct x86_segment *cs = &cs_read;
	uint64_t rflags_before;
	int r;

	if (entry_cs) { /* x86e_begin's reads, already in e (x86_emu_enter), CS used in place */
		start(e, res);
		cs = entry_cs;
		derive_mode(e, cs);
	} else {
		x86e_begin(e, res, &cs_read);
	}
	rflags_before = e->rc.rflags;

	if (decoded && decoded->mode == e->mode) {
		e->insn = decoded; /* not copied: res->insn only if it does not complete */
		r = check_decoded(e, cs);
	} else {
		decoded = NULL;
		r = fetch_decode(e, cs, bytes, n);
	}
	if (!r) {
		const struct x86_insn *in = e->insn;

		res->next_rip = x86e_next_rip(e, in);
		if (!x86e_supported(in) && !x86e_sys_supported(e->ops, in) &&
		    !x86e_mmx_supported(e->ops, in) && !x86e_fxsr_supported(e->ops, in) &&
		    !x86e_xsave_supported(e->ops, in) && !x86e_iret_supported(e->ops, in) &&
		    !x86e_int_supported(e->ops, in) && !x86e_strio_supported(e->ops, in) &&
		    !x86e_sreg_supported(e->ops, in) && !x86e_far_supported(e->ops, in)) {
			x86e_ud(e);
			r = X86_EMU_UNSUPPORTED;
		} else {
			r = x86e_execute(e, in);
		}
	}
	if (decoded && r != EMU_CONTINUE)
		res->insn = *decoded;
	if (r == X86_EMU_EXCEPTION && res->rep_continue) {
		/* A fault inside a REP op keeps the completed iterations (RIP stays). */
		commit(e, rflags_before, NULL);
	} else if (r == EMU_CONTINUE) {
		if (res->rep_continue)
			res->next_rip = e->rc.rip;
		commit(e, rflags_before, &res->next_rip);
	}
	if (r != EMU_CONTINUE)
		res->next_rip = e->rc.rip;
	res->status = r;
	return -r;
}

static int emulate(struct x86_emu_ctx *e, const uint8_t *bytes, unsigned int n,
		   const struct x86_insn *decoded, const struct x86_segment *entry_cs,
		   struct x86_emu_result *res)
{
	return emulate_body(e, bytes, n, decoded, entry_cs, res);
}

int x86_emulate_bytes(struct x86_emu_ctx *e, const uint8_t *bytes, unsigned int n,
		      struct x86_emu_result *res)
{
	return emulate(e, bytes, n, NULL, NULL, res);
}

int x86_emulate_decoded(struct x86_emu_ctx *e, const struct x86_insn *in,
			struct x86_emu_result *res)
{
	return emulate(e, NULL, 0, in, NULL, res);
}

/* The MMIO exit's entry, on every emulated exit: its own copy of the body, without the
 * caller's bytes (none) and without a call between. */
int x86_emulate_entered(struct x86_emu_ctx *e, const struct x86_insn *in,
			const struct x86_segment *cs, struct x86_emu_result *res)
{
	return emulate_body(e, NULL, 0, in, cs, res);
}

int x86_emulate(struct x86_emu_ctx *e, struct x86_emu_result *res)
{
	return x86_emulate_bytes(e, NULL, 0, res);
}

bool x86_emu_would_execute(const struct x86_insn *in)
{
	return x86e_supported(in);
}
