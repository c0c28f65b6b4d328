/* chan: one call leg (Asterisk's channel): id, name, variables with `_`/`__`
 * inheritance, state, hangup cause, CDR fields and a technology vtable.
 * Not for SIP or media details; those live behind struct chan_tech. */
#ifndef TAMAS_CHAN_H
#define TAMAS_CHAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <re.h>

struct chan;
struct mstream;

enum chan_state { CHAN_STATE_DOWN = 0, CHAN_STATE_RINGING, CHAN_STATE_UP };

/* Q.850 causes used in code (asterisk-semantics.md §3.1). */
enum {
	CAUSE_UNALLOCATED = 1, CAUSE_NO_ROUTE_DESTINATION = 3, CAUSE_NORMAL_CLEARING = 16,
	CAUSE_USER_BUSY = 17, CAUSE_NO_USER_RESPONSE = 18, CAUSE_NO_ANSWER = 19,
	CAUSE_SUBSCRIBER_ABSENT = 20, CAUSE_CALL_REJECTED = 21, CAUSE_ANSWERED_ELSEWHERE = 26,
	CAUSE_NORMAL_CIRCUIT_CONGESTION = 34, CAUSE_NETWORK_OUT_OF_ORDER = 38,
	CAUSE_NORMAL_TEMPORARY_FAILURE = 41, CAUSE_REQUESTED_CHAN_UNAVAIL = 44,
	CAUSE_BEARERCAPABILITY_NOTAVAIL = 58, CAUSE_CHAN_NOT_IMPLEMENTED = 66, CAUSE_INTERWORKING = 127,
};

/* What a technology does for the PBX. Every hook may be NULL. */
struct chan_tech {
	const char *name;                        /* "SIP", "Test" */
	int  (*answer)(struct chan *ch);         /* send 200 OK / go up */
	int  (*indicate)(struct chan *ch, uint16_t scode); /* 180, 183 */
	/* Release the leg: BYE, CANCEL or a final error response from cause. */
	void (*hangup)(struct chan *ch, int cause);
	/* Connect the media of two channels (NULL peer: disconnect). */
	int  (*bridge)(struct chan *ch, struct chan *peer);
	/* The channel's media stream (players, recorders, DTMF), or NULL. */
	struct mstream *(*media)(const struct chan *ch);
	/* Send one DTMF digit the way this endpoint wants it (RFC 4733, INFO). */
	int  (*send_dtmf)(struct chan *ch, char digit, uint32_t duration_ms);
	/* Whether RFC 4733 packets relayed by RTP reach this endpoint as DTMF
	 * (it negotiated telephone-event and its dtmfmode is not info/inband). */
	bool (*takes_rfc4733)(const struct chan *ch);
	/* Tell the phone who it now talks to (connected line, RFC 4916 style
	 * UPDATE with P-Asserted-Identity). */
	int  (*connected_line)(struct chan *ch, const char *num, const char *name);
	/* Tell the phone its call is being forwarded (REDIRECTING(): SIP 181
	 * with Diversion while it has not answered). */
	int  (*redirecting)(struct chan *ch, const char *from, const char *to,
			    const char *reason);
};

/* How a received digit arrived: RFC 4733 packets are relayed to a bridged
 * peer with telephone-event by the RTP relay itself; INFO never is. */
enum dtmf_src { DTMF_SRC_RFC4733, DTMF_SRC_INFO, DTMF_SRC_INBAND };

/* CHAN_EV_REDIRECT: the channel was sent to another dialplan location
 * (ChannelRedirect, a transfer); whoever holds it in an app lets it go.
 * CHAN_EV_TAKEN: an attended transfer takes it over; its owner lets it go
 * without hanging it up. CHAN_EV_REPLACED: it is being replaced in its
 * call by chan_replacement() (the owner keeps the call with that one). */
enum chan_event { CHAN_EV_RINGING, CHAN_EV_PROGRESS, CHAN_EV_ANSWER, CHAN_EV_HANGUP,
		  CHAN_EV_REDIRECT, CHAN_EV_TAKEN, CHAN_EV_REPLACED, CHAN_EV_REDIRECTING };
typedef void (chan_event_h)(struct chan *ch, enum chan_event ev, void *arg);
struct chan_watch { struct le le; chan_event_h *h; void *arg; };

/* CDR sink: called once per posted CDR when a channel that owns one ends. */
struct cdr_rec {
	uint64_t start_us, answer_us, end_us;       /* unix time in µs; 0 = none */
	const char *clid, *src, *dst, *dcontext, *channel, *dstchannel;
	const char *lastapp, *lastdata, *disposition, *uniqueid, *linkedid, *userfield;
	const char *accountcode;
	const char *recordingfile;                  /* MixMonitor's file */
	const char *originated_call_id;             /* call/originate/act's id */
	int64_t duration, billsec;
};
typedef void (chan_cdr_h)(const struct cdr_rec *rec, void *arg);

/* Module set-up: CDR sink and the id prefix. Call once before chan_alloc. */
void chan_init(chan_cdr_h *cdrh, void *arg);
void chan_close(void);

/* New channel named "<tech>/<resource>-<8 hex>". parent (may be NULL) gives
 * linkedid and inherited `_`/`__` variables. Starts DOWN, owns a reference. */
int chan_alloc(struct chan **chp, const struct chan_tech *tech, void *pvt,
	       const char *resource, const struct chan *parent);
void *chan_pvt(const struct chan *ch);
void chan_set_pvt(struct chan *ch, void *pvt);
const struct chan_tech *chan_tech(const struct chan *ch);

const char *chan_name(const struct chan *ch);
const char *chan_uniqueid(const struct chan *ch);
const char *chan_linkedid(const struct chan *ch);
enum chan_state chan_state(const struct chan *ch);
const char *chan_state_name(enum chan_state st);
bool chan_is_hungup(const struct chan *ch);
int chan_cause(const struct chan *ch);
void chan_set_cause(struct chan *ch, int cause);
uint64_t chan_created_us(const struct chan *ch);

/* Dialplan location. */
const char *chan_context(const struct chan *ch);
const char *chan_exten(const struct chan *ch);
int chan_set_location(struct chan *ch, const char *context, const char *exten);

/* Caller ID. */
const char *chan_cid_num(const struct chan *ch);
const char *chan_cid_name(const struct chan *ch);
int chan_set_cid(struct chan *ch, const char *num, const char *name);

/* Variables: get ignores leading underscores of stored names and falls back
 * to built-ins (EXTEN, CONTEXT, CHANNEL, UNIQUEID, HANGUPCAUSE, ...).
 * Set with value NULL unsets. Names are case-sensitive. */
const char *chan_var_get(struct chan *ch, const char *name);
int chan_var_set(struct chan *ch, const char *name, const char *value);
/* Dialplan functions and substrings: "CALLERID(num)", "EXTEN:1", "CDR(userfield)".
 * Read returns ENOENT for unknown functions. */
int chan_expr_read(struct chan *ch, const char *expr, char *buf, size_t sz);
int chan_expr_write(struct chan *ch, const char *expr, const char *value);
/* Visit all variables (for tamasctl / API). */
typedef void (chan_var_h)(const char *name, const char *value, void *arg);
void chan_var_apply(const struct chan *ch, chan_var_h *h, void *arg);

/* Telephony actions (go through the tech). */
int chan_answer(struct chan *ch);
int chan_indicate(struct chan *ch, uint16_t scode);
/* Local hangup: tells the tech once, records cause, notifies watchers. */
void chan_hangup(struct chan *ch, int cause);
int chan_bridge(struct chan *a, struct chan *b);
void chan_unbridge(struct chan *a);
struct chan *chan_bridged_peer(const struct chan *ch);

/* Media and DTMF. A channel's DTMF consumer (Read, Background, features)
 * gets every digit and RFC 4733 packets stop flowing to the peer; without
 * one, digits reach the bridged peer by the peer's own DTMF mode. */
struct mstream *chan_media(const struct chan *ch);
typedef void (chan_dtmf_h)(struct chan *ch, char digit, void *arg);
void chan_set_dtmf_handler(struct chan *ch, chan_dtmf_h *h, void *arg);
void chan_dtmf_received(struct chan *ch, char digit, enum dtmf_src src);
int chan_send_dtmf(struct chan *ch, char digit, uint32_t duration_ms);
/* A phone put its call on hold (re-INVITE sendonly/inactive) or resumed
 * it; the hook (music on hold, one per process) acts on the bridged peer. */
typedef void (chan_hold_h)(struct chan *ch, bool held);
void chan_set_hold_hook(chan_hold_h *h);
void chan_hold(struct chan *ch, bool held);
bool chan_is_held(const struct chan *ch);
/* A background sound the channel owns (music on hold, PlayTones): a mem
 * object, referenced here and released when replaced, at hangup or with
 * the channel. Foreground prompts pause it and start it again. */
void chan_set_generator(struct chan *ch, void *gen);
void *chan_generator(const struct chan *ch);

/* Called by a tech on remote events (180, 183, 200, BYE/CANCEL/error). */
void chan_signal(struct chan *ch, enum chan_event ev);

/* Redirecting (asterisk-semantics.md §4.4). A technology reports that the
 * party on ch diverted the call (Diversion header): from is the number
 * that diverted, to where it went, reason Diversion's reason (may be
 * NULL). Sets ch's REDIRECTING() and tells its owner (CHAN_EV_REDIRECTING). */
void chan_redirecting_signal(struct chan *ch, const char *from, const char *to,
			     const char *reason);
/* The owner of a diverted callee passes it on to the calling channel to:
 * REDIRECTING() copied (count + 1), then REDIRECTING_SEND_SUB (or
 * REDIRECTING_CALLER_SEND_SUB) runs through the redirecting hook, which
 * then calls chan_redirecting_send(); without a routine it is sent at once. */
void chan_redirecting_pass(struct chan *to, struct chan *from);
/* Sends to's REDIRECTING() to its phone. */
void chan_redirecting_send(struct chan *ch);
typedef void (chan_rd_sub_h)(struct chan *ch, const char *location, void *arg);
void chan_set_redirecting_sub_hook(chan_rd_sub_h *h, void *arg);
void chan_remote_hangup(struct chan *ch, int cause);

void chan_watch_add(struct chan *ch, struct chan_watch *w, chan_event_h *h, void *arg);
void chan_watch_remove(struct chan_watch *w);

/* CDR accounting on this channel (the Party A record). */
void chan_cdr_set_app(struct chan *ch, const char *app, const char *data);
void chan_cdr_set_peer(struct chan *ch, const char *dstchannel);
void chan_cdr_set_disposition(struct chan *ch, const char *disposition);
void chan_cdr_disable(struct chan *ch);

/* Registry: lookup by name or uniqueid; iterate for tamasctl. */
struct chan *chan_find(const char *name_or_id);
typedef bool (chan_apply_h)(struct chan *ch, void *arg);
struct chan *chan_apply(chan_apply_h *h, void *arg);
uint32_t chan_count(void);

/* Q.850 cause from a number or a name ("17", "USER_BUSY", "BUSY");
 * -1 when unknown (Hangup(), Dial Q()). */
int chan_cause_parse(const char *s);

/* Bumped by every chan_set_location, so a Goto to the current place is
 * still seen as a jump (pbx_lua compares priority too). */
uint32_t chan_location_seq(const struct chan *ch);

/* While held (the dialplan runs `h`), a hangup records the end but the CDR is
 * posted only on release, so CDR(userfield) set in `h` is kept. */
void chan_cdr_hold(struct chan *ch, bool hold);

/* Hangup handlers (CHANNEL(hangup_handler_push/pop/wipe)): a LIFO stack of
 * "ctx,exten,pri(args)" locations. claim marks them taken (once per
 * channel, false when there are none); pop returns the top (mem string,
 * NULL when empty). The hook runs them for channels with no dialplan. */
bool chan_hangup_handlers_claim(struct chan *ch);
char *chan_hangup_handler_pop(struct chan *ch);
typedef void (chan_end_hook_h)(struct chan *ch, void *arg);
void chan_set_hangup_hook(chan_end_hook_h *h, void *arg);

/* Sends ch to ctx/exten (priority 1): with a dialplan running, its current
 * app is told (CHAN_EV_REDIRECT) and the dialplan jumps; without one, the
 * redirect hook starts one there. */
int chan_redirect(struct chan *ch, const char *ctx, const char *exten);
/* Tells ch's owner to let it go (CHAN_EV_TAKEN). */
void chan_take(struct chan *ch);
/* Tells old's owner that by takes its place (CHAN_EV_REPLACED); returns
 * whether an owner adopted it (then by is bridged to old's peer). */
bool chan_replace(struct chan *old, struct chan *by);
struct chan *chan_replacement(const struct chan *ch);
/* An owner (Dial) adopting a replacement says so. */
void chan_replace_adopted(struct chan *old);
/* Set by Dial on the callee it bridged: its caller's Dial owns the call
 * (and can adopt a replacement for it). */
void chan_set_dial_callee(struct chan *ch, bool on);
bool chan_is_dial_callee(const struct chan *ch);

/* Connected line (asterisk-semantics.md §4.3): when a bridge gives a
 * channel a different party (a transfer), CONNECTEDLINE() is set to that
 * party; CONNECTED_LINE_SEND_SUB on the channel runs first (the hook runs
 * it and then calls chan_connected_send). */
typedef void (chan_cl_sub_h)(struct chan *ch, const char *location, void *arg);
void chan_set_connected_sub_hook(chan_cl_sub_h *h, void *arg);
void chan_connected_send(struct chan *ch);
void chan_set_redirect_hook(chan_end_hook_h *h, void *arg);

/* DEVICE_STATE(SIP/1003): the daemon tells whether an endpoint is
 * registered; chan adds whether a channel of it exists. */
typedef bool (chan_reachable_h)(const char *tech, const char *resource, void *arg);
void chan_set_reachable_h(chan_reachable_h *h, void *arg);
/* The DEVICE_STATE of "TECH/resource": UNAVAILABLE, INUSE, NOT_INUSE or
 * INVALID (no tech). */
const char *chan_device_state(const char *dev);
/* A routine argument of Dial/Queue options (B, b, U): "pri", "exten^pri" or
 * "ctx^exten^pri" (',' or '^', "(args)" kept) with the missing parts taken
 * from ch's current place (asterisk-semantics.md §4.1). */
void chan_routine_complete(const struct chan *ch, const char *arg, char *out, size_t sz);
/* Seconds since the last SIP/PJSIP channel of dev's resource ended (0 while
 * one is live, UINT32_MAX when none has since the start): how long a phone
 * has been free, for grace periods (the callback module's min_wait). */
uint32_t chan_device_idle_s(const char *dev);

/* Dialplan globals ([globals], GLOBAL()); value NULL unsets. */
int chan_global_set(const char *name, const char *value);
const char *chan_global_get(const char *name);

/* AstDB for DB(family/key) and DB_DELETE(family/key); the daemon wires these
 * to store_kv_*. get returns ENOENT when the key is missing. */
typedef int (chan_db_get_h)(const char *family, const char *key, char *buf, size_t sz,
			    void *arg);
typedef int (chan_db_put_h)(const char *family, const char *key, const char *value,
			    void *arg);
typedef int (chan_db_del_h)(const char *family, const char *key, void *arg);
void chan_set_db(chan_db_get_h *geth, chan_db_put_h *puth, chan_db_del_h *delh, void *arg);

/* Slot for the dialplan engine's per-channel state (owned by dialplan). */
void *chan_dialplan_state(const struct chan *ch);
void chan_set_dialplan_state(struct chan *ch, void *st);

#endif
