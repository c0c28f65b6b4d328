/* stmt: what the store's repositories repeat around their statements:
 * prepare, bind, step to the end, finalize, and the paged searches of the
 * REST API (a count, then one page) with filters bound as parameters. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sqlite3.h>
#include <re.h>
#include "store/store_int.h"

int store_prepare(struct store *st, const char *sql, sqlite3_stmt **sp)
{
	sqlite3 *db = store_db(st);

	if (!db)
		return EINVAL;
	return store_errno(sqlite3_prepare_v2(db, sql, -1, sp, NULL));
}

int store_bind_text(sqlite3_stmt *s, int i, const char *v)
{
	return store_errno(v ? sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT)
			   : sqlite3_bind_null(s, i));
}

const char *store_col(sqlite3_stmt *s, int i)
{
	const unsigned char *v = sqlite3_column_text(s, i);

	return v ? (const char *)v : "";
}

int store_run(sqlite3_stmt *s, int err, store_row_h *h, void *arg, unsigned *rows)
{
	unsigned n = 0;
	int rc = SQLITE_DONE;

	while (!err && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		++n;
		if (h)
			err = h(s, arg);
	}
	if (!err && rc != SQLITE_DONE)
		err = store_step_err(rc);
	sqlite3_finalize(s);
	if (rows)
		*rows = n;
	return err;
}

int store_exec(struct store *st, const char *sql, const char *const *v, int n,
	       store_row_h *h, void *arg, unsigned *rows)
{
	sqlite3_stmt *s;
	int err = store_prepare(st, sql, &s);

	if (err)
		return err;
	for (int i = 0; i < n && !err; i++)
		err = store_bind_text(s, i + 1, v[i]);
	return store_run(s, err, h, arg, rows);
}

int store_get(struct store *st, const char *sql, const char *key, store_row_h *h,
	      void *arg)
{
	unsigned n;
	int err = store_exec(st, sql, &key, 1, h, arg, &n);

	return err ? err : n ? 0 : ENOENT;
}

int store_changed(struct store *st, int err)
{
	if (!err && sqlite3_changes(store_db(st)) < 1)
		err = ENOENT;
	return err;
}

void store_id_new(char id[STORE_ID_SIZE])
{
	uint8_t rnd[(STORE_ID_SIZE - 1) / 2];

	rand_bytes(rnd, sizeof(rnd));
	for (size_t i = 0; i < sizeof(rnd); i++)
		(void)snprintf(id + 2 * i, 3, "%02x", rnd[i]);
}

int store_insert(struct store *st, const char *sql, int id_param, store_bind_h *b,
		 const void *row, char *id, size_t idsz)
{
	char hex[STORE_ID_SIZE];
	sqlite3_stmt *s;
	int err;

	if (!b || !id || idsz < sizeof(hex))
		return EINVAL;
	err = store_prepare(st, sql, &s);
	if (err)
		return err;
	store_id_new(hex);
	err = store_bind_text(s, id_param, hex);
	err = err ? err : b(s, row);
	err = store_run(s, err, NULL, NULL, NULL);
	if (!err)
		str_ncpy(id, hex, idsz);
	return err;
}

int store_update(struct store *st, const char *sql, int id_param, const char *id,
		 store_bind_h *b, const void *row)
{
	sqlite3_stmt *s;
	int err;

	if (!id || !b)
		return EINVAL;
	err = store_prepare(st, sql, &s);
	if (err)
		return err;
	err = store_bind_text(s, id_param, id);
	err = err ? err : b(s, row);
	return store_changed(st, store_run(s, err, NULL, NULL, NULL));
}

/* --- searches -------------------------------------------------------------- */

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

int store_where_add(struct store_where *w, const char *frag, const char *v, bool like)
{
	struct mbuf *mb;
	char *val = NULL;
	int err;

	if (!w || !frag)
		return EINVAL;
	if (!v || !*v)
		return 0;
	if (w->n >= STORE_WHERE_MAX)
		return E2BIG;
	mb = mbuf_alloc(128);
	if (!mb)
		return ENOMEM;
	err = mbuf_printf(mb, "%s AND ", w->sql ? w->sql : "");
	for (const char *p = frag; *p && !err; p++)
		err = *p == '?' ? mbuf_printf(mb, "?%d", w->n + 1) : mbuf_write_u8(mb, (uint8_t)*p);
	if (!err)
		err = like ? like_pattern(&val, v) : str_dup(&val, v);
	if (!err) {
		mb->pos = 0;
		mem_deref(w->sql);
		w->sql = NULL;
		err = mbuf_strdup(mb, &w->sql, mb->end);
	}
	if (!err)
		w->val[w->n++] = val;
	else
		mem_deref(val);
	mem_deref(mb);
	return err;
}

int store_where_match(struct store_where *w, const char *col, const char *v, bool alike)
{
	char frag[96];

	if (!col)
		return EINVAL;
	if (re_snprintf(frag, sizeof(frag), alike ? "%s LIKE ? ESCAPE '\\'" : "%s = ?",
			col) < 0)
		return EINVAL;
	return store_where_add(w, frag, v, alike);
}

void store_where_reset(struct store_where *w)
{
	if (!w)
		return;
	w->sql = mem_deref(w->sql);
	for (int i = 0; i < w->n; i++)
		w->val[i] = mem_deref(w->val[i]);
	w->n = 0;
}

static int where_bind(sqlite3_stmt *s, const struct store_where *w)
{
	int err = 0;

	for (int i = 0; i < w->n && !err; i++)
		err = store_bind_text(s, i + 1, w->val[i]);
	return err;
}

static int count_h(sqlite3_stmt *s, void *arg)
{
	*(uint64_t *)arg = (uint64_t)sqlite3_column_int64(s, 0);
	return 0;
}

int store_search(struct store *st, struct store_page *p, int err, uint64_t *total,
		 store_row_h *h, void *arg)
{
	const char *where = p && p->where.sql ? p->where.sql : "";
	int n = p ? p->where.n : 0;
	sqlite3_stmt *s = NULL;
	char *sql = NULL;

	if (!p)
		return EINVAL;
	if (!err && (!st || !p->cols || !p->from || !p->sort || !p->tie || !total || !h))
		err = EINVAL;
	err = err ? err : re_sdprintf(&sql, "SELECT count(*) FROM %s WHERE 1%s", p->from, where);
	err = err ? err : store_prepare(st, sql, &s);
	err = err ? err : store_run(s, where_bind(s, &p->where), count_h, total, NULL);
	sql = mem_deref(sql);
	err = err ? err : re_sdprintf(&sql, "SELECT %s FROM %s WHERE 1%s ORDER BY %s %s, %s"
				      " LIMIT ?%d OFFSET ?%d", p->cols, p->from, where, p->sort,
				      p->desc ? "DESC" : "ASC", p->tie, n + 1, n + 2);
	err = err ? err : store_prepare(st, sql, &s);
	mem_deref(sql);
	if (!err) {
		err = where_bind(s, &p->where);
		err = err ? err : store_errno(sqlite3_bind_int64(s, n + 1, p->count
								 ? (sqlite3_int64)p->count : -1));
		err = err ? err : store_errno(sqlite3_bind_int64(s, n + 2, p->start));
		err = store_run(s, err, h, arg, NULL);
	}
	store_where_reset(&p->where);
	return err;
}
