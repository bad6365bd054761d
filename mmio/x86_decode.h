/*
 * x86 instruction decoder (length + operands) for 16-, 32- and 64-bit code.
 *
 * Pure: works on a byte buffer the caller fetched, touches nothing else.  It is used by the
 * MMIO emulator (x86_emulate.h) to understand the guest instruction behind an EPT/NPF exit,
 * so it must never misdecode: anything it cannot decode with certainty is reported as an
 * error instead of a guess.
 */
#ifndef MHV_MMIO_X86_DECODE_H
#define MHV_MMIO_X86_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define X86_MAX_INSN_LEN 15 /* SDM vol.3 "instruction length limit": longer -> #GP(0) */

enum x86_mode {
	X86_MODE_16 = 16,
	X86_MODE_32 = 32,
	X86_MODE_64 = 64,
};

/* Decoder verdicts: x86_decode() returns 0 or the negated value. */
enum x86_decode_status {
	X86_DEC_OK = 0,
	X86_DEC_TRUNCATED = 1, /* need more bytes than given: fetch the next page and retry */
	X86_DEC_TOO_LONG = 2,  /* longer than 15 bytes: hardware raises #GP(0) */
	X86_DEC_INVALID = 3,   /* invalid or unknown encoding: hardware (or we) raise #UD */
};

/* General purpose registers, Intel numbering (ModRM.reg/rm + REX extension). */
enum x86_gpr {
	X86_RAX,
	X86_RCX,
	X86_RDX,
	X86_RBX,
	X86_RSP,
	X86_RBP,
	X86_RSI,
	X86_RDI,
	X86_R8,
	X86_R9,
	X86_R10,
	X86_R11,
	X86_R12,
	X86_R13,
	X86_R14,
	X86_R15,
	X86_NR_GPRS,
};

#define X86_REG_NONE 0xff /* no base / no index register */

/* Segment registers in ModRM.reg order (MOV Sreg encoding). */
enum x86_seg {
	X86_SEG_ES,
	X86_SEG_CS,
	X86_SEG_SS,
	X86_SEG_DS,
	X86_SEG_FS,
	X86_SEG_GS,
	X86_NR_SEGS,
};
#define X86_SEG_NONE 0xff

/* Opcode maps.  Legacy maps 0..3, VEX/EVEX use the same numbers via their mmmmm field. */
enum x86_map {
	X86_MAP_ONE = 0,  /* one-byte opcodes */
	X86_MAP_0F = 1,	  /* 0F xx */
	X86_MAP_0F38 = 2, /* 0F 38 xx */
	X86_MAP_0F3A = 3, /* 0F 3A xx */
	X86_MAP_EVEX5 = 5,
	X86_MAP_EVEX6 = 6,
	X86_MAP_XOP8 = 8, /* AMD XOP maps */
	X86_MAP_XOP9 = 9,
	X86_MAP_XOPA = 10,
	X86_MAP_3DNOW = 15, /* 0F 0F modrm ... suffix: opcode is the trailing byte */
};

enum x86_encoding {
	X86_ENC_LEGACY,
	X86_ENC_VEX,
	X86_ENC_EVEX,
	X86_ENC_XOP,
};

/* Mandatory / SIMD prefix as it selects the instruction (VEX.pp numbering). */
enum x86_simd_prefix {
	X86_PFX_NONE = 0,
	X86_PFX_66 = 1,
	X86_PFX_F3 = 2,
	X86_PFX_F2 = 3,
};

/* Repeat prefix actually present (last of F2/F3). */
enum x86_rep {
	X86_REP_NONE = 0,
	X86_REP_F3 = 1, /* REP / REPE */
	X86_REP_F2 = 2, /* REPNE */
};

struct x86_insn {
	uint8_t len;	  /* total length in bytes */
	uint8_t mode;	  /* enum x86_mode the code was decoded for */
	uint8_t opsize;	  /* effective operand size in bytes: 2, 4 or 8 (byte forms use 1 in emu) */
	uint8_t addrsize; /* effective address size in bytes: 2, 4 or 8 */
	uint8_t encoding; /* enum x86_encoding */
	uint8_t map;	  /* enum x86_map */
	uint8_t opcode;	  /* the opcode byte within its map */
	uint8_t simd_pfx; /* enum x86_simd_prefix (legacy: last F2/F3 else 66; VEX/EVEX: pp) */
	uint8_t rep;	  /* enum x86_rep */
	bool lock;	  /* F0 present (validated against the opcode) */
	bool opsize_pfx;  /* 66 present */
	bool addrsize_pfx;    /* 67 present */
	uint8_t seg_override; /* enum x86_seg or X86_SEG_NONE (64-bit: only FS/GS kept) */
	uint8_t nr_prefixes;  /* legacy prefix bytes (incl. REX) before opcode/VEX */

	/* REX (or the equivalent VEX/EVEX bits, already inverted to positive sense). */
	bool rex; /* a REX prefix is in effect (changes byte regs SPL..DIL) */
	bool rex_w, rex_r, rex_x, rex_b;

	/* ModRM / SIB / displacement. */
	bool has_modrm;
	uint8_t modrm, mod, reg, rm; /* reg/rm include REX.R/REX.B (rm only if mod == 3) */
	uint8_t modrm_offset;
	bool has_sib;
	uint8_t sib;
	uint8_t disp_size; /* 0, 1, 2 or 4 (8 only for moffs) */
	uint8_t disp_offset;
	int64_t disp; /* sign-extended (moffs: zero-extended) */

	/* Memory operand (has_modrm && mod != 3, or moffs). */
	bool has_mem;
	bool rip_rel;	   /* [rip + disp32] / [eip + disp32] in 64-bit mode */
	uint8_t mem_base;  /* enum x86_gpr or X86_REG_NONE */
	uint8_t mem_index; /* enum x86_gpr or X86_REG_NONE (VSIB: vector register number) */
	uint8_t mem_scale; /* 1, 2, 4, 8 */
	uint8_t mem_seg;   /* effective segment (override or default DS/SS) */
	bool vsib;	   /* index is a vector register (gathers/scatters) */

	/* Immediates: imm[0] is the first (ENTER/far pointer/EXTRQ have a second one). */
	uint8_t imm_size[2];
	uint8_t imm_offset[2];
	uint64_t imm[2]; /* raw value, zero-extended; sign-extend by size where the insn says */
	bool imm_rel;	 /* imm[0] is a relative branch displacement */

	/* VEX / EVEX / XOP fields (positive sense). */
	uint8_t vvvv;	  /* second source register (incl. EVEX.V') */
	uint8_t vl;	  /* vector length: 0 = 128, 1 = 256, 2 = 512 */
	bool evex_z;	  /* EVEX zeroing-masking */
	bool evex_b;	  /* EVEX broadcast / rounding */
	uint8_t evex_aaa; /* opmask register */
};

/*
 * Decode one instruction from buf[0..avail).  mode is the code size (CS.L/CS.D, real or
 * v8086 mode is X86_MODE_16).  Returns 0 or -X86_DEC_TRUNCATED / -X86_DEC_TOO_LONG /
 * -X86_DEC_INVALID; *insn is only meaningful on success.  Never reads outside buf[0..avail).
 */
int x86_decode(struct x86_insn *insn, const uint8_t *buf, size_t avail, enum x86_mode mode);

#endif
