/*
 * The driver every fuzz target shares.  With arguments it is plain libFuzzer (make fuzz);
 * without, a bounded run (FUZZ_SECONDS, default 10) in a child process, reported as one TAP
 * line, so `make test` runs each target briefly.
 */
#ifndef MHV_TESTS_FUZZ_DRIVER_H
#define MHV_TESTS_FUZZ_DRIVER_H

#include <stddef.h>
#include <stdint.h>

typedef int (*fuzz_one_fn)(const uint8_t *data, size_t size);

/* Executions so far in the bounded run (NULL otherwise): each target counts its inputs. */
extern unsigned long *fuzz_execs;

int fuzz_main(int argc, char **argv, fuzz_one_fn one, const char *what, unsigned max_len);

#endif
