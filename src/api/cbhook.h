/* cbhook: the callback module's CallbackRequest webhook, one event per
 * transition of a request (callback_event: registered, calling, retry,
 * done, failed, handled), ordered per request. Sent when [webhook] events
 * has CallbackRequest (or all). Fields: state, request_id, callback,
 * caller, number, target, attempt, originated_call_id, agent, outcome,
 * operator, registered_at, handled_at ("" until handled) and time (now),
 * the times in the webhooks' format. Not for the attempts table (tamasd
 * writes it through store/cbreq). */
#ifndef TAMAS_API_CBHOOK_H
#define TAMAS_API_CBHOOK_H

struct webhook;
struct callback_event;

/* Queues ev's event on wh (NULL or not wanting it: nothing). */
void cbhook_emit(struct webhook *wh, const struct callback_event *ev);

#endif
