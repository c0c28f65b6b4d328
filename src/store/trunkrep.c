/* trunkrep: prepared per call; trunks change a few times a day. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sqlite3.h>
#include "store/store_int.h"
#include "store/trunkrep.h"

struct id_out {
	char *buf;
	size_t sz;
};

static int id_copy(sqlite3_stmt *s, void *arg)
{
	struct id_out *o = arg;

	snprintf(o->buf, o->sz, "%s", store_col(s, 0));
	return 0;
}

int trunkrep_add(struct store *st, const char *name, const char *body, char *id,
		 size_t idsz)
{
	struct id_out o = { id, idsz };

	if (!name || !*name || !body || !id || idsz < 25)
		return EINVAL;
	return store_exec(st, "INSERT INTO trunks(id, name, body, created) VALUES("
			  "lower(hex(randomblob(12))), ?1, ?2, strftime('%Y-%m-%d %H:%M:%S',"
			  "'now')) RETURNING id", (const char *const[]){ name, body }, 2,
			  id_copy, &o, NULL);
}

int trunkrep_update(struct store *st, const char *id, const char *name, const char *body)
{
	if (!id || !name || !*name || !body)
		return EINVAL;
	return store_changed(st, store_exec(st, "UPDATE trunks SET name = ?2, body = ?3"
					    " WHERE id = ?1",
					    (const char *const[]){ id, name, body }, 3,
					    NULL, NULL, NULL));
}

int trunkrep_remove(struct store *st, const char *id)
{
	if (!id)
		return EINVAL;
	return store_changed(st, store_exec(st, "DELETE FROM trunks WHERE id = ?1", &id, 1,
					    NULL, NULL, NULL));
}

struct give {
	trunkrep_h *h;
	void *arg;
};

static int row_give(sqlite3_stmt *s, void *arg)
{
	const struct give *g = arg;
	struct trunkrep t;

	snprintf(t.id, sizeof(t.id), "%s", store_col(s, 0));
	snprintf(t.name, sizeof(t.name), "%s", store_col(s, 1));
	snprintf(t.created, sizeof(t.created), "%s", store_col(s, 3));
	t.body = store_col(s, 2);
	return g->h(&t, g->arg);
}

int trunkrep_each(struct store *st, const char *name, int alike, trunkrep_h *h, void *arg)
{
	struct give g = { h, arg };
	sqlite3_stmt *s;
	int err;

	if (!h)
		return EINVAL;
	err = store_prepare(st, "SELECT id, name, body, created FROM trunks WHERE ?1 = ''"
			    " OR (?2 = 0 AND name = ?1) OR (?2 <> 0 AND instr(name, ?1) > 0)"
			    " ORDER BY name", &s);
	if (err)
		return err;
	err = store_bind_text(s, 1, name ? name : "");
	err = err ? err : store_errno(sqlite3_bind_int(s, 2, alike));
	return store_run(s, err, row_give, &g, NULL);
}

int trunkrep_get(struct store *st, const char *id, trunkrep_h *h, void *arg)
{
	struct give g = { h, arg };

	if (!id || !h)
		return EINVAL;
	return store_get(st, "SELECT id, name, body, created FROM trunks WHERE id = ?1", id,
			 row_give, &g);
}
