/*
 * The one libgcc helper the kernel needs: on i386, GCC turns 64-bit division (lib/fmt.c
 * printing %llu / %llx) into a call to __udivmoddi4.  The build machine has no 32-bit libgcc
 * (gcc-multilib), so provide it: plain shift-and-subtract long division, one bit per step.
 */
#include <stdint.h>

uint64_t __udivmoddi4(uint64_t num, uint64_t den, uint64_t *rem);

#define U64_BITS 64

uint64_t __udivmoddi4(uint64_t num, uint64_t den, uint64_t *rem)
{
	uint64_t quot = 0, r = 0;

	if (den == 0) {
		/* What the hardware would do is fault; C leaves it undefined.  Never fault here. */
		if (rem)
			*rem = num;
		return ~0ull;
	}
	for (int bit = U64_BITS - 1; bit >= 0; bit--) {
		/* A bit shifted out of r means the true remainder exceeds any 64-bit den. */
		uint64_t carry = r >> (U64_BITS - 1);

		r = (r << 1) | ((num >> bit) & 1);
		if (carry || r >= den) {
			r -= den;
			quot |= 1ull << bit;
		}
	}
	if (rem)
		*rem = r;
	return quot;
}
