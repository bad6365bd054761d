/*
 * Command-line options.  Each option is one row of opt_table: a name and a handler that
 * parses the value into a scratch copy of the options, which is committed only when the whole
 * line is valid.  Repeatable options (mmio=...) are just handlers that append.
 */
#include <stdbool.h>

#include "lib/parse.h"
#include "lib/compiler.h"
#include "lib/errno.h"
#include "lib/fmt.h"
#include "lib/options.h"
#include "lib/string.h"

#define DEFAULT_BAUD   OPT_BAUD_MAX
#define PORT_MIN       0x1
#define PORT_MAX       0xfff8 /* a UART occupies 8 ports: base..base+7 must fit in 16 bits */
#define ECHO_MAX       64     /* longest value quoted back in an error message */
#define DECIMAL	       10
#define HEX	       16
#define HEX_PREFIX_LEN 2

/* One name=value word; neither part is NUL-terminated (they point into the command line). */
struct opt_word {
	const char *name;
	size_t name_len;
	const char *val;
	size_t val_len;
};

struct opt_err {
	char *buf;
	size_t len;
};

/*
 * A handler parses w->val into o.  It returns 0, OPT_BAD_VALUE for the usual "bad value
 * (expected ...)" message, or a negative code after writing its own message into e.
 */
#define OPT_BAD_VALUE 1
typedef int (*opt_handler)(struct hv_options *o, const struct opt_word *w, struct opt_err *e);

struct opt_def {
	const char *name;
	opt_handler parse;
	const char *expected; /* shown after a bad value */
};

/* A string -> number mapping for keyword values. */
struct opt_keyword {
	const char *word;
	uint32_t value;
};

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static bool token_is(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

static int __printf(2, 3) opt_fail(struct opt_err *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (e->len)
		fmt_vsnprintf(e->buf, e->len, fmt, ap);
	va_end(ap);
	return -E_INVAL;
}

/* Quote at most ECHO_MAX characters of a word, marking the cut: messages stay readable. */
static int echo_len(size_t n)
{
	return (int)MIN(n, (size_t)ECHO_MAX);
}

static const char *echo_more(size_t n)
{
	return n > ECHO_MAX ? "..." : "";
}

/* A whole token as an unsigned number: false when empty, junk is present or it overflows. */
static bool parse_number(const char *s, size_t n, unsigned base, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (n == 0)
		return false;
	for (i = 0; i < n; i++) {
		int d = hex_digit(s[i]);

		if (d < 0 || (unsigned)d >= base)
			return false;
		if (v > (UINT64_MAX - (uint64_t)d) / base)
			return false;
		v = v * base + (uint64_t)d;
	}
	*out = v;
	return true;
}

static bool lookup_keyword(const struct opt_keyword *kw, size_t nkw, const struct opt_word *w,
			   uint32_t *out)
{
	size_t i;

	for (i = 0; i < nkw; i++)
		if (token_is(w->val, w->val_len, kw[i].word)) {
			*out = kw[i].value;
			return true;
		}
	return false;
}

static int opt_console(struct hv_options *o, const struct opt_word *w, struct opt_err *e)
{
	static const struct opt_keyword kw[] = {
		{"com1", OPT_COM1_PORT},
		{"com2", OPT_COM2_PORT},
		{"com3", OPT_COM3_PORT},
		{"com4", OPT_COM4_PORT},
		{"none", 0},
	};
	uint32_t port;
	uint64_t v;

	(void)e;
	if (token_is(w->val, w->val_len, "pci")) {
		o->console_pci = true;
		o->console_port = 0;
		return 0;
	}
	if (lookup_keyword(kw, ARRAY_SIZE(kw), w, &port)) {
		o->console_pci = false;
		o->console_port = (uint16_t)port;
		return 0;
	}
	if (w->val_len < HEX_PREFIX_LEN || w->val[0] != '0' ||
	    (w->val[1] != 'x' && w->val[1] != 'X') ||
	    !parse_number(w->val + HEX_PREFIX_LEN, w->val_len - HEX_PREFIX_LEN, HEX, &v) ||
	    v < PORT_MIN || v > PORT_MAX)
		return OPT_BAD_VALUE;
	o->console_pci = false;
	o->console_port = (uint16_t)v;
	return 0;
}

/* com1..com4 or 0xPORT, as console= takes them. */
static bool parse_port(const char *val, size_t len, uint16_t *port)
{
	static const struct opt_keyword kw[] = {
		{"com1", OPT_COM1_PORT},
		{"com2", OPT_COM2_PORT},
		{"com3", OPT_COM3_PORT},
		{"com4", OPT_COM4_PORT},
	};
	struct opt_word w = {.val = val, .val_len = len};
	uint32_t p;
	uint64_t v;

	if (lookup_keyword(kw, ARRAY_SIZE(kw), &w, &p)) {
		*port = (uint16_t)p;
		return true;
	}
	if (len < HEX_PREFIX_LEN || val[0] != '0' || (val[1] != 'x' && val[1] != 'X') ||
	    !parse_number(val + HEX_PREFIX_LEN, len - HEX_PREFIX_LEN, HEX, &v) || v < PORT_MIN ||
	    v > PORT_MAX)
		return false;
	*port = (uint16_t)v;
	return true;
}

/* gdb=PORT[,wait]: the GDB stub's own UART; never the console's (checked in options_parse). */
static int opt_gdb(struct hv_options *o, const struct opt_word *w, struct opt_err *e)
{
	static const char wait[] = ",wait";
	size_t len = w->val_len;
	bool want_wait = false;

	(void)e;
	if (token_is(w->val, w->val_len, "none")) {
		o->gdb_port = 0;
		o->gdb_wait = false;
		return 0;
	}
	if (len > sizeof(wait) - 1 &&
	    token_is(w->val + len - (sizeof(wait) - 1), sizeof(wait) - 1, wait)) {
		want_wait = true;
		len -= sizeof(wait) - 1;
	}
	if (!parse_port(w->val, len, &o->gdb_port))
		return OPT_BAD_VALUE;
	o->gdb_wait = want_wait;
	return 0;
}

static int opt_baud(struct hv_options *o, const struct opt_word *w, struct opt_err *e)
{
	uint64_t v;

	(void)e;
	if (!parse_number(w->val, w->val_len, DECIMAL, &v) || v < OPT_BAUD_MIN ||
	    v > OPT_BAUD_MAX || OPT_BAUD_MAX % v != 0)
		return OPT_BAD_VALUE;
	o->baud = (uint32_t)v;
	return 0;
}

static int opt_loglvl(struct hv_options *o, const struct opt_word *w, struct opt_err *e)
{
	static const struct opt_keyword kw[] = {
		{"err", LOG_ERR}, {"warn", LOG_WARN}, {"info", LOG_INFO}, {"debug", LOG_DEBUG},
		{"0", LOG_ERR},	  {"1", LOG_WARN},    {"2", LOG_INFO},	  {"3", LOG_DEBUG},
	};
	uint32_t v;

	(void)e;
	if (!lookup_keyword(kw, ARRAY_SIZE(kw), w, &v))
		return OPT_BAD_VALUE;
	o->loglvl = (enum log_level)v;
	return 0;
}

static int opt_exit(struct hv_options *o, const struct opt_word *w, struct opt_err *e)
{
	static const struct opt_keyword kw[] = {
		{"halt", EXIT_HALT},
		{"poweroff", EXIT_POWEROFF},
		{"debugexit", EXIT_DEBUGEXIT},
	};
	uint32_t v;

	(void)e;
	if (!lookup_keyword(kw, ARRAY_SIZE(kw), w, &v))
		return OPT_BAD_VALUE;
	o->exit_mode = (enum exit_mode)v;
	return 0;
}

static int opt_mmio(struct hv_options *o, const struct opt_word *w, struct opt_err *e)
{
	struct mmio_spec s;
	unsigned i;

	/* The spec parser words its own messages ("mmio: ... in '<value>'"). */
	if (mmio_spec_parse_n(w->val, w->val_len, &s, e->buf, e->len))
		return -E_INVAL;
	for (i = 0; i < o->nr_mmio; i++) {
		const struct mmio_spec *old = &o->mmio[i];

		if (mmio_spec_overlap(&s, old))
			return opt_fail(e, "mmio: '%.*s%s' overlaps '%s@0x%llx+0x%llx'",
					echo_len(w->val_len), w->val, echo_more(w->val_len),
					mmio_dev_type_name(old->type),
					(unsigned long long)old->base,
					(unsigned long long)old->size);
	}
	if (o->nr_mmio == MMIO_MAX_SPECS)
		return opt_fail(e, "mmio: too many regions (at most %u)", MMIO_MAX_SPECS);
	o->mmio[o->nr_mmio++] = s;
	return 0;
}

static int parse_on_off(const struct opt_word *w, bool *out)
{
	static const struct opt_keyword kw[] = {{"on", true}, {"off", false}};
	uint32_t v;

	if (!lookup_keyword(kw, ARRAY_SIZE(kw), w, &v))
		return OPT_BAD_VALUE;
	*out = v;
	return 0;
}

static int opt_mmio_cache(struct hv_options *o, const struct opt_word *w, struct opt_err *e)
{
	(void)e;
	return parse_on_off(w, &o->mmio_cache);
}

static int opt_bench(struct hv_options *o, const struct opt_word *w, struct opt_err *e)
{
	(void)e;
	return parse_on_off(w, &o->bench);
}

static int opt_console_guest_prefix(struct hv_options *o, const struct opt_word *w,
				    struct opt_err *e)
{
	(void)e;
	return parse_on_off(w, &o->console_guest_prefix);
}

/* break=off, or a sequence in break_seq_parse's notation ("^]^]", "^A^A"). */
static int opt_break(struct hv_options *o, const struct opt_word *w, struct opt_err *e)
{
	char text[2 * BREAK_SEQ_MAX + 1];

	if (token_is(w->val, w->val_len, "off")) {
		o->break_in = false;
		return 0;
	}
	if (w->val_len >= sizeof(text))
		return opt_fail(e, "break: '%.*s%s' is longer than %u characters",
				echo_len(w->val_len), w->val, echo_more(w->val_len), BREAK_SEQ_MAX);
	memcpy(text, w->val, w->val_len);
	text[w->val_len] = '\0';
	if (break_seq_parse(&o->break_seq, text))
		return opt_fail(e, "break: '%s' is no sequence (printable characters, ^X for Ctrl-X, "
				"at most %u bytes)", text, BREAK_SEQ_MAX);
	o->break_in = true;
	return 0;
}

static int opt_amdvi_nmipass(struct hv_options *o, const struct opt_word *w, struct opt_err *e)
{
	(void)e;
	return parse_on_off(w, &o->amdvi_nmipass);
}

static int opt_guest(struct hv_options *o, const struct opt_word *w, struct opt_err *e)
{
	static const struct opt_keyword kw[] = {{"module", false}, {"none", true}};
	uint32_t v;

	(void)e;
	if (!lookup_keyword(kw, ARRAY_SIZE(kw), w, &v))
		return OPT_BAD_VALUE;
	o->no_guest = v;
	return 0;
}

static int opt_iommu(struct hv_options *o, const struct opt_word *w, struct opt_err *e)
{
	static const struct opt_keyword kw[] = {
		{"auto", IOMMU_AUTO},
		{"required", IOMMU_REQUIRED},
		{"off", IOMMU_OFF},
	};
	uint32_t v;

	(void)e;
	if (!lookup_keyword(kw, ARRAY_SIZE(kw), w, &v))
		return OPT_BAD_VALUE;
	o->iommu = (enum iommu_mode)v;
	return 0;
}

/* Adding an option is adding a row. */
static const struct opt_def opt_table[] = {
	{"console", opt_console, "com1..com4, pci, none or 0xPORT"},
	{"baud", opt_baud, "a divisor of 115200 from 50 to 115200"},
	{"loglvl", opt_loglvl, "err, warn, info, debug or 0..3"},
	{"exit", opt_exit, "halt, poweroff or debugexit"},
	{"mmio", opt_mmio, "TYPE@BASE+SIZE"},
	{"mmio_cache", opt_mmio_cache, "on or off"},
	{"bench", opt_bench, "on or off"},
	{"console_guest_prefix", opt_console_guest_prefix, "on or off"},
	{"guest", opt_guest, "module or none"},
	{"break", opt_break, "off or a key sequence such as ^]^]"},
	{"iommu", opt_iommu, "auto, required or off"},
	{"gdb", opt_gdb, "com1..com4 or 0xPORT, optionally followed by ,wait; or none"},
	{"amdvi_nmipass", opt_amdvi_nmipass, "on or off"},
};

static const struct opt_def *find_def(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(opt_table); i++)
		if (token_is(name, len, opt_table[i].name))
			return &opt_table[i];
	return NULL;
}

static int apply_word(struct hv_options *o, const char *word, size_t len, struct opt_err *e)
{
	struct opt_word w = {.name = word, .name_len = len, .val = NULL, .val_len = 0};
	const struct opt_def *def;
	size_t i;
	int ret;

	for (i = 0; i < len; i++)
		if (word[i] == '=') {
			w.name_len = i;
			w.val = word + i + 1;
			w.val_len = len - i - 1;
			break;
		}
	def = find_def(w.name, w.name_len);
	if (!def)
		return opt_fail(e, "unknown option '%.*s%s'", echo_len(len), word, echo_more(len));
	if (w.val_len == 0)
		return opt_fail(e, "option '%s' needs a value", def->name);
	ret = def->parse(o, &w, e);
	if (ret == OPT_BAD_VALUE)
		return opt_fail(e, "%s: bad value '%.*s%s' (expected %s)", def->name,
				echo_len(w.val_len), w.val, echo_more(w.val_len), def->expected);
	return ret;
}

void options_defaults(struct hv_options *o)
{
	o->console_port = OPT_COM1_PORT;
	o->console_pci = false;
	o->baud = DEFAULT_BAUD;
	o->loglvl = LOG_INFO;
	o->exit_mode = EXIT_HALT;
	o->nr_mmio = 0;
	o->mmio_cache = true;
	o->bench = false;
	o->console_guest_prefix = false;
	o->no_guest = false;
	o->iommu = IOMMU_AUTO;
	o->gdb_port = 0;
	o->gdb_wait = false;
	o->break_in = break_seq_parse(&o->break_seq, BREAK_SEQ_DEFAULT) == 0;
	o->amdvi_nmipass = false;
}

int options_parse(struct hv_options *o, const char *cmdline, char *err, size_t errlen)
{
	struct opt_err e = {.buf = err, .len = err ? errlen : 0};
	struct hv_options tmp = *o;
	const char *p = cmdline;
	bool first = true;

	if (e.len)
		err[0] = '\0';
	while (*p) {
		const char *word;
		int ret;

		while (is_space(*p))
			p++;
		if (!*p)
			break;
		word = p;
		while (*p && !is_space(*p))
			p++;
		/* GRUB puts the image path ("/boot/mhv.elf" or "(hd0)/...") first. */
		if (first && (*word == '/' || *word == '('))
			ret = 0;
		else
			ret = apply_word(&tmp, word, (size_t)(p - word), &e);
		if (ret)
			return ret;
		first = false;
	}
	if (tmp.gdb_port && tmp.gdb_port == tmp.console_port)
		return opt_fail(&e, "gdb: port 0x%x is the console's: give gdb a UART of its own",
				tmp.gdb_port);
	*o = tmp;
	return 0;
}
