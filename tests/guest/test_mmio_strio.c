/*
 * INS and OUTS with the memory side on a device page of an mmio=ram region (mhv emulates
 * them): REP INSB from the master PIC's mask register fills the device page with what IN
 * reads there, and OUTSB of that mask from the device page writes it back unchanged.
 * And RETF to ring 3 with its frame on the device page (a privilege-changing return).
 */
#include "arch/x86/io.h"
#include "tests/guest/cpu.h"
#include "tests/guest/report.h"
#include "tests/guest/segments.h"
#include "tests/guest/tests.h"
#include "tests/guest/trap.h"

#define STRIO_OFF  0x2600u
#define STRIO_LEN  4
#define PIC1_DATA  0x21 /* the master 8259's interrupt mask register */
#define RETF_OFF   0x2680u /* the far-return frame: EIP, CS, ESP, SS */
/* test_mmio_user.c's ring-3 selectors (its GDT, loaded by mmio_user_begin()). */
#define USER_CODE  0x1bu
#define USER_DATA  0x23u
#define USER_ESP   0x7000u /* never used: the ring-3 code only raises #UD */

extern const char strio_user_ud[];
asm(".pushsection .text\n"
    "strio_user_ud:\n"
    "	ud2\n"
    ".popsection\n");

/* At CPL 0: DS/ES to the ring-3 data segment (RETF nulls DPL-0 ones), then RETF through the
 * frame on the device page. */
static void retf_to_ring3(void *frame)
{
	asm volatile("movw %w1, %%ds\n\t"
		     "movw %w1, %%es\n\t"
		     "movl %0, %%esp\n\t"
		     "lret" ::"r"(frame),
		     "r"(USER_DATA)
		     : "memory");
	__builtin_unreachable();
}

static void test_retf_outer(uint32_t base)
{
	volatile uint32_t *frame = (volatile uint32_t *)(base + RETF_OFF);
	struct fault f;

	frame[0] = (uint32_t)strio_user_ud;
	frame[1] = USER_CODE;
	frame[2] = USER_ESP;
	frame[3] = USER_DATA;
	mmio_user_begin();
	run_catching(retf_to_ring3, (void *)frame, &f);
	asm volatile("movw %w0, %%ds\n\t"
		     "movw %w0, %%es\n\t"
		     "movw %w0, %%fs\n\t"
		     "movw %w0, %%gs" ::"r"((uint32_t)SEL_DATA)
		     : "memory");
	mmio_user_end();
	check(f.raised && f.vector == VEC_UD && f.eip == (uint32_t)strio_user_ud,
	      "mmio strio: retf to ring 3 with its frame on a device page reaches the ring-3 code",
	      "%s at %x (want #UD at %x)", f.raised ? trap_name(f.vector) : "no exception", f.eip,
	      (uint32_t)strio_user_ud);
}

void test_mmio_strio(uint32_t base)
{
	volatile uint8_t *dev = (volatile uint8_t *)(base + STRIO_OFF);
	uint8_t mask = inb(PIC1_DATA), after;
	uint32_t left = STRIO_LEN, di = (uint32_t)dev, si = (uint32_t)dev;
	bool same = true;

	for (unsigned i = 0; i < STRIO_LEN; i++)
		dev[i] = (uint8_t)~mask;
	asm volatile("cld; rep insb" : "+c"(left), "+D"(di) : "d"(PIC1_DATA) : "memory");
	for (unsigned i = 0; i < STRIO_LEN; i++)
		same &= dev[i] == mask;
	check(same && left == 0 && di == (uint32_t)dev + STRIO_LEN,
	      "mmio strio: rep insb to a device page stores what the port reads",
	      "bytes %02x %02x %02x %02x (port %02x), ECX %u, EDI %x", dev[0], dev[1], dev[2],
	      dev[3], mask, left, di);
	asm volatile("cld; outsb" : "+S"(si) : "d"(PIC1_DATA) : "memory");
	after = inb(PIC1_DATA);
	check(after == mask && si == (uint32_t)dev + 1,
	      "mmio strio: outsb from a device page writes the byte to the port",
	      "mask %02x after, %02x before, ESI %x", after, mask, si);
	test_retf_outer(base);
}
