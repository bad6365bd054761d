/*
 * xorshift64*: the randomized host tests' pseudo-random sequence, deterministic so that a
 * failing trial is replayed from its seed.
 */
#ifndef MHV_TESTS_UNIT_XORSHIFT_H
#define MHV_TESTS_UNIT_XORSHIFT_H

#include <stdint.h>

#define XORSHIFT64S_MUL 0x2545f4914f6cdd1dull

/* The next value of the sequence *state (not 0) is in. */
static inline uint64_t xorshift64s(uint64_t *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * XORSHIFT64S_MUL;
}

/* The next value below n (0 for n = 0). */
static inline uint64_t xorshift64s_below(uint64_t *state, uint64_t n)
{
	return n ? xorshift64s(state) % n : 0;
}

#endif
