/* cbreq: callback requests (migration 13). Statements are prepared per
 * call: requests arrive once per call and the timer reads a few rows. */
#include <errno.h>
#include <string.h>
#include <sqlite3.h>
#include <re.h>
#include "store/cbreq.h"
#include "store/store_int.h"

#define COLS "id, callback, caller, number, target, uniqueid, status, attempts, due," \
	" call_id, operator, registered_at, handled_at"
#define NOW "strftime('%Y-%m-%d %H:%M:%S', 'now')"

static int bind_text(sqlite3_stmt *s, int i, const char *v)
{
	return store_bind_text(s, i, v ? v : "");
}

/* ?2..?7 = callback, caller, number, target, uniqueid, due. */
static int bind_fields(sqlite3_stmt *s, const void *row)
{
	const struct cbreq_rec *r = row;
	int err = bind_text(s, 2, r->callback);

	err = err ? err : bind_text(s, 3, r->caller);
	err = err ? err : bind_text(s, 4, r->number);
	err = err ? err : bind_text(s, 5, r->target);
	err = err ? err : bind_text(s, 6, r->uniqueid);
	err = err ? err : store_errno(sqlite3_bind_int64(s, 7, r->due));
	return err;
}

static int id_h(sqlite3_stmt *s, void *arg)
{
	char *id = arg;

	str_ncpy(id, store_col(s, 0), STORE_ID_SIZE);
	return 0;
}

int cbreq_register(struct store *st, const struct cbreq_rec *r, char *id, size_t idsz,
		   bool *merged)
{
	const char *const key[] = { r ? r->callback : NULL, r ? r->caller : NULL };
	char old[STORE_ID_SIZE] = "";
	unsigned n = 0;
	int err;

	if (!r || !str_isset(r->callback) || !str_isset(r->caller) || !str_isset(r->number) ||
	    !id || idsz < STORE_ID_SIZE)
		return EINVAL;
	if (merged)
		*merged = false;
	err = store_exec(st, "SELECT id FROM callback_requests WHERE callback = ?1 AND"
			 " caller = ?2 AND status = 'pending' ORDER BY rowid LIMIT 1", key, 2,
			 id_h, old, &n);
	if (err)
		return err;
	if (!n)
		return store_insert(st, "INSERT INTO callback_requests(id, callback, caller,"
				    " number, target, uniqueid, due, registered_at) VALUES(?1, ?2,"
				    " ?3, ?4, ?5, ?6, ?7, " NOW ")", 1, bind_fields, r, id, idsz);
	/* The same customer asking again: one request, the latest number. */
	{
		const char *const v[] = { old, r->number, r->target ? r->target : "",
					  r->uniqueid ? r->uniqueid : "" };

		err = store_changed(st, store_exec(st, "UPDATE callback_requests SET number = ?2,"
						   " target = ?3, uniqueid = ?4 WHERE id = ?1", v,
						   4, NULL, NULL, NULL));
	}
	if (err)
		return err;
	str_ncpy(id, old, idsz);
	if (merged)
		*merged = true;
	return 0;
}

struct give {
	cbreq_h *h;
	void *arg;
};

static int row_give(sqlite3_stmt *s, void *arg)
{
	const struct give *g = arg;
	struct cbreq_rec r = {
		.id = store_col(s, 0), .callback = store_col(s, 1), .caller = store_col(s, 2),
		.number = store_col(s, 3), .target = store_col(s, 4),
		.uniqueid = store_col(s, 5), .status = store_col(s, 6),
		.attempts = sqlite3_column_int64(s, 7), .due = sqlite3_column_int64(s, 8),
		.call_id = store_col(s, 9), .operator = store_col(s, 10),
		.registered_at = store_col(s, 11), .handled_at = store_col(s, 12),
	};

	return g->h(&r, g->arg);
}

int cbreq_due(struct store *st, int64_t now, cbreq_h *h, void *arg)
{
	struct give g = { h, arg };
	char buf[24];
	const char *const v[] = { buf };

	if (!h)
		return EINVAL;
	(void)re_snprintf(buf, sizeof(buf), "%lld", (long long)now);
	return store_exec(st, "SELECT " COLS " FROM callback_requests WHERE status = 'pending'"
			  " AND due <= CAST(?1 AS INTEGER) ORDER BY due, rowid", v, 1, row_give,
			  &g, NULL);
}

int cbreq_set_calling(struct store *st, const char *id, const char *call_id)
{
	const char *const v[] = { id, call_id ? call_id : "" };

	if (!id)
		return EINVAL;
	return store_changed(st, store_exec(st, "UPDATE callback_requests SET status ="
					    " 'calling', attempts = attempts + 1, call_id = ?2"
					    " WHERE id = ?1", v, 2, NULL, NULL, NULL));
}

int cbreq_set_pending(struct store *st, const char *id, int64_t due)
{
	char buf[24];
	const char *const v[] = { id, buf };

	if (!id)
		return EINVAL;
	(void)re_snprintf(buf, sizeof(buf), "%lld", (long long)due);
	return store_changed(st, store_exec(st, "UPDATE callback_requests SET status ="
					    " 'pending', due = CAST(?2 AS INTEGER) WHERE id = ?1",
					    v, 2, NULL, NULL, NULL));
}

int cbreq_finish(struct store *st, const char *id, const char *status, const char *operator)
{
	const char *const v[] = { id, status, operator ? operator : "" };

	if (!id || !status || (strcmp(status, CBREQ_DONE) && strcmp(status, CBREQ_FAILED)))
		return EINVAL;
	return store_changed(st, store_exec(st, "UPDATE callback_requests SET status = ?2,"
					    " operator = ?3, handled_at = " NOW " WHERE id = ?1",
					    v, 3, NULL, NULL, NULL));
}

int cbreq_mark_done(struct store *st, const char *id, const char *operator)
{
	const char *const v[] = { id, operator ? operator : "" };

	if (!id)
		return EINVAL;
	return store_changed(st, store_exec(st, "UPDATE callback_requests SET status = 'done',"
					    " operator = ?2, handled_at = " NOW " WHERE id = ?1"
					    " AND status IN ('pending', 'failed')", v, 2, NULL,
					    NULL, NULL));
}

int cbreq_reset_calling(struct store *st, unsigned *n)
{
	int err = store_exec(st, "UPDATE callback_requests SET status = 'pending' WHERE"
			     " status = 'calling'", NULL, 0, NULL, NULL, NULL);

	if (!err && n)
		*n = (unsigned)sqlite3_changes(store_db(st));
	/* Their attempts never got an outcome: the stop ended them. */
	return err ? err : store_exec(st, "UPDATE callback_attempts SET outcome ="
				      " '" CBREQ_INTERRUPTED "', ended_at = " NOW " WHERE"
				      " outcome = ''", NULL, 0, NULL, NULL, NULL);
}

int cbreq_get(struct store *st, const char *id, cbreq_h *h, void *arg)
{
	struct give g = { h, arg };

	if (!id || !h)
		return EINVAL;
	return store_get(st, "SELECT " COLS " FROM callback_requests WHERE id = ?1", id,
			 row_give, &g);
}

int cbreq_attempt_start(struct store *st, const struct cbreq_attempt *a)
{
	char n[24];
	const char *v[4];

	if (!a || !a->req_id)
		return EINVAL;
	(void)re_snprintf(n, sizeof(n), "%lld", (long long)a->attempt);
	v[0] = a->req_id;
	v[1] = n;
	v[2] = a->call_id ? a->call_id : "";
	v[3] = a->agent ? a->agent : "";
	return store_exec(st, "INSERT OR REPLACE INTO callback_attempts(req_id, attempt,"
			  " call_id, agent, started_at) VALUES(?1, CAST(?2 AS INTEGER), ?3, ?4, "
			  NOW ")", v, 4, NULL, NULL, NULL);
}

int cbreq_attempt_end(struct store *st, const char *req_id, int64_t attempt,
		      const char *outcome)
{
	char n[24];
	const char *const v[] = { req_id, n, outcome ? outcome : "" };

	if (!req_id)
		return EINVAL;
	(void)re_snprintf(n, sizeof(n), "%lld", (long long)attempt);
	return store_changed(st, store_exec(st, "UPDATE callback_attempts SET outcome = ?3,"
					    " ended_at = " NOW " WHERE req_id = ?1 AND"
					    " attempt = CAST(?2 AS INTEGER)", v, 3, NULL, NULL,
					    NULL));
}

struct give_attempt {
	cbreq_attempt_h *h;
	void *arg;
};

static int attempt_give(sqlite3_stmt *s, void *arg)
{
	const struct give_attempt *g = arg;
	struct cbreq_attempt a = {
		.req_id = store_col(s, 0), .attempt = sqlite3_column_int64(s, 1),
		.call_id = store_col(s, 2), .agent = store_col(s, 3),
		.started_at = store_col(s, 4), .ended_at = store_col(s, 5),
		.outcome = store_col(s, 6),
	};

	return g->h(&a, g->arg);
}

int cbreq_attempts(struct store *st, const char *req_id, cbreq_attempt_h *h, void *arg)
{
	struct give_attempt g = { h, arg };

	if (!req_id || !h)
		return EINVAL;
	return store_exec(st, "SELECT req_id, attempt, call_id, agent, started_at, ended_at,"
			  " outcome FROM callback_attempts WHERE req_id = ?1 ORDER BY attempt",
			  &req_id, 1, attempt_give, &g, NULL);
}

/* col within [from, to]; "to" names a day or a minute and includes all of it. */
static int window_add(struct store_where *w, const char *ge, const char *le, const char *from,
		      const char *to)
{
	char end[32] = "";
	int err = store_where_add(w, ge, from, false);

	if (!err && to && *to) {
		size_t n = strlen(to);

		(void)re_snprintf(end, sizeof(end), "%s%s", to,
				  n <= 10 ? " 23:59:59" : n <= 16 ? ":59" : "");
		err = store_where_add(w, le, end, false);
	}
	return err;
}

int cbreq_called_back(struct store *st, const char *number, const char *at,
		      const char *call_id, const char *operator, cbreq_h *h, void *arg)
{
	const char *const v[] = { number, at, call_id ? call_id : "", operator ? operator : "" };
	struct give g = { h, arg };

	if (!str_isset(number) || !str_isset(at))
		return EINVAL;
	return store_exec(st, "UPDATE callback_requests SET status = 'done', operator = ?4,"
			  " handled_at = " NOW " WHERE number = ?1 AND status IN ('pending',"
			  " 'calling') AND registered_at <= ?2 AND (?3 = '' OR call_id != ?3)"
			  " RETURNING " COLS, v, 4, h ? row_give : NULL, &g, NULL);
}

static int where_build(struct store_where *w, const struct cbreq_query *q)
{
	int err;

	err = store_where_match(w, "callback", q->callback, q->alike);
	err = err ? err : store_where_match(w, "caller", q->caller, q->alike);
	err = err ? err : store_where_match(w, "number", q->number, q->alike);
	err = err ? err : store_where_match(w, "operator", q->operator, q->alike);
	err = err ? err : store_where_match(w, "target", q->target, q->alike);
	err = err ? err : store_where_match(w, "status", q->status, false);
	err = err ? err : window_add(w, "registered_at >= ?", "registered_at <= ?", q->from,
				     q->to);
	/* An unhandled request (handled_at "") is outside any handled window:
	 * an open start is "0", after "" yet before every date. */
	err = err ? err : window_add(w, "handled_at >= ?", "handled_at <= ?",
				     str_isset(q->hfrom) || !str_isset(q->hto) ? q->hfrom : "0",
				     q->hto);
	return err;
}

int cbreq_search(struct store *st, const struct cbreq_query *q, uint64_t *total,
		 cbreq_h *h, void *arg)
{
	struct store_page p = { .cols = COLS, .from = "callback_requests" };
	struct give g = { h, arg };

	if (!q)
		return EINVAL;
	p.sort = "registered_at";
	p.desc = q->desc;
	p.tie = q->desc ? "rowid DESC" : "rowid";
	p.start = q->start;
	p.count = q->count;
	return store_search(st, &p, where_build(&p.where, q), total, row_give, &g);
}
