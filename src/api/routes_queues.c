/* routes_queues: queues and agents over pbx/queue. Member changes are
 * checked whole before pbx/queue is asked, and pbx/queue changes nothing
 * when it refuses, so a refused request leaves the queues as they were. */
#include "core/rejansson.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "api/apiform.h"
#include "api/http.h"
#include "api/routes_queues.h"
#include "core/log.h"
#include "pbx/queue.h"
#include "store/queuedef.h"

#define BATCH_MAX 1000

/* An extension ("2001" → "SIP/2001") or an interface ("PJSIP/2001"). */
static int iface_of(const char *name, const char *v, char *iface, size_t sz, char *why,
		    size_t whysz)
{
	static const char set[] = APIFORM_ALNUM "._-+*#";
	const char *slash = strchr(v, '/');
	char tech[16];
	bool ok;

	if (slash) {
		size_t n = (size_t)(slash - v);

		ok = n > 0 && n < sizeof(tech);
		if (ok) {
			memcpy(tech, v, n);
			tech[n] = '\0';
			ok = apiform_charset_ok(tech, sizeof(tech) - 1, APIFORM_ALNUM)
				&& apiform_charset_ok(slash + 1, 48, set);
		}
	}
	else {
		ok = apiform_charset_ok(v, 48, set);
	}
	if (!ok) {
		(void)re_snprintf(why, whysz, "Field '%s': expected an extension or an interface "
				  "like SIP/2001, not '%s'", name, v);
		return EINVAL;
	}
	if (slash)
		str_ncpy(iface, v, sz);
	else
		(void)re_snprintf(iface, sz, "SIP/%s", v);
	return 0;
}

/* --- agent operations (spec §2.5) ------------------------------------------- */

enum agent_op { OP_ADD, OP_PAUSE, OP_RESUME, OP_REMOVE };

static const char *const op_ok[] = {
	"Added successfully", "Paused successfully", "UnPaused successfully",
	"Removed successfully",
};

/* One operation on item (an object). 0 with nothing in why, or an errno
 * with why naming what was wrong; EIO when the store failed. */
static int agent_do(enum agent_op op, const json_t *item, const char *user, char *why,
		    size_t whysz)
{
	char queue[64], agent[64], source[64], pen[16], reason[128], iface[64], aif[64];
	unsigned penalty = 0;
	const char *who;
	int err;

	err = apiform_obj_required(item, "queue", queue, sizeof(queue), why, whysz);
	err = err ? err : apiform_obj_required(item, "agent", agent, sizeof(agent), why, whysz);
	if (err)
		return err;
	err = iface_of("agent", agent, aif, sizeof(aif), why, whysz);
	if (err)
		return err;
	str_ncpy(iface, aif, sizeof(iface));
	reason[0] = '\0';
	if (op == OP_ADD) {
		err = apiform_obj_required(item, "source", source, sizeof(source), why, whysz);
		err = err ? err : iface_of("source", source, iface, sizeof(iface), why, whysz);
		if (err)
			return err;
		/* tamas has no member names apart from the interface. */
		if (strcasecmp(iface, aif)) {
			(void)re_snprintf(why, whysz, "Field 'agent': must name the same member as "
					  "'source' (%s)", iface);
			return EINVAL;
		}
		err = apiform_obj_text(item, "penalty", pen, sizeof(pen), why, whysz);
		if (err == EINVAL)
			return err;
		if (!err) {
			if (!apiform_charset_ok(pen, 6, "0123456789")) {
				(void)re_snprintf(why, whysz, "Field 'penalty': expected a number "
						  "from 0 to 999999");
				return EINVAL;
			}
			penalty = (unsigned)strtoul(pen, NULL, 10);
		}
	}
	else if (op == OP_PAUSE) {
		err = apiform_obj_text(item, "reason", reason, sizeof(reason), why, whysz);
		if (err == EINVAL)
			return err;
	}
	if (!queue_exists(queue)) {
		(void)re_snprintf(why, whysz, "Queue '%s' does not exist", queue);
		return ENOENT;
	}
	who = user ? user : "API";
	switch (op) {
	case OP_ADD:
		err = queue_member_add(queue, iface, penalty, false, true, "API");
		break;
	case OP_PAUSE:
	case OP_RESUME:
		err = queue_member_pause(queue, iface, op == OP_PAUSE, reason, "API");
		break;
	case OP_REMOVE:
		err = queue_member_remove(queue, iface, "API");
		break;
	}
	switch (err) {
	case 0:
		log_info("api: queue member %s (queue=%s member=%s by=%s)",
			 op == OP_ADD ? "added" : op == OP_PAUSE ? "paused"
			 : op == OP_RESUME ? "unpaused" : "removed", queue, iface, who);
		return 0;
	case ENOENT:
		(void)re_snprintf(why, whysz, "Queue '%s' does not exist", queue);
		break;
	case EEXIST:
		(void)re_snprintf(why, whysz, "Agent %s is already a member of queue %s", iface,
				  queue);
		break;
	case ESRCH:
		(void)re_snprintf(why, whysz, "Agent %s is not a member of queue %s", iface,
				  queue);
		break;
	case EPERM:
		(void)re_snprintf(why, whysz, "Agent %s is a static member of queue %s "
				  "(tamas.conf); it cannot be removed over the API", iface, queue);
		break;
	case EALREADY:
		(void)re_snprintf(why, whysz, "Agent %s is already %s in queue %s", iface,
				  op == OP_PAUSE ? "paused" : "not paused", queue);
		break;
	case EINVAL:
		(void)re_snprintf(why, whysz, "Field 'source': not a valid interface");
		break;
	default:
		(void)re_snprintf(why, whysz, "Requested operation failed");
		return EIO;
	}
	return err;
}

static void agent_h(const struct http_req *req, struct http_reply *rep, enum agent_op op)
{
	char why[256] = "";
	int err;

	if (!req->body) {
		http_reply_fail(rep, "Field 'queue':value is missing");
		return;
	}
	err = agent_do(op, req->body, req->user, why, sizeof(why));
	if (err == EIO)
		http_reply_error(rep, 500, "%s", why);
	else if (err)
		http_reply_fail(rep, "%s", why);
	else
		http_reply_ok(rep, "", json_pack("{s:s,s:i}", "message", op_ok[op], "ok", 1));
}

static void add_agent_h(const struct http_req *req, struct http_reply *rep, void *arg)
{
	(void)arg;
	agent_h(req, rep, OP_ADD);
}

static void pause_agent_h(const struct http_req *req, struct http_reply *rep, void *arg)
{
	(void)arg;
	agent_h(req, rep, OP_PAUSE);
}

static void resume_agent_h(const struct http_req *req, struct http_reply *rep, void *arg)
{
	(void)arg;
	agent_h(req, rep, OP_RESUME);
}

static void remove_agent_h(const struct http_req *req, struct http_reply *rep, void *arg)
{
	(void)arg;
	agent_h(req, rep, OP_REMOVE);
}

/* {"agents":[...]}: each item on its own (spec §2.5 notes); the reply's ok
 * is 1 only when every item succeeded. A malformed list changes nothing. */
static void batch_h(const struct http_req *req, struct http_reply *rep, enum agent_op op)
{
	const json_t *list = req->body ? json_object_get(req->body, "agents") : NULL;
	json_t *out, *item;
	bool all = true;
	size_t i;

	if (!list || json_is_null(list)) {
		http_reply_fail(rep, "Field 'agents':value is missing");
		return;
	}
	if (!json_is_array(list) || json_array_size(list) > BATCH_MAX) {
		http_reply_fail(rep, "Field 'agents': expected a list of at most %u objects",
				BATCH_MAX);
		return;
	}
	json_array_foreach(list, i, item) {
		if (!json_is_object(item)) {
			http_reply_fail(rep, "Field 'agents[%zu]': expected an object", i);
			return;
		}
	}
	out = json_array();
	if (!out) {
		http_reply_error(rep, 500, "Requested operation failed");
		return;
	}
	json_array_foreach(list, i, item) {
		char why[256] = "", v[64], scratch[128];
		int err = agent_do(op, item, req->user, why, sizeof(why));
		json_t *o = json_object();

		if (!o) {
			json_decref(out);
			http_reply_error(rep, 500, "Requested operation failed");
			return;
		}
		/* Simotel echoes the agent as "agents" in batch-add (spec §2.5). */
		(void)apiform_obj_text(item, "agent", v, sizeof(v), scratch, sizeof(scratch));
		(void)json_object_set_new(o, op == OP_ADD ? "agents" : "agent", json_string(v));
		if (op == OP_ADD) {
			(void)apiform_obj_text(item, "source", v, sizeof(v), scratch, sizeof(scratch));
			(void)json_object_set_new(o, "source", json_string(v));
			(void)apiform_obj_text(item, "penalty", v, sizeof(v), scratch, sizeof(scratch));
			(void)json_object_set_new(o, "penalty", json_string(v));
		}
		(void)apiform_obj_text(item, "queue", v, sizeof(v), scratch, sizeof(scratch));
		(void)json_object_set_new(o, "queue", json_string(v));
		(void)json_object_set_new(o, "message", json_string(err ? why : op_ok[op]));
		(void)json_object_set_new(o, "ok", json_integer(err ? 0 : 1));
		all = all && !err;
		if (apiform_append(out, o)) {
			json_decref(out);
			http_reply_error(rep, 500, "Requested operation failed");
			return;
		}
	}
	http_reply_ok(rep, "", json_pack("{s:o,s:i}", "Data", out, "ok", all ? 1 : 0));
}

static void batch_add_h(const struct http_req *req, struct http_reply *rep, void *arg)
{
	(void)arg;
	batch_h(req, rep, OP_ADD);
}

static void batch_pause_h(const struct http_req *req, struct http_reply *rep, void *arg)
{
	(void)arg;
	batch_h(req, rep, OP_PAUSE);
}

static void batch_resume_h(const struct http_req *req, struct http_reply *rep, void *arg)
{
	(void)arg;
	batch_h(req, rep, OP_RESUME);
}

static void batch_remove_h(const struct http_req *req, struct http_reply *rep, void *arg)
{
	(void)arg;
	batch_h(req, rep, OP_REMOVE);
}

/* --- pbx/queues/search ------------------------------------------------------- */

struct list_ctx {
	const char *name;
	bool alike;
	json_t *rows;
	json_t *cur;                /* the queue being filled, NULL when filtered out */
	json_t *defs;               /* stored queues: number → {id, name, created} */
	int err;
};

static bool name_match(const char *want, const char *name, bool alike)
{
	size_t n;

	if (!want || !want[0])
		return true;
	if (!alike)
		return !strcasecmp(want, name);
	n = strlen(want);
	for (const char *p = name; *p; p++)
		if (!strncasecmp(p, want, n))
			return true;
	return false;
}

static json_t *num_str(int64_t v)
{
	char buf[24];

	(void)re_snprintf(buf, sizeof(buf), "%lld", (long long)v);
	return json_string(buf);
}

static int list_queue_h(const struct queue_info *qi, void *arg)
{
	struct list_ctx *c = arg;
	json_t *o, *def;

	c->cur = NULL;
	if (!name_match(c->name, qi->name, c->alike))
		return 0;
	/* Simotel's queue object (add fields); the name is the id and number. */
	o = json_pack("{s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:s,s:s,s:s,s:s,s:I,s:[]}",
		      "_id", qi->name, "name", qi->name, "number", qi->name,
		      "strategy", qstrategy_name(qi->strategy),
		      "timeout", num_str(qi->timeout_s), "retry", num_str(qi->retry_s),
		      "wrapuptime", num_str(qi->wrapup_s), "maxlen", num_str(qi->maxlen),
		      "music", qi->musicclass ? qi->musicclass : "",
		      "ringinuse", qi->ringinuse ? "yes" : "no",
		      "autopause", qi->autopause ? "yes" : "no",
		      "source", "tamas.conf", "waiting", (json_int_t)qi->waiting,
		      "members");
	if (!o || json_array_append_new(c->rows, o))
		return ENOMEM;
	def = qi->api ? json_object_get(c->defs, qi->name) : NULL;
	if (def) {
		(void)json_object_set(o, "_id", json_object_get(def, "id"));
		(void)json_object_set(o, "name", json_object_get(def, "name"));
		(void)json_object_set(o, "date", json_object_get(def, "created"));
		(void)json_object_set_new(o, "source", json_string("api"));
	}
	c->cur = o;
	return 0;
}

static const char *member_state(const struct queue_member_info *mi)
{
	if (mi->paused)
		return "Pause";
	if (mi->in_call)
		return "InUse";
	if (mi->ringing)
		return "Ringing";
	return "Idle";
}

static int list_member_h(const struct queue_info *qi, const struct queue_member_info *mi,
			 void *arg)
{
	struct list_ctx *c = arg;
	const char *slash = strchr(mi->iface, '/');
	const char *ext = slash ? slash + 1 : mi->iface;
	json_t *o;

	(void)qi;
	if (!c->cur)
		return 0;
	o = json_pack("{s:s,s:s,s:s,s:o,s:s,s:s,s:s,s:b,s:I}",
		      "agent", ext, "source", ext, "interface", mi->iface, "penalty", num_str(mi->penalty),
		      "paused", mi->paused ? "yes" : "no",
		      "dynamic", mi->dynamic ? "yes" : "no", "state", member_state(mi),
		      "wrapup", mi->wrapup, "calls", (json_int_t)mi->calls);
	if (!o)
		return ENOMEM;
	return json_array_append_new(json_object_get(c->cur, "members"), o) ? ENOMEM : 0;
}

static int def_h(const struct queuedef *q, void *arg)
{
	return json_object_set_new(arg, q->number, json_pack("{s:s,s:s,s:s}", "id", q->id,
							      "name", q->name, "created",
							      q->created)) ? ENOMEM : 0;
}

static void search_h(const struct http_req *req, struct http_reply *rep, void *arg)
{
	struct routes_queues *rq = arg;
	struct list_ctx c = { 0 };
	struct http_req creq;
	char name[64] = "", number[64] = "";
	int err;

	if (http_arg_bool(req, rep, "alike", true, &c.alike)
	    || apiform_conditions(req, rep, &creq))
		return;
	if (creq.body) {
		err = http_arg_str(&creq, rep, "name", false, name, sizeof(name));
		if (err == EINVAL)
			return;
		err = http_arg_str(&creq, rep, "number", false, number, sizeof(number));
		if (err == EINVAL)
			return;
	}
	/* name and number are the same thing in tamas: either filters. */
	c.name = number[0] ? number : name;
	if (name[0] && number[0] && !name_match(name, number, c.alike)) {
		http_reply_ok(rep, "", json_array());
		return;
	}
	c.rows = json_array();
	if (!c.rows) {
		http_reply_error(rep, 500, "Requested operation failed");
		return;
	}
	c.defs = json_object();
	err = c.defs ? queuedef_apply(rq->store, def_h, c.defs) : ENOMEM;
	err = err ? err : queue_apply(list_queue_h, list_member_h, &c);
	json_decref(c.defs);
	if (err) {
		json_decref(c.rows);
		http_reply_error(rep, 500, "Requested operation failed");
		return;
	}
	http_reply_ok(rep, "", c.rows);
}

int routes_queues_register(struct http *h, struct routes_queues *rq)
{
	static const struct {
		const char *path;
		http_route_h *h;
	} routes[] = {
		{ "pbx/queues/search", search_h },
		{ "pbx/queues/addagent", add_agent_h },
		{ "pbx/queues/pauseagent", pause_agent_h },
		{ "pbx/queues/resumeagent", resume_agent_h },
		{ "pbx/queues/removeagent", remove_agent_h },
		{ "pbx/queues/batchaddagent", batch_add_h },
		{ "pbx/queues/batchpauseagent", batch_pause_h },
		{ "pbx/queues/batchresumeagent", batch_resume_h },
		{ "pbx/queues/batchremoveagent", batch_remove_h },
	};
	int err = 0;

	if (!h || !rq || !rq->store)
		return EINVAL;
	for (size_t i = 0; !err && i < ARRAY_SIZE(routes); i++)
		err = http_route_add(h, "POST", routes[i].path, NULL, routes[i].h, rq);
	return err;
}
