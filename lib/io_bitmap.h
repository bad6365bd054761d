/*
 * VMX I/O bitmaps (SDM 25.6.4): bitmap A is one 4 KiB page with a bit for each port
 * 0x0000-0x7FFF, bitmap B the same for 0x8000-0xFFFF.  A port's bit is found here, once,
 * for every user (console UART, platform ports): a port past 0x7FFF set in bitmap A would
 * land beyond its page and leave the port unintercepted.
 */
#ifndef MHV_LIB_IO_BITMAP_H
#define MHV_LIB_IO_BITMAP_H

#include <stdbool.h>
#include <stdint.h>

#define IO_BITMAP_PORTS_PER_PAGE 0x8000u /* 4 KiB of bits */
#define IO_BITMAP_NR_PAGES	 2       /* A, B */
#define IO_BITMAP_LAST_PORT	 0xFFFFu

struct io_bitmap_bit {
	unsigned page;	   /* 0 = bitmap A, 1 = bitmap B */
	uint32_t byte;	   /* byte offset inside that page, < 4096 */
	uint8_t mask;	   /* the bit in that byte */
};

/* Where port's bit lives; false (and *where untouched) for a number that is not a port. */
bool io_bitmap_locate(uint32_t port, struct io_bitmap_bit *where);

/* Set the bits of ports first..first+count-1 in pages[0] (A) and pages[1] (B); false if any
 * of them is not a port (those beyond 0xFFFF are left alone, the others are set). */
bool io_bitmap_set_range(uint8_t *const pages[IO_BITMAP_NR_PAGES], uint32_t first,
			 uint32_t count);

#endif
