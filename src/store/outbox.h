/* outbox: the webhook outbox table (migration 4). An event is a row from the
 * moment it is queued until its target acknowledged it, so a restart or a
 * dead receiver loses nothing. Rows of one call_key go out oldest first.
 * Not the sender (api/webhook); main thread only, like the store. */
#ifndef TAMAS_OUTBOX_H
#define TAMAS_OUTBOX_H

#include <stdint.h>

struct store;

/* A new event. url is the final address (the Rest path already joined);
 * body is the event's JSON object as text. call_key NULL means "". */
struct outbox_new {
	const char *event, *call_key, *url, *method, *style, *body;
};

/* A stored row as handed to outbox_row_h: the strings live only during the
 * handler call. next_at is epoch ms (0: at once). */
struct outbox_row {
	int64_t id;
	const char *event, *call_key, *url, *method, *style, *body, *last_error;
	uint32_t attempts;
	int64_t next_at;
};
typedef int (outbox_row_h)(const struct outbox_row *row, void *arg);

/* Inserts a row due at once and sets *idp (may be NULL). Inside an open
 * store_begin() transaction the row commits or rolls back with it. */
int outbox_enqueue(struct store *st, const struct outbox_new *ev, int64_t *idp);
/* Visits at most max due rows (next_at <= now_ms), each the oldest row of
 * its call_key, by (next_at, id). A handler's non-zero return stops the walk
 * and is returned. */
int outbox_fetch_due(struct store *st, int64_t now_ms, unsigned max,
		     outbox_row_h *h, void *arg);
/* Earliest next_at after now_ms among rows that are the oldest of their
 * call_key: when the next row becomes due. ENOENT when there is none. */
int outbox_next_due(struct store *st, int64_t now_ms, int64_t *at_ms);
/* The target took it: the row is deleted. ENOENT if it is not there. */
int outbox_mark_delivered(struct store *st, int64_t id);
/* The attempt failed: attempts+1, next try at next_at_ms, error kept for
 * the operator (truncated). ENOENT if the row is not there. */
int outbox_mark_failed(struct store *st, int64_t id, int64_t next_at_ms, const char *error);
int outbox_count_pending(struct store *st, unsigned *n);
/* Every row (tests, tamasctl), by id. */
int outbox_apply(struct store *st, outbox_row_h *h, void *arg);

/* Delay before the try after `attempts` failures (attempts >= 1):
 * min_ms doubled per failure, capped at max_ms, minus a jitter of up to a
 * quarter taken from rnd (so retries of many rows spread out but never
 * exceed the cap). rnd = 0 gives the exact doubling. */
uint32_t outbox_backoff_ms(uint32_t attempts, uint32_t min_ms, uint32_t max_ms, uint32_t rnd);

#endif
