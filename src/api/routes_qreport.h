/* routes_qreport: the REST API's queue and agent reports (spec §2.11):
 *   reports/queue/search              one row per queue call (queue_log)
 *   reports/queue_details/search      one row per agent attempt (queue_log)
 *   reports/queue/ordered/id, reports/queue_details/ordered/id
 *                                     the same rows by cursor (20 at a time)
 *   reports/agent/search              agent sessions: logged in, paused
 * Read only, from the store. Not for live queue state or member changes
 * (api/routes_queues), queue definitions (api/routes_qdef) or the CdrQueue
 * webhook (api/queuehook). Each route's permission is its path. */
#ifndef TAMAS_API_ROUTES_QREPORT_H
#define TAMAS_API_ROUTES_QREPORT_H

struct http;
struct store;

/* What the routes work on; the caller owns it and it must outlive h. */
struct routes_qreport {
	struct store *store;        /* queue_log (store/queuerep) */
};

int routes_qreport_register(struct http *h, struct routes_qreport *rr);

#endif
