/* apps/dpapi: one struct apicall per component run: the channel waits in the
 * app while httpc asks the web service; a hangup or redirect meanwhile
 * cancels the request and the app ends at once. */
#include "core/rejansson.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "api/httpc.h"
#include "core/cfg.h"
#include "core/log.h"
#include "pbx/app.h"
#include "pbx/apps/dpapi.h"
#include "pbx/chan.h"

enum {
	DEFAULT_TIMEOUT_S = 1,     /* spec §2: the component waits one second */
	MAX_TIMEOUT_S = 300,
	MAX_REPLY = 16384,
	MAX_CALL_LIMIT = 2147483,  /* seconds; its ms must fit an int32 */
};

/* The apps' configuration (the registry passes no context to an app). */
static const struct dpapi_conf *dconf;

struct apicall {
	struct chan *ch;
	struct chan_watch w;
	struct httpc_req *req;
	enum dpapi_kind kind;
	app_done_h *doneh;
	void *arg;
	char *url;
	uint64_t started;
};

static const char *kind_name(enum dpapi_kind k)
{
	return k == DPAPI_TRUNK ? "TrunkAPI" : "ExtenAPI";
}

static const char *var_prefix(enum dpapi_kind k)
{
	return k == DPAPI_TRUNK ? "TRUNKAPI" : "EXTENAPI";
}

/* --- configuration ------------------------------------------------------- */

int dpapi_conf_load(struct dpapi_conf *cf, const struct cfg *conf, char *err, size_t errsz)
{
	const char *sec = cfg_get(conf, "api", "client_api_caller_timeout") ? "api"
			: "client_api_service";
	uint32_t s;
	int e;

	if (!cf)
		return EINVAL;
	e = cfg_get_u32(conf, sec, "client_api_caller_timeout", DEFAULT_TIMEOUT_S, 1,
			MAX_TIMEOUT_S, &s, err, errsz);
	if (e)
		return e;
	cf->timeout_ms = s * 1000;
	return 0;
}

/* --- the reply ------------------------------------------------------------- */

static int fail(char *why, size_t whysz, const char *fmt, const char *arg)
{
	if (why && whysz)
		snprintf(why, whysz, fmt, arg);
	return EBADMSG;
}

/* Trunk names and numbers end up in "SIP/<trunk>/<number>": anything that
 * could add a destination ('&'), an argument (','), an option or a URI
 * part must not come from the web service. */
static bool dialsafe(const char *s, const char *extra)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= 'A' && *s <= 'Z') || strchr(extra, *s)))
			return false;
	return true;
}

/* A string field, or an integer one written as digits (client libraries
 * send numbers both ways). */
static int field_str(json_t *o, const char *key, char *buf, size_t sz, char *why,
		     size_t whysz)
{
	json_t *v = json_object_get(o, key);

	if (json_is_string(v)) {
		if (json_string_length(v) >= sz)
			return fail(why, whysz, "%s is too long", key);
		snprintf(buf, sz, "%s", json_string_value(v));
		return 0;
	}
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		snprintf(buf, sz, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return 0;
	}
	return fail(why, whysz, v ? "%s is not a string" : "%s is missing", key);
}

static bool ok_flag(json_t *v)
{
	return json_is_true(v) || (json_is_integer(v) && json_integer_value(v) == 1) ||
		(json_is_string(v) && !strcmp(json_string_value(v), "1"));
}

static int call_limit_of(json_t *o, uint32_t *out, char *why, size_t whysz)
{
	json_t *v = json_object_get(o, "call_limit");
	long long n = 0;

	*out = 0;
	if (!v || json_is_null(v))
		return 0;
	if (json_is_integer(v))
		n = json_integer_value(v);
	else if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end;

		if (!*s)
			return 0;
		if (strspn(s, "0123456789") != strlen(s))
			return fail(why, whysz, "call_limit '%.32s' is not a whole number of "
				    "seconds", s);
		errno = 0;
		n = strtoll(s, &end, 10);
		if (errno)
			n = -1;
	}
	else
		return fail(why, whysz, "call_limit is not a whole number of seconds%s", "");
	if (n < 0 || n > MAX_CALL_LIMIT)
		return fail(why, whysz, "call_limit out of range (0..%s seconds)", "2147483");
	*out = (uint32_t)n;
	return 0;
}

int dpapi_reply_parse(enum dpapi_kind kind, const char *body, size_t len,
		      struct dpapi_reply *rep, char *why, size_t whysz)
{
	json_error_t jerr;
	json_t *o;
	int err;

	if (!rep || (!body && len))
		return EINVAL;
	memset(rep, 0, sizeof(*rep));
	o = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &jerr);
	if (!o)
		return fail(why, whysz, "reply is not JSON (%s)", jerr.text);
	if (!json_is_object(o)) {
		err = fail(why, whysz, "reply is not a JSON object%s", "");
		goto out;
	}
	if (!ok_flag(json_object_get(o, "ok"))) {
		err = fail(why, whysz, "ok is not 1%s", "");
		goto out;
	}
	err = 0;
	if (kind == DPAPI_TRUNK) {
		err = field_str(o, "trunk", rep->trunk, sizeof(rep->trunk), why, whysz);
		if (!err && !dialsafe(rep->trunk, "_.-"))
			err = fail(why, whysz, "trunk '%.64s' is empty or has characters a "
				   "trunk name cannot have", rep->trunk);
	}
	if (!err)
		err = field_str(o, "extension", rep->extension, sizeof(rep->extension), why,
				whysz);
	if (!err && !dialsafe(rep->extension, "+*#_.-"))
		err = fail(why, whysz, "extension '%.64s' is empty or has characters a "
			   "number cannot have", rep->extension);
	if (!err)
		err = call_limit_of(o, &rep->call_limit, why, whysz);
 out:
	json_decref(o);
	if (err)
		memset(rep, 0, sizeof(*rep));
	return err;
}

/* --- the request ----------------------------------------------------------- */

/* A JSON string of s; a caller ID off the wire need not be UTF-8, and
 * jansson refuses such text: bytes outside ASCII then become '?'. */
static json_t *jstr(const char *s)
{
	json_t *j = json_string(s ? s : "");
	char *copy;

	if (j)
		return j;
	copy = strdup(s);
	if (!copy)
		return NULL;
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

/* Spec §3: the same fields for every component; as a JSON body (POST) or
 * as a query (GET). */
static int request_build(struct apicall *c, const char *app_name, const char *data,
			 struct httpc_opts *o, char **bodyp, char **urlp)
{
	const char *orig = chan_var_get(c->ch, "ORIGINATED_CALL_ID");
	const char *kv[] = {
		"src", chan_cid_num(c->ch), "dst", chan_exten(c->ch), "data", data,
		"unique_id", chan_uniqueid(c->ch), "app_name", app_name,
		"originated_call_id", orig,
	};
	size_t n = str_isset(orig) ? 6 : 5;
	json_t *obj;
	int err = 0;

	if (dconf->get) {
		err = httpc_url_query(urlp, c->url, kv, n);
		o->url = *urlp;
		return err;
	}
	obj = json_object();
	if (!obj)
		return ENOMEM;
	for (size_t i = 0; i < n && !err; i++)
		if (json_object_set_new(obj, kv[2 * i], jstr(kv[2 * i + 1] ? kv[2 * i + 1]
								: "")))
			err = ENOMEM;
	if (!err) {
		*bodyp = json_dumps(obj, JSON_COMPACT);
		if (!*bodyp)
			err = ENOMEM;
	}
	json_decref(obj);
	o->url = c->url;
	o->body = *bodyp;
	return err;
}

/* --- the app ----------------------------------------------------------------- */

static void apicall_destructor(void *arg)
{
	struct apicall *c = arg;

	chan_watch_remove(&c->w);
	mem_deref(c->req);          /* cancels a request still in flight */
	mem_deref(c->url);
	mem_deref(c->ch);
}

static void apicall_finish(struct apicall *c, int res)
{
	app_done_h *doneh = c->doneh;
	void *arg = c->arg;

	mem_deref(c);
	doneh(res, arg);
}

static void vars_set(struct chan *ch, enum dpapi_kind kind, const char *status,
		     const char *error, const struct dpapi_reply *rep)
{
	const char *p = var_prefix(kind);
	char name[40], dial[256];

	(void)re_snprintf(name, sizeof(name), "%s_STATUS", p);
	(void)chan_var_set(ch, name, status);
	(void)re_snprintf(name, sizeof(name), "%s_ERROR", p);
	(void)chan_var_set(ch, name, error);
	/* A failure leaves no stale target from an earlier run behind. */
	if (kind == DPAPI_TRUNK) {
		(void)chan_var_set(ch, "TRUNKAPI_TRUNK", rep ? rep->trunk : NULL);
		(void)chan_var_set(ch, "TRUNKAPI_NUMBER", rep ? rep->extension : NULL);
		if (rep)
			(void)re_snprintf(dial, sizeof(dial), "SIP/%s/%s", rep->trunk,
					  rep->extension);
		(void)chan_var_set(ch, "TRUNKAPI_DIAL", rep ? dial : NULL);
	}
	else {
		(void)chan_var_set(ch, "EXTENAPI_EXTENSION", rep ? rep->extension : NULL);
		if (rep)
			(void)re_snprintf(dial, sizeof(dial), "SIP/%s", rep->extension);
		(void)chan_var_set(ch, "EXTENAPI_DIAL", rep ? dial : NULL);
	}
	/* No call_limit in the reply keeps one set before (originate's). */
	if (rep && rep->call_limit) {
		char secs[16];

		(void)re_snprintf(secs, sizeof(secs), "%u", rep->call_limit);
		(void)chan_var_set(ch, "CALL_LIMIT", secs);
	}
}

static void apicall_fail(struct apicall *c, const char *status, const char *error)
{
	log_warn("dpapi: %s failed, the dialplan takes its fallback (channel=%s "
		 "uniqueid=%s url=%s status=%s error=%s ms=%llu)", kind_name(c->kind),
		 chan_name(c->ch), chan_uniqueid(c->ch), c->url, status, error,
		 (unsigned long long)(tmr_jiffies() - c->started));
	vars_set(c->ch, c->kind, status, error, NULL);
	apicall_finish(c, APP_OK);
}

static void reply_h(int err, const struct httpc_resp *resp, void *arg)
{
	struct apicall *c = arg;
	struct dpapi_reply rep;
	char why[200];

	if (err) {
		(void)re_snprintf(why, sizeof(why), "%s", resp->error);
		apicall_fail(c, err == ETIMEDOUT ? "TIMEOUT" : "FAILED", why);
		return;
	}
	if (resp->status < 200 || resp->status > 299) {
		(void)re_snprintf(why, sizeof(why), "HTTP %ld", resp->status);
		apicall_fail(c, "FAILED", why);
		return;
	}
	if (dpapi_reply_parse(c->kind, resp->body, resp->len, &rep, why, sizeof(why))) {
		apicall_fail(c, "FAILED", why);
		return;
	}
	log_info("dpapi: %s answered (channel=%s uniqueid=%s trunk=%s extension=%s "
		 "call_limit=%u ms=%llu)", kind_name(c->kind), chan_name(c->ch),
		 chan_uniqueid(c->ch), rep.trunk, rep.extension, rep.call_limit,
		 (unsigned long long)(tmr_jiffies() - c->started));
	vars_set(c->ch, c->kind, "SUCCESS", NULL, &rep);
	apicall_finish(c, APP_OK);
}

static void chan_h(struct chan *ch, enum chan_event ev, void *arg)
{
	struct apicall *c = arg;
	(void)ch;

	if (ev == CHAN_EV_HANGUP) {
		log_info("dpapi: %s cancelled, the channel hung up (channel=%s uniqueid=%s)",
			 kind_name(c->kind), chan_name(c->ch), chan_uniqueid(c->ch));
		apicall_finish(c, APP_HANGUP);
	}
	else if (ev == CHAN_EV_REDIRECT) {
		apicall_finish(c, APP_OK);       /* the dialplan jumps */
	}
}

static bool url_ok(const char *url)
{
	return !strncasecmp(url, "http://", 7) || !strncasecmp(url, "https://", 8);
}

/* TrunkAPI/ExtenAPI(url[,app_name[,data]]). */
static int apicall_exec(enum dpapi_kind kind, struct chan *ch, const char *data,
			app_done_h *doneh, void *arg)
{
	struct httpc_opts o = { .timeout_ms = dconf->timeout_ms, .max_reply = MAX_REPLY,
				.username = dconf->username, .password = dconf->password };
	char buf[2048], *argv[3] = { NULL }, *body = NULL, *geturl = NULL;
	struct apicall *c;
	int err;

	if (chan_is_hungup(ch)) {
		doneh(APP_HANGUP, arg);
		return 0;
	}
	str_ncpy(buf, data ? data : "", sizeof(buf));
	/* Empty fields count: "url,,data" has no app_name. data keeps commas. */
	argv[0] = buf;
	for (int i = 1; i < 3; i++) {
		char *comma = strchr(argv[i - 1], ',');

		if (!comma)
			break;
		*comma = '\0';
		argv[i] = comma + 1;
	}
	c = mem_zalloc(sizeof(*c), apicall_destructor);
	if (!c)
		return ENOMEM;
	c->ch = mem_ref(ch);
	c->kind = kind;
	c->doneh = doneh;
	c->arg = arg;
	c->started = tmr_jiffies();
	err = str_dup(&c->url, argv[0] ? argv[0] : "");
	if (err) {
		c->doneh = NULL;
		mem_deref(c);
		return err;
	}
	if (!url_ok(c->url)) {
		apicall_fail(c, "FAILED", "the first argument must be an http:// or https:// URL");
		return 0;
	}
	err = request_build(c, str_isset(argv[1]) ? argv[1] : kind_name(kind),
			    argv[2] ? argv[2] : "",
			    &o, &body, &geturl);
	if (!err)
		err = httpc_send(&c->req, dconf->httpc, &o, reply_h, c);
	free(body);
	mem_deref(geturl);
	if (err) {
		char why[80];

		(void)re_snprintf(why, sizeof(why), "cannot send the request: %m", err);
		apicall_fail(c, "FAILED", why);
		return 0;
	}
	chan_watch_add(ch, &c->w, chan_h, c);
	log_debug("dpapi: %s asking (channel=%s uniqueid=%s url=%s method=%s)",
		  kind_name(kind), chan_name(ch), chan_uniqueid(ch), c->url,
		  dconf->get ? "GET" : "POST");
	return 0;
}

static int app_trunkapi(struct chan *ch, const char *data, app_done_h *doneh, void *arg)
{
	return apicall_exec(DPAPI_TRUNK, ch, data, doneh, arg);
}

static int app_extenapi(struct chan *ch, const char *data, app_done_h *doneh, void *arg)
{
	return apicall_exec(DPAPI_EXTEN, ch, data, doneh, arg);
}

int apps_dpapi_register(const struct dpapi_conf *cf)
{
	int err;

	if (!cf || !cf->httpc)
		return EINVAL;
	dconf = cf;
	err = app_register("TrunkAPI", app_trunkapi);
	if (!err)
		err = app_register("ExtenAPI", app_extenapi);
	return err;
}
