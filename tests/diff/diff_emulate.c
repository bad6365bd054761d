/*
 * Differential test: mmio/x86_emulate against native execution on the host CPU.
 *
 * Each case is an instruction (from templates covering every emulated form) with random
 * operands.  It runs natively from an executable page with registers, flags, YMM registers
 * and a RAM buffer loaded from the case, and in the emulator with callbacks that treat a copy
 * of the same buffer as guest memory.  Registers, defined flags, YMM and memory must match;
 * natively faulting cases (#DE, #GP) must raise the same vector in the emulator.
 *
 * The emulator runs as the host CPU's vendor (CPUID leaf 0), as mhv runs it as the vendor of
 * the CPU its guest runs on.  Flags the SDM leaves undefined are compared too on the vendor
 * and family whose behaviour the emulator's model was measured on (measured_models below);
 * elsewhere they are masked.
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#include "mmio/x86_emulate.h"
#include "tests/emu_value_ops.h"

#define STATE_ADDR	   0x10000000ul
#define DATA_ADDR	   0x20000000ul
#define CODE_ADDR	   0x30000000ul
#define DATA_SIZE	   0x2000u
#define PG		   0x1000u
#define CASES_PER_TEMPLATE 1500
#define MAX_REPORT	   20
#define NO_FAULT	   0xff
#define FL_NT_ID	   ((1ull << 14) | (1ull << 21))

/* Layout of the state page, shared with the assembly harness below. */
struct nstate {
	uint64_t gpr[16];    /* 0x000 */
	uint64_t rflags;     /* 0x080 */
	uint64_t host_rsp;   /* 0x088 */
	uint64_t code_ptr;   /* 0x090 */
	uint64_t ret_ptr;    /* 0x098 */
	uint64_t mm[8];	     /* 0x0a0 */
	uint8_t pad[0x20];   /* to 0x100 */
	uint8_t ymm[16][32]; /* 0x100 */
};

extern void native_run(void);
extern char native_ret[];

#define S(off) "0x1000" off
__asm__(".text\n"
	".globl native_run\n"
	"native_run:\n"
	"push %rbx; push %rbp; push %r12; push %r13; push %r14; push %r15\n"
	"movq %rsp, 0x10000088\n"
	".irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n"
	"vmovdqu 0x10000100+\\i*32, %ymm\\i\n"
	".endr\n"
	".irp i,0,1,2,3,4,5,6,7\n"
	"movq 0x100000a0+\\i*8, %mm\\i\n"
	".endr\n"
	"pushq 0x10000080\n"
	"popfq\n"
	"movq 0x10000000, %rax; movq 0x10000008, %rcx; movq 0x10000010, %rdx\n"
	"movq 0x10000018, %rbx; movq 0x10000028, %rbp; movq 0x10000030, %rsi\n"
	"movq 0x10000038, %rdi; movq 0x10000040, %r8; movq 0x10000048, %r9\n"
	"movq 0x10000050, %r10; movq 0x10000058, %r11; movq 0x10000060, %r12\n"
	"movq 0x10000068, %r13; movq 0x10000070, %r14; movq 0x10000078, %r15\n"
	"movq 0x10000020, %rsp\n"
	"jmp *0x10000090\n"
	".globl native_ret\n"
	"native_ret:\n"
	"movq %rax, 0x10000000; movq %rcx, 0x10000008; movq %rdx, 0x10000010\n"
	"movq %rbx, 0x10000018; movq %rsp, 0x10000020; movq %rbp, 0x10000028\n"
	"movq %rsi, 0x10000030; movq %rdi, 0x10000038; movq %r8, 0x10000040\n"
	"movq %r9, 0x10000048; movq %r10, 0x10000050; movq %r11, 0x10000058\n"
	"movq %r12, 0x10000060; movq %r13, 0x10000068; movq %r14, 0x10000070\n"
	"movq %r15, 0x10000078\n"
	"movq 0x10000088, %rsp\n"
	"pushfq; popq 0x10000080; cld\n"
	".irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n"
	"vmovdqu %ymm\\i, 0x10000100+\\i*32\n"
	".endr\n"
	"vzeroupper\n"
	".irp i,0,1,2,3,4,5,6,7\n"
	"movq %mm\\i, 0x100000a0+\\i*8\n"
	".endr\n"
	"emms\n"
	"pop %r15; pop %r14; pop %r13; pop %r12; pop %rbp; pop %rbx\n"
	"ret\n");

static struct nstate *ns = (struct nstate *)STATE_ADDR;
static uint8_t *ndata = (uint8_t *)DATA_ADDR;
static uint8_t *ncode = (uint8_t *)CODE_ADDR;
static sigjmp_buf fault_jb;
static volatile int fault_vec;
static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void on_fault(int sig, siginfo_t *si, void *uc_)
{
	ucontext_t *uc = uc_;

	(void)sig;
	(void)si;
	fault_vec = (int)uc->uc_mcontext.gregs[REG_TRAPNO];
	siglongjmp(fault_jb, 1);
}

/* ---- one test case ---- */
struct tcase {
	uint8_t code[16];
	unsigned int len;
	uint64_t gpr[16], rflags;
	uint8_t ymm[16][32];
	uint64_t mm[8];
	uint8_t mem[DATA_SIZE];
	uint64_t flag_undef; /* flags the SDM leaves undefined for this instruction */
	bool regform;	     /* ModRM.mod == 3 */
	bool result_undef;   /* the SDM leaves the result itself undefined (SHLD/SHRD > 16) */
	bool undef_if_zf;    /* ... when the instruction sets ZF (BSF/BSR of a zero source) */
	bool far;	     /* a far branch: CS must be loaded (with host_cs) */
	bool iret;	     /* IRET: SS must be loaded too (with host_ss) */
};

struct emu_state {
	uint64_t gpr[16], rip, rflags;
	uint8_t ymm[16][32];
	uint64_t mm[8];
	uint8_t mem[DATA_SIZE];
	const uint8_t *code;
	unsigned int code_len;
	bool cs_loaded; /* far branches: set_seg(CS) was called with cs_sel */
	uint16_t cs_sel;
	bool ss_loaded; /* IRET: set_seg(SS) was called with ss_sel */
	uint16_t ss_sel;
};

static uint64_t cb_get_reg(void *o, unsigned int r)
{
	struct emu_state *s = o;

	return r < 16 ? s->gpr[r] : r == X86_REG_RIP ? s->rip : s->rflags;
}

static void cb_set_reg(void *o, unsigned int r, uint64_t v)
{
	struct emu_state *s = o;

	if (r < 16)
		s->gpr[r] = v;
	else if (r == X86_REG_RIP)
		s->rip = v;
	else
		s->rflags = v;
}

/* The process's code segment (Linux: __USER_CS, a 64-bit DPL-3 code descriptor). */
static uint16_t host_cs, host_ss;
/* The selectors PUSH Sreg stores (enum x86_seg); GS is loaded with host_ss so one is not 0. */
static uint16_t host_sel[6];
#define USER_CS_DESC 0x00affb000000ffffull /* base 0, limit 4G, L, DPL 3, accessed */
#define USER_DS_DESC 0x00cff3000000ffffull /* base 0, limit 4G, DPL 3 data, accessed */

static void cb_get_seg(void *o, unsigned int seg, struct x86_segment *sg)
{
	(void)o;
	memset(sg, 0, sizeof(*sg));
	sg->limit = 0xffffffffu;
	sg->attr = X86_SEG_ATTR_P | X86_SEG_ATTR_S | X86_SEG_ATTR_G | 0x3;
	sg->selector = seg < 6 ? host_sel[seg] : 0;
	if (seg == X86_SEG_CS) {
		sg->attr = X86_SEG_ATTR_P | X86_SEG_ATTR_S | X86_SEG_ATTR_L | 0xb;
		sg->selector = host_cs;
	}
}

/* The host's CR4.UMIP as user mode sees it (SGDT faults), and what SGDT/SIDT/SLDT/STR/SMSW
 * show user mode where it is off. */
static bool host_umip;
static struct x86_segment host_sys[4];
static uint64_t host_cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_AM;

static void cb_get_ctl(void *o, struct x86_cpu_ctl *c)
{
	(void)o;
	c->cr0 = host_cr0;
	c->cr4 = X86_CR4_OSFXSR | X86_CR4_OSXSAVE | (host_umip ? X86_CR4_UMIP : 0);
	c->efer = X86_EFER_LMA;
	c->cpl = 3;
}

static int pf(struct x86_exception *x, uint64_t la, bool write)
{
	x->vector = X86_EXC_PF;
	x->has_error_code = true;
	x->error_code = (write ? 2 : 0) | 4;
	x->cr2 = la;
	return -1;
}

/* [la, la+len) within [base, base+size), without overflowing near the top of the address
 * space (a wrapped emulated access such as BT with a negative bit offset reaches there). */
static bool inside(uint64_t la, unsigned int len, uint64_t base, uint64_t size)
{
	return la >= base && len <= size && la - base <= size - len;
}

static int cb_fetch(void *o, uint64_t la, void *buf, unsigned int len, struct x86_exception *x)
{
	struct emu_state *s = o;

	/* The code page is mapped; bytes past the instruction read as what follows it. */
	if (!inside(la, len, CODE_ADDR, PG))
		return pf(x, la, false);
	for (unsigned int i = 0; i < len; i++) {
		uint64_t off = la - CODE_ADDR + i;

		((uint8_t *)buf)[i] = off < s->code_len ? s->code[off] : 0xcc;
	}
	return 0;
}

static int cb_read(void *o, uint64_t la, void *buf, unsigned int len, struct x86_exception *x)
{
	struct emu_state *s = o;

	if (len == 0 || len > PG || (la & ~(PG - 1ul)) != ((la + len - 1) & ~(PG - 1ul)))
		abort(); /* the emulator promised page-contained accesses */
	if (!inside(la, len, DATA_ADDR, DATA_SIZE))
		return pf(x, la, false);
	memcpy(buf, s->mem + (la - DATA_ADDR), len);
	return 0;
}

static int cb_write(void *o, uint64_t la, const void *buf, unsigned int len,
		    struct x86_exception *x)
{
	struct emu_state *s = o;

	if (len == 0 || len > PG || (la & ~(PG - 1ul)) != ((la + len - 1) & ~(PG - 1ul)))
		abort();
	if (!inside(la, len, DATA_ADDR, DATA_SIZE))
		return pf(x, la, true);
	memcpy(s->mem + (la - DATA_ADDR), buf, len);
	return 0;
}

static void cb_get_vec(void *o, unsigned int i, uint8_t *buf, unsigned int len)
{
	struct emu_state *s = o;

	memcpy(buf, s->ymm[i & 15], len);
}

static void cb_set_vec(void *o, unsigned int i, const uint8_t *buf, unsigned int len, bool zu)
{
	struct emu_state *s = o;

	memcpy(s->ymm[i & 15], buf, len);
	if (zu)
		memset(s->ymm[i & 15] + len, 0, 32 - len);
}

static int cb_probe(void *o, uint64_t la, unsigned int len, bool write, struct x86_exception *x)
{
	(void)o;
	if (!inside(la, len, DATA_ADDR, DATA_SIZE))
		return pf(x, la, write);
	return 0;
}

/*
 * Far branches read the GDT: user mode cannot see the real GDTR (with UMIP the kernel answers
 * SGDT with a dummy), so they get a GDTR where Linux keeps its GDT and its size, and
 * cb_sys_access the descriptor Linux puts at host_cs.
 */
#define LINUX_GDT_BASE	0xfffffe0000001000ull /* CPU 0's GDT in the cpu_entry_area */
#define LINUX_GDT_LIMIT 0x7fu		      /* GDT_ENTRIES * 8 - 1 */
static bool far_case;

static void cb_get_sysseg(void *o, unsigned int which, struct x86_segment *s)
{
	(void)o;
	*s = host_sys[which & 3];
	if (far_case && which == X86_SYS_GDTR) {
		s->base = LINUX_GDT_BASE;
		s->limit = LINUX_GDT_LIMIT;
	}
}

/* Ring 3 never gets this far (LGDT/LIDT/LMSW are #GP first): reaching it is a mismatch. */
static int cb_set_dtr(void *o, unsigned int which, uint64_t base, uint32_t limit,
		      struct x86_exception *x)
{
	(void)o;
	(void)which;
	(void)base;
	(void)limit;
	(void)x;
	abort();
}

static int cb_lmsw(void *o, uint16_t src, struct x86_exception *x)
{
	(void)o;
	(void)src;
	(void)x;
	abort();
}

static int cb_mmx(void *o, unsigned int idx, bool write, uint64_t *val)
{
	struct emu_state *s = o;

	if (write)
		s->mm[idx & 7] = *val;
	else
		*val = s->mm[idx & 7];
	return 0;
}

/*
 * The kernel's GDT cannot be read from user mode: its entry for host_cs is the descriptor
 * Linux puts there (GDT_ENTRY_INIT(0xa0fb, 0, 0xfffff)); any other descriptor read is a #PF,
 * and a far branch never needs a write (the descriptor is accessed already).
 */
static int cb_sys_access(void *o, uint64_t la, void *buf, unsigned int len, bool write,
			 struct x86_exception *x)
{
	uint64_t at = LINUX_GDT_BASE + (host_cs & ~7u), d = USER_CS_DESC;

	(void)o;
	if (la >= LINUX_GDT_BASE + (host_ss & ~7u) && la < LINUX_GDT_BASE + (host_ss & ~7u) + 8) {
		at = LINUX_GDT_BASE + (host_ss & ~7u); /* and the one for SS (IRET) */
		d = USER_DS_DESC;
	}
	if (write || la < at || la + len > at + sizeof(d))
		return pf(x, la, write);
	if (buf) /* NULL: a probe */
		memcpy(buf, (uint8_t *)&d + (la - at), len);
	return 0;
}

static void cb_set_seg(void *o, unsigned int seg, const struct x86_segment *sg)
{
	struct emu_state *s = o;

	if (seg == X86_SEG_SS) { /* IRET */
		s->ss_loaded = true;
		s->ss_sel = sg->selector;
		return;
	}
	if (seg != X86_SEG_CS)
		abort(); /* no template loads another segment register */
	s->cs_loaded = true;
	s->cs_sel = sg->selector;
}

/* Ring 3 never gets this far (LLDT/LTR are #GP(0) first): reaching it is a mismatch. */
static void cb_set_sysseg(void *o, unsigned int which, const struct x86_segment *sg)
{
	(void)o;
	(void)which;
	(void)sg;
	abort();
}

/*
 * XSAVES/XRSTORS are tried at ring 3 only (#GP(0) natively, or #UD without them): the
 * emulator must stop before it needs the state, so the state callbacks abort.
 */
static uint8_t *cb_xsave_area(void *o, uint32_t *cap, uint64_t *xcr0)
{
	(void)o;
	(void)cap;
	(void)xcr0;
	abort();
}

static uint32_t cb_xsave_extent(void *o, uint64_t comp, bool compacted)
{
	(void)o;
	(void)comp;
	(void)compacted;
	abort();
}

static void cb_xsave_run(void *o, uint64_t rfbm, bool rex_w)
{
	(void)o;
	(void)rfbm;
	(void)rex_w;
	abort();
}

static int cb_xrstor_run(void *o, uint64_t rfbm, bool rex_w, struct x86_exception *x)
{
	(void)o;
	(void)rfbm;
	(void)rex_w;
	(void)x;
	abort();
}

/* XSAVES/XRSTORS exist for the guest where the host's CPUID has them (leaf 0xD.1 EAX[3]). */
static int cb_xss(void *o, uint64_t *xss)
{
	unsigned int a, b, c, d;

	(void)o;
	*xss = 0;
	__cpuid_count(0xd, 1, a, b, c, d);
	return (a & (1u << 3)) ? 0 : -1;
}


EMU_VALUE_OPS_OVER(cb_read, cb_write, cb_probe, cb_set_reg)

static const struct x86_emu_ops ops = {
	cb_get_reg, cb_set_reg, cb_get_seg,    cb_get_ctl, cb_fetch, cb_read, cb_write, cb_get_vec,
	cb_set_vec, cb_probe,	cb_get_sysseg, cb_set_dtr, cb_lmsw,  cb_mmx,  NULL,	NULL, cb_sys_access, cb_set_seg, cb_set_sysseg,
	cb_xsave_area, cb_xsave_extent, cb_xsave_run, cb_xrstor_run, NULL, NULL, cb_xsave_run,
	cb_xss, cb_xsave_run, cb_xrstor_run, value_read, value_write, value_rmw_read,
	value_commit,
};

/* ---- the host CPU ---- */

#define CPUID_VENDOR_LEAF	0
#define CPUID_FEATURES_LEAF	1
#define FAMILY_BASE(eax)	(((eax) >> 8) & 0xfu)
#define FAMILY_EXT(eax)		(((eax) >> 20) & 0xffu)
#define MODEL_BASE(eax)		(((eax) >> 4) & 0xfu)
#define MODEL_EXT(eax)		(((eax) >> 16) & 0xfu)
#define FAMILY_USES_EXT		0xfu
#define CPUID_STRUCT_LEAF	7
#define CPUID_EXT_FEATURES_LEAF 0x80000001u

/* Vendors and families on which the emulator's undefined-flag model was measured. */
static const struct {
	enum x86_vendor vendor;
	unsigned int family;
} measured_models[] = {
	{X86_VENDOR_AMD, 0x19}, /* MUL/DIV, logic AF, BT, shifts, bit scans: x86_vendor.c */
};

static enum x86_vendor host_vendor;
static uint32_t host_features;
static bool compare_undef_flags;

static const char *vendor_name(enum x86_vendor v)
{
	return v == X86_VENDOR_AMD ? "AMD" : "Intel";
}

/* UMIP on: user-mode SGDT faults.  Off: record what SGDT/SIDT/SLDT/STR/SMSW return. */
static void probe_umip(void)
{
	uint8_t dt[10];
	uint16_t sel;
	uint64_t cr0;

	if (sigsetjmp(fault_jb, 1) != 0) {
		host_umip = true;
		return;
	}
	__asm__ volatile("sgdt %0" : "=m"(dt));
	memcpy(&host_sys[X86_SYS_GDTR].base, dt + 2, 8);
	host_sys[X86_SYS_GDTR].limit = (uint32_t)(dt[0] | dt[1] << 8);
	__asm__ volatile("sidt %0" : "=m"(dt));
	memcpy(&host_sys[X86_SYS_IDTR].base, dt + 2, 8);
	host_sys[X86_SYS_IDTR].limit = (uint32_t)(dt[0] | dt[1] << 8);
	__asm__ volatile("sldt %0" : "=m"(sel));
	host_sys[X86_SYS_LDTR].selector = sel;
	__asm__ volatile("str %0" : "=m"(sel));
	host_sys[X86_SYS_TR].selector = sel;
	__asm__ volatile("smsw %0" : "=r"(cr0));
	host_cr0 = cr0;
}

static void identify_host(void)
{
	unsigned int a, b, c, d, family, model;
	char id[13] = {0};

	asm volatile("mov %%cs, %0" : "=r"(host_cs));
	asm volatile("mov %%ss, %0" : "=r"(host_ss));
	/* GS is unused by 64-bit user code: a non-null selector makes PUSH GS show its bytes. */
	asm volatile("mov %0, %%gs" : : "r"(host_ss));
	asm volatile("mov %%es, %0" : "=r"(host_sel[X86_SEG_ES]));
	asm volatile("mov %%ds, %0" : "=r"(host_sel[X86_SEG_DS]));
	asm volatile("mov %%fs, %0" : "=r"(host_sel[X86_SEG_FS]));
	asm volatile("mov %%gs, %0" : "=r"(host_sel[X86_SEG_GS]));
	host_sel[X86_SEG_CS] = host_cs;
	host_sel[X86_SEG_SS] = host_ss;
	__cpuid(CPUID_VENDOR_LEAF, a, b, c, d);
	memcpy(id, &b, 4);
	memcpy(id + 4, &d, 4);
	memcpy(id + 8, &c, 4);
	host_vendor = x86_vendor_from_cpuid(b, d, c);
	__cpuid(CPUID_FEATURES_LEAF, a, b, c, d);
	{
		unsigned int a7, b7, c7, d7, ae, be, ce, de;

		__cpuid_count(CPUID_STRUCT_LEAF, 0, a7, b7, c7, d7);
		__cpuid(CPUID_EXT_FEATURES_LEAF, ae, be, ce, de);
		host_features = x86_features_from_cpuid(c, b7, ce);
	}
	family = FAMILY_BASE(a) + (FAMILY_BASE(a) == FAMILY_USES_EXT ? FAMILY_EXT(a) : 0);
	model = MODEL_BASE(a) | (family >= 6 ? MODEL_EXT(a) << 4 : 0);
	for (size_t i = 0; i < sizeof(measured_models) / sizeof(measured_models[0]); i++)
		if (measured_models[i].vendor == host_vendor && measured_models[i].family == family)
			compare_undef_flags = true;
	probe_umip();
	printf("# host UMIP %s\n",
	       host_umip ? "on: user-mode SGDT/SIDT/SLDT/STR/SMSW fault" : "off");
	printf("# host CPU %s family 0x%x model 0x%x: emulating as %s, undefined flags %s\n", id,
	       family, model, vendor_name(host_vendor),
	       compare_undef_flags ? "compared (model measured on this family)" : "masked");
}

static unsigned long n_cases, n_bad, n_faults, n_unsupported;
static unsigned int n_report;

static void report(const struct tcase *t, const char *why)
{
	n_bad++;
	if (n_report++ >= MAX_REPORT)
		return;
	printf("# mismatch (%s):", why);
	for (unsigned int i = 0; i < t->len; i++)
		printf(" %02x", t->code[i]);
	printf("\n");
}

static void run_case(struct tcase *t, unsigned int batch)
{
	static struct emu_state es;
	struct x86_emu_ctx ctx = {.ops = &ops,
				  .opaque = &es,
				  .rep_batch = batch,
				  .vendor = host_vendor,
				  .features = host_features};
	struct x86_emu_result res;
	/* Ring 3 with IOPL 0: IF is set and stays so; POPF may change TF, NT, AC and ID. */
	uint64_t mask = X86_FL_ARITH | X86_FL_DF | X86_FL_IF | X86_FL_TF | X86_FL_AC | FL_NT_ID;
	uint64_t undef = compare_undef_flags ? 0 : t->flag_undef;
	volatile int nvec = NO_FAULT;

	/* Native. */
	memcpy(ncode, t->code, t->len);
	ncode[t->len] = 0xff; /* jmp *0x10000098 */
	ncode[t->len + 1] = 0x24;
	ncode[t->len + 2] = 0x25;
	memcpy(ncode + t->len + 3, &(uint32_t){STATE_ADDR + 0x98}, 4);
	memcpy(ns->gpr, t->gpr, sizeof(t->gpr));
	ns->rflags = t->rflags;
	ns->code_ptr = CODE_ADDR;
	ns->ret_ptr = (uint64_t)native_ret;
	memcpy(ns->ymm, t->ymm, sizeof(t->ymm));
	memcpy(ns->mm, t->mm, sizeof(t->mm));
	memcpy(ndata, t->mem, DATA_SIZE);
	if (sigsetjmp(fault_jb, 1) == 0)
		native_run();
	else
		nvec = fault_vec;

	/* Emulated: REP ops are re-entered until done, like the guest re-executing them. */
	memcpy(es.gpr, t->gpr, sizeof(t->gpr));
	es.rip = CODE_ADDR;
	es.rflags = t->rflags | X86_FL_FIXED | X86_FL_IF;
	memcpy(es.ymm, t->ymm, sizeof(t->ymm));
	memcpy(es.mm, t->mm, sizeof(t->mm));
	memcpy(es.mem, t->mem, DATA_SIZE);
	es.code = t->code;
	es.code_len = t->len;
	es.cs_loaded = false;
	es.ss_loaded = false;
	far_case = t->far;
	for (int guard = 0; guard < 1000; guard++) {
		x86_emulate(&ctx, &res);
		if (res.status != X86_EMU_OK || !res.rep_continue)
			break;
	}
	n_cases++;
	if (res.status == X86_EMU_UNSUPPORTED) {
		n_unsupported++;
		report(t, "unsupported");
		return;
	}
	if (nvec != NO_FAULT) {
		n_faults++;
		if (res.status != X86_EMU_EXCEPTION || res.exc.vector != nvec)
			report(t, "native faulted, emulator did not match");
		return;
	}
	if (res.status != X86_EMU_OK) {
		report(t, "emulator raised an exception");
		if (n_report <= MAX_REPORT)
			printf("#   vector %u error code %x\n", res.exc.vector, res.exc.error_code);
		return;
	}
	if (es.rip != CODE_ADDR + t->len)
		report(t, "rip");
	else if (t->far && (!es.cs_loaded || es.cs_sel != host_cs))
		report(t, "cs");
	else if (t->iret && (!es.ss_loaded || es.ss_sel != host_ss))
		report(t, "ss");
	else if (!compare_undef_flags &&
		 (t->result_undef || (t->undef_if_zf && (ns->rflags & X86_FL_ZF))))
		return; /* an undefined result, not measured on this CPU */
	else if (memcmp(es.gpr, ns->gpr, sizeof(es.gpr))) {
		report(t, "gpr");
		for (int i = 0; i < 16 && n_report <= MAX_REPORT; i++)
			if (es.gpr[i] != ns->gpr[i])
				printf("#   r%d: in %016llx native %016llx emulated %016llx\n", i,
				       (unsigned long long)t->gpr[i],
				       (unsigned long long)ns->gpr[i],
				       (unsigned long long)es.gpr[i]);
	} else if ((es.rflags ^ ns->rflags) & mask & ~undef) {
		report(t, "rflags");
		if (n_report <= MAX_REPORT)
			printf("#   rflags in %03llx native %03llx emulated %03llx\n",
			       (unsigned long long)(t->rflags & mask),
			       (unsigned long long)(ns->rflags & mask),
			       (unsigned long long)(es.rflags & mask));
	} else if (memcmp(es.mem, ndata, DATA_SIZE))
		report(t, "memory");
	else if (memcmp(es.ymm, ns->ymm, sizeof(es.ymm)))
		report(t, "ymm");
	else if (memcmp(es.mm, ns->mm, sizeof(es.mm)))
		report(t, "mmx");
}

/* ---- templates ---- */

enum addr_form { AF_BASE_D8, AF_SIB, AF_RIP, AF_REG, AF_NONE };

struct tmpl {
	const char *name;
	uint8_t pfx[4];
	uint8_t npfx;
	uint8_t op[3];
	uint8_t nop;
	int8_t reg;  /* fixed ModRM.reg, or -1 for random */
	uint8_t imm; /* immediate bytes */
	bool modrm;
	bool allow_reg;	 /* register (mod=3) form also valid */
	uint64_t undef;	 /* undefined flags */
	uint8_t special; /* see SP_* */
};

#define SP_NONE	  0
#define SP_STRING 1
#define SP_STACK  2
#define SP_BTREG  3
#define SP_MOFFS  4
#define SP_ALIGN  5 /* vector op that needs natural alignment */
#define SP_DIV	  6
#define SP_CX16	  7
#define SP_SHIFT  8  /* CL holds a count, mostly small */
#define SP_SHXD	  9  /* SHLD/SHRD: a 16-bit count past 16 leaves the result undefined */
#define SP_SCAN	  10 /* bit scans: zero and sparse sources */
#define SP_BRANCH 11 /* near CALL/JMP/RET: the target is the code after the instruction */
#define SP_POPF	  12 /* POPF: a random image without TF and AC at [RSP] */
#define SP_FRAME  13 /* ENTER/LEAVE: RBP inside the data area */
#define SP_CRC	  14 /* CRC32: every operand size (F2 66, REX.W) */
#define SP_MMX	  15 /* MMX moves: REX.W selects MOVQ for 6E/7E, no 66 (that is SSE) */
#define SP_FAR	  16 /* far JMP/CALL m16:xx, RETF: to host_cs, at the code after it */
#define SP_IRET	  17 /* IRET(Q): to host_cs:the code after it, host_ss:RSP past the frame */
#define SP_NP	  18 /* no 66 prefix: XSAVES/XRSTORS (with 66: another instruction) */

#define U_LOGIC X86_FL_AF
#define U_MUL	(X86_FL_SF | X86_FL_ZF | X86_FL_AF | X86_FL_PF)
#define U_DIV	X86_FL_ARITH
#define U_BT	(X86_FL_OF | X86_FL_SF | X86_FL_AF | X86_FL_PF)
/* OF past count 1, AF, and CF for 8/16-bit shifts by more than the width. */
#define U_SHIFT (X86_FL_OF | X86_FL_AF | X86_FL_CF)
#define U_BSF	(X86_FL_CF | X86_FL_OF | X86_FL_SF | X86_FL_AF | X86_FL_PF)
#define U_CNT	(X86_FL_OF | X86_FL_SF | X86_FL_AF | X86_FL_PF)

static void build(struct tcase *t, const struct tmpl *tp, uint8_t extra_pfx, bool rexw)
{
	unsigned int n = 0, reg, rm_reg = 0;
	enum addr_form af;
	uint8_t rex = 0x40;
	unsigned int imm = (extra_pfx == 0x66 && !rexw && tp->imm == 4) ? 2 : tp->imm; /* Iz */

	memset(t, 0, sizeof(*t));
	for (unsigned int i = 0; i < 16; i++)
		t->gpr[i] = rng();
	for (unsigned int i = 0; i < DATA_SIZE; i++)
		t->mem[i] = (uint8_t)rng();
	for (unsigned int i = 0; i < 16; i++)
		for (unsigned int j = 0; j < 32; j++)
			t->ymm[i][j] = (uint8_t)rng();
	for (unsigned int i = 0; i < 8; i++)
		t->mm[i] = rng();
	t->rflags = (rng() & X86_FL_ARITH) | X86_FL_FIXED;
	if (tp->special == SP_STRING && (rng() & 1))
		t->rflags |= X86_FL_DF;
	t->flag_undef = tp->undef;
	t->gpr[X86_RBX] = DATA_ADDR + 0x800 + (rng() & 0x3ff);
	t->gpr[X86_RSI] = rng() & 0x3f;
	t->gpr[X86_RSP] = DATA_ADDR + 0xff0 + (rng() & 0x1f);

	for (unsigned int i = 0; i < tp->npfx; i++)
		t->code[n++] = tp->pfx[i];
	if (extra_pfx)
		t->code[n++] = extra_pfx;
	reg = tp->reg >= 0 ? (unsigned int)tp->reg : (unsigned int)(rng() & 15);
	af = tp->modrm ? (enum addr_form)(rng() % (tp->allow_reg ? 4 : 3)) : AF_NONE;
	if (tp->special == SP_ALIGN || tp->special == SP_CX16)
		af = (rng() & 3) ? AF_BASE_D8 : af;
	if ((tp->special == SP_BRANCH || tp->special == SP_FAR) && tp->modrm)
		af = AF_BASE_D8; /* the pointer is placed at [rbx + disp8] below */
	if (rexw)
		rex |= 0x08;
	if (reg & 8)
		rex |= 0x04;
	if (af == AF_REG) {
		rm_reg = rng() & 15;
		if (rm_reg & 8)
			rex |= 0x01;
	}
	if (tp->nop && tp->op[0] == 0xc5) { /* VEX2: no REX */
		rex = 0x40;
		reg &= 7;
		rm_reg &= 7;
	}
	if (rex != 0x40)
		t->code[n++] = rex;
	for (unsigned int i = 0; i < tp->nop; i++)
		t->code[n++] = tp->op[i];
	if (tp->special == SP_MOFFS) {
		uint64_t a = DATA_ADDR + 0x100 + (rng() & 0x1ff);

		memcpy(t->code + n, &a, 8);
		n += 8;
	}
	if (tp->modrm) {
		switch (af) {
		case AF_BASE_D8:
			t->code[n++] = (uint8_t)(0x40 | ((reg & 7) << 3) | X86_RBX);
			t->code[n++] = (uint8_t)rng();
			if (tp->special == SP_ALIGN || tp->special == SP_CX16) {
				t->gpr[X86_RBX] &= ~0x1full;
				if (rng() & 3)
					t->code[n - 1] &= 0xe0;
			}
			break;
		case AF_SIB:
			t->code[n++] = (uint8_t)(0x44 | ((reg & 7) << 3));
			t->code[n++] = (uint8_t)((rng() & 0xc0) | (X86_RSI << 3) | X86_RBX);
			t->code[n++] = (uint8_t)rng();
			break;
		case AF_RIP: {
			int32_t d = (int32_t)(DATA_ADDR + 0x400 + (rng() & 0x3ff) - CODE_ADDR);

			t->code[n++] = (uint8_t)(((reg & 7) << 3) | 5);
			d -= (int32_t)(n + 4 + imm);
			memcpy(t->code + n, &d, 4);
			n += 4;
			break;
		}
		default:
			t->code[n++] = (uint8_t)(0xc0 | ((reg & 7) << 3) | (rm_reg & 7));
			t->regform = true;
			break;
		}
	}
	for (unsigned int i = 0; i < imm; i++)
		t->code[n++] = (uint8_t)rng();
	t->len = n;

	switch (tp->special) {
	case SP_STRING:
		t->gpr[X86_RSI] = DATA_ADDR + 0x400 + (rng() & 0x7ff);
		t->gpr[X86_RDI] = DATA_ADDR + 0x400 + (rng() & 0x7ff);
		t->gpr[X86_RCX] = rng() % 24;
		if (rng() & 1) { /* make CMPS/SCAS runs of equal data */
			memset(t->mem + 0x400, 0x5a, 0x1000);
			t->gpr[X86_RAX] = 0x5a5a5a5a5a5a5a5aull;
		}
		break;
	case SP_BTREG:
		if (af != AF_REG)
			t->gpr[reg] = (uint64_t)((int64_t)(rng() % 4096) - 2048);
		break;
	case SP_SHIFT:
	case SP_SHXD:
		t->gpr[X86_RCX] =
			(t->gpr[X86_RCX] & ~0xffull) | ((rng() & 1) ? rng() % 70 : rng() & 0xff);
		if (!(rng() & 7))
			t->gpr[X86_RCX] &= ~0xffull; /* count 0: nothing changes */
		break;
	case SP_BRANCH: {
		uint64_t target = CODE_ADDR + n, at = t->gpr[X86_RSP] - DATA_ADDR;

		if (tp->op[0] == 0xe8)
			memset(t->code + n - 4, 0, 4); /* call rel32 0 */
		if (tp->modrm)
			at = t->gpr[X86_RBX] + (uint64_t)(int64_t)(int8_t)t->code[n - 1] -
			     DATA_ADDR;
		memcpy(t->mem + at, &target, sizeof(target));
		break;
	}
	case SP_FAR: {
		/* m16:32 (or RETF's two slots); with REX.W m16:64 / 8-byte slots.  AMD reads
		 * m16:32 even then: its selector is the offset's bits 47:32, 0, a #GP(0). */
		uint64_t target = CODE_ADDR + n, sel = host_cs, at = t->gpr[X86_RSP] - DATA_ADDR;
		unsigned int size = rexw ? 8 : 4;

		t->far = true;
		if (tp->modrm)
			at = t->gpr[X86_RBX] + (uint64_t)(int64_t)(int8_t)t->code[n - 1] -
			     DATA_ADDR;
		memcpy(t->mem + at, &target, size);
		memcpy(t->mem + at + size, &sel, tp->modrm ? 2 : size);
		break;
	}
	case SP_IRET: {
		/* 4-byte slots (IRETD) or, with REX.W, 8-byte ones: RIP, CS, RFLAGS, RSP, SS. */
		unsigned int size = rexw ? 8 : 4, at = (unsigned int)(t->gpr[X86_RSP] - DATA_ADDR);
		uint64_t slot[5] = {CODE_ADDR + n, host_cs, rng() & ~(X86_FL_TF | X86_FL_AC),
				    t->gpr[X86_RSP] + 5 * size + (rng() & 0xf8), host_ss};

		t->far = true;
		t->iret = true;
		for (unsigned int i = 0; i < 5; i++)
			memcpy(t->mem + at + i * size, &slot[i], size);
		break;
	}
	case SP_POPF: {
		uint64_t img = rng() & ~(X86_FL_TF | X86_FL_AC);

		memcpy(t->mem + (t->gpr[X86_RSP] - DATA_ADDR), &img, sizeof(img));
		break;
	}
	case SP_FRAME:
		t->gpr[X86_RBP] = DATA_ADDR + 0x400 + (rng() & 0x7ff);
		if (tp->op[0] == 0xc8 && (rng() & 3)) { /* mostly a frame that stays mapped */
			t->code[n - 3] = (uint8_t)rng();
			t->code[n - 2] = (uint8_t)(rng() & 1);
		}
		break;
	case SP_SCAN:
		if (!(rng() & 3)) { /* zero source, wherever it is */
			memset(t->mem, 0, DATA_SIZE);
			for (unsigned int i = 0; i < 16; i++)
				if (i != X86_RBX && i != X86_RSI && i != X86_RSP && (rng() & 1))
					t->gpr[i] = 0;
		} else if (rng() & 1) { /* sparse: a few bits set */
			for (unsigned int i = 0; i < DATA_SIZE; i++)
				t->mem[i] &= (uint8_t)(rng() & rng() & rng());
			for (unsigned int i = 0; i < 16; i++)
				if (i != X86_RBX && i != X86_RSI && i != X86_RSP)
					t->gpr[i] &= rng() & rng() & rng() & rng();
		}
		break;
	case SP_DIV:
		if (rng() % 8 == 0)
			memset(t->mem, 0, DATA_SIZE); /* divide by zero */
		else if (rng() & 1)
			t->gpr[X86_RDX] = rng() & 0xff; /* mostly no overflow */
		break;
	default:
		break;
	}
}

#define T(n, ...)                                                                                  \
	{                                                                                          \
		n, __VA_ARGS__                                                                     \
	}
static const struct tmpl tmpls[] = {
	/* name, pfx, npfx, op, nop, reg, imm, modrm, allow_reg, undef, special */
	T("mov Eb,Gb", {0}, 0, {0x88}, 1, -1, 0, true, true, 0, 0),
	T("mov Ev,Gv", {0}, 0, {0x89}, 1, -1, 0, true, true, 0, 0),
	T("mov Gb,Eb", {0}, 0, {0x8a}, 1, -1, 0, true, true, 0, 0),
	T("mov Gv,Ev", {0}, 0, {0x8b}, 1, -1, 0, true, true, 0, 0),
	T("mov Eb,Ib", {0}, 0, {0xc6}, 1, 0, 1, true, true, 0, 0),
	T("mov Ev,Iz", {0}, 0, {0xc7}, 1, 0, 4, true, true, 0, 0),
	T("mov AL,moffs", {0}, 0, {0xa0}, 1, 0, 0, false, false, 0, SP_MOFFS),
	T("mov eAX,moffs", {0}, 0, {0xa1}, 1, 0, 0, false, false, 0, SP_MOFFS),
	T("mov moffs,AL", {0}, 0, {0xa2}, 1, 0, 0, false, false, 0, SP_MOFFS),
	T("mov moffs,eAX", {0}, 0, {0xa3}, 1, 0, 0, false, false, 0, SP_MOFFS),
	T("movzx Gv,Eb", {0}, 0, {0x0f, 0xb6}, 2, -1, 0, true, true, 0, 0),
	T("movzx Gv,Ew", {0}, 0, {0x0f, 0xb7}, 2, -1, 0, true, true, 0, 0),
	T("movsx Gv,Eb", {0}, 0, {0x0f, 0xbe}, 2, -1, 0, true, true, 0, 0),
	T("movsx Gv,Ew", {0}, 0, {0x0f, 0xbf}, 2, -1, 0, true, true, 0, 0),
	T("movsxd Gv,Ed", {0}, 0, {0x63}, 1, -1, 0, true, true, 0, 0),
	T("movnti", {0}, 0, {0x0f, 0xc3}, 2, -1, 0, true, false, 0, 0),
	T("movbe load", {0}, 0, {0x0f, 0x38, 0xf0}, 3, -1, 0, true, false, 0, 0),
	T("movbe store", {0}, 0, {0x0f, 0x38, 0xf1}, 3, -1, 0, true, false, 0, 0),
	T("alu Eb,Gb", {0}, 0, {0x00}, 1, -1, 0, true, true, U_LOGIC, 0xa0),
	T("alu Ev,Gv", {0}, 0, {0x01}, 1, -1, 0, true, true, U_LOGIC, 0xa0),
	T("alu Gb,Eb", {0}, 0, {0x02}, 1, -1, 0, true, true, U_LOGIC, 0xa0),
	T("alu Gv,Ev", {0}, 0, {0x03}, 1, -1, 0, true, true, U_LOGIC, 0xa0),
	T("alu AL,Ib", {0}, 0, {0x04}, 1, 0, 1, false, false, U_LOGIC, 0xa0),
	T("alu eAX,Iz", {0}, 0, {0x05}, 1, 0, 4, false, false, U_LOGIC, 0xa0),
	T("grp1 Eb,Ib", {0}, 0, {0x80}, 1, -2, 1, true, true, U_LOGIC, 0),
	T("grp1 Ev,Iz", {0}, 0, {0x81}, 1, -2, 4, true, true, U_LOGIC, 0),
	T("grp1 Ev,Ib", {0}, 0, {0x83}, 1, -2, 1, true, true, U_LOGIC, 0),
	T("test Eb,Gb", {0}, 0, {0x84}, 1, -1, 0, true, true, U_LOGIC, 0),
	T("test Ev,Gv", {0}, 0, {0x85}, 1, -1, 0, true, true, U_LOGIC, 0),
	T("test Eb,Ib", {0}, 0, {0xf6}, 1, 0, 1, true, true, U_LOGIC, 0),
	T("test Ev,Iz", {0}, 0, {0xf7}, 1, 0, 4, true, true, U_LOGIC, 0),
	T("not Eb", {0}, 0, {0xf6}, 1, 2, 0, true, true, 0, 0),
	T("not Ev", {0}, 0, {0xf7}, 1, 2, 0, true, true, 0, 0),
	T("neg Eb", {0}, 0, {0xf6}, 1, 3, 0, true, true, 0, 0),
	T("neg Ev", {0}, 0, {0xf7}, 1, 3, 0, true, true, 0, 0),
	T("mul Eb", {0}, 0, {0xf6}, 1, 4, 0, true, true, U_MUL, 0),
	T("mul Ev", {0}, 0, {0xf7}, 1, 4, 0, true, true, U_MUL, 0),
	T("imul Eb", {0}, 0, {0xf6}, 1, 5, 0, true, true, U_MUL, 0),
	T("imul Ev", {0}, 0, {0xf7}, 1, 5, 0, true, true, U_MUL, 0),
	T("div Eb", {0}, 0, {0xf6}, 1, 6, 0, true, false, U_DIV, SP_DIV),
	T("div Ev", {0}, 0, {0xf7}, 1, 6, 0, true, false, U_DIV, SP_DIV),
	T("idiv Eb", {0}, 0, {0xf6}, 1, 7, 0, true, false, U_DIV, SP_DIV),
	T("idiv Ev", {0}, 0, {0xf7}, 1, 7, 0, true, false, U_DIV, SP_DIV),
	T("imul Gv,Ev", {0}, 0, {0x0f, 0xaf}, 2, -1, 0, true, true, U_MUL, 0),
	T("imul Gv,Ev,Iz", {0}, 0, {0x69}, 1, -1, 4, true, true, U_MUL, 0),
	T("imul Gv,Ev,Ib", {0}, 0, {0x6b}, 1, -1, 1, true, true, U_MUL, 0),
	T("inc Eb", {0}, 0, {0xfe}, 1, 0, 0, true, true, 0, 0),
	T("dec Eb", {0}, 0, {0xfe}, 1, 1, 0, true, true, 0, 0),
	T("inc Ev", {0}, 0, {0xff}, 1, 0, 0, true, true, 0, 0),
	T("dec Ev", {0}, 0, {0xff}, 1, 1, 0, true, true, 0, 0),
	T("xchg Eb,Gb", {0}, 0, {0x86}, 1, -1, 0, true, true, 0, 0),
	T("xchg Ev,Gv", {0}, 0, {0x87}, 1, -1, 0, true, true, 0, 0),
	T("xadd Eb,Gb", {0}, 0, {0x0f, 0xc0}, 2, -1, 0, true, true, 0, 0),
	T("xadd Ev,Gv", {0}, 0, {0x0f, 0xc1}, 2, -1, 0, true, true, 0, 0),
	T("cmpxchg Eb,Gb", {0}, 0, {0x0f, 0xb0}, 2, -1, 0, true, true, 0, 0),
	T("cmpxchg Ev,Gv", {0}, 0, {0x0f, 0xb1}, 2, -1, 0, true, true, 0, 0),
	T("lock cmpxchg8b", {0xf0}, 1, {0x0f, 0xc7}, 2, 1, 0, true, false, 0, SP_CX16),
	T("bt Ev,Gv", {0}, 0, {0x0f, 0xa3}, 2, -1, 0, true, true, U_BT, SP_BTREG),
	T("bts Ev,Gv", {0}, 0, {0x0f, 0xab}, 2, -1, 0, true, true, U_BT, SP_BTREG),
	T("btr Ev,Gv", {0}, 0, {0x0f, 0xb3}, 2, -1, 0, true, true, U_BT, SP_BTREG),
	T("btc Ev,Gv", {0}, 0, {0x0f, 0xbb}, 2, -1, 0, true, true, U_BT, SP_BTREG),
	T("bt* Ev,Ib", {0}, 0, {0x0f, 0xba}, 2, -3, 1, true, true, U_BT, 0),
	T("setcc", {0}, 0, {0x0f, 0x90}, 2, -1, 0, true, true, 0, 0xc0),
	T("cmovcc", {0}, 0, {0x0f, 0x40}, 2, -1, 0, true, true, 0, 0xc0),
	T("push Ev", {0}, 0, {0xff}, 1, 6, 0, true, true, 0, SP_STACK),
	T("pop Ev", {0}, 0, {0x8f}, 1, 0, 0, true, true, 0, SP_STACK),
	T("push r", {0}, 0, {0x50}, 1, 0, 0, false, false, 0, 0xb0),
	T("pop r", {0}, 0, {0x58}, 1, 0, 0, false, false, 0, 0xb0),
	T("push Iz", {0}, 0, {0x68}, 1, 0, 4, false, false, 0, SP_STACK),
	T("push Ib", {0}, 0, {0x6a}, 1, 0, 1, false, false, 0, SP_STACK),
	T("movs", {0}, 0, {0xa4}, 1, 0, 0, false, false, 0, SP_STRING),
	T("cmps", {0}, 0, {0xa6}, 1, 0, 0, false, false, 0, SP_STRING),
	T("stos", {0}, 0, {0xaa}, 1, 0, 0, false, false, 0, SP_STRING),
	T("lods", {0}, 0, {0xac}, 1, 0, 0, false, false, 0, SP_STRING),
	T("scas", {0}, 0, {0xae}, 1, 0, 0, false, false, 0, SP_STRING),
	T("movd/q xmm,Ey", {0x66}, 1, {0x0f, 0x6e}, 2, -1, 0, true, true, 0, 0),
	T("movd/q Ey,xmm", {0x66}, 1, {0x0f, 0x7e}, 2, -1, 0, true, true, 0, 0),
	T("movq xmm,m64", {0xf3}, 1, {0x0f, 0x7e}, 2, -1, 0, true, true, 0, 0),
	T("movq m64,xmm", {0x66}, 1, {0x0f, 0xd6}, 2, -1, 0, true, true, 0, 0),
	T("movdqu load", {0xf3}, 1, {0x0f, 0x6f}, 2, -1, 0, true, true, 0, 0),
	T("movdqu store", {0xf3}, 1, {0x0f, 0x7f}, 2, -1, 0, true, true, 0, 0),
	T("movdqa load", {0x66}, 1, {0x0f, 0x6f}, 2, -1, 0, true, true, 0, SP_ALIGN),
	T("movdqa store", {0x66}, 1, {0x0f, 0x7f}, 2, -1, 0, true, true, 0, SP_ALIGN),
	T("movaps load", {0}, 0, {0x0f, 0x28}, 2, -1, 0, true, true, 0, SP_ALIGN),
	T("movapd store", {0x66}, 1, {0x0f, 0x29}, 2, -1, 0, true, true, 0, SP_ALIGN),
	T("movups load", {0}, 0, {0x0f, 0x10}, 2, -1, 0, true, true, 0, 0),
	T("movupd store", {0x66}, 1, {0x0f, 0x11}, 2, -1, 0, true, true, 0, 0),
	T("movss load", {0xf3}, 1, {0x0f, 0x10}, 2, -1, 0, true, false, 0, 0),
	T("movsd store", {0xf2}, 1, {0x0f, 0x11}, 2, -1, 0, true, false, 0, 0),
	T("movntdq", {0x66}, 1, {0x0f, 0xe7}, 2, -1, 0, true, false, 0, SP_ALIGN),
	T("movntps", {0}, 0, {0x0f, 0x2b}, 2, -1, 0, true, false, 0, SP_ALIGN),
	T("rol..sar Eb,1", {0}, 0, {0xd0}, 1, -2, 0, true, true, U_SHIFT, 0),
	T("rol..sar Ev,1", {0}, 0, {0xd1}, 1, -2, 0, true, true, U_SHIFT, 0),
	T("rol..sar Eb,CL", {0}, 0, {0xd2}, 1, -2, 0, true, true, U_SHIFT, SP_SHIFT),
	T("rol..sar Ev,CL", {0}, 0, {0xd3}, 1, -2, 0, true, true, U_SHIFT, SP_SHIFT),
	T("rol..sar Eb,Ib", {0}, 0, {0xc0}, 1, -2, 1, true, true, U_SHIFT, 0),
	T("rol..sar Ev,Ib", {0}, 0, {0xc1}, 1, -2, 1, true, true, U_SHIFT, 0),
	T("shld Ev,Gv,Ib", {0}, 0, {0x0f, 0xa4}, 2, -1, 1, true, true, U_SHIFT, SP_SHXD),
	T("shld Ev,Gv,CL", {0}, 0, {0x0f, 0xa5}, 2, -1, 0, true, true, U_SHIFT, SP_SHXD),
	T("shrd Ev,Gv,Ib", {0}, 0, {0x0f, 0xac}, 2, -1, 1, true, true, U_SHIFT, SP_SHXD),
	T("shrd Ev,Gv,CL", {0}, 0, {0x0f, 0xad}, 2, -1, 0, true, true, U_SHIFT, SP_SHXD),
	T("bsf Gv,Ev", {0}, 0, {0x0f, 0xbc}, 2, -1, 0, true, true, U_BSF, SP_SCAN),
	T("bsr Gv,Ev", {0}, 0, {0x0f, 0xbd}, 2, -1, 0, true, true, U_BSF, SP_SCAN),
	T("tzcnt Gv,Ev", {0xf3}, 1, {0x0f, 0xbc}, 2, -1, 0, true, true, U_CNT, SP_SCAN),
	T("lzcnt Gv,Ev", {0xf3}, 1, {0x0f, 0xbd}, 2, -1, 0, true, true, U_CNT, SP_SCAN),
	T("popcnt Gv,Ev", {0xf3}, 1, {0x0f, 0xb8}, 2, -1, 0, true, true, 0, SP_SCAN),
	T("sgdt m", {0}, 0, {0x0f, 0x01}, 2, 0, 0, true, false, 0, 0),
	T("sidt m", {0}, 0, {0x0f, 0x01}, 2, 1, 0, true, false, 0, 0),
	T("lgdt m (ring 3)", {0}, 0, {0x0f, 0x01}, 2, 2, 0, true, false, 0, 0),
	T("lidt m (ring 3)", {0}, 0, {0x0f, 0x01}, 2, 3, 0, true, false, 0, 0),
	T("smsw Ew", {0}, 0, {0x0f, 0x01}, 2, 4, 0, true, true, 0, 0),
	T("lmsw Ew (ring 3)", {0}, 0, {0x0f, 0x01}, 2, 6, 0, true, true, 0, 0),
	T("sldt Ew", {0}, 0, {0x0f, 0x00}, 2, 0, 0, true, true, 0, 0),
	T("str Ew", {0}, 0, {0x0f, 0x00}, 2, 1, 0, true, true, 0, 0),
	T("crc32 Gd,Eb", {0xf2}, 1, {0x0f, 0x38, 0xf0}, 3, -1, 0, true, true, 0, SP_CRC),
	T("crc32 Gd,Ev", {0xf2}, 1, {0x0f, 0x38, 0xf1}, 3, -1, 0, true, true, 0, SP_CRC),
	T("movd/q mm,Ey", {0}, 0, {0x0f, 0x6e}, 2, -1, 0, true, true, 0, SP_MMX),
	T("movd/q Ey,mm", {0}, 0, {0x0f, 0x7e}, 2, -1, 0, true, true, 0, SP_MMX),
	T("movq mm,mm/m64", {0}, 0, {0x0f, 0x6f}, 2, -1, 0, true, true, 0, SP_MMX),
	T("movq mm/m64,mm", {0}, 0, {0x0f, 0x7f}, 2, -1, 0, true, true, 0, SP_MMX),
	T("pushf", {0}, 0, {0x9c}, 1, 0, 0, false, false, 0, SP_STACK),
	T("push fs", {0}, 0, {0x0f, 0xa0}, 2, 0, 0, false, false, 0, SP_STACK),
	T("push gs", {0}, 0, {0x0f, 0xa8}, 2, 0, 0, false, false, 0, SP_STACK),
	T("popf", {0}, 0, {0x9d}, 1, 0, 0, false, false, 0, SP_POPF),
	T("call rel32", {0}, 0, {0xe8}, 1, 0, 4, false, false, 0, SP_BRANCH),
	T("call Ev", {0}, 0, {0xff}, 1, 2, 0, true, false, 0, SP_BRANCH),
	T("jmp Ev", {0}, 0, {0xff}, 1, 4, 0, true, false, 0, SP_BRANCH),
	T("ret", {0}, 0, {0xc3}, 1, 0, 0, false, false, 0, SP_BRANCH),
	T("jmp far Mp", {0}, 0, {0xff}, 1, 5, 0, true, false, 0, SP_FAR),
	T("call far Mp", {0}, 0, {0xff}, 1, 3, 0, true, false, 0, SP_FAR),
	T("retf", {0}, 0, {0xcb}, 1, 0, 0, false, false, 0, SP_FAR),
	T("iret(q)", {0}, 0, {0xcf}, 1, 0, 0, false, false, 0, SP_IRET),
	T("lldt Ew (ring 3)", {0}, 0, {0x0f, 0x00}, 2, 2, 0, true, true, 0, 0),
	T("ltr Ew (ring 3)", {0}, 0, {0x0f, 0x00}, 2, 3, 0, true, true, 0, 0),
	T("xsaves m (ring 3)", {0}, 0, {0x0f, 0xc7}, 2, 5, 0, true, false, 0, SP_NP),
	T("xrstors m (ring 3)", {0}, 0, {0x0f, 0xc7}, 2, 3, 0, true, false, 0, SP_NP),
	T("ret Iw", {0}, 0, {0xc2}, 1, 0, 2, false, false, 0, SP_BRANCH),
	T("leave", {0}, 0, {0xc9}, 1, 0, 0, false, false, 0, SP_FRAME),
	T("enter Iw,Ib", {0}, 0, {0xc8}, 1, 0, 3, false, false, 0, SP_FRAME),
	T("vmovdqu ymm load", {0}, 0, {0xc5, 0xfe, 0x6f}, 3, -1, 0, true, true, 0, 0),
	T("vmovdqu xmm store", {0}, 0, {0xc5, 0xfa, 0x7f}, 3, -1, 0, true, true, 0, 0),
	T("vmovdqa ymm store", {0}, 0, {0xc5, 0xfd, 0x7f}, 3, -1, 0, true, false, 0, SP_ALIGN),
	T("vmovaps xmm load", {0}, 0, {0xc5, 0xf8, 0x28}, 3, -1, 0, true, true, 0, SP_ALIGN),
	T("vmovups ymm store", {0}, 0, {0xc5, 0xfc, 0x11}, 3, -1, 0, true, true, 0, 0),
	T("vmovd xmm,m32", {0}, 0, {0xc5, 0xf9, 0x6e}, 3, -1, 0, true, true, 0, 0),
	T("vmovq m64,xmm", {0}, 0, {0xc5, 0xf9, 0xd6}, 3, -1, 0, true, true, 0, 0),
};

/* Expand a template into the variants that must be tested (ALU ops, cc, sizes, prefixes). */
static void run_template(const struct tmpl *tp, unsigned long *count)
{
	struct tcase *t = malloc(sizeof(*t));
	struct tmpl v;

	for (unsigned int i = 0; i < CASES_PER_TEMPLATE; i++) {
		unsigned int sel = (unsigned int)rng();
		bool rexw = false;
		uint8_t extra = 0;

		v = *tp;
		if (tp->special == 0xa0) { /* ALU block: pick the op */
			v.op[0] = (uint8_t)(tp->op[0] + 8 * (sel % 8));
			v.special = 0;
		}
		if (tp->reg == -2) /* group 1: every ALU op by reg */
			v.reg = (int8_t)(sel % 8);
		if (tp->reg == -3)
			v.reg = (int8_t)(4 + sel % 4);
		if (tp->special == 0xc0) {
			v.op[1] = (uint8_t)(tp->op[1] + sel % 16);
			v.special = 0;
		}
		if (tp->special == 0xb0) { /* push/pop reg: register in opcode */
			v.op[0] = (uint8_t)(tp->op[0] + sel % 8);
			v.special = SP_STACK;
			if (sel & 8) {
				v.pfx[v.npfx++] = 0x41;
			}
		}
		if (tp->special == SP_STRING) {
			v.op[0] = (uint8_t)(tp->op[0] + (sel & 1));
			if (sel & 6)
				v.pfx[v.npfx++] = (sel & 4) ? 0xf3 : 0xf2;
		}
		/* Operand size variants for non-vector, non-stack forms. */
		if (tp->pfx[0] != 0x66 && tp->pfx[0] != 0xf3 && tp->pfx[0] != 0xf2 &&
		    !(tp->nop && tp->op[0] == 0xc5) && v.special != SP_STACK &&
		    v.special != SP_BRANCH && v.special != SP_POPF && v.special != SP_FRAME &&
		    !(sel & 0x100))
			rexw = (sel >> 9) & 1;
		if (tp->pfx[0] == 0x66 && tp->op[1] == 0x6e)
			rexw = (sel >> 9) & 1;
		if (tp->pfx[0] == 0x66 && tp->op[1] == 0x7e)
			rexw = (sel >> 9) & 1;
		if (tp->special == SP_CX16 || tp->special == SP_SCAN || tp->special == SP_CRC ||
		    tp->special == SP_MMX || tp->special == SP_FAR || tp->special == SP_IRET)
			rexw = (sel >> 9) & 1;
		if (tp->special == SP_CRC && ((sel >> 10) & 3) == 0)
			extra = 0x66; /* F2 66: a 16-bit source */
		if (tp->special == SP_SCAN && tp->npfx && ((sel >> 10) & 3) == 0)
			extra = 0x66; /* F3 66: still TZCNT/LZCNT/POPCNT, 16-bit */
		if (!tp->npfx && !(tp->nop && tp->op[0] == 0xc5) && ((sel >> 10) & 3) == 0 &&
		    tp->special != SP_CX16 && tp->special != SP_NP && tp->op[0] != 0x63 &&
		    tp->special != SP_BRANCH &&
		    tp->special != SP_FAR && tp->special != SP_IRET &&
		    tp->special != SP_MMX)
			extra = 0x66;
		if ((v.special == SP_STACK || v.special == SP_POPF || v.special == SP_FRAME) &&
		    ((sel >> 10) & 3) == 1)
			extra = 0x66;
		if (tp->special == SP_STRING && v.npfx && ((sel >> 12) & 1))
			extra = 0x67; /* 32-bit addressing for the string registers */
		if ((sel >> 13) % 5 == 0 &&
		    (tp->op[0] == 0x86 || tp->op[0] == 0x87 || tp->op[1] == 0xc0 ||
		     tp->op[1] == 0xc1 || tp->op[1] == 0xb0 || tp->op[1] == 0xb1))
			extra = 0xf0; /* LOCK */
		build(t, &v, extra, rexw);
		if (tp->special == SP_SHXD && extra == 0x66 && !rexw &&
		    ((tp->op[1] & 1 ? t->gpr[X86_RCX] : t->code[t->len - 1]) & 0x1f) > 16)
			t->result_undef = true;
		if (tp->special == SP_SCAN && !tp->npfx)
			t->undef_if_zf = true;
		/* SMSW/SLDT/STR r32: bits 63:32 measured on AMD only. */
		if (tp->op[0] == 0x0f &&
		    (tp->op[1] == 0x00 || (tp->op[1] == 0x01 && tp->reg == 4)) && t->regform &&
		    !rexw && extra != 0x66)
			t->result_undef = true;
		if (extra == 0xf0 && t->regform)
			continue; /* LOCK with a register destination is #UD natively: skip */
		if (extra == 0x67 && tp->special == SP_STRING) {
			t->gpr[X86_RSI] = (t->gpr[X86_RSI] & 0xffffffffull) | (rng() << 32);
			t->gpr[X86_RDI] = (t->gpr[X86_RDI] & 0xffffffffull) | (rng() << 32);
			t->gpr[X86_RCX] |= rng() << 32;
		}
		run_case(t, 1 + (sel >> 16) % 8);
		(*count)++;
	}
	free(t);
}

/*
 * ---- compatibility mode: PUSH Sreg and CALL ptr16:32 against the CPU ----
 *
 * The 32-bit forms (06/0E/16/1E, 0F A0/A8 with a 32-bit operand size, 9A) exist outside
 * 64-bit mode only, and there Intel and AMD differ (a 32-bit PUSH Sreg: a 16-bit move or the
 * selector zero-extended).  A 64-bit stub in the code page far-calls a compatibility-mode
 * copy of the instruction through Linux's 32-bit user code segment; the stack bytes below
 * ESP and ESP itself are compared with the emulator run as a compatibility-mode guest.
 */
#define LINUX_USER32_CS	  0x23u			/* __USER32_CS: GDT entry 4, RPL 3 */
#define USER32_CS_DESC	  0x00cffb000000ffffull /* base 0, limit 4G, D, DPL 3 code */
#define COMPAT_STUB	  0x800u		/* code page offsets */
#define COMPAT_CODE	  0x900u
#define COMPAT_INSN	  (COMPAT_CODE + 7)
#define COMPAT_SLOT_ENTRY (STATE_ADDR + 0xf00) /* ESP at entry, ESP after, the far pointer */
#define COMPAT_SLOT_AFTER (STATE_ADDR + 0xf08)
#define COMPAT_FARPTR	  (STATE_ADDR + 0xf10)
#define COMPAT_STACK_TOP  (DATA_ADDR + 0x1000)
#define COMPAT_WINDOW	  64
#define COMPAT_CASES	  200u

static void cb_get_seg_compat(void *o, unsigned int seg, struct x86_segment *sg)
{
	cb_get_seg(o, seg, sg);
	sg->attr |= X86_SEG_ATTR_DB; /* SS: a 32-bit stack (Linux's __USER_DS has B set) */
	if (seg == X86_SEG_CS) {
		sg->attr = X86_SEG_ATTR_P | X86_SEG_ATTR_S | X86_SEG_ATTR_DB | X86_SEG_ATTR_G | 0xb;
		sg->selector = LINUX_USER32_CS;
	}
}

/* The GDT entry for __USER32_CS (9A's target) as Linux fills it; nothing else is readable. */
static int cb_sys_access_compat(void *o, uint64_t la, void *buf, unsigned int len, bool write,
				struct x86_exception *x)
{
	uint64_t at = LINUX_GDT_BASE + (LINUX_USER32_CS & ~7u), d = USER32_CS_DESC;

	(void)o;
	if (write || la < at || la + len > at + sizeof(d))
		return pf(x, la, write);
	memcpy(buf, (uint8_t *)&d + (la - at), len);
	return 0;
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

/* The 64-bit stub (RDI: the compatibility-mode stack) and the 32-bit code around insn. */
static void compat_code(const uint8_t *insn, unsigned int n)
{
	static const uint8_t stub_head[] = {0x48, 0x89, 0xe0, 0x48, 0x89, 0xfc, 0x50,
					    0xff, 0x1c, 0x25}; /* rax=rsp; rsp=rdi; push rax; lcall * */
	static const uint8_t stub_tail[] = {0x58, 0x48, 0x89, 0xc4, 0xc3}; /* pop rax; rsp=rax; ret */
	uint8_t *p = ncode + COMPAT_STUB, *c = ncode + COMPAT_CODE;

	memcpy(p, stub_head, sizeof(stub_head));
	put32(p + sizeof(stub_head), (uint32_t)COMPAT_FARPTR);
	memcpy(p + sizeof(stub_head) + 4, stub_tail, sizeof(stub_tail));
	put32((uint8_t *)COMPAT_FARPTR, (uint32_t)(CODE_ADDR + COMPAT_CODE));
	memcpy((uint8_t *)COMPAT_FARPTR + 4, &(uint16_t){LINUX_USER32_CS}, 2);
	/* mov %esp, %ss:entry; insn; mov %esp, %ss:after; mov %ss:entry, %esp; lret */
	c[0] = 0x36, c[1] = 0x89, c[2] = 0x25;
	put32(c + 3, (uint32_t)COMPAT_SLOT_ENTRY);
	memcpy(c + 7, insn, n);
	c += 7 + n;
	c[0] = 0x36, c[1] = 0x89, c[2] = 0x25;
	put32(c + 3, (uint32_t)COMPAT_SLOT_AFTER);
	c[7] = 0x36, c[8] = 0x8b, c[9] = 0x25;
	put32(c + 10, (uint32_t)COMPAT_SLOT_ENTRY);
	c[14] = 0xcb;
}

/* One compatibility-mode case; 9A calls the instruction after itself (sel __USER32_CS). */
static bool compat_case(const uint8_t *insn, unsigned int n)
{
	static struct emu_state es;
	static struct x86_emu_ops compat_ops;
	struct x86_emu_ctx ctx = {.ops = &compat_ops, .opaque = &es, .vendor = host_vendor,
				  .features = host_features};
	struct x86_emu_result res;
	uint64_t entry, after, lo = COMPAT_STACK_TOP - COMPAT_WINDOW - DATA_ADDR, below;

	compat_ops = ops;
	compat_ops.get_seg = cb_get_seg_compat;
	compat_ops.sys_access = cb_sys_access_compat;
	compat_code(insn, n);
	for (unsigned int i = 0; i < COMPAT_WINDOW; i++)
		ndata[lo + i] = (uint8_t)rng();
	memcpy(es.mem, ndata, DATA_SIZE);
	((void (*)(uint64_t))(ncode + COMPAT_STUB))(COMPAT_STACK_TOP);
	entry = *(uint32_t *)COMPAT_SLOT_ENTRY;
	after = *(uint32_t *)COMPAT_SLOT_AFTER;
	/* Above ESP at entry: the stub's own pushes, not the instruction's. */
	below = entry - DATA_ADDR - lo;

	memset(es.gpr, 0, sizeof(es.gpr));
	es.gpr[X86_RSP] = entry;
	es.rip = CODE_ADDR + COMPAT_INSN;
	es.rflags = X86_FL_FIXED | X86_FL_IF;
	es.code = ncode;
	es.code_len = PG;
	es.cs_loaded = false;
	far_case = true;
	x86_emulate(&ctx, &res);
	far_case = false;
	n_cases++;
	if (res.status != X86_EMU_OK || es.gpr[X86_RSP] != after ||
	    below > COMPAT_WINDOW || memcmp(es.mem + lo, ndata + lo, below) ||
	    es.rip != CODE_ADDR + COMPAT_INSN + n ||
	    (insn[0] == 0x9a && (!es.cs_loaded || es.cs_sel != LINUX_USER32_CS))) {
		n_bad++;
		if (n_report++ < MAX_REPORT)
			printf("# mismatch (compat): %02x %02x: status %d vector %u esp %llx native %llx\n",
			       insn[0], n > 1 ? insn[1] : 0, res.status, res.exc.vector,
			       (unsigned long long)es.gpr[X86_RSP], (unsigned long long)after);
		return false;
	}
	return true;
}

/* Returns the number of failing forms; prints one TAP line per form. */
static int run_compat(int *num)
{
	static const struct {
		const char *name;
		uint8_t code[8];
		unsigned int n;
	} forms[] = {
		{"push es", {0x06}, 1},		  {"push cs", {0x0e}, 1},
		{"push ss", {0x16}, 1},		  {"push ds", {0x1e}, 1},
		{"push fs", {0x0f, 0xa0}, 2},	  {"push gs", {0x0f, 0xa8}, 2},
		{"push es (66)", {0x66, 0x06}, 2}, {"push gs (66)", {0x66, 0x0f, 0xa8}, 3},
		{"call ptr16:32", {0x9a, 0, 0, 0, 0, LINUX_USER32_CS, 0}, 7},
	};
	int fails = 0;

	for (size_t f = 0; f < sizeof(forms) / sizeof(forms[0]); f++) {
		uint8_t code[8];
		unsigned int bad = 0;

		memcpy(code, forms[f].code, sizeof(code));
		if (code[0] == 0x9a) /* to the instruction after it */
			put32(code + 1, (uint32_t)(CODE_ADDR + COMPAT_INSN + forms[f].n));
		for (unsigned int i = 0; i < COMPAT_CASES; i++)
			bad += !compat_case(code, forms[f].n);
		(*num)++;
		printf("%sok %d - emulator as %s matches native CPU in compatibility mode: %s (%u "
		       "cases)\n",
		       bad ? "not " : "", *num, vendor_name(host_vendor), forms[f].name,
		       COMPAT_CASES);
		fails += bad != 0;
	}
	return fails;
}
#define COMPAT_FORMS 9

int main(void)
{
	struct sigaction sa;
	stack_t ss;
	unsigned long per[sizeof(tmpls) / sizeof(tmpls[0])] = {0};
	int fails = 0, num = 0;

	if (mmap((void *)STATE_ADDR, PG, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) != (void *)STATE_ADDR ||
	    mmap((void *)DATA_ADDR, DATA_SIZE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) != (void *)DATA_ADDR ||
	    mmap((void *)CODE_ADDR, PG, PROT_READ | PROT_WRITE | PROT_EXEC,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) != (void *)CODE_ADDR) {
		printf("1..1\nnot ok 1 - cannot map the native test pages\n");
		return 1;
	}
	static uint8_t altstack[1 << 16];

	ss.ss_sp = altstack;
	ss.ss_size = sizeof(altstack);
	ss.ss_flags = 0;
	sigaltstack(&ss, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	sigaction(SIGFPE, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGILL, &sa, NULL);

	printf("TAP version 13\n1..%zu\n", sizeof(tmpls) / sizeof(tmpls[0]) + COMPAT_FORMS);
	identify_host();
	for (size_t i = 0; i < sizeof(tmpls) / sizeof(tmpls[0]); i++) {
		unsigned long bad0 = n_bad;

		run_template(&tmpls[i], &per[i]);
		num++;
		printf("%sok %d - emulator as %s matches native CPU: %s (%lu cases%s)\n",
		       n_bad == bad0 ? "" : "not ", num, vendor_name(host_vendor), tmpls[i].name,
		       per[i],
		       !tmpls[i].undef	     ? ""
		       : compare_undef_flags ? ", undefined flags compared"
					     : ", undefined flags masked");
		if (n_bad != bad0)
			fails++;
	}
	fails += run_compat(&num);
	printf("# %s: %lu cases, %lu natively faulting (#DE/#GP) compared by vector, %lu "
	       "mismatches\n",
	       vendor_name(host_vendor), n_cases, n_faults, n_bad);
	return fails ? 1 : 0;
}
