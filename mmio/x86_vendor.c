/*
 * Where Intel and AMD CPUs differ in what a guest can observe, the emulator follows the vendor
 * of the CPU the guest runs on (struct x86_emu_ctx.vendor).  Every difference is decided here:
 *
 *  - REP MOVS/STOS/CMPS/LODS/SCAS with a 32-bit address size and ECX = 0: Intel writes ECX
 *    (and for MOVS/STOS also ESI/EDI), zero-extending them into RCX/RSI/RDI; AMD leaves all
 *    three untouched.
 *  - MUL/IMUL leave SF, ZF, AF and PF undefined: AMD leaves them unchanged; Intel is
 *    modelled as setting SF/ZF/PF from the low half of the product and clearing AF.
 *  - DIV/IDIV leave all six arithmetic flags undefined: AMD leaves CF/OF unchanged, clears
 *    SF/ZF/PF and sets AF, whatever the operands and incoming flags; Intel is modelled as
 *    leaving them unchanged.
 *  - SHL/SHR/SAR/SHLD/SHRD leave AF undefined: AMD sets it, Intel is modelled as clearing it.
 *    OF after a shift or rotate by more than 1 follows the count-1 formula on both (AMD
 *    measured), except SHLD on AMD: MSB(result) XOR CF (and CF itself for a 16-bit count of
 *    16).  A shift/rotate by a masked count of 0 still zero-extends a 32-bit register.
 *  - SHLD/SHRD of a 16-bit operand by 17..31 (result undefined): AMD rotates the source by
 *    count - 16 and clears CF (and OF for SHLD); Intel is modelled as shifting a:b:a.
 *  - BSF/BSR with a zero source: AMD leaves the destination untouched; Intel zero-extends a
 *    32-bit one (its architects' word, as Linux documents).  Flags: AMD clears CF/OF/SF/AF
 *    and sets PF from the bit index (from 0 for a zero source); Intel is modelled as leaving
 *    them unchanged.
 *  - TZCNT/LZCNT: AMD clears SF/AF/PF and keeps OF; Intel is modelled as keeping all four.
 *  - SMSW/SLDT/STR r32 in 64-bit mode: AMD writes the low half and keeps bits 63:32
 *    (measured); Intel is modelled as a 32-bit register write (zero-extended).
 *  - The other undefined flags the emulator produces are the same for both: AF is cleared by
 *    AND/OR/XOR/TEST, and BT/BTS/BTR/BTC leave OF/SF/AF/PF unchanged.
 *
 * The AMD flag models were measured on family 0x19 (the differential test compares them
 * there); the Intel ones are not measured (the differential test masks undefined flags and
 * undefined results there).
 *
 *  - PUSH ES/CS/SS/DS/FS/GS with a 32-bit operand size: recent Intel cores store the selector
 *    with a 16-bit move, leaving bytes 2-3 of the stack slot unchanged (SDM PUSH); AMD stores
 *    it zero-extended to 32 bits (measured on family 0x19 in compatibility mode).  A 64-bit
 *    push zero-extends on both.
 *  - Near CALL/JMP/RET with a 66 prefix in 64-bit mode: Intel ignores it (64-bit operand
 *    size), AMD uses 16 bits (and a rel16 for CALL): the decoder follows Intel's lengths, so
 *    on AMD these end as #UD (reported as not emulated).
 *
 * Far JMP/CALL through m16:64 (REX.W ignored on AMD) is not emulated: it ends as #UD.
 */
#include "mmio/x86_emu_internal.h"
#include "lib/string.h"

/* CPUID leaf 0 vendor strings, as EBX, EDX, ECX read in that order. */
#define VENDOR_ID_LEN 12
static const char *const amd_vendor_ids[] = {
	"AuthenticAMD",
	"HygonGenuine",
};

enum x86_vendor x86_vendor_from_cpuid(uint32_t ebx, uint32_t edx, uint32_t ecx)
{
	char id[VENDOR_ID_LEN];

	memcpy(id, &ebx, sizeof(ebx));
	memcpy(id + 4, &edx, sizeof(edx));
	memcpy(id + 8, &ecx, sizeof(ecx));
	for (unsigned int i = 0; i < sizeof(amd_vendor_ids) / sizeof(amd_vendor_ids[0]); i++)
		if (!memcmp(id, amd_vendor_ids[i], VENDOR_ID_LEN))
			return X86_VENDOR_AMD;
	return X86_VENDOR_INTEL;
}

bool x86v_rep_zero_count_writes(enum x86_vendor v)
{
	return v == X86_VENDOR_INTEL;
}

void x86v_mul_undef_flags(enum x86_vendor v, unsigned int size, uint64_t lo, uint64_t *flags)
{
	const uint64_t undef = X86_FL_SF | X86_FL_ZF | X86_FL_AF | X86_FL_PF;

	if (v == X86_VENDOR_AMD)
		return;
	*flags = (*flags & ~undef) | (x86_szp(lo, size) & (X86_FL_SF | X86_FL_ZF | X86_FL_PF));
}

void x86v_div_undef_flags(enum x86_vendor v, uint64_t *flags)
{
	if (v != X86_VENDOR_AMD)
		return;
	*flags &= ~(X86_FL_SF | X86_FL_ZF | X86_FL_PF);
	*flags |= X86_FL_AF;
}

#define CPUID1_ECX_POPCNT  (1u << 23)
#define CPUID1_ECX_SSE42   (1u << 20)
#define CPUID7_EBX_BMI1	   (1u << 3)
#define CPUID_EXT1_ECX_ABM (1u << 5)

uint32_t x86_features_from_cpuid(uint32_t leaf1_ecx, uint32_t leaf7_ebx, uint32_t ext1_ecx)
{
	return ((leaf1_ecx & CPUID1_ECX_POPCNT) ? X86_FEAT_POPCNT : 0) |
	       ((leaf1_ecx & CPUID1_ECX_SSE42) ? X86_FEAT_SSE42 : 0) |
	       ((leaf7_ebx & CPUID7_EBX_BMI1) ? X86_FEAT_BMI1 : 0) |
	       ((ext1_ecx & CPUID_EXT1_ECX_ABM) ? X86_FEAT_LZCNT : 0);
}

#define CPUIDD1_EAX_XSAVEOPT (1u << 0)
#define CPUIDD1_EAX_XSAVEC   (1u << 1)

uint32_t x86_xsave_features_from_cpuid(uint32_t leafd1_eax)
{
	return ((leafd1_eax & CPUIDD1_EAX_XSAVEOPT) ? X86_FEAT_XSAVEOPT : 0) |
	       ((leafd1_eax & CPUIDD1_EAX_XSAVEC) ? X86_FEAT_XSAVEC : 0);
}

void x86v_shift_undef_flags(enum x86_vendor v, unsigned int size, unsigned int cnt, uint64_t *flags)
{
	(void)size;
	(void)cnt;
	if (v == X86_VENDOR_AMD)
		*flags |= X86_FL_AF;
	else
		*flags &= ~X86_FL_AF;
}

/* x86v_shxd_flags's OF (the SDM defines it for cnt 1 only; cf: the result's CF). */
static bool shxd_of(enum x86_vendor v, bool left, unsigned int size, unsigned int cnt, uint64_t a,
		    uint64_t res, bool cf)
{
	unsigned int bits = size * BYTE_BITS;
	bool msb = (res >> (bits - 1)) & 1;

	if (cnt == 1 || v != X86_VENDOR_AMD) /* Intel: the count-1 rule for every count */
		return msb != ((a >> (bits - 1)) & 1);
	if (cnt == bits) /* 16-bit SHLD/SHRD by 16 */
		return left ? cf : msb != ((res >> (bits - 2)) & 1);
	if (cnt > bits) /* 16-bit SHLD past 16: OF clear; SHRD keeps its rule */
		return left ? false : msb != ((res >> (bits - 2)) & 1);
	return left ? msb != cf : msb != ((res >> (bits - 2)) & 1);
}

uint64_t x86v_shxd_flags(enum x86_vendor v, bool left, unsigned int size, unsigned int cnt,
			 uint64_t a, uint64_t res, uint64_t flags)
{
	if (shxd_of(v, left, size, cnt, a, res, flags & X86_FL_CF))
		flags |= X86_FL_OF;
	x86v_shift_undef_flags(v, size, cnt, &flags);
	return flags;
}

void x86v_rotate_undef_flags(enum x86_vendor v, unsigned int cnt, uint64_t *flags)
{
	(void)v;
	(void)cnt;
	(void)flags;
}

bool x86v_shift_zero_count_writes_reg(enum x86_vendor v, unsigned int size)
{
	(void)v;
	return size == 4;
}

uint64_t x86v_shxd16_wide(enum x86_vendor v, bool left, uint64_t a, uint64_t b, unsigned int cnt,
			  bool *cf)
{
	const unsigned int bits = 16;
	uint64_t m = 0xffff, wide;
	unsigned int c = cnt - bits;

	if (v == X86_VENDOR_AMD) {
		/* AMD rotates the source by count - 16 and clears CF. */
		*cf = false;
		if (left)
			return ((b << c) | (b >> (bits - c))) & m;
		return ((b >> c) | (b << (bits - c))) & m;
	}
	/* Intel is modelled as shifting the 48-bit a:b:a (SHLD) or a:b:a read from the right. */
	if (left) {
		wide = (a << 32) | (b << 16) | a;
		*cf = (wide >> (48 - cnt)) & 1;
		return (wide >> (32 - cnt)) & m;
	}
	wide = a | (b << 16) | (a << 32);
	*cf = (wide >> (cnt - 1)) & 1;
	return (wide >> cnt) & m;
}

void x86v_bitscan_undef_flags(enum x86_vendor v, uint64_t index, uint64_t *flags)
{
	if (v != X86_VENDOR_AMD)
		return;
	*flags &= ~(X86_FL_CF | X86_FL_OF | X86_FL_SF | X86_FL_AF | X86_FL_PF);
	*flags |= x86_szp(index, 1) & X86_FL_PF;
}

bool x86v_bitscan_zero_extends(enum x86_vendor v)
{
	return v == X86_VENDOR_INTEL;
}

void x86v_count_undef_flags(enum x86_vendor v, uint64_t *flags)
{
	if (v == X86_VENDOR_AMD)
		*flags &= ~(X86_FL_SF | X86_FL_AF | X86_FL_PF);
}

bool x86v_sys_r32_keeps_upper(enum x86_vendor v)
{
	return v == X86_VENDOR_AMD;
}

bool x86v_push_sreg32_writes_word(enum x86_vendor v)
{
	return v == X86_VENDOR_INTEL;
}

bool x86v_near_branch_honours_66(enum x86_vendor v)
{
	return v == X86_VENDOR_AMD;
}

/* Far JMP/CALL through m16:64 (REX.W): AMD CPUs ignore REX.W and read m16:32. */
bool x86v_far_pointer_honours_rex_w(enum x86_vendor v)
{
	return v == X86_VENDOR_INTEL;
}
