/*
 * What a real CPU (or nested KVM) holds mhv to before the first VMLAUNCH, and Bochs does not:
 * every field the CPU may consult written explicitly, and no translation left over from
 * whoever ran VMX on this CPU before mhv (firmware, an earlier hypervisor, a kexec'd kernel).
 */
#ifndef MHV_ARCH_X86_VMX_VMX_HYGIENE_H
#define MHV_ARCH_X86_VMX_VMX_HYGIENE_H

#include <stdbool.h>
#include <stdint.h>

/* INVVPID can drop the guest's VPID-tagged translations (single- or all-context): without
 * that, mhv must not enable VPID. */
bool vmx_vpid_flushable(uint64_t ept_vpid_cap);

/* VMWRITE the fields VM entry reads that mhv uses as "nothing": no event to inject, no MSRs
 * to load or store, #PF error-code mask/match, TSC offset, and (proc2 has XSAVES) the
 * XSS-exiting bitmap. */
void vmx_write_idle_fields(uint32_t proc2);

/* INVEPT (all contexts, else this EPTP) and, with VPID on, INVVPID (all contexts, else this
 * VPID), each checked for VMfail; a CPU that offers neither INVEPT type ends the run. */
void vmx_flush_stale_translations(uint64_t ept_vpid_cap, uint64_t eptp, bool vpid,
				  uint16_t guest_vpid);

#endif
