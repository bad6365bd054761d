/*
 * The interface between the MMIO dispatch and a device model.  One access of 1..16 bytes
 * (the emulator never splits below the operand size and never crosses a 4 KiB page, so an
 * access is always inside one page-aligned region).
 */
#ifndef MHV_MMIO_DEVICE_H
#define MHV_MMIO_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

#define MMIO_ACCESS_MIN 1
#define MMIO_ACCESS_MAX 16 /* the widest operand the emulator moves (an XMM register) */

/* What a device sees of one access; built by mmio_dispatch(). */
struct mmio_access {
	uint64_t gpa;	 /* guest-physical address of the first byte */
	uint64_t offset; /* gpa - region base */
	uint64_t rip;	 /* guest RIP of the instruction, for logs */
	unsigned len;	 /* MMIO_ACCESS_MIN..MMIO_ACCESS_MAX */
	bool write;
};

#define MMIO_VALUE_SIZES 4 /* read_value/write_value: 1, 2, 4 and 8 bytes */

/* A read_value() result: the value (zero-extended) or, err != 0, -E_* as read's. */
struct mmio_value {
	uint64_t val;
	int64_t err; /* a full register: the pair comes back in RAX:RDX */
};

/*
 * A device model.  dev is the region's opaque pointer.  read fills buf[0..len), write
 * consumes it; both little-endian, as the guest sees memory.  They return 0 or -E_*: an error
 * means the device could not serve the access at all (the exit glue decides what the guest
 * gets), never "the device said no" (that is a value, e.g. all ones).
 */
struct mmio_dev_ops {
	const char *name;
	int (*read)(void *dev, const struct mmio_access *a, void *buf);
	int (*write)(void *dev, const struct mmio_access *a, const void *buf);
	/*
	 * Optional (NULL: read/write once per element): count accesses like *first, the i-th
	 * at first->gpa + i * step with buf + i * buf_step, with exactly the effect of doing them
	 * one by one in order (a string instruction's run); returns how many were done before
	 * the first that the device could not serve.
	 */
	unsigned (*run)(void *dev, const struct mmio_access *first, int64_t step, uint8_t *buf,
			int64_t buf_step, unsigned count);
	/*
	 * Optional, all or none: one access of 1 << i bytes (i 0..3: read_value[i]) at offset
	 * (gpa - region base, checked inside the region by the caller), its value in a register
	 * instead of a buffer, and called WITHOUT mmio_device_lock: a device offers them only if
	 * each access is atomic on its own (its state changes by single aligned stores or atomic
	 * adds, as the ram model's), whoever else is in read/write/run at the time.  The MMIO
	 * short path's device call (core/mmio_short.h), where the lock, the access struct and a
	 * switch on the size would be most of the exit.
	 */
	struct mmio_value (*read_value[MMIO_VALUE_SIZES])(void *dev, uint64_t offset);
	int (*write_value[MMIO_VALUE_SIZES])(void *dev, uint64_t offset, uint64_t val);
	/*
	 * Required with read_value/write_value (mmio_region_add refuses those without it),
	 * unused otherwise: the write of a locked read-modify-write (mmio/locked_rmw.h), called
	 * under mmio_device_lock for an access a naturally aligned (1, 2, 4, 8 or 16 bytes)
	 * that read() returned expected for under the same hold.  Store buf only if the device
	 * still holds expected there, atomically against the lock-free entry points (they may
	 * have stored meanwhile): 0 stored, -E_AGAIN nothing changed, or -E_* as write's.
	 */
	int (*compare_write)(void *dev, const struct mmio_access *a, const void *expected,
			     const void *buf);
	/*
	 * Required with read_value/write_value as compare_write is, unused otherwise: called
	 * with mmio_device_lock held, pause true makes every access that would have gone
	 * lock-free take the device's locked way from the call's return on (so that it waits
	 * for the lock: a locked read-modify-write that keeps losing its compare_write to
	 * lock-free stores then wins, mmio/locked_rmw.h); false undoes one pause.  Pauses
	 * count: the entry points go lock-free again only when every pause is undone.
	 */
	void (*lock_free_pause)(void *dev, bool pause);
};

#endif
