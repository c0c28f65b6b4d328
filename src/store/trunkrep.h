/* trunkrep: the trunks table (migration 7): trunks made through the REST
 * API, kept as Simotel's JSON object under an API id and a unique name.
 * The store does not read the object; api/routes_trunks does. */
#ifndef TAMAS_STORE_TRUNKREP_H
#define TAMAS_STORE_TRUNKREP_H

#include <stddef.h>

struct store;

struct trunkrep {
	char id[32];              /* 24 hex digits */
	char name[64];
	char created[32];         /* "YYYY-MM-DD HH:MM:SS" UTC */
	const char *body;         /* JSON text; borrowed (valid during a callback) */
};

/* Adds a trunk with a new id (written to id, idsz >= 25). EEXIST when the
 * name is taken. */
int trunkrep_add(struct store *st, const char *name, const char *body, char *id,
		 size_t idsz);
/* Replaces name and body of trunk id. ENOENT unknown id, EEXIST name taken. */
int trunkrep_update(struct store *st, const char *id, const char *name, const char *body);
int trunkrep_remove(struct store *st, const char *id);          /* ENOENT */

typedef int (trunkrep_h)(const struct trunkrep *t, void *arg);
/* Calls h for each trunk in name order; name NULL/"" = all, else exact or,
 * with alike, a substring. Stops at and returns h's first error. */
int trunkrep_each(struct store *st, const char *name, int alike, trunkrep_h *h, void *arg);
/* One trunk by id; ENOENT if none. */
int trunkrep_get(struct store *st, const char *id, trunkrep_h *h, void *arg);

#endif
