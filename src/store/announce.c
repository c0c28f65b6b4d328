/* announce: the announcements table (migration 7), one statement per call
 * like store/pbxuser. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sqlite3.h>
#include <re.h>
#include "store/announce.h"
#include "store/store_int.h"

#define COLS "id, name, filename, comment, text, lang, status, created"

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

static int row_give(sqlite3_stmt *s, announce_h *h, void *arg)
{
	struct announce a = {
		.id = col(s, 0), .name = col(s, 1), .filename = col(s, 2), .comment = col(s, 3),
		.text = col(s, 4), .lang = col(s, 5), .status = col(s, 6), .created = col(s, 7),
	};

	return h(&a, arg);
}

static int bind_text(sqlite3_stmt *s, int i, const char *v)
{
	return store_errno(sqlite3_bind_text(s, i, v ? v : "", -1, SQLITE_TRANSIENT));
}

static int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **s)
{
	return store_errno(sqlite3_prepare_v2(db, sql, -1, s, NULL));
}

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

/* Binds ?2..?7 = name, filename, comment, text, lang, status. */
static int bind_fields(sqlite3_stmt *s, const struct announce *a)
{
	int err = bind_text(s, 2, a->name);

	err = err ? err : bind_text(s, 3, a->filename);
	err = err ? err : bind_text(s, 4, a->comment);
	err = err ? err : bind_text(s, 5, a->text);
	err = err ? err : bind_text(s, 6, a->lang);
	err = err ? err : bind_text(s, 7, a->status && *a->status ? a->status : "ready");
	return err;
}

int announce_add(struct store *st, const struct announce *a, char *id, size_t idsz)
{
	sqlite3 *db = store_db(st);
	uint8_t rnd[12];
	char hex[25];
	sqlite3_stmt *s;
	int err;

	if (!db || !a || !a->name || !*a->name || !a->filename || !id || idsz < sizeof(hex))
		return EINVAL;
	rand_bytes(rnd, sizeof(rnd));
	for (size_t i = 0; i < sizeof(rnd); i++)
		(void)snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
	err = prepare(db, "INSERT INTO announcements(id, name, filename, comment, text, lang,"
		      " status, created) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7,"
		      " strftime('%Y-%m-%d %H:%M:%S', 'now'))", &s);
	if (err)
		return err;
	err = bind_text(s, 1, hex);
	err = err ? err : bind_fields(s, a);
	err = exec_one(db, s, err, false);
	if (!err)
		str_ncpy(id, hex, idsz);
	return err;
}

int announce_update(struct store *st, const struct announce *a)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s;
	int err;

	if (!db || !a || !a->id || !a->name || !*a->name || !a->filename)
		return EINVAL;
	err = prepare(db, "UPDATE announcements SET name = ?2, filename = ?3, comment = ?4,"
		      " text = ?5, lang = ?6, status = ?7 WHERE id = ?1", &s);
	if (err)
		return err;
	err = bind_text(s, 1, a->id);
	err = err ? err : bind_fields(s, a);
	return exec_one(db, s, err, true);
}

int announce_del(struct store *st, const char *id)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s;
	int err;

	if (!db || !id)
		return EINVAL;
	err = prepare(db, "DELETE FROM announcements WHERE id = ?1", &s);
	if (err)
		return err;
	return exec_one(db, s, bind_text(s, 1, id), true);
}

int announce_get(struct store *st, const char *id, announce_h *h, void *arg)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s;
	int err, rc;

	if (!db || !id || !h)
		return EINVAL;
	err = prepare(db, "SELECT " COLS " FROM announcements WHERE id = ?1", &s);
	if (err)
		return err;
	err = bind_text(s, 1, id);
	if (!err) {
		rc = sqlite3_step(s);
		err = rc == SQLITE_ROW ? row_give(s, h, arg)
			: rc == SQLITE_DONE ? ENOENT : step_err(rc);
	}
	sqlite3_finalize(s);
	return err;
}

int announce_filename_uses(struct store *st, const char *filename, uint64_t *n)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s;
	int err, rc;

	if (!db || !filename || !n)
		return EINVAL;
	err = prepare(db, "SELECT count(*) FROM announcements WHERE filename = ?1", &s);
	if (err)
		return err;
	err = bind_text(s, 1, filename);
	if (!err) {
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW)
			*n = (uint64_t)sqlite3_column_int64(s, 0);
		else
			err = step_err(rc);
	}
	sqlite3_finalize(s);
	return err;
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
	if (!sort || !*sort || !strcmp(sort, "name"))
		return "name";
	if (!strcmp(sort, "date"))
		return "created";
	if (!strcmp(sort, "_id"))
		return "id";
	return NULL;
}

/* Runs sql (?1 = the name filter when by_name) with ?2 limit, ?3 offset
 * when paging. */
static int query(sqlite3 *db, const char *sql, const struct announce_query *q,
		 const char *pat, bool paging, announce_h *h, void *arg, uint64_t *count)
{
	sqlite3_stmt *s;
	int err, rc = SQLITE_DONE;

	err = prepare(db, sql, &s);
	if (err)
		return err;
	if (q->name && *q->name)
		err = bind_text(s, 1, q->alike ? pat : q->name);
	if (!err && paging) {
		err = store_errno(sqlite3_bind_int64(s, 2, q->count ? (sqlite3_int64)q->count
						     : -1));
		err = err ? err : store_errno(sqlite3_bind_int64(s, 3, q->start));
	}
	while (!err && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (count)
			*count = (uint64_t)sqlite3_column_int64(s, 0);
		else
			err = row_give(s, h, arg);
	}
	if (!err && rc != SQLITE_DONE)
		err = step_err(rc);
	sqlite3_finalize(s);
	return err;
}

int announce_search(struct store *st, const struct announce_query *q, uint64_t *total,
		    announce_h *h, void *arg)
{
	const char *colname, *where;
	char *sql = NULL, *pat = NULL;
	sqlite3 *db = store_db(st);
	int err;

	if (!db || !q || !total || !h)
		return EINVAL;
	colname = sort_column(q->sort);
	if (!colname)
		return EINVAL;
	where = !(q->name && *q->name) ? "" : q->alike ? " WHERE name LIKE ?1 ESCAPE '\\'"
		: " WHERE name = ?1";
	if (q->name && *q->name && q->alike && (err = like_pattern(&pat, q->name)))
		return err;
	*total = 0;
	err = re_sdprintf(&sql, "SELECT count(*) FROM announcements%s", where);
	err = err ? err : query(db, sql, q, pat, false, NULL, NULL, total);
	sql = mem_deref(sql);
	err = err ? err : re_sdprintf(&sql, "SELECT " COLS " FROM announcements%s ORDER BY %s %s,"
				      " name LIMIT ?2 OFFSET ?3", where, colname,
				      q->desc ? "DESC" : "ASC");
	err = err ? err : query(db, sql, q, pat, true, h, arg, NULL);
	mem_deref(sql);
	mem_deref(pat);
	return err;
}
