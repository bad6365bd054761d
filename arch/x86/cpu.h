/* Thin wrappers around privileged x86 instructions. */
#ifndef MHV_ARCH_X86_CPU_H
#define MHV_ARCH_X86_CPU_H

#include <stdbool.h>
#include <stdint.h>
#include "arch/x86/cpuid_msr.h"
#include "core/regs_abi.h"

/* RDMSR that survives a #GP (unimplemented MSR): returns false instead of faulting. */
bool rdmsr_safe(uint32_t msr, uint64_t *val);

#define DEFINE_CR_ACCESSORS(n)                                                                     \
	static inline uint64_t read_cr##n(void)                                                    \
	{                                                                                          \
		uint64_t v;                                                                        \
		asm volatile("mov %%cr" #n ", %0" : "=r"(v));                                      \
		return v;                                                                          \
	}                                                                                          \
	static inline void write_cr##n(uint64_t v)                                                 \
	{                                                                                          \
		asm volatile("mov %0, %%cr" #n ::"r"(v) : "memory");                               \
	}
DEFINE_CR_ACCESSORS(0)
DEFINE_CR_ACCESSORS(2)
DEFINE_CR_ACCESSORS(3)
DEFINE_CR_ACCESSORS(4)
#undef DEFINE_CR_ACCESSORS

static inline uint64_t read_rflags(void)
{
	uint64_t f;

	asm volatile("pushfq; popq %0" : "=r"(f));
	return f;
}

static inline void cpu_relax(void)
{
	asm volatile("pause" ::: "memory");
}

static inline void __attribute__((noreturn)) cpu_halt_forever(void)
{
	for (;;)
		asm volatile("cli; hlt");
}

#endif
