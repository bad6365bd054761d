/*
 * The read-modify-write forms mhv's MMIO fast path does without the general emulator
 * (core/mmio_rmw.c): group-2 shifts and rotates, NOT, NEG, XCHG, BT/BTS/BTR/BTC imm8, LOCK
 * CMPXCHG and LOCK XADD, each run over a grid of memory values, register operands (shift
 * counts), accumulators (CMPXCHG equal and not) and incoming flags, once on a variable in RAM
 * (the CPU) and once on a device page of an mmio=ram region, compared: memory, both registers,
 * and the flags the SDM defines for that count and size (undefined ones are left out, as the
 * emulators under test need not model them like the host CPU mhv's emulator follows).
 * Paging is off (physical addresses), the region is the first ram region mhv reports.
 */
#include "core/hypercall_abi.h"
#include "lib/fmt.h"
#include "tests/guest/hv.h"
#include "tests/guest/report.h"
#include "tests/guest/tests.h"

#define RMW_OFF	  0x3f40u /* the region's last page, clear of test_mmio_forms.c's words */
#define RMW_MIN	  0x4000u
#define FL_CF	  (1u << 0)
#define FL_PF	  (1u << 2)
#define FL_ZF	  (1u << 6)
#define FL_SF	  (1u << 7)
#define FL_OF	  (1u << 11)
#define FL_SZP	  (FL_SF | FL_ZF | FL_PF)
#define FL_OSZPC  (FL_OF | FL_SZP | FL_CF)
#define FL_ARITH  0x8d5u /* CF PF AF ZF SF OF: what the grid sets on the way in */
#define FL_IF	  (1u << 9)
#define FL_FIXED  (1u << 1)
#define SHIFT_CNT 0x1fu /* counts are masked to 5 bits below 64-bit operands */

/* Flags defined after the instruction, for the masked count where it matters. */
enum rmw_flags { DEF_SHIFT, DEF_ROTATE, DEF_ARITH, DEF_NONE, DEF_CF };

typedef uint32_t (*rmw_fn)(volatile void *p, uint32_t *reg, uint32_t *acc, uint32_t flags);

/* insn: %0 the memory operand, %1 the register operand, %2 EAX. */
#define RMW_FN(name, type, regc, insn)                                                             \
	static uint32_t name(volatile void *p, uint32_t *reg, uint32_t *acc, uint32_t flags)       \
	{                                                                                          \
		uint32_t out, r = *reg, a = *acc;                                                  \
                                                                                                   \
		asm volatile("pushl %4; popfl\n\t" insn "\n\tpushfl; popl %3"                      \
			     : "+m"(*(volatile type *)p), "+" regc(r), "+a"(a), "=&r"(out)         \
			     : "g"(flags)                                                          \
			     : "cc", "memory");                                                    \
		*reg = r;                                                                          \
		*acc = a;                                                                          \
		return out;                                                                        \
	}

RMW_FN(shl_cl32, uint32_t, "c", "shll %%cl, %0")
RMW_FN(shr_cl32, uint32_t, "c", "shrl %%cl, %0")
RMW_FN(sar_cl32, uint32_t, "c", "sarl %%cl, %0")
RMW_FN(sal_cl16, uint16_t, "c", "salw %%cl, %0")
RMW_FN(shr_cl8, uint8_t, "c", "shrb %%cl, %0")
RMW_FN(rol_cl32, uint32_t, "c", "roll %%cl, %0")
RMW_FN(ror_cl32, uint32_t, "c", "rorl %%cl, %0")
RMW_FN(rcl_cl32, uint32_t, "c", "rcll %%cl, %0")
RMW_FN(rcr_cl32, uint32_t, "c", "rcrl %%cl, %0")
RMW_FN(shl_imm32, uint32_t, "q", "shll $5, %0")
RMW_FN(sar_one32, uint32_t, "q", "sarl $1, %0")
RMW_FN(rol_imm8, uint8_t, "q", "rolb $3, %0")
RMW_FN(not32, uint32_t, "q", "notl %0")
RMW_FN(neg32, uint32_t, "q", "negl %0")
RMW_FN(lock_neg8, uint8_t, "q", "lock negb %0")
RMW_FN(xchg32, uint32_t, "q", "xchgl %1, %0")
RMW_FN(xchg16, uint16_t, "q", "xchgw %w1, %0")
RMW_FN(xchg_ah, uint8_t, "q", "xchgb %%ah, %0")
RMW_FN(bt32, uint32_t, "q", "btl $17, %0")
RMW_FN(bts32, uint32_t, "q", "lock btsl $3, %0")
RMW_FN(btr32, uint32_t, "q", "btrl $31, %0")
RMW_FN(btc16, uint16_t, "q", "btcw $21, %0") /* 21 mod 16: bit 5 */
RMW_FN(cmpxchg32, uint32_t, "q", "lock cmpxchgl %1, %0")
RMW_FN(cmpxchg8, uint8_t, "q", "cmpxchgb %b1, %0")
RMW_FN(xadd32, uint32_t, "q", "lock xaddl %1, %0")
RMW_FN(xadd16, uint16_t, "q", "xaddw %w1, %0")

struct rmw_case {
	const char *name;
	rmw_fn fn;
	enum rmw_flags def;
	uint8_t size; /* operand bytes */
	bool by_reg;  /* the count is the register operand (CL) */
	int8_t count; /* a fixed count (imm8, 1), when not by_reg */
};

static const struct rmw_case cases[] = {
	{"shl m32, cl", shl_cl32, DEF_SHIFT, 4, true, 0},
	{"shr m32, cl", shr_cl32, DEF_SHIFT, 4, true, 0},
	{"sar m32, cl", sar_cl32, DEF_SHIFT, 4, true, 0},
	{"sal m16, cl", sal_cl16, DEF_SHIFT, 2, true, 0},
	{"shr m8, cl", shr_cl8, DEF_SHIFT, 1, true, 0},
	{"rol m32, cl", rol_cl32, DEF_ROTATE, 4, true, 0},
	{"ror m32, cl", ror_cl32, DEF_ROTATE, 4, true, 0},
	{"rcl m32, cl", rcl_cl32, DEF_ROTATE, 4, true, 0},
	{"rcr m32, cl", rcr_cl32, DEF_ROTATE, 4, true, 0},
	{"shl m32, 5", shl_imm32, DEF_SHIFT, 4, false, 5},
	{"sar m32, 1", sar_one32, DEF_SHIFT, 4, false, 1},
	{"rol m8, 3", rol_imm8, DEF_ROTATE, 1, false, 3},
	{"not m32", not32, DEF_NONE, 4, false, 0},
	{"neg m32", neg32, DEF_ARITH, 4, false, 0},
	{"lock neg m8", lock_neg8, DEF_ARITH, 1, false, 0},
	{"xchg m32, r32", xchg32, DEF_NONE, 4, false, 0},
	{"xchg m16, r16", xchg16, DEF_NONE, 2, false, 0},
	{"xchg m8, ah", xchg_ah, DEF_NONE, 1, false, 0},
	{"bt m32, 17", bt32, DEF_CF, 4, false, 0},
	{"lock bts m32, 3", bts32, DEF_CF, 4, false, 0},
	{"btr m32, 31", btr32, DEF_CF, 4, false, 0},
	{"btc m16, 21", btc16, DEF_CF, 2, false, 0},
	{"lock cmpxchg m32, r32", cmpxchg32, DEF_ARITH, 4, false, 0},
	{"cmpxchg m8, r8", cmpxchg8, DEF_ARITH, 1, false, 0},
	{"lock xadd m32, r32", xadd32, DEF_ARITH, 4, false, 0},
	{"xadd m16, r16", xadd16, DEF_ARITH, 2, false, 0},
};

static const uint32_t mems[] = {0x80000001u, 0x12345678u, 0, 0xffffffffu, 0x00008080u};
static const uint32_t regs[] = {0, 1, 3, 7, 0x21, 31, 0x87654380u}; /* CL: 0 1 3 7 1 31 0 */

/* The flags the SDM defines after c's instruction with masked count cnt. */
static uint32_t defined(const struct rmw_case *c, unsigned int cnt)
{
	unsigned int bits = 8u * c->size;

	switch (c->def) {
	case DEF_SHIFT:
		if (!cnt)
			return FL_OSZPC; /* not affected */
		if (cnt > bits)
			return 0;
		return FL_SZP | (cnt < bits ? FL_CF : 0) | (cnt == 1 ? FL_OF : 0);
	case DEF_ROTATE:
		if (!cnt)
			return FL_OSZPC;
		return (cnt < bits ? FL_CF : 0) | (cnt == 1 ? FL_OF : 0) | FL_SZP; /* SZP kept */
	case DEF_ARITH:
		return FL_OSZPC;
	case DEF_NONE:
		return FL_OSZPC;
	default:
		return FL_CF;
	}
}

static uint32_t ram_word;

/* Every grid point of c on RAM and at dev; the first mismatch is reported. */
static void run_case(const struct rmw_case *c, volatile uint32_t *dev, const char *name)
{
	unsigned int points = 0, bad = 0;
	char first[128] = "";
	uint32_t if_now;

	asm volatile("pushfl; popl %0" : "=r"(if_now));
	if_now &= FL_IF;

	for (unsigned int m = 0; m < sizeof(mems) / sizeof(mems[0]); m++)
		for (unsigned int r = 0; r < sizeof(regs) / sizeof(regs[0]); r++)
			for (unsigned int k = 0; k < 4; k++) {
				uint32_t fl = (k & 1) ? FL_ARITH : 0;
				uint32_t acc = (k & 2) ? mems[m] : ~mems[m];
				uint32_t rr = regs[r], ra = acc, dr = regs[r], da = acc;
				uint32_t cnt =
					c->by_reg ? regs[r] & 0xff & SHIFT_CNT : (uint32_t)c->count;
				uint32_t fr, fd, def = defined(c, cnt);

				/* A flags image the CPU keeps: bit 1 set, IF as it was. */
				fl |= FL_FIXED | if_now;
				ram_word = mems[m];
				*dev = mems[m];
				fr = c->fn(&ram_word, &rr, &ra, fl);
				fd = c->fn(dev, &dr, &da, fl);
				points++;
				if (ram_word == *dev && rr == dr && ra == da && !((fr ^ fd) & def))
					continue;
				if (!bad++)
					fmt_snprintf(
						first, sizeof(first),
						"mem %08x reg %08x eax %08x flags %03x: memory "
						"%08x/%08x reg %08x/%08x eax %08x/%08x flags "
						"%03x/%03x",
						mems[m], regs[r], acc, fl, ram_word, *dev, rr, dr,
						ra, da, fr & def, fd & def);
			}
	check(!bad, name, "%u of %u grid points differ (CPU/emulated), first: %s", bad, points,
	      first);
}


void test_mmio_rmw(void)
{
	uint32_t base;
	char name[96];

	if (!hv_present() || !(base = hv_ram_region(RMW_MIN))) {
		gprintf("guest: mmio rmw: no mmio=ram region, skipped\n");
		return;
	}
	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fmt_snprintf(name, sizeof(name), "mmio rmw: %s on a device page matches the CPU",
			     cases[i].name);
		run_case(&cases[i], (volatile uint32_t *)(base + RMW_OFF), name);
	}
}
