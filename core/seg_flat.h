/*
 * Flat segments for the MMIO fast path's forms (mmio_fast.c, mmio_string.c, mmio_stack.c):
 * when the operand's segment is flat, its linear address is the offset and no limit check can
 * fail.  Inline: every fast-path exit asks once or twice.
 */
#ifndef MHV_CORE_SEG_FLAT_H
#define MHV_CORE_SEG_FLAT_H

#include <stdbool.h>

#include "core/vcpu.h"
#include "mmio/x86_decode.h"

#define SEG_FLAT_LIMIT	  0xFFFFFFFFu
#define SEG_TYPE_CODE	  0x8u
#define SEG_TYPE_EXPDN	  0x4u
#define SEG_TYPE_WRITABLE 0x2u
#define SEG_PRESENT	  (1u << 7)

/*
 * Outside 64-bit mode, on a segment already read: base 0, limit 4 GiB, a present, usable,
 * expand-up data segment, writable for a write.
 */
static inline bool vcpu_segment_flat(const struct vcpu_segment *s, bool write)
{
	return !s->base && s->limit == SEG_FLAT_LIMIT && (s->attr & SEG_PRESENT) &&
	       !(s->attr & VCPU_SEG_UNUSABLE) && !(s->attr & SEG_TYPE_CODE) &&
	       !(s->attr & SEG_TYPE_EXPDN) && (!write || (s->attr & SEG_TYPE_WRITABLE));
}

/*
 * Is segment seg (enum x86_seg) flat for an access in code mode (enum x86_mode): in 64-bit
 * mode any but FS/GS (whose bases need state SVM keeps apart), else vcpu_segment_flat() as the
 * backend's segment_flat works it out.
 */
static inline bool vcpu_flat_segment(struct vcpu *v, unsigned mode, unsigned seg, bool write)
{
	if (mode == X86_MODE_64)
		return seg != X86_SEG_FS && seg != X86_SEG_GS;
	return v->ops->segment_flat(v, seg, write);
}

#endif
