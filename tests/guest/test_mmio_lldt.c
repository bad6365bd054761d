/*
 * LLDT and LTR with the selector on a device page of an mmio=ram region (mhv emulates them):
 * the LDT and TSS load (SLDT/STR read them back, a segment loads from the new LDT, the TSS
 * descriptor turns busy in the GDT), and the refused selectors fault with the same vector and
 * error code as the same instruction reading its selector from RAM (the CPU itself).
 *
 * A GDT of the test's own holds the descriptors; TR keeps the test's TSS afterwards, a valid
 * one with its own ring-0 stack, so later ring-3 tests still have where to take exceptions.
 */
#include "lib/compiler.h"
#include "tests/guest/cpu.h"
#include "tests/guest/desc.h"
#include "tests/guest/report.h"
#include "tests/guest/segments.h"
#include "tests/guest/tests.h"
#include "tests/guest/trap.h"

#define LLDT_OFF	0x2a00u /* the selector's word in the region */
#define SEL_LDT		0x18u
#define SEL_TSS		0x20u
#define SEL_LDT_DATA	0x0cu /* LDT entry 1, TI set */
#define SEL_TI_NO_LDT	0x1cu /* TI set: LLDT refuses it */
#define SYS_GDT_ENTRIES 5
#define TSS_BYTES	104
#define TSS_ESP0_WORD	1
#define TSS_SS0_WORD	2
#define TSS_IOMAP_WORD	25 /* I/O map base in the high half: none (past the limit) */
#define RING0_STACK	4096
#define TYPE_LDT	0x82ull /* present, DPL 0, LDT */
#define TYPE_TSS_AVAIL	0x89ull
#define TYPE_SHIFT	40
#define TYPE_MASK	0xfull
#define TYPE_TSS_BUSY	0xbull
#define LDT_MARKER	0x1d7c0ffeu

struct __attribute__((packed)) gdt_ptr {
	uint16_t limit;
	uint32_t base;
};

static uint64_t sys_gdt[SYS_GDT_ENTRIES] __aligned(8); /* writable: LTR marks the TSS busy */
static uint64_t sys_ldt[2] __aligned(8);
static uint32_t sys_tss[TSS_BYTES / 4] __aligned(8);
static uint8_t sys_ring0_stack[RING0_STACK] __aligned(16);
static const uint32_t ldt_marker = LDT_MARKER;

static void do_lldt(void *arg)
{
	asm volatile("lldt (%0)" ::"r"(arg) : "memory");
}

static void do_ltr(void *arg)
{
	asm volatile("ltr (%0)" ::"r"(arg) : "memory");
}

/* The same refused load from RAM (the CPU) and from the device page (mhv): same fault. */
static void refused_like_cpu(const char *what, void (*fn)(void *), uint16_t sel,
			     volatile uint16_t *dev)
{
	static uint16_t ram;
	struct fault fr, fd;

	ram = sel;
	*dev = sel;
	run_catching(fn, &ram, &fr);
	run_catching(fn, (void *)dev, &fd);
	check(fr.raised && fd.raised && fr.vector == fd.vector && fr.errcode == fd.errcode, what,
	      "CPU %s(%x), emulated %s(%x)", fr.raised ? trap_name(fr.vector) : "none", fr.errcode,
	      fd.raised ? trap_name(fd.vector) : "none", fd.errcode);
}

void test_mmio_lldt(uint32_t base)
{
	volatile uint16_t *dev = (volatile uint16_t *)(base + LLDT_OFF);
	const struct gdt_ptr mine = {sizeof(sys_gdt) - 1, (uint32_t)sys_gdt};
	struct gdt_ptr old;
	uint16_t ldtr, tr;
	uint32_t via_ldt;

	sys_gdt[0] = 0;
	sys_gdt[SEL_CODE / 8] = GDT_FLAT_CODE32;
	sys_gdt[SEL_DATA / 8] = GDT_FLAT_DATA32;
	sys_gdt[SEL_LDT / 8] = desc_small((uint32_t)sys_ldt, sizeof(sys_ldt) - 1, TYPE_LDT);
	sys_gdt[SEL_TSS / 8] = desc_small((uint32_t)sys_tss, sizeof(sys_tss) - 1, TYPE_TSS_AVAIL);
	sys_ldt[0] = 0;
	sys_ldt[1] = GDT_FLAT_DATA32;
	sys_tss[TSS_ESP0_WORD] = (uint32_t)(sys_ring0_stack + sizeof(sys_ring0_stack));
	sys_tss[TSS_SS0_WORD] = SEL_DATA;
	sys_tss[TSS_IOMAP_WORD] = (uint32_t)TSS_BYTES << 16;

	asm volatile("sgdt %0" : "=m"(old));
	asm volatile("lgdt %0" ::"m"(mine) : "memory");

	*dev = SEL_LDT;
	do_lldt((void *)dev);
	asm volatile("sldt %0" : "=r"(ldtr));
	asm volatile("push %%fs; movw %w2, %%fs; movl %%fs:%1, %0; pop %%fs"
		     : "=r"(via_ldt)
		     : "m"(ldt_marker), "r"(SEL_LDT_DATA)
		     : "memory");
	check(ldtr == SEL_LDT && via_ldt == LDT_MARKER,
	      "mmio lldt: lldt m16 from a device page loads the LDT", "LDTR %x, read via LDT %x",
	      ldtr, via_ldt);

	*dev = SEL_TSS;
	do_ltr((void *)dev);
	asm volatile("str %0" : "=r"(tr));
	check(tr == SEL_TSS && ((sys_gdt[SEL_TSS / 8] >> TYPE_SHIFT) & TYPE_MASK) == TYPE_TSS_BUSY,
	      "mmio lldt: ltr m16 from a device page loads TR and marks the TSS busy",
	      "TR %x, descriptor type %x", tr,
	      (uint32_t)((sys_gdt[SEL_TSS / 8] >> TYPE_SHIFT) & TYPE_MASK));

	refused_like_cpu("mmio lldt: ltr of a busy TSS from a device page faults like the CPU",
			 do_ltr, SEL_TSS, dev);
	refused_like_cpu("mmio lldt: lldt of a data segment from a device page faults like the CPU",
			 do_lldt, SEL_DATA, dev);
	refused_like_cpu("mmio lldt: lldt of an LDT selector from a device page faults like the "
			 "CPU",
			 do_lldt, SEL_TI_NO_LDT, dev);
	refused_like_cpu("mmio lldt: ltr of a selector past the GDT from a device page faults "
			 "like the CPU",
			 do_ltr, sizeof(sys_gdt), dev);

	*dev = 0;
	do_lldt((void *)dev);
	asm volatile("sldt %0" : "=r"(ldtr));
	check_eq("mmio lldt: lldt of a null selector from a device page empties LDTR", ldtr, 0);
	asm volatile("lgdt %0" ::"m"(old) : "memory");
}
