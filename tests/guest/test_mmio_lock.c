/*
 * LOCK'd read-modify-writes on one device word from every vCPU at once (test_smp.c starts
 * the APs and calls in here).  Every vCPU adds to counters on an mmio=ram page with
 * LOCK XADD, a LOCK CMPXCHG loop and XCHG (mhv's fast path), LOCK INC and a LOCK CMPXCHG8B
 * loop (the general emulator), and with an XCHG spinlock around plain MOVs of another
 * counter: each final value must be exact, which it is only if mhv makes each instruction's
 * device read and write one locked cycle (two device accesses lose increments when another
 * vCPU's falls between them).  Then the boot CPU's plain stores must survive the APs'
 * LOCK XADD 0 and LOCK OR 0 on the same word (a locked write of a stale value erases them).
 */
#include <stdbool.h>
#include <stdint.h>

#include "tests/guest/cpu.h"
#include "tests/guest/long_mode.h"
#include "tests/guest/report.h"
#include "tests/guest/tests.h"

#define LOCK_ITERS	 1500u	/* per vCPU and counter */
#define PLAIN_ROUNDS	 3000u	/* the boot CPU's stores against the APs' locked no-ops */
#define LOCK_WAIT_LOOPS	 400000000u
#define SPIN_GIVE_UP	 100000u /* XCHGs finding the spinlock taken, in a row */
#define GO_WAIT		 0
#define GO_RUN		 1
#define GO_SKIP		 2 /* no region, or over: an AP (a restarted one too) goes on */

/* Offsets of the words on the device page, each in its own 8 bytes. */
#define W_XADD	  0x00
#define W_CMPXCHG 0x08
#define W_INC	  0x10
#define W_CX8B	  0x18
#define W_SPIN	  0x20
#define W_GUARDED 0x28
#define W_PLAIN	  0x30
#define W_END	  0x38

static volatile uint32_t lock_go, lock_done, plain_stop, plain_aps, spin_stuck;
static volatile uintptr_t lock_page;

static inline volatile uint32_t *word(uint32_t off)
{
	return (volatile uint32_t *)(lock_page + off);
}

static inline volatile uint64_t *qword(uint32_t off)
{
	return (volatile uint64_t *)(lock_page + off);
}

static void add_xadd(void)
{
	uint32_t one = 1;

	asm volatile("lock xaddl %0, %1" : "+r"(one), "+m"(*word(W_XADD)) : : "memory", "cc");
}

static void add_cmpxchg(void)
{
	uint32_t old = *word(W_CMPXCHG);
	bool done = false;

	do { /* a failed CMPXCHG leaves what it found in EAX: the next try's old value */
		uint32_t want = old + 1;

		asm volatile("lock cmpxchgl %3, %1"
			     : "=@ccz"(done), "+m"(*word(W_CMPXCHG)), "+a"(old)
			     : "r"(want)
			     : "memory");
	} while (!done);
}

static void add_inc(void)
{
	asm volatile("lock incl %0" : "+m"(*word(W_INC)) : : "memory", "cc");
}

static void add_cmpxchg8b(void)
{
	uint64_t cur = *qword(W_CX8B); /* a first guess */
	uint32_t lo = (uint32_t)cur, hi = (uint32_t)(cur >> 32);
	bool done = false;

	do { /* a failed CMPXCHG8B leaves what it found in EDX:EAX */
		uint64_t want = ((uint64_t)hi << 32 | lo) + 1;

		asm volatile("lock cmpxchg8b %1"
			     : "=@ccz"(done), "+m"(*qword(W_CX8B)), "+a"(lo), "+d"(hi)
			     : "b"((uint32_t)want), "c"((uint32_t)(want >> 32))
			     : "memory");
	} while (!done);
}

/*
 * XCHG as a lock's acquire (implicitly locked), plain MOVs inside, a MOV as the release.  An
 * XCHG that is two accesses can also write its 1 back after the holder's release, leaving
 * the lock taken by nobody: after SPIN_GIVE_UP tries every vCPU stops using it (counted).
 */
static void add_guarded(void)
{
	uint32_t v, tries = 0;

	if (spin_stuck)
		return;
	do {
		if (++tries > SPIN_GIVE_UP) {
			spin_stuck = 1;
			return;
		}
		v = 1;
		asm volatile("xchgl %0, %1" : "+r"(v), "+m"(*word(W_SPIN)) : : "memory");
	} while (v);
	*word(W_GUARDED) = *word(W_GUARDED) + 1;
	asm volatile("" : : : "memory");
	*word(W_SPIN) = 0;
}

static void hammer(void)
{
	for (uint32_t i = 0; i < LOCK_ITERS; i++) {
		add_xadd();
		add_cmpxchg();
		add_inc();
		add_cmpxchg8b();
		add_guarded();
	}
}

void mmio_lock_ap(uint32_t index)
{
	(void)index;
	while (lock_go == GO_WAIT)
		asm volatile("pause");
	if (lock_go != GO_RUN)
		return;
	hammer();
	__atomic_add_fetch(&lock_done, 1, __ATOMIC_SEQ_CST);
	/* The second part: locked no-ops on the word the boot CPU stores to. */
	__atomic_add_fetch(&plain_aps, 1, __ATOMIC_SEQ_CST);
	for (uint32_t n = 0; !plain_stop; n++) {
		uint32_t zero = 0;

		if (n & 1)
			asm volatile("lock xaddl %0, %1" : "+r"(zero), "+m"(*word(W_PLAIN)) : : "memory", "cc");
		else
			asm volatile("lock orl $0, %0" : "+m"(*word(W_PLAIN)) : : "memory", "cc");
	}
	__atomic_add_fetch(&lock_done, 1, __ATOMIC_SEQ_CST);
}

static bool wait_for(const volatile uint32_t *p, uint32_t n)
{
	return wait_at_least(p, n, LOCK_WAIT_LOOPS);
}

static void check_count(const char *what, uint64_t got, uint64_t want)
{
	check(got == want, what, "got %llu, want %llu (%llu lost)", (unsigned long long)got,
	      (unsigned long long)want, (unsigned long long)(want - got));
}

void test_mmio_lock(uint32_t aps, uintptr_t page)
{
	uint32_t vcpus = aps + 1, want = vcpus * LOCK_ITERS, bad = 0;
	bool all;

	if (!page) {
		lock_go = GO_SKIP;
		gprintf("guest: mmio lock: no mmio=ram region: skipped\n");
		return;
	}
	lock_page = page;
	for (uint32_t off = 0; off < W_END; off += 4)
		*word(off) = 0;
	__atomic_store_n(&lock_go, GO_RUN, __ATOMIC_SEQ_CST);
	hammer();
	all = wait_for(&lock_done, aps);
	check(all, "mmio lock: every AP finished its locked increments", "%u of %u", lock_done,
	      aps);
	gprintf("guest: mmio lock: %u vCPUs x %u: XADD %u, CMPXCHG %u, INC %u, CMPXCHG8B %llu, "
		"XCHG-locked MOVs %u\n",
		vcpus, LOCK_ITERS, *word(W_XADD), *word(W_CMPXCHG), *word(W_INC),
		(unsigned long long)*qword(W_CX8B), *word(W_GUARDED));
	check_count("mmio lock: LOCK XADD on a device word from every vCPU loses no increment",
		    *word(W_XADD), want);
	check_count("mmio lock: LOCK CMPXCHG loops on a device word from every vCPU lose none",
		    *word(W_CMPXCHG), want);
	check_count("mmio lock: LOCK INC (general emulator) on a device word loses none",
		    *word(W_INC), want);
	check_count("mmio lock: LOCK CMPXCHG8B loops (general emulator) on a device qword lose none",
		    *qword(W_CX8B), want);
	check(!spin_stuck && *word(W_GUARDED) == want,
	      "mmio lock: an XCHG spinlock on a device word guards plain MOVs on another",
	      "got %u, want %u (the lock %s)", *word(W_GUARDED), want,
	      spin_stuck ? "was left taken by nobody" : "let two in at once");

	/* The boot CPU's stores against the APs' LOCK XADD 0 / LOCK OR 0 on the same word. */
	if (all && wait_for(&plain_aps, aps)) {
		for (uint32_t i = 1; i <= PLAIN_ROUNDS; i++) {
			*word(W_PLAIN) = i;
			bad += *word(W_PLAIN) != i;
		}
	}
	__atomic_store_n(&plain_stop, 1, __ATOMIC_SEQ_CST);
	all = all && wait_for(&lock_done, 2 * aps);
	gprintf("guest: mmio lock: %u of %u plain stores undone by another vCPU's locked no-op\n",
		bad, PLAIN_ROUNDS);
	check(all && bad == 0,
	      "mmio lock: a plain store is never undone by another vCPU's LOCK XADD 0 / LOCK OR 0",
	      "%u of %u stores read back otherwise (APs done: %d)", bad, PLAIN_ROUNDS, all);
	__atomic_store_n(&lock_go, GO_SKIP, __ATOMIC_SEQ_CST);
}

/* ---- CMPXCHG16B (64-bit mode only; one vCPU: the 16-byte compare-and-exchange itself) ---- */

#define LM_LOCK_OFF	 0x7E0u /* 16 device bytes no other test uses */
#define CPUID1_ECX_CX16	 (1u << 13)
#define CX16_EXPECT_LO	 0x1111222233334444ull
#define CX16_EXPECT_HI	 0x5555666677778888ull
#define CX16_NEW_LO	 0x99990000aaaa1111ull
#define CX16_NEW_HI	 0xbbbb2222cccc3333ull

void lm64_cmpxchg16b(uint32_t area, uint64_t *io);

void test_mmio_lock_lm(uintptr_t dev_page)
{
	volatile uint64_t *q = (volatile uint64_t *)(dev_page + LM_LOCK_OFF);
	uint64_t io[8] = {CX16_EXPECT_LO, CX16_EXPECT_HI, CX16_NEW_LO, CX16_NEW_HI};

	if (!(cpuid(1).ecx & CPUID1_ECX_CX16)) {
		gprintf("guest: mmio lock: no CMPXCHG16B on this CPU: not checked\n");
		return;
	}
	q[0] = CX16_EXPECT_LO;
	q[1] = CX16_EXPECT_HI;
	lm_run(lm_identity(), lm64_cmpxchg16b, (uint32_t)(dev_page + LM_LOCK_OFF), io);
	check(io[4] == 1 && q[0] == CX16_NEW_LO && q[1] == CX16_NEW_HI,
	      "mmio lock: LOCK CMPXCHG16B on device bytes that match stores RCX:RBX (ZF set)",
	      "ZF %u, bytes 0x%x%08x'%x%08x", (unsigned)io[4], (uint32_t)(q[1] >> 32),
	      (uint32_t)q[1], (uint32_t)(q[0] >> 32), (uint32_t)q[0]);
	check(io[5] == 0 && io[6] == CX16_NEW_LO && io[7] == CX16_NEW_HI && q[0] == CX16_NEW_LO &&
		      q[1] == CX16_NEW_HI,
	      "mmio lock: LOCK CMPXCHG16B on device bytes that differ loads RDX:RAX (ZF clear)",
	      "ZF %u, RAX 0x%x%08x", (unsigned)io[5], (uint32_t)(io[6] >> 32), (uint32_t)io[6]);
}
