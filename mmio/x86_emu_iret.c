/*
 * IRET (CF; 66: IRET16, REX.W: IRETQ) with the stack on a device page.  Real mode pops IP,
 * CS and FLAGS.  Protected and IA-32e mode follow the SDM's IRET pseudo-code: the return CS
 * is checked like the CPU does (#GP(selector), #NP(selector), #GP(0) for a null selector or
 * a RIP past the limit / not canonical); a return to the same privilege loads CS:RIP and
 * RFLAGS (and SS:RSP in 64-bit mode, which always pops them); a return to an outer privilege
 * also pops and checks SS:RSP (#GP(selector), #SS(selector)), changes the CPL (SS's DPL) and
 * nulls the data segment registers the new CPL may not use.  RFLAGS takes IF only if
 * CPL <= IOPL, IOPL and VIF/VIP only at CPL 0.
 *
 * x86e_retf_outer() is RETF's return to an outer ring, with the same checks.
 *
 * Virtual-8086 mode (iret_in_v86, SDM IRET "RETURN-FROM-VIRTUAL-8086-MODE"): at IOPL 3, IP,
 * CS and FLAGS popped at the operand size, CS loaded the real-mode way, IOPL, VM, VIF and VIP
 * kept.  Below IOPL 3 without CR4.VME, or with a 32-bit operand size: #GP(0) before any pop.
 * Below IOPL 3 with CR4.VME, 16-bit: #GP(0) if the image has TF set, or IF set while VIP is;
 * else IF and IOPL stay and VIF takes the image's IF.
 * A return to virtual-8086 mode (iret_to_v86: VM set in the EFLAGS image of a 32-bit IRET at
 * CPL 0 outside IA-32e mode): ESP, SS, ES, DS, FS, GS popped after EIP, CS, EFLAGS, all six
 * segment registers loaded the virtual-8086 way (base selector << 4, limit 0xffff, a DPL 3
 * read/write data segment: what VM entry requires), EFLAGS taken whole, CPL 3.  EIP keeps its
 * low 16 bits (the SDM checks no limit on this path; the CPU drops the high half).
 * A nested-task return (NT set outside virtual-8086 mode) is a task switch to the TSS the
 * current one links back to: mhv emulates no task switch and gives #GP(that selector), what
 * it injects for a hardware task switch (README); in IA-32e mode it is #GP(0), as on the CPU.
 * The NMI blocking an IRET ends is the caller's: mhv never emulates the delivery of an NMI,
 * so an NMI handler's IRET from a device page is the only such case and the guest keeps NMIs
 * blocked until its next IRET in RAM.
 */
#include "mmio/x86_emu_internal.h"

#define OP_IRET		0xcf
#define SEL_RPL_MASK	0x3u
#define SEL_ERROR_MASK	0xfffcu
#define ATTR_DPL_SHIFT	5
#define ATTR_DPL_MASK	0x3u
#define TYPE_CONFORM	0x4u
#define FL_NT		(1ull << 14)
#define FL_RF		(1ull << 16)
#define FL_VIF		(1ull << 19)
#define FL_VIP		(1ull << 20)
#define FL_ID		(1ull << 21)
#define FL_IOPL		(3ull << 12)
#define FL_IOPL_SHIFT	12
#define FL_ALWAYS	(X86_FL_CF | X86_FL_PF | X86_FL_AF | X86_FL_ZF | X86_FL_SF | X86_FL_TF | \
			 X86_FL_DF | X86_FL_OF | FL_NT)
#define FL_WIDE		(FL_RF | X86_FL_AC | FL_ID)
#define FL_WORD		0xffffull
#define IOPL_V86_MAX	3u
#define V86_SEG_LIMIT	0xffffu
/* Virtual-8086 segments: present, DPL 3, a read/write data segment, accessed (0xf3). */
#define V86_SEG_ATTR	(X86_SEG_ATTR_P | 3u << ATTR_DPL_SHIFT | X86_SEG_ATTR_S | X86_SEG_TYPE_WR | 1u)
#define V86_POPS	6 /* ESP, SS, ES, DS, FS, GS */
#define TSS_BACK_LINK	0 /* the previous task's TSS selector */

bool x86e_iret_supported(const struct x86_emu_ops *ops, const struct x86_insn *in)
{
	return ops->sys_access && ops->set_seg && in->encoding == X86_ENC_LEGACY &&
	       in->map == X86_MAP_ONE && in->opcode == OP_IRET;
}

static int fault_sel(struct x86_emu_ctx *e, unsigned int vector, uint16_t sel)
{
	return x86e_raise(e, vector, true, sel & SEL_ERROR_MASK);
}

static unsigned int dpl_of(const struct x86_segment *s)
{
	return (s->attr >> ATTR_DPL_SHIFT) & ATTR_DPL_MASK;
}

/* The SDM's RFLAGS update from the popped image (cpl: the privilege IRET ran at). */
static uint64_t new_flags(const struct x86_emu_ctx *e, uint64_t img, unsigned int size)
{
	uint64_t cur = e->rc.rflags, mask = FL_ALWAYS;
	unsigned int cpl = e->ctl.cpl, iopl = (unsigned int)((cur & FL_IOPL) >> FL_IOPL_SHIFT);

	if (size > 2)
		mask |= FL_WIDE;
	if (cpl <= iopl)
		mask |= X86_FL_IF;
	if (cpl == 0)
		mask |= FL_IOPL | (size > 2 ? FL_VIF | FL_VIP : 0);
	if (size == 2)
		mask &= FL_WORD;
	return (cur & ~mask) | (img & mask) | X86_FL_FIXED;
}

static int check_cs(struct x86_emu_ctx *e, uint16_t sel, struct x86_segment *cs, uint64_t *la)
{
	unsigned int rpl = sel & SEL_RPL_MASK, dpl;
	int r;

	if (!(sel & ~SEL_RPL_MASK))
		return x86e_raise(e, X86_EXC_GP, true, 0);
	if ((r = x86e_read_desc(e, sel, cs, la)))
		return r;
	dpl = dpl_of(cs);
	if (!(cs->attr & X86_SEG_ATTR_S) || !(cs->attr & X86_SEG_TYPE_CODE) || rpl < e->ctl.cpl ||
	    ((cs->attr & TYPE_CONFORM) ? dpl > rpl : dpl != rpl))
		return fault_sel(e, X86_EXC_GP, sel);
	if ((e->ctl.efer & X86_EFER_LMA) && (cs->attr & X86_SEG_ATTR_L) &&
	    (cs->attr & X86_SEG_ATTR_DB))
		return fault_sel(e, X86_EXC_GP, sel);
	if (!(cs->attr & X86_SEG_ATTR_P))
		return fault_sel(e, X86_EXC_NP, sel);
	return EMU_CONTINUE;
}

/* The SS an IRET pops, for the privilege rpl and a code segment of 64-bit mode (long). */
static int check_ss(struct x86_emu_ctx *e, uint16_t sel, unsigned int rpl, bool long_cs,
		    struct x86_segment *ss, uint64_t *la)
{
	unsigned int type;
	int r;

	if (!(sel & ~SEL_RPL_MASK)) {
		if (!long_cs || rpl == 3 || (sel & SEL_RPL_MASK) != rpl)
			return x86e_raise(e, X86_EXC_GP, true, 0);
		*ss = (struct x86_segment){.selector = sel,
					   .attr = X86_SEG_UNUSABLE | X86_SEG_ATTR_S |
						   X86_SEG_TYPE_WR | rpl << ATTR_DPL_SHIFT};
		*la = 0;
		return EMU_CONTINUE;
	}
	if ((r = x86e_read_desc(e, sel, ss, la)))
		return r;
	type = ss->attr & X86_SEG_TYPE_MASK;
	if ((sel & SEL_RPL_MASK) != rpl || !(ss->attr & X86_SEG_ATTR_S) ||
	    (type & X86_SEG_TYPE_CODE) || !(type & X86_SEG_TYPE_WR) || dpl_of(ss) != rpl)
		return fault_sel(e, X86_EXC_GP, sel);
	if (!(ss->attr & X86_SEG_ATTR_P))
		return fault_sel(e, X86_EXC_SS, sel);
	return EMU_CONTINUE;
}

/* Returning to an outer ring: data segments the new CPL may not use become null. */
static void null_inner_segments(struct x86_emu_ctx *e, unsigned int cpl)
{
	static const unsigned int segs[] = {X86_SEG_ES, X86_SEG_DS, X86_SEG_FS, X86_SEG_GS};

	for (unsigned int i = 0; i < sizeof(segs) / sizeof(segs[0]); i++) {
		struct x86_segment s;
		bool conforming_code;

		e->ops->get_seg(e->opaque, segs[i], &s);
		conforming_code = (s.attr & X86_SEG_TYPE_CODE) && (s.attr & TYPE_CONFORM);
		if ((s.attr & X86_SEG_UNUSABLE) || conforming_code || dpl_of(&s) >= cpl)
			continue;
		s = (struct x86_segment){.selector = 0, .attr = X86_SEG_UNUSABLE};
		e->ops->set_seg(e->opaque, segs[i], &s);
	}
}

static int iret_real(struct x86_emu_ctx *e, unsigned int size)
{
	uint64_t ip, sel, fl;
	struct x86_segment cs;
	int r;

	if ((r = x86e_pop(e, &ip, size)) || (r = x86e_pop(e, &sel, size)) ||
	    (r = x86e_pop(e, &fl, size)))
		return r;
	e->ops->get_seg(e->opaque, X86_SEG_CS, &cs);
	if ((ip & x86e_mask(size)) > cs.limit)
		return x86e_raise(e, X86_EXC_GP, false, 0);
	cs.selector = (uint16_t)sel;
	cs.base = (uint64_t)(uint16_t)sel << REAL_SEG_SHIFT;
	e->ops->set_seg(e->opaque, X86_SEG_CS, &cs);
	/* Real mode: CPL 0, every flag of the image (VM, VIP, VIF stay as they are). */
	e->rc.rflags = new_flags(e, fl, size) & ~(FL_VIF | FL_VIP);
	e->res->next_rip = ip & x86e_mask(size);
	return EMU_CONTINUE;
}

static unsigned int iopl_of(uint64_t fl)
{
	return (unsigned int)((fl & FL_IOPL) >> FL_IOPL_SHIFT);
}

/* IRET in virtual-8086 mode (CPL 3). */
static int iret_in_v86(struct x86_emu_ctx *e, unsigned int size)
{
	bool vif_rules = iopl_of(e->rc.rflags) < IOPL_V86_MAX;
	uint64_t ip, sel, fl;
	struct x86_segment cs;
	int r;

	/* Below IOPL 3 only the 16-bit form with CR4.VME; otherwise the monitor's #GP(0). */
	if (vif_rules && (size != 2 || !(e->ctl.cr4 & X86_CR4_VME)))
		return x86e_raise(e, X86_EXC_GP, true, 0);
	if ((r = x86e_pop(e, &ip, size)) || (r = x86e_pop(e, &sel, size)) ||
	    (r = x86e_pop(e, &fl, size)))
		return r;
	e->ops->get_seg(e->opaque, X86_SEG_CS, &cs);
	ip &= x86e_mask(size);
	if (ip > cs.limit)
		return x86e_raise(e, X86_EXC_GP, true, 0);
	if (vif_rules) {
		if ((r = x86e_v86_vme_flags(e, fl)))
			return r;
	} else {
		e->rc.rflags = new_flags(e, fl, size); /* CPL 3 = IOPL: IF, not IOPL/VIF/VIP */
	}
	cs.selector = (uint16_t)sel;
	cs.base = (uint64_t)cs.selector << REAL_SEG_SHIFT;
	e->ops->set_seg(e->opaque, X86_SEG_CS, &cs);
	e->res->next_rip = ip;
	return EMU_CONTINUE;
}

static void load_v86_seg(struct x86_emu_ctx *e, unsigned int seg, uint16_t sel)
{
	const struct x86_segment s = {.base = (uint64_t)sel << REAL_SEG_SHIFT,
				      .limit = V86_SEG_LIMIT,
				      .selector = sel,
				      .attr = V86_SEG_ATTR};

	e->ops->set_seg(e->opaque, seg, &s);
}

/* A 32-bit IRET at CPL 0 whose EFLAGS image has VM set: EIP, CS, EFLAGS are popped. */
static int iret_to_v86(struct x86_emu_ctx *e, uint64_t eip, uint16_t cs, uint64_t fl)
{
	static const unsigned int segs[V86_POPS - 1] = {X86_SEG_SS, X86_SEG_ES, X86_SEG_DS,
							X86_SEG_FS, X86_SEG_GS};
	uint64_t v[V86_POPS];

	for (unsigned int i = 0; i < V86_POPS; i++) {
		int r = x86e_pop(e, &v[i], sizeof(uint32_t));

		if (r)
			return r;
	}
	e->rc.rflags = new_flags(e, fl, sizeof(uint32_t)) | X86_FL_VM;
	load_v86_seg(e, X86_SEG_CS, cs);
	for (unsigned int i = 0; i < V86_POPS - 1; i++)
		load_v86_seg(e, segs[i], (uint16_t)v[i + 1]);
	x86e_set_sp(e, sizeof(uint32_t), v[0]); /* all of ESP */
	e->res->next_rip = eip & FL_WORD;
	return EMU_CONTINUE;
}

/* IRET with NT set: a return to the task the current TSS links back to (a task switch). */
static int task_return(struct x86_emu_ctx *e)
{
	struct x86_segment tr;
	uint8_t b[2];

	if (e->ctl.efer & X86_EFER_LMA)
		return x86e_raise(e, X86_EXC_GP, true, 0);
	e->ops->get_sysseg(e->opaque, X86_SYS_TR, &tr);
	for (unsigned int i = 0; i < sizeof(b); i++)
		if (e->ops->sys_access(e->opaque, (tr.base + TSS_BACK_LINK + i) & LA32_MASK, &b[i],
				       1, false, &e->res->exc))
			return X86_EMU_EXCEPTION;
	return fault_sel(e, X86_EXC_GP, (uint16_t)(b[0] | b[1] << BYTE_BITS));
}

/*
 * RETF / RETF imm16 to an outer ring (x86_emu_far.c pops CS:RIP first): the CS checks, then
 * rSP past the imm16 bytes, SS:RSP popped and checked, the new stack moved by imm16 again,
 * the CPL changed and the data segments the outer ring may not use nulled (SDM RET).
 */
int x86e_retf_outer(struct x86_emu_ctx *e, uint16_t sel, uint64_t rip, unsigned int size,
		    uint16_t imm)
{
	unsigned int rpl = sel & SEL_RPL_MASK, ssz = x86e_stack_size(e);
	uint64_t rsp, ss_sel, cs_la, ss_la = 0;
	struct x86_segment cs, ss;
	bool long_cs;
	int r;

	if ((r = check_cs(e, sel, &cs, &cs_la)))
		return r;
	long_cs = (e->ctl.efer & X86_EFER_LMA) && (cs.attr & X86_SEG_ATTR_L);
	x86e_set_sp(e, ssz, x86e_gpr(e, X86_RSP) + imm);
	if ((r = x86e_pop(e, &rsp, size)) || (r = x86e_pop(e, &ss_sel, size)))
		return r;
	if ((r = check_ss(e, (uint16_t)ss_sel, rpl, long_cs, &ss, &ss_la)))
		return r;
	if (long_cs ? !x86e_canonical(e, rip) : rip > cs.limit)
		return x86e_raise(e, X86_EXC_GP, true, 0);
	if ((r = x86e_desc_accessed(e, cs_la, &cs)) ||
	    (ss_la && (r = x86e_desc_accessed(e, ss_la, &ss))))
		return r;
	cs.selector = sel;
	ss.selector = (uint16_t)ss_sel;
	e->ops->set_seg(e->opaque, X86_SEG_CS, &cs);
	e->ops->set_seg(e->opaque, X86_SEG_SS, &ss);
	ssz = long_cs ? 8 : (ss.attr & X86_SEG_ATTR_DB) ? 4 : 2;
	x86e_set_sp(e, ssz, (rsp + imm) & x86e_mask(ssz));
	null_inner_segments(e, rpl);
	e->res->next_rip = rip;
	return EMU_CONTINUE;
}

int x86e_exec_iret(struct x86_emu_ctx *e, const struct x86_insn *in)
{
	unsigned int size = in->opsize, rpl;
	uint64_t rip, sel, fl, rsp = 0, ss_sel = 0, cs_la, ss_la = 0;
	struct x86_segment cs, ss;
	bool pop_ss, long_cs;
	int r;

	if (!(e->ctl.cr0 & X86_CR0_PE))
		return iret_real(e, size);
	if (e->rc.rflags & X86_FL_VM)
		return iret_in_v86(e, size);
	if (e->rc.rflags & FL_NT)
		return task_return(e);
	if ((r = x86e_pop(e, &rip, size)) || (r = x86e_pop(e, &sel, size)) ||
	    (r = x86e_pop(e, &fl, size)))
		return r;
	if ((fl & X86_FL_VM) && size == 4 && e->ctl.cpl == 0 && !(e->ctl.efer & X86_EFER_LMA))
		return iret_to_v86(e, rip, (uint16_t)sel, fl);
	rip &= x86e_mask(size);
	if ((r = check_cs(e, (uint16_t)sel, &cs, &cs_la)))
		return r;
	rpl = sel & SEL_RPL_MASK;
	long_cs = (e->ctl.efer & X86_EFER_LMA) && (cs.attr & X86_SEG_ATTR_L);
	pop_ss = e->mode == X86_MODE_64 || rpl > e->ctl.cpl;
	if (pop_ss) {
		if ((r = x86e_pop(e, &rsp, size)) || (r = x86e_pop(e, &ss_sel, size)))
			return r;
		if ((r = check_ss(e, (uint16_t)ss_sel, rpl, long_cs, &ss, &ss_la)))
			return r;
	}
	if (long_cs ? !x86e_canonical(e, rip) : rip > cs.limit)
		return x86e_raise(e, X86_EXC_GP, true, 0);
	if ((r = x86e_desc_accessed(e, cs_la, &cs)))
		return r;
	if (pop_ss && ss_la && (r = x86e_desc_accessed(e, ss_la, &ss)))
		return r;
	cs.selector = (uint16_t)sel;
	e->rc.rflags = new_flags(e, fl, size);
	e->ops->set_seg(e->opaque, X86_SEG_CS, &cs);
	if (pop_ss) {
		ss.selector = (uint16_t)ss_sel;
		e->ops->set_seg(e->opaque, X86_SEG_SS, &ss);
		/* The new stack pointer at its new size: all of RSP in 64-bit mode, else ESP
		 * (SP for a 16-bit stack), the rest of RSP kept as the CPU does. */
		x86e_set_sp(e, long_cs ? 8 : (ss.attr & X86_SEG_ATTR_DB) ? 4 : 2, rsp);
		if (rpl > e->ctl.cpl)
			null_inner_segments(e, rpl);
	}
	e->res->next_rip = rip;
	return EMU_CONTINUE;
}
