/*
 * MOV to CR3 takes the register its ModRM names, whichever path mhv's CR3-write exit takes
 * (decode assists, the bytes at RIP recognised as MOV CR3, r, or the decoder).  A wrong
 * register shows as another value read back from CR3.  Paging stays off meanwhile, so a
 * wrong value cannot fault; the old CR3 comes back afterwards.
 * test_cr3_regs_armed: the same from every register including ESP, each right after a device
 * read that fills mhv's translation cache, so that with the cache on the MOV does exit
 * (core/flush_exits.h) and the exit's register is the one checked, not the CPU's own MOV.
 */
#include "core/hypercall_abi.h"
#include "lib/fmt.h"
#include "tests/guest/cpu.h"
#include "tests/guest/hv.h"
#include "tests/guest/report.h"
#include "tests/guest/tests.h"

#define CR3_VAL	 0x00123000u /* page-aligned: what the register under test holds */
#define CR3_JUNK 0x00456000u /* what every other register holds */

uint32_t cr3_via_eax(uint32_t val, uint32_t junk);
uint32_t cr3_via_ecx(uint32_t val, uint32_t junk);
uint32_t cr3_via_edx(uint32_t val, uint32_t junk);
uint32_t cr3_via_ebx(uint32_t val, uint32_t junk);
uint32_t cr3_via_ebp(uint32_t val, uint32_t junk);
uint32_t cr3_via_esi(uint32_t val, uint32_t junk);
uint32_t cr3_via_edi(uint32_t val, uint32_t junk);
uint32_t cr3_via_esp(uint32_t val, uint32_t junk);

#define ESP_AREA 4096u /* the stack ESP points into while it holds the CR3 value */

static uint8_t esp_area[ESP_AREA] __attribute__((aligned(ESP_AREA)));

static const struct {
	const char *what;
	uint32_t (*fn)(uint32_t val, uint32_t junk);
} cr3_regs[] = {
	{"cr: MOV to CR3 from EAX loads EAX", cr3_via_eax},
	{"cr: MOV to CR3 from ECX loads ECX", cr3_via_ecx},
	{"cr: MOV to CR3 from EDX loads EDX", cr3_via_edx},
	{"cr: MOV to CR3 from EBX loads EBX", cr3_via_ebx},
	{"cr: MOV to CR3 from EBP loads EBP", cr3_via_ebp},
	{"cr: MOV to CR3 from ESI loads ESI", cr3_via_esi},
	{"cr: MOV to CR3 from EDI loads EDI", cr3_via_edi},
};

void test_cr3_regs(void)
{
	const uint32_t cr3 = read_cr3();

	if (read_cr0() & CR0_PG) {
		gprintf("guest: cr: MOV to CR3 per register: paging is on, skipped\n");
		return;
	}
	for (unsigned i = 0; i < sizeof(cr3_regs) / sizeof(cr3_regs[0]); i++) {
		uint32_t got = cr3_regs[i].fn(CR3_VAL, CR3_JUNK);

		write_cr3(cr3);
		check(got == CR3_VAL, cr3_regs[i].what, "CR3 read 0x%x, expected 0x%x", got,
		      CR3_VAL);
	}
}

void test_cr3_regs_armed(uintptr_t dev, bool cache_on)
{
	const uint32_t cr3 = read_cr3();
	/* ESP's value: the end of esp_area, page-aligned as CR3 values here are. */
	const uint32_t esp_val = (uint32_t)(uintptr_t)(esp_area + ESP_AREA);
	char what[80];

	if (read_cr0() & CR0_PG) {
		gprintf("guest: cr: MOV to CR3 per register (armed): paging is on, skipped\n");
		return;
	}
	for (unsigned i = 0; i <= sizeof(cr3_regs) / sizeof(cr3_regs[0]); i++) {
		bool esp = i == sizeof(cr3_regs) / sizeof(cr3_regs[0]);
		uint32_t val = esp ? esp_val : CR3_VAL, got, exits, flags;

		(void)mmio_read32(dev); /* fills the cache: the flush exits are armed */
		exits = hv_exit_count(EXIT_KIND_CR_ACCESS);
		asm volatile("pushfl; popl %0; cli" : "=r"(flags)::"memory");
		got = esp ? cr3_via_esp(val, CR3_JUNK) : cr3_regs[i].fn(val, CR3_JUNK);
		asm volatile("pushl %0; popfl" ::"r"(flags) : "memory", "cc");
		exits = hv_exit_count(EXIT_KIND_CR_ACCESS) - exits;
		write_cr3(cr3);
		fmt_snprintf(what, sizeof(what), "%s, with the flush exits armed",
			     esp ? "cr: MOV to CR3 from ESP loads ESP" : cr3_regs[i].what);
		/* Cache off, the MOV may exit or not (SVM without NRIP save keeps the code
		 * translation, and its flush exits, whatever the switch says). */
		check(got == val && (cache_on ? exits == 1 : exits <= 1), what,
		      "CR3 read 0x%x, expected 0x%x; %u CR exits, expected %s", got, val, exits,
		      cache_on ? "1" : "at most 1");
	}
}
