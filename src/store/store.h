/* store: durable state in SQLite (WAL): schema + migrations, users, CDR, kv.
 * Not for per-call state. All calls are synchronous on the caller's thread. */
#ifndef TAMAS_STORE_H
#define TAMAS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;
struct cdr_rec;

/* Opens (creating the parent directory and the schema if needed).
 * On error returns errno and writes a one-line reason to err. */
int store_open(struct store **stp, const char *path, char *err, size_t errsz);
void store_close(struct store *st);
/* full (default): every commit is fsynced, so a CDR survives power loss;
 * normal: WAL commits survive a crash of tamasd but not of the machine,
 * and cost no fsync per call. */
int store_set_synchronous(struct store *st, bool full);

struct user_rec {
	char ext[64];
	char password[128];
	char context[64];
};
/* EEXIST if present and !replace. */
int store_user_add(struct store *st, const char *ext, const char *password,
		   const char *context, bool replace);
int store_user_del(struct store *st, const char *ext);          /* ENOENT */
/* ENOENT, also for a user disabled through the REST API (pbxuser active). */
int store_user_get(struct store *st, const char *ext, struct user_rec *out);
typedef int (store_user_h)(const struct user_rec *u, void *arg);
int store_user_apply(struct store *st, store_user_h *h, void *arg);
int store_user_count(struct store *st, unsigned *n);

/* Writes one CDR row; durable when this returns 0 (WAL, synchronous=FULL
 * inside a transaction). Column names are Asterisk's. */
int store_cdr_write(struct store *st, const struct cdr_rec *rec);
/* Explicit transaction around several writes (one fsync for all). */
int store_begin(struct store *st);
int store_commit(struct store *st);
void store_rollback(struct store *st);
/* Last n CDR rows, oldest first, each as one JSON object line. */
typedef int (store_line_h)(const char *line, void *arg);
int store_cdr_tail(struct store *st, unsigned n, store_line_h *h, void *arg);

/* astdb-like kv: family/key. */
int store_kv_put(struct store *st, const char *family, const char *key, const char *value);
int store_kv_get(struct store *st, const char *family, const char *key, char *buf, size_t sz);
int store_kv_del(struct store *st, const char *family, const char *key);

#endif
