/*
 * The MMIO short path's MOV forms in 64-bit mode (mmio_short_lm.S), where the 32-bit guest's
 * own tests cannot reach: REX byte registers (SIL, DIL, SPL: the low bytes of RSI, RDI, RSP,
 * not DH, BH, AH), R8-R15, the 32-bit zero-extension of the whole register, MOVSX/MOVZX to
 * 16 and 64 bits, 64-bit stores and immediates, and 9- to 12-byte instructions.  Each form
 * runs several times from one RIP (the first fills the entry, the others replay it) on RAM
 * (the CPU) and on a ram device region (mhv); every register and word must agree.  IA-32e
 * mode is entered for each run with an identity map of the low 4 GiB, interrupts off.
 */
#include <stddef.h>

#include "core/hypercall_abi.h"
#include "lib/fmt.h"
#include "tests/guest/cpu.h"
#include "tests/guest/hv.h"
#include "tests/guest/long_mode.h"
#include "tests/guest/mmio_short_lm.h"
#include "tests/guest/report.h"
#include "tests/guest/tests.h"

#define LM_AREA_OFF	0x400u /* device words no other test uses (the forms test: 0x240) */

void lm64_mmio_forms(uint32_t area, uint64_t *out);

static const char *const load_names[LM_LOAD_FORMS] = {
	"mov sil,[m]",	     "mov dh,[m]",	   "mov dil,[m]",	"mov ah,[m]",
	"mov r9b,[m]",	     "mov r10w,[m]",	   "mov r11d,[m]",	"mov r12,[m]",
	"movzx r13d,byte",   "movsx r14,byte",	   "movsx r8w,byte",	"movsx eax,word",
	"movzx dx,byte",     "movsx rsi,word",	   "movzx rdi,word",	"mov eax,[m]",
	"mov spl,[m]",	     "mov r12,[m+disp32]", "ds mov r12,[m+disp32] (9 bytes)",
};

static const char *const store_names[LM_STORE_FORMS] = {
	"mov [m],sil",	      "mov [m],dh",	       "mov [m],dil",	  "mov [m],ah",
	"mov [m],r9b",	      "mov [m],r10w",	       "mov [m],r11d",	  "mov [m],r12",
	"mov qword [m],simm32", "mov [m],spl",	       "mov word [m],imm16",
	"mov dword [m+disp32],imm32 (11 bytes)", "mov qword [m+disp32],simm32 (12 bytes)",
	"mov [m+disp32],r13",
};

static uint8_t ram_area[LM_PAGE_SIZE] __attribute__((aligned(LM_PAGE_SIZE)));
static uint64_t out[2][LM_OUT_WORDS];
static char what[96];

static uint32_t short_replays(void)
{
	return hypercall(HC_MMIO_COUNTER, MMIO_COUNTER_SHORT, 0, 0, NULL);
}

static bool cache_on(void)
{
	return hypercall(HC_MMIO_COUNTER, MMIO_COUNTER_CACHE_ON, 0, 0, NULL) == 1;
}

/* The words of form f (loads first) in run r's output, and how many. */
static const uint64_t *form_words(unsigned r, unsigned f, unsigned *n)
{
	if (f < LM_LOAD_FORMS) {
		*n = LM_ROUNDS * LM_LOAD_WORDS;
		return &out[r][f * *n];
	}
	*n = LM_STORE_WORDS;
	return &out[r][LM_LOAD_FORMS * LM_ROUNDS * LM_LOAD_WORDS +
		       (f - LM_LOAD_FORMS) * LM_STORE_WORDS];
}

void test_mmio_short_lm(uintptr_t dev_page)
{
	const uint32_t areas[2] = {(uint32_t)ram_area, (uint32_t)dev_page + LM_AREA_OFF};
	uint32_t n;

	lm_run(lm_identity(), lm64_mmio_forms, areas[0], out[0]);
	n = short_replays();
	lm_run(lm_identity(), lm64_mmio_forms, areas[1], out[1]);
	n = short_replays() - n;
	check(cache_on() ? n >= (LM_ROUNDS - 1) * (LM_LOAD_FORMS + LM_STORE_FORMS) : n == 0,
	      cache_on() ? "mmio short lm: every 64-bit form replayed after its first run"
			 : "mmio short lm: nothing replayed (cache off)",
	      "%u replays", n);
	for (unsigned f = 0; f < LM_LOAD_FORMS + LM_STORE_FORMS; f++) {
		unsigned words, bad = 0, first = 0;
		const uint64_t *want = form_words(0, f, &words), *got = form_words(1, f, &words);

		for (unsigned i = 0; i < words; i++)
			if (got[i] != want[i] && !bad++)
				first = i;
		fmt_snprintf(what, sizeof(what), "mmio short lm: %s: %s as on RAM",
			     f < LM_LOAD_FORMS ? load_names[f] : store_names[f - LM_LOAD_FORMS],
			     f < LM_LOAD_FORMS ? "registers" : "memory");
		check(bad == 0, what, "%u words differ, first #%u 0x%x%08x want 0x%x%08x", bad,
		      first, (uint32_t)(got[first] >> 32), (uint32_t)got[first],
		      (uint32_t)(want[first] >> 32), (uint32_t)want[first]);
	}
}
