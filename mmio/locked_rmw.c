/* A locked read-modify-write of one device word (see locked_rmw.h). */
#include "mmio/locked_rmw.h"

#include "lib/compiler.h"
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

/* The streak's pause undone and its count cleared (under mmio_device_lock). */
static void streak_end(struct mmio_lock_streak *s)
{
	if (s->paused)
		s->ops->lock_free_pause(s->dev, false);
	s->paused = false;
	s->fails = 0;
}

/*
 * A locked read of gpa in r starts after losses (s->fails, under mmio_device_lock): another
 * word ends the streak (the last one's instruction was given up); enough losses on this one
 * pause the device's lock-free entry points.
 */
static __attribute__((noinline)) void streak_begin(struct mmio_lock_streak *s,
						   const struct mmio_region *r, uint64_t gpa)
{
	if (s->ops != r->ops || s->dev != r->dev || s->gpa != gpa) {
		streak_end(s);
		return;
	}
	if (s->fails >= MMIO_LOCKED_PAUSE_AFTER && !s->paused && r->ops->lock_free_pause) {
		r->ops->lock_free_pause(r->dev, true);
		s->paused = true;
	}
}

/* The locked write on l's word lost (-E_AGAIN, under mmio_device_lock): one loss more on it,
 * the first of a new streak on another word. */
static __attribute__((noinline)) void streak_lost(struct mmio_lock_streak *s,
						  const struct mmio_locked *l)
{
	if (s->fails && (s->ops != l->r->ops || s->dev != l->r->dev || s->gpa != l->gpa))
		streak_end(s);
	if (!s->fails) {
		s->ops = l->r->ops;
		s->dev = l->r->dev;
		s->gpa = l->gpa;
	}
	if (s->fails < MMIO_LOCKED_PAUSE_AFTER)
		s->fails++;
}

int mmio_locked_read(struct mmio_locked *l, const struct mmio_region *r, uint64_t gpa,
		     uint64_t rip, void *buf, unsigned len)
{
	return mmio_locked_read_bounded(l, NULL, r, gpa, rip, buf, len);
}

int mmio_locked_read_bounded(struct mmio_locked *l, struct mmio_lock_streak *s,
			     const struct mmio_region *r, uint64_t gpa, uint64_t rip, void *buf,
			     unsigned len)
{
	struct mmio_access a;
	int rc;

	l->r = 0;
	if (!mmio_locked_fits(r, gpa, len))
		return -E_INVAL;
	l->r = r; /* l->old is filled below: no need to clear it */
	l->streak = s;
	l->gpa = gpa;
	l->rip = rip;
	l->len = len;
	a = access_of(l, false);
	spin_lock(&mmio_device_lock);
	/* A streak's word is known only while it has losses: nothing to do without any. */
	if (s && unlikely(s->fails))
		streak_begin(s, r, gpa);
	rc = r->ops->read(r->dev, &a, buf);
	if (rc) {
		if (s && unlikely(s->fails))
			streak_end(s);
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
	if (l->streak) {
		if (unlikely(rc == -E_AGAIN))
			streak_lost(l->streak, l);
		else if (unlikely(l->streak->fails)) /* a pause has losses before it */
			streak_end(l->streak);
	}
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
