/*
 * Spinlocks for state several CPUs share (plain C atomics: the same code runs in mhv and in
 * the host tests).  A plain lock for short critical sections, and a recursive one for the
 * console, whose writers may log while they hold it (the owner is named by a CPU number).
 */
#ifndef MHV_LIB_SPINLOCK_H
#define MHV_LIB_SPINLOCK_H

#include <stdbool.h>

struct spinlock {
	int locked;
};

#define SPINLOCK_INIT {0}

static inline void cpu_pause_hint(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static inline void spin_lock(struct spinlock *l)
{
	while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED))
			cpu_pause_hint();
}

static inline void spin_unlock(struct spinlock *l)
{
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}

/* Recursive by owner: a CPU that holds it may take it again (owner -1: free). */
struct rspinlock {
	int owner;
	unsigned depth;
};

#define RSPINLOCK_INIT {-1, 0}

static inline void rspin_lock(struct rspinlock *l, int me)
{
	int free_owner = -1;

	if (__atomic_load_n(&l->owner, __ATOMIC_RELAXED) == me) {
		l->depth++;
		return;
	}
	while (!__atomic_compare_exchange_n(&l->owner, &free_owner, me, false, __ATOMIC_ACQUIRE,
					    __ATOMIC_RELAXED)) {
		free_owner = -1;
		cpu_pause_hint();
	}
	l->depth = 1;
}

static inline void rspin_unlock(struct rspinlock *l)
{
	if (--l->depth == 0)
		__atomic_store_n(&l->owner, -1, __ATOMIC_RELEASE);
}

#endif
