/* routes_trunks: Simotel's pbx/trunks/{add,search,update,remove} (spec
 * §2.4). Trunks made here live in the store (store/trunkrep) and reach SIP
 * at once through apply_h; tamas.conf's [trunk] sections stay read-only
 * and their names cannot be taken. Not for SIP itself (sip/trunk). */
#ifndef TAMAS_API_ROUTES_TRUNKS_H
#define TAMAS_API_ROUTES_TRUNKS_H

#include <stdbool.h>

struct http;
struct store;
struct trunk_conf;
typedef struct json_t json_t;

/* Puts trunk name in service with tc, replacing one of that name; tc NULL
 * takes it out of service. 0 or an errno. */
typedef int (routes_trunks_apply_h)(const char *name, struct trunk_conf *tc, void *arg);
/* Whether name is a [trunk] of tamas.conf. */
typedef bool (routes_trunks_conf_h)(const char *name, void *arg);
/* TrunkAdded / TrunkRemoved, data the event's fields (borrowed). */
typedef void (routes_trunks_event_h)(const char *event, json_t *data, void *arg);

struct routes_trunks {
	struct store *store;
	routes_trunks_apply_h *apply_h;
	routes_trunks_conf_h *conf_h;
	routes_trunks_event_h *event_h;   /* may be NULL */
	void *arg;
	void *event_arg;
};

int routes_trunks_register(struct http *h, struct routes_trunks *rt);
/* Puts the stored, active trunks in service (at start-up). A stored trunk
 * whose name a tamas.conf trunk took meanwhile is skipped with a warning. */
int routes_trunks_load(struct routes_trunks *rt);

#endif
