/* cbdef: API-defined callbacks (migration 14, table callback_defs). */
#include <errno.h>
#include <sqlite3.h>
#include <re.h>
#include "store/cbdef.h"
#include "store/store_int.h"

struct row {
	const char *name, *conf;
};

static int bind_row(sqlite3_stmt *s, const void *arg)
{
	const struct row *r = arg;
	int err = store_bind_text(s, 2, r->name);

	return err ? err : store_bind_text(s, 3, r->conf);
}

int cbdef_add(struct store *st, const char *name, const char *conf, char *id, size_t idsz)
{
	struct row r = { name, conf };

	if (!str_isset(name) || !conf || !id || idsz < STORE_ID_SIZE)
		return EINVAL;
	return store_insert(st, "INSERT INTO callback_defs(id, name, conf, created_at)"
			    " VALUES(?1, ?2, ?3, strftime('%Y-%m-%d %H:%M:%S', 'now'))", 1,
			    bind_row, &r, id, idsz);
}

int cbdef_update(struct store *st, const char *id, const char *conf)
{
	const char *const v[] = { id, conf };

	if (!id || !conf)
		return EINVAL;
	return store_changed(st, store_exec(st, "UPDATE callback_defs SET conf = ?2 WHERE"
					    " id = ?1", v, 2, NULL, NULL, NULL));
}

int cbdef_remove(struct store *st, const char *id)
{
	if (!id)
		return EINVAL;
	return store_changed(st, store_exec(st, "DELETE FROM callback_defs WHERE id = ?1", &id,
					    1, NULL, NULL, NULL));
}

struct give {
	cbdef_h *h;
	void *arg;
};

static int row_give(sqlite3_stmt *s, void *arg)
{
	const struct give *g = arg;
	struct cbdef_rec r = {
		.id = store_col(s, 0), .name = store_col(s, 1), .conf = store_col(s, 2),
		.created_at = store_col(s, 3),
	};

	return g->h(&r, g->arg);
}

int cbdef_list(struct store *st, cbdef_h *h, void *arg)
{
	struct give g = { h, arg };

	if (!h)
		return EINVAL;
	return store_exec(st, "SELECT id, name, conf, created_at FROM callback_defs ORDER BY"
			  " rowid", NULL, 0, row_give, &g, NULL);
}
