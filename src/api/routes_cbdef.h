/* routes_cbdef: callbacks defined at run time through the REST API:
 * pbx/callbacks/add, update, remove and search. A body's fields are
 * `name` and the keys of a [callback NAME] section (pbx/cbconf), numbers
 * and true/false accepted for their text; they are checked by the same
 * cbconf_parse and callback_add as tamas.conf, so the messages are the
 * same ("code: is required"). An accepted callback is in service at once
 * and kept in the store (store/cbdef); tamasd loads those after tamas.conf's.
 * Callbacks of tamas.conf are listed (source "config", _id = their name)
 * but not changed; search shows "in_service" (a stored one that tamas.conf
 * took the name or code of since waits, "no", until updated).
 * Not for callback requests (api/routes_callback). */
#ifndef TAMAS_API_ROUTES_CBDEF_H
#define TAMAS_API_ROUTES_CBDEF_H

struct http;
struct store;
struct callbacks;
struct dests;

/* What the routes work on; the caller owns it and it must outlive them. */
struct routes_cbdef {
	struct store *store;
	struct callbacks *callbacks;
	const struct dests *dests;   /* checks next/error; NULL: form only */
};

/* Adds POST pbx/callbacks/add, update, remove and search to h. */
int routes_cbdef_register(struct http *h, struct routes_cbdef *rc);
/* Puts the stored callbacks in service (once, after tamas.conf's); one
 * that no longer fits (its name or code now tamas.conf's) is skipped with
 * a warning. *n counts those added. */
int routes_cbdef_load(struct routes_cbdef *rc, unsigned *n);

#endif
