/*
 * Walking the multiboot v1 memory map.  Entries are variable-sized (each starts with its own
 * size) and may come in any order, so the walks below never assume sorting.
 */
#include <stddef.h>

#include "tests/guest/mb1.h"

/* Smallest size field that still covers base, len and type. */
#define MMAP_ENTRY_MIN_SIZE (sizeof(struct mb1_mmap_entry) - sizeof(uint32_t))

/* Next entry, or NULL at the end of the map or on a malformed size. */
static const struct mb1_mmap_entry *next_entry(const struct mb1_info *info,
					       const struct mb1_mmap_entry *e)
{
	uint32_t end = info->mmap_addr + info->mmap_length;
	uint32_t at = e ? (uint32_t)e + e->size + sizeof(e->size) : info->mmap_addr;

	if (!(info->flags & MB1_INFO_MMAP) || at + sizeof(*e) > end)
		return NULL;
	e = (const struct mb1_mmap_entry *)at;
	return e->size >= MMAP_ENTRY_MIN_SIZE ? e : NULL;
}

static bool is_available(const struct mb1_mmap_entry *e)
{
	return e->type == MB1_MMAP_AVAILABLE;
}

uint32_t mb1_mmap_count(const struct mb1_info *info)
{
	uint32_t n = 0;

	for (const struct mb1_mmap_entry *e = next_entry(info, NULL); e; e = next_entry(info, e))
		n++;
	return n;
}

bool mb1_mmap_covers(const struct mb1_info *info, uint64_t start, uint64_t end, bool available)
{
	uint32_t n = mb1_mmap_count(info);

	/* Each pass advances start past one entry, so n passes reach end if anything does. */
	for (uint32_t pass = 0; pass <= n && start < end; pass++) {
		for (const struct mb1_mmap_entry *e = next_entry(info, NULL); e;
		     e = next_entry(info, e)) {
			if (is_available(e) == available && e->base <= start &&
			    start < e->base + e->len) {
				start = e->base + e->len;
				break;
			}
		}
	}
	return start >= end;
}

bool mb1_mmap_overlaps_available(const struct mb1_info *info, uint64_t start, uint64_t end)
{
	for (const struct mb1_mmap_entry *e = next_entry(info, NULL); e; e = next_entry(info, e)) {
		if (is_available(e) && e->base < end && start < e->base + e->len)
			return true;
	}
	return false;
}
