/* log: one-line, levelled logging to stderr; nothing telephony-specific. */
#ifndef TAMAS_LOG_H
#define TAMAS_LOG_H

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
/* printf-style via re_vhprintf (supports libre's %r %J %m ...). */
void log_write(enum log_level lvl, const char *fmt, ...);
/* Rate-limited warning for attacker-triggerable events: at most one line per
 * second per call site key, with a count of suppressed lines. */
void log_ratelimited(unsigned *last_sec, unsigned *suppressed, const char *fmt, ...);

#define log_debug(...) do { if (log_get_level() <= LOG_DEBUG) log_write(LOG_DEBUG, __VA_ARGS__); } while (0)
#define log_info(...)  log_write(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_write(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_write(LOG_ERROR, __VA_ARGS__)

#endif
