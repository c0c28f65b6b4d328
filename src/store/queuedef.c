/* queuedef: queues rows. Prepared per call: queues change a few times a
 * day. */
#include <errno.h>
#include <stddef.h>
#include <sqlite3.h>
#include "store/queuedef.h"
#include "store/store_int.h"

struct qrow {
	const char *number, *name, *attrs;
};

/* Binds ?2..?4 = number, name, attrs (UPDATE leaves ?2 unused). */
static int bind_fields(sqlite3_stmt *s, const void *row)
{
	const struct qrow *r = row;
	int err = 0;

	if (sqlite3_bind_parameter_count(s) >= 4)
		err = store_bind_text(s, 4, r->attrs);
	if (!err && r->number)
		err = store_bind_text(s, 2, r->number);
	return err ? err : store_bind_text(s, 3, r->name);
}

int queuedef_add(struct store *st, const char *number, const char *name, const char *attrs,
		 char *id, size_t idsz)
{
	struct qrow r = { number, name, attrs ? attrs : "{}" };

	if (!number || !*number || !name)
		return EINVAL;
	return store_insert(st, "INSERT INTO queues(id, number, name, attrs, created)"
			    " VALUES(?1, ?2, ?3, ?4, strftime('%Y-%m-%d %H:%M:%S', 'now'))", 1,
			    bind_fields, &r, id, idsz);
}

int queuedef_update(struct store *st, const char *id, const char *name, const char *attrs)
{
	struct qrow r = { NULL, name, attrs ? attrs : "{}" };

	if (!id || !name)
		return EINVAL;
	return store_update(st, "UPDATE queues SET name = ?3, attrs = ?4 WHERE id = ?1", 1, id,
			    bind_fields, &r);
}

int queuedef_del(struct store *st, const char *id)
{
	int err;

	if (!id)
		return EINVAL;
	/* One savepoint: the queue and its members go together or not at all. */
	err = store_exec(st, "SAVEPOINT queuedef_del", NULL, 0, NULL, NULL, NULL);
	if (err)
		return err;
	err = store_exec(st, "DELETE FROM queue_members WHERE queuename = (SELECT number"
			 " FROM queues WHERE id = ?1)", &id, 1, NULL, NULL, NULL);
	err = err ? err : store_changed(st, store_exec(st, "DELETE FROM queues WHERE id = ?1",
						       &id, 1, NULL, NULL, NULL));
	if (err)
		(void)store_exec(st, "ROLLBACK TO queuedef_del", NULL, 0, NULL, NULL, NULL);
	(void)store_exec(st, "RELEASE queuedef_del", NULL, 0, NULL, NULL, NULL);
	return err;
}

struct give {
	queuedef_h *h;
	void *arg;
};

static int row_give(sqlite3_stmt *s, void *arg)
{
	const struct give *g = arg;
	struct queuedef q = {
		.id = store_col(s, 0), .number = store_col(s, 1), .name = store_col(s, 2),
		.attrs = store_col(s, 3), .created = store_col(s, 4),
	};

	return g->h(&q, g->arg);
}

#define COLS "SELECT id, number, name, attrs, created FROM queues"

int queuedef_get(struct store *st, const char *id, queuedef_h *h, void *arg)
{
	struct give g = { h, arg };

	if (!id || !h)
		return EINVAL;
	return store_get(st, COLS " WHERE id = ?1", id, row_give, &g);
}

int queuedef_apply(struct store *st, queuedef_h *h, void *arg)
{
	struct give g = { h, arg };

	if (!h)
		return EINVAL;
	return store_exec(st, COLS " ORDER BY rowid", NULL, 0, row_give, &g, NULL);
}
