/*
 * The exit core: what mhv does for each kind of guest exit, independent of the vendor.
 * Policy in one place: CPUID is honest except that VMX/SVM are hidden and the hypervisor
 * leaves name mhv; MSRs and I/O ports pass through unless mhv has a reason to step in; the
 * guest can never switch virtualization on, reach mhv's memory, or stop the run except
 * through the end-run hypercall, a triple fault or halting with interrupts off.
 */
#include "core/vcpu.h"
#include "arch/x86/ap_park.h"
#include "arch/x86/cpu.h"
#include "arch/x86/exception.h"
#include "arch/x86/io.h"
#include "arch/x86/iommu.h"
#include "arch/x86/smp.h"
#include "core/apic_guard.h"
#include "core/cpuid_guest.h"
#include "core/gdb_swbp.h"
#include "core/exit_string_io.h"
#include "core/flush_exits.h"
#include "core/gdbstub.h"
#include "core/guest_tlb_flush.h"
#include "core/guest.h"
#include "core/insn_fetch.h"
#include "core/mmio_exit.h"
#include "core/mmio_setup.h"
#include "core/mmio_short_hit.h"
#include "core/mmio_xsave.h"
#include "core/msr_policy.h"
#include "core/platform_ports.h"
#include "core/run_end.h"
#include "core/vuart.h"
#include "lib/compiler.h"
#include "lib/errno.h"
#include "lib/log.h"
#include "lib/string.h"

#define CPUID_ECX_VMX		 (1u << 5)
#define CPUID_ECX_OSXSAVE	 (1u << 27)
#define CPUID_ECX_HYPERVISOR	 (1u << 31)
#define CPUID_EXT_ECX_SVM	 (1u << 2)
#define CPUID_LEAF_EXT_FEATURES7 0x00000007
#define CPUID_7_ECX_OSPKE	 (1u << 4)
#define CPUID_HV_RANGE_MASK	 0xF0000000u
#define CPUID_SVM_FEATURES	 0x8000000A
#define CPUID_LEAF_VENDOR	 0x00000000
#define XCR_XFEATURE_ENABLED	 0
#define NPF_REPORT_LIMIT	 8

static const char *const exit_kind_names[] = EXIT_KIND_NAMES;
BUILD_BUG_ON(ARRAY_SIZE(exit_kind_names) != NR_EXIT_KINDS);

static const char *const flush_cause_names[NR_FLUSH_CAUSES] = {
	[FLUSH_CR3] = "cr3",
	[FLUSH_INVLPG] = "invlpg",
	[FLUSH_INVPCID] = "invpcid",
	[FLUSH_INVLPGA] = "invlpga",
	[FLUSH_PAGING_MODE] = "paging-mode",
};

void vcpu_init(struct vcpu *v, const struct vcpu_ops *ops, const struct guest_start *gs)
{
	struct cpuid_regs id = cpuid(CPUID_LEAF_VENDOR);

	memset(v, 0, sizeof(*v));
	/* The emulator behaves as the CPU the guest runs on where vendors differ. */
	v->emu.vendor = x86_vendor_from_cpuid(id.ebx, id.edx, id.ecx);
	/* The hardware's features, not the guest's CPUID view: the CPU executes TZCNT anyway. */
	v->emu.features = x86_features_from_cpuid(cpuid(CPUID_FEATURES).ecx,
						  cpuid_count(CPUID_LEAF_EXT_FEATURES7, 0).ebx,
						  cpuid(CPUID_EXT_FEATURES).ecx) |
			  mmio_xsave_features();
	v->ops = ops;
	v->hv_start = gs->hv_start;
	v->hv_end = gs->hv_end;
	v->mmio_cache_on = gs->mmio_cache;
	v->code_tlb_on = gs->mmio_cache;
	mmio_cache_init(&v->mmio_cache, mmio_regions());
	mmio_cache_keep_ram(&v->mmio_cache, true);
	mmio_short_invalidate(&v->mmio_short); /* its key, not 0: no exit may match it */
	v->npf_access = VCPU_NPF_NONE;
}

static void set_result32(struct vcpu *v, uint32_t a, uint32_t b, uint32_t c, uint32_t d)
{
	/* 32-bit results zero-extend into the 64-bit registers, as on hardware. */
	v->gpr[GPR_RAX] = a;
	v->gpr[GPR_RBX] = b;
	v->gpr[GPR_RCX] = c;
	v->gpr[GPR_RDX] = d;
}

/* mhv's own leaves: 0x40000000 names mhv, 0x40000001 gives its version, the rest are 0. */
static struct cpuid_regs __attribute__((noinline)) hv_cpuid(uint32_t leaf)
{
	struct cpuid_regs r = {0};

	if (leaf == MHV_CPUID_BASE)
		r = (struct cpuid_regs){MHV_CPUID_MAX, MHV_SIGNATURE_EBX, MHV_SIGNATURE_ECX,
					MHV_SIGNATURE_EDX};
	else if (leaf == MHV_CPUID_VERSION)
		r.eax = MHV_VERSION_CODE;
	return r;
}

/* The leaves mhv edits: VMX/SVM hidden, hypervisor bit, OS bits mirroring the guest's CR4. */
static void __attribute__((noinline))
edit_cpuid(struct vcpu *v, uint32_t leaf, uint32_t subleaf, struct cpuid_regs *r)
{
	switch (leaf) {
	case CPUID_FEATURES:
		r->ecx &= ~(CPUID_ECX_VMX | CPUID_ECX_OSXSAVE);
		r->ecx |= CPUID_ECX_HYPERVISOR;
		if (v->ops->get_cr(v, 4) & CR4_OSXSAVE)
			r->ecx |= CPUID_ECX_OSXSAVE;
		break;
	case CPUID_LEAF_EXT_FEATURES7:
		if (subleaf == 0) {
			r->ecx &= ~CPUID_7_ECX_OSPKE;
			if (v->ops->get_cr(v, 4) & CR4_PKE)
				r->ecx |= CPUID_7_ECX_OSPKE;
		}
		break;
	case CPUID_EXT_FEATURES:
		r->ecx &= ~CPUID_EXT_ECX_SVM;
		break;
	case CPUID_SVM_FEATURES:
		*r = (struct cpuid_regs){0};
		break;
	}
	/* Features mhv cannot make work here (lib/cpuid_policy.c). */
	uint32_t regs[CPUID_NR_REGS] = {r->eax, r->ebx, r->ecx, r->edx};
	cpuid_policy_apply(cpuid_guest_policy(), leaf, subleaf, regs);
	*r = (struct cpuid_regs){regs[CPUID_REG_EAX], regs[CPUID_REG_EBX], regs[CPUID_REG_ECX],
				 regs[CPUID_REG_EDX]};
}

/* Leaves that need more than the hardware's answer: mhv's own, and those it edits. */
#define CPUID_LEAF_XSAVE    0xDu
#define CPUID_LEAF_EXT21    0x80000021u
#define CPUID_BASIC_SPECIAL                                                                        \
	((1u << CPUID_FEATURES) | (1u << CPUID_LEAF_EXT_FEATURES7) | (1u << CPUID_LEAF_XSAVE))
#define CPUID_BASIC_SPAN    32

static bool cpuid_leaf_special(uint32_t leaf)
{
	if (likely(leaf < CPUID_BASIC_SPAN))
		return (CPUID_BASIC_SPECIAL >> leaf) & 1; /* one test for the common leaves */
	return (leaf & CPUID_HV_RANGE_MASK) == MHV_CPUID_BASE || leaf == CPUID_EXT_FEATURES ||
	       leaf == CPUID_SVM_FEATURES || leaf == CPUID_LEAF_EXT21;
}

/* The leaf and subleaf are read here again, not passed: the hot path then moves no argument
 * registers for a call it does not make. */
static void __attribute__((noinline)) special_cpuid(struct vcpu *v)
{
	uint32_t leaf = (uint32_t)v->gpr[GPR_RAX], subleaf = (uint32_t)v->gpr[GPR_RCX];
	struct cpuid_regs r;

	if ((leaf & CPUID_HV_RANGE_MASK) == MHV_CPUID_BASE) {
		r = hv_cpuid(leaf);
	} else {
		r = cpuid_count(leaf, subleaf);
		edit_cpuid(v, leaf, subleaf, &r);
	}
	set_result32(v, r.eax, r.ebx, r.ecx, r.edx);
}

/*
 * The hottest exit, kept short (no frame pointer, common leaves straight from the
 * hardware): a CPUID round trip should cost well under 100 instructions.
 */
enum exit_next __no_frame_pointer vcpu_exit_cpuid(struct vcpu *v)
{
	uint32_t leaf = (uint32_t)v->gpr[GPR_RAX];
	uint32_t subleaf = (uint32_t)v->gpr[GPR_RCX];

	v->exits[EXIT_KIND_CPUID]++;
	if (unlikely(cpuid_leaf_special(leaf))) {
		special_cpuid(v);
	} else {
		struct cpuid_regs r = cpuid_count(leaf, subleaf);
		set_result32(v, r.eax, r.ebx, r.ecx, r.edx);
	}
	return EXIT_NEXT_SKIP;
}

enum exit_next vcpu_exit_rdmsr(struct vcpu *v)
{
	uint32_t msr = (uint32_t)v->gpr[GPR_RCX];
	uint64_t val;

	v->exits[EXIT_KIND_MSR_READ]++;
	if (!msr_policy_read(v, msr, &val)) {
		v->ops->inject_exception(v, VEC_GP, true, 0);
		return EXIT_NEXT_RETRY;
	}
	v->gpr[GPR_RAX] = (uint32_t)val;
	v->gpr[GPR_RDX] = val >> 32;
	return EXIT_NEXT_SKIP;
}

enum exit_next vcpu_exit_wrmsr(struct vcpu *v)
{
	uint32_t msr = (uint32_t)v->gpr[GPR_RCX];
	uint64_t val = (v->gpr[GPR_RDX] << 32) | (uint32_t)v->gpr[GPR_RAX];

	v->exits[EXIT_KIND_MSR_WRITE]++;
	if (!msr_policy_write(v, msr, val)) {
		v->ops->inject_exception(v, VEC_GP, true, 0);
		return EXIT_NEXT_RETRY;
	}
	return EXIT_NEXT_SKIP;
}

/* The devices behind intercepted ports, for IN/OUT and for each INS/OUTS element. */
/* Every intercepted port, from IN/OUT and from string I/O: the platform's reset and sleep
 * ports, else the console UART model (which passes any other port through). */
uint32_t vcpu_port_in(struct vcpu *v, uint16_t port, unsigned size)
{
	(void)v;
	if (platform_port_claims(port, size))
		return platform_port_in(port, size);
	if (gdbstub_claims_port(port, size)) {
		gdbstub_guest_port_access(port, false);
		return UINT32_MAX; /* no device: the bus floats */
	}
	return vuart_in(port, size);
}

void vcpu_port_out(struct vcpu *v, uint16_t port, unsigned size, uint32_t val)
{
	if (platform_port_claims(port, size))
		platform_port_out(v, port, size, val);
	else if (gdbstub_claims_port(port, size))
		gdbstub_guest_port_access(port, true);
	else
		vuart_out(port, size, val);
}

enum exit_next vcpu_exit_io(struct vcpu *v, const struct io_exit *io)
{
	uint32_t mask = io->size == 4 ? 0xFFFFFFFFu : (1u << (io->size * 8)) - 1;

	v->exits[EXIT_KIND_IO]++;
	if (unlikely(io->string))
		return vcpu_exit_string_io(v, io);
	if (io->in) {
		uint32_t val = vcpu_port_in(v, io->port, io->size);
		v->gpr[GPR_RAX] = (v->gpr[GPR_RAX] & ~(uint64_t)mask) | (val & mask);
		if (io->size == 4)
			v->gpr[GPR_RAX] = val; /* 32-bit results zero-extend */
	} else {
		vcpu_port_out(v, io->port, io->size, (uint32_t)v->gpr[GPR_RAX] & mask);
	}
	return EXIT_NEXT_SKIP;
}

void vcpu_guest_tlb_flush(struct vcpu *v, enum tlb_flush_cause cause, uint64_t la)
{
	guest_tlb_flush(v, v->ops, cause, la);
}

enum exit_next vcpu_exit_invlpg(struct vcpu *v, uint64_t la)
{
	v->exits[EXIT_KIND_INVLPG]++;
	vcpu_guest_tlb_flush(v, FLUSH_INVLPG, la);
	return EXIT_NEXT_SKIP;
}

enum exit_next vcpu_exit_hlt(struct vcpu *v)
{
	v->exits[EXIT_KIND_HLT]++;
	if (!(v->ops->get_rflags(v) & RFLAGS_IF)) {
		/* SMP: this vCPU just stops (an NMI or INIT moves it on); the last one ends it. */
		if (smp_active() && !smp_halt_is_last(v))
			return EXIT_NEXT_HALTED;
		vcpu_end_run(v, HV_STATUS_FAIL,
			     smp_active() ? "every vCPU halted with interrupts off (or waits for a SIPI)"
					  : "guest halted with interrupts disabled: nothing can wake it");
		return EXIT_NEXT_RETRY;
	}
	/* The guest is idle: a good moment to report blocked DMA (one status read per IOMMU). */
	iommu_drain_faults();
	/* Interrupts go straight to the guest: the backend lets it wait for one (VMX: the
	 * HLT activity state), or resumes it after the HLT, which the guest's idle loop
	 * repeats. */
	if (v->ops->halt)
		v->ops->halt(v);
	return EXIT_NEXT_SKIP;
}

/* HC_HW_MSR: the hardware's value of the MSR in RBX, in RBX:RAX. */
static void __attribute__((noinline)) hypercall_hw_msr(struct vcpu *v)
{
	uint64_t hw;

	if (!msr_policy_hw_value((uint32_t)v->gpr[GPR_RBX], &hw)) {
		v->gpr[GPR_RAX] = HC_ENOSYS;
		return;
	}
	v->gpr[GPR_RAX] = (uint32_t)hw;
	v->gpr[GPR_RBX] = hw >> 32;
}

/* HC_PARKED_INTERRUPTS: interrupts at the CPUs mhv holds (out of line: the sum of two calls
 * would keep a register live in the hypercall's frame). */
static uint64_t __attribute__((noinline)) hypercall_parked_interrupts(void)
{
	return ap_park_interrupt_count() + smp_held_nmis();
}

/* A hypercall from guest user space: as on bare metal, #UD. */
static enum exit_next __attribute__((noinline, cold)) hypercall_from_user(struct vcpu *v)
{
	v->ops->inject_exception(v, VEC_UD, false, 0);
	return EXIT_NEXT_RETRY;
}

enum exit_next vcpu_exit_hypercall(struct vcpu *v)
{
	return vcpu_exit_hypercall_at(v, v->ops->get_cpl(v));
}

/* The hypercalls that call out of the exit core: out of line, so that the ones that only
 * read mhv's counters (the null hypercall among them) run without a frame. */
static enum exit_next __attribute__((noinline)) hypercall_calls_out(struct vcpu *v, uint64_t nr)
{
	switch (nr) {
	case HC_END_RUN:
		pr_info("mhv: guest ended the run with status %lu\n", v->gpr[GPR_RBX]);
		vcpu_end_run(v, v->gpr[GPR_RBX] ? HV_STATUS_FAIL : HV_STATUS_PASS, NULL);
		return EXIT_NEXT_RETRY;
	case HC_HW_MSR:
		hypercall_hw_msr(v);
		break;
	case HC_MMIO_REGION:
		if (!mmio_region_info((unsigned)v->gpr[GPR_RBX], &v->gpr[GPR_RAX], &v->gpr[GPR_RBX],
				      &v->gpr[GPR_RCX]))
			v->gpr[GPR_RAX] = HC_ENOSYS;
		break;
	case HC_IPIS_DROPPED:
		v->gpr[GPR_RAX] = apic_guard_dropped();
		break;
	case HC_PARKED_INTERRUPTS:
		v->gpr[GPR_RAX] = hypercall_parked_interrupts();
		break;
	case HC_IOMMU_STATUS:
		v->gpr[GPR_RBX] = iommu_drain_faults();
		v->gpr[GPR_RAX] = iommu_status();
		v->gpr[GPR_RCX] = iommu_canary_pa();
		v->gpr[GPR_RDX] = iommu_canary_sum();
		break;
	case HC_VCPUS:
		v->gpr[GPR_RAX] = smp_nr_vcpus();
		break;
	case HC_MMIO_DEVICE:
		if (!mmio_device_stats((unsigned)v->gpr[GPR_RBX], &v->gpr[GPR_RAX], &v->gpr[GPR_RBX],
				       &v->gpr[GPR_RCX], &v->gpr[GPR_RDX]))
			v->gpr[GPR_RAX] = HC_ENOSYS;
		break;
	default:
		v->gpr[GPR_RAX] = HC_ENOSYS;
		break;
	}
	return EXIT_NEXT_SKIP;
}

enum exit_next __no_frame_pointer vcpu_exit_hypercall_at(struct vcpu *v, unsigned cpl)
{
	uint64_t nr;

	v->exits[EXIT_KIND_HYPERCALL]++;
	/* Guest user space must not end the run or read counters.  The registers are read
	 * after the CPL check, and the argument (RBX) only where a call uses it. */
	if (unlikely(cpl != 0))
		return hypercall_from_user(v);
	nr = v->gpr[GPR_RAX];
	switch (nr) {
	case HC_VERSION:
		v->gpr[GPR_RAX] = MHV_VERSION_CODE;
		break;
	case HC_EXIT_COUNT:
		v->gpr[GPR_RAX] = v->gpr[GPR_RBX] < NR_EXIT_KINDS ?
					  mmio_short_exit_count(v, v->gpr[GPR_RBX]) : HC_ENOSYS;
		break;
	case HC_HV_RANGE:
		v->gpr[GPR_RAX] = v->hv_start;
		v->gpr[GPR_RBX] = v->hv_end;
		break;
	case HC_MMIO_COUNTER:
		if (v->gpr[GPR_RBX] == MMIO_COUNTER_CACHE_ON)
			v->gpr[GPR_RAX] = v->mmio_cache_on;
		else
			v->gpr[GPR_RAX] = v->gpr[GPR_RBX] < NR_MMIO_COUNTERS ?
						  mmio_short_mmio_count(v, v->gpr[GPR_RBX]) : HC_ENOSYS;
		break;
	case HC_FLUSH_COUNT:
		v->gpr[GPR_RAX] = v->gpr[GPR_RBX] < NR_FLUSH_CAUSES ? v->flushes[v->gpr[GPR_RBX]] : HC_ENOSYS;
		break;
	default:
		return hypercall_calls_out(v, nr); /* a tail call */
	}
	return EXIT_NEXT_SKIP;
}

/* 0F 01 C1 is VMCALL (Intel), 0F 01 D9 VMMCALL (AMD): mhv accepts both on both vendors. */
#define OPCODE_GROUP7 0x01
#define MODRM_VMCALL  0xC1
#define MODRM_VMMCALL 0xD9

void vcpu_exit_ud(struct vcpu *v)
{
	int err = 0;
	const struct x86_insn *insn = vcpu_decode_current(v, &err);

	if (err == -E_FAULT)
		return; /* fetching the instruction faulted: that #PF comes first */
	if (insn && insn->map == X86_MAP_0F && insn->opcode == OPCODE_GROUP7 &&
	    (insn->modrm == MODRM_VMCALL || insn->modrm == MODRM_VMMCALL)) {
		unsigned len = insn->len;

		if (vcpu_exit_hypercall(v) == EXIT_NEXT_SKIP)
			vcpu_skip(v, len);
		return;
	}
	v->exits[EXIT_KIND_EXCEPTION]++;
	v->ops->inject_exception(v, VEC_UD, false, 0);
}

enum exit_next vcpu_exit_xsetbv(struct vcpu *v)
{
	uint32_t index = (uint32_t)v->gpr[GPR_RCX];
	uint64_t val = (v->gpr[GPR_RDX] << 32) | (uint32_t)v->gpr[GPR_RAX];
	bool ok = true;

	v->exits[EXIT_KIND_OTHER]++;
	if (index != XCR_XFEATURE_ENABLED || v->ops->get_cpl(v) != 0) {
		v->ops->inject_exception(v, VEC_GP, true, 0);
		return EXIT_NEXT_RETRY;
	}
	/* mhv itself uses no extended state: the hardware XCR0 can simply be the guest's.
	 * The CPU checks the value; a #GP in mhv becomes a #GP for the guest. */
	asm volatile("1: xsetbv\n"
		     "2:\n" EXTABLE_ENTRY(1b, 3f) ".pushsection .text.fixup, \"ax\"\n"
						  "3: movb $0, %[ok]\n\t"
						  "jmp 2b\n"
						  ".popsection\n"
		     : [ok] "+qm"(ok)
		     : "c"(index), "a"((uint32_t)val), "d"((uint32_t)(val >> 32)));
	if (!ok) {
		v->ops->inject_exception(v, VEC_GP, true, 0);
		return EXIT_NEXT_RETRY;
	}
	return EXIT_NEXT_SKIP;
}

void vcpu_exit_hidden_insn(struct vcpu *v)
{
	v->exits[EXIT_KIND_OTHER]++;
	v->ops->inject_exception(v, VEC_UD, false, 0);
}

void vcpu_exit_triple_fault(struct vcpu *v)
{
	v->exits[EXIT_KIND_OTHER]++;
	vcpu_end_run(v, HV_STATUS_FAIL, "guest triple fault (shutdown)");
}

/* Everything but the short path (the backend's fast side tried it first). */
void vcpu_exit_npf(struct vcpu *v, uint64_t gpa, uint64_t gla, bool gla_valid, bool write,
		   bool fetch, bool final)
{
	static unsigned reported;
	bool hidden = gpa >= v->hv_start && gpa < v->hv_end;

	v->exits[EXIT_KIND_NPF]++;
	/* The CPU's final translation of this access wins over a cached one: the device is the
	 * exit's. */
	if (final)
		mmio_cache_final_access(&v->mmio_cache, gpa, gla, gla_valid);
	const struct mmio_region *region =
		hidden ? NULL : mmio_region_find_hinted(mmio_regions(), &v->region_hint, gpa);

	if (region) {
		/* Code on a page hiding the GDB stub's INT3s (core/gdb_swbp.h). */
		if (unlikely(fetch) && gdb_swbp_fetch(v, region))
			return;
		v->npf_access = final && !fetch ? gpa | (write ? VCPU_NPF_WRITE : 0) : VCPU_NPF_NONE;
		vcpu_mmio_exit(v, region);
		return;
	}
	if (reported < NPF_REPORT_LIMIT) {
		reported++;
		pr_warn("mhv: guest %s %s GPA 0x%lx (linear 0x%lx%s) at RIP 0x%lx: #GP injected\n",
			fetch	? "fetch from"
			: write ? "write to"
				: "read of",
			hidden ? "mhv's memory at" : "unbacked", gpa, gla,
			gla_valid ? "" : ", not valid", v->ops->get_rip(v));
	}
	/* A clean, catchable outcome: the access never reaches memory. */
	v->ops->inject_exception(v, VEC_GP, true, 0);
}

void vcpu_print_stats(const struct vcpu *v)
{
	pr_info("mhv: cpu %u exits:", v->cpu);
	for (unsigned i = 0; i < NR_EXIT_KINDS; i++)
		if (mmio_short_exit_count(v, i))
			pr_info(" %s=%lu", exit_kind_names[i], mmio_short_exit_count(v, i));
	if (mmio_short_mmio_count(v, MMIO_COUNTER_EXITS))
		pr_info("\nmhv: cpu %u mmio: exits=%lu cache %s hits=%lu misses=%lu", v->cpu,
			mmio_short_mmio_count(v, MMIO_COUNTER_EXITS), v->mmio_cache_on ? "on" : "off",
			mmio_short_mmio_count(v, MMIO_COUNTER_HITS), v->mmio[MMIO_COUNTER_MISSES]);
	pr_info("\nmhv: cpu %u guest TLB flushes:", v->cpu);
	for (unsigned i = 0; i < NR_FLUSH_CAUSES; i++)
		pr_info(" %s=%lu", flush_cause_names[i], v->flushes[i]);
	if (v->mmio_cache_on)
		pr_info(" (flush exits armed %lu times)", v->flush_exits_arms);
	pr_info("\n");
}

void vcpu_end_run(struct vcpu *v, int status, const char *why)
{
	vuart_flush();
	if (why)
		pr_info("mhv: %s\n", why);
	vcpu_print_stats(v);
	mmio_print_trace_summaries();
	smp_stats_printed(v->cpu);
	hv_end_run(status);
}

void vcpu_exit_unknown(struct vcpu *v, const char *what, uint64_t code)
{
	vuart_flush();
	pr_err("mhv: FATAL: unhandled guest exit: %s (0x%lx) at RIP 0x%lx\n", what, code,
	       v->ops->get_rip(v));
	v->ops->dump(v);
	vcpu_end_run(v, HV_STATUS_FAIL, NULL);
}
