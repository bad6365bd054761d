/* MMIO region registry: sorted array, binary search. */
#include "lib/spinlock.h"
#include "mmio/region.h"

#include "lib/compiler.h"
#include "lib/errno.h"
#include "lib/string.h"

void mmio_regions_init(struct mmio_regions *rs)
{
	rs->n = 0;
	rs->gen++; /* a hint into an earlier use of rs is stale */
}

/* Index of the first region whose base is above gpa (rs->n if none). */
static unsigned upper_bound(const struct mmio_regions *rs, uint64_t gpa)
{
	unsigned lo = 0, hi = rs->n;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (rs->r[mid].base <= gpa)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int mmio_region_add(struct mmio_regions *rs, uint64_t base, uint64_t size,
		    const struct mmio_dev_ops *ops, void *dev)
{
	uint64_t last;
	unsigned i;

	if (size == 0 || !ops || !ops->read || !ops->write)
		return -E_INVAL;
	/* Lock-free accesses need the atomic write of a locked read-modify-write beside them,
	 * and a way to pause them so that a locked one cannot lose for ever. */
	if (ops->read_value[0] && (!ops->compare_write || !ops->lock_free_pause))
		return -E_INVAL;
	if (!IS_ALIGNED(base, MMIO_PAGE_SIZE) || !IS_ALIGNED(size, MMIO_PAGE_SIZE))
		return -E_FAULT;
	last = base + (size - 1);
	if (last < base)
		return -E_RANGE;
	i = upper_bound(rs, base);
	/* Sorted and disjoint: only the neighbours can overlap. */
	if (i > 0 && rs->r[i - 1].last >= base)
		return -E_EXIST;
	if (i < rs->n && rs->r[i].base <= last)
		return -E_EXIST;
	if (rs->n == MMIO_REGION_MAX)
		return -E_NOMEM;
	memmove(&rs->r[i + 1], &rs->r[i], (rs->n - i) * sizeof(rs->r[0]));
	rs->r[i] = (struct mmio_region){.base = base, .last = last, .ops = ops, .dev = dev};
	rs->n++;
	rs->gen++;
	return 0;
}

int mmio_region_remove(struct mmio_regions *rs, uint64_t base, uint64_t size)
{
	unsigned i = upper_bound(rs, base);

	if (i == 0 || size == 0 || rs->r[i - 1].base != base || rs->r[i - 1].last != base + (size - 1))
		return -E_NOENT;
	i--;
	memmove(&rs->r[i], &rs->r[i + 1], (rs->n - i - 1) * sizeof(rs->r[0]));
	rs->n--;
	rs->r[rs->n] = (struct mmio_region){0};
	rs->gen++;
	return 0;
}

const struct mmio_region *mmio_region_find(const struct mmio_regions *rs, uint64_t gpa)
{
	unsigned i;

	/* Outside the span of all regions (guest RAM usually is): no search. */
	if (!rs->n || gpa < rs->r[0].base || gpa > rs->r[rs->n - 1].last)
		return NULL;
	i = upper_bound(rs, gpa);

	if (i == 0 || rs->r[i - 1].last < gpa)
		return NULL;
	return &rs->r[i - 1];
}

/* The registry itself is read-only once the guest runs; the devices are not (region.h). */
struct spinlock mmio_device_lock = SPINLOCK_INIT;

int mmio_region_access(const struct mmio_region *r, uint64_t gpa, uint64_t rip, void *buf,
		       unsigned len, bool write)
{
	struct mmio_access a;
	int rc;

	if (len < MMIO_ACCESS_MIN || len > MMIO_ACCESS_MAX)
		return -E_INVAL;
	if (gpa < r->base || r->last - gpa < len - 1)
		return -E_RANGE;
	a = (struct mmio_access){
		.gpa = gpa, .offset = gpa - r->base, .rip = rip, .len = len, .write = write};
	spin_lock(&mmio_device_lock);
	rc = write ? r->ops->write(r->dev, &a, buf) : r->ops->read(r->dev, &a, buf);
	spin_unlock(&mmio_device_lock);
	return rc;
}

unsigned mmio_region_access_run(const struct mmio_region *r, uint64_t gpa, int64_t gpa_step,
				uint64_t rip, uint8_t *buf, int64_t buf_step, unsigned len,
				unsigned count, bool write)
{
	struct mmio_access a = {.gpa = gpa, .offset = gpa - r->base, .rip = rip, .len = len,
				.write = write};
	unsigned i;

	spin_lock(&mmio_device_lock);
	if (r->ops->run) {
		i = r->ops->run(r->dev, &a, gpa_step, buf, buf_step, count);
		spin_unlock(&mmio_device_lock);
		return i;
	}
	for (i = 0; i < count; i++) {
		if (write ? r->ops->write(r->dev, &a, buf) : r->ops->read(r->dev, &a, buf))
			break;
		a.gpa += gpa_step;
		a.offset += gpa_step;
		buf += buf_step;
	}
	spin_unlock(&mmio_device_lock);
	return i;
}

int mmio_dispatch(const struct mmio_regions *rs, uint64_t gpa, uint64_t rip, void *buf,
		  unsigned len, bool write)
{
	const struct mmio_region *r;

	if (len < MMIO_ACCESS_MIN || len > MMIO_ACCESS_MAX)
		return -E_INVAL;
	r = mmio_region_find(rs, gpa);
	if (!r)
		return -E_NOENT;
	return mmio_region_access(r, gpa, rip, buf, len, write);
}
