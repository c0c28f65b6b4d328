/* features: the DTMF feature detector of a bridged pair and what its codes
 * do. A side's detector is that channel's DTMF consumer; while a feature
 * runs both detectors step aside (Read and friends take the digits) and
 * come back if the two are still bridged afterwards. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <re.h>
#include "core/log.h"
#include "media/mixer.h"
#include "pbx/app.h"
#include "pbx/apps/media.h"
#include "pbx/chan.h"
#include "pbx/dial.h"
#include "pbx/dialplan.h"
#include "pbx/features.h"
#include "pbx/transfer.h"

enum { MAX_CODES = 16, CODE_LEN = 16 };

struct fmap {
	struct le le;
	char name[64], code[CODE_LEN], app[32], args[256], moh[64];
	bool peer;
};

static struct {
	const struct features_conf *cf;
	struct dialplan *dp;
	struct list map;
} fmod;

enum fkind { F_BLIND, F_ATXFER, F_DISCONNECT, F_AUTOMIXMON, F_DYNAMIC };

struct fcode {
	enum fkind kind;
	char code[CODE_LEN];
	const struct fmap *m;
};

struct fbridge;

struct fside {
	struct fbridge *fb;
	struct chan *ch;
	struct fcode codes[MAX_CODES];
	size_t ncodes;
	char buf[CODE_LEN];
	size_t nbuf;
	struct tmr tmr;
	bool installed;
};

struct fbridge {
	struct fside side[2];
	bool running;             /* a feature is in progress */
	bool dead;                /* detached by its owner */
};

/* A feature in progress; holds the pair until it is done. */
struct frun {
	struct fbridge *fb;
	struct fside *by;         /* the side that pressed */
	struct chan *target, *other;
	const struct fmap *m;
	unsigned tries;
};

static void side_install(struct fside *s);

/* --- configuration -------------------------------------------------------- */

void features_init(const struct features_conf *conf, struct dialplan *dp)
{
	fmod.cf = conf;
	fmod.dp = dp;
}

void features_close(void)
{
	list_flush(&fmod.map);
	fmod.cf = NULL;
	fmod.dp = NULL;
}

static void fmap_destructor(void *arg)
{
	struct fmap *m = arg;

	list_unlink(&m->le);
}

/* "DTMF,self|peer[/who],App(args)[,moh]" or "DTMF,self|peer,App,args[,moh]". */
int features_map_add(const char *name, const char *def, char *err, size_t errsz)
{
	char buf[512], *f[5] = {0}, *p, *save = NULL;
	struct fmap *m;
	int n = 0;

	str_ncpy(buf, def ? def : "", sizeof(buf));
	/* split on commas outside parentheses */
	f[n++] = buf;
	for (int depth = 0, i = 0; buf[i] && n < 5; i++) {
		if (buf[i] == '(')
			++depth;
		else if (buf[i] == ')' && depth)
			--depth;
		else if (buf[i] == ',' && !depth) {
			buf[i] = '\0';
			f[n++] = &buf[i + 1];
		}
	}
	(void)save;
	if (n < 3 || !str_isset(f[0]) || strlen(f[0]) >= CODE_LEN || !str_isset(f[2])) {
		(void)re_snprintf(err, errsz, "applicationmap %s: expected DTMF,self|peer,App(args)",
				  name);
		return EINVAL;
	}
	m = mem_zalloc(sizeof(*m), fmap_destructor);
	if (!m)
		return ENOMEM;
	str_ncpy(m->name, name, sizeof(m->name));
	str_ncpy(m->code, f[0], sizeof(m->code));
	p = strchr(f[1], '/');
	if (p)
		*p = '\0';              /* ActivatedBy: parsed and ignored, as Asterisk */
	if (!strcasecmp(f[1], "peer"))
		m->peer = true;
	else if (strcasecmp(f[1], "self")) {
		(void)re_snprintf(err, errsz, "applicationmap %s: ActivateOn must be self or peer, "
				  "got '%s'", name, f[1]);
		mem_deref(m);
		return EINVAL;
	}
	p = strchr(f[2], '(');
	if (p) {
		char *close = strrchr(p, ')');
		if (close)
			*close = '\0';
		*p = '\0';
		str_ncpy(m->args, p + 1, sizeof(m->args));
		if (f[3])
			str_ncpy(m->moh, f[3], sizeof(m->moh));
	}
	else {
		if (f[3])
			str_ncpy(m->args, f[3], sizeof(m->args));
		if (f[4])
			str_ncpy(m->moh, f[4], sizeof(m->moh));
	}
	str_ncpy(m->app, f[2], sizeof(m->app));
	list_append(&fmod.map, &m->le, m);
	return 0;
}

static const struct fmap *fmap_find(const char *name)
{
	for (struct le *le = fmod.map.head; le; le = le->next) {
		const struct fmap *m = le->data;
		if (!strcasecmp(m->name, name))
			return m;
	}
	return NULL;
}

/* --- the detector --------------------------------------------------------- */

static struct fside *side_other(struct fside *s)
{
	return s == &s->fb->side[0] ? &s->fb->side[1] : &s->fb->side[0];
}

static void code_add(struct fside *s, enum fkind kind, const char *code, const struct fmap *m)
{
	if (!str_isset(code) || s->ncodes == MAX_CODES)
		return;
	s->codes[s->ncodes].kind = kind;
	str_ncpy(s->codes[s->ncodes].code, code, CODE_LEN);
	s->codes[s->ncodes].m = m;
	++s->ncodes;
}

/* Built-ins from Dial's option letters (not the letters inside an option's
 * argument, as in b(hdlr^s^1)), dynamic ones from DYNAMIC_FEATURES. */
static void side_codes(struct fside *s, const char *opts, bool caller)
{
	const char *dyn = chan_var_get(s->ch, "DYNAMIC_FEATURES");
	char buf[256], *save = NULL;

	if (app_opt(opts, caller ? 'T' : 't', NULL, 0)) {
		code_add(s, F_BLIND, fmod.cf->blindxfer, NULL);
		code_add(s, F_ATXFER, fmod.cf->atxfer, NULL);
	}
	if (app_opt(opts, caller ? 'H' : 'h', NULL, 0))
		code_add(s, F_DISCONNECT, fmod.cf->disconnect, NULL);
	if (app_opt(opts, caller ? 'X' : 'x', NULL, 0))
		code_add(s, F_AUTOMIXMON, fmod.cf->automixmon, NULL);
	str_ncpy(buf, dyn ? dyn : "", sizeof(buf));
	for (char *n = strtok_r(buf, "#", &save); n; n = strtok_r(NULL, "#", &save)) {
		const struct fmap *m = fmap_find(n);
		if (m)
			code_add(s, F_DYNAMIC, m->code, m);
		else
			log_warn("features: DYNAMIC_FEATURES names unknown feature '%s' (channel=%s)",
				 n, chan_name(s->ch));
	}
}

static void side_flush(struct fside *s)
{
	struct chan *peer = side_other(s)->ch;

	for (size_t i = 0; i < s->nbuf; i++)
		(void)chan_send_dtmf(peer, s->buf[i], 100);
	s->nbuf = 0;
}

static const struct fcode *side_match(const struct fside *s, bool *longer)
{
	const struct fcode *exact = NULL;

	*longer = false;
	for (size_t i = 0; i < s->ncodes; i++) {
		const char *c = s->codes[i].code;
		if (strncmp(c, s->buf, s->nbuf))
			continue;
		if (strlen(c) == s->nbuf)
			exact = exact ? exact : &s->codes[i];
		else
			*longer = true;
	}
	return exact;
}

static void feature_run(struct fside *s, const struct fcode *fc);

static void side_timeout(void *arg)
{
	struct fside *s = arg;
	bool longer;
	const struct fcode *fc = side_match(s, &longer);

	if (fc)
		feature_run(s, fc);
	else
		side_flush(s);
}

static void side_dtmf_h(struct chan *ch, char digit, void *arg)
{
	struct fside *s = arg;
	const struct fcode *fc;
	bool longer;

	(void)ch;
	if (s->nbuf == CODE_LEN - 1)
		side_flush(s);
	s->buf[s->nbuf++] = digit;
	s->buf[s->nbuf] = '\0';
	tmr_cancel(&s->tmr);
	fc = side_match(s, &longer);
	if (fc && !longer) {
		feature_run(s, fc);
		return;
	}
	if (fc || longer) {
		tmr_start(&s->tmr, fmod.cf->digit_timeout_ms, side_timeout, s);
		return;
	}
	side_flush(s);           /* not a feature: the peer gets the digits */
}

static void side_install(struct fside *s)
{
	if (!s->ncodes || s->installed || chan_is_hungup(s->ch))
		return;
	s->installed = true;
	chan_set_dtmf_handler(s->ch, side_dtmf_h, s);
}

static void side_uninstall(struct fside *s)
{
	tmr_cancel(&s->tmr);
	s->nbuf = 0;
	if (!s->installed)
		return;
	s->installed = false;
	chan_set_dtmf_handler(s->ch, NULL, NULL);
}

static void fb_destructor(void *arg)
{
	struct fbridge *fb = arg;

	for (int i = 0; i < 2; i++) {
		side_uninstall(&fb->side[i]);
		mem_deref(fb->side[i].ch);
	}
}

int features_attach(struct fbridge **fbp, struct chan *caller, struct chan *callee,
		    const char *dial_opts)
{
	struct fbridge *fb;

	if (!fbp || !caller || !callee || !fmod.cf)
		return EINVAL;
	fb = mem_zalloc(sizeof(*fb), fb_destructor);
	if (!fb)
		return ENOMEM;
	for (int i = 0; i < 2; i++) {
		struct fside *s = &fb->side[i];
		s->fb = fb;
		s->ch = mem_ref(i == 0 ? caller : callee);
		tmr_init(&s->tmr);
		side_codes(s, dial_opts ? dial_opts : "", i == 0);
	}
	if (!fb->side[0].ncodes && !fb->side[1].ncodes) {
		mem_deref(fb);
		*fbp = NULL;
		return 0;
	}
	side_install(&fb->side[0]);
	side_install(&fb->side[1]);
	*fbp = fb;
	return 0;
}

struct fbridge *features_detach(struct fbridge *fb)
{
	if (!fb)
		return NULL;
	fb->dead = true;
	if (!fb->running) {
		side_uninstall(&fb->side[0]);
		side_uninstall(&fb->side[1]);
	}
	return mem_deref(fb);
}

/* --- running a feature ---------------------------------------------------- */

static bool fb_still_bridged(const struct fbridge *fb)
{
	return !fb->dead && !chan_is_hungup(fb->side[0].ch) && !chan_is_hungup(fb->side[1].ch) &&
	       chan_bridged_peer(fb->side[0].ch) == fb->side[1].ch;
}

static void frun_destructor(void *arg)
{
	struct frun *r = arg;

	mem_deref(r->target);
	mem_deref(r->other);
	mem_deref(r->fb);
}

/* Back to talking: detectors again, if the call is still the same pair. */
static void frun_end(struct frun *r)
{
	struct fbridge *fb = r->fb;

	fb->running = false;
	if (fb_still_bridged(fb)) {
		side_install(&fb->side[0]);
		side_install(&fb->side[1]);
	}
	mem_deref(r);
}

static void noop_done(int res, void *arg)
{
	(void)res;
	(void)arg;
}

static void automixmon_toggle(struct chan *ch)
{
	const char *on = chan_var_get(ch, "TOUCH_MIXMONITOR_ON");
	const char *prefix = chan_var_get(ch, "TOUCH_MIXMONITOR_PREFIX");
	char name[256];

	if (on) {
		(void)app_exec(ch, "StopMixMonitor", "", noop_done, NULL);
		(void)chan_var_set(ch, "TOUCH_MIXMONITOR_ON", NULL);
		return;
	}
	(void)re_snprintf(name, sizeof(name), "%s-%lld-%s.wav",
			  str_isset(prefix) ? prefix : "auto", (long long)time(NULL),
			  str_isset(chan_cid_num(ch)) ? chan_cid_num(ch) : "unknown");
	(void)app_exec(ch, "MixMonitor", name, noop_done, NULL);
	(void)chan_var_set(ch, "TOUCH_MIXMONITOR_ON", "1");
}

/* Blind transfer (§5.2): transferee on hold, transferer dials the target. */
static void blind_read(struct frun *r);

static void blind_fail_done(int res, void *arg)
{
	struct frun *r = arg;

	(void)res;
	if (r->tries < 3 && !chan_is_hungup(r->target) && !chan_is_hungup(r->other)) {
		blind_read(r);
		return;
	}
	media_gen_stop(r->other);
	frun_end(r);
}

static void blind_read_done(int res, void *arg)
{
	struct frun *r = arg;
	struct chan *xferer = r->target, *xferee = r->other;
	const char *digits = chan_var_get(xferer, "BLINDTRANSFER_DIGITS");

	(void)res;
	if (chan_is_hungup(xferer) || chan_is_hungup(xferee)) {
		media_gen_stop(xferee);
		frun_end(r);
		return;
	}
	if (!transfer_blind(xferer, digits)) {
		r->fb->dead = true;
		chan_hangup(xferer, CAUSE_NORMAL_CLEARING);
		frun_end(r);
		return;
	}
	if (app_exec(xferer, "Playback", fmod.cf->xferfailsound, blind_fail_done, r))
		blind_fail_done(0, r);
}

static void blind_read(struct frun *r)
{
	char data[256];

	++r->tries;
	(void)re_snprintf(data, sizeof(data), "BLINDTRANSFER_DIGITS,%s,,,1,%u",
			  r->tries == 1 ? fmod.cf->transferannouncesound : "",
			  fmod.cf->transfer_digit_timeout_s);
	if (app_exec(r->target, "Read", data, blind_read_done, r))
		blind_read_done(0, r);
}

/* --- attended transfer (atxfer, §5.1): consult, then complete or abort --- */

struct keeper {                 /* a joined pair no Dial owns */
	struct chan *a, *b;
	struct chan_watch wa, wb;
};

static void keeper_destructor(void *arg)
{
	struct keeper *k = arg;

	chan_watch_remove(&k->wa);
	chan_watch_remove(&k->wb);
	mem_deref(k->a);
	mem_deref(k->b);
}

static void keeper_h(struct chan *ch, enum chan_event ev, void *arg)
{
	struct keeper *k = arg;
	struct chan *other = ch == k->a ? k->b : k->a;

	if (ev != CHAN_EV_HANGUP)
		return;
	chan_unbridge(ch);
	chan_hangup(other, chan_cause(ch));
	mem_deref(k);
}

static void keep_pair(struct chan *a, struct chan *b)
{
	struct keeper *k = mem_zalloc(sizeof(*k), keeper_destructor);

	if (!k || chan_bridge(a, b)) {
		mem_deref(k);
		chan_hangup(a, CAUSE_NORMAL_CLEARING);
		chan_hangup(b, CAUSE_NORMAL_CLEARING);
		return;
	}
	k->a = mem_ref(a);
	k->b = mem_ref(b);
	chan_watch_add(a, &k->wa, keeper_h, k);
	chan_watch_add(b, &k->wb, keeper_h, k);
}

struct atx {
	struct frun *r;             /* target = transferer, other = transferee */
	struct chan *c;             /* the consultation call */
	struct chan_watch wc, wx;
	struct tmr tmr;
	char buf[CODE_LEN];
	size_t nbuf;
	bool talking, over, swapped;    /* swapped: back with the transferee */
	struct mixer *mix;              /* three-way */
};

static void atx_destructor(void *arg)
{
	struct atx *a = arg;

	tmr_cancel(&a->tmr);
	chan_watch_remove(&a->wc);
	chan_watch_remove(&a->wx);
	mem_deref(a->mix);
	mem_deref(a->c);
	mem_deref(a->r);
}

/* Back to the transferee: the consultation ends, nothing moved. */
static void atx_abort(struct atx *a)
{
	struct frun *r = mem_ref(a->r);

	if (a->over)
		goto out;
	a->over = true;
	a->mix = mem_deref(a->mix);
	log_info("features: attended transfer aborted (transferer=%s)", chan_name(r->target));
	chan_set_dtmf_handler(r->target, NULL, NULL);
	if (a->c && !chan_is_hungup(a->c))
		chan_hangup(a->c, CAUSE_NORMAL_CLEARING);
	media_gen_stop(r->other);
	if (!chan_is_hungup(r->target) && !chan_is_hungup(r->other))
		(void)chan_bridge(r->target, r->other);
	mem_deref(a);
	frun_end(r);
	return;
 out:
	mem_deref(r);
}

/* Transferee and target talk; the transferer drops out (§5.4 variables). */
static void atx_complete(struct atx *a)
{
	struct frun *r = a->r;
	struct chan *x = r->target, *y = r->other, *c = a->c;

	if (a->over)
		return;
	a->over = true;
	a->mix = mem_deref(a->mix);
	chan_set_dtmf_handler(x, NULL, NULL);
	media_gen_stop(y);
	media_gen_stop(c);
	r->fb->dead = true;
	(void)chan_var_set(y, "ATTENDEDTRANSFER", chan_name(x));
	(void)chan_var_set(c, "ATTENDEDTRANSFER", chan_name(x));
	log_info("features: attended transfer joins %s and %s (transferer=%s)", chan_name(y),
		 chan_name(c), chan_name(x));
	transfer_report(x, y, NULL, c);
	if (!(chan_is_dial_callee(x) && chan_replace(x, c))) {
		if (chan_is_dial_callee(y))
			chan_take(y);           /* its call (the transferer's Dial) lets go */
		keep_pair(y, c);
	}
	if (!chan_is_hungup(x))
		chan_hangup(x, CAUSE_NORMAL_CLEARING);
	mem_ref(r);
	mem_deref(a);
	frun_end(r);
}

static void atx_flush(struct atx *a)
{
	struct chan *to = a->swapped ? a->r->other : a->c;

	for (size_t i = 0; i < a->nbuf; i++)
		(void)chan_send_dtmf(to, a->buf[i], 100);
	a->nbuf = 0;
}

static void atx_digit_tmr(void *arg)
{
	atx_flush(arg);
}

/* atxferswap: the transferer goes back and forth; the one it leaves hears
 * music on hold. */
static void atx_swap(struct atx *a)
{
	struct chan *x = a->r->target, *y = a->r->other, *c = a->c;
	struct chan *to = a->swapped ? c : y, *from = a->swapped ? y : c;

	if (chan_bridge(x, to)) {
		atx_abort(a);
		return;
	}
	media_gen_stop(to);
	(void)media_moh_start(from, NULL);
	a->swapped = !a->swapped;
	log_info("features: attended transfer: %s now talks to %s", chan_name(x), chan_name(to));
}

/* atxferthreeway: all three talk (a mixer); the transferer hanging up
 * leaves the other two connected, as a completed transfer. */
static void atx_threeway(struct atx *a)
{
	struct chan *x = a->r->target, *y = a->r->other, *c = a->c;
	int err;

	chan_set_dtmf_handler(x, NULL, NULL);
	media_gen_stop(y);
	media_gen_stop(c);
	chan_unbridge(x);
	err = mixer_alloc(&a->mix);
	if (!err)
		err = mixer_add(a->mix, chan_media(x));
	if (!err)
		err = mixer_add(a->mix, chan_media(y));
	if (!err)
		err = mixer_add(a->mix, chan_media(c));
	if (err) {
		log_warn("features: three-way call failed: %m", err);
		atx_abort(a);
		return;
	}
	log_info("features: three-way call %s + %s + %s", chan_name(x), chan_name(y),
		 chan_name(c));
}

static void atx_dtmf_h(struct chan *ch, char digit, void *arg)
{
	struct atx *a = arg;
	const char *done = fmod.cf->atxfercomplete, *abort = fmod.cf->atxferabort;
	const char *swap = fmod.cf->atxferswap, *three = fmod.cf->atxferthreeway;

	(void)ch;
	if (a->nbuf == CODE_LEN - 1)
		atx_flush(a);
	a->buf[a->nbuf++] = digit;
	a->buf[a->nbuf] = '\0';
	tmr_cancel(&a->tmr);
	if (str_isset(done) && !strcmp(a->buf, done)) {
		atx_complete(a);
		return;
	}
	if (str_isset(abort) && !strcmp(a->buf, abort)) {
		atx_abort(a);
		return;
	}
	if (str_isset(swap) && !strcmp(a->buf, swap)) {
		a->nbuf = 0;
		atx_swap(a);
		return;
	}
	if (str_isset(three) && !strcmp(a->buf, three)) {
		a->nbuf = 0;
		atx_threeway(a);
		return;
	}
	if ((str_isset(done) && !strncmp(done, a->buf, a->nbuf)) ||
	    (str_isset(abort) && !strncmp(abort, a->buf, a->nbuf)) ||
	    (str_isset(swap) && !strncmp(swap, a->buf, a->nbuf)) ||
	    (str_isset(three) && !strncmp(three, a->buf, a->nbuf))) {
		tmr_start(&a->tmr, fmod.cf->digit_timeout_ms, atx_digit_tmr, a);
		return;
	}
	atx_flush(a);
}

static void atx_noanswer_h(void *arg)
{
	atx_abort(arg);
}

static void atx_c_h(struct chan *ch, enum chan_event ev, void *arg)
{
	struct atx *a = arg;

	if (ev == CHAN_EV_ANSWER && !a->talking && !a->over) {
		tmr_cancel(&a->tmr);
		a->talking = true;
		if (chan_bridge(a->r->target, ch)) {
			atx_abort(a);
			return;
		}
		chan_set_dtmf_handler(a->r->target, atx_dtmf_h, a);
	}
	else if (ev == CHAN_EV_HANGUP) {
		atx_abort(a);
	}
}

static void atx_x_h(struct chan *ch, enum chan_event ev, void *arg)
{
	struct atx *a = arg;

	(void)ch;
	if (ev != CHAN_EV_HANGUP)
		return;
	/* The transferer hanging up while talking to the target completes it. */
	if (a->talking)
		atx_complete(a);
	else
		atx_abort(a);
}

static void atx_fail(struct frun *r)
{
	media_gen_stop(r->other);
	if (app_exec(r->target, "Playback", fmod.cf->xferfailsound, noop_done, NULL))
		log_debug("features: no fail sound (channel=%s)", chan_name(r->target));
	frun_end(r);
}

static void atx_read_done(int res, void *arg)
{
	struct frun *r = arg;
	const char *digits = chan_var_get(r->target, "ATXFER_DIGITS");
	struct chan *c = NULL;
	struct atx *a;
	char dest[96];
	int cause, err;

	(void)res;
	if (chan_is_hungup(r->target) || chan_is_hungup(r->other)) {
		media_gen_stop(r->other);
		frun_end(r);
		return;
	}
	err = transfer_blind_check(r->target, digits);
	if (!err) {
		(void)re_snprintf(dest, sizeof(dest), "SIP/%s", digits);
		err = dial_request(&c, dest, r->target, &cause);
	}
	if (err) {
		log_info("features: attended transfer to '%s' impossible (%m)", digits ? digits : "",
			 err);
		atx_fail(r);
		return;
	}
	a = mem_zalloc(sizeof(*a), atx_destructor);
	if (!a) {
		chan_hangup(c, CAUSE_NORMAL_CLEARING);
		atx_fail(r);
		return;
	}
	a->r = r;                                  /* takes the run's reference */
	a->c = mem_ref(c);
	tmr_init(&a->tmr);
	chan_cdr_disable(c);
	chan_watch_add(c, &a->wc, atx_c_h, a);
	chan_watch_add(r->target, &a->wx, atx_x_h, a);
	tmr_start(&a->tmr, fmod.cf->atxfernoanswertimeout_s * 1000ULL, atx_noanswer_h, a);
	log_info("features: attended transfer: %s consults %s", chan_name(r->target), dest);
}

static void atx_read(struct frun *r)
{
	char data[256];

	(void)re_snprintf(data, sizeof(data), "ATXFER_DIGITS,%s,,,1,%u",
			  fmod.cf->transferannouncesound, fmod.cf->transfer_digit_timeout_s);
	if (app_exec(r->target, "Read", data, atx_read_done, r))
		atx_read_done(0, r);
}

static void dyn_done(struct frun *r)
{
	if (r->m && r->m->moh[0])
		media_gen_stop(r->other);
	frun_end(r);
}

static void dyn_sub_done(int err, struct chan *ch, void *arg)
{
	(void)err;
	(void)ch;
	dyn_done(arg);
}

static void dyn_app_done(int res, void *arg)
{
	struct frun *r = arg;

	/* A non-Gosub app that fails kicks its channel out of the bridge. */
	if (res != APP_OK && !chan_is_hungup(r->target))
		chan_hangup(r->target, CAUSE_NORMAL_CLEARING);
	dyn_done(r);
}

static void dynamic_run(struct frun *r, struct chan *by)
{
	const struct fmap *m = r->m;
	int err;

	(void)chan_var_set(r->target, "DYNAMIC_FEATURENAME", m->name);
	(void)chan_var_set(r->target, "DYNAMIC_WHO_ACTIVATED", chan_name(by));
	if (m->moh[0])
		(void)media_moh_start(r->other, m->moh);
	log_info("features: %s (%s on %s)", m->name, m->app, chan_name(r->target));
	if (!strcasecmp(m->app, "Gosub"))
		err = dialplan_gosub(fmod.dp, r->target, m->args, false, dyn_sub_done, r);
	else
		err = app_exec(r->target, m->app, m->args, dyn_app_done, r);
	if (err) {
		log_warn("features: %s could not start %s(%s): %m", m->name, m->app, m->args, err);
		dyn_done(r);
	}
}

static void feature_run(struct fside *s, const struct fcode *fc)
{
	struct fbridge *fb = s->fb;
	struct fside *o = side_other(s);
	struct frun *r;

	s->nbuf = 0;
	tmr_cancel(&s->tmr);
	if (fc->kind == F_DISCONNECT) {
		log_info("features: disconnect (channel=%s)", chan_name(s->ch));
		chan_hangup(s->ch, CAUSE_NORMAL_CLEARING);
		return;
	}
	if (fc->kind == F_AUTOMIXMON) {
		automixmon_toggle(s->ch);
		return;
	}
	if (fb->running)
		return;
	r = mem_zalloc(sizeof(*r), frun_destructor);
	if (!r)
		return;
	fb->running = true;
	r->fb = mem_ref(fb);
	r->by = s;
	r->m = fc->m;
	side_uninstall(&fb->side[0]);
	side_uninstall(&fb->side[1]);
	if (fc->kind == F_BLIND || fc->kind == F_ATXFER) {
		r->target = mem_ref(s->ch);        /* the transferer dials */
		r->other = mem_ref(o->ch);         /* the transferee waits on hold */
		(void)media_moh_start(r->other, NULL);
		if (fc->kind == F_BLIND)
			blind_read(r);
		else
			atx_read(r);
		return;
	}
	r->target = mem_ref(fc->m->peer ? o->ch : s->ch);
	r->other = mem_ref(fc->m->peer ? s->ch : o->ch);
	dynamic_run(r, s->ch);
}
