/* The guest's test groups, one file each (test_<group>.c), run in this order by main.c. */
#ifndef MHV_TESTS_GUEST_TESTS_H
#define MHV_TESTS_GUEST_TESTS_H

#include <stdint.h>

struct mb1_info;

/* info is NULL when EAX did not hold the multiboot magic. */
void test_multiboot(uint32_t magic, const struct mb1_info *info);
void test_traps(void);
void test_cpuid(void);
void test_hypercalls(void);
void test_msrs(void);
void test_crs(void);
void test_io(void);
/*
 * Accesses to mhv's hidden memory; when names the paging mode in the check lines.  With info,
 * also check the multiboot memory map and mem_upper against the range (pass it only once).
 */
void test_hv_memory(const struct mb1_info *info, const char *when);
/* Turns paging on (identity map of 4 GiB) and leaves it on. */
void test_paging(void);
/* Path lengths of exits, printed for information (bench.c). */
void bench_report(void);

#endif
