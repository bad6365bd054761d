/*
 * The MMIO short path: a repeated device access from the same instruction goes straight to
 * the device.  The fast path (mmio_fast.c) fills one entry per vCPU with what it found: the
 * instruction's RIP, CS and bytes, its decode, the device page and region, and what the
 * instruction does to a register, worked out once.  The next exit on the same device page
 * from the same RIP, with the same bytes under the cached code translation, needs no walk, no
 * decode and no region lookup: the CPU has already done segmentation, paging and the rights
 * checks, and the exit gives the operand's guest-physical address.
 */
#ifndef MHV_CORE_MMIO_SHORT_H
#define MHV_CORE_MMIO_SHORT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/mmio_forms.h"
#include "mmio/device.h"
#include "mmio/x86_decode.h"

struct vcpu;
struct mmio_region;
struct vcpu_segment;
struct gw_regs;
struct vcpu_exec_state;

/* The key of an invalid entry: a GPA bit no CPU has, so that no exit's key is within max_off of
 * it (core/mmio_short_hit.h). */
#define MMIO_SHORT_NO_KEY    (1ull << 62)
#define MMIO_SHORT_WRITE_BIT 63 /* the direction, in a key's top bit (GPAs stay below 2^52) */
#define MMIO_GENERAL_PAGE_SIZE 4096u /* the general entry keys 4 KiB device pages */

/* The decode mode CS gives (CS.L, CS.D), as an entry keeps it and a hit compares it. */
#define VCPU_CS_L  1u
#define VCPU_CS_DB 2u

static inline uint8_t mmio_short_cs_mode(bool cs_long, bool cs_db)
{
	return (cs_long ? VCPU_CS_L : 0) | (cs_db ? VCPU_CS_DB : 0);
}

/*
 * How a hit replays the entry's instruction (mmio_short_replay_inline() in
 * core/mmio_short_hit.h: one jump on it, each case a few instructions), worked out at fill.
 * A load's register write is a store of the register's width into gpr[] at gpr_off (the
 * register's bytes, + 1 for AH/CH/DH/BH), which leaves the other bytes as the CPU does.
 */
enum mmio_short_kind {
	MMIO_SHORT_REST,   /* out of line (mmio_short_exit_rest): ALU, RSP, a 9-15 byte insn */
	MMIO_SHORT_LOAD,   /* MOV/MOVZX to 32 or 64 bits: the zero-extended value is the register */
	MMIO_SHORT_LOAD16, /* MOV r16 / MOVZX r16: the value's low 2 bytes stored */
	MMIO_SHORT_LOAD8,  /* MOV r8 (AH..BH too): the value's low byte stored */
	MMIO_SHORT_SEXT8,  /* MOVSX r32/r64, byte: sign-extended, masked to the width */
	MMIO_SHORT_SEXT16, /* MOVSX r32/r64, word: the same */
	MMIO_SHORT_SEXT32, /* MOVSXD r64 (or r32), dword: the same */
	MMIO_SHORT_SEXT8W, /* MOVSX r16, byte: sign-extended, 2 bytes stored */
	MMIO_SHORT_STORE,  /* MOV [m],r / MOV [m],imm: the 8 bytes at src, the device keeps its size */
	MMIO_SHORT_KINDS
};

/*
 * An instruction the fast path left to the general emulator (mmio_fast.c's form memo said
 * "general"), remembered with its decode: a repeated exit for it on the same device page in
 * the same direction takes the general emulator straight away (vcpu_mmio_general_exit in
 * mmio_exit.c), without the exit core's classification and the fetch and decode.  Kept under
 * the MOV entry's rules (its code pointer is dropped with every guest TLB flush, with the MOV
 * entry, by mmio_short_invalidate()); a hit compares the decode mode and all of CS.
 */
struct mmio_general {
	uint64_t page; /* the device page's address; MMIO_SHORT_NO_KEY when invalid */
	uint64_t rip;
	uint64_t cs_base;
	uint32_t cs_limit;
	uint32_t cs_attr;
	uint16_t cs_selector;
	bool locked; /* mmio_insn_locked(&insn), worked out at fill */
	bool write;  /* the exit's direction */
	const uint8_t *code; /* as mmio_short.code */
	uint64_t code_lo;    /* the 8 bytes at code when filled */
	uint64_t code_hi;    /* bytes 8-15 of the instruction, zero past its end */
	uint64_t mask_hi;    /* which bytes of code_hi are the instruction's */
	/* EFER.LMA | CR0.PE at fill (disjoint bits): with CS's attributes (L, D/B) the same and
	 * RFLAGS.VM clear, they fix the decode mode (insn.mode, the one they give with VM clear:
	 * no entry otherwise); a hit compares them instead of working the mode out again. */
	uint64_t mode_key;
	struct x86_insn insn;
};

struct mmio_short {
	/* What a hit compares, in its order (core/mmio_short_hit.h). */
	uint64_t key;	   /* the device page's address, | 1 << MMIO_SHORT_WRITE_BIT for a store,
			    * + off_bias */
	uint64_t max_off;  /* the last page offset the operand fits at (PAGE_SIZE - size),
			    * - off_bias */
	uint64_t rip;
	uint64_t cs_base;
	uint64_t cs_key;   /* the backend's raw CS selector/rights word (vcpu_ops.cs_key) */
	const uint8_t *code; /* the instruction's bytes: the code translation's page when filled,
			      * kept like a TLB entry (every guest TLB flush drops this entry) */
	uint64_t code_lo;  /* the 8 bytes at code when filled: the instruction and what follows */
	uint8_t kind;	   /* enum mmio_short_kind */
	uint8_t gpr_off;   /* a load: the byte offset in gpr[] it writes */
	uint8_t size;	   /* bytes of the memory operand */
	uint8_t cs_mode;   /* VCPU_CS_L | VCPU_CS_DB when filled */
	uint8_t off_bias;  /* 1 for an operand wider than a byte: offset 0 keys out of range */
	bool write;	   /* the access's direction (a store, or the write of a read-modify-write) */
	uint8_t reg;	   /* the register operand (GPR_RSP goes through vcpu_ops) */
	uint8_t shift;	   /* 8 for AH/CH/DH/BH, else 0 */
	/* The device access: dev_offset + the page offset, through the device's lock-free entry
	 * points (mmio/device.h) or mmio_short.c's locked ones (dev is then this entry). */
	void *dev;
	uint64_t dev_offset; /* the device page's offset in its region, + off_bias */
	struct mmio_value (*read_value)(void *dev, uint64_t offset); /* of the operand's size */
	int (*write_value)(void *dev, uint64_t offset, uint64_t val);
	const uint8_t *src; /* a store: gpr[reg]'s bytes (+ 1 for AH..BH), or imm_val's */
	uint64_t val_mask; /* a load: the register-width bits of the value */
	uint64_t next_rip; /* past the instruction (wrapped at 4 GiB outside 64-bit mode) */
	/* The rest: the fill's own compare and the forms replayed out of line. */
	uint64_t code_hi;  /* bytes 8-15 of the instruction, zero past its end */
	uint64_t mask_hi;  /* which bytes of code_hi are the instruction's */
	uint64_t imm_val;  /* a store of an immediate: the value */
	uint64_t keep_mask; /* a load: the register bits it leaves alone */
	bool sign;	   /* a load sign-extends from size bytes */
	bool imm;	   /* a store of imm_val */
	bool alu;	   /* an ALU form (mmio_forms.h): replayed through vcpu_mmio_form() */
	uint64_t insn_gen; /* vcpu.insn_cache's gen when filled or last found unchanged */
	uint64_t gfn;	   /* the device page */
	uint64_t code_la;  /* CS.base + RIP when filled */
	const struct mmio_region *region;
	struct mmio_access access; /* the device access, its gpa and offset set per hit */
	struct mmio_form form; /* what the instruction does (its direction, its size) */
	struct x86_insn insn;
	struct mmio_general general; /* kept apart: a MOV fill leaves it */
};

/* The MOV entry holds an instruction (an invalid one has no key: one store drops it). */
static inline bool mmio_short_valid(const struct mmio_short *e)
{
	return e->key != MMIO_SHORT_NO_KEY;
}

/*
 * The entry already holds the instruction vcpu.insn_cache decoded at generation insn_gen (the
 * same bytes, length, mode and address) for this RIP, device page, region and CS, and the
 * bytes after it are still the ones it compares: a fill would change nothing.
 */
static inline bool mmio_short_holds(const struct mmio_short *e, uint64_t insn_gen, uint64_t rip,
				    uint64_t gfn, const struct mmio_region *region,
				    uint64_t cs_base, uint8_t cs_mode, uint64_t cs_key)
{
	uint64_t window;

	if (!mmio_short_valid(e))
		return false;
	/* The bytes after the instruction are compared by a hit too: rewritten, they need a
	 * fill (the decode, of the instruction's bytes only, may still be the same). */
	__builtin_memcpy(&window, e->code, sizeof(window));
	return e->insn_gen == insn_gen && e->rip == rip && e->gfn == gfn && e->region == region &&
	       e->cs_base == cs_base && e->cs_mode == cs_mode && e->cs_key == cs_key &&
	       window == e->code_lo;
}
/*
 * Remember a MOV form the fast path just completed (code_la: the linear address it was
 * decoded from; only an instruction the code-translation cache served is kept).  The caller
 * has found that mmio_short_holds() does not already hold it.
 */
void mmio_short_fill(struct vcpu *v, const struct x86_insn *in, const struct mmio_form *form,
		     uint64_t rip, const struct vcpu_segment *cs, uint64_t cs_key, uint64_t code_la,
		     uint64_t gpa, const struct mmio_region *region);

/*
 * The parts of mmio_short_exit() (core/mmio_short_hit.h) out of line: an exit at page offset
 * 0 for an entry wider than a byte (is it the second half of a split access?), as
 * mmio_short_exit() after the key compare (the rest of vcpu_exec_state as arguments); and a hit of kind MMIO_SHORT_REST at the biased
 * offset off, as mmio_short_exit() from the replay on.
 */
bool mmio_short_exit_zero(struct vcpu *v, uint64_t rip, uint64_t rflags, uint64_t cs_base,
			  uint64_t cs_key, unsigned cpl);
bool mmio_short_exit_rest(struct vcpu *v, uint64_t off);

/*
 * Remember instruction in (decoded by vcpu.insn_cache from code_la), which the fast path left
 * to the general emulator after an exit on gpa's page (write: the exit's direction), CS,
 * RIP and the paging registers (regs) as at the exit: see struct mmio_general.  Nothing is
 * kept without the code translation.
 */
void mmio_short_fill_general(struct vcpu *v, const struct x86_insn *in, uint64_t rip,
			     const struct vcpu_segment *cs, const struct gw_regs *regs,
			     uint64_t code_la, uint64_t gpa, bool write);

/*
 * A backend's nested page fault / EPT violation at rip for the final translation of a data
 * access to gpa (gla: its linear address, if the exit gives one), with no event delivery in progress,
 * after the MOV entry missed (mhv's own state loaded: the general emulator may run): if the
 * general entry holds the instruction at RIP, the exit is done by the general emulator, as
 * vcpu_exit_npf() would have done it, and true returned.  Else false, nothing changed.
 */
bool vcpu_mmio_general_exit(struct vcpu *v, uint64_t rip, uint64_t gpa, uint64_t gla,
			    bool gla_valid, bool write);

/* Every guest TLB flush drops the entries, like the code translation they rely on. */
static inline void mmio_short_invalidate(struct mmio_short *e)
{
	e->key = MMIO_SHORT_NO_KEY;
	e->general.page = MMIO_SHORT_NO_KEY;
}

/* The general entry is on gpa's page: a backend tests it inline (one compare for a miss)
 * before mmio_general_at() and vcpu_mmio_general_exit(), which checks the rest. */
static inline bool mmio_general_keyed(const struct mmio_short *e, uint64_t gpa)
{
	return (gpa & ~(uint64_t)(MMIO_GENERAL_PAGE_SIZE - 1)) == e->general.page;
}

/* ... and its instruction's RIP (another one on the same page, say a string move, misses
 * here without a call). */
static inline bool mmio_general_at(const struct mmio_short *e, uint64_t rip)
{
	return rip == e->general.rip;
}

#endif
