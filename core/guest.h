/*
 * The guest mhv runs: its memory (identity-mapped RAM below mhv, nested page tables shared
 * in shape by EPT and NPT) and its boot state (a multiboot kernel entered in 32-bit
 * protected mode with paging off).
 */
#ifndef MHV_CORE_GUEST_H
#define MHV_CORE_GUEST_H

#include <stdbool.h>
#include <stdint.h>

struct boot_info;
struct guest_mem_gate;
struct mmio_regions;
struct pt_format;
struct virt_backend;
struct virt_caps;

struct guest_start {
	uint32_t entry;		   /* EIP */
	uint32_t eax;		   /* multiboot magic */
	uint32_t ebx;		   /* multiboot information */
	uint32_t esi;		   /* Linux: the zero page (boot_params) */
	uint64_t hv_start, hv_end; /* hidden from the guest */
	bool mmio_cache; /* mmio_cache=on: cache MMIO translations, intercept CR3 writes */
};

/* Load the first module (a multiboot kernel or a Linux bzImage); false (with a message) if
 * there is none or it cannot be loaded. */
bool guest_load(const struct boot_info *bi, struct guest_start *gs);

/*
 * Build the guest's nested page tables from the guest's physical map (mm/guest_mem.h): RAM
 * with ram_flags, passthrough devices with device_flags, mhv's range and the mmio= regions
 * left out.  Returns the root.
 */
uint64_t guest_nested_tables_build(const struct pt_format *fmt, uint64_t ram_flags,
				   uint64_t device_flags);

/* Take [base, base + size) out of the nested tables built (a region added at run time); the
 * caller flushes the CPUs' cached translations.  0 or a pt_unmap error. */
int guest_nested_unmap(uint64_t base, uint64_t size);
/* One guest RAM page's nested mapping at run time: as built, execute-only, or absent.  The
 * caller flushes (vcpu_ops.flush_nested).  Execute-only exists only when the backend said
 * so (VT-x with IA32_VMX_EPT_VPID_CAP bit 0): -E_INVAL otherwise. */
enum nested_view { NESTED_RAM, NESTED_EXEC_ONLY, NESTED_ABSENT };
int guest_nested_view(uint64_t gpa, enum nested_view view);
void guest_nested_offer_exec_only(uint64_t leaf_flags);
bool guest_nested_has_exec_only(void);

/* The gate to guest memory: every guest-physical access mhv makes goes through it. */
const struct guest_mem_gate *guest_gate(void);
/* Let the gate dispatch the mmio= regions' pages to their devices (once they exist). */
void guest_gate_attach_regions(const struct mmio_regions *regions);

/* mhv's own CR4 bits its exit paths need (XSAVE, FXSR, PKE); every CPU, before its vCPU runs. */
void guest_host_cr4(void);
/* Run the guest on the backend this CPU has (NULL: none); returns only if it cannot start. */
void guest_run(const struct virt_backend *backend, const struct virt_caps *caps,
	       const struct guest_start *gs);

#endif
