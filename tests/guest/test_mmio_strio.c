/*
 * INS and OUTS with the memory side on a device page of an mmio=ram region (mhv emulates
 * them): REP INSB from the master PIC's mask register fills the device page with what IN
 * reads there, and OUTSB of that mask from the device page writes it back unchanged.
 */
#include "arch/x86/io.h"
#include "tests/guest/report.h"
#include "tests/guest/tests.h"

#define STRIO_OFF  0x2600u
#define STRIO_LEN  4
#define PIC1_DATA  0x21 /* the master 8259's interrupt mask register */

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
}
