/*
 * Talking to mhv: detection through its CPUID leaves, hypercalls, and ending the run.
 * The numbers come from core/hypercall_abi.h, shared with mhv itself.
 */
#ifndef MHV_TESTS_GUEST_HV_H
#define MHV_TESTS_GUEST_HV_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/compiler.h"

enum cpu_vendor { VENDOR_OTHER, VENDOR_INTEL, VENDOR_AMD };

/*
 * Registers in and out of a hypercall: eax = number / result, ebx..edx = arguments.  esi and
 * edi carry no argument: they are passed in and read back only to check mhv preserves them.
 */
struct hc_regs {
	uint32_t eax, ebx, ecx, edx, esi, edi;
};

/* Read the CPU vendor and look for mhv's signature; call once before the others. */
void hv_init(void);
bool hv_present(void);
enum cpu_vendor cpu_vendor(void);
const char *cpu_vendor_name(void);
/* Running on QEMU's TCG CPU (which tolerates what hardware faults on)? */
bool cpu_is_qemu_tcg(void);

/* One hypercall with VMCALL or VMMCALL explicitly (faults natively: wrap in run_catching). */
void hc_vmcall(struct hc_regs *r);
void hc_vmmcall(struct hc_regs *r);
/* The instruction of this CPU's vendor; hypercall() returns EAX and fills *ebx if non-NULL. */
void hc_native(struct hc_regs *r);
uint32_t hypercall(uint32_t nr, uint32_t ebx, uint32_t ecx, uint32_t edx, uint32_t *ebx_out);
uint32_t hv_exit_count(uint32_t kind);
/* The base of the first `mmio=ram` region of at least min_size bytes mhv reports, or 0. */
uint32_t hv_ram_region(uint32_t min_size);
/* One informational line with every exit counter (under mhv only). */
void hv_print_exit_counts(void);

/*
 * End the run with this status: HC_END_RUN under mhv, QEMU's isa-debug-exit port natively.
 * Halts if neither ends it.
 */
__noreturn void guest_end(uint32_t status);

#endif
