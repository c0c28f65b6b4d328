/* pbxtrunk: the trunks table (migration 7), one statement per call like
 * store/pbxuser. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sqlite3.h>
#include <re.h>
#include "store/pbxtrunk.h"
#include "store/store_int.h"

#define COLS "id, name, attrs, created"

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

static int row_give(sqlite3_stmt *s, pbxtrunk_h *h, void *arg)
{
	struct pbxtrunk t = { .id = col(s, 0), .name = col(s, 1), .attrs = col(s, 2),
			      .created = col(s, 3) };

	return h(&t, arg);
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

int pbxtrunk_add(struct store *st, const struct pbxtrunk *t, char *id, size_t idsz)
{
	sqlite3 *db = store_db(st);
	uint8_t rnd[12];
	char hex[25];
	sqlite3_stmt *s;
	int err;

	if (!db || !t || !t->name || !*t->name || !id || idsz < sizeof(hex))
		return EINVAL;
	rand_bytes(rnd, sizeof(rnd));
	for (size_t i = 0; i < sizeof(rnd); i++)
		(void)snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
	err = prepare(db, "INSERT INTO trunks(id, name, attrs, created) VALUES(?1, ?2, ?3,"
		      " strftime('%Y-%m-%d %H:%M:%S', 'now'))", &s);
	if (err)
		return err;
	err = bind_text(s, 1, hex);
	err = err ? err : bind_text(s, 2, t->name);
	err = err ? err : bind_text(s, 3, t->attrs && *t->attrs ? t->attrs : "{}");
	err = exec_one(db, s, err, false);
	if (!err)
		str_ncpy(id, hex, idsz);
	return err;
}

int pbxtrunk_update(struct store *st, const struct pbxtrunk *t)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s;
	int err;

	if (!db || !t || !t->id || !t->name || !*t->name)
		return EINVAL;
	err = prepare(db, "UPDATE trunks SET name = ?2, attrs = ?3 WHERE id = ?1", &s);
	if (err)
		return err;
	err = bind_text(s, 1, t->id);
	err = err ? err : bind_text(s, 2, t->name);
	err = err ? err : bind_text(s, 3, t->attrs && *t->attrs ? t->attrs : "{}");
	return exec_one(db, s, err, true);
}

int pbxtrunk_del(struct store *st, const char *id)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s;
	int err;

	if (!db || !id)
		return EINVAL;
	err = prepare(db, "DELETE FROM trunks WHERE id = ?1", &s);
	if (err)
		return err;
	return exec_one(db, s, bind_text(s, 1, id), true);
}

/* Runs a SELECT of COLS with ?1 bound to v (when v); ENOENT when one is
 * wanted and none came. */
static int select_rows(struct store *st, const char *sql, const char *v, bool one,
		       pbxtrunk_h *h, void *arg)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s;
	bool any = false;
	int err, rc = SQLITE_DONE;

	if (!db || !h)
		return EINVAL;
	err = prepare(db, sql, &s);
	if (err)
		return err;
	if (v)
		err = bind_text(s, 1, v);
	while (!err && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		any = true;
		err = row_give(s, h, arg);
	}
	if (!err && rc != SQLITE_DONE)
		err = step_err(rc);
	sqlite3_finalize(s);
	return !err && one && !any ? ENOENT : err;
}

int pbxtrunk_get(struct store *st, const char *id, pbxtrunk_h *h, void *arg)
{
	if (!id)
		return EINVAL;
	return select_rows(st, "SELECT " COLS " FROM trunks WHERE id = ?1", id, true, h, arg);
}

int pbxtrunk_search(struct store *st, const char *name, bool alike, pbxtrunk_h *h,
		    void *arg)
{
	char *pat = NULL, *p;
	int err;

	if (!name || !*name)
		return select_rows(st, "SELECT " COLS " FROM trunks ORDER BY name", NULL, false,
				   h, arg);
	if (!alike)
		return select_rows(st, "SELECT " COLS " FROM trunks WHERE name = ?1", name, false,
				   h, arg);
	/* "%name%" with LIKE's wildcards escaped by '\'. */
	pat = mem_zalloc(2 * strlen(name) + 3, NULL);
	if (!pat)
		return ENOMEM;
	p = pat;
	*p++ = '%';
	for (const char *c = name; *c; c++) {
		if (*c == '%' || *c == '_' || *c == '\\')
			*p++ = '\\';
		*p++ = *c;
	}
	*p++ = '%';
	*p = '\0';
	err = select_rows(st, "SELECT " COLS " FROM trunks WHERE name LIKE ?1 ESCAPE '\\'"
			  " ORDER BY name", pat, false, h, arg);
	mem_deref(pat);
	return err;
}
