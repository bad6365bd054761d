/* Guest instruction fetch: CS:RIP -> linear -> guest-physical (guest walk) -> bytes -> decode. */
#include "arch/x86/insn_fetch.h"
#include "arch/x86/cpu.h"
#include "arch/x86/exception.h"
#include "arch/x86/paging.h"
#include "arch/x86/vcpu.h"
#include "lib/compiler.h"
#include "lib/errno.h"
#include "lib/string.h"
#include "mm/memmap.h"

#define SEG_CS 1

/* Guest RAM only: a guest page table must never make mhv read its own memory. */
static bool guest_read(void *ctx, uint64_t gpa, void *buf, unsigned len)
{
	const struct vcpu *v = ctx;

	if (gpa + len < gpa || (gpa < v->hv_end && gpa + len > v->hv_start))
		return false;
	memcpy(buf, phys_to_virt(gpa), len);
	return true;
}

void vcpu_walk_setup(struct vcpu *v, struct gw_regs *regs, struct gw_mem *mem)
{
	v->ops->get_paging(v, regs);
	*mem = (struct gw_mem){.read = guest_read, .ctx = v};
}

static enum x86_mode code_mode(struct vcpu *v, const struct vcpu_segment *cs)
{
	if ((v->ops->get_efer(v) & EFER_LMA) && cs->long_mode)
		return X86_MODE_64;
	if (!(v->ops->get_cr(v, 0) & CR0_PE) || (v->ops->get_rflags(v) & RFLAGS_VM))
		return X86_MODE_16;
	return cs->db ? X86_MODE_32 : X86_MODE_16;
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

int vcpu_decode_current(struct vcpu *v, struct x86_insn *insn)
{
	struct vcpu_segment cs;
	uint8_t bytes[X86_MAX_INSN_LEN];
	uint64_t la, rip = v->ops->get_rip(v);
	unsigned first;
	enum x86_mode mode;
	int err;

	v->ops->get_segment(v, SEG_CS, &cs);
	mode = code_mode(v, &cs);
	la = (mode == X86_MODE_64 ? 0 : cs.base) + rip;
	if (mode != X86_MODE_64)
		la &= 0xFFFFFFFFull;
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

static uint64_t read_gpr(struct vcpu *v, unsigned reg)
{
	return reg == GPR_RSP ? v->ops->get_rsp(v) : v->gpr[reg];
}

uint64_t vcpu_insn_mem_linear(struct vcpu *v, const struct x86_insn *insn)
{
	uint64_t ea = (uint64_t)insn->disp, mask;
	struct vcpu_segment seg;

	if (insn->rip_rel)
		return v->ops->get_rip(v) + insn->len + ea;
	if (insn->mem_base != X86_REG_NONE)
		ea += read_gpr(v, insn->mem_base);
	if (insn->mem_index != X86_REG_NONE)
		ea += read_gpr(v, insn->mem_index) * insn->mem_scale;
	mask = insn->addrsize == 8 ? ~0ull : (1ull << (insn->addrsize * 8)) - 1;
	ea &= mask;
	/* In 64-bit mode only FS and GS have bases. */
	if (insn->mode == X86_MODE_64 && insn->mem_seg != X86_SEG_FS && insn->mem_seg != X86_SEG_GS)
		return ea;
	v->ops->get_segment(v, insn->mem_seg, &seg);
	ea += seg.base;
	return insn->mode == X86_MODE_64 ? ea : (ea & 0xFFFFFFFFull);
}
