/*
 * lib/ipi_filter: the one-CPU IPI rule.  Named cases for each route, then every combination
 * of mode, shorthand, destination mode and a set of destinations for both APIC widths,
 * checking the property the rule exists for: whatever goes out reaches this CPU and nothing
 * else, in a mode a guest CPU may be given.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "lib/ipi_filter.h"

#define SELF_ID	     3u
#define SELF_LDR     0x08u /* xAPIC flat logical ID of this CPU */
#define OTHER_ID     4u
#define X2_SELF_LDR  0x00000008u /* cluster 0, bit 3 */
#define VECTOR	     0xEEu
#define NR_MODES     8
#define NR_SH	     4
#define NELEM(a)     (sizeof(a) / sizeof((a)[0]))

static const struct ipi_self xself = {.id = SELF_ID, .ldr = SELF_LDR, .x2apic = false};
static const struct ipi_self x2self = {.id = SELF_ID, .ldr = X2_SELF_LDR, .x2apic = true};

static uint64_t icr(const struct ipi_self *s, unsigned mode, unsigned sh, bool logical,
		    uint32_t dest)
{
	unsigned shift = s->x2apic ? ICR_X2APIC_DEST_SHIFT : ICR_XAPIC_DEST_SHIFT;

	return VECTOR | ((uint64_t)mode << ICR_MODE_SHIFT) | (logical ? ICR_LOGICAL : 0) |
	       ICR_LEVEL_ASSERT | ((uint64_t)sh << ICR_SHORTHAND_SHIFT) | ((uint64_t)dest << shift);
}

static enum ipi_verdict run(const struct ipi_self *s, uint64_t v, uint64_t *send)
{
	const char *why = NULL;
	enum ipi_verdict r;

	*send = ~0ull;
	r = ipi_filter(v, s, send, &why);
	if (r == IPI_DROP)
		assert_non_null(why);
	return r;
}

static void test_named_routes(void **state)
{
	uint64_t send;

	(void)state;
	/* To this CPU: fixed and NMI unchanged, lowest priority as fixed. */
	assert_int_equal(run(&xself, icr(&xself, ICR_MODE_FIXED, 0, false, SELF_ID), &send),
			 IPI_SEND);
	assert_int_equal(send, icr(&xself, ICR_MODE_FIXED, 0, false, SELF_ID));
	assert_int_equal(run(&xself, icr(&xself, ICR_MODE_NMI, 0, true, SELF_LDR), &send),
			 IPI_SEND);
	assert_int_equal(run(&xself, icr(&xself, ICR_MODE_LOWEST, 0, false, SELF_ID), &send),
			 IPI_SEND);
	assert_int_equal(send, icr(&xself, ICR_MODE_FIXED, 0, false, SELF_ID));
	/* Other CPUs, by every route: dropped. */
	assert_int_equal(run(&xself, icr(&xself, ICR_MODE_NMI, 0, false, OTHER_ID), &send),
			 IPI_DROP);
	assert_int_equal(run(&xself, icr(&xself, ICR_MODE_NMI, 0, true, SELF_LDR | 1), &send),
			 IPI_DROP);
	assert_int_equal(run(&xself, icr(&xself, ICR_MODE_FIXED, ICR_SH_ALL_EXCL_SELF, false, 0),
			     &send),
			 IPI_DROP);
	/* INIT and STARTUP never go, not even to self. */
	assert_int_equal(run(&xself, icr(&xself, ICR_MODE_INIT, 0, false, SELF_ID), &send),
			 IPI_DROP);
	assert_int_equal(run(&xself, icr(&xself, ICR_MODE_STARTUP, ICR_SH_SELF, false, 0), &send),
			 IPI_DROP);
	/* Broadcasts including self: fixed by the self shorthand, NMI to this APIC ID. */
	assert_int_equal(run(&xself, icr(&xself, ICR_MODE_FIXED, ICR_SH_ALL_INCL_SELF, false, 0),
			     &send),
			 IPI_CUT_TO_SELF);
	assert_int_equal(send, icr(&xself, ICR_MODE_FIXED, ICR_SH_SELF, false, 0));
	assert_int_equal(run(&xself, icr(&xself, ICR_MODE_NMI, 0, false, XAPIC_BROADCAST_ID),
			     &send),
			 IPI_CUT_TO_SELF);
	assert_int_equal(send, icr(&xself, ICR_MODE_NMI, 0, false, SELF_ID));
	assert_int_equal(run(&x2self, icr(&x2self, ICR_MODE_NMI, 0, false, X2APIC_BROADCAST_ID),
			     &send),
			 IPI_CUT_TO_SELF);
	assert_int_equal(send, icr(&x2self, ICR_MODE_NMI, 0, false, SELF_ID));
	/* No logical ID yet: a logical destination names nobody this CPU can be. */
	{
		struct ipi_self no_ldr = xself;

		no_ldr.ldr = 0;
		assert_int_equal(run(&no_ldr, icr(&no_ldr, ICR_MODE_FIXED, 0, true, 0), &send),
				 IPI_DROP);
	}
}

/* Does this ICR, sent by this CPU, reach this CPU only (SDM destination rules)? */
static bool reaches_self_only(const struct ipi_self *s, uint64_t v)
{
	unsigned sh = (unsigned)((v & ICR_SHORTHAND_MASK) >> ICR_SHORTHAND_SHIFT);
	uint32_t dest = s->x2apic ? (uint32_t)(v >> ICR_X2APIC_DEST_SHIFT)
				  : (uint32_t)(v >> ICR_XAPIC_DEST_SHIFT);

	if (sh == ICR_SH_SELF)
		return true;
	if (sh != ICR_SH_NONE)
		return false;
	if (v & ICR_LOGICAL)
		return s->ldr && dest == s->ldr;
	return dest == s->id;
}

static void exhaustive(const struct ipi_self *s)
{
	const uint32_t dests[] = {0, 1, SELF_ID, OTHER_ID, SELF_LDR, SELF_LDR | 1, 0x0F, 0xFF,
				  0x10008, 0xFFFFFFFFu};

	for (unsigned mode = 0; mode < NR_MODES; mode++)
		for (unsigned sh = 0; sh < NR_SH; sh++)
			for (unsigned logical = 0; logical < 2; logical++)
				for (size_t d = 0; d < NELEM(dests); d++) {
					uint64_t v = icr(s, mode, sh, logical, dests[d]), send;
					enum ipi_verdict r = run(s, v, &send);
					unsigned out_mode = (unsigned)((send & ICR_MODE_MASK) >>
								       ICR_MODE_SHIFT);

					if (sh == ICR_SH_ALL_EXCL_SELF)
						assert_int_equal(r, IPI_DROP);
					if (r == IPI_DROP)
						continue;
					assert_true(reaches_self_only(s, send));
					assert_true(out_mode == ICR_MODE_FIXED ||
						    out_mode == ICR_MODE_NMI);
					assert_int_equal(send & ICR_VECTOR_MASK, VECTOR);
					if (r == IPI_SEND)
						assert_true(reaches_self_only(s, v));
				}
}

static void test_only_self_ever_xapic(void **state)
{
	(void)state;
	exhaustive(&xself);
}

static void test_only_self_ever_x2apic(void **state)
{
	(void)state;
	exhaustive(&x2self);
}

/*
 * SMP: every mode and shorthand to any destination.  INIT and STARTUP are always mhv's
 * (virtual), SMI/ExtINT/reserved never go out, fixed always goes out unchanged, lowest
 * priority and NMI unchanged except with the self shorthand (fixed-only architecturally).
 */
static void test_smp_routes(void **state)
{
	static const struct ipi_self selves[] = {
		{.id = SELF_ID, .ldr = SELF_LDR, .x2apic = false, .smp = true},
		{.id = SELF_ID, .ldr = X2_SELF_LDR, .x2apic = true, .smp = true},
	};
	static const uint32_t dests[] = {SELF_ID, SELF_ID + 1, 0xFF, 0xFFFFFFFFu, 0};

	(void)state;
	for (size_t s = 0; s < NELEM(selves); s++)
		for (unsigned mode = 0; mode < NR_MODES; mode++)
			for (unsigned sh = 0; sh < NR_SH; sh++)
				for (size_t d = 0; d < NELEM(dests); d++)
					for (int logical = 0; logical < 2; logical++) {
						uint64_t v = icr(&selves[s], mode, sh, logical,
								 dests[d]);
						uint64_t send;
						enum ipi_verdict r = run(&selves[s], v, &send);

						if (mode == ICR_MODE_INIT ||
						    mode == ICR_MODE_STARTUP) {
							assert_int_equal(r, IPI_VIRTUAL);
						} else if (mode == ICR_MODE_FIXED ||
							   ((mode == ICR_MODE_LOWEST ||
							     mode == ICR_MODE_NMI) &&
							    sh != ICR_SH_SELF)) {
							assert_int_equal(r, IPI_SEND);
							assert_int_equal(send, v);
						} else {
							assert_int_equal(r, IPI_DROP);
						}
					}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_named_routes),
		cmocka_unit_test(test_only_self_ever_xapic),
		cmocka_unit_test(test_only_self_ever_x2apic),
		cmocka_unit_test(test_smp_routes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
