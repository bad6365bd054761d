/*
 * Far JMP/CALL through a call gate when the far pointer or the stack is on a device page, and
 * the inner-privilege stack switch that such a CALL and an event delivery
 * (x86_emu_event.c) make, following the SDM's CALL and JMP pseudo-code (vol.2) and the
 * interrupt delivery rules (vol.3 6.12) with the AMD APM's equivalents.
 *
 * Gates: 16-bit and 32-bit call gates in legacy protected mode, the 64-bit call gate (16
 * bytes, upper type field 0) in IA-32e mode.  The checks in the CPU's order: the gate's DPL
 * against CPL and RPL (#GP(gate)), present (#NP(gate)), the code selector (#GP(0) if null,
 * #GP(code) past the table, not code, DPL above the CPL, or for JMP not the CPL unless
 * conforming; IA-32e: not 64-bit code), the code segment present (#NP(code)).  A CALL to a
 * non-conforming segment of a more privileged ring switches to the stack the TSS holds for it
 * (x86e_tss_stack: #TS(TSS) past the TSS limit, #TS for a bad new SS, #SS(SS) if not present),
 * checks the room for the frame (#SS(SS), IA-32e: #SS(0) for a non-canonical one) and the
 * entry point (#GP(0)), then writes old SS:ESP, the gate's parameter count of words or
 * dwords copied from the old stack (legacy gates only), old CS:EIP, all as wide as the gate.
 * The new stack is written with supervisor accesses (x86e_inner_write).
 *
 * A task gate or TSS descriptor in a far JMP/CALL is a task switch, which mhv does not emulate:
 * #GP(selector), what mhv injects for a hardware task switch (README).
 */
#include "mmio/x86_emu_internal.h"

#define SEL_RPL_MASK	 0x3u
#define SEL_ERROR_MASK	 0xfffcu
#define SEL_TI		 0x4u
#define SEL_INDEX_MASK	 0xfff8u
#define DESC_BYTES	 8
#define GATE64_BYTES	 16
#define DESC_ACCESS	 5
#define DESC_PARAMS	 4
#define GATE64_UPPER_TYPE 13 /* byte of the upper half's type field: must be 0 */
#define GATE_PARAMS_MASK 0x1fu
#define GATE_P		 0x80u
#define ATTR_DPL_SHIFT	 5
#define ATTR_DPL_MASK	 0x3u
#define TYPE_CONFORM	 0x4u
#define SYS_TYPE_MASK	 0xfu
#define SYS_TSS16_AVAIL	 0x1u
#define SYS_TSS16_BUSY	 0x3u
#define SYS_CALL16	 0x4u
#define SYS_CALL32	 0xcu /* the 64-bit call gate in IA-32e mode */
#define TSS16_SP0	 2
#define TSS16_SLOT	 4
#define TSS32_ESP0	 4
#define TSS32_SLOT	 8
#define TSS64_RSP0	 4
#define TSS64_IST1	 0x24u
#define TSS64_SLOT	 8
#define X86_EXC_TS	 10
#define FRAME_SLOTS_MAX	 (4 + GATE_PARAMS_MASK)
#define WORD16_MASK	 0xffffull
#define ADDR32_MASK	 0xffffffffull

struct call_gate {
	uint16_t cs_sel;
	unsigned int word; /* bytes per slot: 2, 4 or 8 */
	unsigned int params;
	uint64_t offset;
};

static unsigned int dpl_of(const struct x86_segment *s)
{
	return (s->attr >> ATTR_DPL_SHIFT) & ATTR_DPL_MASK;
}

static uint64_t le(const uint8_t *b, unsigned int n)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < n; i++)
		v |= (uint64_t)b[i] << (BYTE_BITS * i);
	return v;
}

static int fault_sel(struct x86_emu_ctx *e, unsigned int vector, uint16_t sel, uint32_t ext)
{
	return x86e_raise(e, vector, true, (sel & SEL_ERROR_MASK) | ext);
}

static bool ia32e(const struct x86_emu_ctx *e)
{
	return e->ctl.efer & X86_EFER_LMA;
}

/* An implicit supervisor access to linear [la, la + len), split at pages (buf NULL: probe). */
static int sys_rw(struct x86_emu_ctx *e, uint64_t la, uint8_t *buf, unsigned int len, bool write)
{
	for (unsigned int done = 0; done < len;) {
		uint64_t at = la + done;
		uint64_t room = PAGE_SIZE_4K - (at & (PAGE_SIZE_4K - 1));
		unsigned int n = len - done < room ? len - done : (unsigned int)room;

		if (!ia32e(e))
			at &= ADDR32_MASK;
		if (e->ops->sys_access(e->opaque, at, buf ? buf + done : NULL, n, write,
				       &e->res->exc))
			return X86_EMU_EXCEPTION;
		done += n;
	}
	return EMU_CONTINUE;
}

/* Does the GDT or LDT hold len bytes of the entry sel names? */
static bool in_table(struct x86_emu_ctx *e, uint16_t sel, unsigned int len)
{
	struct x86_segment t;

	if (sel & SEL_TI) {
		e->ops->get_sysseg(e->opaque, X86_SYS_LDTR, &t);
		if (!(t.selector & ~SEL_RPL_MASK) || (t.attr & X86_SEG_UNUSABLE))
			return false;
	} else {
		e->ops->get_sysseg(e->opaque, X86_SYS_GDTR, &t);
	}
	return (uint32_t)(sel & SEL_INDEX_MASK) + len - 1 <= t.limit;
}

int x86e_inner_write(struct x86_emu_ctx *e, const struct x86_segment *ss, uint64_t top,
		     const uint8_t *bytes, unsigned int n)
{
	uint64_t la = (ss->attr & X86_SEG_UNUSABLE) ? top : ss->base + top;
	int r;

	/* A frame across two pages: both checked before the first byte is written. */
	if ((la & (PAGE_SIZE_4K - 1)) + n > PAGE_SIZE_4K && (r = sys_rw(e, la, NULL, n, true)))
		return r;
	return sys_rw(e, la, (uint8_t *)(uintptr_t)bytes, n, true);
}

/* Legacy mode: the new SS from the TSS, checked as the CPU does (ext: the EXT bit). */
static int check_new_ss(struct x86_emu_ctx *e, uint16_t nss, unsigned int dpl, uint32_t ext,
			struct x86_segment *ss, uint64_t *ss_la)
{
	unsigned int type;
	int r;

	if (!(nss & ~SEL_RPL_MASK))
		return x86e_raise(e, X86_EXC_TS, true, ext);
	if (!in_table(e, nss, DESC_BYTES) || (nss & SEL_RPL_MASK) != dpl)
		return fault_sel(e, X86_EXC_TS, nss, ext);
	if ((r = x86e_read_desc(e, nss, ss, ss_la)))
		return r;
	type = ss->attr & X86_SEG_TYPE_MASK;
	if (dpl_of(ss) != dpl || !(ss->attr & X86_SEG_ATTR_S) || (type & X86_SEG_TYPE_CODE) ||
	    !(type & X86_SEG_TYPE_WR))
		return fault_sel(e, X86_EXC_TS, nss, ext);
	if (!(ss->attr & X86_SEG_ATTR_P))
		return fault_sel(e, X86_EXC_SS, nss, ext);
	ss->selector = nss;
	return EMU_CONTINUE;
}

int x86e_tss_stack(struct x86_emu_ctx *e, unsigned int dpl, unsigned int ist, uint32_t ext,
		   struct x86_segment *ss, uint64_t *sp, uint64_t *ss_la)
{
	unsigned int type, off, len;
	struct x86_segment tr;
	uint8_t b[TSS64_SLOT];
	bool tss16;
	int r;

	e->ops->get_sysseg(e->opaque, X86_SYS_TR, &tr);
	*ss_la = 0;
	if (ia32e(e)) {
		off = ist ? TSS64_IST1 + TSS64_SLOT * (ist - 1) : TSS64_RSP0 + TSS64_SLOT * dpl;
		if (off + TSS64_SLOT - 1 > tr.limit)
			return fault_sel(e, X86_EXC_TS, tr.selector, ext);
		if ((r = sys_rw(e, tr.base + off, b, TSS64_SLOT, false)))
			return r;
		*sp = le(b, TSS64_SLOT);
		/* IA-32e mode: SS becomes a null selector whose RPL is the new CPL. */
		*ss = (struct x86_segment){.selector = (uint16_t)dpl,
					   .attr = X86_SEG_UNUSABLE | X86_SEG_ATTR_S |
						   X86_SEG_TYPE_WR | dpl << ATTR_DPL_SHIFT};
		return EMU_CONTINUE;
	}
	type = tr.attr & SYS_TYPE_MASK;
	tss16 = type == SYS_TSS16_AVAIL || type == SYS_TSS16_BUSY;
	off = tss16 ? TSS16_SP0 + TSS16_SLOT * dpl : TSS32_ESP0 + TSS32_SLOT * dpl;
	len = tss16 ? 4 : 6;
	/* The whole slot must be in the TSS: SS counts as a word (16-bit) or dword (32-bit). */
	if (off + (tss16 ? TSS16_SLOT : TSS32_SLOT) - 1 > tr.limit)
		return fault_sel(e, X86_EXC_TS, tr.selector, ext);
	if ((r = sys_rw(e, tr.base + off, b, len, false)))
		return r;
	*sp = le(b, len - 2);
	return check_new_ss(e, (uint16_t)le(b + len - 2, 2), dpl, ext, ss, ss_la);
}

/* The gate's code segment (CALL: DPL <= CPL; JMP: DPL = CPL unless conforming). */
static int gate_code(struct x86_emu_ctx *e, uint16_t sel, bool call, struct x86_segment *cs,
		     uint64_t *la)
{
	unsigned int cpl = e->ctl.cpl, dpl;
	bool conforming;
	int r;

	if (!(sel & ~SEL_RPL_MASK))
		return x86e_raise(e, X86_EXC_GP, true, 0);
	if ((r = x86e_read_desc(e, sel, cs, la)))
		return r;
	dpl = dpl_of(cs);
	conforming = cs->attr & TYPE_CONFORM;
	if (!(cs->attr & X86_SEG_ATTR_S) || !(cs->attr & X86_SEG_TYPE_CODE) || dpl > cpl ||
	    (!call && !conforming && dpl != cpl))
		return fault_sel(e, X86_EXC_GP, sel, 0);
	if (ia32e(e) && (!(cs->attr & X86_SEG_ATTR_L) || (cs->attr & X86_SEG_ATTR_DB)))
		return fault_sel(e, X86_EXC_GP, sel, 0);
	if (!(cs->attr & X86_SEG_ATTR_P))
		return fault_sel(e, X86_EXC_NP, sel, 0);
	return EMU_CONTINUE;
}

/* The gate descriptor at la (8 bytes, 16 in IA-32e mode), with its own checks. */
static int read_gate(struct x86_emu_ctx *e, uint16_t sel, uint64_t la, struct call_gate *g)
{
	uint8_t d[GATE64_BYTES] = {0};
	unsigned int type, dpl;
	int r;

	if ((r = sys_rw(e, la, d, DESC_BYTES, false)))
		return r;
	type = d[DESC_ACCESS] & SYS_TYPE_MASK;
	/* Anything else (task gate, TSS: a task switch mhv does not emulate): #GP(selector). */
	if (ia32e(e) ? type != SYS_CALL32 : type != SYS_CALL16 && type != SYS_CALL32)
		return fault_sel(e, X86_EXC_GP, sel, 0);
	if (ia32e(e)) {
		if (!in_table(e, sel, GATE64_BYTES))
			return fault_sel(e, X86_EXC_GP, sel, 0);
		if ((r = sys_rw(e, la + DESC_BYTES, d + DESC_BYTES, DESC_BYTES, false)))
			return r;
		if (d[GATE64_UPPER_TYPE] & GATE_PARAMS_MASK)
			return fault_sel(e, X86_EXC_GP, sel, 0);
	}
	dpl = (d[DESC_ACCESS] >> ATTR_DPL_SHIFT) & ATTR_DPL_MASK;
	if (dpl < e->ctl.cpl || (sel & SEL_RPL_MASK) > dpl)
		return fault_sel(e, X86_EXC_GP, sel, 0);
	if (!(d[DESC_ACCESS] & GATE_P))
		return fault_sel(e, X86_EXC_NP, sel, 0);
	g->cs_sel = (uint16_t)le(d + 2, 2);
	g->offset = le(d, 2) | le(d + 6, 2) << 16 | le(d + 8, 4) << 32;
	g->word = ia32e(e) ? 8 : type == SYS_CALL32 ? 4 : 2;
	g->params = ia32e(e) ? 0 : d[DESC_PARAMS] & GATE_PARAMS_MASK;
	if (g->word == 2)
		g->offset &= WORD16_MASK;
	return EMU_CONTINUE;
}

static bool entry_ok(struct x86_emu_ctx *e, const struct x86_segment *cs, uint64_t off)
{
	return ia32e(e) ? x86e_canonical(e, off) : off <= cs->limit;
}

static void put_slot(uint8_t *b, uint64_t v, unsigned int word)
{
	for (unsigned int i = 0; i < word; i++)
		b[i] = (uint8_t)(v >> (BYTE_BITS * i));
}

/* Same privilege: JMP, a CALL to a conforming or same-ring segment (old CS:EIP pushed). */
static int gate_same(struct x86_emu_ctx *e, const struct call_gate *g, bool call,
		     struct x86_segment *cs, uint64_t cs_la, uint64_t ret_rip,
		     const struct x86_segment *old_cs)
{
	uint64_t sp = 0, la;
	int r;

	if (call) {
		unsigned int ssz;

		if (ia32e(e))
			e->mode = X86_MODE_64; /* 8-byte pushes at RSP, canonical: #SS(0) */
		ssz = x86e_stack_size(e);
		sp = (x86e_gpr(e, X86_RSP) - 2 * g->word) & x86e_mask(ssz);
		if ((r = x86e_linear(e, X86_SEG_SS, sp, 2 * g->word, true, &la)))
			return r;
	}
	if (!entry_ok(e, cs, g->offset))
		return x86e_raise(e, X86_EXC_GP, true, 0);
	if (call && ((r = x86e_probe_write(e, X86_SEG_SS, sp, 2 * g->word)) ||
		     (r = x86e_push(e, old_cs->selector, g->word)) ||
		     (r = x86e_push(e, ret_rip & x86e_mask(g->word), g->word))))
		return r;
	if ((r = x86e_desc_accessed(e, cs_la, cs)))
		return r;
	cs->selector = (uint16_t)((g->cs_sel & ~SEL_RPL_MASK) | e->ctl.cpl);
	e->ops->set_seg(e->opaque, X86_SEG_CS, cs);
	e->res->next_rip = g->offset;
	return EMU_CONTINUE;
}

/* CALL to a more privileged ring: the TSS's stack, old SS:ESP, parameters, old CS:EIP. */
static int gate_inner(struct x86_emu_ctx *e, const struct call_gate *g, struct x86_segment *cs,
		      uint64_t cs_la, uint64_t ret_rip, const struct x86_segment *old_cs)
{
	unsigned int ncpl = dpl_of(cs), w = g->word, n = (4 + g->params) * w, nssz;
	uint8_t frame[FRAME_SLOTS_MAX * sizeof(uint64_t)];
	uint64_t nsp, top, ss_la, osp = x86e_gpr(e, X86_RSP);
	struct x86_segment ss, old_ss;
	int r;

	if ((r = x86e_tss_stack(e, ncpl, 0, 0, &ss, &nsp, &ss_la)))
		return r;
	if (ia32e(e)) {
		nssz = 8;
		top = nsp - n;
		if (!x86e_canonical(e, top) || !x86e_canonical(e, nsp - 1))
			return x86e_raise(e, X86_EXC_SS, true, 0);
	} else {
		nssz = (ss.attr & X86_SEG_ATTR_DB) ? 4 : 2;
		top = (nsp - n) & x86e_mask(nssz);
		if (!x86_segment_allows(&ss, false, top, n, true))
			return fault_sel(e, X86_EXC_SS, ss.selector, 0);
	}
	if (!entry_ok(e, cs, g->offset))
		return x86e_raise(e, X86_EXC_GP, true, 0);
	/* Lowest address first: old CS:EIP, the parameters as they were, old SS:ESP. */
	e->ops->get_seg(e->opaque, X86_SEG_SS, &old_ss);
	put_slot(frame, ret_rip, w);
	put_slot(frame + w, old_cs->selector, w);
	if (g->params &&
	    (r = x86e_read_mem(e, X86_SEG_SS, osp & x86e_mask(x86e_stack_size(e)), frame + 2 * w,
			       g->params * w)))
		return r;
	put_slot(frame + (2 + g->params) * w, osp, w);
	put_slot(frame + (3 + g->params) * w, old_ss.selector, w);
	if ((r = x86e_inner_write(e, &ss, top, frame, n)) ||
	    (r = x86e_desc_accessed(e, cs_la, cs)) ||
	    (ss_la && (r = x86e_desc_accessed(e, ss_la, &ss))))
		return r;
	cs->selector = (uint16_t)((g->cs_sel & ~SEL_RPL_MASK) | ncpl);
	e->ops->set_seg(e->opaque, X86_SEG_CS, cs);
	e->ops->set_seg(e->opaque, X86_SEG_SS, &ss); /* the CPL follows SS's DPL */
	x86e_set_sp(e, nssz, top);
	e->res->next_rip = g->offset;
	return EMU_CONTINUE;
}

int x86e_far_gate(struct x86_emu_ctx *e, uint16_t sel, bool call, uint64_t ret_rip,
		  const struct x86_segment *old_cs)
{
	struct x86_segment cs, table;
	struct call_gate g = {0};
	uint64_t cs_la;
	int r;

	/* x86e_read_desc found the entry within its table already. */
	e->ops->get_sysseg(e->opaque, (sel & SEL_TI) ? X86_SYS_LDTR : X86_SYS_GDTR, &table);
	if ((r = read_gate(e, sel, table.base + (sel & SEL_INDEX_MASK), &g)) || (r = gate_code(e, g.cs_sel, call, &cs, &cs_la)))
		return r;
	if (call && !(cs.attr & TYPE_CONFORM) && dpl_of(&cs) < e->ctl.cpl)
		return gate_inner(e, &g, &cs, cs_la, ret_rip, old_cs);
	return gate_same(e, &g, call, &cs, cs_la, ret_rip, old_cs);
}
