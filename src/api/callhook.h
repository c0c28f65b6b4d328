/* callhook: the call events of Simotel's webhooks, built from what the PBX
 * already has: the Cdr event of every CDR row (queued in the row's own
 * transaction), IncomingCall / OutgoingCall for legs on a trunk, NewState
 * for extensions as their legs ring, answer and end. Not the sender
 * (api/webhook) and nothing telephony depends on it. */
#ifndef TAMAS_CALLHOOK_H
#define TAMAS_CALLHOOK_H

#include <stdbool.h>
#include <stddef.h>

struct callhook;
struct webhook;
struct chan;
struct cdr_rec;

/* Whether name is a trunk rather than a user (the daemon asks SIP). */
typedef bool (callhook_trunk_h)(const char *name, void *arg);

/* wh may be NULL or disabled: then every call here does nothing. */
int callhook_alloc(struct callhook **chp, struct webhook *wh, callhook_trunk_h *trunkh,
		   void *arg);

/* Where the Cdr event finds a call's survey score (poll_point,
 * poll_lable); NULL: never. */
struct store;
void callhook_set_store(struct callhook *ch, struct store *st);

/* A cdrq_written_h (arg: the callhook): queues rec's Cdr event. Runs inside
 * cdrq's transaction; returns only the store's errors. */
int callhook_cdr_written(const struct cdr_rec *rec, void *arg);

/* A new channel: inbound (a phone or trunk called us) or outbound (a leg
 * Dial created). Emits IncomingCall/OutgoingCall for trunk legs and follows
 * extension legs for NewState until they hang up. */
void callhook_chan_new(struct callhook *ch, struct chan *chan, bool outbound);

/* Simotel's Cdr "type" and trunk names of a CDR, from its channel names:
 * incoming (channel on a trunk), outgoing (dstchannel on a trunk), feature
 * (dst starts with '*') or local. entry/outgoing get "" when not on a trunk. */
const char *callhook_cdr_type(const struct callhook *ch, const struct cdr_rec *rec,
			      char *entry, size_t entrysz, char *outgoing, size_t outsz);

/* A transfer_done_h (arg: the callhook): the Transfer event. */
void callhook_transfer(struct chan *transferer, struct chan *moved, const char *to_exten,
		       struct chan *to_chan, void *arg);
/* A trunk_state_h (arg: the callhook): the TrunkNewState event. */
void callhook_trunk_state(const char *name, const char *state, void *arg);

/* A routes_pbx_event_h (arg: the callhook): Ping, ExtenAdded and
 * ExtenRemoved as webhook events; also a routes_trunks_event_h (TrunkAdded,
 * TrunkRemoved: data are the event's fields). */
struct json_t;
void callhook_pbx_event(const char *event, struct json_t *data, void *arg);

#endif
