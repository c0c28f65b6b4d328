/* apps/poll: the Poll app. Digit collection is the Read app's and prompts
 * are Playback's (called through the app registry), so a poll hears and
 * times out exactly as those do; this file only decides what a try means. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "core/log.h"
#include "pbx/app.h"
#include "pbx/apps/poll.h"
#include "pbx/chan.h"

enum {
	MAXARGS = 8,
	POINT_MAX = 99999999,        /* eight digits: Read's input stays short */
	ATTEMPTS_MAX = 10,
	TIMEOUT_MAX = 300,           /* seconds */
};

struct pollmod {
	poll_result_h *h;
	void *arg;
};

static struct pollmod pollmod;

struct pollop {
	struct chan *ch;             /* reference */
	app_done_h *doneh;
	void *arg;
	char label[64], prompt[512], invalid[256], thanks[256];
	long min, max;
	unsigned maxdigits, attempts, tries;
	double timeout;
	char status[16];             /* of the last try: TIMEOUT or INVALID */
};

static void pollop_destructor(void *data)
{
	struct pollop *p = data;

	mem_deref(p->ch);
}

/* Splits app data on commas, in place (prompts have no parentheses). */
static int args_split(char *s, char **argv, int max)
{
	int n = 0;

	for (int i = 0; i < max; i++)
		argv[i] = NULL;
	if (!s)
		return 0;
	argv[n++] = s;
	for (; *s && n < max; s++) {
		if (*s == ',') {
			*s = '\0';
			argv[n++] = s + 1;
		}
	}
	return n;
}

/* A whole non-negative decimal number no greater than max; -1 otherwise. */
static long number_parse(const char *s, long max)
{
	char *end;
	long v;

	if (!s || !*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 9)
		return -1;
	v = strtol(s, &end, 10);
	return v <= max ? v : -1;
}

static unsigned digits_of(long v)
{
	unsigned n = 1;

	while (v >= 10) {
		v /= 10;
		++n;
	}
	return n;
}

static void poll_finish(struct pollop *p, const char *status, int res)
{
	app_done_h *doneh = p->doneh;
	void *arg = p->arg;
	const char *point = chan_var_get(p->ch, "POLL_POINT");

	(void)chan_var_set(p->ch, "POLLSTATUS", status);
	log_info("poll: done (channel=%s label=%s status=%s point=%s)", chan_name(p->ch),
		 p->label, status, point ? point : "");
	mem_deref(p);
	doneh(res, arg);
}

static void after_thanks(int res, void *arg)
{
	struct pollop *p = arg;

	poll_finish(p, "OK", res == APP_OK && !chan_is_hungup(p->ch) ? APP_OK : APP_HANGUP);
}

/* A valid score: durable first (row and Survey event), then thanks. */
static void poll_accept(struct pollop *p, long point)
{
	struct poll_result r = {
		.uniqueid = chan_uniqueid(p->ch), .linkedid = chan_linkedid(p->ch),
		.src = chan_cid_num(p->ch), .label = p->label, .point = point,
	};
	char num[16];
	int err = 0;

	r.dst = chan_var_get(p->ch, "DIALEDPEERNUMBER");
	r.queue = chan_var_get(p->ch, "QUEUENAME");
	r.src = r.src ? r.src : "";
	r.dst = r.dst ? r.dst : "";
	r.queue = r.queue ? r.queue : "";
	if (pollmod.h)
		err = pollmod.h(&r, pollmod.arg);
	if (err) {
		log_error("poll: score not recorded (channel=%s label=%s point=%ld err=%m)",
			  chan_name(p->ch), p->label, point, err);
		poll_finish(p, "ERROR", APP_OK);
		return;
	}
	(void)re_snprintf(num, sizeof(num), "%ld", point);
	(void)chan_var_set(p->ch, "POLL_POINT", num);
	log_info("poll: score recorded (channel=%s uniqueid=%s label=%s point=%ld dst=%s)",
		 chan_name(p->ch), r.uniqueid, p->label, point, r.dst);
	if (!p->thanks[0] ||
	    app_exec(p->ch, "Playback", p->thanks, after_thanks, p))
		poll_finish(p, "OK", APP_OK);
}

static void poll_try(struct pollop *p);

static void after_invalid(int res, void *arg)
{
	struct pollop *p = arg;

	if (res != APP_OK || chan_is_hungup(p->ch)) {
		poll_finish(p, "HANGUP", APP_HANGUP);
		return;
	}
	poll_try(p);
}

static void read_done(int res, void *arg)
{
	struct pollop *p = arg;
	const char *rs = chan_var_get(p->ch, "READSTATUS");
	const char *in = chan_var_get(p->ch, "POLL_INPUT");
	long point;

	if (chan_is_hungup(p->ch) || (rs && !strcmp(rs, "HANGUP"))) {
		poll_finish(p, "HANGUP", APP_HANGUP);
		return;
	}
	if (res != APP_OK || (rs && strcmp(rs, "OK") && strcmp(rs, "TIMEOUT"))) {
		poll_finish(p, "ERROR", APP_OK);
		return;
	}
	if (!in || !*in) {
		/* Nothing entered: ask again, without the invalid prompt. */
		str_ncpy(p->status, "TIMEOUT", sizeof(p->status));
		poll_try(p);
		return;
	}
	point = number_parse(in, POINT_MAX);
	if (point >= p->min && point <= p->max) {
		poll_accept(p, point);
		return;
	}
	log_info("poll: score out of range (channel=%s label=%s input=%s min=%ld max=%ld)",
		 chan_name(p->ch), p->label, in, p->min, p->max);
	str_ncpy(p->status, "INVALID", sizeof(p->status));
	if (p->tries >= p->attempts) {
		poll_try(p);             /* finishes, saying INVALID */
		return;
	}
	if (!p->invalid[0] || app_exec(p->ch, "Playback", p->invalid, after_invalid, p))
		poll_try(p);
}

/* The next try, or the end when every attempt is used. */
static void poll_try(struct pollop *p)
{
	char data[700];
	int err;

	if (p->tries >= p->attempts) {
		poll_finish(p, p->status, APP_OK);
		return;
	}
	++p->tries;
	log_debug("poll: try %u of %u (channel=%s label=%s)", p->tries, p->attempts,
		  chan_name(p->ch), p->label);
	(void)re_snprintf(data, sizeof(data), "POLL_INPUT,%s,%u,,1,%.3f", p->prompt,
			  p->maxdigits, p->timeout);
	err = app_exec(p->ch, "Read", data, read_done, p);
	if (err) {
		log_warn("poll: cannot collect digits (channel=%s err=%m)", chan_name(p->ch), err);
		poll_finish(p, "ERROR", APP_OK);
	}
}

static int fail_args(struct chan *ch, app_done_h *doneh, void *arg, const char *why)
{
	log_warn("poll: %s (channel=%s); usage: Poll(label,prompt,min,max[,timeout"
		 "[,attempts[,invalid[,thanks]]]])", why, chan_name(ch));
	(void)chan_var_set(ch, "POLLSTATUS", "ERROR");
	doneh(APP_OK, arg);
	return 0;
}

static int app_poll(struct chan *ch, const char *data, app_done_h *doneh, void *arg)
{
	char buf[1024], *argv[MAXARGS];
	struct pollop *p;
	long min, max, att;
	double tmo = 5;

	(void)chan_var_set(ch, "POLL_POINT", "");
	(void)chan_var_set(ch, "POLL_INPUT", "");
	str_ncpy(buf, data ? data : "", sizeof(buf));
	args_split(buf, argv, MAXARGS);
	(void)chan_var_set(ch, "POLL_LABEL", argv[0] ? argv[0] : "");
	if (chan_is_hungup(ch)) {
		(void)chan_var_set(ch, "POLLSTATUS", "HANGUP");
		doneh(APP_HANGUP, arg);
		return 0;
	}
	if (argv[0] && strlen(argv[0]) >= sizeof(p->label))
		return fail_args(ch, doneh, arg, "label too long");
	min = str_isset(argv[2]) ? number_parse(argv[2], POINT_MAX) : 1;
	max = str_isset(argv[3]) ? number_parse(argv[3], POINT_MAX) : 5;
	if (min < 0 || max < 0 || min > max)
		return fail_args(ch, doneh, arg, "min and max must be numbers with min <= max");
	if (str_isset(argv[4])) {
		char *end;
		tmo = strtod(argv[4], &end);
		if (*end || !(tmo > 0) || tmo > TIMEOUT_MAX)
			return fail_args(ch, doneh, arg, "timeout must be seconds in (0, 300]");
	}
	att = str_isset(argv[5]) ? number_parse(argv[5], ATTEMPTS_MAX) : 2;
	if (att < 1)
		return fail_args(ch, doneh, arg, "attempts must be 1..10");
	p = mem_zalloc(sizeof(*p), pollop_destructor);
	if (!p)
		return ENOMEM;
	p->ch = mem_ref(ch);
	p->doneh = doneh;
	p->arg = arg;
	str_ncpy(p->label, argv[0] ? argv[0] : "", sizeof(p->label));
	str_ncpy(p->prompt, argv[1] ? argv[1] : "", sizeof(p->prompt));
	str_ncpy(p->invalid, str_isset(argv[6]) ? argv[6] : "invalid", sizeof(p->invalid));
	str_ncpy(p->thanks, argv[7] ? argv[7] : "", sizeof(p->thanks));
	p->min = min;
	p->max = max;
	p->maxdigits = digits_of(max);
	p->attempts = (unsigned)att;
	p->timeout = tmo;
	str_ncpy(p->status, "TIMEOUT", sizeof(p->status));
	log_info("poll: waiting for a score (channel=%s label=%s min=%ld max=%ld attempts=%u)",
		 chan_name(ch), p->label, min, max, p->attempts);
	poll_try(p);
	return 0;
}

int apps_poll_register(poll_result_h *h, void *arg)
{
	int err;

	pollmod.h = h;
	pollmod.arg = arg;
	err = app_register("Poll", app_poll);
	return err ? err : app_register("Survey", app_poll);
}
