/* store_int: for the store's own repositories (the files of src/store) only, so that each
 * table family keeps its statements in its own file. Nothing outside
 * src/store includes this. */
#ifndef TAMAS_STORE_INT_H
#define TAMAS_STORE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

struct store;

/* The one connection; used from the main thread only. */
sqlite3 *store_db(struct store *st);
/* An errno value for a SQLite result code (0 for OK/ROW/DONE). */
int store_errno(int sqlite_rc);
/* An errno for a step's unexpected result code; never 0. */
int store_step_err(int rc);

/* --- statements prepared per call (stmt.c) ------------------------------- */

/* Prepares sql on the store's connection; EINVAL when there is none. */
int store_prepare(struct store *st, const char *sql, sqlite3_stmt **sp);
/* Text parameter i, copied; NULL binds SQL NULL. */
int store_bind_text(sqlite3_stmt *s, int i, const char *v);
/* Column i as text, "" for NULL. */
const char *store_col(sqlite3_stmt *s, int i);

/* Reads one result row (the repository's columns). */
typedef int (store_row_h)(sqlite3_stmt *s, void *arg);
/* Steps s to its end unless err is already set, giving each row to h
 * (NULL: rows are passed over) and stopping at h's first error; finalizes s
 * either way. Returns the first error (err, h's or a step's); *rows, when
 * asked for, counts the rows given. */
int store_run(sqlite3_stmt *s, int err, store_row_h *h, void *arg, unsigned *rows);
/* Prepares sql, binds v[0..n-1] as text ?1..?n (store_bind_text) and runs
 * it (store_run). */
int store_exec(struct store *st, const char *sql, const char *const *v, int n,
	       store_row_h *h, void *arg, unsigned *rows);
/* A lookup by one text key, ?1: the row into h; ENOENT when none came. */
int store_get(struct store *st, const char *sql, const char *key, store_row_h *h,
	      void *arg);
/* err; or ENOENT when err is 0 and the last statement changed no row
 * (UPDATE/DELETE of a missing key). */
int store_changed(struct store *st, int err);

/* A new row id: 24 random hex digits (the API's _id, like MongoDB's), in
 * id[STORE_ID_SIZE]. */
enum { STORE_ID_SIZE = 25 };
void store_id_new(char id[STORE_ID_SIZE]);

/* Binds a row's own parameters (all but its new id) into s. */
typedef int (store_bind_h)(sqlite3_stmt *s, const void *row);
/* Runs the INSERT sql for a new row: a new id (store_id_new) bound as
 * ?id_param, the rest by b; the id copied into id (idsz >= STORE_ID_SIZE)
 * once stored. EEXIST for a constraint (a taken unique value). */
int store_insert(struct store *st, const char *sql, int id_param, store_bind_h *b,
		 const void *row, char *id, size_t idsz);
/* Runs the UPDATE sql of row id: id bound as ?id_param, the rest by b.
 * ENOENT when no row changed; EEXIST for a constraint. */
int store_update(struct store *st, const char *sql, int id_param, const char *id,
		 store_bind_h *b, const void *row);

/* --- searches with client filters (stmt.c) -------------------------------- */

enum { STORE_WHERE_MAX = 12 };

/* A search's conditions, assembled from fixed SQL fragments, one per filter
 * present, each with its own numbered parameter: no client text ever
 * becomes SQL. Zero-initialise; store_where_reset frees. */
struct store_where {
	char *sql;                      /* " AND ... AND ..." or NULL */
	char *val[STORE_WHERE_MAX];     /* ?1..?n, owned */
	int n;
};

/* Appends " AND frag", every '?' in frag standing for the same new
 * parameter, bound to v or, with like, to the pattern "%v%" (LIKE's
 * wildcards in v escaped by '\'). Nothing when v is NULL or "". */
int store_where_add(struct store_where *w, const char *frag, const char *v, bool like);
/* " AND col = ?", or with alike " AND col LIKE ? ESCAPE '\'" (v a substring). */
int store_where_match(struct store_where *w, const char *col, const char *v, bool alike);
void store_where_reset(struct store_where *w);

/* One page of "SELECT cols FROM from WHERE <where> ORDER BY sort, tie". */
struct store_page {
	const char *cols, *from;
	struct store_where where;         /* store_search frees it */
	const char *sort;                 /* a column, ascending unless desc */
	bool desc;
	const char *tie;                  /* ORDER BY's last term, unique per row
					   * ("id DESC"), so pages never overlap
					   * or skip rows */
	uint32_t start;                   /* rows to skip */
	uint32_t count;                   /* 0: no limit */
};

/* Unless err is already set (building p->where failed): *total = the rows
 * matching overall, then the page's rows into h. Frees p->where either way. */
int store_search(struct store *st, struct store_page *p, int err, uint64_t *total,
		 store_row_h *h, void *arg);

#endif
