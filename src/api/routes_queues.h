/* routes_queues: the REST API's queue side (spec §2.5, §2.11):
 *   pbx/queues/search                 configured queues with members and states
 *   pbx/queues/add, update, remove    queues stored in SQLite (store/queuedef);
 *                                     tamas.conf queues are refused by name
 *   pbx/queues/{add,pause,resume,remove}agent and their batch* forms
 *                                     member changes through pbx/queue
 *   reports/queue/search              one row per queue call (queue_log)
 *   reports/queue_details/search      one row per agent attempt (queue_log)
 *   reports/queue/ordered/id, reports/queue_details/ordered/id
 *                                     the same rows by cursor (20 at a time)
 *   reports/agent/search              agent sessions: logged in, paused
 * Members are interfaces ("SIP/2001"); the API's `source`/`agent` name an
 * extension ("2001", meaning SIP/2001) or a whole interface. Not for the
 * CdrQueue webhook (api/queuehook). Each route's permission is its path. */
#ifndef TAMAS_API_ROUTES_QUEUES_H
#define TAMAS_API_ROUTES_QUEUES_H

struct http;
struct store;

/* What the routes work on; the caller owns it and it must outlive h. */
struct routes_queues {
	struct store *store;        /* queue_log for the reports */
};

int routes_queues_register(struct http *h, struct routes_queues *rq);

/* Adds the stored (API) queues to pbx/queue, after the tamas.conf ones; a
 * stored queue whose number tamas.conf also has, or whose settings no
 * longer check, is logged and skipped. 0 or the store's errno. */
int routes_queues_load(struct store *st);

#endif
