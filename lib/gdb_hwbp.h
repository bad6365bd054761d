/*
 * The debugger's hardware breakpoints and watchpoints: gdb's Z0-Z4 requests mapped onto the
 * four x86 debug-address registers DR0-DR3 and the DR7 value that enables them.
 *
 * Software breakpoints (Z0) are the target's INT3s when it plants them (gdb_target.sw_break;
 * mhv: core/gdb_swbp.c); a target without that gets them here as execute breakpoints, at
 * most four breakpoints and watchpoints together.
 */
#ifndef MHV_LIB_GDB_HWBP_H
#define MHV_LIB_GDB_HWBP_H

#include <stdbool.h>
#include <stdint.h>

#define GDB_HWBP_SLOTS 4

/* gdb's Z packet types. */
enum gdb_bp_type {
	GDB_BP_SOFT,   /* Z0 */
	GDB_BP_HARD,   /* Z1 */
	GDB_BP_WRITE,  /* Z2 */
	GDB_BP_READ,   /* Z3: x86 has no read-only watchpoint; DR7 RW=11 (read or write) */
	GDB_BP_ACCESS, /* Z4 */
	NR_GDB_BP_TYPES
};

struct gdb_hwbp {
	bool used;
	uint8_t type; /* enum gdb_bp_type */
	uint8_t len;  /* 1 for execute; 1, 2, 4 or 8 for data */
	uint64_t addr;
};

struct gdb_hwbps {
	struct gdb_hwbp slot[GDB_HWBP_SLOTS];
};

/*
 * Insert: the slot number, or -E_NOMEM when all four are taken, -E_INVAL for a length the
 * hardware cannot watch (not 1, 2, 4 or 8, or not aligned to it; 8 only when wide, i.e. in
 * long mode) or an unknown type.  Inserting the same breakpoint twice uses one slot.
 */
int gdb_hwbp_insert(struct gdb_hwbps *b, unsigned type, uint64_t addr, unsigned len, bool wide);
/* Remove: 0, or -E_NOENT when no such breakpoint is set. */
int gdb_hwbp_remove(struct gdb_hwbps *b, unsigned type, uint64_t addr, unsigned len);
/* DR7 enabling the used slots (local enables, RW and LEN fields; bit 10 reads as 1). */
uint64_t gdb_hwbp_dr7(const struct gdb_hwbps *b);
/* The slot that DR6's B0-B3 bits name, preferring data slots; -1 if none of ours hit. */
int gdb_hwbp_hit(const struct gdb_hwbps *b, uint64_t dr6);
bool gdb_hwbp_any(const struct gdb_hwbps *b);

#define DR6_B_MASK 0xFull
#define DR6_BS	   (1ull << 14)
#define DR7_FIXED1 (1ull << 10)
#define DR7_GD	   (1ull << 13)

#endif
