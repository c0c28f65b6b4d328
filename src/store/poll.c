/* poll: survey results (migration 7). Statements are prepared per call:
 * a score arrives once per call at most and searches are API traffic. */
#include <errno.h>
#include <string.h>
#include <sqlite3.h>
#include <re.h>
#include "store/poll.h"
#include "store/store_int.h"

#define COLS "id, uniqueid, src, dst, point, label, qnum, date"

/* Absent text is stored as "". */
static int bind_text(sqlite3_stmt *s, int i, const char *v)
{
	return store_bind_text(s, i, v ? v : "");
}

/* Binds ?2..?8 = uniqueid, src, dst, point, label, qnum and, when given,
 * date (else ?8 stays NULL: now). */
static int bind_fields(sqlite3_stmt *s, const void *row)
{
	const struct poll_rec *r = row;
	int err = bind_text(s, 2, r->uniqueid);

	err = err ? err : bind_text(s, 3, r->src);
	err = err ? err : bind_text(s, 4, r->dst);
	err = err ? err : store_errno(sqlite3_bind_int64(s, 5, r->point));
	err = err ? err : bind_text(s, 6, r->label);
	err = err ? err : bind_text(s, 7, r->qnum);
	if (!err && r->date && *r->date)
		err = bind_text(s, 8, r->date);
	return err;
}

int poll_add(struct store *st, const struct poll_rec *r, char *id, size_t idsz)
{
	if (!r || !r->uniqueid || !*r->uniqueid)
		return EINVAL;
	return store_insert(st, "INSERT INTO poll(id, uniqueid, src, dst, point, label, qnum,"
			    " date) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7,"
			    " COALESCE(?8, strftime('%Y-%m-%d %H:%M:%S', 'now')))", 1, bind_fields,
			    r, id, idsz);
}

static const char *sort_column(const char *sort)
{
	static const char *const map[][2] = {
		{ "date", "date" }, { "point", "point" }, { "src", "src" }, { "dst", "dst" },
		{ "label", "label" }, { "_id", "id" }, { "qnum", "qnum" },
		{ "uniqueid", "uniqueid" },
	};

	if (!sort || !*sort)
		return "date";
	for (size_t i = 0; i < ARRAY_SIZE(map); i++)
		if (!strcmp(sort, map[i][0]))
			return map[i][1];
	return NULL;
}

static int where_build(struct store_where *w, const struct poll_query *q)
{
	char to[32] = "";
	int err;

	err = store_where_match(w, "src", q->src, q->alike);
	err = err ? err : store_where_match(w, "dst", q->dst, q->alike);
	err = err ? err : store_where_match(w, "label", q->label, q->alike);
	err = err ? err : store_where_match(w, "qnum", q->qnum, q->alike);
	err = err ? err : store_where_match(w, "uniqueid", q->uniqueid, q->alike);
	err = err ? err : store_where_add(w, "date >= ?", q->from, false);
	if (!err && q->to && *q->to) {
		/* "to" names a day or a minute and includes all of it. */
		size_t n = strlen(q->to);

		(void)re_snprintf(to, sizeof(to), "%s%s", q->to,
				  n <= 10 ? " 23:59:59" : n <= 16 ? ":59" : "");
		err = store_where_add(w, "date <= ?", to, false);
	}
	return err;
}

struct give {
	poll_h *h;
	void *arg;
};

static int row_give(sqlite3_stmt *s, void *arg)
{
	const struct give *g = arg;
	struct poll_rec r = {
		.id = store_col(s, 0), .uniqueid = store_col(s, 1), .src = store_col(s, 2),
		.dst = store_col(s, 3), .point = sqlite3_column_int64(s, 4),
		.label = store_col(s, 5), .qnum = store_col(s, 6), .date = store_col(s, 7),
	};

	return g->h(&r, g->arg);
}

int poll_last(struct store *st, const char *uniqueid, poll_h *h, void *arg)
{
	struct give g = { h, arg };

	if (!uniqueid || !h)
		return EINVAL;
	return store_get(st, "SELECT " COLS " FROM poll WHERE uniqueid = ?1"
			 " ORDER BY rowid DESC LIMIT 1", uniqueid, row_give, &g);
}

int poll_search(struct store *st, const struct poll_query *q, uint64_t *total, poll_h *h,
		void *arg)
{
	struct store_page p = { .cols = COLS, .from = "poll" };
	struct give g = { h, arg };

	if (!q)
		return EINVAL;
	p.sort = sort_column(q->sort);
	p.desc = q->desc;
	p.tie = q->desc ? "rowid DESC" : "rowid";   /* insertion order */
	p.start = q->start;
	p.count = q->count;
	return store_search(st, &p, where_build(&p.where, q), total, row_give, &g);
}
