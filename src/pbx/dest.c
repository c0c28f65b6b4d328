/* dest: destinations, module exits and dial codes (see dest.h). */
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <re.h>
#include "core/log.h"
#include "pbx/app.h"
#include "pbx/chan.h"
#include "pbx/dest.h"

enum {
	KINDS_MAX = 8,
	NAME_MAX_LEN = 64,
	/* Exits followed by one dest_go: a module whose exit leads back to
	 * itself must not spin for ever. */
	HOPS_MAX = 8,
};

enum dtype { D_HANGUP, D_MODULE, D_EXTEN, D_GOTO };

struct dparsed {
	enum dtype t;
	char prefix[16];
	char name[NAME_MAX_LEN];     /* module name, or the extension */
	char ctx[NAME_MAX_LEN];      /* goto: */
};

struct uexit {
	struct le le;
	char user[NAME_MAX_LEN];
	char *busy, *noanswer, *unavail;
};

struct dests {
	struct dest_kind kinds[KINDS_MAX];
	unsigned nkinds;
	struct list users;           /* struct uexit */
	/* dest_go calls inside dest_go: a module that ends at once into an
	 * exit leading back to it (failure_dest = its own queue) recurses. */
	unsigned nesting;
};

/* The app registry passes no argument: the one module of the process. */
static struct dests *dmod;

static const char *const builtin_prefix[] = { "callback", "queue" };

static void uexit_destructor(void *data)
{
	struct uexit *u = data;

	list_unlink(&u->le);
	mem_deref(u->busy);
	mem_deref(u->noanswer);
	mem_deref(u->unavail);
}

static void dests_destructor(void *data)
{
	struct dests *d = data;

	list_flush(&d->users);
	if (dmod == d)
		dmod = NULL;
}

/* A name or extension: printable, no spaces, ',', '|', ':' or quotes. */
static bool word_ok(const char *s, size_t len)
{
	if (!len || len >= NAME_MAX_LEN)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= ' ' || c >= 0x7f || strchr(",|:\"'()", c))
			return false;
	}
	return true;
}

static int parse(const char *dest, struct dparsed *p, char *why, size_t whysz)
{
	const char *colon, *arg, *comma;
	size_t plen;

	memset(p, 0, sizeof(*p));
	if (!dest || !*dest) {
		(void)re_snprintf(why, whysz, "empty destination");
		return EINVAL;
	}
	if (!strcasecmp(dest, "hangup")) {
		p->t = D_HANGUP;
		return 0;
	}
	colon = strchr(dest, ':');
	if (!colon)
		goto bad;
	plen = (size_t)(colon - dest);
	arg = colon + 1;
	if (plen >= sizeof(p->prefix))
		goto bad;
	memcpy(p->prefix, dest, plen);
	for (char *c = p->prefix; *c; c++)
		*c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
	if (!strcmp(p->prefix, "goto")) {
		comma = strchr(arg, ',');
		if (!comma || !word_ok(arg, (size_t)(comma - arg)) ||
		    !word_ok(comma + 1, strlen(comma + 1))) {
			(void)re_snprintf(why, whysz, "expected goto:CONTEXT,EXTEN, got '%s'", dest);
			return EINVAL;
		}
		p->t = D_GOTO;
		memcpy(p->ctx, arg, (size_t)(comma - arg));
		str_ncpy(p->name, comma + 1, sizeof(p->name));
		return 0;
	}
	if (!word_ok(arg, strlen(arg))) {
		(void)re_snprintf(why, whysz, "expected %s:%s, got '%s'", p->prefix,
				  strcmp(p->prefix, "exten") ? "NAME" : "NUMBER", dest);
		return EINVAL;
	}
	str_ncpy(p->name, arg, sizeof(p->name));
	if (!strcmp(p->prefix, "exten")) {
		p->t = D_EXTEN;
		return 0;
	}
	p->t = D_MODULE;
	for (size_t i = 0; i < ARRAY_SIZE(builtin_prefix); i++)
		if (!strcmp(p->prefix, builtin_prefix[i]))
			return 0;
	if (dmod)
		for (unsigned i = 0; i < dmod->nkinds; i++)
			if (!strcmp(p->prefix, dmod->kinds[i].prefix))
				return 0;
 bad:
	(void)re_snprintf(why, whysz, "expected hangup, callback:NAME, queue:NAME, "
			  "exten:NUMBER or goto:CONTEXT,EXTEN, got '%s'", dest);
	return EINVAL;
}

static const struct dest_kind *kind_find(const struct dests *d, const char *prefix)
{
	for (unsigned i = 0; d && i < d->nkinds; i++)
		if (!strcmp(d->kinds[i].prefix, prefix))
			return &d->kinds[i];
	return NULL;
}

int dest_syntax(const char *dest, char *why, size_t whysz)
{
	struct dparsed p;

	return parse(dest, &p, why, whysz);
}

int dest_check(const struct dests *d, const char *dest, char *why, size_t whysz)
{
	const struct dest_kind *k;
	struct dparsed p;
	int err = parse(dest, &p, why, whysz);

	if (err || p.t != D_MODULE)
		return err;
	k = kind_find(d, p.prefix);
	if (!k) {
		(void)re_snprintf(why, whysz, "'%s': no %s modules here", dest, p.prefix);
		return EINVAL;
	}
	if (k->exists && !k->exists(p.name, k->arg)) {
		(void)re_snprintf(why, whysz, "'%s': no %s named '%s'", dest, p.prefix, p.name);
		return ENOENT;
	}
	return 0;
}

/* --- sending a channel ---------------------------------------------------- */

struct dgo {
	struct chan *ch;             /* reference */
	app_done_h *doneh;
	void *arg;
	const struct dest_kind *k;
	char name[NAME_MAX_LEN];
	uint32_t seq;                /* location before the module's app */
	unsigned hops;
};

static void dgo_destructor(void *data)
{
	struct dgo *g = data;

	mem_deref(g->ch);
}

/* Ends g with res (g is gone after). */
static void dgo_end(struct dgo *g, int res)
{
	app_done_h *doneh = g->doneh;
	void *arg = g->arg;

	mem_deref(g);
	doneh(res, arg);
}

static void jump(struct chan *ch, const char *ctx, const char *exten, int *res)
{
	/* Inside the channel's own dialplan (an app, or a C app's completion)
	 * the location change is the jump, as Goto does; chan_redirect would
	 * tell the app still holding it. Without a dialplan, redirect starts one. */
	int err = chan_dialplan_state(ch) ? chan_set_location(ch, ctx, exten)
					  : chan_redirect(ch, ctx, exten);

	if (err)
		log_warn("dest: cannot send the call to %s@%s (channel=%s err=%m)", exten, ctx,
			 chan_name(ch), err);
	*res = err ? APP_HANGUP : APP_OK;
}

static void go(struct dgo *g, const char *dest);

static void module_done(int res, void *arg)
{
	struct dgo *g = arg;
	const char *name = NULL, *next = NULL, *error = NULL, *st;
	bool ok;

	if (res != APP_OK || chan_is_hungup(g->ch) || chan_location_seq(g->ch) != g->seq) {
		/* hung up, or sent elsewhere meanwhile (a transfer, an exit key) */
		dgo_end(g, chan_is_hungup(g->ch) ? APP_HANGUP : res);
		return;
	}
	st = g->k->status_var ? chan_var_get(g->ch, g->k->status_var) : NULL;
	ok = st && g->k->ok && !strcmp(st, g->k->ok);
	if (g->k->lookup)
		(void)g->k->lookup(g->name, false, &name, &next, &error, g->k->arg);
	log_info("dest: %s:%s done (channel=%s status=%s exit=%s)", g->k->prefix, g->name,
		 chan_name(g->ch), st ? st : "", ok ? "next" : "error");
	go(g, str_isset(ok ? next : error) ? (ok ? next : error) : "hangup");
}

/* Follows dest for g (one hop); ends g unless a module app now runs. */
static void go(struct dgo *g, const char *dest)
{
	struct dparsed p;
	char why[160], ctx[NAME_MAX_LEN];
	int res = APP_HANGUP, err;

	if (++g->hops > HOPS_MAX) {
		log_warn("dest: more than %d destinations in a row, hanging up (channel=%s "
			 "dest=%s)", HOPS_MAX, chan_name(g->ch), dest);
		dgo_end(g, APP_HANGUP);
		return;
	}
	if (parse(dest, &p, why, sizeof(why))) {
		log_warn("dest: %s, hanging up (channel=%s)", why, chan_name(g->ch));
		dgo_end(g, APP_HANGUP);
		return;
	}
	if (chan_is_hungup(g->ch)) {
		dgo_end(g, APP_HANGUP);
		return;
	}
	log_info("dest: sending the call to %s (channel=%s)", dest, chan_name(g->ch));
	switch (p.t) {
	case D_HANGUP:
		break;
	case D_EXTEN:
		str_ncpy(ctx, chan_context(g->ch), sizeof(ctx));
		jump(g->ch, ctx, p.name, &res);
		break;
	case D_GOTO:
		jump(g->ch, p.ctx, p.name, &res);
		break;
	case D_MODULE:
		g->k = kind_find(dmod, p.prefix);
		if (!g->k || (g->k->exists && !g->k->exists(p.name, g->k->arg))) {
			log_warn("dest: no %s named '%s', hanging up (channel=%s)", p.prefix,
				 p.name, chan_name(g->ch));
			break;
		}
		str_ncpy(g->name, p.name, sizeof(g->name));
		g->seq = chan_location_seq(g->ch);
		chan_cdr_set_app(g->ch, app_name(g->k->app), g->name);
		err = app_exec(g->ch, g->k->app, g->name, module_done, g);
		if (!err)
			return;
		log_warn("dest: cannot run %s(%s) (channel=%s err=%m)", g->k->app, g->name,
			 chan_name(g->ch), err);
		break;
	}
	dgo_end(g, res);
}

int dest_go(struct chan *ch, const char *dest, app_done_h *doneh, void *arg)
{
	struct dparsed p;
	struct dgo *g;
	char why[160];

	if (!ch || !doneh)
		return EINVAL;
	if (parse(dest, &p, why, sizeof(why))) {
		log_warn("dest: %s (channel=%s)", why, chan_name(ch));
		return EINVAL;
	}
	if (dmod && dmod->nesting >= HOPS_MAX) {
		log_warn("dest: destinations lead back into each other, hanging up (channel=%s "
			 "dest=%s)", chan_name(ch), dest);
		doneh(APP_HANGUP, arg);
		return 0;
	}
	g = mem_zalloc(sizeof(*g), dgo_destructor);
	if (!g)
		return ENOMEM;
	g->ch = mem_ref(ch);
	g->doneh = doneh;
	g->arg = arg;
	if (dmod)
		++dmod->nesting;
	go(g, dest);
	if (dmod)
		--dmod->nesting;
	return 0;
}

/* Destination(dest) */
static int app_destination(struct chan *ch, const char *data, app_done_h *doneh, void *arg)
{
	if (chan_is_hungup(ch)) {
		doneh(APP_HANGUP, arg);
		return 0;
	}
	return dest_go(ch, data, doneh, arg);
}

/* --- dial codes ----------------------------------------------------------- */

const char *dest_code_app(const char *exten, char *data, size_t sz, void *arg)
{
	const struct dests *d = arg;
	const char *name, *next, *error;

	if (!d || !str_isset(exten))
		return NULL;
	for (unsigned i = 0; i < d->nkinds; i++) {
		const struct dest_kind *k = &d->kinds[i];
		if (k->lookup && !k->lookup(exten, true, &name, &next, &error, k->arg)) {
			(void)re_snprintf(data, sz, "%s:%s", k->prefix, name);
			return "Destination";
		}
	}
	return NULL;
}

/* --- extension exits ------------------------------------------------------ */

static struct uexit *user_find(const struct dests *d, const char *user, size_t len)
{
	for (struct le *le = d ? list_head(&d->users) : NULL; le; le = le->next) {
		struct uexit *u = le->data;
		if (strlen(u->user) == len && !strncmp(u->user, user, len))
			return u;
	}
	return NULL;
}

static int dup_or_null(char **out, const char *s)
{
	return str_isset(s) ? str_dup(out, s) : 0;
}

int dest_user_set(struct dests *d, const char *user, const char *busy, const char *noanswer,
		  const char *unavail)
{
	struct uexit *u;
	int err;

	if (!d || !str_isset(user) || strlen(user) >= NAME_MAX_LEN)
		return EINVAL;
	u = user_find(d, user, strlen(user));
	mem_deref(u);                 /* replaced */
	if (!str_isset(busy) && !str_isset(noanswer) && !str_isset(unavail))
		return 0;
	u = mem_zalloc(sizeof(*u), uexit_destructor);
	if (!u)
		return ENOMEM;
	str_ncpy(u->user, user, sizeof(u->user));
	err = dup_or_null(&u->busy, busy);
	err |= dup_or_null(&u->noanswer, noanswer);
	err |= dup_or_null(&u->unavail, unavail);
	if (err) {
		mem_deref(u);
		return ENOMEM;
	}
	list_append(&d->users, &u->le, u);
	return 0;
}

const char *dest_dial_exit(const char *target, const char *status)
{
	const char *slash, *res;
	const struct uexit *u;
	size_t tlen, rlen;

	if (!dmod || !str_isset(target) || !str_isset(status) || strchr(target, '&'))
		return NULL;
	slash = strchr(target, '/');
	if (!slash)
		return NULL;
	tlen = (size_t)(slash - target);
	if (!((tlen == 3 && !strncasecmp(target, "SIP", 3)) ||
	      (tlen == 5 && !strncasecmp(target, "PJSIP", 5))))
		return NULL;
	res = slash + 1;
	rlen = strcspn(res, " \t");
	if (strchr(res, '/') || strchr(res, '@'))
		return NULL;              /* through a trunk, not a user */
	u = user_find(dmod, res, rlen);
	if (!u)
		return NULL;
	if (!strcmp(status, "BUSY"))
		return u->busy;
	if (!strcmp(status, "NOANSWER"))
		return u->noanswer;
	if (!strcmp(status, "CHANUNAVAIL"))
		return u->unavail;
	return NULL;
}

/* --- the module ----------------------------------------------------------- */

int dest_kind_add(struct dests *d, const struct dest_kind *k)
{
	if (!d || !k || !str_isset(k->prefix) || !str_isset(k->app) ||
	    strlen(k->prefix) >= sizeof(((struct dparsed *)0)->prefix))
		return EINVAL;
	if (kind_find(d, k->prefix))
		return EEXIST;
	if (d->nkinds >= KINDS_MAX)
		return ENOSPC;
	d->kinds[d->nkinds++] = *k;
	return 0;
}

int dest_alloc(struct dests **dp)
{
	struct dests *d;
	int err;

	if (!dp || dmod)
		return EINVAL;
	d = mem_zalloc(sizeof(*d), dests_destructor);
	if (!d)
		return ENOMEM;
	err = app_register("Destination", app_destination);
	if (err) {
		mem_deref(d);
		return err;
	}
	dmod = d;
	*dp = d;
	return 0;
}
