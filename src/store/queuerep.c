/* queuerep: queue calls and agent sessions derived from queue_log rows by
 * SQL. A call pairs its terminal event with the caller's last ENTERQUEUE
 * (and CONNECT) of the same callid and queue before it; a session pairs an
 * ADDMEMBER or PAUSE with the first closing row after it. The queue_log
 * indexes on (callid, queuename) and (queuename, agent) keep those lookups
 * short. */
#include <errno.h>
#include <string.h>
#include <sqlite3.h>
#include <re.h>
#include "store/queuerep.h"
#include "store/store_int.h"

#define NOW "strftime('%Y-%m-%d %H:%M:%S', 'now')"
#define SECS(t) "CAST(strftime('%s', " t ") AS INTEGER)"
#define EXTEN(a) "substr(" a ", instr(" a ", '/') + 1)"

static const char calls_from[] =
	"(SELECT t.id AS id, e.time AS starttime, t.time AS endtime,"
	" COALESCE(c.time, '') AS answered, t.callid AS callid, t.queuename AS queuename,"
	" e.data2 AS src,"
	" CASE WHEN t.agent <> 'NONE' THEN t.agent ELSE COALESCE((SELECT r.agent FROM queue_log r"
	"  WHERE r.callid = t.callid AND r.queuename = t.queuename AND r.event = 'RINGNOANSWER'"
	"  AND r.id > e.id AND r.id < t.id ORDER BY r.id DESC LIMIT 1), '') END AS agent,"
	" t.event AS event,"
	" CAST(CASE t.event WHEN 'COMPLETEAGENT' THEN t.data1 WHEN 'COMPLETECALLER' THEN t.data1"
	"  WHEN 'EXITWITHKEY' THEN t.data4 ELSE t.data3 END AS INTEGER) AS wait,"
	" CAST(CASE WHEN t.event IN ('COMPLETEAGENT', 'COMPLETECALLER') THEN t.data2 ELSE 0 END"
	"  AS INTEGER) AS talk,"
	" CAST(COALESCE(c.data3, 0) AS INTEGER) AS ring,"
	" " SECS("t.time") " - " SECS("e.time") " AS duration"
	" FROM queue_log t"
	" JOIN queue_log e ON e.id = (SELECT max(x.id) FROM queue_log x WHERE x.callid = t.callid"
	"  AND x.queuename = t.queuename AND x.event = 'ENTERQUEUE' AND x.id < t.id)"
	" LEFT JOIN queue_log c ON c.id = (SELECT max(x.id) FROM queue_log x"
	"  WHERE x.callid = t.callid AND x.queuename = t.queuename AND x.event = 'CONNECT'"
	"  AND x.id > e.id AND x.id < t.id)"
	" WHERE t.event IN ('COMPLETEAGENT', 'COMPLETECALLER', 'ABANDON', 'EXITWITHTIMEOUT',"
	"  'EXITEMPTY', 'EXITWITHKEY')) q";

#define CALL_COLS "id, starttime, endtime, answered, callid, queuename, src, agent, event," \
	" wait, talk, ring, duration"

static const char sessions_from[] =
	"(SELECT s.id AS id, CASE s.event WHEN 'ADDMEMBER' THEN 'inout' ELSE 'pause' END AS type,"
	" s.queuename AS queuename, s.agent AS agent, " EXTEN("s.agent") " AS exten,"
	" CASE s.event WHEN 'PAUSE' THEN s.data1 ELSE '' END AS reason,"
	" s.time AS start, COALESCE(x.time, '') AS end,"
	" " SECS("COALESCE(x.time, " NOW ")") " - " SECS("s.time") " AS duration"
	" FROM queue_log s LEFT JOIN queue_log x ON x.id = (SELECT min(y.id) FROM queue_log y"
	"  WHERE y.queuename = s.queuename AND y.agent = s.agent AND y.id > s.id"
	"  AND (y.event = 'REMOVEMEMBER' OR (s.event = 'PAUSE' AND y.event = 'UNPAUSE')))"
	" WHERE s.event IN ('ADDMEMBER', 'PAUSE')) a";

/* One agent attempt: a RINGNOANSWER or CONNECT row, with the caller's
 * ENTERQUEUE before it and, for CONNECT, the first COMPLETE* after it. */
static const char attempts_from[] =
	"(SELECT *, strftime('%Y-%m-%d %H:%M:%S', " SECS("last_try") " - ring, 'unixepoch')"
	"  AS starttime FROM"
	" (SELECT a.id AS id, a.time AS last_try, a.callid AS callid, a.queuename AS queuename,"
	"  COALESCE(e.data2, '') AS src, a.agent AS agent, a.event AS event,"
	"  CASE a.event WHEN 'CONNECT' THEN CAST(a.data3 AS INTEGER)"
	"   ELSE (CAST(a.data1 AS INTEGER) + 500) / 1000 END AS ring,"
	"  CASE a.event WHEN 'CONNECT' THEN CAST(a.data1 AS INTEGER)"
	"   ELSE COALESCE(" SECS("a.time") " - " SECS("e.time") ", 0) END AS wait,"
	"  CASE a.event WHEN 'CONNECT' THEN COALESCE((SELECT CAST(x.data2 AS INTEGER)"
	"   FROM queue_log x WHERE x.callid = a.callid AND x.queuename = a.queuename"
	"   AND x.event IN ('COMPLETEAGENT', 'COMPLETECALLER') AND x.id > a.id"
	"   ORDER BY x.id LIMIT 1), 0) ELSE 0 END AS talk,"
	"  CASE a.event WHEN 'CONNECT' THEN a.data2 ELSE '' END AS member_uid,"
	"  (SELECT count(*) FROM queue_log y WHERE y.callid = a.callid"
	"   AND y.queuename = a.queuename AND y.agent = a.agent"
	"   AND y.event IN ('RINGNOANSWER', 'CONNECT') AND y.id > COALESCE(e.id, 0)"
	"   AND y.id <= a.id) AS tries"
	"  FROM queue_log a LEFT JOIN queue_log e ON e.id = (SELECT max(x.id) FROM queue_log x"
	"   WHERE x.callid = a.callid AND x.queuename = a.queuename AND x.event = 'ENTERQUEUE'"
	"   AND x.id < a.id)"
	"  WHERE a.event IN ('RINGNOANSWER', 'CONNECT'))) d";

#define ATTEMPT_COLS "id, starttime, last_try, callid, queuename, src, agent, event, ring," \
	" wait, talk, member_uid, tries"

#define SESSION_COLS "id, type, queuename, agent, exten, reason, start, end, duration"

struct give {
	void *h;
	void *arg;
};

static int call_give(sqlite3_stmt *s, void *arg)
{
	const struct give *g = arg;
	struct queuerep_call c = {
		.id = sqlite3_column_int64(s, 0), .start = store_col(s, 1),
		.end = store_col(s, 2), .answered = store_col(s, 3), .callid = store_col(s, 4),
		.queue = store_col(s, 5), .src = store_col(s, 6), .agent = store_col(s, 7),
		.event = store_col(s, 8), .wait = sqlite3_column_int64(s, 9),
		.talk = sqlite3_column_int64(s, 10), .ring = sqlite3_column_int64(s, 11),
		.duration = sqlite3_column_int64(s, 12),
	};

	return ((queuerep_call_h *)g->h)(&c, g->arg);
}

static int attempt_give(sqlite3_stmt *s, void *arg)
{
	const struct give *g = arg;
	struct queuerep_attempt a = {
		.id = sqlite3_column_int64(s, 0), .start = store_col(s, 1),
		.last_try = store_col(s, 2), .callid = store_col(s, 3), .queue = store_col(s, 4),
		.src = store_col(s, 5), .agent = store_col(s, 6), .event = store_col(s, 7),
		.ring = sqlite3_column_int64(s, 8), .wait = sqlite3_column_int64(s, 9),
		.talk = sqlite3_column_int64(s, 10), .member_uid = store_col(s, 11),
		.tries = sqlite3_column_int64(s, 12),
	};

	return ((queuerep_attempt_h *)g->h)(&a, g->arg);
}

static int session_give(sqlite3_stmt *s, void *arg)
{
	const struct give *g = arg;
	struct queuerep_session r = {
		.id = sqlite3_column_int64(s, 0), .type = store_col(s, 1),
		.queue = store_col(s, 2), .agent = store_col(s, 3), .exten = store_col(s, 4),
		.reason = store_col(s, 5), .start = store_col(s, 6), .end = store_col(s, 7),
		.duration = sqlite3_column_int64(s, 8),
	};

	return ((queuerep_session_h *)g->h)(&r, g->arg);
}

static const char *call_sort(enum queuerep_sort s)
{
	switch (s) {
	case QUEUEREP_SORT_START:    return "starttime";
	case QUEUEREP_SORT_END:      return "endtime";
	case QUEUEREP_SORT_WAIT:     return "wait";
	case QUEUEREP_SORT_TALK:     return "talk";
	case QUEUEREP_SORT_DURATION: return "duration";
	case QUEUEREP_SORT_SRC:      return "src";
	case QUEUEREP_SORT_AGENT:    return "agent";
	case QUEUEREP_SORT_QUEUE:    return "queuename";
	case QUEUEREP_SORT_ID:       return "id";
	default:                     return NULL;
	}
}

static const char *session_sort(enum queuerep_sort s)
{
	switch (s) {
	case QUEUEREP_SORT_START:    return "start";
	/* A session still open ends now: it sorts as the latest. */
	case QUEUEREP_SORT_END:      return "CASE end WHEN '' THEN '9999' ELSE end END";
	case QUEUEREP_SORT_DURATION: return "duration";
	case QUEUEREP_SORT_AGENT:    return "exten";
	case QUEUEREP_SORT_QUEUE:    return "queuename";
	case QUEUEREP_SORT_ID:       return "id";
	default:                     return NULL;
	}
}

/* id > after (the ordered cursors); 0 does not filter. */
static int where_after(struct store_where *w, int64_t after)
{
	char v[24];

	if (!after)
		return 0;
	(void)re_snprintf(v, sizeof(v), "%lld", (long long)after);
	return store_where_add(w, "id > CAST(? AS INTEGER)", v, false);
}

int queuerep_calls(struct store *st, const struct queuerep_query *q, uint64_t *total,
		   queuerep_call_h *h, void *arg)
{
	struct store_page p = { .cols = CALL_COLS, .from = calls_from };
	struct give g = { (void *)h, arg };
	struct store_where *w = &p.where;
	int err;

	if (!q || !h)
		return EINVAL;
	p.sort = call_sort(q->sort);
	p.desc = q->desc;
	p.tie = q->desc ? "id DESC" : "id";
	p.start = q->start;
	p.count = q->count;
	err = store_where_add(w, "starttime >= ?", q->from, false);
	err = err ? err : store_where_add(w, "starttime <= ?", q->to, false);
	err = err ? err : store_where_match(w, "src", q->src, q->alike);
	err = err ? err : store_where_match(w, EXTEN("agent"), q->agent, q->alike);
	err = err ? err : store_where_add(w, "queuename = ?", q->queue, false);
	err = err ? err : store_where_add(w, "callid = ?", q->callid, false);
	err = err ? err : store_where_add(w, "event IN ('COMPLETEAGENT', 'COMPLETECALLER')"
					  " AND ? = '1'", q->answered_only ? "1" : NULL, false);
	err = err ? err : store_where_add(w, "event NOT IN ('COMPLETEAGENT', 'COMPLETECALLER')"
					  " AND ? = '1'", q->missed_only ? "1" : NULL, false);
	err = err ? err : where_after(w, q->after);
	if (!err && !p.sort)
		err = EINVAL;
	return store_search(st, &p, err, total, call_give, &g);
}

int queuerep_attempts(struct store *st, const struct queuerep_query *q, uint64_t *total,
		      queuerep_attempt_h *h, void *arg)
{
	struct store_page p = { .cols = ATTEMPT_COLS, .from = attempts_from };
	struct give g = { (void *)h, arg };
	struct store_where *w = &p.where;
	int err;

	if (!q || !h)
		return EINVAL;
	p.sort = call_sort(q->sort);
	if (q->sort == QUEUEREP_SORT_END)
		p.sort = "last_try";
	else if (q->sort == QUEUEREP_SORT_DURATION)
		p.sort = "ring + talk";
	p.desc = q->desc;
	p.tie = q->desc ? "id DESC" : "id";
	p.start = q->start;
	p.count = q->count;
	err = store_where_add(w, "starttime >= ?", q->from, false);
	err = err ? err : store_where_add(w, "starttime <= ?", q->to, false);
	err = err ? err : store_where_match(w, "src", q->src, q->alike);
	err = err ? err : store_where_match(w, EXTEN("agent"), q->agent, q->alike);
	err = err ? err : store_where_add(w, "queuename = ?", q->queue, false);
	err = err ? err : store_where_add(w, "callid = ?", q->callid, false);
	err = err ? err : store_where_add(w, "event = 'CONNECT' AND ? = '1'",
					  q->answered_only ? "1" : NULL, false);
	err = err ? err : store_where_add(w, "event <> 'CONNECT' AND ? = '1'",
					  q->missed_only ? "1" : NULL, false);
	err = err ? err : where_after(w, q->after);
	if (!err && !p.sort)
		err = EINVAL;
	return store_search(st, &p, err, total, attempt_give, &g);
}

int queuerep_sessions(struct store *st, const struct queuerep_query *q, uint64_t *total,
		      queuerep_session_h *h, void *arg)
{
	struct store_page p = { .cols = SESSION_COLS, .from = sessions_from };
	struct give g = { (void *)h, arg };
	struct store_where *w = &p.where;
	int err;

	if (!q || !h)
		return EINVAL;
	p.sort = session_sort(q->sort);
	p.desc = q->desc;
	p.tie = q->desc ? "id DESC" : "id";
	p.start = q->start;
	p.count = q->count;
	/* Sessions overlapping the window, open ones included. */
	err = store_where_add(w, "(end = '' OR end >= ?)", q->from, false);
	err = err ? err : store_where_add(w, "start <= ?", q->to, false);
	err = err ? err : store_where_match(w, "exten", q->agent, q->alike);
	err = err ? err : store_where_add(w, "queuename = ?", q->queue, false);
	err = err ? err : store_where_add(w, "type = ?", q->type, false);
	if (!err && !p.sort)
		err = EINVAL;
	return store_search(st, &p, err, total, session_give, &g);
}
