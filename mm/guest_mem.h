/*
 * The guest's physical address space and the one gate from a guest-physical address to host
 * memory.
 *
 * struct guest_physmap says what every guest-physical address is: guest RAM (identity-mapped,
 * cacheable), a passthrough device (mapped uncached), or nothing (mhv's own range, anything at
 * or above the top of the map, anything beyond the guest's MAXPHYADDR).  The nested page tables
 * (EPT/NPT) are built from it, and every access mhv makes on the guest's behalf (page walks,
 * instruction fetch, emulated operands, A/D bits, devices, the kernel loader) goes through
 * guest_mem_access() or guest_mem_ram_ptr(), which resolve the address against the same map.
 * So mhv can never be made to touch memory the guest could not touch itself: there is no other
 * way from a guest-physical address to a host pointer.
 *
 * The mmio= regions (trapped device pages, mmio/region.h) lie on top of the map: they are
 * absent from EPT/NPT, and the gate sends their accesses to the region's device model.
 */
#ifndef MHV_MM_GUEST_MEM_H
#define MHV_MM_GUEST_MEM_H

#include <stdbool.h>
#include <stdint.h>

#include "mm/memmap.h"

struct mmio_regions;

/* What a guest-physical page is. */
enum gpa_kind {
	GPA_UNMAPPED, /* nothing: not in EPT/NPT; an access is answered with #GP */
	GPA_RAM,      /* guest RAM, reached through ram_ptr */
	GPA_DEVICE,   /* a passthrough device (or firmware ROM): uncached, exact-width accesses */
	GPA_TRAPPED,  /* an mmio= region: its device model */
};

/* Ranges a map may hold: each machine region can split one range in three. */
#define GUEST_PHYSMAP_MAX 512

struct gpa_range {
	uint64_t start, end; /* [start, end), page-aligned */
	enum gpa_kind kind;
};

/* Sorted, disjoint ranges covering [0, top) without gaps; adjacent ranges differ in kind. */
struct guest_physmap {
	struct gpa_range r[GUEST_PHYSMAP_MAX];
	unsigned n;
	uint64_t top;
	uint64_t built_top; /* the top guest_physmap_build chose: added devices lie above it */
};

/* The memory types the guest gets as RAM: usable memory and the firmware's ACPI memory. */
bool mem_type_is_guest_ram(uint32_t type);

/*
 * Build the map from the machine's memory map:
 *   [0, top) is a passthrough device unless said otherwise, where top is the end of the
 *   highest RAM region or 4 GiB, whichever is higher, rounded up to 1 GiB and clipped to
 *   2^maxphyaddr (the platform decodes devices up to there);
 *   RAM regions (mem_type_is_guest_ram, rounded inward to pages) are RAM, clipped to ram_limit
 *   (what mhv can reach through its direct map: RAM above it is left unmapped);
 *   the hidden range (mhv's own memory, rounded outward to pages) is unmapped.
 * -E_INVAL for maxphyaddr outside 32..52 or an empty/wrapping hidden range, -E_NOMEM when the
 * map would need more than GUEST_PHYSMAP_MAX ranges.
 */
int guest_physmap_build(struct guest_physmap *pm, const struct mem_region *mmap, unsigned n,
			struct phys_range hidden, uint64_t ram_limit, unsigned maxphyaddr);

/*
 * A device range the platform decodes above the top of the map (a 64-bit PCI BAR or bridge
 * window the firmware placed beyond the end of RAM): [start, end), rounded outward to pages,
 * clipped to 2^maxphyaddr and to the part at or above built_top, becomes GPA_DEVICE; the top
 * rises to its end, with any gap before it GPA_UNMAPPED.  Below built_top nothing changes (RAM
 * and mhv's range stay what they are).  -E_INVAL for a bad maxphyaddr, an empty
 * map or start >= end, -E_NOMEM when the map is full.
 */
int guest_physmap_add_device(struct guest_physmap *pm, uint64_t start, uint64_t end,
			     unsigned maxphyaddr);

/* The range holding gpa (kind GPA_UNMAPPED at or above top).  O(log n). */
struct gpa_range guest_physmap_lookup(const struct guest_physmap *pm, uint64_t gpa);

/* How the gate reaches the host side (mhv's direct map and device window, or a test's buffers). */
struct guest_mem_gate {
	const struct guest_physmap *map;
	const struct mmio_regions *regions; /* mmio= regions, or NULL */
	/* Host pointer to guest RAM at gpa (only ever called for GPA_RAM pages). */
	void *(*ram_ptr)(void *ctx, uint64_t gpa);
	/* Exact-width uncached access to a passthrough device (len 1..8, within one page). */
	int (*device_read)(void *ctx, uint64_t gpa, void *buf, unsigned len);
	int (*device_write)(void *ctx, uint64_t gpa, const void *buf, unsigned len);
	void *ctx;
};

#define GMEM_WRITE (1u << 0)
/* Guest RAM only, beneath any mmio region over it (the GDB stub's INT3 pages are regions over
 * RAM whose device reaches the bytes this way); anything but RAM is -E_FAULT. */
#define GMEM_RAM_BENEATH (1u << 1)

/*
 * Read (or with GMEM_WRITE write) len bytes at gpa.  rip is the guest's RIP, for device logs.
 * Returns the kind of the first byte's page (GPA_RAM, GPA_DEVICE, GPA_TRAPPED) on success.
 * -E_FAULT when any byte of the access is unmapped: then nothing at all was accessed.
 * -E_INVAL for len 0 or over a page, or a range that wraps; a device's own error otherwise.
 * Accesses may cross one page boundary; device accesses are split into naturally sized
 * pieces of at most 8 bytes (trapped regions: their device's widest access).
 */
int guest_mem_access(const struct guest_mem_gate *gm, uint64_t gpa, void *buf, unsigned len,
		     unsigned flags, uint64_t rip);

static inline int guest_mem_read(const struct guest_mem_gate *gm, uint64_t gpa, void *buf,
				 unsigned len, uint64_t rip)
{
	return guest_mem_access(gm, gpa, buf, len, 0, rip);
}

static inline int guest_mem_write(const struct guest_mem_gate *gm, uint64_t gpa, const void *buf,
				  unsigned len, uint64_t rip)
{
	return guest_mem_access(gm, gpa, (void *)buf, len, GMEM_WRITE, rip);
}

/* What the page at gpa is, mmio= regions included. */
enum gpa_kind guest_mem_kind(const struct guest_mem_gate *gm, uint64_t gpa);

/*
 * A host pointer to [gpa, gpa + len) when all of it is plain guest RAM in one range (not a
 * trapped region), else NULL.  For bulk copies (the loader) and the code fast path.
 */
void *guest_mem_ram_ptr(const struct guest_mem_gate *gm, uint64_t gpa, uint64_t len);

/*
 * One remembered answer of guest_mem_ram_ptr() for a whole page (per vCPU, for the MMIO fast
 * path's RAM operands: a stack slot, a string's RAM side).  The map is built before the guest
 * runs and never changes after; the mmio= regions bump their gen on every change: the answer
 * holds while gen is the regions' gen.
 */
struct guest_ram_hint {
	uint64_t gpa_page;
	uint8_t *host; /* NULL: nothing remembered */
	unsigned gen;
};

/* guest_mem_ram_ptr(gm, gpa's page, PAGE_SIZE), through the hint. */
uint8_t *guest_mem_ram_page(const struct guest_mem_gate *gm, struct guest_ram_hint *h,
			    uint64_t gpa);

#endif
