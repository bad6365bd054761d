/*
 * SVM without NRIP save (QEMU TCG): the length of the instruction behind a CPUID, VMMCALL,
 * RDMSR/WRMSR or HLT exit, found by comparing the bytes at RIP with the one encoding the
 * exit implies, through the cached code translation.  The CPU has already fetched and
 * executed the instruction (the intercept is its result), so no rights check is repeated:
 * the bytes only tell its length.  The code translation is the one mhv keeps like a TLB entry
 * (insn_fetch.c), dropped at every guest TLB flush, so the bytes compared are ones the CPU may
 * have fetched; any difference (a prefix, another form) takes the decoder.
 */
#ifndef MHV_ARCH_X86_SVM_KNOWN_INSN_H
#define MHV_ARCH_X86_SVM_KNOWN_INSN_H

#include <stdint.h>
#include "arch/x86/cpu.h"
#include "arch/x86/svm/vmcb.h"
#include "core/insn_fetch.h"
#include "core/vcpu.h"
#include "mm/memmap.h"

/* An encoding as the little-endian word its bytes make, the mask of its length, and the
 * length: constants, so that each exit's compare is one load, an XOR and an AND with
 * immediates. */
#define SVM_INSN_CPUID 0xA20Fu, 0xFFFFu, 2u	   /* 0F A2 */
#define SVM_INSN_VMMCALL 0xD9010Fu, 0xFFFFFFu, 3u /* 0F 01 D9 */
#define SVM_INSN_RDMSR 0x320Fu, 0xFFFFu, 2u	   /* 0F 32 */
#define SVM_INSN_WRMSR 0x300Fu, 0xFFFFu, 2u	   /* 0F 30 */
#define SVM_INSN_HLT 0xF4u, 0xFFu, 1u		   /* F4 */

#define SVM_KNOWN_WORD_BYTES 4 /* the load's width: bytes past the instruction are masked off */

static inline bool svm_long_mode_cs(const struct vmcb_save *s)
{
	return (s->efer & EFER_LMA) && (s->cs.attrib & SVM_ATTR_L);
}

/*
 * The SVM_KNOWN_WORD_BYTES bytes at CS:RIP through the code translation, and RIP + len as
 * the CPU advances it (EIP wraps at 4 GiB outside 64-bit mode); false: not cached, or near
 * the page's end (the word would cross it), where the decoder decides.  CS:RIP as a linear
 * address: CS's base counts outside 64-bit mode only.
 */
static inline __attribute__((always_inline)) bool
svm_word_at_rip(const struct code_tlb *t, const struct vmcb_save *s, unsigned len,
		uint32_t *word, uint64_t *next_rip)
{
	uint64_t la, off;

	if (!t->valid || !code_tlb_cr3_ok(t, s->cr3))
		return false;
	if (svm_long_mode_cs(s)) {
		la = s->rip;
		*next_rip = s->rip + len;
	} else {
		la = (uint32_t)(s->cs.base + s->rip);
		*next_rip = (uint32_t)(s->rip + len);
	}
	off = la - t->gva_base; /* one compare: the page, and room for the word in it */
	if (off > PAGE_SIZE - SVM_KNOWN_WORD_BYTES)
		return false;
	__builtin_memcpy(word, t->host_page + off, sizeof(*word)); /* one unaligned load */
	return true;
}

/* The RIP after the known encoding (word, mask, len: one of SVM_INSN_*) at CS:RIP; false:
 * another encoding, a prefix, no cached translation, or a page boundary: decode it.
 * Inline with constants: it runs on every such exit without NRIP save (QEMU's CPUID,
 * VMMCALL, ...). */
static inline __attribute__((always_inline)) bool
svm_known_next_rip(struct vcpu *v, const struct vmcb *vmcb, uint32_t k_word, uint32_t k_mask,
		   unsigned k_len, uint64_t *next_rip)
{
	uint32_t word;

	if (!svm_word_at_rip(&v->code_tlb, &vmcb->save, k_len, &word, next_rip))
		return false;
	return !((word ^ k_word) & k_mask);
}

/*
 * A CR3-write intercept without decode assists: MOV CR3, r (0F 22 /r, ModRM mod 11 reg 3,
 * in 64-bit mode with an optional REX whose B bit extends the register) recognised from the
 * bytes at RIP the same way: true with *gpr the source register and *next_rip the RIP after
 * it; false: decode it.
 */
#define SVM_KNOWN_MOV_CR3_WORD 0xD8220Fu /* 0F 22, ModRM mod 11 reg 3 (CR3) */
#define SVM_KNOWN_MOV_CR3_MASK 0xF8FFFFu /* the opcode, and ModRM's mod and reg */
#define SVM_KNOWN_MODRM_SHIFT 16
#define SVM_KNOWN_MODRM_RM_MASK 0x07
#define SVM_KNOWN_REX_MASK 0xF0
#define SVM_KNOWN_REX_BASE 0x40
#define SVM_KNOWN_REX_R 0x04 /* ModRM.reg + 8: CR11, which does not exist */
#define SVM_KNOWN_REX_B 0x01 /* ModRM.rm + 8 */
#define SVM_KNOWN_GPR_HIGH 8
#define SVM_KNOWN_MOV_CR3_LEN 3 /* 0F 22 ModRM */
#define SVM_KNOWN_REX_LEN 1
#define SVM_KNOWN_BYTE_MASK 0xFFu
#define SVM_KNOWN_BYTE_BITS 8

/* The REX form (64-bit code: no wrap to apply): REX is a prefix only in 64-bit mode
 * (0x40-0x4F are INC/DEC elsewhere); W and X mean nothing for this register form. */
static inline bool svm_known_mov_cr3_rex(const struct vmcb_save *s, uint32_t word, unsigned *gpr,
					 uint64_t *next_rip)
{
	unsigned rex = word & SVM_KNOWN_BYTE_MASK;

	if ((rex & SVM_KNOWN_REX_MASK) != SVM_KNOWN_REX_BASE || (rex & SVM_KNOWN_REX_R) ||
	    !svm_long_mode_cs(s))
		return false;
	word >>= SVM_KNOWN_BYTE_BITS;
	if ((word & SVM_KNOWN_MOV_CR3_MASK) != SVM_KNOWN_MOV_CR3_WORD)
		return false;
	*next_rip += SVM_KNOWN_REX_LEN;
	*gpr = ((word >> SVM_KNOWN_MODRM_SHIFT) & SVM_KNOWN_MODRM_RM_MASK) +
	       ((rex & SVM_KNOWN_REX_B) ? SVM_KNOWN_GPR_HIGH : 0);
	return true;
}

static inline __attribute__((always_inline)) bool
svm_known_mov_cr3(struct vcpu *v, const struct vmcb *vmcb, unsigned *gpr, uint64_t *next_rip)
{
	const struct vmcb_save *s = &vmcb->save;
	uint32_t word;

	if (!svm_word_at_rip(&v->code_tlb, s, SVM_KNOWN_MOV_CR3_LEN, &word, next_rip))
		return false;
	if (unlikely((word & SVM_KNOWN_MOV_CR3_MASK) != SVM_KNOWN_MOV_CR3_WORD))
		return svm_known_mov_cr3_rex(s, word, gpr, next_rip);
	*gpr = (word >> SVM_KNOWN_MODRM_SHIFT) & SVM_KNOWN_MODRM_RM_MASK;
	return true;
}

#endif
