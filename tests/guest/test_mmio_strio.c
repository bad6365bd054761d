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

#define PUSHA_TOP  0x2700u
#define PUSHA_MARK 0x5a5aa5a5u

static uint32_t pusha_esp_after, pusha_ebx_after;

/* PUSHAD then POPAD with ESP on the device page: the frame holds the registers, POPAD brings
 * them back (EBX carries a marker through). */
static void test_pusha_popa(uint32_t base)
{
	volatile uint32_t *slot = (volatile uint32_t *)(base + PUSHA_TOP - 32);

	/* The results go to static variables (absolute addresses: ESP is elsewhere). */
	asm volatile("pushl %%ebx\n\t"
		     "movl %%esp, %%ecx\n\t"
		     "movl %2, %%esp\n\t"
		     "movl %3, %%ebx\n\t"
		     "pushal\n\t"
		     "movl %%esp, %0\n\t"
		     "xorl %%ebx, %%ebx\n\t"
		     "popal\n\t"
		     "movl %%ebx, %1\n\t"
		     "movl %%ecx, %%esp\n\t"
		     "popl %%ebx"
		     : "=m"(pusha_esp_after), "=m"(pusha_ebx_after)
		     : "r"(base + PUSHA_TOP), "i"(PUSHA_MARK)
		     : "ecx", "memory");
	check(pusha_esp_after == base + PUSHA_TOP - 32 && slot[4] == PUSHA_MARK &&
		      slot[3] == base + PUSHA_TOP && pusha_ebx_after == PUSHA_MARK,
	      "mmio strio: pushad / popad with ESP on a device page",
	      "ESP after pushad %x, EBX slot %x, ESP slot %x, EBX after popad %x",
	      pusha_esp_after, slot[4], slot[3], pusha_ebx_after);
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
	test_pusha_popa(base);
	test_retf_outer(base);
}
