/* poll: the results of post-call surveys (the Poll app), one row per score a
 * caller submitted, as Simotel's reports/poll/search shows them (spec
 * simotel-api-v4.md §2.11). Not for the Survey webhook (api/routes_poll). */
#ifndef TAMAS_STORE_POLL_H
#define TAMAS_STORE_POLL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;

struct poll_rec {
	const char *id;         /* 24 hex digits: the API's _id (ignored by poll_add) */
	const char *uniqueid;   /* the caller channel's uniqueid (Simotel's cuid) */
	const char *src;        /* caller number */
	const char *dst;        /* who served the call (Dial's answering party) */
	int64_t point;          /* the score */
	const char *label;      /* the Poll's label */
	const char *qnum;       /* queue number, "" when no queue */
	const char *date;       /* UTC "YYYY-MM-DD HH:MM:SS" */
};
/* Gets one row; its strings are valid during the call only. */
typedef int (poll_h)(const struct poll_rec *r, void *arg);

/* Inserts r (date NULL: now) and writes the new id to id (idsz >= 25).
 * Inside an open store transaction the row commits or rolls back with it.
 * EINVAL without a uniqueid. */
int poll_add(struct store *st, const struct poll_rec *r, char *id, size_t idsz);

/* The last score recorded for a channel (the Cdr event's poll_point and
 * poll_lable). ENOENT when that channel gave none. */
int poll_last(struct store *st, const char *uniqueid, poll_h *h, void *arg);

struct poll_query {
	const char *src, *dst, *label, *qnum, *uniqueid;  /* NULL or "" = any */
	bool alike;             /* substring match (ASCII case-insensitive), else equality */
	const char *from, *to;  /* date window, "YYYY-MM-DD HH:MM[:SS]" UTC, both inclusive;
				 * NULL or "" = open */
	const char *sort;       /* "date" (NULL), "point", "src", "dst", "label", "_id" */
	bool desc;
	uint32_t start;
	uint32_t count;         /* 0 = no limit */
};
/* The matching rows in order, from start; *total = matches overall.
 * EINVAL for an unknown sort field. */
int poll_search(struct store *st, const struct poll_query *q, uint64_t *total, poll_h *h,
		void *arg);

#endif
