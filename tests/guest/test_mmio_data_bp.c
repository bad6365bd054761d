/*
 * The guest's data breakpoints (DR0-DR3, DR7) on a device word: the same accesses, at the same
 * RIPs, on a RAM buffer (the CPU's own answer) and on an mmio=ram region's page (mhv's), then
 * compared: #DB or not, where, DR6's B0-B3 and BS, and a REP MOVSD's progress at the trap.
 * A MOV SS from the word gets its #DB after the next instruction (VMX: the pending debug
 * exceptions under MOV-SS blocking; SVM: mhv single-steps that instruction, svm_db_hold.h).
 * Each device access is first replayed with no breakpoint (so the MMIO short path holds it)
 * and then armed: the short path must not skip the check.  Paging is off: linear = physical.
 */
#include <stddef.h>

#include "tests/guest/cpu.h"
#include "tests/guest/hv.h"
#include "tests/guest/report.h"
#include "tests/guest/tests.h"
#include "tests/guest/trap.h"

#define PAGE_SIZE   4096u
#define OFF_WORD    0x440 /* the words this test uses on the device page: 0x440-0x45F */
#define WARM_ROUNDS 3
#define VEC_DB	    1
#define DR6_CLEAR   0xFFFF0FF0u
#define DR6_SEEN    0x400Fu /* BS and B0-B3 */
#define FLAG_TF	    0x100u
#define STRING_LEN  4 /* dwords */
#define VAL	    0x5A0B0001u

/* DR7 for breakpoint n: L (or G), R/W (1 write, 3 read/write), LEN (0 1, 1 2, 3 4 bytes). */
#define BP(n, g, rw, len) ((1u << (2 * (n) + (g))) | (((rw) | (len) << 2) << (16 + 4 * (n))))
#define RW_W  1u
#define RW_RW 3u
#define LEN1  0u
#define LEN2  1u
#define LEN4  3u

enum op {
	OP_LOAD32,
	OP_STORE32,
	OP_STORE8,
	OP_LOAD32_TF,
	OP_REP_MOVSD,
	OP_SHLD, /* a read-modify-write only the general emulator does */
	OP_SHLD_TF, /* and with TF set: its commit writes RIP and the flags it changed */
	OP_MOV_SS,
	OP_MOV_SS_TF,
	OP_MOV_SS_CPUID,
	OP_MOV_SS_UD2
};

struct bp_case {
	const char *name;
	enum op op;
	uint32_t off;	  /* the access's offset from the word */
	uint32_t dr7;
	uint32_t dr_off[4]; /* DRn = word + dr_off[n] */
	uint32_t want_dr6; /* BS and B0-B3 the SDM asks for; 0: no #DB */
	const char *at;	   /* where the SDM puts the #DB (NULL: where the CPU did on RAM) */
};

extern const char mmio_data_bp_after_tf_load[], mmio_data_bp_after_tf_shld[], mmio_data_bp_after_mov_ss[],
	mmio_data_bp_after_mov_ss_tf[], mmio_data_bp_after_mov_ss_cpuid[], mmio_data_bp_mov_ss_ud2[];

static const struct bp_case cases[] = {
	{"mmio data bp: write bp, 4-byte store", OP_STORE32, 0, BP(0, 0, RW_W, LEN4), {0}, 0x1,
	 NULL},
	{"mmio data bp: write bp, 4-byte load (no #DB)", OP_LOAD32, 0, BP(0, 0, RW_W, LEN4), {0}, 0,
	 NULL},
	{"mmio data bp: read/write bp LEN2 inside a 4-byte load", OP_LOAD32, 0,
	 BP(1, 1, RW_RW, LEN2), {0, 2}, 0x2, NULL},
	{"mmio data bp: bp on another word (no #DB)", OP_LOAD32, 0, BP(2, 0, RW_RW, LEN4),
	 {0, 0, 8}, 0, NULL},
	{"mmio data bp: LEN1 bp, byte store on it", OP_STORE8, 3, BP(3, 1, RW_W, LEN1),
	 {0, 0, 0, 3}, 0x8, NULL},
	{"mmio data bp: LEN1 bp, byte store next to it (no #DB)", OP_STORE8, 2,
	 BP(3, 0, RW_W, LEN1), {0, 0, 0, 3}, 0, NULL},
	{"mmio data bp: two bps matched by one store", OP_STORE32, 0,
	 BP(0, 0, RW_RW, LEN4) | BP(2, 1, RW_W, LEN1), {0, 0, 1}, 0x5, NULL},
	{"mmio data bp: disabled bp with R/W set (no #DB)", OP_STORE32, 0,
	 (RW_RW | LEN4 << 2) << 16, {0}, 0, NULL},
	{"mmio data bp: read bp with TF set: one #DB, BS and B0", OP_LOAD32_TF, 0,
	 BP(0, 0, RW_RW, LEN4), {0}, 0x4001, mmio_data_bp_after_tf_load},
	{"mmio data bp: REP MOVSD into the page, bp on the 3rd dword", OP_REP_MOVSD, 0,
	 BP(1, 0, RW_W, LEN4), {0, 8}, 0x2, NULL},
	{"mmio data bp: write bp, SHLD read-modify-write of the word", OP_SHLD, 0,
	 BP(0, 0, RW_W, LEN4), {0}, 0x1, NULL},
	{"mmio data bp: read/write LEN1 bp on the last byte of a SHLD's word", OP_SHLD, 0,
	 BP(3, 1, RW_RW, LEN1), {0, 0, 0, 3}, 0x8, NULL},
	{"mmio data bp: SHLD of the word, bp on another (no #DB)", OP_SHLD, 0,
	 BP(2, 0, RW_RW, LEN4), {0, 0, 8}, 0, NULL},
	{"mmio data bp: SHLD of the word with TF set, no bp on it: BS after it", OP_SHLD_TF, 0,
	 BP(2, 0, RW_RW, LEN4), {0, 0, 8}, 0x4000, mmio_data_bp_after_tf_shld},
	{"mmio data bp: SHLD of the word with TF set and a write bp: one #DB, BS and B0",
	 OP_SHLD_TF, 0, BP(0, 0, RW_W, LEN4), {0}, 0x4001, mmio_data_bp_after_tf_shld},
	{"mmio data bp: MOV SS from the word: the #DB held until after the next instruction",
	 OP_MOV_SS, 0, BP(0, 0, RW_RW, LEN2), {0}, 0x1, mmio_data_bp_after_mov_ss},
	{"mmio data bp: MOV SS from the word with TF set: one #DB after the next instruction, BS "
	 "and B0",
	 OP_MOV_SS_TF, 0, BP(0, 0, RW_RW, LEN2), {0}, 0x4001, mmio_data_bp_after_mov_ss_tf},
	{"mmio data bp: MOV SS from the word, then CPUID (an exit): the #DB after the CPUID",
	 OP_MOV_SS_CPUID, 0, BP(0, 0, RW_RW, LEN2), {0}, 0x1, mmio_data_bp_after_mov_ss_cpuid},
};

static uint32_t ram_word[8] __attribute__((aligned(64)));
static uint32_t src[STRING_LEN] = {1, 2, 3, 4};

struct access {
	enum op op;
	uintptr_t addr;
};

/* One access per op, each at its own fixed RIP whatever the address (RAM or device). */
static void do_access(void *arg)
{
	const struct access *a = arg;
	uint32_t v = VAL, c = STRING_LEN, b, d2;
	uintptr_t s = (uintptr_t)src, d = a->addr;

	switch (a->op) {
	case OP_LOAD32:
		__asm__ volatile("movl (%1), %0" : "=c"(v) : "r"(a->addr) : "memory");
		break;
	case OP_STORE32:
		__asm__ volatile("movl %0, (%1)" ::"r"(v), "r"(a->addr) : "memory");
		break;
	case OP_STORE8:
		__asm__ volatile("movb %b0, (%1)" ::"q"(v), "r"(a->addr) : "memory");
		break;
	case OP_LOAD32_TF:
		__asm__ volatile("pushfl; orl %2, (%%esp); popfl\n\t"
				 "movl (%1), %0\n\t"
				 ".globl mmio_data_bp_after_tf_load\n"
				 "mmio_data_bp_after_tf_load:\n\t"
				 "pushfl; andl $~0x100, (%%esp); popfl"
				 : "=&c"(v)
				 : "r"(a->addr), "r"(FLAG_TF)
				 : "memory", "cc");
		break;
	case OP_REP_MOVSD:
		__asm__ volatile("cld; rep movsl" : "+c"(c), "+S"(s), "+D"(d) : : "memory");
		break;
	case OP_SHLD:
		__asm__ volatile("shldl $3, %1, (%0)" ::"r"(a->addr), "r"(v) : "memory", "cc");
		break;
	case OP_SHLD_TF: /* ZF set before, clear after: the flags always change */
		__asm__ volatile("cmpl %%esp, %%esp\n\t"
				 "pushfl; orl %2, (%%esp); popfl\n\t"
				 "shldl $3, %1, (%0)\n\t"
				 ".globl mmio_data_bp_after_tf_shld\n"
				 "mmio_data_bp_after_tf_shld:\n\t"
				 "pushfl; andl $~0x100, (%%esp); popfl"
				 :
				 : "r"(a->addr), "r"(v), "r"(FLAG_TF)
				 : "memory", "cc");
		break;
	case OP_MOV_SS: /* the word holds SS's own selector; the MOV's #DB waits one instruction */
		__asm__ volatile("movw (%0), %%ss\n\t"
				 "movl %%esp, %%esp\n\t"
				 ".globl mmio_data_bp_after_mov_ss\n"
				 "mmio_data_bp_after_mov_ss:"
				 :
				 : "r"(a->addr)
				 : "memory");
		break;
	case OP_MOV_SS_TF: /* POPF's TF traps after the MOV SS, which holds it one more */
		__asm__ volatile("pushfl; orl %1, (%%esp); popfl\n\t"
				 "movw (%0), %%ss\n\t"
				 "movl %%esp, %%esp\n\t"
				 ".globl mmio_data_bp_after_mov_ss_tf\n"
				 "mmio_data_bp_after_mov_ss_tf:\n\t"
				 "pushfl; andl $~0x100, (%%esp); popfl"
				 :
				 : "r"(a->addr), "r"(FLAG_TF)
				 : "memory", "cc");
		break;
	case OP_MOV_SS_CPUID: /* the next instruction exits: mhv completes it */
		__asm__ volatile("movw (%4), %%ss\n\t"
				 "cpuid\n\t"
				 ".globl mmio_data_bp_after_mov_ss_cpuid\n"
				 "mmio_data_bp_after_mov_ss_cpuid:"
				 : "=a"(v), "=b"(b), "=c"(c), "=d"(d2)
				 : "S"(a->addr), "a"(0)
				 : "memory");
		break;
	case OP_MOV_SS_UD2: /* the next instruction faults */
		__asm__ volatile("movw (%0), %%ss\n\t"
				 ".globl mmio_data_bp_mov_ss_ud2\n"
				 "mmio_data_bp_mov_ss_ud2:\n\t"
				 "ud2"
				 :
				 : "r"(a->addr)
				 : "memory");
		break;
	}
	(void)v;
	(void)b;
	(void)d2;
}

static void set_drs(uint32_t dr7, const uint32_t dr[4])
{
	__asm__ volatile("movl %0, %%dr7" ::"r"(0u));
	__asm__ volatile("movl %0, %%dr0" ::"r"(dr[0]));
	__asm__ volatile("movl %0, %%dr1" ::"r"(dr[1]));
	__asm__ volatile("movl %0, %%dr2" ::"r"(dr[2]));
	__asm__ volatile("movl %0, %%dr3" ::"r"(dr[3]));
	__asm__ volatile("movl %0, %%dr6" ::"r"(DR6_CLEAR));
	__asm__ volatile("movl %0, %%dr7" ::"r"(dr7));
}

struct outcome {
	struct fault f;
	uint32_t dr6;
	bool faulted; /* vcpu-independent summary for the message */
};

/* The case on the word at base: the access replayed unarmed first, then armed once. */
static void run_case(const struct bp_case *k, uintptr_t word, struct outcome *o)
{
	static const uint32_t none[4];
	struct access a = {.op = k->op, .addr = word + k->off};
	uint32_t dr[4], dr6;
	struct fault warm;

	for (unsigned n = 0; n < 4; n++)
		dr[n] = word + k->dr_off[n];
	set_drs(0, none);
	if (k->op >= OP_MOV_SS) { /* the MOV SS forms */
		uint16_t ss;

		__asm__ volatile("movw %%ss, %0" : "=r"(ss));
		*(volatile uint16_t *)a.addr = ss;
	}
	for (unsigned i = 0; i < WARM_ROUNDS; i++)
		run_catching(do_access, &a, &warm);
	set_drs(k->dr7, dr);
	o->faulted = run_catching(do_access, &a, &o->f);
	__asm__ volatile("movl %%dr6, %0" : "=r"(dr6));
	set_drs(0, none);
	o->dr6 = dr6 & DR6_SEEN;
}

/*
 * MOV SS from the word, then an instruction that faults: the SDM leaves the order of the
 * held #DB and the fault open; mhv (SVM) gives the #DB before it, the CPU (VMX) one of the
 * two.  Either at the UD2, and no RFLAGS.TF of mhv's single step left to the guest.
 */
static void check_mov_ss_fault(uintptr_t dev_at)
{
	static const struct bp_case k = {"mmio data bp: MOV SS from the word, then a faulting "
					 "instruction: #DB or #UD at it, and no TF left behind",
					 OP_MOV_SS_UD2,
					 0,
					 BP(0, 0, RW_RW, LEN2),
					 {0},
					 0x1,
					 mmio_data_bp_mov_ss_ud2};
	struct outcome o;
	uint32_t flags;

	run_case(&k, dev_at, &o);
	__asm__ volatile("pushfl; popl %0" : "=r"(flags));
	check(o.faulted && o.f.eip == (uint32_t)k.at &&
		      ((o.f.vector == VEC_DB && o.dr6 == k.want_dr6) || o.f.vector == VEC_UD) &&
		      !(flags & FLAG_TF),
	      k.name, "%s at 0x%x DR6 0x%x, EFLAGS 0x%x (want at 0x%x)",
	      o.faulted ? trap_name(o.f.vector) : "nothing", o.f.eip, o.dr6, flags,
	      (uint32_t)k.at);
}

void test_mmio_data_bp(void)
{
	uintptr_t dev = hv_ram_region(PAGE_SIZE);

	if (!dev) {
		check(false, "mmio data bp: an mmio=ram region configured", "none");
		return;
	}
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct bp_case *k = &cases[i];
		struct outcome ram, mmio;
		uintptr_t ram_at = (uintptr_t)ram_word, dev_at = dev + OFF_WORD;

		run_case(k, ram_at, &ram);
		run_case(k, dev_at, &mmio);
		/* RAM is the CPU's answer for where the trap lands and a string's progress; DR6,
		 * the TF case and MOV SS are the SDM's (QEMU's TCG reports only the first of two
		 * watchpoints, and lands a watchpoint under TF one instruction late; MOV SS
		 * holds the #DB until after the next instruction, SDM Vol. 3, 6.8.3). */
		uint32_t want_eip = k->at ? (uint32_t)k->at : ram.f.eip;
		/* On RAM under SVM the CPUID's intercept drops the CPU's own pending #DB (Bochs:
		 * SVM saves no pending debug exceptions at an exit): that run is not judged. */
		bool ram_ok = (k->op == OP_MOV_SS_CPUID && cpu_vendor() == VENDOR_AMD) ||
			      (ram.faulted == !!k->want_dr6 &&
			       (!ram.faulted || ram.f.vector == VEC_DB));
		bool same = mmio.faulted == !!k->want_dr6 &&
			    (!mmio.faulted || (mmio.f.vector == VEC_DB && mmio.f.eip == want_eip &&
					       mmio.dr6 == k->want_dr6));

		if (k->op == OP_REP_MOVSD) /* the iteration the trap came after */
			same = same && ram.f.ecx == mmio.f.ecx && ram.f.esi == mmio.f.esi &&
			       ram.f.edi - (uint32_t)ram_at == mmio.f.edi - (uint32_t)dev_at;
		check(ram_ok && same, k->name,
		      "device: %s at 0x%x DR6 0x%x ECX %u (want DR6 0x%x at 0x%x); RAM: %s, ECX %u%s",
		      mmio.faulted ? trap_name(mmio.f.vector) : "nothing", mmio.f.eip, mmio.dr6,
		      mmio.f.ecx, k->want_dr6, want_eip,
		      ram.faulted ? trap_name(ram.f.vector) : "nothing", ram.f.ecx,
		      ram_ok ? "" : " (RAM not as the SDM says)");
	}
	check_mov_ss_fault(dev + OFF_WORD);
}
