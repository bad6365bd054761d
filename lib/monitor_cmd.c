/* The monitor's command parser (see monitor_cmd.h). */
#include "lib/monitor_cmd.h"

#include "lib/errno.h"
#include "lib/parse.h"
#include "lib/string.h"

#define HEX_BASE 16
#define DEC_BASE 10

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static unsigned split_words(char *line, char **argv, bool *too_many)
{
	unsigned argc = 0;

	*too_many = false;
	for (;;) {
		while (is_blank(*line))
			*line++ = '\0';
		if (!*line)
			return argc;
		if (argc == MON_ARGS_MAX) {
			*too_many = true;
			return argc;
		}
		argv[argc++] = line;
		while (*line && !is_blank(*line))
			line++;
	}
}

int mon_parse_u64(const struct mon_ctx *m, const char *word, uint64_t *out)
{
	const char *p = word;
	unsigned base = DEC_BASE;
	uint64_t v = 0;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = HEX_BASE;
		p += 2;
	}
	if (!*p)
		goto bad;
	for (; *p; p++) {
		int d = hex_digit(*p);

		if (d < 0 || (unsigned)d >= base)
			goto bad;
		if (v > (UINT64_MAX - (unsigned)d) / base)
			goto bad;
		v = v * base + (unsigned)d;
	}
	*out = v;
	return 0;
bad:
	m->print(m->ctx, "bad number '%s' (decimal, or hexadecimal with 0x)\n", word);
	return -E_INVAL;
}

static void print_help(const struct mon_ctx *m)
{
	m->print(m->ctx, "%-10s %-24s %s\n", "help", "", "this list");
	for (unsigned i = 0; i < m->nr_cmds; i++)
		m->print(m->ctx, "%-10s %-24s %s\n", m->cmds[i].name, m->cmds[i].args,
			 m->cmds[i].help);
}

/* The command named exactly by word, else the only one it is a prefix of. */
static const struct mon_cmd *find_cmd(const struct mon_ctx *m, const char *word, bool *ambiguous)
{
	const struct mon_cmd *found = NULL;
	size_t n = strlen(word);

	*ambiguous = false;
	for (unsigned i = 0; i < m->nr_cmds; i++) {
		if (!strcmp(m->cmds[i].name, word))
			return &m->cmds[i];
		if (!strncmp(m->cmds[i].name, word, n)) {
			if (found)
				*ambiguous = true;
			found = &m->cmds[i];
		}
	}
	return *ambiguous ? NULL : found;
}

int mon_run_line(const struct mon_ctx *m, char *line)
{
	char *argv[MON_ARGS_MAX];
	const struct mon_cmd *c;
	bool too_many, ambiguous;
	unsigned argc = split_words(line, argv, &too_many);

	if (!argc)
		return 0;
	if (too_many) {
		m->print(m->ctx, "too many words (at most %u)\n", MON_ARGS_MAX);
		return -E_INVAL;
	}
	if (!strcmp(argv[0], "help")) {
		print_help(m);
		return 0;
	}
	c = find_cmd(m, argv[0], &ambiguous);
	if (!c) {
		m->print(m->ctx, "%s command '%s' (type help)\n", ambiguous ? "ambiguous" : "unknown",
			 argv[0]);
		return -E_NOENT;
	}
	if (argc - 1 < c->min_args || argc - 1 > c->max_args) {
		m->print(m->ctx, "usage: %s %s\n", c->name, c->args);
		return -E_INVAL;
	}
	return c->run(m, argc, argv);
}
