/*
 * The debug-address registers DR0-DR3.  Neither VMX nor SVM switches them on VM entry or
 * exit, and mhv never uses them: what the hardware holds is the guest's (or, while a debugger
 * has breakpoints set, the debugger's: core/gdbstub.c).
 */
#ifndef MHV_ARCH_X86_DEBUGREG_H
#define MHV_ARCH_X86_DEBUGREG_H

#include <stdint.h>

#define NR_DEBUG_ADDR_REGS 4

static inline uint64_t read_dr_addr(unsigned n)
{
	uint64_t v = 0;

	switch (n) {
	case 0:
		asm volatile("mov %%dr0, %0" : "=r"(v));
		break;
	case 1:
		asm volatile("mov %%dr1, %0" : "=r"(v));
		break;
	case 2:
		asm volatile("mov %%dr2, %0" : "=r"(v));
		break;
	case 3:
		asm volatile("mov %%dr3, %0" : "=r"(v));
		break;
	}
	return v;
}

static inline void write_dr_addr(unsigned n, uint64_t v)
{
	switch (n) {
	case 0:
		asm volatile("mov %0, %%dr0" ::"r"(v));
		break;
	case 1:
		asm volatile("mov %0, %%dr1" ::"r"(v));
		break;
	case 2:
		asm volatile("mov %0, %%dr2" ::"r"(v));
		break;
	case 3:
		asm volatile("mov %0, %%dr3" ::"r"(v));
		break;
	}
}

static inline uint64_t read_dr6(void)
{
	uint64_t v;

	asm volatile("mov %%dr6, %0" : "=r"(v));
	return v;
}

static inline void write_dr6(uint64_t v)
{
	asm volatile("mov %0, %%dr6" ::"r"(v));
}

static inline void write_dr7(uint64_t v)
{
	asm volatile("mov %0, %%dr7" ::"r"(v));
}

#endif
