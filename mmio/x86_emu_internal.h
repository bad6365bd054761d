/*
 * Internals shared by the x86 emulator's files (x86_emulate.c: fetch, registers, memory and
 * segmentation; x86_emu_alu.c: flag arithmetic; x86_emu_exec.c: instruction semantics).
 */
#ifndef MHV_MMIO_X86_EMU_INTERNAL_H
#define MHV_MMIO_X86_EMU_INTERNAL_H

#include "mmio/x86_emulate.h"

#define PAGE_SIZE_4K  4096ull
#define BYTE_BITS     8
#define VEC_MAX_BYTES 32
#define REAL_SEG_SHIFT 4 /* real and virtual-8086 mode: base = selector << 4 */
#define LA32_MASK     0xffffffffull /* linear addresses outside IA-32e mode */

/* Operand: a (possibly high-byte) register or a checked memory location. */
struct x86_opnd {
	bool is_mem;
	bool hi8;     /* AH/CH/DH/BH */
	uint8_t reg;  /* GPR number for register operands */
	uint8_t seg;  /* segment of a memory operand */
	uint8_t size; /* bytes */
	uint64_t ea;  /* effective address (offset in seg), already wrapped to address size */
};

/* Result of a step: 0 = fine, X86_EMU_EXCEPTION (exc set), X86_EMU_UNSUPPORTED. */
#define EMU_CONTINUE 0

/* ---- x86_emulate.c ---- */
/* The register cache's miss: reads reg through the callback and keeps it. */
uint64_t x86e_gpr_load(struct x86_emu_ctx *e, unsigned int reg);
/* A GPR through the register cache; inline: every register operand and address reads one. */
static inline uint64_t x86e_gpr(struct x86_emu_ctx *e, unsigned int reg)
{
	reg &= X86_NR_GPRS - 1;
	if (e->rc.direct & (1u << reg)) /* the caller's copy, unchanged until the commit */
		return e->gpr[reg];
	if (e->rc.loaded & (1u << reg))
		return e->rc.gpr[reg];
	return x86e_gpr_load(e, reg);
}
void x86e_set_gpr(struct x86_emu_ctx *e, unsigned int reg, uint64_t val);
void x86e_reg_write(struct x86_emu_ctx *e, const struct x86_opnd *op, uint64_t val);
/* The low size bytes set (size 1..8); inline: every operand and flag computation uses it. */
static inline uint64_t x86e_mask(unsigned int size)
{
	return size >= 8 ? ~0ull : (1ull << (size * BYTE_BITS)) - 1;
}
#define X86E_HI8_SHIFT 8 /* AH, CH, DH, BH: bits 15:8 of their register */
#define X86E_HI8_FIRST 4 /* ModRM 4..7 without REX: AH, CH, DH, BH *//*
 * ZF, SF and PF of a result of size bytes; inline: every ALU form, shift and double shift
 * computes them.  PF: the low byte has an even number of 1 bits (one SETNP from the
 * compiler's parity builtin).
 */
static inline uint64_t x86e_szp(uint64_t res, unsigned int size)
{
	uint64_t f = 0;

	if (!(res & x86e_mask(size)))
		f |= X86_FL_ZF;
	if ((res >> (size * BYTE_BITS - 1)) & 1)
		f |= X86_FL_SF;
	if (!__builtin_parity((unsigned int)(uint8_t)res))
		f |= X86_FL_PF;
	return f;
}

/* A register operand's value (AH..BH from bits 15:8). */
static inline uint64_t x86e_reg_read(struct x86_emu_ctx *e, const struct x86_opnd *op)
{
	uint64_t v = x86e_gpr(e, op->reg);

	if (op->hi8)
		return (v >> X86E_HI8_SHIFT) & x86e_mask(1);
	return v & x86e_mask(op->size);
}
/* Little-endian fields of descriptor tables, TSSs, stack frames and XSAVE images. */
static inline uint16_t x86e_le16(const uint8_t *b)
{
	return (uint16_t)(b[0] | b[1] << BYTE_BITS);
}

static inline uint64_t x86e_le64(const uint8_t *b)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < sizeof(v); i++)
		v |= (uint64_t)b[i] << (BYTE_BITS * i);
	return v;
}

static inline void x86e_put_le64(uint8_t *b, uint64_t v)
{
	for (unsigned int i = 0; i < sizeof(v); i++)
		b[i] = (uint8_t)(v >> (BYTE_BITS * i));
}

int x86e_raise(struct x86_emu_ctx *e, unsigned int vector, bool has_ec, uint32_t ec);
int x86e_ud(struct x86_emu_ctx *e);
/* Linear address of seg:ea for an access of size bytes (segment/canonical/#AC checks). */
int x86e_linear(struct x86_emu_ctx *e, unsigned int seg, uint64_t ea, unsigned int size, bool write,
		uint64_t *la);
int x86e_read_mem(struct x86_emu_ctx *e, unsigned int seg, uint64_t ea, void *buf,
		  unsigned int size);
int x86e_write_mem(struct x86_emu_ctx *e, unsigned int seg, uint64_t ea, const void *buf,
		   unsigned int size);
/* Would a write of size bytes at seg:ea fault?  Checks without writing (ops->probe). */
int x86e_probe_write(struct x86_emu_ctx *e, unsigned int seg, uint64_t ea, unsigned int size);
int x86e_read_op(struct x86_emu_ctx *e, const struct x86_opnd *op, uint64_t *val);
int x86e_write_op(struct x86_emu_ctx *e, const struct x86_opnd *op, uint64_t val);
/* #GP(0) unless the memory operand's LINEAR address (segment base included) is aligned to
 * its size, after the segment checks (MOVAPS/MOVDQA/MOVNT*, CMPXCHG16B). */
int x86e_check_aligned(struct x86_emu_ctx *e, const struct x86_opnd *op, bool write);
/* The same with a 16-byte alignment whatever the operand size (FXSAVE/FXRSTOR). */
int x86e_check_aligned16(struct x86_emu_ctx *e, const struct x86_opnd *op, bool write);
/* The same with any power-of-two alignment (XSAVE/XRSTOR: 64). */
int x86e_check_aligned_to(struct x86_emu_ctx *e, const struct x86_opnd *op, bool write,
			  unsigned int align);
/* Writability check for a read-modify-write destination, done before the read. */
int x86e_check_write(struct x86_emu_ctx *e, const struct x86_opnd *op);
/* x86e_check_write() then x86e_read_op() of the same operand, in one call. */
int x86e_rmw_read(struct x86_emu_ctx *e, const struct x86_opnd *op, uint64_t *val);
/* The value callback's write at la (1, 2, 4 or 8 bytes within a page; val within size), its
 * answer as a status: the end of every operand write the callbacks take whole. */
static inline int x86e_write_value(struct x86_emu_ctx *e, uint64_t la, unsigned int size,
				   uint64_t val)
{
	return e->ops->write_value(e->opaque, la, size, val, &e->res->exc) ? X86_EMU_EXCEPTION
									    : EMU_CONTINUE;
}
/* x86e_rmw_write()'s other cases: a register, or a write no value callback takes. */
int x86e_rmw_write_general(struct x86_emu_ctx *e, const struct x86_opnd *op, uint64_t val);
/* x86e_write_op() of the operand x86e_rmw_read() read last (no other operand checked since):
 * its value callback without the operand compare; val within the operand's size.  Inline: the
 * handler calls the callback itself. */
static inline int x86e_rmw_write(struct x86_emu_ctx *e, const struct x86_opnd *op, uint64_t val)
{
	if (!op->is_mem || e->rmw.op != op || !e->rmw.value || !e->ops->write_value)
		return x86e_rmw_write_general(e, op, val);
	return x86e_write_value(e, e->rmw.la, op->size, val);
}
uint64_t x86e_ea(struct x86_emu_ctx *e, const struct x86_insn *in);
void x86e_rm_opnd(struct x86_emu_ctx *e, const struct x86_insn *in, unsigned int size,
		  struct x86_opnd *op);

/* Register reg as an operand of size bytes (AH..BH for 4..7 without REX); inline: two
 * stores in the common case, on almost every instruction. */
static inline void x86e_reg_opnd(struct x86_emu_ctx *e, unsigned int reg, unsigned int size,
				 struct x86_opnd *op)
{
	/* A compound literal, not memset: two stores for 16 bytes, on every operand. */
	*op = (struct x86_opnd){.size = (uint8_t)size, .reg = (uint8_t)reg};
	if (size == 1 && !e->insn->rex && reg >= X86E_HI8_FIRST && reg < X86_R8) {
		op->hi8 = true;
		op->reg = (uint8_t)(reg - X86E_HI8_FIRST);
	}
}

/* The offsets an address size keeps (2, 4 or 8 bytes). */
static inline uint64_t x86e_addr_mask(unsigned int addrsize)
{
	return addrsize == 2 ? 0xffffull : addrsize == 4 ? LA32_MASK : ~0ull;
}

/* x86e_ea() and x86e_rm_opnd() inline, for the handlers of the read-modify-write forms that
 * reach the general emulator (the operand decoded within their own stack frame). */
static inline __attribute__((always_inline)) uint64_t x86e_ea_inline(struct x86_emu_ctx *e,
								      const struct x86_insn *in)
{
	uint64_t ea = (uint64_t)in->disp;

	if (!in->has_modrm) /* moffs: an absolute offset */
		return (uint64_t)in->disp & x86e_addr_mask(in->addrsize);
	if (in->rip_rel)
		ea += e->rc.rip + in->len;
	if (in->mem_base != X86_REG_NONE)
		ea += x86e_gpr(e, in->mem_base);
	if (in->mem_index != X86_REG_NONE)
		ea += x86e_gpr(e, in->mem_index) * in->mem_scale;
	return ea & x86e_addr_mask(in->addrsize);
}

static inline __attribute__((always_inline)) void
x86e_rm_opnd_inline(struct x86_emu_ctx *e, const struct x86_insn *in, unsigned int size,
		    struct x86_opnd *op)
{
	if (!in->has_mem) {
		x86e_reg_opnd(e, in->rm, size, op);
		return;
	}
	*op = (struct x86_opnd){.is_mem = true,
				.size = (uint8_t)size,
				.seg = in->mem_seg,
				.ea = x86e_ea_inline(e, in)};
}

unsigned int x86e_stack_size(struct x86_emu_ctx *e); /* SS address size: 2, 4 or 8 */
bool x86e_canonical(const struct x86_emu_ctx *e, uint64_t la);
uint64_t x86e_next_rip(struct x86_emu_ctx *e, const struct x86_insn *in);
/* Start a call: clear res and the register cache, read the control state and CS (into *cs),
 * RIP and RFLAGS, derive the mode. */
void x86e_begin(struct x86_emu_ctx *e, struct x86_emu_result *res, struct x86_segment *cs);
/* Write back the dirty GPRs, then RIP (if rip), then RFLAGS if it changed. */
void x86e_commit(struct x86_emu_ctx *e, uint64_t rflags_before, const uint64_t *rip);

/* ---- x86_emu_alu.c ---- */
enum x86_alu_op {
	ALU_ADD,
	ALU_OR,
	ALU_ADC,
	ALU_SBB,
	ALU_AND,
	ALU_SUB,
	ALU_XOR,
	ALU_CMP,
	ALU_TEST,
	ALU_INC,
	ALU_DEC,
	ALU_NEG,
};
uint64_t x86_alu(enum x86_alu_op op, unsigned int size, uint64_t a, uint64_t b, uint64_t *flags);
bool x86_cond(unsigned int cc, uint64_t flags);
uint64_t x86_sext(uint64_t v, unsigned int size);
/* ZF, SF and PF of a result of size bytes. */
uint64_t x86_szp(uint64_t res, unsigned int size);
/* MUL/IMUL/DIV/IDIV on rDX:rAX with src; false for #DE.  x86_mul sets all six flags, the
 * undefined ones as vendor v does; x86_div leaves flags to x86v_div_undef_flags. */
void x86_mul(enum x86_vendor v, unsigned int size, bool sign, uint64_t a, uint64_t b, uint64_t *lo,
	     uint64_t *hi, uint64_t *flags);
bool x86_div(unsigned int size, bool sign, uint64_t hi, uint64_t lo, uint64_t d, uint64_t *q,
	     uint64_t *r);

/* ---- x86_vendor.c: where Intel and AMD differ ---- */
/* REP string op with a 32-bit address size and ECX = 0 still writes ECX (ESI/EDI). */
bool x86v_rep_zero_count_writes(enum x86_vendor v);
/* SF/ZF/AF/PF after MUL/IMUL with low half lo of the product. */
void x86v_mul_undef_flags(enum x86_vendor v, unsigned int size, uint64_t lo, uint64_t *flags);
/* The six arithmetic flags after a DIV/IDIV that did not fault. */
void x86v_div_undef_flags(enum x86_vendor v, uint64_t *flags);

/* AF after SHL/SHR/SAR/SHLD/SHRD by a masked count cnt != 0. */
void x86v_shift_undef_flags(enum x86_vendor v, unsigned int size, unsigned int cnt,
			    uint64_t *flags);
/* OF after SHLD (left) / SHRD of a by cnt != 0 giving res (CF in flags; OF clear on entry)
 * set in flags, then x86v_shift_undef_flags's AF: one call per SHLD/SHRD, its arguments in
 * registers. */
uint64_t x86v_shxd_flags(enum x86_vendor v, bool left, unsigned int size, unsigned int cnt,
			 uint64_t a, uint64_t res, uint64_t flags);
/* OF after ROL/ROR/RCL/RCR by masked count cnt != 1. */
void x86v_rotate_undef_flags(enum x86_vendor v, unsigned int cnt, uint64_t *flags);
/* A shift/rotate of a 32-bit register by a masked count of 0 still zero-extends it. */
bool x86v_shift_zero_count_writes_reg(enum x86_vendor v, unsigned int size);
/* SHLD/SHRD of a 16-bit operand by 17..31 (undefined in the SDM): result and CF. */
uint64_t x86v_shxd16_wide(enum x86_vendor v, bool left, uint64_t a, uint64_t b, unsigned int cnt,
			  bool *cf);
/* CF, OF, SF, AF, PF after BSF/BSR finding bit index (0 for a zero source; ZF set already). */
void x86v_bitscan_undef_flags(enum x86_vendor v, uint64_t index, uint64_t *flags);
/* BSF/BSR with a zero source zero-extends a 32-bit destination register. */
bool x86v_bitscan_zero_extends(enum x86_vendor v);
/* OF, SF, AF, PF after TZCNT/LZCNT (CF and ZF already set). */
void x86v_count_undef_flags(enum x86_vendor v, uint64_t *flags);

/* SMSW/SLDT/STR r32 write the low half only, leaving bits 63:32 of the register alone. */
bool x86v_sys_r32_keeps_upper(enum x86_vendor v);

/* PUSH Sreg with a 32-bit operand size stores the selector with a 16-bit move (Intel). */
bool x86v_push_sreg32_writes_word(enum x86_vendor v);
/* A 66 prefix on a near branch in 64-bit mode selects a 16-bit operand size (AMD). */
bool x86v_near_branch_honours_66(enum x86_vendor v);
/* Far JMP/CALL m16:64 with REX.W reads a 64-bit offset (Intel); AMD reads m16:32. */
bool x86v_far_pointer_honours_rex_w(enum x86_vendor v);

/* ---- x86_emu_bits.c ---- */
/*
 * Group-2 operation op (ModRM.reg: ROL ROR RCL RCR SHL SHR SAL SAR) of size bytes on a with
 * the raw count, as vendor v: *res and *flags; false if the masked count is 0 (*res = a,
 * flags unchanged).  What x86e_exec_grp2 computes (the MMIO fast path's RMW forms share it).
 */
bool x86_grp2(enum x86_vendor v, unsigned int op, unsigned int size, uint64_t a, unsigned int raw,
	      uint64_t *res, uint64_t *flags);
int x86e_exec_grp2(struct x86_emu_ctx *e, const struct x86_insn *in);
int x86e_exec_shxd(struct x86_emu_ctx *e, const struct x86_insn *in);
int x86e_exec_bitscan(struct x86_emu_ctx *e, const struct x86_insn *in);

/* ---- x86_emu_sys.c ---- */
bool x86e_sys_supported(const struct x86_emu_ops *ops, const struct x86_insn *in);
int x86e_exec_sys(struct x86_emu_ctx *e, const struct x86_insn *in);

/* ---- x86_emu_fxsr.c ---- */
bool x86e_fxsr_supported(const struct x86_emu_ops *ops, const struct x86_insn *in);
int x86e_exec_fxsr(struct x86_emu_ctx *e, const struct x86_insn *in);

/* ---- x86_emu_sreg.c ---- */
bool x86e_sreg_supported(const struct x86_emu_ops *ops, const struct x86_insn *in);
int x86e_exec_sreg(struct x86_emu_ctx *e, const struct x86_insn *in);
/* The descriptor a non-null selector names, from the GDT or LDT (#GP(selector) past the
 * table's limit or without an LDT); *la: where it sits, for x86e_desc_accessed. */
int x86e_read_desc(struct x86_emu_ctx *e, uint16_t sel, struct x86_segment *s, uint64_t *la);
/* Set the descriptor's accessed bit in its table (and in s) if it is clear. */
int x86e_desc_accessed(struct x86_emu_ctx *e, uint64_t la, struct x86_segment *s);

/* ---- x86_emu_xsave.c ---- */
bool x86e_xsave_supported(const struct x86_emu_ops *ops, const struct x86_insn *in);
int x86e_exec_xsave(struct x86_emu_ctx *e, const struct x86_insn *in);

/* ---- x86_emu_xsave_hidden.c: registers only 64-bit mode names (XMM8-15, ZMM16-31...) ---- */
#define X86E_XSAVE_HIDDEN_COMPONENTS ((1ull << 1) | (1ull << 2) | (1ull << 6) | (1ull << 7))
#define X86E_XSAVE_HIDDEN_MAX	     1536 /* their bytes: 128 + 128 + 256 + 1024 */
/* The components of rfbm have the layout the SDM describes (else: not emulated). */
bool x86e_xsave_hidden_known(struct x86_emu_ctx *e, uint64_t rfbm);
/* Hidden parts of an image (n bytes, form, XCOMP_BV layout) to keep (out) or back. */
void x86e_xsave_hidden_copy(struct x86_emu_ctx *e, uint8_t *buf, uint32_t n, bool compacted,
			    uint64_t layout, uint64_t rfbm, uint8_t *keep, bool out);
/* Before a restore: the registers' hidden parts into cur; *live: those not all zeros. */
int x86e_xsave_hidden_current(struct x86_emu_ctx *e, uint8_t *buf, uint32_t cap, uint64_t rfbm,
			      uint8_t *cur, uint64_t *live);
/* The image read into buf gets them, so the restore leaves those registers as they were. */
int x86e_xsave_hidden_restore(struct x86_emu_ctx *e, uint8_t *buf, uint32_t cap, uint64_t rfbm,
			      uint64_t enabled, const uint8_t *cur, uint64_t live);

/* ---- x86_emu_strio.c ---- */
bool x86e_strio_supported(const struct x86_emu_ops *ops, const struct x86_insn *in);
/* INS/OUTS: the I/O permission check (IOPL, the TSS bitmap); #GP(0) if refused. */
int x86e_io_permitted(struct x86_emu_ctx *e, uint16_t port, unsigned int size);

/* ---- x86_emu_iret.c ---- */
bool x86e_iret_supported(const struct x86_emu_ops *ops, const struct x86_insn *in);
int x86e_exec_iret(struct x86_emu_ctx *e, const struct x86_insn *in);
/* RETF to an outer ring, CS:RIP already popped (size: the operand size, imm: RETF's imm16). */
int x86e_retf_outer(struct x86_emu_ctx *e, uint16_t sel, uint64_t rip, unsigned int size,
		    uint16_t imm);

/* ---- x86_emu_lldt.c ---- */
bool x86e_lldt_supported(const struct x86_emu_ops *ops, const struct x86_insn *in);
int x86e_exec_lldt(struct x86_emu_ctx *e, const struct x86_insn *in);

/* ---- x86_emu_far.c ---- */
bool x86e_far_supported(const struct x86_emu_ops *ops, const struct x86_insn *in);
int x86e_exec_far(struct x86_emu_ctx *e, const struct x86_insn *in);

/* ---- x86_emu_gate.c ---- */
/* Far JMP/CALL (call) through the system descriptor sel names (protected mode). */
int x86e_far_gate(struct x86_emu_ctx *e, uint16_t sel, bool call, uint64_t ret_rip,
		  const struct x86_segment *old_cs);
/* The stack the current TSS holds for ring dpl (IA-32e mode: IST slot ist if not 0): SS (a
 * null one with RPL dpl in IA-32e mode, *ss_la 0) and SP, checked (#TS, #SS; ext: EXT bit). */
int x86e_tss_stack(struct x86_emu_ctx *e, unsigned int dpl, unsigned int ist, uint32_t ext,
		   struct x86_segment *ss, uint64_t *sp, uint64_t *ss_la);
/* Write n bytes at ss:top with supervisor accesses (the inner ring's stack); a write that
 * crosses a page is probed on both first, so a fault writes nothing. */
int x86e_inner_write(struct x86_emu_ctx *e, const struct x86_segment *ss, uint64_t top,
		     const uint8_t *bytes, unsigned int n);

/* ---- x86_emu_event.c ---- */
/* INT n, INT3, INTO, INT1 as instructions: the delivery's access was reported as theirs. */
bool x86e_int_supported(const struct x86_emu_ops *ops, const struct x86_insn *in);
int x86e_exec_int(struct x86_emu_ctx *e, const struct x86_insn *in);

/* ---- x86_emu_v86.c ---- */
/* Push FLAGS (flags), CS (old_cs) and IP (ret_ip) as words on SS:SP (real and virtual-8086
 * mode: SP wraps at 64K, every push checked first), then CS:IP from the IVT entry ivt. */
int x86e_real_frame(struct x86_emu_ctx *e, const struct x86_segment *old_cs, uint16_t flags,
		    uint16_t ret_ip, const uint8_t *ivt);
/* INT n in virtual-8086 mode: #GP(0), redirected to the 8086 program's handler (CR4.VME and
 * the TSS's redirection bitmap), or *via_idt: through the protected-mode IDT. */
int x86e_v86_soft_int(struct x86_emu_ctx *e, const struct x86_event *ev,
		      const struct x86_segment *old_cs, bool *via_idt);
/* The FLAGS image a 16-bit POPF or IRET popped in virtual-8086 mode below IOPL 3 with
 * CR4.VME: #GP(0) for TF set, or IF set while VIP is; else its arithmetic flags, TF, DF and
 * NT into RFLAGS, its IF into VIF, IF and IOPL kept (the same rule for both, SDM POPF/IRET). */
int x86e_v86_vme_flags(struct x86_emu_ctx *e, uint64_t img);

/* ---- x86_emu_mmx.c ---- */
bool x86e_mmx_supported(const struct x86_emu_ops *ops, const struct x86_insn *in);
int x86e_exec_mmx(struct x86_emu_ctx *e, const struct x86_insn *in);

/* ---- x86_emu_stack.c ---- */
/* PUSHF/POPF, near CALL/JMP/RET, ENTER/LEAVE, PUSHA/POPA, PUSH Sreg? */
bool x86e_stack_supported(const struct x86_insn *in);
int x86e_exec_stack(struct x86_emu_ctx *e, const struct x86_insn *in);

/* ---- x86_emu_exec.c ---- */
/* Stack push/pop of size bytes at SS:rSP (rSP committed with the registers). */
int x86e_push(struct x86_emu_ctx *e, uint64_t v, unsigned int size);
int x86e_pop(struct x86_emu_ctx *e, uint64_t *v, unsigned int size);
void x86e_set_sp(struct x86_emu_ctx *e, unsigned int ss, uint64_t v);
int x86e_execute(struct x86_emu_ctx *e, const struct x86_insn *in);
bool x86e_supported(const struct x86_insn *in);

#endif
