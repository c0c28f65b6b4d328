/* poll: survey results (migration 7). Statements are prepared per call:
 * a score arrives once per call at most and searches are API traffic. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sqlite3.h>
#include <re.h>
#include "store/poll.h"
#include "store/store_int.h"

#define COLS "id, uniqueid, src, dst, point, label, qnum, date"

enum { NFILTER = 5 };

static int step_err(int rc)
{
	int err = store_errno(rc);

	return err ? err : EIO;
}

static const char *col(sqlite3_stmt *s, int i)
{
	const unsigned char *v = sqlite3_column_text(s, i);

	return v ? (const char *)v : "";
}

static int bind_text(sqlite3_stmt *s, int i, const char *v)
{
	return store_errno(sqlite3_bind_text(s, i, v ? v : "", -1, SQLITE_TRANSIENT));
}

int poll_add(struct store *st, const struct poll_rec *r, char *id, size_t idsz)
{
	sqlite3 *db = store_db(st);
	uint8_t rnd[12];
	char hex[25];
	sqlite3_stmt *s;
	int err, rc;

	if (!db || !r || !r->uniqueid || !*r->uniqueid || !id || idsz < sizeof(hex))
		return EINVAL;
	rand_bytes(rnd, sizeof(rnd));
	for (size_t i = 0; i < sizeof(rnd); i++)
		(void)snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
	rc = sqlite3_prepare_v2(db, "INSERT INTO poll(id, uniqueid, src, dst, point, label, qnum,"
				" date) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7,"
				" COALESCE(?8, strftime('%Y-%m-%d %H:%M:%S', 'now')))",
				-1, &s, NULL);
	if (rc != SQLITE_OK)
		return store_errno(rc);
	err = bind_text(s, 1, hex);
	err = err ? err : bind_text(s, 2, r->uniqueid);
	err = err ? err : bind_text(s, 3, r->src);
	err = err ? err : bind_text(s, 4, r->dst);
	err = err ? err : store_errno(sqlite3_bind_int64(s, 5, r->point));
	err = err ? err : bind_text(s, 6, r->label);
	err = err ? err : bind_text(s, 7, r->qnum);
	if (!err && r->date && *r->date)
		err = bind_text(s, 8, r->date);
	if (!err) {
		rc = sqlite3_step(s);
		err = rc == SQLITE_DONE ? 0 : step_err(rc);
	}
	sqlite3_finalize(s);
	if (!err)
		str_ncpy(id, hex, idsz);
	return err;
}

static const char *sort_column(const char *sort)
{
	static const char *const map[][2] = {
		{ "date", "date" }, { "point", "point" }, { "src", "src" }, { "dst", "dst" },
		{ "label", "label" }, { "_id", "id" }, { "qnum", "qnum" },
		{ "uniqueid", "uniqueid" },
	};

	if (!sort || !*sort)
		return "date";
	for (size_t i = 0; i < ARRAY_SIZE(map); i++)
		if (!strcmp(sort, map[i][0]))
			return map[i][1];
	return NULL;
}

/* "%v%" with LIKE's wildcards in v escaped by '\'. */
static int like_pattern(char **out, const char *v)
{
	char *p;
	size_t n = 0;

	*out = mem_zalloc(2 * strlen(v) + 3, NULL);
	if (!*out)
		return ENOMEM;
	p = *out;
	p[n++] = '%';
	for (; *v; v++) {
		if (*v == '%' || *v == '_' || *v == '\\')
			p[n++] = '\\';
		p[n++] = *v;
	}
	p[n++] = '%';
	p[n] = '\0';
	return 0;
}

/* What a search binds: the filters as ?1..?5, from ?6, to ?7. */
struct where {
	char *sql;
	char *val[NFILTER];     /* owned: the value or its LIKE pattern */
	char to[32];
};

static void where_reset(struct where *w)
{
	w->sql = mem_deref(w->sql);
	for (int i = 0; i < NFILTER; i++)
		w->val[i] = mem_deref(w->val[i]);
}

static int where_build(struct where *w, const struct poll_query *q)
{
	static const char *const cols[NFILTER] = { "src", "dst", "label", "qnum", "uniqueid" };
	const char *v[NFILTER] = { q->src, q->dst, q->label, q->qnum, q->uniqueid };
	char part[64];
	int err;

	err = str_dup(&w->sql, "WHERE 1");
	for (int i = 0; i < NFILTER && !err; i++) {
		char *more = NULL;
		if (!v[i] || !*v[i])
			continue;
		err = q->alike ? like_pattern(&w->val[i], v[i]) : str_dup(&w->val[i], v[i]);
		(void)re_snprintf(part, sizeof(part), " AND %s %s?%d%s", cols[i],
				  q->alike ? "LIKE " : "= ", i + 1, q->alike ? " ESCAPE '\\'" : "");
		err = err ? err : re_sdprintf(&more, "%s%s", w->sql, part);
		if (!err) {
			mem_deref(w->sql);
			w->sql = more;
		}
	}
	if (!err && (q->from && *q->from) ) {
		char *more = NULL;
		err = re_sdprintf(&more, "%s AND date >= ?6", w->sql);
		if (!err) {
			mem_deref(w->sql);
			w->sql = more;
		}
	}
	if (!err && q->to && *q->to) {
		char *more = NULL;
		/* "to" names a day or a minute and includes all of it. */
		size_t n = strlen(q->to);
		(void)re_snprintf(w->to, sizeof(w->to), "%s%s", q->to,
				  n <= 10 ? " 23:59:59" : n <= 16 ? ":59" : "");
		err = re_sdprintf(&more, "%s AND date <= ?7", w->sql);
		if (!err) {
			mem_deref(w->sql);
			w->sql = more;
		}
	}
	return err;
}

static int where_bind(sqlite3_stmt *s, const struct where *w, const struct poll_query *q)
{
	int err = 0;

	for (int i = 0; i < NFILTER && !err; i++)
		if (w->val[i])
			err = bind_text(s, i + 1, w->val[i]);
	if (!err && q->from && *q->from)
		err = bind_text(s, 6, q->from);
	if (!err && w->to[0])
		err = bind_text(s, 7, w->to);
	return err;
}

static int row_give(sqlite3_stmt *s, poll_h *h, void *arg)
{
	struct poll_rec r = {
		.id = col(s, 0), .uniqueid = col(s, 1), .src = col(s, 2), .dst = col(s, 3),
		.point = sqlite3_column_int64(s, 4), .label = col(s, 5), .qnum = col(s, 6),
		.date = col(s, 7),
	};

	return h(&r, arg);
}

int poll_last(struct store *st, const char *uniqueid, poll_h *h, void *arg)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s;
	int err, rc;

	if (!db || !uniqueid || !h)
		return EINVAL;
	rc = sqlite3_prepare_v2(db, "SELECT " COLS " FROM poll WHERE uniqueid = ?1"
				" ORDER BY rowid DESC LIMIT 1", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return store_errno(rc);
	err = bind_text(s, 1, uniqueid);
	if (!err) {
		rc = sqlite3_step(s);
		err = rc == SQLITE_ROW ? row_give(s, h, arg)
			: rc == SQLITE_DONE ? ENOENT : step_err(rc);
	}
	sqlite3_finalize(s);
	return err;
}

int poll_search(struct store *st, const struct poll_query *q, uint64_t *total, poll_h *h,
		void *arg)
{
	struct where w = { 0 };
	const char *colname;
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s = NULL;
	char *sql = NULL;
	int err, rc;

	if (!db || !q || !total || !h)
		return EINVAL;
	colname = sort_column(q->sort);
	if (!colname)
		return EINVAL;
	err = where_build(&w, q);
	err = err ? err : re_sdprintf(&sql, "SELECT count(*) FROM poll %s", w.sql);
	if (err)
		goto out;
	rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
	if (rc != SQLITE_OK) {
		err = store_errno(rc);
		goto out;
	}
	err = where_bind(s, &w, q);
	if (!err) {
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW)
			*total = (uint64_t)sqlite3_column_int64(s, 0);
		else
			err = step_err(rc);
	}
	sqlite3_finalize(s);
	s = NULL;
	sql = mem_deref(sql);
	if (err)
		goto out;

	/* rowid breaks ties (insertion order), so pages never overlap or skip. */
	err = re_sdprintf(&sql, "SELECT " COLS " FROM poll %s ORDER BY %s %s, rowid %s"
			  " LIMIT ?8 OFFSET ?9", w.sql, colname, q->desc ? "DESC" : "ASC",
			  q->desc ? "DESC" : "ASC");
	if (err)
		goto out;
	rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
	if (rc != SQLITE_OK) {
		err = store_errno(rc);
		goto out;
	}
	err = where_bind(s, &w, q);
	err = err ? err : store_errno(sqlite3_bind_int64(s, 8, q->count ? (sqlite3_int64)q->count
							     : -1));
	err = err ? err : store_errno(sqlite3_bind_int64(s, 9, q->start));
	while (!err && (rc = sqlite3_step(s)) == SQLITE_ROW)
		err = row_give(s, h, arg);
	if (!err && rc != SQLITE_DONE)
		err = step_err(rc);
 out:
	sqlite3_finalize(s);
	mem_deref(sql);
	where_reset(&w);
	return err;
}
