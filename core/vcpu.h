/*
 * The vendor-neutral vCPU and its exit core.
 *
 * Vendor backends (vmx/, svm/) own the hardware state (VMCS / VMCB) and only translate:
 * an exit becomes a call to one of the vcpu_exit_*() handlers below, and those handlers
 * reach guest state through struct vcpu_ops.  CPUID, MSR, I/O, CR, TLB-flush, HLT and
 * hypercall policy is therefore written once, here and in core/exit_*.c.
 */
#ifndef MHV_CORE_VCPU_H
#define MHV_CORE_VCPU_H

#include <stdbool.h>
#include <stdint.h>
#include "core/hypercall_abi.h"
#include "core/insn_fetch.h"
#include "core/mmio_short.h"
#include "core/mmio_string.h"
#include "mm/guest_mem.h"
#include "mm/guest_walk.h"
#include "mmio/locked_rmw.h"
#include "mmio/mmio_cache.h"
#include "mmio/x86_emulate.h"

/* Guest GPRs in Intel's encoding order: ModRM, CR-access and instruction-info fields index it. */
enum gpr {
	GPR_RAX,
	GPR_RCX,
	GPR_RDX,
	GPR_RBX,
	GPR_RSP,
	GPR_RBP,
	GPR_RSI,
	GPR_RDI,
	GPR_R8,
	GPR_R9,
	GPR_R10,
	GPR_R11,
	GPR_R12,
	GPR_R13,
	GPR_R14,
	GPR_R15,
	NR_GPRS
};

/* Why mhv flushed the guest's translations (counters; the MMIO cache listens). */
enum tlb_flush_cause {
	FLUSH_CR3 = FLUSH_CAUSE_CR3,
	FLUSH_INVLPG = FLUSH_CAUSE_INVLPG,
	FLUSH_INVPCID = FLUSH_CAUSE_INVPCID,
	FLUSH_INVLPGA = FLUSH_CAUSE_INVLPGA,
	FLUSH_PAGING_MODE = FLUSH_CAUSE_PAGING_MODE,
	NR_FLUSH_CAUSES
};

/* The guest-TLB-flush exits mhv can arm, one bit each (core/flush_exits.h). */
enum flush_exit {
	FLUSH_EXIT_CR3 = 1u << 0,    /* MOV to CR3 */
	FLUSH_EXIT_INVLPG = 1u << 1, /* INVLPG and INVPCID */
	FLUSH_EXITS_ALL = FLUSH_EXIT_CR3 | FLUSH_EXIT_INVLPG
};

struct vcpu;

#define VCPU_NPF_WRITE (1ull << 63) /* in vcpu.npf_access: GPAs stay below 2^52 */
#define VCPU_NPF_NONE  (~0ull)

struct vcpu_segment {
	uint64_t base;
	uint32_t limit;
	uint16_t selector;
	uint32_t attr;	/* VMX access-rights layout (type, S, DPL, P, AVL, L, D/B, G, unusable) */
};

#define VCPU_SEG_L	  (1u << 13) /* CS.L */
#define VCPU_SEG_DB	  (1u << 14) /* CS.D / SS.B */
#define VCPU_SEG_UNUSABLE (1u << 16)

/* CS.L and CS.D / SS.B, from the rights (no copies for get_segment to fill: most of its
 * callers, the emulator's segment checks, never look at them). */
static inline bool vcpu_seg_long_mode(const struct vcpu_segment *s)
{
	return s->attr & VCPU_SEG_L;
}

static inline bool vcpu_seg_db(const struct vcpu_segment *s)
{
	return s->attr & VCPU_SEG_DB;
}

/* What the MMIO short path checks on every hit: the backend reads it at the exit and hands it
 * to mmio_short_exit() (core/mmio_short.h). */
struct vcpu_exec_state {
	uint64_t rip, rflags;
	uint64_t cs_base;
	uint64_t cs_key; /* the backend's raw CS word, as vcpu_ops.cs_key gives it */
	unsigned cpl;
};

/* The state decoding and emulating the instruction at RIP starts from (vcpu_ops.get_insn_state):
 * what get_rip, get_rflags, get_dr7 and get_segment(CS) give. */
struct vcpu_insn_state {
	uint64_t rip, rflags, dr7;
	struct vcpu_segment cs;
};

/* What a debugger shows beyond the registers (core/monitor.c). */
struct vcpu_debug_state {
	uint64_t dr[4], dr6, dr7;
	bool event_valid;	/* an event queued for the next entry */
	uint8_t event_vector;
	uint8_t event_type;	/* the vendor's type field: 0 external, 2 NMI, 3 exception, ... */
	bool interrupt_shadow;	/* STI / MOV SS blocking */
	bool nmi_known;		/* the vendor shows NMI blocking (VT-x; SVM only with vNMI) */
	bool nmi_blocked;
};

struct vcpu_ops {
	const char *name;
	uint64_t (*get_rip)(struct vcpu *v);
	void (*set_rip)(struct vcpu *v, uint64_t rip);
	uint64_t (*get_rflags)(struct vcpu *v);
	void (*set_rflags)(struct vcpu *v, uint64_t rflags);
	/* set_rip, then set_rflags: one call for an emulated instruction's commit. */
	void (*set_rip_rflags)(struct vcpu *v, uint64_t rip, uint64_t rflags);
	/* RSP is kept in the VMCS/VMCB, not in gpr[]. */
	uint64_t (*get_rsp)(struct vcpu *v);
	void (*set_rsp)(struct vcpu *v, uint64_t rsp);
	/* Guest-visible control registers (what the guest would read) and EFER. */
	uint64_t (*get_cr)(struct vcpu *v, unsigned cr);
	/*
	 * Apply a guest write the exit core has validated; the backend keeps shadows in sync.
	 * False (nothing changed): the CPU refuses the new state with #GP.  Intel loads the
	 * four PAE PDPTEs when MOV to CR0/CR3/CR4 starts or reloads PAE paging and refuses
	 * reserved bits in them (a VM entry with them would fail); AMD walks them instead.
	 */
	bool (*set_cr)(struct vcpu *v, unsigned cr, uint64_t val);
	uint64_t (*get_efer)(struct vcpu *v);
	void (*set_efer)(struct vcpu *v, uint64_t efer);
	unsigned (*get_cpl)(struct vcpu *v);
	/* CR0/CR3/CR4 (guest-visible), EFER, CPL and RFLAGS.AC in one call (page walks). */
	void (*get_paging)(struct vcpu *v, struct gw_regs *regs);
	/* struct vcpu_insn_state and get_paging's regs in one call: the MMIO fast path's start,
	 * on every exit it sees. */
	void (*get_insn_state)(struct vcpu *v, struct vcpu_insn_state *s, struct gw_regs *regs);
	/* Queue an exception for the next entry (no RIP advance). */
	void (*inject_exception)(struct vcpu *v, unsigned vector, bool has_error, uint32_t error);
	/* Segment register state (enum x86_seg order: ES, CS, SS, DS, FS, GS). */
	void (*get_segment)(struct vcpu *v, unsigned seg, struct vcpu_segment *s);
	/* CS's selector/rights as the backend keeps them, raw (SVM: selector, attributes and
	 * limit; VMX: the access rights), which include CS.L and CS.D: the MMIO short path keeps
	 * it at fill and compares it with vcpu_exec_state.cs_key on a hit. */
	uint64_t (*cs_key)(struct vcpu *v);
	/* Outside 64-bit mode: is segment seg flat for a data access (core/seg_flat.h: base 0,
	 * limit 4 GiB, a present, usable, expand-up data segment, writable for a write)?  What
	 * vcpu_segment_flat() says of get_segment()'s, read straight from the VMCS/VMCB: the
	 * MMIO fast path asks once or twice on every exit. */
	bool (*segment_flat)(struct vcpu *v, unsigned seg, bool write);
	/* GDTR/IDTR/LDTR/TR (enum x86_sys_seg): base, limit, selector; for LDTR and TR also the
	 * rights in the VMX layout (a 16-bit TSS's type), VCPU_SEG_UNUSABLE for a null LDTR. */
	void (*get_sysseg)(struct vcpu *v, unsigned which, struct vcpu_segment *s);
	/* Load GDTR or IDTR (LGDT/LIDT the MMIO emulator completed). */
	void (*set_dtr)(struct vcpu *v, unsigned which, uint64_t base, uint32_t limit);
	/* Load LDTR or TR (LLDT/LTR the MMIO emulator completed); rights in the VMX layout,
	 * VCPU_SEG_UNUSABLE for a null LDTR. */
	void (*set_sysseg)(struct vcpu *v, unsigned which, const struct vcpu_segment *s);
	/* The guest's CR2 (set before injecting a #PF). */
	void (*set_cr2)(struct vcpu *v, uint64_t cr2);
	/* Drop the guest's cached translations: one linear address, or all of them. */
	void (*flush_tlb)(struct vcpu *v, bool one_address, uint64_t la);
	/* Optional: the guest executed HLT with interrupts enabled (RIP already past it). */
	void (*halt)(struct vcpu *v);
	/* Print the vendor's view of guest state (for fatal exits). */
	void (*dump)(struct vcpu *v);
	/* Load a segment register (MOV/POP Sreg, far branches, IRET the MMIO emulator completed;
	 * a load of SS sets the CPL to its DPL, as for an IRET to an outer ring); attributes
	 * in the VMX layout, VCPU_SEG_UNUSABLE for a null selector. */
	void (*set_segment)(struct vcpu *v, unsigned seg, const struct vcpu_segment *s);
	/* After RIP advanced past a MOV SS: interrupts and the single-step trap wait for the
	 * next instruction (VMX blocking by MOV SS, the SVM interrupt shadow). */
	void (*set_mov_ss_shadow)(struct vcpu *v);
	/* SMP: the STARTUP IPI's state: real mode at vector << 12, the rest as after INIT. */
	void (*sipi_reset)(struct vcpu *v, uint8_t vector);
	/* Turn the guest-TLB-flush exits on for the FLUSH_EXIT_* bits in mask and off for the
	 * others (CR3: MOV to CR3; INVLPG: INVLPG and INVPCID); only called when
	 * flush_exits_fixed is clear (core/flush_exits.h). */
	void (*set_flush_exits)(struct vcpu *v, unsigned mask);
	/* GDB stub (core/gdbstub.c): the guest's DR7, DR6 and CR2 (DR0-DR3 are never switched,
	 * see arch/x86/debugreg.h); intercept an exception vector or not. */
	uint64_t (*get_dr7)(struct vcpu *v);
	void (*set_dr7)(struct vcpu *v, uint64_t dr7);
	uint64_t (*get_dr6)(struct vcpu *v);
	void (*set_dr6)(struct vcpu *v, uint64_t dr6);
	/* MOV to/from DRn exits (vcpu_exit_mov_dr) or not. */
	void (*set_mov_dr_intercept)(struct vcpu *v, bool on);
	uint64_t (*get_cr2)(struct vcpu *v);
	void (*set_exception_intercept)(struct vcpu *v, unsigned vector, bool on);
	/* Debugger (core/debug_stop.h: the monitor's step and gdb's), optional: arm or disarm a
	 * single step that the guest does not see (MTF, else RFLAGS.TF with #DB intercepted);
	 * false if the CPU has no way. */
	bool (*single_step)(struct vcpu *v, bool on);
	/* The trap of the guest's data breakpoints (mmio/data_bp.h) that an instruction mhv
	 * completed matched: DR6's B-bits b_bits set and one #DB after it, merged with the
	 * single-step trap the instruction may owe already.  after_next: the instruction loaded
	 * SS (set_mov_ss_shadow was called), the #DB comes after the next instruction. */
	void (*data_bp_trap)(struct vcpu *v, uint64_t b_bits, bool after_next);
	void (*debug_state)(struct vcpu *v, struct vcpu_debug_state *d);
	/* Drop this CPU's translations derived from the nested tables (a page left them). */
	void (*flush_nested)(struct vcpu *v);
};

struct vcpu {
	/* gpr[GPR_RSP] is loaded from the VMCS/VMCB only by exits that need it. */
	uint64_t gpr[NR_GPRS];
	uint64_t exit_stack_top; /* VMX: this vCPU's CPU's exit stack (vmx_entry.S) */
	const struct vcpu_ops *ops;
	unsigned cpu; /* mhv's CPU number (arch/x86/smp.h); 0 is the boot CPU */
	uint64_t exits[NR_EXIT_KINDS];
	uint64_t flushes[NR_FLUSH_CAUSES];
	uint64_t hv_start, hv_end; /* hidden from the guest */
	/* MMIO path (core/mmio_exit.c) */
	struct mmio_cache mmio_cache;
	struct mmio_lock_streak lock_streak; /* its locked device writes that lost */
	bool mmio_cache_on;
	uint64_t mmio[NR_MMIO_COUNTERS];
	struct x86_emu_ctx emu;
	struct code_tlb code_tlb;     /* instruction fetch: the code page at RIP */
	/* The code translation is kept: with the MMIO cache on, and where instruction lengths
	 * come from the bytes at RIP (SVM without NRIP save), whatever the cache switch says. */
	bool code_tlb_on;
	struct insn_cache insn_cache; /* instruction fetch: the last decoded instruction */
	struct mmio_short mmio_short; /* the last device access, replayed (mmio_short.c) */
	struct mmio_form_memo form_memo; /* the MMIO form of insn_cache's instruction */
	struct mmio_string_memo string_memo; /* ... and what the string path needs of it */
	struct guest_ram_hint ram_hint;	 /* the MMIO fast path's last RAM page (stack, string) */
	/* The flush exits that are on, FLUSH_EXIT_* bits (core/flush_exits.h); fixed: the
	 * backend cannot turn them off. */
	unsigned flush_exits_armed;
	bool flush_exits_fixed;
	uint64_t flush_exits_arms; /* times they were turned on: the cache's own price */
	struct mmio_region_hint region_hint; /* the last region an exit found */
	/* The data access a nested page fault / EPT violation reports, for the MMIO path it
	 * calls (vcpu_exit_npf): the GPA of the final translation, | VCPU_NPF_WRITE for a write;
	 * VCPU_NPF_NONE when the exit gave none (a fetch, a fault in the guest's page walk). */
	uint64_t npf_access;
	unsigned bp_intercept_gen; /* the GDB stub's INT3 table its #BP intercept follows */
};

/* I/O exit as the exit core needs it. */
struct io_exit {
	uint16_t port;
	uint8_t size; /* 1, 2 or 4 */
	bool in;
	bool string;
	bool rep;
};

/* MOV to/from CRn, CLTS, LMSW as decoded by the backend. */
enum cr_access_type { CR_MOV_TO, CR_MOV_FROM, CR_CLTS, CR_LMSW };

struct guest_start;

void vcpu_init(struct vcpu *v, const struct vcpu_ops *ops, const struct guest_start *gs);

/*
 * Exit handlers.  Each either completes the guest's instruction (EXIT_NEXT_SKIP: the backend
 * then moves RIP past it, with the length it knows best) or leaves RIP alone (an exception
 * was queued, or the run ended).
 */
enum exit_next {
	EXIT_NEXT_SKIP,
	EXIT_NEXT_RETRY,
	EXIT_NEXT_HALTED, /* HLT with interrupts off: the backend waits (smp_halt_wait) */
};

enum exit_next vcpu_exit_cpuid(struct vcpu *v);
enum exit_next vcpu_exit_rdmsr(struct vcpu *v);
enum exit_next vcpu_exit_wrmsr(struct vcpu *v);
enum exit_next vcpu_exit_io(struct vcpu *v, const struct io_exit *io);
/* One access to an intercepted port (its device), for IN/OUT and each INS/OUTS element. */
uint32_t vcpu_port_in(struct vcpu *v, uint16_t port, unsigned size);
void vcpu_port_out(struct vcpu *v, uint16_t port, unsigned size, uint32_t val);
/* LMSW's CR0 write (PE, MP, EM, TS; PE never cleared); false: the CPU refuses it (#GP). */
bool vcpu_lmsw(struct vcpu *v, uint16_t src);
/* A MOV to CR0, CR3 or CR4 with every check the CPU makes; false: it would #GP (nothing
 * changed).  The exit core's path, and the debugger's (core/gdbstub.c). */
bool vcpu_write_cr(struct vcpu *v, unsigned cr, uint64_t val);
enum exit_next vcpu_exit_cr(struct vcpu *v, enum cr_access_type type, unsigned cr, enum gpr reg,
			    uint16_t lmsw_src);
/* MOV to CR3 from reg, the frequent CR exit (with the flush exits armed): vcpu_exit_cr's
 * path for it, without the dispatch. */
enum exit_next vcpu_exit_mov_to_cr3(struct vcpu *v, enum gpr reg);
enum exit_next vcpu_exit_invlpg(struct vcpu *v, uint64_t la);
/* INVPCID: checked and its descriptor read like the CPU does (exit_invpcid.c). */
enum exit_next vcpu_exit_invpcid(struct vcpu *v);
enum exit_next vcpu_exit_hlt(struct vcpu *v);
enum exit_next vcpu_exit_hypercall(struct vcpu *v);
/* The same with the guest's CPL, where the backend has it at hand (no ops call on the way). */
enum exit_next vcpu_exit_hypercall_at(struct vcpu *v, unsigned cpl);
enum exit_next vcpu_exit_xsetbv(struct vcpu *v);
/* #UD intercepted: the other vendor's hypercall instruction, or reflected to the guest. */
void vcpu_exit_ud(struct vcpu *v);
/* The guest ran a virtualization instruction mhv hides (VMX/SVM ops): #UD. */
void vcpu_exit_hidden_insn(struct vcpu *v);
void vcpu_exit_triple_fault(struct vcpu *v);
/*
 * Guest touched guest-physical memory that is not its RAM (mhv's range, or unmapped).
 * final: the exit is for the access's final translation (not the guest's page walk).  The
 * backend has tried the MMIO short path first (mmio_short_exit()) where it applies.
 */
void vcpu_exit_npf(struct vcpu *v, uint64_t gpa, uint64_t gla, bool gla_valid, bool write,
		   bool fetch, bool final);
/* Anything the backend could not translate: logged with guest state, run ends. */
void vcpu_exit_unknown(struct vcpu *v, const char *what, uint64_t code);

/* Every guest TLB flush mhv sees goes through here. */
void vcpu_guest_tlb_flush(struct vcpu *v, enum tlb_flush_cause cause, uint64_t la);

void vcpu_end_run(struct vcpu *v, int status, const char *why);
void vcpu_print_stats(const struct vcpu *v);

static inline void vcpu_skip(struct vcpu *v, unsigned insn_len)
{
	v->ops->set_rip(v, v->ops->get_rip(v) + insn_len);
}

#endif
