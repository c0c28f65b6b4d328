/* routes_qdef: queues defined over the API. The settings are checked
 * whole, and kept in the store only when pbx/queue takes them, so a refused
 * request leaves both as they were. */
#include "core/rejansson.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "api/apiform.h"
#include "api/http.h"
#include "api/routes_qdef.h"
#include "core/log.h"
#include "pbx/queue.h"
#include "store/queuedef.h"

#define MSG_CONF "Queue '%s' is configured in tamas.conf; it cannot be updated or removed " \
	"over the API"

enum qkind { QK_STRATEGY, QK_U32, QK_BOOL, QK_JOIN, QK_LEAVE, QK_CLASS };

/* The settings the API keeps (Simotel's names: '-' of queues.conf as '_'),
 * with tamas.conf's defaults. */
static const struct qfield {
	const char *name;
	enum qkind kind;
	uint32_t max;
	const char *dflt;
} qfields[] = {
	{ "strategy", QK_STRATEGY, 0, "ringall" },
	{ "timeout", QK_U32, 86400, "15" },
	{ "retry", QK_U32, 3600, "5" },
	{ "wrapuptime", QK_U32, 86400, "0" },
	{ "maxlen", QK_U32, 1000000, "0" },
	{ "music", QK_CLASS, 0, "" },
	{ "ringinuse", QK_BOOL, 0, "no" },
	{ "autopause", QK_BOOL, 0, "no" },
	{ "joinempty", QK_JOIN, 0, "" },
	{ "leavewhenempty", QK_LEAVE, 0, "" },
	{ "announce_frequency", QK_U32, 86400, "0" },
	{ "announce_position", QK_BOOL, 0, "yes" },
	{ "announce_holdtime", QK_BOOL, 0, "yes" },
};

static const char *attr(const json_t *attrs, const struct qfield *f)
{
	const char *v = json_string_value(json_object_get(attrs, f->name));

	return v ? v : f->dflt;
}

/* One setting's value checked; why names the field. */
static int qfield_check(const struct qfield *f, const char *v, char *why, size_t whysz)
{
	enum qstrategy st;
	unsigned mask;
	char ewhy[160];
	char *end;
	unsigned long n;

	switch (f->kind) {
	case QK_STRATEGY:
		if (qstrategy_parse(v, &st))
			break;
		return 0;
	case QK_U32:
		n = strtoul(v, &end, 10);
		if (!*v || *end || strspn(v, "0123456789") != strlen(v) || n > f->max) {
			(void)re_snprintf(why, whysz, "Field '%s': expected a whole number from 0 to"
					  " %u, not '%s'", f->name, f->max, v);
			return EINVAL;
		}
		return 0;
	case QK_BOOL:
		if (strcasecmp(v, "yes") && strcasecmp(v, "no")) {
			(void)re_snprintf(why, whysz, "Field '%s': expected yes or no, not '%s'",
					  f->name, v);
			return EINVAL;
		}
		return 0;
	case QK_JOIN:
	case QK_LEAVE:
		if (!queue_empty_parse(v, f->kind == QK_JOIN, &mask, ewhy, sizeof(ewhy)))
			return 0;
		(void)re_snprintf(why, whysz, "Field '%s': %s", f->name, ewhy);
		return EINVAL;
	case QK_CLASS:
		if (!*v || apiform_charset_ok(v, 63, APIFORM_ALNUM "_-"))
			return 0;
		(void)re_snprintf(why, whysz, "Field '%s': expected a music-on-hold class name"
				  " (letters, digits, _ and -), not '%s'", f->name, v);
		return EINVAL;
	}
	(void)re_snprintf(why, whysz, "Field '%s': expected ringall, leastrecent, fewestcalls, "
			  "random, rrmemory, rrordered, linear or wrandom, not '%s'", f->name, v);
	return EINVAL;
}

/* The settings present in body, checked, into attrs (as strings). */
static int attrs_read(const json_t *body, json_t *attrs, char *why, size_t whysz)
{
	char v[256];
	int err;

	for (size_t i = 0; i < ARRAY_SIZE(qfields); i++) {
		err = apiform_obj_text(body, qfields[i].name, v, sizeof(v), why, whysz);
		if (err == ENOENT)
			continue;
		if (err || qfield_check(&qfields[i], v, why, whysz))
			return EINVAL;
		if (json_object_set_new(attrs, qfields[i].name, json_string(v)))
			return ENOMEM;
	}
	return 0;
}

/* attrs (with defaults) as a queue_conf; strings point into attrs. */
static int attrs_conf(const json_t *attrs, const char *number, struct queue_conf *qc,
		      char *why, size_t whysz)
{
	memset(qc, 0, sizeof(*qc));
	qc->name = number;
	qc->api = true;
	for (size_t i = 0; i < ARRAY_SIZE(qfields); i++) {
		if (qfield_check(&qfields[i], attr(attrs, &qfields[i]), why, whysz))
			return EINVAL;
	}
	(void)qstrategy_parse(attr(attrs, &qfields[0]), &qc->strategy);
	qc->timeout_s = (uint32_t)strtoul(attr(attrs, &qfields[1]), NULL, 10);
	qc->retry_s = (uint32_t)strtoul(attr(attrs, &qfields[2]), NULL, 10);
	qc->wrapup_s = (uint32_t)strtoul(attr(attrs, &qfields[3]), NULL, 10);
	qc->maxlen = (uint32_t)strtoul(attr(attrs, &qfields[4]), NULL, 10);
	qc->musicclass = attr(attrs, &qfields[5]);
	qc->ringinuse = !strcasecmp(attr(attrs, &qfields[6]), "yes");
	qc->autopause = !strcasecmp(attr(attrs, &qfields[7]), "yes");
	(void)queue_empty_parse(attr(attrs, &qfields[8]), true, &qc->joinempty, NULL, 0);
	(void)queue_empty_parse(attr(attrs, &qfields[9]), false, &qc->leavewhenempty, NULL, 0);
	qc->announce_freq_s = (uint32_t)strtoul(attr(attrs, &qfields[10]), NULL, 10);
	qc->announce_position = !strcasecmp(attr(attrs, &qfields[11]), "yes");
	qc->announce_holdtime = !strcasecmp(attr(attrs, &qfields[12]), "yes");
	return 0;
}

static int number_check(const char *number, char *why, size_t whysz)
{
	if (apiform_charset_ok(number, 63, APIFORM_ALNUM "._-"))
		return 0;
	(void)re_snprintf(why, whysz, "Field 'number': expected letters, digits, '.', '_' or "
			  "'-' (at most 63), not '%s'", number);
	return EINVAL;
}

static char *attrs_text(const json_t *attrs)
{
	return json_dumps(attrs, JSON_COMPACT | JSON_SORT_KEYS);
}

static void queue_add_h(const struct http_req *req, struct http_reply *rep, void *arg)
{
	struct routes_qdef *rd = arg;
	char number[64], name[64], why[256] = "", id[32];
	struct queue_conf qc;
	json_t *attrs = NULL;
	char *text = NULL;
	int err;

	err = apiform_obj_required(req->body, "number", number, sizeof(number), why, sizeof(why));
	err = err ? err : number_check(number, why, sizeof(why));
	err = err ? err : apiform_obj_required(req->body, "name", name, sizeof(name), why,
					       sizeof(why));
	if (!err) {
		attrs = json_object();
		err = attrs ? attrs_read(req->body, attrs, why, sizeof(why)) : ENOMEM;
	}
	err = err ? err : attrs_conf(attrs, number, &qc, why, sizeof(why));
	if (err) {
		if (why[0])
			http_reply_fail(rep, "%s", why);
		else
			http_reply_error(rep, 500, "Requested operation failed");
		goto out;
	}
	if (queue_exists(number)) {
		http_reply_fail(rep, "this queue already exists");
		goto out;
	}
	text = attrs_text(attrs);
	err = text ? queuedef_add(rd->store, number, name, text, id, sizeof(id)) : ENOMEM;
	if (err == EEXIST) {
		http_reply_fail(rep, "this queue already exists");
		goto out;
	}
	if (err) {
		apiform_store_failed(rep, req->path, err);
		goto out;
	}
	err = queue_add(&qc);
	if (err) {
		/* Not kept in the store what pbx/queue refused. */
		(void)queuedef_del(rd->store, id);
		log_warn("api: queue not added (number=%s err=%m)", number, err);
		http_reply_error(rep, 500, "Requested operation failed");
		goto out;
	}
	log_info("api: queue added (number=%s id=%s user=%s)", number, id, req->user);
	http_reply_ok(rep, "", json_pack("{s:s}", "_id", id));
 out:
	free(text);
	json_decref(attrs);
}

/* A stored queue by _id: number, name and its attrs (a new object). */
struct qdef_ctx {
	char number[64], name[64];
	json_t *attrs;
};

static int qdef_get_h(const struct queuedef *q, void *arg)
{
	struct qdef_ctx *c = arg;

	str_ncpy(c->number, q->number, sizeof(c->number));
	str_ncpy(c->name, q->name, sizeof(c->name));
	c->attrs = json_loads(q->attrs, 0, NULL);
	if (c->attrs && !json_is_object(c->attrs))
		c->attrs = (json_decref(c->attrs), NULL);
	return c->attrs ? 0 : EIO;
}

/* The stored queue named by body._id into c; else rep filled. */
static int qdef_read(const struct http_req *req, struct http_reply *rep,
		     struct routes_qdef *rd, char *id, size_t idsz, struct qdef_ctx *c)
{
	int err = apiform_id(req, rep, id, idsz);

	if (err)
		return err;
	err = queuedef_get(rd->store, id, qdef_get_h, c);
	if (err == ENOENT && queue_exists(id) && !queue_is_api(id))
		http_reply_fail(rep, MSG_CONF, id);
	else if (err == ENOENT)
		http_reply_fail(rep, "No queue with this _id");
	else if (err)
		apiform_store_failed(rep, req->path, err);
	return err;
}

static void queue_update_h(const struct http_req *req, struct http_reply *rep, void *arg)
{
	struct routes_qdef *rd = arg;
	struct qdef_ctx c = { .attrs = NULL };
	char id[64], number[64], name[64], why[256] = "";
	struct queue_conf qc;
	char *text = NULL;
	int err;

	if (qdef_read(req, rep, rd, id, sizeof(id), &c))
		return;
	err = apiform_obj_text(req->body, "number", number, sizeof(number), why, sizeof(why));
	if (!err && strcasecmp(number, c.number)) {
		(void)re_snprintf(why, sizeof(why), "Field 'number': a queue's number cannot be "
				  "changed (it is %s)", c.number);
		err = EINVAL;
	}
	if (err == ENOENT)
		err = 0;
	if (!err) {
		err = apiform_obj_text(req->body, "name", name, sizeof(name), why, sizeof(why));
		if (err == ENOENT) {
			str_ncpy(name, c.name, sizeof(name));
			err = 0;
		}
	}
	err = err ? err : attrs_read(req->body, c.attrs, why, sizeof(why));
	err = err ? err : attrs_conf(c.attrs, c.number, &qc, why, sizeof(why));
	if (err) {
		if (why[0])
			http_reply_fail(rep, "%s", why);
		else
			http_reply_error(rep, 500, "Requested operation failed");
		goto out;
	}
	text = attrs_text(c.attrs);
	err = text ? queuedef_update(rd->store, id, name, text) : ENOMEM;
	if (err) {
		apiform_store_failed(rep, req->path, err);
		goto out;
	}
	if (queue_update(&qc))
		log_warn("api: stored queue not running (number=%s)", c.number);
	log_info("api: queue updated (number=%s id=%s user=%s)", c.number, id, req->user);
	http_reply_ok(rep, "", json_string(""));
 out:
	free(text);
	json_decref(c.attrs);
}

static int busy_queue_h(const struct queue_info *qi, void *arg)
{
	return !strcasecmp(qi->name, arg) && qi->waiting ? EBUSY : 0;
}

static int busy_member_h(const struct queue_info *qi, const struct queue_member_info *mi,
			 void *arg)
{
	return !strcasecmp(qi->name, arg) && (mi->in_call || mi->ringing) ? EBUSY : 0;
}

static void queue_remove_h(const struct http_req *req, struct http_reply *rep, void *arg)
{
	struct routes_qdef *rd = arg;
	struct qdef_ctx c = { .attrs = NULL };
	char id[64];
	int err;

	if (qdef_read(req, rep, rd, id, sizeof(id), &c))
		return;
	/* Checked before the store changes, so that a refusal changes nothing. */
	if (queue_apply(busy_queue_h, busy_member_h, c.number) == EBUSY) {
		http_reply_fail(rep, "Queue '%s' has callers waiting or agents in its calls; "
				"try again when it is idle", c.number);
		goto out;
	}
	err = queuedef_del(rd->store, id);
	if (err) {
		apiform_store_failed(rep, req->path, err);
		goto out;
	}
	err = queue_remove(c.number);
	if (err && err != ENOENT)
		log_warn("api: removed queue still running (number=%s err=%m)", c.number, err);
	log_info("api: queue removed (number=%s id=%s user=%s)", c.number, id, req->user);
	http_reply_ok(rep, "", json_string(""));
 out:
	json_decref(c.attrs);
}

static int load_h(const struct queuedef *q, void *arg)
{
	struct queue_conf qc;
	char why[256] = "";
	json_t *attrs = json_loads(q->attrs, 0, NULL);
	int err;

	(void)arg;
	err = json_is_object(attrs) ? attrs_conf(attrs, q->number, &qc, why, sizeof(why))
		: EINVAL;
	err = err ? err : queue_add(&qc);
	if (err == EEXIST)
		log_warn("api: stored queue %s not loaded: tamas.conf has a queue of that name",
			 q->number);
	else if (err)
		log_warn("api: stored queue %s not loaded (%s)", q->number,
			 why[0] ? why : "bad settings");
	json_decref(attrs);
	return 0;
}

int routes_qdef_load(struct store *st)
{
	return queuedef_apply(st, load_h, NULL);
}

int routes_qdef_register(struct http *h, struct routes_qdef *rd)
{
	int err;

	if (!h || !rd || !rd->store)
		return EINVAL;
	err = http_route_add(h, "POST", "pbx/queues/add", NULL, queue_add_h, rd);
	err = err ? err : http_route_add(h, "POST", "pbx/queues/update", NULL, queue_update_h, rd);
	err = err ? err : http_route_add(h, "POST", "pbx/queues/remove", NULL, queue_remove_h, rd);
	return err;
}
