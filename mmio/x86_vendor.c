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
 *  - The other undefined flags the emulator produces are the same for both: AF is cleared by
 *    AND/OR/XOR/TEST, and BT/BTS/BTR/BTC leave OF/SF/AF/PF unchanged.
 *
 * The AMD flag models were measured on family 0x19 (the differential test compares them
 * there); the Intel ones are the emulator's model from before it knew vendors and are not
 * measured (elsewhere the differential test masks undefined flags).
 *
 * Differences in instructions the emulator does not execute (near branches with a 66 prefix,
 * far JMP/CALL m16:64, BSF/BSR and shifts) are not modelled: those end as #UD.
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
