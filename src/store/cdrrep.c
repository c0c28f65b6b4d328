/* cdrrep: the reports API's read side of the cdr table. Statements are
 * prepared per call (API traffic is light); the WHERE clause is assembled
 * from fixed fragments, one per filter present, each with its own numbered
 * parameter, so no client text ever becomes SQL. */
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

/* Parameter numbers of the filters. */
enum {
	P_FROM = 1, P_TO, P_SRC, P_DST, P_NUMBER, P_CUID, P_DISP, P_TYPE, P_LIMIT, P_OFFSET,
};

struct type_fn {
	cdrrep_type_h *h;
	void *arg;
};

static int step_err(int rc)
{
	int err = store_errno(rc);

	return err ? err : EIO;
}

static const char *col(sqlite3_stmt *s, int i)
{
	const unsigned char *v = sqlite3_column_text(s, i);

	return v ? (const char *)v : "";
}

static int row_give(sqlite3_stmt *s, cdrrep_row_h *h, void *arg)
{
	struct cdrrep_row r = {
		.id = sqlite3_column_int64(s, 0),
		.start = col(s, 1), .answer = col(s, 2), .end = col(s, 3), .clid = col(s, 4),
		.src = col(s, 5), .dst = col(s, 6), .dcontext = col(s, 7), .channel = col(s, 8),
		.dstchannel = col(s, 9), .lastapp = col(s, 10), .lastdata = col(s, 11),
		.duration = sqlite3_column_int64(s, 12), .billsec = sqlite3_column_int64(s, 13),
		.disposition = col(s, 14), .amaflags = sqlite3_column_int64(s, 15),
		.accountcode = col(s, 16), .uniqueid = col(s, 17), .linkedid = col(s, 18),
		.userfield = col(s, 19), .sequence = sqlite3_column_int64(s, 20),
		.recordingfile = col(s, 21), .originated_call_id = col(s, 22),
	};

	return h(&r, arg);
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

static bool set(const char *s)
{
	return s && *s;
}

/* "%v%" with LIKE's wildcards in v escaped by '\'. */
static int like_pattern(char **out, const char *v)
{
	char *p;
	size_t n = 0;

	*out = mem_zalloc(2 * strlen(v) + 3, NULL);
	if (!*out)
		return ENOMEM;
	p = *out;
	p[n++] = '%';
	for (; *v; v++) {
		if (*v == '%' || *v == '_' || *v == '\\')
			p[n++] = '\\';
		p[n++] = *v;
	}
	p[n++] = '%';
	p[n] = '\0';
	return 0;
}

static int where_build(char **out, const struct cdrrep_query *q)
{
	const char *cmp = q->alike ? " LIKE ?%d ESCAPE '\\'" : " = ?%d";
	struct mbuf *mb = mbuf_alloc(256);
	int err;

	if (!mb)
		return ENOMEM;
	err = mbuf_write_str(mb, "WHERE 1");
	if (!err && set(q->from))
		err = mbuf_printf(mb, " AND calldate >= ?%d", P_FROM);
	if (!err && set(q->to))
		err = mbuf_printf(mb, " AND calldate <= ?%d", P_TO);
	if (!err && set(q->src)) {
		err = mbuf_write_str(mb, " AND src");
		err = err ? err : mbuf_printf(mb, cmp, P_SRC);
	}
	if (!err && set(q->dst)) {
		err = mbuf_write_str(mb, " AND dst");
		err = err ? err : mbuf_printf(mb, cmp, P_DST);
	}
	if (!err && set(q->number)) {
		err = mbuf_write_str(mb, " AND (src");
		err = err ? err : mbuf_printf(mb, cmp, P_NUMBER);
		err = err ? err : mbuf_write_str(mb, " OR dst");
		err = err ? err : mbuf_printf(mb, cmp, P_NUMBER);
		err = err ? err : mbuf_write_str(mb, ")");
	}
	if (!err && set(q->cuid))
		err = mbuf_printf(mb, " AND (uniqueid = ?%d OR linkedid = ?%d)", P_CUID, P_CUID);
	if (!err && set(q->disposition))
		err = mbuf_printf(mb, " AND disposition = ?%d", P_DISP);
	if (!err && set(q->type))
		err = mbuf_printf(mb, " AND tamas_cdr_type(channel, dstchannel, dst) = ?%d",
				  P_TYPE);
	if (!err) {
		mb->pos = 0;
		err = mbuf_strdup(mb, out, mb->end);
	}
	mem_deref(mb);
	return err;
}

static int bind_text(sqlite3_stmt *s, int i, const char *v)
{
	return store_errno(sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT));
}

/* Binds each present filter, as a LIKE pattern where q->alike says so. */
static int bind_filters(sqlite3_stmt *s, const struct cdrrep_query *q)
{
	const struct { int p; const char *v; bool like; } f[] = {
		{ P_FROM, q->from, false }, { P_TO, q->to, false },
		{ P_SRC, q->src, q->alike }, { P_DST, q->dst, q->alike },
		{ P_NUMBER, q->number, q->alike }, { P_CUID, q->cuid, false },
		{ P_DISP, q->disposition, false }, { P_TYPE, q->type, false },
	};
	char *pat = NULL;
	int err = 0;

	for (size_t i = 0; !err && i < sizeof(f) / sizeof(f[0]); i++) {
		if (!set(f[i].v))
			continue;
		if (!f[i].like) {
			err = bind_text(s, f[i].p, f[i].v);
			continue;
		}
		err = like_pattern(&pat, f[i].v);
		err = err ? err : bind_text(s, f[i].p, pat);
		pat = mem_deref(pat);
	}
	return err;
}

static int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **s)
{
	return store_errno(sqlite3_prepare_v2(db, sql, -1, s, NULL));
}

int cdrrep_search(struct store *st, const struct cdrrep_query *q, uint64_t *total,
		  cdrrep_row_h *h, void *arg)
{
	const char *colname = q ? sort_column(q->sort) : NULL;
	sqlite3 *db = store_db(st);
	char *where = NULL, *sql = NULL;
	sqlite3_stmt *s = NULL;
	int err, rc;

	if (!db || !q || !total || !h || !colname)
		return EINVAL;
	err = where_build(&where, q);
	err = err ? err : re_sdprintf(&sql, "SELECT count(*) FROM cdr %s", where);
	err = err ? err : prepare(db, sql, &s);
	err = err ? err : bind_filters(s, q);
	if (!err) {
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW)
			*total = (uint64_t)sqlite3_column_int64(s, 0);
		else
			err = step_err(rc);
	}
	sqlite3_finalize(s);
	s = NULL;
	sql = mem_deref(sql);
	if (err)
		goto out;

	/* id breaks ties, so pages never overlap or skip rows. */
	err = re_sdprintf(&sql, "SELECT " COLS " FROM cdr %s ORDER BY %s %s, id %s"
			  " LIMIT ?%d OFFSET ?%d", where, colname, q->desc ? "DESC" : "ASC",
			  q->desc ? "DESC" : "ASC", P_LIMIT, P_OFFSET);
	err = err ? err : prepare(db, sql, &s);
	err = err ? err : bind_filters(s, q);
	err = err ? err : store_errno(sqlite3_bind_int64(s, P_LIMIT, q->count
							 ? (sqlite3_int64)q->count : -1));
	err = err ? err : store_errno(sqlite3_bind_int64(s, P_OFFSET, q->start));
	while (!err && (rc = sqlite3_step(s)) == SQLITE_ROW)
		err = row_give(s, h, arg);
	if (!err && rc != SQLITE_DONE)
		err = step_err(rc);
 out:
	sqlite3_finalize(s);
	mem_deref(sql);
	mem_deref(where);
	return err;
}

/* --- by id ------------------------------------------------------------------- */

int cdrrep_get(struct store *st, int64_t id, cdrrep_row_h *h, void *arg)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s = NULL;
	int err, rc;

	if (!db || !h)
		return EINVAL;
	err = prepare(db, "SELECT " COLS " FROM cdr WHERE id = ?1", &s);
	err = err ? err : store_errno(sqlite3_bind_int64(s, 1, id));
	if (!err) {
		rc = sqlite3_step(s);
		err = rc == SQLITE_ROW ? row_give(s, h, arg)
			: rc == SQLITE_DONE ? ENOENT : step_err(rc);
	}
	sqlite3_finalize(s);
	return err;
}

int cdrrep_after(struct store *st, int64_t after, uint32_t n, cdrrep_row_h *h, void *arg)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s = NULL;
	int err, rc = SQLITE_DONE;

	if (!db || !h || !n)
		return EINVAL;
	err = prepare(db, "SELECT " COLS " FROM cdr WHERE id > ?1 ORDER BY id LIMIT ?2", &s);
	err = err ? err : store_errno(sqlite3_bind_int64(s, 1, after));
	err = err ? err : store_errno(sqlite3_bind_int64(s, 2, n));
	while (!err && (rc = sqlite3_step(s)) == SQLITE_ROW)
		err = row_give(s, h, arg);
	if (!err && rc != SQLITE_DONE)
		err = step_err(rc);
	sqlite3_finalize(s);
	return err;
}
