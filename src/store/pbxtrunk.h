/* pbxtrunk: trunks added through the REST API (Simotel's PBX trunks, spec
 * §2.4): API id, unique name, and the Simotel fields as JSON text. tamasd
 * loads them next to tamas.conf's [trunk NAME] sections. */
#ifndef TAMAS_STORE_PBXTRUNK_H
#define TAMAS_STORE_PBXTRUNK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;

struct pbxtrunk {
	const char *id;         /* 24 hex digits: the API's _id */
	const char *name;
	const char *attrs;      /* JSON object text */
	const char *created;    /* UTC "YYYY-MM-DD HH:MM:SS" */
};
/* Gets one row; its strings are valid during the call only. A nonzero
 * return stops a walk and is returned. */
typedef int (pbxtrunk_h)(const struct pbxtrunk *t, void *arg);

/* Inserts t (id, created ignored); writes the new id (idsz >= 25). EEXIST. */
int pbxtrunk_add(struct store *st, const struct pbxtrunk *t, char *id, size_t idsz);
/* Replaces name and attrs of row t->id. ENOENT; EEXIST: the name is taken. */
int pbxtrunk_update(struct store *st, const struct pbxtrunk *t);
int pbxtrunk_del(struct store *st, const char *id);                          /* ENOENT */
int pbxtrunk_get(struct store *st, const char *id, pbxtrunk_h *h, void *arg); /* ENOENT */
/* Rows whose name matches (substring when alike; NULL or "" = all), by
 * name. */
int pbxtrunk_search(struct store *st, const char *name, bool alike, pbxtrunk_h *h,
		    void *arg);

#endif
