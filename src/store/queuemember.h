/* queuemember: dynamic queue members (AddQueueMember) in queue_members
 * (migration 7), so agents stay logged in across restarts. Static members
 * come from tamas.conf and are not stored. */
#ifndef TAMAS_QUEUEMEMBER_H
#define TAMAS_QUEUEMEMBER_H

#include <stdbool.h>

struct store;

/* EEXIST when the row exists. */
int queuemember_add(struct store *st, const char *queue, const char *iface, unsigned penalty,
		    bool paused);
/* ENOENT when there is no such row. */
int queuemember_del(struct store *st, const char *queue, const char *iface);
int queuemember_set_paused(struct store *st, const char *queue, const char *iface,
			   bool paused);
/* Visits every row (queue, interface order); a non-zero return stops. */
typedef int (queuemember_h)(const char *queue, const char *iface, unsigned penalty,
			    bool paused, void *arg);
int queuemember_apply(struct store *st, queuemember_h *h, void *arg);

#endif
