/* pbxuser: REST API view of the users table (migration 5 added id, name,
 * active and attrs). Statements are prepared per call: API traffic is light,
 * and the registrar's hot path keeps store.c's prepared ones. */
#include <errno.h>
#include <string.h>
#include <sqlite3.h>
#include <re.h>
#include "store/pbxuser.h"
#include "store/store_int.h"

#define COLS "id, ext, password, context, name, active, attrs, COALESCE(created, '')"

struct give {
	pbxuser_h *h;
	void *arg;
};

static int row_give(sqlite3_stmt *s, void *arg)
{
	const struct give *g = arg;
	struct pbxuser u = {
		.id = store_col(s, 0), .number = store_col(s, 1), .secret = store_col(s, 2),
		.context = store_col(s, 3), .name = store_col(s, 4),
		.active = sqlite3_column_int(s, 5) != 0, .attrs = store_col(s, 6),
		.created = store_col(s, 7),
	};

	return g->h(&u, g->arg);
}

/* Binds ?1..?6 = number, secret, context, name, active, attrs. */
static int bind_fields(sqlite3_stmt *s, const void *row)
{
	const struct pbxuser *u = row;
	int err = store_bind_text(s, 1, u->number);

	err = err ? err : store_bind_text(s, 2, u->secret);
	err = err ? err : store_bind_text(s, 3, u->context && *u->context ? u->context
					  : "main_routing");
	err = err ? err : store_bind_text(s, 4, u->name ? u->name : "");
	err = err ? err : store_errno(sqlite3_bind_int(s, 5, u->active));
	err = err ? err : store_bind_text(s, 6, u->attrs && *u->attrs ? u->attrs : "{}");
	return err;
}

int pbxuser_add(struct store *st, const struct pbxuser *u, char *id, size_t idsz)
{
	if (!u || !u->number || !*u->number || !u->secret)
		return EINVAL;
	return store_insert(st, "INSERT INTO users(ext, password, context, name, active, attrs,"
			    " id, created) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7,"
			    " strftime('%Y-%m-%d %H:%M:%S', 'now'))", 7, bind_fields, u, id, idsz);
}

int pbxuser_update(struct store *st, const struct pbxuser *u)
{
	if (!u || !u->id || !u->number || !*u->number || !u->secret)
		return EINVAL;
	return store_update(st, "UPDATE users SET ext = ?1, password = ?2, context = ?3,"
			    " name = ?4, active = ?5, attrs = ?6 WHERE id = ?7", 7, u->id,
			    bind_fields, u);
}

int pbxuser_del(struct store *st, const char *id)
{
	if (!id)
		return EINVAL;
	return store_changed(st, store_exec(st, "DELETE FROM users WHERE id = ?1", &id, 1,
					    NULL, NULL, NULL));
}

int pbxuser_get(struct store *st, const char *id, pbxuser_h *h, void *arg)
{
	struct give g = { h, arg };

	if (!id || !h)
		return EINVAL;
	return store_get(st, "SELECT " COLS " FROM users WHERE id = ?1", id, row_give, &g);
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

int pbxuser_search(struct store *st, const struct pbxuser_query *q, uint64_t *total,
		   pbxuser_h *h, void *arg)
{
	struct store_page p = { .cols = COLS, .from = "users", .tie = "ext" };
	struct give g = { h, arg };
	int err;

	if (!q)
		return EINVAL;
	p.sort = sort_column(q->sort);
	p.desc = q->desc;
	p.start = q->start;
	p.count = q->count;
	err = store_where_match(&p.where, "name", q->name, q->alike);
	err = err ? err : store_where_match(&p.where, "ext", q->number, q->alike);
	return store_search(st, &p, err, total, row_give, &g);
}
