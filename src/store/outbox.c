/* outbox: statements over the outbox table. Statements are prepared per call:
 * the cost is microseconds against a commit's fsync, and the store keeps no
 * per-repository state. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sqlite3.h>
#include "store/outbox.h"
#include "store/store_int.h"

enum { ERROR_MAX = 200 };   /* bytes of last_error kept */

/* "Oldest row of its call_key": rows of one call go out strictly in order,
 * so a row waits while an older one of the same call is undelivered. The
 * correlated min(id) is one lookup in the outbox_call(call_key, id) index. */
#define HEAD_ROW "o.id = (SELECT min(i.id) FROM outbox i WHERE i.call_key = o.call_key)"
#define ROW_COLS "o.id, o.event, o.call_key, o.url, o.method, o.style, o.body," \
	" o.attempts, o.next_at, o.last_error"

/* Absent text is stored as "". */
static int bind_text(sqlite3_stmt *s, int i, const char *v)
{
	return store_bind_text(s, i, v ? v : "");
}

struct give {
	outbox_row_h *h;
	void *arg;
};

static int row_give(sqlite3_stmt *s, void *arg)
{
	const struct give *g = arg;
	struct outbox_row r = {
		.id = sqlite3_column_int64(s, 0), .event = store_col(s, 1),
		.call_key = store_col(s, 2), .url = store_col(s, 3), .method = store_col(s, 4),
		.style = store_col(s, 5), .body = store_col(s, 6),
		.attempts = (uint32_t)sqlite3_column_int64(s, 7),
		.next_at = sqlite3_column_int64(s, 8),
		.last_error = sqlite3_column_type(s, 9) == SQLITE_NULL ? NULL
			: store_col(s, 9),
	};

	return g->h(&r, g->arg);
}

static int int64_h(sqlite3_stmt *s, void *arg)
{
	*(int64_t *)arg = sqlite3_column_int64(s, 0);
	return 0;
}

int outbox_enqueue(struct store *st, const struct outbox_new *ev, int64_t *idp)
{
	sqlite3_stmt *s;
	int err;

	if (!st || !ev || !ev->event || !*ev->event || !ev->url || !*ev->url || !ev->body)
		return EINVAL;
	err = store_prepare(st, "INSERT INTO outbox(event, call_key, url, method, style, body,"
		      " created, next_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6,"
		      " strftime('%Y-%m-%d %H:%M:%f', 'now'), 0)", &s);
	if (err)
		return err;
	err = bind_text(s, 1, ev->event);
	if (!err)
		err = bind_text(s, 2, ev->call_key);
	if (!err)
		err = bind_text(s, 3, ev->url);
	if (!err)
		err = bind_text(s, 4, ev->method && *ev->method ? ev->method : "POST");
	if (!err)
		err = bind_text(s, 5, ev->style && *ev->style ? ev->style : "rest");
	if (!err)
		err = bind_text(s, 6, ev->body);
	err = store_run(s, err, NULL, NULL, NULL);
	if (!err && idp)
		*idp = sqlite3_last_insert_rowid(store_db(st));
	return err;
}

int outbox_fetch_due(struct store *st, int64_t now_ms, unsigned max,
		     outbox_row_h *h, void *arg)
{
	struct give g = { h, arg };
	sqlite3_stmt *s;
	int err;

	if (!st || !h)
		return EINVAL;
	if (!max)
		return 0;
	err = store_prepare(st, "SELECT " ROW_COLS " FROM outbox o WHERE o.next_at <= ?1 AND "
		      HEAD_ROW " ORDER BY o.next_at, o.id LIMIT ?2", &s);
	if (err)
		return err;
	err = store_errno(sqlite3_bind_int64(s, 1, now_ms));
	if (!err)
		err = store_errno(sqlite3_bind_int64(s, 2, max));
	return store_run(s, err, row_give, &g, NULL);
}

/* min() of no rows is NULL: nothing is due later. */
static int next_due_h(sqlite3_stmt *s, void *arg)
{
	if (sqlite3_column_type(s, 0) == SQLITE_NULL)
		return ENOENT;
	return int64_h(s, arg);
}

int outbox_next_due(struct store *st, int64_t now_ms, int64_t *at_ms)
{
	sqlite3_stmt *s;
	int err;

	if (!st || !at_ms)
		return EINVAL;
	err = store_prepare(st, "SELECT min(o.next_at) FROM outbox o WHERE o.next_at > ?1 AND "
		      HEAD_ROW, &s);
	if (err)
		return err;
	err = store_errno(sqlite3_bind_int64(s, 1, now_ms));
	return store_run(s, err, next_due_h, at_ms, NULL);
}

int outbox_mark_delivered(struct store *st, int64_t id)
{
	sqlite3_stmt *s;
	int err;

	if (!st)
		return EINVAL;
	err = store_prepare(st, "DELETE FROM outbox WHERE id = ?1", &s);
	if (err)
		return err;
	return store_changed(st, store_run(s, store_errno(sqlite3_bind_int64(s, 1, id)), NULL,
					   NULL, NULL));
}

int outbox_mark_failed(struct store *st, int64_t id, int64_t next_at_ms, const char *error)
{
	sqlite3_stmt *s;
	int err;

	if (!st)
		return EINVAL;
	err = store_prepare(st, "UPDATE outbox SET attempts = attempts + 1, next_at = ?2,"
		      " last_error = substr(?3, 1, ?4) WHERE id = ?1", &s);
	if (err)
		return err;
	err = store_errno(sqlite3_bind_int64(s, 1, id));
	if (!err)
		err = store_errno(sqlite3_bind_int64(s, 2, next_at_ms));
	if (!err)
		err = bind_text(s, 3, error);
	if (!err)
		err = store_errno(sqlite3_bind_int(s, 4, ERROR_MAX));
	return store_changed(st, store_run(s, err, NULL, NULL, NULL));
}

int outbox_count_pending(struct store *st, unsigned *n)
{
	int64_t count = 0;
	int err;

	if (!st || !n)
		return EINVAL;
	err = store_exec(st, "SELECT count(*) FROM outbox", NULL, 0, int64_h, &count, NULL);
	if (!err)
		*n = (unsigned)count;
	return err;
}

int outbox_apply(struct store *st, outbox_row_h *h, void *arg)
{
	struct give g = { h, arg };

	if (!st || !h)
		return EINVAL;
	return store_exec(st, "SELECT " ROW_COLS " FROM outbox o ORDER BY o.id", NULL, 0,
			  row_give, &g, NULL);
}

uint32_t outbox_backoff_ms(uint32_t attempts, uint32_t min_ms, uint32_t max_ms, uint32_t rnd)
{
	uint64_t d = min_ms ? min_ms : 1;

	if (max_ms < d)
		max_ms = (uint32_t)d;
	for (uint32_t i = 1; i < attempts && d < max_ms; i++)
		d *= 2;
	if (d > max_ms)
		d = max_ms;
	return (uint32_t)(d - rnd % (d / 4 + 1));
}
