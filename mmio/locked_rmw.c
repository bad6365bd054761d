/* A locked read-modify-write of one device word (see locked_rmw.h). */
#include "mmio/locked_rmw.h"

#include "lib/errno.h"
#include "lib/spinlock.h"
#include "lib/string.h"

static struct mmio_access access_of(const struct mmio_locked *l, bool write)
{
	return (struct mmio_access){.gpa = l->gpa,
				    .offset = l->gpa - l->r->base,
				    .rip = l->rip,
				    .len = l->len,
				    .write = write};
}

int mmio_locked_read(struct mmio_locked *l, const struct mmio_region *r, uint64_t gpa,
		     uint64_t rip, void *buf, unsigned len)
{
	struct mmio_access a;
	int rc;

	l->r = 0;
	if (!mmio_locked_fits(r, gpa, len))
		return -E_INVAL;
	l->r = r; /* l->old is filled below: no need to clear it */
	l->gpa = gpa;
	l->rip = rip;
	l->len = len;
	a = access_of(l, false);
	spin_lock(&mmio_device_lock);
	rc = r->ops->read(r->dev, &a, buf);
	if (rc) {
		spin_unlock(&mmio_device_lock);
		l->r = 0;
		return rc;
	}
	memcpy_small(l->old, buf, len);
	return 0;
}

int mmio_locked_write(struct mmio_locked *l, const void *buf)
{
	const struct mmio_region *r = l->r;
	struct mmio_access a;
	int rc;

	if (!r)
		return -E_INVAL;
	a = access_of(l, true);
	if (r->ops->compare_write)
		rc = r->ops->compare_write(r->dev, &a, l->old, buf);
	else
		rc = r->ops->write(r->dev, &a, buf);
	l->r = 0;
	spin_unlock(&mmio_device_lock);
	return rc;
}

void mmio_locked_cancel(struct mmio_locked *l)
{
	if (!l->r)
		return;
	l->r = 0;
	spin_unlock(&mmio_device_lock);
}
