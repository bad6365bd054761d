/*
 * A visit to IA-32e mode from the 32-bit guest test kernel, shared by the tests that run a
 * 64-bit routine (the short path's 64-bit forms, CMPXCHG16B, the EIP-relative load): the GDT
 * and page tables, the round trip in C (lm_run) and, for the routines' assembly, the far
 * jumps between compatibility mode and 64-bit mode (LM_TO_64BIT, LM_TO_COMPAT).
 */
#ifndef MHV_TESTS_GUEST_LONG_MODE_H
#define MHV_TESTS_GUEST_LONG_MODE_H

/* lm_gdt's selectors: the kernel's own code selector, and a 64-bit one past its data. */
#define LM_SEL_CODE32 0x08
#define LM_SEL_CODE64 0x18

#ifdef __ASSEMBLY__

/* From compatibility mode on to 64-bit code (lm_run's GDT loaded). */
.macro LM_TO_64BIT
	ljmp $LM_SEL_CODE64, $.Llm_to_64_\@
	.code64
.Llm_to_64_\@:
	movl %esp, %esp                 /* RSP's upper half is undefined after compat mode */
.endm

/* Back to compatibility mode; clobbers the register named (ax, cx, dx...). */
.macro LM_TO_COMPAT scratch
	pushq $LM_SEL_CODE32
	movl $.Llm_to_compat_\@, %e\scratch  /* absolute addresses via a register: ELF32 object */
	pushq %r\scratch
	lretq
	.code32
.Llm_to_compat_\@:
.endm

#else
#include <stdint.h>

#define LM_PAGE_SIZE	 4096u
#define LM_ENTRIES	 512u
#define LM_IDENTITY_GIBS 4u /* the identity map covers the 32-bit guest's 4 GiB */
#define LM_PTE_P	 (1u << 0)
#define LM_PTE_RW	 (1u << 1)
#define LM_PTE_US	 (1u << 2) /* for a test whose ring 3 runs on the pages too */
#define LM_PTE_PS	 (1u << 7)
#define LM_LARGE_SHIFT	 21
#define LM_GIB_SHIFT	 30
#define LM_GDT_ENTRIES	 4

/* A 4-level map: pml4[0] -> pdpt, pdpt[0..3] -> pds (2 MiB pages) after lm_identity_map;
 * a test may add entries of its own to pml4 and pdpt. */
struct lm_tables {
	uint64_t pml4[LM_ENTRIES];
	uint64_t pdpt[LM_ENTRIES];
	uint64_t pds[LM_IDENTITY_GIBS][LM_ENTRIES];
} __attribute__((aligned(LM_PAGE_SIZE)));

/* Null, the kernel's 32-bit code and data (same selectors), 64-bit code (LM_SEL_CODE64). */
extern const uint64_t lm_gdt[LM_GDT_ENTRIES];

/* t's identity map of the low 4 GiB in 2 MiB pages, extra (LM_PTE_US...) in every entry
 * too (the rest of t left as it is). */
void lm_identity_map(struct lm_tables *t, uint32_t extra);

/* One set of tables with just the identity map, built on first use. */
const struct lm_tables *lm_identity(void);

/* What lm_enter changed, for lm_leave. */
struct lm_saved {
	uint32_t cr0, cr3, cr4;
	uint64_t efer;
};

/* Into IA-32e mode, running on in compatibility mode, with pml4 as CR3 (paging off, PAE,
 * CR3, EFER.LME, paging on); lm_leave back to legacy mode and s.  The caller keeps
 * interrupts off and loads a GDT with 64-bit code (and an IDT of 64-bit gates if anything
 * may fault there). */
void lm_enter(struct lm_saved *s, uint32_t pml4);
void lm_leave(const struct lm_saved *s);

/* fn(arg, o) entered in compatibility mode of IA-32e mode with t as CR3, lm_gdt loaded and
 * interrupts off; then back to the CR0/CR3/CR4/EFER, GDT and interrupt flag found. */
void lm_run(const struct lm_tables *t, void (*fn)(uint32_t arg, uint64_t *o), uint32_t arg,
	    uint64_t *o);
#endif

#endif
