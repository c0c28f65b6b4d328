/* numlist: the numlist table (migration 7), one statement per call like
 * store/pbxuser. The list column keeps black and white apart. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sqlite3.h>
#include <re.h>
#include "store/numlist.h"
#include "store/store_int.h"

#define COLS "id, number, labels, comment, created"

static const char *list_name(enum numlist_kind k)
{
	return k == NUMLIST_WHITE ? "white" : "black";
}

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

static int row_give(sqlite3_stmt *s, numlist_h *h, void *arg)
{
	struct numlist_entry e = {
		.id = col(s, 0), .number = col(s, 1), .labels = col(s, 2),
		.comment = col(s, 3), .created = col(s, 4),
	};

	return h(&e, arg);
}

static int bind_text(sqlite3_stmt *s, int i, const char *v)
{
	return store_errno(sqlite3_bind_text(s, i, v ? v : "", -1, SQLITE_TRANSIENT));
}

static int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **s)
{
	return store_errno(sqlite3_prepare_v2(db, sql, -1, s, NULL));
}

/* Steps a write; a constraint means the number is taken. */
static int exec_one(sqlite3 *db, sqlite3_stmt *s, int err, bool need_change)
{
	int rc;

	if (!err) {
		rc = sqlite3_step(s);
		err = rc == SQLITE_DONE ? 0 : (rc & 0xff) == SQLITE_CONSTRAINT ? EEXIST
			: step_err(rc);
		if (!err && need_change && sqlite3_changes(db) < 1)
			err = ENOENT;
	}
	sqlite3_finalize(s);
	return err;
}

int numlist_add(struct store *st, enum numlist_kind k, const struct numlist_entry *e,
		char *id, size_t idsz)
{
	sqlite3 *db = store_db(st);
	uint8_t rnd[12];
	char hex[25];
	sqlite3_stmt *s;
	int err;

	if (!db || !e || !e->number || !*e->number || !id || idsz < sizeof(hex))
		return EINVAL;
	rand_bytes(rnd, sizeof(rnd));
	for (size_t i = 0; i < sizeof(rnd); i++)
		(void)snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
	err = prepare(db, "INSERT INTO numlist(id, list, number, labels, comment, created)"
		      " VALUES(?1, ?2, ?3, ?4, ?5, strftime('%Y-%m-%d %H:%M:%S', 'now'))", &s);
	if (err)
		return err;
	err = bind_text(s, 1, hex);
	err = err ? err : bind_text(s, 2, list_name(k));
	err = err ? err : bind_text(s, 3, e->number);
	err = err ? err : bind_text(s, 4, e->labels && *e->labels ? e->labels : "[]");
	err = err ? err : bind_text(s, 5, e->comment);
	err = exec_one(db, s, err, false);
	if (!err)
		str_ncpy(id, hex, idsz);
	return err;
}

int numlist_update(struct store *st, enum numlist_kind k, const struct numlist_entry *e)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s;
	int err;

	if (!db || !e || !e->id || !e->number || !*e->number)
		return EINVAL;
	err = prepare(db, "UPDATE numlist SET number = ?3, labels = ?4, comment = ?5"
		      " WHERE id = ?1 AND list = ?2", &s);
	if (err)
		return err;
	err = bind_text(s, 1, e->id);
	err = err ? err : bind_text(s, 2, list_name(k));
	err = err ? err : bind_text(s, 3, e->number);
	err = err ? err : bind_text(s, 4, e->labels && *e->labels ? e->labels : "[]");
	err = err ? err : bind_text(s, 5, e->comment);
	return exec_one(db, s, err, true);
}

int numlist_del(struct store *st, enum numlist_kind k, const char *id)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s;
	int err;

	if (!db || !id)
		return EINVAL;
	err = prepare(db, "DELETE FROM numlist WHERE id = ?1 AND list = ?2", &s);
	if (err)
		return err;
	err = bind_text(s, 1, id);
	err = err ? err : bind_text(s, 2, list_name(k));
	return exec_one(db, s, err, true);
}

static int get_one(struct store *st, const char *sql, enum numlist_kind k, const char *v,
		   numlist_h *h, void *arg)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s;
	int err, rc;

	if (!db || !v || !h)
		return EINVAL;
	err = prepare(db, sql, &s);
	if (err)
		return err;
	err = bind_text(s, 1, v);
	err = err ? err : bind_text(s, 2, list_name(k));
	if (!err) {
		rc = sqlite3_step(s);
		err = rc == SQLITE_ROW ? row_give(s, h, arg)
			: rc == SQLITE_DONE ? ENOENT : step_err(rc);
	}
	sqlite3_finalize(s);
	return err;
}

int numlist_get(struct store *st, enum numlist_kind k, const char *id, numlist_h *h,
		void *arg)
{
	return get_one(st, "SELECT " COLS " FROM numlist WHERE id = ?1 AND list = ?2", k, id,
		       h, arg);
}

int numlist_lookup(struct store *st, enum numlist_kind k, const char *number,
		   numlist_h *h, void *arg)
{
	/* The UNIQUE(list, number) index makes this a point lookup. */
	return get_one(st, "SELECT " COLS " FROM numlist WHERE number = ?1 AND list = ?2", k,
		       number, h, arg);
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

static const char *sort_column(const char *sort)
{
	if (!sort || !*sort || !strcmp(sort, "number"))
		return "number";
	if (!strcmp(sort, "date"))
		return "created";
	if (!strcmp(sort, "_id"))
		return "id";
	return NULL;
}

int numlist_search(struct store *st, enum numlist_kind k, const struct numlist_query *q,
		   uint64_t *total, numlist_h *h, void *arg)
{
	const bool by_number = q && q->number && *q->number;
	const char *colname;
	char *sql = NULL, *pat = NULL;
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s = NULL;
	int err, rc = SQLITE_DONE;
	bool any = false;

	if (!db || !q || !total || !h)
		return EINVAL;
	colname = sort_column(q->sort);
	if (!colname)
		return EINVAL;
	if (by_number && q->alike) {
		err = like_pattern(&pat, q->number);
		if (err)
			return err;
	}
	/* One statement: the window count gives the total with the page. */
	err = re_sdprintf(&sql, "SELECT " COLS ", count(*) OVER () FROM numlist WHERE list = ?1%s"
			  " ORDER BY %s %s, number LIMIT ?3 OFFSET ?4",
			  !by_number ? "" : q->alike ? " AND number LIKE ?2 ESCAPE '\\'"
			  : " AND number = ?2", colname, q->desc ? "DESC" : "ASC");
	if (err)
		goto out;
	err = prepare(db, sql, &s);
	if (err)
		goto out;
	err = bind_text(s, 1, list_name(k));
	if (!err && by_number)
		err = bind_text(s, 2, q->alike ? pat : q->number);
	err = err ? err : store_errno(sqlite3_bind_int64(s, 3, q->count ? (sqlite3_int64)q->count
							     : -1));
	err = err ? err : store_errno(sqlite3_bind_int64(s, 4, q->start));
	*total = 0;
	while (!err && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		*total = (uint64_t)sqlite3_column_int64(s, 5);
		any = true;
		err = row_give(s, h, arg);
	}
	if (!err && rc != SQLITE_DONE)
		err = step_err(rc);
	/* A page past the end has no row to carry the count. */
	if (!err && !any && q->start) {
		sqlite3_finalize(s);
		s = NULL;
		sql = mem_deref(sql);
		err = re_sdprintf(&sql, "SELECT count(*) FROM numlist WHERE list = ?1%s",
				  !by_number ? "" : q->alike ? " AND number LIKE ?2 ESCAPE '\\'"
				  : " AND number = ?2");
		err = err ? err : prepare(db, sql, &s);
		err = err ? err : bind_text(s, 1, list_name(k));
		if (!err && by_number)
			err = bind_text(s, 2, q->alike ? pat : q->number);
		if (!err) {
			rc = sqlite3_step(s);
			if (rc == SQLITE_ROW)
				*total = (uint64_t)sqlite3_column_int64(s, 0);
			else
				err = step_err(rc);
		}
	}
 out:
	sqlite3_finalize(s);
	mem_deref(sql);
	mem_deref(pat);
	return err;
}
