/* routes_call: Simotel's call/originate/act (spec §2.2) over pbx/originate.
 * Not for the call itself (originate) nor its reports. */
#ifndef TAMAS_API_ROUTES_CALL_H
#define TAMAS_API_ROUTES_CALL_H

#include <stdbool.h>

struct http;
struct store;

/* Whether name is a configured trunk (the daemon asks SIP). */
typedef bool (routes_call_trunk_h)(const char *name, void *arg);

/* What the routes work on; the caller owns it and it outlives h. */
struct routes_call {
	struct store *store;         /* extensions, to refuse an unknown caller */
	routes_call_trunk_h *trunk_h;
	void *arg;
};

int routes_call_register(struct http *h, struct routes_call *rc);

#endif
