/*
 * libFuzzer target over the guest page walker (mm/guest_walk.c) and the memory gate
 * (mm/guest_mem.c): random page-table contents, paging modes, MAXPHYADDR and addresses.
 *
 * Guest memory: RAM pages at two places, mhv's hidden range between them, an mmio= region and
 * a passthrough device page.  The input fills the RAM pages (the page tables); entries with
 * bit 9 set get their frame replaced by one of a list of interesting addresses (the pages
 * themselves, mhv's range, the region, the direct-map alias of mhv's image, beyond the map,
 * beyond MAXPHYADDR), so walks reach them often.  Checks: no sanitizer report; the gate never
 * hands out a host pointer outside the RAM buffers; a successful walk yields an address below
 * MAXPHYADDR; the final access through the gate never touches the hidden range.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/errno.h"
#include "mm/guest_mem.h"
#include "mm/guest_walk.h"
#include "mmio/region.h"
#include "tests/fuzz/fuzz_driver.h"

#define PG	    0x1000ull
#define LOW_BASE    0x10000ull /* 8 RAM pages */
#define LOW_PAGES   8
#define HIDDEN	    0x18000ull /* mhv: 2 pages */
#define HIDDEN_END  0x1A000ull
#define REGION	    0x1A000ull /* an mmio= region over what would be RAM */
#define DEVICE	    0xFEC00000ull
#define HIGH_BASE   0x100000000ull /* 2 RAM pages above 4 GiB */
#define HIGH_PAGES  2
#define ALIAS	    0x7FFF80000000ull
#define STEER_BIT   (1ull << 9)
#define STEER_SHIFT 52
#define HDR	    16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t low[LOW_PAGES * PG], high[HIGH_PAGES * PG], region_mem[PG];
static struct guest_physmap pm;
static struct mmio_regions regions;
static struct guest_mem_gate gate;
static bool ready;

static void *ram_ptr(void *ctx, uint64_t gpa)
{
	(void)ctx;
	if (gpa >= LOW_BASE && gpa < LOW_BASE + sizeof(low))
		return low + (gpa - LOW_BASE);
	if (gpa >= HIGH_BASE && gpa < HIGH_BASE + sizeof(high))
		return high + (gpa - HIGH_BASE);
	abort(); /* the gate asked for memory that is not the guest's RAM */
}

static int device_rw(void *ctx, uint64_t gpa, void *buf, unsigned len)
{
	(void)ctx;
	/* Devices get exact, naturally aligned accesses, and only where the map has a device. */
	if (len == 0 || len > 8 || (gpa & (len - 1)) ||
	    guest_physmap_lookup(&pm, gpa).kind != GPA_DEVICE)
		abort();
	memset(buf, 0xFF, len);
	return 0;
}

static int device_write(void *ctx, uint64_t gpa, const void *buf, unsigned len)
{
	return device_rw(ctx, gpa, (void *)buf, len);
}

static int region_read(void *dev, const struct mmio_access *a, void *buf)
{
	(void)dev;
	memcpy(buf, region_mem + a->offset, a->len);
	return 0;
}

static int region_write(void *dev, const struct mmio_access *a, const void *buf)
{
	(void)dev;
	memcpy(region_mem + a->offset, buf, a->len);
	return 0;
}

static const struct mmio_dev_ops region_ops = {.name = "fuzz", .read = region_read, .write = region_write};

static const uint64_t steer[16] = {
	LOW_BASE,	   LOW_BASE + PG,     LOW_BASE + 2 * PG, LOW_BASE + 3 * PG,
	LOW_BASE + 4 * PG, LOW_BASE + 7 * PG, HIGH_BASE,	 HIGH_BASE + PG,
	HIDDEN,		   HIDDEN + PG,	      REGION,		 DEVICE,
	ALIAS,		   8ull << 30,	      1ull << 51,	 0xFFFFF000ull,
};

static void setup(void)
{
	static const struct mem_region machine[] = {
		{LOW_BASE, HIDDEN_END + PG - LOW_BASE, MEM_USABLE},
		{DEVICE, PG, MEM_RESERVED},
		{HIGH_BASE, HIGH_PAGES * PG, MEM_USABLE},
	};

	if (guest_physmap_build(&pm, machine, 3, (struct phys_range){HIDDEN, HIDDEN_END},
				1ull << 40, 46))
		abort();
	mmio_regions_init(&regions);
	if (mmio_region_add(&regions, REGION, PG, &region_ops, NULL))
		abort();
	gate = (struct guest_mem_gate){&pm, &regions, ram_ptr, device_rw, device_write, NULL};
	ready = true;
}

static bool gate_read(void *ctx, uint64_t gpa, void *buf, unsigned len)
{
	(void)ctx;
	return guest_mem_read(&gate, gpa, buf, len, 0) >= 0;
}

static bool gate_write(void *ctx, uint64_t gpa, const void *buf, unsigned len)
{
	(void)ctx;
	return guest_mem_write(&gate, gpa, buf, len, 0) >= 0;
}

/* Page tables from the input, with steered frames. */
static void fill(uint8_t *mem, size_t mem_len, const uint8_t *data, size_t size)
{
	memset(mem, 0, mem_len);
	memcpy(mem, data, size < mem_len ? size : mem_len);
	for (size_t off = 0; off + 8 <= mem_len; off += 8) {
		uint64_t e;

		memcpy(&e, mem + off, 8);
		if (!(e & STEER_BIT))
			continue;
		e = (e & ~0x000FFFFFFFFFF000ull) | steer[(e >> STEER_SHIFT) & 15];
		memcpy(mem + off, &e, 8);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t cr0s[] = {0, 0x80000001, 0x80010001};
	struct gw_regs regs = {0};
	struct gw_mem mem = {.read = gate_read};
	struct gw_result r;
	uint64_t la;
	unsigned access, len;
	int rc;

	if (!ready)
		setup();
	if (fuzz_execs)
		(*fuzz_execs)++;
	if (size < HDR)
		return 0;
	regs.cr0 = cr0s[data[0] % 3];
	regs.cr4 = (uint64_t)data[1] << 4 | (uint64_t)(data[2] & 0x31) << 16; /* PSE..PGE, SMEP.. */
	regs.efer = (data[2] & 0x40) ? (1u << 8 | 1u << 10 | 1u << 11) : (data[2] & 0x80) << 4;
	regs.cpl = data[3] & 3;
	regs.rflags_ac = data[3] & 4;
	regs.maxphyaddr = 32 + data[3] % 21;
	regs.cr3 = steer[data[4] & 15] | (data[4] & 0x18);
	access = (data[5] & (GW_WRITE | GW_USER | GW_FETCH));
	if (data[5] & 1)
		mem.write = gate_write;
	memcpy(&la, data + 8, sizeof(la));
	len = 1 + data[6] % 16;

	fill(low, sizeof(low), data + HDR, size - HDR);
	fill(high, sizeof(high), data + HDR + sizeof(low) / 4, size > HDR + sizeof(low) / 4 ?
							       size - HDR - sizeof(low) / 4 : 0);
	rc = guest_walk(&regs, &mem, la, access, &r);
	if (rc == 0) {
		uint64_t buf[2];

		if (r.gpa >> regs.maxphyaddr)
			abort(); /* a frame bit at or above MAXPHYADDR was taken for an address */
		rc = guest_mem_access(&gate, r.gpa, buf, len, (access & GW_WRITE) ? GMEM_WRITE : 0, 0);
		if (rc >= 0 && r.gpa < HIDDEN_END && r.gpa + len > HIDDEN)
			abort(); /* the gate served mhv's range */
	}
	return 0;
}

int main(int argc, char **argv)
{
	return fuzz_main(argc, argv, LLVMFuzzerTestOneInput, "guest walk + memory gate",
			 HDR + LOW_PAGES * PG / 4);
}
