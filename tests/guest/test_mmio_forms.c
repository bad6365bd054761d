/*
 * The instruction forms mhv's MMIO emulator executes, one representative per class, each run
 * twice with the same inputs: once on a variable in RAM (the CPU itself) and once on a device
 * page of an mmio=ram region (mhv's emulator).  The memory result and the flags the SDM
 * defines must agree; undefined flags are left out, as the emulators under test (Bochs, QEMU)
 * need not model them like the host CPU the emulator follows.
 *
 * Paging is off (physical addresses), the region is the first ram region mhv reports.
 */
#include <stddef.h>

#include "core/hypercall_abi.h"
#include "lib/compiler.h"
#include "lib/fmt.h"
#include "tests/guest/cpu.h"
#include "tests/guest/hv.h"
#include "tests/guest/report.h"
#include "tests/guest/tests.h"
#include "tests/guest/trap.h"

#define FORMS_OFF	  0x3f00u /* in the region's last page, away from test_mmio.c's offsets */
#define FORMS_MIN	  0x4000u
#define FL_CF		  (1u << 0)
#define FL_PF		  (1u << 2)
#define FL_ZF		  (1u << 6)
#define FL_SF		  (1u << 7)
#define FL_OF		  (1u << 11)
#define FL_SZPC		  (FL_SF | FL_ZF | FL_PF | FL_CF)
#define CPUID1_ECX_POPCNT (1u << 23)
#define CPUID1_ECX_SSE42  (1u << 20)
#define G_CR0_MP	  (1u << 1)
#define G_CR0_EM	  (1u << 2)
#define G_CR0_TS	  (1u << 3)
#define G_CR4_OSFXSR	  (1u << 9)
#define XMM_WORDS	  4
#define SSE_OFF		  0x3e00u
#define SYS_OFF		  0x3d00u
#define STACK_OFF	  0x3c00u
#define MMX_OFF		  0x3d80u
#define FXSR_OFF	  0x3000u /* 512 bytes, 16-byte aligned */
#define FXSR_AREA	  512
#define FXSR_XMM0	  160
#define FXSR_XMM_BYTES	  128 /* XMM0-7 */
#define FXSR_FOP	  5   /* bytes 5-23: reserved, FOP, FIP, FDP */
#define FXSR_MXCSR	  24
#define FXSR_MXCSR_END	  28
#define FXSR_ST0	  32
#define FXSR_ST_SLOT	  16
#define FXSR_ST_BYTES	  10 /* of each 16-byte slot: the rest is reserved */
#define VEC_DB		  1
#define SREG_OFF	  0x3d40u
#define POP_SLOT	  0x10u
#define FAR_OFF		  0x3d60u /* far pointer, then a two-slot stack at +0x10 */
#define FAR_STACK	  0x10u
#define FAR_FN_RESULT	  0x5au
#define SEL_PAST_GDT	  0x18u /* entry.S's GDT: null, code, data */
#define SEED_A		  0x80c3e105u
#define SEED_B		  0x0000b7a4u

/* One instruction on *p (plus a register input), returning EFLAGS after it. */
typedef uint32_t (*form_fn)(volatile uint32_t *p, uint32_t in, uint32_t *out);

static uint32_t shl_cl(volatile uint32_t *p, uint32_t in, uint32_t *out)
{
	uint32_t fl;

	(void)out;
	asm volatile("shll %%cl, %1; pushf; pop %0" : "=r"(fl), "+m"(*p) : "c"(in) : "cc");
	return fl;
}

static uint32_t sar_1(volatile uint32_t *p, uint32_t in, uint32_t *out)
{
	uint32_t fl;

	(void)in;
	(void)out;
	asm volatile("sarw $1, %1; pushf; pop %0" : "=r"(fl), "+m"(*(volatile uint16_t *)p)::"cc");
	return fl;
}

static uint32_t rcr_imm(volatile uint32_t *p, uint32_t in, uint32_t *out)
{
	uint32_t fl;

	(void)out;
	/* CF in from in's bit 0, then RCR byte by 3. */
	asm volatile("bt $0, %2; rcrb $3, %1; pushf; pop %0"
		     : "=r"(fl), "+m"(*(volatile uint8_t *)p)
		     : "r"(in)
		     : "cc");
	return fl;
}

static uint32_t rol_1(volatile uint32_t *p, uint32_t in, uint32_t *out)
{
	uint32_t fl;

	(void)in;
	(void)out;
	asm volatile("roll $1, %1; pushf; pop %0" : "=r"(fl), "+m"(*p)::"cc");
	return fl;
}

static uint32_t shld_imm(volatile uint32_t *p, uint32_t in, uint32_t *out)
{
	uint32_t fl;

	(void)out;
	asm volatile("shldl $7, %2, %1; pushf; pop %0" : "=r"(fl), "+m"(*p) : "r"(in) : "cc");
	return fl;
}

static uint32_t shrd_cl(volatile uint32_t *p, uint32_t in, uint32_t *out)
{
	uint32_t fl;

	(void)out;
	asm volatile("shrdl %%cl, %2, %1; pushf; pop %0"
		     : "=r"(fl), "+m"(*p)
		     : "r"(in), "c"(in & 0xf)
		     : "cc");
	return fl;
}

static uint32_t bsf_m(volatile uint32_t *p, uint32_t in, uint32_t *out)
{
	uint32_t fl, r = in;

	asm volatile("bsfl %2, %1; pushf; pop %0" : "=r"(fl), "+r"(r) : "m"(*p) : "cc");
	*out = r;
	return fl;
}

static uint32_t bsr_m(volatile uint32_t *p, uint32_t in, uint32_t *out)
{
	uint32_t fl, r = in;

	asm volatile("bsrl %2, %1; pushf; pop %0" : "=r"(fl), "+r"(r) : "m"(*p) : "cc");
	*out = r;
	return fl;
}

static uint32_t popcnt_m(volatile uint32_t *p, uint32_t in, uint32_t *out)
{
	uint32_t fl, r = in;

	asm volatile("popcntl %2, %1; pushf; pop %0" : "=r"(fl), "+r"(r) : "m"(*p) : "cc");
	*out = r;
	return fl;
}

static uint32_t crc32_m(volatile uint32_t *p, uint32_t in, uint32_t *out)
{
	uint32_t fl, r = in;

	asm volatile("crc32l %2, %1; pushf; pop %0" : "=r"(fl), "+r"(r) : "m"(*p) : "cc");
	*out = r;
	return fl;
}

struct form {
	const char *name;
	form_fn fn;
	uint32_t defined; /* flags to compare */
	uint32_t mem, in; /* inputs */
};

static const struct form forms[] = {
	{"shl m32, cl", shl_cl, FL_SZPC, SEED_A, 3},
	{"sar m16, 1", sar_1, FL_SZPC | FL_OF, SEED_A, 0},
	{"rcr m8, imm8", rcr_imm, FL_CF, SEED_A, 1},
	{"rol m32, 1", rol_1, FL_CF | FL_OF, SEED_A, 0},
	{"shld m32, r32, imm8", shld_imm, FL_SZPC, SEED_A, SEED_B},
	{"shrd m32, r32, cl", shrd_cl, FL_SZPC, SEED_B, SEED_A},
	{"bsf r32, m32", bsf_m, FL_ZF, SEED_B, 0x55},
	{"bsf r32, m32 (zero source)", bsf_m, FL_ZF, 0, 0x55},
	{"bsr r32, m32", bsr_m, FL_ZF, SEED_B, 0x55},
};

static uint32_t ram_word;

static void run_form(const struct form *f, volatile uint32_t *dev)
{
	uint32_t out_ram = 0, out_dev = 0, fl_ram, fl_dev;

	ram_word = f->mem;
	*dev = f->mem;
	fl_ram = f->fn(&ram_word, f->in, &out_ram);
	fl_dev = f->fn(dev, f->in, &out_dev);
	check(ram_word == *dev && out_ram == out_dev && !((fl_ram ^ fl_dev) & f->defined), f->name,
	      "memory %08x/%08x, register %08x/%08x, flags %03x/%03x (CPU/emulated)", ram_word,
	      *dev, out_ram, out_dev, fl_ram & f->defined, fl_dev & f->defined);
}


/*
 * SSE through a device page: a load must set the whole XMM register (mhv reaches it with
 * FXSAVE/FXRSTOR or XSAVE/XRSTOR, which must not skip or re-initialise XMM state), a store
 * must read it.  The guest's XMM1 is first loaded from RAM with a different pattern.
 */
static void test_sse(uint32_t base)
{
	static const uint32_t ram_in[XMM_WORDS] __aligned(16) = {0x11111111, 0x22222222, 0x33333333,
								 0x44444444};
	static uint32_t ram_out[XMM_WORDS] __aligned(16);
	volatile uint32_t *dev = (volatile uint32_t *)(base + SSE_OFF);
	const uint32_t cr0 = read_cr0(), cr4 = read_cr4();
	bool load_ok = true, store_ok = true;

	write_cr0((cr0 & ~(G_CR0_EM | G_CR0_TS)) | G_CR0_MP);
	write_cr4(cr4 | G_CR4_OSFXSR);
	for (unsigned int i = 0; i < XMM_WORDS; i++)
		dev[i] = SEED_A * (i + 1);
	asm volatile("movdqu %0, %%xmm1" ::"m"(ram_in));
	asm volatile("movdqu %0, %%xmm1" ::"m"(*dev));	   /* emulated load */
	asm volatile("movdqu %%xmm1, %0" : "=m"(ram_out)); /* native store */
	for (unsigned int i = 0; i < XMM_WORDS; i++)
		load_ok &= ram_out[i] == SEED_A * (i + 1);
	asm volatile("movdqa %0, %%xmm2" ::"m"(ram_in));
	asm volatile("movdqu %%xmm2, %0" : "=m"(dev[XMM_WORDS])); /* emulated store */
	for (unsigned int i = 0; i < XMM_WORDS; i++)
		store_ok &= dev[XMM_WORDS + i] == ram_in[i];
	write_cr4(cr4);
	write_cr0(cr0);
	check(load_ok, "mmio forms: movdqu xmm, m128 from a device page sets all of XMM1",
	      "XMM1 %08x %08x %08x %08x", ram_out[0], ram_out[1], ram_out[2], ram_out[3]);
	check(store_ok, "mmio forms: movdqu m128, xmm to a device page stores all of XMM2",
	      "device %08x %08x %08x %08x", dev[4], dev[5], dev[6], dev[7]);
}

/* GDTR/IDTR image as SGDT/SIDT store it in 32-bit mode. */
struct __attribute__((packed)) dtr {
	uint16_t limit;
	uint32_t base;
};

static bool same_dtr(const struct dtr *a, const volatile struct dtr *b)
{
	return a->limit == b->limit && a->base == b->base;
}

/*
 * System forms on a device page against the same instruction on RAM: SGDT/SIDT/SLDT/STR/SMSW
 * store the same; LGDT/LIDT/LMSW from the device page load what it holds.
 */
static void test_system(uint32_t base)
{
	volatile struct dtr *dev_dt = (volatile struct dtr *)(base + SYS_OFF);
	volatile uint16_t *dev_w = (volatile uint16_t *)(base + SYS_OFF + sizeof(struct dtr));
	struct dtr ram_dt, orig_gdt, orig_idt, shrunk, got;
	uint16_t ram_w, dev_val;
	uint32_t cr0;

	asm volatile("sgdt %0" : "=m"(ram_dt));
	asm volatile("sgdt %0" : "=m"(*dev_dt));
	check(same_dtr(&ram_dt, dev_dt), "mmio forms: sgdt m to a device page matches the CPU",
	      "%x:%x", dev_dt->base, dev_dt->limit);
	orig_gdt = ram_dt;
	asm volatile("sidt %0" : "=m"(ram_dt));
	asm volatile("sidt %0" : "=m"(*dev_dt));
	check(same_dtr(&ram_dt, dev_dt), "mmio forms: sidt m to a device page matches the CPU",
	      "%x:%x", dev_dt->base, dev_dt->limit);
	orig_idt = ram_dt;
	asm volatile("smsw %0" : "=m"(ram_w));
	asm volatile("smsw %0" : "=m"(*dev_w));
	dev_val = *dev_w;
	check(ram_w == dev_val, "mmio forms: smsw m16 to a device page matches the CPU",
	      "%x, CPU %x", dev_val, ram_w);
	asm volatile("str %0" : "=m"(ram_w));
	asm volatile("str %0" : "=m"(*dev_w));
	dev_val = *dev_w;
	check(ram_w == dev_val, "mmio forms: str m16 to a device page matches the CPU",
	      "%x, CPU %x", dev_val, ram_w);
	asm volatile("sldt %0" : "=m"(ram_w));
	*dev_w = 0xffff;
	asm volatile("sldt %0" : "=m"(*dev_w));
	dev_val = *dev_w;
	check(ram_w == dev_val, "mmio forms: sldt m16 to a device page matches the CPU",
	      "%x, CPU %x", dev_val, ram_w);

	/* LGDT/LIDT: shrink the limit natively by one, load the original from the device. */
	shrunk = orig_gdt;
	shrunk.limit--;
	asm volatile("lgdt %0" ::"m"(shrunk));
	dev_dt->limit = orig_gdt.limit;
	dev_dt->base = orig_gdt.base;
	asm volatile("lgdt %0" ::"m"(*dev_dt));
	asm volatile("sgdt %0" : "=m"(got));
	asm volatile("lgdt %0" ::"m"(orig_gdt));
	check(same_dtr(&orig_gdt, &got), "mmio forms: lgdt m from a device page loads GDTR",
	      "%x:%x", got.base, got.limit);
	shrunk = orig_idt;
	shrunk.limit--;
	asm volatile("lidt %0" ::"m"(shrunk));
	dev_dt->limit = orig_idt.limit;
	dev_dt->base = orig_idt.base;
	asm volatile("lidt %0" ::"m"(*dev_dt));
	asm volatile("sidt %0" : "=m"(got));
	asm volatile("lidt %0" ::"m"(orig_idt));
	check(same_dtr(&orig_idt, &got), "mmio forms: lidt m from a device page loads IDTR",
	      "%x:%x", got.base, got.limit);

	/* LMSW: set CR0.TS from the device page, then clear it again. */
	cr0 = read_cr0();
	*dev_w = (uint16_t)(cr0 | G_CR0_TS);
	asm volatile("lmsw %0" ::"m"(*dev_w));
	check((read_cr0() & G_CR0_TS) != 0, "mmio forms: lmsw m16 from a device page sets CR0.TS",
	      "CR0 %x", read_cr0());
	asm volatile("clts");
	write_cr0(cr0);
}

/*
 * Stack forms with ESP inside the device region (interrupts are off): PUSH imm, PUSHF, CALL
 * rel and RET, CALL through a pointer on the device page, ENTER/LEAVE, POPF, POP.
 */
struct stack_result {
	uint32_t popped, flags_in, flags_out, ret_seen, ptr_seen, enter_ebp, leave_esp;
};

static void __attribute__((noinline)) run_device_stack(uint32_t top, struct stack_result *r)
{
	asm volatile(
		"movl %%esp, %%edi\n\t"
		"movl %[top], %%esp\n\t"
		"pushl $0x5eed1234\n\t"
		"pushfl\n\t"
		"movl (%%esp), %%eax\n\t"
		"movl %%eax, %c[fin](%[r])\n\t"
		"call 1f\n\t"
		"jmp 2f\n"
		"1:\tmovl $1, %c[ret](%[r])\n\t"
		"ret\n"
		"2:\tleal 3f, %%eax\n\t"
		"movl %%eax, -64(%[top])\n\t"
		"call *-64(%[top])\n\t"
		"jmp 4f\n"
		"3:\tmovl $1, %c[ptr](%[r])\n\t"
		"ret\n"
		"4:\tmovl %%ebp, %%esi\n\t"
		"enter $16, $0\n\t"
		"movl %%ebp, %c[ebp](%[r])\n\t"
		"leave\n\t"
		"movl %%esp, %c[lesp](%[r])\n\t"
		"movl %%esi, %%ebp\n\t"
		"popfl\n\t"
		"pushfl\n\t"
		"popl %c[fout](%[r])\n\t"
		"popl %c[pop](%[r])\n\t"
		"movl %%edi, %%esp"
		:
		: [top] "r"(top), [r] "r"(r), [fin] "i"(offsetof(struct stack_result, flags_in)),
		  [fout] "i"(offsetof(struct stack_result, flags_out)),
		  [ret] "i"(offsetof(struct stack_result, ret_seen)),
		  [ptr] "i"(offsetof(struct stack_result, ptr_seen)),
		  [ebp] "i"(offsetof(struct stack_result, enter_ebp)),
		  [lesp] "i"(offsetof(struct stack_result, leave_esp)),
		  [pop] "i"(offsetof(struct stack_result, popped))
		: "eax", "esi", "edi", "memory", "cc");
}

static void test_device_stack(uint32_t base)
{
	const uint32_t top = base + STACK_OFF;
	struct stack_result r = {0};

	run_device_stack(top, &r);
	check(r.popped == 0x5eed1234 && *(volatile uint32_t *)(top - 4) == 0x5eed1234,
	      "mmio forms: push imm32 / pop r32 with ESP on a device page", "popped %x", r.popped);
	check(r.ret_seen == 1, "mmio forms: call rel32 / ret with ESP on a device page",
	      "the callee did not run");
	check(r.ptr_seen == 1, "mmio forms: call through a pointer on a device page",
	      "the callee did not run");
	check(r.enter_ebp == top - 12 && r.leave_esp == top - 8,
	      "mmio forms: enter / leave with ESP on a device page",
	      "EBP in the frame %x (want %x), ESP after leave %x (want %x)", r.enter_ebp, top - 12,
	      r.leave_esp, top - 8);
	check(r.flags_in == r.flags_out, "mmio forms: pushf / popf with ESP on a device page",
	      "pushed %x, after popf %x", r.flags_in, r.flags_out);
}

extern char mmio_forms_after_load[];

/* TF on for exactly one emulated load: the single-step trap must follow that instruction. */
static void __attribute__((noinline)) step_load(void *arg)
{
	uint32_t val;

	asm volatile("pushf; orl $0x100, (%%esp); popf\n\t"
		     "movl (%1), %0\n\t"
		     ".globl mmio_forms_after_load\n"
		     "mmio_forms_after_load:\n\t"
		     "nop\n\t"
		     "pushf; andl $~0x100, (%%esp); popf"
		     : "=&r"(val)
		     : "r"(arg)
		     : "memory", "cc");
}

extern char mmio_forms_rep_movs[];
static uint8_t rep_dst[4];

/* TF on for a REP MOVSB from the device page: the trap must come after one element. */
static void __attribute__((noinline)) step_rep(void *arg)
{
	asm volatile("pushf; orl $0x100, (%%esp); popf\n\t"
		     ".globl mmio_forms_rep_movs\n"
		     "mmio_forms_rep_movs:\n\t"
		     "rep movsb\n\t"
		     "pushf; andl $~0x100, (%%esp); popf"
		     :
		     : "S"(arg), "D"(rep_dst), "c"(3)
		     : "memory", "cc");
}

extern char mmio_forms_after_popf[];

/*
 * ESP on the device page: a POPF there sets TF (the trap waits one instruction), the next
 * POPF there clears it and still traps, after itself (the TF it started with).  The #DB's
 * frame goes onto the device page too.
 */
static void __attribute__((noinline)) step_popf(void *top)
{
	asm volatile("movl %%esp, %%esi\n\t"
		     "movl %0, %%esp\n\t"
		     "pushfl\n\t"
		     "pushfl\n\t"
		     "orl $0x100, (%%esp)\n\t"
		     "popfl\n\t"
		     "popfl\n\t"
		     ".globl mmio_forms_after_popf\n"
		     "mmio_forms_after_popf:\n\t"
		     "movl %%esi, %%esp"
		     :
		     : "r"(top)
		     : "esi", "memory", "cc");
}

static void test_single_step(uint32_t base)
{
	volatile uint8_t *src = (volatile uint8_t *)(base + FORMS_OFF + 0x90);
	struct fault f;
	uint32_t flags;

	run_catching(step_load, (void *)(base + FORMS_OFF), &f);
	check(f.raised && f.vector == VEC_DB && f.eip == (uint32_t)mmio_forms_after_load,
	      "mmio forms: single-step #DB comes right after an emulated load",
	      "%s at 0x%x, expected #DB at 0x%x", f.raised ? trap_name(f.vector) : "nothing", f.eip,
	      (uint32_t)mmio_forms_after_load);
	run_catching(step_popf, (void *)(base + STACK_OFF), &f);
	asm volatile("pushfl; popl %0" : "=r"(flags));
	check(f.raised && f.vector == VEC_DB && f.eip == (uint32_t)mmio_forms_after_popf &&
		      !(flags & 0x100),
	      "mmio forms: POPF from a device stack clearing TF traps right after itself",
	      "%s at 0x%x, expected #DB at 0x%x; EFLAGS 0x%x after",
	      f.raised ? trap_name(f.vector) : "nothing", f.eip, (uint32_t)mmio_forms_after_popf,
	      flags);
	for (unsigned int i = 0; i < 3; i++)
		src[i] = (uint8_t)(0xc1 + i);
	run_catching(step_rep, (void *)src, &f);
	check(f.raised && f.vector == VEC_DB && f.eip == (uint32_t)mmio_forms_rep_movs &&
		      rep_dst[0] == 0xc1 && rep_dst[1] == 0,
	      "mmio forms: single-step #DB after one element of REP MOVSB from a device page",
	      "%s at 0x%x (want #DB at 0x%x), copied %02x %02x",
	      f.raised ? trap_name(f.vector) : "nothing", f.eip, (uint32_t)mmio_forms_rep_movs,
	      rep_dst[0], rep_dst[1]);
}

extern char mmio_forms_after_shadow[];

/* TF on across MOV SS from the device page: the trap waits for the next instruction. */
static void __attribute__((noinline)) step_mov_ss(void *arg)
{
	asm volatile("pushf; orl $0x100, (%%esp); popf\n\t"
		     "movw (%0), %%ss\n\t"
		     "nop\n\t"
		     ".globl mmio_forms_after_shadow\n"
		     "mmio_forms_after_shadow:\n\t"
		     "nop\n\t"
		     "pushf; andl $~0x100, (%%esp); popf"
		     :
		     : "r"(arg)
		     : "memory", "cc");
}

static void load_es_from(void *arg)
{
	asm volatile("push %%es; movw (%0), %%es; pop %%es" ::"r"(arg) : "memory");
}

static void load_ss_from(void *arg)
{
	asm volatile("movw (%0), %%ss" ::"r"(arg) : "memory");
}

/*
 * MOV Sreg, m16 from a device page: FS gets the data selector (and reads through it), SS the
 * same with its single-step shadow; a selector past the GDT and a code segment for SS fault
 * with the selector as error code, like the CPU.
 */
static void test_sreg(uint32_t base)
{
	static const uint32_t marker = 0x5e9c0de5u;
	volatile uint16_t *dev = (volatile uint16_t *)(base + SREG_OFF);
	uint16_t ds, cs, fs, ss;
	uint32_t via_fs, sp;
	struct fault f;

	asm volatile("mov %%ds, %0; mov %%cs, %1" : "=r"(ds), "=r"(cs));
	asm volatile("mov %0, %%fs" ::"r"(0));
	dev[0] = ds;
	asm volatile("movw %1, %%fs; mov %%fs, %0" : "=r"(fs) : "m"(dev[0]));
	asm volatile("movl %%fs:%1, %0" : "=r"(via_fs) : "m"(marker));
	check(fs == ds && via_fs == marker,
	      "mmio forms: mov fs, m16 from a device page loads the descriptor",
	      "FS %x (want %x), read %x", fs, ds, via_fs);
	run_catching(step_mov_ss, (void *)dev, &f);
	asm volatile("mov %%ss, %0" : "=r"(ss));
	check(f.raised && f.vector == VEC_DB && f.eip == (uint32_t)mmio_forms_after_shadow &&
		      ss == ds,
	      "mmio forms: mov ss, m16 from a device page, single-step trap one instruction later",
	      "%s at 0x%x, expected #DB at 0x%x, SS %x", f.raised ? trap_name(f.vector) : "nothing",
	      f.eip, (uint32_t)mmio_forms_after_shadow, ss);
	dev[1] = SEL_PAST_GDT;
	run_catching(load_es_from, (void *)&dev[1], &f);
	check(f.raised && f.vector == VEC_GP && f.errcode == SEL_PAST_GDT,
	      "mmio forms: mov es, m16 past the GDT limit from a device page is #GP(selector)",
	      "%s (%x)", f.raised ? trap_name(f.vector) : "nothing", f.errcode);
	dev[2] = cs;
	run_catching(load_ss_from, (void *)&dev[2], &f);
	check(f.raised && f.vector == VEC_GP && f.errcode == cs,
	      "mmio forms: mov ss, m16 with a code selector from a device page is #GP(selector)",
	      "%s (%x)", f.raised ? trap_name(f.vector) : "nothing", f.errcode);
	/* POP FS with ESP on the device page (interrupts are off). */
	sp = base + SREG_OFF + POP_SLOT;
	*(volatile uint32_t *)sp = ds;
	asm volatile("mov %2, %%fs; xchg %%esp, %0; pop %%fs; xchg %%esp, %0; mov %%fs, %1"
		     : "+r"(sp), "=&r"(fs)
		     : "r"(0)
		     : "memory");
	check(fs == ds && sp == base + SREG_OFF + POP_SLOT + 4,
	      "mmio forms: pop fs from a device-page stack loads the descriptor",
	      "FS %x (want %x), ESP moved by %d", fs, ds, (int)(sp - (base + SREG_OFF + POP_SLOT)));
	asm volatile("mov %0, %%fs" ::"r"(ds));
}

extern char mmio_forms_far_target[], mmio_forms_far_fn[], mmio_forms_retf_target[];

/* Reached by a far CALL: returns with a native RETF. */
asm(".pushsection .text\n"
    ".globl mmio_forms_far_fn\n"
    "mmio_forms_far_fn:\n\t"
    "movl $0x5a, %eax\n\t"
    "lret\n"
    ".popsection");

static void far_jmp_from(void *arg)
{
	asm volatile("ljmp *(%0)" ::"r"(arg) : "memory");
}

/*
 * Far JMP and CALL through a pointer on a device page, RETF with ESP on one, at ring 0 into
 * the guest's own code segment; a far JMP to a data segment is #GP(selector).
 */
static void test_far(uint32_t base)
{
	volatile uint32_t *ptr = (volatile uint32_t *)(base + FAR_OFF);
	volatile uint32_t *stk = (volatile uint32_t *)(base + FAR_OFF + FAR_STACK);
	uint32_t cs, ds, jumped, called, sp = (uint32_t)stk;
	struct fault f;

	asm volatile("mov %%cs, %0; mov %%ds, %1" : "=r"(cs), "=r"(ds));
	ptr[0] = (uint32_t)mmio_forms_far_target;
	ptr[1] = cs;
	asm volatile("movl $1, %0\n\t"
		     "ljmp *(%1)\n\t"
		     "movl $0, %0\n"
		     ".globl mmio_forms_far_target\n"
		     "mmio_forms_far_target:"
		     : "=&r"(jumped)
		     : "r"(ptr)
		     : "memory");
	check(jumped == 1, "mmio forms: far jmp m16:32 from a device page", "fell through");
	ptr[0] = (uint32_t)mmio_forms_far_fn;
	asm volatile("lcall *(%1)" : "=a"(called) : "r"(ptr) : "memory");
	check(called == FAR_FN_RESULT, "mmio forms: far call m16:32 from a device page",
	      "EAX %x", called);
	stk[0] = (uint32_t)mmio_forms_retf_target;
	stk[1] = cs;
	asm volatile("xchg %%esp, %0\n\t"
		     "lret\n"
		     ".globl mmio_forms_retf_target\n"
		     "mmio_forms_retf_target:\n\t"
		     "xchg %%esp, %0"
		     : "+r"(sp)
		     :
		     : "memory");
	check(sp == (uint32_t)stk + 2 * sizeof(uint32_t),
	      "mmio forms: retf with ESP on a device page", "ESP moved by %d",
	      (int)(sp - (uint32_t)stk));
	ptr[1] = ds;
	run_catching(far_jmp_from, (void *)ptr, &f);
	check(f.raised && f.vector == VEC_GP && f.errcode == ds,
	      "mmio forms: far jmp to a data segment from a device page is #GP(selector)",
	      "%s (%x)", f.raised ? trap_name(f.vector) : "nothing", f.errcode);
}

/* MMX: MOVQ mm, m64 from a device page sets MM0; MOVQ m64, mm to it stores MM1. */
static void test_mmx(uint32_t base)
{
	static const uint64_t ram_in = 0x0123456789abcdefull;
	static uint64_t ram_out;
	volatile uint64_t *dev = (volatile uint64_t *)(base + MMX_OFF);
	const uint32_t cr0 = read_cr0();
	uint64_t stored;

	write_cr0((cr0 & ~(G_CR0_EM | G_CR0_TS)) | G_CR0_MP);
	dev[0] = 0xfedcba9876543210ull;
	asm volatile("movq %0, %%mm0" ::"m"(ram_in));
	asm volatile("movq %0, %%mm0" ::"m"(dev[0])); /* emulated load */
	asm volatile("movq %%mm0, %0" : "=m"(ram_out));
	asm volatile("movq %0, %%mm1" ::"m"(ram_in));
	asm volatile("movq %%mm1, %0" : "=m"(dev[1])); /* emulated store */
	asm volatile("emms");
	stored = dev[1];
	write_cr0(cr0);
	check(ram_out == 0xfedcba9876543210ull,
	      "mmio forms: movq mm, m64 from a device page sets MM0", "MM0 %08x%08x",
	      (uint32_t)(ram_out >> 32), (uint32_t)ram_out);
	check(stored == ram_in, "mmio forms: movq m64, mm to a device page stores MM1",
	      "device %08x%08x", (uint32_t)(stored >> 32), (uint32_t)stored);
}

/*
 * FXSAVE to a device page stores what FXSAVE to RAM stores (bytes it does not write keep
 * the same fill on both); FXRSTOR from the device page loads it (XMM0 changed in the image).
 */
static void test_fxsr(uint32_t base)
{
	static uint8_t ram_img[FXSR_AREA] __aligned(16);
	static uint32_t xmm0[XMM_WORDS] __aligned(16);
	volatile uint8_t *dev = (volatile uint8_t *)(base + FXSR_OFF);
	const uint32_t cr0 = read_cr0(), cr4 = read_cr4();
	uint32_t first_diff = FXSR_AREA;

	write_cr0((cr0 & ~(G_CR0_EM | G_CR0_TS)) | G_CR0_MP);
	write_cr4(cr4 | G_CR4_OSFXSR);
	for (unsigned int i = 0; i < FXSR_AREA; i++) {
		ram_img[i] = (uint8_t)(i * 7);
		dev[i] = (uint8_t)(i * 7);
	}
	asm volatile("fxsave %0" : "=m"(ram_img));
	asm volatile("fxsave %0" : "=m"(*(volatile uint8_t(*)[FXSR_AREA])dev));
	/* FCW/FSW/FTW, MXCSR, ST0-7, XMM0-7: what every implementation writes (the emulators
	 * differ on FOP/FIP/FDP and the reserved bytes). */
	for (unsigned int i = 0; i < FXSR_XMM0 + FXSR_XMM_BYTES && first_diff == FXSR_AREA; i++)
		if ((i < FXSR_FOP || (i >= FXSR_MXCSR && i < FXSR_MXCSR_END) || i >= FXSR_XMM0 ||
		     (i >= FXSR_ST0 && (i - FXSR_ST0) % FXSR_ST_SLOT < FXSR_ST_BYTES)) &&
		    ram_img[i] != dev[i])
			first_diff = i;
	for (unsigned int i = 0; i < XMM_WORDS * 4; i++)
		dev[FXSR_XMM0 + i] = (uint8_t)(0xa0 + i);
	asm volatile("fxrstor %0" ::"m"(*(volatile uint8_t(*)[FXSR_AREA])dev));
	asm volatile("movdqa %%xmm0, %0" : "=m"(xmm0));
	write_cr4(cr4);
	write_cr0(cr0);
	check(first_diff == FXSR_AREA,
	      "mmio forms: fxsave m512 to a device page matches the CPU (x87, MXCSR, XMM0-7)",
	      "first difference at byte %u: %02x, CPU %02x", first_diff, dev[first_diff],
	      ram_img[first_diff]);
	check(xmm0[0] == 0xa3a2a1a0 && xmm0[3] == 0xafaeadac,
	      "mmio forms: fxrstor m512 from a device page loads XMM0", "XMM0 %08x .. %08x",
	      xmm0[0], xmm0[3]);
}

void test_mmio_forms(void)
{
	uint32_t base;
	char name[96];

	if (!hv_present() || !(base = hv_ram_region(FORMS_MIN))) {
		gprintf("guest: mmio forms: no mmio=ram region, skipped\n");
		return;
	}
	for (unsigned int i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		struct form f = forms[i];

		fmt_snprintf(name, sizeof(name), "mmio forms: %s on a device page matches the CPU",
			     forms[i].name);
		f.name = name;
		run_form(&f, (volatile uint32_t *)(base + FORMS_OFF + 4 * i));
	}
	if (cpuid(1).ecx & CPUID1_ECX_POPCNT) {
		struct form f = {"mmio forms: popcnt r32, m32 on a device page matches the CPU",
				 popcnt_m, FL_SZPC | FL_OF, SEED_A, 0};

		run_form(&f, (volatile uint32_t *)(base + FORMS_OFF + 0x80));
	}
	if (cpuid(1).ecx & CPUID1_ECX_SSE42) {
		struct form f = {"mmio forms: crc32 r32, m32 on a device page matches the CPU",
				 crc32_m, FL_SZPC | FL_OF, SEED_A, SEED_B};

		run_form(&f, (volatile uint32_t *)(base + FORMS_OFF + 0x84));
	}
	test_sse(base);
	test_single_step(base);
	test_system(base);
	test_device_stack(base);
	test_mmx(base);
	test_fxsr(base);
	test_sreg(base);
	test_far(base);
	test_mmio_push_sreg(base);
	test_mmio_stack_forms(base);
	test_mmio_event(base);
	test_mmio_lldt(base);
	test_mmio_xsave(base);
	test_mmio_xsave_ext(base);
	test_mmio_strio(base);
	test_mmio_gate(base);
	test_mmio_v86(base);
	test_mmio_rmode(base);
	test_mmio_tss16(base);
}
