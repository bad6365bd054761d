/*
 * The x86 descriptor formats the guest tests build their own GDTs, IDTs and TSS descriptors
 * from (32-bit protected mode).
 */
#ifndef MHV_TESTS_GUEST_DESC_H
#define MHV_TESTS_GUEST_DESC_H

#include <stdint.h>

/* What LGDT/LIDT load and SGDT/SIDT store outside 64-bit mode. */
struct __attribute__((packed)) table_ptr {
	uint16_t limit;
	uint32_t base;
};

/* A 32-bit (or 16-bit) interrupt, trap or task gate. */
struct gate32 {
	uint16_t offset_lo, selector;
	uint8_t zero, type_attr;
	uint16_t offset_hi;
};

#define DESC_LIMIT_LO_MASK 0xffffu
#define DESC_BASE_LO_MASK  0xffffffu
#define DESC_BASE_LO_SHIFT 16
#define DESC_ACCESS_SHIFT  40 /* the access byte: type, S, DPL, P */
#define DESC_BASE_HI_BIT   24
#define DESC_BASE_HI_SHIFT 56

/*
 * A segment or system descriptor with a byte-granular limit below 64 KiB and the flags nibble
 * clear (G = D/B = L = 0): a 16-bit segment, a TSS, an LDT.  access: the access byte.
 */
static inline uint64_t desc_small(uint32_t base, uint32_t limit, uint64_t access)
{
	return (limit & DESC_LIMIT_LO_MASK) |
	       (uint64_t)(base & DESC_BASE_LO_MASK) << DESC_BASE_LO_SHIFT |
	       access << DESC_ACCESS_SHIFT | (uint64_t)(base >> DESC_BASE_HI_BIT) << DESC_BASE_HI_SHIFT;
}

#endif
