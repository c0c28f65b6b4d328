/* apps/basic: the small built-in applications (Answer, Hangup, Wait, Set,
 * Goto, NoOp, Ringing, Progress, Busy, Congestion). Media apps live elsewhere. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "core/log.h"
#include "pbx/app.h"
#include "pbx/chan.h"

static int done_sync(app_done_h *doneh, void *arg, int res)
{
	doneh(res, arg);
	return 0;
}

static int app_answer(struct chan *ch, const char *data, app_done_h *doneh, void *arg)
{
	int err;

	if (chan_is_hungup(ch))
		return done_sync(doneh, arg, APP_HANGUP);
	err = chan_answer(ch);
	if (err)
		log_warn("app: Answer failed (channel=%s err=%m)", chan_name(ch), err);
	return done_sync(doneh, arg, err ? APP_HANGUP : APP_OK);
}

static int app_hangup(struct chan *ch, const char *data, app_done_h *doneh, void *arg)
{
	int cause = 0;

	if (str_isset(data)) {
		cause = chan_cause_parse(data);
		if (cause < 0) {
			log_warn("app: invalid cause given to Hangup (channel=%s cause=%s)",
				 chan_name(ch), data);
			cause = 0;
		}
	}
	chan_hangup(ch, cause);
	return done_sync(doneh, arg, APP_HANGUP);
}

/* Wait: a timer, cut short by a hangup through a channel watch. */
struct wait {
	struct tmr tmr;
	struct chan_watch w;
	struct chan *ch;
	app_done_h *doneh;
	void *arg;
};

static void wait_destructor(void *data)
{
	struct wait *wt = data;

	tmr_cancel(&wt->tmr);
	chan_watch_remove(&wt->w);
	mem_deref(wt->ch);
}

static void wait_end(struct wait *wt, int res)
{
	app_done_h *doneh = wt->doneh;
	void *arg = wt->arg;

	mem_deref(wt);
	doneh(res, arg);
}

static void wait_tmr_h(void *arg)
{
	wait_end(arg, APP_OK);
}

static void wait_chan_h(struct chan *ch, enum chan_event ev, void *arg)
{
	if (ev == CHAN_EV_HANGUP)
		wait_end(arg, APP_HANGUP);
	else if (ev == CHAN_EV_REDIRECT)
		wait_end(arg, APP_OK);          /* the dialplan jumps */
}

static int app_wait(struct chan *ch, const char *data, app_done_h *doneh, void *arg)
{
	struct wait *wt;
	double secs = data ? strtod(data, NULL) : 0;

	if (chan_is_hungup(ch))
		return done_sync(doneh, arg, APP_HANGUP);
	if (!(secs > 0) || !isfinite(secs))
		return done_sync(doneh, arg, APP_OK);
	wt = mem_zalloc(sizeof(*wt), wait_destructor);
	if (!wt)
		return ENOMEM;
	wt->ch = mem_ref(ch);
	wt->doneh = doneh;
	wt->arg = arg;
	tmr_init(&wt->tmr);
	chan_watch_add(ch, &wt->w, wait_chan_h, wt);
	tmr_start(&wt->tmr, (uint64_t)(secs * 1000.0 + 0.5), wait_tmr_h, wt);
	return 0;
}

static void trim(char *s)
{
	size_t n = strlen(s), i = 0;

	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	while (isspace((unsigned char)s[i]))
		++i;
	memmove(s, s + i, n - i + 1);
}

/* Set(name=value): the value may hold commas; name may be a function. */
static int app_set(struct chan *ch, const char *data, app_done_h *doneh, void *arg)
{
	const char *eq = strchr(data, '=');
	char name[256];
	int err;

	if (!eq || eq == data || (size_t)(eq - data) >= sizeof(name)) {
		log_warn("app: Set requires an argument (name=value) (channel=%s)",
			 chan_name(ch));
		return done_sync(doneh, arg, APP_OK);
	}
	memcpy(name, data, (size_t)(eq - data));
	name[eq - data] = '\0';
	trim(name);
	err = chan_expr_write(ch, name, eq + 1);
	if (err)
		log_warn("app: Set(%s) failed (channel=%s err=%m)", name, chan_name(ch), err);
	return done_sync(doneh, arg, APP_OK);
}

/* Goto([[context,]exten,]priority): Lua extensions exist only at priority 1,
 * so any other priority or label ends like Asterisk's fall-through. */
static int app_goto(struct chan *ch, const char *data, app_done_h *doneh, void *arg)
{
	char buf[512], *f[3] = {0};
	const char *ctx, *exten;
	int n = 0, err;
	char *s, *save = NULL;

	if (chan_is_hungup(ch))
		return done_sync(doneh, arg, APP_HANGUP);
	str_ncpy(buf, data, sizeof(buf));
	for (s = strtok_r(buf, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
		if (n == 3)
			break;
		trim(s);
		f[n++] = s;
	}
	if (n == 0 || s) {
		log_warn("app: Goto needs [[context,]exten,]priority (channel=%s data=%s)",
			 chan_name(ch), data);
		return done_sync(doneh, arg, APP_OK);
	}
	ctx = n == 3 ? f[0] : chan_context(ch);
	exten = n >= 2 ? f[n - 2] : chan_exten(ch);
	if (strcmp(f[n - 1], "1")) {
		log_warn("app: Goto priority %s does not exist in a Lua context "
			 "(channel=%s)", f[n - 1], chan_name(ch));
		return done_sync(doneh, arg, APP_HANGUP);
	}
	err = chan_set_location(ch, ctx, exten);
	return done_sync(doneh, arg, err ? APP_HANGUP : APP_OK);
}

/* ChannelRedirect(channel,[[context,]exten,]priority): sends another
 * channel elsewhere in the dialplan; CHANNELREDIRECT_STATUS. */
static int app_channelredirect(struct chan *ch, const char *data, app_done_h *doneh, void *arg)
{
	char buf[512], *f[4] = {0}, *s, *save = NULL;
	struct chan *target;
	int n = 0, err = EINVAL;

	str_ncpy(buf, data ? data : "", sizeof(buf));
	for (s = strtok_r(buf, ",", &save); s && n < 4; s = strtok_r(NULL, ",", &save)) {
		trim(s);
		f[n++] = s;
	}
	target = n >= 2 ? chan_find(f[0]) : NULL;
	if (target)
		err = chan_redirect(target, n == 4 ? f[1] : chan_context(target),
				    n >= 3 ? f[n - 2] : chan_exten(target));
	if (err)
		log_warn("app: ChannelRedirect(%s) failed (channel=%s): %s", data ? data : "",
			 chan_name(ch), target ? "bad location" : "no such channel");
	(void)chan_var_set(ch, "CHANNELREDIRECT_STATUS", err ? "NOCHANNEL" : "SUCCESS");
	return done_sync(doneh, arg, APP_OK);
}

static int app_noop(struct chan *ch, const char *data, app_done_h *doneh, void *arg)
{
	log_debug("app: NoOp(%s) (channel=%s)", data, chan_name(ch));
	return done_sync(doneh, arg, APP_OK);
}

static int indicate(struct chan *ch, uint16_t scode, app_done_h *doneh, void *arg)
{
	if (chan_is_hungup(ch))
		return done_sync(doneh, arg, APP_HANGUP);
	if (chan_indicate(ch, scode))
		return done_sync(doneh, arg, APP_HANGUP);
	return done_sync(doneh, arg, APP_OK);
}

static int app_ringing(struct chan *ch, const char *data, app_done_h *doneh, void *arg)
{
	return indicate(ch, 180, doneh, arg);
}

static int app_progress(struct chan *ch, const char *data, app_done_h *doneh, void *arg)
{
	return indicate(ch, 183, doneh, arg);
}

/* Busy/Congestion: Asterisk indicates and waits; for a SIP leg the honest
 * equivalent is ending it with the cause (486 / 503 to the caller). */
static int hangup_with(struct chan *ch, int cause, app_done_h *doneh, void *arg)
{
	if (!chan_is_hungup(ch)) {
		chan_set_cause(ch, cause);
		chan_hangup(ch, cause);
	}
	return done_sync(doneh, arg, APP_HANGUP);
}

static int app_busy(struct chan *ch, const char *data, app_done_h *doneh, void *arg)
{
	return hangup_with(ch, CAUSE_USER_BUSY, doneh, arg);
}

static int app_congestion(struct chan *ch, const char *data, app_done_h *doneh, void *arg)
{
	return hangup_with(ch, CAUSE_NORMAL_CIRCUIT_CONGESTION, doneh, arg);
}

int apps_basic_register(void)
{
	static const struct { const char *name; app_exec_h *h; } tab[] = {
		{"Answer", app_answer}, {"Hangup", app_hangup}, {"Wait", app_wait},
		{"Set", app_set}, {"Goto", app_goto}, {"NoOp", app_noop},
		{"ChannelRedirect", app_channelredirect},
		{"Ringing", app_ringing}, {"Progress", app_progress},
		{"Busy", app_busy}, {"Congestion", app_congestion},
	};
	int err = 0;

	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]) && !err; i++)
		err = app_register(tab[i].name, tab[i].h);
	return err;
}
