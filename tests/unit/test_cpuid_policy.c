/*
 * lib/cpuid_policy: the CPUID feature table against the CR4/EFER/XCR0 validators, on the
 * feature leaves of three real CPUs, with the VMX controls present and absent.
 *
 * The dumps hold the feature bits the vendors document for these parts (Intel SDM Vol. 2A
 * CPUID and the ISE reference for Sapphire Rapids and Tiger Lake; AMD's APM Vol. 3 Appendix E
 * and the Family 19h PPR for Zen 4), not full register dumps: leaves the table does not read
 * are left out, and the OS-state bits (OSXSAVE, OSPKE) read as they do at reset.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/cpuid_policy.h"

#define EFER_FFXSR    (1ull << 14)
#define EFER_AUTOIBRS (1ull << 21)
#define EFER_SVME     (1ull << 12)
#define CR4_CET	      (1ull << 23)
#define CR4_VMXE      (1ull << 13)
#define CR4_SMXE      (1ull << 14)
#define CR4_LA57      (1ull << 12)
#define CR4_PKS	      (1ull << 24)
#define XCR0_AMX      ((1ull << 17) | (1ull << 18))
#define ALL_CONTROLS  (CPUID_CTL_RDTSCP | CPUID_CTL_INVPCID | CPUID_CTL_XSAVES | CPUID_CTL_WAITPKG)
/* What mhv's backends enable: VMX asks for RDTSCP/INVPCID/XSAVES, never user wait/pause;
 * SVM needs no control for any of them. */
#define MHV_CONTROLS  (CPUID_CTL_RDTSCP | CPUID_CTL_INVPCID | CPUID_CTL_XSAVES)

struct leaf {
	uint32_t leaf, subleaf, r[CPUID_NR_REGS];
};

struct cpu {
	const char *name;
	const struct leaf *leaves;
	unsigned n;
};

/* Intel Core i7-1185G7 (Tiger Lake, family 6 model 0x8C): CET (SS and IBT), Key Locker,
 * AVX-512, no WAITPKG, no LA57. */
static const struct leaf tiger_lake[] = {
	{0x0, 0, {0x1B, 0x756E6547, 0x6C65746E, 0x49656E69}},
	{0x1, 0, {0x000806C1, 0, 0x77FAFBFF, 0xBFEBFBFF}},
	{0x7, 0, {0, 0xF3BF27EB, 0x18C05FCE, 0xFC100510}},
	{0xD, 0, {0x2E7, 0, 0, 0}},
	{0xD, 1, {0xF, 0, 0x1900, 0}},
	{0x80000000, 0, {0x80000008, 0, 0, 0}},
	{0x80000001, 0, {0, 0, 0x121, 0x2C100800}},
};

/* Intel Xeon 4th generation (Sapphire Rapids, family 6 model 0x8F): WAITPKG, LA57, PKS,
 * UINTR, AMX, CET. */
static const struct leaf sapphire_rapids[] = {
	{0x0, 0, {0x20, 0x756E6547, 0x6C65746E, 0x49656E69}},
	{0x1, 0, {0x000806F8, 0, 0x77FEFBFF, 0xBFEBFBFF}},
	{0x7, 0, {2, 0xF3BFB7EB, 0xFB417FEE, 0xFFDD4430}},
	{0x7, 1, {0x30, 0, 0, 0}},
	{0xD, 0, {0x602E7, 0, 0, 0}},
	{0xD, 1, {0x1F, 0, 0x9900, 0}},
	{0x80000000, 0, {0x80000008, 0, 0, 0}},
	{0x80000001, 0, {0, 0, 0x121, 0x2C100800}},
};

/* AMD Ryzen 7000 / EPYC 9004 (Zen 4, family 0x19): SVM, FFXSR, AutoIBRS, shadow stacks (no
 * IBT), LA57, AVX-512. */
static const struct leaf zen4[] = {
	{0x0, 0, {0x10, 0x68747541, 0x444D4163, 0x69746E65}},
	{0x1, 0, {0x00A60F12, 0, 0x76FA320B, 0x178BFBFF}},
	{0x7, 0, {1, 0xF1BF97A9, 0x00415FCE, 0x10}},
	{0x7, 1, {0x20, 0, 0, 0}},
	{0xD, 0, {0x2E7, 0, 0, 0}},
	{0xD, 1, {0xF, 0, 0x1800, 0}},
	{0x80000000, 0, {0x80000028, 0, 0, 0}},
	{0x80000001, 0, {0, 0, 0x7DC237FF, 0x2FDBFBFF}},
	{0x80000021, 0, {0x223CD, 0, 0, 0}},
};

static const struct cpu cpus[] = {
	{"Tiger Lake", tiger_lake, sizeof(tiger_lake) / sizeof(tiger_lake[0])},
	{"Sapphire Rapids", sapphire_rapids, sizeof(sapphire_rapids) / sizeof(sapphire_rapids[0])},
	{"Zen 4", zen4, sizeof(zen4) / sizeof(zen4[0])},
};

static bool dump_query(void *ctx, uint32_t leaf, uint32_t subleaf, uint32_t out[CPUID_NR_REGS])
{
	const struct cpu *c = ctx;

	for (unsigned i = 0; i < c->n; i++)
		if (c->leaves[i].leaf == leaf && c->leaves[i].subleaf == subleaf) {
			memcpy(out, c->leaves[i].r, sizeof(c->leaves[i].r));
			return true;
		}
	return false;
}

static struct cpuid_guest_env env_of(const struct cpu *c, uint32_t controls)
{
	struct cpuid_source s = {dump_query, (void *)c};

	return (struct cpuid_guest_env){.cr4 = cpuid_cr4_allowed(&s),
					.efer = cpuid_efer_allowed(&s),
					.xcr0 = cpuid_xcr0_allowed(&s),
					.controls = controls};
}

/* The guest's view of feature f on CPU c under env: the CPU's bit after the policy. */
static bool guest_sees(const struct cpu *c, const struct cpuid_policy *p,
		       const struct cpuid_feature *f)
{
	uint32_t r[CPUID_NR_REGS];

	if (!dump_query((void *)c, f->leaf, f->subleaf, r))
		return false;
	cpuid_policy_apply(p, f->leaf, f->subleaf, r);
	return r[f->reg] & (1u << f->bit);
}

static bool cpu_has(const struct cpu *c, const struct cpuid_feature *f)
{
	uint32_t r[CPUID_NR_REGS];

	return dump_query((void *)c, f->leaf, f->subleaf, r) && (r[f->reg] & (1u << f->bit));
}

static const struct cpuid_feature *feature(const char *name)
{
	for (unsigned i = 0; i < nr_cpuid_features; i++)
		if (!strcmp(cpuid_features[i].name, name))
			return &cpuid_features[i];
	fail_msg("no feature %s in the table", name);
	return NULL;
}

/*
 * The rule itself, on every CPU and every set of controls: a feature the guest sees has its
 * need met by the validators (and the CPU has it); a feature whose need is met and that the
 * CPU has is not hidden.
 */
static void test_every_visible_feature_works(void **state)
{
	static const uint32_t control_sets[] = {0, MHV_CONTROLS, ALL_CONTROLS, CPUID_CTL_RDTSCP};

	(void)state;
	for (unsigned c = 0; c < sizeof(cpus) / sizeof(cpus[0]); c++)
		for (unsigned k = 0; k < sizeof(control_sets) / sizeof(control_sets[0]); k++) {
			struct cpuid_guest_env env = env_of(&cpus[c], control_sets[k]);
			struct cpuid_policy p;

			cpuid_policy_build(&p, &env);
			for (unsigned i = 0; i < nr_cpuid_features; i++) {
				const struct cpuid_feature *f = &cpuid_features[i];
				bool seen = guest_sees(&cpus[c], &p, f);

				if (seen && !cpuid_feature_usable(f, &env))
					fail_msg("%s: guest sees %s, which it cannot use",
						 cpus[c].name, f->name);
				if (seen != (cpu_has(&cpus[c], f) && cpuid_feature_usable(f, &env)))
					fail_msg("%s: %s hidden although usable", cpus[c].name,
						 f->name);
			}
		}
}

/* What the issue found on real CPUs, one by one. */
static void test_sapphire_rapids(void **state)
{
	const struct cpu *spr = &cpus[1];
	struct cpuid_guest_env env = env_of(spr, MHV_CONTROLS);
	struct cpuid_policy p;

	(void)state;
	cpuid_policy_build(&p, &env);
	assert_true(cpu_has(spr, feature("WAITPKG")));
	assert_false(guest_sees(spr, &p, feature("WAITPKG"))); /* TPAUSE/UMWAIT would #UD */
	assert_true(guest_sees(spr, &p, feature("CET_IBT")));
	assert_true(guest_sees(spr, &p, feature("CET_SS")));
	assert_true(env.cr4 & CR4_CET); /* Linux sets CR4.CET when it sees IBT */
	assert_true(guest_sees(spr, &p, feature("LA57")));
	assert_true(env.cr4 & CR4_LA57);
	assert_false(guest_sees(spr, &p, feature("PKS"))); /* CR4.PKS: not virtualised */
	assert_false(env.cr4 & CR4_PKS);
	assert_false(guest_sees(spr, &p, feature("UINTR")));
	assert_false(guest_sees(spr, &p, feature("VMX")));
	assert_false(guest_sees(spr, &p, feature("SMX")));
	assert_false(env.cr4 & (CR4_VMXE | CR4_SMXE));
	assert_true(guest_sees(spr, &p, feature("AMX_TILE")));
	assert_int_equal(env.xcr0 & XCR0_AMX, XCR0_AMX);
	assert_false(env.efer & EFER_FFXSR); /* Intel: EFER.FFXSR is reserved */
	assert_true(guest_sees(spr, &p, feature("XSAVES")));
	assert_true(guest_sees(spr, &p, feature("INVPCID")));
	assert_true(guest_sees(spr, &p, feature("RDTSCP")));
}

/* A VMX CPU (or nested KVM) without the secondary enables: their instructions would #UD. */
static void test_missing_vmx_controls_hide_their_instructions(void **state)
{
	const struct cpu *tgl = &cpus[0];
	struct cpuid_guest_env env = env_of(tgl, 0);
	struct cpuid_policy p;

	(void)state;
	cpuid_policy_build(&p, &env);
	assert_true(cpu_has(tgl, feature("RDTSCP")));
	assert_false(guest_sees(tgl, &p, feature("RDTSCP")));
	assert_false(guest_sees(tgl, &p, feature("RDPID")));
	assert_false(guest_sees(tgl, &p, feature("INVPCID")));
	assert_false(guest_sees(tgl, &p, feature("XSAVES")));
	assert_true(guest_sees(tgl, &p, feature("CET_IBT"))); /* untouched by controls */
	assert_false(guest_sees(tgl, &p, feature("KL")));     /* CR4.KL: not virtualised */
	assert_false(env.efer & EFER_FFXSR);
}

static void test_zen4(void **state)
{
	const struct cpu *zen = &cpus[2];
	struct cpuid_guest_env env = env_of(zen, MHV_CONTROLS);
	struct cpuid_policy p;

	(void)state;
	cpuid_policy_build(&p, &env);
	assert_true(guest_sees(zen, &p, feature("AutoIBRS"))); /* Linux's Spectre-v2 choice */
	assert_true(env.efer & EFER_AUTOIBRS);
	assert_true(guest_sees(zen, &p, feature("FFXSR")));
	assert_true(env.efer & EFER_FFXSR);
	assert_false(guest_sees(zen, &p, feature("SVM")));
	assert_false(env.efer & EFER_SVME);
	assert_false(guest_sees(zen, &p, feature("TCE")));
	assert_true(guest_sees(zen, &p, feature("CET_SS")));
	assert_true(env.cr4 & CR4_CET);
	assert_false(cpu_has(zen, feature("CET_IBT")));
	assert_true(guest_sees(zen, &p, feature("LA57")));
}

/* The policy names few enough leaves for its fixed table, and each leaf once. */
static void test_policy_fits(void **state)
{
	struct cpuid_guest_env none = {0};
	struct cpuid_policy p;

	(void)state;
	cpuid_policy_build(&p, &none); /* everything with a need hidden: every leaf named */
	assert_true(p.n <= CPUID_POLICY_MAX_LEAVES);
	for (unsigned i = 0; i < nr_cpuid_features; i++) {
		const struct cpuid_feature *f = &cpuid_features[i];
		uint32_t r[CPUID_NR_REGS] = {~0u, ~0u, ~0u, ~0u};

		cpuid_policy_apply(&p, f->leaf, f->subleaf, r);
		assert_false(r[f->reg] & (1u << f->bit));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_visible_feature_works),
		cmocka_unit_test(test_sapphire_rapids),
		cmocka_unit_test(test_missing_vmx_controls_hide_their_instructions),
		cmocka_unit_test(test_zen4),
		cmocka_unit_test(test_policy_fits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
