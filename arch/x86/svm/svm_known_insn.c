/*
 * Known-encoding instruction lengths for SVM exits without NRIP save.  The CPU has already
 * fetched and executed the instruction (the intercept is its result), so no rights check is
 * repeated: the bytes only tell its length.  The code translation is the one mhv keeps like
 * a TLB entry (insn_fetch.c), dropped at every guest TLB flush, so the bytes compared are
 * ones the CPU may have fetched; any difference (a prefix, another form) takes the decoder.
 * The compares are inline in svm_known_insn.h (they run on every such exit); the encodings
 * live here.
 */
#include "arch/x86/svm/svm_known_insn.h"

const struct svm_known_insn svm_insn_cpuid = {0xA20F, 0xFFFF, 2};	     /* 0F A2 */
const struct svm_known_insn svm_insn_vmmcall = {0xD9010F, 0xFFFFFF, 3}; /* 0F 01 D9 */
const struct svm_known_insn svm_insn_rdmsr = {0x320F, 0xFFFF, 2};	     /* 0F 32 */
const struct svm_known_insn svm_insn_wrmsr = {0x300F, 0xFFFF, 2};	     /* 0F 30 */
const struct svm_known_insn svm_insn_hlt = {0xF4, 0xFF, 1};	     /* F4 */
