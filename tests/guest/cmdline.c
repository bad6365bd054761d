/* The guest test kernel's command line (cmdline.h). */
#include "tests/guest/cmdline.h"
#include "lib/string.h"

#define CMDLINE_MAX 256 /* the longest command line the tests read */

static bool word_end(char c)
{
	return c == ' ' || c == '\0';
}

const char *cmdline_find(const struct boot_info *bi, const char *prefix)
{
	size_t n = strlen(prefix);
	const char *cmd;

	if (!bi->mb1 || !(bi->mb1->flags & MB1_INFO_CMDLINE))
		return NULL;
	cmd = (const char *)(uintptr_t)bi->mb1->cmdline;
	for (const char *p = cmd; *p && p + n < cmd + CMDLINE_MAX; p++)
		if ((p == cmd || p[-1] == ' ') && !strncmp(p, prefix, n))
			return p;
	return NULL;
}

bool cmdline_has(const struct boot_info *bi, const char *word)
{
	const char *p = cmdline_find(bi, word);

	return p && word_end(p[strlen(word)]);
}

uint32_t cmdline_u32(const struct boot_info *bi, const char *key, uint32_t dflt)
{
	const char *p = cmdline_find(bi, key);
	uint64_t v = 0;

	if (!p)
		return dflt;
	p += strlen(key);
	if (word_end(*p))
		return dflt;
	for (; !word_end(*p); p++) {
		if (*p < '0' || *p > '9')
			return dflt;
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > UINT32_MAX)
			return dflt;
	}
	return (uint32_t)v;
}
