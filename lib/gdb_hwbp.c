/* gdb's breakpoints and watchpoints on the x86 debug registers (SDM Vol. 3, 18.2). */
#include "lib/gdb_hwbp.h"
#include "lib/errno.h"

#define DR7_L_BIT(n)	 (1ull << ((n) * 2))
#define DR7_RW_SHIFT(n)	 (16 + (n) * 4)
#define DR7_LEN_SHIFT(n) (18 + (n) * 4)
#define DR7_RW_EXEC	 0ull
#define DR7_RW_WRITE	 1ull
#define DR7_RW_ACCESS	 3ull
/* LEN encodings: 00 = 1 byte, 01 = 2, 11 = 4, 10 = 8. */
#define DR7_LEN_1 0ull
#define DR7_LEN_2 1ull
#define DR7_LEN_8 2ull
#define DR7_LEN_4 3ull

static bool is_exec(unsigned type)
{
	return type == GDB_BP_SOFT || type == GDB_BP_HARD;
}

static bool same(const struct gdb_hwbp *s, unsigned type, uint64_t addr, unsigned len)
{
	/* gdb's "kind" for execute breakpoints is an instruction length: ignore it. */
	return s->used && s->type == type && s->addr == addr && (is_exec(type) || s->len == len);
}

int gdb_hwbp_insert(struct gdb_hwbps *b, unsigned type, uint64_t addr, unsigned len, bool wide)
{
	int free_slot = -1;

	if (type >= NR_GDB_BP_TYPES)
		return -E_INVAL;
	if (is_exec(type)) {
		len = 1;
	} else if ((len != 1 && len != 2 && len != 4 && !(len == 8 && wide)) ||
		   (addr & (len - 1))) {
		return -E_INVAL;
	}
	for (int i = 0; i < GDB_HWBP_SLOTS; i++) {
		if (same(&b->slot[i], type, addr, len))
			return i;
		if (!b->slot[i].used && free_slot < 0)
			free_slot = i;
	}
	if (free_slot < 0)
		return -E_NOMEM;
	b->slot[free_slot] = (struct gdb_hwbp){true, (uint8_t)type, (uint8_t)len, addr};
	return free_slot;
}

int gdb_hwbp_remove(struct gdb_hwbps *b, unsigned type, uint64_t addr, unsigned len)
{
	for (int i = 0; i < GDB_HWBP_SLOTS; i++)
		if (same(&b->slot[i], type, addr, len)) {
			b->slot[i].used = false;
			return 0;
		}
	return -E_NOENT;
}

static uint64_t len_field(unsigned len)
{
	switch (len) {
	case 2:
		return DR7_LEN_2;
	case 4:
		return DR7_LEN_4;
	case 8:
		return DR7_LEN_8;
	default:
		return DR7_LEN_1;
	}
}

uint64_t gdb_hwbp_dr7(const struct gdb_hwbps *b)
{
	uint64_t dr7 = DR7_FIXED1;

	for (int i = 0; i < GDB_HWBP_SLOTS; i++) {
		const struct gdb_hwbp *s = &b->slot[i];
		uint64_t rw;

		if (!s->used)
			continue;
		rw = is_exec(s->type) ? DR7_RW_EXEC
		     : s->type == GDB_BP_WRITE ? DR7_RW_WRITE
					       : DR7_RW_ACCESS;
		dr7 |= DR7_L_BIT(i) | rw << DR7_RW_SHIFT(i);
		if (!is_exec(s->type))
			dr7 |= len_field(s->len) << DR7_LEN_SHIFT(i);
	}
	return dr7;
}

int gdb_hwbp_hit(const struct gdb_hwbps *b, uint64_t dr6)
{
	int exec = -1;

	for (int i = 0; i < GDB_HWBP_SLOTS; i++) {
		if (!b->slot[i].used || !(dr6 & (1ull << i)))
			continue;
		if (!is_exec(b->slot[i].type))
			return i;
		if (exec < 0)
			exec = i;
	}
	return exec;
}

bool gdb_hwbp_any(const struct gdb_hwbps *b)
{
	for (int i = 0; i < GDB_HWBP_SLOTS; i++)
		if (b->slot[i].used)
			return true;
	return false;
}
