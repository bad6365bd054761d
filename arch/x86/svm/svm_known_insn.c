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

#define KNOWN_INSN_MAX 3

struct known_insn {
	unsigned len;
	uint8_t bytes[KNOWN_INSN_MAX];
};

static const struct known_insn insn_cpuid = {2, {0x0F, 0xA2}};
static const struct known_insn insn_vmmcall = {3, {0x0F, 0x01, 0xD9}};
static const struct known_insn insn_rdmsr = {2, {0x0F, 0x32}};
static const struct known_insn insn_wrmsr = {2, {0x0F, 0x30}};
static const struct known_insn insn_hlt = {1, {0xF4}};

static const struct known_insn *expected(const struct vmcb *vmcb)
{
	switch (vmcb->control.exit_code) {
	case SVM_EXIT_CPUID:
		return &insn_cpuid;
	case SVM_EXIT_VMMCALL:
		return &insn_vmmcall;
	case SVM_EXIT_MSR:
		return vmcb->control.exit_info1 == MSR_EXIT_WRITE ? &insn_wrmsr : &insn_rdmsr;
	case SVM_EXIT_HLT:
		return &insn_hlt;
	default:
		return NULL;
	}
}

/* CS:RIP as a linear address: CS's base counts outside 64-bit mode only. */
static uint64_t rip_linear(const struct vmcb *vmcb)
{
	const struct vmcb_save *s = &vmcb->save;
	bool lma = (s->efer & EFER_LME) && (s->cr0 & CR0_PG);

	if (lma && (s->cs.attrib & SVM_ATTR_L))
		return s->rip;
	return (s->cs.base + s->rip) & 0xFFFFFFFFull;
}

unsigned svm_known_insn_len(struct vcpu *v, const struct vmcb *vmcb)
{
	const struct known_insn *k = expected(vmcb);
	const struct code_tlb *t = &v->code_tlb;
	const uint8_t *bytes;
	uint64_t la;
	unsigned i;

	if (!k || !t->valid)
		return 0;
	la = rip_linear(vmcb);
	if (t->gva_page != la >> PAGE_SHIFT || (la & (PAGE_SIZE - 1)) > PAGE_SIZE - k->len)
		return 0;
	bytes = t->host_page + (la & (PAGE_SIZE - 1));
	for (i = 0; i < k->len; i++)
		if (bytes[i] != k->bytes[i])
			return 0;
	return k->len;
}
