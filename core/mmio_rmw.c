/*
 * Read-modify-write forms on a device operand (see mmio_rmw.h).  Each mirrors the emulator's
 * exec function for it (mmio/x86_emu_exec.c exec_unary, exec_bt, exec_xchg, exec_xadd,
 * exec_cmpxchg; mmio/x86_emu_bits.c x86e_exec_grp2) with a memory destination: the operand
 * translated for writing first (for reading: BT), read once, the result and flags by the
 * emulator's arithmetic, written once (CMPXCHG writes the old value back when it differs,
 * as the locked cycle does), then the registers and RFLAGS, once nothing can fail.
 */
#include "core/mmio_rmw.h"
#include "arch/x86/paging.h"
#include "core/insn_fetch.h"
#include "core/mmio_setup.h"
#include "core/seg_flat.h"
#include "core/vcpu.h"
#include "lib/compiler.h"
#include "mm/memmap.h"
#include "mmio/locked_rmw.h"
#include "mmio/mmio_cache.h"
#include "mmio/region.h"
#include "mmio/x86_emu_internal.h" /* x86_alu, x86_grp2: the emulator's arithmetic */

#define BT_IMM_MASK	0xFF
#define HIGH_BYTE_REGS	4 /* without REX, byte registers 4-7 are AH, CH, DH, BH */
#define HIGH_BYTE_SHIFT 8
#define BYTE_BITS	8
#define LOW_32		0xFFFFFFFFull

static uint64_t size_mask(unsigned size)
{
	return size == 8 ? ~0ull : (1ull << (BYTE_BITS * size)) - 1;
}

static bool high_byte(const struct x86_insn *in, unsigned reg, unsigned size)
{
	return size == 1 && !in->rex && reg >= HIGH_BYTE_REGS && reg < 2 * HIGH_BYTE_REGS;
}

/* A register operand's value (x86e_reg_read): AH-BH without REX. */
static uint64_t reg_read(struct vcpu *v, const struct x86_insn *in, unsigned reg, unsigned size)
{
	if (high_byte(in, reg, size))
		return (vcpu_gpr(v, reg - HIGH_BYTE_REGS) >> HIGH_BYTE_SHIFT) & size_mask(1);
	return vcpu_gpr(v, reg) & size_mask(size);
}

/* A register write (x86e_reg_write): 8/16-bit merge, 32-bit zero-extends. */
static void reg_write(struct vcpu *v, const struct x86_insn *in, unsigned reg, unsigned size,
		      uint64_t val)
{
	uint64_t old, nv;

	if (high_byte(in, reg, size)) {
		reg -= HIGH_BYTE_REGS;
		old = vcpu_gpr(v, reg);
		nv = (old & ~(size_mask(1) << HIGH_BYTE_SHIFT)) |
		     ((val & size_mask(1)) << HIGH_BYTE_SHIFT);
	} else if (size < 4) {
		nv = (vcpu_gpr(v, reg) & ~size_mask(size)) | (val & size_mask(size));
	} else {
		nv = val & size_mask(size);
	}
	if (reg == GPR_RSP)
		v->ops->set_rsp(v, nv);
	else
		v->gpr[reg] = nv;
}

/*
 * One device access of size (1, 2, 4 or 8) bytes at gpa, inside region: through the
 * device's lock-free typed entry points where it offers them (each access atomic on its
 * own, as the MMIO short path uses them), else the locked access.  0 or the device's error.
 */
static int dev_read(const struct mmio_region *r, uint64_t gpa, uint64_t rip, unsigned size,
		    uint64_t *val)
{
	unsigned i = (unsigned)__builtin_ctz(size);

	if (r->ops->read_value[i]) {
		struct mmio_value res = r->ops->read_value[i](r->dev, gpa - r->base);

		*val = res.val;
		return (int)res.err;
	}
	return mmio_region_access(r, gpa, rip, val, size, false);
}

static int dev_write(const struct mmio_region *r, uint64_t gpa, uint64_t rip, unsigned size,
		     uint64_t val)
{
	unsigned i = (unsigned)__builtin_ctz(size);

	if (r->ops->write_value[i])
		return r->ops->write_value[i](r->dev, gpa - r->base, val & size_mask(size));
	return mmio_region_access(r, gpa, rip, &val, size, true);
}

/* The operand's linear address, or false if the segment is not flat or it leaves a page. */
static bool operand_la(struct vcpu *v, const struct x86_insn *in, const struct gw_regs *regs,
		       uint64_t rip, unsigned size, bool write, uint64_t *la)
{
	uint64_t ea = vcpu_insn_ea(v, in, rip);

	if (!vcpu_flat_segment(v, in->mode, in->mem_seg, write))
		return false;
	if (in->addrsize != 8)
		ea &= size_mask(in->addrsize); /* EIP-relative (67 in 64-bit mode) included */
	if (in->mode == X86_MODE_64 &&
	    (!x86_canonical(ea, regs->cr4) || !x86_canonical(ea + size - 1, regs->cr4)))
		return false;
	*la = in->mode == X86_MODE_64 ? ea : ea & LOW_32;
	return (*la & (PAGE_SIZE - 1)) + size <= PAGE_SIZE;
}

/*
 * The instruction's arithmetic on the device value mem: *out (to write back, if *write),
 * *flags, and the register to load (*reg_dst, RMW_NO_REG: none) with *reg_val.
 */
#define RMW_NO_REG 0xFFu

static void rmw_compute(struct vcpu *v, const struct x86_insn *in, enum mmio_rmw_kind k,
			unsigned size, uint64_t mem, uint64_t *out, bool *write, uint64_t *flags,
			unsigned *reg_dst, uint64_t *reg_val)
{
	unsigned bits = size * BYTE_BITS;
	uint64_t src, mask;

	*write = true;
	*reg_dst = RMW_NO_REG;
	switch (k) {
	case MMIO_RMW_KIND_GRP2: {
		unsigned raw = (unsigned)(vcpu_gpr(v, GPR_RCX) & BT_IMM_MASK); /* D2/D3: CL */

		if ((in->opcode & ~MMIO_RMW_FULL) == MMIO_RMW_GRP2_IMM8)
			raw = (unsigned)(in->imm[0] & BT_IMM_MASK);
		else if ((in->opcode & ~MMIO_RMW_FULL) == MMIO_RMW_GRP2_ONE)
			raw = 1;
		/* A count of 0 still writes a memory destination back (x86e_exec_grp2). */
		x86_grp2(v->emu.vendor, in->reg, size, mem, raw, out, flags);
		break;
	}
	case MMIO_RMW_KIND_NOT:
		*out = ~mem;
		break;
	case MMIO_RMW_KIND_NEG:
		*out = x86_alu(ALU_NEG, size, mem, 0, flags);
		break;
	case MMIO_RMW_KIND_BT:
		mask = 1ull << ((in->imm[0] & BT_IMM_MASK) % bits);
		*flags = (*flags & ~X86_FL_CF) | ((mem & mask) ? X86_FL_CF : 0);
		switch (in->reg & MMIO_RMW_GRP_MASK) {
		case MMIO_RMW_BT + 1: /* BTS */
			*out = mem | mask;
			break;
		case MMIO_RMW_BT + 2: /* BTR */
			*out = mem & ~mask;
			break;
		case MMIO_RMW_BT + 3: /* BTC */
			*out = mem ^ mask;
			break;
		default:
			*write = false;
			break;
		}
		break;
	case MMIO_RMW_KIND_XCHG:
		*out = reg_read(v, in, in->reg, size);
		*reg_dst = in->reg;
		*reg_val = mem;
		break;
	case MMIO_RMW_KIND_XADD:
		src = reg_read(v, in, in->reg, size);
		*out = x86_alu(ALU_ADD, size, mem, src, flags);
		*reg_dst = in->reg;
		*reg_val = mem;
		break;
	case MMIO_RMW_KIND_CMPXCHG:
		src = reg_read(v, in, GPR_RAX, size);
		x86_alu(ALU_CMP, size, src, mem, flags);
		if (src == mem) {
			*out = reg_read(v, in, in->reg, size);
		} else {
			*out = mem; /* written back unchanged: the locked cycle */
			*reg_dst = GPR_RAX;
			*reg_val = mem;
		}
		break;
	}
}

bool vcpu_mmio_rmw(struct vcpu *v, const struct mmio_region *region, const struct x86_insn *in,
		   const struct gw_regs *regs, uint64_t rip, enum mmio_rmw_kind k, unsigned size)
{
	uint64_t hits = v->mmio_cache.hits, la, gpa, mem = 0, out = 0, flags, reg_val = 0;
	struct gw_result fault;
	struct mmio_locked l;
	unsigned reg_dst;
	bool write, modifies, locked;

	modifies = k != MMIO_RMW_KIND_BT || (in->reg & MMIO_RMW_GRP_MASK) != MMIO_RMW_BT;
	if (!operand_la(v, in, regs, rip, size, modifies, &la))
		return false;
	/* Translated for the write before the read, as the CPU does a read-modify-write. */
	if (mmio_translate(&v->mmio_cache, v->mmio_cache_on, regs, &vcpu_gw_mem, la,
			   modifies ? GW_WRITE : 0, &gpa, &fault))
		return false; /* a fault: the emulator raises it */
	if (gpa < region->base || gpa > region->last)
		region = mmio_region_find_hinted(mmio_regions(), &v->region_hint, gpa);
	if (!region)
		return false;
	/* A locked form: one locked cycle (mmio/locked_rmw.h).  A lock-free store that came
	 * between its read and write (-E_AGAIN) leaves everything as it was: the general
	 * emulator does it again.  One arithmetic for both ways (inlined once). */
	locked = mmio_rmw_locked(in, k) && mmio_locked_fits(region, gpa, size);
	if (unlikely(locked) ? mmio_locked_read_bounded(&l, &v->lock_streak, region, gpa, rip,
							 &mem, size)
			     : dev_read(region, gpa, rip, size, &mem))
		return false;
	flags = v->ops->get_rflags(v);
	rmw_compute(v, in, k, size, mem, &out, &write, &flags, &reg_dst, &reg_val);
	if (unlikely(locked)) {
		if (mmio_locked_write(&l, &out))
			return false;
	} else if (write && dev_write(region, gpa, rip, size, out)) {
		return false;
	}
	if (reg_dst != RMW_NO_REG)
		reg_write(v, in, reg_dst, size, reg_val);
	v->ops->set_rflags(v, flags);
	v->mmio[MMIO_COUNTER_EXITS]++;
	if (v->mmio_cache_on)
		v->mmio[v->mmio_cache.hits != hits ? MMIO_COUNTER_HITS : MMIO_COUNTER_MISSES]++;
	v->ops->set_rip(v, rip + in->len);
	return true;
}
