/*
 * mhv's GDT (flat 64-bit code and data, one TSS), TSS (interrupt stacks for #DF, NMI, #MC)
 * and IDT (the 32 exception vectors, and vectors 32-255 for the one place mhv takes the guest's
 * interrupts on its behalf: arch/x86/irq_wait.h; elsewhere mhv runs with interrupts off).
 */
#include "arch/x86/desc.h"
#include "arch/x86/exception.h"
#include "arch/x86/irq_wait.h"
#include "core/regs_abi.h"
#include "lib/compiler.h"

#define IST_STACK_SIZE 8192
#define GATE_INTERRUPT 0x8E00 /* present, DPL 0, 64-bit interrupt gate */
#define TSS_AVAILABLE  0x89   /* present, 64-bit TSS (available) */
#define GATE_IST_MASK  0x7

struct idt_gate {
	uint16_t offset_lo;
	uint16_t selector;
	uint16_t flags; /* IST index in bits 0-2, type/DPL/present in 8-15 */
	uint16_t offset_mid;
	uint32_t offset_hi;
	uint32_t reserved;
} __packed;


static struct tss64 tss __aligned(16);
static uint64_t gdt[GDT_ENTRIES] __aligned(16) = {
	0,
	GDT_CODE64_DESC, /* HV_CS */
	GDT_DATA_DESC,	 /* HV_DS */
	0,
	0, /* HV_TSS: 16-byte system descriptor, filled in below */
};
static struct idt_gate idt[NR_IDT_VECTORS] __aligned(16);
/* The same gates without IST: for while another TSS is in TR (desc.h). */
static struct idt_gate idt_no_ist[NR_IDT_VECTORS] __aligned(16);
const struct hv_desc_ptr desc_idtr_ist = {sizeof(idt) - 1, (uint64_t)idt};
const struct hv_desc_ptr desc_idtr_no_ist = {sizeof(idt_no_ist) - 1, (uint64_t)idt_no_ist};
static uint8_t ist_stacks[NR_IST_STACKS][IST_STACK_SIZE] __aligned(16);

static void set_tss_descriptor(uint64_t *gdt, const struct tss64 *t)
{
	uint64_t base = (uint64_t)t;
	uint64_t limit = sizeof(*t) - 1;

	gdt[HV_TSS / 8] = (limit & 0xFFFF) | ((base & 0xFFFFFF) << 16) |
			  ((uint64_t)TSS_AVAILABLE << 40) | (((limit >> 16) & 0xF) << 48) |
			  (((base >> 24) & 0xFF) << 56);
	gdt[HV_TSS / 8 + 1] = base >> 32;
}

static void set_gate(unsigned vector, uint64_t handler, unsigned ist)
{
	struct idt_gate *g = &idt[vector];

	g->offset_lo = handler & 0xFFFF;
	g->selector = HV_CS;
	g->flags = GATE_INTERRUPT | ist;
	g->offset_mid = (handler >> 16) & 0xFFFF;
	g->offset_hi = handler >> 32;
	g->reserved = 0;
}

static void load_tables(const uint64_t *gdt_base)
{
	struct hv_desc_ptr gdtr = {sizeof(gdt) - 1, (uint64_t)gdt_base};

	asm volatile("lgdt %0" ::"m"(gdtr));
	/* Reload CS with a far return, then the data segments and the task register. */
	asm volatile("pushq %[cs]\n\t"
		     "leaq 1f(%%rip), %%rax\n\t"
		     "pushq %%rax\n\t"
		     "lretq\n"
		     "1:\n\t"
		     "movl %[ds], %%eax\n\t"
		     "movl %%eax, %%ds\n\t"
		     "movl %%eax, %%es\n\t"
		     "movl %%eax, %%ss\n\t"
		     :
		     : [cs] "i"(HV_CS), [ds] "i"(HV_DS)
		     : "rax", "memory");
	asm volatile("ltr %w0" ::"r"(HV_TSS));
	asm volatile("lidt %0" ::"m"(desc_idtr_ist));
}

void desc_load_idt(bool use_ist)
{
	asm volatile("lidt %0" ::"m"(use_ist ? desc_idtr_ist : desc_idtr_no_ist));
}

bool desc_idt_no_ist_ok(void)
{
	for (unsigned v = 0; v < NR_IDT_VECTORS; v++)
		if ((idt_no_ist[v].flags & GATE_IST_MASK) || idt_no_ist[v].offset_lo != idt[v].offset_lo ||
		    idt_no_ist[v].offset_mid != idt[v].offset_mid ||
		    idt_no_ist[v].offset_hi != idt[v].offset_hi)
			return false;
	return true;
}

void desc_init(void)
{
	for (unsigned i = 0; i < NR_IST_STACKS; i++)
		tss.ist[i] = (uint64_t)ist_stacks[i] + IST_STACK_SIZE; /* IST n is ist[n - 1] */
	tss.iomap_base = sizeof(tss);				       /* no I/O bitmap */
	set_tss_descriptor(gdt, &tss);

	for (unsigned v = 0; v < NR_EXCEPTIONS; v++)
		set_gate(v, exception_stubs[v], 0);
	set_gate(VEC_DF, exception_stubs[VEC_DF], IST_DF);
	set_gate(VEC_NMI, exception_stubs[VEC_NMI], IST_NMI);
	set_gate(VEC_MC, exception_stubs[VEC_MC], IST_MC);
	for (unsigned v = FIRST_IRQ_VECTOR; v < NR_IDT_VECTORS; v++)
		set_gate(v, irq_stubs[v - FIRST_IRQ_VECTOR], 0);
	for (unsigned v = 0; v < NR_IDT_VECTORS; v++) {
		idt_no_ist[v] = idt[v];
		idt_no_ist[v].flags &= (uint16_t)~GATE_IST_MASK;
	}
	load_tables(gdt);
}

void desc_init_ap(struct desc_cpu *d, const uint64_t ist_top[NR_IST_STACKS])
{
	for (unsigned i = 0; i < GDT_ENTRIES; i++)
		d->gdt[i] = gdt[i];
	d->tss = (struct tss64){.iomap_base = sizeof(d->tss)};
	for (unsigned i = 0; i < NR_IST_STACKS; i++)
		d->tss.ist[i] = ist_top[i];
	set_tss_descriptor(d->gdt, &d->tss); /* available: the copy of the BSP's is busy */
	load_tables(d->gdt);
}

uint64_t desc_tss_base(void)
{
	struct hv_desc_ptr gdtr;
	const uint64_t *g;

	asm volatile("sgdt %0" : "=m"(gdtr));
	g = (const uint64_t *)gdtr.base;
	return ((g[HV_TSS / 8] >> 16) & 0xFFFFFF) | (((g[HV_TSS / 8] >> 56) & 0xFF) << 24) |
	       (g[HV_TSS / 8 + 1] << 32);
}
