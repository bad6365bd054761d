/*
 * Physical frame allocator.  See mm/frame.h for the contract.
 *
 * frame_init never builds an intermediate list: it sweeps the address space upwards, finding
 * each maximal run of usable bytes and cutting the blocked pages out of it, so ranges come out
 * sorted and merged and FRAME_MAX_RANGES only limits the final result, not some working set.
 */
#include "mm/frame.h"

#include <stddef.h>

#include "lib/compiler.h"
#include "lib/errno.h"
#include "lib/string.h"

/*
 * Highest end any range may have.  Clipping here (not at 2^64) keeps every end representable and
 * ALIGN_UP of any clipped address overflow-free.
 */
#define PHYS_TOP	(0ull - PAGE_SIZE)
#define MAX_PAGES	(PHYS_TOP >> PAGE_SHIFT)
#define NO_LIMIT	PHYS_TOP
#define PAGE_ZERO_START 0ull

/* The inputs of frame_init, so helpers can walk them uniformly. */
struct init_src {
	const struct mem_region *map;
	uint64_t nmap;
	const struct phys_range *ex;
	uint64_t nex;
};

/* End of [base, base + len), clipped to PHYS_TOP; <= base means the entry is empty. */
static uint64_t clip_end(uint64_t base, uint64_t len)
{
	if (base >= PHYS_TOP || len > PHYS_TOP - base)
		return PHYS_TOP;
	return base + len;
}

/* Map entry i as a non-empty usable byte range; false if it is not one. */
static bool usable_entry(const struct init_src *s, uint64_t i, uint64_t *start, uint64_t *end)
{
	const struct mem_region *r = &s->map[i];

	if (r->type != MEM_USABLE)
		return false;
	*start = r->base;
	*end = clip_end(r->base, r->len);
	return *start < *end;
}

/* Number of ranges blocked_range() can be asked for: non-usable entries, exclusions, page 0. */
static uint64_t nr_blocked(const struct init_src *s)
{
	return s->nmap + s->nex + 1;
}

/* The i-th range that must not be free, widened to whole pages; false if there is none. */
static bool blocked_range(const struct init_src *s, uint64_t i, uint64_t *lo, uint64_t *hi)
{
	uint64_t start, end;

	if (i < s->nmap) {
		if (s->map[i].type == MEM_USABLE)
			return false;
		start = s->map[i].base;
		end = clip_end(start, s->map[i].len);
	} else if (i < s->nmap + s->nex) {
		start = s->ex[i - s->nmap].start;
		end = MIN(s->ex[i - s->nmap].end, PHYS_TOP);
	} else {
		/* Page 0 holds the real-mode IVT and BIOS data area. */
		start = PAGE_ZERO_START;
		end = PAGE_ZERO_START + PAGE_SIZE;
	}
	if (start >= end)
		return false;
	*lo = ALIGN_DOWN(start, PAGE_SIZE);
	*hi = ALIGN_UP(end, PAGE_SIZE);
	return true;
}

/* Lowest usable byte address >= from. */
static bool next_usable(const struct init_src *s, uint64_t from, uint64_t *at)
{
	uint64_t best = PHYS_TOP; /* no usable byte is at or above it */

	for (uint64_t i = 0; i < s->nmap; i++) {
		uint64_t start, end;

		if (usable_entry(s, i, &start, &end) && end > from)
			best = MIN(best, MAX(start, from));
	}
	*at = best;
	return best < PHYS_TOP;
}

/* End of the maximal run of usable bytes containing `at`. */
static uint64_t usable_run_end(const struct init_src *s, uint64_t at)
{
	uint64_t run_end = at;
	bool grown;

	do {
		grown = false;
		for (uint64_t i = 0; i < s->nmap; i++) {
			uint64_t start, end;

			if (usable_entry(s, i, &start, &end) && start <= run_end && end > run_end) {
				run_end = end;
				grown = true;
			}
		}
	} while (grown);
	return run_end;
}

/* First address >= at that no blocked range covers (may be >= the caller's limit). */
static uint64_t skip_blocked(const struct init_src *s, uint64_t at)
{
	bool moved;

	do {
		moved = false;
		for (uint64_t i = 0; i < nr_blocked(s); i++) {
			uint64_t lo, hi;

			if (blocked_range(s, i, &lo, &hi) && lo <= at && at < hi) {
				at = hi;
				moved = true;
			}
		}
	} while (moved);
	return at;
}

/* Start of the first blocked range beginning after `at`, or `limit` if none does before it. */
static uint64_t next_blocked(const struct init_src *s, uint64_t at, uint64_t limit)
{
	for (uint64_t i = 0; i < nr_blocked(s); i++) {
		uint64_t lo, hi;

		if (blocked_range(s, i, &lo, &hi) && lo > at && lo < limit)
			limit = lo;
	}
	return limit;
}

static int append_free(struct frame_allocator *fa, uint64_t start, uint64_t end)
{
	if (fa->nr == FRAME_MAX_RANGES)
		return -E_NOMEM;
	fa->free[fa->nr].start = start;
	fa->free[fa->nr].end = end;
	fa->nr++;
	fa->free_pages += (end - start) >> PAGE_SHIFT;
	return 0;
}

/* Append the unblocked pages of the page-aligned run [start, end). */
static int add_run(struct frame_allocator *fa, const struct init_src *s, uint64_t start,
		   uint64_t end)
{
	uint64_t at = start;

	while (at < end) {
		uint64_t stop;
		int ret;

		at = skip_blocked(s, at);
		if (at >= end)
			break;
		stop = next_blocked(s, at, end);
		ret = append_free(fa, at, stop);
		if (ret)
			return ret;
		at = stop;
	}
	return 0;
}

static void reset(struct frame_allocator *fa)
{
	fa->nr = 0;
	fa->nr_managed = 0;
	fa->total_pages = 0;
	fa->free_pages = 0;
}

int frame_init(struct frame_allocator *fa, const struct mem_region *map, unsigned nmap,
	       const struct phys_range *exclude, unsigned nexclude)
{
	const struct init_src s = {map, nmap, exclude, nexclude};
	uint64_t cursor = 0, at = 0;

	if (!fa)
		return -E_INVAL;
	reset(fa);
	if ((nmap && !map) || (nexclude && !exclude))
		return -E_INVAL;
	for (unsigned i = 0; i < nexclude; i++) {
		if (exclude[i].start > exclude[i].end)
			return -E_INVAL;
	}

	/*
	 * Runs are found in byte precision before trimming to pages, so that two unaligned usable
	 * entries that touch still give the page they share.  Runs are separated by at least one
	 * unusable byte, so trimmed runs can never touch: the list comes out merged.
	 */
	while (next_usable(&s, cursor, &at)) {
		uint64_t end = usable_run_end(&s, at);
		int ret = add_run(fa, &s, ALIGN_UP(at, PAGE_SIZE), ALIGN_DOWN(end, PAGE_SIZE));

		if (ret) {
			reset(fa);
			return ret;
		}
		cursor = end;
	}
	if (!fa->free_pages)
		return -E_NOMEM;
	fa->total_pages = fa->free_pages;
	memcpy(fa->managed, fa->free, fa->nr * sizeof(fa->free[0]));
	fa->nr_managed = fa->nr;
	return 0;
}

/* Index of the first range of r[0..n) ending after pa (n if none); r sorted and disjoint. */
static unsigned first_ending_after(const struct phys_range *r, unsigned n, uint64_t pa)
{
	unsigned lo = 0, hi = n;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (r[mid].end > pa)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static void remove_range(struct frame_allocator *fa, unsigned i)
{
	memmove(&fa->free[i], &fa->free[i + 1], (fa->nr - i - 1) * sizeof(fa->free[0]));
	fa->nr--;
}

/* Open slot i (the caller has checked there is room). */
static void insert_slot(struct frame_allocator *fa, unsigned i)
{
	memmove(&fa->free[i + 1], &fa->free[i], (fa->nr - i) * sizeof(fa->free[0]));
	fa->nr++;
}

/* Take [pa, pa + size) out of free range i, which contains it. */
static void carve(struct frame_allocator *fa, unsigned i, uint64_t pa, uint64_t size)
{
	struct phys_range *r = &fa->free[i];
	uint64_t end = pa + size;

	if (pa == r->start && end == r->end) {
		remove_range(fa, i);
	} else if (pa == r->start) {
		r->start = end;
	} else if (end == r->end) {
		r->end = pa;
	} else {
		uint64_t old_end = r->end;

		insert_slot(fa, i + 1);
		fa->free[i].end = pa;
		fa->free[i + 1].start = end;
		fa->free[i + 1].end = old_end;
	}
	fa->free_pages -= size >> PAGE_SHIFT;
}

uint64_t frame_alloc(struct frame_allocator *fa, uint64_t npages, uint64_t align, uint64_t limit)
{
	uint64_t size, top_limit;

	if (!fa || npages == 0 || npages > MAX_PAGES || align < PAGE_SIZE || (align & (align - 1)))
		return FRAME_NONE;
	size = npages << PAGE_SHIFT;
	top_limit = limit ? MIN(ALIGN_DOWN(limit, PAGE_SIZE), NO_LIMIT) : NO_LIMIT;

	for (unsigned i = fa->nr; i-- > 0;) {
		const struct phys_range *r = &fa->free[i];
		uint64_t top = MIN(r->end, top_limit);
		uint64_t pa;

		if (top <= r->start || top - r->start < size)
			continue;
		pa = ALIGN_DOWN(top - size, align);
		if (pa < r->start)
			continue;
		if (pa != r->start && pa + size != r->end && fa->nr == FRAME_MAX_RANGES) {
			/* Splitting needs a slot we lack; the range's start is the only other
			 * candidate in it that does not split (pa + size == end was just refused).
			 */
			if (!IS_ALIGNED(r->start, align))
				continue;
			pa = r->start;
		}
		carve(fa, i, pa, size);
		return pa;
	}
	return FRAME_NONE;
}

static bool is_managed(const struct frame_allocator *fa, uint64_t pa, uint64_t end)
{
	unsigned i = first_ending_after(fa->managed, fa->nr_managed, pa);

	return i < fa->nr_managed && fa->managed[i].start <= pa && end <= fa->managed[i].end;
}

int frame_free(struct frame_allocator *fa, uint64_t pa, uint64_t npages)
{
	uint64_t size, end;
	unsigned i;
	bool join_prev, join_next;

	if (!fa || npages == 0 || npages > MAX_PAGES || !IS_ALIGNED(pa, PAGE_SIZE))
		return -E_INVAL;
	size = npages << PAGE_SHIFT;
	if (size > PHYS_TOP - pa)
		return -E_INVAL;
	end = pa + size;
	if (!is_managed(fa, pa, end))
		return -E_INVAL;

	/* free[i - 1] ends at or before pa; free[i] (if any) must start at or after end. */
	i = first_ending_after(fa->free, fa->nr, pa);
	if (i < fa->nr && fa->free[i].start < end)
		return -E_INVAL; /* some page is already free */

	join_prev = i > 0 && fa->free[i - 1].end == pa;
	join_next = i < fa->nr && fa->free[i].start == end;
	if (join_prev && join_next) {
		fa->free[i - 1].end = fa->free[i].end;
		remove_range(fa, i);
	} else if (join_prev) {
		fa->free[i - 1].end = end;
	} else if (join_next) {
		fa->free[i].start = pa;
	} else {
		if (fa->nr == FRAME_MAX_RANGES)
			return -E_NOMEM;
		insert_slot(fa, i);
		fa->free[i].start = pa;
		fa->free[i].end = end;
	}
	fa->free_pages += npages;
	return 0;
}

bool frame_is_free(const struct frame_allocator *fa, uint64_t pa)
{
	unsigned i;

	if (!fa)
		return false;
	i = first_ending_after(fa->free, fa->nr, pa);
	return i < fa->nr && fa->free[i].start <= pa;
}
