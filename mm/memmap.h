/* The machine's physical memory map, in multiboot2 / E820 terms. */
#ifndef MHV_MM_MEMMAP_H
#define MHV_MM_MEMMAP_H

#include <stdint.h>

#define PAGE_SHIFT 12
#define PAGE_SIZE  (1ull << PAGE_SHIFT)

/* Multiboot2 memory-map types (the same numbers as E820). */
enum mem_type {
	MEM_USABLE = 1,
	MEM_RESERVED = 2,
	MEM_ACPI_RECLAIM = 3,
	MEM_ACPI_NVS = 4,
	MEM_BAD = 5,
};

struct mem_region {
	uint64_t base;
	uint64_t len;
	uint32_t type; /* enum mem_type; anything else counts as reserved */
};

/* A half-open physical range [start, end). */
struct phys_range {
	uint64_t start;
	uint64_t end;
};

#endif
