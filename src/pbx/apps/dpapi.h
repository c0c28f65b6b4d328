/* apps/dpapi: Simotel's dialplan API components as apps
 * (simotel-dialplan-api.md §4.1, §4.2): TrunkAPI and ExtenAPI ask the
 * customer's web service where the call goes and leave the answer in
 * channel variables for the dialplan's Dial and its fallback route:
 *
 *   TrunkAPI(url[,app_name[,data]])  TRUNKAPI_STATUS, TRUNKAPI_TRUNK,
 *                                    TRUNKAPI_NUMBER, TRUNKAPI_DIAL
 *   ExtenAPI(url[,app_name[,data]])  EXTENAPI_STATUS, EXTENAPI_EXTENSION,
 *                                    EXTENAPI_DIAL
 *
 * STATUS is SUCCESS, FAILED (refused, non-2xx, bad reply, ok != 1) or
 * TIMEOUT; <PREFIX>_ERROR says why. A reply's call_limit (seconds, > 0)
 * becomes CALL_LIMIT, which Dial applies. The URL must not contain a comma
 * (write %2C): the app's arguments are comma-separated.
 * Not for IVR API or Smart API, nor for dialling itself. */
#ifndef TAMAS_APPS_DPAPI_H
#define TAMAS_APPS_DPAPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cfg;
struct httpc;

/* Owned by the daemon; must outlive every channel. */
struct dpapi_conf {
	struct httpc *httpc;
	uint32_t timeout_ms;            /* api.client_api_caller_timeout */
	bool get;                       /* webhook.method GET: fields as a query */
	const char *username, *password;/* webhook.username/.password: Basic */
};

/* Reads client_api_caller_timeout (whole seconds, default 1) from [api],
 * else from [client_api_service] (simotel.ini's two placements). A bad
 * value returns EINVAL with "file:line: reason" in err. Leaves the other
 * fields alone. */
int dpapi_conf_load(struct dpapi_conf *cf, const struct cfg *conf, char *err, size_t errsz);
int apps_dpapi_register(const struct dpapi_conf *cf);

enum dpapi_kind { DPAPI_TRUNK, DPAPI_EXTEN };

struct dpapi_reply {
	char trunk[64];                 /* TrunkAPI only */
	char extension[128];
	uint32_t call_limit;            /* seconds; 0: none given */
};

/* Parses a reply body: a JSON object with ok 1/"1"/true and, for TrunkAPI,
 * trunk and extension, for ExtenAPI extension (strings, or integers for the
 * number), and optional call_limit (seconds, integer or digits; "" or 0:
 * none). Values must be safe in a dial string. EBADMSG with the reason in
 * why for anything else. */
int dpapi_reply_parse(enum dpapi_kind kind, const char *body, size_t len,
		      struct dpapi_reply *rep, char *why, size_t whysz);

#endif
