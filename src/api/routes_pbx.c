/* routes_pbx: Simotel's setting/ping/act and pbx/users/... over store/pbxuser.
 * A request is validated whole before anything is written, and each write
 * is one statement, so a refused request leaves nothing behind. */
#include "core/rejansson.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "api/apiform.h"
#include "api/http.h"
#include "api/routes_pbx.h"
#include "core/log.h"
#include "store/pbxuser.h"

#define MSG_DONE "Requested operation is done successfully"
#define MSG_FAILED "Requested operation failed"
/* Simotel's own text (spec §2.1); clients may compare it. */
#define MSG_PING "If the 'Ping' event is enabled in the settings menu, you'll receive it " \
	"when it's sent"

/* --- fields ------------------------------------------------------------------- */

static const struct apiform_field extra_fields[] = {
	{ "user_type",         APIFORM_CHOICE, 8,    "SIP",                              "SIP" },
	{ "cid_number",        APIFORM_TEXT, 64,   NULL,                               "" },
	{ "call_record",       APIFORM_YESNO, 3,    NULL,                               "no" },
	{ "push_notification", APIFORM_YESNO, 3,    NULL,                               "no" },
	{ "deny",              APIFORM_TEXT, 255,  NULL,                               "0.0.0.0/0.0.0.0" },
	{ "permit",            APIFORM_TEXT, 255,  NULL,                               "0.0.0.0/0.0.0.0" },
	{ "dtmfmode",          APIFORM_CHOICE, 8,    "rfc2833,rfc4733,info,inband,auto", "rfc2833" },
	{ "canreinvite",       APIFORM_YESNO, 3,    NULL,                               "no" },
	{ "directmedia",       APIFORM_YESNO, 3,    NULL,                               "no" },
	{ "host",              APIFORM_TEXT, 255,  NULL,                               "dynamic" },
	{ "type",              APIFORM_CHOICE, 8,    "friend,user,peer",                 "friend" },
	{ "nat",               APIFORM_TEXT, 64,   NULL,                               "force_rport,comedia" },
	{ "port",              APIFORM_DIGITS, 5,    NULL,                               "5060" },
	{ "qualify",           APIFORM_YESNO, 3,    NULL,                               "yes" },
	{ "callgroup",         APIFORM_TEXT, 64,   NULL,                               "" },
	{ "pickupgroup",       APIFORM_TEXT, 64,   NULL,                               "" },
	{ "callcounter",       APIFORM_YESNO, 3,    NULL,                               "yes" },
	{ "faxdetect",         APIFORM_YESNO, 3,    NULL,                               "no" },
	{ "call_limit",        APIFORM_DIGITS, 6,    NULL,                               "" },
	{ "trunk",             APIFORM_YESNO, 3,    NULL,                               "no" },
	{ "transfer",          APIFORM_YESNO, 3,    NULL,                               "yes" },
	{ "email",             APIFORM_TEXT, 255,  NULL,                               "" },
	{ "more_options",      APIFORM_TEXT, 2048, NULL,                               "" },
	{ "description",       APIFORM_TEXT, 1024, NULL,                               "" },
};

static const char *const forward_keys[] = { "Busy", "No Answer", "UnAvailable", "All" };

/* A user as a request builds it. */
struct uform {
	char id[32];
	char number[64];
	char secret[128];
	char context[64];
	char name[128];
	bool active;
	json_t *attrs;              /* the extra fields and forward_policy; owned */
};

static void emit(struct routes_pbx *rp, const char *event, json_t *data)
{
	if (rp->event_h)
		rp->event_h(event, data ? data : json_null(), rp->arg);
}


static int forward_read(const struct http_req *req, struct http_reply *rep, json_t *attrs)
{
	json_t *v = req->body ? json_object_get(req->body, "forward_policy") : NULL;
	json_t *fp, *val;
	const char *key;
	size_t i;

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v)) {
		http_reply_fail(rep, "Field 'forward_policy': expected an object with Busy, "
				"No Answer, UnAvailable, All");
		return EINVAL;
	}
	fp = json_deep_copy(json_object_get(attrs, "forward_policy"));
	if (!json_is_object(fp)) {
		json_decref(fp);
		fp = json_object();
	}
	json_object_foreach(v, key, val) {
		char num[32];

		for (i = 0; i < ARRAY_SIZE(forward_keys); i++)
			if (!strcmp(key, forward_keys[i]))
				break;
		if (i == ARRAY_SIZE(forward_keys)) {
			http_reply_fail(rep, "Field 'forward_policy': unknown condition '%s' (Busy, "
					"No Answer, UnAvailable, All)", key);
			json_decref(fp);
			return EINVAL;
		}
		if (json_is_integer(val)) {
			(void)re_snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(val));
			val = json_string(num);
		}
		else if (json_is_null(val))
			val = json_string("");
		else if (json_is_string(val) && json_string_length(val) <= 64)
			val = json_incref(val);
		else {
			http_reply_fail(rep, "Field 'forward_policy.%s': expected a number as text",
					key);
			json_decref(fp);
			return EINVAL;
		}
		(void)json_object_set_new(fp, key, val);
	}
	(void)json_object_set_new(attrs, "forward_policy", fp);
	return 0;
}

/* Every extra field present in attrs (a stored row may predate a field). */
static void attrs_complete(json_t *attrs)
{
	json_t *fp;
	size_t i;

	apiform_complete(attrs, extra_fields, ARRAY_SIZE(extra_fields));
	fp = json_object_get(attrs, "forward_policy");
	if (!json_is_object(fp)) {
		fp = json_object();
		(void)json_object_set_new(attrs, "forward_policy", fp);
	}
	for (i = 0; i < ARRAY_SIZE(forward_keys); i++)
		if (!json_is_string(json_object_get(fp, forward_keys[i])))
			(void)json_object_set_new(fp, forward_keys[i], json_string(""));
}

/* Reads the request over f (defaults for add, the stored row for update).
 * adding: name, number and secret are required. 0, or EINVAL with rep filled. */
static int uform_read(const struct http_req *req, struct http_reply *rep, struct uform *f,
		      bool adding)
{
	static const char *const core[] = { "name", "number", "secret" };
	char *const dst[] = { f->name, f->number, f->secret };
	const size_t dsz[] = { sizeof(f->name), sizeof(f->number), sizeof(f->secret) };
	char yn[8];
	size_t i;
	int r;

	for (i = 0; i < ARRAY_SIZE(core); i++) {
		r = apiform_text(req, rep, core[i], dst[i], dsz[i]);
		if (r < 0)
			return EINVAL;
		if ((r == 0 && adding) || (r == 1 && !dst[i][0])) {
			http_reply_fail(rep, "Field '%s':value is missing", core[i]);
			return EINVAL;
		}
	}
	if (!apiform_charset_ok(f->number, sizeof(f->number) - 1, APIFORM_ALNUM "_-.+")) {
		http_reply_fail(rep, "Field 'number': use digits, letters and _ - . + only "
				"(at most %zu)", sizeof(f->number) - 1);
		return EINVAL;
	}
	r = apiform_text(req, rep, "context", f->context, sizeof(f->context));
	if (r < 0)
		return EINVAL;
	if (r == 1 && !f->context[0])
		str_ncpy(f->context, "main_routing", sizeof(f->context));
	if (!apiform_charset_ok(f->context, sizeof(f->context) - 1, APIFORM_ALNUM "_-.")) {
		http_reply_fail(rep, "Field 'context': use letters, digits and _ - . only");
		return EINVAL;
	}
	r = apiform_text(req, rep, "active", yn, sizeof(yn));
	if (r < 0)
		return EINVAL;
	if (r == 1) {
		if (strcmp(yn, "yes") && strcmp(yn, "no")) {
			http_reply_fail(rep, "Field 'active': expected yes or no");
			return EINVAL;
		}
		f->active = !strcmp(yn, "yes");
	}
	if (apiform_read_fields(req, rep, extra_fields, ARRAY_SIZE(extra_fields), f->attrs))
		return EINVAL;
	return forward_read(req, rep, f->attrs);
}

/* The user as search shows it (spec §2.3): the secret masked. */
static json_t *user_json(const struct pbxuser *u)
{
	json_t *o = json_object(), *attrs = json_loads(u->attrs, 0, NULL);

	if (!o) {
		json_decref(attrs);
		return NULL;
	}
	if (!json_is_object(attrs)) {
		json_decref(attrs);
		attrs = json_object();
	}
	if (attrs)
		attrs_complete(attrs);
	(void)json_object_set_new(o, "_id", json_string(u->id));
	(void)json_object_update(o, attrs);
	(void)json_object_set_new(o, "active", json_string(u->active ? "yes" : "no"));
	(void)json_object_set_new(o, "name", json_string(u->name));
	(void)json_object_set_new(o, "number", json_string(u->number));
	(void)json_object_set_new(o, "secret", json_string("******"));
	(void)json_object_set_new(o, "context", json_string(u->context));
	(void)json_object_set_new(o, "date", json_string(u->created));
	(void)json_object_set_new(o, "queues", json_array());
	json_decref(attrs);
	return o;
}

static int user_json_h(const struct pbxuser *u, void *arg)
{
	json_t **out = arg;

	*out = user_json(u);
	return *out ? 0 : ENOMEM;
}

static json_t *user_fetch(struct store *st, const char *id)
{
	json_t *o = NULL;

	return pbxuser_get(st, id, user_json_h, &o) ? NULL : o;
}

/* --- routes ------------------------------------------------------------------- */

static void ping_h(const struct http_req *req, struct http_reply *rep, void *arg)
{
	(void)req;
	emit(arg, "Ping", NULL);
	http_reply_ok(rep, MSG_PING, NULL);
}

static void users_add_h(const struct http_req *req, struct http_reply *rep, void *arg)
{
	struct routes_pbx *rp = arg;
	struct uform f = { .active = true, .context = "main_routing" };
	struct pbxuser u;
	json_t *ev;
	char *attrs = NULL;
	int err;

	f.attrs = json_object();
	if (!f.attrs) {
		http_reply_error(rep, 500, MSG_FAILED);
		return;
	}
	attrs_complete(f.attrs);
	if (uform_read(req, rep, &f, true))
		goto out;
	attrs = json_dumps(f.attrs, JSON_COMPACT);
	if (!attrs) {
		http_reply_error(rep, 500, MSG_FAILED);
		goto out;
	}
	u = (struct pbxuser){ .number = f.number, .secret = f.secret, .context = f.context,
			      .name = f.name, .active = f.active, .attrs = attrs };
	err = pbxuser_add(rp->store, &u, f.id, sizeof(f.id));
	if (err == EEXIST) {
		http_reply_fail(rep, "This number already exists");
		goto out;
	}
	if (err) {
		apiform_store_failed(rep, "pbx/users/add", err);
		goto out;
	}
	log_info("api: user added (number=%s id=%s by=%s)", f.number, f.id, req->user);
	http_reply_ok(rep, MSG_DONE, json_pack("{s:s}", "_id", f.id));
	ev = user_fetch(rp->store, f.id);
	emit(rp, "ExtenAdded", ev);
	json_decref(ev);
 out:
	free(attrs);
	json_decref(f.attrs);
}

/* Loads the stored row into an update form. */
static int uform_load_h(const struct pbxuser *u, void *arg)
{
	struct uform *f = arg;

	str_ncpy(f->number, u->number, sizeof(f->number));
	str_ncpy(f->secret, u->secret, sizeof(f->secret));
	str_ncpy(f->context, u->context, sizeof(f->context));
	str_ncpy(f->name, u->name, sizeof(f->name));
	f->active = u->active;
	f->attrs = json_loads(u->attrs, 0, NULL);
	if (!json_is_object(f->attrs)) {
		json_decref(f->attrs);
		f->attrs = json_object();
	}
	if (!f->attrs)
		return ENOMEM;
	attrs_complete(f->attrs);
	return 0;
}

static void users_update_h(const struct http_req *req, struct http_reply *rep, void *arg)
{
	struct routes_pbx *rp = arg;
	struct uform f = { .active = true };
	struct pbxuser u;
	char *attrs = NULL;
	int err;

	if (apiform_id(req, rep, f.id, sizeof(f.id)))
		return;
	err = pbxuser_get(rp->store, f.id, uform_load_h, &f);
	if (err == ENOENT) {
		http_reply_fail(rep, "No user with this _id");
		goto out;
	}
	if (err) {
		apiform_store_failed(rep, "pbx/users/update", err);
		goto out;
	}
	if (uform_read(req, rep, &f, false))
		goto out;
	attrs = json_dumps(f.attrs, JSON_COMPACT);
	if (!attrs) {
		http_reply_error(rep, 500, MSG_FAILED);
		goto out;
	}
	u = (struct pbxuser){ .id = f.id, .number = f.number, .secret = f.secret,
			      .context = f.context, .name = f.name, .active = f.active,
			      .attrs = attrs };
	err = pbxuser_update(rp->store, &u);
	if (err == EEXIST)
		http_reply_fail(rep, "This number already exists");
	else if (err == ENOENT)
		http_reply_fail(rep, "No user with this _id");
	else if (err)
		apiform_store_failed(rep, "pbx/users/update", err);
	else {
		log_info("api: user updated (number=%s id=%s by=%s)", f.number, f.id, req->user);
		http_reply_ok(rep, MSG_DONE, json_string(""));
	}
 out:
	free(attrs);
	json_decref(f.attrs);
}

static void users_remove_h(const struct http_req *req, struct http_reply *rep, void *arg)
{
	struct routes_pbx *rp = arg;
	char id[32];
	json_t *ev;
	int err;

	if (apiform_id(req, rep, id, sizeof(id)))
		return;
	ev = user_fetch(rp->store, id);
	err = pbxuser_del(rp->store, id);
	if (err == ENOENT)
		http_reply_fail(rep, "No user with this _id");
	else if (err)
		apiform_store_failed(rep, "pbx/users/remove", err);
	else {
		log_info("api: user removed (id=%s by=%s)", id, req->user);
		http_reply_ok(rep, MSG_DONE, json_string(""));
		emit(rp, "ExtenRemoved", ev);
	}
	json_decref(ev);
}

static int search_row_h(const struct pbxuser *u, void *arg)
{
	json_t *o = user_json(u);

	return o ? json_array_append_new(arg, o) ? ENOMEM : 0 : ENOMEM;
}

static void users_search_h(const struct http_req *req, struct http_reply *rep, void *arg)
{
	struct routes_pbx *rp = arg;
	struct pbxuser_query q = { .sort = "number" };
	struct http_req creq = *req;
	struct http_page pg;
	char status[16], name[128], number[64], mapped[64];
	json_t *cond, *rows;
	uint64_t total = 0;
	bool alike;
	int err;

	if (http_arg_bool(req, rep, "alike", true, &alike))
		return;
	err = http_arg_str(req, rep, "status", false, status, sizeof(status));
	if (err == EINVAL)
		return;
	if (!err && strcmp(status, "all") && strcmp(status, "mapped")) {
		http_reply_fail(rep, "Field 'status': expected all or mapped");
		return;
	}
	/* The docs' table puts the filters at the top level, their sample in
	 * "conditions" (spec §2.3): conditions wins when present. */
	cond = req->body ? json_object_get(req->body, "conditions") : NULL;
	if (cond && !json_is_null(cond)) {
		if (!json_is_object(cond)) {
			http_reply_fail(rep, "Field 'conditions': expected an object");
			return;
		}
		creq.body = cond;
	}
	if (http_arg_str(&creq, rep, "name", false, name, sizeof(name)) == EINVAL ||
	    http_arg_str(&creq, rep, "number", false, number, sizeof(number)) == EINVAL ||
	    http_arg_str(&creq, rep, "mapped", false, mapped, sizeof(mapped)) == EINVAL)
		return;
	if (http_arg_page(req, rep, &pg))
		return;
	if (pg.sort[0] && strcmp(pg.sort, "number") && strcmp(pg.sort, "name")
	    && strcmp(pg.sort, "date") && strcmp(pg.sort, "_id")) {
		http_reply_fail(rep, "Field 'pagination.sorting': cannot sort by '%s' (number, "
				"name, date, _id)", pg.sort);
		return;
	}
	rows = json_array();
	if (!rows) {
		http_reply_error(rep, 500, MSG_FAILED);
		return;
	}
	/* tamas has no operator accounts, so no extension is mapped to one. */
	err = 0;
	if (strcmp(status, "mapped") && !mapped[0]) {
		q.name = name;
		q.number = number;
		q.alike = alike;
		if (pg.sort[0])
			q.sort = pg.sort;
		q.desc = pg.dir < 0;
		if (pg.given) {
			q.start = pg.start;
			q.count = pg.count;
		}
		err = pbxuser_search(rp->store, &q, &total, search_row_h, rows);
	}
	apiform_reply_rows(rep, "pbx/users/search", err, &pg, total, rows);
}

int routes_pbx_register(struct http *h, struct routes_pbx *rp)
{
	int err;

	if (!h || !rp || !rp->store)
		return EINVAL;
	/* The docs show both methods for ping (spec §1.1). */
	err = http_route_add(h, "POST", "setting/ping/act", NULL, ping_h, rp);
	err = err ? err : http_route_add(h, "PUT", "setting/ping/act", NULL, ping_h, rp);
	err = err ? err : http_route_add(h, "POST", "pbx/users/add", NULL, users_add_h, rp);
	err = err ? err : http_route_add(h, "POST", "pbx/users/search", NULL, users_search_h, rp);
	err = err ? err : http_route_add(h, "POST", "pbx/users/update", NULL, users_update_h, rp);
	err = err ? err : http_route_add(h, "POST", "pbx/users/remove", NULL, users_remove_h, rp);
	return err;
}
