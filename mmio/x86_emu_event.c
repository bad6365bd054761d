/*
 * Event delivery through the IDT when the CPU's own delivery touched a device page (the stack
 * the frame goes on, usually: RSP inside an MMIO region).  The CPU stops with the event
 * pending (IDT-vectoring information / EXITINTINFO) and mhv completes it here, step by step
 * as the SDM's interrupt and exception handling describes (vol.3 6.12, 6.14), every access
 * through the callbacks so the frame reaches the device.
 *
 * Emulated: protected mode with 16-bit and 32-bit interrupt and trap gates, and IA-32e mode
 * with 64-bit gates, IST stacks included; to a handler at the current privilege (a
 * conforming code segment, or a non-conforming one whose DPL is the CPL), or to a more
 * privileged ring: the stack from the TSS (x86e_tss_stack, x86_emu_gate.c: SS0:ESP0..SS2:ESP2
 * in legacy mode with the new SS's checks, RSP0-2 or the IST in IA-32e mode with a null SS),
 * old SS:ESP pushed first, the CPL changed.  A fault on the way (gate past the IDT limit,
 * not present, bad code segment, a bad TSS stack, a stack push that faults) is returned as
 * the exception the CPU would raise, for x86_event_nested() to combine with the first event.
 * A task gate is a task switch, which mhv does not emulate: #GP(TSS selector), what mhv
 * injects for a hardware task switch (README), returned as that fault.
 * Real mode (deliver_real): the IVT entry (IP, CS) at IDTR.base + 4 * vector, #GP past the
 * IDTR limit; FLAGS, CS and IP pushed as words on SS:SP (x86e_real_frame, x86_emu_v86.c:
 * each push wrapping SP at 64K and checked against SS's limit before the first is written,
 * #SS); no error code; IF, TF, AC and RF cleared; CS loaded as real mode does.
 * Virtual-8086 mode: through the protected-mode IDT to a non-conforming ring-0 handler only
 * (#GP(selector | EXT) otherwise), on SS0:ESP0 from the TSS: GS, FS, DS, ES above the usual
 * inner frame, VM cleared, the data segments nulled.  INT n there first goes through
 * x86e_v86_soft_int (x86_emu_v86.c): IOPL-sensitive (#GP(0) below IOPL 3) without CR4.VME;
 * with it, redirected to the 8086 program's IVT when the TSS's interrupt redirection bitmap
 * says so (the VIF rules below IOPL 3), else as without VME.
 * x86e_exec_int: INT n, INT3, INTO and INT1 as instructions, the same delivery, for a CPU that
 * reports a delivery's access to a device page as the instruction's own (no event in the
 * IDT-vectoring information; the SDM leaves open whether a VME redirection is an event
 * delivery through the IDT).
 */
#include "mmio/x86_emu_internal.h"

#define OP_INT3		  0xcc
#define OP_INTN		  0xcd
#define OP_INTO		  0xce
#define OP_INT1		  0xf1
#define X86_EXC_DB	  1
#define X86_EXC_BP	  3
#define X86_EXC_OF	  4
#define IDT_GATE_32	  8
#define IDT_GATE_64	  16
#define GATE_TYPE_MASK	  0xfu
#define GATE_INTR32	  0xeu /* also the 64-bit interrupt gate in IA-32e mode */
#define GATE_TRAP32	  0xfu
#define GATE_TASK	  0x5u
#define GATE_INTR16	  0x6u
#define GATE_TRAP16	  0x7u
#define GATE_INTR_BIT	  0x1u /* clear in an interrupt gate's type, set in a trap gate's */
#define WORD16_MASK	  0xffffull
#define GATE_P		  0x80u
#define GATE_DPL_SHIFT	  5
#define GATE_DPL_MASK	  0x3u
#define GATE_IST_MASK	  0x7u
#define SEL_RPL_MASK	  0x3u
#define EC_IDT		  0x2u /* error code names an IDT entry */
#define EC_EXT		  0x1u /* the event came from outside the program */
#define ATTR_DPL_SHIFT	  5
#define ATTR_DPL_MASK	  0x3u
#define TYPE_CONFORM	  0x4u
#define STACK_ALIGN_64	  0xfull
#define FL_RF		  (1ull << 16)
#define FL_NT		  (1ull << 14)
#define FRAME_MAX_SLOTS	  10 /* virtual-8086 mode: EC, EIP, CS, EFLAGS, ESP, SS, GS, FS, DS, ES */
#define FAULT_VECTORS	  0x003b7ce1u /* #DE #BR #UD #NM #TS #NP #SS #GP #PF #MF #AC #XM #VE #CP */
#define CONTRIBUTORY	  0x00003c01u /* #DE #TS #NP #SS #GP */
#define X86_EXC_DF	  8
#define IVT_ENTRY	  4 /* a real-mode IDT entry: IP, CS */

static uint32_t le32(const uint8_t *b)
{
	return x86e_le16(b) | (uint32_t)x86e_le16(b + 2) << 16;
}

static bool external(const struct x86_event *ev)
{
	return ev->kind != X86_EVENT_SOFT_INT && ev->kind != X86_EVENT_SOFT_EXC;
}

static int fault_ec(struct x86_emu_ctx *e, unsigned int vector, uint32_t ec,
		    const struct x86_event *ev)
{
	return x86e_raise(e, vector, true, ec | (external(ev) ? EC_EXT : 0));
}

static int not_emulated(struct x86_emu_ctx *e)
{
	x86e_ud(e);
	return X86_EMU_UNSUPPORTED;
}

/* An implicit supervisor read of a system structure at la, split at pages. */
static int sys_read(struct x86_emu_ctx *e, uint64_t la, uint8_t *buf, unsigned int len)
{
	for (unsigned int done = 0; done < len;) {
		uint64_t at = la + done;
		uint64_t room = PAGE_SIZE_4K - (at & (PAGE_SIZE_4K - 1));
		unsigned int n = len - done < room ? len - done : (unsigned int)room;

		if (!(e->ctl.efer & X86_EFER_LMA)) /* IA-32e: 64-bit table bases */
			at &= 0xffffffffull;
		if (e->ops->sys_access(e->opaque, at, buf + done, n, false, &e->res->exc))
			return X86_EMU_EXCEPTION;
		done += n;
	}
	return EMU_CONTINUE;
}

struct gate {
	uint16_t sel;
	unsigned int type, dpl, ist, word; /* word: bytes per frame slot */
	bool present;
	uint64_t offset;
};

static int read_gate(struct x86_emu_ctx *e, const struct x86_event *ev, bool ia32e,
		     struct gate *g)
{
	unsigned int size = ia32e ? IDT_GATE_64 : IDT_GATE_32;
	uint32_t ec = (uint32_t)ev->vector << 3 | EC_IDT;
	struct x86_segment idtr;
	uint8_t d[IDT_GATE_64];
	int r;

	e->ops->get_sysseg(e->opaque, X86_SYS_IDTR, &idtr);
	if ((uint32_t)ev->vector * size + size - 1 > idtr.limit)
		return fault_ec(e, X86_EXC_GP, ec, ev);
	if ((r = sys_read(e, idtr.base + (uint64_t)ev->vector * size, d, size)))
		return r;
	g->sel = x86e_le16(d + 2);
	g->type = d[5] & GATE_TYPE_MASK;
	g->dpl = (d[5] >> GATE_DPL_SHIFT) & GATE_DPL_MASK;
	g->present = d[5] & GATE_P;
	g->ist = ia32e ? d[4] & GATE_IST_MASK : 0;
	g->offset = x86e_le16(d) | (uint64_t)x86e_le16(d + 6) << 16;
	if (ia32e)
		g->offset |= (uint64_t)le32(d + 8) << 32;
	g->word = ia32e ? 8 : 4;
	if (!ia32e && !(d[5] & X86_SEG_ATTR_S) && (g->type == GATE_INTR16 || g->type == GATE_TRAP16)) {
		g->word = 2;
		g->offset &= WORD16_MASK;
	} else if (g->type != GATE_INTR32 && g->type != GATE_TRAP32 &&
		   (ia32e || (d[5] & X86_SEG_ATTR_S) || g->type != GATE_TASK)) {
		return fault_ec(e, X86_EXC_GP, ec, ev);
	}
	/* INT n, INT3 and INTO need a gate the program may use. */
	if ((ev->kind == X86_EVENT_SOFT_INT || ev->kind == X86_EVENT_SOFT_EXC) &&
	    g->dpl < e->ctl.cpl)
		return x86e_raise(e, X86_EXC_GP, true, ec);
	if (!g->present)
		return fault_ec(e, X86_EXC_NP, ec, ev);
	if (g->type == GATE_TASK)
		return x86e_raise(e, X86_EXC_GP, true, g->sel & ~SEL_RPL_MASK); /* a task switch */
	return EMU_CONTINUE;
}

/* The handler's code segment; *inner: a non-conforming one of a more privileged ring. */
static int handler_cs(struct x86_emu_ctx *e, const struct x86_event *ev, bool ia32e,
		      const struct gate *g, struct x86_segment *cs, bool *inner)
{
	uint32_t ec = g->sel & ~SEL_RPL_MASK;
	unsigned int dpl;
	uint64_t la;
	int r;

	if (!ec)
		return fault_ec(e, X86_EXC_GP, 0, ev);
	if ((r = x86e_read_desc(e, g->sel, cs, &la))) {
		/* Past the table's limit: the error code says the event was external. */
		if (r == X86_EMU_EXCEPTION && external(ev))
			e->res->exc.error_code |= EC_EXT;
		return r;
	}
	dpl = (cs->attr >> ATTR_DPL_SHIFT) & ATTR_DPL_MASK;
	if (!(cs->attr & X86_SEG_ATTR_S) || !(cs->attr & X86_SEG_TYPE_CODE) || dpl > e->ctl.cpl)
		return fault_ec(e, X86_EXC_GP, ec, ev);
	if (!(cs->attr & X86_SEG_ATTR_P))
		return fault_ec(e, X86_EXC_NP, ec, ev);
	if (ia32e && (!(cs->attr & X86_SEG_ATTR_L) || (cs->attr & X86_SEG_ATTR_DB)))
		return fault_ec(e, X86_EXC_GP, ec, ev);
	*inner = !(cs->attr & TYPE_CONFORM) && dpl < e->ctl.cpl;
	if ((r = x86e_desc_accessed(e, la, cs)))
		return r;
	cs->selector = (uint16_t)(ec | (*inner ? dpl : e->ctl.cpl));
	return EMU_CONTINUE;
}

static bool fault_class(const struct x86_event *ev)
{
	return ev->kind == X86_EVENT_HW_EXC && ev->vector < 32 && (FAULT_VECTORS >> ev->vector & 1);
}

/* #SS(EXT) unless the stack segment (or the canonical range) holds len bytes below sp. */
static int ss_fault(struct x86_emu_ctx *e, const struct x86_event *ev, int r)
{
	if (r == X86_EMU_EXCEPTION && e->res->exc.vector == X86_EXC_SS && external(ev))
		e->res->exc.error_code |= EC_EXT;
	return r;
}

static int stack_room(struct x86_emu_ctx *e, const struct x86_event *ev, uint64_t sp,
		      unsigned int len, unsigned int ssz)
{
	uint64_t la;

	return ss_fault(e, ev, x86e_linear(e, X86_SEG_SS, (sp - len) & x86e_mask(ssz), len, true,
					   &la));
}

/*
 * The frame, lowest address first: [error code,] RIP, CS, RFLAGS[, RSP, SS in IA-32e mode
 * and on a privilege change], at the current SS (on the TSS's stack: new_ss, written with
 * supervisor accesses).
 */
static int push_frame(struct x86_emu_ctx *e, const struct x86_event *ev, const uint64_t *slot,
		      unsigned int n, unsigned int word, uint64_t top, const struct x86_segment *new_ss)
{
	uint8_t bytes[FRAME_MAX_SLOTS * sizeof(uint64_t)];
	int r;

	for (unsigned int i = 0; i < n; i++)
		for (unsigned int b = 0; b < word; b++)
			bytes[i * word + b] = (uint8_t)(slot[i] >> (BYTE_BITS * b));
	if (new_ss)
		return x86e_inner_write(e, new_ss, top, bytes, n * word);
	if ((r = x86e_write_mem(e, X86_SEG_SS, top, bytes, n * word)))
		return ss_fault(e, ev, r);
	return EMU_CONTINUE;
}

/* Room for len bytes below sp on the inner stack new_ss (#SS(new SS | EXT); IA-32e: #SS(EXT)). */
static int inner_room(struct x86_emu_ctx *e, const struct x86_event *ev, bool ia32e,
		      const struct x86_segment *new_ss, uint64_t sp, unsigned int len,
		      unsigned int ssz)
{
	uint32_t ext = external(ev) ? EC_EXT : 0;
	uint64_t top = (sp - len) & x86e_mask(ssz);

	if (ia32e ? x86e_canonical(e, top) && x86e_canonical(e, sp - 1)
		  : x86_segment_allows(new_ss, false, top, len, true))
		return EMU_CONTINUE;
	return x86e_raise(e, X86_EXC_SS, true, (ia32e ? 0 : new_ss->selector & ~SEL_RPL_MASK) | ext);
}

/*
 * Real-address mode (SDM vol.3 20.1.4, INT n's REAL-ADDRESS-MODE pseudo-code).  Exceptions
 * on the way carry no error code (x86e_raise drops it with CR0.PE clear) and no EXT bit.
 */
static int deliver_real(struct x86_emu_ctx *e, const struct x86_event *ev,
			const struct x86_segment *old_cs)
{
	uint64_t ip = e->rc.rip;
	struct x86_segment idtr;
	uint8_t d[IVT_ENTRY];
	int r;

	e->ops->get_sysseg(e->opaque, X86_SYS_IDTR, &idtr);
	if ((uint32_t)ev->vector * IVT_ENTRY + IVT_ENTRY - 1 > idtr.limit)
		return x86e_raise(e, X86_EXC_GP, false, 0);
	if ((r = sys_read(e, idtr.base + (uint64_t)ev->vector * IVT_ENTRY, d, IVT_ENTRY)))
		return r;
	if (ev->kind == X86_EVENT_SOFT_INT || ev->kind == X86_EVENT_SOFT_EXC ||
	    ev->kind == X86_EVENT_PRIV_SOFT)
		ip += ev->insn_len;
	if ((r = x86e_real_frame(e, old_cs, (uint16_t)e->rc.rflags, (uint16_t)ip, d)))
		return r;
	e->rc.rflags &= ~(X86_FL_IF | X86_FL_TF | X86_FL_AC | FL_RF);
	return EMU_CONTINUE;
}

/* Leaving virtual-8086 mode: ES, DS, FS and GS hold null selectors. */
static void null_data_segments(struct x86_emu_ctx *e)
{
	static const unsigned int segs[] = {X86_SEG_ES, X86_SEG_DS, X86_SEG_FS, X86_SEG_GS};
	const struct x86_segment null = {.selector = 0, .attr = X86_SEG_UNUSABLE};

	for (unsigned int i = 0; i < sizeof(segs) / sizeof(segs[0]); i++)
		e->ops->set_seg(e->opaque, segs[i], &null);
}

static int deliver(struct x86_emu_ctx *e, const struct x86_event *ev,
		   const struct x86_segment *old_cs)
{
	bool ia32e = e->ctl.efer & X86_EFER_LMA, inner = false;
	bool v86 = !ia32e && (e->rc.rflags & X86_FL_VM); /* no virtual-8086 mode in IA-32e mode */
	uint64_t slot[FRAME_MAX_SLOTS], sp = x86e_gpr(e, X86_RSP), ret = e->rc.rip, ss_la = 0, top;
	unsigned int n = 0, ssz, new_cpl = e->ctl.cpl;
	uint32_t ext = external(ev) ? EC_EXT : 0;
	struct x86_segment cs = {0}, ss, new_ss = {0};
	struct gate g = {0};
	int r;

	if (!(e->ctl.cr0 & X86_CR0_PE))
		return deliver_real(e, ev, old_cs);
	if (v86 && ev->kind == X86_EVENT_SOFT_INT) {
		bool via_idt;

		/* IOPL-sensitive, or redirected to the 8086 program with CR4.VME. */
		if ((r = x86e_v86_soft_int(e, ev, old_cs, &via_idt)) || !via_idt)
			return r;
	}
	if ((r = read_gate(e, ev, ia32e, &g)) || (r = handler_cs(e, ev, ia32e, &g, &cs, &inner)))
		return r;
	/* Out of virtual-8086 mode only to ring 0, on its stack. */
	if (v86 && (!inner || ((cs.attr >> ATTR_DPL_SHIFT) & ATTR_DPL_MASK)))
		return fault_ec(e, X86_EXC_GP, cs.selector & ~SEL_RPL_MASK, ev);
	if (ev->kind == X86_EVENT_SOFT_INT || ev->kind == X86_EVENT_SOFT_EXC ||
	    ev->kind == X86_EVENT_PRIV_SOFT)
		ret += ev->insn_len;
	if (e->mode != X86_MODE_64)
		ret &= 0xffffffffull;
	e->ops->get_seg(e->opaque, X86_SEG_SS, &ss);
	if (ev->has_error_code)
		slot[n++] = ev->error_code;
	slot[n++] = ret;
	slot[n++] = old_cs->selector;
	/* Faults push RF set, so the handler's IRET does not trap on the instruction's
	 * breakpoint again (SDM vol.3 17.3.1.1); a #DB fault does not. */
	slot[n++] = e->rc.rflags | (fault_class(ev) ? FL_RF : 0);
	if (ia32e || inner) {
		/* SS:RSP always in IA-32e mode, and on every switch to an inner ring's stack. */
		slot[n++] = sp;
		slot[n++] = ss.selector;
	}
	if (v86) {
		static const unsigned int data_segs[] = {X86_SEG_GS, X86_SEG_FS, X86_SEG_DS,
							 X86_SEG_ES};

		for (unsigned int i = 0; i < sizeof(data_segs) / sizeof(data_segs[0]); i++) {
			struct x86_segment d;

			e->ops->get_seg(e->opaque, data_segs[i], &d);
			slot[n++] = d.selector;
		}
	}
	if (inner)
		new_cpl = (cs.attr >> ATTR_DPL_SHIFT) & ATTR_DPL_MASK;
	if ((inner || (ia32e && g.ist)) &&
	    (r = x86e_tss_stack(e, new_cpl, ia32e ? g.ist : 0, ext, &new_ss, &sp, &ss_la)))
		return r;
	if (ia32e) {
		sp &= ~STACK_ALIGN_64; /* a 16-byte aligned frame */
		e->mode = X86_MODE_64; /* the frame is written in 64-bit mode */
		ssz = 8;
	} else {
		ssz = !inner ? x86e_stack_size(e) : (new_ss.attr & X86_SEG_ATTR_DB) ? 4 : 2;
	}
	top = (sp - n * g.word) & x86e_mask(ssz);
	/* The SDM's order: room on the stack (#SS), the handler's RIP (#GP), then the pushes. */
	r = inner ? inner_room(e, ev, ia32e, &new_ss, sp, n * g.word, ssz)
		  : stack_room(e, ev, sp, n * g.word, ssz);
	if (r)
		return r;
	if (ia32e ? !x86e_canonical(e, g.offset) : g.offset > cs.limit)
		return fault_ec(e, X86_EXC_GP, 0, ev);
	if ((r = push_frame(e, ev, slot, n, g.word, top, inner ? &new_ss : NULL)) ||
	    (ss_la && (r = x86e_desc_accessed(e, ss_la, &new_ss))))
		return r;
	x86e_set_sp(e, ssz, top);
	e->rc.rflags &= ~(X86_FL_TF | FL_NT | FL_RF | X86_FL_VM);
	if (!(g.type & GATE_INTR_BIT))
		e->rc.rflags &= ~X86_FL_IF;
	e->ops->set_seg(e->opaque, X86_SEG_CS, &cs);
	if (inner)
		e->ops->set_seg(e->opaque, X86_SEG_SS, &new_ss); /* the CPL follows SS's DPL */
	if (v86)
		null_data_segments(e);
	e->res->next_rip = g.offset;
	return EMU_CONTINUE;
}

bool x86e_int_supported(const struct x86_emu_ops *ops, const struct x86_insn *in)
{
	return ops->sys_access && ops->set_seg && ops->get_sysseg &&
	       in->encoding == X86_ENC_LEGACY && in->map == X86_MAP_ONE &&
	       (in->opcode == OP_INT3 || in->opcode == OP_INTN || in->opcode == OP_INTO ||
		in->opcode == OP_INT1);
}

/*
 * The instruction itself, when the CPU reported an access of its delivery as the
 * instruction's (an EPT violation / nested page fault with no event in IDT-vectoring
 * information / EXITINTINFO): the same delivery, with the same checks.  A fault on the way is
 * the instruction's (no #DF: a software interrupt does not combine).
 */
int x86e_exec_int(struct x86_emu_ctx *e, const struct x86_insn *in)
{
	struct x86_event ev = {.insn_len = in->len};
	struct x86_segment cs;
	int r;

	switch (in->opcode) {
	case OP_INTN:
		ev = (struct x86_event){.vector = (uint8_t)in->imm[0], .kind = X86_EVENT_SOFT_INT,
					.insn_len = in->len};
		break;
	case OP_INT3:
		ev = (struct x86_event){.vector = X86_EXC_BP, .kind = X86_EVENT_SOFT_EXC,
					.insn_len = in->len};
		break;
	case OP_INTO:
		if (!(e->rc.rflags & X86_FL_OF))
			return EMU_CONTINUE; /* no overflow: on to the next instruction */
		ev = (struct x86_event){.vector = X86_EXC_OF, .kind = X86_EVENT_SOFT_EXC,
					.insn_len = in->len};
		break;
	default:
		ev = (struct x86_event){.vector = X86_EXC_DB, .kind = X86_EVENT_PRIV_SOFT,
					.insn_len = in->len};
		break;
	}
	e->ops->get_seg(e->opaque, X86_SEG_CS, &cs);
	if ((r = deliver(e, &ev, &cs)))
		return r;
	/* RFLAGS (TF now clear) before the caller writes RIP: no single-step trap after a
	 * delivery, as in x86_deliver_event. */
	e->ops->set_reg(e->opaque, X86_REG_RFLAGS, e->rc.rflags);
	return EMU_CONTINUE;
}

int x86_deliver_event(struct x86_emu_ctx *e, const struct x86_event *ev,
		      struct x86_emu_result *res)
{
	struct x86_segment cs;
	uint64_t rflags_before;
	int r;

	x86e_begin(e, res, &cs);
	rflags_before = e->rc.rflags;
	if (!e->ops->sys_access || !e->ops->set_seg || !e->ops->get_sysseg)
		r = not_emulated(e);
	else
		r = deliver(e, ev, &cs);
	if (r == EMU_CONTINUE) {
		/* RFLAGS (TF now clear) before RIP: no single-step trap for a delivery. */
		x86e_commit(e, rflags_before, NULL);
		e->ops->set_reg(e->opaque, X86_REG_RIP, res->next_rip);
	} else {
		res->next_rip = e->rc.rip;
	}
	res->status = r;
	return -r;
}

static bool contributory(unsigned int vector)
{
	return vector < 32 && (CONTRIBUTORY >> vector & 1);
}

enum x86_nested x86_event_nested(const struct x86_event *first, unsigned int second)
{
	bool second_bad = contributory(second) || second == X86_EXC_PF;

	if (first->kind != X86_EVENT_HW_EXC || !second_bad)
		return X86_NESTED_SERIAL;
	if (first->vector == X86_EXC_DF)
		return X86_NESTED_SHUTDOWN;
	if (contributory(first->vector) && contributory(second))
		return X86_NESTED_DF;
	if (first->vector == X86_EXC_PF)
		return X86_NESTED_DF;
	return X86_NESTED_SERIAL;
}
