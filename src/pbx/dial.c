/* dial: Dial(Tech/Res[&Tech/Res...][,timeout[,options]]). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <re.h>
#include "core/log.h"
#include "pbx/app.h"
#include "pbx/apps/media.h"
#include "pbx/calllimit.h"
#include "pbx/chan.h"
#include "pbx/dest.h"
#include "pbx/dial.h"
#include "pbx/dialplan.h"
#include "pbx/features.h"

#define DIAL_MAX_TECHS 8

struct tech_entry { char name[16]; dial_request_h *h; void *arg; };

static struct {
	struct tech_entry techs[DIAL_MAX_TECHS];
	unsigned ntechs;
	struct dialplan *dp;     /* for B(), b() and U() routines */
	struct calllimit_conf limit_conf;   /* CALL_LIMIT's warning beeper */
} dialmod;

enum dial_state { DIAL_RINGING, DIAL_BRIDGED, DIAL_DONE };

struct dial;

struct dleg {
	struct le le;
	struct dial *d;
	struct chan *ch;         /* reference */
	struct chan_watch w;
	char resource[64];
	bool ended;
};

struct dial {
	struct chan *caller;     /* reference */
	struct chan_watch w;
	struct list legs;
	struct dleg *winner;
	struct tmr tmr_timeout, tmr_done;
	enum dial_state state;
	unsigned busy, congestion, nochan;
	bool opt_g, opt_mr, indicated_ring, indicated_progress;
	bool single;             /* one target: its user's exits apply (pbx/dest) */
	int result;
	double secs;
	char dests[1024], opts[256];
	char sub_b[256], sub_u[256];   /* b() and U() routines, "" = none */
	struct fbridge *fb;            /* DTMF features while bridged */
	struct calllimit_spec limit;   /* L() or CALL_LIMIT; limit_ms 0 = none */
	struct calllimit *cl;          /* running while bridged */
	app_done_h *doneh;
	void *arg;
};

int dial_register_tech(const char *name, dial_request_h *h, void *arg)
{
	struct tech_entry *e;

	if (!name || !h || strlen(name) >= sizeof(e->name))
		return EINVAL;
	if (dialmod.ntechs >= DIAL_MAX_TECHS)
		return ENOSPC;
	e = &dialmod.techs[dialmod.ntechs++];
	str_ncpy(e->name, name, sizeof(e->name));
	e->h = h;
	e->arg = arg;
	return 0;
}

void dial_close(void)
{
	memset(&dialmod, 0, sizeof(dialmod));
}

void dial_set_dialplan(struct dialplan *dp)
{
	dialmod.dp = dp;
}

void dial_set_limit_conf(const struct calllimit_conf *cf)
{
	if (cf)
		dialmod.limit_conf = *cf;
	else
		calllimit_conf_default(&dialmod.limit_conf);
}

static const struct tech_entry *tech_find(const char *name, size_t len)
{
	for (unsigned i = 0; i < dialmod.ntechs; i++) {
		if (strlen(dialmod.techs[i].name) == len &&
		    !strncasecmp(dialmod.techs[i].name, name, len))
			return &dialmod.techs[i];
	}
	return NULL;
}

int dial_request(struct chan **chp, const char *dest, struct chan *caller, int *cause)
{
	const char *slash = dest ? strchr(dest, '/') : NULL;
	const struct tech_entry *te = slash ? tech_find(dest, (size_t)(slash - dest)) : NULL;

	*cause = CAUSE_CHAN_NOT_IMPLEMENTED;
	if (!te)
		return ENOENT;
	return te->h(chp, slash + 1, caller, cause, te->arg);
}

static void dleg_destructor(void *arg)
{
	struct dleg *l = arg;

	chan_watch_remove(&l->w);
	list_unlink(&l->le);
	mem_deref(l->ch);
}

static void dial_destructor(void *arg)
{
	struct dial *d = arg;

	tmr_cancel(&d->tmr_timeout);
	tmr_cancel(&d->tmr_done);
	chan_watch_remove(&d->w);
	features_detach(d->fb);
	mem_deref(d->cl);
	list_flush(&d->legs);
	mem_deref(d->caller);
}

static void done_h(void *arg)
{
	struct dial *d = arg;
	app_done_h *doneh = d->doneh;
	void *darg = d->arg;
	int res = d->result;
	struct chan *caller = mem_ref(d->caller);
	/* A busy, unanswered or unavailable extension's own exit (Alovoip's
	 * optional destinations) takes the caller instead of the dialplan. */
	const char *exit = res == APP_OK && d->single && !chan_is_hungup(caller)
		? dest_dial_exit(d->dests, chan_var_get(caller, "DIALSTATUS")) : NULL;

	mem_deref(d);
	if (!exit || dest_go(caller, exit, doneh, darg))
		doneh(res, darg);
	mem_deref(caller);
}

/* Ends the Dial: from a 0 ms timer so that it never unwinds inside the
 * channel event that caused it. */
static void dial_finish(struct dial *d, int res)
{
	if (d->state == DIAL_DONE)
		return;
	d->state = DIAL_DONE;
	d->result = res;
	d->fb = features_detach(d->fb);
	d->cl = mem_deref(d->cl);
	if (d->opt_mr)
		media_gen_stop(d->caller);
	tmr_cancel(&d->tmr_timeout);
	chan_watch_remove(&d->w);
	tmr_start(&d->tmr_done, 0, done_h, d);
}

static void set_status(struct dial *d, const char *status, const char *disposition)
{
	(void)chan_var_set(d->caller, "DIALSTATUS", status);
	chan_cdr_set_disposition(d->caller, disposition);
}

static void hangup_others(struct dial *d, const struct dleg *keep, int cause)
{
	struct le *le;

	for (le = d->legs.head; le; le = le->next) {
		struct dleg *l = le->data;
		if (l == keep || l->ended)
			continue;
		l->ended = true;
		chan_watch_remove(&l->w);
		chan_hangup(l->ch, cause);
	}
}

static bool legs_all_ended(const struct dial *d)
{
	struct le *le;

	for (le = d->legs.head; le; le = le->next) {
		if (!((struct dleg *)le->data)->ended)
			return false;
	}
	return true;
}

/* Precedence when every leg failed: BUSY > CONGESTION > CHANUNAVAIL, and
 * NOANSWER when some leg ended without a countable cause (§2.5). */
static void finish_unanswered(struct dial *d, bool any_uncounted)
{
	if (any_uncounted || (!d->busy && !d->congestion && !d->nochan))
		set_status(d, "NOANSWER", "NO ANSWER");
	else if (d->busy)
		set_status(d, "BUSY", "BUSY");
	else if (d->congestion)
		set_status(d, "CONGESTION", "FAILED");
	else
		set_status(d, "CHANUNAVAIL", "FAILED");
	dial_finish(d, APP_OK);
}

static bool count_cause(struct dial *d, int cause)
{
	switch (cause) {
	case CAUSE_USER_BUSY: d->busy++; return true;
	case CAUSE_NORMAL_CIRCUIT_CONGESTION: d->congestion++; return true;
	case CAUSE_NO_ANSWER: case CAUSE_NORMAL_CLEARING: return false;
	default: d->nochan++; return true;
	}
}

static void dial_connect(struct dial *d, struct dleg *l);

/* U()'s verdict from GOSUB_RESULT on the callee (§2.4). */
static void prebridge_verdict(struct dial *d, struct chan *callee);

static void prebridge_done(int err, struct chan *callee, void *arg)
{
	struct dial *d = arg;

	(void)err;
	if (d->state != DIAL_DONE && d->winner && !d->winner->ended)
		prebridge_verdict(d, callee);
	mem_deref(d);                        /* the routine's reference */
}

/* U()'s verdict from GOSUB_RESULT on the callee (§2.4). */
static void prebridge_verdict(struct dial *d, struct chan *callee)
{
	struct dleg *l = d->winner;
	const char *res = chan_var_get(callee, "GOSUB_RESULT");
	const char *rv = chan_var_get(callee, "GOSUB_RETVAL");
	char loc[256];

	if (rv)
		(void)chan_var_set(d->caller, "GOSUB_RETVAL", rv);
	if (!res || (str_casecmp(res, "ABORT") && str_casecmp(res, "CONGESTION") &&
		     str_casecmp(res, "CHANUNAVAIL") && str_casecmp(res, "BUSY") &&
		     str_casecmp(res, "CONTINUE") && strncasecmp(res, "GOTO:", 5))) {
		dial_connect(d, l);
		return;
	}
	log_info("dial: pre-bridge routine says %s (caller=%s callee=%s)", res,
		 chan_name(d->caller), chan_name(callee));
	l->ended = true;
	chan_watch_remove(&l->w);
	chan_hangup(callee, CAUSE_NORMAL_CLEARING);
	if (!str_casecmp(res, "ABORT")) {
		if (!d->opt_g)
			chan_hangup(d->caller, CAUSE_NORMAL_CLEARING);
		dial_finish(d, d->opt_g ? APP_OK : APP_HANGUP);
		return;
	}
	if (!str_casecmp(res, "BUSY") || !str_casecmp(res, "CONGESTION") ||
	    !str_casecmp(res, "CHANUNAVAIL"))
		(void)chan_var_set(d->caller, "DIALSTATUS", res);
	if (!strncasecmp(res, "GOTO:", 5)) {
		char *f[3], *save = NULL;
		int n = 0;
		str_ncpy(loc, res + 5, sizeof(loc));
		for (char *t = strtok_r(loc, "^,", &save); t && n < 3; t = strtok_r(NULL, "^,", &save))
			f[n++] = t;
		if (n >= 2)
			(void)chan_set_location(d->caller, n == 3 ? f[0] : chan_context(d->caller),
						f[n - 2]);
	}
	dial_finish(d, APP_OK);
}

static void leg_answered(struct dial *d, struct dleg *l)
{
	char loc[300], num[64];
	const char *slash;
	int err;

	d->winner = l;
	hangup_others(d, l, CAUSE_ANSWERED_ELSEWHERE);
	tmr_cancel(&d->tmr_timeout);
	slash = strrchr(l->resource, '/');
	str_ncpy(num, slash ? slash + 1 : l->resource, sizeof(num));
	(void)chan_var_set(d->caller, "DIALEDPEERNAME", chan_name(l->ch));
	(void)chan_var_set(d->caller, "DIALEDPEERNUMBER", num);
	set_status(d, "ANSWER", "ANSWERED");
	chan_cdr_set_peer(d->caller, chan_name(l->ch));
	if (d->sub_u[0] && dialmod.dp) {
		/* U(ctx^arg1^arg2): the routine is ctx,s,1(arg1,arg2). */
		char *caret = strchr(d->sub_u, '^');
		if (caret)
			*caret = '\0';
		(void)re_snprintf(loc, sizeof(loc), "%s^s^1(%s)", d->sub_u, caret ? caret + 1 : "");
		(void)chan_var_set(l->ch, "GOSUB_RESULT", NULL);
		err = dialplan_gosub(dialmod.dp, l->ch, loc, false, prebridge_done, mem_ref(d));
		if (!err)
			return;
		mem_deref(d);
	}
	dial_connect(d, l);
}

/* The talk time is up: the bridge ends like a callee hangup (§2.3). */
static void limit_end_h(void *arg)
{
	struct dial *d = arg;
	struct dleg *l = d->winner;

	if (d->state != DIAL_BRIDGED || !l || l->ended)
		return;
	l->ended = true;
	chan_watch_remove(&l->w);
	chan_unbridge(d->caller);
	chan_hangup(l->ch, CAUSE_NORMAL_CLEARING);
	dial_finish(d, d->opt_g && !chan_is_hungup(d->caller) ? APP_OK : APP_HANGUP);
}

static void dial_connect(struct dial *d, struct dleg *l)
{
	int err;

	chan_set_cause(d->caller, CAUSE_NORMAL_CLEARING);
	chan_set_cause(l->ch, CAUSE_NORMAL_CLEARING);
	/* Whatever the caller heard while waiting (m, r, an originate's music)
	 * gives way to the callee. */
	media_gen_stop(d->caller);
	chan_set_dial_callee(l->ch, true);       /* before: connected line uses it */
	err = chan_bridge(d->caller, l->ch);
	if (!err && chan_state(d->caller) != CHAN_STATE_UP)
		err = chan_answer(d->caller);
	if (err) {
		log_warn("dial: cannot connect caller (channel=%s err=%m)",
			 chan_name(d->caller), err);
		l->ended = true;
		chan_watch_remove(&l->w);
		chan_hangup(l->ch, CAUSE_NORMAL_CLEARING);
		dial_finish(d, APP_HANGUP);
		return;
	}
	d->state = DIAL_BRIDGED;
	log_info("dial: bridged (caller=%s callee=%s)", chan_name(d->caller), chan_name(l->ch));
	if (d->limit.limit_ms &&
	    calllimit_start(&d->cl, &d->limit, d->caller, l->ch, limit_end_h, d))
		log_warn("dial: call limit not applied (caller=%s)", chan_name(d->caller));
	if (features_attach(&d->fb, d->caller, l->ch, d->opts))
		log_warn("dial: DTMF features unavailable (caller=%s)", chan_name(d->caller));
}

static void leg_event_h(struct chan *ch, enum chan_event ev, void *arg);

/* An attended transfer puts `by` where the callee was: the caller keeps
 * its Dial (CDR, g, h) with the new party. */
static void winner_replace(struct dial *d, struct dleg *l, struct chan *by)
{
	struct chan *old = l->ch;

	d->fb = features_detach(d->fb);
	chan_watch_remove(&l->w);
	l->ch = mem_ref(by);
	chan_watch_add(by, &l->w, leg_event_h, l);
	chan_set_dial_callee(by, true);
	if (chan_bridge(d->caller, by)) {
		log_warn("dial: cannot bridge %s to %s after a transfer", chan_name(d->caller),
			 chan_name(by));
		mem_deref(old);
		return;
	}
	chan_replace_adopted(old);
	chan_set_dial_callee(old, false);
	calllimit_set_callee(d->cl, by);
	chan_cdr_set_peer(d->caller, chan_name(by));
	log_info("dial: %s now talks to %s (was %s)", chan_name(d->caller), chan_name(by),
		 chan_name(old));
	mem_deref(old);
	if (features_attach(&d->fb, d->caller, by, d->opts))
		log_warn("dial: DTMF features unavailable (caller=%s)", chan_name(d->caller));
}

/* A leg is gone from the call; true when that ended an answered call.
 * Without g an answered Dial returns -1 (§2.6). */
static bool callee_left(struct dial *d, struct dleg *l)
{
	l->ended = true;
	chan_watch_remove(&l->w);
	if (d->state != DIAL_BRIDGED)
		return false;
	chan_unbridge(d->caller);
	dial_finish(d, d->opt_g && !chan_is_hungup(d->caller) ? APP_OK : APP_HANGUP);
	return true;
}

static void leg_event_h(struct chan *ch, enum chan_event ev, void *arg)
{
	struct dleg *l = arg;
	struct dial *d = l->d;
	struct le *le;
	bool uncounted = false;

	if (d->state == DIAL_DONE)
		return;
	switch (ev) {
	case CHAN_EV_RINGING:
		if (d->opt_mr)
			break;          /* the caller hears our MOH or ringback */
		if (d->state == DIAL_RINGING && !d->indicated_ring &&
		    chan_state(d->caller) != CHAN_STATE_UP) {
			d->indicated_ring = true;
			(void)chan_indicate(d->caller, 180);
		}
		break;
	case CHAN_EV_PROGRESS:
		if (d->state == DIAL_RINGING && !d->opt_mr &&
		    chan_state(d->caller) != CHAN_STATE_UP) {
			d->indicated_progress = true;
			(void)chan_indicate(d->caller, 183);
		}
		break;
	case CHAN_EV_ANSWER:
		if (d->state == DIAL_RINGING)
			leg_answered(d, l);
		break;
	case CHAN_EV_REDIRECTING:
		/* A ringing callee diverted: the caller hears of it (§4.4). */
		if (d->state == DIAL_RINGING)
			chan_redirecting_pass(d->caller, ch);
		break;
	case CHAN_EV_REPLACED:
		if (d->state == DIAL_BRIDGED && l == d->winner && chan_replacement(ch))
			winner_replace(d, l, chan_replacement(ch));
		break;
	case CHAN_EV_TAKEN:
	case CHAN_EV_REDIRECT:
		/* The callee was sent elsewhere (a transfer): it leaves the call
		 * alive; for the caller it is as if the callee hung up. */
		chan_set_dial_callee(ch, false);
		(void)callee_left(d, l);
		break;
	case CHAN_EV_HANGUP:
		if (callee_left(d, l))
			break;
		(void)count_cause(d, chan_cause(ch));
		chan_set_cause(d->caller, chan_cause(ch));
		if (!legs_all_ended(d))
			break;
		for (le = d->legs.head; le; le = le->next) {
			struct dleg *x = le->data;
			int c = chan_cause(x->ch);
			if (c == CAUSE_NO_ANSWER || c == CAUSE_NORMAL_CLEARING)
				uncounted = true;
		}
		finish_unanswered(d, uncounted);
		break;
	}
}

static void caller_event_h(struct chan *ch, enum chan_event ev, void *arg)
{
	struct dial *d = arg;
	(void)ch;

	if ((ev == CHAN_EV_REDIRECT || ev == CHAN_EV_TAKEN) && d->state != DIAL_DONE) {
		/* The caller goes elsewhere: its callees (no dialplan) end. */
		if (d->state == DIAL_RINGING)
			set_status(d, "CANCEL", "NO ANSWER");
		else
			chan_unbridge(d->caller);
		hangup_others(d, NULL, CAUSE_NORMAL_CLEARING);
		dial_finish(d, APP_OK);
		return;
	}
	if (ev != CHAN_EV_HANGUP || d->state == DIAL_DONE)
		return;
	if (d->state == DIAL_RINGING)
		set_status(d, "CANCEL", "NO ANSWER");
	else
		chan_unbridge(d->caller);
	hangup_others(d, NULL, CAUSE_NORMAL_CLEARING);
	dial_finish(d, APP_HANGUP);
}

static void timeout_h(void *arg)
{
	struct dial *d = arg;

	if (d->state != DIAL_RINGING)
		return;
	hangup_others(d, NULL, CAUSE_NO_ANSWER);
	chan_set_cause(d->caller, CAUSE_NO_ANSWER);
	set_status(d, "NOANSWER", "NO ANSWER");
	dial_finish(d, APP_OK);
}

static int dial_leg_start(struct dial *d, const char *dest)
{
	const char *slash = strchr(dest, '/');
	const struct tech_entry *te;
	struct dleg *l;
	struct chan *ch;
	int cause = CAUSE_CHAN_NOT_IMPLEMENTED, err;

	te = slash ? tech_find(dest, (size_t)(slash - dest)) : NULL;
	if (!te) {
		log_warn("dial: unknown technology (dest=%s channel=%s)", dest, chan_name(d->caller));
		d->nochan++;
		chan_set_cause(d->caller, cause);
		return ENOENT;
	}
	err = te->h(&ch, slash + 1, d->caller, &cause, te->arg);
	if (err) {
		log_info("dial: cannot call %s (cause=%d err=%m)", dest, cause, err);
		(void)count_cause(d, cause);
		chan_set_cause(d->caller, cause);
		return err;
	}
	l = mem_zalloc(sizeof(*l), dleg_destructor);
	if (!l) {
		chan_hangup(ch, CAUSE_NORMAL_TEMPORARY_FAILURE);
		return ENOMEM;
	}
	l->d = d;
	l->ch = mem_ref(ch);
	str_ncpy(l->resource, slash + 1, sizeof(l->resource));
	chan_cdr_disable(ch);
	list_append(&d->legs, &l->le, l);
	chan_watch_add(ch, &l->w, leg_event_h, l);
	/* b(): set the new channel up before its INVITE leaves (the technology
	 * sends it from the loop), so CALLERID set here is what it carries. */
	if (d->sub_b[0] && dialmod.dp)
		(void)dialplan_gosub(dialmod.dp, ch, d->sub_b, true, NULL, NULL);
	return 0;
}

/* m[(class)]: music on hold until answer; r[(tone)]: our ringback. Both
 * send 183 with our SDP so the caller hears it before answer. */
static void dial_start_sound(struct dial *d, const char *opts)
{
	char arg[64];
	bool m = app_opt(opts, 'm', arg, sizeof(arg));
	int err;

	if (!m && !app_opt(opts, 'r', arg, sizeof(arg)))
		return;
	d->opt_mr = true;
	if (chan_state(d->caller) != CHAN_STATE_UP)
		(void)chan_indicate(d->caller, 183);
	err = m ? media_moh_start(d->caller, arg[0] ? arg : NULL)
		: media_tone_start(d->caller, arg[0] ? arg : "ring");
	if (err)
		log_warn("dial: cannot play %s to the caller (channel=%s): %m",
			 m ? "music on hold" : "ringback", chan_name(d->caller), err);
}

/* Places the calls (after B(), if any). */
static void dial_begin(struct dial *d)
{
	char *save = NULL;

	if (d->state == DIAL_DONE)
		return;
	for (char *tok = strtok_r(d->dests, "&", &save); tok; tok = strtok_r(NULL, "&", &save))
		(void)dial_leg_start(d, tok);
	if (!d->legs.head) {
		finish_unanswered(d, false);
		return;
	}
	dial_start_sound(d, d->opts);
	if (d->secs > 0)
		tmr_start(&d->tmr_timeout, (uint64_t)(d->secs * 1000), timeout_h, d);
}

static void predial_done(int err, struct chan *ch, void *arg)
{
	struct dial *d = arg;

	(void)err;
	(void)ch;
	if (!chan_is_hungup(d->caller))
		dial_begin(d);
	mem_deref(d);
}

/* L(x:y:z) with the caller's LIMIT_* variables, else the caller's
 * CALL_LIMIT (seconds: originate's call_limit, a Trunk API reply) with the
 * configured beeper. EINVAL for an unusable L(). */
static int limit_setup(struct dial *d)
{
	char arg[64];
	const char *v;

	if (app_opt(d->opts, 'L', arg, sizeof(arg))) {
		if (calllimit_parse(&d->limit, arg))
			return EINVAL;
		v = chan_var_get(d->caller, "LIMIT_WARNING_FILE");
		/* "timeleft" (spoken minutes and seconds) is not implemented: a beep. */
		if (str_isset(v) && str_casecmp(v, "timeleft"))
			str_ncpy(d->limit.warn_file, v, sizeof(d->limit.warn_file));
		v = chan_var_get(d->caller, "LIMIT_PLAYAUDIO_CALLER");
		d->limit.play_caller = !v || !str_casecmp(v, "yes") || !strcmp(v, "1");
		v = chan_var_get(d->caller, "LIMIT_PLAYAUDIO_CALLEE");
		d->limit.play_callee = v && (!str_casecmp(v, "yes") || !strcmp(v, "1"));
		return 0;
	}
	v = chan_var_get(d->caller, "CALL_LIMIT");
	if (str_isset(v) && atol(v) > 0)
		calllimit_from_secs(&d->limit, (uint32_t)atol(v), &dialmod.limit_conf);
	return 0;
}

static const char *vars_to_clear[] = {
	"DIALSTATUS", "DIALEDPEERNUMBER", "DIALEDPEERNAME", "ANSWEREDTIME", "DIALEDTIME",
	"RINGTIME", "PROGRESSTIME",
};

static int dial_exec(struct chan *ch, const char *data, app_done_h *doneh, void *arg)
{
	char buf[1024], *dests, *timeout, *opts, rarg[256], loc[300];
	struct dial *d;
	double secs = 0;

	for (size_t i = 0; i < ARRAY_SIZE(vars_to_clear); i++)
		(void)chan_var_set(ch, vars_to_clear[i], NULL);
	if (chan_is_hungup(ch)) {
		(void)chan_var_set(ch, "DIALSTATUS", "CANCEL");
		doneh(APP_HANGUP, arg);
		return 0;
	}
	str_ncpy(buf, data ? data : "", sizeof(buf));
	dests = buf;
	timeout = strchr(dests, ',');
	if (timeout)
		*timeout++ = '\0';
	opts = timeout ? strchr(timeout, ',') : NULL;
	if (opts)
		*opts++ = '\0';
	if (timeout && *timeout)
		secs = strtod(timeout, NULL);
	d = mem_zalloc(sizeof(*d), dial_destructor);
	if (!d)
		return ENOMEM;
	d->caller = mem_ref(ch);
	d->doneh = doneh;
	d->arg = arg;
	d->secs = secs;
	str_ncpy(d->dests, dests, sizeof(d->dests));
	d->single = !strchr(dests, '&');
	str_ncpy(d->opts, opts ? opts : "", sizeof(d->opts));
	d->opt_g = opts && strchr(opts, 'g');
	if (limit_setup(d)) {
		(void)chan_var_set(ch, "DIALSTATUS", "INVALIDARGS");
		log_warn("dial: bad L() option '%s' (channel=%s)", d->opts, chan_name(ch));
		mem_deref(d);
		doneh(APP_OK, arg);
		return 0;
	}
	if (app_opt(d->opts, 'b', rarg, sizeof(rarg)) && rarg[0])
		chan_routine_complete(ch, rarg, d->sub_b, sizeof(d->sub_b));
	if (app_opt(d->opts, 'U', rarg, sizeof(rarg)))
		str_ncpy(d->sub_u, rarg, sizeof(d->sub_u));
	chan_watch_add(ch, &d->w, caller_event_h, d);
	/* B(): the caller's pre-dial routine runs before any leg exists. */
	if (app_opt(d->opts, 'B', rarg, sizeof(rarg)) && rarg[0] && dialmod.dp) {
		chan_routine_complete(ch, rarg, loc, sizeof(loc));
		if (!dialplan_gosub(dialmod.dp, ch, loc, false, predial_done, mem_ref(d)))
			return 0;
		mem_deref(d);
	}
	dial_begin(d);
	return 0;
}

int dial_app_register(void)
{
	calllimit_conf_default(&dialmod.limit_conf);
	return app_register("Dial", dial_exec);
}
