/*
 * A locked read-modify-write of one device word (a LOCK'd instruction, XCHG with memory):
 * its read and its write are one step for every other access to the word, as the CPU's
 * locked cycle is, whichever vCPU makes that access and however.
 *
 * A device access either runs under mmio_device_lock (read/write/run, and every access to a
 * device without lock-free entry points) or is a single load or store by a device's
 * lock-free entry points (read_value/write_value, mmio/device.h).  So the read takes
 * mmio_device_lock and keeps it until the write, which shuts out the first kind; the write
 * is the device's compare_write where it has lock-free entry points, which stores only if no
 * lock-free store came in between (-E_AGAIN: nothing changed; the caller does the whole
 * instruction again from its read).  A device without them needs nothing more: every access
 * to it waits for the lock.  Plain (not locked) accesses cost nothing more than before.
 *
 * Only a naturally aligned access of 1, 2, 4, 8 or 16 bytes (one device piece) can be
 * locked (mmio_locked_fits); the caller does anything else as two accesses, as before.
 *
 * The bound: a vCPU whose locked write on one word found it changed MMIO_LOCKED_PAUSE_AFTER
 * times in a row (its struct mmio_lock_streak) does its next attempts with the device's
 * lock-free entry points paused (lock_free_pause, mmio/device.h): every other access then
 * waits for the lock its attempt holds, so it wins at the latest on the attempt after the one
 * that paused (a store whose entry point passed its check before the pause may still land
 * during that one: a window of a few instructions, one store per other CPU).  The pause ends
 * when that vCPU's locked write on the word succeeds or fails with an error, or when its next
 * locked read is of another word (it gave the instruction up: an interrupt, new code).  Left:
 * a vCPU that paused and then never does a locked device access again keeps that device on
 * its locked way (correct, only slower) until it does.  Correctness never depends on the
 * pause: compare_write still detects every store.
 */
#ifndef MHV_MMIO_LOCKED_RMW_H
#define MHV_MMIO_LOCKED_RMW_H

#include <stdbool.h>
#include <stdint.h>

#include "mmio/device.h"
#include "mmio/region.h"

#define MMIO_LOCKED_PAUSE_AFTER 4 /* failed attempts in a row before the pause */

/*
 * One vCPU's locked writes that lost in a row, all on one word (fails 0: none; the word's
 * ops, dev and gpa mean something only while fails is not).  The device by ops and dev, not
 * the region (a region entry may move; the device stays).  Changed under mmio_device_lock
 * only, by the vCPU's own locked read and write.
 */
struct mmio_lock_streak {
	const struct mmio_dev_ops *ops;
	void *dev;
	uint64_t gpa;
	unsigned fails; /* -E_AGAIN in a row */
	bool paused;	/* ops->lock_free_pause(dev, true) done and not undone yet */
};

/* One locked read-modify-write in progress (r NULL: none, the lock not held). */
struct mmio_locked {
	const struct mmio_region *r;
	struct mmio_lock_streak *streak; /* the vCPU's (NULL: no bound); see the read's */
	uint64_t gpa;
	uint64_t rip;
	unsigned len;
	uint8_t old[MMIO_ACCESS_MAX]; /* what the read returned: the write's expectation */
};

static inline bool mmio_locked_fits(const struct mmio_region *r, uint64_t gpa, unsigned len)
{
	return len >= MMIO_ACCESS_MIN && len <= MMIO_ACCESS_MAX && !(len & (len - 1)) &&
	       !(gpa & (len - 1)) && gpa >= r->base && gpa <= r->last &&
	       r->last - gpa >= len - 1;
}

static inline bool mmio_locked_held(const struct mmio_locked *l)
{
	return l->r != 0;
}

/*
 * The read: len bytes at gpa (mmio_locked_fits) into buf, with mmio_device_lock taken and
 * kept (0) until mmio_locked_write or mmio_locked_cancel.  On the device's error the lock
 * is released and the error returned; -E_INVAL if the access does not fit.
 */
int mmio_locked_read(struct mmio_locked *l, const struct mmio_region *r, uint64_t gpa,
		     uint64_t rip, void *buf, unsigned len);

/* The same, for the vCPU whose streak s is (kept in l->streak; NULL: no bound): its lost
 * writes counted and, after MMIO_LOCKED_PAUSE_AFTER, the device's lock-free entry points
 * paused for the next attempts (see the top of this file). */
int mmio_locked_read_bounded(struct mmio_locked *l, struct mmio_lock_streak *s,
			     const struct mmio_region *r, uint64_t gpa, uint64_t rip, void *buf,
			     unsigned len);

/*
 * The write of buf to the word read, then the lock released: 0, -E_AGAIN (a lock-free store
 * came between the read and now: nothing written), or the device's error.
 */
int mmio_locked_write(struct mmio_locked *l, const void *buf);

/* No write after all (an error between the read and the write): the lock released. */
void mmio_locked_cancel(struct mmio_locked *l);

#endif
