/*
 * VT-x backend: VMX bring-up, the VMCS, and the translation of VMCS state to and from the
 * vendor-neutral exit core (core/vcpu.h).  Every control comes from the capability MSRs
 * (the TRUE_* ones when VMX_BASIC says they exist); optional features are used only when
 * offered, and a missing required one is reported by name.
 */
#include "arch/x86/vmx/vmx.h"
#include "arch/x86/cpu.h"
#include "arch/x86/debugreg.h"
#include "arch/x86/desc.h"
#include "arch/x86/exception.h"
#include "arch/x86/msr.h"
#include "arch/x86/paging.h"
#include "arch/x86/percpu.h"
#include "arch/x86/smp.h"
#include "arch/x86/virt_caps.h"
#include "arch/x86/vmx/vmcs.h"
#include "arch/x86/vmx/vmx_defs.h"
#include "arch/x86/vmx/vmx_hygiene.h"
#include "core/apic_guard.h"
#include "core/cpuid_guest.h"
#include "core/gdb_swbp.h"
#include "core/gdbstub.h"
#include "core/debug_stop.h"
#include "core/exit_cr3.h"
#include "core/guest.h"
#include "core/guest_event.h"
#include "core/mmio_short_hit.h"
#include "core/msr_policy.h"
#include "core/platform_ports.h"
#include "core/run_end.h"
#include "core/seg_flat.h"
#include "core/vcpu.h"
#include "core/vuart.h"
#include "lib/io_bitmap.h"
#include "lib/log.h"
#include "lib/string.h"
#include "mm/frame.h"
#include "mm/guest_mem.h"
#include "mm/pagetable.h"
#include "mmio/data_bp.h"

#define VMX_REVISION_MASK   0x7FFFFFFFu
#define MSR_IA32_PAT	    0x00000277
#define MSR_FS_BASE	    0xC0000100
#define MSR_GS_BASE	    0xC0000101
#define MSR_BITMAP_HIGH	    0xC0000000u
#define MSR_BITMAP_SPAN	    0x2000u
#define MSR_BITMAP_READ_LO  0x000
#define MSR_BITMAP_READ_HI  0x400
#define MSR_BITMAP_WRITE_LO 0x800
#define MSR_BITMAP_WRITE_HI 0xC00
#define GUEST_FLAT_CS	    0x08 /* the multiboot state: flat 32-bit segments */
#define GUEST_FLAT_DS	    0x10
#define FLAT_LIMIT	    0xFFFFFFFFu
#define GUEST_VPID	    1
#define PAE_PDPT_MASK	    0xFFFFFFE0ull /* CR3[31:5] in PAE paging */
#define PAE_NR_PDPTES	    4
#define EXIT_STACK_SIZE	    16384
#define REAL_MODE_LIMIT	    0xFFFFu
#define AR_CODE16_RESET	    0x009B /* present, read/execute, accessed */
#define AR_DATA16_RESET	    0x0093 /* present, read/write, accessed */
#define AR_LDT_RESET	    0x0082

struct vmx_vcpu {
	struct vcpu vcpu; /* first: the exit stub saves GPRs into vcpu.gpr */
	uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
	uint32_t entry_ctls;
	bool vpid, invvpid_addr, invvpid_single;
	bool hlt_activity; /* IA32_VMX_MISC: the guest may wait in the HLT activity state */
	uint32_t proc_ctls;	/* primary processor-based controls, as in the VMCS */
	bool mov_dr_exiting; /* the processor-based controls allow MOV-DR exiting */
	uint64_t vmxon_pa, vmcs_pa; /* allocated by the boot CPU for every vCPU */
	/* The break-in (core/debug_stop.h): the preemption timer's period (0: no timer), and
	 * whether each exit saves the remaining count (else each entry restarts it). */
	uint32_t poll_timer;
	bool poll_timer_saved;
	bool mtf;	 /* the debugger's step uses the monitor trap flag (else TF + #DB) */
	bool debug_step; /* the debugger's single step is armed */
	uint64_t guest_tf;
	bool db_intercepted; /* #DB was intercepted before the TF step (the GDB stub's) */
	bool guest_nmi; /* an NMI for the guest, injected as soon as it can take one */
};

/*
 * The break-in's poll period in TSC ticks: about 4 ms at 1 GHz, a few hundred thousand
 * instructions on Bochs (one tick per instruction), so the console answers at once while the
 * timer's exits stay rare.
 */
#define POLL_TSC_TICKS (1u << 22)

/* What every vCPU shares (read-only once built by the boot CPU). */
struct vmx_shared {
	uint64_t io_bitmap_a, io_bitmap_b, msr_bitmap, eptp;
};

/* One per CPU: the boot CPU's is vCPU 0, AP n's is vCPU n. */
static struct vmx_vcpu vmx_vcpus[HV_MAX_CPUS];
static struct vmx_shared vmx_shared;
static const struct virt_caps *vmx_caps;
/* The boot CPU's exit stack; an AP's is the stack it was released on (smp.c). */
static uint8_t exit_stack[EXIT_STACK_SIZE] __aligned(16);

BUILD_BUG_ON(offsetof(struct vcpu, exit_stack_top) != 8 * NR_GPRS); /* vmx_entry.S */

/* vmx_entry.S */
void vmx_exit_stub(void);
void __noreturn vmx_launch(struct vcpu *v);

static struct vmx_vcpu *to_vmx(struct vcpu *v)
{
	return (struct vmx_vcpu *)v;
}

static void __noreturn vmx_fatal(const char *fmt, uint64_t a, uint64_t b)
{
	pr_err("mhv: VMX: FATAL: ");
	log_printf(LOG_ERR, fmt, a, b);
	pr_err("\n");
	hv_end_run(HV_STATUS_FAIL);
}

void vmcs_write_failed(uint64_t field, uint64_t value)
{
	uint64_t err = __vmread(VMCS_VM_INSN_ERROR);

	pr_err("mhv: VMX: VMWRITE of field 0x%lx = 0x%lx failed, VM-instruction error %lu\n", field,
	       value, err);
	hv_end_run(HV_STATUS_FAIL);
}

/*
 * Combine wanted control bits with what the CPU allows: the low half of the capability MSR
 * holds bits that must be 1, the high half bits that may be 1.  Missing required bits are
 * reported; missing optional ones are dropped.
 */
static uint32_t adjust_controls(const char *name, uint32_t msr, uint32_t required,
				uint32_t optional)
{
	uint64_t cap = rdmsr(msr);
	uint32_t must = (uint32_t)cap, may = (uint32_t)(cap >> 32);

	if (required & ~may) {
		pr_err("mhv: VMX: FATAL: this CPU cannot set required %s controls 0x%x "
		       "(capability MSR 0x%x = 0x%lx)\n",
		       name, required & ~may, msr, cap);
		hv_end_run(HV_STATUS_FAIL);
	}
	return (required | (optional & may) | must) & may;
}

static bool vmx_check_caps(const struct virt_caps *caps)
{
	const struct vmx_caps *c = &caps->vmx;
	const char *missing = NULL;

	if (!caps->usable)
		missing = caps->why_unusable;
	else if (!c->secondary || !c->ept)
		missing = "EPT (extended page tables)";
	else if (!c->unrestricted_guest)
		missing = "unrestricted guest (needed to start guests with paging off)";
	else if (!c->ept_4level || !c->ept_wb)
		missing = "4-level write-back EPT";
	if (missing) {
		pr_err("mhv: VMX: cannot run a guest: this CPU lacks %s\n", missing);
		return false;
	}
	return true;
}

static void enable_vmx_operation(struct vmx_vcpu *vx, const struct virt_caps *caps)
{
	uint64_t fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
	uint64_t vmxon_pa = vx->vmxon_pa;
	uint32_t revision = (uint32_t)caps->vmx.basic & VMX_REVISION_MASK;
	bool fail;

	/* Unlocked: firmware left the choice to us. Locked without VMX was caught earlier. */
	if (!(fc & FEATURE_CONTROL_LOCK))
		wrmsr(MSR_IA32_FEATURE_CONTROL,
		      fc | FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMX_OUTSIDE);

	vx->cr0_fixed0 = rdmsr(MSR_IA32_VMX_CR0_FIXED0);
	vx->cr0_fixed1 = rdmsr(MSR_IA32_VMX_CR0_FIXED1);
	vx->cr4_fixed0 = rdmsr(MSR_IA32_VMX_CR4_FIXED0);
	vx->cr4_fixed1 = rdmsr(MSR_IA32_VMX_CR4_FIXED1);
	write_cr0((read_cr0() | vx->cr0_fixed0) & vx->cr0_fixed1);
	write_cr4((read_cr4() | vx->cr4_fixed0) & vx->cr4_fixed1);

	if (vmxon_pa == FRAME_NONE)
		vmx_fatal("out of memory for the VMXON region", 0, 0);
	*(uint32_t *)phys_to_virt(vmxon_pa) = revision;
	asm volatile("vmxon %[pa]" : "=@ccbe"(fail) : [pa] "m"(vmxon_pa) : "memory");
	if (fail)
		vmx_fatal("VMXON failed (region 0x%lx)", vmxon_pa, 0);
}

static void load_vmcs(const struct vmx_vcpu *vx, const struct virt_caps *caps)
{
	uint64_t pa = vx->vmcs_pa;
	bool fail;

	if (pa == FRAME_NONE)
		vmx_fatal("out of memory for the VMCS", 0, 0);
	*(uint32_t *)phys_to_virt(pa) = (uint32_t)caps->vmx.basic & VMX_REVISION_MASK;
	asm volatile("vmclear %[pa]" : "=@ccbe"(fail) : [pa] "m"(pa) : "memory");
	if (!fail)
		asm volatile("vmptrld %[pa]" : "=@ccbe"(fail) : [pa] "m"(pa) : "memory");
	if (fail)
		vmx_fatal("VMCLEAR/VMPTRLD of the VMCS at 0x%lx failed", pa, 0);
}

static uint8_t *alloc_zeroed(uint64_t *pa)
{
	*pa = hv_alloc_page();
	if (*pa == FRAME_NONE)
		vmx_fatal("out of memory for VMX bitmaps", 0, 0);
	return phys_to_virt(*pa);
}

static void bitmap_clear(uint8_t *map, uint32_t bit)
{
	map[bit / 8] &= (uint8_t)~(1u << (bit % 8));
}

static void build_bitmaps(struct vmx_shared *sh)
{
	uint8_t *io_a = alloc_zeroed(&sh->io_bitmap_a);
	uint8_t *io_b = alloc_zeroed(&sh->io_bitmap_b);
	uint8_t *msr_bitmap = alloc_zeroed(&sh->msr_bitmap);
	uint16_t plat[PLATFORM_PORTS_MAX];

	/* A PCIe or serial-over-LAN console UART often sits at 0x8000 or above: bitmap B. */
	uint8_t *const io_pages[IO_BITMAP_NR_PAGES] = {io_a, io_b};
	if (vuart_base() && !io_bitmap_set_range(io_pages, vuart_base(), VUART_NR_PORTS))
		vmx_fatal("console UART at 0x%lx runs past port 0xFFFF", vuart_base(), 0);
	for (unsigned i = 0, n = platform_ports_list(plat, PLATFORM_PORTS_MAX); i < n; i++)
		io_bitmap_set_range(io_pages, plat[i], 1); /* a uint16_t is always a port */
	if (gdbstub_armed) /* the debugger's UART: options.c keeps it within 0xFFF8 */
		io_bitmap_set_range(io_pages, gdbstub_uart, GDBSTUB_NR_PORTS);

	/* Every MSR exits but the pass-through ones (msr_policy.h). */
	memset(msr_bitmap, 0xFF, PAGE_SIZE);
	for (unsigned i = 0; i < nr_msr_passthrough; i++) {
		const struct msr_range *m = &msr_passthrough[i];
		for (uint32_t msr = m->first; msr <= m->last; msr++) {
			uint32_t rd, wr, idx;
			if (msr < MSR_BITMAP_SPAN) {
				rd = MSR_BITMAP_READ_LO, wr = MSR_BITMAP_WRITE_LO, idx = msr;
			} else if (msr - MSR_BITMAP_HIGH < MSR_BITMAP_SPAN) {
				rd = MSR_BITMAP_READ_HI, wr = MSR_BITMAP_WRITE_HI;
				idx = msr - MSR_BITMAP_HIGH;
			} else {
				continue; /* outside the bitmap: always exits */
			}
			if (m->read)
				bitmap_clear(msr_bitmap + rd, idx);
			if (m->write)
				bitmap_clear(msr_bitmap + wr, idx);
		}
	}
}

static void use_shared(const struct vmx_shared *sh)
{
	vmwrite64(VMCS_IO_BITMAP_A, sh->io_bitmap_a);
	vmwrite64(VMCS_IO_BITMAP_B, sh->io_bitmap_b);
	vmwrite64(VMCS_MSR_BITMAP, sh->msr_bitmap);
	vmwrite64(VMCS_EPT_POINTER, sh->eptp);
}

/*
 * The guest-TLB-flush exits (core/flush_exits.h): MOV to CR3, and INVLPG (INVPCID exits with
 * it while "enable INVPCID" is set).  Off at the start, on while mhv's translation caches hold
 * something; a CPU whose capability MSR forces one of them keeps them on for good.
 */
#define PROC_FLUSH_EXITS (PROC_CR3_LOAD_EXITING | PROC_INVLPG_EXITING)

/* Primary processor-based controls switched at run time (flush exits, MOV-DR exiting, the
 * monitor trap flag): one copy in vx->proc_ctls, so no switch undoes another. */
static void set_proc_controls(struct vmx_vcpu *vx, uint32_t bits, bool on)
{
	vx->proc_ctls = on ? vx->proc_ctls | bits : vx->proc_ctls & ~bits;
	vmwrite32(VMCS_PROC_CONTROLS, vx->proc_ctls);
}

/* INVLPG exiting covers INVPCID too (with "enable INVPCID" set). */
static void vmx_set_flush_exits(struct vcpu *v, unsigned mask)
{
	struct vmx_vcpu *vx = to_vmx(v);

	vx->proc_ctls &= ~PROC_FLUSH_EXITS;
	if (mask & FLUSH_EXIT_CR3)
		vx->proc_ctls |= PROC_CR3_LOAD_EXITING;
	if (mask & FLUSH_EXIT_INVLPG)
		vx->proc_ctls |= PROC_INVLPG_EXITING;
	vmwrite32(VMCS_PROC_CONTROLS, vx->proc_ctls);
}

static void setup_flush_exits(struct vmx_vcpu *vx, uint32_t proc_msr)
{
	struct vcpu *v = &vx->vcpu;

	if (!v->mmio_cache_on)
		return; /* nothing to flush: whatever the CPU forces on is served anyway */
	(void)adjust_controls("processor-based (flush exits)", proc_msr,
			      vx->proc_ctls | PROC_FLUSH_EXITS, 0); /* ends the run if it cannot */
	if (vx->proc_ctls & PROC_FLUSH_EXITS) {
		v->flush_exits_fixed = true;
		v->flush_exits_armed = FLUSH_EXITS_ALL;
		vx->proc_ctls |= PROC_FLUSH_EXITS;
	}
}

static void setup_controls(struct vmx_vcpu *vx, const struct virt_caps *caps)
{
	bool t = caps->vmx.true_ctls;
	uint32_t proc_msr = t ? MSR_IA32_VMX_TRUE_PROCBASED : MSR_IA32_VMX_PROCBASED_CTLS;
	uint32_t proc2_opt = PROC2_RDTSCP | PROC2_INVPCID | PROC2_XSAVES;

	if (caps->vmx.vpid && vmx_vpid_flushable(caps->vmx.ept_vpid_cap))
		proc2_opt |= PROC2_VPID;
	uint32_t proc_may = rdmsr(proc_msr) >> 32;
	vx->mov_dr_exiting = proc_may & PROC_MOV_DR_EXITING;
	/* SMP: mhv reaches a vCPU that runs the guest with an NMI (smp.h).  The break-in polls
	 * the console on the preemption timer where the CPU has it, else takes the console's
	 * IOAPIC pin as an NMI (core/debug_stop.h). */
	uint32_t pin = adjust_controls("pin-based",
				       t ? MSR_IA32_VMX_TRUE_PINBASED : MSR_IA32_VMX_PINBASED_CTLS,
				       smp_ap_count() ? PIN_NMI_EXITING : 0,
				       debug_break_armed() ? PIN_PREEMPT_TIMER : 0);
	if (debug_break_armed() && !(pin & PIN_PREEMPT_TIMER))
		pin = adjust_controls("pin-based",
				      t ? MSR_IA32_VMX_TRUE_PINBASED : MSR_IA32_VMX_PINBASED_CTLS,
				      PIN_NMI_EXITING, 0);
	vmwrite32(VMCS_PIN_CONTROLS, pin);
	if (pin & PIN_PREEMPT_TIMER) {
		unsigned rate = rdmsr(MSR_IA32_VMX_MISC) & VMX_MISC_TIMER_RATE;

		vx->poll_timer = POLL_TSC_TICKS >> rate;
		vmwrite32(VMCS_PREEMPT_TIMER, vx->poll_timer);
	}
	vx->mtf = caps->vmx.mtf;
	vx->proc_ctls = adjust_controls("processor-based", proc_msr,
					PROC_HLT_EXITING | PROC_USE_IO_BITMAPS |
						PROC_USE_MSR_BITMAPS | PROC_SECONDARY,
					0);
	setup_flush_exits(vx, proc_msr);
	vmwrite32(VMCS_PROC_CONTROLS, vx->proc_ctls);
	uint32_t proc2 = adjust_controls("secondary", MSR_IA32_VMX_PROCBASED_CTLS2,
					 PROC2_EPT | PROC2_UNRESTRICTED, proc2_opt);
	vmwrite32(VMCS_PROC_CONTROLS2, proc2);
	vx->vpid = proc2 & PROC2_VPID;
	vmwrite32(VMCS_EXIT_CONTROLS,
		  adjust_controls("VM-exit", t ? MSR_IA32_VMX_TRUE_EXIT : MSR_IA32_VMX_EXIT_CTLS,
				  EXIT_HOST_ADDR_SPACE | EXIT_SAVE_EFER | EXIT_LOAD_EFER |
					  EXIT_SAVE_PAT | EXIT_LOAD_PAT | EXIT_SAVE_DEBUG,
				  vx->poll_timer ? EXIT_SAVE_PREEMPT_TIMER : 0));
	vx->poll_timer_saved = vmread32(VMCS_EXIT_CONTROLS) & EXIT_SAVE_PREEMPT_TIMER;
	vx->entry_ctls =
		adjust_controls("VM-entry", t ? MSR_IA32_VMX_TRUE_ENTRY : MSR_IA32_VMX_ENTRY_CTLS,
				ENTRY_LOAD_EFER | ENTRY_LOAD_PAT | ENTRY_LOAD_DEBUG, 0);
	vmwrite32(VMCS_ENTRY_CONTROLS, vx->entry_ctls);

	/* #UD only: VMMCALL (AMD's hypercall) faults on Intel; mhv accepts it too. */
	vmwrite32(VMCS_EXCEPTION_BITMAP, 1u << VEC_UD);
	vmwrite32(VMCS_CR3_TARGET_COUNT, 0);
	/* mhv owns every CR0/CR4 bit: all writes exit, reads come from the shadows. */
	vmwrite_nat(VMCS_CR0_MASK, ~0ull);
	vmwrite_nat(VMCS_CR4_MASK, ~0ull);
	if (vx->vpid)
		vmwrite16(VMCS_VPID, GUEST_VPID);
	vx->hlt_activity = rdmsr(MSR_IA32_VMX_MISC) & VMX_MISC_ACTIVITY_HLT;
	vx->invvpid_addr = caps->vmx.ept_vpid_cap & VPID_CAP_INVVPID_ADDR;
	vx->invvpid_single = caps->vmx.ept_vpid_cap & VPID_CAP_INVVPID_SINGLE;
	vmwrite64(VMCS_LINK_POINTER, VMCS_LINK_NONE);
	vmx_write_idle_fields(proc2);
	/* CPUID shows only what these controls make work (lib/cpuid_policy.h).  One table for
	 * every vCPU, built on the boot CPU: an AP sets up its VMCS while the guest runs and
	 * reads that table (the capability MSRs, and so the controls, are the same on all). */
	if (!vx->vcpu.cpu)
		cpuid_guest_init(((proc2 & PROC2_RDTSCP) ? CPUID_CTL_RDTSCP : 0) |
					 ((proc2 & PROC2_INVPCID) ? CPUID_CTL_INVPCID : 0) |
					 ((proc2 & PROC2_XSAVES) ? CPUID_CTL_XSAVES : 0),
				 vx->cr4_fixed1);
}

struct desc_ptr64 {
	uint16_t limit;
	uint64_t base;
} __packed;

static void setup_host_state(struct vmx_vcpu *vx)
{
	struct desc_ptr64 gdtr, idtr;

	asm volatile("sgdt %0" : "=m"(gdtr));
	asm volatile("sidt %0" : "=m"(idtr));
	vmwrite_nat(VMCS_HOST_CR0, read_cr0());
	vmwrite_nat(VMCS_HOST_CR3, read_cr3());
	vmwrite_nat(VMCS_HOST_CR4, read_cr4());
	vmwrite16(VMCS_HOST_CS_SEL, HV_CS);
	vmwrite16(VMCS_HOST_SS_SEL, HV_DS);
	vmwrite16(VMCS_HOST_DS_SEL, HV_DS);
	vmwrite16(VMCS_HOST_ES_SEL, HV_DS);
	vmwrite16(VMCS_HOST_FS_SEL, 0);
	vmwrite16(VMCS_HOST_GS_SEL, 0);
	vmwrite16(VMCS_HOST_TR_SEL, HV_TSS);
	vmwrite_nat(VMCS_HOST_FS_BASE, rdmsr(MSR_FS_BASE));
	vmwrite_nat(VMCS_HOST_GS_BASE, rdmsr(MSR_GS_BASE));
	vmwrite_nat(VMCS_HOST_TR_BASE, desc_tss_base());
	vmwrite_nat(VMCS_HOST_GDTR_BASE, gdtr.base);
	vmwrite_nat(VMCS_HOST_IDTR_BASE, idtr.base);
	vmwrite32(VMCS_HOST_SYSENTER_CS, 0);
	vmwrite_nat(VMCS_HOST_SYSENTER_ESP, 0);
	vmwrite_nat(VMCS_HOST_SYSENTER_EIP, 0);
	vmwrite64(VMCS_HOST_EFER, rdmsr(MSR_EFER));
	vmwrite64(VMCS_HOST_PAT, rdmsr(MSR_IA32_PAT));
	/* The exit stub pushes the guest's GPRs straight into vcpu.gpr[], top down. */
	vmwrite_nat(VMCS_HOST_RSP, (uint64_t)&vx->vcpu.gpr[NR_GPRS]);
	vmwrite_nat(VMCS_HOST_RIP, (uint64_t)vmx_exit_stub);
}

/* The guest segment registers in x86_seg order (ES, CS, SS, DS, FS, GS). */
static const struct {
	enum vmcs_field16 sel;
	enum vmcs_field_nat base;
	enum vmcs_field32 limit, ar;
} guest_segs[] = {
	{VMCS_GUEST_ES_SEL, VMCS_GUEST_ES_BASE, VMCS_GUEST_ES_LIMIT, VMCS_GUEST_ES_AR},
	{VMCS_GUEST_CS_SEL, VMCS_GUEST_CS_BASE, VMCS_GUEST_CS_LIMIT, VMCS_GUEST_CS_AR},
	{VMCS_GUEST_SS_SEL, VMCS_GUEST_SS_BASE, VMCS_GUEST_SS_LIMIT, VMCS_GUEST_SS_AR},
	{VMCS_GUEST_DS_SEL, VMCS_GUEST_DS_BASE, VMCS_GUEST_DS_LIMIT, VMCS_GUEST_DS_AR},
	{VMCS_GUEST_FS_SEL, VMCS_GUEST_FS_BASE, VMCS_GUEST_FS_LIMIT, VMCS_GUEST_FS_AR},
	{VMCS_GUEST_GS_SEL, VMCS_GUEST_GS_BASE, VMCS_GUEST_GS_LIMIT, VMCS_GUEST_GS_AR},
};

static void set_guest_segment(enum vmcs_field16 sel, enum vmcs_field_nat base,
			      enum vmcs_field32 limit, enum vmcs_field32 ar, uint16_t s, uint32_t l,
			      uint32_t a)
{
	vmwrite16(sel, s);
	vmwrite_nat(base, 0);
	vmwrite32(limit, l);
	vmwrite32(ar, a);
}

/* The multiboot machine state: 32-bit protected mode, flat segments, paging off. */
static void setup_guest_state(struct vmx_vcpu *vx, const struct guest_start *gs)
{
	uint64_t cr0 = CR0_PE | CR0_ET;

	for (unsigned i = 0; i < ARRAY_SIZE(guest_segs); i++) {
		bool code = i == X86_SEG_CS;

		set_guest_segment(guest_segs[i].sel, guest_segs[i].base, guest_segs[i].limit,
				  guest_segs[i].ar, code ? GUEST_FLAT_CS : GUEST_FLAT_DS,
				  FLAT_LIMIT, code ? AR_CODE32_FLAT : AR_DATA32_FLAT);
	}
	set_guest_segment(VMCS_GUEST_LDTR_SEL, VMCS_GUEST_LDTR_BASE, VMCS_GUEST_LDTR_LIMIT,
			  VMCS_GUEST_LDTR_AR, 0, 0, AR_UNUSABLE);
	set_guest_segment(VMCS_GUEST_TR_SEL, VMCS_GUEST_TR_BASE, VMCS_GUEST_TR_LIMIT,
			  VMCS_GUEST_TR_AR, 0, 0xFF, AR_TSS32_BUSY);
	vmwrite_nat(VMCS_GUEST_GDTR_BASE, 0);
	vmwrite32(VMCS_GUEST_GDTR_LIMIT, 0);
	vmwrite_nat(VMCS_GUEST_IDTR_BASE, 0);
	vmwrite32(VMCS_GUEST_IDTR_LIMIT, 0);

	vmwrite_nat(VMCS_CR0_READ_SHADOW, cr0);
	vmwrite_nat(VMCS_GUEST_CR0, (cr0 | (vx->cr0_fixed0 & ~(CR0_PE | CR0_PG))) & vx->cr0_fixed1);
	vmwrite_nat(VMCS_CR4_READ_SHADOW, 0);
	vmwrite_nat(VMCS_GUEST_CR4, vx->cr4_fixed0 & vx->cr4_fixed1);
	vmwrite_nat(VMCS_GUEST_CR3, 0);
	vmwrite64(VMCS_GUEST_EFER, 0);
	vmwrite64(VMCS_GUEST_PAT, PAT_POWER_ON);
	vmwrite64(VMCS_GUEST_DEBUGCTL, 0);
	vmwrite_nat(VMCS_GUEST_DR7, DR7_INIT);
	vmwrite_nat(VMCS_GUEST_RFLAGS, 0x2);
	vmwrite_nat(VMCS_GUEST_RIP, gs->entry);
	vmwrite_nat(VMCS_GUEST_RSP, 0);
	vmwrite_nat(VMCS_GUEST_PENDING_DBG, 0);
	vmwrite32(VMCS_GUEST_INTERRUPTIBILITY, 0);
	vmwrite32(VMCS_GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_ACTIVE);
	vmwrite32(VMCS_GUEST_SYSENTER_CS, 0);
	vmwrite_nat(VMCS_GUEST_SYSENTER_ESP, 0);
	vmwrite_nat(VMCS_GUEST_SYSENTER_EIP, 0);

	vx->vcpu.gpr[GPR_RAX] = gs->eax;
	vx->vcpu.gpr[GPR_RBX] = gs->ebx;
	vx->vcpu.gpr[GPR_RSI] = gs->esi;
}

static uint64_t build_ept(const struct virt_caps *caps)
{
	struct pt_format fmt = pt_format_ept;
	uint64_t root;

	fmt.has_1g = caps->vmx.ept_1g;
	fmt.has_2m = caps->vmx.ept_2m;
	root = guest_nested_tables_build(&fmt, EPT_RWX | EPT_MT_WB, EPT_RWX | EPT_MT_UC);
	if (root == FRAME_NONE)
		vmx_fatal("cannot build EPT", 0, 0);
	/* The GDB stub's INT3 pages run at full speed, their data accesses emulated. */
	if (caps->vmx.ept_vpid_cap & EPT_CAP_EXEC_ONLY)
		guest_nested_offer_exec_only(EPT_X | EPT_MT_WB);
	return root | EPTP_WALK_4 | EPTP_MT_WB;
}

/* ---- struct vcpu_ops: guest state as the exit core sees it ---- */

static uint64_t vmx_get_rip(struct vcpu *v)
{
	(void)v;
	return vmread_nat(VMCS_GUEST_RIP);
}

/*
 * RIP moves past an instruction mhv completed for the guest.  An STI or MOV SS shadow
 * covered that instruction and ends with it: left in place it would block interrupts one
 * instruction too long, and VM entry refuses it with the HLT activity state.
 */
/* RIP past a completed instruction (rip already wrapped), its STI / MOV SS shadow over. */
static inline __attribute__((always_inline)) void set_rip_past_no_tf(uint64_t rip)
{
	uint32_t intr = vmread32(VMCS_GUEST_INTERRUPTIBILITY);

	vmwrite_nat(VMCS_GUEST_RIP, rip);
	if (unlikely(intr & (BLOCKING_BY_STI | BLOCKING_BY_MOV_SS)))
		vmwrite32(VMCS_GUEST_INTERRUPTIBILITY,
			  intr & ~(BLOCKING_BY_STI | BLOCKING_BY_MOV_SS));
}

static inline __attribute__((always_inline)) void advance_rip_no_tf(uint64_t rip)
{
	/* Past an instruction that ends at 4 GiB, EIP wraps to 0 outside 64-bit mode (VM entry
	 * refuses RIP bits 63:32 there); only such a RIP costs the extra reads. */
	if (unlikely(rip >> 32) &&
	    !((vmread64(VMCS_GUEST_EFER) & EFER_LMA) && (vmread32(VMCS_GUEST_CS_AR) & AR_L)))
		rip = (uint32_t)rip;
	set_rip_past_no_tf(rip);
}

/*
 * The completed instruction ran with RFLAGS.TF: the exit kept the CPU from raising its
 * single-step trap, so leave it pending for VM entry (which also sets DR6.BS).  With
 * DEBUGCTL.BTF, TF traps on branches only, none of which mhv completes; and VM entry refuses
 * BS with BTF in the HLT state or a shadow (SDM 27.3.1.5).
 */
static void __attribute__((noinline)) single_step_owed(void)
{
	if (!(vmread64(VMCS_GUEST_DEBUGCTL) & DEBUGCTL_BTF) && !debug_stepping())
		vmwrite_nat(VMCS_GUEST_PENDING_DBG,
			    vmread_nat(VMCS_GUEST_PENDING_DBG) | PENDING_DBG_BS);
}

/* ... and the single-step trap it owes (advance_rip_no_tf: RFLAGS.TF known clear). */
static inline __attribute__((always_inline)) void advance_rip(uint64_t rip)
{
	advance_rip_no_tf(rip);
	if (unlikely(vmread_nat(VMCS_GUEST_RFLAGS) & RFLAGS_TF))
		single_step_owed();
}

/* Pending for VM entry, like the single-step trap (advance_rip), which delivers both as one
 * #DB with DR6 updated: B0-B3 sit at the same bits of the pending debug exceptions.  After
 * MOV SS the entry's blocking by MOV SS holds them past the next instruction (after_next). */
static void vmx_data_bp_trap(struct vcpu *v, uint64_t b_bits, bool after_next)
{
	(void)v;
	(void)after_next;
	vmwrite_nat(VMCS_GUEST_PENDING_DBG,
		    vmread_nat(VMCS_GUEST_PENDING_DBG) | b_bits | PENDING_DBG_ENABLED_BP);
}

static void vmx_set_rip(struct vcpu *v, uint64_t rip)
{
	(void)v;
	advance_rip(rip);
}

static uint64_t vmx_get_rflags(struct vcpu *v)
{
	(void)v;
	return vmread_nat(VMCS_GUEST_RFLAGS);
}

static void vmx_set_rflags(struct vcpu *v, uint64_t rflags)
{
	(void)v;
	vmwrite_nat(VMCS_GUEST_RFLAGS, rflags);
}

/* vmx_set_rip's and vmx_set_rflags's bodies, inline: the trap owed is the old RFLAGS.TF's
 * (the instruction's at its start), read before the new value goes in. */
static void __no_frame_pointer vmx_set_rip_rflags(struct vcpu *v, uint64_t rip, uint64_t rflags)
{
	uint64_t old = vmread_nat(VMCS_GUEST_RFLAGS);

	(void)v;
	vmwrite_nat(VMCS_GUEST_RFLAGS, rflags);
	advance_rip_no_tf(rip);
	if (unlikely(old & RFLAGS_TF))
		single_step_owed();
}

static void vmx_set_rsp(struct vcpu *v, uint64_t rsp)
{
	(void)v;
	vmwrite_nat(VMCS_GUEST_RSP, rsp);
}

static uint64_t vmx_get_rsp(struct vcpu *v)
{
	(void)v;
	return vmread_nat(VMCS_GUEST_RSP);
}

static uint64_t vmx_get_cr(struct vcpu *v, unsigned cr)
{
	(void)v;
	switch (cr) {
	case 0:
		return vmread_nat(VMCS_CR0_READ_SHADOW);
	case 3:
		return vmread_nat(VMCS_GUEST_CR3);
	default:
		return vmread_nat(VMCS_CR4_READ_SHADOW);
	}
}

static uint64_t vmx_get_efer(struct vcpu *v)
{
	(void)v;
	return vmread64(VMCS_GUEST_EFER);
}

static void vmx_set_efer(struct vcpu *v, uint64_t efer)
{
	(void)v;
	vmwrite64(VMCS_GUEST_EFER, efer);
}

/* The four PDPTEs at CR3[31:5], through the memory gate; false if the guest's map does not
 * back them (on bare metal they would read as all ones: reserved bits, #GP). */
static bool read_pdptes(uint64_t cr3, uint64_t e[PAE_NR_PDPTES])
{
	return guest_mem_read(guest_gate(), cr3 & PAE_PDPT_MASK, e, PAE_NR_PDPTES * sizeof(e[0]),
			      0) >= 0;
}

/*
 * SDM 4.4.1: PAE paging's PDPTEs are loaded by the MOV to CRn that starts or reloads it, and a
 * present one with bits 2:1, 8:5 or MAXPHYADDR and up set is refused (#GP).  With EPT, VM
 * entry loads them from the VMCS: they are checked and read here, written after the CRs.
 */
static bool pae_pdptes_ok(const uint64_t e[PAE_NR_PDPTES])
{
	static uint64_t rsvd;

	if (!rsvd) {
		unsigned maxphyaddr = cpuid(CPUID_ADDR_SIZES).eax & CPUID_MAXPHYADDR_MASK;

		rsvd = PAE_PDPTE_RSVD_LOW | ~((1ull << maxphyaddr) - 1);
	}
	for (unsigned i = 0; i < PAE_NR_PDPTES; i++)
		if ((e[i] & PTE_P) && (e[i] & rsvd))
			return false;
	return true;
}

static void write_pdptes(const uint64_t e[PAE_NR_PDPTES])
{
	static const enum vmcs_field64 fields[] = {VMCS_GUEST_PDPTE0, VMCS_GUEST_PDPTE1,
						   VMCS_GUEST_PDPTE2, VMCS_GUEST_PDPTE3};

	for (unsigned i = 0; i < PAE_NR_PDPTES; i++)
		vmwrite64(fields[i], e[i]);
}

/* The PDPTEs of the PDPT at cr3, checked and written to the VMCS (used from the next VM
 * entry on, so before or after the CRs alike); false: the MOV to CRn is refused.  Out of
 * line: its buffer would give every CR write a frame. */
static bool __attribute__((noinline)) load_pae_pdptes(uint64_t cr3)
{
	uint64_t pdpte[PAE_NR_PDPTES];

	if (!read_pdptes(cr3, pdpte) || !pae_pdptes_ok(pdpte))
		return false; /* a PDPT outside guest RAM reads as all ones: reserved bits */
	write_pdptes(pdpte);
	return true;
}

/* vmx_set_cr's CR3 write, and every other write, out of line: the frequent one (MOV to CR3
 * with the flush exits on) without CR4.PAE loads no PDPTEs and needs no frame. */
static bool __attribute__((noinline)) vmx_set_cr_other(struct vcpu *v, unsigned cr, uint64_t val);

static bool __no_frame_pointer vmx_set_cr(struct vcpu *v, unsigned cr, uint64_t val)
{
	if (likely(cr == 3) && !(vmx_get_cr(v, 4) & CR4_PAE)) {
		vmwrite_nat(VMCS_GUEST_CR3, val);
		return true;
	}
	return vmx_set_cr_other(v, cr, val);
}

static bool __attribute__((noinline)) vmx_set_cr_other(struct vcpu *v, unsigned cr, uint64_t val)
{
	struct vmx_vcpu *vx = to_vmx(v);
	/* PAE paging outside long mode (with LME, paging on means IA-32e mode).  CR4 first:
	 * without PAE (32-bit paging) neither CR0 nor EFER is read. */
	bool pae = ((cr == 4 ? val : vmx_get_cr(v, 4)) & CR4_PAE) &&
		   ((cr == 0 ? val : vmx_get_cr(v, 0)) & CR0_PG) && !(vmx_get_efer(v) & EFER_LME);

	if (pae && !load_pae_pdptes(cr == 3 ? val : vmread_nat(VMCS_GUEST_CR3)))
		return false;
	switch (cr) {
	case 0: {
		uint64_t old = vmx_get_cr(v, 0);
		uint64_t efer = vmx_get_efer(v);

		vmwrite_nat(VMCS_CR0_READ_SHADOW, val);
		vmwrite_nat(VMCS_GUEST_CR0,
			    (val | (vx->cr0_fixed0 & ~(CR0_PE | CR0_PG))) & vx->cr0_fixed1);
		/* Paging on with EFER.LME activates long mode; the VMM must say so at entry. */
		if ((old ^ val) & CR0_PG) {
			if ((val & CR0_PG) && (efer & EFER_LME)) {
				efer |= EFER_LMA;
				vx->entry_ctls |= ENTRY_IA32E_MODE;
			} else {
				efer &= ~EFER_LMA;
				vx->entry_ctls &= ~ENTRY_IA32E_MODE;
			}
			vmx_set_efer(v, efer);
			vmwrite32(VMCS_ENTRY_CONTROLS, vx->entry_ctls);
		}
		break;
	}
	case 3:
		vmwrite_nat(VMCS_GUEST_CR3, val);
		break;
	case 4:
		vmwrite_nat(VMCS_CR4_READ_SHADOW, val);
		vmwrite_nat(VMCS_GUEST_CR4, (val | vx->cr4_fixed0) & vx->cr4_fixed1);
		break;
	}
	return true;
}

/* vmx_get_paging with the guest's RFLAGS read already (vmx_get_insn_state's). */
static inline __attribute__((always_inline)) void vmx_paging_regs(struct gw_regs *regs,
								    uint64_t rflags)
{
	/* Field by field: a compound literal is a REP STOS over the whole struct first (every
	 * instruction-decoding exit calls this). */
	regs->cr0 = vmread_nat(VMCS_CR0_READ_SHADOW);
	regs->cr3 = vmread_nat(VMCS_GUEST_CR3);
	regs->cr4 = vmread_nat(VMCS_CR4_READ_SHADOW);
	regs->efer = vmread64(VMCS_GUEST_EFER);
	regs->cpl = AR_DPL(vmread32(VMCS_GUEST_SS_AR));
	regs->rflags_ac = rflags & RFLAGS_AC;
	regs->maxphyaddr = 0;
	regs->has_pkru = false;
	regs->pkru = 0;
}

static void vmx_get_paging(struct vcpu *v, struct gw_regs *regs)
{
	(void)v;
	vmx_paging_regs(regs, vmread_nat(VMCS_GUEST_RFLAGS));
}

static unsigned vmx_get_cpl(struct vcpu *v)
{
	(void)v;
	return AR_DPL(vmread32(VMCS_GUEST_SS_AR));
}

static void vmx_inject_exception(struct vcpu *v, unsigned vector, bool has_error, uint32_t error)
{
	uint32_t info = INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | vector;

	/* Real mode (unrestricted guest, CR0.PE=0) delivers no error codes. */
	if (has_error && (vmx_get_cr(v, 0) & CR0_PE)) {
		info |= INTR_INFO_DELIVER_ERR;
		vmwrite32(VMCS_ENTRY_EXCEPTION_ERROR, error);
	}
	vmwrite32(VMCS_ENTRY_INTR_INFO, info);
}

static void invvpid(unsigned type, uint16_t vpid, uint64_t la)
{
	struct {
		uint64_t vpid, la;
	} desc = {vpid, la};

	asm volatile("invvpid %0, %q1" ::"m"(desc), "r"((uint64_t)type) : "memory", "cc");
}

/* The guest's translations are tagged with its VPID: INVVPID drops them. */
static void vmx_flush_tlb(struct vcpu *v, bool one_address, uint64_t la)
{
	struct vmx_vcpu *vx = to_vmx(v);

	if (!vx->vpid)
		return; /* without VPID every VM entry flushes guest translations */
	if (one_address && vx->invvpid_addr)
		invvpid(INVVPID_ADDR, GUEST_VPID, la);
	else
		invvpid(vx->invvpid_single ? INVVPID_SINGLE : INVVPID_ALL, GUEST_VPID, 0);
}

/* vcpu_segment_flat() on the VMCS's fields, with no selector read. */
static bool vmx_segment_flat(struct vcpu *v, unsigned seg, bool write)
{
	uint32_t want = SEG_PRESENT | (write ? SEG_TYPE_WRITABLE : 0);

	(void)v;
	if (seg >= ARRAY_SIZE(guest_segs))
		seg = 1; /* CS, as vmx_get_segment */
	return (vmread32(guest_segs[seg].ar) &
		(SEG_PRESENT | AR_UNUSABLE | SEG_TYPE_CODE | SEG_TYPE_EXPDN | want)) == want &&
	       !vmread_nat(guest_segs[seg].base) &&
	       vmread32(guest_segs[seg].limit) == SEG_FLAT_LIMIT;
}

/* Inline where called directly (vmx_get_insn_state); the ops table takes its own copy. */
static inline __attribute__((always_inline)) void
vmx_get_segment(struct vcpu *v, unsigned seg, struct vcpu_segment *s)
{
	uint32_t ar;

	(void)v;
	if (seg >= ARRAY_SIZE(guest_segs))
		seg = 1; /* CS: callers pass enum x86_seg values only */
	ar = vmread32(guest_segs[seg].ar);
	s->selector = vmread16(guest_segs[seg].sel);
	s->base = vmread_nat(guest_segs[seg].base);
	s->limit = vmread32(guest_segs[seg].limit);
	s->attr = ar;
	_Static_assert(AR_L == VCPU_SEG_L && AR_DB == VCPU_SEG_DB, "the rights are VMX's layout");
}

/* CS's access rights (with CS.L and CS.D/B), raw (vcpu_ops.cs_key):
 * the whole VMREAD result, a 32-bit field zero-extended by the CPU. */
static inline uint64_t vmx_cs_key(struct vcpu *v)
{
	(void)v;
	return __vmread(VMCS_GUEST_CS_AR);
}

/* The MMIO short path's state (core/mmio_short.h). */
static inline __attribute__((always_inline)) void vmx_get_exec_state(struct vcpu_exec_state *out)
{
	out->cs_key = vmx_cs_key(NULL);
	out->rip = vmread_nat(VMCS_GUEST_RIP);
	out->rflags = vmread_nat(VMCS_GUEST_RFLAGS);
	out->cs_base = vmread_nat(VMCS_GUEST_CS_BASE);
	out->cpl = AR_DPL(vmread32(VMCS_GUEST_SS_AR));
}


/* GDTR, IDTR, LDTR, TR in enum x86_sys_seg order (no selector or rights for the first two). */
static const struct {
	enum vmcs_field16 sel;
	enum vmcs_field_nat base;
	enum vmcs_field32 limit;
} guest_syssegs[] = {
	{0, VMCS_GUEST_GDTR_BASE, VMCS_GUEST_GDTR_LIMIT},
	{0, VMCS_GUEST_IDTR_BASE, VMCS_GUEST_IDTR_LIMIT},
	{VMCS_GUEST_LDTR_SEL, VMCS_GUEST_LDTR_BASE, VMCS_GUEST_LDTR_LIMIT},
	{VMCS_GUEST_TR_SEL, VMCS_GUEST_TR_BASE, VMCS_GUEST_TR_LIMIT},
};

static void vmx_get_sysseg(struct vcpu *v, unsigned which, struct vcpu_segment *s)
{
	(void)v;
	memset(s, 0, sizeof(*s));
	if (which >= ARRAY_SIZE(guest_syssegs))
		return;
	if (guest_syssegs[which].sel)
		s->selector = vmread16(guest_syssegs[which].sel);
	s->base = vmread_nat(guest_syssegs[which].base);
	s->limit = vmread32(guest_syssegs[which].limit);
	if (which == X86_SYS_LDTR || which == X86_SYS_TR)
		s->attr = vmread32(which == X86_SYS_LDTR ? VMCS_GUEST_LDTR_AR : VMCS_GUEST_TR_AR);
}

static void vmx_set_dtr(struct vcpu *v, unsigned which, uint64_t base, uint32_t limit)
{
	(void)v;
	if (which > X86_SYS_IDTR)
		return;
	vmwrite_nat(guest_syssegs[which].base, base);
	vmwrite32(guest_syssegs[which].limit, limit);
}

/* LLDT/LTR the MMIO emulator completed: LDTR or TR, access rights in the VMX layout. */
static void vmx_set_sysseg(struct vcpu *v, unsigned which, const struct vcpu_segment *s)
{
	(void)v;
	if (which != X86_SYS_LDTR && which != X86_SYS_TR)
		return;
	vmwrite16(guest_syssegs[which].sel, s->selector);
	vmwrite_nat(guest_syssegs[which].base, s->base);
	vmwrite32(guest_syssegs[which].limit, s->limit);
	vmwrite32(which == X86_SYS_LDTR ? VMCS_GUEST_LDTR_AR : VMCS_GUEST_TR_AR, s->attr);
}

static void vmx_set_segment(struct vcpu *v, unsigned seg, const struct vcpu_segment *s)
{
	(void)v;
	if (seg >= ARRAY_SIZE(guest_segs))
		return;
	vmwrite16(guest_segs[seg].sel, s->selector);
	vmwrite_nat(guest_segs[seg].base, s->base);
	vmwrite32(guest_segs[seg].limit, s->limit);
	vmwrite32(guest_segs[seg].ar, s->attr);
}

/* The pending single-step trap (BS) stays: VM entry holds it behind the MOV SS blocking. */
static void vmx_set_mov_ss_shadow(struct vcpu *v)
{
	(void)v;
	vmwrite32(VMCS_GUEST_INTERRUPTIBILITY,
		  (vmread32(VMCS_GUEST_INTERRUPTIBILITY) & ~BLOCKING_BY_STI) | BLOCKING_BY_MOV_SS);
}

/* VMX keeps no guest CR2: the guest runs with the hardware CR2, which mhv leaves alone. */
static void vmx_set_cr2(struct vcpu *v, uint64_t cr2)
{
	(void)v;
	write_cr2(cr2);
}

/* HLT with interrupts on: let the CPU wait in the guest for the interrupt (no busy exits). */
static void vmx_halt(struct vcpu *v)
{
	if (to_vmx(v)->hlt_activity)
		vmwrite32(VMCS_GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_HLT);
}

static void vmx_dump(struct vcpu *v)
{
	pr_err("mhv: VMX guest: RIP 0x%lx RSP 0x%lx RFLAGS 0x%lx CS 0x%x (AR 0x%x) CPL %u\n",
	       vmread_nat(VMCS_GUEST_RIP), vmread_nat(VMCS_GUEST_RSP),
	       vmread_nat(VMCS_GUEST_RFLAGS), vmread16(VMCS_GUEST_CS_SEL),
	       vmread32(VMCS_GUEST_CS_AR), vmx_get_cpl(v));
	pr_err("mhv: VMX guest: CR0 0x%lx (shadow 0x%lx) CR3 0x%lx CR4 0x%lx (shadow 0x%lx) "
	       "EFER 0x%lx entry-controls 0x%x\n",
	       vmread_nat(VMCS_GUEST_CR0), vmread_nat(VMCS_CR0_READ_SHADOW),
	       vmread_nat(VMCS_GUEST_CR3), vmread_nat(VMCS_GUEST_CR4),
	       vmread_nat(VMCS_CR4_READ_SHADOW), vmread64(VMCS_GUEST_EFER),
	       vmread32(VMCS_ENTRY_CONTROLS));
	pr_err("mhv: VMX guest: RAX 0x%lx RBX 0x%lx RCX 0x%lx RDX 0x%lx RSI 0x%lx RDI 0x%lx\n",
	       v->gpr[GPR_RAX], v->gpr[GPR_RBX], v->gpr[GPR_RCX], v->gpr[GPR_RDX], v->gpr[GPR_RSI],
	       v->gpr[GPR_RDI]);
}

static void vmx_sipi_reset(struct vcpu *v, uint8_t vector);

static uint64_t vmx_get_dr7(struct vcpu *v)
{
	(void)v;
	return vmread_nat(VMCS_GUEST_DR7);
}

/* The getters' answers in one call (vcpu_ops.get_insn_state: every MMIO exit past the short
 * path asks). */
static void vmx_get_insn_state(struct vcpu *v, struct vcpu_insn_state *s, struct gw_regs *regs)
{
	s->rip = vmx_get_rip(v);
	s->rflags = vmx_get_rflags(v);
	s->dr7 = vmx_get_dr7(v);
	vmx_paging_regs(regs, s->rflags); /* one VMREAD of RFLAGS for both */
	vmx_get_segment(v, X86_SEG_CS, &s->cs);
}

static void vmx_set_dr7(struct vcpu *v, uint64_t dr7)
{
	(void)v;
	vmwrite_nat(VMCS_GUEST_DR7, dr7);
}

/* VMX keeps no guest CR2: the CPU's is the guest's (mhv takes no page faults). */
static uint64_t vmx_get_cr2(struct vcpu *v)
{
	(void)v;
	return read_cr2();
}

static void vmx_set_exception_intercept(struct vcpu *v, unsigned vector, bool on)
{
	uint32_t bitmap = vmread32(VMCS_EXCEPTION_BITMAP);

	(void)v;
	vmwrite32(VMCS_EXCEPTION_BITMAP, on ? bitmap | (1u << vector) : bitmap & ~(1u << vector));
}

static uint64_t vmx_get_dr6(struct vcpu *v)
{
	(void)v;
	return read_dr6(); /* VMX keeps no guest DR6: the CPU's is the guest's */
}

static void vmx_set_dr6(struct vcpu *v, uint64_t dr6)
{
	(void)v;
	write_dr6(dr6);
}

static void vmx_set_mov_dr_intercept(struct vcpu *v, bool on)
{
	if (to_vmx(v)->mov_dr_exiting)
		set_proc_controls(to_vmx(v), PROC_MOV_DR_EXITING, on);
}

/* Which single step the debuggers get, said once (the boot tests check it). */
static void pr_info_once_step(bool mtf)
{
	static bool told;

	if (told)
		return;
	told = true;
	pr_info("mhv: VMX: single-step by %s\n",
		mtf ? "the monitor trap flag" : "RFLAGS.TF (no monitor trap flag)");
}

/* The debugger's single step: the monitor trap flag, else TF with #DB intercepted. */
static bool vmx_single_step(struct vcpu *v, bool on)
{
	struct vmx_vcpu *vx = to_vmx(v);

	if (on == vx->debug_step)
		return true;
	if (on)
		pr_info_once_step(vx->mtf);
	if (vx->mtf) {
		set_proc_controls(vx, PROC_MTF, on);
		/* A whole poll period for one instruction: a timer exit during the step means
		 * the MTF exit never came (vmx_mtf_missed). */
		if (on && vx->poll_timer)
			vmwrite32(VMCS_PREEMPT_TIMER, vx->poll_timer);
	} else if (on) {
		uint64_t rflags = vmread_nat(VMCS_GUEST_RFLAGS);

		vx->guest_tf = rflags & RFLAGS_TF;
		vx->db_intercepted = vmread32(VMCS_EXCEPTION_BITMAP) & (1u << VEC_DB);
		vmwrite_nat(VMCS_GUEST_RFLAGS, rflags | RFLAGS_TF);
		vmwrite32(VMCS_EXCEPTION_BITMAP, vmread32(VMCS_EXCEPTION_BITMAP) | 1u << VEC_DB);
	} else {
		vmwrite_nat(VMCS_GUEST_RFLAGS,
			    (vmread_nat(VMCS_GUEST_RFLAGS) & ~RFLAGS_TF) | vx->guest_tf);
		if (!vx->db_intercepted)
			vmwrite32(VMCS_EXCEPTION_BITMAP,
				  vmread32(VMCS_EXCEPTION_BITMAP) & ~(1u << VEC_DB));
		/* A step that ended at an exit may have left its trap pending: not the guest's. */
		if (!vx->guest_tf)
			vmwrite_nat(VMCS_GUEST_PENDING_DBG,
				    vmread_nat(VMCS_GUEST_PENDING_DBG) & ~PENDING_DBG_BS);
	}
	vx->debug_step = on;
	return true;
}

static void vmx_debug_state(struct vcpu *v, struct vcpu_debug_state *d)
{
	uint32_t info = vmread32(VMCS_ENTRY_INTR_INFO);
	uint32_t intr = vmread32(VMCS_GUEST_INTERRUPTIBILITY);

	(void)v;
	/* DR0-DR3 and DR6 are not in the VMCS: the guest's values stay in the registers. */
	asm volatile("mov %%dr0, %0" : "=r"(d->dr[0]));
	asm volatile("mov %%dr1, %0" : "=r"(d->dr[1]));
	asm volatile("mov %%dr2, %0" : "=r"(d->dr[2]));
	asm volatile("mov %%dr3, %0" : "=r"(d->dr[3]));
	asm volatile("mov %%dr6, %0" : "=r"(d->dr6));
	d->dr7 = vmread_nat(VMCS_GUEST_DR7);
	d->event_valid = info & INTR_INFO_VALID;
	d->event_vector = (uint8_t)(info & INTR_INFO_VECTOR_MASK);
	d->event_type = (uint8_t)((info & INTR_INFO_TYPE_MASK) >> INTR_INFO_TYPE_SHIFT);
	d->interrupt_shadow = intr & (BLOCKING_BY_STI | BLOCKING_BY_MOV_SS);
	d->nmi_known = true;
	d->nmi_blocked = intr & BLOCKING_BY_NMI;
}

static void vmx_flush_nested(struct vcpu *v)
{
	vmx_flush_stale_translations(vmx_caps->vmx.ept_vpid_cap, vmx_shared.eptp, to_vmx(v)->vpid,
				     GUEST_VPID);
}

static const struct vcpu_ops vmx_ops = {
	.name = "vmx",
	.get_rip = vmx_get_rip,
	.set_rip = vmx_set_rip,
	.get_rflags = vmx_get_rflags,
	.set_rflags = vmx_set_rflags,
	.set_rip_rflags = vmx_set_rip_rflags,
	.get_rsp = vmx_get_rsp,
	.set_rsp = vmx_set_rsp,
	.get_cr = vmx_get_cr,
	.set_cr = vmx_set_cr,
	.get_efer = vmx_get_efer,
	.set_efer = vmx_set_efer,
	.get_cpl = vmx_get_cpl,
	.get_paging = vmx_get_paging,
	.get_insn_state = vmx_get_insn_state,
	.inject_exception = vmx_inject_exception,
	.get_segment = vmx_get_segment,
	.cs_key = vmx_cs_key,
	.segment_flat = vmx_segment_flat,
	.get_sysseg = vmx_get_sysseg,
	.set_dtr = vmx_set_dtr,
	.set_sysseg = vmx_set_sysseg,
	.set_segment = vmx_set_segment,
	.set_mov_ss_shadow = vmx_set_mov_ss_shadow,
	.set_cr2 = vmx_set_cr2,
	.flush_tlb = vmx_flush_tlb,
	.halt = vmx_halt,
	.dump = vmx_dump,
	.sipi_reset = vmx_sipi_reset,
	.set_flush_exits = vmx_set_flush_exits,
	.get_dr7 = vmx_get_dr7,
	.set_dr7 = vmx_set_dr7,
	.get_dr6 = vmx_get_dr6,
	.set_dr6 = vmx_set_dr6,
	.data_bp_trap = vmx_data_bp_trap,
	.set_mov_dr_intercept = vmx_set_mov_dr_intercept,
	.get_cr2 = vmx_get_cr2,
	.set_exception_intercept = vmx_set_exception_intercept,
	.single_step = vmx_single_step,
	.debug_state = vmx_debug_state,
	.flush_nested = vmx_flush_nested,
};

/* ---- exits ---- */

static enum exit_next __attribute__((noinline)) exit_cr_access_other(struct vcpu *v, uint64_t q)
{
	enum gpr reg = (enum gpr)CRQ_GPR(q);
	enum exit_next next;
	/* RSP lives in the VMCS, not in gpr[]: move it across only when it is the operand. */
	if (reg == GPR_RSP)
		v->gpr[GPR_RSP] = vmread_nat(VMCS_GUEST_RSP);
	next = vcpu_exit_cr(v, (enum cr_access_type)CRQ_TYPE(q), CRQ_CR(q), reg,
			    (uint16_t)CRQ_LMSW_SRC(q));
	if (reg == GPR_RSP && CRQ_TYPE(q) == CR_MOV_FROM)
		vmwrite_nat(VMCS_GUEST_RSP, v->gpr[GPR_RSP]);
	return next;
}

/* The exit core's MOV to CR3 inline (core/exit_cr3.h), with this vCPU's ops (vmx_ops,
 * vcpu_init) as a constant: vmx_set_cr, the flush-exit disarm and vmx_flush_tlb are direct
 * calls or inline, not indirect ones. */
static enum exit_next __attribute__((noinline)) __no_frame_pointer exit_mov_to_cr3(struct vcpu *v,
										   enum gpr reg)
{
	return vcpu_exit_mov_to_cr3_inline(v, &vmx_ops, reg);
}

/* MOV to CR3 (the frequent one while the flush exits are armed) from a register that lives
 * in gpr[] goes straight to its path; the rest through the general one. */
static inline enum exit_next exit_cr_access(struct vcpu *v, uint64_t q)
{
	enum gpr reg = (enum gpr)CRQ_GPR(q);

	if (CRQ_TYPE(q) == CR_MOV_TO && CRQ_CR(q) == 3 && reg != GPR_RSP)
		return exit_mov_to_cr3(v, reg);
	return exit_cr_access_other(v, q);
}

static enum exit_next __attribute__((noinline)) exit_io(struct vcpu *v, uint64_t q)
{
	struct io_exit io = {
		.port = (uint16_t)IOQ_PORT(q),
		.size = (uint8_t)IOQ_SIZE(q),
		.in = q & IOQ_IN,
		.string = q & IOQ_STRING,
		.rep = q & IOQ_REP,
	};

	return vcpu_exit_io(v, &io);
}

static void exit_entry_failed(struct vcpu *v, uint32_t reason)
{
	pr_err("mhv: VMX: VM entry failed: exit reason %u%s, qualification 0x%lx\n",
	       reason & EXIT_REASON_BASIC_MASK,
	       (reason & EXIT_REASON_BASIC_MASK) == EXIT_REASON_BAD_GUEST_STATE
		       ? " (invalid guest state)"
		       : "",
	       vmread_nat(VMCS_EXIT_QUALIFICATION));
	v->ops->dump(v);
	vcpu_end_run(v, HV_STATUS_FAIL, NULL);
}

/* Exits that fault or end the run, and the rare ones: kept out of the hot switch. */
static void exit_nmi(struct vmx_vcpu *vx);

/*
 * #DB, intercepted only for the debugger.  The exit reports the DR6 bits in its qualification
 * instead of setting them; the guest's own #DB is delivered with DR6 updated as the CPU would
 * (ICEBP as the privileged software exception it is).
 */
static void __attribute__((noinline)) exit_debug(struct vcpu *v, uint32_t info)
{
	uint64_t dr6 = vmread_nat(VMCS_EXIT_QUALIFICATION) & DBQ_DR6_BITS;

	if (to_vmx(v)->debug_step && !to_vmx(v)->guest_tf) {
		debug_stop_step_trap(v); /* the monitor's step (core/debug_stop.h) */
		return;
	}
	if (vcpu_exit_db(v, dr6))
		return;
	write_dr6(read_dr6() | dr6);
	if ((info & INTR_INFO_TYPE_MASK) == INTR_TYPE_PRIV_SW_EXC) {
		vmwrite32(VMCS_ENTRY_INSN_LEN, vmread32(VMCS_EXIT_INSN_LEN));
		vmwrite32(VMCS_ENTRY_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_PRIV_SW_EXC | VEC_DB);
		return;
	}
	vmwrite32(VMCS_ENTRY_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | VEC_DB);
}

static bool vmx_single_step(struct vcpu *v, bool on);

/*
 * A whole poll period passed during an MTF step without the MTF exit (Bochs 2.7's tigerlake
 * model never delivers it here): step with TF from now on.  If the instruction already ran,
 * the exit's tail ends the step (debug_stop.h); else TF traps after it.
 */
static void __attribute__((noinline)) vmx_mtf_missed(struct vmx_vcpu *vx)
{
	pr_warn("mhv: VMX: the monitor trap flag did not trap: single steps use RFLAGS.TF\n");
	vmx_single_step(&vx->vcpu, false);
	vx->mtf = false;
	vmx_single_step(&vx->vcpu, true);
}


/* An EPT violation the MMIO short path did not take (its fields read again here, so that the
 * short path keeps only v across its device call). */
static void __attribute__((noinline)) exit_ept_violation_slow(struct vcpu *v)
{
	uint64_t q = vmread_nat(VMCS_EXIT_QUALIFICATION);
	uint64_t gpa = vmread64(VMCS_GUEST_PHYS_ADDR);
	uint32_t vectoring = vmread32(VMCS_IDT_VECTORING_INFO);
	bool gla_valid = q & EPTQ_GLA_VALID;

	/* An event's delivery touched a device page or memory outside RAM. */
	if (vectoring & INTR_INFO_VALID) {
		vcpu_exit_delivery_fault(v, vectoring, vmread32(VMCS_IDT_VECTORING_ERROR),
					 vmread32(VMCS_EXIT_INSN_LEN), gpa);
		return;
	}
	uint64_t gla = gla_valid ? vmread_nat(VMCS_GUEST_LINEAR_ADDR) : 0, rip;
	bool final = gla_valid && (q & EPTQ_GLA_FINAL);

	/* A repeated general instruction on a device (core/mmio_short.h). */
	if (unlikely(mmio_general_keyed(&v->mmio_short, gpa)) && final && !(q & EPTQ_FETCH) &&
	    mmio_general_at(&v->mmio_short, rip = vmread_nat(VMCS_GUEST_RIP)) &&
	    vcpu_mmio_general_exit(v, rip, gpa, gla, gla_valid, q & EPTQ_WRITE))
		return;
	vcpu_exit_npf(v, gpa, gla, gla_valid, q & EPTQ_WRITE, q & EPTQ_FETCH, final);
}

/*
 * An EPT violation: a repeated device access is the MMIO short path's (core/mmio_short.h),
 * tested first with only what it needs read; the rest the exit core's.  Inlined into
 * vmx_handle_exit, which keeps v in a register already: a hit pays no call or frame of its own
 * (the other exits' code is unchanged).
 */
static inline __attribute__((always_inline)) void
exit_ept_violation(struct vcpu *v)
{
	const uint64_t final_data = EPTQ_GLA_VALID | EPTQ_GLA_FINAL; /* and not EPTQ_FETCH */
	uint64_t q = vmread_nat(VMCS_EXIT_QUALIFICATION);
	uint64_t gpa = vmread64(VMCS_GUEST_PHYS_ADDR);
	struct vcpu_exec_state x;

	if ((q & (final_data | EPTQ_FETCH)) != final_data ||
	    (vmread32(VMCS_IDT_VECTORING_INFO) & INTR_INFO_VALID) ||
	    unlikely(data_bp_armed(vmread_nat(VMCS_GUEST_DR7)))) { /* slow: checks breakpoints */
		exit_ept_violation_slow(v);
		return;
	}
	vmx_get_exec_state(&x);
	if (!mmio_short_exit(v, gpa, q & EPTQ_WRITE, &x)) {
		exit_ept_violation_slow(v);
		return;
	}
	set_rip_past_no_tf(v->mmio_short.next_rip); /* wrapped at fill; TF refused */
}

static enum exit_next __attribute__((noinline)) exit_other(struct vcpu *v, uint32_t full)
{
	uint32_t reason = full & EXIT_REASON_BASIC_MASK;

	if (unlikely(full & EXIT_REASON_ENTRY_FAILED)) {
		exit_entry_failed(v, full); /* ends the run */
		return EXIT_NEXT_RETRY;
	}
	switch (reason) {
	case EXIT_REASON_INVPCID:
		return vcpu_exit_invpcid(v);
	case EXIT_REASON_XSETBV:
		return vcpu_exit_xsetbv(v);
	case EXIT_REASON_INVD:
		v->exits[EXIT_KIND_OTHER]++;
		asm volatile("wbinvd" ::: "memory"); /* INVD would drop mhv's dirty lines too */
		return EXIT_NEXT_SKIP;
	case EXIT_REASON_VMCLEAR:
	case EXIT_REASON_VMLAUNCH:
	case EXIT_REASON_VMPTRLD:
	case EXIT_REASON_VMPTRST:
	case EXIT_REASON_VMREAD:
	case EXIT_REASON_VMRESUME:
	case EXIT_REASON_VMWRITE:
	case EXIT_REASON_VMXOFF:
	case EXIT_REASON_VMXON:
	case EXIT_REASON_INVEPT:
	case EXIT_REASON_INVVPID:
	case EXIT_REASON_VMFUNC:
	case EXIT_REASON_GETSEC:
		vcpu_exit_hidden_insn(v);
		return EXIT_NEXT_RETRY;
	case EXIT_REASON_PREEMPT_TIMER: /* the break-in's poll */
		if (to_vmx(v)->poll_timer_saved)
			vmwrite32(VMCS_PREEMPT_TIMER, to_vmx(v)->poll_timer);
		if (to_vmx(v)->debug_step && to_vmx(v)->mtf)
			vmx_mtf_missed(to_vmx(v));
		debug_stop_poll(v);
		return EXIT_NEXT_RETRY;
	case EXIT_REASON_MTF:
		debug_stop_step_trap(v);
		return EXIT_NEXT_RETRY;
	case EXIT_REASON_EXCEPTION_NMI: {
		uint32_t info = vmread32(VMCS_EXIT_INTR_INFO);
		if ((info & INTR_INFO_TYPE_MASK) == INTR_TYPE_NMI) {
			exit_nmi(to_vmx(v));
			return EXIT_NEXT_RETRY;
		}
		if ((info & INTR_INFO_VECTOR_MASK) == VEC_UD &&
		    (info & INTR_INFO_TYPE_MASK) == INTR_TYPE_HW_EXCEPTION) {
			vcpu_exit_ud(v);
			return EXIT_NEXT_RETRY;
		}
		if ((info & INTR_INFO_VECTOR_MASK) == VEC_DB) {
			exit_debug(v, info);
			return EXIT_NEXT_RETRY;
		}
		if ((info & INTR_INFO_VECTOR_MASK) == VEC_BP) { /* the GDB stub's INT3s */
			if (!vcpu_exit_bp(v)) { /* the guest's own: delivered as the CPU would */
				vmwrite32(VMCS_ENTRY_INSN_LEN, vmread32(VMCS_EXIT_INSN_LEN));
				vmwrite32(VMCS_ENTRY_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_SW_EXC | VEC_BP);
			}
			return EXIT_NEXT_RETRY;
		}
		vcpu_exit_unknown(v, "VMX exception exit, interruption info", info);
		return EXIT_NEXT_RETRY;
	}
	case EXIT_REASON_DR_ACCESS: {
		uint64_t q = vmread_nat(VMCS_EXIT_QUALIFICATION);

		return vcpu_exit_mov_dr(v, DRQ_DR(q), !(q & DRQ_FROM_DR), DRQ_GPR(q));
	}
	case EXIT_REASON_TASK_SWITCH:
		vcpu_exit_task_switch(v, (uint16_t)vmread_nat(VMCS_EXIT_QUALIFICATION));
		return EXIT_NEXT_RETRY;
	case EXIT_REASON_TRIPLE_FAULT:
		vcpu_exit_triple_fault(v);
		return EXIT_NEXT_RETRY;
	case EXIT_REASON_INIT:
		apic_guard_init_signal(v);
		return EXIT_NEXT_RETRY;
	default:
		vcpu_exit_unknown(v, "VMX exit reason", full);
		return EXIT_NEXT_RETRY;
	}
}

/*
 * An NMI taken while mhv ran is the guest's: inject it, unless an event is already queued or
 * the guest is blocking NMIs or in an STI/MOV SS shadow (some CPUs refuse VM entry injecting
 * an NMI into an STI shadow), in which case it waits for the next exit.
 */
static void __attribute__((noinline)) deliver_nmi(struct vmx_vcpu *vx)
{
	if ((vmread32(VMCS_ENTRY_INTR_INFO) & INTR_INFO_VALID) ||
	    (vmread32(VMCS_GUEST_INTERRUPTIBILITY) &
	     (BLOCKING_BY_STI | BLOCKING_BY_MOV_SS | BLOCKING_BY_NMI)))
		return;
	vmwrite32(VMCS_ENTRY_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_NMI | VEC_NMI);
	vx->guest_nmi = false;
}

static void wait_for_sipi(struct vmx_vcpu *vx);

/*
 * Whose NMI this was: another vCPU's NMI IPI or the platform's (the guest's, delivered when it
 * can be), the console's line (mhv's break-in, debug_stop.h), a virtual INIT, or a kick (a
 * debugger's stop, the run's end: the exit's tail acts on it).
 */
static enum smp_nmi judge_nmi(struct vmx_vcpu *vx)
{
	enum smp_nmi kind = smp_nmi_exit(&vx->vcpu);

	if (kind == SMP_NMI_GUEST && !debug_stop_nmi(&vx->vcpu))
		vx->guest_nmi = true;
	else if (kind == SMP_NMI_INIT)
		wait_for_sipi(vx);
	return kind;
}

/*
 * An NMI mhv took in VMX root between an exit and this entry (exception.c marks it pending):
 * judged once, as an NMI exit is.  Another vCPU's kick for a debugger's stop is not the
 * guest's (the session parks this vCPU at the tail); unlike an NMI exit, the guest's own
 * blocking-by-NMI is left as it is.
 */
static void __attribute__((noinline)) nmi_taken_in_mhv(struct vmx_vcpu *vx)
{
	nmi_pending[vx->vcpu.cpu] = false;
	(void)judge_nmi(vx);
}

/* HLT with interrupts off, other vCPUs still running: wait in mhv for an NMI or INIT. */
static enum exit_next __attribute__((noinline)) halted_no_irq(struct vmx_vcpu *vx)
{
	if (smp_halt_wait(&vx->vcpu) == SMP_HALT_NMI) {
		vx->guest_nmi = true; /* delivered after the HLT, as the CPU would */
		return EXIT_NEXT_SKIP;
	}
	wait_for_sipi(vx);
	return EXIT_NEXT_RETRY;
}

/* gdb=: the debugger looks at the line. */
static struct vcpu *__attribute__((noinline)) debugger_poll(struct vcpu *v)
{
	gdbstub_poll(v);
	debug_stop_exit_tail(v); /* gdb's Ctrl-C stops the guest here */
	return v;
}

/*
 * The hot path: read only what this exit needs (SDM: the exit reason, then the fields the
 * reason defines), hand it to the exit core, and advance RIP by the length the CPU reported.
 */
/* The exit's tail when something is pending (vmx_handle_exit tests it in one go). */
static struct vcpu *__attribute__((noinline)) exit_tail_slow(struct vcpu *v)
{
	if (nmi_pending[v->cpu])
		nmi_taken_in_mhv(to_vmx(v));
	if (debug_stop_wanted) /* a break-in or a step: stop on the next instruction */
		debug_stop_tail_slow(v);
	if (nmi_pending[v->cpu]) /* ... taken while this vCPU was parked for a session */
		nmi_taken_in_mhv(to_vmx(v));
	if (to_vmx(v)->guest_nmi)
		deliver_nmi(to_vmx(v));
	if (gdbstub_armed)
		return debugger_poll(v); /* a tail call: see core/gdbstub.h */
	return v;
}

struct vcpu *vmx_handle_exit(struct vcpu *v);

struct vcpu *__no_frame_pointer vmx_handle_exit(struct vcpu *v)
{
	/* The basic reason only: bit 27 (exit from an SGX enclave) and the other modifier bits
	 * must not turn a CPUID exit into an unknown one; bit 31 (VM entry failed) comes with
	 * reasons 33, 34 and 41 only, which exit_other() sees in full. */
	uint32_t full = vmread32(VMCS_EXIT_REASON), reason = full & EXIT_REASON_BASIC_MASK;
	enum exit_next next;

	switch (reason) {
	case EXIT_REASON_CPUID:
		next = vcpu_exit_cpuid(v);
		break;
	case EXIT_REASON_VMCALL:
		next = vcpu_exit_hypercall_at(v, vmx_get_cpl(v));
		break;
	case EXIT_REASON_RDMSR:
		next = vcpu_exit_rdmsr(v);
		break;
	case EXIT_REASON_WRMSR:
		next = vcpu_exit_wrmsr(v);
		break;
	case EXIT_REASON_IO:
		next = exit_io(v, vmread_nat(VMCS_EXIT_QUALIFICATION));
		break;
	case EXIT_REASON_CR_ACCESS:
		next = exit_cr_access(v, vmread_nat(VMCS_EXIT_QUALIFICATION));
		break;
	case EXIT_REASON_INVLPG:
		next = vcpu_exit_invlpg(v, vmread_nat(VMCS_EXIT_QUALIFICATION));
		break;
	case EXIT_REASON_HLT:
		next = vcpu_exit_hlt(v);
		if (next == EXIT_NEXT_HALTED)
			next = halted_no_irq(to_vmx(v));
		break;
	case EXIT_REASON_EPT_VIOLATION:
		exit_ept_violation(v); /* done, RIP included */
		next = EXIT_NEXT_RETRY;
		break;
	default:
		next = exit_other(v, full);
		break;
	}
	if (next == EXIT_NEXT_SKIP)
		advance_rip(vmread_nat(VMCS_GUEST_RIP) + vmread32(VMCS_EXIT_INSN_LEN));
	/* The tail's rare work, tested as one word: an NMI mhv took, a debugger's stop, an NMI
	 * for the guest, gdb= armed.  Any of them takes the whole tail, in its order. */
	if (unlikely(nmi_pending[v->cpu] | debug_stop_wanted | to_vmx(v)->guest_nmi |
		     gdbstub_armed))
		return exit_tail_slow(v); /* a tail call: see core/gdbstub.h */
	return v;
}

/* VMLAUNCH/VMRESUME fell through (vmx_entry.S): report the VM-instruction error. */
void __noreturn vmx_entry_failed(struct vcpu *v);

void __noreturn vmx_entry_failed(struct vcpu *v)
{
	uint32_t err = vmread32(VMCS_VM_INSN_ERROR);

	pr_err("mhv: VMX: VMLAUNCH/VMRESUME failed: VM-instruction error %u%s\n", err,
	       err == VM_INSN_ERR_BAD_CONTROLS ? " (invalid control fields)"
	       : err == VM_INSN_ERR_BAD_HOST   ? " (invalid host state)"
					       : "");
	vmx_dump(v);
	vcpu_end_run(v, HV_STATUS_FAIL, NULL);
	cpu_halt_forever();
}

/* Real mode, as INIT then STARTUP leave a CPU: the segments say where, the rest is reset state. */
static void set_real_mode_segments(uint8_t vector)
{
	for (unsigned i = 0; i < ARRAY_SIZE(guest_segs); i++) {
		bool code = i == X86_SEG_CS;

		set_guest_segment(guest_segs[i].sel, guest_segs[i].base, guest_segs[i].limit,
				  guest_segs[i].ar, code ? (uint16_t)(vector << 8) : 0,
				  REAL_MODE_LIMIT, code ? AR_CODE16_RESET : AR_DATA16_RESET);
	}
	vmwrite_nat(VMCS_GUEST_CS_BASE, (uint64_t)vector << 12);
	set_guest_segment(VMCS_GUEST_LDTR_SEL, VMCS_GUEST_LDTR_BASE, VMCS_GUEST_LDTR_LIMIT,
			  VMCS_GUEST_LDTR_AR, 0, REAL_MODE_LIMIT, AR_LDT_RESET);
	set_guest_segment(VMCS_GUEST_TR_SEL, VMCS_GUEST_TR_BASE, VMCS_GUEST_TR_LIMIT,
			  VMCS_GUEST_TR_AR, 0, REAL_MODE_LIMIT, AR_TSS32_BUSY);
	vmwrite_nat(VMCS_GUEST_GDTR_BASE, 0);
	vmwrite32(VMCS_GUEST_GDTR_LIMIT, REAL_MODE_LIMIT);
	vmwrite_nat(VMCS_GUEST_IDTR_BASE, 0);
	vmwrite32(VMCS_GUEST_IDTR_LIMIT, REAL_MODE_LIMIT);
}

/* The STARTUP IPI (smp.c): real mode at vector << 12 with the state INIT leaves. */
static void vmx_sipi_reset(struct vcpu *v, uint8_t vector)
{
	struct vmx_vcpu *vx = to_vmx(v);
	uint64_t cr0 = CR0_CD | CR0_NW | CR0_ET;

	set_real_mode_segments(vector);
	vmwrite_nat(VMCS_CR0_READ_SHADOW, cr0);
	vmwrite_nat(VMCS_GUEST_CR0, (cr0 | (vx->cr0_fixed0 & ~(CR0_PE | CR0_PG))) & vx->cr0_fixed1);
	vmwrite_nat(VMCS_CR4_READ_SHADOW, 0);
	vmwrite_nat(VMCS_GUEST_CR4, vx->cr4_fixed0 & vx->cr4_fixed1);
	vmwrite_nat(VMCS_GUEST_CR3, 0);
	vmwrite64(VMCS_GUEST_EFER, 0);
	vx->entry_ctls &= ~ENTRY_IA32E_MODE;
	vmwrite32(VMCS_ENTRY_CONTROLS, vx->entry_ctls);
	vmwrite64(VMCS_GUEST_PAT, PAT_POWER_ON);
	vmwrite64(VMCS_GUEST_DEBUGCTL, 0);
	vmwrite_nat(VMCS_GUEST_DR7, DR7_INIT);
	vmwrite_nat(VMCS_GUEST_RFLAGS, 0x2);
	vmwrite_nat(VMCS_GUEST_RIP, 0);
	vmwrite_nat(VMCS_GUEST_RSP, 0);
	vmwrite_nat(VMCS_GUEST_PENDING_DBG, 0);
	vmwrite32(VMCS_GUEST_INTERRUPTIBILITY, 0);
	vmwrite32(VMCS_GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_ACTIVE);
	vmwrite32(VMCS_ENTRY_INTR_INFO, 0);
	memset(v->gpr, 0, sizeof(v->gpr));
	v->gpr[GPR_RDX] = cpuid(CPUID_FEATURES).eax; /* the processor signature */
	nmi_pending[v->cpu] = false; /* the wait-for-SIPI state drops NMIs */
	to_vmx(v)->guest_nmi = false;
	vcpu_guest_tlb_flush(v, FLUSH_PAGING_MODE, 0);
}

/*
 * mhv holds the vCPU in VMX root until the guest's STARTUP IPI (an NMI meanwhile is dropped).
 *
 * Why not the architectural wait-for-SIPI activity state (IA32_VMX_MISC bit 8, VM entry with
 * activity state 3, SIPI exit 4): the guest's SIPI is virtual, so mhv would have to send the
 * CPU a physical SIPI to get the exit, and in that state the CPU blocks NMIs, which are how mhv
 * reaches a vCPU (INIT, the end of the run).  And on the VT-x emulator here it does not work:
 * Bochs 2.7 advertises the state (IA32_VMX_MISC bits 6-8 all set) but its SIPI exit is taken
 * before it unmasks INIT, SMI and NMI again, so that CPU never sees mhv's kick NMIs after
 * its start, and the exit saves the activity state as active (upstream ticket #757, fixed
 * after 2.7).  Holding the vCPU in VMX root gives the guest the same state on every CPU.
 */
static void wait_for_sipi(struct vmx_vcpu *vx)
{
	vmx_sipi_reset(&vx->vcpu, smp_wait_for_sipi(&vx->vcpu));
}

static void exit_nmi(struct vmx_vcpu *vx)
{
	/* A kick: the guest goes on (a debugger's stop): an NMI that caused an exit found it not
	 * blocking NMIs, so a blocking-by-NMI the exit saved is not the guest's. */
	if (judge_nmi(vx) == SMP_NMI_KICK)
		vmwrite32(VMCS_GUEST_INTERRUPTIBILITY,
			  vmread32(VMCS_GUEST_INTERRUPTIBILITY) & ~BLOCKING_BY_NMI);
}

/* One CPU's VMX operation and VMCS, on that CPU, from what the boot CPU prepared. */
static void setup_this_cpu(struct vmx_vcpu *vx)
{
	enable_vmx_operation(vx, vmx_caps);
	load_vmcs(vx, vmx_caps);
	setup_controls(vx, vmx_caps);
	use_shared(&vmx_shared);
	/* Every CPU's VMX operation starts clean: no translation left over from whoever ran
	 * VMX on this CPU before mhv (vmx_hygiene.h). */
	vmx_flush_stale_translations(vmx_caps->vmx.ept_vpid_cap, vmx_shared.eptp, vx->vpid,
				     GUEST_VPID);
	setup_host_state(vx);
}

/* An AP (smp.c): its exit stack is the stack it arrived on, which names its CPU. */
static void __noreturn vmx_ap_main(unsigned cpu)
{
	struct vmx_vcpu *vx = &vmx_vcpus[cpu];
	uint64_t sp;

	asm volatile("mov %%rsp, %0" : "=r"(sp));
	vx->vcpu.exit_stack_top = (sp | (HV_STACK_SIZE - 1)) + 1;
	setup_this_cpu(vx);
	wait_for_sipi(vx);
	vmx_launch(&vx->vcpu);
}

static void prepare_vcpu(struct vmx_vcpu *vx, unsigned cpu, const struct guest_start *gs)
{
	vcpu_init(&vx->vcpu, &vmx_ops, gs);
	smp_set_vcpu(cpu, &vx->vcpu);
	vx->vmxon_pa = hv_alloc_page();
	vx->vmcs_pa = hv_alloc_page();
	if (vx->vmxon_pa == FRAME_NONE || vx->vmcs_pa == FRAME_NONE)
		vmx_fatal("out of memory for the VMXON region and VMCS of vCPU %lu", cpu, 0);
}

static void vmx_run_guest(const struct virt_caps *caps, const struct guest_start *gs)
{
	struct vmx_vcpu *vx = &vmx_vcpus[0];
	unsigned aps = smp_ap_count(), online;

	if (!vmx_check_caps(caps))
		return;
	vmx_caps = caps;
	for (unsigned cpu = 0; cpu <= aps; cpu++)
		prepare_vcpu(&vmx_vcpus[cpu], cpu, gs);
	vx->vcpu.exit_stack_top = (uint64_t)exit_stack + EXIT_STACK_SIZE;
	build_bitmaps(&vmx_shared);
	vmx_shared.eptp = build_ept(caps);
	setup_this_cpu(vx);
	setup_guest_state(vx, gs);
	online = smp_start_aps(vmx_ap_main, aps);
	if (debug_break_armed() && vx->poll_timer)
		debug_stop_set_mechanism("VMX preemption timer");
	else if (debug_break_armed())
		debug_stop_route_nmi();
	pr_info("mhv: VMX: launching the guest at 0x%x (VPID %s)\n", gs->entry,
		vx->vpid ? "on" : "off");
	if (aps)
		pr_info("mhv: smp: %u vCPU(s): the boot CPU runs the guest, %u AP(s) under mhv "
			"wait for the guest's INIT-SIPI-SIPI\n",
			1 + online, online);
	log_flush();
	gdbstub_start(&vx->vcpu); /* gdb=...,wait: stopped before the first instruction */
	vmx_launch(&vx->vcpu);
}

const struct virt_backend vmx_backend = {
	.name = "VMX",
	.run_guest = vmx_run_guest,
};
