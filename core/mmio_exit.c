/*
 * The MMIO exit path, vendor-neutral.  A guest access to a device page exits (EPT violation /
 * NPF); the instruction at RIP is fetched through the guest's page tables, decoded and
 * emulated by mmio/x86_emulate.  Each memory operand is translated by mmio_translate(): the
 * per-vCPU cache of the last MMIO translation (guest linear page -> gfn + rights) skips the
 * guest page walk when the page and the access rights still match, and every guest TLB flush
 * mhv sees clears it (vcpu_guest_tlb_flush).  The operand then goes to its device, or to
 * guest RAM; mhv's own memory is never reachable.
 */
#include "core/mmio_exit.h"
#include "arch/x86/cpu.h"
#include "arch/x86/exception.h"
#include "arch/x86/paging.h"
#include "core/flush_exits.h"
#include "core/guest.h"
#include "core/insn_fetch.h"
#include "core/insn_fetch_hit.h"
#include "core/mmio_data_bp.h"
#include "core/mmio_fast.h"
#include "mmio/locked_insn.h"
#include "core/mmio_setup.h"
#include "core/mmio_xsave.h"
#include "core/vcpu.h"
#include "lib/compiler.h"
#include "lib/errno.h"
#include "lib/log.h"
#include "lib/string.h"
#include "mm/guest_mem.h"
#include "mm/memmap.h"
#include "mmio/mmio_cache.h"

#define UNSUPPORTED_REPORT_LIMIT 8
#define NOT_MAPPED_REPORT_LIMIT	 8
#define FXSAVE_XMM_OFFSET	 160
#define XSAVE_YMM_HI_OFFSET	 576
#define XSAVE_AREA_SIZE		 1024
#define XSAVE_HEADER_BV_OFFSET	 512
#define XCR0_X87		 (1u << 0)
#define XCR0_SSE		 (1u << 1)
#define FXSAVE_FSW_OFFSET	 2
#define FXSAVE_FTW_OFFSET	 4 /* abridged tag byte: bit i set = R[i] valid */
#define FXSAVE_ST_OFFSET	 32
#define FXSAVE_MXCSR_OFFSET	 24
#define FXSAVE_MXCSR_MASK_OFFSET 28
#define MXCSR_MASK_DEFAULT	 0xFFBFu /* an image with MXCSR_MASK 0 (SDM 11.6.6) */
#define X87_REGS		 8
#define X87_SLOT_BYTES		 16
#define X87_FSW_ES		 (1u << 7)
#define X87_FSW_TOP_SHIFT	 11
#define X87_FCW_INIT		 0x037Fu
#define X87_FTW_ALL_VALID	 0xFF
#define X87_MMX_EXPONENT	 0xFF
#define XCR0_AVX		 (1u << 2)
#define XMM_BYTES		 16

/*
 * The data page one emulation translated last: an instruction's probe, read and write of its
 * operand translate once, like the CPU's TLB within one instruction.  Kept for the access
 * (gw, with the CPL it was walked at) it was translated for; a write translation serves a
 * read (write rights imply read rights: U/S, SMAP and PKRU deny both).  Never for fetches.
 */
struct mmio_data_page {
	uint64_t la_page; /* MMIO_NO_PAGE: none */
	uint64_t gpa_page;
	const struct mmio_region *region; /* the device region holding it, or NULL */
	unsigned gw, cpl;
};

#define MMIO_NO_PAGE	   1 /* no page-aligned address */
#define MMIO_IN_PAGE	   (PAGE_SIZE - 1)

/* What the emulator's callbacks need during one exit. */
struct mmio_exit_ctx {
	struct vcpu *v;
	struct mmio_fast_state st; /* regs: the guest's paging state (walked through
				      vcpu_gw_mem); cpu.rip: the instruction's (also for device
				      logs); the rest for the MMIO exit only */
	struct mmio_data_page page;
	int first_mmio_hit; /* -1: no MMIO operand translated yet; else 0 miss / 1 hit */
	bool seeded;	    /* page came from the MMIO cache's entry (seed_exit_page) */
	/* The segments read during this emulation (bit i: seg[i] holds segment i): each is read
	 * from the VMCS/VMCB once per exit, however often the emulator asks, as the backend
	 * gives them: read straight into their slot, no copy on the way. */
	unsigned seg_have;
	struct vcpu_segment seg[X86_NR_SEGS];
	/* A locked instruction's device word between its read and write (mmio/locked_insn.h):
	 * lock_watch, this emulation may be one; lock_retry, its write found the word changed. */
	bool lock_watch, lock_retry;
	struct mmio_locked locked;
	struct mmio_data_bp bp; /* the guest's data breakpoints over the emulated accesses */
	/* A typed device access in flight (value_read, emu_write_value): what its rare ends (a
	 * failure, a data breakpoint) need after the device call, kept here so that only the
	 * context and the value live across the call. */
	struct {
		uint64_t la;
		unsigned len;
		struct x86_exception *exc;
	} acc;
};

static uint64_t emu_get_reg(void *opaque, unsigned reg)
{
	struct vcpu *v = ((struct mmio_exit_ctx *)opaque)->v;

	if (reg == X86_REG_RIP)
		return v->ops->get_rip(v);
	if (reg == X86_REG_RFLAGS)
		return v->ops->get_rflags(v);
	if (reg == GPR_RSP)
		return v->ops->get_rsp(v);
	return v->gpr[reg];
}

static void emu_set_reg(void *opaque, unsigned reg, uint64_t val)
{
	struct vcpu *v = ((struct mmio_exit_ctx *)opaque)->v;

	if (reg == X86_REG_RIP)
		v->ops->set_rip(v, val);
	else if (reg == X86_REG_RFLAGS)
		v->ops->set_rflags(v, val);
	else if (reg == GPR_RSP)
		v->ops->set_rsp(v, val);
	else
		v->gpr[reg] = val;
}

/* emu_commit's GPRs, out of line: most emulated instructions write none. */
static __attribute__((noinline)) void commit_gprs(struct vcpu *v, const uint64_t *gpr,
						   uint32_t dirty)
{
	for (; dirty; dirty &= dirty - 1) {
		unsigned i = (unsigned)__builtin_ctz(dirty);

		if (i == GPR_RSP)
			v->ops->set_rsp(v, gpr[i]);
		else
			v->gpr[i] = gpr[i];
	}
}

/* emu_commit's every case: GPRs, then RIP and RFLAGS as the instruction wrote them. */
static __attribute__((noinline)) void commit_any(struct vcpu *v, const uint64_t *gpr,
						 uint32_t dirty, const uint64_t *rip, uint64_t rflags,
						 bool set_rflags)
{
	if (dirty)
		commit_gprs(v, gpr, dirty);
	if (rip)
		v->ops->set_rip(v, *rip);
	if (set_rflags)
		v->ops->set_rflags(v, rflags);
}

/*
 * emu_set_reg for each register an instruction wrote, in x86e_commit's order, one call.  The
 * common case, a memory destination (no GPR) with RIP and flags, is one backend call and no
 * frame here.
 */
static void emu_commit(void *opaque, const uint64_t *gpr, uint32_t dirty, const uint64_t *rip,
		       uint64_t rflags, bool set_rflags)
{
	struct vcpu *v = ((struct mmio_exit_ctx *)opaque)->v;

	if (dirty || !rip || !set_rflags) {
		commit_any(v, gpr, dirty, rip, rflags, set_rflags);
		return;
	}
	v->ops->set_rip_rflags(v, *rip, rflags);
}

static inline struct x86_segment x86_segment_of(const struct vcpu_segment *vs)
{
	return (struct x86_segment){
		.base = vs->base, .limit = vs->limit, .selector = vs->selector, .attr = vs->attr};
}

/* emu_get_seg's first read of a segment in this emulation (out of line: a repeat needs no
 * frame). */
static __attribute__((noinline)) __no_frame_pointer void
seg_first_read(struct mmio_exit_ctx *c, unsigned seg, struct x86_segment *s)
{
	struct vcpu_segment *slot = &c->seg[seg];

	c->seg_have |= 1u << seg; /* before the call: only slot and s live across it */
	c->v->ops->get_segment(c->v, seg, slot);
	*s = x86_segment_of(slot);
}

static __no_frame_pointer void emu_get_seg(void *opaque, unsigned seg, struct x86_segment *s)
{
	struct mmio_exit_ctx *c = opaque;

	if (!(c->seg_have & (1u << seg))) {
		seg_first_read(c, seg, s);
		return;
	}
	*s = x86_segment_of(&c->seg[seg]);
}

static void emu_get_sysseg(void *opaque, unsigned which, struct x86_segment *s)
{
	struct vcpu *v = ((struct mmio_exit_ctx *)opaque)->v;
	struct vcpu_segment vs;

	v->ops->get_sysseg(v, which, &vs);
	s->base = vs.base;
	s->limit = vs.limit;
	s->selector = vs.selector;
	s->attr = vs.attr; /* LDTR, TR: a 16-bit TSS's stack slots are words */
}

static int emu_set_dtr(void *opaque, unsigned which, uint64_t base, uint32_t limit,
		       struct x86_exception *exc)
{
	struct vcpu *v = ((struct mmio_exit_ctx *)opaque)->v;

	(void)exc;
	v->ops->set_dtr(v, which, base, limit);
	return 0;
}

static int emu_lmsw(void *opaque, uint16_t src, struct x86_exception *exc)
{
	struct vcpu *v = ((struct mmio_exit_ctx *)opaque)->v;

	if (vcpu_lmsw(v, src))
		return 0;
	*exc = (struct x86_exception){.vector = VEC_GP, .has_error_code = true};
	return 1;
}

static void emu_get_ctl(void *opaque, struct x86_cpu_ctl *ctl)
{
	const struct mmio_exit_ctx *c = opaque;

	ctl->cr0 = c->st.regs.cr0;
	ctl->cr4 = c->st.regs.cr4;
	ctl->efer = c->st.regs.efer;
	ctl->cpl = (uint8_t)c->st.regs.cpl;
}

static void set_gp(struct x86_exception *exc)
{
	*exc = (struct x86_exception){.vector = VEC_GP, .has_error_code = true};
}

static void set_pf(struct x86_exception *exc, uint64_t la, uint32_t error)
{
	*exc = (struct x86_exception){
		.vector = VEC_PF, .has_error_code = true, .error_code = error, .cr2 = la};
}

static bool in_hv(const struct vcpu *v, uint64_t gpa, unsigned len)
{
	return gpa < v->hv_end && gpa + len > v->hv_start;
}

static void report_access(const struct vcpu *v, uint64_t gpa, unsigned len, unsigned how, int kind)
{
	static unsigned reported;

	if (reported >= NOT_MAPPED_REPORT_LIMIT)
		return;
	reported++;
	pr_warn("mhv: guest %s %s at GPA 0x%lx through an emulated access: #GP\n",
		how == GW_WRITE ? "writes" : "reads",
		in_hv(v, gpa, len)    ? "mhv's memory"
		: kind == -E_FAULT ? "unmapped memory"
				      : "a device that failed",
		gpa);
}

/* A little-endian value of len (1, 2, 4 or 8) bytes at buf, and back: one load or store. */
static uint64_t buf_value(const void *buf, unsigned len)
{
	uint8_t b;
	uint16_t w;
	uint32_t d;
	uint64_t q;

	switch (len) {
	case sizeof(b):
		__builtin_memcpy(&b, buf, sizeof(b));
		return b;
	case sizeof(w):
		__builtin_memcpy(&w, buf, sizeof(w));
		return w;
	case sizeof(d):
		__builtin_memcpy(&d, buf, sizeof(d));
		return d;
	default:
		__builtin_memcpy(&q, buf, sizeof(q));
		return q;
	}
}

static void value_buf(void *buf, unsigned len, uint64_t val)
{
	uint8_t b = (uint8_t)val;
	uint16_t w = (uint16_t)val;
	uint32_t d = (uint32_t)val;

	switch (len) {
	case sizeof(b):
		__builtin_memcpy(buf, &b, sizeof(b));
		break;
	case sizeof(w):
		__builtin_memcpy(buf, &w, sizeof(w));
		break;
	case sizeof(d):
		__builtin_memcpy(buf, &d, sizeof(d));
		break;
	default:
		__builtin_memcpy(buf, &val, sizeof(val));
		break;
	}
}

/*
 * The device access itself: through the device's lock-free typed entry points for 1, 2, 4
 * or 8 bytes where it offers them (mmio/device.h; the MMIO short path's way), else locked.
 */
static inline __attribute__((always_inline)) int device_call(const struct mmio_region *r,
							      uint64_t gpa, uint64_t rip, void *buf,
							      unsigned len, bool write)
{
	unsigned i = (unsigned)__builtin_ctz(len);

	if (len <= sizeof(uint64_t) && r->ops->read_value[i]) {
		struct mmio_value res;

		if (write)
			return r->ops->write_value[i](r->dev, gpa - r->base, buf_value(buf, len));
		res = r->ops->read_value[i](r->dev, gpa - r->base);
		if (!res.err)
			value_buf(buf, len, res.val);
		return (int)res.err;
	}
	return mmio_region_access(r, gpa, rip, buf, len, write);
}

/* device_call for the emulator's accesses: a locked instruction's (mmio/locked_insn.h). */
static inline __attribute__((always_inline)) int ctx_device_call(struct mmio_exit_ctx *c,
								  const struct mmio_region *r,
								  uint64_t gpa, void *buf,
								  unsigned len, bool write)
{
	int rc;

	if (unlikely(c->lock_watch) && mmio_locked_insn_call(&c->locked, c->v->emu.insn, r, gpa,
							     c->st.cpu.rip, buf, len, write, &rc)) {
		c->lock_retry |= rc == -E_AGAIN;
		return rc;
	}
	return device_call(r, gpa, c->st.cpu.rip, buf, len, write);
}

/* Translate la (a miss of c->page); a data access's page is kept in c->page. */
static int translate(struct mmio_exit_ctx *c, uint64_t la, unsigned how, unsigned gw,
		     uint64_t *gpa, struct x86_exception *exc)
{
	static unsigned reported;
	struct vcpu *v = c->v;
	const struct mmio_regions *rs = guest_gate()->regions;
	const struct mmio_region *region;
	struct gw_result fault;
	uint64_t hits = v->mmio_cache.hits;
	int err;

	/* The cache's entry first, inline: mmio_translate's own lookup without its call and the
	 * rights copy a hit makes for callers that want them (a hit never faults). */
	if (v->mmio_cache_on && mmio_cache_hit(&v->mmio_cache, &c->st.regs, la, gw, gpa)) {
		v->mmio_cache.hits++;
		err = 0;
	} else {
		/* The walk reads the guest's page tables through the gate, which takes the device
		 * lock for a table on a device page: a locked instruction's held word (a piece of
		 * an operand split across pages) goes first, or this CPU would wait for itself.
		 * The operand's accesses are then two, as for any other access in between. */
		if (unlikely(c->lock_watch))
			mmio_locked_cancel(&c->locked);
		err = mmio_translate(&v->mmio_cache, v->mmio_cache_on, &c->st.regs, &vcpu_gw_mem,
				     la, gw, gpa, &fault);
	}
	if (err == -E_FAULT) {
		set_pf(exc, la, fault.pf_error);
		return 1;
	}
	if (err) {
		/* The guest's page tables lead outside its memory (or into an unsupported mode). */
		if (reported < NOT_MAPPED_REPORT_LIMIT) {
			reported++;
			pr_warn("mhv: guest page walk for 0x%lx failed (error %d): #GP\n", la, err);
		}
		set_gp(exc);
		return 1;
	}
	/* A translation the cache now holds must see the guest's next TLB flush (every caller:
	 * an event delivery or a descriptor read fills it as an emulated instruction does). */
	if (v->mmio_cache.valid || v->mmio_cache.ram.valid)
		vcpu_flush_exits_arm(v, FLUSH_EXITS_ALL);
	region = rs ? mmio_region_find_hinted(rs, &v->region_hint, *gpa) : NULL;
	if (region && c->first_mmio_hit < 0)
		c->first_mmio_hit = v->mmio_cache.hits != hits;
	if (how != GW_FETCH)
		c->page = (struct mmio_data_page){.la_page = la & ~MMIO_IN_PAGE,
						  .gpa_page = *gpa & ~MMIO_IN_PAGE,
						  .region = region,
						  .gw = gw,
						  .cpl = c->st.regs.cpl};
	return 0;
}

/*
 * One page-bounded access (the emulator splits at 4 KiB) to a guest linear address; a probe
 * (buf NULL) is only translated and checked against the gate, nothing accessed.  A device
 * region's page takes a naturally aligned access of one piece straight to its device (what
 * the gate would do with it); anything else goes through the gate.
 */
static int mem_access(struct mmio_exit_ctx *c, uint64_t la, void *buf, unsigned len, unsigned how,
		      struct x86_exception *exc)
{
	const struct mmio_data_page *p = &c->page;
	unsigned gw = how | (c->st.regs.cpl == 3 ? GW_USER : 0);
	uint64_t gpa;
	int kind;

	if (how != GW_FETCH && (la & ~MMIO_IN_PAGE) == p->la_page && p->cpl == c->st.regs.cpl &&
	    (p->gw == gw || p->gw == (gw | GW_WRITE)))
		gpa = p->gpa_page | (la & MMIO_IN_PAGE);
	else if (translate(c, la, how, gw, &gpa, exc))
		return 1;
	if (how != GW_FETCH && p->region) {
		kind = GPA_TRAPPED;
		if (buf && !(len & (len - 1)) && !(gpa & (len - 1)) && len <= MMIO_ACCESS_MAX) {
			int err = ctx_device_call(c, p->region, gpa, buf, len, how == GW_WRITE);

			kind = err ? err : GPA_TRAPPED;
		} else if (buf) {
			if (unlikely(c->lock_watch)) /* the gate takes the device lock itself */
				mmio_locked_cancel(&c->locked);
			kind = guest_mem_access(guest_gate(), gpa, buf, len,
						how == GW_WRITE ? GMEM_WRITE : 0, c->st.cpu.rip);
		}
	} else if (!buf) {
		kind = guest_mem_kind(guest_gate(), gpa) == GPA_UNMAPPED ? -E_FAULT : GPA_RAM;
	} else {
		kind = guest_mem_access(guest_gate(), gpa, buf, len,
					how == GW_WRITE ? GMEM_WRITE : 0, c->st.cpu.rip);
	}
	if (kind >= 0)
		return 0;
	if (!(c->lock_watch && c->lock_retry)) /* a locked write that found its word changed */
		report_access(c->v, gpa, len, how, kind);
	set_gp(exc);
	return 1;
}

/* Descriptor-table reads and the accessed-bit write: implicit supervisor accesses. */
static int emu_sys_access(void *opaque, uint64_t la, void *buf, unsigned len, bool write,
			  struct x86_exception *exc)
{
	struct mmio_exit_ctx *c = opaque;
	unsigned cpl = c->st.regs.cpl;
	int r;

	c->st.regs.cpl = 0;
	r = mem_access(c, la, buf, len, write ? GW_WRITE : 0, exc);
	c->st.regs.cpl = cpl;
	return r;
}

static void emu_set_sysseg(void *opaque, unsigned which, const struct x86_segment *s)
{
	struct vcpu *v = ((struct mmio_exit_ctx *)opaque)->v;
	struct vcpu_segment vs = {
		.selector = s->selector, .base = s->base, .limit = s->limit, .attr = s->attr};

	v->ops->set_sysseg(v, which, &vs);
}

static void emu_set_seg(void *opaque, unsigned seg, const struct x86_segment *s)
{
	struct mmio_exit_ctx *c = opaque;
	struct vcpu_segment vs = {
		.selector = s->selector, .base = s->base, .limit = s->limit, .attr = s->attr};

	c->v->ops->set_segment(c->v, seg, &vs);
	c->seg_have &= ~(1u << seg); /* read back as the backend stored it */
}

static int emu_fetch(void *opaque, uint64_t la, void *buf, unsigned len, struct x86_exception *exc)
{
	return mem_access(opaque, la, buf, len, GW_FETCH, exc);
}

/*
 * The common case of mem_access() on its own: la in the device page this instruction
 * translated already (for writing, if write; at the same CPL), an access the gate would make
 * one device piece.  *gpa: where.
 */
static inline bool device_page_hit(const struct mmio_exit_ctx *c, uint64_t la, unsigned len,
				   bool write, uint64_t *gpa)
{
	const struct mmio_data_page *p = &c->page;

	*gpa = p->gpa_page | (la & MMIO_IN_PAGE);
	return (la & ~MMIO_IN_PAGE) == p->la_page && p->region && p->cpl == c->st.regs.cpl &&
	       (!write || (p->gw & GW_WRITE)) && !(len & (len - 1)) && !(*gpa & (len - 1)) &&
	       len <= MMIO_ACCESS_MAX;
}

/* Inline in its callers: one frame per emulated device access, not two. */
static inline __attribute__((always_inline)) int
device_page_access(struct mmio_exit_ctx *c, uint64_t gpa, void *buf, unsigned len, bool write,
		   struct x86_exception *exc)
{
	int err = ctx_device_call(c, c->page.region, gpa, buf, len, write);

	if (!err)
		return 0;
	if (!(c->lock_watch && c->lock_retry))
		report_access(c->v, gpa, len, write ? GW_WRITE : 0, err);
	set_gp(exc);
	return 1;
}

static int emu_read(void *opaque, uint64_t la, void *buf, unsigned len, struct x86_exception *exc)
{
	struct mmio_exit_ctx *c = opaque;
	uint64_t gpa;
	int r;

	if (device_page_hit(c, la, len, false, &gpa))
		r = device_page_access(c, gpa, buf, len, false, exc);
	else
		r = mem_access(c, la, buf, len, 0, exc);
	if (!r)
		mmio_data_bp_note(&c->bp, c->v, la, len, false);
	return r;
}

static int emu_write(void *opaque, uint64_t la, const void *buf, unsigned len,
		     struct x86_exception *exc)
{
	struct mmio_exit_ctx *c = opaque;
	uint64_t gpa;
	int r;

	if (device_page_hit(c, la, len, true, &gpa))
		r = device_page_access(c, gpa, (void *)buf, len, true, exc);
	else
		r = mem_access(c, la, (void *)buf, len, GW_WRITE, exc);
	if (!r)
		mmio_data_bp_note(&c->bp, c->v, la, len, true);
	return r;
}

/*
 * emu_read/emu_write with the value in a register (len 1, 2, 4 or 8, within one page): a hit
 * of the device page this instruction translated whose device has typed entry points goes
 * straight to them, without the byte buffer either side converts through; anything else is
 * emu_read/emu_write's path with a buffer (out of line, so the hit needs no frame for it),
 * so the answer is the same in every case.
 */
static __attribute__((noinline)) int emu_read_value_buf(void *opaque, uint64_t la, unsigned len,
							uint64_t *val, struct x86_exception *exc)
{
	uint8_t buf[sizeof(uint64_t)];

	if (emu_read(opaque, la, buf, len, exc))
		return 1;
	*val = buf_value(buf, len);
	return 0;
}

static __attribute__((noinline)) int emu_write_value_buf(void *opaque, uint64_t la, unsigned len,
							 uint64_t val, struct x86_exception *exc)
{
	uint8_t buf[sizeof(uint64_t)];

	value_buf(buf, len, val);
	return emu_write(opaque, la, buf, len, exc);
}

/* The typed device access c->acc failed: what device_page_access does with it. */
static __attribute__((noinline)) int value_failed(struct mmio_exit_ctx *c, bool write, int err)
{
	report_access(c->v, c->page.gpa_page | (c->acc.la & MMIO_IN_PAGE), c->acc.len,
		      write ? GW_WRITE : 0, err);
	set_gp(c->acc.exc);
	return 1;
}

/* A typed device access starts: what its rare ends need, in c->acc. */
static inline __attribute__((always_inline)) void
value_start(struct mmio_exit_ctx *c, uint64_t la, unsigned len, struct x86_exception *exc)
{
	c->acc.la = la;
	c->acc.len = len;
	c->acc.exc = exc;
}

/* The typed device access c->acc completed. */
static inline __attribute__((always_inline)) void value_done(struct mmio_exit_ctx *c, bool write)
{
	mmio_data_bp_note(&c->bp, c->v, c->acc.la, c->acc.len, write);
}

/*
 * emu_read_value's and emu_rmw_read_value's body: the typed read of a hit of the device page
 * this instruction translated (for writing, if write: a read-modify-write's read, which the
 * write's rights must allow), else fallback (emu_write_value is the store twin).  Inline in
 * both: one frame per emulated device read.
 */
static inline __attribute__((always_inline)) int
value_read(void *opaque, uint64_t la, unsigned len, uint64_t *val, struct x86_exception *exc,
	   bool write, int (*fallback)(void *, uint64_t, unsigned, uint64_t *, struct x86_exception *))
{
	struct mmio_exit_ctx *c = opaque;
	const struct mmio_region *r = c->page.region;
	struct mmio_value (*read)(void *dev, uint64_t offset);
	struct mmio_value res;
	uint64_t gpa;

	/* A locked instruction's accesses are one locked cycle (ctx_device_call): the byte path. */
	if (!device_page_hit(c, la, len, write, &gpa) || unlikely(c->lock_watch) ||
	    !(read = r->ops->read_value[__builtin_ctz(len)]))
		return fallback(opaque, la, len, val, exc);
	value_start(c, la, len, exc);
	res = read(r->dev, gpa - r->base);
	if (unlikely(res.err))
		return value_failed(c, false, (int)res.err);
	*val = res.val;
	value_done(c, false);
	return 0;
}

static __no_frame_pointer int emu_read_value(void *opaque, uint64_t la, unsigned len, uint64_t *val,
					     struct x86_exception *exc)
{
	return value_read(opaque, la, len, val, exc, false, emu_read_value_buf);
}

static __no_frame_pointer int emu_write_value(void *opaque, uint64_t la, unsigned len, uint64_t val,
					      struct x86_exception *exc)
{
	struct mmio_exit_ctx *c = opaque;
	const struct mmio_region *r = c->page.region;
	int (*write)(void *dev, uint64_t offset, uint64_t val);
	uint64_t gpa;
	int err;

	if (!device_page_hit(c, la, len, true, &gpa) || unlikely(c->lock_watch) ||
	    !(write = r->ops->write_value[__builtin_ctz(len)]))
		return emu_write_value_buf(opaque, la, len, val, exc);
	value_start(c, la, len, exc);
	err = write(r->dev, gpa - r->base, val);
	if (unlikely(err))
		return value_failed(c, true, err);
	value_done(c, true);
	return 0;
}

static int emu_probe(void *opaque, uint64_t la, unsigned len, bool write,
		     struct x86_exception *exc)
{
	const struct mmio_exit_ctx *c = opaque;
	const struct mmio_data_page *p = &c->page;

	/* Within the device page translated already (for writing, if write; at this CPL):
	 * nothing left to check, a device page being what the gate traps (mem_access). */
	if ((la & ~MMIO_IN_PAGE) == p->la_page && ((la + len - 1) & ~MMIO_IN_PAGE) == p->la_page &&
	    p->region && p->cpl == c->st.regs.cpl && (!write || (p->gw & GW_WRITE)))
		return 0;
	return mem_access(opaque, la, NULL, len, write ? GW_WRITE : 0, exc);
}

/* A read-modify-write's read: a hit of the device page translated for writing is what
 * emu_probe(write) passes without a check, so emu_read_value's typed read follows at once;
 * anything else probes for writing first (a write that faults, faults before the read). */
static __attribute__((noinline)) int emu_rmw_read_slow(void *opaque, uint64_t la, unsigned len,
						       uint64_t *val, struct x86_exception *exc)
{
	return emu_probe(opaque, la, len, true, exc) || emu_read_value(opaque, la, len, val, exc);
}

static __no_frame_pointer int emu_rmw_read_value(void *opaque, uint64_t la, unsigned len,
						 uint64_t *val, struct x86_exception *exc)
{
	return value_read(opaque, la, len, val, exc, true, emu_rmw_read_slow);
}

/*
 * Vector registers: mhv never touches SSE/AVX state (-mgeneral-regs-only), so the guest's
 * registers are live in the CPU.  XSAVE/XRSTOR (or FXSAVE/FXRSTOR) reach them.
 */
static uint8_t xsave_area[XSAVE_AREA_SIZE] __aligned(64);

static uint32_t xcr0_vec_mask(void)
{
	uint32_t lo, hi;

	if (!(read_cr4() & CR4_OSXSAVE))
		return 0;
	asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return lo & (XCR0_SSE | XCR0_AVX);
}

static void vec_save(uint32_t mask)
{
	if (mask)
		asm volatile("xsave64 %0" : "=m"(xsave_area) : "a"(mask), "d"(0) : "memory");
	else
		asm volatile("fxsave64 %0" : "=m"(xsave_area)::"memory");
}

static void vec_restore(uint32_t mask)
{
	if (mask)
		asm volatile("xrstor64 %0" ::"m"(xsave_area), "a"(mask), "d"(0) : "memory");
	else
		asm volatile("fxrstor64 %0" ::"m"(xsave_area) : "memory");
}

static void emu_get_vec(void *opaque, unsigned idx, uint8_t *buf, unsigned len)
{
	uint32_t mask = xcr0_vec_mask();

	(void)opaque;
	vec_save(mask);
	memcpy(buf, xsave_area + FXSAVE_XMM_OFFSET + XMM_BYTES * idx, MIN(len, XMM_BYTES));
	if (len > XMM_BYTES)
		memcpy(buf + XMM_BYTES, xsave_area + XSAVE_YMM_HI_OFFSET + XMM_BYTES * idx,
		       len - XMM_BYTES);
}

static void emu_set_vec(void *opaque, unsigned idx, const uint8_t *buf, unsigned len,
			bool zero_upper)
{
	uint32_t mask = xcr0_vec_mask();
	uint8_t *hi = xsave_area + XSAVE_YMM_HI_OFFSET + XMM_BYTES * idx;

	(void)opaque;
	vec_save(mask);
	memcpy(xsave_area + FXSAVE_XMM_OFFSET + XMM_BYTES * idx, buf, MIN(len, XMM_BYTES));
	if (mask & XCR0_AVX) {
		if (len > XMM_BYTES)
			memcpy(hi, buf + XMM_BYTES, len - XMM_BYTES);
		else if (zero_upper)
			memset(hi, 0, XMM_BYTES);
	}
	/* Mark the components present so XRSTOR loads them: XSAVE leaves XSTATE_BV clear for a
	 * component in its initial state (all XMM zero), and XRSTOR would re-initialise it. */
	xsave_area[XSAVE_HEADER_BV_OFFSET] |= (uint8_t)mask;
	vec_restore(mask);
}

/*
 * MMX registers: the x87 register file in the FXSAVE/XSAVE legacy area, slot j holding
 * ST(j) = R[(TOP + j) & 7].  An MMX instruction sets TOP to 0 and tags every register valid,
 * so afterwards slot i holds MMi; a write also sets the register's exponent bits (79:64).
 */
static int emu_mmx(void *opaque, unsigned idx, bool write, uint64_t *val)
{
	uint32_t mask = xcr0_vec_mask();
	uint32_t xmask = mask ? mask | XCR0_X87 : 0;
	uint8_t regs[X87_REGS][X87_SLOT_BYTES];
	uint16_t fsw;
	unsigned top;

	(void)opaque;
	vec_save(xmask);
	if (xmask && !(xsave_area[XSAVE_HEADER_BV_OFFSET] & XCR0_X87)) {
		/* x87 in its initial state: XSAVE need not have written its legacy fields.
		 * MXCSR and MXCSR_MASK (bytes 24-31) belong to the SSE state: kept. */
		memset(xsave_area, 0, FXSAVE_MXCSR_OFFSET);
		memset(xsave_area + FXSAVE_ST_OFFSET, 0, FXSAVE_XMM_OFFSET - FXSAVE_ST_OFFSET);
		xsave_area[0] = (uint8_t)X87_FCW_INIT;
		xsave_area[1] = (uint8_t)(X87_FCW_INIT >> 8);
	}
	memcpy(&fsw, xsave_area + FXSAVE_FSW_OFFSET, sizeof(fsw));
	if (fsw & X87_FSW_ES)
		return 1; /* a pending unmasked x87 exception: #MF */
	top = (fsw >> X87_FSW_TOP_SHIFT) & (X87_REGS - 1);
	for (unsigned i = 0; i < X87_REGS; i++)
		memcpy(regs[i], xsave_area + FXSAVE_ST_OFFSET + X87_SLOT_BYTES * ((i - top) & 7),
		       X87_SLOT_BYTES);
	if (write) {
		memcpy(regs[idx], val, sizeof(*val));
		regs[idx][sizeof(*val)] = X87_MMX_EXPONENT;
		regs[idx][sizeof(*val) + 1] = X87_MMX_EXPONENT;
	} else {
		memcpy(val, regs[idx], sizeof(*val));
	}
	memcpy(xsave_area + FXSAVE_ST_OFFSET, regs, sizeof(regs));
	fsw &= (uint16_t)~((X87_REGS - 1) << X87_FSW_TOP_SHIFT);
	memcpy(xsave_area + FXSAVE_FSW_OFFSET, &fsw, sizeof(fsw));
	xsave_area[FXSAVE_FTW_OFFSET] = X87_FTW_ALL_VALID;
	if (xmask)
		xsave_area[XSAVE_HEADER_BV_OFFSET] |= (uint8_t)xmask;
	vec_restore(xmask);
	return 0;
}

/* FXSAVE/FXRSTOR on a device page: the guest's x87/SSE state is live in the CPU. */
static void emu_fxsave(void *opaque, uint8_t *img, bool rex_w)
{
	(void)opaque;
	if (rex_w)
		asm volatile("fxsave64 %0" : "=m"(xsave_area)::"memory");
	else
		asm volatile("fxsave %0" : "=m"(xsave_area)::"memory");
	memcpy(img, xsave_area, X86_FXSR_AREA);
}

static int emu_fxrstor(void *opaque, const uint8_t *img, unsigned len, bool rex_w,
		       struct x86_exception *exc)
{
	uint32_t mxcsr, mask;

	(void)opaque;
	/* The current image first: what the guest's bytes do not cover, and MXCSR_MASK. */
	asm volatile("fxsave64 %0" : "=m"(xsave_area)::"memory");
	memcpy(&mask, xsave_area + FXSAVE_MXCSR_MASK_OFFSET, sizeof(mask));
	if (!mask)
		mask = MXCSR_MASK_DEFAULT;
	memcpy(xsave_area, img, MIN(len, (unsigned)X86_FXSR_AREA));
	memcpy(&mxcsr, xsave_area + FXSAVE_MXCSR_OFFSET, sizeof(mxcsr));
	if (mxcsr & ~mask) {
		*exc = (struct x86_exception){.vector = VEC_GP, .has_error_code = true};
		return 1;
	}
	if (rex_w)
		asm volatile("fxrstor64 %0" ::"m"(xsave_area) : "memory");
	else
		asm volatile("fxrstor %0" ::"m"(xsave_area) : "memory");
	return 0;
}

/* XSAVE/XRSTOR on a device page: the CPU runs them on this CPU's scratch area. */
static uint8_t *emu_xsave_area(void *opaque, uint32_t *cap, uint64_t *xcr0)
{
	return mmio_xsave_scratch(((struct mmio_exit_ctx *)opaque)->v->cpu, cap, xcr0);
}

static uint32_t emu_xsave_extent(void *opaque, uint64_t components, bool compacted)
{
	(void)opaque;
	return mmio_xsave_extent(components, compacted);
}

static void emu_xsave(void *opaque, uint64_t rfbm, bool rex_w)
{
	mmio_xsave_run(((struct mmio_exit_ctx *)opaque)->v->cpu, rfbm, rex_w);
}

static int emu_xrstor(void *opaque, uint64_t rfbm, bool rex_w, struct x86_exception *exc)
{
	if (mmio_xrstor_run(((struct mmio_exit_ctx *)opaque)->v->cpu, rfbm, rex_w))
		return 0;
	set_gp(exc);
	return 1;
}

static uint32_t emu_xsave_layout(void *opaque, unsigned i, uint32_t *size)
{
	(void)opaque;
	return mmio_xsave_layout(i, size);
}

static void emu_xsavec(void *opaque, uint64_t rfbm, bool rex_w)
{
	mmio_xsavec_run(((struct mmio_exit_ctx *)opaque)->v->cpu, rfbm, rex_w);
}

static int emu_xss(void *opaque, uint64_t *xss)
{
	(void)opaque;
	return mmio_xsaves_guest(xss);
}

static void emu_xsaves(void *opaque, uint64_t rfbm, bool rex_w)
{
	mmio_xsaves_run(((struct mmio_exit_ctx *)opaque)->v->cpu, rfbm, rex_w);
}

static int emu_xrstors(void *opaque, uint64_t rfbm, bool rex_w, struct x86_exception *exc)
{
	if (mmio_xrstors_run(((struct mmio_exit_ctx *)opaque)->v->cpu, rfbm, rex_w))
		return 0;
	set_gp(exc);
	return 1;
}

/* INS/OUTS on a device page: each element by the path of an intercepted IN/OUT. */
static void emu_port_io(void *opaque, uint16_t port, unsigned size, bool in, uint32_t *val)
{
	struct vcpu *v = ((struct mmio_exit_ctx *)opaque)->v;

	if (in)
		*val = vcpu_port_in(v, port, size);
	else
		vcpu_port_out(v, port, size, *val);
}

static const struct x86_emu_ops emu_ops = {
	.get_reg = emu_get_reg,
	.set_reg = emu_set_reg,
	.get_seg = emu_get_seg,
	.get_ctl = emu_get_ctl,
	.fetch = emu_fetch,
	.read = emu_read,
	.write = emu_write,
	.read_value = emu_read_value,
	.write_value = emu_write_value,
	.get_vec = emu_get_vec,
	.set_vec = emu_set_vec,
	.probe = emu_probe,
	.rmw_read_value = emu_rmw_read_value,
	.commit = emu_commit,
	.get_sysseg = emu_get_sysseg,
	.set_dtr = emu_set_dtr,
	.lmsw = emu_lmsw,
	.mmx = emu_mmx,
	.fxsave = emu_fxsave,
	.fxrstor = emu_fxrstor,
	.sys_access = emu_sys_access,
	.set_seg = emu_set_seg,
	.set_sysseg = emu_set_sysseg,
	.xsave_area = emu_xsave_area,
	.xsave_extent = emu_xsave_extent,
	.xsave = emu_xsave,
	.xrstor = emu_xrstor,
	.port_io = emu_port_io,
	.xsave_layout = emu_xsave_layout,
	.xsavec = emu_xsavec,
	.xss = emu_xss,
	.xsaves = emu_xsaves,
	.xrstors = emu_xrstors,
};

static void report_unsupported(struct vcpu *v, const struct x86_emu_result *res)
{
	static unsigned reported;

	if (reported >= UNSUPPORTED_REPORT_LIMIT)
		return;
	reported++;
	pr_warn("mhv: mmio: instruction at RIP 0x%lx (map %u opcode 0x%02x, %u bytes) is not "
		"emulated: #UD injected\n",
		v->ops->get_rip(v), res->insn.map, res->insn.opcode, res->insn_len);
}

/*
 * One verdict per exit: was the first device operand's translation served by the cache?  A
 * seeded page is the cache's entry: unless a translation of another device page came first,
 * it served the operand.
 */
static void count_cache_verdict(struct vcpu *v, const struct mmio_exit_ctx *c)
{
	bool hit = c->first_mmio_hit < 0 ? c->seeded : c->first_mmio_hit > 0;

	_Static_assert(MMIO_COUNTER_HITS + 1 == MMIO_COUNTER_MISSES, "a hit indexes one lower");
	if (v->mmio_cache_on)
		v->mmio[MMIO_COUNTER_MISSES - hit]++;
}

/*
 * The exit's device page as this instruction's translated data page, when the MMIO cache's
 * entry holds it (a repeated device access mostly does): the emulator's probe, read and write
 * of its operand then find it translated, as its TLB would.  The entry is checked exactly as
 * a lookup of its page would check it (mmio_cache_hit: paging state, CPL, WP, SMAP/AC, keys,
 * a write only on an entry whose walk set D), for a write when it allows one (a write
 * translation serves reads too), else for a read; it is the CPU's own answer for that linear
 * page, whichever address the instruction turns out to use.  The exit's final GPA is on the
 * entry's frame (vcpu_exit_npf drops an entry for another), so region, the exit's device,
 * holds the page (regions are page-aligned).
 */
static inline __attribute__((always_inline)) void
seed_exit_page(struct mmio_exit_ctx *c, const struct mmio_region *region)
{
	const struct vcpu *v = c->v;
	const struct mmio_cache *mc = &v->mmio_cache;
	uint64_t access = v->npf_access, la = mc->gva_page << PAGE_SHIFT, gpa;
	unsigned gw = c->st.regs.cpl == 3 ? GW_USER : 0;

	if (!v->mmio_cache_on || access == VCPU_NPF_NONE || !mc->valid ||
	    mc->gfn != (access & ~VCPU_NPF_WRITE) >> PAGE_SHIFT)
		return;
	if (mmio_cache_hit(mc, &c->st.regs, la, gw | GW_WRITE, &gpa))
		gw |= GW_WRITE;
	else if (!mmio_cache_hit(mc, &c->st.regs, la, gw, &gpa))
		return;
	c->page = (struct mmio_data_page){.la_page = la,
					  .gpa_page = gpa,
					  .region = region,
					  .gw = gw,
					  .cpl = c->st.regs.cpl};
	c->seeded = true;
}

/* The general emulator on the instruction c->st.decoded (NULL: fetched and decoded by it),
 * with c->st the guest's state at the exit; lock_watch: it may be a locked instruction
 * (mmio_insn_locked(), or no decode). */
static inline __attribute__((always_inline)) void mmio_exit_general(struct vcpu *v,
								    const struct mmio_region *region,
								    struct mmio_exit_ctx *c,
								    bool lock_watch)
{
	struct x86_segment cs;
	struct x86_emu_result res;

	v->mmio[MMIO_COUNTER_EXITS]++;
	c->v = v;
	c->first_mmio_hit = -1;
	c->page.la_page = MMIO_NO_PAGE;
	c->seeded = false;
	seed_exit_page(c, region);
	/* No segment read yet, not even CS: the entry hands the emulator CS, which asks for it
	 * again only for a far branch, a CS override or the like. */
	c->seg_have = 0;
	c->lock_watch = lock_watch;
	if (unlikely(c->lock_watch)) {
		c->lock_retry = false;
		c->locked.r = NULL;
		c->locked.streak = &v->lock_streak;
	}
	v->emu.ops = &emu_ops;
	v->emu.opaque = c;
	mmio_data_bp_begin(v, &c->bp, c->st.cpu.dr7);
	/* A breakpoint's trap comes after the REP iteration that hit: one per exit then. */
	v->emu.rep_batch = data_bp_armed(c->bp.dr7) ? 1 : X86_EMU_REP_BATCH_MAX;
	/* The state the emulator would ask for first, as its callbacks give it, written into
	 * the emulator's context in place. */
	emu_get_ctl(c, &v->emu.ctl);
	cs = x86_segment_of(&c->st.cpu.cs);
	/* v->gpr: emu_get_reg's answer for every GPR but RSP */
	x86_emu_enter(&v->emu, c->st.cpu.rip, c->st.cpu.rflags, v->gpr);
	x86_emulate_entered(&v->emu, c->st.decoded, &cs, &res);
	count_cache_verdict(v, c);
	if (unlikely(c->lock_watch)) {
		mmio_locked_cancel(&c->locked); /* a read with no write after it */
		if (c->lock_retry)
			return; /* nothing done: the guest runs the instruction again */
	}

	switch (res.status) {
	case X86_EMU_OK:
		/* registers and RIP committed by the emulator */
		if (res.mov_ss_shadow)
			v->ops->set_mov_ss_shadow(v);
		mmio_data_bp_end(v, &c->bp, res.mov_ss_shadow);
		break;
	case X86_EMU_UNSUPPORTED:
		report_unsupported(v, &res);
		/* res.exc holds the #UD */
		__attribute__((fallthrough));
	default:
		if (res.exc.vector == VEC_PF)
			v->ops->set_cr2(v, res.exc.cr2);
		v->ops->inject_exception(v, res.exc.vector, res.exc.has_error_code,
					 res.exc.error_code);
		break;
	}
}

int vcpu_mmio_deliver_event(struct vcpu *v, const struct x86_event *ev, struct x86_exception *exc)
{
	struct mmio_exit_ctx c = {.v = v,
				  .st.cpu.rip = v->ops->get_rip(v),
				  .page.la_page = MMIO_NO_PAGE,
				  .first_mmio_hit = -1};
	struct x86_emu_result res;

	v->mmio[MMIO_COUNTER_EXITS]++;
	vcpu_walk_regs(v, &c.st.regs);
	v->emu.ops = &emu_ops;
	v->emu.opaque = &c;
	x86_deliver_event(&v->emu, ev, &res);
	count_cache_verdict(v, &c);
	/* A translation the cache now holds must see the guest's next TLB flush. */
	if (v->mmio_cache.valid)
		vcpu_flush_exits_arm(v, FLUSH_EXITS_ALL);
	*exc = res.exc;
	return res.status;
}

int vcpu_load_segment(struct vcpu *v, unsigned seg, uint16_t sel)
{
	struct mmio_exit_ctx c = {.v = v,
				  .st.cpu.rip = v->ops->get_rip(v),
				  .page.la_page = MMIO_NO_PAGE,
				  .first_mmio_hit = -1};
	struct x86_emu_result res;

	vcpu_walk_regs(v, &c.st.regs);
	v->emu.ops = &emu_ops;
	v->emu.opaque = &c;
	return x86_load_sreg(&v->emu, seg, sel, &res);
}

int vcpu_linear_access(struct vcpu *v, uint64_t la, void *buf, unsigned len, bool write,
		       struct x86_exception *exc)
{
	struct mmio_exit_ctx c = {.v = v,
				  .st.cpu.rip = v->ops->get_rip(v),
				  .page.la_page = MMIO_NO_PAGE,
				  .first_mmio_hit = -1};

	vcpu_walk_regs(v, &c.st.regs);
	return mem_access(&c, la, buf, len, write ? GW_WRITE : 0, exc);
}

static inline __attribute__((always_inline)) void mmio_exit(struct vcpu *v,
						       const struct mmio_region *region)
{
	struct mmio_exit_ctx c;

	/* The fast path, with the cache on or off (the cache only decides what is kept between
	 * exits).  The emulator finds the operand again by translating it, but takes the fast
	 * path's decode instead of fetching and decoding a second time. */
	if (vcpu_mmio_fast(v, region, &c.st))
		return;
	mmio_exit_general(v, region, &c, !c.st.decoded || mmio_insn_locked(c.st.decoded));
}

#define USER_CPL 3

/*
 * The general entry (core/mmio_short.h) against the state at this exit: the same RIP, TF and
 * VM clear, CPL 0-2, the same decode mode (the same EFER.LMA and CR0.PE, with the same CS
 * rights: L and D/B, mode_key) and the same CS (base, limit, selector, rights: the fill's CS
 * limit check of RIP + length holds again), and the same bytes at RIP through the
 * code translation it was filled under (dropped with every guest TLB flush).  The CPU has just
 * fetched and run those bytes there: the remembered decode is the instruction's.
 */
static bool general_holds(const struct mmio_general *g, const struct mmio_fast_state *st)
{
	const struct vcpu_segment *cs = &st->cpu.cs;
	uint64_t code;

	if (st->cpu.rip != g->rip || (st->cpu.rflags & (RFLAGS_TF | RFLAGS_VM)) ||
	    st->regs.cpl == USER_CPL ||
	    ((st->regs.efer & EFER_LMA) | (st->regs.cr0 & CR0_PE)) != g->mode_key)
		return false;
	if (cs->base != g->cs_base || cs->limit != g->cs_limit || cs->attr != g->cs_attr ||
	    cs->selector != g->cs_selector)
		return false;
	__builtin_memcpy(&code, g->code, sizeof(code));
	if (code != g->code_lo)
		return false;
	if (!g->mask_hi)
		return true;
	__builtin_memcpy(&code, g->code + sizeof(code), sizeof(code));
	return !((code ^ g->code_hi) & g->mask_hi);
}

bool vcpu_mmio_general_exit(struct vcpu *v, uint64_t rip, uint64_t gpa, uint64_t gla,
			    bool gla_valid, bool write)
{
	const struct mmio_general *g = &v->mmio_short.general;
	const struct mmio_region *region;
	struct mmio_exit_ctx c;

	/* Another instruction on the entry's page (say a string move after it): a miss before
	 * any state is read. */
	if (rip != g->rip || !mmio_general_keyed(&v->mmio_short, gpa) || write != g->write ||
	    (gpa >= v->hv_start && gpa < v->hv_end))
		return false;
	/* What vcpu_exit_npf() does for a final data access to a device, before the state is
	 * read (none of the exit's fields then lives across that call): should the entry not
	 * hold after all, vcpu_exit_npf does the same again, which changes nothing. */
	mmio_cache_final_access(&v->mmio_cache, gpa, gla, gla_valid);
	v->npf_access = gpa | (write ? VCPU_NPF_WRITE : 0);
	v->ops->get_insn_state(v, &c.st.cpu, &c.st.regs);
	if (!general_holds(g, &c.st))
		return false;
	region = mmio_region_find_hinted(mmio_regions(), &v->region_hint, gpa);
	if (!region)
		return false;
	v->exits[EXIT_KIND_NPF]++;
	vcpu_walk_regs_finish(&c.st.regs);
	c.st.decoded = &g->insn;
	mmio_exit_general(v, region, &c, g->locked);
	/* A translation the cache now holds must see the guest's next TLB flush. */
	if (v->mmio_cache.valid)
		vcpu_flush_exits_arm(v, FLUSH_EXITS_ALL);
	return true;
}

void vcpu_mmio_exit(struct vcpu *v, const struct mmio_region *region)
{
	mmio_exit(v, region);
	/* A translation the cache now holds must see the guest's next TLB flush. */
	if (v->mmio_cache.valid)
		vcpu_flush_exits_arm(v, FLUSH_EXITS_ALL);
}
