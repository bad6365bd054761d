/* The CPUID feature table and the validators' inputs: see cpuid_policy.h. */
#include "lib/cpuid_policy.h"

#include "lib/compiler.h"

/* CR4 bits (SDM Vol. 3, 2.5) */
#define CR4_VME	       (1ull << 0)
#define CR4_PVI	       (1ull << 1)
#define CR4_TSD	       (1ull << 2)
#define CR4_DE	       (1ull << 3)
#define CR4_PSE	       (1ull << 4)
#define CR4_PAE	       (1ull << 5)
#define CR4_MCE	       (1ull << 6)
#define CR4_PGE	       (1ull << 7)
#define CR4_PCE	       (1ull << 8)
#define CR4_OSFXSR     (1ull << 9)
#define CR4_OSXMMEXCPT (1ull << 10)
#define CR4_UMIP       (1ull << 11)
#define CR4_LA57       (1ull << 12)
#define CR4_VMXE       (1ull << 13)
#define CR4_SMXE       (1ull << 14)
#define CR4_FSGSBASE   (1ull << 16)
#define CR4_PCIDE      (1ull << 17)
#define CR4_OSXSAVE    (1ull << 18)
#define CR4_KL	       (1ull << 19)
#define CR4_SMEP       (1ull << 20)
#define CR4_SMAP       (1ull << 21)
#define CR4_PKE	       (1ull << 22)
#define CR4_CET	       (1ull << 23)
#define CR4_PKS	       (1ull << 24)
#define CR4_UINTR      (1ull << 25)
#define CR4_LAM_SUP    (1ull << 28)
#define CR4_FRED       (1ull << 32)
/* EFER bits (SDM Vol. 3, 2.2.1; APM Vol. 2, 3.1.7) */
#define EFER_SCE      (1ull << 0)
#define EFER_LME      (1ull << 8)
#define EFER_NXE      (1ull << 11)
#define EFER_SVME     (1ull << 12)
#define EFER_FFXSR    (1ull << 14)
#define EFER_TCE      (1ull << 15)
#define EFER_AUTOIBRS (1ull << 21)
/* XCR0 components (SDM Vol. 1, 13.1) */
#define XCR0_X87      (1ull << 0)
#define XCR0_SSE      (1ull << 1)
#define XCR0_YMM      (1ull << 2)
#define XCR0_BNDREGS  (1ull << 3)
#define XCR0_BNDCSR   (1ull << 4)
#define XCR0_OPMASK   (1ull << 5)
#define XCR0_ZMM_HI256 (1ull << 6)
#define XCR0_HI16_ZMM (1ull << 7)
#define XCR0_TILECFG  (1ull << 17)
#define XCR0_TILEDATA (1ull << 18)
#define XCR0_AVX512   (XCR0_X87 | XCR0_SSE | XCR0_YMM | XCR0_OPMASK | XCR0_ZMM_HI256 | XCR0_HI16_ZMM)

/* Leaves */
#define LEAF_FEATURES	 0x1u
#define LEAF_EXT7	 0x7u
#define LEAF_XSAVE	 0xDu
#define LEAF_EXT	 0x80000001u
#define LEAF_EXT21	 0x80000021u
#define SUBLEAF_XSAVE_EXT 1
#define BIT(n)		 (1u << (n))
/* The few CPUID bits the validators read, besides the table's own */
#define F1_ECX_PCID	 17
#define F1_ECX_XSAVE	 26
#define F7_EBX_FSGSBASE	 0
#define F7_EBX_SMEP	 7
#define F7_EBX_SMAP	 20
#define F7_ECX_UMIP	 2
#define F7_ECX_PKU	 3
#define F7_ECX_CET_SS	 7
#define F7_ECX_LA57	 16
#define F7_EDX_IBT	 20
#define FX_EDX_SYSCALL	 11
#define FX_EDX_NX	 20
#define FX_EDX_FFXSR	 25
#define FX_EDX_LM	 29
#define F21_EAX_AUTOIBRS 8

#define A CPUID_REG_EAX
#define B CPUID_REG_EBX
#define C CPUID_REG_ECX
#define D CPUID_REG_EDX

/*
 * Every feature that does not work by itself in a guest.  The rest of CPUID (plain
 * instructions such as AVX2 arithmetic or AES) works in VMX non-root and SVM guest mode as it
 * does natively, and is passed through.
 */
const struct cpuid_feature cpuid_features[] = {
	{LEAF_FEATURES, 0, C, 5, NEED_CR4, CR4_VMXE, "VMX"}, /* never: mhv hides VT-x */
	{LEAF_FEATURES, 0, C, 6, NEED_CR4, CR4_SMXE, "SMX"}, /* never: GETSEC is #UD */
	{LEAF_FEATURES, 0, C, 17, NEED_CR4, CR4_PCIDE, "PCID"},
	{LEAF_FEATURES, 0, C, 26, NEED_CR4, CR4_OSXSAVE, "XSAVE"},
	{LEAF_FEATURES, 0, C, 28, NEED_XCR0, XCR0_X87 | XCR0_SSE | XCR0_YMM, "AVX"},
	{LEAF_FEATURES, 0, D, 1, NEED_CR4, CR4_VME, "VME"},
	{LEAF_FEATURES, 0, D, 2, NEED_CR4, CR4_DE, "DE"},
	{LEAF_FEATURES, 0, D, 3, NEED_CR4, CR4_PSE, "PSE"},
	{LEAF_FEATURES, 0, D, 6, NEED_CR4, CR4_PAE, "PAE"},
	{LEAF_FEATURES, 0, D, 7, NEED_CR4, CR4_MCE, "MCE"},
	{LEAF_FEATURES, 0, D, 13, NEED_CR4, CR4_PGE, "PGE"},
	{LEAF_FEATURES, 0, D, 24, NEED_CR4, CR4_OSFXSR, "FXSR"},
	{LEAF_FEATURES, 0, D, 25, NEED_CR4, CR4_OSFXSR | CR4_OSXMMEXCPT, "SSE"},
	{LEAF_EXT7, 0, B, 0, NEED_CR4, CR4_FSGSBASE, "FSGSBASE"},
	{LEAF_EXT7, 0, B, 7, NEED_CR4, CR4_SMEP, "SMEP"},
	{LEAF_EXT7, 0, B, 10, NEED_CONTROL, CPUID_CTL_INVPCID, "INVPCID"},
	{LEAF_EXT7, 0, B, 14, NEED_XCR0, XCR0_BNDREGS | XCR0_BNDCSR, "MPX"},
	{LEAF_EXT7, 0, B, 16, NEED_XCR0, XCR0_AVX512, "AVX512F"},
	{LEAF_EXT7, 0, B, 20, NEED_CR4, CR4_SMAP, "SMAP"},
	{LEAF_EXT7, 0, C, 2, NEED_CR4, CR4_UMIP, "UMIP"},
	{LEAF_EXT7, 0, C, 3, NEED_CR4, CR4_PKE, "PKU"},
	{LEAF_EXT7, 0, C, 5, NEED_CONTROL, CPUID_CTL_WAITPKG, "WAITPKG"},
	{LEAF_EXT7, 0, C, 7, NEED_CR4, CR4_CET, "CET_SS"},
	{LEAF_EXT7, 0, C, 16, NEED_CR4, CR4_LA57, "LA57"},
	{LEAF_EXT7, 0, C, 22, NEED_CONTROL, CPUID_CTL_RDTSCP, "RDPID"},
	{LEAF_EXT7, 0, C, 23, NEED_CR4, CR4_KL, "KL"},
	{LEAF_EXT7, 0, C, 31, NEED_CR4, CR4_PKS, "PKS"},
	{LEAF_EXT7, 0, D, 5, NEED_CR4, CR4_UINTR, "UINTR"},
	{LEAF_EXT7, 0, D, 20, NEED_CR4, CR4_CET, "CET_IBT"},
	{LEAF_EXT7, 0, D, 24, NEED_XCR0, XCR0_TILECFG | XCR0_TILEDATA, "AMX_TILE"},
	{LEAF_EXT7, 1, A, 17, NEED_CR4, CR4_FRED, "FRED"},
	{LEAF_EXT7, 1, A, 26, NEED_CR4, CR4_LAM_SUP, "LAM"},
	{LEAF_XSAVE, SUBLEAF_XSAVE_EXT, A, 3, NEED_CONTROL, CPUID_CTL_XSAVES, "XSAVES"},
	{LEAF_EXT, 0, C, 2, NEED_EFER, EFER_SVME, "SVM"}, /* never: mhv hides SVM */
	{LEAF_EXT, 0, C, 17, NEED_EFER, EFER_TCE, "TCE"},
	{LEAF_EXT, 0, D, 11, NEED_EFER, EFER_SCE, "SYSCALL"},
	{LEAF_EXT, 0, D, 20, NEED_EFER, EFER_NXE, "NX"},
	{LEAF_EXT, 0, D, 25, NEED_EFER, EFER_FFXSR, "FFXSR"},
	{LEAF_EXT, 0, D, 27, NEED_CONTROL, CPUID_CTL_RDTSCP, "RDTSCP"},
	{LEAF_EXT, 0, D, 29, NEED_EFER, EFER_LME, "LM"},
	{LEAF_EXT21, 0, A, 8, NEED_EFER, EFER_AUTOIBRS, "AutoIBRS"},
};
const unsigned nr_cpuid_features = ARRAY_SIZE(cpuid_features);

static bool has(const struct cpuid_source *s, uint32_t leaf, uint32_t subleaf, enum cpuid_reg reg,
		unsigned bit)
{
	uint32_t r[CPUID_NR_REGS];

	return s->query(s->ctx, leaf, subleaf, r) && (r[reg] & BIT(bit));
}

uint64_t cpuid_cr4_allowed(const struct cpuid_source *s)
{
	uint64_t cr4 = CR4_VME | CR4_PVI | CR4_TSD | CR4_DE | CR4_PSE | CR4_PAE | CR4_MCE |
		       CR4_PGE | CR4_PCE | CR4_OSFXSR | CR4_OSXMMEXCPT;

	if (has(s, LEAF_FEATURES, 0, C, F1_ECX_PCID))
		cr4 |= CR4_PCIDE;
	if (has(s, LEAF_FEATURES, 0, C, F1_ECX_XSAVE))
		cr4 |= CR4_OSXSAVE;
	if (has(s, LEAF_EXT7, 0, B, F7_EBX_FSGSBASE))
		cr4 |= CR4_FSGSBASE;
	if (has(s, LEAF_EXT7, 0, B, F7_EBX_SMEP))
		cr4 |= CR4_SMEP;
	if (has(s, LEAF_EXT7, 0, B, F7_EBX_SMAP))
		cr4 |= CR4_SMAP;
	if (has(s, LEAF_EXT7, 0, C, F7_ECX_UMIP))
		cr4 |= CR4_UMIP;
	if (has(s, LEAF_EXT7, 0, C, F7_ECX_PKU))
		cr4 |= CR4_PKE;
	if (has(s, LEAF_EXT7, 0, C, F7_ECX_LA57))
		cr4 |= CR4_LA57;
	/* CET: mhv itself runs without it (host CR4.CET clear), so the guest's S_CET/SSP
	 * cannot touch mhv; the guest's own CR0.WP rule is checked with its CR writes. */
	if (has(s, LEAF_EXT7, 0, C, F7_ECX_CET_SS) || has(s, LEAF_EXT7, 0, D, F7_EDX_IBT))
		cr4 |= CR4_CET;
	return cr4;
}

uint64_t cpuid_efer_allowed(const struct cpuid_source *s)
{
	uint64_t efer = 0;

	if (has(s, LEAF_EXT, 0, D, FX_EDX_SYSCALL) || has(s, LEAF_EXT, 0, D, FX_EDX_LM))
		efer |= EFER_SCE;
	if (has(s, LEAF_EXT, 0, D, FX_EDX_LM))
		efer |= EFER_LME;
	if (has(s, LEAF_EXT, 0, D, FX_EDX_NX))
		efer |= EFER_NXE;
	if (has(s, LEAF_EXT, 0, D, FX_EDX_FFXSR)) /* AMD only: Intel's bit 25 is reserved */
		efer |= EFER_FFXSR;
	if (has(s, LEAF_EXT21, 0, A, F21_EAX_AUTOIBRS))
		efer |= EFER_AUTOIBRS;
	return efer;
}

uint64_t cpuid_xcr0_allowed(const struct cpuid_source *s)
{
	uint32_t r[CPUID_NR_REGS];

	if (!has(s, LEAF_FEATURES, 0, C, F1_ECX_XSAVE) || !s->query(s->ctx, LEAF_XSAVE, 0, r))
		return XCR0_X87;
	return ((uint64_t)r[D] << 32) | r[A];
}

bool cpuid_feature_usable(const struct cpuid_feature *f, const struct cpuid_guest_env *env)
{
	switch (f->need) {
	case NEED_CR4:
		return (env->cr4 & f->what) == f->what;
	case NEED_EFER:
		return (env->efer & f->what) == f->what;
	case NEED_XCR0:
		return (env->xcr0 & f->what) == f->what;
	case NEED_CONTROL:
		return (env->controls & f->what) == f->what;
	}
	return false;
}

void cpuid_policy_build(struct cpuid_policy *p, const struct cpuid_guest_env *env)
{
	p->n = 0;
	for (unsigned i = 0; i < nr_cpuid_features; i++) {
		const struct cpuid_feature *f = &cpuid_features[i];
		unsigned j;

		if (cpuid_feature_usable(f, env))
			continue;
		for (j = 0; j < p->n; j++)
			if (p->leaf[j].leaf == f->leaf && p->leaf[j].subleaf == f->subleaf)
				break;
		if (j == p->n) {
			if (p->n == CPUID_POLICY_MAX_LEAVES)
				continue; /* cannot happen: the table names fewer leaves */
			p->leaf[j].leaf = f->leaf;
			p->leaf[j].subleaf = f->subleaf;
			for (unsigned r = 0; r < CPUID_NR_REGS; r++)
				p->leaf[j].clear[r] = 0;
			p->n++;
		}
		p->leaf[j].clear[f->reg] |= BIT(f->bit);
	}
}

void cpuid_policy_apply(const struct cpuid_policy *p, uint32_t leaf, uint32_t subleaf,
			uint32_t regs[CPUID_NR_REGS])
{
	for (unsigned j = 0; j < p->n; j++)
		if (p->leaf[j].leaf == leaf && p->leaf[j].subleaf == subleaf)
			for (unsigned r = 0; r < CPUID_NR_REGS; r++)
				regs[r] &= ~p->leaf[j].clear[r];
}
