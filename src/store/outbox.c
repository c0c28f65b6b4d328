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

static int prepare(struct store *st, const char *sql, sqlite3_stmt **sp)
{
	sqlite3 *db = store_db(st);

	if (!db)
		return EINVAL;
	return store_errno(sqlite3_prepare_v2(db, sql, -1, sp, NULL));
}

static int step_err(int rc)
{
	int err = store_errno(rc);

	return err ? err : EIO;
}

static int bind_text(sqlite3_stmt *s, int i, const char *v)
{
	return store_errno(sqlite3_bind_text(s, i, v ? v : "", -1, SQLITE_STATIC));
}

static const char *col_text(sqlite3_stmt *s, int col)
{
	const unsigned char *t = sqlite3_column_text(s, col);

	return t ? (const char *)t : "";
}

static void row_read(sqlite3_stmt *s, struct outbox_row *r)
{
	r->id = sqlite3_column_int64(s, 0);
	r->event = col_text(s, 1);
	r->call_key = col_text(s, 2);
	r->url = col_text(s, 3);
	r->method = col_text(s, 4);
	r->style = col_text(s, 5);
	r->body = col_text(s, 6);
	r->attempts = (uint32_t)sqlite3_column_int64(s, 7);
	r->next_at = sqlite3_column_int64(s, 8);
	r->last_error = sqlite3_column_type(s, 9) == SQLITE_NULL ? NULL : col_text(s, 9);
}

/* Steps s through its rows into h; finalizes s. */
static int rows_visit(sqlite3_stmt *s, outbox_row_h *h, void *arg)
{
	struct outbox_row r;
	int err = 0, rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		row_read(s, &r);
		err = h(&r, arg);
		if (err)
			break;
	}
	if (!err && rc != SQLITE_DONE)
		err = step_err(rc);
	sqlite3_finalize(s);
	return err;
}

/* Steps a statement that returns no rows; finalizes it. ENOENT when it
 * changed nothing and must_change is set. */
static int exec_stmt(struct store *st, sqlite3_stmt *s, int err, bool must_change)
{
	int rc;

	if (!err) {
		rc = sqlite3_step(s);
		err = rc == SQLITE_DONE ? 0 : step_err(rc);
	}
	sqlite3_finalize(s);
	if (!err && must_change && sqlite3_changes(store_db(st)) == 0)
		err = ENOENT;
	return err;
}

int outbox_enqueue(struct store *st, const struct outbox_new *ev, int64_t *idp)
{
	sqlite3_stmt *s;
	int err;

	if (!st || !ev || !ev->event || !*ev->event || !ev->url || !*ev->url || !ev->body)
		return EINVAL;
	err = prepare(st, "INSERT INTO outbox(event, call_key, url, method, style, body,"
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
	err = exec_stmt(st, s, err, false);
	if (!err && idp)
		*idp = sqlite3_last_insert_rowid(store_db(st));
	return err;
}

int outbox_fetch_due(struct store *st, int64_t now_ms, unsigned max,
		     outbox_row_h *h, void *arg)
{
	sqlite3_stmt *s;
	int err;

	if (!st || !h)
		return EINVAL;
	if (!max)
		return 0;
	err = prepare(st, "SELECT " ROW_COLS " FROM outbox o WHERE o.next_at <= ?1 AND "
		      HEAD_ROW " ORDER BY o.next_at, o.id LIMIT ?2", &s);
	if (err)
		return err;
	err = store_errno(sqlite3_bind_int64(s, 1, now_ms));
	if (!err)
		err = store_errno(sqlite3_bind_int64(s, 2, max));
	if (err) {
		sqlite3_finalize(s);
		return err;
	}
	return rows_visit(s, h, arg);
}

int outbox_next_due(struct store *st, int64_t now_ms, int64_t *at_ms)
{
	sqlite3_stmt *s;
	int err, rc;

	if (!st || !at_ms)
		return EINVAL;
	err = prepare(st, "SELECT min(o.next_at) FROM outbox o WHERE o.next_at > ?1 AND "
		      HEAD_ROW, &s);
	if (err)
		return err;
	err = store_errno(sqlite3_bind_int64(s, 1, now_ms));
	if (!err) {
		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW)
			err = step_err(rc);
		else if (sqlite3_column_type(s, 0) == SQLITE_NULL)
			err = ENOENT;
		else
			*at_ms = sqlite3_column_int64(s, 0);
	}
	sqlite3_finalize(s);
	return err;
}

int outbox_mark_delivered(struct store *st, int64_t id)
{
	sqlite3_stmt *s;
	int err;

	if (!st)
		return EINVAL;
	err = prepare(st, "DELETE FROM outbox WHERE id = ?1", &s);
	if (err)
		return err;
	return exec_stmt(st, s, store_errno(sqlite3_bind_int64(s, 1, id)), true);
}

int outbox_mark_failed(struct store *st, int64_t id, int64_t next_at_ms, const char *error)
{
	sqlite3_stmt *s;
	int err;

	if (!st)
		return EINVAL;
	err = prepare(st, "UPDATE outbox SET attempts = attempts + 1, next_at = ?2,"
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
	return exec_stmt(st, s, err, true);
}

int outbox_count_pending(struct store *st, unsigned *n)
{
	sqlite3_stmt *s;
	int err, rc;

	if (!st || !n)
		return EINVAL;
	err = prepare(st, "SELECT count(*) FROM outbox", &s);
	if (err)
		return err;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*n = (unsigned)sqlite3_column_int64(s, 0);
	else
		err = step_err(rc);
	sqlite3_finalize(s);
	return err;
}

int outbox_apply(struct store *st, outbox_row_h *h, void *arg)
{
	sqlite3_stmt *s;
	int err;

	if (!st || !h)
		return EINVAL;
	err = prepare(st, "SELECT " ROW_COLS " FROM outbox o ORDER BY o.id", &s);
	if (err)
		return err;
	return rows_visit(s, h, arg);
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
