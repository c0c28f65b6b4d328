/* numlist: the numlist table (migration 7), one statement per call like
 * store/pbxuser. The list column keeps black and white apart. */
#include <errno.h>
#include <string.h>
#include <sqlite3.h>
#include <re.h>
#include "store/numlist.h"
#include "store/store_int.h"

#define COLS "id, number, labels, comment, created"

static const char *list_name(enum numlist_kind k)
{
	return k == NUMLIST_WHITE ? "white" : "black";
}

struct give {
	numlist_h *h;
	void *arg;
};

static int row_give(sqlite3_stmt *s, void *arg)
{
	const struct give *g = arg;
	struct numlist_entry e = {
		.id = store_col(s, 0), .number = store_col(s, 1), .labels = store_col(s, 2),
		.comment = store_col(s, 3), .created = store_col(s, 4),
	};

	return g->h(&e, g->arg);
}

/* A row of one list. */
struct row {
	enum numlist_kind k;
	const struct numlist_entry *e;
};

/* Binds ?2..?5 = list, number, labels, comment (NOT NULL columns: a
 * comment left out is ""). */
static int bind_fields(sqlite3_stmt *s, const void *arg)
{
	const struct row *r = arg;
	int err = store_bind_text(s, 2, list_name(r->k));

	err = err ? err : store_bind_text(s, 3, r->e->number);
	err = err ? err : store_bind_text(s, 4, r->e->labels && *r->e->labels ? r->e->labels
					  : "[]");
	err = err ? err : store_bind_text(s, 5, r->e->comment ? r->e->comment : "");
	return err;
}

int numlist_add(struct store *st, enum numlist_kind k, const struct numlist_entry *e,
		char *id, size_t idsz)
{
	const struct row r = { k, e };

	if (!e || !e->number || !*e->number)
		return EINVAL;
	/* A constraint (EEXIST) means the number is taken. */
	return store_insert(st, "INSERT INTO numlist(id, list, number, labels, comment, created)"
			    " VALUES(?1, ?2, ?3, ?4, ?5, strftime('%Y-%m-%d %H:%M:%S', 'now'))",
			    1, bind_fields, &r, id, idsz);
}

int numlist_update(struct store *st, enum numlist_kind k, const struct numlist_entry *e)
{
	const struct row r = { k, e };

	if (!e || !e->id || !e->number || !*e->number)
		return EINVAL;
	return store_update(st, "UPDATE numlist SET number = ?3, labels = ?4, comment = ?5"
			    " WHERE id = ?1 AND list = ?2", 1, e->id, bind_fields, &r);
}

int numlist_del(struct store *st, enum numlist_kind k, const char *id)
{
	const char *v[2] = { id, list_name(k) };

	if (!id)
		return EINVAL;
	return store_changed(st, store_exec(st, "DELETE FROM numlist WHERE id = ?1 AND list = ?2",
					    v, 2, NULL, NULL, NULL));
}

/* Runs sql (?1 = key, ?2 = the list): its row into h; ENOENT when none. */
static int get_one(struct store *st, const char *sql, enum numlist_kind k, const char *key,
		   numlist_h *h, void *arg)
{
	const char *v[2] = { key, list_name(k) };
	struct give g = { h, arg };
	unsigned n;
	int err;

	if (!key || !h)
		return EINVAL;
	err = store_exec(st, sql, v, 2, row_give, &g, &n);
	return err ? err : n ? 0 : ENOENT;
}

int numlist_get(struct store *st, enum numlist_kind k, const char *id, numlist_h *h,
		void *arg)
{
	return get_one(st, "SELECT " COLS " FROM numlist WHERE id = ?1 AND list = ?2", k, id,
		       h, arg);
}

int numlist_lookup(struct store *st, enum numlist_kind k, const char *number,
		   numlist_h *h, void *arg)
{
	/* The UNIQUE(list, number) index makes this a point lookup. */
	return get_one(st, "SELECT " COLS " FROM numlist WHERE number = ?1 AND list = ?2", k,
		       number, h, arg);
}

static const char *sort_column(const char *sort)
{
	if (!sort || !*sort || !strcmp(sort, "number"))
		return "number";
	if (!strcmp(sort, "date"))
		return "created";
	if (!strcmp(sort, "_id"))
		return "id";
	return NULL;
}

int numlist_search(struct store *st, enum numlist_kind k, const struct numlist_query *q,
		   uint64_t *total, numlist_h *h, void *arg)
{
	struct store_page p = { .cols = COLS, .from = "numlist", .tie = "number" };
	struct give g = { h, arg };
	int err;

	if (!q || !h)
		return EINVAL;
	p.sort = sort_column(q->sort);
	p.desc = q->desc;
	p.start = q->start;
	p.count = q->count;
	err = store_where_match(&p.where, "list", list_name(k), false);
	err = err ? err : store_where_match(&p.where, "number", q->number, q->alike);
	return store_search(st, &p, err, total, row_give, &g);
}
