/* The GDB stub's software breakpoints: INT3 planted in guest memory (see gdb_swbp.h). */
#include "core/gdb_swbp.h"
#include "arch/x86/exception.h"
#include "core/debug_stop.h"
#include "core/gdbstub.h"
#include "core/guest.h"
#include "core/insn_fetch.h"
#include "core/mmio_short.h"
#include "core/regs_abi.h"
#include "core/vcpu.h"
#include "lib/errno.h"
#include "lib/fmt.h"
#include "lib/log.h"
#include "core/mmio_setup.h"
#include "mm/guest_mem.h"
#include "mmio/region.h"

#define X86_INT_IMM8 0xCDu /* INT imm8 */
#define SWBP_PAGE    4096ull
#define X86_INTO     0xCEu

struct swbp {
	bool used;
	bool lifted;	/* its original byte is back for a step over it ... */
	bool by_fetch;	/* ... or for one instruction fetched from its page */
	uint64_t la;
	uint64_t gpa;
	uint8_t orig;
};

/* A guest page with INT3s on it: an mmio region of ours, execute-only or absent in EPT/NPT. */
struct swpage {
	unsigned nbp; /* breakpoints on it; 0: a free entry */
	bool hidden;  /* the region and the nested view are in place */
	uint64_t gpa;
};

static struct {
	struct swbp bp[GDB_SWBP_MAX];
	struct swpage page[GDB_SWBP_MAX];
	unsigned count;
	/* Bumped when the first is planted or the last lifted, and when a page's nested view
	 * changes: every vCPU's #BP intercept and nested TLB follow it at its next exit, or when
	 * it leaves the stop of a session (gdb_swbp_sync). */
	unsigned gen;
	struct {
		bool active, quiet;
		unsigned idx;
	} over;
	/* One instruction fetched from a hidden page (no execute-only view): the page's bytes
	 * are the originals and it is mapped, for one step of vCPU cpu. */
	struct {
		bool active, quiet;
		unsigned cpu;
		uint64_t page;
	} fetch;
	bool told_visible;
	/* What hiding cost (monitor gdb). */
	unsigned long fetch_steps, emulated;
} sw;

static uint64_t page_of(uint64_t gpa)
{
	return gpa & ~(SWBP_PAGE - 1);
}

static struct swpage *page_find(uint64_t gpa)
{
	for (unsigned i = 0; i < GDB_SWBP_MAX; i++)
		if (sw.page[i].nbp && sw.page[i].gpa == page_of(gpa))
			return &sw.page[i];
	return NULL;
}

static const struct mmio_dev_ops swbp_dev_ops;

/* la -> gpa as the debugger sees the guest's memory (gdbstub.c): kernel view, no A/D bits,
 * guest RAM only. */
static bool translate(struct vcpu *v, uint64_t la, uint64_t *gpa)
{
	struct gw_regs regs;
	struct gw_mem mem;
	struct gw_result r;

	gdbstub_walk_setup(v, &regs, &mem);
	if (guest_walk(&regs, &mem, la, 0, &r) || !gdb_swbp_debugger_ram(r.gpa))
		return false;
	*gpa = r.gpa;
	return true;
}

bool gdb_swbp_debugger_ram(uint64_t gpa)
{
	return guest_mem_kind(guest_gate(), gpa) == GPA_RAM || page_find(gpa);
}

/* The bytes in guest RAM, beneath our region. */
static bool put_byte(uint64_t gpa, uint8_t b)
{
	return guest_mem_access(guest_gate(), gpa, &b, 1, GMEM_WRITE | GMEM_RAM_BENEATH, 0) >= 0;
}

static bool get_byte(uint64_t gpa, uint8_t *b)
{
	return guest_mem_access(guest_gate(), gpa, b, 1, GMEM_RAM_BENEATH, 0) >= 0;
}

/*
 * The page's nested view (or its region) changed: the CPU's nested translations go, and so
 * does the MMIO short path's entry, which names its device by a pointer into the region
 * table: attaching or detaching a page's region moves the regions above it, and a hit would
 * call another device (or, past the last, a cleared slot with no ops) with the old offset.
 */
static void flush(struct vcpu *v)
{
	mmio_short_invalidate(&v->mmio_short);
	if (v->ops->flush_nested)
		v->ops->flush_nested(v);
}

static enum nested_view hidden_view(void)
{
	return guest_nested_has_exec_only() ? NESTED_EXEC_ONLY : NESTED_ABSENT;
}

/* The page's data accesses go to our device from now on; its code runs execute-only, or
 * (no such view) every fetch exits (gdb_swbp_fetch). */
static void page_hide(struct vcpu *v, struct swpage *p)
{
	if (mmio_region_attach(p->gpa, SWBP_PAGE, &swbp_dev_ops, NULL)) {
		if (!sw.told_visible)
			pr_warn("mhv: gdb: cannot hide the INT3s on page 0x%lx from the guest: it "
				"reads them\n", p->gpa);
		sw.told_visible = true;
		return;
	}
	if (guest_nested_view(p->gpa, hidden_view())) {
		mmio_region_detach(p->gpa, SWBP_PAGE);
		return;
	}
	p->hidden = true;
	sw.gen++;
	flush(v);
}

static void page_show(struct vcpu *v, struct swpage *p)
{
	if (p->hidden) {
		guest_nested_view(p->gpa, NESTED_RAM);
		mmio_region_detach(p->gpa, SWBP_PAGE);
		sw.gen++;
		flush(v);
	}
	p->hidden = false;
}

static void page_get(struct vcpu *v, uint64_t gpa)
{
	struct swpage *p = page_find(gpa);

	for (unsigned i = 0; i < GDB_SWBP_MAX && !p; i++)
		if (!sw.page[i].nbp) {
			p = &sw.page[i];
			*p = (struct swpage){.gpa = page_of(gpa)};
		}
	if (p && p->nbp++ == 0) /* GDB_SWBP_MAX pages: one for each breakpoint at most */
		page_hide(v, p);
}

static void page_put(struct vcpu *v, uint64_t gpa)
{
	struct swpage *p = page_find(gpa);

	if (p && p->nbp == 1)
		page_show(v, p);
	if (p)
		p->nbp--;
}

/* Another planted breakpoint on the same guest byte (two linear aliases of one page). */
static const struct swbp *same_byte(const struct swbp *self)
{
	for (unsigned i = 0; i < GDB_SWBP_MAX; i++)
		if (sw.bp[i].used && &sw.bp[i] != self && sw.bp[i].gpa == self->gpa)
			return &sw.bp[i];
	return NULL;
}

static int find(uint64_t la)
{
	for (unsigned i = 0; i < GDB_SWBP_MAX; i++)
		if (sw.bp[i].used && sw.bp[i].la == la)
			return (int)i;
	return -1;
}

static void intercept(struct vcpu *v)
{
	v->ops->set_exception_intercept(v, VEC_BP, sw.count > 0);
	v->bp_intercept_gen = sw.gen;
}

void gdb_swbp_sync(struct vcpu *v)
{
	if (v->bp_intercept_gen != sw.gen) {
		intercept(v);
		flush(v);
	}
}

int gdb_swbp_insert(struct vcpu *v, uint64_t la)
{
	struct swbp *b = NULL;
	const struct swbp *twin;

	if (find(la) >= 0)
		return 0; /* gdb may insert one twice: one INT3 */
	for (unsigned i = 0; i < GDB_SWBP_MAX && !b; i++)
		if (!sw.bp[i].used)
			b = &sw.bp[i];
	if (!b)
		return -E_NOMEM;
	*b = (struct swbp){.la = la};
	if (!translate(v, la, &b->gpa))
		return -E_FAULT;
	twin = same_byte(b);
	if (twin) {
		b->orig = twin->orig;
	} else if (!get_byte(b->gpa, &b->orig) || !put_byte(b->gpa, X86_INT3)) {
		return -E_FAULT;
	}
	b->used = true;
	if (sw.count++ == 0)
		sw.gen++;
	page_get(v, b->gpa);
	intercept(v);
	return 0;
}

static void lift(struct vcpu *v, struct swbp *b)
{
	if (!same_byte(b))
		put_byte(b->gpa, b->orig);
	b->used = false;
	page_put(v, b->gpa);
	if (--sw.count == 0)
		sw.gen++;
}

int gdb_swbp_remove(struct vcpu *v, uint64_t la)
{
	int i = find(la);

	if (i < 0)
		return -E_NOENT;
	lift(v, &sw.bp[i]);
	intercept(v);
	return 0;
}

void gdb_swbp_clear(struct vcpu *v)
{
	for (unsigned i = 0; i < GDB_SWBP_MAX; i++)
		if (sw.bp[i].used)
			lift(v, &sw.bp[i]);
	sw.over.active = false;
	sw.fetch.active = false;
	intercept(v);
}

void gdb_swbp_hide(uint64_t gpa, uint8_t *buf, unsigned len)
{
	for (unsigned i = 0; i < GDB_SWBP_MAX && sw.count; i++) {
		const struct swbp *b = &sw.bp[i];

		if (b->used && b->gpa >= gpa && b->gpa - gpa < len)
			buf[b->gpa - gpa] = b->orig;
	}
}

void gdb_swbp_written(uint64_t gpa, const uint8_t *buf, unsigned len)
{
	for (unsigned i = 0; i < GDB_SWBP_MAX && sw.count; i++) {
		struct swbp *b = &sw.bp[i];

		if (b->used && b->gpa >= gpa && b->gpa - gpa < len) {
			b->orig = buf[b->gpa - gpa];
			if (!b->lifted && !b->by_fetch)
				put_byte(b->gpa, X86_INT3);
		}
	}
}

/* The planted breakpoint whose INT3 is the one at RIP (same linear address, same byte). */
static int planted_at(struct vcpu *v, uint64_t rip)
{
	uint64_t gpa;
	int i = find(rip);

	if (i < 0 || sw.bp[i].lifted || sw.bp[i].by_fetch || !translate(v, rip, &gpa) ||
	    gpa != sw.bp[i].gpa)
		return -1;
	return i;
}

bool gdb_swbp_step_over(struct vcpu *v, bool quiet)
{
	int i = planted_at(v, v->ops->get_rip(v));

	if (i < 0)
		return false;
	put_byte(sw.bp[i].gpa, sw.bp[i].orig);
	sw.bp[i].lifted = true;
	sw.over.active = true;
	sw.over.quiet = quiet;
	sw.over.idx = (unsigned)i;
	return true;
}

bool gdb_swbp_step_over_done(struct vcpu *v, bool step_ended)
{
	struct swbp *b = &sw.bp[sw.over.idx];

	(void)v;
	if (!sw.over.active)
		return false;
	sw.over.active = false;
	if (b->used && b->lifted) {
		/* The stepped instruction may have written its own byte: that is the original now. */
		get_byte(b->gpa, &b->orig);
		b->lifted = false;
		put_byte(b->gpa, X86_INT3);
	}
	return sw.over.quiet && step_ended;
}

bool vcpu_exit_bp(struct vcpu *v)
{
	if (!sw.count || planted_at(v, v->ops->get_rip(v)) < 0)
		return false;
	v->exits[EXIT_KIND_EXCEPTION]++;
	gdbstub_breakpoint_stop(v, -1, true); /* any vCPU: it is gdb's thread that stopped */
	return true;
}

bool vcpu_exit_int_insn(struct vcpu *v, unsigned *vector, unsigned *len)
{
	const struct x86_insn *insn;
	int err;

	*len = 0;
	/* gdb's INT3 first: the instruction fetch below sees the original byte there. */
	if (vcpu_exit_bp(v))
		return true;
	insn = vcpu_decode_current(v, &err);
	if (!insn) {
		/* The CPU just fetched it: only a page the guest changed under us gets here. */
		if (err != -E_FAULT)
			vcpu_exit_unknown(v, "INTn intercept without a readable instruction at RIP",
					  v->ops->get_rip(v));
		return false;
	}
	if (insn->map != X86_MAP_ONE) {
		vcpu_exit_unknown(v, "INTn intercept for opcode", insn->opcode);
		return false;
	}
	switch (insn->opcode) {
	case X86_INT3:
		*vector = VEC_BP;
		break;
	case X86_INT_IMM8:
		*vector = (uint8_t)insn->imm[0];
		break;
	case X86_INTO:
		*vector = VEC_OF;
		break;
	default:
		vcpu_exit_unknown(v, "INTn intercept for opcode", insn->opcode);
		return false;
	}
	*len = insn->len;
	return false;
}

/* ---- the device over a page with INT3s: the guest's data accesses see the originals ---- */

static int dev_read(void *dev, const struct mmio_access *a, void *buf)
{
	(void)dev;
	if (guest_mem_access(guest_gate(), a->gpa, buf, a->len, GMEM_RAM_BENEATH, a->rip) < 0)
		return -E_FAULT;
	gdb_swbp_hide(a->gpa, buf, a->len);
	sw.emulated++;
	return 0;
}

/* A write keeps each INT3 planted over the byte written, which becomes its original. */
static int dev_write(void *dev, const struct mmio_access *a, const void *buf)
{
	(void)dev;
	if (guest_mem_access(guest_gate(), a->gpa, (void *)buf, a->len,
			     GMEM_WRITE | GMEM_RAM_BENEATH, a->rip) < 0)
		return -E_FAULT;
	gdb_swbp_written(a->gpa, buf, a->len);
	sw.emulated++;
	return 0;
}

static const struct mmio_dev_ops swbp_dev_ops = {
	.name = "gdb-int3",
	.read = dev_read,
	.write = dev_write,
};

/* ---- code on a hidden page without an execute-only view (SVM's NPT, some VT-x) ---- */

bool gdb_swbp_fetch(struct vcpu *v, const struct mmio_region *region)
{
	struct swpage *p;

	if (region->ops != &swbp_dev_ops)
		return false;
	/* At gdb's breakpoint: the stop the INT3 would have made. */
	if (vcpu_exit_bp(v))
		return true;
	p = page_find(region->base);
	/* Another vCPU's fetch step holds the single step: this one fetches again after it. */
	if (!p || sw.fetch.active)
		return true;
	sw.fetch.quiet = !debug_stepping(); /* else gdb's own step, or the step over an INT3 */
	if (sw.fetch.quiet && !debug_stop_begin_step(v))
		return true;
	if (!sw.fetch.quiet) {
		/* The fetch faulted under the step: a single-step trap the exit left pending
		 * (VT-x's pending debug exceptions, BS) would fire before the instruction. */
		v->ops->single_step(v, false);
		v->ops->single_step(v, true);
	}
	for (unsigned i = 0; i < GDB_SWBP_MAX; i++) {
		struct swbp *b = &sw.bp[i];

		if (b->used && !b->lifted && page_of(b->gpa) == p->gpa) {
			put_byte(b->gpa, b->orig);
			b->by_fetch = true;
		}
	}
	guest_nested_view(p->gpa, NESTED_RAM);
	flush(v);
	sw.fetch.active = true;
	sw.fetch.cpu = v->cpu;
	sw.fetch.page = p->gpa;
	sw.fetch_steps++;
	return true;
}

bool gdb_swbp_fetch_step_done(struct vcpu *v, bool step_ended)
{
	if (!sw.fetch.active || v->cpu != sw.fetch.cpu)
		return false;
	sw.fetch.active = false;
	for (unsigned i = 0; i < GDB_SWBP_MAX; i++) {
		struct swbp *b = &sw.bp[i];

		if (b->used && b->by_fetch) {
			get_byte(b->gpa, &b->orig); /* the instruction may have written it */
			put_byte(b->gpa, X86_INT3);
			b->by_fetch = false;
		}
	}
	if (page_find(sw.fetch.page))
		guest_nested_view(sw.fetch.page, hidden_view());
	sw.gen++; /* another vCPU may have cached the page's mapping meanwhile */
	flush(v);
	v->bp_intercept_gen = sw.gen;
	return sw.fetch.quiet && step_ended;
}

void gdb_swbp_describe(char *buf, unsigned long len)
{
	unsigned pages = 0;

	for (unsigned i = 0; i < GDB_SWBP_MAX; i++)
		pages += sw.page[i].nbp && sw.page[i].hidden;
	fmt_snprintf(buf, len,
		     "%u planted, %u pages hidden (%s), %lu steps, %lu accesses emulated",
		     sw.count, pages,
		     guest_nested_has_exec_only() ? "execute-only" : "absent",
		     sw.fetch_steps, sw.emulated);
}
