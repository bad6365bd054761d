/*
 * The monitor's command parser, plain C for mhv and the host tests: a line is split at blanks
 * into at most MON_ARGS_MAX words, the first word names a command from the caller's table
 * (an unambiguous prefix is enough), the argument count is checked against the command's
 * bounds, and the handler runs.  Every failure is a one-line message through the caller's
 * output function: unknown or ambiguous command, wrong argument count, a bad number.
 */
#ifndef MHV_LIB_MONITOR_CMD_H
#define MHV_LIB_MONITOR_CMD_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/compiler.h"

#define MON_ARGS_MAX 8 /* words on one line, the command included */

typedef void (*mon_print_fn)(void *ctx, const char *fmt, ...) __printf(2, 3);

struct mon_cmd;

struct mon_ctx {
	const struct mon_cmd *cmds;
	unsigned nr_cmds;
	mon_print_fn print;
	void *ctx; /* for print and the handlers */
};

/* argv[0] is the command as typed; returns 0 or a negative code (the handler reported it). */
typedef int (*mon_handler_fn)(const struct mon_ctx *m, unsigned argc, char **argv);

struct mon_cmd {
	const char *name;
	const char *args; /* synopsis of the arguments, "" for none */
	const char *help; /* one line */
	unsigned min_args, max_args; /* words after the command */
	mon_handler_fn run;
};

/*
 * Run one line (modified in place: words are NUL-terminated).  An empty line does nothing
 * and returns 0.  "help" is built in: the table's commands with their synopses.
 */
int mon_run_line(const struct mon_ctx *m, char *line);

/*
 * A number: decimal, or hexadecimal with "0x"; the whole word, no sign, no overflow.
 * Returns 0, or -E_INVAL after printing "bad number 'WORD'".
 */
int mon_parse_u64(const struct mon_ctx *m, const char *word, uint64_t *out);

#endif
