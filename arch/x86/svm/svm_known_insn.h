/*
 * SVM without NRIP save (QEMU TCG): the length of the instruction behind a CPUID, VMMCALL,
 * RDMSR/WRMSR or HLT exit, found by comparing the bytes at RIP with the one encoding the
 * exit implies, through the cached code translation.  0 means "decode it": a prefix, another
 * encoding, no cached translation, or a page boundary.
 */
#ifndef MHV_ARCH_X86_SVM_KNOWN_INSN_H
#define MHV_ARCH_X86_SVM_KNOWN_INSN_H

#include <stdint.h>

struct vcpu;
struct vmcb;

/* An encoding as the little-endian word its bytes make, and the mask of its length: one
 * load and one compare instead of a byte loop. */
struct svm_known_insn {
	uint32_t word, mask;
	unsigned len;
};

extern const struct svm_known_insn svm_insn_cpuid, svm_insn_vmmcall, svm_insn_rdmsr,
	svm_insn_wrmsr, svm_insn_hlt;

/* k: the encoding the exit implies (the dispatcher knows it); NULL: none, decode it. */
unsigned svm_known_insn_len(struct vcpu *v, const struct vmcb *vmcb,
			    const struct svm_known_insn *k);

/*
 * A CR3-write intercept without decode assists: MOV CR3, r (0F 22 /r, ModRM mod 11 reg 3,
 * in 64-bit mode with an optional REX whose B bit extends the register) recognised from the
 * bytes at RIP the same way.  Its length, with *gpr the source register; 0: decode it.
 */
unsigned svm_known_mov_cr3(struct vcpu *v, const struct vmcb *vmcb, unsigned *gpr);

#endif
