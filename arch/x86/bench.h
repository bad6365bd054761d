/* bench=on: mhv's own path lengths, printed at boot for make bench. */
#ifndef MHV_ARCH_X86_BENCH_H
#define MHV_ARCH_X86_BENCH_H

void hv_bench_run(void);

#endif
