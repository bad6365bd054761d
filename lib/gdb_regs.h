/*
 * The guest's registers as gdb sees them: two layouts (x86-64 and i386) and the target
 * descriptions (qXfer:features:read:target.xml) that declare them.  The stub picks the layout
 * by the guest's mode when gdb connects: a 32-bit guest shows 32-bit registers.
 *
 * Each layout lists gdb's register numbers in order ('g' packet order, 'p'/'P' numbers):
 * gdb's own "org.gnu.gdb.i386.core" feature (GPRs, RIP/EIP, EFLAGS, the six selectors, the
 * x87 registers, which read as 0: mhv keeps no copy of the guest's FPU state), then on x86-64
 * "org.gnu.gdb.i386.segments" (fs_base, gs_base), then mhv's "org.mhv.x86.sys" (CR0, CR2,
 * CR3, CR4, EFER).
 */
#ifndef MHV_LIB_GDB_REGS_H
#define MHV_LIB_GDB_REGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where a gdb register's value comes from.  0..15: the GPRs in Intel's encoding order. */
enum gdb_reg {
	GDB_REG_RAX,
	GDB_REG_RCX,
	GDB_REG_RDX,
	GDB_REG_RBX,
	GDB_REG_RSP,
	GDB_REG_RBP,
	GDB_REG_RSI,
	GDB_REG_RDI,
	GDB_REG_R8,
	GDB_REG_R9,
	GDB_REG_R10,
	GDB_REG_R11,
	GDB_REG_R12,
	GDB_REG_R13,
	GDB_REG_R14,
	GDB_REG_R15,
	GDB_REG_RIP,
	GDB_REG_RFLAGS,
	GDB_REG_ES, /* selectors, in enum x86_seg order */
	GDB_REG_CS,
	GDB_REG_SS,
	GDB_REG_DS,
	GDB_REG_FS,
	GDB_REG_GS,
	GDB_REG_FS_BASE,
	GDB_REG_GS_BASE,
	GDB_REG_CR0,
	GDB_REG_CR2,
	GDB_REG_CR3,
	GDB_REG_CR4,
	GDB_REG_EFER,
	GDB_REG_FPU, /* an x87 register: no value kept, reads as 0 */
	NR_GDB_REGS
};

#define GDB_NR_GPRS 16
/* Registers in the largest layout, at most (x86-64 has 47). */
#define GDB_MAX_LAYOUT_REGS 48

struct gdb_reg_desc {
	const char *name;
	uint8_t bits; /* 32, 64 or 80 */
	uint8_t src;  /* enum gdb_reg */
};

struct gdb_layout {
	const char *arch; /* "i386" or "i386:x86-64" */
	const struct gdb_reg_desc *regs;
	unsigned nr;
};

extern const struct gdb_layout gdb_layout_i386;
extern const struct gdb_layout gdb_layout_x86_64;

/* Bytes the 'g' packet carries for a layout (before hex encoding). */
unsigned gdb_layout_bytes(const struct gdb_layout *l);

/* The target description for a layout, written into buf (NUL-terminated); its length, or
 * -E_NOMEM when buf is too small. */
int gdb_layout_xml(const struct gdb_layout *l, char *buf, size_t size);

#endif
