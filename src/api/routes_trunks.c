/* routes_trunks: a request is read whole and turned into a trunk_conf
 * before anything is stored, so a refused request changes nothing; the
 * store is written first and SIP follows, and a SIP refusal undoes the
 * write. */
#include "core/rejansson.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "api/apiform.h"
#include "api/http.h"
#include "api/routes_trunks.h"
#include "api/webhook.h"
#include "core/log.h"
#include "sip/sipsrv.h"
#include "store/trunkrep.h"

#define MSG_DONE "Requested operation is done successfully"
#define MSG_FAILED "Requested operation failed"
#define NAME_SET APIFORM_ALNUM "_-."

/* Stored and shown back; the ones tamas acts on are read by tconf_from(). */
static const struct apiform_field fields[] = {
	{ "trunk_type",      APIFORM_CHOICE, 8,    "SIP",                   "SIP" },
	{ "register_string", APIFORM_TEXT,   255,  NULL,                    "" },
	{ "active",          APIFORM_YESNO,  3,    NULL,                    "yes" },
	{ "deny",            APIFORM_TEXT,   255,  NULL,                    "0.0.0.0/0.0.0.0" },
	{ "permit",          APIFORM_TEXT,   255,  NULL,                    "0.0.0.0/0.0.0.0" },
	{ "dtmfmode",        APIFORM_CHOICE, 8,    "rfc2833,rfc4733,info,inband,auto", "rfc2833" },
	{ "canreinvite",     APIFORM_YESNO,  3,    NULL,                    "no" },
	{ "directmedia",     APIFORM_YESNO,  3,    NULL,                    "no" },
	{ "context",         APIFORM_TEXT,   63,   NULL,                    "from_trunk" },
	{ "host",            APIFORM_TEXT,   63,   NULL,                    "" },
	{ "type",            APIFORM_CHOICE, 8,    "user,peer,friend",      "peer" },
	{ "nat",             APIFORM_TEXT,   64,   NULL,                    "no" },
	{ "port",            APIFORM_DIGITS, 5,    NULL,                    "5060" },
	{ "qualify",         APIFORM_YESNO,  3,    NULL,                    "no" },
	{ "insecure",        APIFORM_TEXT,   16,   NULL,                    "port,invite" },
	{ "disallow",        APIFORM_TEXT,   64,   NULL,                    "all" },
	{ "allow",           APIFORM_TEXT,   64,   NULL,                    "ulaw,alaw" },
	{ "more_options",    APIFORM_TEXT,   2048, NULL,                    "" },
	{ "description",     APIFORM_TEXT,   1024, NULL,                    "" },
};

/* What SIP gets, with room for the strings trunk_conf points at. */
struct tconf {
	struct trunk_conf tc;
	char user[64], pass[128];
};

static const char *attr(json_t *o, const char *name)
{
	const char *v = json_string_value(json_object_get(o, name));

	return v ? v : "";
}

/* `user:secret@host[:port][/ext]`, Asterisk's register => line. */
static int regstr_parse(const char *s, struct tconf *t)
{
	const char *colon = strchr(s, ':'), *at = strrchr(s, '@');

	if (!colon || !at || colon > at || colon == s || at == colon + 1 || !at[1])
		return EINVAL;
	if ((size_t)(colon - s) >= sizeof(t->user) || (size_t)(at - colon - 1) >= sizeof(t->pass))
		return EINVAL;
	memcpy(t->user, s, (size_t)(colon - s));
	t->user[colon - s] = '\0';
	memcpy(t->pass, colon + 1, (size_t)(at - colon - 1));
	t->pass[at - colon - 1] = '\0';
	return 0;
}

/* more_options lines `username=` / `secret=` (digest for a static peer). */
static void more_options(const char *s, struct tconf *t)
{
	while (s && *s) {
		const char *eol = strchr(s, '\n');
		size_t len = eol ? (size_t)(eol - s) : strlen(s);
		char *dst = NULL;
		size_t sz = 0, k = 0;

		if (len > 9 && !strncmp(s, "username=", 9)) {
			dst = t->user; sz = sizeof(t->user); k = 9;
		}
		else if (len > 7 && !strncmp(s, "secret=", 7)) {
			dst = t->pass; sz = sizeof(t->pass); k = 7;
		}
		if (dst && len - k < sz) {
			memcpy(dst, s + k, len - k);
			dst[len - k] = '\0';
			if (len - k && dst[len - k - 1] == '\r')
				dst[len - k - 1] = '\0';
		}
		s = eol ? eol + 1 : NULL;
	}
}

/* The stored object as SIP's trunk_conf; EINVAL names the field in why. */
static int tconf_from(json_t *o, struct tconf *t, const char **why)
{
	const char *reg = attr(o, "register_string");
	struct sa sa;
	long port = strtol(attr(o, "port"), NULL, 10);

	memset(t, 0, sizeof(*t));
	t->tc.name = attr(o, "name");
	t->tc.host = attr(o, "host");
	t->tc.context = attr(o, "context");
	*why = "host";
	if (sa_set_str(&sa, t->tc.host, 5060))
		return EINVAL;
	*why = "port";
	if (port < 1 || port > 65535)
		return EINVAL;
	t->tc.port = (uint16_t)port;
	*why = "context";
	if (!apiform_charset_ok(t->tc.context, 63, NAME_SET))
		return EINVAL;
	more_options(attr(o, "more_options"), t);
	if (*reg) {
		*why = "register_string";
		if (regstr_parse(reg, t))
			return EINVAL;
		t->tc.reg = true;
		t->tc.expires = 300;
	}
	t->tc.username = t->user[0] ? t->user : NULL;
	t->tc.password = t->pass[0] ? t->pass : NULL;
	return 0;
}

static bool active(json_t *o)
{
	return strcmp(attr(o, "active"), "no") != 0;
}

/* --- events ---------------------------------------------------------------- */

static void emit(struct routes_trunks *rt, const char *event, json_t *o)
{
	char now[32];
	json_t *ev;

	if (!rt->event_h)
		return;
	(void)webhook_epoch_now(now, sizeof(now));
	ev = json_pack("{s:s,s:s}", "trunk_name", attr(o, "name"), "date", now);
	if (ev && !strcmp(event, "TrunkAdded")) {
		const char *state = !active(o) ? "Deactivate"
			: *attr(o, "register_string") ? "Unavailable" : "Ok";

		(void)json_object_set_new(ev, "state", json_string(state));
		(void)json_object_set_new(ev, "trunk_type", json_string("SIP"));
		(void)json_object_set_new(ev, "last_time", json_string(now));
		(void)json_object_set_new(ev, "last_time_sec", json_integer(0));
	}
	if (ev)
		rt->event_h(event, ev, rt->event_arg);
	json_decref(ev);
}

/* --- requests -------------------------------------------------------------- */

/* Reads the request over o (defaults for add, the stored object for
 * update) and checks it can be put in service. 0, or EINVAL with rep filled. */
static int form_read(struct routes_trunks *rt, const struct http_req *req,
		     struct http_reply *rep, json_t *o, bool adding)
{
	char name[64];
	struct tconf t;
	const char *why;
	int r = apiform_key(req, rep, "name", name, sizeof(name), adding);

	if (r < 0)
		return EINVAL;
	if (r == 1) {
		if (!apiform_charset_ok(name, sizeof(name) - 1, NAME_SET)) {
			http_reply_fail(rep, "Field 'name': use letters, digits and _ - . only");
			return EINVAL;
		}
		if (rt->conf_h && rt->conf_h(name, rt->arg)) {
			http_reply_fail(rep, "This trunk already exists");
			return EINVAL;
		}
		(void)json_object_set_new(o, "name", json_string(name));
	}
	if (apiform_read_fields(req, rep, fields, ARRAY_SIZE(fields), o))
		return EINVAL;
	apiform_complete(o, fields, ARRAY_SIZE(fields));
	if (!*attr(o, "host")) {
		http_reply_fail(rep, "Field 'host':value is missing");
		return EINVAL;
	}
	if (tconf_from(o, &t, &why)) {
		http_reply_fail(rep, "Field '%s': %s", why,
				!strcmp(why, "host") ? "expected an IP address"
				: !strcmp(why, "register_string") ? "expected user:secret@host/extension"
				: "invalid value");
		return EINVAL;
	}
	return 0;
}

static int put_in_service(struct routes_trunks *rt, json_t *o)
{
	struct tconf t;
	const char *why;

	if (!active(o)) {
		(void)rt->apply_h(attr(o, "name"), NULL, rt->arg);   /* may not be in use */
		return 0;
	}
	if (tconf_from(o, &t, &why))
		return EINVAL;
	return rt->apply_h(t.tc.name, &t.tc, rt->arg);
}

static void trunks_add_h(const struct http_req *req, struct http_reply *rep, void *arg)
{
	struct routes_trunks *rt = arg;
	json_t *o = json_object();
	char id[32], *body = NULL;
	int err;

	if (!o || form_read(rt, req, rep, o, true))
		goto out;
	body = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	err = body ? trunkrep_add(rt->store, attr(o, "name"), body, id, sizeof(id)) : ENOMEM;
	if (err == EEXIST) {
		http_reply_fail(rep, "This trunk already exists");
		goto out;
	}
	if (!err) {
		err = put_in_service(rt, o);
		if (err)
			(void)trunkrep_remove(rt->store, id);
	}
	if (err) {
		log_warn("api: cannot add trunk %s: %m", attr(o, "name"), err);
		http_reply_error(rep, 500, MSG_FAILED);
		goto out;
	}
	log_info("api: trunk added (name=%s id=%s by=%s)", attr(o, "name"), id, req->user);
	http_reply_ok(rep, MSG_DONE, json_pack("{s:s}", "_id", id));
	emit(rt, "TrunkAdded", o);
 out:
	free(body);
	json_decref(o);
}

static int load_h(const struct trunkrep *t, void *arg)
{
	json_t **out = arg;

	*out = json_loads(t->body, 0, NULL);
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return EINVAL;
	}
	(void)json_object_set_new(*out, "_id", json_string(t->id));
	(void)json_object_set_new(*out, "date", json_string(t->created));
	return 0;
}

/* The stored trunk id, or NULL (rep filled). */
static json_t *fetch(struct routes_trunks *rt, struct http_reply *rep, const char *id)
{
	json_t *o = NULL;
	int err = trunkrep_get(rt->store, id, load_h, &o);

	if (err == ENOENT)
		http_reply_fail(rep, "No trunk with this _id");
	else if (err)
		http_reply_error(rep, 500, MSG_FAILED);
	return err ? NULL : o;
}

static void trunks_update_h(const struct http_req *req, struct http_reply *rep, void *arg)
{
	struct routes_trunks *rt = arg;
	char id[32], old[64], *body = NULL;
	json_t *o;
	int err;

	if (apiform_id(req, rep, id, sizeof(id)) || !(o = fetch(rt, rep, id)))
		return;
	str_ncpy(old, attr(o, "name"), sizeof(old));
	if (form_read(rt, req, rep, o, false))
		goto out;
	(void)json_object_del(o, "_id");
	(void)json_object_del(o, "date");
	body = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	err = body ? trunkrep_update(rt->store, id, attr(o, "name"), body) : ENOMEM;
	if (err == EEXIST) {
		http_reply_fail(rep, "This trunk already exists");
		goto out;
	}
	if (!err) {
		if (strcmp(old, attr(o, "name")))
			(void)rt->apply_h(old, NULL, rt->arg);
		err = put_in_service(rt, o);
	}
	if (err) {
		log_warn("api: cannot update trunk %s: %m", attr(o, "name"), err);
		http_reply_error(rep, 500, MSG_FAILED);
		goto out;
	}
	log_info("api: trunk updated (name=%s id=%s by=%s)", attr(o, "name"), id, req->user);
	http_reply_ok(rep, MSG_DONE, json_string(""));
 out:
	free(body);
	json_decref(o);
}

static void trunks_remove_h(const struct http_req *req, struct http_reply *rep, void *arg)
{
	struct routes_trunks *rt = arg;
	char id[32];
	json_t *o;
	int err;

	if (apiform_id(req, rep, id, sizeof(id)) || !(o = fetch(rt, rep, id)))
		return;
	err = trunkrep_remove(rt->store, id);
	if (err) {
		http_reply_error(rep, 500, MSG_FAILED);
	}
	else {
		(void)rt->apply_h(attr(o, "name"), NULL, rt->arg);
		log_info("api: trunk removed (name=%s id=%s by=%s)", attr(o, "name"), id,
			 req->user);
		http_reply_ok(rep, MSG_DONE, json_string(""));
		emit(rt, "TrunkRemoved", o);
	}
	json_decref(o);
}

static int search_row_h(const struct trunkrep *t, void *arg)
{
	json_t *o = NULL;

	if (load_h(t, &o))
		return 0;           /* an unreadable row is skipped, not fatal */
	apiform_complete(o, fields, ARRAY_SIZE(fields));
	return json_array_append_new(arg, o) ? ENOMEM : 0;
}

static void trunks_search_h(const struct http_req *req, struct http_reply *rep, void *arg)
{
	struct routes_trunks *rt = arg;
	struct http_req creq = *req;
	char name[64] = "";
	json_t *cond, *rows;
	bool alike;
	int err;

	if (http_arg_bool(req, rep, "alike", true, &alike))
		return;
	cond = req->body ? json_object_get(req->body, "conditions") : NULL;
	if (cond && !json_is_null(cond)) {
		if (!json_is_object(cond)) {
			http_reply_fail(rep, "Field 'conditions': expected an object");
			return;
		}
		creq.body = cond;
		err = http_arg_str(&creq, rep, "name", false, name, sizeof(name));
		if (err && err != ENOENT)
			return;
	}
	rows = json_array();
	err = rows ? trunkrep_each(rt->store, name, alike, search_row_h, rows) : ENOMEM;
	if (err) {
		json_decref(rows);
		http_reply_error(rep, 500, MSG_FAILED);
		return;
	}
	http_reply_ok(rep, MSG_DONE, rows);
}

int routes_trunks_register(struct http *h, struct routes_trunks *rt)
{
	int err;

	if (!h || !rt || !rt->store || !rt->apply_h)
		return EINVAL;
	err = http_route_add(h, "POST", "pbx/trunks/add", NULL, trunks_add_h, rt);
	err = err ? err : http_route_add(h, "POST", "pbx/trunks/search", NULL, trunks_search_h, rt);
	err = err ? err : http_route_add(h, "POST", "pbx/trunks/update", NULL, trunks_update_h, rt);
	err = err ? err : http_route_add(h, "POST", "pbx/trunks/remove", NULL, trunks_remove_h, rt);
	return err;
}

static int load_row_h(const struct trunkrep *t, void *arg)
{
	struct routes_trunks *rt = arg;
	json_t *o = NULL;
	int err;

	if (load_h(t, &o)) {
		log_warn("api: stored trunk %s is unreadable; skipped (id=%s)", t->name, t->id);
		return 0;
	}
	if (rt->conf_h && rt->conf_h(t->name, rt->arg))
		log_warn("api: stored trunk %s is also in tamas.conf; the config's wins", t->name);
	else if (active(o) && (err = put_in_service(rt, o)))
		log_warn("api: stored trunk %s cannot be used: %m", t->name, err);
	json_decref(o);
	return 0;
}

int routes_trunks_load(struct routes_trunks *rt)
{
	if (!rt || !rt->store || !rt->apply_h)
		return EINVAL;
	return trunkrep_each(rt->store, NULL, 0, load_row_h, rt);
}
