/* mhv detection and hypercalls. */
#include <stddef.h>

#include "arch/x86/io.h"
#include "core/hypercall_abi.h"
#include "lib/string.h"
#include "tests/guest/cpu.h"
#include "tests/guest/hv.h"
#include "tests/guest/report.h"
#include "tests/guest/serial.h"

#define CPUID_VENDOR_LEAF   0
#define CPUID_EXT_BASE_LEAF 0x80000000
#define CPUID_BRAND_FIRST   0x80000002
#define VENDOR_LEN	    12
#define DEBUG_EXIT_PORT	    0xF4   /* QEMU -device isa-debug-exit,iobase=0xf4 */
#define BOCHS_SHUTDOWN_PORT 0x8900 /* Bochs ends when "Shutdown" is written here */

static enum cpu_vendor vendor;
static bool present;

void hv_init(void)
{
	struct cpuid_regs r = cpuid(CPUID_VENDOR_LEAF);
	/* The vendor string is EBX, EDX, ECX in that order. */
	const uint32_t v[3] = {r.ebx, r.edx, r.ecx};

	if (!memcmp(v, "GenuineIntel", VENDOR_LEN))
		vendor = VENDOR_INTEL;
	else if (!memcmp(v, "AuthenticAMD", VENDOR_LEN))
		vendor = VENDOR_AMD;
	else
		vendor = VENDOR_OTHER;

	/*
	 * Leaves 0x40000000+ are free for hypervisors: natively they return whatever the CPU
	 * returns for an out-of-range leaf, which never spells mhv's signature.
	 */
	r = cpuid(MHV_CPUID_BASE);
	present = r.ebx == MHV_SIGNATURE_EBX && r.ecx == MHV_SIGNATURE_ECX &&
		  r.edx == MHV_SIGNATURE_EDX;
}

bool hv_present(void)
{
	return present;
}

enum cpu_vendor cpu_vendor(void)
{
	return vendor;
}

const char *cpu_vendor_name(void)
{
	switch (vendor) {
	case VENDOR_INTEL:
		return "Intel";
	case VENDOR_AMD:
		return "AMD";
	default:
		return "other";
	}
}

void hc_vmcall(struct hc_regs *r)
{
	asm volatile("vmcall"
		     : "+a"(r->eax), "+b"(r->ebx), "+c"(r->ecx), "+d"(r->edx), "+S"(r->esi),
		       "+D"(r->edi)
		     :
		     : "memory");
}

void hc_vmmcall(struct hc_regs *r)
{
	asm volatile("vmmcall"
		     : "+a"(r->eax), "+b"(r->ebx), "+c"(r->ecx), "+d"(r->edx), "+S"(r->esi),
		       "+D"(r->edi)
		     :
		     : "memory");
}

void hc_native(struct hc_regs *r)
{
	if (vendor == VENDOR_AMD)
		hc_vmmcall(r);
	else
		hc_vmcall(r);
}

uint32_t hypercall(uint32_t nr, uint32_t ebx, uint32_t ecx, uint32_t edx, uint32_t *ebx_out)
{
	struct hc_regs r = {.eax = nr, .ebx = ebx, .ecx = ecx, .edx = edx};

	hc_native(&r);
	if (ebx_out)
		*ebx_out = r.ebx;
	return r.eax;
}

uint32_t hv_exit_count(uint32_t kind)
{
	return hypercall(HC_EXIT_COUNT, kind, 0, 0, NULL);
}

uint32_t hv_ram_region(uint32_t min_size)
{
	for (uint32_t n = 0;; n++) {
		struct hc_regs r = {.eax = HC_MMIO_REGION, .ebx = n};

		hc_native(&r);
		if (r.eax == (uint32_t)HC_ENOSYS)
			return 0; /* past the last region */
		if (r.ecx == MMIO_TYPE_RAM && r.ebx >= min_size)
			return r.eax;
	}
}

void hv_print_exit_counts(void)
{
	static const char *const names[NR_EXIT_KINDS] = EXIT_KIND_NAMES;

	gprintf("guest: exits so far:");
	for (uint32_t k = 0; k < NR_EXIT_KINDS; k++)
		gprintf(" %s=%u", names[k] ? names[k] : "?", hv_exit_count(k));
	gprintf("\n");
}

void guest_end(uint32_t status)
{
	if (present) {
		static const char msg[] = "FAIL guest: HC_END_RUN returned\n";

		hypercall(HC_END_RUN, status, 0, 0, NULL);
		/* A bug in mhv: say so, then try the emulator's exit port anyway. */
		serial_write(msg, sizeof(msg) - 1);
	}
	/* Natively the emulator drops bytes still in the UART when it exits; mhv flushes its own.
	 */
	serial_drain();
	outl(DEBUG_EXIT_PORT, status);
	/* Bochs only knows "stop" (no status): the harness judges its runs by the output. */
	for (const char *p = "Shutdown"; *p; p++)
		outb(BOCHS_SHUTDOWN_PORT, (uint8_t)*p);
	cpu_halt_forever();
}

/* QEMU's TCG CPU names itself in the brand string ("QEMU TCG CPU version ..."). */
bool cpu_is_qemu_tcg(void)
{
	static const char tcg[] = "QEMU TCG";
	char brand[17];
	struct cpuid_regs r;

	if (cpuid(CPUID_EXT_BASE_LEAF).eax < CPUID_BRAND_FIRST)
		return false;
	r = cpuid(CPUID_BRAND_FIRST);
	memcpy(brand, &r, 16);
	brand[16] = 0;
	return memcmp(brand, tcg, sizeof(tcg) - 1) == 0;
}
