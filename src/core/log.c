/* log: timestamped one-line messages on stderr; one module-private level
 * setting. Not an audit trail: lines that do not fit are truncated. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <re.h>
#include "core/log.h"

enum { LINE_MAX_LEN = 2048 };

static struct {
	enum log_level level;
} logmod = { LOG_INFO };

static const char *const names[] = { "DEBUG", "INFO", "WARN", "ERROR" };

/* A bounded line buffer filled through re_vhprintf. re_vsnprintf is not used
 * because on overflow it leaves an empty string, which would turn an
 * attacker-lengthened line into a blank one. */
struct line {
	char buf[LINE_MAX_LEN];
	size_t len;
	bool truncated;
};

static void line_putc(struct line *l, char c)
{
	if (l->len + 1 >= sizeof(l->buf)) {
		l->truncated = true;
		return;
	}
	l->buf[l->len++] = c;
	l->buf[l->len] = '\0';
}

/* Control characters are escaped so that text from the network (%r, %s)
 * cannot end a line early and forge the next one. */
static int line_print_h(const char *p, size_t size, void *arg)
{
	static const char hex[] = "0123456789abcdef";
	struct line *l = arg;

	for (size_t i = 0; i < size; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c >= 0x20 && c != 0x7f) {
			line_putc(l, (char)c);
			continue;
		}
		line_putc(l, '\\');
		line_putc(l, 'x');
		line_putc(l, hex[c >> 4]);
		line_putc(l, hex[c & 0xf]);
	}
	return 0;
}

static void line_vformat(struct line *l, const char *fmt, va_list ap)
{
	l->len = 0;
	l->buf[0] = '\0';
	l->truncated = false;
	(void)re_vhprintf(fmt, ap, line_print_h, l);
}

static void log_emit(enum log_level lvl, const struct line *l, unsigned suppressed)
{
	char ts[32];
	struct timespec now;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &now);
	localtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", &tm);
	if ((unsigned)lvl > LOG_ERROR)
		lvl = LOG_ERROR;
	/* One fprintf per line: stderr is unbuffered, and glibc then writes
	 * the whole formatted call at once, so writers never interleave. */
	if (suppressed)
		fprintf(stderr, "%s.%03ld %s %s%s (%u suppressed)\n", ts,
			now.tv_nsec / 1000000, names[lvl], l->buf,
			l->truncated ? "..." : "", suppressed);
	else
		fprintf(stderr, "%s.%03ld %s %s%s\n", ts, now.tv_nsec / 1000000,
			names[lvl], l->buf, l->truncated ? "..." : "");
}

void log_set_level(enum log_level lvl)
{
	logmod.level = lvl;
}

enum log_level log_get_level(void)
{
	return logmod.level;
}

void log_write(enum log_level lvl, const char *fmt, ...)
{
	struct line l;
	va_list ap;

	if (lvl < logmod.level)
		return;
	va_start(ap, fmt);
	line_vformat(&l, fmt, ap);
	va_end(ap);
	log_emit(lvl, &l, 0);
}

/* Monotonic so that a wall-clock step cannot unmute or mute a flood; +1 keeps
 * a caller's zero-initialised last_sec from meaning "just logged". */
static unsigned mono_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned)ts.tv_sec + 1;
}

void log_ratelimited(unsigned *last_sec, unsigned *suppressed, const char *fmt, ...)
{
	unsigned now = mono_sec();
	struct line l;
	va_list ap;

	if (LOG_WARN < logmod.level)
		return;
	if (*last_sec == now) {
		++*suppressed;
		return;
	}
	*last_sec = now;
	va_start(ap, fmt);
	line_vformat(&l, fmt, ap);
	va_end(ap);
	log_emit(LOG_WARN, &l, *suppressed);
	*suppressed = 0;
}
