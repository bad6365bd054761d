/* The reviewed MSR allow-list (msr_rules.c): what the guest may do with an MSR that exits. */
#ifndef MHV_CORE_MSR_RULES_H
#define MHV_CORE_MSR_RULES_H

#include <stdbool.h>
#include <stdint.h>

enum msr_rule {
	MSR_RULE_UNKNOWN,   /* not on the list: #GP, as on a CPU without it */
	MSR_RULE_HW,	    /* reads and writes reach the hardware */
	MSR_RULE_READ_ONLY, /* reads reach the hardware, writes #GP */
	MSR_RULE_GUARDED,   /* reads reach the hardware, writes that change it #GP (logged) */
	MSR_RULE_IGNORED,   /* reads reach the hardware, writes are dropped (logged) */
};

struct msr_rule_range {
	uint32_t first, last;
	enum msr_rule rule;
};

enum msr_rule msr_rule_lookup(uint32_t msr);
/* The table is ordered and its ranges do not overlap (checked once by msr_policy.c). */
bool msr_rules_sorted(void);

#endif
