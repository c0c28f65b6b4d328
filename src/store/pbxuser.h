/* pbxuser: the users table as the REST API sees it (Simotel's PBX users,
 * spec §2.3): API id, number, secret, context, name, enabled, and the other
 * Simotel fields as JSON text. The registrar reads the same rows through
 * store_user_get, so a change here applies to the next REGISTER or call. */
#ifndef TAMAS_STORE_PBXUSER_H
#define TAMAS_STORE_PBXUSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;

struct pbxuser {
	const char *id;         /* 24 hex digits: the API's _id */
	const char *number;     /* the extension (users.ext) */
	const char *secret;     /* SIP digest password */
	const char *context;
	const char *name;
	bool active;            /* false: cannot register or call */
	const char *attrs;      /* JSON object text: the fields tamas keeps only */
	const char *created;    /* UTC "YYYY-MM-DD HH:MM:SS" */
};
/* Gets one row; its strings are valid during the call only. */
typedef int (pbxuser_h)(const struct pbxuser *u, void *arg);

/* Inserts u (its id and created are ignored) and writes the new id to id
 * (idsz >= 25). EEXIST: the number is taken. */
int pbxuser_add(struct store *st, const struct pbxuser *u, char *id, size_t idsz);
/* Replaces every field of row u->id. ENOENT; EEXIST: the new number is taken. */
int pbxuser_update(struct store *st, const struct pbxuser *u);
int pbxuser_del(struct store *st, const char *id);                          /* ENOENT */
int pbxuser_get(struct store *st, const char *id, pbxuser_h *h, void *arg); /* ENOENT */

struct pbxuser_query {
	const char *name;       /* NULL or "" = any */
	const char *number;
	bool alike;             /* substring match (ASCII case-insensitive), else equality */
	const char *sort;       /* "number" (NULL), "name", "date" or "_id" */
	bool desc;
	uint32_t start;
	uint32_t count;         /* 0 = no limit */
};
/* The matching rows in order, from start; *total = matches overall.
 * EINVAL for an unknown sort field. */
int pbxuser_search(struct store *st, const struct pbxuser_query *q, uint64_t *total,
		   pbxuser_h *h, void *arg);

#endif
