/* trunkrep: prepared per call; trunks change a few times a day. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sqlite3.h>
#include "store/store_int.h"
#include "store/trunkrep.h"

static int finish(sqlite3_stmt *s, int rc)
{
	int err = rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : store_errno(rc);

	sqlite3_finalize(s);
	return err;
}

static int prepare(struct store *st, const char *sql, sqlite3_stmt **s)
{
	sqlite3 *db = store_db(st);

	if (!db)
		return EINVAL;
	return store_errno(sqlite3_prepare_v2(db, sql, -1, s, NULL));
}

static int bind_texts(sqlite3_stmt *s, const char *const *v, int n)
{
	int err = 0;

	for (int i = 0; i < n && !err; i++)
		err = store_errno(sqlite3_bind_text(s, i + 1, v[i], -1, SQLITE_STATIC));
	return err;
}

int trunkrep_add(struct store *st, const char *name, const char *body, char *id,
		 size_t idsz)
{
	sqlite3_stmt *s;
	int err;

	if (!name || !*name || !body || !id || idsz < 25)
		return EINVAL;
	err = prepare(st, "INSERT INTO trunks(id, name, body, created) VALUES("
		      "lower(hex(randomblob(12))), ?1, ?2, strftime('%Y-%m-%d %H:%M:%S','now'))"
		      " RETURNING id", &s);
	if (err)
		return err;
	err = bind_texts(s, (const char *const[]){ name, body }, 2);
	if (!err) {
		int rc = sqlite3_step(s);

		if (rc == SQLITE_ROW)
			snprintf(id, idsz, "%s", (const char *)sqlite3_column_text(s, 0));
		return finish(s, rc);
	}
	sqlite3_finalize(s);
	return err;
}

int trunkrep_update(struct store *st, const char *id, const char *name, const char *body)
{
	sqlite3_stmt *s;
	int err;

	if (!id || !name || !*name || !body)
		return EINVAL;
	err = prepare(st, "UPDATE trunks SET name = ?2, body = ?3 WHERE id = ?1", &s);
	if (err)
		return err;
	err = bind_texts(s, (const char *const[]){ id, name, body }, 3);
	if (err) {
		sqlite3_finalize(s);
		return err;
	}
	err = finish(s, sqlite3_step(s));
	if (!err && !sqlite3_changes(store_db(st)))
		err = ENOENT;
	return err;
}

int trunkrep_remove(struct store *st, const char *id)
{
	sqlite3_stmt *s;
	int err;

	if (!id)
		return EINVAL;
	err = prepare(st, "DELETE FROM trunks WHERE id = ?1", &s);
	if (err)
		return err;
	err = bind_texts(s, &id, 1);
	if (err) {
		sqlite3_finalize(s);
		return err;
	}
	err = finish(s, sqlite3_step(s));
	if (!err && !sqlite3_changes(store_db(st)))
		err = ENOENT;
	return err;
}

static int each_row(sqlite3_stmt *s, trunkrep_h *h, void *arg, unsigned *n)
{
	struct trunkrep t;
	int rc, err = 0;

	while (!err && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		snprintf(t.id, sizeof(t.id), "%s", (const char *)sqlite3_column_text(s, 0));
		snprintf(t.name, sizeof(t.name), "%s", (const char *)sqlite3_column_text(s, 1));
		snprintf(t.created, sizeof(t.created), "%s",
			 (const char *)sqlite3_column_text(s, 3));
		t.body = (const char *)sqlite3_column_text(s, 2);
		++*n;
		err = h(&t, arg);
	}
	if (err) {
		sqlite3_finalize(s);
		return err;
	}
	return finish(s, rc);
}

int trunkrep_each(struct store *st, const char *name, int alike, trunkrep_h *h, void *arg)
{
	sqlite3_stmt *s;
	unsigned n = 0;
	int err;

	if (!h)
		return EINVAL;
	err = prepare(st, "SELECT id, name, body, created FROM trunks WHERE ?1 = ''"
		      " OR (?2 = 0 AND name = ?1) OR (?2 <> 0 AND instr(name, ?1) > 0)"
		      " ORDER BY name", &s);
	if (err)
		return err;
	err = store_errno(sqlite3_bind_text(s, 1, name ? name : "", -1, SQLITE_STATIC));
	err = err ? err : store_errno(sqlite3_bind_int(s, 2, alike));
	if (err) {
		sqlite3_finalize(s);
		return err;
	}
	return each_row(s, h, arg, &n);
}

int trunkrep_get(struct store *st, const char *id, trunkrep_h *h, void *arg)
{
	sqlite3_stmt *s;
	unsigned n = 0;
	int err;

	if (!id || !h)
		return EINVAL;
	err = prepare(st, "SELECT id, name, body, created FROM trunks WHERE id = ?1", &s);
	if (err)
		return err;
	err = bind_texts(s, &id, 1);
	if (err) {
		sqlite3_finalize(s);
		return err;
	}
	err = each_row(s, h, arg, &n);
	return err ? err : (n ? 0 : ENOENT);
}
