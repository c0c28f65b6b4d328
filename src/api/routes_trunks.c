/* routes_trunks: Simotel's pbx/trunks/... over store/pbxtrunk, in the shape
 * of routes_pbx. A request is validated whole (the trunk's SIP settings are
 * built from it) before anything changes; the SIP side and the row change
 * together, and a failed row write puts the SIP side back. */
#include "core/rejansson.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "api/http.h"
#include "api/routes_trunks.h"
#include "core/log.h"
#include "sip/sipsrv.h"
#include "store/pbxtrunk.h"

#define MSG_DONE "Requested operation is done successfully"
#define MSG_FAILED "Requested operation failed"

enum ftype { F_TEXT, F_YESNO, F_DIGITS, F_CHOICE, F_INSECURE };

struct field {
	const char *name;
	enum ftype type;
	size_t max;
	const char *choices;
	const char *dflt;
};

/* Every Simotel trunk field but name. tamas acts on host, port, context,
 * active, register_string and more_options (username/secret/fromuser);
 * the rest is kept and shown. */
static const struct field fields[] = {
	{ "trunk_type",      F_CHOICE, 8,    "SIP",                              "SIP" },
	{ "register_string", F_TEXT,   255,  NULL,                               "" },
	{ "active",          F_YESNO,  3,    NULL,                               "yes" },
	{ "deny",            F_TEXT,   255,  NULL,                               "0.0.0.0/0.0.0.0" },
	{ "permit",          F_TEXT,   255,  NULL,                               "0.0.0.0/0.0.0.0" },
	{ "dtmfmode",        F_CHOICE, 8,    "rfc2833,rfc4733,info,inband,auto", "rfc2833" },
	{ "canreinvite",     F_YESNO,  3,    NULL,                               "no" },
	{ "directmedia",     F_YESNO,  3,    NULL,                               "no" },
	{ "context",         F_TEXT,   63,   NULL,                               "from_trunk" },
	{ "host",            F_TEXT,   63,   NULL,                               "" },
	{ "type",            F_CHOICE, 8,    "friend,user,peer",                 "peer" },
	{ "nat",             F_TEXT,   64,   NULL,                               "no" },
	{ "port",            F_DIGITS, 5,    NULL,                               "5060" },
	{ "qualify",         F_YESNO,  3,    NULL,                               "yes" },
	{ "insecure",        F_INSECURE, 12, "port, invite, port,invite",        "port,invite" },
	{ "disallow",        F_TEXT,   64,   NULL,                               "all" },
	{ "allow",           F_TEXT,   128,  NULL,                               "ulaw,alaw" },
	{ "more_options",    F_TEXT,   2048, NULL,                               "" },
	{ "description",     F_TEXT,   1024, NULL,                               "" },
};

#define ALNUM "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

/* A trunk as a request builds it, and the SIP settings derived from it. */
struct tform {
	char id[32];
	char name[64];
	json_t *attrs;              /* owned */
	bool active;
	char host[64], context[64], user[128], pass[128];
	struct trunk_conf tc;
};

static void store_failed(struct http_reply *rep, const char *what, int err)
{
	log_error("api: %s failed in the store: %m", what, err);
	http_reply_error(rep, 500, MSG_FAILED);
}

static bool charset_ok(const char *s, size_t max, const char *set)
{
	size_t n = strlen(s);

	return n && n <= max && strspn(s, set) == n;
}

static const char *attr(const json_t *attrs, const char *name)
{
	const char *v = json_string_value(json_object_get(attrs, name));

	return v ? v : "";
}

static int field_text(const struct http_req *req, struct http_reply *rep, const char *name,
		      char *buf, size_t sz)
{
	json_t *v = req->body ? json_object_get(req->body, name) : NULL;

	if (!v || json_is_null(v))
		return 0;
	if (json_is_string(v) && !json_string_length(v)) {
		buf[0] = '\0';
		return 1;
	}
	return http_arg_str(req, rep, name, false, buf, sz) ? -1 : 1;
}

static bool choice_ok(const char *choices, const char *v)
{
	size_t n = strlen(v);
	const char *p = choices;

	while (n && p && *p) {
		if (!strncmp(p, v, n) && (p[n] == ',' || p[n] == '\0'))
			return true;
		p = strchr(p, ',');
		p = p ? p + 1 : NULL;
	}
	return false;
}

static void attrs_complete(json_t *attrs)
{
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
		if (!json_is_string(json_object_get(attrs, fields[i].name)))
			(void)json_object_set_new(attrs, fields[i].name,
						  json_string(fields[i].dflt));
}

/* "key=value" lines of more_options: the value of key, or false. */
static bool option(const char *opts, const char *key, char *buf, size_t sz)
{
	size_t klen = strlen(key);

	for (const char *l = opts; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		size_t n;

		while (*l == ' ' || *l == '\t')
			l++;
		if (strncmp(l, key, klen))
			continue;
		l += klen;
		while (*l == ' ')
			l++;
		if (*l++ != '=')
			continue;
		while (*l == ' ')
			l++;
		n = strcspn(l, "\r\n");
		while (n && (l[n - 1] == ' ' || l[n - 1] == '\t'))
			n--;
		if (n >= sz)
			return false;
		memcpy(buf, l, n);
		buf[n] = '\0';
		return true;
	}
	return false;
}

/* The SIP side of f from its attrs. 0, or EINVAL with rep filled. */
static int tform_derive(struct http_reply *rep, struct tform *f)
{
	const char *rs = attr(f->attrs, "register_string");
	const char *opts = attr(f->attrs, "more_options");
	const char *port = attr(f->attrs, "port");
	struct sa sa;
	long p = port[0] ? strtol(port, NULL, 10) : 5060;

	f->active = strcmp(attr(f->attrs, "active"), "no") != 0;
	str_ncpy(f->host, attr(f->attrs, "host"), sizeof(f->host));
	str_ncpy(f->context, attr(f->attrs, "context"), sizeof(f->context));
	if (!f->context[0])
		str_ncpy(f->context, "from_trunk", sizeof(f->context));
	if (p < 1 || p > 65535) {
		http_reply_fail(rep, "Field 'port': expected 1..65535");
		return EINVAL;
	}
	/* Trunks are matched by source address: the host must be one. */
	if (!f->host[0] || sa_set_str(&sa, f->host, (uint16_t)p)) {
		http_reply_fail(rep, "Field 'host': expected the provider's IP address");
		return EINVAL;
	}
	if (!charset_ok(f->context, sizeof(f->context) - 1, ALNUM "_-.")) {
		http_reply_fail(rep, "Field 'context': use letters, digits and _ - . only");
		return EINVAL;
	}
	f->user[0] = f->pass[0] = '\0';
	if (!option(opts, "username", f->user, sizeof(f->user)))
		(void)option(opts, "fromuser", f->user, sizeof(f->user));
	(void)option(opts, "secret", f->pass, sizeof(f->pass));
	f->tc = (struct trunk_conf){ .name = f->name, .host = f->host, .context = f->context,
				     .port = (uint16_t)p, .expires = 300 };
	if (rs[0]) {
		/* Asterisk's register => user:secret@host[:port][/exten]. */
		const char *colon = strchr(rs, ':'), *at = strrchr(rs, '@');

		if (!colon || !at || colon > at || colon == rs || at == colon + 1
		    || (size_t)(colon - rs) >= sizeof(f->user)
		    || (size_t)(at - colon - 1) >= sizeof(f->pass)) {
			http_reply_fail(rep, "Field 'register_string': expected "
					"user:secret@host/extension");
			return EINVAL;
		}
		memcpy(f->user, rs, (size_t)(colon - rs));
		f->user[colon - rs] = '\0';
		memcpy(f->pass, colon + 1, (size_t)(at - colon - 1));
		f->pass[at - colon - 1] = '\0';
		f->tc.reg = true;
	}
	f->tc.username = f->user[0] ? f->user : NULL;
	f->tc.password = f->pass[0] ? f->pass : NULL;
	return 0;
}

/* Reads the request over f (defaults for add, the stored row for update). */
static int tform_read(const struct http_req *req, struct http_reply *rep, struct tform *f,
		      bool adding)
{
	char buf[2049];
	int r;

	r = field_text(req, rep, "name", buf, sizeof(f->name) + 1);
	if (r < 0)
		return EINVAL;
	if ((r == 0 && adding) || (r == 1 && !buf[0])) {
		http_reply_fail(rep, "Field 'name':value is missing");
		return EINVAL;
	}
	if (r == 1) {
		/* The name goes into Dial strings: SIP/<name>/<number>. */
		if (!charset_ok(buf, sizeof(f->name) - 1, ALNUM "_-.")) {
			http_reply_fail(rep, "Field 'name': use letters, digits and _ - . only "
					"(at most %zu)", sizeof(f->name) - 1);
			return EINVAL;
		}
		str_ncpy(f->name, buf, sizeof(f->name));
	}
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
		const struct field *fd = &fields[i];
		bool ok;

		r = field_text(req, rep, fd->name, buf, fd->max + 1);
		if (r < 0)
			return EINVAL;
		if (r == 0)
			continue;
		switch (fd->type) {
		case F_YESNO:  ok = !strcmp(buf, "yes") || !strcmp(buf, "no"); break;
		case F_DIGITS: ok = !*buf || charset_ok(buf, fd->max, "0123456789"); break;
		case F_CHOICE: ok = choice_ok(fd->choices, buf); break;
		case F_INSECURE:
			ok = !*buf || !strcmp(buf, "port") || !strcmp(buf, "invite")
				|| !strcmp(buf, "port,invite") || !strcmp(buf, "invite,port");
			break;
		default:       ok = true; break;
		}
		if (!ok) {
			if (fd->type == F_YESNO)
				http_reply_fail(rep, "Field '%s': expected yes or no", fd->name);
			else if (fd->type == F_DIGITS)
				http_reply_fail(rep, "Field '%s': expected a number", fd->name);
			else
				http_reply_fail(rep, "Field '%s': expected one of %s", fd->name,
						fd->choices);
			return EINVAL;
		}
		(void)json_object_set_new(f->attrs, fd->name, json_string(buf));
	}
	return tform_derive(rep, f);
}

static json_t *trunk_json(const struct pbxtrunk *t)
{
	json_t *o = json_object(), *attrs = json_loads(t->attrs, 0, NULL);

	if (!json_is_object(attrs)) {
		json_decref(attrs);
		attrs = json_object();
	}
	if (!o || !attrs) {
		json_decref(o);
		json_decref(attrs);
		return NULL;
	}
	attrs_complete(attrs);
	(void)json_object_set_new(o, "_id", json_string(t->id));
	(void)json_object_update(o, attrs);
	(void)json_object_set_new(o, "name", json_string(t->name));
	(void)json_object_set_new(o, "date", json_string(t->created));
	json_decref(attrs);
	return o;
}

static int id_read(const struct http_req *req, struct http_reply *rep, char *buf, size_t sz)
{
	int err = http_arg_str(req, rep, "_id", false, buf, sz);

	if (err == ENOENT)
		err = http_arg_str(req, rep, "id_", false, buf, sz);
	if (err == ENOENT)
		http_reply_fail(rep, "Field '_id':value is missing");
	return err;
}

static int json_h(const struct pbxtrunk *t, void *arg)
{
	json_t **out = arg;

	*out = trunk_json(t);
	return *out ? 0 : ENOMEM;
}

/* The row as search shows it; NULL if gone. */
static json_t *trunk_fetch(struct store *st, const char *id)
{
	json_t *o = NULL;

	return pbxtrunk_get(st, id, json_h, &o) ? NULL : o;
}

static void emit(struct routes_trunks *rt, const char *event, json_t *data)
{
	if (rt->event_h && data)
		rt->event_h(event, data, rt->arg);
}

static int apply(struct routes_trunks *rt, const struct tform *f)
{
	return f->active ? rt->apply_h(f->name, &f->tc, rt->arg) : 0;
}

static void unapply(struct routes_trunks *rt, const struct tform *f)
{
	if (f->active)
		(void)rt->apply_h(f->name, NULL, rt->arg);
}

static void trunks_add_h(const struct http_req *req, struct http_reply *rep, void *arg)
{
	struct routes_trunks *rt = arg;
	struct tform f = { .id = "" };
	struct pbxtrunk t;
	char *attrs = NULL;
	int err;

	f.attrs = json_object();
	if (!f.attrs) {
		http_reply_error(rep, 500, MSG_FAILED);
		return;
	}
	attrs_complete(f.attrs);
	if (tform_read(req, rep, &f, true))
		goto out;
	if (rt->exists_h(f.name, rt->arg)) {
		http_reply_fail(rep, "This trunk already exists");
		goto out;
	}
	attrs = json_dumps(f.attrs, JSON_COMPACT);
	if (!attrs) {
		http_reply_error(rep, 500, MSG_FAILED);
		goto out;
	}
	err = apply(rt, &f);
	if (err) {
		log_error("api: cannot put trunk %s in service: %m", f.name, err);
		http_reply_error(rep, 500, MSG_FAILED);
		goto out;
	}
	t = (struct pbxtrunk){ .name = f.name, .attrs = attrs };
	err = pbxtrunk_add(rt->store, &t, f.id, sizeof(f.id));
	if (err) {
		unapply(rt, &f);
		if (err == EEXIST)
			http_reply_fail(rep, "This trunk already exists");
		else
			store_failed(rep, "pbx/trunks/add", err);
		goto out;
	}
	log_info("api: trunk added (name=%s host=%s:%u context=%s active=%s register=%s id=%s "
		 "by=%s)", f.name, f.host, f.tc.port, f.context, f.active ? "yes" : "no",
		 f.tc.reg ? "yes" : "no", f.id, req->user);
	http_reply_ok(rep, MSG_DONE, json_pack("{s:s}", "_id", f.id));
	if (rt->event_h) {
		json_t *ev = trunk_fetch(rt->store, f.id);

		emit(rt, "TrunkAdded", ev);
		json_decref(ev);
	}
 out:
	free(attrs);
	json_decref(f.attrs);
}

static int tform_load_h(const struct pbxtrunk *t, void *arg)
{
	struct tform *f = arg;

	str_ncpy(f->id, t->id, sizeof(f->id));
	str_ncpy(f->name, t->name, sizeof(f->name));
	f->attrs = json_loads(t->attrs, 0, NULL);
	if (!json_is_object(f->attrs)) {
		json_decref(f->attrs);
		f->attrs = json_object();
	}
	if (!f->attrs)
		return ENOMEM;
	attrs_complete(f->attrs);
	return 0;
}

/* The stored row's SIP settings (as it runs now). */
static int tform_load(struct routes_trunks *rt, struct http_reply *rep, const char *id,
		      struct tform *f, const char *what)
{
	int err = pbxtrunk_get(rt->store, id, tform_load_h, f);

	if (err == ENOENT)
		http_reply_fail(rep, "No trunk with this _id");
	else if (err)
		store_failed(rep, what, err);
	else if (tform_derive(NULL, f))
		f->active = false;      /* a row that never could run */
	return err;
}

static void trunks_update_h(const struct http_req *req, struct http_reply *rep, void *arg)
{
	struct routes_trunks *rt = arg;
	struct tform old = { .id = "" }, f = { .id = "" };
	struct pbxtrunk t;
	char *attrs = NULL;
	int err;

	if (id_read(req, rep, f.id, sizeof(f.id)))
		return;
	if (tform_load(rt, rep, f.id, &old, "pbx/trunks/update"))
		goto out;
	if (tform_load(rt, rep, f.id, &f, "pbx/trunks/update"))
		goto out;
	if (tform_read(req, rep, &f, false))
		goto out;
	if (strcmp(f.name, old.name) && rt->exists_h(f.name, rt->arg)) {
		http_reply_fail(rep, "This trunk already exists");
		goto out;
	}
	attrs = json_dumps(f.attrs, JSON_COMPACT);
	if (!attrs) {
		http_reply_error(rep, 500, MSG_FAILED);
		goto out;
	}
	unapply(rt, &old);
	err = apply(rt, &f);
	if (!err) {
		t = (struct pbxtrunk){ .id = f.id, .name = f.name, .attrs = attrs };
		err = pbxtrunk_update(rt->store, &t);
		if (err)
			unapply(rt, &f);
	}
	if (err) {
		(void)apply(rt, &old);  /* as it was */
		if (err == EEXIST)
			http_reply_fail(rep, "This trunk already exists");
		else if (err == ENOENT)
			http_reply_fail(rep, "No trunk with this _id");
		else
			store_failed(rep, "pbx/trunks/update", err);
		goto out;
	}
	log_info("api: trunk updated (name=%s host=%s:%u context=%s active=%s id=%s by=%s)",
		 f.name, f.host, f.tc.port, f.context, f.active ? "yes" : "no", f.id, req->user);
	http_reply_ok(rep, MSG_DONE, json_string(""));
 out:
	free(attrs);
	json_decref(old.attrs);
	json_decref(f.attrs);
}

static void trunks_remove_h(const struct http_req *req, struct http_reply *rep, void *arg)
{
	struct routes_trunks *rt = arg;
	struct tform f = { .id = "" };
	json_t *ev = NULL;
	int err;

	if (id_read(req, rep, f.id, sizeof(f.id)))
		return;
	if (tform_load(rt, rep, f.id, &f, "pbx/trunks/remove"))
		goto out;
	ev = rt->event_h ? trunk_fetch(rt->store, f.id) : NULL;
	err = pbxtrunk_del(rt->store, f.id);
	if (err == ENOENT)
		http_reply_fail(rep, "No trunk with this _id");
	else if (err)
		store_failed(rep, "pbx/trunks/remove", err);
	else {
		unapply(rt, &f);
		log_info("api: trunk removed (name=%s id=%s by=%s)", f.name, f.id, req->user);
		http_reply_ok(rep, MSG_DONE, json_string(""));
		emit(rt, "TrunkRemoved", ev);
	}
 out:
	json_decref(ev);
	json_decref(f.attrs);
}

static int search_row_h(const struct pbxtrunk *t, void *arg)
{
	json_t *o = trunk_json(t);

	return o ? json_array_append_new(arg, o) ? ENOMEM : 0 : ENOMEM;
}

static void trunks_search_h(const struct http_req *req, struct http_reply *rep, void *arg)
{
	struct routes_trunks *rt = arg;
	json_t *cond = req->body ? json_object_get(req->body, "conditions") : NULL, *rows;
	struct http_req creq = *req;
	char name[64];
	bool alike;
	int err;

	if (http_arg_bool(req, rep, "alike", true, &alike))
		return;
	creq.body = NULL;
	if (cond && !json_is_null(cond)) {
		if (!json_is_object(cond)) {
			http_reply_fail(rep, "Field 'conditions': expected an object");
			return;
		}
		creq.body = cond;
	}
	if (http_arg_str(&creq, rep, "name", false, name, sizeof(name)) == EINVAL)
		return;
	rows = json_array();
	if (!rows) {
		http_reply_error(rep, 500, MSG_FAILED);
		return;
	}
	err = pbxtrunk_search(rt->store, name, alike, search_row_h, rows);
	if (err) {
		json_decref(rows);
		store_failed(rep, "pbx/trunks/search", err);
		return;
	}
	http_reply_ok(rep, "", rows);
}

int routes_trunks_register(struct http *h, struct routes_trunks *rt)
{
	int err;

	if (!h || !rt || !rt->store || !rt->apply_h || !rt->exists_h)
		return EINVAL;
	err = http_route_add(h, "POST", "pbx/trunks/add", NULL, trunks_add_h, rt);
	err = err ? err : http_route_add(h, "POST", "pbx/trunks/search", NULL, trunks_search_h,
					 rt);
	err = err ? err : http_route_add(h, "POST", "pbx/trunks/update", NULL, trunks_update_h,
					 rt);
	err = err ? err : http_route_add(h, "POST", "pbx/trunks/remove", NULL, trunks_remove_h,
					 rt);
	return err;
}

static int load_h(const struct pbxtrunk *t, void *arg)
{
	struct routes_trunks *rt = arg;
	struct tform f = { .id = "" };
	int err = tform_load_h(t, &f);

	if (err)
		return err;
	if (tform_derive(NULL, &f))
		log_warn("api: stored trunk not usable, skipped (name=%s id=%s)", f.name, f.id);
	else if (f.active && rt->exists_h(f.name, rt->arg))
		log_warn("api: stored trunk skipped: tamas.conf has a trunk of that name (name=%s "
			 "id=%s)", f.name, f.id);
	else if ((err = apply(rt, &f)) != 0)
		log_warn("api: stored trunk not started (name=%s id=%s err=%m)", f.name, f.id,
			 err);
	else if (f.active)
		log_info("api: stored trunk started (name=%s host=%s:%u context=%s)", f.name,
			 f.host, f.tc.port, f.context);
	json_decref(f.attrs);
	return 0;
}

int routes_trunks_load(struct routes_trunks *rt)
{
	if (!rt || !rt->store || !rt->apply_h || !rt->exists_h)
		return EINVAL;
	return pbxtrunk_search(rt->store, NULL, false, load_h, rt);
}
