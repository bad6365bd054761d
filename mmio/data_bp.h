/*
 * Guest data breakpoints (SDM vol. 3 ch. 18.2, "Debug Registers") for the accesses mhv
 * completes for a guest (the MMIO paths): which of DR0-DR3 an access matches.  Plain C, no
 * guest state: the caller hands DR7 and DR0-DR3 over.
 */
#ifndef MHV_MMIO_DATA_BP_H
#define MHV_MMIO_DATA_BP_H

#include <stdbool.h>
#include <stdint.h>

#define DATA_BP_COUNT	 4
#define DR7_ENABLE_BITS	 0xFFull	   /* L0/G0 .. L3/G3 */
#define DR6_B_BITS	 0xFull	   /* B0-B3 */
#define DR7_RW_SHIFT	 16	   /* R/Wn at 16 + 4n, LENn at 18 + 4n */
#define DR7_RW_WRITE	 1u	   /* R/W 01: data writes */
#define DR7_RW_READWRITE 3u	   /* R/W 11: data reads and writes */

/*
 * Any breakpoint enabled in DR7 (L or G of any of the four): the exits' cheap test for "take
 * the slow path, which checks data breakpoints"; an instruction breakpoint also counts (the
 * slow path is correct for it too, and the test stays one AND).
 */
static inline bool data_bp_armed(uint64_t dr7)
{
	return dr7 & DR7_ENABLE_BITS;
}

/*
 * The DR6 B-bits (B0-B3) for the enabled data breakpoints a completed access of len bytes at
 * linear address la matches: a write matches R/W 01 and 11, a read R/W 11 only; a breakpoint
 * of LEN bytes covers the LEN-aligned range holding DRn (the CPU ignores DRn's low bits), and
 * any byte of the access inside it is a match.  Only enabled breakpoints are reported: the SDM
 * lets the CPU set Bn for a disabled one or not, and tells handlers to look at enabled ones.
 */
uint64_t data_bp_match(uint64_t dr7, const uint64_t dr[DATA_BP_COUNT], uint64_t la, unsigned len,
		       bool write);

#endif
