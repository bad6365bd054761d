/*
 * mhv's own exceptions.  A registered fixup resumes the faulting code; anything else is a bug
 * in mhv: dump everything a developer needs to find it (vector, error code, RIP, CR2, all
 * registers, a frame-pointer stack trace) and end the run.
 */
#include "arch/x86/exception.h"
#include "arch/x86/cpu.h"
#include "arch/x86/image.h"
#include "arch/x86/percpu.h"
#include "core/run_end.h"
#include "lib/log.h"

#define STACK_TRACE_DEPTH 16
#define DB_REPORT_LIMIT	  8
#define RFLAGS_RF	  (1ull << 16)

static const char *const exception_names[NR_EXCEPTIONS] = {
	[VEC_DE] = "#DE divide error",
	[VEC_DB] = "#DB debug",
	[VEC_NMI] = "NMI",
	[VEC_BP] = "#BP breakpoint",
	[VEC_OF] = "#OF overflow",
	[VEC_BR] = "#BR bound range",
	[VEC_UD] = "#UD invalid opcode",
	[VEC_NM] = "#NM device not available",
	[VEC_DF] = "#DF double fault",
	[VEC_TS] = "#TS invalid TSS",
	[VEC_NP] = "#NP segment not present",
	[VEC_SS] = "#SS stack fault",
	[VEC_GP] = "#GP general protection",
	[VEC_PF] = "#PF page fault",
	[VEC_MF] = "#MF x87 error",
	[VEC_AC] = "#AC alignment check",
	[VEC_MC] = "#MC machine check",
	[VEC_XM] = "#XM SIMD exception",
	[VEC_VE] = "#VE virtualization",
	[VEC_CP] = "#CP control protection",
};

const char *exception_name(unsigned vector)
{
	if (vector < NR_EXCEPTIONS && exception_names[vector])
		return exception_names[vector];
	return "reserved vector";
}

static int last_fixup_vector = -1;

void exception_clear_last(void)
{
	last_fixup_vector = -1;
}

int exception_last_vector(void)
{
	return last_fixup_vector;
}

uint64_t extable_lookup(uint64_t rip)
{
	const struct extable_entry *table = (const struct extable_entry *)__extable_start;
	uint64_t n = ((uint64_t)__extable_end - (uint64_t)__extable_start) / sizeof(*table);

	for (uint64_t i = 0; i < n; i++)
		if (table[i].fault_rip == rip)
			return table[i].fixup_rip;
	return 0;
}

static bool in_image(uint64_t addr, uint64_t len)
{
	return addr >= IMAGE_START && addr + len <= IMAGE_END && addr + len > addr;
}

/* Follow saved frame pointers while they stay inside mhv's image (all its stacks are). */
static void stack_trace(uint64_t rip, uint64_t rbp)
{
	pr_err("  stack trace (addr2line -e build/mhv.elf ADDR):\n");
	pr_err("    #0  0x%016lx\n", rip);
	for (unsigned depth = 1; depth < STACK_TRACE_DEPTH; depth++) {
		if (!rbp || (rbp & 7) || !in_image(rbp, 16))
			break;
		const uint64_t *frame = (const uint64_t *)rbp;
		if (!frame[1])
			break;
		pr_err("    #%-2u 0x%016lx\n", depth, frame[1]);
		if (frame[0] <= rbp) /* stacks grow down: callers' frames are higher */
			break;
		rbp = frame[0];
	}
}

static void dump_frame(const struct exc_frame *f)
{
	pr_err("mhv: FATAL: exception %s (vector %lu), error code 0x%lx, at RIP 0x%016lx\n",
	       exception_name(f->vector), f->vector, f->error_code, f->rip);
	pr_err("  CS  0x%04lx  RFLAGS 0x%016lx  RSP 0x%016lx  SS 0x%04lx\n", f->cs, f->rflags,
	       f->rsp, f->ss);
	pr_err("  CR0 0x%016lx  CR2 0x%016lx  CR3 0x%016lx  CR4 0x%016lx\n", read_cr0(), read_cr2(),
	       read_cr3(), read_cr4());
	pr_err("  RAX 0x%016lx  RBX 0x%016lx  RCX 0x%016lx  RDX 0x%016lx\n", f->rax, f->rbx, f->rcx,
	       f->rdx);
	pr_err("  RSI 0x%016lx  RDI 0x%016lx  RBP 0x%016lx  R8  0x%016lx\n", f->rsi, f->rdi, f->rbp,
	       f->r8);
	pr_err("  R9  0x%016lx  R10 0x%016lx  R11 0x%016lx  R12 0x%016lx\n", f->r9, f->r10, f->r11,
	       f->r12);
	pr_err("  R13 0x%016lx  R14 0x%016lx  R15 0x%016lx\n", f->r13, f->r14, f->r15);
	stack_trace(f->rip, f->rbp);
}

/*
 * An NMI that arrives while mhv runs belongs to the guest (mhv passes NMIs through): note it
 * and let the backend deliver it at the next VM entry.
 */
volatile bool nmi_pending[HV_MAX_CPUS];
extern const char smp_idle_hlt[]; /* smp.c: the HLT a waiting CPU halts on */
extern const char irq_idle_hlt[]; /* irq_entry.S: the HLT a CPU waits on for an interrupt */

/*
 * A #DB in mhv comes from guest debug state, never from mhv (which sets no breakpoints and
 * never runs with TF): the guest's DR0-3 stay loaded across exits on both vendors, and an
 * emulator may deliver a trap the guest armed right after VMRUN/#VMEXIT.  Say so and resume;
 * RF lets a fault-class (instruction) breakpoint through once instead of looping on it.
 */
static void __attribute__((noinline)) host_debug_exception(struct exc_frame *f)
{
	static unsigned reported;

	if (reported < DB_REPORT_LIMIT) {
		uint64_t dr6, dr7;

		asm volatile("mov %%dr6, %0" : "=r"(dr6));
		asm volatile("mov %%dr7, %0" : "=r"(dr7));
		reported++;
		pr_warn("mhv: #DB in mhv at RIP 0x%lx (DR6 0x%lx, DR7 0x%lx), from guest debug "
			"state: ignored\n",
			f->rip, dr6, dr7);
	}
	f->rflags |= RFLAGS_RF;
}

void exception_dispatch(struct exc_frame *f)
{
	static bool fatal_in_progress;
	uint64_t fixup;

	if (f->vector == VEC_NMI) {
		nmi_pending[hv_cpu_index()] = true;
		if (f->rip == (uint64_t)smp_idle_hlt || f->rip == (uint64_t)irq_idle_hlt)
			f->rip++; /* the wake-up came before the HLT halted: do not halt (smp.c) */
		return;
	}
	if (f->vector == VEC_DB) {
		host_debug_exception(f);
		return;
	}
	fixup = extable_lookup(f->rip);

	if (fixup) {
		last_fixup_vector = (int)f->vector;
		f->rip = fixup;
		return;
	}
	if (fatal_in_progress) {
		/* Faulting while reporting a fault: say the least possible and stop. */
		cpu_halt_forever();
	}
	fatal_in_progress = true;
	log_flush();
	dump_frame(f);
	hv_end_run(HV_STATUS_FAIL);
}

bool rdmsr_safe(uint32_t msr, uint64_t *val)
{
	uint32_t lo = 0, hi = 0;
	bool ok = true;

	asm volatile("1: rdmsr\n"
		     "2:\n" EXTABLE_ENTRY(1b, 3f) ".pushsection .text.fixup, \"ax\"\n"
						  "3: movb $0, %[ok]\n\t"
						  "jmp 2b\n"
						  ".popsection\n"
		     : "=a"(lo), "=d"(hi), [ok] "+qm"(ok)
		     : "c"(msr));
	*val = ((uint64_t)hi << 32) | lo;
	return ok;
}
