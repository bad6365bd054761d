/* Guest data breakpoints over the MMIO slow path's emulated accesses (core/mmio_data_bp.h). */
#include "core/mmio_data_bp.h"
#include "core/gdbstub.h"
#include "core/vcpu.h"

#define DR_CONTROL 7

uint64_t mmio_data_bp_guest_dr7(struct vcpu *v)
{
	return gdbstub_guest_dr(v, DR_CONTROL);
}

void mmio_data_bp_note_slow(struct mmio_data_bp *bp, struct vcpu *v, uint64_t la, unsigned len,
			    bool write)
{
	uint64_t dr[DATA_BP_COUNT];

	for (unsigned n = 0; n < DATA_BP_COUNT; n++)
		dr[n] = gdbstub_guest_dr(v, n);
	bp->hits |= data_bp_match(bp->dr7, dr, la, len, write);
}

void mmio_data_bp_trap(struct vcpu *v, const struct mmio_data_bp *bp)
{
	v->ops->data_bp_trap(v, bp->hits);
}
