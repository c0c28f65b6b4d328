/* webhook: Simotel-style event webhooks (simotel-webhooks.md). An event is
 * first a row of the outbox table (store/outbox), then a libcurl request
 * driven from the libre loop: a bounded number in flight, a timeout each,
 * retried with capped exponential backoff until the target answers 2xx, in
 * order per call key. At-least-once: a target that took an event but whose
 * answer was lost (timeout, restart) gets it again.
 * Not for building event payloads (api/callhook) or for dialplan API calls. */
#ifndef TAMAS_WEBHOOK_H
#define TAMAS_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct webhook;
struct store;
struct cfg;
/* jansson's json_t, declared here so that files including libre's re.h
 * (whose re_json.h clashes with jansson.h) can include this header. */
struct json_t;

/* Simotel's "API Version": G4 posts every event to the URL as it is (the
 * receiver dispatches on event_name); Rest4 appends "/<EventName>". */
enum webhook_style { WEBHOOK_STYLE_G4 = 0, WEBHOOK_STYLE_REST4 };

struct webhook_conf {
	const char *url;             /* NULL or "": webhooks off */
	const char *events;          /* "all" or a comma list of event names */
	enum webhook_style style;
	bool get;                    /* GET with the fields as query (else POST JSON) */
	bool rest_lowercase;         /* Rest4 path "/cdr" rather than "/Cdr" */
	bool local_time;             /* timestamps in local time (default UTC) */
	const char *username, *password;   /* HTTP Basic when username is set */
	uint32_t timeout_ms;         /* per request */
	uint32_t backoff_min_ms, backoff_max_ms;
	uint32_t max_inflight;
};

/* Reads [webhook] (webhook.url, .events, .style, .method, .timeout_ms,
 * .backoff_min_ms, .backoff_max_ms, .max_inflight, .username, .password,
 * .rest_lowercase, .local_time). Strings point into conf. A bad value
 * returns EINVAL and writes "file:line: webhook.key: reason" to err. */
int webhook_conf_load(struct webhook_conf *cf, const struct cfg *conf, char *err,
		      size_t errsz);

/* Copies cf. With a URL it starts delivering the rows already in the
 * outbox (left from before a restart); without one it only keeps them.
 * EINVAL for a configuration webhook_conf_load would have refused. */
int webhook_alloc(struct webhook **whp, struct store *st, const struct webhook_conf *cf);

/* Whether event (an exact Simotel name: "Cdr", "NewState", ...) is to be
 * sent. False for a NULL or disabled webhook; ask before building a body. */
bool webhook_wants(const struct webhook *wh, const char *event);

/* Queues event durably (one outbox row) and has the sender look at it on
 * the next loop turn. Adds "event_name" to body (which stays the caller's)
 * and "cuid" next to a "unique_id". call_key orders events: rows with the
 * same key are delivered one at a time, oldest first (NULL: ""). Inside an
 * open store transaction the row commits or rolls back with it. Returns 0
 * without queueing when the event is not wanted; EINVAL for an unknown
 * event name. */
int webhook_emit(struct webhook *wh, const char *event, const char *call_key,
		 struct json_t *body);

/* The same for a flat event built without jansson: each field is a string
 * (str set) or an integer (str NULL: num); a field with key NULL is left
 * out, which makes optional fields easy to write. Strings need not be
 * valid UTF-8 (caller IDs come off the wire): bad bytes become U+FFFD. */
struct webhook_field {
	const char *key;
	const char *str;
	int64_t num;
};
int webhook_emit_fields(struct webhook *wh, const char *event, const char *call_key,
			const struct webhook_field *fields, size_t n);

/* Simotel's timestamp "YYYY-MM-DD HH:MM:SS.ffffff" of a unix time in µs,
 * in UTC or local time as configured. */
int webhook_time_str(const struct webhook *wh, uint64_t us, char *buf, size_t sz);
/* Now as the trunk events' epoch seconds with a fraction ("1717047400.123456"). */
int webhook_epoch_now(char *buf, size_t sz);

/* Requests in flight (tests, status). */
unsigned webhook_inflight(const struct webhook *wh);

#endif
