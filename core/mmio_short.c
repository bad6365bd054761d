/*
 * MMIO short path (see mmio_short.h).  What stays checked on every hit, because the CPU's
 * having faulted does not prove it: the same RIP and the same instruction bytes (through the
 * code translation kept like a TLB entry, so a remapped or rewritten code page is seen), the
 * same CS (base, and the backend's raw selector/rights word, which holds L and D/B) and
 * CR0.PE (the decode's mode), TF and VM clear, CPL 0-2, the whole operand inside the exit's
 * page and starting at the exit's GPA (an access split across two pages faults on the second
 * at its offset 0: the operand's linear address tells), and the same direction.
 *
 * CR0.PE is not read on a hit: it is set whenever the entry is valid.  A fill needs it (the
 * fast path fills only a 32- or 64-bit decode, and code_mode() in insn_fetch.c decodes
 * everything with PE clear as 16-bit), and nothing changes PE without dropping the entry:
 *  - every guest write of CR0 exits.  VT-x: the CR0 guest/host mask is all ones, written
 *    once at VMCS set-up (vmx.c), so a MOV to CR0 or an LMSW that would change PE exits
 *    (SDM 26.1.3; LMSW can only set PE; CLTS writes TS alone).  SVM: the CR0 write intercept
 *    is set at VMCB set-up and never cleared, and it takes MOV to CR0, LMSW and CLTS (all
 *    three decoded at that exit, svm.c exit_cr_write);
 *  - mhv applies such a write in one place, guest_write_cr0() (exit_cr.c), which drops the
 *    entry when PE changes; its other CR0 loads are the STARTUP IPI resets, which flush every
 *    cache (vcpu_guest_tlb_flush) and the entry with them;
 *  - nothing else the guest runs changes PE: a task switch sets TS only (and exits on VT-x;
 *    SVM refuses it while the cache is on), RSM outside SMM is #UD, VMRUN is intercepted.
 * tests/guest/test_mmio_short_mode.c leaves protected mode at the same RIP, CS and bytes.  The caller passes only exits for the final translation with no event being
 * delivered.  Everything the instruction does to a register is worked out at fill time, so a
 * hit is the checks (mmio_short_hit.h, inlined at the exit), one device call and one register
 * (or nothing) written.
 *
 * A hit runs on the exit's fast side (mmio_short.h): on SVM the guest's VMLOAD state (FS, GS,
 * TR, LDTR, the syscall MSRs) is still live in the CPU then, so a hit reads only the state
 * the backend handed over, general registers, RSP and RFLAGS, and segments through
 * get_segment() (which fetches FS/GS first where they are kept apart).
 */
#include "core/mmio_short.h"
#include "core/mmio_short_hit.h"
#include "arch/x86/cpu.h"
#include "core/insn_fetch.h"
#include "core/insn_fetch_hit.h"
#include "core/mmio_forms.h"
#include "core/vcpu.h"
#include "lib/compiler.h"
#include "lib/string.h"
#include "mm/memmap.h"
#include "mmio/locked_insn.h"
#include "mmio/region.h"

#define WORD_BYTES	8
#define BYTE_BITS	8
#define HIGH_BYTE_SHIFT 8

/* The low n bytes (0..8) set. */
static uint64_t byte_mask(unsigned n)
{
	return n >= WORD_BYTES ? ~0ull : (1ull << (BYTE_BITS * n)) - 1;
}

/* The register side of form f: how a hit replays it (enum mmio_short_kind), and the masks the
 * out-of-line replay uses: a load writes (old & keep) | (val & mask) << shift. */
static void fill_register(struct vcpu *v, struct mmio_short *e, const struct x86_insn *in,
			  const struct mmio_form *f)
{
	e->reg = (uint8_t)mmio_form_reg(in, f);
	e->shift = f->high_byte ? HIGH_BYTE_SHIFT : 0;
	e->sign = f->sign;
	e->imm = f->imm;
	e->imm_val = f->imm ? mmio_sign_extend(in->imm[0], in->imm_size[0]) : 0;
	/* A store's source: the register's bytes in gpr[] (from its second for AH..BH), or the
	 * immediate; 8 bytes read, the device takes the operand's size from their low end. */
	e->src = f->imm ? (const uint8_t *)&e->imm_val
			: (const uint8_t *)&v->gpr[e->reg] + e->shift / BYTE_BITS;
	e->gpr_off = (uint8_t)(e->reg * sizeof(v->gpr[0]) + e->shift / BYTE_BITS);
	e->val_mask = byte_mask(f->reg_size);
	/* 32-bit results zero-extend to 64 bits; 8- and 16-bit ones merge. */
	e->keep_mask = f->reg_size >= 4 ? 0 : ~(e->val_mask << e->shift);
}

/* How a hit replays form f of instruction in (enum mmio_short_kind). */
static uint8_t kind_of(const struct mmio_short *e, const struct x86_insn *in,
		       const struct mmio_form *f)
{
	if (f->alu || (!f->imm && e->reg == GPR_RSP) || in->len > WORD_BYTES)
		return MMIO_SHORT_REST; /* RSP is the VMCB's/VMCS's; bytes 8-15 out of line */
	if (f->write)
		return MMIO_SHORT_STORE;
	if (f->sign && f->reg_size < 4) /* MOVSX r16: from a byte (from a word: a plain MOV) */
		return f->mem_size == 1 ? MMIO_SHORT_SEXT8W : MMIO_SHORT_LOAD16;
	if (f->sign)
		return f->mem_size == 1 ? MMIO_SHORT_SEXT8
		       : f->mem_size == 2 ? MMIO_SHORT_SEXT16 : MMIO_SHORT_SEXT32;
	if (f->reg_size >= 4)
		return MMIO_SHORT_LOAD;
	return f->reg_size == 2 ? MMIO_SHORT_LOAD16 : MMIO_SHORT_LOAD8;
}

/*
 * The device call of a region without lock-free entry points (mmio/device.h): dev is the
 * entry, whose access struct (its len the operand's) and region go to the device under
 * mmio_device_lock.
 */
static struct mmio_value locked_read(void *entry, uint64_t offset)
{
	struct mmio_short *e = entry;
	struct mmio_value r = {0, 0};

	e->access.offset = offset;
	e->access.gpa = e->region->base + offset;
	r.err = mmio_region_read(e->region, &e->access, &r.val);
	return r;
}

static int locked_write(void *entry, uint64_t offset, uint64_t val)
{
	struct mmio_short *e = entry;

	e->access.offset = offset;
	e->access.gpa = e->region->base + offset;
	return mmio_region_write(e->region, &e->access, &val);
}

static void fill_device(struct mmio_short *e, const struct mmio_region *region, unsigned size)
{
	const struct mmio_dev_ops *ops = region->ops;
	unsigned i = (unsigned)__builtin_ctz(size); /* size: 1, 2, 4 or 8 */

	if (ops->read_value[i] && ops->write_value[i]) {
		e->dev = region->dev;
		e->read_value = ops->read_value[i];
		e->write_value = ops->write_value[i];
	} else {
		e->dev = e;
		e->read_value = locked_read;
		e->write_value = locked_write;
	}
}

/* The code translation's pointer to la's bytes, or NULL if it does not hold la's page. */
static const uint8_t *code_ptr(const struct vcpu *v, uint64_t la)
{
	const struct code_tlb *t = &v->code_tlb;

	if (!t->valid || t->gva_page != la >> PAGE_SHIFT)
		return NULL;
	return t->host_page + (la & (PAGE_SIZE - 1));
}

/* The MOV entry alone (a fill replaces it; the general one stays). */
static void drop_mov(struct mmio_short *e)
{
	e->key = MMIO_SHORT_NO_KEY;
}

/*
 * What a hit compares, for the instruction insn_cache decoded at code_la: the code's host
 * pointer (the cached code translation) and the 8 bytes at RIP as the page holds them now
 * (*page_lo: the instruction's and whatever follows it), its second word (*hi, zero past its
 * end) and that word's mask.  NULL when it was decoded across a page or without the code
 * translation, lies near the page's end (where the two words a hit compares would leave it),
 * or was rewritten since the decode.
 */
static const uint8_t *fill_code(struct vcpu *v, const struct x86_insn *in, uint64_t code_la,
				uint64_t *page_lo, uint64_t *hi, uint64_t *mask_hi)
{
	const struct insn_cache *ic = &v->insn_cache;
	const uint8_t *code = code_ptr(v, code_la);
	uint64_t lo;

	if (!code || !ic->valid || ic->la != code_la || &ic->insn != in ||
	    (code_la & (PAGE_SIZE - 1)) + 2 * WORD_BYTES > PAGE_SIZE)
		return NULL;
	/* The instruction's bytes as two words, zero past its end (insn_cache keeps two words). */
	_Static_assert(sizeof(ic->bytes) >= 2 * WORD_BYTES, "insn_cache holds two words");
	__builtin_memcpy(&lo, ic->bytes, WORD_BYTES);
	__builtin_memcpy(hi, ic->bytes + WORD_BYTES, WORD_BYTES);
	*mask_hi = in->len > WORD_BYTES ? byte_mask(in->len - WORD_BYTES) : 0;
	*hi &= *mask_hi;
	__builtin_memcpy(page_lo, code, WORD_BYTES);
	if ((*page_lo ^ lo) & byte_mask(in->len))
		return NULL; /* rewritten since the decode */
	return code;
}

void mmio_short_fill(struct vcpu *v, const struct x86_insn *in, const struct mmio_form *form,
		     uint64_t rip, const struct vcpu_segment *cs, uint64_t cs_key, uint64_t code_la,
		     uint64_t gpa, const struct mmio_region *region)
{
	struct mmio_short *e = &v->mmio_short;
	const struct insn_cache *ic = &v->insn_cache;
	const uint8_t *code;
	uint64_t hi, mask_hi, page_lo, next_rip;

	code = fill_code(v, in, code_la, &page_lo, &hi, &mask_hi);
	if (!code) {
		drop_mov(e);
		return;
	}
	/* The entry already describes this instruction on this page (an exit it could not take,
	 * such as a read-modify-write reported as its read): nothing to rewrite. */
	if (mmio_short_valid(e) && e->rip == rip && e->code_la == code_la && e->code == code &&
	    e->gfn == gpa >> PAGE_SHIFT && e->region == region && e->cs_base == cs->base &&
	    e->cs_key == cs_key &&
	    e->cs_mode == mmio_short_cs_mode(vcpu_seg_long_mode(cs), vcpu_seg_db(cs)) &&
	    e->insn.len == in->len && e->insn.mode == in->mode && e->code_lo == page_lo &&
	    e->code_hi == hi) {
		e->insn_gen = ic->gen;
		return;
	}
	drop_mov(e);
	e->insn_gen = ic->gen;
	e->form = *form;
	e->write = form->write;
	e->alu = form->alu;
	e->size = form->mem_size;
	e->off_bias = form->mem_size > 1;
	e->max_off = PAGE_SIZE - form->mem_size - e->off_bias;
	fill_register(v, e, in, form);
	e->kind = kind_of(e, in, form);
	e->gfn = gpa >> PAGE_SHIFT;
	e->rip = rip;
	/* Past the instruction as the CPU goes: EIP wraps at 4 GiB outside 64-bit mode. */
	next_rip = rip + in->len;
	e->next_rip = in->mode == X86_MODE_64 ? next_rip : (uint32_t)next_rip;
	e->code_la = code_la;
	e->code = code;
	e->cs_base = cs->base;
	e->cs_key = cs_key;
	e->cs_mode = mmio_short_cs_mode(vcpu_seg_long_mode(cs), vcpu_seg_db(cs));
	e->region = region;
	e->dev_offset = (gpa & ~(uint64_t)(PAGE_SIZE - 1)) - region->base + e->off_bias;
	fill_device(e, region, form->mem_size);
	e->access = (struct mmio_access){.rip = rip, .len = form->mem_size, .write = form->write};
	e->code_lo = page_lo;
	e->code_hi = hi;
	e->mask_hi = mask_hi;
	e->insn = *in;
	e->key = ((e->gfn << PAGE_SHIFT) | (uint64_t)form->write << MMIO_SHORT_WRITE_BIT) +
		 e->off_bias;
}

void mmio_short_fill_general(struct vcpu *v, const struct x86_insn *in, uint64_t rip,
			     const struct vcpu_segment *cs, const struct gw_regs *regs,
			     uint64_t code_la, uint64_t gpa, bool write)
{
	struct mmio_general *g = &v->mmio_short.general;
	const uint8_t *code;
	uint64_t hi, mask_hi, page_lo;

	code = fill_code(v, in, code_la, &page_lo, &hi, &mask_hi);
	if (!code || in->mode != vcpu_code_mode(regs, cs, 0)) {
		g->page = MMIO_SHORT_NO_KEY;
		return;
	}
	_Static_assert(MMIO_GENERAL_PAGE_SIZE == PAGE_SIZE, "the general entry keys pages");
	g->rip = rip;
	g->cs_base = cs->base;
	g->cs_limit = cs->limit;
	g->cs_attr = cs->attr;
	g->cs_selector = cs->selector;
	g->mode_key = (regs->efer & EFER_LMA) | (regs->cr0 & CR0_PE);
	g->code = code;
	g->code_lo = page_lo;
	g->code_hi = hi;
	g->mask_hi = mask_hi;
	g->insn = *in;
	g->locked = mmio_insn_locked(in);
	g->write = write;
	g->page = gpa & ~(uint64_t)(PAGE_SIZE - 1);
}

/*
 * An exit at page offset 0 may be the second half of an access split across two pages: the
 * operand's own linear address must be page-aligned too.
 */
static bool starts_on_page(struct vcpu *v, uint64_t rip)
{
	const struct x86_insn *in = &v->mmio_short.insn;
	uint64_t ea = vcpu_insn_ea(v, in, rip);
	struct vcpu_segment seg;

	if (in->mode != X86_MODE_64) { /* FS/GS operands are never filled in 64-bit mode */
		v->ops->get_segment(v, in->mem_seg, &seg);
		ea += seg.base;
	}
	return !(ea & (PAGE_SIZE - 1));
}

static uint64_t reg_value(struct vcpu *v, unsigned reg)
{
	return reg == GPR_RSP ? v->ops->get_rsp(v) : v->gpr[reg];
}

/* The device access and the register write; false if the device failed (nothing changed). */
static bool replay(struct vcpu *v, struct mmio_short *e, uint64_t off)
{
	uint64_t dev_off = e->dev_offset - e->off_bias + off; /* off: the page offset */
	struct mmio_value r;
	uint64_t val, nv;

	if (e->write) {
		val = e->imm ? e->imm_val : reg_value(v, e->reg) >> e->shift;
		return !e->write_value(e->dev, dev_off, val);
	}
	r = e->read_value(e->dev, dev_off);
	if (r.err)
		return false;
	val = e->sign ? mmio_sign_extend(r.val, e->size) : r.val;
	nv = (val & e->val_mask) << e->shift;
	if (e->keep_mask)
		nv |= reg_value(v, e->reg) & e->keep_mask;
	if (e->reg == GPR_RSP)
		v->ops->set_rsp(v, nv);
	else
		v->gpr[e->reg] = nv;
	return true;
}

/* A form of kind MMIO_SHORT_REST. */
static bool replay_other(struct vcpu *v, uint64_t gpa)
{
	struct mmio_short *e = &v->mmio_short;

	if (e->alu) { /* a read, flags, a write or a register: as the fast path did it */
		if (!vcpu_mmio_form(v, e->region, &e->insn, &e->form, gpa, e->rip))
			return false;
	} else if (!replay(v, e, gpa & (PAGE_SIZE - 1))) {
		return false;
	}
	mmio_short_count_hit(v);
	return true;
}

bool mmio_short_exit_zero(struct vcpu *v, uint64_t rip, uint64_t rflags, uint64_t cs_base,
			  uint64_t cs_key, unsigned cpl)
{
	const struct mmio_short *e = &v->mmio_short;
	const struct vcpu_exec_state x = {
		.rip = rip, .rflags = rflags, .cs_base = cs_base, .cs_key = cs_key, .cpl = cpl};

	/* ~0 from an entry without the bias is the byte before its page: a miss. */
	if (!mmio_short_valid(e) || !e->off_bias || !mmio_short_same_insn(e, &x) ||
	    !starts_on_page(v, e->rip))
		return false;
	return mmio_short_replay_inline(v, 0 - (uint64_t)e->off_bias);
}

bool mmio_short_exit_rest(struct vcpu *v, uint64_t off)
{
	struct mmio_short *e = &v->mmio_short;
	uint64_t hi;

	/* An instruction longer than 8 bytes: its second word (the first one a hit compared). */
	__builtin_memcpy(&hi, e->code + WORD_BYTES, WORD_BYTES);
	if ((hi ^ e->code_hi) & e->mask_hi)
		return false;
	return replay_other(v, (e->gfn << PAGE_SHIFT) + off + e->off_bias);
}
