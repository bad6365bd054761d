/*
 * XSAVE and XRSTOR with the area on a device page of an mmio=ram region (mhv emulates them),
 * against the same instructions on RAM (the CPU): the image XSAVE writes (x87 and SSE state,
 * XSTATE_BV; the bytes XSAVE leaves alone untouched), XRSTOR loading XMM0, and the faults
 * (#GP for a header with reserved bytes set, #GP for an area not 64-byte aligned).  XCR0 is
 * x87|SSE for the test and put back afterwards.
 */
#include "lib/compiler.h"
#include "tests/guest/cpu.h"
#include "tests/guest/report.h"
#include "tests/guest/tests.h"
#include "tests/guest/trap.h"

#define XS_OFF		  0x2400u /* 64-byte aligned, away from the other tests' offsets */
#define XS_BYTES	  576	  /* legacy region and header */
#define XS_FILL		  0x5au
#define XS_MASK		  3u /* x87 | SSE */
#define XS_XMM0		  160
#define XS_XMM_BYTES	  16
#define XS_SOFTWARE	  464 /* bytes 464-511: software's, never written */
#define XS_HEADER	  512
#define XS_XCOMP_BV	  520
#define XS_FOP		  5 /* bytes 5-23: FOP, FIP, FDP (emulators differ) */
#define XS_MXCSR	  24
#define XS_ST0		  32
#define XS_ST_SLOT	  16
#define XS_ST_BYTES	  10
#define XS_MISALIGN	  16
#define CPUID1_ECX_XSAVE  (1u << 26)
#define XS_CR0_MP	  (1u << 1)
#define XS_CR0_EM	  (1u << 2)
#define XS_CR0_TS	  (1u << 3)
#define XS_CR4_OSFXSR	  (1u << 9)
#define XS_CR4_OSXSAVE	  (1u << 18)

static uint8_t ram_area[2 * XS_BYTES] __aligned(64);

static uint32_t xgetbv0(void)
{
	uint32_t lo, hi;

	asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return lo;
}

static void xsetbv0(uint32_t v)
{
	asm volatile("xsetbv" ::"a"(v), "d"(0), "c"(0));
}

static void do_xsave(void *p)
{
	asm volatile("xsave (%0)" ::"r"(p), "a"(XS_MASK), "d"(0) : "memory");
}

static void do_xsaveopt(void *p)
{
	asm volatile("xsaveopt (%0)" ::"r"(p), "a"(XS_MASK), "d"(0) : "memory");
}

static void do_xsavec(void *p)
{
	asm volatile("xsavec (%0)" ::"r"(p), "a"(XS_MASK), "d"(0) : "memory");
}

static void do_xsaves(void *p)
{
	asm volatile("xsaves (%0)" ::"r"(p), "a"(XS_MASK), "d"(0) : "memory");
}

static void do_xrstors(void *p)
{
	asm volatile("xrstors (%0)" ::"r"(p), "a"(XS_MASK), "d"(0) : "memory");
}

static void do_xrstor(void *p)
{
	asm volatile("xrstor (%0)" ::"r"(p), "a"(XS_MASK), "d"(0) : "memory");
}

/* Bytes every implementation writes the same (FOP/FIP/FDP and reserved bytes left out). */
static bool compared(unsigned i)
{
	if (i < XS_FOP || (i >= XS_MXCSR && i < XS_ST0) || (i >= XS_XMM0 && i < XS_SOFTWARE) ||
	    i >= XS_HEADER)
		return true;
	return i >= XS_ST0 && i < XS_XMM0 && (i - XS_ST0) % XS_ST_SLOT < XS_ST_BYTES;
}

static void faults_like_cpu(const char *what, void (*fn)(void *), void *ram, void *dev)
{
	struct fault fr, fd;

	run_catching(fn, ram, &fr);
	run_catching(fn, dev, &fd);
	check(fr.raised && fd.raised && fr.vector == fd.vector && fr.errcode == fd.errcode, what,
	      "CPU %s(%x), emulated %s(%x)", fr.raised ? trap_name(fr.vector) : "none", fr.errcode,
	      fd.raised ? trap_name(fd.vector) : "none", fd.errcode);
}

/*
 * XSAVEOPT and XSAVEC (where CPUID has them) to the device page and to RAM from the same
 * state and the same fill: the compared bytes must agree.  The state is the one XRSTOR just
 * loaded from RAM, with XMM0 then changed (so the CPU's modified optimization, if it is used
 * on RAM, still writes SSE state).
 */
static void compare_save(const char *what, void (*save)(void *), volatile uint8_t *dev)
{
	unsigned first_diff = XS_BYTES;

	for (unsigned i = 0; i < XS_BYTES; i++) {
		ram_area[i] = i < XS_HEADER ? XS_FILL : 0;
		dev[i] = i < XS_HEADER ? XS_FILL : 0;
	}
	save(ram_area);
	save((void *)dev);
	for (unsigned i = 0; i < XS_BYTES && first_diff == XS_BYTES; i++)
		if (compared(i) && ram_area[i] != dev[i])
			first_diff = i;
	check(first_diff == XS_BYTES, what, "first difference at byte %u: %02x, CPU %02x",
	      first_diff, first_diff < XS_BYTES ? dev[first_diff] : 0,
	      first_diff < XS_BYTES ? ram_area[first_diff] : 0);
}

#define CPUIDD1_EAX_XSAVEOPT (1u << 0)
#define CPUIDD1_EAX_XSAVEC   (1u << 1)
#define CPUIDD1_EAX_XSAVES   (1u << 3)
#define XS_COMPACTED_BYTE    527 /* XCOMP_BV bit 63 */

static void test_xsave_variants(volatile uint8_t *dev)
{
	static const uint32_t pattern[4] __aligned(16) = {0x0badf00d, 0x600dcafe, 0x5ca1ab1e,
							  0xdeadbeef};
	uint32_t d1 = cpuid_count(0xd, 1).eax;

	asm volatile("movdqa %0, %%xmm0" ::"m"(pattern));
	if (d1 & CPUIDD1_EAX_XSAVEOPT)
		compare_save("mmio xsave: xsaveopt to a device page writes the CPU's image",
			     do_xsaveopt, dev);
	else
		gprintf("guest: mmio xsave: no XSAVEOPT in CPUID, skipped\n");
	if (d1 & CPUIDD1_EAX_XSAVEC) {
		compare_save("mmio xsave: xsavec to a device page writes the CPU's compacted image",
			     do_xsavec, dev);
		faults_like_cpu("mmio xsave: xsavec to an area not 64-byte aligned faults like the CPU",
				do_xsavec, ram_area + XS_MISALIGN, (void *)(dev + XS_MISALIGN));
	} else {
		gprintf("guest: mmio xsave: no XSAVEC in CPUID, skipped\n");
	}
	if (!(d1 & CPUIDD1_EAX_XSAVES)) {
		gprintf("guest: mmio xsave: no XSAVES in CPUID, skipped\n");
		return;
	}
	compare_save("mmio xsave: xsaves to a device page writes the CPU's compacted image",
		     do_xsaves, dev);
	{
		static uint32_t xmm0[4] __aligned(16);

		for (unsigned i = 0; i < XS_XMM_BYTES; i++)
			dev[XS_XMM0 + i] = (uint8_t)(0xc0 + i);
		dev[XS_HEADER] |= 2; /* XSTATE_BV: SSE state from the image */
		do_xrstors((void *)dev);
		asm volatile("movdqa %%xmm0, %0" : "=m"(xmm0));
		check(xmm0[0] == 0xc3c2c1c0 && xmm0[3] == 0xcfcecdcc,
		      "mmio xsave: xrstors from a device page loads XMM0", "XMM0 %08x .. %08x",
		      xmm0[0], xmm0[3]);
	}
	ram_area[XS_COMPACTED_BYTE] &= 0x7f;
	dev[XS_COMPACTED_BYTE] &= 0x7f;
	faults_like_cpu("mmio xsave: xrstors of a standard-form image faults like the CPU",
			do_xrstors, ram_area, (void *)dev);
}

void test_mmio_xsave(uint32_t base)
{
	static const uint32_t pattern[4] __aligned(16) = {0x01234567, 0x89abcdef, 0xfedcba98,
							  0x76543210};
	static uint32_t xmm0[4] __aligned(16);
	volatile uint8_t *dev = (volatile uint8_t *)(base + XS_OFF);
	const uint32_t cr0 = read_cr0(), cr4 = read_cr4();
	unsigned first_diff = XS_BYTES;
	bool untouched = true;
	uint32_t xcr0;

	if (!(cpuid(1).ecx & CPUID1_ECX_XSAVE)) {
		gprintf("guest: mmio xsave: no XSAVE in CPUID, skipped\n");
		return;
	}
	write_cr0((cr0 & ~(XS_CR0_EM | XS_CR0_TS)) | XS_CR0_MP);
	write_cr4(cr4 | XS_CR4_OSFXSR | XS_CR4_OSXSAVE);
	xcr0 = xgetbv0();
	xsetbv0(XS_MASK);
	/* A zero header: XSAVE keeps XSTATE_BV's bits outside RFBM, and XRSTOR refuses any
	 * outside XCR0. */
	for (unsigned i = 0; i < XS_BYTES; i++) {
		ram_area[i] = i < XS_HEADER ? XS_FILL : 0;
		dev[i] = i < XS_HEADER ? XS_FILL : 0;
	}
	asm volatile("movdqa %0, %%xmm0" ::"m"(pattern));
	do_xsave(ram_area);
	do_xsave((void *)dev);
	for (unsigned i = 0; i < XS_BYTES && first_diff == XS_BYTES; i++)
		if (compared(i) && ram_area[i] != dev[i])
			first_diff = i;
	for (unsigned i = XS_SOFTWARE; i < XS_HEADER; i++)
		untouched &= dev[i] == XS_FILL;
	check(first_diff == XS_BYTES && untouched,
	      "mmio xsave: xsave to a device page writes the CPU's image (x87, SSE, XSTATE_BV)",
	      "first difference at byte %u: %02x, CPU %02x; software bytes untouched %d",
	      first_diff, first_diff < XS_BYTES ? dev[first_diff] : 0,
	      first_diff < XS_BYTES ? ram_area[first_diff] : 0, untouched);

	for (unsigned i = 0; i < XS_XMM_BYTES; i++)
		dev[XS_XMM0 + i] = (uint8_t)(0xa0 + i);
	dev[XS_HEADER] |= 2; /* XSTATE_BV: SSE state from the image */
	do_xrstor((void *)dev);
	asm volatile("movdqa %%xmm0, %0" : "=m"(xmm0));
	check(xmm0[0] == 0xa3a2a1a0 && xmm0[3] == 0xafaeadac,
	      "mmio xsave: xrstor from a device page loads XMM0", "XMM0 %08x .. %08x", xmm0[0],
	      xmm0[3]);

	ram_area[XS_XCOMP_BV + 8] = 1;
	dev[XS_XCOMP_BV + 8] = 1;
	faults_like_cpu("mmio xsave: xrstor of a header with reserved bytes set faults like the CPU",
			do_xrstor, ram_area, (void *)dev);
	faults_like_cpu("mmio xsave: xsave to an area not 64-byte aligned faults like the CPU",
			do_xsave, ram_area + XS_MISALIGN, (void *)(dev + XS_MISALIGN));
	test_xsave_variants(dev);
	xsetbv0(xcr0);
	write_cr4(cr4);
	write_cr0(cr0);
}
