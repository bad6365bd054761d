/*
 * The interface mhv offers its guest: hypervisor CPUID leaves and hypercalls.  Shared by mhv
 * and the guest test kernel (tests/guest/), so it holds only numbers.
 *
 * Hypercall: VMCALL (Intel) or VMMCALL (AMD) with RAX = number, RBX/RCX/RDX = arguments;
 * the result comes back in RAX (HC_ENOSYS for an unknown number).  Both instructions work on
 * both vendors: mhv treats them alike.
 */
#ifndef MHV_CORE_HYPERCALL_ABI_H
#define MHV_CORE_HYPERCALL_ABI_H

#define MHV_CPUID_BASE	  0x40000000 /* EAX = highest mhv leaf, EBX:ECX:EDX = signature */
#define MHV_CPUID_VERSION 0x40000001 /* EAX = version (major << 16 | minor) */
#define MHV_CPUID_MAX	  MHV_CPUID_VERSION
#define MHV_SIGNATURE	  "mhvmhvmhv\0\0\0"
#define MHV_SIGNATURE_EBX 0x6d76686d /* "mhvm" */
#define MHV_SIGNATURE_ECX 0x686d7668 /* "hvmh" */
#define MHV_SIGNATURE_EDX 0x00000076 /* "v\0\0\0" */
#define MHV_VERSION_MAJOR 0
#define MHV_VERSION_MINOR 1
#define MHV_VERSION_CODE  ((MHV_VERSION_MAJOR << 16) + MHV_VERSION_MINOR)

/* Hypercall numbers (RAX) with their arguments and results. */
/* -> RAX = MHV_VERSION_CODE */
#define HC_VERSION 0
/* RBX = exit kind (EXIT_KIND_*) -> RAX = exits of that kind so far */
#define HC_EXIT_COUNT 1
/* RBX = status (0 = pass): end the run; does not return */
#define HC_END_RUN 2
/* -> RAX = start, RBX = end of the memory hidden from the guest */
#define HC_HV_RANGE 3
/* RBX = MMIO_COUNTER_* -> RAX = that counter */
#define HC_MMIO_COUNTER 4
/* RBX = flush cause (FLUSH_CAUSE_*) -> RAX = count */
#define HC_FLUSH_COUNT 5
/* RBX = region index -> RAX = base, RBX = size, RCX = type; HC_ENOSYS past the end */
#define HC_MMIO_REGION 6
/* RBX = region index -> RAX = reads, RBX = writes, RCX = bytes read, RDX = bytes written */
#define HC_MMIO_DEVICE 7
/* -> RAX = interrupt messages mhv kept from CPUs: IPIs dropped (or, with one vCPU, cut down to
 * self), INIT/STARTUP naming the sending vCPU itself (SMP), MSI writes dropped (apic_guard.h) */
#define HC_IPIS_DROPPED 8
/* RBX = an MSR mhv virtualises (MTRRs, IA32_MISC_ENABLE) -> RAX = low, RBX = high 32 bits of
 * the hardware's value (what the guest's writes must not have changed); HC_ENOSYS otherwise */
#define HC_HW_MSR 9
/* -> RAX = IOMMU kind (IOMMU_STATUS_*) | units << 8 | IOMMU_STATUS_INTREMAP, RBX = blocked DMAs so far (the fault
 * logs are drained first), RCX = physical address of a page of mhv's data, RDX = its checksum
 * (the DMA containment test aims at that page) */
#define HC_IOMMU_STATUS 10
#define IOMMU_STATUS_NONE  0
#define IOMMU_STATUS_VTD   1
#define IOMMU_STATUS_AMDVI 2
#define IOMMU_STATUS_INTREMAP (1u << 16) /* devices' interrupts go through remapping */
#define IOMMU_STATUS_COMPAT_PASSED (1u << 17) /* VT-d: compatibility format passes (MSI-X) */
/* -> RAX = interrupts and NMIs taken by CPUs mhv holds: parked ones, and vCPUs waiting for
 * a SIPI (NMIs not mhv's own); each one is a message that reached a CPU the guest does not run */
#define HC_PARKED_INTERRUPTS 12
/* -> RAX = the guest's vCPUs (SMP: every CPU mhv brought under it; 1 without SMP) */
#define HC_VCPUS 11
/* The result of an unknown hypercall */
#define HC_ENOSYS (~0ul)

/* Vendor-neutral exit kinds (counter indices for HC_EXIT_COUNT). */
#define EXIT_KIND_CPUID	    0
#define EXIT_KIND_MSR_READ  1
#define EXIT_KIND_MSR_WRITE 2
#define EXIT_KIND_IO	    3
#define EXIT_KIND_CR_ACCESS 4
#define EXIT_KIND_INVLPG    5
#define EXIT_KIND_INVPCID   6
#define EXIT_KIND_HLT	    7
#define EXIT_KIND_HYPERCALL 8
#define EXIT_KIND_EXCEPTION 9
#define EXIT_KIND_NPF	    10 /* EPT violation / nested page fault */
#define EXIT_KIND_INTERRUPT 11
#define EXIT_KIND_OTHER	    12
/* Their names, in EXIT_KIND_* order, for logs on both sides (an array initializer). */
#define EXIT_KIND_NAMES                                                                            \
	{                                                                                          \
		"cpuid", "rdmsr", "wrmsr", "io", "cr", "invlpg", "invpcid", "hlt", "hypercall",    \
			"exception", "npf", "interrupt", "other"                                   \
	}

/* HC_MMIO_COUNTER selectors: MMIO exits handled, and the translation cache's hits and misses
 * (hits + misses = exits while the cache is on). */
#define MMIO_COUNTER_EXITS    0
#define MMIO_COUNTER_HITS     1
#define MMIO_COUNTER_MISSES   2
#define MMIO_COUNTER_CACHE_ON 3 /* 1 when the cache is enabled (mmio_cache=on) */
#define MMIO_COUNTER_SHORT    4 /* exits the short path replayed (among the hits) */
#define NR_MMIO_COUNTERS      5

/* Guest TLB flush causes (HC_FLUSH_COUNT), as mhv counts them. */
#define FLUSH_CAUSE_CR3		0
#define FLUSH_CAUSE_INVLPG	1
#define FLUSH_CAUSE_INVPCID	2
#define FLUSH_CAUSE_INVLPGA	3
#define FLUSH_CAUSE_PAGING_MODE 4

/* MMIO region types (HC_MMIO_REGION) */
#define MMIO_TYPE_RAM	1
#define MMIO_TYPE_TRACE 2
#define MMIO_TYPE_DENY	3

#define NR_EXIT_KINDS 13

#endif
