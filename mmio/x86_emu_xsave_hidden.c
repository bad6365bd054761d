/*
 * The XSAVE family outside 64-bit mode: the register parts a 32-bit or compatibility-mode
 * guest cannot name.  The SDM (vol.1 13.5.2, 13.5.3, 13.5.5, 13.13) says XSAVE, XSAVEOPT,
 * XSAVEC and XSAVES outside 64-bit mode do not modify the bytes of XMM8-15, of YMM8-15's
 * and ZMM8-15's upper parts and of ZMM16-31 (Hi16_ZMM), and XRSTOR/XRSTORS do not update
 * those registers; every other part of every component (x87, XMM0-7, the upper parts of
 * registers 0-7, opmask k0-7, PKRU, CET, ...) is saved and restored as in 64-bit mode, and
 * XSTATE_BV/XCOMP_BV are written for the whole component.  Measured on AMD family 0x19 by
 * the differential test's compatibility-mode block (tests/diff/diff_emulate.c).
 *
 * The emulator runs the 64-bit-mode instruction on its scratch buffer, so:
 *  - a save takes memory's bytes for those parts back over what the CPU wrote (stash before,
 *    put back after);
 *  - a restore first saves the registers' current values of those parts, and the image gets
 *    them: where the image has the component, over its bytes; where it leaves the component
 *    initial (XSTATE_BV clear) while the hidden registers hold something, the component is
 *    loaded instead (the nameable registers with their initial value, zeros; in the compacted
 *    form MXCSR with its initial value for SSE), inserted into a compacted layout that lacks
 *    it by moving the components above it.  Where the hidden registers are initial and the
 *    image leaves the component initial, nothing changes: XRSTOR initialises them again.
 */
#include <string.h>

#include "mmio/x86_emu_internal.h"

#define XCOMP_COMPACTED	 (1ull << 63)
#define XSTATE_BV_OFF	 512
#define XCOMP_BV_OFF	 520
#define XSAVE_MIN	 576 /* legacy region and header: the first extended component */
#define COMP_SSE	 1
#define COMP_AVX	 2
#define COMP_ZMM_HI256	 6
#define COMP_HI16_ZMM	 7
#define FIRST_EXTENDED	 2
#define LAST_COMPONENT	 62
#define SSE_XMM0	 160 /* XMM0-7: bytes 160-287 of the legacy region */
#define MXCSR_OFF	 24
#define MXCSR_INIT	 0x1f80u
#define XCR0_X87_SSE	 3ull

/*
 * The part of each such component that only 64-bit mode names: at bytes [at, at + len) of
 * the component (SSE: of the area, its legacy region), whose size is size (0: SSE).
 */
static const struct hidden_part {
	uint8_t comp;
	uint16_t at, len, size;
} parts[] = {
	{COMP_SSE, 288, 128, 0},	    /* XMM8-15 */
	{COMP_AVX, 128, 128, 256},	    /* YMM8_H-YMM15_H */
	{COMP_ZMM_HI256, 256, 256, 512},   /* ZMM8_H-ZMM15_H */
	{COMP_HI16_ZMM, 0, 1024, 1024},	    /* ZMM16-31 */
};

/* Component i's size (CPUID.(0xD,i).EAX); AVX's is architectural. */
static uint32_t comp_size(struct x86_emu_ctx *e, unsigned int i)
{
	uint32_t size = 0;

	if (i == COMP_AVX && !e->ops->xsave_layout)
		return parts[1].size;
	if (e->ops->xsave_layout)
		(void)e->ops->xsave_layout(e->opaque, i, &size);
	return size;
}

/*
 * Where component i starts: in the standard form at CPUID.(0xD,i).EBX (AVX: 576), in the
 * compacted form with the components of layout (XCOMP_BV) after the header, each aligned as
 * CPUID says (the extent of the components up to i, less i's size).  SSE: the area's start.
 */
static uint32_t comp_base(struct x86_emu_ctx *e, unsigned int i, bool compacted, uint64_t layout)
{
	uint32_t size;

	if (i < FIRST_EXTENDED)
		return 0;
	if (compacted)
		return e->ops->xsave_extent(e->opaque, layout & ((2ull << i) - 1) & ~XCR0_X87_SSE,
					    true) -
		       comp_size(e, i);
	if (i == COMP_AVX && !e->ops->xsave_layout)
		return XSAVE_MIN;
	return e->ops->xsave_layout(e->opaque, i, &size);
}

bool x86e_xsave_hidden_known(struct x86_emu_ctx *e, uint64_t rfbm)
{
	for (unsigned int p = 0; p < sizeof(parts) / sizeof(parts[0]); p++) {
		if (!(rfbm >> parts[p].comp & 1) || !parts[p].size)
			continue;
		if ((parts[p].comp != COMP_AVX && !e->ops->xsave_layout) ||
		    comp_size(e, parts[p].comp) != parts[p].size)
			return false; /* a layout the SDM does not describe */
	}
	return true;
}

/*
 * Copy the hidden parts of the rfbm components between the image buf (n bytes, the given
 * form and layout) and keep: out (image to keep) before a save, back after it.
 */
void x86e_xsave_hidden_copy(struct x86_emu_ctx *e, uint8_t *buf, uint32_t n, bool compacted,
			    uint64_t layout, uint64_t rfbm, uint8_t *keep, bool out)
{
	uint32_t k = 0;

	for (unsigned int p = 0; p < sizeof(parts) / sizeof(parts[0]); p++) {
		uint32_t at;

		if (!(rfbm >> parts[p].comp & 1))
			continue;
		at = comp_base(e, parts[p].comp, compacted, layout) + parts[p].at;
		if (at + parts[p].len <= n) {
			if (out)
				memcpy(keep + k, buf + at, parts[p].len);
			else
				memcpy(buf + at, keep + k, parts[p].len);
		}
		k += parts[p].len;
	}
}

static bool all_zero(const uint8_t *b, uint32_t len)
{
	while (len--)
		if (*b++)
			return false;
	return true;
}

/*
 * Before a restore: the registers' current values of the hidden parts of the rfbm
 * components into cur (XSAVE in the standard form on the scratch buffer of cap bytes, zeros
 * for a component the CPU reports initial), and in *live the components whose hidden part is
 * not all zeros.  X86_EMU_UNSUPPORTED if that XSAVE would not fit the buffer.
 */
int x86e_xsave_hidden_current(struct x86_emu_ctx *e, uint8_t *buf, uint32_t cap, uint64_t rfbm,
			      uint8_t *cur, uint64_t *live)
{
	uint64_t vec = rfbm & X86E_XSAVE_HIDDEN_COMPONENTS, inuse;
	uint32_t k = 0;

	*live = 0;
	if (!vec)
		return EMU_CONTINUE;
	if (e->ops->xsave_extent(e->opaque, vec, false) > cap) {
		x86e_ud(e);
		return X86_EMU_UNSUPPORTED;
	}
	e->ops->xsave(e->opaque, vec, false);
	inuse = x86e_le64(buf + XSTATE_BV_OFF);
	for (unsigned int p = 0; p < sizeof(parts) / sizeof(parts[0]); p++) {
		const unsigned int i = parts[p].comp;

		if (!(vec >> i & 1))
			continue;
		if (inuse >> i & 1)
			memcpy(cur + k, buf + comp_base(e, i, false, 0) + parts[p].at, parts[p].len);
		else
			memset(cur + k, 0, parts[p].len);
		if (!all_zero(cur + k, parts[p].len))
			*live |= 1ull << i;
		k += parts[p].len;
	}
	return EMU_CONTINUE;
}

/* A compacted image with the components of old gets those of add too: the ones above move. */
static int insert_components(struct x86_emu_ctx *e, uint8_t *buf, uint32_t cap, uint64_t old,
			     uint64_t add)
{
	uint64_t layout = (old | add) & ~XCOMP_COMPACTED;

	if (e->ops->xsave_extent(e->opaque, layout, true) > cap)
		return -1;
	for (unsigned int i = LAST_COMPONENT; i >= FIRST_EXTENDED; i--) {
		uint32_t to, size;

		if (!(layout >> i & 1))
			continue;
		to = comp_base(e, i, true, layout);
		size = comp_size(e, i);
		if (old >> i & 1)
			memmove(buf + to, buf + comp_base(e, i, true, old), size);
		else
			memset(buf + to, 0, size);
	}
	return 0;
}

/*
 * After the image (n bytes read, the buffer zeroed up to cap) and before the CPU's restore:
 * the hidden parts become the registers' current values (cur, live from
 * x86e_xsave_hidden_current).  An image the CPU refuses for its header (compacted with
 * XSTATE_BV not within XCOMP_BV, or XCOMP_BV naming a component not enabled) is left alone.
 * X86_EMU_UNSUPPORTED if the grown image would not fit the buffer.
 */
int x86e_xsave_hidden_restore(struct x86_emu_ctx *e, uint8_t *buf, uint32_t cap, uint64_t rfbm,
			      uint64_t enabled, const uint8_t *cur, uint64_t live)
{
	uint64_t bv = x86e_le64(buf + XSTATE_BV_OFF), comp = x86e_le64(buf + XCOMP_BV_OFF), load;
	bool compacted = comp & XCOMP_COMPACTED;
	uint32_t k = 0;

	if (compacted && ((bv & ~comp) || (comp & ~XCOMP_COMPACTED & ~enabled)))
		return EMU_CONTINUE;
	load = rfbm & X86E_XSAVE_HIDDEN_COMPONENTS & (bv | live);
	if (compacted && (load & ~comp & ~XCR0_X87_SSE) &&
	    insert_components(e, buf, cap, comp, load & ~XCR0_X87_SSE)) {
		x86e_ud(e);
		return X86_EMU_UNSUPPORTED;
	}
	if (compacted)
		comp |= load;
	for (unsigned int p = 0; p < sizeof(parts) / sizeof(parts[0]); p++) {
		const unsigned int i = parts[p].comp;
		uint32_t base;

		if (!(rfbm >> i & 1) || !(X86E_XSAVE_HIDDEN_COMPONENTS >> i & 1))
			continue;
		k += parts[p].len;
		if (!(load >> i & 1))
			continue;
		base = comp_base(e, i, compacted, comp);
		if (base + parts[p].at + parts[p].len > cap) {
			x86e_ud(e);
			return X86_EMU_UNSUPPORTED;
		}
		if (!(bv >> i & 1)) { /* initial in the image: the nameable registers too */
			if (i == COMP_SSE) {
				memset(buf + SSE_XMM0, 0, parts[p].at - SSE_XMM0);
				if (compacted)
					memcpy(buf + MXCSR_OFF,
					       (const uint8_t[]){MXCSR_INIT & 0xff, MXCSR_INIT >> 8, 0, 0},
					       sizeof(uint32_t));
			} else {
				memset(buf + base, 0, parts[p].size);
			}
		}
		memcpy(buf + base + parts[p].at, cur + k - parts[p].len, parts[p].len);
	}
	x86e_put_le64(buf + XSTATE_BV_OFF, bv | load);
	if (compacted)
		x86e_put_le64(buf + XCOMP_BV_OFF, comp);
	return EMU_CONTINUE;
}
