/*
 * The reviewed MSR allow-list: what a guest may do with each MSR that exits.  Reviewed
 * against the SDM Vol. 4 and the AMD BKDG/PPR lists, keeping what Linux and the guest test
 * kernel use.  An MSR in no range here (and not handled by msr_policy.c itself) is unknown:
 * the guest gets #GP, as from a CPU without it.
 *
 *  MSR_RULE_HW	      harmless: reads and writes reach the hardware (a #GP from it comes back)
 *  MSR_RULE_READ_ONLY   reads reach the hardware; writes #GP (read-only, or not the
 *			guest's to change: power limits, platform information)
 *  MSR_RULE_GUARDED     platform configuration under mhv (SYSCFG, HWCR, TOP_MEM, IORRs, SMRR,
 *			SMM base/mask, MMIO config base, ...): reads reach the hardware, a
 *			write of the value it already holds is accepted, any other write #GP
 *			and a log line
 *  MSR_RULE_IGNORED     microcode loads: dropped with a log line (the guest sees its
 *			revision unchanged, as when an update is rejected)
 *
 * Deliberately absent (so #GP): Intel PT (its output goes to physical addresses), DS_AREA
 * and PEBS (records written by the CPU, also in mhv's context), CPUID faulting and the
 * CPUID override MSRs, the VMX/SVM MSRs, and anything not reviewed.  Linux probes most
 * optional MSRs with the _safe accessors and only warns on the others.
 *
 * Kept sorted by first MSR (msr_rule_lookup() searches it by halves).
 */
#include "core/msr_rules.h"
#include "lib/compiler.h"

static const struct msr_rule_range rules[] = {
	{0x00000000, 0x00000001, MSR_RULE_READ_ONLY}, /* P5_MC_ADDR, P5_MC_TYPE */
	{0x00000010, 0x00000010, MSR_RULE_HW},	      /* TSC (writes: only the TSC moves) */
	{0x00000017, 0x00000017, MSR_RULE_READ_ONLY}, /* PLATFORM_ID */
	{0x0000002A, 0x0000002A, MSR_RULE_READ_ONLY}, /* EBL_CR_POWERON */
	{0x00000035, 0x00000035, MSR_RULE_READ_ONLY}, /* CORE_THREAD_COUNT */
	{0x0000003B, 0x0000003B, MSR_RULE_HW},	      /* TSC_ADJUST */
	{0x00000079, 0x00000079, MSR_RULE_IGNORED},   /* BIOS_UPDT_TRIG: microcode load */
	{0x0000008B, 0x0000008B, MSR_RULE_HW},	      /* BIOS_SIGN_ID / PATCH_LEVEL */
	{0x0000009E, 0x0000009E, MSR_RULE_GUARDED},   /* SMBASE (SMM only: #GP elsewhere) */
	{0x000000C1, 0x000000C8, MSR_RULE_HW},	      /* PMC0-7 */
	{0x000000CD, 0x000000CE, MSR_RULE_READ_ONLY}, /* FSB_FREQ, PLATFORM_INFO */
	{0x000000E1, 0x000000E1, MSR_RULE_HW},	      /* UMWAIT_CONTROL */
	{0x000000E7, 0x000000E8, MSR_RULE_HW},	      /* MPERF, APERF */
	{0x0000010A, 0x0000010A, MSR_RULE_READ_ONLY}, /* ARCH_CAPABILITIES */
	{0x0000010F, 0x0000010F, MSR_RULE_HW},	      /* TSX_FORCE_ABORT */
	{0x00000122, 0x00000123, MSR_RULE_HW},	      /* TSX_CTRL, MCU_OPT_CTRL (mitigations) */
	{0x00000179, 0x00000179, MSR_RULE_READ_ONLY}, /* MCG_CAP */
	{0x0000017A, 0x0000017B, MSR_RULE_HW},	      /* MCG_STATUS, MCG_CTL */
	{0x00000186, 0x0000018D, MSR_RULE_HW},	      /* PERFEVTSEL0-7 */
	{0x00000198, 0x00000198, MSR_RULE_READ_ONLY}, /* PERF_STATUS */
	{0x00000199, 0x00000199, MSR_RULE_HW},	      /* PERF_CTL */
	{0x0000019B, 0x0000019C, MSR_RULE_HW},	      /* THERM_INTERRUPT, THERM_STATUS */
	{0x000001A2, 0x000001A2, MSR_RULE_READ_ONLY}, /* TEMPERATURE_TARGET */
	{0x000001A6, 0x000001A7, MSR_RULE_HW},	      /* OFFCORE_RSP_0/1 */
	{0x000001AD, 0x000001AD, MSR_RULE_READ_ONLY}, /* TURBO_RATIO_LIMIT */
	{0x000001B0, 0x000001B0, MSR_RULE_HW},	      /* ENERGY_PERF_BIAS */
	{0x000001B1, 0x000001B2, MSR_RULE_HW},	      /* PACKAGE_THERM_STATUS/INTERRUPT */
	{0x000001C4, 0x000001C5, MSR_RULE_HW},	      /* XFD, XFD_ERR (mhv uses no AMX) */
	{0x000001F2, 0x000001F3, MSR_RULE_GUARDED},   /* SMRR_PHYSBASE, SMRR_PHYSMASK */
	{0x000001FC, 0x000001FC, MSR_RULE_HW},	      /* POWER_CTL (C1E) */
	{0x00000280, 0x0000029F, MSR_RULE_HW},	      /* MC0_CTL2-MC31_CTL2 (CMCI) */
	{0x00000309, 0x0000030B, MSR_RULE_HW},	      /* FIXED_CTR0-2 */
	{0x00000345, 0x00000345, MSR_RULE_READ_ONLY}, /* PERF_CAPABILITIES */
	{0x0000038D, 0x00000390, MSR_RULE_HW},	      /* FIXED_CTR_CTRL, PERF_GLOBAL_* */
	{0x00000400, 0x0000047F, MSR_RULE_HW},	      /* MC0-MC31 CTL/STATUS/ADDR/MISC */
	{0x000004C1, 0x000004C8, MSR_RULE_HW},	      /* A_PMC0-7 */
	{0x00000606, 0x00000606, MSR_RULE_READ_ONLY}, /* RAPL_POWER_UNIT */
	{0x00000610, 0x0000064F, MSR_RULE_READ_ONLY}, /* RAPL limits and energy counters */
	{0x000006A0, 0x000006A8, MSR_RULE_HW},	      /* CET: U_CET..INTERRUPT_SSP_TABLE */
	{0x000006E1, 0x000006E1, MSR_RULE_HW},	      /* PKRS (mhv leaves CR4.PKS clear) */
	{0x00000770, 0x00000777, MSR_RULE_HW},	      /* HWP */
	{0x00000DA0, 0x00000DA0, MSR_RULE_HW},	      /* XSS (mhv uses no XSAVES) */
	{0xC00000E7, 0xC00000E8, MSR_RULE_READ_ONLY}, /* AMD MPERF/APERF read-only aliases */
	{0xC0002000, 0xC00020FF, MSR_RULE_HW},	      /* AMD SMCA machine-check banks */
	{0xC0010000, 0xC0010007, MSR_RULE_HW},	      /* AMD PERF_CTL0-3, PERF_CTR0-3 */
	{0xC0010010, 0xC0010010, MSR_RULE_GUARDED},   /* SYSCFG */
	{0xC0010015, 0xC0010015, MSR_RULE_GUARDED},   /* HWCR */
	{0xC0010016, 0xC0010019, MSR_RULE_GUARDED},   /* IORR_BASE0..IORR_MASK1 */
	{0xC001001A, 0xC001001A, MSR_RULE_GUARDED},   /* TOP_MEM */
	{0xC001001D, 0xC001001D, MSR_RULE_GUARDED},   /* TOP_MEM2 */
	{0xC001001F, 0xC001001F, MSR_RULE_GUARDED},   /* NB_CFG */
	{0xC0010020, 0xC0010020, MSR_RULE_IGNORED},   /* PATCH_LOADER: microcode load */
	{0xC0010058, 0xC0010058, MSR_RULE_GUARDED},   /* MMIO_CONF_BASE (where ECAM sits) */
	{0xC0010061, 0xC0010063, MSR_RULE_HW},	      /* P-state limit, control, status */
	{0xC0010064, 0xC001006B, MSR_RULE_READ_ONLY}, /* P-state definitions */
	{0xC0010111, 0xC0010113, MSR_RULE_GUARDED},   /* SMM_BASE, SMM_ADDR, SMM_MASK */
	{0xC001011F, 0xC001011F, MSR_RULE_HW},	      /* VIRT_SPEC_CTRL (SSBD) */
	{0xC0010131, 0xC0010131, MSR_RULE_READ_ONLY}, /* SEV_STATUS */
	{0xC0010140, 0xC0010141, MSR_RULE_READ_ONLY}, /* OSVW_ID_LENGTH, OSVW_STATUS */
	{0xC0010200, 0xC001020B, MSR_RULE_HW},	      /* AMD PERF_CTL/CTR 0-5 (core extension) */
	{0xC0010299, 0xC001029B, MSR_RULE_READ_ONLY}, /* AMD RAPL */
	{0xC001100C, 0xC001100C, MSR_RULE_READ_ONLY}, /* NODE_ID */
	{0xC0011020, 0xC0011020, MSR_RULE_HW},	      /* LS_CFG (SSBD on older parts) */
	{0xC0011029, 0xC0011029, MSR_RULE_HW},	      /* DE_CFG (LFENCE serialising) */
};

enum msr_rule msr_rule_lookup(uint32_t msr)
{
	unsigned lo = 0, hi = ARRAY_SIZE(rules);

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (msr < rules[mid].first)
			hi = mid;
		else if (msr > rules[mid].last)
			lo = mid + 1;
		else
			return rules[mid].rule;
	}
	return MSR_RULE_UNKNOWN;
}

bool msr_rules_sorted(void)
{
	for (unsigned i = 0; i < ARRAY_SIZE(rules); i++)
		if (rules[i].first > rules[i].last ||
		    (i && rules[i].first <= rules[i - 1].last))
			return false;
	return true;
}
