/*
 * MOV Sreg, m16 (8E /r) with the selector on a device page: ES, SS, DS, FS, GS (MOV to CS is
 * #UD), and POP ES/SS/DS/FS/GS with the stack on one (07, 17, 1F outside 64-bit mode; 0F A1,
 * 0F A9).  Real and virtual-8086 mode load selector << 4 as the base; protected and long mode
 * read the descriptor from the guest's GDT or LDT (an implicit supervisor access through
 * ops->sys_access), apply the checks of the SDM's MOV pseudo-code with their faults
 * (#GP(selector), #SS(selector), #NP(selector), the null-selector rules), set the descriptor's
 * accessed bit, and load the register through ops->set_seg.  A load of SS asks the caller for
 * the MOV SS interrupt shadow (res->mov_ss_shadow).
 *
 * x86_load_sreg() is the same load for a debugger's write of a segment register (gdb's
 * `set $ds = ...`), CS included when the CPL and the code's mode stay as they are.
 *
 * Not here: far branches, LLDT/LTR (the same descriptor reads, other checks).
 */
#include "mmio/x86_emu_internal.h"

#define SEL_RPL_MASK	   0x3u
#define SEL_TI		   0x4u /* the selector names the LDT */
#define SEL_INDEX_MASK	   0xfff8u
#define SEL_ERROR_MASK	   0xfffcu /* error code: index and TI, RPL dropped */
#define DESC_BYTES	   8
#define DESC_ACCESS_BYTE   5
#define DESC_TYPE_ACCESSED 0x1u
#define DESC_TYPE_CONFORM  0x4u /* code: conforming */
#define ATTR_DPL_SHIFT	   5
#define ATTR_DPL_MASK	   0x3u
#define ATTR_HIGH_MASK	   0xf0u /* byte 6: AVL, L, D/B, G */
#define ATTR_HIGH_SHIFT	   8
#define LIMIT_HIGH_MASK	   0x0fu
#define LIMIT_PAGE_SHIFT   12
#define LIMIT_PAGE_LOW	   0xfffu
#define V86_LIMIT	   0xffffu
#define V86_ATTR	   (X86_SEG_ATTR_P | X86_SEG_ATTR_S | (3u << ATTR_DPL_SHIFT) | 0x3u)

/* The segment register POP Sreg loads, or X86_SEG_NONE for another instruction. */
static unsigned int pop_target(const struct x86_insn *in)
{
	if (in->map == X86_MAP_ONE)
		switch (in->opcode) {
		case 0x07:
			return X86_SEG_ES;
		case 0x17:
			return X86_SEG_SS;
		case 0x1f:
			return X86_SEG_DS;
		default:
			return X86_SEG_NONE;
		}
	if (in->map == X86_MAP_0F && (in->opcode == 0xa1 || in->opcode == 0xa9))
		return in->opcode == 0xa1 ? X86_SEG_FS : X86_SEG_GS;
	return X86_SEG_NONE;
}

bool x86e_sreg_supported(const struct x86_emu_ops *ops, const struct x86_insn *in)
{
	unsigned int seg = in->reg & 7;

	if (!ops->sys_access || !ops->set_seg || in->encoding != X86_ENC_LEGACY)
		return false;
	if (pop_target(in) != X86_SEG_NONE)
		return true;
	return in->map == X86_MAP_ONE && in->opcode == 0x8e && in->has_mem &&
	       seg != X86_SEG_CS && seg <= X86_SEG_GS;
}

static int fault_sel(struct x86_emu_ctx *e, unsigned int vector, uint16_t sel)
{
	return x86e_raise(e, vector, true, sel & SEL_ERROR_MASK);
}

/* The descriptor's fields in the x86_segment layout (attributes as VMX keeps them). */
static void unpack(const uint8_t *d, struct x86_segment *s)
{
	uint32_t limit = d[0] | (uint32_t)d[1] << 8 | (uint32_t)(d[6] & LIMIT_HIGH_MASK) << 16;

	s->attr = d[DESC_ACCESS_BYTE] | (uint32_t)(d[6] & ATTR_HIGH_MASK) << ATTR_HIGH_SHIFT;
	if (s->attr & X86_SEG_ATTR_G)
		limit = limit << LIMIT_PAGE_SHIFT | LIMIT_PAGE_LOW;
	s->limit = limit;
	s->base = d[2] | (uint64_t)d[3] << 8 | (uint64_t)d[4] << 16 | (uint64_t)d[7] << 24;
}

/* SDM vol.2 MOV: the checks for SS (checks_ss) or a data segment register, in its order. */
static int check_desc(struct x86_emu_ctx *e, uint16_t sel, const struct x86_segment *s,
		      bool is_ss)
{
	unsigned int type = s->attr & X86_SEG_TYPE_MASK, rpl = sel & SEL_RPL_MASK;
	unsigned int dpl = (s->attr >> ATTR_DPL_SHIFT) & ATTR_DPL_MASK, cpl = e->ctl.cpl;
	bool code = type & X86_SEG_TYPE_CODE;

	if (!(s->attr & X86_SEG_ATTR_S))
		return fault_sel(e, X86_EXC_GP, sel);
	if (is_ss) {
		if (rpl != cpl || code || !(type & X86_SEG_TYPE_WR) || dpl != cpl)
			return fault_sel(e, X86_EXC_GP, sel);
		if (!(s->attr & X86_SEG_ATTR_P))
			return fault_sel(e, X86_EXC_SS, sel);
		return EMU_CONTINUE;
	}
	if (code && !(type & X86_SEG_TYPE_WR))
		return fault_sel(e, X86_EXC_GP, sel); /* execute-only code */
	if ((!code || !(type & DESC_TYPE_CONFORM)) && (rpl > dpl || cpl > dpl))
		return fault_sel(e, X86_EXC_GP, sel);
	if (!(s->attr & X86_SEG_ATTR_P))
		return fault_sel(e, X86_EXC_NP, sel);
	return EMU_CONTINUE;
}

/*
 * A null selector: SS takes one only in 64-bit mode below ring 3 with RPL = CPL (SS keeps the
 * CPL as its DPL); the data segment registers become unusable, base 0 (Intel; AMD CPUs with
 * NullSelectorClearsBase do the same).
 */
static int load_null(struct x86_emu_ctx *e, uint16_t sel, bool is_ss, struct x86_segment *s)
{
	*s = (struct x86_segment){.selector = sel, .attr = X86_SEG_UNUSABLE};
	if (!is_ss)
		return EMU_CONTINUE;
	if (e->mode != X86_MODE_64 || e->ctl.cpl == 3 || (sel & SEL_RPL_MASK) != e->ctl.cpl)
		return x86e_raise(e, X86_EXC_GP, true, 0);
	s->attr |= X86_SEG_ATTR_S | X86_SEG_TYPE_WR | (uint32_t)e->ctl.cpl << ATTR_DPL_SHIFT;
	return EMU_CONTINUE;
}

int x86e_read_desc(struct x86_emu_ctx *e, uint16_t sel, struct x86_segment *s, uint64_t *la)
{
	struct x86_segment table;
	uint8_t d[DESC_BYTES];

	if (sel & SEL_TI) {
		e->ops->get_sysseg(e->opaque, X86_SYS_LDTR, &table);
		if (!(table.selector & ~SEL_RPL_MASK))
			return fault_sel(e, X86_EXC_GP, sel); /* no LDT loaded */
	} else {
		e->ops->get_sysseg(e->opaque, X86_SYS_GDTR, &table);
	}
	if ((uint32_t)(sel & SEL_INDEX_MASK) + DESC_BYTES - 1 > table.limit)
		return fault_sel(e, X86_EXC_GP, sel);
	*la = table.base + (sel & SEL_INDEX_MASK);
	if (!(e->ctl.efer & X86_EFER_LMA)) /* IA-32e: 64-bit table bases */
		*la &= 0xffffffffull;
	/* A descriptor never crosses a page when the table is 8-byte aligned; split if not. */
	for (unsigned int done = 0; done < DESC_BYTES;) {
		unsigned int n = DESC_BYTES - done;
		uint64_t room = PAGE_SIZE_4K - ((*la + done) & (PAGE_SIZE_4K - 1));

		if (room < n)
			n = (unsigned int)room;
		if (e->ops->sys_access(e->opaque, *la + done, d + done, n, false, &e->res->exc))
			return X86_EMU_EXCEPTION;
		done += n;
	}
	unpack(d, s);
	s->selector = sel;
	return EMU_CONTINUE;
}

int x86e_desc_accessed(struct x86_emu_ctx *e, uint64_t la, struct x86_segment *s)
{
	uint8_t acc = (uint8_t)(s->attr | DESC_TYPE_ACCESSED);

	if (s->attr & DESC_TYPE_ACCESSED)
		return EMU_CONTINUE;
	/* The CPU marks the descriptor accessed in the table. */
	if (e->ops->sys_access(e->opaque, la + DESC_ACCESS_BYTE, &acc, 1, true, &e->res->exc))
		return X86_EMU_EXCEPTION;
	s->attr |= DESC_TYPE_ACCESSED;
	return EMU_CONTINUE;
}

static int load_desc(struct x86_emu_ctx *e, uint16_t sel, bool is_ss, struct x86_segment *s)
{
	uint64_t la;
	int r;

	if (!(sel & ~SEL_RPL_MASK))
		return load_null(e, sel, is_ss, s);
	if ((r = x86e_read_desc(e, sel, s, &la)) || (r = check_desc(e, sel, s, is_ss)))
		return r;
	return x86e_desc_accessed(e, la, s);
}

int x86e_exec_sreg(struct x86_emu_ctx *e, const struct x86_insn *in)
{
	unsigned int seg = pop_target(in);
	struct x86_segment s;
	struct x86_opnd m;
	uint64_t v;
	bool is_ss;
	int r;

	if (seg != X86_SEG_NONE) {
		/* rSP moves (with the old SS's size) only if the load succeeds: committed later. */
		if ((r = x86e_pop(e, &v, in->opsize)))
			return r;
	} else {
		seg = in->reg & 7;
		x86e_rm_opnd(e, in, 2, &m);
		if ((r = x86e_read_op(e, &m, &v)))
			return r;
	}
	is_ss = seg == X86_SEG_SS;
	if (e->real_or_v86) {
		e->ops->get_seg(e->opaque, seg, &s);
		s.selector = (uint16_t)v;
		s.base = (uint64_t)(uint16_t)v << REAL_SEG_SHIFT;
		if (e->rc.rflags & X86_FL_VM) {
			s.limit = V86_LIMIT;
			s.attr = V86_ATTR | DESC_TYPE_ACCESSED;
		}
	} else if ((r = load_desc(e, (uint16_t)v, is_ss, &s))) {
		return r;
	}
	e->ops->set_seg(e->opaque, seg, &s);
	e->res->mov_ss_shadow = is_ss;
	return EMU_CONTINUE;
}

/*
 * A new CS for a debugger: a present code segment the CPU could be running in now without a
 * privilege or mode change (RPL = CPL; DPL = CPL, or <= CPL if conforming; in IA-32e mode the
 * same L bit, never L with D), as a far JMP within the privilege level checks it.
 */
static int load_cs(struct x86_emu_ctx *e, uint16_t sel, const struct x86_segment *cur,
		   struct x86_segment *s)
{
	unsigned int dpl, cpl = e->ctl.cpl;
	uint64_t la;
	int r;

	if (!(sel & ~SEL_RPL_MASK) || (sel & SEL_RPL_MASK) != cpl)
		return fault_sel(e, X86_EXC_GP, sel);
	if ((r = x86e_read_desc(e, sel, s, &la)))
		return r;
	dpl = (s->attr >> ATTR_DPL_SHIFT) & ATTR_DPL_MASK;
	if (!(s->attr & X86_SEG_ATTR_S) || !(s->attr & X86_SEG_TYPE_CODE) ||
	    ((s->attr & DESC_TYPE_CONFORM) ? dpl > cpl : dpl != cpl))
		return fault_sel(e, X86_EXC_GP, sel);
	if (e->ctl.efer & X86_EFER_LMA) {
		bool l = s->attr & X86_SEG_ATTR_L;

		if (l != !!(cur->attr & X86_SEG_ATTR_L) || (l && (s->attr & X86_SEG_ATTR_DB)))
			return fault_sel(e, X86_EXC_GP, sel);
	}
	if (!(s->attr & X86_SEG_ATTR_P))
		return fault_sel(e, X86_EXC_NP, sel);
	return x86e_desc_accessed(e, la, s);
}

int x86_load_sreg(struct x86_emu_ctx *e, unsigned int seg, uint16_t sel,
		  struct x86_emu_result *res)
{
	struct x86_segment cs, s;
	int r;

	x86e_begin(e, res, &cs);
	if (!e->ops->sys_access || !e->ops->set_seg || !e->ops->get_sysseg || seg > X86_SEG_GS) {
		x86e_ud(e);
		r = X86_EMU_UNSUPPORTED;
	} else if (e->real_or_v86) {
		e->ops->get_seg(e->opaque, seg, &s);
		s.selector = sel;
		s.base = (uint64_t)sel << REAL_SEG_SHIFT;
		r = EMU_CONTINUE;
	} else if (seg == X86_SEG_CS) {
		r = load_cs(e, sel, &cs, &s);
	} else {
		r = load_desc(e, sel, seg == X86_SEG_SS, &s);
	}
	if (r == EMU_CONTINUE)
		e->ops->set_seg(e->opaque, seg, &s);
	res->status = r;
	return r;
}
