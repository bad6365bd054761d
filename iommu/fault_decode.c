/* Decoding IOMMU fault records.  See iommu/fault_decode.h. */
#include "iommu/fault_decode.h"

#define VTD_FRCD_F	   (1ull << 63)
#define VTD_FRCD_T_READ	   (1ull << 62) /* type bit: 1 = read request */
#define VTD_FRCD_FR_SHIFT  32
#define VTD_FRCD_FR_MASK   0xffull
#define VTD_FRCD_SID_MASK  0xffffull
#define VTD_FRCD_FI_MASK   (~0xfffull)
#define VTD_FR_IR_FIRST	   0x20 /* interrupt remapping faults: 0x20-0x26 */
#define VTD_FR_IR_LAST	   0x26
#define VTD_FRCD_IR_INDEX_SHIFT 48 /* FI[63:48]: the interrupt's entry index */

#define AMD_EVT_CODE_SHIFT  60
#define AMD_EVT_FLAGS_SHIFT 48
#define AMD_EVT_FLAGS_MASK  0xfffull
#define AMD_EVT_FLAG_RW	    (1ull << 5) /* the access was a write */
#define AMD_EVT_FLAG_I	    (1ull << 3) /* the request was an interrupt (remapping refused it) */
#define AMD_EVT_DEVID_MASK  0xffffull

/* AMD-Vi event codes (AMD IOMMU spec table 45) */
#define AMD_EVT_ILLEGAL_DEV_TABLE_ENTRY 0x1
#define AMD_EVT_IO_PAGE_FAULT		0x2
#define AMD_EVT_DEV_TAB_HW_ERROR	0x3
#define AMD_EVT_PAGE_TAB_HW_ERROR	0x4
#define AMD_EVT_ILLEGAL_COMMAND		0x5
#define AMD_EVT_COMMAND_HW_ERROR	0x6
#define AMD_EVT_IOTLB_INV_TIMEOUT	0x7
#define AMD_EVT_INVALID_DEVICE_REQUEST	0x8
#define AMD_EVT_NAMES			9

bool vtd_fault_decode(uint64_t lo, uint64_t hi, struct iommu_fault *f)
{
	if (!(hi & VTD_FRCD_F))
		return false;
	f->sid = (uint16_t)(hi & VTD_FRCD_SID_MASK);
	f->addr = lo & VTD_FRCD_FI_MASK;
	f->write = !(hi & VTD_FRCD_T_READ);
	f->dma = true;
	f->interrupt = false;
	f->code = (unsigned)((hi >> VTD_FRCD_FR_SHIFT) & VTD_FRCD_FR_MASK);
	f->name = "fault reason";
	if (f->code >= VTD_FR_IR_FIRST && f->code <= VTD_FR_IR_LAST) {
		/* An interrupt request remapping refused: FI holds the entry index. */
		f->interrupt = true;
		f->write = true;
		f->addr = lo >> VTD_FRCD_IR_INDEX_SHIFT;
		f->name = "interrupt remapping fault reason";
	}
	return true;
}

void amdvi_event_decode(uint64_t q0, uint64_t q1, struct iommu_fault *f)
{
	static const char *const names[AMD_EVT_NAMES] = {
		[AMD_EVT_ILLEGAL_DEV_TABLE_ENTRY] = "ILLEGAL_DEV_TABLE_ENTRY",
		[AMD_EVT_IO_PAGE_FAULT] = "IO_PAGE_FAULT",
		[AMD_EVT_DEV_TAB_HW_ERROR] = "DEV_TAB_HARDWARE_ERROR",
		[AMD_EVT_PAGE_TAB_HW_ERROR] = "PAGE_TAB_HARDWARE_ERROR",
		[AMD_EVT_ILLEGAL_COMMAND] = "ILLEGAL_COMMAND_ERROR",
		[AMD_EVT_COMMAND_HW_ERROR] = "COMMAND_HARDWARE_ERROR",
		[AMD_EVT_IOTLB_INV_TIMEOUT] = "IOTLB_INV_TIMEOUT",
		[AMD_EVT_INVALID_DEVICE_REQUEST] = "INVALID_DEVICE_REQUEST",
	};
	uint64_t flags = (q0 >> AMD_EVT_FLAGS_SHIFT) & AMD_EVT_FLAGS_MASK;

	f->code = (unsigned)(q0 >> AMD_EVT_CODE_SHIFT);
	f->sid = (uint16_t)(q0 & AMD_EVT_DEVID_MASK);
	f->addr = q1;
	f->write = (flags & AMD_EVT_FLAG_RW) != 0;
	f->interrupt = f->code == AMD_EVT_IO_PAGE_FAULT && (flags & AMD_EVT_FLAG_I);
	/* A device's request the IOMMU refused; the rest are the IOMMU's own errors. */
	f->dma = f->code == AMD_EVT_IO_PAGE_FAULT || f->code == AMD_EVT_ILLEGAL_DEV_TABLE_ENTRY ||
		 f->code == AMD_EVT_INVALID_DEVICE_REQUEST;
	f->name = f->code < AMD_EVT_NAMES && names[f->code] ? names[f->code] : "event";
}
