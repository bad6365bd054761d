/* Questions about the multiboot v1 memory map. */
#ifndef MHV_TESTS_GUEST_MB1_H
#define MHV_TESTS_GUEST_MB1_H

#include <stdbool.h>
#include <stdint.h>

#include "tests/guest/multiboot.h"

/* Is every byte of [start, end) inside entries that are available (or, if !available, not)? */
bool mb1_mmap_covers(const struct mb1_info *info, uint64_t start, uint64_t end, bool available);
/* Does any available entry overlap [start, end)? */
bool mb1_mmap_overlaps_available(const struct mb1_info *info, uint64_t start, uint64_t end);
uint32_t mb1_mmap_count(const struct mb1_info *info);

#endif
