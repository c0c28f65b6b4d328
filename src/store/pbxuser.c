/* pbxuser: REST API view of the users table (migration 5 added id, name,
 * active and attrs). Statements are prepared per call: API traffic is light,
 * and the registrar's hot path keeps store.c's prepared ones. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sqlite3.h>
#include <re.h>
#include "store/pbxuser.h"
#include "store/store_int.h"

#define COLS "id, ext, password, context, name, active, attrs, COALESCE(created, '')"

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

static int row_give(sqlite3_stmt *s, pbxuser_h *h, void *arg)
{
	struct pbxuser u = {
		.id = col(s, 0), .number = col(s, 1), .secret = col(s, 2), .context = col(s, 3),
		.name = col(s, 4), .active = sqlite3_column_int(s, 5) != 0,
		.attrs = col(s, 6), .created = col(s, 7),
	};

	return h(&u, arg);
}

static int bind_text(sqlite3_stmt *s, int i, const char *v)
{
	return store_errno(v ? sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT)
			     : sqlite3_bind_null(s, i));
}

/* Binds ?1..?6 = number, secret, context, name, active, attrs. */
static int bind_fields(sqlite3_stmt *s, const struct pbxuser *u)
{
	int err = bind_text(s, 1, u->number);

	err = err ? err : bind_text(s, 2, u->secret);
	err = err ? err : bind_text(s, 3, u->context && *u->context ? u->context
				    : "main_routing");
	err = err ? err : bind_text(s, 4, u->name ? u->name : "");
	err = err ? err : store_errno(sqlite3_bind_int(s, 5, u->active));
	err = err ? err : bind_text(s, 6, u->attrs && *u->attrs ? u->attrs : "{}");
	return err;
}

static int exec_one(sqlite3 *db, sqlite3_stmt *s, int err, bool need_change)
{
	int rc;

	if (!err) {
		rc = sqlite3_step(s);
		err = rc == SQLITE_DONE ? 0 : step_err(rc);
		if (!err && need_change && sqlite3_changes(db) < 1)
			err = ENOENT;
	}
	sqlite3_finalize(s);
	return err;
}

int pbxuser_add(struct store *st, const struct pbxuser *u, char *id, size_t idsz)
{
	sqlite3 *db = store_db(st);
	uint8_t rnd[12];
	char hex[25];
	sqlite3_stmt *s;
	int err, rc;

	if (!db || !u || !u->number || !*u->number || !u->secret || !id || idsz < sizeof(hex))
		return EINVAL;
	rand_bytes(rnd, sizeof(rnd));
	for (size_t i = 0; i < sizeof(rnd); i++)
		(void)snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
	rc = sqlite3_prepare_v2(db, "INSERT INTO users(ext, password, context, name, active,"
				" attrs, id, created) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7,"
				" strftime('%Y-%m-%d %H:%M:%S', 'now'))", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return store_errno(rc);
	err = bind_fields(s, u);
	err = err ? err : bind_text(s, 7, hex);
	err = exec_one(db, s, err, false);
	if (!err)
		str_ncpy(id, hex, idsz);
	return err;
}

int pbxuser_update(struct store *st, const struct pbxuser *u)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s;
	int rc;

	if (!db || !u || !u->id || !u->number || !*u->number || !u->secret)
		return EINVAL;
	rc = sqlite3_prepare_v2(db, "UPDATE users SET ext = ?1, password = ?2, context = ?3,"
				" name = ?4, active = ?5, attrs = ?6 WHERE id = ?7", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return store_errno(rc);
	rc = bind_fields(s, u);
	return exec_one(db, s, rc ? rc : bind_text(s, 7, u->id), true);
}

int pbxuser_del(struct store *st, const char *id)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s;
	int rc;

	if (!db || !id)
		return EINVAL;
	rc = sqlite3_prepare_v2(db, "DELETE FROM users WHERE id = ?1", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return store_errno(rc);
	return exec_one(db, s, bind_text(s, 1, id), true);
}

int pbxuser_get(struct store *st, const char *id, pbxuser_h *h, void *arg)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s;
	int err, rc;

	if (!db || !id || !h)
		return EINVAL;
	rc = sqlite3_prepare_v2(db, "SELECT " COLS " FROM users WHERE id = ?1", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return store_errno(rc);
	err = bind_text(s, 1, id);
	if (!err) {
		rc = sqlite3_step(s);
		err = rc == SQLITE_ROW ? row_give(s, h, arg)
			: rc == SQLITE_DONE ? ENOENT : step_err(rc);
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
	if (!sort || !*sort || !strcmp(sort, "number"))
		return "ext";
	if (!strcmp(sort, "name"))
		return "name";
	if (!strcmp(sort, "date"))
		return "created";
	if (!strcmp(sort, "_id"))
		return "id";
	return NULL;
}

/* Binds the WHERE parameters ?1 (name) and ?2 (number). */
static int bind_filters(sqlite3_stmt *s, const struct pbxuser_query *q, char *name_pat,
			char *number_pat)
{
	int err = 0;

	if (q->name && *q->name)
		err = bind_text(s, 1, q->alike ? name_pat : q->name);
	if (!err && q->number && *q->number)
		err = bind_text(s, 2, q->alike ? number_pat : q->number);
	return err;
}

int pbxuser_search(struct store *st, const struct pbxuser_query *q, uint64_t *total,
		   pbxuser_h *h, void *arg)
{
	const char *colname;
	char *where = NULL, *sql = NULL, *name_pat = NULL, *number_pat = NULL;
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s = NULL;
	int err, rc;

	if (!db || !q || !total || !h)
		return EINVAL;
	colname = sort_column(q->sort);
	if (!colname)
		return EINVAL;
	err = re_sdprintf(&where, "WHERE 1%s%s%s%s",
			  q->name && *q->name ? " AND name " : "",
			  q->name && *q->name ? (q->alike ? "LIKE ?1 ESCAPE '\\'" : "= ?1") : "",
			  q->number && *q->number ? " AND ext " : "",
			  q->number && *q->number ? (q->alike ? "LIKE ?2 ESCAPE '\\'" : "= ?2") : "");
	if (!err && q->alike && q->name && *q->name)
		err = like_pattern(&name_pat, q->name);
	if (!err && q->alike && q->number && *q->number)
		err = like_pattern(&number_pat, q->number);
	if (err)
		goto out;

	err = re_sdprintf(&sql, "SELECT count(*) FROM users %s", where);
	if (err)
		goto out;
	rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
	if (rc != SQLITE_OK) {
		err = store_errno(rc);
		goto out;
	}
	err = bind_filters(s, q, name_pat, number_pat);
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

	/* ext breaks ties, so pages never overlap or skip rows. */
	err = re_sdprintf(&sql, "SELECT " COLS " FROM users %s ORDER BY %s %s, ext"
			  " LIMIT ?3 OFFSET ?4", where, colname, q->desc ? "DESC" : "ASC");
	if (err)
		goto out;
	rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
	if (rc != SQLITE_OK) {
		err = store_errno(rc);
		goto out;
	}
	err = bind_filters(s, q, name_pat, number_pat);
	err = err ? err : store_errno(sqlite3_bind_int64(s, 3, q->count ? (sqlite3_int64)q->count
							     : -1));
	err = err ? err : store_errno(sqlite3_bind_int64(s, 4, q->start));
	while (!err && (rc = sqlite3_step(s)) == SQLITE_ROW)
		err = row_give(s, h, arg);
	if (!err && rc != SQLITE_DONE)
		err = step_err(rc);
 out:
	sqlite3_finalize(s);
	mem_deref(sql);
	mem_deref(where);
	mem_deref(name_pat);
	mem_deref(number_pat);
	return err;
}
