/*
 * Thin wrappers around the x86 instructions the guest tests use, for 32-bit protected mode.
 * (arch/x86/cpu.h is mhv's own 64-bit version: its CR accessors use 64-bit registers.)
 */
#ifndef MHV_TESTS_GUEST_CPU_H
#define MHV_TESTS_GUEST_CPU_H

#include <stdbool.h>
#include <stdint.h>
#include "arch/x86/cpuid_msr.h"

#define DEFINE_CR_ACCESSORS(n)                                                                     \
	static inline uint32_t read_cr##n(void)                                                    \
	{                                                                                          \
		uint32_t v;                                                                        \
		asm volatile("mov %%cr" #n ", %0" : "=r"(v));                                      \
		return v;                                                                          \
	}                                                                                          \
	static inline void write_cr##n(uint32_t v)                                                 \
	{                                                                                          \
		asm volatile("mov %0, %%cr" #n ::"r"(v) : "memory");                               \
	}
DEFINE_CR_ACCESSORS(0)
DEFINE_CR_ACCESSORS(2)
DEFINE_CR_ACCESSORS(3)
DEFINE_CR_ACCESSORS(4)
#undef DEFINE_CR_ACCESSORS

/* RDMSR/WRMSR of a 64-bit value (#GP on an MSR the CPU lacks: wrap in run_catching). */
static inline uint64_t rdmsr64(uint32_t msr)
{
	uint32_t lo, hi;

	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return (uint64_t)hi << 32 | lo;
}

static inline void wrmsr64(uint32_t msr, uint64_t v)
{
	asm volatile("wrmsr" ::"c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static inline void invlpg(uintptr_t va)
{
	asm volatile("invlpg (%0)" ::"r"(va) : "memory");
}

/* Volatile accesses: the compiler must issue exactly one load or store of the address. */
/* Under Bochs (clock sync=none) and QEMU -icount shift=0 this counts retired instructions. */
static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi)::"memory");
	return ((uint64_t)hi << 32) | lo;
}

static inline uint32_t mmio_read32(uintptr_t addr)
{
	return *(volatile const uint32_t *)addr;
}

static inline void mmio_write32(uintptr_t addr, uint32_t v)
{
	*(volatile uint32_t *)addr = v;
}

/* Spin (PAUSE) until *p reaches at_least, for at most loops rounds: false if it never did
 * (another CPU that was to count it is stuck or lost). */
static inline bool wait_at_least(const volatile uint32_t *p, uint32_t at_least, uint32_t loops)
{
	for (uint32_t i = 0; i < loops; i++) {
		if (*p >= at_least)
			return true;
		asm volatile("pause");
	}
	return false;
}

static inline void __attribute__((noreturn)) cpu_halt_forever(void)
{
	for (;;)
		asm volatile("cli; hlt");
}

/* Control-register bits (SDM Vol. 3 2.5). */
#define CR0_PE	 (1u << 0)
#define CR0_WP	 (1u << 16)
#define CR0_PG	 (1u << 31)
#define CR4_DE	 (1u << 3)
#define CR4_PSE	 (1u << 4)
#define CR4_VMXE (1u << 13)

/* MSRs the guest touches that arch/x86/msr.h (mhv's VMX/SVM list) does not name. */
#define MSR_IA32_APIC_BASE 0x0000001B
#define APIC_BASE_BSP	   (1ull << 8)
#define APIC_BASE_EN	   (1ull << 11)
#define MSR_IA32_PAT	   0x00000277
#define MSR_EFER	   0xC0000080
#define EFER_SVME	   (1ull << 12)

/* Exception vectors. */
#define VEC_DE		     0
#define VEC_BP		     3
#define VEC_UD		     6
#define VEC_GP		     13
#define VEC_PF		     14
#define NR_EXCEPTION_VECTORS 32

#endif
