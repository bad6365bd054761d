/* Guest data breakpoints matched by an access mhv completes (mmio/data_bp.h). */
#include "mmio/data_bp.h"

/* LENn's encodings: 00 1 byte, 01 2 bytes, 10 8 bytes (64-bit mode; undefined before), 11 4. */
static const uint8_t bp_len[4] = {1, 2, 8, 4};

uint64_t data_bp_match(uint64_t dr7, const uint64_t dr[DATA_BP_COUNT], uint64_t la, unsigned len,
		       bool write)
{
	uint64_t hits = 0;

	if (!data_bp_armed(dr7) || !len)
		return 0;
	for (unsigned n = 0; n < DATA_BP_COUNT; n++) {
		unsigned ctl = (dr7 >> (DR7_RW_SHIFT + 4 * n)) & 0xF;
		unsigned rw = ctl & 3, size = bp_len[ctl >> 2];
		uint64_t start = dr[n] & ~(uint64_t)(size - 1);

		if (!(dr7 & (3ull << (2 * n))))
			continue;
		if (rw != DR7_RW_READWRITE && !(write && rw == DR7_RW_WRITE))
			continue; /* an instruction (00) or I/O (10) breakpoint, or a read vs 01 */
		/* [la, la+len) meets [start, start+size): both compared as offsets, so an access
		 * that wraps the top of the address space still matches. */
		if (la - start < size || start - la < len)
			hits |= 1ull << n;
	}
	return hits;
}
