/*
 * What an IOMMU reports about a blocked access, decoded from its raw records: a VT-d fault
 * recording register (VT-d spec 10.4.14) or an AMD-Vi event-log entry (AMD IOMMU spec 2.5).
 */
#ifndef MHV_IOMMU_FAULT_DECODE_H
#define MHV_IOMMU_FAULT_DECODE_H

#include <stdbool.h>
#include <stdint.h>

struct iommu_fault {
	uint16_t sid;	  /* requester: bus << 8 | dev << 3 | fn */
	uint64_t addr;	  /* the device address (VT-d: its page) */
	bool write;	  /* a write request (else a read) */
	bool dma;	  /* a device's access was blocked (else an IOMMU error event) */
	bool interrupt;	  /* an interrupt message remapping refused (AMD-Vi: I flag; VT-d:
			   * fault reasons 0x20-0x26, addr = the entry index) */
	unsigned code;	  /* VT-d fault reason, AMD-Vi event code */
	const char *name; /* AMD-Vi: the event's name; VT-d: "fault reason" */
};

/* A VT-d fault record (low and high quadwords): false if its F bit is clear (no fault). */
bool vtd_fault_decode(uint64_t lo, uint64_t hi, struct iommu_fault *f);

/* An AMD-Vi event-log entry (first and second quadwords); every entry decodes. */
void amdvi_event_decode(uint64_t q0, uint64_t q1, struct iommu_fault *f);

#endif
