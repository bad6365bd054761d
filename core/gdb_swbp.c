/* The GDB stub's software breakpoints: INT3 planted in guest memory (see gdb_swbp.h). */
#include "core/gdb_swbp.h"
#include "arch/x86/exception.h"
#include "core/debug_stop.h"
#include "core/gdbstub.h"
#include "core/guest.h"
#include "core/insn_fetch.h"
#include "core/regs_abi.h"
#include "core/vcpu.h"
#include "lib/errno.h"
#include "lib/log.h"
#include "mm/guest_mem.h"

#define X86_INT_IMM8 0xCDu /* INT imm8 */
#define X86_INTO     0xCEu

struct swbp {
	bool used;
	bool lifted; /* its original byte is back for a step over it */
	uint64_t la;
	uint64_t gpa;
	uint8_t orig;
};

static struct {
	struct swbp bp[GDB_SWBP_MAX];
	unsigned count;
	/* Bumped when the first is planted or the last lifted: every vCPU's #BP intercept follows
	 * it at its next exit (gdb_swbp_sync). */
	unsigned gen;
	struct {
		bool active, quiet;
		unsigned idx;
	} over;
} sw;

/* la -> gpa as the debugger sees the guest's memory (gdbstub.c): kernel view, no A/D bits,
 * guest RAM only. */
static bool translate(struct vcpu *v, uint64_t la, uint64_t *gpa)
{
	struct gw_regs regs;
	struct gw_mem mem;
	struct gw_result r;

	vcpu_walk_setup(v, &regs, &mem);
	mem.write = NULL;
	regs.cpl = 0;
	regs.rflags_ac = true;
	regs.has_pkru = true;
	regs.pkru = 0;
	if (guest_walk(&regs, &mem, la, 0, &r) || guest_mem_kind(guest_gate(), r.gpa) != GPA_RAM)
		return false;
	*gpa = r.gpa;
	return true;
}

static bool put_byte(uint64_t gpa, uint8_t b)
{
	return guest_mem_write(guest_gate(), gpa, &b, 1, 0) >= 0;
}

static bool get_byte(uint64_t gpa, uint8_t *b)
{
	return guest_mem_read(guest_gate(), gpa, b, 1, 0) >= 0;
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
	if (v->bp_intercept_gen != sw.gen)
		intercept(v);
}

unsigned gdb_swbp_count(void)
{
	return sw.count;
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
	intercept(v);
	return 0;
}

static void lift(struct swbp *b)
{
	if (!same_byte(b))
		put_byte(b->gpa, b->orig);
	b->used = false;
	if (--sw.count == 0)
		sw.gen++;
}

int gdb_swbp_remove(struct vcpu *v, uint64_t la)
{
	int i = find(la);

	if (i < 0)
		return -E_NOENT;
	lift(&sw.bp[i]);
	intercept(v);
	return 0;
}

void gdb_swbp_clear(struct vcpu *v)
{
	for (unsigned i = 0; i < GDB_SWBP_MAX; i++)
		if (sw.bp[i].used)
			lift(&sw.bp[i]);
	sw.over.active = false;
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
			if (!b->lifted)
				put_byte(b->gpa, X86_INT3);
		}
	}
}

/* The planted breakpoint whose INT3 is the one at RIP (same linear address, same byte). */
static int planted_at(struct vcpu *v, uint64_t rip)
{
	uint64_t gpa;
	int i = find(rip);

	if (i < 0 || sw.bp[i].lifted || !translate(v, rip, &gpa) || gpa != sw.bp[i].gpa)
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
	if (v->cpu) {
		/* Only vCPU 0 is debugged: this one stays on the INT3 (it exits again) until gdb
		 * lifts the breakpoint; vCPU 0 stops for gdb meanwhile. */
		debug_stop_request();
		return true;
	}
	gdbstub_breakpoint_stop(v, -1, true);
	return true;
}

bool vcpu_exit_int_insn(struct vcpu *v, unsigned *vector, unsigned *len)
{
	const struct x86_insn *insn;
	int err;

	*len = 0;
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
		if (vcpu_exit_bp(v))
			return true;
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
