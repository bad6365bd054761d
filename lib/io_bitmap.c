/* VMX I/O bitmap A/B bit placement: see io_bitmap.h. */
#include "lib/io_bitmap.h"

#define BITS_PER_BYTE 8u

bool io_bitmap_locate(uint32_t port, struct io_bitmap_bit *where)
{
	if (port > IO_BITMAP_LAST_PORT)
		return false;
	uint32_t in_page = port % IO_BITMAP_PORTS_PER_PAGE;

	where->page = port / IO_BITMAP_PORTS_PER_PAGE;
	where->byte = in_page / BITS_PER_BYTE;
	where->mask = (uint8_t)(1u << (in_page % BITS_PER_BYTE));
	return true;
}

bool io_bitmap_set_range(uint8_t *const pages[IO_BITMAP_NR_PAGES], uint32_t first,
			 uint32_t count)
{
	bool all = true;

	for (uint32_t i = 0; i < count; i++) {
		struct io_bitmap_bit b;

		/* first + i may not wrap around to a small port number */
		if (first > IO_BITMAP_LAST_PORT || i > IO_BITMAP_LAST_PORT - first ||
		    !io_bitmap_locate(first + i, &b)) {
			all = false;
			continue;
		}
		pages[b.page][b.byte] |= b.mask;
	}
	return all;
}
