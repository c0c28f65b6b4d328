/* callback: the Callback app and the automatic calls of the callback
 * module. Digit collection is the Read app's, prompts Playback's and the
 * read-back SayDigits' (through the app registry), so a caller hears and
 * times out exactly as with those apps; a tts: prompt is rendered by
 * media/tts into a file those apps play. This file decides what a try means,
 * when a stored request is called back and to whom, and when an agent's
 * own call handled it. */
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <re.h>
#include "core/log.h"
#include "pbx/app.h"
#include "pbx/callback.h"
#include "pbx/chan.h"
#include "media/tts.h"
#include "pbx/originate.h"
#include "pbx/queue.h"
#include "store/cbreq.h"

enum {
	NUM_MIN = 3, NUM_MAX = 15,   /* digits of a number to call back */
	TRIES = 3,                   /* the first try and two retries */
	CHECKS = 2,                  /* the check prompt and one repeat */
	READ_TIMEOUT_S = 5,
	DUE_BATCH = 16,              /* requests tried per tick */
	TARGETS_MAX = 8,             /* entries of a target list */
	TARGET_SZ = 64,              /* one entry, "queue:NAME" */
	TARGETS_SZ = TARGETS_MAX * TARGET_SZ,
};

const char *const callback_prompt_key[CB_PROMPT_COUNT] = {
	"intro", "enter", "wrong", "entered", "is", "check", "before", "after",
};

struct cbdef {
	struct le le;
	char name[64], code[32], target[TARGETS_SZ], context[64];
	char next[160], error[160];   /* destinations (pbx/dest) */
	bool active, auto_call;
	uint32_t retries, min_wait_s, retry_wait_s;
	char prompt[CB_PROMPT_COUNT][260];
	struct tts_req *warm[CB_PROMPT_COUNT];   /* tts: prompts rendered ahead */
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
	struct tts *tts;            /* tts: prompts; NULL: they are skipped */
	char tts_lang[16];          /* when the channel has no CHANNEL_LANGUAGE */
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

/* The text of a tts:TEXT prompt, else NULL. */
static const char *tts_text(const char *prompt)
{
	return !strncasecmp(prompt, "tts:", 4) ? prompt + 4 : NULL;
}

static void cbdef_destructor(void *data)
{
	struct cbdef *d = data;

	for (int i = 0; i < CB_PROMPT_COUNT; i++)
		mem_deref(d->warm[i]);
}

static void warm_done(int err, const char *path, void *arg)
{
	struct tts_req **slot = arg;

	(void)path;
	*slot = mem_deref(*slot);
	if (err)
		log_warn("callback: a tts: prompt cannot be spoken: %m", err);
}

/* tts: prompts are rendered now in the default language, so the first
 * caller does not wait for them (nor type over the silence). */
static void cbdef_warm(struct callbacks *cb, struct cbdef *d)
{
	for (int i = 0; i < CB_PROMPT_COUNT && cb->tts; i++) {
		const char *text = tts_text(d->prompt[i]);

		if (text && tts_render(&d->warm[i], cb->tts, text, cb->tts_lang, warm_done,
				       &d->warm[i]))
			log_warn("callback: %s prompt of [callback %s] cannot be spoken",
				 callback_prompt_key[i], d->name);
	}
}

/* One target: an extension of digits or queue:NAME of an existing queue. */
static int target_check(const char *t, char *why, size_t whysz)
{
	if (strlen(t) >= TARGET_SZ ||
	    (strncmp(t, "queue:", 6) ? !digits_only(t) : !t[6])) {
		(void)re_snprintf(why, whysz, "target: expected extensions or queue:NAME "
				  "separated by commas, got '%s'", t);
		return EINVAL;
	}
	if (!strncmp(t, "queue:", 6) && !queue_exists(t + 6)) {
		(void)re_snprintf(why, whysz, "target: no queue '%s'", t + 6);
		return EINVAL;
	}
	return 0;
}

/* "1002, 1003 ,queue:support" into "1002,1003,queue:support" (1..8). */
static int targets_parse(const char *in, char *out, size_t sz, char *why, size_t whysz)
{
	char buf[TARGETS_SZ], *save = NULL;
	unsigned n = 0;
	size_t o = 0;

	if (!str_isset(in) || strlen(in) >= sizeof(buf) || *in == ',' ||
	    in[strlen(in) - 1] == ',') {
		(void)re_snprintf(why, whysz, "target: expected 1..%u extensions or queue:NAME "
				  "separated by commas, got '%s'", (unsigned)TARGETS_MAX,
				  in ? in : "");
		return EINVAL;
	}
	str_ncpy(buf, in, sizeof(buf));
	out[0] = '\0';
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		size_t len;

		t += strspn(t, " \t");
		for (len = strlen(t); len && strchr(" \t", t[len - 1]); len--)
			t[len - 1] = '\0';
		if (++n > TARGETS_MAX) {
			(void)re_snprintf(why, whysz, "target: more than %u entries",
					  (unsigned)TARGETS_MAX);
			return EINVAL;
		}
		if (target_check(t, why, whysz))
			return EINVAL;
		o += (size_t)re_snprintf(out + o, sz - o, "%s%s", o ? "," : "", t);
	}
	if (!n || strstr(in, ",,")) {
		(void)re_snprintf(why, whysz, "target: an empty entry in '%s'", in);
		return EINVAL;
	}
	return 0;
}

int callback_add(struct callbacks *cb, const struct callback_conf *cf, char *why,
		 size_t whysz)
{
	char targets[TARGETS_SZ];
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
	if (targets_parse(cf->target, targets, sizeof(targets), why, whysz))
		return EINVAL;
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
	d = mem_zalloc(sizeof(*d), cbdef_destructor);
	if (!d)
		return ENOMEM;
	str_ncpy(d->name, cf->name, sizeof(d->name));
	str_ncpy(d->code, cf->code, sizeof(d->code));
	str_ncpy(d->target, targets, sizeof(d->target));
	str_ncpy(d->context, str_isset(cf->context) ? cf->context : "main_routing",
		 sizeof(d->context));
	str_ncpy(d->next, str_isset(cf->next) ? cf->next : "hangup", sizeof(d->next));
	str_ncpy(d->error, str_isset(cf->error) ? cf->error : "hangup", sizeof(d->error));
	d->active = cf->active;
	d->auto_call = cf->auto_call;
	d->retries = cf->retries;
	d->min_wait_s = cf->min_wait_s;
	d->retry_wait_s = cf->retry_wait_s;
	for (int i = 0; i < CB_PROMPT_COUNT; i++)
		str_ncpy(d->prompt[i], cf->prompt[i] ? cf->prompt[i] : "", sizeof(d->prompt[i]));
	list_append(&cb->defs, &d->le, d);
	cbdef_warm(cb, d);
	log_info("callback: added (name=%s code=%s target=%s auto_call=%s)", d->name, d->code,
		 d->target, d->auto_call ? "yes" : "no");
	return 0;
}

int callback_lookup(const struct callbacks *cb, const char *key, bool by_code,
		    const char **name, const char **next, const char **error)
{
	for (struct le *le = cb && key ? list_head(&cb->defs) : NULL; le; le = le->next) {
		const struct cbdef *d = le->data;
		if (strcmp(by_code ? d->code : d->name, key))
			continue;
		*name = d->name;
		*next = d->next;
		*error = d->error;
		return 0;
	}
	return ENOENT;
}

/* --- the Callback app --------------------------------------------------- */

/* Where cb_next goes once the app just run is done. */
enum step {
	ST_INTRO, ST_READ, ST_WRONG, ST_ENTERED, ST_SAY, ST_IS, ST_CHECK, ST_BEFORE,
	ST_AFTER,
};

struct cbop {
	struct callbacks *cb;
	struct chan *ch;             /* reference */
	app_done_h *doneh;
	void *arg;
	struct cbdef *d;             /* reference: callback_remove may unlink it */
	char own[NUM_MAX + 1];       /* the caller's number when valid, else "" */
	char number[NUM_MAX + 1];
	unsigned tries;              /* numbers asked for */
	unsigned checks;             /* check prompts for the current number */
	enum step step;
	struct tts_req *req;         /* a tts: prompt being rendered */
	struct {                     /* what runs once it is */
		enum step st;
		enum callback_prompt p;
		const char *var;
		unsigned read_max;
	} pend;
};

static void cbop_destructor(void *data)
{
	struct cbop *op = data;

	mem_deref(op->req);
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

/* Runs app, continuing at cb_next as step st. */
static void cb_exec(struct cbop *op, enum step st, const char *app, const char *data)
{
	op->step = st;
	if (app_exec(op->ch, app, data, cb_next, op)) {
		log_warn("callback: cannot run %s (channel=%s)", app, chan_name(op->ch));
		cb_finish(op, "ERROR", APP_OK);
	}
}

/* Logged as the digits are awaited (after a tts: prompt's rendering): a
 * digit typed before is not heard. */
static void read_log(const struct cbop *op, const char *var)
{
	if (!strcmp(var, "CALLBACK_INPUT"))
		log_info("callback: asking for the number, try %u of %u (channel=%s "
			 "callback=%s)", op->tries, (unsigned)TRIES, chan_name(op->ch),
			 op->d->name);
	else
		log_info("callback: checking the number, %u of %u (channel=%s callback=%s "
			 "number=%s)", op->checks, (unsigned)CHECKS, chan_name(op->ch),
			 op->d->name, op->number);
}

/* Plays file (a prompt name or path; "" = nothing), or with read_max reads
 * up to that many digits into var while it plays. */
static void cb_prompt_run(struct cbop *op, enum step st, const char *file, const char *var,
			  unsigned read_max)
{
	char data[700];

	if (read_max) {
		read_log(op, var);
		(void)re_snprintf(data, sizeof(data), "%s,%s,%u,,1,%u", var, file, read_max,
				  (unsigned)READ_TIMEOUT_S);
		cb_exec(op, st, "Read", data);
		return;
	}
	if (!file[0]) {
		op->step = st;
		cb_next(APP_OK, op);
		return;
	}
	cb_exec(op, st, "Playback", file);
}

static void tts_done(int err, const char *path, void *arg)
{
	struct cbop *op = arg;

	op->req = mem_deref(op->req);
	if (err)
		log_warn("callback: %s prompt not spoken (channel=%s callback=%s): %m",
			 callback_prompt_key[op->pend.p], chan_name(op->ch), op->d->name, err);
	cb_prompt_run(op, op->pend.st, err ? "" : path, op->pend.var, op->pend.read_max);
}

/* Prompt p (skipped when "", a file otherwise), then step st; with
 * read_max, digits are read into var while it plays. A tts: prompt is
 * rendered to a file first (in the channel's language), so the caller can
 * type over it as over a recorded one. */
static void cb_prompt(struct cbop *op, enum step st, enum callback_prompt p, const char *var,
		      unsigned read_max)
{
	const char *prompt = op->d->prompt[p], *text = tts_text(prompt);
	const char *lang = chan_var_get(op->ch, "CHANNEL_LANGUAGE");
	int err;

	if (!text) {
		cb_prompt_run(op, st, prompt, var, read_max);
		return;
	}
	op->pend.st = st;
	op->pend.p = p;
	op->pend.var = var;
	op->pend.read_max = read_max;
	err = op->cb->tts ? tts_render(&op->req, op->cb->tts, text, str_isset(lang) ? lang :
				       op->cb->tts_lang, tts_done, op) : ENOTSUP;
	if (err)
		tts_done(err, NULL, op);
}

static void cb_play(struct cbop *op, enum step st, enum callback_prompt p)
{
	cb_prompt(op, st, p, NULL, 0);
}

static void cb_read_number(struct cbop *op)
{
	/* One digit more than a number may have: a longer entry is refused
	 * rather than cut. */
	cb_prompt(op, ST_READ, CB_PROMPT_ENTER, "CALLBACK_INPUT", NUM_MAX + 1);
}

static void cb_read_check(struct cbop *op)
{
	cb_prompt(op, ST_CHECK, CB_PROMPT_CHECK, "CALLBACK_CHECK", 1);
}

static void cb_ask(struct cbop *op)
{
	if (op->tries >= TRIES) {
		cb_finish(op, "INVALID", APP_OK);
		return;
	}
	++op->tries;
	cb_read_number(op);
}

static void cb_wrong(struct cbop *op, const char *in)
{
	log_info("callback: invalid number (channel=%s callback=%s input=%s)",
		 chan_name(op->ch), op->d->name, in);
	if (op->tries >= TRIES) {
		cb_finish(op, "INVALID", APP_OK);
		return;
	}
	cb_play(op, ST_WRONG, CB_PROMPT_WRONG);
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
	cb_play(op, ST_AFTER, CB_PROMPT_AFTER);
}

/* The number entered: # alone keeps the caller's own. */
static void cb_input(struct cbop *op)
{
	const char *rs = chan_var_get(op->ch, "READSTATUS");
	const char *in = chan_var_get(op->ch, "CALLBACK_INPUT");

	if (!in)
		in = "";
	if (rs && !strcmp(rs, "HANGUP")) {
		cb_finish(op, "HANGUP", APP_HANGUP);
		return;
	}
	if (!*in && rs && !strcmp(rs, "OK") && op->own[0])
		in = op->own;
	if (!number_valid(in)) {
		cb_wrong(op, in);
		return;
	}
	str_ncpy(op->number, in, sizeof(op->number));
	op->checks = 0;
	log_info("callback: reading the number back (channel=%s callback=%s number=%s)",
		 chan_name(op->ch), op->d->name, op->number);
	cb_play(op, ST_ENTERED, CB_PROMPT_ENTERED);
}

/* 1 confirms, 2 asks for another number (a try), anything else once more. */
static void cb_checked(struct cbop *op)
{
	const char *rs = chan_var_get(op->ch, "READSTATUS");
	const char *in = chan_var_get(op->ch, "CALLBACK_CHECK");

	if (rs && !strcmp(rs, "HANGUP")) {
		cb_finish(op, "HANGUP", APP_HANGUP);
		return;
	}
	if (in && !strcmp(in, "1")) {
		cb_play(op, ST_BEFORE, CB_PROMPT_BEFORE);
		return;
	}
	if (in && !strcmp(in, "2")) {
		op->number[0] = '\0';
		cb_ask(op);
		return;
	}
	if (op->checks >= CHECKS) {
		op->number[0] = '\0';
		cb_finish(op, "INVALID", APP_OK);
		return;
	}
	++op->checks;
	cb_read_check(op);
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
	case ST_READ:
		cb_input(op);
		break;
	case ST_ENTERED:
		cb_exec(op, ST_SAY, "SayDigits", op->number);
		break;
	case ST_SAY:
		cb_play(op, ST_IS, CB_PROMPT_IS);
		break;
	case ST_IS:
		op->checks = 1;
		cb_read_check(op);
		break;
	case ST_CHECK:
		cb_checked(op);
		break;
	case ST_BEFORE:
		cb_store(op);
		break;
	case ST_AFTER:
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
	cb_play(op, ST_INTRO, CB_PROMPT_INTRO);
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

void callback_set_tts(struct callbacks *cb, struct tts *tts, const char *lang)
{
	if (!cb)
		return;
	cb->tts = tts;
	str_ncpy(cb->tts_lang, str_isset(lang) ? lang : "en", sizeof(cb->tts_lang));
}

/* --- automatic calls ----------------------------------------------------- */

struct due_row {
	char id[32], callback[64], number[NUM_MAX + 1], target[TARGETS_SZ];
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
	str_ncpy(d->target, r->target, sizeof(d->target));
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

/* Registered, on no call, and free for grace_s: Alovoip's minimum wait is
 * a grace period after the agent becomes free, so that he can call the
 * customer back himself first. */
static bool ext_idle(const char *ext, uint32_t grace_s)
{
	char dev[TARGET_SZ + 8];

	(void)re_snprintf(dev, sizeof(dev), "SIP/%s", ext);
	return !strcmp(chan_device_state(dev), "NOT_INUSE") &&
	       chan_device_idle_s(dev) >= grace_s;
}

struct agent_find {
	const char *queue;
	char *ext;
	size_t sz;
	uint32_t grace_s;
};

/* A member who can take a call now: logged in (a member), not paused, not
 * in a call, ringing or wrap-up, and its phone idle. */
static int agent_h(const struct queue_info *qi, const struct queue_member_info *mi,
		   void *arg)
{
	struct agent_find *f = arg;
	const char *res = strchr(mi->iface, '/');

	if (strcmp(qi->name, f->queue) || mi->paused || mi->in_call || mi->ringing ||
	    mi->wrapup || !res || strncmp(mi->iface, "SIP/", 4) || !digits_only(res + 1) ||
	    strlen(res + 1) >= f->sz || !ext_idle(res + 1, f->grace_s))
		return 0;
	str_ncpy(f->ext, res + 1, f->sz);
	return 1;                    /* found: stop */
}

/* The first target of the list free now (for grace_s), as the extension
 * to call. */
static bool free_target(const char *targets, uint32_t grace_s, char *ext, size_t sz)
{
	char buf[TARGETS_SZ], *save = NULL;

	str_ncpy(buf, targets, sizeof(buf));
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		struct agent_find f = { t + 6, ext, sz, grace_s };

		if (strncmp(t, "queue:", 6)) {
			if (strlen(t) < sz && ext_idle(t, grace_s)) {
				str_ncpy(ext, t, sz);
				return true;
			}
		}
		else if (queue_apply(NULL, agent_h, &f) == 1) {
			return true;
		}
	}
	return false;
}

static void try_request(struct callbacks *cb, const struct due_row *r)
{
	const struct cbdef *d = def_find(cb, r->callback);
	struct originate_req rq = { 0 };
	char ext[TARGET_SZ], why[160] = "", call_id[48] = "";
	struct attempt *a;
	int err;

	if (!d || !d->active || !d->auto_call)
		return;                  /* waits for an operator */
	if (!free_target(r->target, d->min_wait_s, ext, sizeof(ext)))
		return;                  /* every target busy or away: later */
	rq.caller = ext;
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
	(void)re_snprintf(a->first, sizeof(a->first), "SIP/%s-", ext);
	a->attempts = r->attempts + 1;
	str_ncpy(a->agent, ext, sizeof(a->agent));
	list_append(&cb->attempts, &a->le, a);
	log_info("callback: calling back (id=%s callback=%s target=%s number=%s attempt=%u "
		 "call_id=%s)", r->id, d->name, ext, r->number, a->attempts, call_id);
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

/* An automatic attempt's CDR: the first party's (or the spool failure's)
 * closes it. */
static void attempt_cdr(struct callbacks *cb, struct attempt *a, const struct cdr_rec *rec)
{
	int err;

	if (rec->disposition && !strcmp(rec->disposition, "ANSWERED") &&
	    str_isset(rec->dstchannel) && rec->billsec > 0)
		a->bridged = true;
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

/* The attempt under way by its call id (by_call) or by its request's id. */
static struct attempt *attempt_find(struct callbacks *cb, const char *key, bool by_call)
{
	for (struct le *le = list_head(&cb->attempts); le; le = le->next) {
		struct attempt *x = le->data;
		if (!strcmp(by_call ? x->call_id : x->req, key))
			return x;
	}
	return NULL;
}

/* Requests an agent's own call handled; their events follow the update
 * (cb_emit reads the row, which cannot be done while it is being written). */
struct handled {
	struct callbacks *cb;
	unsigned n;
	struct { char id[32]; uint32_t attempt; } req[DUE_BATCH];
};

static int handled_h(const struct cbreq_rec *r, void *arg)
{
	struct handled *hd = arg;
	struct attempt *a = attempt_find(hd->cb, r->id, false);

	if (hd->n < ARRAY_SIZE(hd->req)) {
		str_ncpy(hd->req[hd->n].id, r->id, sizeof(hd->req[hd->n].id));
		hd->req[hd->n++].attempt = a ? a->attempts : 0;
	}
	/* An automatic call still ringing for it must not put it back to
	 * pending when it ends. */
	if (a) {
		list_unlink(&a->le);
		mem_deref(a);
	}
	log_info("callback: customer called back by an agent (id=%s callback=%s number=%s "
		 "operator=%s)", r->id, r->callback, r->number, r->operator);
	return 0;
}

/* The extension of a phone's channel ("SIP/1002-0000001a"), else "". */
static void channel_ext(const char *channel, char *ext, size_t sz)
{
	const char *res = channel ? strchr(channel, '/') : NULL;
	size_t n = res ? strspn(res + 1, "0123456789") : 0;

	ext[0] = '\0';
	if (n && n < sz && res[1 + n] == '-' && (!strncmp(channel, "SIP/", 4) ||
						  !strncmp(channel, "PJSIP/", 6)))
		str_ncpy(ext, res + 1, n + 1);
}

/* An answered call from an extension to a waiting request's number: the
 * agent called the customer back himself. */
static void agent_cdr(struct callbacks *cb, const struct cdr_rec *rec)
{
	char ext[TARGET_SZ], at[32];
	struct handled hd = { .cb = cb };
	time_t t;
	struct tm tm;
	int err;

	if (!rec->disposition || strcmp(rec->disposition, "ANSWERED") ||
	    !str_isset(rec->dstchannel) || !number_valid(rec->dst) || !rec->start_us)
		return;
	channel_ext(rec->channel, ext, sizeof(ext));
	if (!ext[0])
		return;
	t = (time_t)(rec->start_us / 1000000);
	if (!gmtime_r(&t, &tm) || !strftime(at, sizeof(at), "%Y-%m-%d %H:%M:%S", &tm))
		return;
	err = cbreq_called_back(cb->st, rec->dst, at, rec->originated_call_id, ext, handled_h,
				&hd);
	if (err)
		log_error("callback: requests for %s not updated: %m", rec->dst, err);
	for (unsigned i = 0; i < hd.n; i++)   /* a dropped attempt ends as HANDLED */
		cb_emit(cb, CALLBACK_HANDLED, hd.req[i].id, hd.req[i].attempt, NULL, ext,
			hd.req[i].attempt ? "HANDLED" : NULL);
}

void callback_cdr(struct callbacks *cb, const struct cdr_rec *rec)
{
	struct attempt *a;

	if (!cb || !rec)
		return;
	a = str_isset(rec->originated_call_id) ? attempt_find(cb, rec->originated_call_id, true)
					       : NULL;
	if (a)
		attempt_cdr(cb, a, rec);
	else
		agent_cdr(cb, rec);
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
			.retry_wait_s = d->retry_wait_s, .next = d->next, .error = d->error,
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
