/* queuerep: read-only reports over queue_log (spec §2.11): one row per
 * queue call (reports/queue/search: ENTERQUEUE through its terminal event)
 * one row per agent attempt (reports/queue_details: RINGNOANSWER or
 * CONNECT) and one row per agent session (reports/agent/search: logged in from
 * ADDMEMBER to REMOVEMEMBER, paused from PAUSE to UNPAUSE). Rows are
 * derived when asked; queue_log stays the only record. Every value reaches
 * SQL as a bound parameter; sort columns come from fixed lists. */
#ifndef TAMAS_STORE_QUEUEREP_H
#define TAMAS_STORE_QUEUEREP_H

#include <stdbool.h>
#include <stdint.h>

struct store;

/* One queue call. Strings are never NULL and valid during the callback;
 * times are UTC "YYYY-MM-DD HH:MM:SS". */
struct queuerep_call {
	int64_t id;                 /* the terminal event's row */
	const char *start, *end, *answered;   /* answered "" when nobody answered */
	const char *callid, *queue, *src;
	const char *agent;          /* member interface that answered, or the last
				     * one that did not; "" when none rang */
	const char *event;          /* COMPLETEAGENT, COMPLETECALLER, ABANDON,
				     * EXITWITHTIMEOUT, EXITEMPTY, EXITWITHKEY */
	int64_t wait, talk, ring, duration;   /* seconds */
};
typedef int (queuerep_call_h)(const struct queuerep_call *c, void *arg);

enum queuerep_sort {
	QUEUEREP_SORT_START,        /* the default */
	QUEUEREP_SORT_END,
	QUEUEREP_SORT_WAIT,
	QUEUEREP_SORT_TALK,
	QUEUEREP_SORT_DURATION,
	QUEUEREP_SORT_SRC,
	QUEUEREP_SORT_AGENT,
	QUEUEREP_SORT_QUEUE,
	QUEUEREP_SORT_ID,
};

/* NULL or "" members do not filter. */
struct queuerep_query {
	const char *from, *to;      /* start within [from, to] (sessions: overlapping) */
	const char *src;            /* caller number */
	const char *agent;          /* the member's extension (interface without TECH/) */
	const char *queue;          /* exact */
	const char *callid;         /* exact */
	bool answered_only, missed_only;
	const char *type;           /* sessions: "inout" or "pause" */
	bool alike;                 /* src/agent as substrings */
	int64_t after;              /* calls and attempts: only rows with id > after
				     * (cursor paging); 0 = all */
	enum queuerep_sort sort;
	bool desc;
	uint32_t start, count;      /* count 0 = no limit */
};
int queuerep_calls(struct store *st, const struct queuerep_query *q, uint64_t *total,
		   queuerep_call_h *h, void *arg);

/* One agent attempt: a member rung for a queue call. Strings as above. */
struct queuerep_attempt {
	int64_t id;                 /* its queue_log row */
	const char *start;          /* when the member began to ring */
	const char *last_try;       /* the row's time: answer or give-up */
	const char *callid, *queue, *src;
	const char *agent;          /* member interface */
	const char *event;          /* "CONNECT" (answered) or "RINGNOANSWER" */
	int64_t ring;               /* seconds the member rang */
	int64_t wait;               /* the caller's wait so far, s */
	int64_t talk;               /* CONNECT: talk time once completed, else 0 */
	const char *member_uid;     /* CONNECT: the member leg's uniqueid, else "" */
	int64_t tries;              /* this member's attempts for this caller so far */
};
typedef int (queuerep_attempt_h)(const struct queuerep_attempt *a, void *arg);
/* Same query as queuerep_calls (answered_only: CONNECT rows, missed_only:
 * the others; SORT_END is the attempt's end, SORT_TALK the talk time). */
int queuerep_attempts(struct store *st, const struct queuerep_query *q, uint64_t *total,
		      queuerep_attempt_h *h, void *arg);

/* One agent session; end "" while it lasts (duration up to now). */
struct queuerep_session {
	int64_t id;                 /* the opening event's row */
	const char *type;           /* "inout" or "pause" */
	const char *queue, *agent, *exten, *reason;
	const char *start, *end;
	int64_t duration;
};
typedef int (queuerep_session_h)(const struct queuerep_session *s, void *arg);
/* Sorts: START, END (the default for the API), DURATION, AGENT, QUEUE, ID. */
int queuerep_sessions(struct store *st, const struct queuerep_query *q, uint64_t *total,
		      queuerep_session_h *h, void *arg);

#endif
