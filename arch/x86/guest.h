/*
 * The guest mhv runs: its memory (identity-mapped RAM below mhv, nested page tables shared
 * in shape by EPT and NPT) and its boot state (a multiboot kernel entered in 32-bit
 * protected mode with paging off).
 */
#ifndef MHV_ARCH_X86_GUEST_H
#define MHV_ARCH_X86_GUEST_H

#include <stdbool.h>
#include <stdint.h>

struct boot_info;
struct pt_format;
struct virt_caps;

struct guest_start {
	uint32_t entry;		   /* EIP */
	uint32_t eax;		   /* multiboot magic */
	uint32_t ebx;		   /* multiboot information */
	uint64_t hv_start, hv_end; /* hidden from the guest */
	bool mmio_cache; /* mmio_cache=on: cache MMIO translations, intercept CR3 writes */
};

/* Load the first module as a multiboot kernel; false (with a message) if there is none. */
bool guest_load(const struct boot_info *bi, struct guest_start *gs);

/*
 * Build the guest's nested page tables: RAM (usable and ACPI memory) with ram_flags, every
 * other address below the top with mmio_flags, mhv's own range left out.  Returns the root.
 */
uint64_t guest_physmap_build(const struct pt_format *fmt, uint64_t ram_flags, uint64_t mmio_flags);

/* Run the guest on whichever backend this CPU has; returns only if it cannot start. */
void guest_run(const struct virt_caps *caps, const struct guest_start *gs);

#endif
