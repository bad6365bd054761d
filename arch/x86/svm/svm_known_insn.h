/*
 * SVM without NRIP save (QEMU TCG): the length of the instruction behind a CPUID, VMMCALL,
 * RDMSR/WRMSR or HLT exit, found by comparing the bytes at RIP with the one encoding the
 * exit implies, through the cached code translation.  0 means "decode it": a prefix, another
 * encoding, no cached translation, or a page boundary.
 */
#ifndef MHV_ARCH_X86_SVM_KNOWN_INSN_H
#define MHV_ARCH_X86_SVM_KNOWN_INSN_H

#include <stdint.h>
#include "arch/x86/cpu.h"
#include "arch/x86/svm/vmcb.h"
#include "core/insn_fetch.h"
#include "core/vcpu.h"
#include "mm/memmap.h"

/* An encoding as the little-endian word its bytes make, and the mask of its length: one
 * load and one compare instead of a byte loop. */
struct svm_known_insn {
	uint32_t word, mask;
	unsigned len;
};

extern const struct svm_known_insn svm_insn_cpuid, svm_insn_vmmcall, svm_insn_rdmsr,
	svm_insn_wrmsr, svm_insn_hlt;

#define SVM_KNOWN_WORD_BYTES 4 /* the load's width: bytes past the instruction are masked off */

/* CS:RIP as a linear address: CS's base counts outside 64-bit mode only. */
static inline uint64_t svm_rip_linear(const struct vmcb_save *s)
{
	if ((s->efer & EFER_LMA) && (s->cs.attrib & SVM_ATTR_L))
		return s->rip;
	return (s->cs.base + s->rip) & 0xFFFFFFFFull;
}

/* The SVM_KNOWN_WORD_BYTES bytes at CS:RIP through the code translation; false: not cached,
 * or near the page's end (the word would cross it), where the decoder decides. */
static inline bool svm_word_at_rip(const struct code_tlb *t, const struct vmcb_save *s,
				   uint32_t *word)
{
	uint64_t la, off;

	if (!t->valid || !code_tlb_cr3_ok(t, s->cr3))
		return false;
	la = svm_rip_linear(s);
	off = la & (PAGE_SIZE - 1);
	if (t->gva_page != la >> PAGE_SHIFT || off > PAGE_SIZE - SVM_KNOWN_WORD_BYTES)
		return false;
	__builtin_memcpy(word, t->host_page + off, sizeof(*word)); /* one unaligned load */
	return true;
}

/* k: the encoding the exit implies (the dispatcher knows it); NULL: none, decode it.
 * Inline: it runs on every such exit without NRIP save (QEMU's CPUID, VMMCALL, ...). */
static inline unsigned svm_known_insn_len(struct vcpu *v, const struct vmcb *vmcb,
					  const struct svm_known_insn *k)
{
	uint32_t word;

	if (!k || !svm_word_at_rip(&v->code_tlb, &vmcb->save, &word))
		return 0;
	return ((word ^ k->word) & k->mask) ? 0 : k->len;
}

/*
 * A CR3-write intercept without decode assists: MOV CR3, r (0F 22 /r, ModRM mod 11 reg 3,
 * in 64-bit mode with an optional REX whose B bit extends the register) recognised from the
 * bytes at RIP the same way.  Its length, with *gpr the source register; 0: decode it.
 */
#define SVM_KNOWN_MOV_TO_CR_WORD 0x220F /* 0F 22 */
#define SVM_KNOWN_MODRM_CR3_REG 0xD8	/* mod 11, reg 3: CR3 */
#define SVM_KNOWN_MODRM_REG_MASK 0xF8	/* mod and reg */
#define SVM_KNOWN_MODRM_RM_MASK 0x07
#define SVM_KNOWN_REX_MASK 0xF0
#define SVM_KNOWN_REX_BASE 0x40
#define SVM_KNOWN_REX_R 0x04 /* ModRM.reg + 8: CR11, which does not exist */
#define SVM_KNOWN_REX_B 0x01 /* ModRM.rm + 8 */
#define SVM_KNOWN_GPR_HIGH 8

static inline unsigned svm_known_mov_cr3(struct vcpu *v, const struct vmcb *vmcb, unsigned *gpr)
{
	const struct vmcb_save *s = &vmcb->save;
	unsigned len = 3, rex = 0, modrm;
	uint32_t word;

	if (!svm_word_at_rip(&v->code_tlb, s, &word))
		return 0;
	/* REX is a prefix only in 64-bit mode (0x40-0x4F are INC/DEC elsewhere); W and X mean
	 * nothing for this register form. */
	if ((word & SVM_KNOWN_REX_MASK) == SVM_KNOWN_REX_BASE && (s->efer & EFER_LMA) &&
	    (s->cs.attrib & SVM_ATTR_L)) {
		rex = word & 0xF;
		word >>= 8;
		len = 4;
		if (rex & SVM_KNOWN_REX_R)
			return 0;
	}
	modrm = (word >> 16) & 0xFF;
	if ((word & 0xFFFF) != SVM_KNOWN_MOV_TO_CR_WORD ||
	    (modrm & SVM_KNOWN_MODRM_REG_MASK) != SVM_KNOWN_MODRM_CR3_REG)
		return 0;
	*gpr = (modrm & SVM_KNOWN_MODRM_RM_MASK) +
	       ((rex & SVM_KNOWN_REX_B) ? SVM_KNOWN_GPR_HIGH : 0);
	return len;
}

#endif
