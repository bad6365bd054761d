/*
 * AMD SVM backend: SVM bring-up, the VMCB, and translation of VMCB state to and from the
 * vendor-neutral exit core (core/vcpu.h).  Every optional feature is used only when
 * CPUID 0x8000000A offers it: without NRIP save (QEMU TCG) instruction lengths come from
 * mhv's own decoder, without decode assists the operands do too, and without flush-by-ASID
 * a TLB flush drops everything.
 */
#include "arch/x86/svm/svm.h"
#include "arch/x86/svm/svm_db_hold.h"
#include "arch/x86/cpu.h"
#include "arch/x86/debugreg.h"
#include "arch/x86/desc.h"
#include "arch/x86/exception.h"
#include "arch/x86/irq_wait.h"
#include "arch/x86/msr.h"
#include "arch/x86/paging.h"
#include "arch/x86/percpu.h"
#include "arch/x86/smp.h"
#include "arch/x86/svm/svm_known_insn.h"
#include "arch/x86/svm/vmcb.h"
#include "arch/x86/virt_caps.h"
#include "core/apic_guard.h"
#include "core/cpuid_guest.h"
#include "core/gdb_swbp.h"
#include "core/gdbstub.h"
#include "core/debug_stop.h"
#include "core/exit_cr3.h"
#include "core/guest.h"
#include "core/guest_event.h"
#include "core/insn_fetch.h"
#include "core/mmio_data_bp.h"
#include "core/mmio_short_hit.h"
#include "mmio/data_bp.h"
#include "core/msr_policy.h"
#include "core/platform_ports.h"
#include "core/run_end.h"
#include "core/seg_flat.h"
#include "core/vcpu.h"
#include "core/vuart.h"
#include "lib/errno.h"
#include "lib/log.h"
#include "lib/string.h"
#include "mm/frame.h"
#include "mm/pagetable.h"

#define GUEST_ASID	      1
#define MSRPM_RANGE_SPAN      0x2000u
#define MSRPM_BYTES_PER_RANGE 0x800u
#define PAT_POWER_ON	      0x0007040600070406ull
#define DR6_INIT	      0xFFFF0FF0ull
#define DR7_INIT	      0x400ull
#define CPUID_7_EBX_INVPCID   (1u << 10)
#define CPUID_EXT_EDX_1G      (1u << 26)
#define OPCODE_MOV_TO_CR      0x22
#define OPCODE_CLTS	      0x06
#define MSR_DEBUGCTL	      0x000001D9
#define DEBUGCTL_BTF	      (1ull << 1) /* TF single-steps branches only */
#define OPCODE_GROUP7	      0x01
#define GROUP7_LMSW	      6
#define EVENTINJ_TYPE_SHIFT   8
#define EVENTINJ_TYPE_BITS    7u

struct svm_vcpu {
	struct vcpu vcpu; /* first: svm_entry.S addresses gpr[] from the vcpu pointer */
	struct vmcb *vmcb;
	uint64_t vmcb_pa, host_save_pa, hsave_pa;
	bool nrips, decode_assists, flush_by_asid;
	/* Decode assists and NRIP save both (CPUID 8000_000A EDX bits 7 and 3): a CR3-write exit
	 * names its register in EXITINFO1 and its next RIP in the VMCB (exit_cr3_write). */
	bool cr3_assisted;
	uint8_t guest_tlb_flush; /* TLB_CONTROL_FLUSH_ASID, or _ALL without flush-by-ASID */
	/* exit_cr3_write: the RIP after the MOV, kept here across the exit core's call rather
	 * than in a register the call would make it save and restore. */
	uint64_t cr3_next_rip;
	uint32_t invpcid_intercept; /* MISC3_INVPCID when the CPU has INVPCID, else 0 */
	/* Set when mhv's FS/GS/TR/LDTR are loaded and the guest's must be VMLOADed again. */
	bool guest_state_saved;
	bool debug_step;     /* the debugger's single step: RFLAGS.TF set by mhv, #DB intercepted */
	uint64_t guest_tf;   /* the guest's own RFLAGS.TF while debug_step */
	bool db_intercepted; /* #DB was intercepted before the step (the GDB stub's) */
	struct svm_db_hold db_hold; /* a MOV SS's data breakpoint #DB, held one instruction */
};

/* One per CPU: the boot CPU's is vCPU 0, AP n's is vCPU n. */
static struct svm_vcpu svm_vcpus[HV_MAX_CPUS];

void __noreturn svm_run_loop(struct vcpu *v, uint64_t vmcb_pa, bool *guest_state_saved);

/* Slow paths: save the guest's VMLOAD state into the VMCB and load mhv's (see svm_entry.S). */
static void svm_use_host_state(struct svm_vcpu *sv)
{
	if (sv->guest_state_saved)
		return;
	asm volatile("vmsave %%rax" ::"a"(sv->vmcb_pa) : "memory");
	asm volatile("vmload %%rax" ::"a"(sv->host_save_pa) : "memory");
	desc_load_idt(true); /* mhv's TSS is in TR again: IST stacks are safe */
	sv->guest_state_saved = true;
}

static struct svm_vcpu *to_svm(struct vcpu *v)
{
	return (struct svm_vcpu *)v;
}

static struct vmcb *vmcb_of(struct vcpu *v)
{
	return to_svm(v)->vmcb;
}

static bool svm_check_caps(const struct virt_caps *caps)
{
	const char *missing = NULL;

	if (!caps->usable)
		missing = caps->why_unusable;
	else if (!caps->svm.np)
		missing = "nested paging (NPT)";
	else if (caps->svm.nr_asids <= GUEST_ASID)
		missing = "a guest ASID";
	if (missing) {
		pr_err("mhv: SVM: cannot run a guest: %s%s\n",
		       caps->usable ? "this CPU lacks " : "", missing);
		return false;
	}
	return true;
}

/* ---- struct vcpu_ops ---- */

/* The armed hold of the vCPU that runs on vmcb, if any (single_step_trap has the VMCB only;
 * it runs only when RFLAGS.TF is set). */
static struct svm_db_hold *db_hold_of(const struct vmcb *vmcb)
{
	for (unsigned i = 0; i < HV_MAX_CPUS; i++)
		if (svm_vcpus[i].vmcb == vmcb)
			return svm_vcpus[i].db_hold.armed ? &svm_vcpus[i].db_hold : NULL;
	return NULL;
}

static uint64_t svm_get_rip(struct vcpu *v)
{
	return vmcb_of(v)->save.rip;
}

/*
 * The instruction mhv completed ran with RFLAGS.TF: the single-step trap it owes the guest
 * (the intercept stopped the CPU from raising it).  An event already queued comes first.
 */
static void __attribute__((noinline)) single_step_trap(struct vmcb *vmcb)
{
	struct svm_db_hold *hold = db_hold_of(vmcb);

	if (unlikely(hold)) { /* the step of a held #DB (svm_db_hold.h): its trap */
		svm_db_hold_release(hold, vmcb, true);
		return;
	}
	if (vmcb->control.event_inj & EVENTINJ_VALID)
		return;
	if (debug_stepping())
		return; /* the debugger's TF: its step ends at the exit's tail (debug_stop.h) */
	/* DEBUGCTL.BTF (the guest's, live under SVM): TF traps on branches only, and mhv
	 * completes none.  A CPU model without DEBUGCTL (Bochs' ryzen) has no BTF either. */
	uint64_t debugctl;
	if (rdmsr_safe(MSR_DEBUGCTL, &debugctl) && (debugctl & DEBUGCTL_BTF))
		return;
	vmcb->save.dr6 |= DR6_BS;
	vmcb->control.event_inj = EVENTINJ_VALID | EVENTINJ_TYPE_EXCEPTION | VEC_DB;
}

/*
 * RIP moves past an instruction mhv completed for the guest.  An STI or MOV SS shadow
 * covered that instruction and ends with it; the VMCB would carry it over VMRUN otherwise.
 */
static inline __attribute__((always_inline)) void set_rip_past_no_tf(struct vmcb *vmcb,
								     uint64_t rip)
{
	vmcb->save.rip = rip;
	vmcb->control.interrupt_shadow &= ~INTERRUPT_SHADOW_ACTIVE;
}

/* ... and the single-step trap it owes if RFLAGS.TF was set (the _no_tf forms: known clear). */
static inline __attribute__((always_inline)) void set_rip_past(struct vmcb *vmcb, uint64_t rip)
{
	set_rip_past_no_tf(vmcb, rip);
	if (unlikely(vmcb->save.rflags & RFLAGS_TF))
		single_step_trap(vmcb);
}

/* Past an instruction that ends at 4 GiB, EIP wraps to 0 outside 64-bit mode (VMRUN would
 * refuse RIP bits 63:32 there). */
static inline __attribute__((always_inline)) uint64_t wrap_rip(const struct vmcb *vmcb,
							       uint64_t rip)
{
	if (unlikely(rip >> 32) && !svm_long_mode_cs(&vmcb->save))
		rip = (uint32_t)rip;
	return rip;
}

static inline __attribute__((always_inline)) void advance_rip_no_tf(struct vmcb *vmcb,
								    uint64_t rip)
{
	set_rip_past_no_tf(vmcb, wrap_rip(vmcb, rip));
}

static inline __attribute__((always_inline)) void advance_rip(struct vmcb *vmcb, uint64_t rip)
{
	set_rip_past(vmcb, wrap_rip(vmcb, rip));
}

static void svm_set_rip(struct vcpu *v, uint64_t rip)
{
	advance_rip(vmcb_of(v), rip);
}

static uint64_t svm_get_rflags(struct vcpu *v)
{
	return svm_db_hold_rflags(&to_svm(v)->db_hold, vmcb_of(v)->save.rflags);
}

static void svm_set_rflags(struct vcpu *v, uint64_t rflags)
{
	vmcb_of(v)->save.rflags = svm_db_hold_set_rflags(&to_svm(v)->db_hold, rflags);
}

static void __no_frame_pointer svm_set_rip_rflags(struct vcpu *v, uint64_t rip, uint64_t rflags)
{
	svm_set_rip(v, rip);
	svm_set_rflags(v, rflags);
}

static void svm_set_rsp(struct vcpu *v, uint64_t rsp)
{
	vmcb_of(v)->save.rsp = rsp;
}

static uint64_t svm_get_rsp(struct vcpu *v)
{
	return vmcb_of(v)->save.rsp;
}

static uint64_t svm_get_cr(struct vcpu *v, unsigned cr)
{
	const struct vmcb_save *s = &vmcb_of(v)->save;

	return cr == 0 ? s->cr0 : cr == 3 ? s->cr3 : s->cr4;
}

/*
 * VMRUN requires EFER.SVME in the guest's EFER; the guest never sees it.  LMA is derived,
 * as the CPU defines it (LME and CR0.PG): Bochs 2.7 has been seen saving a VMCB EFER
 * without LMA while its guest ran in compatibility mode.
 */
static uint64_t guest_efer(const struct vmcb_save *s)
{
	uint64_t efer = s->efer & ~(EFER_SVME | EFER_LMA);

	if ((efer & EFER_LME) && (s->cr0 & CR0_PG))
		efer |= EFER_LMA;
	return efer;
}

static uint64_t svm_get_efer(struct vcpu *v)
{
	return guest_efer(&vmcb_of(v)->save);
}

static void svm_set_efer(struct vcpu *v, uint64_t efer)
{
	vmcb_of(v)->save.efer = efer | EFER_SVME;
}

static void svm_flush_tlb(struct vcpu *v, bool one_address, uint64_t la)
{
	struct svm_vcpu *sv = to_svm(v);

	if (one_address) {
		asm volatile("invlpga %%rax, %%ecx" ::"a"(la), "c"(GUEST_ASID) : "memory");
		return;
	}
	sv->vmcb->control.tlb_control = sv->guest_tlb_flush;
}

/*
 * The guest-TLB-flush intercepts (core/flush_exits.h): CR3 writes, INVLPG and INVPCID, on only
 * while mhv's translation caches hold something.  Changing an intercept vector voids the
 * CPU's cached copy of it (clean bit).
 */
static void svm_set_flush_exits(struct vcpu *v, unsigned mask)
{
	struct svm_vcpu *sv = to_svm(v);
	struct vmcb_control *c = &sv->vmcb->control;

	/* All off, then the armed ones on: the common call (the first flush after a fill
	 * disarms them all) is three AND-to-memory and no test of each bit. */
	c->intercept_cr &= ~CR_WRITE_INTERCEPT(3);
	c->intercept_misc1 &= ~MISC1_INVLPG;
	c->intercept_misc3 &= ~MISC3_INVPCID; /* never set without INVPCID: an immediate AND */
	if (unlikely(mask)) {
		if (mask & FLUSH_EXIT_CR3)
			c->intercept_cr |= CR_WRITE_INTERCEPT(3);
		if (mask & FLUSH_EXIT_INVLPG) {
			c->intercept_misc1 |= MISC1_INVLPG;
			c->intercept_misc3 |= sv->invpcid_intercept;
		}
	}
	c->clean_bits &= ~VMCB_CLEAN_INTERCEPTS;
}

static bool svm_set_cr(struct vcpu *v, unsigned cr, uint64_t val)
{
	struct vmcb_save *s = &vmcb_of(v)->save;

	if (likely(cr == 3)) { /* first: the frequent one (MOV to CR3 with the flush exits on) */
		s->cr3 = val;
		return true;
	}
	switch (cr) {
	case 0:
		/* The write was intercepted, so the CPU did not activate long mode: mhv does. */
		if ((s->cr0 ^ val) & CR0_PG) {
			if ((val & CR0_PG) && (s->efer & EFER_LME))
				s->efer |= EFER_LMA;
			else
				s->efer &= ~EFER_LMA;
		}
		s->cr0 = val;
		break;
	default:
		s->cr4 = val;
		break;
	}
	return true; /* AMD checks PDPTEs in the walk, not at MOV to CRn */
}

/* svm_get_paging from the save area, with the guest's RFLAGS read already (only AC counts:
 * svm_get_rflags's answer serves); inline in svm_get_insn_state. */
static inline __attribute__((always_inline)) void svm_paging_regs(const struct vmcb_save *s,
								    uint64_t rflags,
								    struct gw_regs *regs)
{
	/* Field by field: a compound literal is a REP STOS over the whole struct first (every
	 * instruction-decoding exit calls this). */
	regs->cr0 = s->cr0;
	regs->cr3 = s->cr3;
	regs->cr4 = s->cr4;
	regs->efer = guest_efer(s);
	regs->cpl = s->cpl;
	regs->rflags_ac = rflags & RFLAGS_AC;
	regs->maxphyaddr = 0;
	regs->has_pkru = false;
	regs->pkru = 0;
}

static void svm_get_paging(struct vcpu *v, struct gw_regs *regs)
{
	const struct vmcb_save *s = &vmcb_of(v)->save;

	svm_paging_regs(s, s->rflags, regs);
}

static unsigned svm_get_cpl(struct vcpu *v)
{
	return vmcb_of(v)->save.cpl;
}

static void svm_inject_exception(struct vcpu *v, unsigned vector, bool has_error, uint32_t error)
{
	struct vmcb *vmcb = vmcb_of(v);
	uint64_t ev = EVENTINJ_VALID | EVENTINJ_TYPE_EXCEPTION | vector;

	if (unlikely(to_svm(v)->db_hold.armed)) {
		/* A fault of the instruction a held #DB waits for: the #DB before it instead, and
		 * the instruction runs again after the guest's handler (svm_db_hold.h). */
		svm_db_hold_release(&to_svm(v)->db_hold, vmcb, false);
		return;
	}

	if (has_error && (vmcb->save.cr0 & CR0_PE))
		ev |= EVENTINJ_ERR_VALID | ((uint64_t)error << EVENTINJ_ERR_SHIFT);
	vmcb->control.event_inj = ev;
}

/* A VMCB segment as a vcpu_segment. */
static inline __attribute__((always_inline)) void svm_segment_read(const struct vmcb_seg *s,
								   struct vcpu_segment *out)
{
	uint16_t attrib = s->attrib;
	/* VMCB attributes pack descriptor bits 52-55 into 8-11; VMX keeps them at 12-15. */
	uint32_t attr = (attrib & SVM_ATTR_LOW_MASK) |
			((uint32_t)(attrib & SVM_ATTR_HIGH_MASK) << SVM_ATTR_HIGH_SHIFT);

	if (!(attrib & SVM_ATTR_P))
		attr |= VCPU_SEG_UNUSABLE;
	/* Every field read before the first store: out may not alias s, but the compiler
	 * cannot know it and would read the VMCB again after each store. */
	*out = (struct vcpu_segment){
		.base = s->base, .limit = s->limit, .selector = s->selector, .attr = attr};
	_Static_assert(SVM_ATTR_L << SVM_ATTR_HIGH_SHIFT == VCPU_SEG_L &&
			       SVM_ATTR_DB << SVM_ATTR_HIGH_SHIFT == VCPU_SEG_DB,
		       "L and D/B move with the high nibble");
}

/* CS's selector, attributes and limit as one word (vcpu_ops.cs_key): the VMCB keeps them
 * side by side, the attributes with CS.L and CS.D/B. */
static inline __attribute__((always_inline)) uint64_t svm_cs_key_of(const struct vmcb_save *save)
{
	uint64_t key;

	_Static_assert(offsetof(struct vmcb_seg, base) == sizeof(key), "selector..limit: a word");
	__builtin_memcpy(&key, &save->cs, sizeof(key));
	return key;
}

/* vcpu_segment_flat() on a VMCB segment (its attributes' low byte is the VMX layout's; not
 * present stands for unusable, as in svm_get_segment). */
static inline bool vmcb_seg_flat(const struct vmcb_seg *s, bool write)
{
	uint16_t want = write ? SVM_ATTR_P | SEG_TYPE_WRITABLE : SVM_ATTR_P;

	return !s->base && s->limit == SEG_FLAT_LIMIT &&
	       (s->attrib & (SVM_ATTR_P | SEG_TYPE_CODE | SEG_TYPE_EXPDN | want)) == want;
}

/* FS and GS: VMLOAD state, in the VMCB only after a VMSAVE (svm_get_segment). */
static bool __attribute__((noinline)) svm_segment_flat_fs_gs(struct vcpu *v, unsigned seg,
							   bool write)
{
	svm_use_host_state(to_svm(v));
	return vmcb_seg_flat(seg == X86_SEG_FS ? &vmcb_of(v)->save.fs : &vmcb_of(v)->save.gs,
			     write);
}

static bool __no_frame_pointer svm_segment_flat(struct vcpu *v, unsigned seg, bool write)
{
	if (unlikely(seg == X86_SEG_FS || seg == X86_SEG_GS))
		return svm_segment_flat_fs_gs(v, seg, write);
	return vmcb_seg_flat(&vmcb_of(v)->save.es + (seg < X86_SEG_FS ? seg : X86_SEG_CS), write);
}

/* FS or GS: VMLOAD state, in the VMCB only after a VMSAVE (an exit's fast side, such as the
 * MMIO short path, may ask before one). */
static __attribute__((noinline)) void svm_get_vmload_segment(struct vcpu *v, unsigned seg,
							     struct vcpu_segment *out)
{
	struct vmcb_save *save = &vmcb_of(v)->save;

	svm_use_host_state(to_svm(v));
	svm_segment_read(seg == X86_SEG_FS ? &save->fs : &save->gs, out);
}

/* Without a call on the other segments' path: a leaf, nothing saved (every MMIO exit asks). */
static void svm_get_segment(struct vcpu *v, unsigned seg, struct vcpu_segment *out)
{
	if (unlikely(seg >= X86_SEG_FS)) {
		if (seg == X86_SEG_FS || seg == X86_SEG_GS) {
			svm_get_vmload_segment(v, seg, out);
			return;
		}
		seg = X86_SEG_CS; /* past GS (no caller passes it): CS, never past the VMCB's DS */
	}
	/* ES, CS, SS, DS: side by side in the VMCB, in enum x86_seg's order. */
	_Static_assert(X86_SEG_ES == 0 && X86_SEG_CS == 1 && X86_SEG_SS == 2 && X86_SEG_DS == 3,
		       "the VMCB's order");
	svm_segment_read(&vmcb_of(v)->save.es + seg, out);
}

/* The MMIO short path's state (core/mmio_short.h), all in the VMCB's save area whether or not
 * the VMLOAD state was switched. */
static inline __attribute__((always_inline)) void svm_get_exec_state(struct vcpu *v,
								   struct vcpu_exec_state *out)
{
	const struct vmcb_save *save = &vmcb_of(v)->save;

	out->rip = save->rip;
	out->rflags = save->rflags;
	out->cs_base = save->cs.base;
	out->cs_key = svm_cs_key_of(save);
	out->cpl = save->cpl;
}

static uint64_t svm_cs_key(struct vcpu *v)
{
	return svm_cs_key_of(&vmcb_of(v)->save);
}

static void svm_get_sysseg(struct vcpu *v, unsigned which, struct vcpu_segment *out)
{
	const struct vmcb_save *save = &vmcb_of(v)->save;
	const struct vmcb_seg *segs[] = {&save->gdtr, &save->idtr, &save->ldtr, &save->tr};

	memset(out, 0, sizeof(*out));
	if (which >= ARRAY_SIZE(segs))
		return;
	if (which >= X86_SYS_LDTR) {
		/* LDTR and TR are VMLOAD state, as FS and GS (svm_get_segment). */
		svm_use_host_state(to_svm(v));
		out->selector = segs[which]->selector;
		out->attr = (segs[which]->attrib & SVM_ATTR_LOW_MASK) |
			    ((uint32_t)(segs[which]->attrib & SVM_ATTR_HIGH_MASK)
			     << SVM_ATTR_HIGH_SHIFT);
		if (!(segs[which]->attrib & SVM_ATTR_P))
			out->attr |= VCPU_SEG_UNUSABLE;
	}
	out->base = segs[which]->base;
	out->limit = segs[which]->limit;
}

static void svm_set_dtr(struct vcpu *v, unsigned which, uint64_t base, uint32_t limit)
{
	struct vmcb_save *save = &vmcb_of(v)->save;
	struct vmcb_seg *s = which == X86_SYS_GDTR ? &save->gdtr : &save->idtr;

	if (which > X86_SYS_IDTR)
		return;
	s->base = base;
	s->limit = limit;
}

/* The VMCB attribute word for VMX-layout rights: the VMCB has no unusable bit, so a null
 * selector is a segment that is not present. */
static uint16_t svm_attrib(const struct vcpu_segment *in)
{
	uint16_t attrib = (uint16_t)((in->attr & SVM_ATTR_LOW_MASK) |
				     ((in->attr >> SVM_ATTR_HIGH_SHIFT) & SVM_ATTR_HIGH_MASK));

	return (in->attr & VCPU_SEG_UNUSABLE) ? attrib & (uint16_t)~SVM_ATTR_P : attrib;
}

#define SVM_TSS_BUSY 0x2u /* type bit 1: available -> busy */

/* LLDT/LTR the MMIO emulator completed. */
static void svm_set_sysseg(struct vcpu *v, unsigned which, const struct vcpu_segment *in)
{
	struct vmcb_save *save = &vmcb_of(v)->save;
	struct vmcb_seg *s = which == X86_SYS_LDTR ? &save->ldtr
			     : which == X86_SYS_TR ? &save->tr
						   : NULL;

	if (!s)
		return;
	s->selector = in->selector;
	s->base = in->base;
	s->limit = in->limit;
	s->attrib = svm_attrib(in);
	/* TR's cached type: the TSS as available (VMRUN does not check it and no guest
	 * instruction reads it; the busy bit lives in the GDT).  QEMU's TCG keeps TR so after its
	 * own LTR and aborts on a busy type at the next stack switch through the TSS. */
	if (which == X86_SYS_TR)
		s->attrib &= (uint16_t)~SVM_TSS_BUSY;
}

#define SVM_SEG_DPL_SHIFT 5
#define SVM_SEG_DPL_MASK  3u

static void svm_set_segment(struct vcpu *v, unsigned seg, const struct vcpu_segment *in)
{
	struct vmcb_save *save = &vmcb_of(v)->save;
	struct vmcb_seg *segs[] = {&save->es, &save->cs, &save->ss, &save->ds, &save->fs, &save->gs};
	struct vmcb_seg *s = seg < ARRAY_SIZE(segs) ? segs[seg] : NULL;

	if (!s)
		return;
	s->selector = in->selector;
	s->base = in->base;
	s->limit = in->limit;
	s->attrib = svm_attrib(in);
	/* The CPL is SS's DPL (an IRET to an outer ring); VMX derives it from SS itself. */
	if (seg == X86_SEG_SS && (save->cr0 & CR0_PE))
		save->cpl = (uint8_t)((in->attr >> SVM_SEG_DPL_SHIFT) & SVM_SEG_DPL_MASK);
}

/*
 * The single-step trap mhv queued for the MOV SS goes: the shadow defers it past the next
 * instruction, which the guest runs natively with TF set and which then traps by itself.
 */
static void svm_set_mov_ss_shadow(struct vcpu *v)
{
	struct vmcb *vmcb = vmcb_of(v);

	vmcb->control.interrupt_shadow |= INTERRUPT_SHADOW_ACTIVE;
	if (vmcb->control.event_inj == (EVENTINJ_VALID | EVENTINJ_TYPE_EXCEPTION | VEC_DB))
		vmcb->control.event_inj = 0;
}

/*
 * VMRUN loads CR2 from the VMCB.  Bochs 2.7 does not (its guest keeps the CPU's CR2), so the
 * CPU's CR2 gets the value too: harmless where VMRUN loads it, needed where it does not.
 * Only the #PF injection paths call this; mhv itself takes no page faults.
 */
static void svm_set_cr2(struct vcpu *v, uint64_t cr2)
{
	vmcb_of(v)->save.cr2 = cr2;
	write_cr2(cr2);
}

static void svm_dump(struct vcpu *v)
{
	const struct vmcb *vmcb = vmcb_of(v);
	const struct vmcb_save *s = &vmcb->save;

	pr_err("mhv: SVM guest: RIP 0x%lx RSP 0x%lx RFLAGS 0x%lx CS 0x%x (attr 0x%x) CPL %u\n",
	       s->rip, s->rsp, s->rflags, s->cs.selector, s->cs.attrib, s->cpl);
	pr_err("mhv: SVM guest: CR0 0x%lx CR3 0x%lx CR4 0x%lx EFER 0x%lx exit 0x%lx "
	       "info1 0x%lx info2 0x%lx\n",
	       s->cr0, s->cr3, s->cr4, s->efer, vmcb->control.exit_code, vmcb->control.exit_info1,
	       vmcb->control.exit_info2);
	pr_err("mhv: SVM guest: RAX 0x%lx RBX 0x%lx RCX 0x%lx RDX 0x%lx RSI 0x%lx RDI 0x%lx\n",
	       v->gpr[GPR_RAX], v->gpr[GPR_RBX], v->gpr[GPR_RCX], v->gpr[GPR_RDX], v->gpr[GPR_RSI],
	       v->gpr[GPR_RDI]);
}

static void set_seg(struct vmcb_seg *s, uint16_t sel, uint16_t attrib, uint32_t limit);

/*
 * A STARTUP IPI: real mode at vector << 12 (CS = vector << 8, IP 0), with the state INIT
 * leaves (SDM/APM "Initial processor state": CR0 CD|NW|ET, segments of limit 0xFFFF, EDX the
 * processor signature).  SVM has no wait-for-SIPI state: mhv held the vCPU until now.
 */
static void svm_sipi_reset(struct vcpu *v, uint8_t vector)
{
	struct svm_vcpu *sv = to_svm(v);
	struct vmcb_save *s = &sv->vmcb->save;
	struct vmcb_control *c = &sv->vmcb->control;
	uint16_t sel = (uint16_t)(vector << 8);

	set_seg(&s->cs, sel, SVM_ATTR_CODE16_RESET, 0xFFFF);
	s->cs.base = (uint64_t)vector << 12;
	set_seg(&s->ds, 0, SVM_ATTR_DATA16_RESET, 0xFFFF);
	set_seg(&s->es, 0, SVM_ATTR_DATA16_RESET, 0xFFFF);
	set_seg(&s->ss, 0, SVM_ATTR_DATA16_RESET, 0xFFFF);
	set_seg(&s->fs, 0, SVM_ATTR_DATA16_RESET, 0xFFFF);
	set_seg(&s->gs, 0, SVM_ATTR_DATA16_RESET, 0xFFFF);
	set_seg(&s->ldtr, 0, SVM_ATTR_LDT, 0xFFFF);
	set_seg(&s->tr, 0, SVM_ATTR_TSS32_BUSY, 0xFFFF);
	set_seg(&s->gdtr, 0, 0, 0xFFFF);
	set_seg(&s->idtr, 0, 0, 0xFFFF);
	s->cpl = 0;
	s->efer = EFER_SVME;
	s->cr0 = CR0_CD | CR0_NW | CR0_ET;
	s->cr2 = 0;
	s->cr3 = 0;
	s->cr4 = 0;
	s->dr6 = DR6_INIT;
	s->dr7 = DR7_INIT;
	s->rflags = 0x2;
	s->rip = 0;
	s->rsp = 0;
	s->rax = 0;
	s->g_pat = PAT_POWER_ON;
	memset(v->gpr, 0, sizeof(v->gpr));
	v->gpr[GPR_RDX] = cpuid(CPUID_FEATURES).eax;
	if (sv->db_hold.armed) { /* INIT ended the step: the intercepts it took back */
		c->intercept_exceptions = sv->db_hold.exceptions;
		c->intercept_misc1 = sv->db_hold.misc1;
	}
	sv->db_hold = (struct svm_db_hold){0};
	c->event_inj = 0;
	c->interrupt_shadow = 0;
	c->tlb_control = sv->flush_by_asid ? TLB_CONTROL_FLUSH_ASID : TLB_CONTROL_FLUSH_ALL;
	/* The guest's FS/GS/TR/LDTR are the VMCB's again: VMLOAD them at the next entry. */
	sv->guest_state_saved = true;
	vcpu_guest_tlb_flush(v, FLUSH_PAGING_MODE, 0);
}

static uint64_t svm_get_dr7(struct vcpu *v)
{
	return vmcb_of(v)->save.dr7;
}

/* The getters' answers in one call (vcpu_ops.get_insn_state: every MMIO exit past the short
 * path asks). */
static void svm_get_insn_state(struct vcpu *v, struct vcpu_insn_state *s, struct gw_regs *regs)
{
	/* Read before the first store: the compiler cannot know that s and regs do not alias v,
	 * and would load v's VMCB pointer again after each. */
	const struct vmcb_save *save = &vmcb_of(v)->save;
	uint64_t rip = svm_get_rip(v), rflags = svm_get_rflags(v), dr7 = svm_get_dr7(v);

	s->rip = rip;
	s->rflags = rflags;
	s->dr7 = dr7;
	svm_segment_read(&save->cs, &s->cs); /* svm_get_segment's, inline */
	svm_paging_regs(save, rflags, regs);
}

/*
 * The VMCB's DR7 is the guest's.  The CPU's own DR7 gets the value too: VMRUN replaces it with
 * the VMCB's and #VMEXIT clears its enables, so on hardware this changes nothing, but an
 * emulator that arms breakpoints only on a MOV to DR7 (QEMU 7.2 TCG: its VMRUN copies DR7
 * without arming them) then has them armed for the guest.
 */
static void svm_set_dr7(struct vcpu *v, uint64_t dr7)
{
	vmcb_of(v)->save.dr7 = dr7;
	write_dr7(dr7);
}

static uint64_t svm_get_dr6(struct vcpu *v)
{
	return vmcb_of(v)->save.dr6;
}

static void svm_set_dr6(struct vcpu *v, uint64_t dr6)
{
	vmcb_of(v)->save.dr6 = dr6;
}

static void svm_set_mov_dr_intercept(struct vcpu *v, bool on)
{
	vmcb_of(v)->control.intercept_dr = on ? SVM_DR_INTERCEPT_ALL : 0;
}

static uint64_t svm_get_cr2(struct vcpu *v)
{
	return vmcb_of(v)->save.cr2;
}

static void svm_set_exception_intercept(struct vcpu *v, unsigned vector, bool on)
{
	struct vmcb_control *c = &vmcb_of(v)->control;
	struct svm_db_hold *h = &to_svm(v)->db_hold;

	/* A held #DB's step has them all (svm_db_hold.h): the word it gives back changes. */
	uint32_t word = h->armed ? h->exceptions : c->intercept_exceptions;

	word = on ? word | (1u << vector) : word & ~(1u << vector);
	if (h->armed)
		h->exceptions = word;
	else
		c->intercept_exceptions = word;
	/* QEMU's TCG reports INT3 as the INTn intercept, never as the #BP one: #BP means both. */
	if (vector == VEC_BP && on)
		c->intercept_misc1 |= MISC1_INTN;
	else if (vector == VEC_BP)
		c->intercept_misc1 &= ~MISC1_INTN;
}

/*
 * #BP or INTn intercepted (while the GDB stub has INT3s planted), RIP at the instruction: an
 * INT3 of gdb's stops the guest; anything else is delivered as the software interrupt it is
 * (RIP after it, the gate's DPL checked as the instruction would), whatever NRIP says.
 */
static enum exit_next exit_int_insn(struct svm_vcpu *sv)
{
	struct vmcb *vmcb = sv->vmcb;
	unsigned vector, len;

	if (vcpu_exit_int_insn(&sv->vcpu, &vector, &len) || !len)
		return EXIT_NEXT_RETRY;
	/* No single-step trap: the software interrupt's delivery clears TF first. */
	advance_rip_no_tf(vmcb, vmcb->save.rip + len);
	vmcb->control.event_inj = EVENTINJ_VALID | EVENTINJ_TYPE_SOFT_INT | vector;
	return EXIT_NEXT_RETRY;
}

/*
 * A #DB queued by single_step_trap is the same trap: DR6 gets both causes, one delivery.  No
 * other event can be queued here: the one caller, the MMIO slow path, calls after an
 * instruction it completed, for which it queues nothing else (a fault goes out instead of the
 * trap).  Were one queued, EVENTINJ holds a single event: the trap is dropped, with a line.
 */
static void svm_data_bp_trap(struct vcpu *v, uint64_t b_bits, bool after_next)
{
	struct svm_vcpu *sv = to_svm(v);
	struct vmcb *vmcb = vmcb_of(v);
	uint64_t db = EVENTINJ_VALID | EVENTINJ_TYPE_EXCEPTION | VEC_DB;

	/* After MOV SS: held over the next instruction (svm_db_hold.h), unless a debugger owns
	 * the single step or #DB, or that instruction cannot be stepped unseen; then at once. */
	if (after_next && !sv->debug_step && !debug_stepping() &&
	    !(vmcb->control.intercept_exceptions & (1u << VEC_DB)) &&
	    !(vmcb->control.event_inj & EVENTINJ_VALID) && mmio_data_bp_next_steppable(v)) {
		svm_db_hold_arm(&sv->db_hold, vmcb, b_bits);
		return;
	}

	if ((vmcb->control.event_inj & EVENTINJ_VALID) && vmcb->control.event_inj != db) {
		static bool told;

		if (!told) {
			told = true;
			pr_warn("mhv: SVM: a data breakpoint's #DB (DR6 bits 0x%lx) dropped: event "
				"0x%lx already queued for the entry\n",
				b_bits, vmcb->control.event_inj);
		}
		return;
	}
	vmcb->save.dr6 |= b_bits;
	vmcb->control.event_inj = db;
}

/* The debugger's single step: TF with #DB intercepted (SVM has no monitor trap flag). */
static bool svm_single_step(struct vcpu *v, bool on)
{
	struct svm_vcpu *sv = to_svm(v);
	struct vmcb *vmcb = sv->vmcb;

	if (on == sv->debug_step)
		return true;
	if (on) {
		static bool told;

		if (!told) {
			told = true;
			pr_info("mhv: SVM: single-step by RFLAGS.TF (no monitor trap flag)\n");
		}
		/* The debugger takes the step from a held #DB (svm_db_hold.h): that #DB comes
		 * at once, as when the debugger owned the step first; its TF and intercepts back
		 * before they are saved here. */
		if (unlikely(sv->db_hold.armed))
			svm_db_hold_release(&sv->db_hold, vmcb, false);
		sv->guest_tf = vmcb->save.rflags & RFLAGS_TF;
		sv->db_intercepted = vmcb->control.intercept_exceptions & (1u << VEC_DB);
		vmcb->save.rflags |= RFLAGS_TF;
		vmcb->control.intercept_exceptions |= 1u << VEC_DB;
	} else {
		vmcb->save.rflags = (vmcb->save.rflags & ~RFLAGS_TF) | sv->guest_tf;
		if (!sv->db_intercepted)
			vmcb->control.intercept_exceptions &= ~(1u << VEC_DB);
	}
	sv->debug_step = on;
	return true;
}

static void svm_debug_state(struct vcpu *v, struct vcpu_debug_state *d)
{
	const struct vmcb *vmcb = vmcb_of(v);

	/* DR0-DR3 are not in the VMCB: the guest's values stay in the registers under mhv. */
	asm volatile("mov %%dr0, %0" : "=r"(d->dr[0]));
	asm volatile("mov %%dr1, %0" : "=r"(d->dr[1]));
	asm volatile("mov %%dr2, %0" : "=r"(d->dr[2]));
	asm volatile("mov %%dr3, %0" : "=r"(d->dr[3]));
	d->dr6 = vmcb->save.dr6;
	d->dr7 = vmcb->save.dr7;
	d->event_valid = vmcb->control.event_inj & EVENTINJ_VALID;
	d->event_vector = (uint8_t)vmcb->control.event_inj;
	d->event_type = (uint8_t)((vmcb->control.event_inj >> EVENTINJ_TYPE_SHIFT) & EVENTINJ_TYPE_BITS);
	d->interrupt_shadow = vmcb->control.interrupt_shadow & INTERRUPT_SHADOW_ACTIVE;
	d->nmi_known = false; /* not visible without vNMI */
}

static void svm_flush_nested(struct vcpu *v)
{
	vmcb_of(v)->control.tlb_control = TLB_CONTROL_FLUSH_ALL; /* at the next VMRUN */
}

static const struct vcpu_ops svm_ops = {
	.name = "svm",
	.get_rip = svm_get_rip,
	.set_rip = svm_set_rip,
	.get_rflags = svm_get_rflags,
	.set_rflags = svm_set_rflags,
	.set_rip_rflags = svm_set_rip_rflags,
	.get_rsp = svm_get_rsp,
	.set_rsp = svm_set_rsp,
	.get_cr = svm_get_cr,
	.set_cr = svm_set_cr,
	.get_efer = svm_get_efer,
	.set_efer = svm_set_efer,
	.get_cpl = svm_get_cpl,
	.get_paging = svm_get_paging,
	.get_insn_state = svm_get_insn_state,
	.inject_exception = svm_inject_exception,
	.get_segment = svm_get_segment,
	.cs_key = svm_cs_key,
	.segment_flat = svm_segment_flat,
	.get_sysseg = svm_get_sysseg,
	.set_dtr = svm_set_dtr,
	.set_sysseg = svm_set_sysseg,
	.set_segment = svm_set_segment,
	.set_mov_ss_shadow = svm_set_mov_ss_shadow,
	.set_cr2 = svm_set_cr2,
	.flush_tlb = svm_flush_tlb,
	.dump = svm_dump,
	.sipi_reset = svm_sipi_reset,
	.set_flush_exits = svm_set_flush_exits,
	.get_dr7 = svm_get_dr7,
	.set_dr7 = svm_set_dr7,
	.get_dr6 = svm_get_dr6,
	.set_dr6 = svm_set_dr6,
	.set_mov_dr_intercept = svm_set_mov_dr_intercept,
	.get_cr2 = svm_get_cr2,
	.set_exception_intercept = svm_set_exception_intercept,
	.single_step = svm_single_step,
	.data_bp_trap = svm_data_bp_trap,
	.debug_state = svm_debug_state,
	.flush_nested = svm_flush_nested,
};

/* ---- set-up ---- */

static uint8_t *alloc_map(unsigned pages, uint64_t *pa)
{
	*pa = hv_alloc_pages(pages);
	if (*pa == FRAME_NONE) {
		pr_err("mhv: SVM: FATAL: out of memory for the VMCB and permission maps\n");
		hv_end_run(HV_STATUS_FAIL);
	}
	return phys_to_virt(*pa);
}

static void bitmap_set(uint8_t *map, uint32_t bit)
{
	map[bit / 8] |= (uint8_t)(1u << (bit % 8));
}

static void bitmap_clear(uint8_t *map, uint32_t bit)
{
	map[bit / 8] &= (uint8_t)~(1u << (bit % 8));
}

/*
 * MSRPM: 2 bits (read, write) per MSR, three 8K-MSR ranges of 2 KiB each.  Every MSR exits
 * but the pass-through ones (msr_policy.h); MSRs outside the ranges always exit.
 */
static void setup_msrpm(uint8_t *msrpm)
{
	static const uint32_t range_base[] = {0x00000000, 0xC0000000, 0xC0010000};

	memset(msrpm, 0xFF, SVM_MSRPM_PAGES * PAGE_SIZE);
	for (unsigned i = 0; i < nr_msr_passthrough; i++) {
		const struct msr_range *m = &msr_passthrough[i];
		for (uint32_t msr = m->first; msr <= m->last; msr++) {
			for (unsigned r = 0; r < ARRAY_SIZE(range_base); r++) {
				uint32_t idx = msr - range_base[r];
				uint32_t bit;

				if (msr < range_base[r] || idx >= MSRPM_RANGE_SPAN)
					continue;
				bit = (r * MSRPM_BYTES_PER_RANGE * 8) + idx * 2;
				if (m->read)
					bitmap_clear(msrpm, bit);
				if (m->write)
					bitmap_clear(msrpm, bit + 1);
			}
		}
	}
}

/* What every vCPU shares (read-only once built): nested tables and permission maps. */
struct svm_shared {
	uint64_t npt_root, iopm_pa, msrpm_pa;
};

static void setup_maps(struct svm_shared *sh)
{
	uint8_t *iopm = alloc_map(SVM_IOPM_PAGES, &sh->iopm_pa);
	uint8_t *msrpm = alloc_map(SVM_MSRPM_PAGES, &sh->msrpm_pa);

	for (uint16_t p = 0; vuart_base() && p < VUART_NR_PORTS; p++)
		bitmap_set(iopm, vuart_base() + p);
	for (uint16_t p = 0; gdbstub_armed && p < GDBSTUB_NR_PORTS; p++)
		bitmap_set(iopm, gdbstub_uart + p); /* the debugger's UART */
	uint16_t plat[PLATFORM_PORTS_MAX];
	for (unsigned i = 0, n = platform_ports_list(plat, PLATFORM_PORTS_MAX); i < n; i++)
		bitmap_set(iopm, plat[i]);
	setup_msrpm(msrpm);
	/* RDTSCP, INVPCID and XSAVES need no enable under SVM; user wait/pause is Intel's. */
	cpuid_guest_init(CPUID_CTL_RDTSCP | CPUID_CTL_INVPCID | CPUID_CTL_XSAVES, ~0ull);
}

static void setup_control(struct svm_vcpu *sv, const struct svm_shared *sh)
{
	struct vmcb_control *c = &sv->vmcb->control;

	/* mhv owns every CR0/CR4 write; reads come straight from the VMCB. */
	c->intercept_cr = CR_WRITE_INTERCEPT(0) | CR_WRITE_INTERCEPT(4);
	/* #UD: VMCALL (Intel's hypercall) faults on AMD; mhv accepts it too. */
	c->intercept_exceptions = 1u << VEC_UD;
	c->intercept_misc1 = MISC1_CPUID | MISC1_INVD | MISC1_HLT | MISC1_INVLPGA | MISC1_IOIO |
			     MISC1_MSR | MISC1_SHUTDOWN | MISC1_INIT;
	c->intercept_misc2 = MISC2_VMRUN | MISC2_VMMCALL | MISC2_VMLOAD | MISC2_VMSAVE |
			     MISC2_STGI | MISC2_CLGI | MISC2_SKINIT | MISC2_XSETBV;
	if (cpuid_count(7, 0).ebx & CPUID_7_EBX_INVPCID)
		sv->invpcid_intercept = MISC3_INVPCID;
	/* The MMIO cache must see every CR3 load: MOV to CR3 and INVLPG/INVPCID while it holds
	 * something (svm_set_flush_exits), and task switches, which mhv does not emulate
	 * (refused with #GP while the cache is on). */
	if (sv->vcpu.mmio_cache_on)
		c->intercept_misc1 |= MISC1_TASK_SWITCH;
	/* SMP: mhv reaches a vCPU that runs the guest with an NMI (smp.h). */
	if (smp_ap_count() || debug_break_armed())
		c->intercept_misc1 |= MISC1_NMI; /* ... and the console's break-in (debug_stop.h) */
	c->iopm_base_pa = sh->iopm_pa;
	c->msrpm_base_pa = sh->msrpm_pa;
	c->asid = GUEST_ASID;
	c->tlb_control = TLB_CONTROL_FLUSH_ALL; /* nothing stale from before mhv */
	c->np_enable = NP_ENABLE;
	c->n_cr3 = sh->npt_root;
	c->clean_bits = 0; /* mhv edits the VMCB freely: the CPU reloads all of it */
}

static void set_seg(struct vmcb_seg *s, uint16_t sel, uint16_t attrib, uint32_t limit)
{
	*s = (struct vmcb_seg){.selector = sel, .attrib = attrib, .limit = limit, .base = 0};
}

/* The multiboot machine state: 32-bit protected mode, flat segments, paging off. */
static void setup_guest_state(struct svm_vcpu *sv, const struct guest_start *gs)
{
	struct vmcb_save *s = &sv->vmcb->save;

	set_seg(&s->cs, 0x08, SVM_ATTR_CODE32_FLAT, 0xFFFFFFFF);
	set_seg(&s->ds, 0x10, SVM_ATTR_DATA32_FLAT, 0xFFFFFFFF);
	set_seg(&s->es, 0x10, SVM_ATTR_DATA32_FLAT, 0xFFFFFFFF);
	set_seg(&s->ss, 0x10, SVM_ATTR_DATA32_FLAT, 0xFFFFFFFF);
	set_seg(&s->fs, 0x10, SVM_ATTR_DATA32_FLAT, 0xFFFFFFFF);
	set_seg(&s->gs, 0x10, SVM_ATTR_DATA32_FLAT, 0xFFFFFFFF);
	set_seg(&s->ldtr, 0, SVM_ATTR_LDT, 0);
	set_seg(&s->tr, 0, SVM_ATTR_TSS32_BUSY, 0xFF);
	set_seg(&s->gdtr, 0, 0, 0);
	set_seg(&s->idtr, 0, 0, 0);
	s->cpl = 0;
	s->efer = EFER_SVME;
	s->cr0 = CR0_PE | CR0_ET;
	s->cr3 = 0;
	s->cr4 = 0;
	s->dr6 = DR6_INIT;
	s->dr7 = DR7_INIT;
	s->rflags = 0x2;
	s->rip = gs->entry;
	s->rsp = 0;
	s->rax = gs->eax;
	s->g_pat = PAT_POWER_ON;
	sv->vcpu.gpr[GPR_RAX] = gs->eax;
	sv->vcpu.gpr[GPR_RBX] = gs->ebx;
	sv->vcpu.gpr[GPR_RSI] = gs->esi;
}

static uint64_t build_npt(void)
{
	struct pt_format fmt = pt_format_x86;

	fmt.has_1g = cpuid(CPUID_EXT_FEATURES).edx & CPUID_EXT_EDX_1G;
	fmt.va_canonical = false; /* guest-physical addresses, not linear ones */
	/* NPT walks are user accesses: every level needs U/S.  PCD|PWT selects UC in the
	 * power-on PAT for everything that is not RAM. */
	return guest_nested_tables_build(&fmt, PTE_P | PTE_RW | PTE_US,
				   PTE_P | PTE_RW | PTE_US | PTE_PCD | PTE_PWT);
}

/* ---- exits ---- */

/* Without NRIP save and without the known encoding at RIP: the decoder gives the length. */
static void __attribute__((noinline)) skip_decoded_slow(struct svm_vcpu *sv)
{
	int err = 0;
	const struct x86_insn *insn = vcpu_decode_current(&sv->vcpu, &err);

	if (err == -E_FAULT)
		return; /* the code page went away: its #PF is queued */
	if (!insn) {
		/* The exit was handled but its length is unknown: the guest cannot resume after
		 * it, so it gets the fault an unreadable instruction would raise. */
		vcpu_refuse_insn(&sv->vcpu, "SVM: cannot decode the instruction that exited",
				 sv->vmcb->control.exit_code);
		return;
	}
	advance_rip(sv->vmcb, sv->vmcb->save.rip + insn->len);
}

/* Without NRIP save, the length of the instruction that exited comes from its known
 * encoding at RIP (k: one of SVM_INSN_*; one compare through the code translation), else
 * from mhv's decoder. */
static inline __attribute__((always_inline)) void skip_known(struct svm_vcpu *sv, uint32_t k_word,
							     uint32_t k_mask, unsigned k_len)
{
	uint64_t rip;

	if (likely(svm_known_next_rip(&sv->vcpu, sv->vmcb, k_word, k_mask, k_len, &rip)))
		set_rip_past(sv->vmcb, rip);
	else
		skip_decoded_slow(sv);
}

/* RIP past the instruction that exited, by NRIP or by mhv's decoder. */
static inline __attribute__((always_inline)) void skip_exited(struct svm_vcpu *sv)
{
	if (likely(sv->nrips))
		advance_rip(sv->vmcb, sv->vmcb->control.next_rip);
	else
		skip_decoded_slow(sv);
}

/* After an exit core handler: a completed instruction (next == EXIT_NEXT_SKIP) is stepped
 * over, by NRIP or by its known encoding k; the exit is then done (EXIT_NEXT_RETRY). */
static inline __attribute__((always_inline)) enum exit_next
skip_insn(struct svm_vcpu *sv, enum exit_next next, uint32_t k_word, uint32_t k_mask,
	  unsigned k_len)
{
	if (next != EXIT_NEXT_SKIP)
		return next;
	if (likely(sv->nrips))
		advance_rip(sv->vmcb, sv->vmcb->control.next_rip);
	else
		skip_known(sv, k_word, k_mask, k_len);
	return EXIT_NEXT_RETRY;
}

/* LMSW m16: the source word, through the guest's segmentation-free linear view. */
static bool lmsw_operand(struct vcpu *v, const struct x86_insn *insn, uint16_t *val)
{
	if (insn->mod == 3) {
		*val = (uint16_t)vcpu_gpr(v, insn->rm);
		return true;
	}
	return vcpu_linear_rw(v, vcpu_insn_mem_linear(v, insn), val, sizeof(*val), false,
			      insn->mode != X86_MODE_64);
}

static enum exit_next exit_cr_write(struct svm_vcpu *sv, unsigned cr)
{
	struct vcpu *v = &sv->vcpu;
	struct vmcb *vmcb = sv->vmcb;
	enum cr_access_type type = CR_MOV_TO;
	enum gpr reg = GPR_RAX;
	uint16_t lmsw = 0;
	unsigned len = 0;
	enum exit_next next;

	if (sv->decode_assists && (vmcb->control.exit_info1 & CRX_DECODE_VALID)) {
		reg = (enum gpr)(vmcb->control.exit_info1 & CRX_GPR_MASK);
	} else {
		int err = 0;
		const struct x86_insn *insn = vcpu_decode_current(v, &err);

		if (err == -E_FAULT)
			return EXIT_NEXT_RETRY;
		if (!insn || insn->map != X86_MAP_0F)
			goto unknown;
		len = insn->len;
		if (insn->opcode == OPCODE_MOV_TO_CR) {
			reg = (enum gpr)insn->rm;
		} else if (insn->opcode == OPCODE_CLTS) {
			type = CR_CLTS;
		} else if (insn->opcode == OPCODE_GROUP7 && (insn->reg & 7) == GROUP7_LMSW) {
			type = CR_LMSW;
			if (!lmsw_operand(v, insn, &lmsw))
				return EXIT_NEXT_RETRY; /* its #PF/#GP is queued */
		} else {
			goto unknown;
		}
	}
	if (reg == GPR_RSP)
		v->gpr[GPR_RSP] = vmcb->save.rsp;
	next = vcpu_exit_cr(v, type, cr, reg, lmsw);
	/* Skip by the length decoded before the write: the write may have changed the mode
	 * (CR0.PE/PG, long mode) the bytes would be decoded in now. */
	if (next == EXIT_NEXT_SKIP && len && !sv->nrips) {
		advance_rip(vmcb, vmcb->save.rip + len);
		return EXIT_NEXT_RETRY;
	}
	return next;
unknown:
	vcpu_refuse_insn(v, "SVM: CR write intercept at an instruction mhv cannot decode",
			 vmcb->control.exit_code);
	return EXIT_NEXT_RETRY;
}

/*
 * Without NRIP save, a flush exit skips by the length decoded before the flush: decoding
 * again afterwards would refill the code translation the flush just dropped, and so re-arm
 * the flush exits it just disarmed (core/flush_exits.h).
 */
static inline enum exit_next skip_by(struct svm_vcpu *sv, unsigned len, enum exit_next next)
{
	if (next == EXIT_NEXT_SKIP && len && !sv->nrips) {
		advance_rip(sv->vmcb, sv->vmcb->save.rip + len);
		return EXIT_NEXT_RETRY;
	}
	return next;
}

/* MOV to/from DRn (intercepted while a debugger holds the debug registers): the GPR from the
 * decode assists, else from mhv's decoder (0F 21 / 0F 23 /r: reg is the DR, rm the GPR). */
static enum exit_next exit_mov_dr(struct svm_vcpu *sv, uint64_t code)
{
	bool to_dr = code >= SVM_EXIT_DR0_WRITE;
	unsigned dr = (unsigned)(code - (to_dr ? SVM_EXIT_DR0_WRITE : SVM_EXIT_DR0_READ));
	uint64_t info = sv->vmcb->control.exit_info1;

	if (!sv->decode_assists || !(info & CRX_DECODE_VALID)) {
		int err = 0;
		const struct x86_insn *insn = vcpu_decode_current(&sv->vcpu, &err);

		if (!insn) {
			if (err != -E_FAULT)
				vcpu_refuse_insn(&sv->vcpu, "SVM: MOV DR intercept at bytes mhv cannot "
							    "decode", code);
			return EXIT_NEXT_RETRY;
		}
		return vcpu_exit_mov_dr(&sv->vcpu, dr, to_dr, insn->rm);
	}
	return vcpu_exit_mov_dr(&sv->vcpu, dr, to_dr, (unsigned)(info & CRX_GPR_MASK));
}

static enum exit_next exit_invlpg(struct svm_vcpu *sv)
{
	const struct x86_insn *insn;
	int err = 0;

	if (sv->decode_assists)
		return vcpu_exit_invlpg(&sv->vcpu, sv->vmcb->control.exit_info1);
	insn = vcpu_decode_current(&sv->vcpu, &err);
	if (!insn) {
		if (err != -E_FAULT) /* else the fetch's #PF is queued */
			vcpu_refuse_insn(&sv->vcpu, "SVM: INVLPG intercept at bytes mhv cannot decode",
					 sv->vmcb->control.exit_code);
		return EXIT_NEXT_RETRY;
	}
	return skip_by(sv, insn->len,
		       vcpu_exit_invlpg(&sv->vcpu, vcpu_insn_mem_linear(&sv->vcpu, insn)));
}

/* INVPCID: as INVLPG, the length is decoded before the flush. */
static enum exit_next exit_invpcid(struct svm_vcpu *sv)
{
	const struct x86_insn *insn = NULL;
	int err = 0;

	if (!sv->nrips) {
		insn = vcpu_decode_current(&sv->vcpu, &err);
		if (err == -E_FAULT)
			return EXIT_NEXT_RETRY; /* the fetch's #PF is queued */
	}
	return skip_by(sv, insn ? insn->len : 0, vcpu_exit_invpcid(&sv->vcpu));
}

static enum exit_next __attribute__((noinline)) exit_io(struct svm_vcpu *sv)
{
	uint64_t info = sv->vmcb->control.exit_info1;
	struct io_exit io = {
		.port = (uint16_t)(info >> IOIO_PORT_SHIFT),
		.size = (uint8_t)((info & IOIO_SIZE_MASK) >> IOIO_SIZE_SHIFT), /* one-hot: 1/2/4 */
		.in = info & IOIO_IN,
		.string = info & IOIO_STR,
		.rep = info & IOIO_REP,
	};

	/* EXITINFO2 holds the next RIP for IOIO exits, with or without NRIP save. */
	if (vcpu_exit_io(&sv->vcpu, &io) == EXIT_NEXT_SKIP)
		advance_rip(sv->vmcb, sv->vmcb->control.exit_info2);
	return EXIT_NEXT_RETRY;
}

static void wait_for_sipi(struct svm_vcpu *sv);

/*
 * An intercepted NMI is not consumed by the #VMEXIT: it stays pending until GIF is set (AMD
 * APM 15.21; QEMU and Bochs do the same), and with GIF clear in mhv the next VMRUN would exit
 * for it again.  Take it here, in mhv's handler (mhv's IDT is loaded), leaving the per-CPU
 * "NMI arrived" flag as it was: this NMI is the one being handled.
 */
static void take_intercepted_nmi(struct vcpu *v)
{
	bool before = nmi_pending[v->cpu];

	asm volatile("stgi\n\tclgi" ::: "memory");
	nmi_pending[v->cpu] = before;
}

/* A nested page fault the MMIO short path did not take. */
static void __attribute__((noinline)) exit_npf_slow(struct svm_vcpu *sv)
{
	struct vcpu *v = &sv->vcpu;
	struct vmcb *vmcb = sv->vmcb;

	svm_use_host_state(sv);
	/* An event's delivery touched a device page or memory outside RAM.  Software interrupts
	 * would need their length (none given without NRIPS): 0. */
	if (vmcb->control.exit_int_info & EXITINTINFO_VALID) {
		vcpu_exit_delivery_fault(v, (uint32_t)vmcb->control.exit_int_info,
					 (uint32_t)(vmcb->control.exit_int_info >> 32), 0,
					 vmcb->control.exit_info2);
		return;
	}
	/* A repeated general instruction on a device (core/mmio_short.h). */
	if (unlikely(mmio_general_keyed(&v->mmio_short, vmcb->control.exit_info2)) &&
	    mmio_general_at(&v->mmio_short, vmcb->save.rip) &&
	    (vmcb->control.exit_info1 & (NPF_FINAL_GPA | NPF_FETCH)) == NPF_FINAL_GPA &&
	    vcpu_mmio_general_exit(v, vmcb->save.rip, vmcb->control.exit_info2, 0, false,
				   vmcb->control.exit_info1 & NPF_WRITE))
		return;
	vcpu_exit_npf(v, vmcb->control.exit_info2, 0, false, vmcb->control.exit_info1 & NPF_WRITE,
		      vmcb->control.exit_info1 & NPF_FETCH,
		      vmcb->control.exit_info1 & NPF_FINAL_GPA);
}

/*
 * A nested page fault: a repeated device access is the MMIO short path's (core/mmio_short.h),
 * done on this fast side like CPUID, with none of the state VMSAVE moves; anything else, or a
 * miss, goes the slow way.  Inlined into svm_handle_exit, which keeps the vCPU in a register
 * already: a hit pays no call or frame of its own (the other exits' code is unchanged).
 */
static inline __attribute__((always_inline)) void exit_npf(struct svm_vcpu *sv)
{
	struct vmcb *vmcb = sv->vmcb;
	uint64_t info = vmcb->control.exit_info1;
	struct vcpu_exec_state x;

	if (!(info & NPF_FINAL_GPA)) {
		exit_npf_slow(sv);
		return;
	}
	/* Two bit tests, not a compare against two 64-bit constants (the empty asm keeps the
	 * compiler from merging them back). */
	asm("" : "+r"(info));
	if ((info & NPF_FETCH) || (vmcb->control.exit_int_info & EXITINTINFO_VALID) ||
	    unlikely(data_bp_armed(vmcb->save.dr7))) { /* the slow path checks breakpoints */
		exit_npf_slow(sv);
		return;
	}
	svm_get_exec_state(&sv->vcpu, &x);
	if (!mmio_short_exit(&sv->vcpu, vmcb->control.exit_info2, info & NPF_WRITE, &x)) {
		exit_npf_slow(sv);
		return;
	}
	/* Wrapped at fill; the short path refuses RFLAGS.TF.  sv->vmcb read again: only sv
	 * stays in a register across the device call. */
	set_rip_past_no_tf(sv->vmcb, sv->vcpu.mmio_short.next_rip);
}

/*
 * An exit while a held #DB's instruction is stepped (svm_db_hold.h): the CPU's single-step
 * trap ends the step after it; an exception of it (all are intercepted meanwhile), or an NMI
 * or INIT first, ends it before.  True: the exit is done.  Other exits go on: one that
 * completes the instruction ends the step in single_step_trap, one that faults it in
 * svm_inject_exception, and the rest (an interrupt, say) leave it armed.
 */
static bool db_hold_exit(struct svm_vcpu *sv, uint64_t code)
{
	struct vmcb *vmcb = sv->vmcb;

	if (code == SVM_EXIT_EXCP_BASE + VEC_DB) {
		svm_db_hold_release(&sv->db_hold, vmcb, vmcb->save.dr6 & DR6_BS);
		return true;
	}
	/* An exception, or the guest's interrupt (intercepted meanwhile; it stays pending and
	 * comes after the #DB's delivery, as the guest's IF lets it). */
	if ((code >= SVM_EXIT_EXCP_BASE && code < SVM_EXIT_EXCP_BASE + SVM_EXCEPTION_VECTORS) ||
	    code == SVM_EXIT_INTR) {
		svm_db_hold_release(&sv->db_hold, vmcb, false);
		return true;
	}
	if (code == SVM_EXIT_NMI || code == SVM_EXIT_INIT)
		svm_db_hold_release(&sv->db_hold, vmcb, false);
	return false;
}

static enum exit_next __attribute__((noinline)) exit_other(struct svm_vcpu *sv, uint64_t code)
{
	struct vcpu *v = &sv->vcpu;
	struct vmcb *vmcb = sv->vmcb;

	svm_use_host_state(sv);
	if (unlikely(sv->db_hold.armed) && db_hold_exit(sv, code))
		return EXIT_NEXT_RETRY;
	switch (code) {
	case SVM_EXIT_CR0_WRITE:
		return exit_cr_write(sv, 0);
	case SVM_EXIT_CR3_WRITE:
		return exit_cr_write(sv, 3);
	case SVM_EXIT_CR4_WRITE:
		return exit_cr_write(sv, 4);
	case SVM_EXIT_INVLPG:
		return exit_invlpg(sv);
	case SVM_EXIT_DR0_READ ... SVM_EXIT_DR0_READ + SVM_NR_DRS - 1:
	case SVM_EXIT_DR0_WRITE ... SVM_EXIT_DR0_WRITE + SVM_NR_DRS - 1:
		return exit_mov_dr(sv, code);
	case SVM_EXIT_INVPCID:
		return exit_invpcid(sv);
	case SVM_EXIT_XSETBV:
		return vcpu_exit_xsetbv(v);
	case SVM_EXIT_INVD:
		v->exits[EXIT_KIND_OTHER]++;
		asm volatile("wbinvd" ::: "memory"); /* INVD would drop mhv's dirty lines too */
		return EXIT_NEXT_SKIP;
	case SVM_EXIT_EXCP_BASE + VEC_UD:
		vcpu_exit_ud(v);
		return EXIT_NEXT_RETRY;
	case SVM_EXIT_EXCP_BASE + VEC_BP:
	case SVM_EXIT_SWINT:
		return exit_int_insn(sv);
	case SVM_EXIT_EXCP_BASE + VEC_DB:
		/* Intercepted only for the debugger; the CPU has already updated DR6 in the VMCB.
		 * The guest's own #DB goes to the guest as it was. */
		if (sv->debug_step && !sv->guest_tf) { /* the monitor's step (core/debug_stop.h) */
			vmcb->save.dr6 &= ~DR6_BS; /* the guest never sees the debugger's step */
			debug_stop_step_trap(v);
			take_intercepted_nmi(v); /* the console's NMIs while the session ran */
		} else if (!vcpu_exit_db(v, vmcb->save.dr6))
			vmcb->control.event_inj = EVENTINJ_VALID | EVENTINJ_TYPE_EXCEPTION | VEC_DB;
		else
			vmcb->save.dr6 &= ~(DR6_B_MASK | DR6_BS);
		return EXIT_NEXT_RETRY;
	case SVM_EXIT_VMRUN:
	case SVM_EXIT_VMLOAD:
	case SVM_EXIT_VMSAVE:
	case SVM_EXIT_STGI:
	case SVM_EXIT_CLGI:
	case SVM_EXIT_SKINIT:
	case SVM_EXIT_INVLPGA:
		/* SVM is hidden: these are #UD, as with EFER.SVME clear. */
		vcpu_exit_hidden_insn(v);
		return EXIT_NEXT_RETRY;
	case SVM_EXIT_TASK_SWITCH:
		/* Intercepted because mmio_cache=on must see its CR3 load. */
		vcpu_exit_task_switch(v, (uint16_t)vmcb->control.exit_info1);
		return EXIT_NEXT_RETRY;
	case SVM_EXIT_SHUTDOWN:
		vcpu_exit_triple_fault(v);
		return EXIT_NEXT_RETRY;
	case SVM_EXIT_INIT:
		apic_guard_init_signal(v);
		return EXIT_NEXT_RETRY;
	case SVM_EXIT_NMI:
		take_intercepted_nmi(v);
		switch (smp_nmi_exit(v)) {
		case SMP_NMI_GUEST: /* another vCPU's NMI IPI, or the platform's */
			if (debug_stop_nmi(v)) {
				/* The console's line, mhv's break-in (debug_stop.h).  Reading the
				 * UART while its line was high may have raised it again (QEMU's IOAPIC
				 * fires on every raise): that NMI is this one too. */
				take_intercepted_nmi(v);
				break;
			}
			if (vmcb->control.event_inj & EVENTINJ_VALID)
				smp_nmi_to_self(); /* after the queued #DB: an NMI exit again */
			else
				vmcb->control.event_inj = EVENTINJ_VALID | EVENTINJ_TYPE_NMI | VEC_NMI;
			break;
		case SMP_NMI_INIT:
			wait_for_sipi(sv);
			break;
		case SMP_NMI_KICK:
			break;
		}
		return EXIT_NEXT_RETRY;
	case SVM_EXIT_INVALID:
		pr_err("mhv: SVM: VMRUN failed: the VMCB holds an invalid guest state\n");
		v->ops->dump(v);
		vcpu_end_run(v, HV_STATUS_FAIL, NULL);
		return EXIT_NEXT_RETRY;
	default:
		vcpu_exit_unknown(v, "SVM exit code", code);
		return EXIT_NEXT_RETRY;
	}
}

/*
 * HLT with interrupts off, other vCPUs still running: wait in mhv for an NMI or INIT, with GIF
 * set so that NMIs reach mhv's handler.
 */
static enum exit_next __attribute__((noinline)) halted_no_irq(struct svm_vcpu *sv)
{
	enum smp_halt_wake wake;

	asm volatile("stgi" ::: "memory");
	wake = smp_halt_wait(&sv->vcpu);
	asm volatile("clgi" ::: "memory");
	if (wake == SMP_HALT_NMI) {
		sv->vmcb->control.event_inj = EVENTINJ_VALID | EVENTINJ_TYPE_NMI | VEC_NMI;
		return EXIT_NEXT_SKIP; /* delivered after the HLT, as the CPU would */
	}
	wait_for_sipi(sv);
	return EXIT_NEXT_RETRY;
}

/* A break-in, a step that ended, gdb's Ctrl-C: the debug session runs here (debug_stop.h). */
static void __attribute__((noinline)) debug_stop(struct svm_vcpu *sv)
{
	svm_use_host_state(sv);
	debug_stop_tail_slow(&sv->vcpu);
	take_intercepted_nmi(&sv->vcpu); /* the console's NMIs while a session ran */
}

/* gdb=: the debugger looks at the line (and may change RAX while the guest is stopped). */
static void __attribute__((noinline)) debugger_poll(struct svm_vcpu *sv)
{
	gdbstub_poll(&sv->vcpu);
	if (debug_stop_wanted)
		debug_stop(sv);
	sv->vmcb->save.rax = sv->vcpu.gpr[GPR_RAX];
}

/* The exit's tail with a debugger about: a break-in or a step stops on the next
 * instruction, then gdb= looks at its line. */
static void __attribute__((noinline)) exit_tail_debug(struct svm_vcpu *sv)
{
	if (debug_stop_wanted)
		debug_stop(sv);
	sv->vmcb->save.rax = sv->vcpu.gpr[GPR_RAX];
	if (gdbstub_armed)
		debugger_poll(sv);
}

/*
 * HLT with interrupts on.  SVM has no HLT activity state, and a guest resumed after its HLT
 * at once runs its idle loop into the next HLT exit: an idle vCPU would spin through exits
 * (1.5 M of them for Linux's idle AP on Bochs).  mhv halts for it instead, with GIF set,
 * until the guest's next interrupt, which it injects after the HLT as the CPU would take it
 * (arch/x86/irq_wait.h), or an NMI: the guest's (injected), or mhv's kick (INIT, run end).
 */
static enum exit_next __attribute__((noinline)) halted_irq(struct svm_vcpu *sv)
{
	struct vmcb *vmcb = sv->vmcb;

	(void)skip_insn(sv, EXIT_NEXT_SKIP, SVM_INSN_HLT);
	if (vmcb->control.event_inj & EVENTINJ_VALID)
		return EXIT_NEXT_RETRY; /* a single-step trap on the HLT comes first */
	for (;;) {
		int got;

		asm volatile("stgi" ::: "memory");
		got = irq_wait_for_interrupt();
		asm volatile("clgi" ::: "memory");
		if (got != IRQ_WAIT_NMI) {
			vmcb->control.event_inj = EVENTINJ_VALID | EVENTINJ_TYPE_INTR | (uint8_t)got;
			if (nmi_pending[sv->vcpu.cpu]) {
				/* An NMI came too (a kick must not be lost): the injection holds the
				 * interrupt, so the NMI returns as an NMI exit after the entry. */
				nmi_pending[sv->vcpu.cpu] = false;
				smp_nmi_to_self();
			}
			return EXIT_NEXT_RETRY;
		}
		nmi_pending[sv->vcpu.cpu] = false;
		switch (smp_nmi_exit(&sv->vcpu)) {
		case SMP_NMI_GUEST:
			/* The console's line (a break-in, or input for the guest's UART model):
			 * back to the guest, which the exit tail may stop first (debug_stop.h). */
			if (debug_stop_nmi(&sv->vcpu))
				return EXIT_NEXT_RETRY;
			vmcb->control.event_inj = EVENTINJ_VALID | EVENTINJ_TYPE_NMI | VEC_NMI;
			return EXIT_NEXT_RETRY;
		case SMP_NMI_INIT:
			svm_use_host_state(sv); /* the guest's MSRs VMLOAD moves, into the VMCB */
			wait_for_sipi(sv);
			return EXIT_NEXT_RETRY;
		case SMP_NMI_KICK:
			/* A debugger stops the guest: wait parked (its registers shown, RIP after
			 * the HLT as a halted CPU's), then halt on. */
			if (unlikely(debug_stop_wanted))
				debug_stop(sv);
			break; /* nothing else for this vCPU: it keeps waiting */
		}
	}
}

/*
 * MOV to CR3 (armed while a translation cache holds something, core/flush_exits.h), with none
 * of the state VMSAVE moves: with decode assists and NRIP save, the register from EXITINFO1
 * (bit 63: a MOV CRn, bits 3:0 its GPR; APM 15.8.1) and the next RIP from the VMCB; without
 * decode assists, both from the bytes at RIP (svm_known_mov_cr3), with no decode; else the
 * general CR-write path.  The exit core's MOV to CR3 inline (core/exit_cr3.h), with this
 * vCPU's ops (svm_ops, vcpu_init) as a constant: its backend calls are direct and inline.
 */
static void __attribute__((noinline)) __no_frame_pointer exit_cr3_write(struct svm_vcpu *sv)
{
	struct vcpu *v = &sv->vcpu;
	uint64_t next_rip;
	unsigned gpr;

	if (unlikely(sv->decode_assists)) {
		uint64_t info = sv->vmcb->control.exit_info1;

		if (sv->cr3_assisted && (info & CRX_DECODE_VALID)) {
			gpr = (unsigned)(info & CRX_GPR_MASK);
			if (gpr == GPR_RSP)
				v->gpr[GPR_RSP] = sv->vmcb->save.rsp;
			/* NRIP stays in the VMCB across the flush: read after it. */
			if (vcpu_exit_mov_to_cr3_inline(v, &svm_ops, (enum gpr)gpr) == EXIT_NEXT_SKIP)
				advance_rip(sv->vmcb, sv->vmcb->control.next_rip);
			return;
		}
	}
	if (sv->decode_assists || !svm_known_mov_cr3(v, sv->vmcb, &gpr, &next_rip)) {
		if (exit_other(sv, SVM_EXIT_CR3_WRITE) == EXIT_NEXT_SKIP)
			skip_exited(sv);
		return;
	}
	if (gpr == GPR_RSP)
		v->gpr[GPR_RSP] = sv->vmcb->save.rsp;
	/* The next RIP is found before the write: the flush drops the code translation the
	 * bytes were read through. */
	sv->cr3_next_rip = next_rip;
	if (vcpu_exit_mov_to_cr3_inline(v, &svm_ops, (enum gpr)gpr) == EXIT_NEXT_SKIP)
		set_rip_past(sv->vmcb, sv->cr3_next_rip);
}

/*
 * The hot path: translate, call the exit core, advance RIP.  IOIO exits carry the next RIP
 * in EXITINFO2 even without NRIP save.
 */
void svm_handle_exit(struct vcpu *v);

void __no_frame_pointer svm_handle_exit(struct vcpu *v)
{
	struct svm_vcpu *sv = to_svm(v);
	struct vmcb *vmcb = sv->vmcb; /* before the handlers only: after them, sv->vmcb is read
				       * again, so no register is saved in the frame for it */
	uint64_t code = vmcb->control.exit_code;
	enum exit_next next;
	bool debugger;

	v->gpr[GPR_RAX] = vmcb->save.rax;
	vmcb->control.tlb_control = TLB_CONTROL_NONE;
	/* The exits with one encoding step over it in their case (skip_insn, with the
	 * encoding's constants); the others below. */
	switch (code) {
	case SVM_EXIT_CPUID:
		next = skip_insn(sv, vcpu_exit_cpuid(v), SVM_INSN_CPUID);
		break;
	case SVM_EXIT_VMMCALL:
		next = skip_insn(sv, vcpu_exit_hypercall_at(v, vmcb->save.cpl), SVM_INSN_VMMCALL);
		break;
	case SVM_EXIT_MSR:
		if (vmcb->control.exit_info1 == MSR_EXIT_WRITE)
			next = skip_insn(sv, vcpu_exit_wrmsr(v), SVM_INSN_WRMSR);
		else
			next = skip_insn(sv, vcpu_exit_rdmsr(v), SVM_INSN_RDMSR);
		break;
	case SVM_EXIT_IOIO:
		next = exit_io(sv);
		break;
	case SVM_EXIT_HLT:
		next = vcpu_exit_hlt(v);
		if (next == EXIT_NEXT_HALTED)
			next = skip_insn(sv, halted_no_irq(sv), SVM_INSN_HLT);
		else if (next == EXIT_NEXT_SKIP)
			next = halted_irq(sv);
		break;
	default:
		/* Tested here, not with the cases: the jump table's exits pay no compare for it
		 * (the empty asm keeps the compiler from folding it back into the switch). */
		asm("" : "+r"(code));
		if (code == SVM_EXIT_NPF) {
			exit_npf(sv); /* the MMIO short path's exit: first; done, RIP included */
			next = EXIT_NEXT_RETRY;
		} else if (code == SVM_EXIT_CR3_WRITE) {
			exit_cr3_write(sv); /* done, its RIP included */
			next = EXIT_NEXT_RETRY;
		} else {
			next = exit_other(sv, code);
		}
		break;
	}
	if (next == EXIT_NEXT_SKIP)
		skip_exited(sv);
	/* One test for both debugger flags (a break-in or step pending; gdb= armed): an exit
	 * without a debugger pays two loads, an OR and a branch (the empty asm keeps the
	 * compiler from splitting it into two branches). */
	debugger = debug_stop_wanted | gdbstub_armed;
	asm("" : "+r"(debugger));
	if (unlikely(debugger)) {
		exit_tail_debug(sv); /* a tail call: see core/gdbstub.h */
		return;
	}
	sv->vmcb->save.rax = v->gpr[GPR_RAX];
}

/*
 * SVM has no wait-for-SIPI state: mhv holds the vCPU, with GIF set so that an NMI meanwhile
 * reaches mhv's handler and is dropped (as the state would), instead of waiting for the guest.
 */
static void wait_for_sipi(struct svm_vcpu *sv)
{
	uint8_t vector;

	asm volatile("stgi" ::: "memory");
	vector = smp_wait_for_sipi(&sv->vcpu);
	asm volatile("clgi" ::: "memory");
	svm_sipi_reset(&sv->vcpu, vector);
}

/* One vCPU's VMCB, host save areas and counters (on the boot CPU: the pool is not shared). */
static void prepare_vcpu(struct svm_vcpu *sv, unsigned cpu, const struct virt_caps *caps,
			 const struct guest_start *gs, const struct svm_shared *sh)
{
	vcpu_init(&sv->vcpu, &svm_ops, gs);
	smp_set_vcpu(cpu, &sv->vcpu);
	sv->nrips = caps->svm.nrips;
	/* Without NRIP save every intercepted instruction's length comes from its bytes: the
	 * known-encoding compare needs the code translation, with the MMIO cache on or off. */
	if (!sv->nrips)
		sv->vcpu.code_tlb_on = true;
	sv->decode_assists = caps->svm.decode_assists;
	sv->cr3_assisted = sv->decode_assists && sv->nrips;
	sv->flush_by_asid = caps->svm.flush_by_asid;
	sv->guest_tlb_flush = sv->flush_by_asid ? TLB_CONTROL_FLUSH_ASID : TLB_CONTROL_FLUSH_ALL;
	sv->guest_state_saved = true;
	alloc_map(1, &sv->hsave_pa);
	sv->vmcb = (struct vmcb *)alloc_map(1, &sv->vmcb_pa);
	alloc_map(1, &sv->host_save_pa);
	setup_control(sv, sh);
}

/* This CPU in SVM host mode, with mhv's FS/GS/TR/LDTR and syscall MSRs saved for exits. */
static void enable_svm(const struct svm_vcpu *sv)
{
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);
	wrmsr(MSR_VM_HSAVE_PA, sv->hsave_pa);
	asm volatile("vmsave %%rax" ::"a"(sv->host_save_pa) : "memory");
}

/* An AP (smp.c): SVM on, then held until the guest's STARTUP IPI. */
static void __noreturn svm_ap_main(unsigned cpu)
{
	struct svm_vcpu *sv = &svm_vcpus[cpu];

	enable_svm(sv);
	wait_for_sipi(sv);
	svm_run_loop(&sv->vcpu, sv->vmcb_pa, &sv->guest_state_saved);
}

static void svm_run_guest(const struct virt_caps *caps, const struct guest_start *gs)
{
	struct svm_vcpu *sv = &svm_vcpus[0];
	struct svm_shared sh;
	unsigned aps = smp_ap_count(), online;

	if (!svm_check_caps(caps))
		return;
	sh.npt_root = build_npt();
	if (sh.npt_root == FRAME_NONE)
		return;
	setup_maps(&sh);
	for (unsigned cpu = 0; cpu <= aps; cpu++)
		prepare_vcpu(&svm_vcpus[cpu], cpu, caps, gs, &sh);
	enable_svm(sv);
	setup_guest_state(sv, gs);
	online = smp_start_aps(svm_ap_main, aps);
	if (debug_break_armed())
		debug_stop_route_nmi();
	pr_info("mhv: SVM: launching the guest at 0x%x (ASID %u, NRIPS %s, decode assists %s, "
		"flush-by-ASID %s)\n",
		gs->entry, GUEST_ASID, sv->nrips ? "on" : "off", sv->decode_assists ? "on" : "off",
		sv->flush_by_asid ? "on" : "off");
	if (aps)
		pr_info("mhv: smp: %u vCPU(s): the boot CPU runs the guest, %u AP(s) under mhv "
			"wait for the guest's INIT-SIPI-SIPI\n",
			1 + online, online);
	log_flush();
	gdbstub_start(&sv->vcpu); /* gdb=...,wait: stopped before the first instruction */
	sv->vmcb->save.rax = sv->vcpu.gpr[GPR_RAX];
	svm_run_loop(&sv->vcpu, sv->vmcb_pa, &sv->guest_state_saved);
}

const struct virt_backend svm_backend = {
	.name = "SVM",
	.run_guest = svm_run_guest,
};
