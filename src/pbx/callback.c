/* callback: the Callback app and the automatic calls of the callback
 * module. Digit collection is the Read app's, prompts Playback's and the
 * read-back SayDigits' (through the app registry), so a caller hears and
 * times out exactly as with those apps; this file decides what a try means
 * and when a stored request is called back. */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <re.h>
#include "core/log.h"
#include "pbx/app.h"
#include "pbx/callback.h"
#include "pbx/chan.h"
#include "pbx/originate.h"
#include "store/cbreq.h"

enum {
	NUM_MIN = 3, NUM_MAX = 15,   /* digits of a number to call back */
	TRIES = 3,                   /* the first try and two retries */
	READ_TIMEOUT_S = 5,
	DUE_BATCH = 16,              /* requests tried per tick */
};

const char *const callback_prompt_key[CB_PROMPT_COUNT] = {
	"intro", "confirm", "enter", "wrong", "registered",
};

struct cbdef {
	struct le le;
	char name[64], code[32], target[64], context[64];
	bool active, auto_call;
	uint32_t retries, min_wait_s, retry_wait_s;
	char prompt[CB_PROMPT_COUNT][128];
};

/* An automatic call under way, until its first party's CDR. */
struct attempt {
	struct le le;
	char req[32], call_id[48], callback[64], first[80];
	char agent[64], outcome[16];   /* the target called; the first party's disposition */
	uint32_t attempts;
	bool bridged;
};

struct callbacks {
	struct store *st;
	struct list defs;           /* struct cbdef */
	struct list attempts;       /* struct attempt */
	struct tmr tmr;
	uint32_t interval_ms;
	callback_event_h *evh;
	void *evarg;
};

/* The app registry passes no argument: the one module of the process. */
static struct callbacks *cbmod;

/* A request's stored fields, copied so that the event handler may write
 * to the store once the read is over. */
struct evrow {
	char callback[64], caller[80], number[32], target[64], call_id[48], operator[64];
	char registered_at[24], handled_at[24];
	uint32_t attempts;
};

static int evrow_h(const struct cbreq_rec *r, void *arg)
{
	struct evrow *e = arg;

	str_ncpy(e->callback, r->callback, sizeof(e->callback));
	str_ncpy(e->caller, r->caller, sizeof(e->caller));
	str_ncpy(e->number, r->number, sizeof(e->number));
	str_ncpy(e->target, r->target, sizeof(e->target));
	str_ncpy(e->call_id, r->call_id, sizeof(e->call_id));
	str_ncpy(e->operator, r->operator, sizeof(e->operator));
	str_ncpy(e->registered_at, r->registered_at, sizeof(e->registered_at));
	str_ncpy(e->handled_at, r->handled_at, sizeof(e->handled_at));
	e->attempts = (uint32_t)r->attempts;
	return 0;
}

/* Tells the event handler about request id's transition, with the row as
 * stored now; attempt 0 and call_id NULL take the row's. */
static void cb_emit(struct callbacks *cb, enum callback_state state, const char *id,
		    uint32_t attempt, const char *call_id, const char *agent,
		    const char *outcome)
{
	struct evrow e = { .attempts = 0 };
	struct callback_event ev;
	int err;

	if (!cb->evh)
		return;
	err = cbreq_get(cb->st, id, evrow_h, &e);
	if (err) {
		log_warn("callback: no event for the request (id=%s state=%s err=%m)", id,
			 callback_state_name(state), err);
		return;
	}
	ev = (struct callback_event){
		.state = state, .id = id, .callback = e.callback, .caller = e.caller,
		.number = e.number, .target = e.target,
		.attempt = attempt ? attempt : e.attempts,
		.originated_call_id = call_id ? call_id : e.call_id,
		.agent = agent ? agent : "", .outcome = outcome ? outcome : "",
		.operator = e.operator, .registered_at = e.registered_at,
		.handled_at = e.handled_at,
	};
	cb->evh(&ev, cb->evarg);
}

static void callbacks_destructor(void *data)
{
	struct callbacks *cb = data;

	tmr_cancel(&cb->tmr);
	list_flush(&cb->defs);
	list_flush(&cb->attempts);
	if (cbmod == cb)
		cbmod = NULL;
}

static struct cbdef *def_find(struct callbacks *cb, const char *name)
{
	for (struct le *le = list_head(&cb->defs); le; le = le->next) {
		struct cbdef *d = le->data;
		if (!strcmp(d->name, name))
			return d;
	}
	return NULL;
}

static bool digits_only(const char *s)
{
	return s && *s && strspn(s, "0123456789") == strlen(s);
}

static bool number_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return digits_only(s) && n >= NUM_MIN && n <= NUM_MAX;
}

int callback_add(struct callbacks *cb, const struct callback_conf *cf, char *why,
		 size_t whysz)
{
	struct cbdef *d;

	if (!cb || !cf || !str_isset(cf->name) || strlen(cf->name) >= sizeof(d->name)) {
		(void)re_snprintf(why, whysz, "name: bad callback name");
		return EINVAL;
	}
	if (!digits_only(cf->code) || strlen(cf->code) >= sizeof(d->code)) {
		(void)re_snprintf(why, whysz, "code: expected a dial code of digits, got '%s'",
				  cf->code ? cf->code : "");
		return EINVAL;
	}
	if (!str_isset(cf->target) || strlen(cf->target) >= sizeof(d->target) ||
	    (strncmp(cf->target, "queue:", 6) ? !digits_only(cf->target) : !cf->target[6])) {
		(void)re_snprintf(why, whysz, "target: expected an extension or queue:NAME, "
				  "got '%s'", cf->target ? cf->target : "");
		return EINVAL;
	}
	if (cf->retries < 1) {
		(void)re_snprintf(why, whysz, "retries: expected at least 1");
		return EINVAL;
	}
	for (struct le *le = list_head(&cb->defs); le; le = le->next) {
		const struct cbdef *o = le->data;
		if (!strcmp(o->name, cf->name) || !strcmp(o->code, cf->code)) {
			(void)re_snprintf(why, whysz, !strcmp(o->name, cf->name)
					  ? "name: a callback of that name already exists"
					  : "code: %s is already [callback %s]'s", cf->code, o->name);
			return EEXIST;
		}
	}
	d = mem_zalloc(sizeof(*d), NULL);
	if (!d)
		return ENOMEM;
	str_ncpy(d->name, cf->name, sizeof(d->name));
	str_ncpy(d->code, cf->code, sizeof(d->code));
	str_ncpy(d->target, cf->target, sizeof(d->target));
	str_ncpy(d->context, str_isset(cf->context) ? cf->context : "main_routing",
		 sizeof(d->context));
	d->active = cf->active;
	d->auto_call = cf->auto_call;
	d->retries = cf->retries;
	d->min_wait_s = cf->min_wait_s;
	d->retry_wait_s = cf->retry_wait_s;
	for (int i = 0; i < CB_PROMPT_COUNT; i++)
		str_ncpy(d->prompt[i], cf->prompt[i] ? cf->prompt[i] : "", sizeof(d->prompt[i]));
	list_append(&cb->defs, &d->le, d);
	log_info("callback: added (name=%s code=%s target=%s auto_call=%s)", d->name, d->code,
		 d->target, d->auto_call ? "yes" : "no");
	return 0;
}

/* --- the Callback app --------------------------------------------------- */

enum step { ST_INTRO, ST_CONFIRM, ST_SAY, ST_READ, ST_WRONG, ST_REGISTERED };

struct cbop {
	struct callbacks *cb;
	struct chan *ch;             /* reference */
	app_done_h *doneh;
	void *arg;
	struct cbdef *d;             /* reference: callback_remove may unlink it */
	char own[NUM_MAX + 1];       /* the caller's number when valid, else "" */
	char number[NUM_MAX + 1];
	unsigned tries;
	enum step step;
};

static void cbop_destructor(void *data)
{
	struct cbop *op = data;

	mem_deref(op->ch);
	mem_deref(op->d);            /* a callback removed meanwhile goes now */
}

static void cb_finish(struct cbop *op, const char *status, int res)
{
	app_done_h *doneh = op->doneh;
	void *arg = op->arg;

	(void)chan_var_set(op->ch, "CALLBACKSTATUS", status);
	(void)chan_var_set(op->ch, "CALLBACK_NUMBER", !strcmp(status, "REGISTERED")
			   ? op->number : "");
	log_info("callback: done (channel=%s callback=%s status=%s number=%s)",
		 chan_name(op->ch), op->d ? op->d->name : "", status, op->number);
	mem_deref(op);
	doneh(res, arg);
}

static void cb_next(int res, void *arg);

/* Runs app, continuing at cb_next; a prompt that is "" is skipped. */
static void cb_run(struct cbop *op, enum step st, const char *app, const char *data)
{
	op->step = st;
	if (!str_isset(data)) {
		cb_next(APP_OK, op);
		return;
	}
	if (app_exec(op->ch, app, data, cb_next, op)) {
		log_warn("callback: cannot run %s (channel=%s)", app, chan_name(op->ch));
		cb_finish(op, "ERROR", APP_OK);
	}
}

/* Read collects the number; its prompt is the "enter" one. */
static void cb_read(struct cbop *op)
{
	char data[400];

	log_info("callback: asking for the number, try %u of %u (channel=%s callback=%s)",
		 op->tries, (unsigned)TRIES, chan_name(op->ch), op->d->name);
	(void)re_snprintf(data, sizeof(data), "CALLBACK_INPUT,%s,%u,,1,%u",
			  op->d->prompt[CB_PROMPT_ENTER], NUM_MAX + 1, (unsigned)READ_TIMEOUT_S);
	op->step = ST_READ;
	if (app_exec(op->ch, "Read", data, cb_next, op))
		cb_finish(op, "ERROR", APP_OK);
}

static void cb_ask(struct cbop *op)
{
	if (op->tries >= TRIES) {
		cb_finish(op, "INVALID", APP_OK);
		return;
	}
	++op->tries;
	/* The own number is read back once; a retry asks straight for digits
	 * (1 still confirms the own number). */
	if (op->own[0] && op->tries == 1)
		cb_run(op, ST_CONFIRM, "Playback", op->d->prompt[CB_PROMPT_CONFIRM]);
	else
		cb_read(op);
}

static void cb_store(struct cbop *op)
{
	struct cbreq_rec r = {
		.callback = op->d->name, .caller = chan_cid_num(op->ch), .number = op->number,
		.target = op->d->target, .uniqueid = chan_uniqueid(op->ch),
		.due = (int64_t)time(NULL) + op->d->min_wait_s,
	};
	char id[32];
	bool merged = false;
	int err;

	if (!str_isset(r.caller))
		r.caller = op->number;
	err = cbreq_register(op->cb->st, &r, id, sizeof(id), &merged);
	if (err) {
		log_error("callback: request not stored (channel=%s callback=%s number=%s err=%m)",
			  chan_name(op->ch), op->d->name, op->number, err);
		cb_finish(op, "ERROR", APP_OK);
		return;
	}
	log_info("callback: request %s (id=%s callback=%s caller=%s number=%s target=%s)",
		 merged ? "merged" : "registered", id, op->d->name, r.caller, op->number,
		 op->d->target);
	cb_emit(op->cb, CALLBACK_REGISTERED, id, 0, NULL, NULL, NULL);
	cb_run(op, ST_REGISTERED, "Playback", op->d->prompt[CB_PROMPT_REGISTERED]);
}

static void cb_input(struct cbop *op)
{
	const char *rs = chan_var_get(op->ch, "READSTATUS");
	const char *in = chan_var_get(op->ch, "CALLBACK_INPUT");

	if (rs && !strcmp(rs, "HANGUP")) {
		cb_finish(op, "HANGUP", APP_HANGUP);
		return;
	}
	if (!in || !*in) {
		cb_ask(op);              /* nothing entered: ask again */
		return;
	}
	if (op->own[0] && !strcmp(in, "1")) {
		str_ncpy(op->number, op->own, sizeof(op->number));
		cb_store(op);
		return;
	}
	if (number_valid(in)) {
		str_ncpy(op->number, in, sizeof(op->number));
		cb_store(op);
		return;
	}
	log_info("callback: invalid number (channel=%s callback=%s input=%s)",
		 chan_name(op->ch), op->d->name, in);
	if (op->tries >= TRIES) {
		cb_finish(op, "INVALID", APP_OK);
		return;
	}
	cb_run(op, ST_WRONG, "Playback", op->d->prompt[CB_PROMPT_WRONG]);
}

static void cb_next(int res, void *arg)
{
	struct cbop *op = arg;

	if (res != APP_OK || chan_is_hungup(op->ch)) {
		cb_finish(op, "HANGUP", APP_HANGUP);
		return;
	}
	switch (op->step) {
	case ST_INTRO:
	case ST_WRONG:
		cb_ask(op);
		break;
	case ST_CONFIRM:
		cb_run(op, ST_SAY, "SayDigits", op->own);
		break;
	case ST_SAY:
		cb_read(op);
		break;
	case ST_READ:
		cb_input(op);
		break;
	case ST_REGISTERED:
		cb_finish(op, "REGISTERED", APP_OK);
		break;
	}
}

static void answered(int res, void *arg)
{
	struct cbop *op = arg;

	if (res != APP_OK || chan_is_hungup(op->ch)) {
		cb_finish(op, "HANGUP", APP_HANGUP);
		return;
	}
	cb_run(op, ST_INTRO, "Playback", op->d->prompt[CB_PROMPT_INTRO]);
}

static int app_callback(struct chan *ch, const char *data, app_done_h *doneh, void *arg)
{
	struct callbacks *cb = cbmod;
	struct cbdef *d = cb && data ? def_find(cb, data) : NULL;
	const char *cid = chan_cid_num(ch);
	struct cbop *op;

	(void)chan_var_set(ch, "CALLBACK_NUMBER", "");
	if (chan_is_hungup(ch)) {
		(void)chan_var_set(ch, "CALLBACKSTATUS", "HANGUP");
		doneh(APP_HANGUP, arg);
		return 0;
	}
	if (!d || !d->active) {
		log_warn("callback: %s callback '%s' (channel=%s); usage: Callback(name)",
			 d ? "inactive" : "no such", data ? data : "", chan_name(ch));
		(void)chan_var_set(ch, "CALLBACKSTATUS", "ERROR");
		doneh(APP_OK, arg);
		return 0;
	}
	op = mem_zalloc(sizeof(*op), cbop_destructor);
	if (!op)
		return ENOMEM;
	op->cb = cb;
	op->ch = mem_ref(ch);
	op->doneh = doneh;
	op->arg = arg;
	op->d = mem_ref(d);
	if (number_valid(cid))
		str_ncpy(op->own, cid, sizeof(op->own));
	log_info("callback: caller reached the module (channel=%s callback=%s caller=%s)",
		 chan_name(ch), d->name, cid ? cid : "");
	op->step = ST_INTRO;
	if (app_exec(ch, "Answer", "", answered, op)) {
		mem_deref(op);
		return EINVAL;
	}
	return 0;
}

int callback_alloc(struct callbacks **cbp, struct store *st)
{
	struct callbacks *cb;
	int err;

	if (!cbp || !st || cbmod)
		return EINVAL;
	cb = mem_zalloc(sizeof(*cb), callbacks_destructor);
	if (!cb)
		return ENOMEM;
	cb->st = st;
	tmr_init(&cb->tmr);
	err = app_register("Callback", app_callback);
	if (err) {
		mem_deref(cb);
		return err;
	}
	cbmod = cb;
	*cbp = cb;
	return 0;
}

/* --- automatic calls ----------------------------------------------------- */

struct due_row {
	char id[32], callback[64], number[NUM_MAX + 1];
	uint32_t attempts;
};

struct due_set {
	struct due_row row[DUE_BATCH];
	unsigned n;
};

static int due_h(const struct cbreq_rec *r, void *arg)
{
	struct due_set *s = arg;
	struct due_row *d;

	if (s->n >= DUE_BATCH)
		return 0;
	d = &s->row[s->n++];
	str_ncpy(d->id, r->id, sizeof(d->id));
	str_ncpy(d->callback, r->callback, sizeof(d->callback));
	str_ncpy(d->number, r->number, sizeof(d->number));
	d->attempts = (uint32_t)r->attempts;
	return 0;
}

/* An attempt that did not bridge: another later, or failed. */
static void attempt_failed(struct callbacks *cb, const char *req, const char *callback,
			   uint32_t attempts, const char *call_id, const char *agent,
			   const char *outcome)
{
	const struct cbdef *d = def_find(cb, callback);
	uint32_t max = d ? d->retries : 1;
	int err;

	if (attempts < max) {
		err = cbreq_set_pending(cb->st, req, (int64_t)time(NULL) +
					(d ? d->retry_wait_s : 60));
		log_info("callback: attempt %u of %u did not reach the customer, will retry "
			 "(id=%s callback=%s)", attempts, max, req, callback);
	}
	else {
		err = cbreq_finish(cb->st, req, CBREQ_FAILED, "");
		log_info("callback: request failed after %u attempts (id=%s callback=%s)",
			 attempts, req, callback);
	}
	if (err)
		log_error("callback: request not updated (id=%s err=%m)", req, err);
	else
		cb_emit(cb, attempts < max ? CALLBACK_RETRY : CALLBACK_FAILED, req, attempts,
			call_id, agent, outcome);
}

static void try_request(struct callbacks *cb, const struct due_row *r)
{
	const struct cbdef *d = def_find(cb, r->callback);
	struct originate_req rq = { 0 };
	char dev[96], why[160] = "", call_id[48] = "";
	struct attempt *a;
	int err;

	if (!d || !d->active || !d->auto_call)
		return;                  /* waits for an operator */
	if (!strncmp(d->target, "queue:", 6))
		return;                  /* queue targets: operators only, for now */
	(void)re_snprintf(dev, sizeof(dev), "SIP/%s", d->target);
	if (strcmp(chan_device_state(dev), "NOT_INUSE"))
		return;                  /* the target is busy or away: later */
	rq.caller = d->target;
	rq.callee = r->number;
	rq.context = d->context;
	rq.caller_id = r->number;
	err = originate_start(&rq, call_id, sizeof(call_id), why, sizeof(why));
	if (err) {
		log_warn("callback: cannot call back (id=%s callback=%s number=%s: %s%s%m)",
			 r->id, d->name, r->number, why, why[0] ? " " : "", err);
		if (!cbreq_set_calling(cb->st, r->id, "")) {
			cb_emit(cb, CALLBACK_CALLING, r->id, r->attempts + 1, "", d->target, "");
			attempt_failed(cb, r->id, d->name, r->attempts + 1, "", d->target,
				       "FAILED");
		}
		return;
	}
	a = mem_zalloc(sizeof(*a), NULL);
	err = a ? cbreq_set_calling(cb->st, r->id, call_id) : ENOMEM;
	if (err) {
		log_error("callback: attempt not recorded (id=%s call_id=%s err=%m)", r->id,
			  call_id, err);
		mem_deref(a);
		return;
	}
	str_ncpy(a->req, r->id, sizeof(a->req));
	str_ncpy(a->call_id, call_id, sizeof(a->call_id));
	str_ncpy(a->callback, d->name, sizeof(a->callback));
	(void)re_snprintf(a->first, sizeof(a->first), "SIP/%s-", d->target);
	a->attempts = r->attempts + 1;
	str_ncpy(a->agent, d->target, sizeof(a->agent));
	list_append(&cb->attempts, &a->le, a);
	log_info("callback: calling back (id=%s callback=%s target=%s number=%s attempt=%u "
		 "call_id=%s)", r->id, d->name, d->target, r->number, a->attempts, call_id);
	cb_emit(cb, CALLBACK_CALLING, a->req, a->attempts, a->call_id, a->agent, "");
}

static void tick_h(void *arg)
{
	struct callbacks *cb = arg;
	struct due_set *s = mem_zalloc(sizeof(*s), NULL);
	int err;

	tmr_start(&cb->tmr, cb->interval_ms, tick_h, cb);
	if (!s)
		return;
	/* Rows first, calls after: originating writes while the SELECT is open
	 * would be a second statement on the same rows. */
	err = cbreq_due(cb->st, (int64_t)time(NULL), due_h, s);
	if (err)
		log_error("callback: cannot read due requests: %m", err);
	for (unsigned i = 0; !err && i < s->n; i++)
		try_request(cb, &s->row[i]);
	mem_deref(s);
}

int callback_start(struct callbacks *cb, uint32_t interval_ms)
{
	unsigned n = 0;
	int err;

	if (!cb || !interval_ms)
		return EINVAL;
	err = cbreq_reset_calling(cb->st, &n);
	if (err)
		return err;
	if (n)
		log_info("callback: %u requests interrupted by the last stop are pending again",
			 n);
	cb->interval_ms = interval_ms;
	tmr_start(&cb->tmr, interval_ms, tick_h, cb);
	return 0;
}

void callback_cdr(struct callbacks *cb, const struct cdr_rec *rec)
{
	struct attempt *a = NULL;
	int err;

	if (!cb || !rec || !str_isset(rec->originated_call_id))
		return;
	for (struct le *le = list_head(&cb->attempts); le; le = le->next) {
		struct attempt *x = le->data;
		if (!strcmp(x->call_id, rec->originated_call_id)) {
			a = x;
			break;
		}
	}
	if (!a)
		return;
	if (rec->disposition && !strcmp(rec->disposition, "ANSWERED") &&
	    str_isset(rec->dstchannel) && rec->billsec > 0)
		a->bridged = true;
	/* The first party's CDR (or the spool failure's) closes the attempt. */
	if (rec->channel && strncmp(rec->channel, a->first, strlen(a->first)) &&
	    strncmp(rec->channel, "OutgoingSpoolFailed/", 20))
		return;
	str_ncpy(a->outcome, str_isset(rec->disposition) ? rec->disposition : "FAILED",
		 sizeof(a->outcome));
	list_unlink(&a->le);
	if (a->bridged) {
		err = cbreq_finish(cb->st, a->req, CBREQ_DONE, "");
		log_info("callback: customer called back (id=%s callback=%s call_id=%s)", a->req,
			 a->callback, a->call_id);
		if (err)
			log_error("callback: request not updated (id=%s err=%m)", a->req, err);
		else
			cb_emit(cb, CALLBACK_DONE, a->req, a->attempts, a->call_id, a->agent,
				"ANSWERED");
	}
	else {
		/* The first party answered yet was never bridged: the customer's
		 * side failed, whatever that CDR says. */
		attempt_failed(cb, a->req, a->callback, a->attempts, a->call_id, a->agent,
			       strcmp(a->outcome, "ANSWERED") ? a->outcome : "NO ANSWER");
	}
	mem_deref(a);
}

/* --- events and changes from outside (API) ------------------------------- */

void callback_set_event_h(struct callbacks *cb, callback_event_h *h, void *arg)
{
	if (!cb)
		return;
	cb->evh = h;
	cb->evarg = arg;
}

const char *callback_state_name(enum callback_state state)
{
	static const char *const names[] = {
		"registered", "calling", "retry", "done", "failed", "handled",
	};

	return (unsigned)state < ARRAY_SIZE(names) ? names[state] : "";
}

int callback_mark_done(struct callbacks *cb, const char *id, const char *operator)
{
	int err;

	if (!cb || !id)
		return EINVAL;
	err = cbreq_mark_done(cb->st, id, operator);
	if (!err)
		cb_emit(cb, CALLBACK_HANDLED, id, 0, NULL, NULL, NULL);
	return err;
}

int callback_foreach(struct callbacks *cb, callback_conf_h *h, void *arg)
{
	if (!cb || !h)
		return EINVAL;
	for (struct le *le = list_head(&cb->defs); le; le = le->next) {
		const struct cbdef *d = le->data;
		struct callback_conf cf = {
			.name = d->name, .code = d->code, .target = d->target,
			.context = d->context, .active = d->active, .auto_call = d->auto_call,
			.retries = d->retries, .min_wait_s = d->min_wait_s,
			.retry_wait_s = d->retry_wait_s,
		};
		int err;

		for (int i = 0; i < CB_PROMPT_COUNT; i++)
			cf.prompt[i] = d->prompt[i];
		err = h(&cf, arg);
		if (err)
			return err;
	}
	return 0;
}

int callback_update(struct callbacks *cb, const struct callback_conf *cf, char *why,
		    size_t whysz)
{
	struct cbdef *old = cb && cf && cf->name ? def_find(cb, cf->name) : NULL;
	struct le *next;
	int err;

	if (!old) {
		(void)re_snprintf(why, whysz, "name: no callback '%s'", cf && cf->name ? cf->name
				  : "");
		return ENOENT;
	}
	/* callback_add checks and builds the new definition as for a new
	 * callback, the old one out of the way; a refusal puts it back. A
	 * caller inside the old one keeps it (its reference) to the end. */
	next = old->le.next;
	list_unlink(&old->le);
	err = callback_add(cb, cf, why, whysz);
	if (err) {
		if (next)
			list_insert_before(&cb->defs, next, &old->le, old);
		else
			list_append(&cb->defs, &old->le, old);
		return err;
	}
	mem_deref(old);
	log_info("callback: updated (name=%s)", cf->name);
	return 0;
}

int callback_remove(struct callbacks *cb, const char *name)
{
	struct cbdef *d = cb && name ? def_find(cb, name) : NULL;

	if (!d)
		return ENOENT;
	list_unlink(&d->le);
	mem_deref(d);
	log_info("callback: removed (name=%s)", name);
	return 0;
}
