/* Line-buffered, levelled log; the sink (a UART, or a test buffer) is plugged in at boot. */
#include "lib/log.h"
#include "lib/fmt.h"
#include "lib/spinlock.h"

#include <stdbool.h>

#define LOG_LINE_MAX 256

struct log_line {
	char text[LOG_LINE_MAX];
	size_t len;
};

static log_sink_fn log_sink;
static enum log_level log_level = LOG_INFO;
static unsigned (*log_cpu)(void);
static struct log_line lines[LOG_MAX_CPUS]; /* one line being built per CPU */
static bool sink_open;			    /* the sink's last piece did not end its line */
static struct rspinlock console = RSPINLOCK_INIT;

void log_set_sink(log_sink_fn sink)
{
	log_sink = sink;
}

void log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level log_get_level(void)
{
	return log_level;
}

void log_set_cpu_fn(unsigned (*cpu_fn)(void))
{
	log_cpu = cpu_fn;
}

static unsigned this_cpu(void)
{
	unsigned cpu = log_cpu ? log_cpu() : 0;

	return cpu < LOG_MAX_CPUS ? cpu : LOG_MAX_CPUS - 1;
}

void console_lock(void)
{
	rspin_lock(&console, (int)this_cpu());
}

void console_unlock(void)
{
	rspin_unlock(&console);
}

static void flush_line(struct log_line *l)
{
	if (l->len && log_sink) {
		console_lock();
		log_sink(l->text, l->len);
		sink_open = l->text[l->len - 1] != '\n';
		console_unlock();
	}
	l->len = 0;
}

void log_flush(void)
{
	flush_line(&lines[this_cpu()]);
}

/* Collect characters; a full line (or a full buffer) goes to the sink in one piece. */
static void log_out(void *ctx, const char *s, size_t n)
{
	struct log_line *l = ctx;

	for (size_t i = 0; i < n; i++) {
		l->text[l->len++] = s[i];
		if (s[i] == '\n' || l->len == sizeof(l->text))
			flush_line(l);
	}
}

void log_end_line(void)
{
	struct log_line *l = &lines[this_cpu()];

	if (l->len || sink_open)
		log_out(l, "\n", 1);
}

void log_vprintf(enum log_level level, const char *fmt, va_list ap)
{
	if (level > log_level)
		return;
	fmt_vformat(log_out, &lines[this_cpu()], fmt, ap);
}

void log_printf(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vprintf(level, fmt, ap);
	va_end(ap);
}
