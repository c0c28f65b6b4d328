/* cdrrep: the reports API's read side of the cdr table. Statements are
 * prepared per call (API traffic is light); searches go through
 * store_search, whose filters are bound parameters. */
#include <errno.h>
#include <string.h>
#include <sqlite3.h>
#include <re.h>
#include "store/cdrrep.h"
#include "store/store_int.h"

#define COLS "id, COALESCE(start, calldate), answer, end, clid, src, dst, dcontext," \
	" channel, dstchannel, lastapp, lastdata, duration, billsec, disposition, amaflags," \
	" accountcode, uniqueid, linkedid, userfield, sequence, recordingfile," \
	" originated_call_id"

struct type_fn {
	cdrrep_type_h *h;
	void *arg;
};

struct give {
	cdrrep_row_h *h;
	void *arg;
};

static int row_give(sqlite3_stmt *s, void *arg)
{
	const struct give *g = arg;
	struct cdrrep_row r = {
		.id = sqlite3_column_int64(s, 0),
		.start = store_col(s, 1), .answer = store_col(s, 2), .end = store_col(s, 3),
		.clid = store_col(s, 4), .src = store_col(s, 5), .dst = store_col(s, 6),
		.dcontext = store_col(s, 7), .channel = store_col(s, 8),
		.dstchannel = store_col(s, 9), .lastapp = store_col(s, 10),
		.lastdata = store_col(s, 11), .duration = sqlite3_column_int64(s, 12),
		.billsec = sqlite3_column_int64(s, 13), .disposition = store_col(s, 14),
		.amaflags = sqlite3_column_int64(s, 15), .accountcode = store_col(s, 16),
		.uniqueid = store_col(s, 17), .linkedid = store_col(s, 18),
		.userfield = store_col(s, 19), .sequence = sqlite3_column_int64(s, 20),
		.recordingfile = store_col(s, 21), .originated_call_id = store_col(s, 22),
	};

	return g->h(&r, g->arg);
}

/* --- the type function ---------------------------------------------------- */

static void type_sql_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const struct type_fn *tf = sqlite3_user_data(ctx);
	const char *v[3];
	const char *type;

	for (int i = 0; i < 3 && i < argc; i++) {
		const unsigned char *t = sqlite3_value_text(argv[i]);

		v[i] = t ? (const char *)t : "";
	}
	type = tf && tf->h ? tf->h(v[0], v[1], v[2], tf->arg) : NULL;
	sqlite3_result_text(ctx, type ? type : "", -1, SQLITE_TRANSIENT);
}

static void type_fn_free(void *p)
{
	sqlite3_free(p);
}

int cdrrep_set_type_h(struct store *st, cdrrep_type_h *h, void *arg)
{
	sqlite3 *db = store_db(st);
	struct type_fn *tf;

	if (!db || !h)
		return EINVAL;
	tf = sqlite3_malloc(sizeof(*tf));
	if (!tf)
		return ENOMEM;
	tf->h = h;
	tf->arg = arg;
	/* SQLite frees tf with the connection or when it is replaced, also on
	 * failure. Not deterministic: the trunk list can change at runtime. */
	return store_errno(sqlite3_create_function_v2(db, "tamas_cdr_type", 3,
						      SQLITE_UTF8 | SQLITE_DIRECTONLY, tf,
						      type_sql_fn, NULL, NULL, type_fn_free));
}

/* --- search ---------------------------------------------------------------- */

static const char *sort_column(enum cdrrep_sort s)
{
	switch (s) {
	case CDRREP_SORT_START:       return "calldate";
	case CDRREP_SORT_END:         return "end";
	case CDRREP_SORT_ANSWER:      return "answer";
	case CDRREP_SORT_DURATION:    return "duration";
	case CDRREP_SORT_BILLSEC:     return "billsec";
	case CDRREP_SORT_SRC:         return "src";
	case CDRREP_SORT_DST:         return "dst";
	case CDRREP_SORT_DISPOSITION: return "disposition";
	case CDRREP_SORT_UNIQUEID:    return "uniqueid";
	case CDRREP_SORT_ID:          return "id";
	default:                      return NULL;
	}
}

static int where_build(struct store_where *w, const struct cdrrep_query *q)
{
	int err;

	err = store_where_add(w, "calldate >= ?", q->from, false);
	err = err ? err : store_where_add(w, "calldate <= ?", q->to, false);
	err = err ? err : store_where_match(w, "src", q->src, q->alike);
	err = err ? err : store_where_match(w, "dst", q->dst, q->alike);
	err = err ? err : store_where_add(w, q->alike ? "(src LIKE ? ESCAPE '\\' OR dst LIKE ?"
					  " ESCAPE '\\')" : "(src = ? OR dst = ?)", q->number,
					  q->alike);
	err = err ? err : store_where_add(w, "(uniqueid = ? OR linkedid = ?)", q->cuid, false);
	err = err ? err : store_where_add(w, "disposition = ?", q->disposition, false);
	err = err ? err : store_where_add(w, "tamas_cdr_type(channel, dstchannel, dst) = ?",
					  q->type, false);
	return err;
}

int cdrrep_search(struct store *st, const struct cdrrep_query *q, uint64_t *total,
		  cdrrep_row_h *h, void *arg)
{
	struct store_page p = { .cols = COLS, .from = "cdr" };
	struct give g = { h, arg };

	if (!q)
		return EINVAL;
	p.sort = sort_column(q->sort);
	p.desc = q->desc;
	p.tie = q->desc ? "id DESC" : "id";
	p.start = q->start;
	p.count = q->count;
	return store_search(st, &p, where_build(&p.where, q), total, row_give, &g);
}

/* --- by id ------------------------------------------------------------------- */

int cdrrep_get(struct store *st, int64_t id, cdrrep_row_h *h, void *arg)
{
	struct give g = { h, arg };
	sqlite3_stmt *s;
	unsigned n;
	int err;

	if (!h)
		return EINVAL;
	err = store_prepare(st, "SELECT " COLS " FROM cdr WHERE id = ?1", &s);
	if (err)
		return err;
	err = store_run(s, store_errno(sqlite3_bind_int64(s, 1, id)), row_give, &g, &n);
	return err ? err : n ? 0 : ENOENT;
}

int cdrrep_after(struct store *st, int64_t after, uint32_t n, cdrrep_row_h *h, void *arg)
{
	struct give g = { h, arg };
	sqlite3_stmt *s;
	int err;

	if (!h || !n)
		return EINVAL;
	err = store_prepare(st, "SELECT " COLS " FROM cdr WHERE id > ?1 ORDER BY id LIMIT ?2",
			    &s);
	if (err)
		return err;
	err = store_errno(sqlite3_bind_int64(s, 1, after));
	err = err ? err : store_errno(sqlite3_bind_int64(s, 2, n));
	return store_run(s, err, row_give, &g, NULL);
}
