/* The GDB stub's thread packets: see gdb_threads.h (GDB manual, "Remote Protocol"). */
#include "lib/gdb_threads.h"
#include "lib/fmt.h"
#include "lib/parse.h"
#include "lib/string.h"

#define THREAD_ANY     0u
#define THREAD_ALL     (~0u)
#define NIBBLE	       4
#define INFO_MAX       96
#define ERR_BAD_PACKET "E01"
#define LIST_MAX       256

static const char hex_chars[] = "0123456789abcdef";

static void send_str(struct gdb_stub *s, const char *str)
{
	gdb_stub_send(s, str, strlen(str));
}

unsigned gdb_threads_count(const struct gdb_stub *s)
{
	unsigned n = s->t->threads ? s->t->threads(s->ctx) : 1;

	return n ? n : 1;
}

unsigned gdb_threads_stopped(const struct gdb_stub *s)
{
	return s->last.thread ? s->last.thread : 1;
}

static bool select_thread(struct gdb_stub *s, unsigned tid)
{
	if (tid < 1 || tid > gdb_threads_count(s))
		return false;
	if (s->t->select_thread && !s->t->select_thread(s->ctx, tid))
		return false;
	s->g_thread = tid;
	return true;
}

void gdb_threads_on_stop(struct gdb_stub *s)
{
	s->c_thread = THREAD_ANY;
	if (!select_thread(s, gdb_threads_stopped(s)))
		s->g_thread = 1;
}

bool gdb_threads_regs_available(const struct gdb_stub *s)
{
	return !s->t->thread_regs || s->t->thread_regs(s->ctx);
}

unsigned gdb_threads_step_target(const struct gdb_stub *s)
{
	return s->c_thread != THREAD_ANY && s->c_thread != THREAD_ALL ? s->c_thread
								      : gdb_threads_stopped(s);
}

/* A thread id: -1 (all), 0 (any) or a hex number; *end past it. */
static bool parse_tid(const char *p, const char *end, unsigned *tid, const char **next)
{
	uint64_t v = 0;
	const char *start;

	if (end - p >= 2 && p[0] == '-' && p[1] == '1') {
		*tid = THREAD_ALL;
		*next = p + 2;
		return true;
	}
	for (start = p; p < end && hex_digit(*p) >= 0; p++) {
		v = (v << NIBBLE) | (uint64_t)hex_digit(*p);
		if (v > THREAD_ALL - 1)
			return false;
	}
	*tid = (unsigned)v;
	*next = p;
	return p != start;
}

/* Hg TID / Hc TID: the thread later g/G/p/P/m/M, or s/c, are about. */
void gdb_threads_cmd_h(struct gdb_stub *s, const char *pkt, size_t len)
{
	const char *end = pkt + len, *next;
	unsigned tid;

	if (len < 3 || (pkt[1] != 'g' && pkt[1] != 'c') || !parse_tid(pkt + 2, end, &tid, &next) ||
	    next != end) {
		send_str(s, ERR_BAD_PACKET);
		return;
	}
	if (pkt[1] == 'c') {
		if (tid != THREAD_ANY && tid != THREAD_ALL && tid > gdb_threads_count(s)) {
			send_str(s, ERR_BAD_PACKET);
			return;
		}
		s->c_thread = tid;
		send_str(s, "OK");
		return;
	}
	if (tid == THREAD_ANY || tid == THREAD_ALL)
		tid = gdb_threads_stopped(s);
	send_str(s, select_thread(s, tid) ? "OK" : ERR_BAD_PACKET);
}

/* T TID: is the thread alive?  Every vCPU is. */
void gdb_threads_cmd_t(struct gdb_stub *s, const char *pkt, size_t len)
{
	const char *next;
	unsigned tid;

	if (!parse_tid(pkt + 1, pkt + len, &tid, &next) || next != pkt + len || tid < 1 ||
	    tid > gdb_threads_count(s)) {
		send_str(s, ERR_BAD_PACKET);
		return;
	}
	send_str(s, "OK");
}

static bool has_prefix(const char *pkt, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && memcmp(pkt, prefix, n) == 0;
}

static void send_thread_list(struct gdb_stub *s)
{
	char buf[LIST_MAX];
	size_t o = 0;
	unsigned n = gdb_threads_count(s);

	buf[o++] = 'm';
	for (unsigned tid = 1; tid <= n && o + 12 < sizeof(buf); tid++)
		o += (size_t)fmt_snprintf(buf + o, sizeof(buf) - o, tid > 1 ? ",%x" : "%x", tid);
	gdb_stub_send(s, buf, o);
}

static void send_extra_info(struct gdb_stub *s, const char *p, const char *end)
{
	char info[INFO_MAX], hex[2 * INFO_MAX];
	const char *next;
	unsigned tid;
	size_t n;

	if (!parse_tid(p, end, &tid, &next) || next != end || tid < 1 ||
	    tid > gdb_threads_count(s)) {
		send_str(s, ERR_BAD_PACKET);
		return;
	}
	if (s->t->thread_info)
		s->t->thread_info(s->ctx, tid, info, sizeof(info));
	else
		fmt_snprintf(info, sizeof(info), "thread %u", tid);
	n = strnlen(info, sizeof(info) - 1);
	for (size_t i = 0; i < n; i++) {
		hex[2 * i] = hex_chars[(uint8_t)info[i] >> NIBBLE];
		hex[2 * i + 1] = hex_chars[(uint8_t)info[i] & 0xF];
	}
	gdb_stub_send(s, hex, 2 * n);
}

bool gdb_threads_query(struct gdb_stub *s, const char *pkt, size_t len)
{
	static const char extra[] = "qThreadExtraInfo,";

	if (has_prefix(pkt, len, "qC") && len == 2) {
		char buf[16];

		fmt_snprintf(buf, sizeof(buf), "QC%x", gdb_threads_stopped(s));
		send_str(s, buf);
	} else if (has_prefix(pkt, len, "qfThreadInfo")) {
		send_thread_list(s);
	} else if (has_prefix(pkt, len, "qsThreadInfo")) {
		send_str(s, "l");
	} else if (has_prefix(pkt, len, extra)) {
		send_extra_info(s, pkt + sizeof(extra) - 1, pkt + len);
	} else {
		return false;
	}
	return true;
}

/*
 * vCont? and vCont;ACTION[:TID]...: c/C continue, s/S step (a signal number, which a guest has
 * no use for, is read and dropped), t stop.  All-stop: any step action steps its thread and
 * lets the others run (as gdb's `stepi` asks with vCont;s:N;c); otherwise everything continues.
 */
enum gdb_action gdb_threads_vcont(struct gdb_stub *s, const char *pkt, size_t len)
{
	const char *p = pkt + strlen("vCont"), *end = pkt + len;
	unsigned step = 0;
	bool resume = false;

	if (p < end && *p == '?' && p + 1 == end) {
		send_str(s, "vCont;c;C;s;S;t");
		return GDB_STAY;
	}
	while (p < end && *p == ';') {
		char action = p[1];
		unsigned tid = THREAD_ALL;

		p += 2;
		if (p > end)
			break;
		if (action == 'C' || action == 'S') { /* the signal: two hex digits */
			if (end - p < 2 || hex_digit(p[0]) < 0 || hex_digit(p[1]) < 0)
				break;
			p += 2;
		}
		if (p < end && *p == ':' && (!parse_tid(p + 1, end, &tid, &p) || tid == THREAD_ANY))
			break;
		if (action == 's' || action == 'S') {
			if (tid != THREAD_ALL && tid > gdb_threads_count(s))
				break;
			if (!step)
				step = tid == THREAD_ALL ? gdb_threads_step_target(s) : tid;
		} else if (action == 'c' || action == 'C') {
			resume = true;
		} else if (action != 't') {
			break;
		}
	}
	if (p != end || (!step && !resume)) {
		send_str(s, ERR_BAD_PACKET);
		return GDB_STAY;
	}
	if (step) {
		s->step_thread = step;
		return GDB_STEP;
	}
	return GDB_CONTINUE;
}
