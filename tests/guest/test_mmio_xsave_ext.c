/*
 * XSAVE, XSAVEOPT, XSAVEC and XRSTOR in 32-bit protected mode with the components past SSE
 * (AVX, and AVX-512's opmask, ZMM_Hi256 and Hi16_ZMM where CPUID has them) and an area that
 * crosses a page of the mmio=ram region (mhv emulates them), against the same instructions on
 * RAM (the CPU).  Outside 64-bit mode the bytes of XMM8-15 and of the upper parts of
 * YMM8-15/ZMM8-15 and ZMM16-31 are not written: the fill must survive there on both.
 * XCR0 is set to those components for the test and put back afterwards.
 */
#include "lib/compiler.h"
#include "tests/guest/cpu.h"
#include "tests/guest/report.h"
#include "tests/guest/tests.h"

#define XE_OFF		   0x1f80u /* 64-byte aligned; crosses the region's page at 0x2000 */
#define XE_MAX		   4096u
#define XE_FILL		   0x5au
#define XE_FOP		   5 /* bytes 5-23: FOP, FIP, FDP (emulators differ) */
#define XE_MXCSR	   24
#define XE_ST0		   32
#define XE_ST_SLOT	   16
#define XE_ST_BYTES	   10
#define XE_XMM0		   160
#define XE_XMM8		   288
#define XE_HEADER	   512
#define XE_AVX		   0x7u  /* x87 | SSE | AVX */
#define XE_AVX512	   0xe0u /* opmask | ZMM_Hi256 | Hi16_ZMM */
#define XE_YMM8_H	   (576 + 128)
#define XE_AVX_COMPACTED   576
#define XE_AVX_BIT	   4u
#define CPUID1_ECX_XSAVE   (1u << 26)
#define CPUID1_ECX_AVX	   (1u << 28)
#define CPUID7_EBX_AVX512F (1u << 16)
#define CPUIDD1_XSAVEOPT   (1u << 0)
#define CPUIDD1_XSAVEC	   (1u << 1)
#define XE_CR0_MP	   (1u << 1)
#define XE_CR0_EM	   (1u << 2)
#define XE_CR0_TS	   (1u << 3)
#define XE_CR4_OSFXSR	   (1u << 9)
#define XE_CR4_OSXSAVE	   (1u << 18)

static uint8_t ram_area[XE_MAX] __aligned(64);
static uint8_t check_a[XE_MAX] __aligned(64), check_b[XE_MAX] __aligned(64);
static uint32_t xe_mask;

static void xsetbv0(uint32_t v)
{
	asm volatile("xsetbv" ::"a"(v), "d"(0), "c"(0));
}

static uint32_t xgetbv0(void)
{
	uint32_t lo, hi;

	asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return lo;
}

static void do_xsave(void *p)
{
	asm volatile("xsave (%0)" ::"r"(p), "a"(xe_mask), "d"(0) : "memory");
}

static void do_xsaveopt(void *p)
{
	asm volatile("xsaveopt (%0)" ::"r"(p), "a"(xe_mask), "d"(0) : "memory");
}

static void do_xsavec(void *p)
{
	asm volatile("xsavec (%0)" ::"r"(p), "a"(xe_mask), "d"(0) : "memory");
}

static void do_xrstor(const void *p)
{
	asm volatile("xrstor (%0)" ::"r"(p), "a"(xe_mask), "d"(0) : "memory");
}

/* YMM0-7 (and ZMM0-7, k1-7 with AVX-512) from a pattern. */
static void load_registers(bool avx512)
{
	static uint8_t pattern[64 + 8 * 8] __aligned(64);

	for (unsigned i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(0x31 + 7 * i);
	asm volatile(".irp r,0,1,2,3,4,5,6,7\n\t"
		     "vmovdqu (%0), %%ymm\\r\n\t"
		     ".endr" ::"r"(pattern)
		     : "memory");
	if (avx512)
		asm volatile(".irp r,0,1,2,3,4,5,6,7\n\t"
			     "vmovdqu32 (%0), %%zmm\\r\n\t"
			     ".endr\n\t"
			     ".irp r,1,2,3,4,5,6,7\n\t"
			     "kmovw \\r*2(%0), %%k\\r\n\t"
			     ".endr" ::"r"(pattern)
			     : "memory");
}

/* Bytes every implementation writes the same (FOP/FIP/FDP and ST padding left out). */
static bool compared(unsigned i)
{
	if (i < XE_FOP || (i >= XE_MXCSR && i < XE_ST0) || i >= XE_XMM0)
		return true;
	return (i - XE_ST0) % XE_ST_SLOT < XE_ST_BYTES;
}

/*
 * XSTATE_BV's Hi16_ZMM bit where the CPU sets it and the emulation does not: the CPU may
 * report a component in use in its initial configuration (SDM vol.1 13.6), and Bochs 2.7
 * reports ZMM16-31 in use whenever it runs outside 64-bit mode; mhv's XSAVE runs in 64-bit
 * mode, where the CPU looks at the registers (as AMD Zen 4 does in every mode: diff_xsave).
 */
#define XE_HI16_ZMM_BIT 0x80u
static bool hi16_zmm_noted;

static unsigned first_diff(const volatile uint8_t *dev, const volatile uint8_t *cpu, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint8_t d = dev[i], c = cpu[i];

		if (i == XE_HEADER && (c ^ d) == XE_HI16_ZMM_BIT && (c & XE_HI16_ZMM_BIT)) {
			if (!hi16_zmm_noted)
				gprintf("guest: mmio xsave ext: the CPU reports Hi16_ZMM in use outside "
					"64-bit mode, the emulation what the registers hold (both "
					"allowed)\n");
			hi16_zmm_noted = true;
			continue;
		}
		if (compared(i) && d != c)
			return i;
	}
	return n;
}

static void fill(volatile uint8_t *p, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = i >= XE_HEADER && i < XE_HEADER + 64 ? 0 : XE_FILL;
}

static void compare_save(const char *what, void (*save)(void *), volatile uint8_t *dev,
			 unsigned n)
{
	unsigned d;

	fill(ram_area, n);
	fill(dev, n);
	save(ram_area);
	save((void *)dev);
	d = first_diff(dev, ram_area, n);
	check(d == n && ram_area[XE_XMM8] == XE_FILL && dev[XE_XMM8] == XE_FILL, what,
	      "first difference at byte %u: %02x, CPU %02x; XMM8's bytes %02x, CPU %02x", d,
	      d < n ? dev[d] : 0, d < n ? ram_area[d] : 0, dev[XE_XMM8], ram_area[XE_XMM8]);
}

/*
 * Does the CPU's XSAVEC put AVX state where the SDM says (the first extended component of the
 * compacted form at byte 576)?  YMM0's upper half is not zero (load_registers).
 */
static bool xsavec_conforms(void)
{
	fill(ram_area, XE_MAX);
	do_xsavec(ram_area);
	if (!(ram_area[XE_HEADER] & XE_AVX_BIT))
		return true;
	for (unsigned i = 0; i < 16; i++)
		if (ram_area[XE_AVX_COMPACTED + i] != XE_FILL)
			return true;
	return false;
}

/* XRSTOR of the same image from RAM and from the device page: the same state after. */
static void compare_restore(volatile uint8_t *dev, unsigned n, bool avx512)
{
	unsigned d;

	fill(ram_area, n);
	do_xsave(ram_area);
	for (unsigned i = 0; i < 16; i++) {
		ram_area[XE_XMM0 + i] ^= 0xff;	   /* XMM0 */
		ram_area[576 + i] ^= 0xa5;	   /* YMM0's upper half */
	}
	ram_area[XE_HEADER] = (uint8_t)(xe_mask & ~(avx512 ? 0x80u : 0u)); /* Hi16_ZMM: init */
	for (unsigned i = 0; i < n; i++)
		dev[i] = ram_area[i];
	do_xrstor(ram_area);
	fill(check_a, n);
	do_xsave(check_a);
	load_registers(avx512);
	do_xrstor((void *)dev);
	fill(check_b, n);
	do_xsave(check_b);
	d = first_diff(check_b, check_a, n);
	check(d == n, "mmio xsave ext: xrstor from a device page loads what the CPU loads",
	      "state differs at byte %u: %02x, CPU %02x", d, d < n ? check_b[d] : 0,
	      d < n ? check_a[d] : 0);
}

void test_mmio_xsave_ext(uint32_t base)
{
	volatile uint8_t *dev = (volatile uint8_t *)(base + XE_OFF);
	const uint32_t cr0 = read_cr0(), cr4 = read_cr4();
	uint32_t xcr0, d0, d1, n;
	bool avx512;

	if (!(cpuid(1).ecx & CPUID1_ECX_XSAVE) || !(cpuid(1).ecx & CPUID1_ECX_AVX) ||
	    !(cpuid_count(0xd, 0).eax & 4)) {
		gprintf("guest: mmio xsave ext: no AVX state in CPUID (leaf 1 ECX %x), skipped\n",
			cpuid(1).ecx);
		return;
	}
	d0 = cpuid_count(0xd, 0).eax;
	avx512 = (d0 & XE_AVX512) == XE_AVX512 && (cpuid_count(7, 0).ebx & CPUID7_EBX_AVX512F);
	if (!avx512)
		gprintf("guest: mmio xsave ext: no AVX-512 in CPUID (leaf 0xD EAX %x, leaf 7 EBX "
			"%x): AVX only\n",
			d0, cpuid_count(7, 0).ebx);
	xe_mask = XE_AVX | (avx512 ? XE_AVX512 : 0);
	write_cr0((cr0 & ~(XE_CR0_EM | XE_CR0_TS)) | XE_CR0_MP);
	write_cr4(cr4 | XE_CR4_OSFXSR | XE_CR4_OSXSAVE);
	xcr0 = xgetbv0();
	xsetbv0(xe_mask);
	n = cpuid_count(0xd, 0).ebx; /* the standard area for this XCR0 */
	if (n > XE_MAX) {
		gprintf("guest: mmio xsave ext: area of %u bytes, skipped\n", n);
		goto out;
	}
	load_registers(avx512);
	compare_save(avx512 ? "mmio xsave ext: xsave with AVX-512 state in 32-bit mode across a "
			      "page writes the CPU's image"
			    : "mmio xsave ext: xsave with AVX state in 32-bit mode across a page "
			      "writes the CPU's image",
		     do_xsave, dev, n);
	check(dev[XE_YMM8_H] == XE_FILL,
	      "mmio xsave ext: xsave in 32-bit mode leaves YMM8-15's bytes as memory had them",
	      "YMM8_H byte %02x", dev[XE_YMM8_H]);
	d1 = cpuid_count(0xd, 1).eax;
	if (d1 & CPUIDD1_XSAVEOPT)
		compare_save("mmio xsave ext: xsaveopt in 32-bit mode across a page writes the "
			     "CPU's image",
			     do_xsaveopt, dev, n);
	else
		gprintf("guest: mmio xsave ext: no XSAVEOPT in CPUID, skipped\n");
	if (!(d1 & CPUIDD1_XSAVEC))
		gprintf("guest: mmio xsave ext: no XSAVEC in CPUID, skipped\n");
	else if (!xsavec_conforms())
		gprintf("guest: mmio xsave ext: the CPU's XSAVEC leaves byte %u alone with AVX in "
			"use (Bochs 2.7 puts the extended components right after the SSE state, at "
			"byte 416): xsavec with AVX not compared\n",
			XE_AVX_COMPACTED);
	else
		compare_save("mmio xsave ext: xsavec in 32-bit mode across a page writes the CPU's "
			     "compacted image",
			     do_xsavec, dev, n);
	compare_restore(dev, n, avx512);
out:
	xsetbv0(xcr0);
	write_cr4(cr4);
	write_cr0(cr0);
}
