/*
 * Differential test: mmio/x86_decode against Zydis (libzydis-dev) as the oracle.
 *
 * Enumerates every opcode of the one-byte, 0F, 0F38 and 0F3A maps with every ModRM byte,
 * several SIB/displacement fillers and prefix combinations in 16-, 32- and 64-bit mode, plus
 * VEX/EVEX/XOP and fully random byte streams.  For every stream Zydis decodes, ours must
 * decode it too, with the same length, ModRM/displacement/immediate layout and memory operand.
 * Streams Zydis rejects must be rejected by us for the one-byte map and for every instruction
 * the emulator would execute; elsewhere the accepted-but-invalid count is reported.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <Zydis/Zydis.h>

#include "mmio/x86_decode.h"
#include "mmio/x86_emulate.h"

#define MAX_REPORT    40
#define TAIL_BYTES    16
#define RANDOM_ITERS  400000
#define VEX_ITERS     150000
#define NR_FILLERS    2
#define BITS_PER_BYTE 8

static unsigned long n_both_ok, n_field_bad, n_reject_valid, n_accept_invalid_strict,
	n_accept_invalid_loose, n_total, n_too_long_bad;
static unsigned int reported_by_kind[256];
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void dump(const char *what, const uint8_t *b, size_t n, int mode, int ours, int zlen)
{
	if (reported_by_kind[(uint8_t)what[0] ^ (uint8_t)what[1]]++ >= MAX_REPORT)
		return;
	printf("# %s mode=%d ours=%d zydis_len=%d bytes:", what, mode, ours, zlen);
	for (size_t i = 0; i < n && i < X86_MAX_INSN_LEN + 1; i++)
		printf(" %02x", b[i]);
	printf("\n");
}

/* Zydis register -> Intel GPR number, X86_REG_NONE, or 0xfe for anything else (rip, vector). */
static unsigned int zgpr(ZydisRegister r)
{
	ZydisRegisterClass c = ZydisRegisterGetClass(r);

	if (r == ZYDIS_REGISTER_NONE)
		return X86_REG_NONE;
	if (c == ZYDIS_REGCLASS_GPR16 || c == ZYDIS_REGCLASS_GPR32 || c == ZYDIS_REGCLASS_GPR64)
		return (unsigned int)ZydisRegisterGetId(r);
	if (c == ZYDIS_REGCLASS_XMM || c == ZYDIS_REGCLASS_YMM || c == ZYDIS_REGCLASS_ZMM)
		return (unsigned int)ZydisRegisterGetId(r);
	return 0xfe;
}

static unsigned int zseg(ZydisRegister r)
{
	switch (r) {
	case ZYDIS_REGISTER_ES:
		return X86_SEG_ES;
	case ZYDIS_REGISTER_CS:
		return X86_SEG_CS;
	case ZYDIS_REGISTER_SS:
		return X86_SEG_SS;
	case ZYDIS_REGISTER_DS:
		return X86_SEG_DS;
	case ZYDIS_REGISTER_FS:
		return X86_SEG_FS;
	case ZYDIS_REGISTER_GS:
		return X86_SEG_GS;
	default:
		return X86_SEG_NONE;
	}
}

/* Compare layout and memory operand; returns a description of the first difference. */
static const char *compare(const struct x86_insn *in, const ZydisDecodedInstruction *z,
			   const ZydisDecodedOperand *ops)
{
	const ZydisDecodedInstructionRaw *raw = &z->raw;

	if (in->len != z->length)
		return "length";
	if (in->has_modrm != ((z->attributes & ZYDIS_ATTRIB_HAS_MODRM) ? 1 : 0))
		return "modrm presence";
	if (in->has_modrm && in->modrm_offset != raw->modrm.offset)
		return "modrm offset";
	if (in->disp_size * BITS_PER_BYTE != raw->disp.size)
		return "disp size";
	if (in->disp_size && in->disp_offset != raw->disp.offset)
		return "disp offset";
	if (in->has_modrm && in->disp_size && in->disp != raw->disp.value)
		return "disp value";
	if (in->map != X86_MAP_3DNOW) {
		for (int i = 0; i < 2; i++) {
			uint64_t mask;

			if (in->imm_size[i] * BITS_PER_BYTE != raw->imm[i].size)
				return "imm size";
			if (!in->imm_size[i])
				continue;
			mask = in->imm_size[i] >= 8
				       ? ~0ull
				       : (1ull << (in->imm_size[i] * BITS_PER_BYTE)) - 1;
			if (in->imm_offset[i] != raw->imm[i].offset ||
			    in->imm[i] != (raw->imm[i].value.u & mask))
				return "imm value";
		}
	}
	for (unsigned int i = 0; i < z->operand_count; i++) {
		const ZydisDecodedOperand *o = &ops[i];

		if (o->type != ZYDIS_OPERAND_TYPE_MEMORY ||
		    o->visibility != ZYDIS_OPERAND_VISIBILITY_EXPLICIT)
			continue;
		if (o->mem.type != ZYDIS_MEMOP_TYPE_MEM && o->mem.type != ZYDIS_MEMOP_TYPE_VSIB)
			continue;
		if (!in->has_mem)
			return "memory operand presence";
		if (o->mem.base == ZYDIS_REGISTER_RIP || o->mem.base == ZYDIS_REGISTER_EIP) {
			if (!in->rip_rel)
				return "rip-relative";
		} else if (zgpr(o->mem.base) != in->mem_base) {
			return "mem base";
		}
		if (zgpr(o->mem.index) != in->mem_index)
			return "mem index";
		if (o->mem.index != ZYDIS_REGISTER_NONE && o->mem.scale != in->mem_scale)
			return "mem scale";
		if (zseg(o->mem.segment) != in->mem_seg)
			return "mem segment";
		if (!in->has_modrm && in->disp_size < 8) {
			uint64_t mask = (1ull << (in->disp_size * BITS_PER_BYTE)) - 1;

			if (((uint64_t)o->mem.disp.value & mask) != (uint64_t)in->disp)
				return "moffs";
		} else if (in->encoding != X86_ENC_EVEX && o->mem.disp.value != in->disp) {
			return "mem disp";
		}
	}
	return NULL;
}

static void check_one(const ZydisDecoder *zd, const uint8_t *b, size_t n, enum x86_mode mode,
		      bool strict_validity)
{
	ZydisDecodedInstruction z;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	struct x86_insn in;
	ZyanStatus zs = ZydisDecoderDecodeFull(zd, b, n, &z, ops);
	int r = x86_decode(&in, b, n, mode);

	n_total++;
	/* Xeon Phi (KNC) only: MVEX and VEX mask branches are #UD on every other CPU. */
	if (ZYAN_SUCCESS(zs) &&
	    (z.encoding == ZYDIS_INSTRUCTION_ENCODING_MVEX || z.meta.isa_ext == ZYDIS_ISA_EXT_KNC ||
	     z.meta.isa_ext == ZYDIS_ISA_EXT_KNCE || z.meta.isa_ext == ZYDIS_ISA_EXT_KNCV))
		zs = ZYDIS_STATUS_DECODING_ERROR;
	if (ZYAN_SUCCESS(zs)) {
		const char *why;

		if (r) {
			n_reject_valid++;
			dump("rejects valid", b, n, mode, r, z.length);
			return;
		}
		n_both_ok++;
		why = compare(&in, &z, ops);
		if (why) {
			n_field_bad++;
			dump(why, b, n, mode, in.len, z.length);
		}
		return;
	}
	if (zs == ZYDIS_STATUS_INSTRUCTION_TOO_LONG && r != -X86_DEC_TOO_LONG) {
		n_too_long_bad++;
		dump("too long not reported", b, n, mode, r, -1);
		return;
	}
	if (r == 0) {
		/* We decode what Zydis calls invalid: an error if the emulator would run it. */
		strict_validity =
			strict_validity && in.encoding == X86_ENC_LEGACY && in.map == X86_MAP_ONE;
		if (strict_validity || x86_emu_would_execute(&in)) {
			n_accept_invalid_strict++;
			dump("accepts invalid", b, n, mode, in.len, (int)(zs & 0xff));
		} else {
			n_accept_invalid_loose++;
		}
	}
}

static const ZydisMachineMode zmode[] = {ZYDIS_MACHINE_MODE_LEGACY_16, ZYDIS_MACHINE_MODE_LEGACY_32,
					 ZYDIS_MACHINE_MODE_LONG_64};
static const ZydisStackWidth zstack[] = {ZYDIS_STACK_WIDTH_16, ZYDIS_STACK_WIDTH_32,
					 ZYDIS_STACK_WIDTH_64};
static const enum x86_mode modes[] = {X86_MODE_16, X86_MODE_32, X86_MODE_64};

/* Prefix combinations tried in front of every opcode. */
static const uint8_t prefix_sets[][4] = {
	{0},	      {1, 0x66},    {1, 0xf3},
	{1, 0xf2},    {1, 0xf0},    {2, 0x67, 0x64},
	{2, 0x48, 0}, {2, 0x45, 0}, {3, 0x66, 0xf3, 0x2e},
};

/* KNC (Xeon Phi) reuses VEX encodings that are #UD on every other CPU: keep it off. */
static void zinit(ZydisDecoder *zd, unsigned int mi)
{
	ZydisDecoderInit(zd, zmode[mi], zstack[mi]);
	ZydisDecoderEnableMode(zd, ZYDIS_DECODER_MODE_KNC, ZYAN_FALSE);
}

static void exhaustive(void)
{
	uint8_t b[32];

	for (unsigned int mi = 0; mi < 3; mi++) {
		ZydisDecoder zd;

		zinit(&zd, mi);
		for (unsigned int ps = 0; ps < sizeof(prefix_sets) / sizeof(prefix_sets[0]); ps++) {
			unsigned int np = prefix_sets[ps][0];

			if (np == 2 && prefix_sets[ps][2] == 0 && modes[mi] != X86_MODE_64)
				continue; /* REX only exists in 64-bit mode */
			for (unsigned int map = 0; map < 4; map++) {
				for (unsigned int op = 0; op < 256; op++) {
					for (unsigned int modrm = 0; modrm < 256; modrm++) {
						for (unsigned int f = 0; f < NR_FILLERS; f++) {
							size_t n = 0;

							for (unsigned int i = 0; i < np; i++)
								if (prefix_sets[ps][1 + i])
									b[n++] = prefix_sets[ps]
											    [1 + i];
							if (map)
								b[n++] = 0x0f;
							if (map == 2)
								b[n++] = 0x38;
							if (map == 3)
								b[n++] = 0x3a;
							b[n++] = (uint8_t)op;
							b[n++] = (uint8_t)modrm;
							for (unsigned int t = 0; t < TAIL_BYTES;
							     t++)
								b[n++] = (uint8_t)rng();
							if (f == 0)
								b[n - TAIL_BYTES] =
									(uint8_t)(op ^ modrm);
							check_one(&zd, b, n, modes[mi], map == 0);
						}
					}
				}
			}
		}
	}
}

static void random_streams(unsigned int iters, const uint8_t *lead, size_t nlead)
{
	uint8_t b[32];

	for (unsigned int mi = 0; mi < 3; mi++) {
		ZydisDecoder zd;

		zinit(&zd, mi);
		for (unsigned int it = 0; it < iters; it++) {
			size_t n = (size_t)(rng() % 20) + 1;

			for (size_t i = 0; i < sizeof(b); i++)
				b[i] = (uint8_t)rng();
			if (nlead)
				b[0] = lead[rng() % nlead];
			check_one(&zd, b, n, modes[mi], false);
		}
	}
}

static int tap(int n, bool ok, const char *fmt, unsigned long v)
{
	printf("%sok %d - ", ok ? "" : "not ", n);
	printf(fmt, v);
	printf("\n");
	return ok ? 0 : 1;
}

int main(void)
{
	static const uint8_t vex_leads[] = {0xc4, 0xc5, 0x62, 0x8f};
	unsigned long total_before;
	int fails = 0;

	printf("TAP version 13\n1..5\n");
	exhaustive();
	total_before = n_total;
	fails += tap(1, n_field_bad == 0,
		     "length/ModRM/disp/imm/memory operand match Zydis on %lu "
		     "legacy-map encodings both accept",
		     n_both_ok);
	printf("# %lu exhaustive streams (maps 1-byte/0F/0F38/0F3A x ModRM x prefixes x modes), "
	       "%lu accepted by us but not by Zydis outside the one-byte map\n",
	       total_before, n_accept_invalid_loose);
	random_streams(VEX_ITERS, vex_leads, sizeof(vex_leads));
	random_streams(RANDOM_ITERS, NULL, 0);
	fails += tap(2, n_field_bad == 0, "layout matches on %lu VEX/EVEX/XOP/random streams too",
		     n_total - total_before);
	fails += tap(3, n_reject_valid == 0,
		     "never rejects an encoding Zydis accepts (%lu rejected)", n_reject_valid);
	fails += tap(4, n_accept_invalid_strict == 0,
		     "never accepts an invalid one-byte-map or emulatable encoding (%lu accepted)",
		     n_accept_invalid_strict);
	fails += tap(5, n_too_long_bad == 0, "15-byte limit reported as too long (%lu misses)",
		     n_too_long_bad);
	printf("# total %lu streams, %lu decoded by both, %lu accepted by us only (non-emulated)\n",
	       n_total, n_both_ok, n_accept_invalid_loose);
	return fails ? 1 : 0;
}
