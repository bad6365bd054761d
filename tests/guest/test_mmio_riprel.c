/*
 * An EIP-relative device load (67 prefix, RIP-relative ModRM) in 64-bit mode, run from an
 * alias of its code 8 GiB up: the CPU truncates the address to 32 bits (SDM vol. 2 2.2.1.6),
 * so the load reads the device word below 4 GiB.  4 GiB above that word, this test maps the
 * device's next page instead: an emulation that forgets the truncation reads the other word.
 */
#include "lib/fmt.h"
#include "tests/guest/cpu.h"
#include "tests/guest/desc.h"
#include "tests/guest/hv.h"
#include "tests/guest/report.h"
#include "tests/guest/segments.h"
#include "tests/guest/tests.h"

#define RR_PAGE		 4096u
#define RR_ENTRIES	 512u
#define RR_PTE_P	 (1u << 0)
#define RR_PTE_RW	 (1u << 1)
#define RR_PTE_PS	 (1u << 7)
#define RR_LARGE_SHIFT	 21
#define RR_GIB_SHIFT	 30
#define RR_GIB_PDS	 4
#define RR_CODE_HIGH	 2    /* the code's alias: + 8 GiB */
#define RR_CODE_PDPT	 8    /* pdpt slot of 8 GiB + the code's GiB (the code is below 1 GiB) */
#define RR_WRONG_PDPT	 4    /* pdpt slot of 4 GiB + the device's GiB, plus that GiB */
#define RR_WORD_OFF	 0x7f0u
#define RR_WANT		 0x5eed1234u
#define RR_OTHER	 0xbad0c0deu
#define RR_CR4_PAE	 (1u << 5)
#define RR_EFER_LME	 (1u << 8)
#define RR_GDT_CODE64	 0x00AF9B000000FFFFull
#define RR_RFLAGS_IF	 (1u << 9)

uint32_t lm64_riprel67(uint32_t high);
extern uint8_t riprel67_disp[], riprel67_next[];

static const uint64_t rr_gdt[] __attribute__((aligned(8))) = {0, GDT_FLAT_CODE32,
							      GDT_FLAT_DATA32, RR_GDT_CODE64};
static uint64_t rr_pml4[RR_ENTRIES] __attribute__((aligned(RR_PAGE)));
static uint64_t rr_pdpt[RR_ENTRIES] __attribute__((aligned(RR_PAGE)));
static uint64_t rr_pds[RR_GIB_PDS][RR_ENTRIES] __attribute__((aligned(RR_PAGE)));
static uint64_t rr_wrong_pd[RR_ENTRIES] __attribute__((aligned(RR_PAGE)));
static uint64_t rr_wrong_pt[RR_ENTRIES] __attribute__((aligned(RR_PAGE)));

/* Identity below 4 GiB; 8 GiB + the code's GiB -> the code's GiB; 4 GiB + dev -> dev's next
 * page (the rest of that 2 MiB identity). */
static void rr_build_map(uint32_t dev)
{
	uint32_t dev_gib = dev >> RR_GIB_SHIFT, dev_pde = (dev >> RR_LARGE_SHIFT) % RR_ENTRIES;
	uint32_t large = dev & ~((1u << RR_LARGE_SHIFT) - 1);

	for (uint32_t d = 0; d < RR_GIB_PDS; d++) {
		for (uint32_t i = 0; i < RR_ENTRIES; i++)
			rr_pds[d][i] = ((uint64_t)(d * RR_ENTRIES + i) << RR_LARGE_SHIFT) |
				       RR_PTE_PS | RR_PTE_RW | RR_PTE_P;
		rr_pdpt[d] = (uint32_t)rr_pds[d] | RR_PTE_RW | RR_PTE_P;
	}
	for (uint32_t i = 0; i < RR_ENTRIES; i++) {
		rr_wrong_pd[i] = rr_pds[dev_gib][i];
		rr_wrong_pt[i] = (large + i * RR_PAGE) | RR_PTE_RW | RR_PTE_P;
	}
	rr_wrong_pt[(dev >> 12) % RR_ENTRIES] = (dev + RR_PAGE) | RR_PTE_RW | RR_PTE_P;
	rr_wrong_pd[dev_pde] = (uint32_t)rr_wrong_pt | RR_PTE_RW | RR_PTE_P;
	rr_pdpt[RR_WRONG_PDPT + dev_gib] = (uint32_t)rr_wrong_pd | RR_PTE_RW | RR_PTE_P;
	rr_pdpt[RR_CODE_PDPT + ((uint32_t)riprel67_next >> RR_GIB_SHIFT)] = rr_pdpt[0];
	rr_pml4[0] = (uint32_t)rr_pdpt | RR_PTE_RW | RR_PTE_P;
}

static uint32_t __attribute__((noinline)) rr_run(void)
{
	uint32_t cr0 = read_cr0(), cr3 = read_cr3(), cr4 = read_cr4(), flags, got;
	uint64_t efer = rdmsr64(MSR_EFER);
	struct table_ptr old, gdt = {sizeof(rr_gdt) - 1, (uint32_t)rr_gdt};

	__asm__ volatile("pushfl; popl %0; cli" : "=r"(flags)::"memory");
	__asm__ volatile("sgdt %0; lgdt %1" : "=m"(old) : "m"(gdt) : "memory");
	write_cr0(cr0 & ~CR0_PG);
	write_cr4(cr4 | RR_CR4_PAE);
	write_cr3((uint32_t)rr_pml4);
	wrmsr64(MSR_EFER, efer | RR_EFER_LME);
	write_cr0(cr0 | CR0_PG | CR0_PE);
	got = lm64_riprel67(RR_CODE_HIGH);
	write_cr0(cr0 & ~CR0_PG);
	wrmsr64(MSR_EFER, efer);
	write_cr4(cr4);
	write_cr3(cr3);
	write_cr0(cr0);
	__asm__ volatile("lgdt %0" ::"m"(old) : "memory");
	if (flags & RR_RFLAGS_IF)
		__asm__ volatile("sti" ::: "memory");
	return got;
}

void test_mmio_riprel(void)
{
	uint32_t dev = hv_ram_region(2 * RR_PAGE), got;
	volatile uint32_t *want_word, *other_word;
	uint32_t disp;

	if (!dev) {
		check(false, "mmio riprel: a ram device region of two pages", "none");
		return;
	}
	want_word = (volatile uint32_t *)(dev + RR_WORD_OFF);
	other_word = (volatile uint32_t *)(dev + RR_PAGE + RR_WORD_OFF);
	*want_word = RR_WANT;
	*other_word = RR_OTHER;
	disp = dev + RR_WORD_OFF - (uint32_t)riprel67_next;
	__builtin_memcpy(riprel67_disp, &disp, sizeof(disp));
	rr_build_map(dev);
	got = rr_run();
	check(got == RR_WANT, "mmio riprel: 67 RIP-relative load from RIP above 4 GiB truncates",
	      "read 0x%x want 0x%x", got, RR_WANT);
}
