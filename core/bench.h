/* bench=on: mhv's own path lengths, printed at boot for make bench. */
#ifndef MHV_CORE_BENCH_H
#define MHV_CORE_BENCH_H

void hv_bench_run(void);

#endif
