/* Guest data breakpoints over the MMIO slow path's emulated accesses (core/mmio_data_bp.h). */
#include "core/mmio_data_bp.h"
#include "core/gdbstub.h"
#include "core/vcpu.h"

#define DR_CONTROL 7

void mmio_data_bp_begin(struct vcpu *v, struct mmio_data_bp *bp)
{
	bp->dr7 = gdbstub_guest_dr(v, DR_CONTROL);
	bp->hits = 0;
}

void mmio_data_bp_note_slow(struct mmio_data_bp *bp, struct vcpu *v, uint64_t la, unsigned len,
			    bool write)
{
	uint64_t dr[DATA_BP_COUNT];

	for (unsigned n = 0; n < DATA_BP_COUNT; n++)
		dr[n] = gdbstub_guest_dr(v, n);
	bp->hits |= data_bp_match(bp->dr7, dr, la, len, write);
}

void mmio_data_bp_end(struct vcpu *v, const struct mmio_data_bp *bp)
{
	if (unlikely(bp->hits))
		v->ops->data_bp_trap(v, bp->hits);
}
