/*
 * core/msr_rules.c, the MSR allow-list: the table is ordered (the lookup halves it),
 * every range is found at both ends and misses fall to "unknown", and the MSRs that must
 * never reach the hardware are not on it.  The table is plain C: it is compiled in here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/msr_rules.c"

static void test_table_is_ordered(void **state)
{
	(void)state;
	assert_true(msr_rules_sorted());
}

static void test_every_range_found_at_both_ends_and_gaps_unknown(void **state)
{
	(void)state;
	for (unsigned i = 0; i < ARRAY_SIZE(rules); i++) {
		assert_int_equal(msr_rule_lookup(rules[i].first), rules[i].rule);
		assert_int_equal(msr_rule_lookup(rules[i].last), rules[i].rule);
		if (i + 1 < ARRAY_SIZE(rules) && rules[i].last + 1 < rules[i + 1].first)
			assert_int_equal(msr_rule_lookup(rules[i].last + 1), MSR_RULE_UNKNOWN);
		assert_int_not_equal(rules[i].rule, MSR_RULE_UNKNOWN);
	}
	assert_int_equal(msr_rule_lookup(0xFFFFFFFF), MSR_RULE_UNKNOWN);
}

static void test_platform_msrs_are_guarded(void **state)
{
	static const uint32_t guarded[] = {0x9E,	0x1F2,	     0x1F3,	 0xC0010010,
					   0xC0010015, 0xC0010016, 0xC0010019, 0xC001001A,
					   0xC001001D, 0xC0010058, 0xC0010111, 0xC0010113};

	(void)state;
	for (unsigned i = 0; i < ARRAY_SIZE(guarded); i++)
		assert_int_equal(msr_rule_lookup(guarded[i]), MSR_RULE_GUARDED);
	assert_int_equal(msr_rule_lookup(0x79), MSR_RULE_IGNORED);
	assert_int_equal(msr_rule_lookup(0xC0010020), MSR_RULE_IGNORED);
}

/* Never on the list: handled by msr_policy.c itself, or must fault. */
static void test_dangerous_msrs_are_not_listed(void **state)
{
	static const uint32_t absent[] = {
		0x3A,	    /* FEATURE_CONTROL: msr_policy.c */
		0x1A0,	    /* MISC_ENABLE: shadowed by msr_policy.c */
		0xFE,	    /* MTRRCAP: msr_mtrr.c */
		0x200,	    /* MTRR PHYSBASE0: msr_mtrr.c */
		0x2FF,	    /* MTRR_DEF_TYPE: msr_mtrr.c */
		0x480,	    /* VMX capabilities */
		0x560,	    /* Intel PT output base (physical addresses) */
		0x570,	    /* Intel PT control */
		0x600,	    /* DS_AREA */
		0x3F1,	    /* PEBS_ENABLE */
		0x140,	    /* CPUID faulting */
		0xC0000080, /* EFER: msr_policy.c */
		0xC0011004, /* CPUID override */
		0xC0010114, /* VM_CR */
		0xC0010117, /* VM_HSAVE_PA */
	};

	(void)state;
	for (unsigned i = 0; i < ARRAY_SIZE(absent); i++)
		assert_int_equal(msr_rule_lookup(absent[i]), MSR_RULE_UNKNOWN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_is_ordered),
		cmocka_unit_test(test_every_range_found_at_both_ends_and_gaps_unknown),
		cmocka_unit_test(test_platform_msrs_are_guarded),
		cmocka_unit_test(test_dangerous_msrs_are_not_listed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
