/*
 * The MMIO short path: a repeated device access from the same instruction goes straight to
 * the device.  The fast path (mmio_fast.c) fills one entry per vCPU with what it found: the
 * instruction's RIP, CS and bytes, its decode, the device page and region.  The next exit on
 * the same device page from the same RIP, with the same bytes under the cached code
 * translation, needs no walk, no decode and no region lookup: the CPU has already done
 * segmentation, paging and the rights checks, and the exit gives the operand's
 * guest-physical address.
 */
#ifndef MHV_CORE_MMIO_SHORT_H
#define MHV_CORE_MMIO_SHORT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/mmio_forms.h"
#include "mmio/x86_decode.h"

struct vcpu;
struct mmio_region;
struct vcpu_segment;

struct mmio_short {
	bool valid;
	struct mmio_form form; /* what the instruction does (its direction, its size) */
	uint64_t gfn;	  /* the device page */
	uint64_t rip;
	uint64_t code_la; /* CS.base + RIP when filled */
	uint64_t cs_base;
	bool cs_long, cs_db;
	const struct mmio_region *region;
	uint8_t bytes[X86_MAX_INSN_LEN];
	struct x86_insn insn;
};

/*
 * Remember a MOV form the fast path just completed (code_la: the linear address it was
 * decoded from; only an instruction the code-translation cache served is kept).
 */
void mmio_short_fill(struct vcpu *v, const struct x86_insn *in, const struct mmio_form *form,
		     uint64_t rip, const struct vcpu_segment *cs, uint64_t code_la, uint64_t gpa,
		     const struct mmio_region *region);

/*
 * An exit for the final translation of an access to gpa (no event delivery in progress):
 * true if the entry matched and the access is done (RIP advanced).  false: nothing happened,
 * take the full path.
 */
bool mmio_short_try(struct vcpu *v, uint64_t gpa, bool write);

/* Every guest TLB flush drops the entry, like the code translation it relies on. */
static inline void mmio_short_invalidate(struct mmio_short *e)
{
	e->valid = false;
}

#endif
