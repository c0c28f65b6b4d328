/* routes_trunks: the REST API's PBX trunk routes (spec §2.4):
 * pbx/trunks/{add,search,update,remove}, stored in store/pbxtrunk and
 * applied to the SIP side at once (no restart): an active trunk's host:port
 * is trusted for incoming calls into its context, and Dial reaches it as
 * SIP/<name>/<number>. tamas.conf's [trunk NAME] sections stay as they
 * are; the API cannot take their names. Not for users (routes_pbx). */
#ifndef TAMAS_API_ROUTES_TRUNKS_H
#define TAMAS_API_ROUTES_TRUNKS_H

#include <stdbool.h>

struct http;
struct store;
struct trunk_conf;
typedef struct json_t json_t;

/* Puts trunk tc in service (tc->name), or takes name out (tc NULL). */
typedef int (routes_trunks_apply_h)(const char *name, const struct trunk_conf *tc, void *arg);
/* Whether a trunk called name is in service (tamas.conf's included). */
typedef bool (routes_trunks_exists_h)(const char *name, void *arg);

/* "TrunkAdded" or "TrunkRemoved" (webhooks spec §2.13); data (borrowed) is
 * the trunk as pbx/trunks/search shows it. */
typedef void (routes_trunks_event_h)(const char *event, json_t *data, void *arg);

/* Owned by the caller (like struct routes_pbx); must outlive the routes.
 * event_h may be NULL. */
struct routes_trunks {
	struct store *store;
	routes_trunks_apply_h *apply_h;
	routes_trunks_exists_h *exists_h;
	routes_trunks_event_h *event_h;
	void *arg;
};

int routes_trunks_register(struct http *h, struct routes_trunks *rt);
/* Puts every active stored trunk in service (at start). One that cannot be
 * (its name now in tamas.conf, say) is logged and skipped. */
int routes_trunks_load(struct routes_trunks *rt);

#endif
