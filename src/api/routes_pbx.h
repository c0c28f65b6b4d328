/* routes_pbx: the REST API's settings and PBX-user routes (spec §2.1, §2.3):
 * setting/ping/act, pbx/users/{add,search,update,remove}. Not for calls,
 * reports or webhooks; those modules add their own routes. */
#ifndef TAMAS_API_ROUTES_PBX_H
#define TAMAS_API_ROUTES_PBX_H

struct http;
struct store;
typedef struct json_t json_t;

/* Something happened that Simotel reports as a webhook event: "Ping",
 * "ExtenAdded" or "ExtenRemoved"; data (borrowed) is the user as
 * pbx/users/search shows it (secret masked), or null for Ping. */
typedef void (routes_pbx_event_h)(const char *event, json_t *data, void *arg);

/* What the routes work on; the caller owns it (like struct ctlcmd), and it
 * must outlive h. event_h may be NULL. */
struct routes_pbx {
	struct store *store;
	routes_pbx_event_h *event_h;
	void *arg;
};

/* Adds the routes to h. */
int routes_pbx_register(struct http *h, struct routes_pbx *rp);

#endif
