/*
 * The MMIO string path (see mmio_string.h).  Exactness, element by element as the CPU:
 *   - the direction flag, the address size (SI/DI/CX wrap at 2^32 or 2^64 and are written at
 *     that size), one element's device access at a time, read before write;
 *   - segments are flat only (base 0, 4 GiB limit, or 64-bit mode without FS/GS): no limit
 *     check can fail;
 *   - an operand whose translation faults, whose element straddles a page, or whose page is
 *     neither guest RAM nor a device ends the loop before that element: the elements done
 *     are committed with RIP left on the instruction, so the guest re-executes it and the CPU
 *     raises the fault itself with RCX/RSI/RDI at the faulting element (if none was done,
 *     the general emulator takes the instruction and raises it);
 *   - at most STRING_BUDGET elements per exit: the guest then resumes the REP, taking any
 *     pending interrupt between elements as on an interrupted REP.
 */
#include "core/mmio_string.h"
#include "arch/x86/cpu.h"
#include "core/flush_exits.h"
#include "core/guest.h"
#include "core/insn_fetch.h"
#include "core/mmio_forms.h"
#include "core/mmio_setup.h"
#include "core/seg_flat.h"
#include "core/vcpu.h"
#include "lib/compiler.h"
#include "lib/string.h"
#include "mm/guest_mem.h"
#include "mm/memmap.h"
#include "mmio/mmio_cache.h"
#include "mmio/region.h"
#include "mmio/x86_emulate.h"

#define OPC_MOVSB     0xA4
#define OPC_MOVS      0xA5
#define OPC_STOSB     0xAA
#define OPC_STOS      0xAB
#define OPC_LODSB     0xAC
#define OPC_LODS      0xAD
#define STRING_BUDGET 1024 /* elements per exit: the REP's interrupt window comes after them */

enum str_op { STR_MOVS, STR_STOS, STR_LODS, STR_NONE };

/* One operand's current page: guest RAM through a host pointer, or a device. */
struct str_page {
	uint64_t la_page; /* linear page number; ~0: none yet */
	uint64_t gpa_page;
	uint8_t *ram;
	const struct mmio_region *region;
};

struct str_ctx {
	struct vcpu *v;
	const struct gw_regs *regs;
	uint64_t rip;
	unsigned size;
	bool counted_hit;
};

static bool string_op(const struct x86_insn *in, enum str_op *op, unsigned *size)
{
	if (in->encoding != X86_ENC_LEGACY || in->map != X86_MAP_ONE || in->lock)
		return false;
	switch (in->opcode) {
	case OPC_MOVSB:
	case OPC_MOVS:
		*op = STR_MOVS;
		break;
	case OPC_STOSB:
	case OPC_STOS:
		*op = STR_STOS;
		break;
	case OPC_LODSB:
	case OPC_LODS:
		*op = STR_LODS;
		break;
	default:
		return false;
	}
	*size = in->opcode & 1 ? in->opsize : 1;
	return true;
}

/* What the string path needs of in, worked out once per decode of insn_cache's instruction
 * (in is that one, from vcpu_decode_at; any other is worked out in *scratch). */
static const struct mmio_string_memo *string_memo_of(struct vcpu *v, const struct x86_insn *in,
						     struct mmio_string_memo *scratch)
{
	struct mmio_string_memo *m = &v->string_memo;
	bool cached = in == &v->insn_cache.insn;
	enum str_op op = STR_NONE;
	unsigned size = 1;

	if (likely(cached && m->valid && m->gen == v->insn_cache.gen))
		return m;
	if (!cached)
		m = scratch;
	if (!string_op(in, &op, &size) || in->mode == X86_MODE_16 || in->addrsize == 2)
		op = STR_NONE;
	*m = (struct mmio_string_memo){
		.gen = v->insn_cache.gen,
		.valid = cached,
		.op = (uint8_t)op,
		.size = (uint8_t)size,
		.shift = (uint8_t)__builtin_ctz(size),
		.sseg = (uint8_t)(in->seg_override != X86_SEG_NONE ? in->seg_override : X86_SEG_DS),
		.rep = in->rep != X86_REP_NONE,
		.am = in->addrsize == 8 ? ~0ull : 0xFFFFFFFFull,
	};
	return m;
}

/* Translate la's page for access; false if it faults or is neither RAM nor a device.  Out of
 * line: most exits find both pages already set (same_page), or the RAM side in the cache's
 * RAM entry (page_at). */
static bool __attribute__((noinline)) page_of(struct str_ctx *c, struct str_page *p, uint64_t la, bool write)
{
	struct vcpu *v = c->v;
	struct gw_result fault;
	unsigned access = write ? GW_WRITE : 0;
	uint64_t gpa, hits = v->mmio_cache.hits;

	p->la_page = ~0ull;
	if (mmio_translate(&v->mmio_cache, v->mmio_cache_on, c->regs, &vcpu_gw_mem, la, access,
			   &gpa, &fault))
		return false;
	p->gpa_page = gpa & ~(uint64_t)(PAGE_SIZE - 1);
	/* A page is a device's or RAM, never both (guest_mem_ram_ptr refuses a page a region
	 * overlaps): the MMIO entry's hit says which to try first. */
	p->ram = NULL;
	p->region = NULL;
	if (v->mmio_cache.hits != hits) {
		c->counted_hit = true;
		p->region = mmio_region_find_hinted(mmio_regions(), &v->region_hint, p->gpa_page);
	}
	if (!p->region) {
		p->ram = guest_mem_ram_page(guest_gate(), &v->ram_hint, p->gpa_page);
		if (!p->ram)
			p->region = mmio_region_find_hinted(mmio_regions(), &v->region_hint,
							    p->gpa_page);
	}
	if (!p->ram && !p->region)
		return false;
	p->la_page = la >> PAGE_SHIFT;
	return true;
}

/* page_of() for a page the cache's RAM entry translated to gpa that is no RAM page now (a
 * region added over it): its device, if any. */
static bool __attribute__((noinline)) page_of_device(struct str_ctx *c, struct str_page *p,
						     uint64_t la, uint64_t gpa)
{
	struct vcpu *v = c->v;

	p->la_page = ~0ull;
	p->gpa_page = gpa & ~(uint64_t)(PAGE_SIZE - 1);
	p->ram = NULL;
	p->region = mmio_region_find_hinted(mmio_regions(), &v->region_hint, p->gpa_page);
	if (!p->region)
		return false;
	p->la_page = la >> PAGE_SHIFT;
	return true;
}

/* la's page for access: from the cache's RAM entry and the RAM page hint inline (the RAM side
 * of a string move mostly hits both), else page_of(). */
static inline __attribute__((always_inline)) bool page_at(struct str_ctx *c, struct str_page *p,
							  uint64_t la, bool write)
{
	struct vcpu *v = c->v;
	uint64_t gpa;
	uint8_t *ram;

	if (!mmio_cache_ram_hit(&v->mmio_cache, v->mmio_cache_on, c->regs, la,
				write ? GW_WRITE : 0, &gpa))
		return page_of(c, p, la, write);
	ram = guest_mem_ram_page(guest_gate(), &v->ram_hint, gpa);
	if (unlikely(!ram))
		return page_of_device(c, p, la, gpa);
	p->la_page = la >> PAGE_SHIFT;
	p->gpa_page = gpa & ~(uint64_t)(PAGE_SIZE - 1);
	p->ram = ram;
	p->region = NULL;
	return true;
}

static inline bool same_page(const struct str_page *p, uint64_t la)
{
	return p->la_page == la >> PAGE_SHIFT;
}

/* Whole elements from la on, in the string's direction, before the page ends (size is
 * 1 << shift). */
static uint64_t fit_in_page(uint64_t la, unsigned size, unsigned shift, bool down)
{
	unsigned off = la & (PAGE_SIZE - 1);

	if (down)
		return off + size <= PAGE_SIZE ? (off >> shift) + 1 : 0;
	return (PAGE_SIZE - off) >> shift;
}

static inline __attribute__((always_inline)) bool
elem_read(struct str_ctx *c, const struct str_page *p, uint64_t la, uint64_t *val)
{
	unsigned off = la & (PAGE_SIZE - 1);

	if (p->ram) {
		memcpy_small(val, p->ram + off, c->size);
		return true;
	}
	return !mmio_region_access(p->region, p->gpa_page + off, c->rip, val, c->size, false);
}

static inline __attribute__((always_inline)) bool
elem_write(struct str_ctx *c, const struct str_page *p, uint64_t la, uint64_t val)
{
	unsigned off = la & (PAGE_SIZE - 1);

	if (p->ram) {
		memcpy_small(p->ram + off, &val, c->size);
		return true;
	}
	return !mmio_region_access(p->region, p->gpa_page + off, c->rip, &val, c->size, true);
}

/* A register write at size bytes: 1 and 2 merge, 4 zero-extends, 8 is whole. */
static uint64_t sized(uint64_t old, uint64_t val, unsigned size)
{
	if (size == 8)
		return val;
	if (size == 4)
		return (uint32_t)val;
	uint64_t mask = (1ull << (size * 8)) - 1;

	return (old & ~mask) | (val & mask);
}

/*
 * n elements within the current pages, in order; *done: how many before a device failed
 * (false then).  Between RAM and one device (or STOS/LODS with a device) the device takes
 * a run of several elements in one call: the RAM side is read or written in place.
 */
static inline __attribute__((always_inline)) bool
run_chunk(struct str_ctx *c, enum str_op op, const struct str_page *src,
		      const struct str_page *dst, uint64_t si, uint64_t di, uint64_t step,
		      unsigned n, uint64_t *acc, uint64_t *done)
{
	unsigned so = si & (PAGE_SIZE - 1), doff = di & (PAGE_SIZE - 1), k;
	int64_t st = (int64_t)step;
	uint64_t val = 0;

	/* A single element needs no run: one device access below. */
	switch (n > 1 ? op : STR_NONE) {
	case STR_STOS:
		if (dst->ram)
			break;
		val = *acc;
		*done = mmio_region_access_run(dst->region, dst->gpa_page + doff, st, c->rip,
					       (uint8_t *)&val, 0, c->size, n, true);
		return *done == n;
	case STR_LODS:
		if (src->ram)
			break;
		*done = k = mmio_region_access_run(src->region, src->gpa_page + so, st, c->rip,
						   (uint8_t *)&val, 0, c->size, n, false);
		if (k)
			*acc = sized(*acc, val, c->size);
		return k == n;
	case STR_MOVS:
		if (src->ram && !dst->ram)
			*done = mmio_region_access_run(dst->region, dst->gpa_page + doff, st, c->rip,
						       src->ram + so, st, c->size, n, true);
		else if (!src->ram && dst->ram)
			*done = mmio_region_access_run(src->region, src->gpa_page + so, st, c->rip,
						       dst->ram + doff, st, c->size, n, false);
		else
			break;
		return *done == n;
	default:
		break;
	}
	/* Device to device (or RAM to RAM): one element at a time. */
	for (k = 0; k < n; k++, si += step, di += step) {
		val = *acc;
		if (op != STR_STOS && !elem_read(c, src, si, &val))
			break;
		if (op != STR_LODS && !elem_write(c, dst, di, val))
			break;
		if (op == STR_LODS)
			*acc = sized(*acc, val, c->size);
	}
	*done = k;
	return k == n;
}

/*
 * The operand of the access the exit reports takes the exit's page for its first element: the
 * CPU translated that element's linear address (its page is in region, the exit's device) and
 * checked its rights, so it needs neither a walk nor the cache.  A write is ES:RDI's (MOVS,
 * STOS), a read DS:RSI's (MOVS, LODS); an exit for the other operand's direction says nothing.
 */
static inline __attribute__((always_inline)) void
exit_page(struct str_ctx *c, enum str_op op, struct str_page *src,
		      struct str_page *dst, uint64_t si, uint64_t di,
		      const struct mmio_region *region)
{
	uint64_t access = c->v->npf_access;
	bool write = access & VCPU_NPF_WRITE;
	struct str_page *p = write ? dst : src;

	if (access == VCPU_NPF_NONE || op == (write ? STR_LODS : STR_STOS))
		return;
	p->la_page = (write ? di : si) >> PAGE_SHIFT;
	p->gpa_page = access & ~VCPU_NPF_WRITE & ~(uint64_t)(PAGE_SIZE - 1);
	p->region = region;
	c->counted_hit = true; /* served without a walk, as a cache hit is */
}

/*
 * The string of op (a constant in each caller: every "op !=" test folds away), as
 * vcpu_mmio_string() describes.
 */
static inline __attribute__((always_inline)) bool
string_run(struct vcpu *v, const struct x86_insn *in, const struct mmio_string_memo *m,
	   enum str_op op, const struct gw_regs *regs, uint64_t rip, uint64_t rflags,
	   const struct mmio_region *region)
{
	struct str_ctx c = {.v = v, .regs = regs, .rip = rip, .size = m->size};
	struct str_page src = {.la_page = ~0ull}, dst = {.la_page = ~0ull};
	uint64_t am = m->am, si, di, cx, step, acc, todo, left;
	bool down;

	if ((op != STR_STOS && !vcpu_flat_segment(v, in->mode, m->sseg, false)) ||
	    (op != STR_LODS && !vcpu_flat_segment(v, in->mode, X86_SEG_ES, true)))
		return false;
	down = rflags & X86_FL_DF;
	step = down ? -(uint64_t)c.size : c.size;
	/* RSI, RDI, RCX and RAX live in gpr[] (only RSP is the backend's). */
	si = v->gpr[GPR_RSI] & am;
	di = v->gpr[GPR_RDI] & am;
	cx = m->rep ? v->gpr[GPR_RCX] & am : 1;
	acc = v->gpr[GPR_RAX];
	exit_page(&c, op, &src, &dst, si, di, region);

	todo = left = MIN(cx, STRING_BUDGET);
	while (left) {
		uint64_t n = left;
		bool ok;

		/* Translate each operand's page once; the elements up to its end follow. */
		if (op != STR_STOS) {
			if (!same_page(&src, si) && !page_at(&c, &src, si, false))
				break;
			n = MIN(n, fit_in_page(si, c.size, m->shift, down));
		}
		if (op != STR_LODS) {
			if (!same_page(&dst, di) && !page_at(&c, &dst, di, true))
				break;
			n = MIN(n, fit_in_page(di, c.size, m->shift, down));
		}
		if (!n)
			break; /* an element straddles a page: the general path */
		ok = run_chunk(&c, op, &src, &dst, si, di, step, (unsigned)n, &acc, &n);
		if (op != STR_STOS)
			si = (si + n * step) & am;
		if (op != STR_LODS)
			di = (di + n * step) & am;
		left -= n;
		if (!ok)
			break;
	}
	if (left == todo)
		return false;
	cx -= todo - left;
	/* Address-size register writes, as the CPU's: 32-bit ones zero-extend, which is what
	 * SI, DI and CX hold (masked by am; 16-bit addresses are refused). */
	if (op != STR_STOS)
		v->gpr[GPR_RSI] = si;
	if (op != STR_LODS)
		v->gpr[GPR_RDI] = di;
	if (m->rep)
		v->gpr[GPR_RCX] = cx;
	if (op == STR_LODS)
		v->gpr[GPR_RAX] = acc;
	v->mmio[MMIO_COUNTER_EXITS]++;
	if (v->mmio_cache_on)
		v->mmio[c.counted_hit ? MMIO_COUNTER_HITS : MMIO_COUNTER_MISSES]++;
	/* The RAM operand's translation the cache now holds must see the guest's next TLB
	 * flush (the device's, if any, is armed for by the caller). */
	if (v->mmio_cache.ram.valid)
		vcpu_flush_exits_arm(v, FLUSH_EXITS_ALL);
	if (!cx)
		v->ops->set_rip(v, rip + in->len);
	return true;
}

bool vcpu_mmio_string(struct vcpu *v, const struct x86_insn *in, const struct gw_regs *regs,
		      uint64_t rip, uint64_t rflags, const struct mmio_region *region)
{
	struct mmio_string_memo scratch;
	const struct mmio_string_memo *m = string_memo_of(v, in, &scratch);

	switch (m->op) {
	case STR_MOVS:
		return string_run(v, in, m, STR_MOVS, regs, rip, rflags, region);
	case STR_STOS:
		return string_run(v, in, m, STR_STOS, regs, rip, rflags, region);
	case STR_LODS:
		return string_run(v, in, m, STR_LODS, regs, rip, rflags, region);
	default:
		return false;
	}
}
