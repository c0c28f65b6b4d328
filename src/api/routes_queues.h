/* routes_queues: the REST API's queue side (spec §2.5, §2.11):
 *   pbx/queues/search                 configured queues with members and states
 *   pbx/queues/{add,pause,resume,remove}agent and their batch* forms
 *                                     member changes through pbx/queue
 *   reports/queue/search              one row per queue call (queue_log)
 *   reports/queue_details/search      one row per agent attempt (queue_log)
 *   reports/queue/ordered/id, reports/queue_details/ordered/id
 *                                     the same rows by cursor (20 at a time)
 *   reports/agent/search              agent sessions: logged in, paused
 * Members are interfaces ("SIP/2001"); the API's `source`/`agent` name an
 * extension ("2001", meaning SIP/2001) or a whole interface. Not for the
 * CdrQueue webhook (api/queuehook), nor for defining queues (pbx/queues/add,
 * update, remove: api/routes_qdef). Each route's permission is its path. */
#ifndef TAMAS_API_ROUTES_QUEUES_H
#define TAMAS_API_ROUTES_QUEUES_H

struct http;
struct store;

/* What the routes work on; the caller owns it and it must outlive h. */
struct routes_queues {
	struct store *store;        /* queue_log for the reports, stored
				     * queues for the search */
};

int routes_queues_register(struct http *h, struct routes_queues *rq);

#endif
