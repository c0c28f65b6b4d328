/* queuehook: Simotel's CdrQueue webhook (simotel-webhooks.md §2.2), one
 * event per queue call when it leaves the queue, built from the queue's
 * queue_log events: ENTERQUEUE opens a call, RINGNOANSWER and CONNECT add
 * agent attempts, and COMPLETEAGENT, COMPLETECALLER, ABANDON,
 * EXITWITHTIMEOUT, EXITEMPTY or EXITWITHKEY end it and send the event.
 * Queues that refuse a caller (FULL, JOINEMPTY) log no queue_log row; the
 * call is sent as MISSED with that queue_status through queuehook_refused.
 * Not for the queue_log table (store/queuelog) or reports. */
#ifndef TAMAS_API_QUEUEHOOK_H
#define TAMAS_API_QUEUEHOOK_H

struct queuehook;
struct webhook;

/* wh may be NULL or not want CdrQueue: events are then not tracked. */
int queuehook_alloc(struct queuehook **qhp, struct webhook *wh);

/* One queue_log event, as queue_log_h gives it (pbx/queue.h); call it
 * while the caller's channel still exists (the queue does), so that its
 * ORIGINATED_CALL_ID can be read. */
void queuehook_event(struct queuehook *qh, const char *callid, const char *queue,
		     const char *agent, const char *event, const char *const data[5]);

/* A caller refused at the door: CdrQueue with disposition MISSED,
 * queue_status status ("FULL", "JOINEMPTY"), wait and times 0, no agent. */
void queuehook_refused(struct queuehook *qh, const char *callid, const char *queue,
		       const char *src, const char *status);

/* The Simotel values of a queue call's end (shared with the queue report):
 * queue_status ("CONTINUE", "TIMEOUT", "ABANDON", "LEAVEEMPTY",
 * "EXITWITHKEY"), who hung up ("caller", "agent" or "" when the queue
 * ended it) and disposition ("ANSWERED" or "MISSED"). */
const char *queuehook_status(const char *event);
const char *queuehook_hangup(const char *event);
const char *queuehook_disposition(const char *event);

#endif
