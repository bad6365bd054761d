/*
 * PUSH [m] / POP [m] on a device operand (see mmio_stack.h).  Exactness as the CPU:
 *   - PUSH computes the operand's address with RSP before the push, reads the device, then
 *     writes the slot at RSP - size; POP reads the slot at RSP, then writes the device.  POP
 *     addresses its operand with RSP after the increment (SDM POP): an operand addressed
 *     through RSP is left to the general emulator;
 *   - the stack pointer wraps at the stack size (SS.B: 32 bits, 64 in 64-bit mode) and is
 *     written back at that size; a 16-bit stack, or a non-flat SS, is the emulator's;
 *   - both translations are made, with their rights (the stack slot as the write or read it
 *     is), before anything is accessed: a fault on either, a stack slot whose page is not
 *     plain guest RAM or that straddles a page, or a non-canonical address leaves the
 *     instruction untouched to the general emulator, which raises the fault;
 *   - the device access is the only one with side effects, and comes before the RAM write
 *     (PUSH) or after the RAM read (POP): a failing device changes nothing.
 */
#include "core/mmio_stack.h"
#include "core/flush_exits.h"
#include "core/guest.h"
#include "core/insn_fetch.h"
#include "core/mmio_forms.h"
#include "core/mmio_setup.h"
#include "core/seg_flat.h"
#include "core/vcpu.h"
#include "lib/compiler.h"
#include "lib/string.h"
#include "mm/guest_mem.h"
#include "mm/memmap.h"
#include "mmio/mmio_cache.h"
#include "mmio/region.h"
#include "mmio/x86_emulate.h"

#define STACK_32 4
#define STACK_64 8
#define LOW_32	 0xFFFFFFFFull

/*
 * The stack pointer's size (4 or 8), or 0 when the stack is not one the fast form takes.  SS
 * is read into *ss outside 64-bit mode; a size means SS is flat and writable there.
 */
static unsigned stack_size(struct vcpu *v, const struct x86_insn *in, struct vcpu_segment *ss)
{
	if (in->mode == X86_MODE_64)
		return STACK_64;
	v->ops->get_segment(v, X86_SEG_SS, ss);
	return vcpu_segment_flat(ss, true) && vcpu_seg_db(ss) ? STACK_32 : 0;
}

static bool in_one_page(uint64_t la, unsigned size)
{
	return (la & (PAGE_SIZE - 1)) + size <= PAGE_SIZE;
}

bool vcpu_mmio_stack(struct vcpu *v, const struct mmio_region *region, const struct x86_insn *in,
		     const struct gw_regs *regs, uint64_t rip)
{
	unsigned size = in->opsize, ssz;
	uint64_t hits = v->mmio_cache.hits, mask, rsp, sp_new, slot, la, gpa, slot_gpa, val = 0;
	struct gw_result fault;
	struct vcpu_segment ss;
	bool push, hit;
	uint8_t *ram;

	push = in->opcode == MMIO_OPC_GRP5;
	if (!push && (in->mem_base == GPR_RSP || in->mem_index == GPR_RSP))
		return false;
	ssz = stack_size(v, in, &ss);
	if (!ssz)
		return false;
	/* An SS operand: stack_size() found SS flat and writable (or is in 64-bit mode). */
	if (in->mem_seg != X86_SEG_SS && !vcpu_flat_segment(v, in->mode, in->mem_seg, !push))
		return false;
	mask = ssz == STACK_64 ? ~0ull : LOW_32;
	rsp = v->ops->get_rsp(v);
	slot = push ? (rsp - size) & mask : rsp & mask;
	sp_new = push ? slot : (rsp + size) & mask;
	la = vcpu_insn_ea(v, in, rip);
	if (in->mode != X86_MODE_64)
		la &= LOW_32;
	if (!in_one_page(la, size) || !in_one_page(slot, size) ||
	    (ssz == STACK_64 && (!x86_canonical(slot, regs->cr4) || !x86_canonical(la, regs->cr4))))
		return false;

	/* Both translations first, with their rights: nothing is touched if either faults. */
	if (mmio_translate(&v->mmio_cache, v->mmio_cache_on, regs, &vcpu_gw_mem, la,
			   push ? 0 : GW_WRITE, &gpa, &fault))
		return false;
	if (gpa < region->base || gpa > region->last)
		region = mmio_region_find_hinted(mmio_regions(), &v->region_hint, gpa);
	if (!region)
		return false; /* the operand is no device (the stack may be): the emulator's */
	hit = v->mmio_cache.hits != hits; /* the exit's verdict: its device operand's */
	if (mmio_translate(&v->mmio_cache, v->mmio_cache_on, regs, &vcpu_gw_mem, slot,
			   push ? GW_WRITE : 0, &slot_gpa, &fault))
		return false;
	/* The cache's RAM entry now holds the slot's page: the next guest TLB flush drops it. */
	if (v->mmio_cache.ram.valid)
		vcpu_flush_exits_arm(v, FLUSH_EXITS_ALL);
	ram = guest_mem_ram_page(guest_gate(), &v->ram_hint, slot_gpa);
	if (!ram)
		return false;
	ram += slot_gpa & (PAGE_SIZE - 1);

	if (push) {
		if (mmio_region_access(region, gpa, rip, &val, size, false))
			return false;
		memcpy_small(ram, &val, size);
	} else {
		memcpy_small(&val, ram, size);
		if (mmio_region_access(region, gpa, rip, &val, size, true))
			return false;
	}
	/* A 32-bit stack pointer is written as a 32-bit register: zero-extended. */
	v->ops->set_rsp(v, sp_new);
	v->mmio[MMIO_COUNTER_EXITS]++;
	if (v->mmio_cache_on)
		v->mmio[hit ? MMIO_COUNTER_HITS : MMIO_COUNTER_MISSES]++;
	v->ops->set_rip(v, rip + in->len);
	return true;
}
