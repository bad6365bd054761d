/*
 * Which CPU is running: every stack mhv runs on after bring-up (each AP's own stack and its
 * IST stacks) is HV_STACK_SIZE-aligned and starts with a head naming its CPU, so the CPU
 * number comes from RSP alone: no GS base, no TSS (on SVM the guest's GS base and TR stay
 * live in mhv between exits).  Any other stack (the boot CPU's boot and IST stacks) is CPU 0.
 */
#ifndef MHV_ARCH_X86_PERCPU_H
#define MHV_ARCH_X86_PERCPU_H

#include <stdint.h>
#include "arch/x86/percpu_layout.h"

#define HV_STACK_MAGIC	0x6d68762d73746b21ull /* "mhv-stk!" */

struct hv_stack_head {
	uint64_t magic;
	uint32_t cpu;
};

static inline unsigned hv_cpu_index(void)
{
	uintptr_t sp;
	const struct hv_stack_head *h;

	asm volatile("mov %%rsp, %0" : "=r"(sp));
	h = (const struct hv_stack_head *)(sp & ~(uintptr_t)(HV_STACK_SIZE - 1));
	return h->magic == HV_STACK_MAGIC ? h->cpu : 0;
}

#endif
