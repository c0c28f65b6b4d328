/* cbdef: callbacks defined through the REST API (pbx/callbacks/add), kept
 * across restarts: a name and its cbconf keys as stored text (the API
 * keeps a JSON object of strings). Callbacks of tamas.conf are not here.
 * Not for checking a definition (pbx/cbconf, pbx/callback). */
#ifndef TAMAS_STORE_CBDEF_H
#define TAMAS_STORE_CBDEF_H

#include <stddef.h>

struct store;

struct cbdef_rec {
	const char *id;           /* 24 hex digits */
	const char *name;
	const char *conf;
	const char *created_at;   /* UTC "YYYY-MM-DD HH:MM:SS" */
};
/* Gets one row; its strings are valid during the call only. */
typedef int (cbdef_h)(const struct cbdef_rec *r, void *arg);

/* Stores a new definition; id receives its id (idsz >= 25). EEXIST for a
 * name already stored, EINVAL for a missing name or conf. */
int cbdef_add(struct store *st, const char *name, const char *conf, char *id, size_t idsz);
/* Replaces a definition's conf. ENOENT for an unknown id. */
int cbdef_update(struct store *st, const char *id, const char *conf);
/* ENOENT for an unknown id. */
int cbdef_remove(struct store *st, const char *id);
/* Every stored definition, oldest first. */
int cbdef_list(struct store *st, cbdef_h *h, void *arg);

#endif
