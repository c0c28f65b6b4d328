/* routes_poll: post-call survey results for the API: the REST route
 * reports/poll/search (spec simotel-api-v4.md §2.11) and the recording of a
 * score the Poll app collected (store row + Survey webhook, spec
 * simotel-webhooks.md §2.12). Not for collecting digits (pbx/apps/poll). */
#ifndef TAMAS_API_ROUTES_POLL_H
#define TAMAS_API_ROUTES_POLL_H

struct http;
struct store;
struct webhook;
struct poll_result;

/* What the routes work on; the caller owns it and it must outlive both
 * the routes and the Poll app. webhook may be NULL (no Survey events). */
struct routes_poll {
	struct store *store;
	struct webhook *webhook;
};

/* Adds POST reports/poll/search to h. */
int routes_poll_register(struct http *h, struct routes_poll *rp);

/* A poll_result_h (arg: the struct routes_poll): writes the poll row and
 * queues its Survey event in one transaction, so a recorded score always
 * has its event and an event always its row. 0 once durable. */
int routes_poll_record(const struct poll_result *r, void *arg);

#endif
