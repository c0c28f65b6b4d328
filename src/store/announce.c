/* announce: the announcements table (migration 7), one statement per call
 * like store/pbxuser. */
#include <errno.h>
#include <string.h>
#include <sqlite3.h>
#include <re.h>
#include "store/announce.h"
#include "store/store_int.h"

#define COLS "id, name, filename, comment, text, lang, status, created"

struct give {
	announce_h *h;
	void *arg;
};

static int row_give(sqlite3_stmt *s, void *arg)
{
	const struct give *g = arg;
	struct announce a = {
		.id = store_col(s, 0), .name = store_col(s, 1), .filename = store_col(s, 2),
		.comment = store_col(s, 3), .text = store_col(s, 4), .lang = store_col(s, 5),
		.status = store_col(s, 6), .created = store_col(s, 7),
	};

	return g->h(&a, g->arg);
}

/* The columns are NOT NULL: a field left out is "". */
static int bind_text(sqlite3_stmt *s, int i, const char *v)
{
	return store_bind_text(s, i, v ? v : "");
}

/* Binds ?2..?7 = name, filename, comment, text, lang, status. */
static int bind_fields(sqlite3_stmt *s, const void *row)
{
	const struct announce *a = row;
	int err = bind_text(s, 2, a->name);

	err = err ? err : bind_text(s, 3, a->filename);
	err = err ? err : bind_text(s, 4, a->comment);
	err = err ? err : bind_text(s, 5, a->text);
	err = err ? err : bind_text(s, 6, a->lang);
	err = err ? err : bind_text(s, 7, a->status && *a->status ? a->status : "ready");
	return err;
}

int announce_add(struct store *st, const struct announce *a, char *id, size_t idsz)
{
	if (!a || !a->name || !*a->name || !a->filename)
		return EINVAL;
	return store_insert(st, "INSERT INTO announcements(id, name, filename, comment, text,"
			    " lang, status, created) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7,"
			    " strftime('%Y-%m-%d %H:%M:%S', 'now'))", 1, bind_fields, a, id, idsz);
}

int announce_update(struct store *st, const struct announce *a)
{
	if (!a || !a->id || !a->name || !*a->name || !a->filename)
		return EINVAL;
	return store_update(st, "UPDATE announcements SET name = ?2, filename = ?3, comment = ?4,"
			    " text = ?5, lang = ?6, status = ?7 WHERE id = ?1", 1, a->id,
			    bind_fields, a);
}

int announce_del(struct store *st, const char *id)
{
	if (!id)
		return EINVAL;
	return store_changed(st, store_exec(st, "DELETE FROM announcements WHERE id = ?1", &id,
					    1, NULL, NULL, NULL));
}

int announce_get(struct store *st, const char *id, announce_h *h, void *arg)
{
	struct give g = { h, arg };

	if (!id || !h)
		return EINVAL;
	return store_get(st, "SELECT " COLS " FROM announcements WHERE id = ?1", id, row_give,
			 &g);
}

static int count_h(sqlite3_stmt *s, void *arg)
{
	*(uint64_t *)arg = (uint64_t)sqlite3_column_int64(s, 0);
	return 0;
}

int announce_filename_uses(struct store *st, const char *filename, uint64_t *n)
{
	if (!filename || !n)
		return EINVAL;
	return store_get(st, "SELECT count(*) FROM announcements WHERE filename = ?1", filename,
			 count_h, n);
}

static const char *sort_column(const char *sort)
{
	if (!sort || !*sort || !strcmp(sort, "name"))
		return "name";
	if (!strcmp(sort, "date"))
		return "created";
	if (!strcmp(sort, "_id"))
		return "id";
	return NULL;
}

int announce_search(struct store *st, const struct announce_query *q, uint64_t *total,
		    announce_h *h, void *arg)
{
	struct store_page p = { .cols = COLS, .from = "announcements", .tie = "name" };
	struct give g = { h, arg };

	if (!q || !h)
		return EINVAL;
	p.sort = sort_column(q->sort);
	p.desc = q->desc;
	p.start = q->start;
	p.count = q->count;
	return store_search(st, &p, store_where_match(&p.where, "name", q->name, q->alike), total,
			    row_give, &g);
}
