/* log: timestamped lines on stderr; one module-private level setting. */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <sys/time.h>
#include <re.h>
#include "core/log.h"

static struct {
	enum log_level level;
} logmod = { LOG_INFO };

static const char *names[] = { "DEBUG", "INFO", "WARN", "ERROR" };

void log_set_level(enum log_level lvl)
{
	logmod.level = lvl;
}

enum log_level log_get_level(void)
{
	return logmod.level;
}

static void log_vwrite(enum log_level lvl, const char *fmt, va_list ap)
{
	char line[2048], ts[32];
	struct timeval tv;
	struct tm tm;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", &tm);
	(void)re_vsnprintf(line, sizeof(line), fmt, ap);
	/* One fprintf per line so concurrent writers never interleave mid-line. */
	fprintf(stderr, "%s.%03ld %s %s\n", ts, (long)(tv.tv_usec / 1000),
		names[lvl < 0 || lvl > LOG_ERROR ? LOG_ERROR : lvl], line);
}

void log_write(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;

	if (lvl < logmod.level)
		return;
	va_start(ap, fmt);
	log_vwrite(lvl, fmt, ap);
	va_end(ap);
}

void log_ratelimited(unsigned *last_sec, unsigned *suppressed, const char *fmt, ...)
{
	char line[2048];
	unsigned now = (unsigned)time(NULL);
	va_list ap;

	if (LOG_WARN < logmod.level)
		return;
	if (*last_sec == now) {
		++*suppressed;
		return;
	}
	*last_sec = now;
	va_start(ap, fmt);
	(void)re_vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (*suppressed)
		log_write(LOG_WARN, "%s (%u similar suppressed)", line, *suppressed);
	else
		log_write(LOG_WARN, "%s", line);
	*suppressed = 0;
}
