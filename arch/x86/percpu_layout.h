/* Per-CPU sizes shared by C and assembly (numbers only). */
#ifndef MHV_ARCH_X86_PERCPU_LAYOUT_H
#define MHV_ARCH_X86_PERCPU_LAYOUT_H

#define HV_MAX_CPUS    16 /* vCPUs mhv runs (the boot CPU and 15 APs); at most LOG_MAX_CPUS */
#define HV_STACK_SHIFT 14
#define HV_STACK_SIZE  (1 << HV_STACK_SHIFT)

#endif
