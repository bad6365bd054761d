/*
 * Physical frame allocator: the free 4 KiB pages of the machine, built once from the firmware's
 * memory map and kept as a sorted, merged list of page-aligned ranges.
 *
 * Not thread-safe: callers serialise (mhv allocates frames on the boot CPU or under a lock).
 */
#ifndef MHV_MM_FRAME_H
#define MHV_MM_FRAME_H

#include <stdbool.h>
#include <stdint.h>

#include "mm/memmap.h"

#define FRAME_MAX_RANGES 256
#define FRAME_NONE	 (~0ull)

struct frame_allocator {
	/* Free pages: sorted by address, non-empty, page-aligned, never adjacent or overlapping. */
	struct phys_range free[FRAME_MAX_RANGES];
	unsigned nr;
	uint64_t total_pages, free_pages;
	/*
	 * What frame_init found free, same invariants as free[]: frame_free() only accepts pages
	 * that lie inside one of these, so a stray free of firmware or mhv memory is rejected.
	 */
	struct phys_range managed[FRAME_MAX_RANGES];
	unsigned nr_managed;
};

/*
 * Build the allocator from the memory map.  Free RAM is
 *   (union of MEM_USABLE entries)
 *   minus every other entry (reserved, ACPI, bad, unknown type: firmware's word wins on overlap)
 *   minus `exclude` (mhv's image, boot info, modules)
 *   minus page 0 (real-mode IVT/BDA),
 * keeping only whole pages: a page partly covered by anything non-free is not free.
 *
 * Entries may be unsorted, overlapping, zero-length or unaligned.  An entry whose end would pass
 * 2^64 is clipped to end at 2^64 - PAGE_SIZE rather than rejected: the rest of the map is still
 * good, and the topmost page is never handed out (so no free range has to represent an end of
 * 2^64).  An exclusion with start > end is a caller bug and gives -E_INVAL.
 *
 * Returns 0; -E_INVAL for bad arguments; -E_NOMEM if no page is free, or if the free memory is
 * split into more than FRAME_MAX_RANGES ranges.  On error *fa is left empty (nothing allocatable).
 * Cost is O(n^2) per free range in the number of map + exclusion entries: fine for real maps.
 */
int frame_init(struct frame_allocator *fa, const struct mem_region *map, unsigned nmap,
	       const struct phys_range *exclude, unsigned nexclude);

/*
 * Allocate `npages` contiguous pages whose start is aligned to `align` (a power of two
 * >= PAGE_SIZE) and that lie wholly below `limit` (0 = no limit; an unaligned limit is rounded
 * down to a page).  The highest suitable address is used, keeping low memory (DMA-able, below
 * 1 MiB / 4 GiB) for callers that need it.  Returns the physical address or FRAME_NONE (also for
 * npages == 0 or a bad align).
 *
 * If the free list is full (FRAME_MAX_RANGES) and the highest candidate would split a range in
 * two, the highest candidate that does not split one is used instead: the list never overflows.
 */
uint64_t frame_alloc(struct frame_allocator *fa, uint64_t npages, uint64_t align, uint64_t limit);

/*
 * Return [pa, pa + npages pages) to the allocator.  Any part of an allocation may be freed.
 * -E_INVAL: pa unaligned, npages == 0 or overflowing, any page already free (double free), or
 * pages frame_init did not find free.  -E_NOMEM: the free list is full and these pages would
 * need a new range (the pages then stay allocated).  Nothing changes on error.
 */
int frame_free(struct frame_allocator *fa, uint64_t pa, uint64_t npages);

/* Is the page containing `pa` free? */
bool frame_is_free(const struct frame_allocator *fa, uint64_t pa);

#endif
