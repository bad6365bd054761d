/* The CPU side of XSAVE/XRSTOR on a device page (see mmio_xsave.h). */
#include "core/mmio_xsave.h"
#include "arch/x86/cpu.h"
#include "arch/x86/paging.h"
#include "arch/x86/cpuid_msr.h"
#include "arch/x86/exception.h"
#include "arch/x86/percpu_layout.h"
#include "core/regs_abi.h"
#include "core/cpuid_guest.h"
#include "lib/compiler.h"
#include "lib/log.h"
#include "lib/string.h"
#include "mm/frame.h"
#include "mmio/x86_emulate.h"

#define XSAVE_SCRATCH	  4096 /* enough for every component but AMX's tile data */
#define XSAVE_LEGACY_HDR  576 /* legacy region and header */
#define XSAVE_LEAF	  0xD
#define XSAVE_FIRST_EXT	  2   /* components 0 and 1 live in the legacy region */
#define XSAVE_COMPONENTS  64
#define XSAVE_ALIGN64	  (1u << 1) /* CPUID.(0xD,i).ECX: 64-byte aligned when compacted */
#define XSAVE_ALIGN	  64
#define XCR_XFEATURES	  0
#define XSAVE_SUBLEAF_EXT 1
#define CPUIDD1_EAX_XSAVES (1u << 3)
#define MSR_IA32_XSS_NUM  0x00000DA0
#define CPUID1_ECX_XSAVE  (1u << 26)
#define XSAVE_BUFS_PER_CPU 2 /* the scratch area and XSAVES's copy */

static uint8_t scratch_small[HV_MAX_CPUS][XSAVE_SCRATCH] __aligned(XSAVE_ALIGN);
/* XSAVES only: never an XRSTOR/XRSTORS source (see mmio_xsaves_run). */
static uint8_t scratch_xsaves_small[HV_MAX_CPUS][XSAVE_SCRATCH] __aligned(XSAVE_ALIGN);
/* Where the CPU's largest area exceeds XSAVE_SCRATCH (AMX): per CPU, two of scratch_size
 * bytes from mhv's pool, taken once at boot (mmio_xsave_setup). */
static uint8_t *scratch_big;
static uint32_t scratch_size = XSAVE_SCRATCH;

static uint8_t *scratch(unsigned cpu)
{
	return scratch_big ? scratch_big + (uint64_t)cpu * XSAVE_BUFS_PER_CPU * scratch_size
			   : scratch_small[cpu];
}

static uint8_t *scratch_xsaves(unsigned cpu)
{
	return scratch_big ? scratch(cpu) + scratch_size : scratch_xsaves_small[cpu];
}

void mmio_xsave_setup(void)
{
	struct cpuid_regs d0, d1;
	uint64_t pa;
	uint32_t need, pages;

	if (!(cpuid(CPUID_FEATURES).ecx & CPUID1_ECX_XSAVE))
		return;
	d0 = cpuid_count(XSAVE_LEAF, 0);
	d1 = cpuid_count(XSAVE_LEAF, XSAVE_SUBLEAF_EXT);
	/* The standard form of every XCR0 component, the compacted form of all of them and of
	 * every IA32_XSS component. */
	need = MAX(d0.ecx, mmio_xsave_extent(((uint64_t)d0.edx << 32 | d0.eax) |
						     ((uint64_t)d1.edx << 32 | d1.ecx),
					     true));
	if (need <= XSAVE_SCRATCH)
		return;
	pages = (uint32_t)(ALIGN_UP(need, PAGE_SIZE) / PAGE_SIZE);
	pa = hv_alloc_pages(pages * XSAVE_BUFS_PER_CPU * HV_MAX_CPUS);
	if (pa == FRAME_NONE) {
		pr_err("mhv: XSAVE areas of %u bytes on device pages will not be emulated "
		       "(no memory for the scratch areas)\n",
		       need);
		return;
	}
	scratch_size = pages * PAGE_SIZE;
	scratch_big = phys_to_virt(pa);
}

uint8_t *mmio_xsave_scratch(unsigned cpu, uint32_t *cap, uint64_t *xcr0)
{
	uint32_t lo, hi;

	*cap = 0;
	*xcr0 = 0;
	if (cpu >= HV_MAX_CPUS || !(read_cr4() & CR4_OSXSAVE))
		return scratch_small[0];
	asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(XCR_XFEATURES));
	*cap = scratch_size;
	*xcr0 = (uint64_t)hi << 32 | lo;
	return scratch(cpu);
}

uint32_t mmio_xsave_extent(uint64_t components, bool compacted)
{
	uint32_t end = XSAVE_LEGACY_HDR;

	for (unsigned i = XSAVE_FIRST_EXT; i < XSAVE_COMPONENTS; i++) {
		if (!(components >> i & 1))
			continue;
		struct cpuid_regs r = cpuid_count(XSAVE_LEAF, i);

		if (!compacted) {
			end = MAX(end, r.ebx + r.eax);
			continue;
		}
		if (r.ecx & XSAVE_ALIGN64)
			end = ALIGN_UP(end, XSAVE_ALIGN);
		end += r.eax;
	}
	return end;
}

void mmio_xsave_run(unsigned cpu, uint64_t rfbm, bool rex_w)
{
	uint32_t lo = (uint32_t)rfbm, hi = (uint32_t)(rfbm >> 32);

	uint8_t *area = scratch(cpu);

	if (rex_w)
		asm volatile("xsave64 %0" : "+m"(*area) : "a"(lo), "d"(hi) : "memory");
	else
		asm volatile("xsave %0" : "+m"(*area) : "a"(lo), "d"(hi) : "memory");
}

void mmio_xsavec_run(unsigned cpu, uint64_t rfbm, bool rex_w)
{
	uint32_t lo = (uint32_t)rfbm, hi = (uint32_t)(rfbm >> 32);

	uint8_t *area = scratch(cpu);

	if (rex_w)
		asm volatile("xsavec64 %0" : "+m"(*area) : "a"(lo), "d"(hi) : "memory");
	else
		asm volatile("xsavec %0" : "+m"(*area) : "a"(lo), "d"(hi) : "memory");
}

uint32_t mmio_xsave_layout(unsigned i, uint32_t *size)
{
	struct cpuid_regs r = cpuid_count(XSAVE_LEAF, i);

	*size = r.eax;
	return r.ebx;
}

uint32_t mmio_xsave_features(void)
{
	if (!(cpuid(CPUID_FEATURES).ecx & CPUID1_ECX_XSAVE))
		return 0;
	return x86_xsave_features_from_cpuid(cpuid_count(XSAVE_LEAF, XSAVE_SUBLEAF_EXT).eax);
}

int mmio_xsaves_guest(uint64_t *xss)
{
	struct cpuid_regs d1;
	uint32_t r[CPUID_NR_REGS];

	if (!(cpuid(CPUID_FEATURES).ecx & CPUID1_ECX_XSAVE))
		return -1;
	d1 = cpuid_count(XSAVE_LEAF, XSAVE_SUBLEAF_EXT);
	r[CPUID_REG_EAX] = d1.eax;
	r[CPUID_REG_EBX] = d1.ebx;
	r[CPUID_REG_ECX] = d1.ecx;
	r[CPUID_REG_EDX] = d1.edx;
	cpuid_policy_apply(cpuid_guest_policy(), XSAVE_LEAF, XSAVE_SUBLEAF_EXT, r);
	if (!(r[CPUID_REG_EAX] & CPUIDD1_EAX_XSAVES))
		return -1;
	*xss = rdmsr(MSR_IA32_XSS_NUM); /* the guest's: mhv passes IA32_XSS through */
	return 0;
}

/*
 * XSAVES may skip a component unmodified since the last XRSTOR/XRSTORS from the same linear
 * address (the modified optimization).  Every emulated restore runs from scratch(cpu), which
 * holds only what the guest's memory held before this save: so XSAVES runs on a copy in a
 * buffer no restore ever uses, and the result goes back.  (A guest's own XRSTORS in VMX
 * non-root operation is tracked apart from root operation, SDM vol.1 13.6.)
 */
void mmio_xsaves_run(unsigned cpu, uint64_t rfbm, bool rex_w)
{
	uint32_t lo = (uint32_t)rfbm, hi = (uint32_t)(rfbm >> 32);

	uint8_t *copy = scratch_xsaves(cpu);

	memcpy(copy, scratch(cpu), scratch_size);
	if (rex_w)
		asm volatile("xsaves64 %0" : "+m"(*copy) : "a"(lo), "d"(hi) : "memory");
	else
		asm volatile("xsaves %0" : "+m"(*copy) : "a"(lo), "d"(hi) : "memory");
	memcpy(scratch(cpu), copy, scratch_size);
}

/*
 * One restore instruction (insn) from this CPU's scratch area with the mask in EDX:EAX; the
 * CPU checks the header, XCOMP_BV and MXCSR, and its #GP in mhv (the fixup) clears ok: that
 * is the guest's #GP.
 */
#define XRSTOR_CHECKED(insn, cpu, lo, hi, ok)                                                    \
	asm volatile("1: " insn " %[area]\n"                                                     \
		     "2:\n" EXTABLE_ENTRY(1b, 3f) ".pushsection .text.fixup, \"ax\"\n"             \
						  "3: movb $0, %[ok]\n\t"                       \
						  "jmp 2b\n"                                     \
						  ".popsection\n"                                \
		     : [ok] "+qm"(ok)                                                                \
		     : [area] "m"(*scratch(cpu)), "a"(lo), "d"(hi)                                   \
		     : "memory")

bool mmio_xrstors_run(unsigned cpu, uint64_t rfbm, bool rex_w)
{
	uint32_t lo = (uint32_t)rfbm, hi = (uint32_t)(rfbm >> 32);
	bool ok = true;

	if (rex_w)
		XRSTOR_CHECKED("xrstors64", cpu, lo, hi, ok);
	else
		XRSTOR_CHECKED("xrstors", cpu, lo, hi, ok);
	return ok;
}

bool mmio_xrstor_run(unsigned cpu, uint64_t rfbm, bool rex_w)
{
	uint32_t lo = (uint32_t)rfbm, hi = (uint32_t)(rfbm >> 32);
	bool ok = true;

	if (rex_w)
		XRSTOR_CHECKED("xrstor64", cpu, lo, hi, ok);
	else
		XRSTOR_CHECKED("xrstor", cpu, lo, hi, ok);
	return ok;
}
