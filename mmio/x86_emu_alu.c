/*
 * Integer arithmetic with x86 flag semantics (SDM vol.1 appendix A), in plain C so the
 * emulator needs no host flag tricks and no libgcc (no __int128 division).
 */
#include "mmio/x86_emu_internal.h"

#define NIBBLE_CARRY 0x10u

uint64_t x86_sext(uint64_t v, unsigned int size)
{
	unsigned int shift = 64 - size * BYTE_BITS;

	if (size >= 8)
		return v;
	return (uint64_t)((int64_t)(v << shift) >> shift);
}

static uint64_t sign_bit(unsigned int size)
{
	return 1ull << (size * BYTE_BITS - 1);
}

uint64_t x86_szp(uint64_t res, unsigned int size)
{
	return x86e_szp(res, size);
}

uint64_t x86_alu(enum x86_alu_op op, unsigned int size, uint64_t a, uint64_t b, uint64_t *flags)
{
	uint64_t m = x86e_mask(size), sb = sign_bit(size);
	uint64_t res, f = 0, cin = 0;
	uint64_t keep = *flags & ~X86_FL_ARITH;

	a &= m;
	b &= m;
	switch (op) {
	case ALU_ADC:
		cin = *flags & X86_FL_CF;
		/* fall through */
	case ALU_ADD:
	case ALU_INC:
		if (op == ALU_INC)
			b = 1;
		res = (a + b + cin) & m;
		if (op == ALU_INC)
			f |= *flags & X86_FL_CF;
		else if (res < a || (cin && res == a))
			f |= X86_FL_CF;
		if ((a ^ res) & (b ^ res) & sb)
			f |= X86_FL_OF;
		if ((a ^ b ^ res) & NIBBLE_CARRY)
			f |= X86_FL_AF;
		break;
	case ALU_NEG:
		b = a;
		a = 0;
		/* fall through */
	case ALU_SBB:
	case ALU_SUB:
	case ALU_CMP:
	case ALU_DEC:
		if (op == ALU_SBB)
			cin = *flags & X86_FL_CF;
		if (op == ALU_DEC)
			b = 1;
		res = (a - b - cin) & m;
		if (op == ALU_DEC)
			f |= *flags & X86_FL_CF;
		else if (a < b || (cin && a == b))
			f |= X86_FL_CF;
		if ((a ^ b) & (a ^ res) & sb)
			f |= X86_FL_OF;
		if ((a ^ b ^ res) & NIBBLE_CARRY)
			f |= X86_FL_AF;
		break;
	case ALU_OR:
		res = a | b;
		break;
	case ALU_XOR:
		res = a ^ b;
		break;
	case ALU_AND:
	case ALU_TEST:
	default:
		res = a & b;
		break;
	}
	*flags = keep | f | x86e_szp(res, size);
	return res;
}

bool x86_cond(unsigned int cc, uint64_t fl)
{
	bool cf = fl & X86_FL_CF, zf = fl & X86_FL_ZF, sf = fl & X86_FL_SF, of = fl & X86_FL_OF;
	bool pf = fl & X86_FL_PF;
	bool r;

	switch (cc >> 1) {
	case 0:
		r = of;
		break;
	case 1:
		r = cf;
		break;
	case 2:
		r = zf;
		break;
	case 3:
		r = cf || zf;
		break;
	case 4:
		r = sf;
		break;
	case 5:
		r = pf;
		break;
	case 6:
		r = sf != of;
		break;
	default:
		r = zf || (sf != of);
		break;
	}
	return (cc & 1) ? !r : r;
}

/* 64x64 -> 128 unsigned multiply from 32-bit halves. */
static void mul64(uint64_t a, uint64_t b, uint64_t *lo, uint64_t *hi)
{
	uint64_t al = (uint32_t)a, ah = a >> 32, bl = (uint32_t)b, bh = b >> 32;
	uint64_t ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
	uint64_t mid = (ll >> 32) + (uint32_t)lh + (uint32_t)hl;

	*lo = (mid << 32) | (uint32_t)ll;
	*hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
}

void x86_mul(enum x86_vendor v, unsigned int size, bool sign, uint64_t a, uint64_t b, uint64_t *lo,
	     uint64_t *hi, uint64_t *flags)
{
	uint64_t m = x86e_mask(size);
	uint64_t l, h;
	bool overflow;

	if (size < 8) {
		uint64_t p;

		if (sign)
			p = (uint64_t)((int64_t)x86_sext(a, size) * (int64_t)x86_sext(b, size));
		else
			p = (a & m) * (b & m);
		l = p & m;
		h = (p >> (size * BYTE_BITS)) & m;
		overflow = sign ? x86_sext(l, size) != x86_sext(p, size * 2) : h != 0;
	} else {
		mul64(a, b, &l, &h);
		if (sign) {
			/* Signed high half: subtract the other operand for each negative input. */
			if ((int64_t)a < 0)
				h -= b;
			if ((int64_t)b < 0)
				h -= a;
			overflow = h != ((l >> 63) ? ~0ull : 0);
		} else {
			overflow = h != 0;
		}
	}
	*lo = l;
	*hi = h;
	/* CF = OF = overflow; SF/ZF/AF/PF are undefined and differ between vendors. */
	*flags &= ~(X86_FL_CF | X86_FL_OF);
	if (overflow)
		*flags |= X86_FL_CF | X86_FL_OF;
	x86v_mul_undef_flags(v, size, l, flags);
}

/* Unsigned 128/64 division by shift-subtract; caller guarantees hi < d (no overflow). */
static void div128(uint64_t hi, uint64_t lo, uint64_t d, uint64_t *q, uint64_t *r)
{
	uint64_t quo = 0;

	for (int i = 0; i < 64; i++) {
		bool top = hi >> 63;

		hi = (hi << 1) | (lo >> 63);
		lo <<= 1;
		quo <<= 1;
		if (top || hi >= d) {
			hi -= d;
			quo |= 1;
		}
	}
	*q = quo;
	*r = hi;
}

bool x86_div(unsigned int size, bool sign, uint64_t hi, uint64_t lo, uint64_t d, uint64_t *q,
	     uint64_t *r)
{
	uint64_t m = x86e_mask(size);
	bool nn = false, nd = false;
	uint64_t quo, rem;

	d &= m;
	if (!d)
		return false;
	hi &= m;
	lo &= m;
	if (size < 8) {
		/* Combine into one 2*size-bit dividend that fits in 64 bits. */
		lo |= hi << (size * BYTE_BITS);
		if (sign) {
			lo = x86_sext(lo, size * 2);
			nn = (int64_t)lo < 0;
			if (nn)
				lo = -lo;
			d = x86_sext(d, size);
			nd = (int64_t)d < 0;
			if (nd)
				d = -d;
		}
		quo = lo / d;
		rem = lo % d;
	} else {
		if (sign) {
			nn = (int64_t)hi < 0;
			if (nn) { /* negate the 128-bit dividend */
				lo = ~lo + 1;
				hi = ~hi + (lo == 0);
			}
			nd = (int64_t)d < 0;
			if (nd)
				d = -d;
		}
		if (hi >= d)
			return false;
		div128(hi, lo, d, &quo, &rem);
	}
	if (sign) {
		/* Quotient must fit the signed destination: -2^(n-1) .. 2^(n-1)-1. */
		uint64_t lim = sign_bit(size);

		if (nn != nd ? quo > lim : quo >= lim)
			return false;
		if (nn != nd)
			quo = -quo;
		if (nn)
			rem = -rem;
	} else if (quo > m) {
		return false;
	}
	*q = quo & m;
	*r = rem & m;
	return true;
}
