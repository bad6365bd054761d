/*
 * SVM without NRIP save (QEMU TCG): the length of the instruction behind a CPUID, VMMCALL,
 * RDMSR/WRMSR or HLT exit, found by comparing the bytes at RIP with the one encoding the
 * exit implies, through the cached code translation.  0 means "decode it": a prefix, another
 * encoding, no cached translation (mmio_cache=off), or a page boundary.
 */
#ifndef MHV_ARCH_X86_SVM_KNOWN_INSN_H
#define MHV_ARCH_X86_SVM_KNOWN_INSN_H

struct vcpu;
struct vmcb;

unsigned svm_known_insn_len(struct vcpu *v, const struct vmcb *vmcb);

#endif
