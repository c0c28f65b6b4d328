/* httpc: one-shot asynchronous HTTP requests on the libre loop (libcurl
 * multi whose sockets and timer are libre's), for callers that wait for an
 * answer, such as the dialplan API components. One request is one attempt
 * with a deadline; no retries or queueing (webhook keeps its own durable
 * outbox and retries). */
#ifndef TAMAS_HTTPC_H
#define TAMAS_HTTPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct httpc;
struct httpc_req;

struct httpc_opts {
	const char *url;             /* http:// or https:// */
	const char *body;            /* POST this; NULL: GET */
	const char *content_type;    /* of body; NULL: application/json */
	const char *username;        /* HTTP Basic when set */
	const char *password;
	uint32_t timeout_ms;         /* whole request, connect included; 0: 5000 */
	size_t max_reply;            /* longer reply bodies fail (EFBIG); 0: 64 KiB */
	bool discard_reply;          /* reply body unread, any length (resp->body "");
				      * for callers that only want the status */
};

/* What came back. body is NUL-terminated and lives until the handler returns. */
struct httpc_resp {
	long status;                 /* HTTP status; 0 when none came */
	const char *body;
	size_t len;
	const char *error;           /* curl's words for a failure, "" on success */
};

/* err 0: a reply came (any status: check resp->status); ETIMEDOUT: the
 * deadline passed; ECONNREFUSED: nobody listens; EHOSTUNREACH: name not
 * resolved; EFBIG: reply over max_reply; ENOMEM; EIO: anything else. */
typedef void (httpc_done_h)(int err, const struct httpc_resp *resp, void *arg);

int httpc_alloc(struct httpc **hcp);
/* Starts a request. h runs later from the loop, never inside this call.
 * *reqp is the caller's only reference: freeing it before h runs cancels
 * the request (h never runs); after h ran, free it too (inside h is fine).
 * Freeing the client cancels whatever is in flight the same way. */
int httpc_send(struct httpc_req **reqp, struct httpc *hc, const struct httpc_opts *o,
	       httpc_done_h *h, void *arg);
/* base with "?k=v&..." (or "&..." when base has a query) appended, keys and
 * values percent-encoded (RFC 3986 §2.3 unreserved kept). kv holds n pairs
 * as 2n strings; a NULL value is sent empty. */
int httpc_url_query(char **urlp, const char *base, const char *const *kv, size_t n);
/* Requests in flight (tests, status). */
unsigned httpc_inflight(const struct httpc *hc);

#endif
