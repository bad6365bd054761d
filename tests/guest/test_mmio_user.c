/*
 * Ring 3 for the MMIO tests: a GDT with user code/data segments and a TSS, and a runner that
 * IRETs to a tiny CPL3 stub doing one 4-byte access.  The stub returns to the kernel by
 * raising #UD (UD2) right after its access, or by faulting on the access itself: run_catching()
 * catches either, so the kernel needs no system-call gate and trap.c needs no change.
 *
 * The boot GDT (entry.S) is read-only and has no user segments, so mmio_user_begin() loads a
 * copy with the same kernel entries at the same selectors (no segment reload is needed) plus
 * the ring-3 ones; mmio_user_end() puts the boot GDT back.
 */
#include <stddef.h>

#include "lib/compiler.h"
#include "tests/guest/cpu.h"
#include "tests/guest/desc.h"
#include "tests/guest/segments.h"
#include "tests/guest/tests.h"
#include "tests/guest/trap.h"

#define RPL_USER      3
#define SEL_USER_CODE (0x18 | RPL_USER)
#define SEL_USER_DATA (0x20 | RPL_USER)
#define SEL_TSS	      0x28
#define GDT_ENTRIES   6
#define SEL_INDEX(s)  ((s) >> 3)
/* GDT_FLAT_CODE32 / GDT_FLAT_DATA32 with DPL 3 (accessed bit preset, as there). */
#define GDT_USER_CODE32 0x00CFFB000000FFFF
#define GDT_USER_DATA32 0x00CFF3000000FFFF
/* TSS descriptor fields (SDM Vol. 3 8.2.2): present, DPL 0, 32-bit available TSS. */
#define TSS_DESC_TYPE	   0x89ull
#define EFLAGS_FIXED	   0x2 /* bit 1 reads as 1; IF, DF and IOPL stay clear in ring 3 */
#define RING0_STACK_SIZE   8192
#define USER_STACK_SIZE	   256
#define TSS32_SIZE	   104

/* The 32-bit TSS (SDM Vol. 3 8.2.1): only esp0/ss0 and the I/O map base matter here. */
struct tss32 {
	uint32_t link, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags;
	uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
	uint32_t es, cs, ss, ds, fs, gs, ldt;
	uint16_t trap, iomap_base;
} __packed;
BUILD_BUG_ON(sizeof(struct tss32) != TSS32_SIZE);

struct gdt_desc {
	uint16_t limit;
	uint32_t base;
} __packed;

/* What enter_ring3() needs: the stub and its register arguments. */
struct user_call {
	uint32_t entry;
	uint32_t eax, ebx, ecx;
};

/* Writable: LTR marks the TSS descriptor busy. */
static uint64_t gdt[GDT_ENTRIES] __aligned(8);
static struct tss32 tss;
/* Where the CPU switches on an exception from ring 3 (trap_recover then leaves it). */
static uint8_t ring0_stack[RING0_STACK_SIZE] __aligned(16);
static uint8_t user_stack[USER_STACK_SIZE] __aligned(16);
/* The stubs store a read's value here (user-accessible: the callers map all RAM with U=1). */
static volatile uint32_t user_result;
static struct gdt_desc boot_gdt;
static bool tr_loaded;

/*
 * The CPL3 stubs.  Read:  EBX = address, ECX = &user_result.  Write: EBX = address, EAX = value.
 * Each ends in UD2 at its _done label: a #UD there means the access completed.
 */
extern const char user_read32[], user_read32_done[], user_write32[], user_write32_done[];
asm(".pushsection .text\n"
    "user_read32:\n"
    "	movl (%ebx), %eax\n"
    "	movl %eax, (%ecx)\n"
    "user_read32_done:\n"
    "	ud2\n"
    "user_write32:\n"
    "	movl %eax, (%ebx)\n"
    "user_write32_done:\n"
    "	ud2\n"
    ".popsection\n");

void mmio_user_begin(void)
{
	const struct gdt_desc mine = {.limit = sizeof(gdt) - 1, .base = (uint32_t)gdt};

	asm volatile("sgdt %0" : "=m"(boot_gdt));
	if (!tr_loaded) {
		gdt[0] = 0;
		gdt[SEL_INDEX(SEL_CODE)] = GDT_FLAT_CODE32;
		gdt[SEL_INDEX(SEL_DATA)] = GDT_FLAT_DATA32;
		gdt[SEL_INDEX(SEL_USER_CODE)] = GDT_USER_CODE32;
		gdt[SEL_INDEX(SEL_USER_DATA)] = GDT_USER_DATA32;
		tss.ss0 = SEL_DATA;
		tss.esp0 = (uint32_t)(ring0_stack + sizeof(ring0_stack));
		tss.iomap_base = sizeof(tss); /* no I/O bitmap: ring 3 gets #GP on any port */
		gdt[SEL_INDEX(SEL_TSS)] = desc_small((uint32_t)&tss, sizeof(tss) - 1, TSS_DESC_TYPE);
	}
	asm volatile("lgdt %0" ::"m"(mine) : "memory");
	/* Once only: LTR of the (now busy) descriptor would #GP, and TR keeps its cached copy. */
	if (!tr_loaded) {
		asm volatile("ltr %w0" ::"r"((uint16_t)SEL_TSS) : "memory");
		tr_loaded = true;
	}
}

void mmio_user_end(void)
{
	asm volatile("lgdt %0" ::"m"(boot_gdt) : "memory");
}

/* Runs at CPL0 under run_catching(): never returns, the stub's UD2 or fault comes back. */
static void enter_ring3(void *arg)
{
	const struct user_call *c = arg;

	/* DPL-0 data selectors would be nulled by the IRET: give ring 3 its own DS/ES first. */
	asm volatile("movw %w[uds], %%ds\n\t"
		     "movw %w[uds], %%es\n\t"
		     "pushl %[ss]\n\t"
		     "pushl %[usp]\n\t"
		     "pushl %[efl]\n\t"
		     "pushl %[cs]\n\t"
		     "pushl %[entry]\n\t"
		     "iret"
		     :
		     : "a"(c->eax), "b"(c->ebx), "c"(c->ecx), [entry] "d"(c->entry),
		       [usp] "S"((uint32_t)(user_stack + sizeof(user_stack))),
		       [uds] "D"((uint32_t)SEL_USER_DATA), [ss] "i"(SEL_USER_DATA),
		       [efl] "i"(EFLAGS_FIXED), [cs] "i"(SEL_USER_CODE)
		     : "memory");
	__builtin_unreachable();
}

/* The exception entry from ring 3 leaves DS/ES on the user selector and FS/GS null. */
static void restore_kernel_segments(void)
{
	asm volatile("movw %w0, %%ds\n\t"
		     "movw %w0, %%es\n\t"
		     "movw %w0, %%fs\n\t"
		     "movw %w0, %%gs" ::"r"((uint32_t)SEL_DATA)
		     : "memory");
}

bool mmio_user_access(bool write, uintptr_t va, uint32_t *val, struct fault *f)
{
	const struct user_call c = {
		.entry = (uint32_t)(write ? user_write32 : user_read32),
		.eax = *val,
		.ebx = va,
		.ecx = (uint32_t)&user_result,
	};
	const uint32_t done = (uint32_t)(write ? user_write32_done : user_read32_done);

	run_catching(enter_ring3, (void *)&c, f);
	restore_kernel_segments();
	if (!f->raised || f->vector != VEC_UD || f->eip != done)
		return false;
	*f = (struct fault){0};
	if (!write)
		*val = user_result;
	return true;
}
