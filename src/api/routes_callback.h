/* routes_callback: the callback module's requests for the REST API:
 * callback/requests/search (Simotel-style conditions callback, caller,
 * number, operator, status, target; date_range on registered_at,
 * handled_range on handled_at; pagination), reports/callback/search (the
 * same, each row with its automatic attempts as "tries") and
 * callback/requests/done (an operator handled one). Not for the module's
 * flow (pbx/callback) nor storage (store/cbreq). */
#ifndef TAMAS_API_ROUTES_CALLBACK_H
#define TAMAS_API_ROUTES_CALLBACK_H

struct http;
struct store;
struct callbacks;

/* What the routes work on; the caller owns it and it must outlive them. */
struct routes_callback {
	struct store *store;
	struct callbacks *callbacks;   /* NULL: done marks the row only (no event) */
};

/* Adds POST callback/requests/search, reports/callback/search and
 * callback/requests/done to h. */
int routes_callback_register(struct http *h, struct routes_callback *rc);

#endif
