/*
 * An EIP-relative device load (67 prefix, RIP-relative ModRM) in 64-bit mode, run from an
 * alias of its code 8 GiB up: the CPU truncates the address to 32 bits (SDM vol. 2 2.2.1.6),
 * so the load reads the device word below 4 GiB.  4 GiB above that word, this test maps the
 * device's next page instead: an emulation that forgets the truncation reads the other word.
 */
#include "lib/fmt.h"
#include "tests/guest/hv.h"
#include "tests/guest/long_mode.h"
#include "tests/guest/report.h"
#include "tests/guest/tests.h"

#define RR_CODE_HIGH	 2 /* the code's alias: + 8 GiB */
#define RR_CODE_PDPT	 8 /* pdpt slot of 8 GiB + the code's GiB (the code is below 1 GiB) */
#define RR_WRONG_PDPT	 4 /* pdpt slot of 4 GiB + the device's GiB, plus that GiB */
#define RR_WORD_OFF	 0x7f0u
#define RR_WANT		 0x5eed1234u
#define RR_OTHER	 0xbad0c0deu
#define RR_PTE		 (LM_PTE_RW | LM_PTE_P)

uint32_t lm64_riprel67(uint32_t high);
extern uint8_t riprel67_disp[], riprel67_next[];

static struct lm_tables rr_tables;
static uint64_t rr_wrong_pd[LM_ENTRIES] __attribute__((aligned(LM_PAGE_SIZE)));
static uint64_t rr_wrong_pt[LM_ENTRIES] __attribute__((aligned(LM_PAGE_SIZE)));

/* Identity below 4 GiB; 8 GiB + the code's GiB -> the code's GiB; 4 GiB + dev -> dev's next
 * page (the rest of that 2 MiB identity). */
static void rr_build_map(uint32_t dev)
{
	uint32_t dev_gib = dev >> LM_GIB_SHIFT, dev_pde = (dev >> LM_LARGE_SHIFT) % LM_ENTRIES;
	uint32_t large = dev & ~((1u << LM_LARGE_SHIFT) - 1);

	lm_identity_map(&rr_tables, 0);
	for (uint32_t i = 0; i < LM_ENTRIES; i++) {
		rr_wrong_pd[i] = rr_tables.pds[dev_gib][i];
		rr_wrong_pt[i] = (large + i * LM_PAGE_SIZE) | RR_PTE;
	}
	rr_wrong_pt[(dev / LM_PAGE_SIZE) % LM_ENTRIES] = (dev + LM_PAGE_SIZE) | RR_PTE;
	rr_wrong_pd[dev_pde] = (uint32_t)rr_wrong_pt | RR_PTE;
	rr_tables.pdpt[RR_WRONG_PDPT + dev_gib] = (uint32_t)rr_wrong_pd | RR_PTE;
	rr_tables.pdpt[RR_CODE_PDPT + ((uint32_t)riprel67_next >> LM_GIB_SHIFT)] =
		rr_tables.pdpt[0];
}

/* lm_run's routine: the load from the alias high * 4 GiB up, into *got. */
static void rr_load(uint32_t high, uint64_t *got)
{
	*got = lm64_riprel67(high);
}

void test_mmio_riprel(void)
{
	uint32_t dev = hv_ram_region(2 * LM_PAGE_SIZE);
	uint64_t got = 0;
	volatile uint32_t *want_word, *other_word;
	uint32_t disp;

	if (!dev) {
		check(false, "mmio riprel: a ram device region of two pages", "none");
		return;
	}
	want_word = (volatile uint32_t *)(dev + RR_WORD_OFF);
	other_word = (volatile uint32_t *)(dev + LM_PAGE_SIZE + RR_WORD_OFF);
	*want_word = RR_WANT;
	*other_word = RR_OTHER;
	disp = dev + RR_WORD_OFF - (uint32_t)riprel67_next;
	__builtin_memcpy(riprel67_disp, &disp, sizeof(disp));
	rr_build_map(dev);
	lm_run(&rr_tables, rr_load, RR_CODE_HIGH, &got);
	check(got == RR_WANT, "mmio riprel: 67 RIP-relative load from RIP above 4 GiB truncates",
	      "read 0x%x want 0x%x", (uint32_t)got, RR_WANT);
}
