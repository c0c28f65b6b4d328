/* apiuser: api_users rows (migration 3). Statements are prepared per call:
 * the API reads accounts a few times a second at most. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sqlite3.h>
#include "store/apiuser.h"
#include "store/store_int.h"

static int step_err(int rc)
{
	int err = store_errno(rc);

	return err ? err : EIO;
}

static int bind_text(sqlite3_stmt *s, int i, const char *v)
{
	return store_errno(sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC));
}

static void col_copy(char *dst, size_t sz, sqlite3_stmt *s, int col)
{
	const unsigned char *v = sqlite3_column_text(s, col);

	snprintf(dst, sz, "%s", v ? (const char *)v : "");
}

#define COLS "name, COALESCE(pass_hash, ''), COALESCE(apikey, ''), auth, allow_ips," \
	" perms, COALESCE(created, '')"

static void from_row(struct apiuser *u, sqlite3_stmt *s)
{
	col_copy(u->name, sizeof(u->name), s, 0);
	col_copy(u->pass_hash, sizeof(u->pass_hash), s, 1);
	col_copy(u->apikey, sizeof(u->apikey), s, 2);
	col_copy(u->auth, sizeof(u->auth), s, 3);
	col_copy(u->allow_ips, sizeof(u->allow_ips), s, 4);
	col_copy(u->perms, sizeof(u->perms), s, 5);
	col_copy(u->created, sizeof(u->created), s, 6);
}

int apiuser_add(struct store *st, const struct apiuser *u)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s;
	int err, rc;

	if (!db || !u || !u->name[0] || !u->auth[0])
		return EINVAL;
	rc = sqlite3_prepare_v2(db, "INSERT INTO api_users(name, pass_hash, apikey, auth,"
				" allow_ips, perms, created) VALUES(?1, NULLIF(?2, ''),"
				" NULLIF(?3, ''), ?4, ?5, ?6,"
				" strftime('%Y-%m-%d %H:%M:%S', 'now'))", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return store_errno(rc);
	err = bind_text(s, 1, u->name);
	err = err ? err : bind_text(s, 2, u->pass_hash);
	err = err ? err : bind_text(s, 3, u->apikey);
	err = err ? err : bind_text(s, 4, u->auth);
	err = err ? err : bind_text(s, 5, u->allow_ips);
	err = err ? err : bind_text(s, 6, u->perms);
	if (!err) {
		rc = sqlite3_step(s);
		err = rc == SQLITE_DONE ? 0 : step_err(rc);
	}
	sqlite3_finalize(s);
	return err;
}

int apiuser_del(struct store *st, const char *name)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s;
	int err, rc;

	if (!db || !name)
		return EINVAL;
	rc = sqlite3_prepare_v2(db, "DELETE FROM api_users WHERE name = ?1", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return store_errno(rc);
	err = bind_text(s, 1, name);
	if (!err) {
		rc = sqlite3_step(s);
		err = rc == SQLITE_DONE ? (sqlite3_changes(db) > 0 ? 0 : ENOENT) : step_err(rc);
	}
	sqlite3_finalize(s);
	return err;
}

int apiuser_get(struct store *st, const char *name, struct apiuser *out)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s;
	int err, rc;

	if (!db || !name || !out)
		return EINVAL;
	rc = sqlite3_prepare_v2(db, "SELECT " COLS " FROM api_users WHERE name = ?1", -1, &s,
				NULL);
	if (rc != SQLITE_OK)
		return store_errno(rc);
	err = bind_text(s, 1, name);
	if (!err) {
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW)
			from_row(out, s);
		else
			err = rc == SQLITE_DONE ? ENOENT : step_err(rc);
	}
	sqlite3_finalize(s);
	return err;
}

int apiuser_list(struct store *st, apiuser_h *h, void *arg)
{
	sqlite3 *db = store_db(st);
	struct apiuser u;
	sqlite3_stmt *s;
	int err = 0, rc;

	if (!db || !h)
		return EINVAL;
	rc = sqlite3_prepare_v2(db, "SELECT " COLS " FROM api_users ORDER BY name", -1, &s,
				NULL);
	if (rc != SQLITE_OK)
		return store_errno(rc);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		from_row(&u, s);
		err = h(&u, arg);
		if (err)
			break;
	}
	if (!err && rc != SQLITE_DONE)
		err = step_err(rc);
	sqlite3_finalize(s);
	return err;
}
