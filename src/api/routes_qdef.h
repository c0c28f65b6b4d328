/* routes_qdef: the REST API's queue definitions (spec §2.5):
 *   pbx/queues/add, update, remove    queues stored in SQLite (store/queuedef)
 *                                     and run by pbx/queue; tamas.conf queues
 *                                     are refused by name
 * and the loading of those stored queues at start. Queue settings only:
 * not for members or the queue list (api/routes_queues), reports
 * (api/routes_qreport), nor the queues of tamas.conf (tamasd reads
 * those). Each route's permission is its path. */
#ifndef TAMAS_API_ROUTES_QDEF_H
#define TAMAS_API_ROUTES_QDEF_H

struct http;
struct store;

/* What the routes work on; the caller owns it and it must outlive h. */
struct routes_qdef {
	struct store *store;        /* the stored queues (store/queuedef) */
};

int routes_qdef_register(struct http *h, struct routes_qdef *rd);

/* Adds the stored (API) queues to pbx/queue, after the tamas.conf ones; a
 * stored queue whose number tamas.conf also has, or whose settings no
 * longer check, is logged and skipped. 0 or the store's errno. */
int routes_qdef_load(struct store *st);

#endif
