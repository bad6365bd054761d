/* The shared fuzz driver: see fuzz_driver.h. */
#include "tests/fuzz/fuzz_driver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEFAULT_SECONDS 10

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*cb)(const uint8_t *, size_t));

unsigned long *fuzz_execs;

int fuzz_main(int argc, char **argv, fuzz_one_fn one, const char *what, unsigned max_len)
{
	const char *secs = getenv("FUZZ_SECONDS");
	char tbuf[64], lbuf[32];
	char *args[] = {argv[0], tbuf, "-seed=1", lbuf, "-print_final_stats=0", NULL};
	int nargs = 5, status;
	char **pargs = args;
	pid_t pid;

	if (argc > 1)
		return LLVMFuzzerRunDriver(&argc, &argv, one);
	snprintf(tbuf, sizeof(tbuf), "-max_total_time=%d", secs ? atoi(secs) : DEFAULT_SECONDS);
	snprintf(lbuf, sizeof(lbuf), "-max_len=%u", max_len);
	fuzz_execs = mmap(NULL, sizeof(*fuzz_execs), PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (fuzz_execs == MAP_FAILED)
		return 1;
	*fuzz_execs = 0;
	printf("TAP version 13\n1..1\n");
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		/* libFuzzer chatters on stderr; keep it for a crash report. */
		LLVMFuzzerRunDriver(&nargs, &pargs, one);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return 1;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		printf("ok 1 - fuzz %s: %lu executions in %s s, no crash\n", what, *fuzz_execs,
		       tbuf + strlen("-max_total_time="));
		return 0;
	}
	printf("not ok 1 - fuzz %s crashed after %lu executions (see stderr)\n", what,
	       *fuzz_execs);
	return 1;
}
