/* cbreq: callback requests (the callback module, seed 001): a customer who
 * asked to be called back, kept until an operator or the automatic call
 * handled it, across restarts. Not for the module's flow (pbx/callback). */
#ifndef TAMAS_STORE_CBREQ_H
#define TAMAS_STORE_CBREQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;

/* Request states: waiting, being called right now, handled, given up. */
#define CBREQ_PENDING "pending"
#define CBREQ_CALLING "calling"
#define CBREQ_DONE "done"
#define CBREQ_FAILED "failed"

struct cbreq_rec {
	const char *id;           /* 24 hex digits (ignored by cbreq_register) */
	const char *callback;     /* the [callback NAME] */
	const char *caller;       /* who called in */
	const char *number;       /* the number to call back */
	const char *target;       /* extension or queue:NAME */
	const char *uniqueid;     /* the registering channel's */
	const char *status;
	int64_t attempts;
	int64_t due;              /* epoch seconds: the automatic call waits until then */
	const char *call_id;      /* the last attempt's originated call id */
	const char *operator;     /* who marked it done (API), "" otherwise */
	const char *registered_at, *handled_at;   /* UTC "YYYY-MM-DD HH:MM:SS", "" */
};
/* Gets one row; its strings are valid during the call only. */
typedef int (cbreq_h)(const struct cbreq_rec *r, void *arg);

/* Stores a pending request, or, when the caller already has one pending
 * for that callback, updates that one (number, target, uniqueid) and sets
 * *merged. id receives the row's id (idsz >= 25). EINVAL for a missing
 * callback, caller or number. */
int cbreq_register(struct store *st, const struct cbreq_rec *r, char *id, size_t idsz,
		   bool *merged);
/* Pending requests with due <= now, oldest first. */
int cbreq_due(struct store *st, int64_t now, cbreq_h *h, void *arg);
/* An automatic call started: status calling, attempts + 1, call_id. */
int cbreq_set_calling(struct store *st, const char *id, const char *call_id);
/* Back to pending until due (an attempt failed, retries remain). */
int cbreq_set_pending(struct store *st, const char *id, int64_t due);
/* Handled: status done or failed, handled_at now, operator ("" for the
 * automatic call). ENOENT for an unknown id. */
int cbreq_finish(struct store *st, const char *id, const char *status, const char *operator);
/* An operator handled a pending or failed request: done, handled_at now,
 * operator. ENOENT when no such request is pending or failed. */
int cbreq_mark_done(struct store *st, const char *id, const char *operator);
/* Requests left calling by a previous run go back to pending; *n counts
 * them. Attempts left without an outcome end as CBREQ_INTERRUPTED. */
#define CBREQ_INTERRUPTED "INTERRUPTED"
int cbreq_reset_calling(struct store *st, unsigned *n);
/* Someone (operator, an extension) reached number in a call started at
 * `at` (UTC "YYYY-MM-DD HH:MM:SS"): every pending or calling request for it
 * registered at or before then is done, except one whose last automatic
 * attempt is call_id (that call itself; "" = none). h (may be NULL) gets
 * each request so handled. */
int cbreq_called_back(struct store *st, const char *number, const char *at,
		      const char *call_id, const char *operator, cbreq_h *h, void *arg);

/* One request by id into h; ENOENT when there is none. */
int cbreq_get(struct store *st, const char *id, cbreq_h *h, void *arg);

/* One automatic attempt of a request (table callback_attempts). */
struct cbreq_attempt {
	const char *req_id;
	int64_t attempt;          /* 1, 2, ... */
	const char *call_id;      /* its originated call id, "" if it never started */
	const char *agent;        /* the first party called (the target extension) */
	const char *started_at, *ended_at;   /* UTC "YYYY-MM-DD HH:MM:SS", "" */
	const char *outcome;      /* ANSWERED, BUSY, NO ANSWER, FAILED, INTERRUPTED (by a
				   * stop); "" while it runs */
};
typedef int (cbreq_attempt_h)(const struct cbreq_attempt *a, void *arg);

/* Attempt a->attempt of a->req_id started now (a new row; a row of that
 * number left by an earlier run is replaced). */
int cbreq_attempt_start(struct store *st, const struct cbreq_attempt *a);
/* It ended now with outcome; ENOENT for an unknown attempt. */
int cbreq_attempt_end(struct store *st, const char *req_id, int64_t attempt,
		      const char *outcome);
/* A request's attempts, by number. */
int cbreq_attempts(struct store *st, const char *req_id, cbreq_attempt_h *h, void *arg);

struct cbreq_query {
	const char *callback, *caller, *number, *status;  /* NULL or "" = any */
	const char *operator, *target;                    /* NULL or "" = any */
	bool alike;              /* substring match, else equality */
	const char *from, *to;   /* registered_at window, both inclusive; "" = open */
	const char *hfrom, *hto; /* handled_at window, the same way; "" = open */
	bool desc;               /* by registered_at */
	uint32_t start;
	uint32_t count;          /* 0 = no limit */
};
/* The matching rows in order, from start; *total = matches overall. */
int cbreq_search(struct store *st, const struct cbreq_query *q, uint64_t *total,
		 cbreq_h *h, void *arg);

#endif
