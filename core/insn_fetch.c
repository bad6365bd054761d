/* Guest instruction fetch: CS:RIP -> linear -> guest-physical (guest walk) -> bytes -> decode. */
#include "core/insn_fetch.h"
#include "core/insn_fetch_hit.h"
#include "arch/x86/cpu.h"
#include "arch/x86/exception.h"
#include "arch/x86/paging.h"
#include "core/flush_exits.h"
#include "core/guest.h"
#include "core/vcpu.h"
#include "lib/compiler.h"
#include "lib/errno.h"
#include "lib/string.h"
#include "mm/guest_mem.h"
#include "mm/memmap.h"

#define SEG_CS 1

/*
 * Through the memory gate only: a page-table entry or instruction byte comes from guest RAM
 * or from the device that owns its page.  Anything the guest's map leaves out (mhv's range,
 * beyond the top) is never read; the walk fails and the guest gets #GP, as it would from the
 * nested page tables.
 */
static bool guest_read(void *ctx, uint64_t gpa, void *buf, unsigned len)
{
	(void)ctx;
	return guest_mem_read(guest_gate(), gpa, buf, len, 0) >= 0;
}

const struct gw_mem vcpu_gw_mem = {.read = guest_read};

void vcpu_walk_regs(struct vcpu *v, struct gw_regs *regs)
{
	v->ops->get_paging(v, regs);
	vcpu_walk_regs_finish(regs);
}

void vcpu_walk_setup(struct vcpu *v, struct gw_regs *regs, struct gw_mem *mem)
{
	vcpu_walk_regs(v, regs);
	*mem = vcpu_gw_mem;
}

/* Copy len bytes from linear address la, page by page; a faulting page queues its #PF. */
static int fetch(struct vcpu *v, uint64_t la, uint8_t *buf, unsigned len)
{
	struct gw_regs regs;
	struct gw_mem mem;
	unsigned done = 0;

	vcpu_walk_setup(v, &regs, &mem);
	while (done < len) {
		uint64_t addr = la + done;
		unsigned chunk =
			(unsigned)MIN((uint64_t)(len - done), PAGE_SIZE - (addr & (PAGE_SIZE - 1)));
		struct gw_result r;
		int err =
			guest_walk(&regs, &mem, addr, GW_FETCH | (regs.cpl == 3 ? GW_USER : 0), &r);

		if (err == -E_FAULT) {
			v->ops->set_cr2(v, addr);
			v->ops->inject_exception(v, VEC_PF, true, r.pf_error);
			return err;
		}
		if (err || !guest_read(v, r.gpa, buf + done, chunk))
			return -E_INVAL;
		done += chunk;
	}
	return 0;
}

/* The full path: fetch page by page (a fault is injected), decode into insn. */
static int fetch_decode(struct vcpu *v, uint64_t la, enum x86_mode mode, struct x86_insn *insn)
{
	uint8_t bytes[X86_MAX_INSN_LEN];
	unsigned first;
	int err;

	/* Fetch only the first page now: the next may legitimately be unmapped. */
	first = (unsigned)MIN((uint64_t)sizeof(bytes), PAGE_SIZE - (la & (PAGE_SIZE - 1)));
	err = fetch(v, la, bytes, first);
	if (err)
		return err;
	err = x86_decode(insn, bytes, first, mode);
	if (err == -X86_DEC_TRUNCATED && first < sizeof(bytes)) {
		err = fetch(v, la + first, bytes + first, sizeof(bytes) - first);
		if (err)
			return err;
		err = x86_decode(insn, bytes, sizeof(bytes), mode);
	}
	return err ? -E_INVAL : 0;
}

/* The code bytes at la in guest RAM, through the code TLB or a fresh walk. */
static bool code_bytes(struct vcpu *v, const struct gw_regs *regs, uint64_t la,
		       const uint8_t **bytes)
{
	struct code_tlb *t = &v->code_tlb;
	struct gw_result r;

	if (!t->valid || t->gva_page != la >> PAGE_SHIFT || !code_tlb_cr3_ok(t, regs->cr3) ||
	    !gw_access_allowed(regs, t->user, t->writable, t->nx, GW_FETCH)) {
		const uint8_t *page;

		if (guest_walk(regs, &vcpu_gw_mem, la, GW_FETCH, &r))
			return false; /* the full path raises the fault */
		/* Code read in place must be plain guest RAM: not mhv, not a device page. */
		page = guest_mem_ram_ptr(guest_gate(), r.gpa & ~(PAGE_SIZE - 1), PAGE_SIZE);
		if (!page)
			return false;
		*t = (struct code_tlb){.valid = true,
				       .gva_page = la >> PAGE_SHIFT,
				       .gva_base = la & ~(uint64_t)(PAGE_SIZE - 1),
				       .cr3 = regs->cr3,
				       .host_page = page,
				       .page_shift = r.page_shift,
				       .user = r.user,
				       .writable = r.writable,
				       .nx = r.nx,
				       .global = r.global};
		/* A TLB entry: the next flush must drop it (a global one: not a CR3 load). */
		vcpu_flush_exits_arm(v, r.global ? FLUSH_EXIT_INVLPG : FLUSH_EXITS_ALL);
	}
	*bytes = t->host_page + (la & (PAGE_SIZE - 1));
	return true;
}

/*
 * With the code translation on (the MMIO cache on, or SVM without NRIP save; its fill arms
 * the flush exits, so mhv sees every guest TLB flush), the code page's translation is kept
 * like a TLB entry and the last decoded instruction is reused when the bytes at RIP are
 * unchanged: the instruction-decoding exits (MMIO, and SVM without NRIP save or decode
 * assists) then cost a compare instead of a page walk and a decode.
 */
const struct x86_insn *vcpu_decode_at_slow(struct vcpu *v, const struct gw_regs *regs,
					   uint64_t la, enum x86_mode mode, int *err)
{
	struct insn_cache *ic = &v->insn_cache;
	const uint8_t *bytes;
	unsigned avail, room;

	/* Near the end of the page only the bytes up to it are read: an instruction that
	 * continues on the next page is truncated there and takes the full path. */
	room = (unsigned)(PAGE_SIZE - (la & (PAGE_SIZE - 1)));
	avail = MIN((unsigned)X86_MAX_INSN_LEN, room);
	if (v->code_tlb_on && code_bytes(v, regs, la, &bytes)) {
		if (ic->valid && ic->la == la && ic->insn.mode == mode &&
		    insn_cache_same_bytes(ic, bytes, room))
			return &ic->insn;
		ic->valid = false;
		ic->gen++;
		if (!x86_decode(&ic->insn, bytes, avail, mode)) {
			memcpy(ic->bytes, bytes, ic->insn.len);
			ic->la = la;
			ic->valid = true;
			return &ic->insn;
		}
	}
	ic->valid = false;
	ic->gen++;
	*err = fetch_decode(v, la, mode, &ic->insn);
	return *err ? NULL : &ic->insn;
}

const struct x86_insn *vcpu_decode_at_rflags(struct vcpu *v, const struct gw_regs *regs,
					     const struct vcpu_segment *cs, uint64_t rip,
					     uint64_t rflags, int *err)
{
	return vcpu_decode_at_inline(v, regs, cs, rip, rflags, err);
}

const struct x86_insn *vcpu_decode_at(struct vcpu *v, const struct gw_regs *regs,
				      const struct vcpu_segment *cs, uint64_t rip, int *err)
{
	return vcpu_decode_at_rflags(v, regs, cs, rip, v->ops->get_rflags(v), err);
}

const struct x86_insn *vcpu_decode_current(struct vcpu *v, int *err)
{
	struct vcpu_segment cs;
	struct gw_regs regs;
	struct gw_mem mem;

	vcpu_walk_setup(v, &regs, &mem);
	v->ops->get_segment(v, SEG_CS, &cs);
	return vcpu_decode_at(v, &regs, &cs, v->ops->get_rip(v), err);
}

uint64_t vcpu_gpr(struct vcpu *v, unsigned reg)
{
	return reg == GPR_RSP ? v->ops->get_rsp(v) : v->gpr[reg];
}

uint64_t vcpu_insn_ea(struct vcpu *v, const struct x86_insn *insn, uint64_t rip)
{
	uint64_t ea = (uint64_t)insn->disp;

	/* RIP-relative: with a 67 prefix (EIP-relative) truncated to 32 bits below, as any
	 * other address of that size (SDM vol. 2 2.2.1.6); it has no base or index. */
	if (insn->rip_rel)
		ea += rip + insn->len;
	else if (insn->mem_base != X86_REG_NONE)
		ea += vcpu_gpr(v, insn->mem_base);
	if (insn->mem_index != X86_REG_NONE)
		ea += vcpu_gpr(v, insn->mem_index) * insn->mem_scale;
	return insn->addrsize == 8 ? ea : ea & ((1ull << (insn->addrsize * 8)) - 1);
}

uint64_t vcpu_insn_mem_linear(struct vcpu *v, const struct x86_insn *insn)
{
	uint64_t ea = vcpu_insn_ea(v, insn, v->ops->get_rip(v));
	struct vcpu_segment seg;

	/* In 64-bit mode only FS and GS have bases. */
	if (insn->mode == X86_MODE_64 && insn->mem_seg != X86_SEG_FS && insn->mem_seg != X86_SEG_GS)
		return ea;
	v->ops->get_segment(v, insn->mem_seg, &seg);
	ea += seg.base;
	return insn->mode == X86_MODE_64 ? ea : (ea & 0xFFFFFFFFull);
}
