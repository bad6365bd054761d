/* Line-buffered, levelled log; the sink (a UART, or a test buffer) is plugged in at boot. */
#include "lib/log.h"
#include "lib/fmt.h"

#include <stdbool.h>

#define LOG_LINE_MAX 256

static log_sink_fn log_sink;
static enum log_level log_level = LOG_INFO;
static char line[LOG_LINE_MAX];
static size_t line_len;
static bool sink_open; /* the sink's last piece did not end its line */

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

void log_flush(void)
{
	if (line_len && log_sink) {
		log_sink(line, line_len);
		sink_open = line[line_len - 1] != '\n';
	}
	line_len = 0;
}

/* Collect characters; a full line (or a full buffer) goes to the sink in one piece. */
static void log_out(void *ctx, const char *s, size_t n)
{
	(void)ctx;
	for (size_t i = 0; i < n; i++) {
		line[line_len++] = s[i];
		if (s[i] == '\n' || line_len == sizeof(line))
			log_flush();
	}
}

void log_end_line(void)
{
	if (line_len || sink_open)
		log_out(NULL, "\n", 1);
}

void log_vprintf(enum log_level level, const char *fmt, va_list ap)
{
	if (level > log_level)
		return;
	fmt_vformat(log_out, NULL, fmt, ap);
}

void log_printf(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vprintf(level, fmt, ap);
	va_end(ap);
}
