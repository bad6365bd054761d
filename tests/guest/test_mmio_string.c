/*
 * String instructions on a device page at their edges (mhv's string path, core/
 * mmio_string.c, and the general emulator behind it): a REP MOVSD that runs off the device
 * page into an unmapped one must fault at the first element of that page with ECX, ESI and
 * EDI there and the elements before it done; REP MOVSD from the device to itself, up and
 * with DF=1; REP STOSD with DF=1; REP LODSD; and a REP MOVSB longer than one exit's budget.  Paging is on (test_mmio.c's window): dev_page is a device
 * page, the page after it unmapped.
 */
#include "lib/fmt.h"
#include "tests/guest/cpu.h"
#include "tests/guest/report.h"
#include "tests/guest/tests.h"
#include "tests/guest/trap.h"

#define PAGE_SIZE   4096u
#define EDGE_ELEMS  4 /* two in the device page, two past it */
#define EDGE_IN	    2
#define STOS_OFF    0x10
#define LODS_OFF    0x20
#define LODS_ELEMS  3
#define LONG_OFF    0x100
#define LONG_LEN    3000 /* bytes: more than one exit's budget of elements */
#define FILL	    0xEEEEEEEEu
#define D2D_SRC_OFF 0x40 /* device -> device: source and destination in the device page */
#define D2D_DST_OFF 0x80
#define D2D_ELEMS   5
#define SEED	    0x6b1c2d3eu
#define STEP	    0x01010101u

struct str_run {
	uint32_t d, s, c, a; /* EDI, ESI, ECX, EAX in and out */
};

static void movsd_up(void *arg)
{
	struct str_run *r = arg;

	asm volatile("cld; rep movsl" : "+D"(r->d), "+S"(r->s), "+c"(r->c)::"memory");
}

static void movsd_down(void *arg)
{
	struct str_run *r = arg;

	asm volatile("std; rep movsl; cld" : "+D"(r->d), "+S"(r->s), "+c"(r->c)::"memory");
}

static void stosd_down(void *arg)
{
	struct str_run *r = arg;

	asm volatile("std; rep stosl; cld" : "+D"(r->d), "+c"(r->c) : "a"(r->a) : "memory");
}

static void lodsd_up(void *arg)
{
	struct str_run *r = arg;

	asm volatile("cld; rep lodsl" : "+S"(r->s), "+c"(r->c), "=a"(r->a)::"memory");
}

static void movsb_up(void *arg)
{
	struct str_run *r = arg;

	asm volatile("cld; rep movsb" : "+D"(r->d), "+S"(r->s), "+c"(r->c)::"memory");
}

static uint32_t ram[EDGE_ELEMS];
static uint8_t long_ram[LONG_LEN];

static void edge_fault(uintptr_t dev_page, bool to_dev)
{
	uintptr_t edge = dev_page + PAGE_SIZE - EDGE_IN * sizeof(uint32_t);
	volatile uint32_t *dev = (volatile uint32_t *)edge;
	struct str_run r = {.c = EDGE_ELEMS};
	char what[96];
	uint32_t bad = 0;
	struct fault f;

	for (uint32_t i = 0; i < EDGE_ELEMS; i++)
		ram[i] = to_dev ? SEED + i * STEP : FILL;
	for (uint32_t i = 0; i < EDGE_IN; i++)
		dev[i] = to_dev ? FILL : SEED + i * STEP;
	r.d = to_dev ? edge : (uintptr_t)ram;
	r.s = to_dev ? (uintptr_t)ram : edge;
	run_catching(movsd_up, &r, &f);
	fmt_snprintf(what, sizeof(what),
		     "mmio string: rep movsd %s off the page: #PF at the first unmapped element",
		     to_dev ? "ram->mmio" : "mmio->ram");
	check(f.raised && f.vector == VEC_PF && f.cr2 == dev_page + PAGE_SIZE &&
		      f.ecx == EDGE_ELEMS - EDGE_IN &&
		      f.edi == (to_dev ? edge : (uintptr_t)ram) + EDGE_IN * 4 &&
		      f.esi == (to_dev ? (uintptr_t)ram : edge) + EDGE_IN * 4,
	      what, "%s cr2 0x%x ecx %u esi 0x%x edi 0x%x", f.raised ? trap_name(f.vector) : "none",
	      f.cr2, f.ecx, f.esi, f.edi);
	for (uint32_t i = 0; i < EDGE_IN; i++)
		bad += (to_dev ? dev[i] : ram[i]) != SEED + i * STEP;
	for (uint32_t i = EDGE_IN; i < EDGE_ELEMS; i++)
		bad += !to_dev && ram[i] != FILL;
	fmt_snprintf(what, sizeof(what),
		     "mmio string: rep movsd %s off the page: the elements before the fault done",
		     to_dev ? "ram->mmio" : "mmio->ram");
	check_eq(what, bad, 0);
}

static void stos_down(uintptr_t dev_page)
{
	volatile uint32_t *dev = (volatile uint32_t *)(dev_page + STOS_OFF);
	struct str_run r = {.d = dev_page + STOS_OFF + 3 * 4, .c = 4, .a = SEED};
	uint32_t bad = 0;
	struct fault f;

	for (uint32_t i = 0; i < 4; i++)
		dev[i] = FILL;
	run_catching(stosd_down, &r, &f);
	check_no_fault("mmio string: rep stosd DF=1 to mmio runs", &f);
	for (uint32_t i = 0; i < 4; i++)
		bad += dev[i] != SEED;
	check(bad == 0 && r.c == 0 && r.d == dev_page + STOS_OFF - 4,
	      "mmio string: rep stosd DF=1 to mmio: data, ECX and EDI", "%u wrong, ecx %u edi 0x%x",
	      bad, r.c, r.d);
}

static void lods(uintptr_t dev_page)
{
	volatile uint32_t *dev = (volatile uint32_t *)(dev_page + LODS_OFF);
	struct str_run r = {.s = dev_page + LODS_OFF, .c = LODS_ELEMS};
	struct fault f;

	for (uint32_t i = 0; i < LODS_ELEMS; i++)
		dev[i] = SEED + i * STEP;
	run_catching(lodsd_up, &r, &f);
	check_no_fault("mmio string: rep lodsd from mmio runs", &f);
	check(r.a == SEED + (LODS_ELEMS - 1) * STEP && r.c == 0 &&
		      r.s == dev_page + LODS_OFF + LODS_ELEMS * 4,
	      "mmio string: rep lodsd from mmio: EAX is the last element, ECX and ESI end right",
	      "eax 0x%x ecx %u esi 0x%x", r.a, r.c, r.s);
}

static void long_movsb(uintptr_t dev_page)
{
	const volatile uint8_t *dev = (const volatile uint8_t *)(dev_page + LONG_OFF);
	struct str_run r = {.d = dev_page + LONG_OFF, .s = (uintptr_t)long_ram, .c = LONG_LEN};
	uint32_t bad = 0;
	struct fault f;

	for (uint32_t i = 0; i < LONG_LEN; i++)
		long_ram[i] = (uint8_t)(SEED >> (i % 4 * 8)) ^ (uint8_t)i;
	run_catching(movsb_up, &r, &f);
	check_no_fault("mmio string: rep movsb of 3000 bytes to mmio runs", &f);
	for (uint32_t i = 0; i < LONG_LEN; i++)
		bad += dev[i] != long_ram[i];
	check(bad == 0 && r.c == 0, "mmio string: rep movsb of 3000 bytes to mmio: all arrive",
	      "%u wrong, ecx %u", bad, r.c);
}

/* REP MOVSD device -> device (the exit reports the source's read; the destination is
 * translated): each element read then written, registers at the end, up and with DF=1. */
static void movsd_dev_to_dev(uintptr_t dev_page, bool down)
{
	volatile uint32_t *src = (volatile uint32_t *)(dev_page + D2D_SRC_OFF);
	volatile uint32_t *dst = (volatile uint32_t *)(dev_page + D2D_DST_OFF);
	const uint32_t last = (D2D_ELEMS - 1) * sizeof(uint32_t);
	struct str_run r = {.s = (uintptr_t)src + (down ? last : 0),
			    .d = (uintptr_t)dst + (down ? last : 0),
			    .c = D2D_ELEMS};
	uint32_t bad = 0;
	int32_t step = down ? -(int32_t)sizeof(uint32_t) : (int32_t)sizeof(uint32_t);
	char what[96];
	struct fault f;

	for (uint32_t i = 0; i < D2D_ELEMS; i++) {
		src[i] = SEED + i * STEP + down;
		dst[i] = FILL;
	}
	run_catching(down ? movsd_down : movsd_up, &r, &f);
	fmt_snprintf(what, sizeof(what), "mmio string: rep movsd mmio->mmio%s runs",
		     down ? " DF=1" : "");
	check_no_fault(what, &f);
	for (uint32_t i = 0; i < D2D_ELEMS; i++)
		bad += dst[i] != SEED + i * STEP + down;
	fmt_snprintf(what, sizeof(what), "mmio string: rep movsd mmio->mmio%s: data, ECX, ESI, EDI",
		     down ? " DF=1" : "");
	check(bad == 0 && r.c == 0 &&
		      r.s == (uintptr_t)src + (down ? last : 0) + D2D_ELEMS * step &&
		      r.d == (uintptr_t)dst + (down ? last : 0) + D2D_ELEMS * step,
	      what, "%u wrong, ecx %u esi 0x%x edi 0x%x", bad, r.c, r.s, r.d);
}

void test_mmio_string_edges(uintptr_t dev_page)
{
	movsd_dev_to_dev(dev_page, false);
	movsd_dev_to_dev(dev_page, true);
	edge_fault(dev_page, true);
	edge_fault(dev_page, false);
	stos_down(dev_page);
	lods(dev_page);
	long_movsb(dev_page);
}
