/*
 * Registry of the guest-physical ranges device models own (left out of EPT/NPT, so every
 * access exits).  A sorted array of non-overlapping, page-aligned ranges; lookup is a binary
 * search.  No allocation: the capacity is a compile-time constant.  Not locked: regions are
 * set up before the guest runs.
 */
#ifndef MHV_MMIO_REGION_H
#define MHV_MMIO_REGION_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/spinlock.h"
#include "mmio/device.h"

#define MMIO_REGION_MAX 256
#define MMIO_PAGE_SHIFT 12
#define MMIO_PAGE_SIZE	(1ull << MMIO_PAGE_SHIFT)

struct mmio_region {
	uint64_t base;
	uint64_t last; /* base + size - 1: a region may end exactly at 2^64 */
	const struct mmio_dev_ops *ops;
	void *dev;
};

struct mmio_regions {
	struct mmio_region r[MMIO_REGION_MAX]; /* sorted by base */
	unsigned n;
	unsigned gen; /* bumped by every add: a region's address in r[] may have changed */
};

/* The region an exit path found last (per vCPU): a repeated access needs no search. */
struct mmio_region_hint {
	const struct mmio_region *r;
	unsigned gen; /* rs->gen when r was found */
};

void mmio_regions_init(struct mmio_regions *rs);

/*
 * Register [base, base + size) for a device.  Errors, each distinct:
 *   -E_INVAL  size 0, ops without both read and write, or with read_value but no
 *             compare_write
 *   -E_FAULT  base or size not a multiple of MMIO_PAGE_SIZE
 *   -E_RANGE  the range wraps past 2^64 (ending exactly at 2^64 is fine)
 *   -E_EXIST  it overlaps a registered region (adjacent regions are fine)
 *   -E_NOMEM  MMIO_REGION_MAX regions already registered
 * The registry is unchanged on error.
 */
int mmio_region_add(struct mmio_regions *rs, uint64_t base, uint64_t size,
		    const struct mmio_dev_ops *ops, void *dev);

/*
 * Unregister the region [base, base + size) exactly as it was added: 0, or -E_NOENT.  gen is
 * bumped (hints are dropped); a pointer kept to a region may now name another one, which
 * never covers the same addresses (regions are disjoint), or a cleared slot.
 */
int mmio_region_remove(struct mmio_regions *rs, uint64_t base, uint64_t size);

/* The region holding gpa, or NULL.  O(log n). */
const struct mmio_region *mmio_region_find(const struct mmio_regions *rs, uint64_t gpa);

/* The same, trying the hint first (one compare when gpa is in the last region found). */
static inline const struct mmio_region *mmio_region_find_hinted(const struct mmio_regions *rs,
								struct mmio_region_hint *h,
								uint64_t gpa)
{
	const struct mmio_region *r = h->r;

	if (r && h->gen == rs->gen && gpa >= r->base && gpa <= r->last)
		return r;
	r = mmio_region_find(rs, gpa);
	if (r) {
		h->r = r;
		h->gen = rs->gen;
	}
	return r;
}

static inline uint64_t mmio_region_size(const struct mmio_region *r)
{
	return r->last - r->base + 1; /* 0 for a region covering all of 2^64: cannot be added */
}

/*
 * Perform one access: find the region, build the descriptor, call the device.  Returns the
 * device's result, or -E_NOENT (no region at gpa), -E_INVAL (len outside 1..16), -E_RANGE (the
 * access runs past the region's end).
 */
/* One access to region r (found by the caller): -E_INVAL bad len, -E_RANGE outside r. */
int mmio_region_access(const struct mmio_region *r, uint64_t gpa, uint64_t rip, void *buf,
		       unsigned len, bool write);
/*
 * count accesses of len bytes each, one after the other as separate device accesses: the
 * i-th at gpa + i * gpa_step with buf + i * buf_step (a string instruction's elements; a step
 * may be negative or 0).  Every access must lie in r.  Returns how many were done before the
 * device first failed (count: all).
 */
unsigned mmio_region_access_run(const struct mmio_region *r, uint64_t gpa, int64_t gpa_step,
				uint64_t rip, uint8_t *buf, int64_t buf_step, unsigned len,
				unsigned count, bool write);
/*
 * Devices keep state (registers, statistics) and several vCPUs may reach one at once: one
 * access at a time, to every device (mmio_region_access and its relatives take it).
 */
extern struct spinlock mmio_device_lock;

/*
 * One access a that the caller has already checked (len valid, a->gpa..+len inside r,
 * a->offset = a->gpa - r->base): the MMIO short path's device call, with nothing in between.
 */
static inline int mmio_region_read(const struct mmio_region *r, const struct mmio_access *a,
				   void *buf)
{
	int rc;

	spin_lock(&mmio_device_lock);
	rc = r->ops->read(r->dev, a, buf);
	spin_unlock(&mmio_device_lock);
	return rc;
}

static inline int mmio_region_write(const struct mmio_region *r, const struct mmio_access *a,
				    const void *buf)
{
	int rc;

	spin_lock(&mmio_device_lock);
	rc = r->ops->write(r->dev, a, buf);
	spin_unlock(&mmio_device_lock);
	return rc;
}

static inline int mmio_region_call(const struct mmio_region *r, const struct mmio_access *a,
				   void *buf)
{
	return a->write ? mmio_region_write(r, a, buf) : mmio_region_read(r, a, buf);
}

int mmio_dispatch(const struct mmio_regions *rs, uint64_t gpa, uint64_t rip, void *buf,
		  unsigned len, bool write);

#endif
