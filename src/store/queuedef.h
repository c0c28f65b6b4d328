/* queuedef: queues added over the API (pbx/queues/add), the queues table
 * (migration 14), loaded next to the tamas.conf queues at start. A row is
 * the queue's dialable number (its name in pbx/queue), a display name and
 * its settings as a JSON object text; the API side gives them meaning. */
#ifndef TAMAS_QUEUEDEF_H
#define TAMAS_QUEUEDEF_H

#include <stddef.h>

struct store;

/* Strings are valid during a callback only. */
struct queuedef {
	const char *id;             /* 24 hex digits */
	const char *number, *name;
	const char *attrs;          /* JSON object text */
	const char *created;        /* UTC "YYYY-MM-DD HH:MM:SS" */
};
typedef int (queuedef_h)(const struct queuedef *q, void *arg);

/* The new row's id into id (idsz >= 25). EEXIST: the number is taken. */
int queuedef_add(struct store *st, const char *number, const char *name, const char *attrs,
		 char *id, size_t idsz);
/* New name and attrs for row id (the number stays). ENOENT: no such row. */
int queuedef_update(struct store *st, const char *id, const char *name, const char *attrs);
/* Deletes row id and the stored dynamic members of its queue, both or
 * neither. ENOENT: no such row. */
int queuedef_del(struct store *st, const char *id);
/* Row id into h. ENOENT: no such row. */
int queuedef_get(struct store *st, const char *id, queuedef_h *h, void *arg);
/* Every row, in the order they were added; a non-zero return stops. */
int queuedef_apply(struct store *st, queuedef_h *h, void *arg);

#endif
