/*
 * The MMIO general entry (core/mmio_short.h): an instruction only the general emulator does,
 * repeated at one RIP on one device page, is emulated from its remembered decode.  What it
 * must still see: the bytes at that RIP rewritten between two runs (another immediate,
 * another instruction of the same length) are decoded again, and each run's result is the
 * new instruction's.  Paging is off here, as in test_mmio_short.c.
 */
#include "lib/string.h"
#include "tests/guest/report.h"
#include "tests/guest/tests.h"

#define GE_PAGE_SIZE 4096u
#define GE_OFF	     0x280 /* a word no other test uses */
#define GE_ROUNDS    4
#define GE_CODE_LEN  5
#define GE_WORD	     0x12345678u
#define GE_SRC	     0x9ABCDEF1u

static uint8_t ge_code[GE_PAGE_SIZE] __attribute__((aligned(GE_PAGE_SIZE)));

/* shld [ecx],edx,3; ret   shld [ecx],edx,5; ret   bts dword [ecx],17; ret: one length. */
static const uint8_t shld3[GE_CODE_LEN] = {0x0F, 0xA4, 0x11, 0x03, 0xC3};
static const uint8_t shld5[GE_CODE_LEN] = {0x0F, 0xA4, 0x11, 0x05, 0xC3};
#define GE_BIT 17
static const uint8_t bts_17[GE_CODE_LEN] = {0x0F, 0xBA, 0x29, GE_BIT, 0xC3};
/* imul edx,cs:[ecx],3; ret   imul edx,ds:[ecx],3; ret: a read through CS (the emulator asks
 * for CS's rights and base beyond what the entry hands it) or DS, EDX written. */
#define GE_MUL 3
static const uint8_t imul_cs[GE_CODE_LEN] = {0x2E, 0x6B, 0x11, GE_MUL, 0xC3};
static const uint8_t imul_ds[GE_CODE_LEN] = {0x3E, 0x6B, 0x11, GE_MUL, 0xC3};

/* The device word after code ran on it (word first, EDX the source). */
static uint32_t ge_run(const uint8_t *code, uintptr_t addr)
{
	uint32_t ecx = addr, edx = GE_SRC;

	*(volatile uint32_t *)addr = GE_WORD;
	memcpy(ge_code, code, GE_CODE_LEN);
	__asm__ volatile("call *%[f]" : "+c"(ecx), "+d"(edx) : [f] "r"(ge_code) : "eax", "memory");
	return *(volatile uint32_t *)addr;
}

/* EDX after code ran on the device word (set first), with EDX GE_SRC before. */
static uint32_t ge_run_edx(const uint8_t *code, uintptr_t addr)
{
	uint32_t ecx = addr, edx = GE_SRC;

	*(volatile uint32_t *)addr = GE_WORD;
	memcpy(ge_code, code, GE_CODE_LEN);
	__asm__ volatile("call *%[f]" : "+c"(ecx), "+d"(edx) : [f] "r"(ge_code) : "eax", "memory");
	return edx;
}

static uint32_t shld_of(unsigned n)
{
	return (GE_WORD << n) | (GE_SRC >> (32 - n));
}

void test_mmio_general_entry(uintptr_t dev_page)
{
	uintptr_t addr = dev_page + GE_OFF;
	uint32_t bad = 0;

	for (unsigned i = 0; i < GE_ROUNDS; i++)
		bad += ge_run(shld3, addr) != shld_of(3);
	check_eq("mmio general entry: shld [m],r,3 at one RIP, repeated, shifts by 3", bad, 0);
	check_eq("mmio general entry: its immediate rewritten to 5 shifts by 5", ge_run(shld5, addr),
		 shld_of(5));
	check_eq("mmio general entry: and back to 3 shifts by 3", ge_run(shld3, addr), shld_of(3));
	check_eq("mmio general entry: rewritten to bts [m],imm8 (same length) sets the bit",
		 ge_run(bts_17, addr), GE_WORD | 1u << GE_BIT);
	check_eq("mmio general entry: and back to shld [m],r,3", ge_run(shld3, addr), shld_of(3));
	bad = 0;
	for (unsigned i = 0; i < GE_ROUNDS; i++)
		bad += ge_run_edx(imul_cs, addr) != GE_WORD * GE_MUL;
	check_eq("mmio general entry: imul r,cs:[m],imm repeated reads through CS", bad, 0);
	check_eq("mmio general entry: its prefix rewritten to DS reads the same word",
		 ge_run_edx(imul_ds, addr), GE_WORD * GE_MUL);
	check_eq("mmio general entry: and back to the CS override",
		 ge_run_edx(imul_cs, addr), GE_WORD * GE_MUL);
}
