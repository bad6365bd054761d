/*
 * Instruction lengths of exits the CPU does not measure (SVM without NRIP save, QEMU TCG):
 * mhv compares the bytes at RIP with the exit's plain encoding and decodes only when they
 * differ.  A CPUID built at run time in a code buffer, plain and prefixed, at the same RIP one
 * after the other and across a page boundary: each must resume right after its last byte.
 */
#include "arch/x86/cpuid_msr.h"
#include "lib/string.h"
#include "tests/guest/cpu.h"
#include "tests/guest/report.h"
#include "tests/guest/tests.h"

#define PAGE_SIZE  4096u
#define CODE_PAGES 2
#define MAX_PREFIX 2

/* push ebx; xor eax,eax; <prefixes> cpuid; mov eax,ebx; pop ebx; ret: CPUID.0's EBX. */
static const uint8_t code_head[] = {0x53, 0x31, 0xC0};
static const uint8_t code_cpuid[] = {0x0F, 0xA2};
static const uint8_t code_tail[] = {0x89, 0xD8, 0x5B, 0xC3};

static uint8_t code_buf[CODE_PAGES * PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));

typedef uint32_t (*cpuid_fn)(void);

/* Build the function at offset with prefix bytes before CPUID, run it, compare with want. */
static void run_variant(const char *what, unsigned offset, const uint8_t *prefix,
			unsigned nprefix, uint32_t want)
{
	uint8_t *p = code_buf + offset;
	uint32_t got;

	memcpy(p, code_head, sizeof(code_head));
	p += sizeof(code_head);
	memcpy(p, prefix, nprefix);
	p += nprefix;
	memcpy(p, code_cpuid, sizeof(code_cpuid));
	p += sizeof(code_cpuid);
	memcpy(p, code_tail, sizeof(code_tail));
	__asm__ volatile("" ::: "memory");
	got = ((cpuid_fn)(uintptr_t)(code_buf + offset))();
	check(got == want, what, "EBX 0x%x, want 0x%x", got, want);
}

void test_exit_len(void)
{
	static const uint8_t none[MAX_PREFIX] = {0};
	static const uint8_t opsize[MAX_PREFIX] = {0x66};
	static const uint8_t two_ds[MAX_PREFIX] = {0x3E, 0x3E};
	uint32_t want = cpuid(0).ebx;
	/* Offset at which CPUID's first byte is the last of the first page. */
	unsigned cross = PAGE_SIZE - 1 - sizeof(code_head);

	run_variant("exit length: plain CPUID resumes after it", 0, none, 0, want);
	run_variant("exit length: 66 CPUID at the same RIP resumes after 3 bytes", 0, opsize, 1,
		    want);
	run_variant("exit length: 3E 3E CPUID at the same RIP resumes after 4 bytes", 0, two_ds,
		    2, want);
	run_variant("exit length: plain CPUID again at the same RIP resumes after 2 bytes", 0,
		    none, 0, want);
	run_variant("exit length: CPUID split across a page boundary", cross, none, 0, want);
	run_variant("exit length: 66 CPUID split across a page boundary", cross - 1, opsize, 1,
		    want);
}
