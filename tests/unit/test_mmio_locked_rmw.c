/*
 * mmio/locked_rmw, mmio/locked_insn and the ram model's compare_write: a locked read-modify-write's read and
 * write are one step for every other access, lock-free ones included; the registry refuses a
 * device with lock-free entry points but no compare_write.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/errno.h"
#include "mmio/devices.h"
#include "mmio/locked_insn.h"
#include "mmio/locked_rmw.h"
#include "mmio/x86_decode.h"
#include "mmio/region.h"

#define PAGE	     0x1000ull
#define BASE	     0x10000ull
#define THREAD_ITERS 200000u
#define LOCKERS	     2
#define THINK_PAUSES 64
#define NO_OPS_MIN   20000u

static uint8_t backing[PAGE] __attribute__((aligned(PAGE)));
static struct mmio_ram_dev ram;
static struct mmio_region region;

static int setup(void **state)
{
	(void)state;
	memset(backing, 0, sizeof(backing));
	mmio_ram_init(&ram, backing, sizeof(backing));
	region = (struct mmio_region){
		.base = BASE, .last = BASE + PAGE - 1, .ops = &mmio_ram_ops, .dev = &ram};
	return 0;
}

static bool device_lock_held(void)
{
	return __atomic_load_n(&mmio_device_lock.locked, __ATOMIC_SEQ_CST) != 0;
}

static void test_region_add_wants_compare_write_beside_lock_free_entry_points(void **state)
{
	struct mmio_dev_ops ops = mmio_ram_ops;
	struct mmio_regions rs;

	(void)state;
	mmio_regions_init(&rs);
	ops.compare_write = NULL;
	assert_int_equal(mmio_region_add(&rs, BASE, PAGE, &ops, &ram), -E_INVAL);
	ops = mmio_ram_ops; /* nor one whose lock-free entry points cannot be paused */
	ops.lock_free_pause = NULL;
	assert_int_equal(mmio_region_add(&rs, BASE, PAGE, &ops, &ram), -E_INVAL);
	assert_int_equal(mmio_region_add(&rs, BASE, PAGE, &mmio_ram_ops, &ram), 0);
	/* Without lock-free entry points none is needed (every access takes the lock). */
	assert_int_equal(mmio_region_add(&rs, BASE + PAGE, PAGE, &mmio_deny_ops, NULL), 0);
}

static void test_ram_compare_write_stores_only_what_it_expects(void **state)
{
	static const unsigned sizes[] = {1, 2, 4, 8, 16};
	uint8_t expect[16], val[16], other[16];

	(void)state;
	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		unsigned len = sizes[i];
		uint64_t off = 0x100 + 0x20 * i;
		struct mmio_access a = {.gpa = BASE + off, .offset = off, .len = len, .write = true};
		uint64_t writes = ram.writes;

		memset(backing + off, 0x11, len);
		memset(expect, 0x11, len);
		memset(val, 0xa0 + i, len);
		memset(other, 0x22, len);
		/* Not what the device holds: -E_AGAIN, nothing written nor counted. */
		assert_int_equal(mmio_ram_ops.compare_write(&ram, &a, other, val), -E_AGAIN);
		assert_memory_equal(backing + off, expect, len);
		assert_int_equal(ram.writes, writes);
		/* What it holds: stored, counted as one write of len bytes. */
		assert_int_equal(mmio_ram_ops.compare_write(&ram, &a, expect, val), 0);
		assert_memory_equal(backing + off, val, len);
		assert_int_equal(ram.writes, writes + 1);
		/* Only the word: the bytes around it untouched. */
		assert_int_equal(backing[off + len], 0);
		assert_int_equal(backing[off - 1], 0);
	}
}

static void test_ram_compare_write_refuses_misaligned_and_outside(void **state)
{
	uint32_t e = 0, v = 1;
	struct mmio_access a = {.offset = 2, .len = 4, .write = true};

	(void)state;
	assert_int_equal(mmio_ram_ops.compare_write(&ram, &a, &e, &v), -E_INVAL);
	a.offset = PAGE - 2;
	assert_int_equal(mmio_ram_ops.compare_write(&ram, &a, &e, &v), -E_RANGE);
	a.len = 3;
	a.offset = 4;
	assert_int_equal(mmio_ram_ops.compare_write(&ram, &a, &e, &v), -E_INVAL);
}

static void test_locked_fits_only_one_aligned_piece_in_the_region(void **state)
{
	(void)state;
	assert_true(mmio_locked_fits(&region, BASE, 16));
	assert_true(mmio_locked_fits(&region, BASE + 0x18, 8));
	assert_true(mmio_locked_fits(&region, BASE + PAGE - 1, 1));
	assert_false(mmio_locked_fits(&region, BASE + 4, 8));  /* misaligned */
	assert_false(mmio_locked_fits(&region, BASE + 3, 2));  /* misaligned */
	assert_false(mmio_locked_fits(&region, BASE, 3));      /* no power of two */
	assert_false(mmio_locked_fits(&region, BASE, 32));     /* wider than an access */
	assert_false(mmio_locked_fits(&region, BASE - 8, 8));  /* below */
	assert_false(mmio_locked_fits(&region, BASE + PAGE, 4)); /* beyond */
}

static void test_locked_read_holds_the_lock_until_the_write(void **state)
{
	struct mmio_locked l;
	uint32_t v = 0, nv;

	(void)state;
	memcpy(backing + 0x40, &(uint32_t){41}, 4);
	assert_int_equal(mmio_locked_read(&l, &region, BASE + 0x40, 0, &v, 4), 0);
	assert_int_equal(v, 41);
	assert_true(mmio_locked_held(&l));
	assert_true(device_lock_held());
	nv = v + 1;
	assert_int_equal(mmio_locked_write(&l, &nv), 0);
	assert_false(mmio_locked_held(&l));
	assert_false(device_lock_held());
	assert_int_equal(mmio_ram_ops.read_value[2](&ram, 0x40).val, 42);
}

static void test_locked_write_after_a_lock_free_store_changes_nothing(void **state)
{
	struct mmio_locked l;
	uint64_t v = 0, nv;

	(void)state;
	assert_int_equal(mmio_locked_read(&l, &region, BASE + 0x80, 0, &v, 8), 0);
	/* Another vCPU's plain store through the lock-free entry point, between the two. */
	assert_int_equal(mmio_ram_ops.write_value[3](&ram, 0x80, 0x1234), 0);
	nv = v + 1;
	assert_int_equal(mmio_locked_write(&l, &nv), -E_AGAIN);
	assert_false(device_lock_held());
	assert_int_equal(mmio_ram_ops.read_value[3](&ram, 0x80).val, 0x1234);
}

static void test_locked_cancel_and_errors_release_the_lock(void **state)
{
	struct mmio_locked l;
	uint32_t v;

	(void)state;
	assert_int_equal(mmio_locked_read(&l, &region, BASE + 0x20, 0, &v, 4), 0);
	mmio_locked_cancel(&l);
	assert_false(device_lock_held());
	mmio_locked_cancel(&l); /* twice: nothing */
	assert_false(device_lock_held());
	/* Not one aligned piece: refused, nothing held. */
	assert_int_equal(mmio_locked_read(&l, &region, BASE + 0x22, 0, &v, 4), -E_INVAL);
	assert_false(mmio_locked_held(&l));
	assert_false(device_lock_held());
	assert_int_equal(mmio_locked_write(&l, &v), -E_INVAL);
	/* The device's own error (the ram model past its buffer): released. */
	ram.size = 0x10;
	assert_int_equal(mmio_locked_read(&l, &region, BASE + 0x20, 0, &v, 4), -E_RANGE);
	assert_false(device_lock_held());
	ram.size = sizeof(backing);
}

/* A device without lock-free entry points: the write is its plain write, under the hold. */
static void test_locked_rmw_on_a_locked_only_device_writes_plainly(void **state)
{
	struct mmio_deny_dev deny;
	struct mmio_region r = {.base = BASE, .last = BASE + PAGE - 1, .ops = &mmio_deny_ops,
				.dev = &deny};
	struct mmio_locked l;
	uint32_t v = 0;

	(void)state;
	mmio_deny_init(&deny, NULL, NULL);
	assert_int_equal(mmio_locked_read(&l, &r, BASE + 4, 0, &v, 4), 0);
	assert_int_equal(v, 0xffffffffu);
	assert_true(device_lock_held());
	assert_int_equal(mmio_locked_write(&l, &v), 0);
	assert_false(device_lock_held());
	assert_int_equal(deny.reads, 1);
	assert_int_equal(deny.writes, 1);
}

/* ---- the general emulator's device calls during one instruction (locked_insn.c) ---------- */

static struct x86_insn decode32(const uint8_t *bytes, unsigned n)
{
	struct x86_insn in;

	assert_int_equal(x86_decode(&in, bytes, n, X86_MODE_32), 0);
	return in;
}

static void test_locked_insn_is_lock_or_xchg_with_memory(void **state)
{
	static const uint8_t lock_add[] = {0xf0, 0x01, 0x03};	 /* lock add [ebx],eax */
	static const uint8_t xchg_mem[] = {0x87, 0x03};		 /* xchg [ebx],eax */
	static const uint8_t xchg_byte[] = {0x86, 0x03};	 /* xchg [ebx],al */
	static const uint8_t xchg_reg[] = {0x87, 0xc3};		 /* xchg ebx,eax */
	static const uint8_t add_mem[] = {0x01, 0x03};		 /* add [ebx],eax */
	static const uint8_t cx8b[] = {0xf0, 0x0f, 0xc7, 0x0b};	 /* lock cmpxchg8b [ebx] */
	struct x86_insn in;

	(void)state;
	in = decode32(lock_add, sizeof(lock_add));
	assert_true(mmio_insn_locked(&in));
	in = decode32(xchg_mem, sizeof(xchg_mem));
	assert_true(mmio_insn_locked(&in));
	in = decode32(xchg_byte, sizeof(xchg_byte));
	assert_true(mmio_insn_locked(&in));
	in = decode32(cx8b, sizeof(cx8b));
	assert_true(mmio_insn_locked(&in));
	in = decode32(xchg_reg, sizeof(xchg_reg));
	assert_false(mmio_insn_locked(&in));
	in = decode32(add_mem, sizeof(add_mem));
	assert_false(mmio_insn_locked(&in));
}

static void test_locked_insn_read_then_write_of_the_word_is_one_cycle(void **state)
{
	static const uint8_t lock_add[] = {0xf0, 0x01, 0x03};
	struct x86_insn in = decode32(lock_add, sizeof(lock_add));
	struct mmio_locked l = {0};
	uint32_t v = 0, nv;
	int rc = 1;

	(void)state;
	memcpy(backing + 0x60, &(uint32_t){7}, 4);
	assert_true(mmio_locked_insn_call(&l, &in, &region, BASE + 0x60, 0, &v, 4, false, &rc));
	assert_int_equal(rc, 0);
	assert_int_equal(v, 7);
	assert_true(device_lock_held());
	nv = 8;
	assert_true(mmio_locked_insn_call(&l, &in, &region, BASE + 0x60, 0, &nv, 4, true, &rc));
	assert_int_equal(rc, 0);
	assert_false(device_lock_held());
	assert_int_equal(mmio_ram_ops.read_value[2](&ram, 0x60).val, 8);
	/* A lock-free store between the two: -E_AGAIN, the store kept. */
	assert_true(mmio_locked_insn_call(&l, &in, &region, BASE + 0x60, 0, &v, 4, false, &rc));
	assert_int_equal(mmio_ram_ops.write_value[2](&ram, 0x60, 100), 0);
	nv = v + 1;
	assert_true(mmio_locked_insn_call(&l, &in, &region, BASE + 0x60, 0, &nv, 4, true, &rc));
	assert_int_equal(rc, -E_AGAIN);
	assert_false(device_lock_held());
	assert_int_equal(mmio_ram_ops.read_value[2](&ram, 0x60).val, 100);
}

static void test_locked_insn_leaves_other_accesses_to_the_caller(void **state)
{
	static const uint8_t lock_add[] = {0xf0, 0x01, 0x03};
	static const uint8_t add_mem[] = {0x01, 0x03};
	struct x86_insn locked = decode32(lock_add, sizeof(lock_add));
	struct x86_insn plain = decode32(add_mem, sizeof(add_mem));
	struct mmio_locked l = {0};
	uint32_t v = 0;
	int rc = 1;

	(void)state;
	/* Not a locked instruction; a write first; a misaligned operand: the caller's. */
	assert_false(mmio_locked_insn_call(&l, &plain, &region, BASE, 0, &v, 4, false, &rc));
	assert_false(mmio_locked_insn_call(&l, &locked, &region, BASE, 0, &v, 4, true, &rc));
	assert_false(mmio_locked_insn_call(&l, &locked, &region, BASE + 2, 0, &v, 4, false, &rc));
	assert_false(device_lock_held());
	/* Another access while held (a page-crossing operand's other piece): released first,
	 * then the caller's; the write that follows is the caller's too. */
	assert_true(mmio_locked_insn_call(&l, &locked, &region, BASE, 0, &v, 4, false, &rc));
	assert_true(device_lock_held());
	assert_false(mmio_locked_insn_call(&l, &locked, &region, BASE + 8, 0, &v, 4, false, &rc));
	assert_false(device_lock_held());
	assert_false(mmio_locked_held(&l));
	assert_false(mmio_locked_insn_call(&l, &locked, &region, BASE, 0, &v, 4, true, &rc));
	/* A write of another word while held: released, the caller's. */
	assert_true(mmio_locked_insn_call(&l, &locked, &region, BASE, 0, &v, 4, false, &rc));
	assert_false(mmio_locked_insn_call(&l, &locked, &region, BASE + 4, 0, &v, 4, true, &rc));
	assert_false(device_lock_held());
}

/* ---- the bound: a vCPU's streak of lost locked writes pauses the lock-free entry points ---- */

/*
 * One attempt of a locked increment of the 4-byte word at off for streak s: a store straight
 * into the buffer between the read and the write when interfere (one that passed the
 * entry point's check before a pause: it cannot take the lock).  The write's result.
 */
static int bounded_attempt(struct mmio_lock_streak *s, uint64_t off, bool interfere)
{
	struct mmio_locked l;
	uint32_t v, nv;

	assert_int_equal(mmio_locked_read_bounded(&l, s, &region, BASE + off, 0, &v, 4), 0);
	if (interfere)
		__atomic_store_n((uint32_t *)(backing + off), v + 100, __ATOMIC_SEQ_CST);
	nv = v + 1;
	return mmio_locked_write(&l, &nv);
}

static void test_locked_streak_pauses_lock_free_entry_points_until_it_wins(void **state)
{
	struct mmio_lock_streak s = {0};
	struct mmio_locked l;
	uint32_t v, nv;

	(void)state;
	/* Without a streak no loss pauses anything. */
	for (unsigned i = 0; i < 2 * MMIO_LOCKED_PAUSE_AFTER; i++) {
		assert_int_equal(mmio_locked_read(&l, &region, BASE, 0, &v, 4), 0);
		assert_int_equal(ram.value_limit, PAGE);
		assert_int_equal(mmio_ram_ops.write_value[2](&ram, 0, v + 7), 0); /* lock-free */
		nv = v + 1;
		assert_int_equal(mmio_locked_write(&l, &nv), -E_AGAIN);
	}
	/* With one: the losses counted, the entry points still lock-free meanwhile. */
	for (unsigned i = 0; i < MMIO_LOCKED_PAUSE_AFTER; i++) {
		assert_int_equal(mmio_locked_read_bounded(&l, &s, &region, BASE, 0, &v, 4), 0);
		assert_int_equal(ram.value_limit, PAGE);
		assert_int_equal(mmio_ram_ops.write_value[2](&ram, 0, v + 7), 0);
		nv = v + 1;
		assert_int_equal(mmio_locked_write(&l, &nv), -E_AGAIN);
		assert_int_equal(s.fails, i + 1);
	}
	/* The next attempt pauses them: a lost one keeps the pause, a won one undoes it. */
	assert_int_equal(bounded_attempt(&s, 0, true), -E_AGAIN);
	assert_true(s.paused);
	assert_int_equal(ram.value_limit, 0);
	assert_int_equal(mmio_locked_read_bounded(&l, &s, &region, BASE, 0, &v, 4), 0);
	assert_int_equal(ram.value_limit, 0);
	nv = v + 1;
	assert_int_equal(mmio_locked_write(&l, &nv), 0);
	assert_false(s.paused);
	assert_int_equal(s.fails, 0);
	assert_int_equal(ram.value_limit, PAGE);
	assert_int_equal(ram.pausers, 0);
	assert_int_equal(mmio_ram_ops.read_value[2](&ram, 0).val, nv);
}

static void test_locked_streak_pause_ends_on_another_word_or_an_error(void **state)
{
	struct mmio_lock_streak s = {0};
	struct mmio_locked l;
	uint32_t v;

	(void)state;
	for (unsigned i = 0; i <= MMIO_LOCKED_PAUSE_AFTER; i++)
		assert_int_equal(bounded_attempt(&s, 0x10, true), -E_AGAIN);
	assert_int_equal(ram.value_limit, 0);
	/* The instruction given up: the next locked read, of another word, undoes the pause. */
	assert_int_equal(mmio_locked_read_bounded(&l, &s, &region, BASE + 0x20, 0, &v, 4), 0);
	assert_int_equal(ram.value_limit, PAGE);
	assert_int_equal(s.fails, 0);
	mmio_locked_cancel(&l);
	/* A cancelled attempt keeps the count; a device error ends the streak. */
	for (unsigned i = 0; i <= MMIO_LOCKED_PAUSE_AFTER; i++)
		assert_int_equal(bounded_attempt(&s, 0x20, true), -E_AGAIN);
	assert_int_equal(mmio_locked_read_bounded(&l, &s, &region, BASE + 0x20, 0, &v, 4), 0);
	mmio_locked_cancel(&l);
	assert_true(s.paused);
	assert_int_equal(ram.value_limit, 0);
	ram.size = 0x10; /* the word now past the buffer: the read fails */
	assert_int_equal(mmio_locked_read_bounded(&l, &s, &region, BASE + 0x20, 0, &v, 4),
			 -E_RANGE);
	ram.size = PAGE;
	assert_false(s.paused);
	assert_int_equal(ram.pausers, 0);
}

/* Two vCPUs paused at once: the entry points lock-free again only after both, and never
 * while the log is on. */
static void two_pausers(bool logging)
{
	struct mmio_lock_streak a = {0}, b = {0};
	uint64_t after = logging ? 0 : PAGE;

	if (logging)
		mmio_ram_log_on(&ram);
	for (unsigned i = 0; i < MMIO_LOCKED_PAUSE_AFTER; i++) {
		assert_int_equal(bounded_attempt(&a, 0x30, true), -E_AGAIN);
		assert_int_equal(bounded_attempt(&b, 0x38, true), -E_AGAIN);
	}
	assert_int_equal(bounded_attempt(&a, 0x30, true), -E_AGAIN); /* a keeps its pause */
	assert_int_equal(ram.pausers, 1);
	assert_int_equal(bounded_attempt(&b, 0x38, false), 0); /* b pauses, wins, undoes */
	assert_int_equal(ram.pausers, 1);
	assert_int_equal(ram.value_limit, 0);
	assert_int_equal(bounded_attempt(&b, 0x38, true), -E_AGAIN); /* b: a new streak */
	assert_false(b.paused);
	assert_int_equal(bounded_attempt(&a, 0x30, false), 0);
	assert_int_equal(ram.pausers, 0);
	assert_int_equal(ram.value_limit, after);
	/* The op itself: counted, never below zero. */
	mmio_ram_ops.lock_free_pause(&ram, true);
	mmio_ram_ops.lock_free_pause(&ram, true);
	mmio_ram_ops.lock_free_pause(&ram, false);
	assert_int_equal(ram.value_limit, 0);
	mmio_ram_ops.lock_free_pause(&ram, false);
	assert_int_equal(ram.value_limit, after);
	mmio_ram_ops.lock_free_pause(&ram, false);
	assert_int_equal(ram.pausers, 0);
	assert_int_equal(ram.value_limit, after);
}

static void test_two_pausers_restore_the_limit(void **state)
{
	(void)state;
	two_pausers(false);
}

static void test_two_pausers_keep_the_limit_zero_while_logging(void **state)
{
	(void)state;
	two_pausers(true);
}

/* ---- threads: lockers and a plain store on one word ---------------------------------------- */

static volatile int stop_lockers;

/*
 * A locked increment by 0 or 1 of the 4-byte word at 0: again from the read on -E_AGAIN.
 * think: pause hints between the read and the write, where the emulator computes.
 */
static void locked_add(uint32_t n, unsigned think)
{
	struct mmio_locked l;
	uint32_t v, nv;

	do {
		assert_int_equal(mmio_locked_read(&l, &region, BASE, 0, &v, 4), 0);
		for (unsigned i = 0; i < think; i++)
			cpu_pause_hint();
		nv = v + n;
	} while (mmio_locked_write(&l, &nv) == -E_AGAIN);
}

static void *adder(void *arg)
{
	(void)arg;
	for (unsigned i = 0; i < THREAD_ITERS; i++)
		locked_add(1, 0);
	return NULL;
}

static volatile unsigned no_ops; /* locked no-ops done: the two threads did overlap */

static void *adder_of_nothing(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&stop_lockers, __ATOMIC_SEQ_CST)) {
		locked_add(0, THINK_PAUSES);
		__atomic_add_fetch(&no_ops, 1, __ATOMIC_SEQ_CST);
	}
	return NULL;
}

static unsigned undone, stores; /* test_plain_store_survives_concurrent_locked_no_ops's */

/*
 * n threads running fn from a clean start (no stop asked, no no-ops counted), beside(), if
 * any, on this thread meanwhile; then the threads asked to stop and joined.
 */
static void run_lockers(unsigned n, void *(*fn)(void *), void (*beside)(void))
{
	pthread_t t[LOCKERS];

	assert_true(n <= LOCKERS);
	stop_lockers = 0;
	no_ops = 0;
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(pthread_create(&t[i], NULL, fn, NULL), 0);
	if (beside)
		beside();
	__atomic_store_n(&stop_lockers, 1, __ATOMIC_SEQ_CST);
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
}

static void test_threads_lose_no_increment(void **state)
{
	(void)state;
	run_lockers(LOCKERS, adder, NULL);
	assert_int_equal(mmio_ram_ops.read_value[2](&ram, 0).val, LOCKERS * THREAD_ITERS);
}

/* Plain stores, each read back, while a locker does its no-ops (counted in undone). */
static void store_beside_no_ops(void)
{
	undone = 0;
	while (!__atomic_load_n(&no_ops, __ATOMIC_SEQ_CST))
		;
	/* Until the locker has done enough beside the stores (the host may be busy). */
	for (stores = 1; stores <= THREAD_ITERS || no_ops < NO_OPS_MIN; stores++) {
		assert_int_equal(mmio_ram_ops.write_value[2](&ram, 0, stores), 0);
		for (unsigned i = 0; i < THINK_PAUSES; i++) /* past the store buffer */
			cpu_pause_hint();
		undone += mmio_ram_ops.read_value[2](&ram, 0).val != stores;
	}
}

static void test_plain_store_survives_concurrent_locked_no_ops(void **state)
{
	(void)state;
	run_lockers(1, adder_of_nothing, store_beside_no_ops);
	print_message("%u locked no-ops beside %u plain stores, %u stores undone\n", no_ops,
		      stores - 1, undone);
	assert_int_equal(undone, 0);
}

/* ---- threads: a locked increment against a plain store in a tight loop -------------------- */

#define STARVE_RUNS	     1000u
#define STARVE_BOUND	     (MMIO_LOCKED_PAUSE_AFTER + 2) /* attempts: see mmio/locked_rmw.h */
#define STARVE_UNBOUNDED_RUNS 10u
#define STARVE_GIVE_UP	     100u   /* attempts before an unbounded increment is given up */
#define STARVE_WAIT_PAUSES   5000u  /* the longest wait for a store between read and write */

static volatile unsigned plain_stores;

static void *plain_storer(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&stop_lockers, __ATOMIC_SEQ_CST)) {
		assert_int_equal(mmio_ram_ops.write_value[2](&ram, 0, plain_stores + 1), 0);
		__atomic_add_fetch(&plain_stores, 1, __ATOMIC_SEQ_CST);
	}
	return NULL;
}

/*
 * Until a store of the storer's lies wholly after the caller's read, STARVE_WAIT_PAUSES at
 * most: two counts on, as its count follows its store (the read may have seen the store
 * whose count was still to come; one count on would then let the write win beside a storer
 * that never paused).
 */
static void wait_for_a_store(void)
{
	unsigned seen = __atomic_load_n(&plain_stores, __ATOMIC_SEQ_CST);

	for (unsigned i = 0;
	     i < STARVE_WAIT_PAUSES && __atomic_load_n(&plain_stores, __ATOMIC_SEQ_CST) - seen < 2;
	     i++)
		cpu_pause_hint();
}

/*
 * runs locked increments by streak s (NULL: unbounded, each given up after STARVE_GIVE_UP
 * attempts), each attempt waiting between its read and write for the storer's next store
 * (a store always comes in, unless paused: the storer then waits for the lock, and the
 * attempt writes after STARVE_WAIT_PAUSES).  The most attempts one took; *gave_up, how
 * many were given up.
 */
static unsigned starve_runs(struct mmio_lock_streak *s, unsigned runs, unsigned *gave_up)
{
	unsigned most = 0;

	*gave_up = 0;
	while (!__atomic_load_n(&plain_stores, __ATOMIC_SEQ_CST))
		;
	for (unsigned run = 0; run < runs; run++) {
		struct mmio_locked l;
		unsigned attempts = 0;
		uint32_t v, nv;
		int rc;

		do {
			attempts++;
			assert_int_equal(mmio_locked_read_bounded(&l, s, &region, BASE, 0, &v, 4),
					 0);
			wait_for_a_store();
			nv = v + 1;
			rc = mmio_locked_write(&l, &nv);
		} while (rc == -E_AGAIN && attempts < STARVE_GIVE_UP);
		*gave_up += rc == -E_AGAIN;
		if (attempts > most)
			most = attempts;
	}
	return most;
}

static unsigned starve_most, starve_gave_up;
static struct mmio_lock_streak starve_streak;

static void bounded_beside_stores(void)
{
	starve_most = starve_runs(&starve_streak, STARVE_RUNS, &starve_gave_up);
}

static void unbounded_beside_stores(void)
{
	starve_most = starve_runs(NULL, STARVE_UNBOUNDED_RUNS, &starve_gave_up);
}

static void test_locked_rmw_beside_a_storing_loop_wins_within_the_bound(void **state)
{
	unsigned most, gave_up;

	(void)state;
	plain_stores = 0;
	run_lockers(1, plain_storer, unbounded_beside_stores);
	most = starve_most;
	gave_up = starve_gave_up;
	plain_stores = 0;
	starve_streak = (struct mmio_lock_streak){0};
	run_lockers(1, plain_storer, bounded_beside_stores);
	print_message("unbounded: at most %u attempts, %u of %u given up after %u; bounded: at "
		      "most %u attempts in %u runs (bound %u)\n",
		      most, gave_up, STARVE_UNBOUNDED_RUNS, STARVE_GIVE_UP, starve_most, STARVE_RUNS,
		      STARVE_BOUND);
	assert_int_equal(starve_gave_up, 0);
	assert_true(starve_most <= STARVE_BOUND);
	assert_false(starve_streak.paused);
	assert_int_equal(ram.pausers, 0);
	assert_int_equal(ram.value_limit, PAGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_region_add_wants_compare_write_beside_lock_free_entry_points,
				       setup),
		cmocka_unit_test_setup(test_ram_compare_write_stores_only_what_it_expects, setup),
		cmocka_unit_test_setup(test_ram_compare_write_refuses_misaligned_and_outside, setup),
		cmocka_unit_test_setup(test_locked_fits_only_one_aligned_piece_in_the_region, setup),
		cmocka_unit_test_setup(test_locked_read_holds_the_lock_until_the_write, setup),
		cmocka_unit_test_setup(test_locked_write_after_a_lock_free_store_changes_nothing,
				       setup),
		cmocka_unit_test_setup(test_locked_cancel_and_errors_release_the_lock, setup),
		cmocka_unit_test_setup(test_locked_rmw_on_a_locked_only_device_writes_plainly, setup),
		cmocka_unit_test_setup(test_locked_insn_is_lock_or_xchg_with_memory, setup),
		cmocka_unit_test_setup(test_locked_insn_read_then_write_of_the_word_is_one_cycle,
				       setup),
		cmocka_unit_test_setup(test_locked_insn_leaves_other_accesses_to_the_caller, setup),
		cmocka_unit_test_setup(test_threads_lose_no_increment, setup),
		cmocka_unit_test_setup(test_plain_store_survives_concurrent_locked_no_ops, setup),
		cmocka_unit_test_setup(test_locked_streak_pauses_lock_free_entry_points_until_it_wins,
				       setup),
		cmocka_unit_test_setup(test_locked_streak_pause_ends_on_another_word_or_an_error,
				       setup),
		cmocka_unit_test_setup(test_two_pausers_restore_the_limit, setup),
		cmocka_unit_test_setup(test_two_pausers_keep_the_limit_zero_while_logging, setup),
		cmocka_unit_test_setup(test_locked_rmw_beside_a_storing_loop_wins_within_the_bound,
				       setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
