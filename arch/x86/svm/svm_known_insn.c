/*
 * Known-encoding instruction lengths for SVM exits without NRIP save.  The CPU has already
 * fetched and executed the instruction (the intercept is its result), so no rights check is
 * repeated: the bytes only tell its length.  The code translation is the one mhv keeps like
 * a TLB entry (insn_fetch.c), dropped at every guest TLB flush, so the bytes compared are
 * ones the CPU may have fetched; any difference (a prefix, another form) takes the decoder.
 */
#include "arch/x86/svm/svm_known_insn.h"
#include "arch/x86/cpu.h"
#include "arch/x86/svm/vmcb.h"
#include "core/insn_fetch.h"
#include "core/vcpu.h"
#include "lib/compiler.h"
#include "mm/memmap.h"

const struct svm_known_insn svm_insn_cpuid = {0xA20F, 0xFFFF, 2};	     /* 0F A2 */
const struct svm_known_insn svm_insn_vmmcall = {0xD9010F, 0xFFFFFF, 3}; /* 0F 01 D9 */
const struct svm_known_insn svm_insn_rdmsr = {0x320F, 0xFFFF, 2};	     /* 0F 32 */
const struct svm_known_insn svm_insn_wrmsr = {0x300F, 0xFFFF, 2};	     /* 0F 30 */
const struct svm_known_insn svm_insn_hlt = {0xF4, 0xFF, 1};	     /* F4 */

#define MOV_TO_CR_WORD	 0x220F /* 0F 22 */
#define MODRM_CR3_REG	 0xD8	/* mod 11, reg 3: CR3 */
#define MODRM_REG_MASK	 0xF8	/* mod and reg */
#define MODRM_RM_MASK	 0x07
#define REX_MASK	 0xF0
#define REX_BASE	 0x40
#define REX_R		 0x04 /* ModRM.reg + 8: CR11, which does not exist */
#define REX_B		 0x01 /* ModRM.rm + 8 */
#define GPR_HIGH	 8

unsigned __attribute__((optimize("omit-frame-pointer")))
svm_known_mov_cr3(struct vcpu *v, const struct vmcb *vmcb, unsigned *gpr)
{
	const struct vmcb_save *s = &vmcb->save;
	unsigned len = 3, rex = 0, modrm;
	uint32_t word;

	if (!svm_word_at_rip(&v->code_tlb, s, &word))
		return 0;
	/* REX is a prefix only in 64-bit mode (0x40-0x4F are INC/DEC elsewhere); W and X mean
	 * nothing for this register form. */
	if ((word & REX_MASK) == REX_BASE && (s->efer & EFER_LMA) && (s->cs.attrib & SVM_ATTR_L)) {
		rex = word & 0xF;
		word >>= 8;
		len = 4;
		if (rex & REX_R)
			return 0;
	}
	modrm = (word >> 16) & 0xFF;
	if ((word & 0xFFFF) != MOV_TO_CR_WORD || (modrm & MODRM_REG_MASK) != MODRM_CR3_REG)
		return 0;
	*gpr = (modrm & MODRM_RM_MASK) + ((rex & REX_B) ? GPR_HIGH : 0);
	return len;
}
