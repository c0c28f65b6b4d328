/* queuelog: Asterisk's queue_log as a table (asterisk-semantics.md §7.7),
 * the realtime queue_log columns: time, callid, queuename, agent, event,
 * data1..data5. Rows are only added; reports read them. */
#ifndef TAMAS_QUEUELOG_H
#define TAMAS_QUEUELOG_H

struct store;

/* One event now (time in UTC, "YYYY-MM-DD HH:MM:SS"); data has 5 entries,
 * NULL or "" for unused ones. */
int queuelog_add(struct store *st, const char *callid, const char *queue, const char *agent,
		 const char *event, const char *const data[5]);

#endif
