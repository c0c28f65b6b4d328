/* routes_cbdef: pbx/callbacks/add|update|remove|search (see the header).
 * A definition is checked whole (cbconf_parse, then callback_add or
 * callback_update) before the store runs; a store failure puts the module
 * back as it was, so nothing is half-created. */
#include "core/rejansson.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "api/apiform.h"
#include "api/http.h"
#include "api/routes_cbdef.h"
#include "pbx/dest.h"
#include "core/log.h"
#include "pbx/callback.h"
#include "pbx/cbconf.h"
#include "store/cbdef.h"

#define MSG_DONE "Requested operation is done successfully"

enum { KEY_MAX = 32, CBNAME_SZ = 64 };

static const char *cbkey_get(const char *key, void *arg)
{
	return json_string_value(json_object_get(arg, key));
}

/* The body's callback fields into conf as text (null removes one, so an
 * update can go back to the default). 0, or EINVAL with rep filled. */
static int fields_read(const struct http_req *req, struct http_reply *rep, json_t *conf)
{
	const char *key;
	json_t *v;

	json_object_foreach(req->body, key, v) {
		char lk[KEY_MAX], num[24];
		const char *text;
		size_t i;

		if (!strcmp(key, "name") || !strcmp(key, "_id") || !strcmp(key, "id_"))
			continue;
		if (strlen(key) >= sizeof(lk) || !cbconf_key_known(key)) {
			http_reply_fail(rep, "Field '%s': not a callback field", key);
			return EINVAL;
		}
		for (i = 0; key[i]; i++)
			lk[i] = (char)(key[i] >= 'A' && key[i] <= 'Z' ? key[i] + 32 : key[i]);
		lk[i] = '\0';
		if (json_is_null(v)) {
			(void)json_object_del(conf, lk);
			continue;
		}
		if (json_is_string(v)) {
			text = json_string_value(v);
		}
		else if (json_is_integer(v)) {
			(void)re_snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
			text = num;
		}
		else if (json_is_boolean(v)) {
			text = json_is_true(v) ? "yes" : "no";
		}
		else {
			http_reply_fail(rep, "Field '%s': expected a string, an integer or "
					"true/false", key);
			return EINVAL;
		}
		if (json_object_set_new(conf, lk, json_string(text)))
			return ENOMEM;
	}
	return 0;
}

static char *conf_text(const json_t *conf)
{
	return json_dumps(conf, JSON_COMPACT | JSON_SORT_KEYS);
}

/* The exits must name modules that exist, as tamas.conf's are checked at
 * start (a callback may name itself: it is checked once it is added). */
static int exits_check(const struct routes_cbdef *rc, const struct callback_conf *cf,
		       char *why, size_t whysz)
{
	const char *key[2] = { "next", "error" }, *v[2] = { cf->next, cf->error };
	char dwhy[160];

	for (int i = 0; i < 2 && rc->dests; i++) {
		if (!v[i] || !*v[i] || !dest_check(rc->dests, v[i], dwhy, sizeof(dwhy)))
			continue;
		if (!strncmp(v[i], "callback:", 9) && !strcmp(v[i] + 9, cf->name))
			continue;
		(void)re_snprintf(why, whysz, "%s: %s", key[i], dwhy);
		return EINVAL;
	}
	return 0;
}

static void add_h(const struct http_req *req, struct http_reply *rep, void *arg)
{
	struct routes_cbdef *rc = arg;
	char name[CBNAME_SZ], why[200] = "", id[32];
	json_t *conf = json_object();
	struct callback_conf cf;
	char *text = NULL;
	int err;

	if (!conf) {
		http_reply_error(rep, 500, "Requested operation failed");
		return;
	}
	if (http_arg_str(req, rep, "name", true, name, sizeof(name)) ||
	    fields_read(req, rep, conf))
		goto out;
	err = cbconf_parse(&cf, name, cbkey_get, conf, why, sizeof(why));
	if (!err)
		err = exits_check(rc, &cf, why, sizeof(why));
	if (!err)
		err = callback_add(rc->callbacks, &cf, why, sizeof(why));
	if (err) {
		http_reply_fail(rep, "%s", why);
		goto out;
	}
	text = conf_text(conf);
	err = text ? cbdef_add(rc->store, name, text, id, sizeof(id)) : ENOMEM;
	if (err) {
		(void)callback_remove(rc->callbacks, name);
		if (err == EEXIST)
			http_reply_fail(rep, "name: a callback of that name already exists");
		else
			apiform_store_failed(rep, "pbx/callbacks/add", err);
		goto out;
	}
	log_info("api: callback added (name=%s id=%s)", name, id);
	http_reply_ok(rep, MSG_DONE, json_pack("{s:s}", "_id", id));
 out:
	free(text);
	json_decref(conf);
}

/* A stored definition, found by _id or else by name. */
struct found {
	const char *id, *name;       /* what was asked for; one may be "" */
	char fid[32], fname[CBNAME_SZ];
	json_t *conf;                /* owned; NULL: not found */
};

static int find_h(const struct cbdef_rec *r, void *arg)
{
	struct found *f = arg;

	if (f->conf || (f->id[0] ? strcmp(r->id, f->id) : strcmp(r->name, f->name)))
		return 0;
	f->conf = json_loads(r->conf, 0, NULL);
	if (!f->conf)
		f->conf = json_object();   /* unreadable: treated as empty */
	str_ncpy(f->fid, r->id, sizeof(f->fid));
	str_ncpy(f->fname, r->name, sizeof(f->fname));
	return f->conf ? 0 : ENOMEM;
}

static int is_named_h(const struct callback_conf *cf, void *arg)
{
	return !strcmp(cf->name, arg) ? EEXIST : 0;
}

/* Reads _id (or id_) or name and finds the stored definition. 0, or an
 * errno with rep filled: none given, none stored, or one of tamas.conf. */
static int resolve(const struct http_req *req, struct http_reply *rep,
		   struct routes_cbdef *rc, const char *what, char *id, char *name,
		   struct found *f)
{
	int err = http_arg_str(req, rep, "_id", false, id, 32);

	if (err == ENOENT)
		err = http_arg_str(req, rep, "id_", false, id, 32);
	if (err && err != ENOENT)
		return err;
	err = http_arg_str(req, rep, "name", false, name, CBNAME_SZ);
	if (err && err != ENOENT)
		return err;
	if (!id[0] && !name[0]) {
		http_reply_fail(rep, "Field '_id':value is missing");
		return EINVAL;
	}
	f->id = id;
	f->name = name;
	err = cbdef_list(rc->store, find_h, f);
	if (err) {
		apiform_store_failed(rep, what, err);
		return err;
	}
	if (f->conf)
		return 0;
	/* tamas.conf's callbacks show their name as _id. */
	if (callback_foreach(rc->callbacks, is_named_h, (void *)(id[0] ? id : name)) == EEXIST)
		http_reply_fail(rep, "Callback '%s' is configured in tamas.conf; change it there",
				id[0] ? id : name);
	else
		http_reply_fail(rep, "No callback with %s '%s'", id[0] ? "_id" : "name",
				id[0] ? id : name);
	return ENOENT;
}

static void update_h(const struct http_req *req, struct http_reply *rep, void *arg)
{
	struct routes_cbdef *rc = arg;
	char id[32] = "", name[CBNAME_SZ] = "", why[200] = "";
	struct found f = { .id = "" };
	struct callback_conf cf;
	json_t *conf = NULL;
	char *text = NULL;
	int err;

	if (resolve(req, rep, rc, "pbx/callbacks/update", id, name, &f))
		goto out;
	if (id[0] && name[0] && strcmp(name, f.fname)) {
		http_reply_fail(rep, "name: cannot be changed (remove the callback and add it "
				"again)");
		goto out;
	}
	conf = json_deep_copy(f.conf);
	if (!conf) {
		http_reply_error(rep, 500, "Requested operation failed");
		goto out;
	}
	if (fields_read(req, rep, conf))
		goto out;
	err = cbconf_parse(&cf, f.fname, cbkey_get, conf, why, sizeof(why));
	if (!err)
		err = exits_check(rc, &cf, why, sizeof(why));
	if (!err) {
		err = callback_update(rc->callbacks, &cf, why, sizeof(why));
		if (err == ENOENT)       /* stored, yet not in service (skipped at start) */
			err = callback_add(rc->callbacks, &cf, why, sizeof(why));
	}
	if (err) {
		http_reply_fail(rep, "%s", why);
		goto out;
	}
	text = conf_text(conf);
	err = text ? cbdef_update(rc->store, f.fid, text) : ENOMEM;
	if (err) {
		/* Back to the stored definition, which was in service. */
		if (!cbconf_parse(&cf, f.fname, cbkey_get, f.conf, why, sizeof(why)))
			(void)callback_update(rc->callbacks, &cf, why, sizeof(why));
		apiform_store_failed(rep, "pbx/callbacks/update", err);
		goto out;
	}
	log_info("api: callback updated (name=%s id=%s)", f.fname, f.fid);
	http_reply_ok(rep, MSG_DONE, json_string(""));
 out:
	free(text);
	json_decref(conf);
	json_decref(f.conf);
}

static void remove_h(const struct http_req *req, struct http_reply *rep, void *arg)
{
	struct routes_cbdef *rc = arg;
	char id[32] = "", name[CBNAME_SZ] = "";
	struct found f = { .id = "" };
	int err;

	if (resolve(req, rep, rc, "pbx/callbacks/remove", id, name, &f))
		goto out;
	err = cbdef_remove(rc->store, f.fid);
	if (err) {
		apiform_store_failed(rep, "pbx/callbacks/remove", err);
		goto out;
	}
	/* Its requests stay as they are, for operators and the report. */
	(void)callback_remove(rc->callbacks, f.fname);
	log_info("api: callback removed (name=%s id=%s)", f.fname, f.fid);
	http_reply_ok(rep, MSG_DONE, json_string(""));
 out:
	json_decref(f.conf);
}

struct listing {
	json_t *stored;              /* name -> {"_id", "conf"} */
	json_t *rows;
	bool alike;
	const char *name, *code, *target, *source;
	int err;
};

static int stored_h(const struct cbdef_rec *r, void *arg)
{
	struct listing *l = arg;
	json_t *conf = json_loads(r->conf, 0, NULL);

	return json_object_set_new(l->stored, r->name, json_pack("{s:s,s:o}", "_id", r->id,
								 "conf", conf ? conf
								 : json_object()))
		? ENOMEM : 0;
}

static bool matches(const char *v, const char *want, bool alike)
{
	return !want[0] || (alike ? strstr(v, want) != NULL : !strcmp(v, want));
}

static json_t *num_str(uint32_t v)
{
	char buf[16];

	(void)re_snprintf(buf, sizeof(buf), "%u", v);
	return json_string(buf);
}

static int list_h(const struct callback_conf *cf, void *arg)
{
	struct listing *l = arg;
	json_t *st = json_object_get(l->stored, cf->name);
	const char *source = st ? "api" : "config";
	json_t *o;
	const char *key;
	json_t *v;

	if (!matches(cf->name, l->name, l->alike) || !matches(cf->code, l->code, l->alike) ||
	    !matches(cf->target, l->target, l->alike) || !matches(source, l->source, false))
		return 0;
	o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:s}",
		      "_id", st ? json_string_value(json_object_get(st, "_id")) : cf->name,
		      "name", cf->name, "code", cf->code, "target", cf->target,
		      "context", cf->context ? cf->context : "",
		      "active", cf->active ? "yes" : "no", "auto_call", cf->auto_call ? "yes" : "no",
		      "retries", num_str(cf->retries), "min_wait", num_str(cf->min_wait_s),
		      "retry_wait", num_str(cf->retry_wait_s), "source", source);
	if (!o)
		return ENOMEM;
	for (int i = 0; i < CB_PROMPT_COUNT; i++)
		(void)json_object_set_new(o, callback_prompt_key[i], json_string(cf->prompt[i]));
	/* The keys as the client gave them (also any this listing does not
	 * know how to show). */
	json_object_foreach(json_object_get(st, "conf"), key, v)
		(void)json_object_set(o, key, v);
	(void)json_object_set_new(o, "in_service", json_string("yes"));
	if (st)
		(void)json_object_del(l->stored, cf->name);
	return apiform_append(l->rows, o);
}

/* A stored callback not in service (refused at start: its name or code
 * taken by tamas.conf meanwhile), shown as stored so it can be fixed. */
static int idle_add(struct listing *l, const char *name, json_t *st)
{
	json_t *conf = json_object_get(st, "conf");
	const char *code = json_string_value(json_object_get(conf, "code"));
	const char *target = json_string_value(json_object_get(conf, "target"));
	json_t *o;

	if (!matches(name, l->name, l->alike) || !matches(code ? code : "", l->code, l->alike) ||
	    !matches(target ? target : "", l->target, l->alike) ||
	    !matches("api", l->source, false))
		return 0;
	o = json_deep_copy(conf);
	if (!o || json_object_set_new(o, "_id", json_copy(json_object_get(st, "_id"))) ||
	    json_object_set_new(o, "name", json_string(name)) ||
	    json_object_set_new(o, "source", json_string("api")) ||
	    json_object_set_new(o, "in_service", json_string("no"))) {
		json_decref(o);
		return ENOMEM;
	}
	return apiform_append(l->rows, o);
}

static void search_h(const struct http_req *req, struct http_reply *rep, void *arg)
{
	struct routes_cbdef *rc = arg;
	char name[CBNAME_SZ] = "", code[32] = "", target[64] = "", source[16] = "";
	struct listing l = { .name = name, .code = code, .target = target, .source = source };
	struct http_req creq;
	int err;

	err = http_arg_bool(req, rep, "alike", false, &l.alike);
	if ((err && err != ENOENT) || apiform_conditions(req, rep, &creq))
		return;
	if (http_arg_str(&creq, rep, "name", false, name, sizeof(name)) == EINVAL ||
	    http_arg_str(&creq, rep, "code", false, code, sizeof(code)) == EINVAL ||
	    http_arg_str(&creq, rep, "target", false, target, sizeof(target)) == EINVAL ||
	    http_arg_str(&creq, rep, "source", false, source, sizeof(source)) == EINVAL)
		return;
	l.stored = json_object();
	l.rows = json_array();
	err = l.stored && l.rows ? cbdef_list(rc->store, stored_h, &l) : ENOMEM;
	if (!err)
		err = callback_foreach(rc->callbacks, list_h, &l);
	if (!err) {
		const char *name_;
		json_t *st;

		json_object_foreach(l.stored, name_, st) {
			err = idle_add(&l, name_, st);
			if (err)
				break;
		}
	}
	json_decref(l.stored);
	if (err) {
		json_decref(l.rows);
		apiform_store_failed(rep, "pbx/callbacks/search", err);
		return;
	}
	http_reply_ok(rep, "", l.rows);
}

int routes_cbdef_register(struct http *h, struct routes_cbdef *rc)
{
	int err;

	if (!h || !rc || !rc->store || !rc->callbacks)
		return EINVAL;
	err = http_route_add(h, "POST", "pbx/callbacks/add", NULL, add_h, rc);
	if (!err)
		err = http_route_add(h, "POST", "pbx/callbacks/update", NULL, update_h, rc);
	if (!err)
		err = http_route_add(h, "POST", "pbx/callbacks/remove", NULL, remove_h, rc);
	return err ? err : http_route_add(h, "POST", "pbx/callbacks/search", NULL, search_h, rc);
}

struct loading {
	struct routes_cbdef *rc;
	unsigned n;
};

static int load_h(const struct cbdef_rec *r, void *arg)
{
	struct loading *ld = arg;
	json_t *conf = json_loads(r->conf, 0, NULL);
	struct callback_conf cf;
	char why[200] = "unreadable definition";
	int err = conf ? cbconf_parse(&cf, r->name, cbkey_get, conf, why, sizeof(why)) : EINVAL;

	if (!err)
		err = callback_add(ld->rc->callbacks, &cf, why, sizeof(why));
	if (err)
		log_warn("api: stored callback not in service (name=%s id=%s): %s", r->name, r->id,
			 why);
	else
		++ld->n;
	json_decref(conf);
	return 0;
}

int routes_cbdef_load(struct routes_cbdef *rc, unsigned *n)
{
	struct loading ld = { rc, 0 };
	int err;

	if (!rc || !rc->store || !rc->callbacks)
		return EINVAL;
	err = cbdef_list(rc->store, load_h, &ld);
	if (n)
		*n = ld.n;
	return err;
}
