/* apiuser: api_users rows (migration 3). Statements are prepared per call:
 * the API reads accounts a few times a second at most. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sqlite3.h>
#include "store/apiuser.h"
#include "store/store_int.h"

static void col_copy(char *dst, size_t sz, sqlite3_stmt *s, int col)
{
	snprintf(dst, sz, "%s", store_col(s, col));
}

#define COLS "name, COALESCE(pass_hash, ''), COALESCE(apikey, ''), auth, allow_ips," \
	" perms, COALESCE(created, '')"

static int from_row(sqlite3_stmt *s, void *arg)
{
	struct apiuser *u = arg;

	col_copy(u->name, sizeof(u->name), s, 0);
	col_copy(u->pass_hash, sizeof(u->pass_hash), s, 1);
	col_copy(u->apikey, sizeof(u->apikey), s, 2);
	col_copy(u->auth, sizeof(u->auth), s, 3);
	col_copy(u->allow_ips, sizeof(u->allow_ips), s, 4);
	col_copy(u->perms, sizeof(u->perms), s, 5);
	col_copy(u->created, sizeof(u->created), s, 6);
	return 0;
}

int apiuser_add(struct store *st, const struct apiuser *u)
{
	sqlite3_stmt *s;
	int err;

	if (!u || !u->name[0] || !u->auth[0])
		return EINVAL;
	err = store_prepare(st, "INSERT INTO api_users(name, pass_hash, apikey, auth,"
			    " allow_ips, perms, created) VALUES(?1, NULLIF(?2, ''),"
			    " NULLIF(?3, ''), ?4, ?5, ?6,"
			    " strftime('%Y-%m-%d %H:%M:%S', 'now'))", &s);
	if (err)
		return err;
	err = store_bind_text(s, 1, u->name);
	err = err ? err : store_bind_text(s, 2, u->pass_hash);
	err = err ? err : store_bind_text(s, 3, u->apikey);
	err = err ? err : store_bind_text(s, 4, u->auth);
	err = err ? err : store_bind_text(s, 5, u->allow_ips);
	err = err ? err : store_bind_text(s, 6, u->perms);
	return store_run(s, err, NULL, NULL, NULL);
}

int apiuser_del(struct store *st, const char *name)
{
	if (!name)
		return EINVAL;
	return store_changed(st, store_exec(st, "DELETE FROM api_users WHERE name = ?1", &name,
					    1, NULL, NULL, NULL));
}

int apiuser_get(struct store *st, const char *name, struct apiuser *out)
{
	if (!name || !out)
		return EINVAL;
	return store_get(st, "SELECT " COLS " FROM api_users WHERE name = ?1", name, from_row,
			 out);
}

struct give {
	apiuser_h *h;
	void *arg;
};

static int row_give(sqlite3_stmt *s, void *arg)
{
	const struct give *g = arg;
	struct apiuser u;

	(void)from_row(s, &u);
	return g->h(&u, g->arg);
}

int apiuser_list(struct store *st, apiuser_h *h, void *arg)
{
	struct give g = { h, arg };

	if (!h)
		return EINVAL;
	return store_exec(st, "SELECT " COLS " FROM api_users ORDER BY name", NULL, 0, row_give,
			  &g, NULL);
}
