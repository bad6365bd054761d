/* The round trip to IA-32e mode that the 64-bit guest tests share (long_mode.h). */
#include <stdbool.h>

#include "tests/guest/cpu.h"
#include "tests/guest/desc.h"
#include "tests/guest/long_mode.h"
#include "tests/guest/segments.h"

#define LM_GDT_CODE64 0x00AF9B000000FFFFull /* L=1, DPL 0, execute/read */
#define LM_CR4_PAE    (1u << 5)
#define LM_EFER_LME   (1u << 8)
#define LM_RFLAGS_IF  (1u << 9)

const uint64_t lm_gdt[LM_GDT_ENTRIES] __attribute__((aligned(8))) = {0, GDT_FLAT_CODE32,
								       GDT_FLAT_DATA32,
								       LM_GDT_CODE64};

static struct lm_tables identity;
static bool identity_built;

void lm_identity_map(struct lm_tables *t, uint32_t extra)
{
	const uint32_t flags = extra | LM_PTE_RW | LM_PTE_P;

	for (uint32_t d = 0; d < LM_IDENTITY_GIBS; d++) {
		for (uint32_t i = 0; i < LM_ENTRIES; i++)
			t->pds[d][i] = ((uint64_t)(d * LM_ENTRIES + i) << LM_LARGE_SHIFT) |
				       LM_PTE_PS | flags;
		t->pdpt[d] = (uint32_t)t->pds[d] | flags;
	}
	t->pml4[0] = (uint32_t)t->pdpt | flags;
}

const struct lm_tables *lm_identity(void)
{
	if (!identity_built) {
		lm_identity_map(&identity, 0);
		identity_built = true;
	}
	return &identity;
}

void lm_enter(struct lm_saved *s, uint32_t pml4)
{
	*s = (struct lm_saved){read_cr0(), read_cr3(), read_cr4(), rdmsr64(MSR_EFER)};
	write_cr0(s->cr0 & ~CR0_PG);
	write_cr4(s->cr4 | LM_CR4_PAE);
	write_cr3(pml4);
	wrmsr64(MSR_EFER, s->efer | LM_EFER_LME);
	write_cr0(s->cr0 | CR0_PG); /* IA-32e mode, running on in compatibility mode */
}

void lm_leave(const struct lm_saved *s)
{
	write_cr0(s->cr0 & ~CR0_PG); /* allowed from compatibility mode: back to legacy mode */
	wrmsr64(MSR_EFER, s->efer);
	write_cr4(s->cr4);
	write_cr3(s->cr3);
	write_cr0(s->cr0);
}

void __attribute__((noinline)) lm_run(const struct lm_tables *t,
				      void (*fn)(uint32_t arg, uint64_t *o), uint32_t arg,
				      uint64_t *o)
{
	struct lm_saved s;
	uint32_t flags;
	struct table_ptr old, gdt = {sizeof(lm_gdt) - 1, (uint32_t)lm_gdt};

	__asm__ volatile("pushfl; popl %0; cli" : "=r"(flags)::"memory");
	__asm__ volatile("sgdt %0; lgdt %1" : "=m"(old) : "m"(gdt) : "memory");
	lm_enter(&s, (uint32_t)t->pml4);
	fn(arg, o);
	lm_leave(&s);
	__asm__ volatile("lgdt %0" ::"m"(old) : "memory");
	if (flags & LM_RFLAGS_IF)
		__asm__ volatile("sti" ::: "memory");
}
