/* routes_queues: the REST API's live queues (spec §2.5):
 *   pbx/queues/search                 configured queues with members and states
 *   pbx/queues/{add,pause,resume,remove}agent and their batch* forms
 *                                     member changes through pbx/queue
 * Members are interfaces ("SIP/2001"); the API's `source`/`agent` name an
 * extension ("2001", meaning SIP/2001) or a whole interface. Not for
 * defining queues (pbx/queues/add, update, remove: api/routes_qdef), the
 * queue and agent reports (api/routes_qreport) or the CdrQueue webhook
 * (api/queuehook). Each route's permission is its path. */
#ifndef TAMAS_API_ROUTES_QUEUES_H
#define TAMAS_API_ROUTES_QUEUES_H

struct http;
struct store;

/* What the routes work on; the caller owns it and it must outlive h. */
struct routes_queues {
	struct store *store;        /* stored queues for the search */
};

int routes_queues_register(struct http *h, struct routes_queues *rq);

#endif
