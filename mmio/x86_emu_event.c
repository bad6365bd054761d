/*
 * Event delivery through the IDT when the CPU's own delivery touched a device page (the stack
 * the frame goes on, usually: RSP inside an MMIO region).  The CPU stops with the event
 * pending (IDT-vectoring information / EXITINTINFO) and mhv completes it here, step by step
 * as the SDM's interrupt and exception handling describes (vol.3 6.12, 6.14), every access
 * through the callbacks so the frame reaches the device.
 *
 * Emulated: protected mode with 32-bit interrupt and trap gates, and IA-32e mode with 64-bit
 * gates, IST stacks included, to a handler at the current privilege (a conforming code
 * segment, or a non-conforming one whose DPL is the CPL).  A fault on the way (gate past the
 * IDT limit, not present, bad code segment, a stack push that faults) is returned as the
 * exception the CPU would raise, for x86_event_nested() to combine with the first event.
 * Not emulated (X86_EMU_UNSUPPORTED, nothing changed): real and virtual-8086 mode, task
 * gates, 16-bit gates, a change to an inner privilege level (a stack from the TSS and a CPL
 * change).
 */
#include "mmio/x86_emu_internal.h"

#define IDT_GATE_32	  8
#define IDT_GATE_64	  16
#define GATE_TYPE_MASK	  0xfu
#define GATE_INTR32	  0xeu /* also the 64-bit interrupt gate in IA-32e mode */
#define GATE_TRAP32	  0xfu
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
#define TSS64_IST1	  0x24u
#define TSS_IST_BYTES	  8
#define STACK_ALIGN_64	  0xfull
#define FL_RF		  (1ull << 16)
#define FL_NT		  (1ull << 14)
#define FRAME_MAX_SLOTS	  6
#define FAULT_VECTORS	  0x003b7ce1u /* #DE #BR #UD #NM #TS #NP #SS #GP #PF #MF #AC #XM #VE #CP */
#define CONTRIBUTORY	  0x00003c01u /* #DE #TS #NP #SS #GP */
#define X86_EXC_DF	  8
#define X86_EXC_TS	  10

static uint16_t le16(const uint8_t *b)
{
	return (uint16_t)(b[0] | b[1] << BYTE_BITS);
}

static uint32_t le32(const uint8_t *b)
{
	return le16(b) | (uint32_t)le16(b + 2) << 16;
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
	unsigned int type, dpl, ist;
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
	g->sel = le16(d + 2);
	g->type = d[5] & GATE_TYPE_MASK;
	g->dpl = (d[5] >> GATE_DPL_SHIFT) & GATE_DPL_MASK;
	g->present = d[5] & GATE_P;
	g->ist = ia32e ? d[4] & GATE_IST_MASK : 0;
	g->offset = le16(d) | (uint64_t)le16(d + 6) << 16;
	if (ia32e)
		g->offset |= (uint64_t)le32(d + 8) << 32;
	if (g->type != GATE_INTR32 && g->type != GATE_TRAP32) {
		/* Task gates and 16-bit gates (legacy mode only) are not emulated. */
		if (!ia32e && (d[5] & X86_SEG_ATTR_S) == 0 &&
		    (g->type == 0x5 || g->type == 0x6 || g->type == 0x7))
			return not_emulated(e);
		return fault_ec(e, X86_EXC_GP, ec, ev);
	}
	/* INT n, INT3 and INTO need a gate the program may use. */
	if ((ev->kind == X86_EVENT_SOFT_INT || ev->kind == X86_EVENT_SOFT_EXC) &&
	    g->dpl < e->ctl.cpl)
		return x86e_raise(e, X86_EXC_GP, true, ec);
	if (!g->present)
		return fault_ec(e, X86_EXC_NP, ec, ev);
	return EMU_CONTINUE;
}

/* The handler's code segment, at the current privilege (else not emulated). */
static int handler_cs(struct x86_emu_ctx *e, const struct x86_event *ev, bool ia32e,
		      const struct gate *g, struct x86_segment *cs)
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
	if (!(cs->attr & TYPE_CONFORM) && dpl < e->ctl.cpl)
		return not_emulated(e); /* inner privilege: stack switch through the TSS */
	if ((r = x86e_desc_accessed(e, la, cs)))
		return r;
	cs->selector = (uint16_t)(ec | e->ctl.cpl);
	return EMU_CONTINUE;
}

/* IA-32e mode: the IST stack the gate names (TSS64 bytes 0x24 + 8 * (ist - 1)). */
static int ist_stack(struct x86_emu_ctx *e, const struct x86_event *ev, unsigned int ist,
		     uint64_t *rsp)
{
	uint32_t off = TSS64_IST1 + TSS_IST_BYTES * (ist - 1);
	struct x86_segment tr;
	uint8_t b[TSS_IST_BYTES];
	int r;

	e->ops->get_sysseg(e->opaque, X86_SYS_TR, &tr);
	if (off + TSS_IST_BYTES - 1 > tr.limit)
		return fault_ec(e, X86_EXC_TS, tr.selector & ~SEL_RPL_MASK, ev);
	if ((r = sys_read(e, tr.base + off, b, TSS_IST_BYTES)))
		return r;
	*rsp = le32(b) | (uint64_t)le32(b + 4) << 32;
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

/* The frame, lowest address first: [error code,] RIP, CS, RFLAGS[, RSP, SS in IA-32e mode]. */
static int push_frame(struct x86_emu_ctx *e, const struct x86_event *ev, const uint64_t *slot,
		      unsigned int n, unsigned int word, unsigned int ssz, uint64_t sp)
{
	uint8_t bytes[FRAME_MAX_SLOTS * sizeof(uint64_t)];
	uint64_t top = (sp - n * word) & x86e_mask(ssz);
	int r;

	for (unsigned int i = 0; i < n; i++)
		for (unsigned int b = 0; b < word; b++)
			bytes[i * word + b] = (uint8_t)(slot[i] >> (BYTE_BITS * b));
	if ((r = x86e_write_mem(e, X86_SEG_SS, top, bytes, n * word)))
		return ss_fault(e, ev, r);
	x86e_set_sp(e, ssz, top);
	return EMU_CONTINUE;
}

static int deliver(struct x86_emu_ctx *e, const struct x86_event *ev,
		   const struct x86_segment *old_cs)
{
	bool ia32e = e->ctl.efer & X86_EFER_LMA;
	uint64_t slot[FRAME_MAX_SLOTS], sp = x86e_gpr(e, X86_RSP), ret = e->rc.rip;
	unsigned int n = 0, word = ia32e ? 8 : 4, ssz;
	struct x86_segment cs = {0}, ss;
	struct gate g = {0};
	int r;

	if (!(e->ctl.cr0 & X86_CR0_PE) || (e->rc.rflags & X86_FL_VM))
		return not_emulated(e);
	if ((r = read_gate(e, ev, ia32e, &g)) || (r = handler_cs(e, ev, ia32e, &g, &cs)))
		return r;
	if (ev->kind == X86_EVENT_SOFT_INT || ev->kind == X86_EVENT_SOFT_EXC ||
	    ev->kind == X86_EVENT_PRIV_SOFT)
		ret += ev->insn_len;
	if (e->mode != X86_MODE_64)
		ret &= 0xffffffffull;
	if (ev->has_error_code)
		slot[n++] = ev->error_code;
	slot[n++] = ret;
	slot[n++] = old_cs->selector;
	/* Faults push RF set, so the handler's IRET does not trap on the instruction's
	 * breakpoint again (SDM vol.3 17.3.1.1); a #DB fault does not. */
	slot[n++] = e->rc.rflags | (fault_class(ev) ? FL_RF : 0);
	if (ia32e) {
		/* IA-32e mode: SS:RSP always, on a 16-byte aligned (or the IST) stack. */
		e->ops->get_seg(e->opaque, X86_SEG_SS, &ss);
		slot[n++] = sp;
		slot[n++] = ss.selector;
		if (g.ist && (r = ist_stack(e, ev, g.ist, &sp)))
			return r;
		sp &= ~STACK_ALIGN_64;
		e->mode = X86_MODE_64; /* the frame is written in 64-bit mode */
		ssz = 8;
	} else {
		ssz = x86e_stack_size(e);
	}
	/* The SDM's order: room on the stack (#SS), the handler's RIP (#GP), then the pushes. */
	if ((r = stack_room(e, ev, sp, n * word, ssz)))
		return r;
	if (ia32e ? !x86e_canonical(e, g.offset) : g.offset > cs.limit)
		return fault_ec(e, X86_EXC_GP, 0, ev);
	if ((r = push_frame(e, ev, slot, n, word, ssz, sp)))
		return r;
	e->rc.rflags &= ~(X86_FL_TF | FL_NT | FL_RF | X86_FL_VM);
	if (g.type == GATE_INTR32)
		e->rc.rflags &= ~X86_FL_IF;
	e->ops->set_seg(e->opaque, X86_SEG_CS, &cs);
	e->res->next_rip = g.offset;
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
