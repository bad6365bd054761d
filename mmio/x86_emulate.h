/*
 * x86 MMIO instruction emulator.
 *
 * After an EPT violation / nested page fault on a device page, mhv calls x86_emulate() with a
 * per-vCPU context.  The emulator fetches and decodes the guest instruction, performs it through
 * the callbacks below (which route each access to guest RAM or to a device model) and commits
 * registers only when the whole instruction succeeded, so a fault leaves the guest state as
 * the hardware would: untouched, except for the completed iterations of a REP string op.
 *
 * Pure C, no global state: everything lives in struct x86_emu_ctx.  Vector registers are only
 * reached through get_vec/set_vec so the emulator itself never uses SSE.
 */
#ifndef MHV_MMIO_X86_EMULATE_H
#define MHV_MMIO_X86_EMULATE_H

#include <stdbool.h>
#include <stdint.h>

#include "mmio/x86_decode.h"

/* Exception vectors the emulator can raise. */
enum x86_vector {
	X86_EXC_DE = 0,
	X86_EXC_UD = 6,
	X86_EXC_NM = 7,
	X86_EXC_NP = 11,
	X86_EXC_SS = 12,
	X86_EXC_GP = 13,
	X86_EXC_PF = 14,
	X86_EXC_MF = 16,
	X86_EXC_AC = 17,
};

/* An exception for the caller to inject into the guest. */
struct x86_exception {
	uint8_t vector;
	bool has_error_code;
	uint32_t error_code;
	uint64_t cr2; /* faulting linear address, for #PF only */
};

/* Extra registers addressed by get_reg/set_reg after the 16 GPRs (enum x86_gpr). */
#define X86_REG_RIP    X86_NR_GPRS
#define X86_REG_RFLAGS (X86_NR_GPRS + 1)

/* RFLAGS bits. */
#define X86_FL_CF    (1ull << 0)
#define X86_FL_FIXED (1ull << 1)
#define X86_FL_PF    (1ull << 2)
#define X86_FL_AF    (1ull << 4)
#define X86_FL_ZF    (1ull << 6)
#define X86_FL_SF    (1ull << 7)
#define X86_FL_TF    (1ull << 8)
#define X86_FL_IF    (1ull << 9)
#define X86_FL_DF    (1ull << 10)
#define X86_FL_OF    (1ull << 11)
#define X86_FL_VM    (1ull << 17)
#define X86_FL_AC    (1ull << 18)
#define X86_FL_ARITH (X86_FL_CF | X86_FL_PF | X86_FL_AF | X86_FL_ZF | X86_FL_SF | X86_FL_OF)

/* Control register bits the emulator looks at. */
#define X86_CR0_PE	(1ull << 0)
#define X86_CR0_MP	(1ull << 1)
#define X86_CR0_EM	(1ull << 2)
#define X86_CR0_TS	(1ull << 3)
#define X86_CR0_AM	(1ull << 18)
#define X86_CR4_VME	(1ull << 0)
#define X86_CR4_OSFXSR	(1ull << 9)
#define X86_CR4_UMIP	(1ull << 11)
#define X86_CR4_OSXSAVE (1ull << 18)
#define X86_EFER_LMA	(1ull << 10)

/* Segment register, attributes in the VMX access-rights layout (SVM callers convert). */
struct x86_segment {
	uint64_t base;
	uint32_t limit; /* byte granular (already scaled by G) */
	uint16_t selector;
	uint32_t attr;
};
#define X86_SEG_TYPE_MASK  0xfu
#define X86_SEG_TYPE_CODE  0x8u
#define X86_SEG_TYPE_EXPDN 0x4u /* data: expand-down */
#define X86_SEG_TYPE_WR	   0x2u /* data: writable; code: readable */
#define X86_SEG_ATTR_S	   (1u << 4)
#define X86_SEG_ATTR_P	   (1u << 7)
#define X86_SEG_ATTR_L	   (1u << 13)
#define X86_SEG_ATTR_DB	   (1u << 14)
#define X86_SEG_ATTR_G	   (1u << 15)
#define X86_SEG_UNUSABLE   (1u << 16)

/* System segment and descriptor-table registers (get_sysseg/set_dtr). */
enum x86_sys_seg {
	X86_SYS_GDTR,
	X86_SYS_IDTR,
	X86_SYS_LDTR,
	X86_SYS_TR,
};

/* SDM vol.3 5.3/5.4: may a data access of size bytes at offset ea go through segment s?
 * Protected mode checks type and limit (expand-down included); real and v86 mode only the
 * limit. */
bool x86_segment_allows(const struct x86_segment *s, bool real_or_v86, uint64_t ea,
			unsigned int size, bool write);
/* Is la canonical for the paging mode (57 bits with CR4.LA57, else 48)? */
bool x86_canonical(uint64_t la, uint64_t cr4);

/* Control state from which the execution mode is derived. */
struct x86_cpu_ctl {
	uint64_t cr0, cr4, efer;
	uint8_t cpl;
};

/*
 * Callbacks.  opaque is ctx->opaque.  Memory callbacks take a guest LINEAR address; the
 * emulator never passes an access that crosses a 4 KiB page boundary (it splits them), so
 * the caller can translate once and dispatch to RAM or a device.  They return 0, or non-zero
 * after filling *exc with the exception to inject (#PF with error code and cr2, ...).
 */
struct x86_emu_ops {
	uint64_t (*get_reg)(void *opaque, unsigned int reg); /* enum x86_gpr, X86_REG_RIP/RFLAGS */
	void (*set_reg)(void *opaque, unsigned int reg, uint64_t val);
	void (*get_seg)(void *opaque, unsigned int seg, struct x86_segment *s); /* enum x86_seg */
	void (*get_ctl)(void *opaque, struct x86_cpu_ctl *ctl);
	int (*fetch)(void *opaque, uint64_t la, void *buf, unsigned int len,
		     struct x86_exception *exc);
	int (*read)(void *opaque, uint64_t la, void *buf, unsigned int len,
		    struct x86_exception *exc);
	int (*write)(void *opaque, uint64_t la, const void *buf, unsigned int len,
		     struct x86_exception *exc);
	/* XMM/YMM register idx as little-endian bytes; len is 4, 8, 16 or 32. */
	void (*get_vec)(void *opaque, unsigned int idx, uint8_t *buf, unsigned int len);
	/* Write len bytes; zero_upper: also clear the register above len up to its maximum. */
	void (*set_vec)(void *opaque, unsigned int idx, const uint8_t *buf, unsigned int len,
			bool zero_upper);
	/*
	 * Optional (NULL: none).  Would a read (or write) of len bytes at la, within one page,
	 * succeed?  Returns like read/write but touches nothing.  A data access that crosses a
	 * page is probed page by page first, so it faults before either part is done, as on
	 * the CPU (no half-written operand, no device access for an access that then faults);
	 * so is every page of a multi-part store (FXSAVE, a stack frame) before its first part.
	 */
	int (*probe)(void *opaque, uint64_t la, unsigned int len, bool write,
		     struct x86_exception *exc);
	/*
	 * Optional system-register access (NULL: the instructions needing it are not emulated).
	 * get_sysseg: base/limit (GDTR, IDTR) and selector too (LDTR, TR) of enum x86_sys_seg.
	 * set_dtr: load GDTR/IDTR (LGDT/LIDT, privilege and canonical checks already done).
	 * lmsw: LMSW's CR0 write (CPL checked); non-zero after filling *exc if refused.
	 */
	void (*get_sysseg)(void *opaque, unsigned int which, struct x86_segment *s);
	int (*set_dtr)(void *opaque, unsigned int which, uint64_t base, uint32_t limit,
		       struct x86_exception *exc);
	int (*lmsw)(void *opaque, uint16_t src, struct x86_exception *exc);
	/*
	 * Optional MMX register access (NULL: MMX forms are not emulated).  Reads (write false)
	 * or writes *val of MMi, and makes the x87 state what any MMX instruction leaves: TOP 0,
	 * every tag valid (a write also sets the register's exponent bits).  Non-zero if an x87
	 * exception is pending (the instruction then raises #MF and nothing changes).
	 */
	int (*mmx)(void *opaque, unsigned int idx, bool write, uint64_t *val);
	/*
	 * Optional FXSAVE/FXRSTOR (NULL: not emulated).  fxsave fills the X86_FXSR_AREA-byte
	 * image of the guest's x87/SSE state (rex_w: the 64-bit FPU pointer format); fxrstor
	 * loads the first len bytes of img (the rest of the state stays), non-zero after filling
	 * *exc if the CPU refuses it (reserved MXCSR bits: #GP(0)).
	 */
	void (*fxsave)(void *opaque, uint8_t *img, bool rex_w);
	int (*fxrstor)(void *opaque, const uint8_t *img, unsigned int len, bool rex_w,
		       struct x86_exception *exc);
	/*
	 * Optional segment loads (NULL: MOV Sreg is not emulated).  sys_access: an implicit
	 * supervisor access to a descriptor table at linear la (ring-3 code reads the GDT too),
	 * or to an inner ring's stack, within one page, like read/write; buf NULL: a probe, as
	 * ops->probe but supervisor (checked, nothing accessed).  set_seg: load segment register seg (enum x86_seg)
	 * with s, attributes in the VMX layout (X86_SEG_UNUSABLE for a null selector).
	 */
	int (*sys_access)(void *opaque, uint64_t la, void *buf, unsigned int len, bool write,
			  struct x86_exception *exc);
	void (*set_seg)(void *opaque, unsigned int seg, const struct x86_segment *s);
	/*
	 * Optional (NULL: LLDT/LTR are not emulated).  Load LDTR or TR (enum x86_sys_seg) with
	 * s: selector, base, limit, attributes in the VMX layout (X86_SEG_UNUSABLE for LLDT's
	 * null selector), after the emulator's checks.
	 */
	void (*set_sysseg)(void *opaque, unsigned int which, const struct x86_segment *s);
	/*
	 * Optional XSAVE/XRSTOR (NULL: not emulated; mmio/x86_emu_xsave.c).  xsave_area: the
	 * caller's scratch buffer (64-byte aligned, *cap bytes) and the guest's XCR0.
	 * xsave_extent: bytes of an XSAVE area holding the components (standard or compacted
	 * layout; legacy region and header included).  xsave: XSAVE (rex_w: XSAVE64) with
	 * RFBM rfbm into the scratch buffer, over what it holds.  xrstor: XRSTOR (rex_w) with
	 * rfbm from it; non-zero after filling *exc if the CPU refuses the image (#GP(0)).
	 */
	uint8_t *(*xsave_area)(void *opaque, uint32_t *cap, uint64_t *xcr0);
	uint32_t (*xsave_extent)(void *opaque, uint64_t components, bool compacted);
	void (*xsave)(void *opaque, uint64_t rfbm, bool rex_w);
	int (*xrstor)(void *opaque, uint64_t rfbm, bool rex_w, struct x86_exception *exc);
	/*
	 * Optional port I/O (NULL: INS/OUTS are not emulated): one access of size bytes (1, 2,
	 * 4) to port, *val in (in: filled) or out, by the path an intercepted IN/OUT takes.
	 * Called after the I/O permission check, once per element.
	 */
	void (*port_io)(void *opaque, uint16_t port, unsigned int size, bool in, uint32_t *val);
	/*
	 * Optional (NULL: XSAVEOPT / XSAVEC are not emulated).  xsave_layout: component i's
	 * offset in the standard form (CPUID.(0xD,i).EBX) and its size (*size, .EAX).  xsavec:
	 * XSAVEC (rex_w: XSAVEC64) with RFBM rfbm into the scratch buffer, over what it holds.
	 */
	uint32_t (*xsave_layout)(void *opaque, unsigned int i, uint32_t *size);
	void (*xsavec)(void *opaque, uint64_t rfbm, bool rex_w);
	/*
	 * Optional (NULL: XSAVES / XRSTORS are not emulated).  xss: 0 with *xss = IA32_XSS if
	 * the guest may execute XSAVES/XRSTORS at all (its CPUID has them: on VMX the CPU raises
	 * #UD without the enable control, and mhv's CPUID policy hides them then), non-zero if
	 * not (#UD).  xsaves: XSAVES (rex_w: XSAVES64) with rfbm into the scratch buffer, over
	 * what it holds.  xrstors: XRSTORS (rex_w) with rfbm from it; non-zero after filling *exc
	 * if the CPU refuses the image (#GP(0)).
	 */
	int (*xss)(void *opaque, uint64_t *xss);
	void (*xsaves)(void *opaque, uint64_t rfbm, bool rex_w);
	int (*xrstors)(void *opaque, uint64_t rfbm, bool rex_w, struct x86_exception *exc);
	/*
	 * Optional (NULL: read/write with a byte buffer).  read/write of len 1, 2, 4 or 8 bytes
	 * within one page with the value in a register (little-endian, zero-extended), for a
	 * caller whose devices take values: no conversion through a buffer on either side.
	 */
	int (*read_value)(void *opaque, uint64_t la, unsigned int len, uint64_t *val,
			  struct x86_exception *exc);
	int (*write_value)(void *opaque, uint64_t la, unsigned int len, uint64_t val,
			   struct x86_exception *exc);
	/*
	 * Optional (NULL: probe for writing, then read_value).  A read-modify-write's read, as
	 * read_value, after the check probe(write) makes: an access the write would fault on
	 * faults here, before the device sees the read.
	 */
	int (*rmw_read_value)(void *opaque, uint64_t la, unsigned int len, uint64_t *val,
			      struct x86_exception *exc);
	/*
	 * Optional (NULL: set_reg per register).  The registers an instruction wrote, as the
	 * set_reg calls would make them in this order: gpr[i] for each bit i of dirty, then
	 * *rip if rip, then rflags if set_rflags.
	 */
	void (*commit)(void *opaque, const uint64_t *gpr, uint32_t dirty, const uint64_t *rip,
		       uint64_t rflags, bool set_rflags);
};

#define X86_FXSR_AREA 512

enum x86_emu_status {
	X86_EMU_OK = 0,		 /* done: registers committed, RIP = next_rip */
	X86_EMU_EXCEPTION = 1,	 /* inject res->exc; guest state unchanged (see REP below) */
	X86_EMU_UNSUPPORTED = 2, /* decoded but not emulated: log it, inject res->exc (#UD) */
};

struct x86_emu_result {
	int status;	   /* enum x86_emu_status */
	uint8_t insn_len;  /* bytes of the instruction (0 if it could not be fetched) */
	uint64_t next_rip; /* RIP after the instruction (== old RIP if a REP op continues) */
	bool rep_continue; /* REP op stopped after a batch: RIP not advanced, re-enter */
	bool mov_ss_shadow; /* SS was loaded: interrupts (and the single-step trap) wait one
			       more instruction; the caller sets the CPU's interrupt shadow */
	struct x86_exception exc;
	struct x86_insn insn; /* the decoded instruction, for logging (a caller-decoded one: only
				 when it did not complete, status other than X86_EMU_OK) */
};

/*
 * The CPU vendor whose behaviour the emulator reproduces where Intel and AMD CPUs differ and
 * a guest can tell (mmio/x86_vendor.c lists every such place).  A guest on a device page must
 * see what the CPU it runs on would do, and the differential test compares with the host CPU.
 */
enum x86_vendor {
	X86_VENDOR_INTEL = 0, /* also the other vendors that follow Intel (Centaur, Zhaoxin) */
	X86_VENDOR_AMD = 1,   /* also Hygon (AMD Zen cores) */
};

/* The vendor from CPUID leaf 0's identification string (EBX, EDX, ECX in that order). */
enum x86_vendor x86_vendor_from_cpuid(uint32_t ebx, uint32_t edx, uint32_t ecx);

/*
 * CPU features that change what an encoding does (CPUID bits as the guest sees them):
 * without BMI1/LZCNT, F3 0F BC/BD are BSF/BSR (F3 ignored); without POPCNT, F3 0F B8 is #UD;
 * without SSE4.2, CRC32 is #UD.
 */
#define X86_FEAT_POPCNT (1u << 0) /* CPUID.1:ECX[23] */
#define X86_FEAT_LZCNT	(1u << 1) /* CPUID.80000001h:ECX[5] (ABM) */
#define X86_FEAT_BMI1	(1u << 2) /* CPUID.(7,0):EBX[3] (TZCNT) */
#define X86_FEAT_SSE42	(1u << 3) /* CPUID.1:ECX[20] (CRC32) */
#define X86_FEAT_XSAVEOPT (1u << 4) /* CPUID.(0xD,1):EAX[0] */
#define X86_FEAT_XSAVEC	  (1u << 5) /* CPUID.(0xD,1):EAX[1] */

/* The X86_FEAT_* bits from the CPUID words named above. */
uint32_t x86_features_from_cpuid(uint32_t leaf1_ecx, uint32_t leaf7_ebx, uint32_t ext1_ecx);
/* X86_FEAT_XSAVEOPT/XSAVEC from CPUID.(0xD,1):EAX (read only where CPUID.1:ECX has XSAVE). */
uint32_t x86_xsave_features_from_cpuid(uint32_t leafd1_eax);

/* Maximum REP iterations done in one x86_emulate() call. */
#define X86_EMU_REP_BATCH_MAX 64

struct x86_emu_regcache {
	uint64_t gpr[X86_NR_GPRS];
	uint64_t rip, rflags;
	uint32_t loaded, dirty; /* bit per GPR */
	/* Bit per GPR read from x86_emu_enter()'s array in place (all but RSP), until written. */
	uint32_t direct;
};

/* The GPRs x86_emu_enter()'s array gives: all but RSP (enum x86_gpr bits). */
#define X86_EMU_GPRS_IN_PLACE (((1u << X86_NR_GPRS) - 1) & ~(1u << X86_RSP))

/*
 * One per vCPU.  Fill ops/opaque, vendor, features (and optionally rep_batch) once; the rest is
 * scratch.  A zeroed vendor means Intel.
 */
struct x86_emu_ctx {
	const struct x86_emu_ops *ops;
	void *opaque;
	unsigned int rep_batch; /* REP iterations per call: 1..X86_EMU_REP_BATCH_MAX (0 = 1) */
	enum x86_vendor vendor; /* the CPU the guest runs on */
	uint32_t features;	/* X86_FEAT_* of that CPU (0: none of them) */

	/* Per-instruction state (internal; before x86_emulate_entered() the caller's: ctl by
	 * its get_ctl, rc.rip, rc.rflags, gpr and rc.direct by x86_emu_enter()). */
	struct x86_cpu_ctl ctl;
	enum x86_mode mode;
	bool real_or_v86;
	struct x86_emu_regcache rc;
	struct x86_emu_result *res;
	/* The instruction being executed: res->insn, or the caller's decode (x86_emulate_decoded,
	 * x86_emulate_entered), which is copied to res->insn only if it does not complete. */
	const struct x86_insn *insn;
	const uint64_t *gpr; /* x86_emu_enter()'s gpr, read for the rc.direct bits only */
	/* The memory operand x86e_check_write() passed last in this instruction, with its
	 * linear address: a read-modify-write's read and write skip the segment checks it made
	 * (a write's pass the read's too), as long as the operand is the same (op: NULL none);
	 * value: it is one access a value callback takes (1, 2, 4 or 8 bytes within a page). */
	struct {
		const void *op;
		uint64_t ea, la;
		uint8_t seg, size;
		bool value;
	} rmw;
};

/*
 * Emulate the instruction at the guest's CS:RIP.  REP string instructions run at most
 * rep_batch iterations per call; if RCX is not exhausted RIP is left on the instruction
 * (res->rep_continue) so the guest re-executes it, exactly like an interrupted REP.
 * Returns 0 or -enum x86_emu_status; the same status is in res->status.
 */
int x86_emulate(struct x86_emu_ctx *ctx, struct x86_emu_result *res);

/* Same, with instruction bytes already at hand (e.g. from SVM decode assists); fetches the
 * rest through ops->fetch if bytes[0..n) do not hold the whole instruction. */
int x86_emulate_bytes(struct x86_emu_ctx *ctx, const uint8_t *bytes, unsigned int n,
		      struct x86_emu_result *res);

/*
 * Same, with the instruction at CS:RIP already decoded by the caller (in: the bytes at the
 * current CS:RIP, decoded for the current code mode, e.g. by an MMIO fast path that then
 * declined it); it is not fetched or decoded again.  A decode for another mode is ignored
 * and the instruction fetched.
 */
int x86_emulate_decoded(struct x86_emu_ctx *ctx, const struct x86_insn *in,
			struct x86_emu_result *res);

/*
 * The entry state: what an emulation reads first through the callbacks (get_ctl, get_reg(RIP)
 * and get_reg(RFLAGS)), for a caller that holds it already, written into ctx in place (no copy
 * between): ctx->ctl as get_ctl() fills it, then x86_emu_enter().  Each must be what that
 * callback would return now.  gpr: the caller's GPRs, indexed by enum x86_gpr, read in place of
 * ops->get_reg (RSP still through it); NULL: every one through ops->get_reg.  Writes still go
 * to ops->set_reg / ops->commit.
 */
static inline void x86_emu_enter(struct x86_emu_ctx *ctx, uint64_t rip, uint64_t rflags,
				 const uint64_t *gpr)
{
	ctx->rc.rip = rip;
	ctx->rc.rflags = rflags;
	ctx->gpr = gpr;
	ctx->rc.direct = gpr ? X86_EMU_GPRS_IN_PLACE : 0;
}

/* x86_emulate_decoded() from the entry state above and cs, what get_seg(CS) would return (in
 * may be NULL: fetched and decoded). */
int x86_emulate_entered(struct x86_emu_ctx *ctx, const struct x86_insn *in,
			const struct x86_segment *cs, struct x86_emu_result *res);

/*
 * An event the CPU was delivering through the IDT when one of its accesses (usually the
 * stack frame) reached a device page; x86_deliver_event() completes the delivery.
 */
enum x86_event_kind {
	X86_EVENT_EXT_INTR,  /* external interrupt */
	X86_EVENT_NMI,	     /* non-maskable interrupt */
	X86_EVENT_HW_EXC,    /* hardware exception */
	X86_EVENT_SOFT_INT,  /* INT n: the gate's DPL is checked, RIP moves past it */
	X86_EVENT_SOFT_EXC,  /* INT3, INTO: the same */
	X86_EVENT_PRIV_SOFT, /* INT1 (ICEBP): RIP moves past it, no DPL check */
};

struct x86_event {
	uint8_t vector;
	uint8_t kind; /* enum x86_event_kind */
	bool has_error_code;
	uint32_t error_code;
	uint8_t insn_len; /* software events: the instruction's length */
};

/*
 * Deliver ev at the guest's current state (RIP: the faulting instruction, or the software
 * interrupt instruction).  X86_EMU_OK: the frame is pushed, CS:RIP is the handler and RFLAGS
 * updated.  X86_EMU_EXCEPTION: the delivery itself faulted (res->exc; x86_event_nested()
 * says what the CPU makes of it), nothing committed.  X86_EMU_UNSUPPORTED: a delivery the
 * emulator does not do (mmio/x86_emu_event.c lists them), nothing changed.
 */
int x86_deliver_event(struct x86_emu_ctx *ctx, const struct x86_event *ev,
		      struct x86_emu_result *res);

/*
 * A debugger's write of segment register seg (enum x86_seg) with selector sel: the descriptor
 * load and checks of MOV Sreg (CS: a code segment usable at the current CPL and mode, as a
 * near-enough far JMP), its accessed bit set, the register loaded.  X86_EMU_OK, or
 * X86_EMU_EXCEPTION (res->exc: the fault the CPU would raise) with nothing changed.
 */
int x86_load_sreg(struct x86_emu_ctx *ctx, unsigned int seg, uint16_t sel,
		  struct x86_emu_result *res);

/* A second exception raised while the CPU delivered first (SDM vol.3 table 6-5). */
enum x86_nested {
	X86_NESTED_SERIAL,   /* deliver the second exception */
	X86_NESTED_DF,	     /* a double fault (#DF, error code 0) */
	X86_NESTED_SHUTDOWN, /* a fault while delivering #DF: triple fault */
};
enum x86_nested x86_event_nested(const struct x86_event *first, unsigned int second_vector);

/* True if x86_emulate() would execute this decoded instruction (not X86_EMU_UNSUPPORTED). */
bool x86_emu_would_execute(const struct x86_insn *in);

#endif
