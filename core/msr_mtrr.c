/*
 * The guest's MTRRs: a shadow the guest reads back, never the hardware.
 *
 * MTRRs are a platform setting: a guest that could make a range uncached (or write-combined)
 * would change how mhv's own memory behaves, and on AMD the fixed-range RdMem/WrMem bits
 * route accesses to MMIO.  So every MTRR access exits, and mhv keeps a per-guest copy,
 * taken from the hardware before the guest starts (the guest sees what firmware set up,
 * as on bare metal).  Writes are checked the way the CPU checks them (#GP
 * for a reserved bit, an invalid memory type or a register beyond MTRRCAP's count) and land
 * in the copy only.  The guest's MTRRs have no effect on the hardware: under VT-x the EPT
 * entries give the guest's RAM write-back and everything else uncached (the hardware MTRRs do
 * not apply to EPT-translated accesses); under SVM the hardware MTRRs stay as firmware set
 * them and apply to the guest as to mhv.  Either way the guest's own PAT, switched with the
 * guest (VMCS guest PAT / VMCB G_PAT), combines with that and stays the guest's tool for
 * caching its own mappings.
 */
#include "core/msr_mtrr.h"
#include "arch/x86/cpu.h"
#include "arch/x86/msr.h"
#include "lib/log.h"

#define MTRR_VAR_MAX	   40 /* PHYSBASE/PHYSMASK pairs fit below the fixed ranges at 0x250 */
#define MTRR_FIXED_COUNT   11  /* 0x250, 0x258, 0x259, 0x268-0x26F */
#define MTRR_DEF_VALID	   (MTRR_TYPE_MASK | MTRR_DEF_TYPE_FE | MTRR_DEF_TYPE_E)
#define CPUID_ADDR_SIZES   0x80000008
#define CPUID_EXT_MAX	   0x80000000
#define MAXPHYADDR_DEFAULT 36 /* without leaf 0x80000008 (SDM: 36 with PAE) */
#define MAXPHYADDR_MASK	   0xFF
#define BYTES_PER_MSR	   8
#define BITS_PER_BYTE	   8

/* Memory types an MTRR may hold: UC, WC, WT, WP, WB. */
static bool mtrr_type_valid(uint64_t type)
{
	return type == 0 || type == 1 || type == 4 || type == 5 || type == 6;
}

static struct {
	uint64_t cap, def_type, phys_bits_mask;
	uint64_t var[MTRR_VAR_MAX * 2]; /* base, mask, base, mask, ... */
	uint64_t fixed[MTRR_FIXED_COUNT];
	unsigned vcnt;
} mtrr;

static int fixed_index(uint32_t msr)
{
	if (msr == MSR_IA32_MTRR_FIX64K_00000)
		return 0;
	if (msr == MSR_IA32_MTRR_FIX16K_80000 || msr == MSR_IA32_MTRR_FIX16K_A0000)
		return 1 + (int)(msr - MSR_IA32_MTRR_FIX16K_80000);
	if (msr >= MSR_IA32_MTRR_FIX4K_C0000 && msr <= MSR_IA32_MTRR_FIX4K_F8000)
		return 3 + (int)(msr - MSR_IA32_MTRR_FIX4K_C0000);
	return -1;
}

static uint32_t fixed_msr(unsigned i)
{
	if (i == 0)
		return MSR_IA32_MTRR_FIX64K_00000;
	if (i < 3)
		return MSR_IA32_MTRR_FIX16K_80000 + (i - 1);
	return MSR_IA32_MTRR_FIX4K_C0000 + (i - 3);
}

void mtrr_init(void)
{
	unsigned maxphyaddr = MAXPHYADDR_DEFAULT;
	uint64_t v;

	if (cpuid(CPUID_EXT_MAX).eax >= CPUID_ADDR_SIZES)
		maxphyaddr = cpuid(CPUID_ADDR_SIZES).eax & MAXPHYADDR_MASK;
	mtrr.phys_bits_mask = ((1ull << maxphyaddr) - 1) & ~0xFFFull;
	if (!rdmsr_safe(MSR_IA32_MTRRCAP, &mtrr.cap))
		mtrr.cap = 0;
	mtrr.vcnt = (unsigned)(mtrr.cap & MTRRCAP_VCNT_MASK);
	if (mtrr.vcnt > MTRR_VAR_MAX)
		mtrr.vcnt = MTRR_VAR_MAX;
	if (rdmsr_safe(MSR_IA32_MTRR_DEF_TYPE, &v))
		mtrr.def_type = v;
	for (unsigned i = 0; i < mtrr.vcnt * 2; i++)
		if (rdmsr_safe(MSR_IA32_MTRR_PHYSBASE0 + i, &v))
			mtrr.var[i] = v;
	for (unsigned i = 0; (mtrr.cap & MTRRCAP_FIX) && i < MTRR_FIXED_COUNT; i++)
		if (rdmsr_safe(fixed_msr(i), &v))
			mtrr.fixed[i] = v;
}

bool msr_is_mtrr(uint32_t msr)
{
	return msr == MSR_IA32_MTRRCAP || msr == MSR_IA32_MTRR_DEF_TYPE ||
	       (msr >= MSR_IA32_MTRR_PHYSBASE0 && msr < MSR_IA32_MTRR_PHYSBASE0 + MTRR_VAR_MAX * 2) ||
	       fixed_index(msr) >= 0;
}

/* The shadow register for msr, or NULL if this CPU has none (the guest gets #GP). */
static uint64_t *shadow_reg(uint32_t msr)
{
	int f = fixed_index(msr);

	if (msr == MSR_IA32_MTRR_DEF_TYPE)
		return &mtrr.def_type;
	if (f >= 0)
		return (mtrr.cap & MTRRCAP_FIX) ? &mtrr.fixed[f] : NULL;
	if (msr >= MSR_IA32_MTRR_PHYSBASE0 && msr - MSR_IA32_MTRR_PHYSBASE0 < mtrr.vcnt * 2)
		return &mtrr.var[msr - MSR_IA32_MTRR_PHYSBASE0];
	return NULL;
}

bool mtrr_read(uint32_t msr, uint64_t *val)
{
	uint64_t *reg;

	if (msr == MSR_IA32_MTRRCAP) {
		*val = mtrr.cap;
		return true;
	}
	reg = shadow_reg(msr);
	if (!reg)
		return false;
	*val = *reg;
	return true;
}

static bool fixed_valid(uint64_t val)
{
	for (unsigned b = 0; b < BYTES_PER_MSR; b++)
		if (!mtrr_type_valid((val >> (b * BITS_PER_BYTE)) & MTRR_TYPE_MASK))
			return false;
	return true;
}

/* Would the CPU take this value?  (SDM Vol. 3, 12.11.2) */
static bool write_valid(uint32_t msr, uint64_t val)
{
	if (msr == MSR_IA32_MTRR_DEF_TYPE)
		return !(val & ~MTRR_DEF_VALID) && mtrr_type_valid(val & MTRR_TYPE_MASK);
	if (fixed_index(msr) >= 0)
		return fixed_valid(val);
	if ((msr - MSR_IA32_MTRR_PHYSBASE0) % 2 == 0)
		return !(val & ~(mtrr.phys_bits_mask | MTRR_TYPE_MASK)) &&
		       mtrr_type_valid(val & MTRR_TYPE_MASK);
	return !(val & ~(mtrr.phys_bits_mask | MTRR_PHYSMASK_VALID));
}

bool mtrr_write(uint32_t msr, uint64_t val)
{
	uint64_t *reg = msr == MSR_IA32_MTRRCAP ? NULL : shadow_reg(msr);

	if (!reg)
		return false; /* MTRRCAP is read-only; absent registers fault */
	if (*reg == val)
		return true; /* writing back what was read (firmware's AMD RdMem/WrMem bits too) */
	if (!write_valid(msr, val))
		return false; /* reserved bits and bad types fault */
	pr_debug("mhv: guest MTRR 0x%x = 0x%lx (kept in mhv's copy, hardware untouched)\n", msr,
		 val);
	*reg = val;
	return true;
}
