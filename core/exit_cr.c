/*
 * Control-register exits.  Every guest write to CR0 and CR4 exits (both backends intercept
 * all of them): the exit core checks it as the CPU would (#GP for reserved or inconsistent
 * values, and for CR4.VMXE, which mhv hides), hands the value to the backend, and reports a
 * paging-mode change as a guest TLB flush.
 */
#include "arch/x86/cpu.h"
#include "arch/x86/exception.h"
#include "arch/x86/paging.h"
#include "core/cpuid_guest.h"
#include "core/exit_cr3.h"
#include "core/guest_tlb_flush.h"
#include "core/vcpu.h"
#include "lib/compiler.h"

#define CR0_RESERVED_HIGH 0xFFFFFFFF00000000ull
#define CR0_LMSW_BITS	  (CR0_PE | CR0_MP | CR0_EM | CR0_TS)
#define CR0_PAGING_BITS	  (CR0_PG | CR0_WP | CR0_CD | CR0_NW)
#define CR4_PAGING_BITS                                                                            \
	(CR4_PSE | CR4_PAE | CR4_PGE | CR4_PCIDE | CR4_SMEP | CR4_SMAP | CR4_PKE | CR4_LA57)
#define CR3_PCID_MASK	 0xFFFull
#define SEG_CS		 1

#define CR4_CET (1ull << 23)

/* CR4 bits the guest may set: what this CPU implements and mhv virtualises
 * (lib/cpuid_policy.c; never VMXE or SMXE). */
static uint64_t cr4_guest_allowed(void)
{
	return cpuid_guest_cr4_allowed();
}

static bool guest_write_cr0(struct vcpu *v, uint64_t val)
{
	uint64_t old = v->ops->get_cr(v, 0);

	if (val & CR0_RESERVED_HIGH)
		return false;
	if ((val & CR0_PG) && !(val & CR0_PE))
		return false;
	if ((val & CR0_NW) && !(val & CR0_CD))
		return false;
	/* CET's shadow stacks rely on write protection: WP cannot go while CR4.CET is set. */
	if (!(val & CR0_WP) && (v->ops->get_cr(v, 4) & CR4_CET))
		return false;
	if ((val & CR0_PG) && !(old & CR0_PG) && (v->ops->get_efer(v) & EFER_LME) &&
	    !(v->ops->get_cr(v, 4) & CR4_PAE))
		return false;
	if (!(val & CR0_PG) && (old & CR0_PG)) {
		struct vcpu_segment cs;

		/* SDM MOV CRn: clearing PG with CR4.PCIDE set, or in 64-bit mode, is #GP(0);
		 * compatibility mode may leave long mode this way (Linux's 32-bit trampoline). */
		if (v->ops->get_cr(v, 4) & CR4_PCIDE)
			return false;
		v->ops->get_segment(v, SEG_CS, &cs);
		if ((v->ops->get_efer(v) & EFER_LMA) && vcpu_seg_long_mode(&cs))
			return false;
	}
	if (!v->ops->set_cr(v, 0, val))
		return false;
	if ((old ^ val) & CR0_PAGING_BITS)
		vcpu_guest_tlb_flush(v, FLUSH_PAGING_MODE, 0);
	/* A short path hit takes CR0.PE as it was at fill without reading it (mmio_short.c). */
	if ((old ^ val) & CR0_PE)
		mmio_short_invalidate(&v->mmio_short);
	return true;
}

/* Out of line: its state reads would otherwise cost every CR3 write a bigger frame. */
static bool __attribute__((noinline)) guest_write_cr4(struct vcpu *v, uint64_t val)
{
	uint64_t old = v->ops->get_cr(v, 4);
	bool long_mode = v->ops->get_efer(v) & EFER_LMA;

	if (val & ~cr4_guest_allowed())
		return false;
	if (long_mode && !(val & CR4_PAE))
		return false;
	if ((val & CR4_CET) && !(v->ops->get_cr(v, 0) & CR0_WP))
		return false; /* SDM MOV CRn: CR4.CET needs CR0.WP */
	/* LA57 changes the paging structure: only outside IA-32e mode (SDM MOV CRn). */
	if (long_mode && ((old ^ val) & CR4_LA57))
		return false;
	if ((val & CR4_PCIDE) && !(old & CR4_PCIDE) &&
	    (!long_mode || (v->ops->get_cr(v, 3) & CR3_PCID_MASK)))
		return false;
	if (!v->ops->set_cr(v, 4, val))
		return false;
	if ((old ^ val) & CR4_PAGING_BITS)
		vcpu_guest_tlb_flush(v, FLUSH_PAGING_MODE, 0);
	return true;
}

bool vcpu_lmsw(struct vcpu *v, uint16_t src)
{
	uint64_t cr0 = v->ops->get_cr(v, 0);

	/* LMSW loads PE, MP, EM, TS but can never clear PE. */
	return guest_write_cr0(v, (cr0 & ~(uint64_t)(CR0_MP | CR0_EM | CR0_TS)) |
					  (src & CR0_LMSW_BITS));
}

/* The operand's upper half is set (core/exit_cr3.h): in 64-bit mode MOV to CRn takes all 64
 * bits of its register; in every other mode only the low 32 (the upper half may hold
 * anything left from 64-bit code). */
uint64_t vcpu_mov_to_cr_operand_high(struct vcpu *v, enum gpr reg)
{
	struct vcpu_segment cs;

	if (!(v->ops->get_efer(v) & EFER_LMA))
		return (uint32_t)v->gpr[reg];
	v->ops->get_segment(v, SEG_CS, &cs);
	return vcpu_seg_long_mode(&cs) ? v->gpr[reg] : (uint32_t)v->gpr[reg];
}

uint64_t vcpu_cr3_high_bits(struct vcpu *v, uint64_t val)
{
	if ((val & VCPU_CR3_PCID_NOFLUSH) && (v->ops->get_cr(v, 4) & CR4_PCIDE))
		val &= ~VCPU_CR3_PCID_NOFLUSH;
	if ((val >> hv_maxphyaddr()) && (v->ops->get_efer(v) & EFER_LMA))
		return VCPU_CR3_REFUSED;
	return val;
}

bool vcpu_write_cr(struct vcpu *v, unsigned cr, uint64_t val)
{
	if (cr == 0)
		return guest_write_cr0(v, val);
	if (cr == 4)
		return guest_write_cr4(v, val);
	if (cr == 3)
		return vcpu_guest_write_cr3(v, v->ops, val);
	return false;
}

enum exit_next vcpu_cr_write_refused(struct vcpu *v)
{
	v->ops->inject_exception(v, VEC_GP, true, 0);
	return EXIT_NEXT_RETRY;
}

enum exit_next __no_frame_pointer vcpu_exit_mov_to_cr3(struct vcpu *v, enum gpr reg)
{
	return vcpu_exit_mov_to_cr3_inline(v, v->ops, reg);
}

enum exit_next vcpu_exit_cr(struct vcpu *v, enum cr_access_type type, unsigned cr, enum gpr reg,
			    uint16_t lmsw_src)
{
	bool ok = true;

	if (type == CR_MOV_TO && cr == 3)
		return vcpu_exit_mov_to_cr3(v, reg);
	v->exits[EXIT_KIND_CR_ACCESS]++;
	switch (type) {
	case CR_MOV_FROM:
		v->gpr[reg] = v->ops->get_cr(v, cr);
		break;
	case CR_MOV_TO:
		ok = vcpu_write_cr(v, cr, vcpu_mov_to_cr_operand(v, reg));
		break;
	case CR_CLTS:
		ok = guest_write_cr0(v, v->ops->get_cr(v, 0) & ~CR0_TS);
		break;
	case CR_LMSW:
		ok = vcpu_lmsw(v, lmsw_src);
		break;
	}
	if (!ok)
		return vcpu_cr_write_refused(v);
	return EXIT_NEXT_SKIP;
}
