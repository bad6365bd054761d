/*
 * Sizes shared by ap_park.c and ap_trampoline.S (numbers only: included from assembly).
 * Each parked CPU has its own stack; stacks are AP_STACK_SIZE-aligned so the park handler
 * finds the top of the stack it runs on from RSP alone.
 */
#ifndef MHV_ARCH_X86_AP_PARK_LAYOUT_H
#define MHV_ARCH_X86_AP_PARK_LAYOUT_H

#define AP_PARK_MAX	 255 /* parked CPUs with their own stack and a recorded APIC ID */
#define AP_STACK_SHIFT	 9
#define AP_STACK_SIZE	 (1 << AP_STACK_SHIFT) /* an interrupt frame and nothing else */
#define AP_STACK_SLOTS	 (AP_PARK_MAX + 1)     /* the last one is shared by any CPU past the max */
#define AP_ID_VALID_BIT	 32		       /* ap_park_ids[i]: APIC ID | 1 << 32 once recorded */
#define AP_IDT_VECTORS	 256
#define AP_IDT_GATE_SIZE 16

#endif
