/* routes_queues: queues and agents over pbx/queue, queue and agent reports
 * over store/queuerep. Member changes are checked whole before pbx/queue is
 * asked, and pbx/queue changes nothing when it refuses, so a refused
 * request leaves the queues as they were. */
#include "core/rejansson.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "api/apiform.h"
#include "api/http.h"
#include "api/queuehook.h"
#include "api/reportarg.h"
#include "api/routes_queues.h"
#include "core/log.h"
#include "pbx/queue.h"
#include "store/queuedef.h"
#include "store/queuerep.h"

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

/* --- reports ---------------------------------------------------------------------- */

static int range_read(const struct http_req *req, struct http_reply *rep, bool required,
		      char *from, char *to, size_t sz)
{
	json_t *dr = req->body ? json_object_get(req->body, "date_range") : NULL;
	struct http_req dreq = *req;
	char f[32] = "", t[32] = "";
	int err;

	from[0] = to[0] = '\0';
	if (dr && !json_is_null(dr) && !json_is_object(dr)) {
		http_reply_fail(rep, "Field 'date_range': expected an object {from, to}");
		return EINVAL;
	}
	dreq.body = dr && json_is_object(dr) ? dr : NULL;
	if (dreq.body) {
		err = http_arg_str(&dreq, rep, "from", false, f, sizeof(f));
		if (err == EINVAL)
			return err;
		err = http_arg_str(&dreq, rep, "to", false, t, sizeof(t));
		if (err == EINVAL)
			return err;
	}
	if (required && (!f[0] || !t[0])) {
		http_reply_fail(rep, "Field 'date_range.%s':value is missing", f[0] ? "to" : "from");
		return EINVAL;
	}
	if (f[0] && reportarg_date(f, false, from, sz)) {
		http_reply_fail(rep, "Field 'date_range.from': expected a date as YYYY-MM-DD HH:MM");
		return EINVAL;
	}
	if (t[0] && reportarg_date(t, true, to, sz)) {
		http_reply_fail(rep, "Field 'date_range.to': expected a date as YYYY-MM-DD HH:MM");
		return EINVAL;
	}
	if (from[0] && to[0] && strcmp(from, to) > 0) {
		http_reply_fail(rep, "Field 'date_range': from is after to");
		return EINVAL;
	}
	return 0;
}

/* The first of two names present in conditions. */
static int cond2(const struct http_req *creq, struct http_reply *rep, const char *a,
		 const char *b, char *buf, size_t sz)
{
	int err;

	buf[0] = '\0';
	if (!creq->body)
		return 0;
	err = http_arg_str(creq, rep, a, false, buf, sz);
	if (err == ENOENT && b)
		err = http_arg_str(creq, rep, b, false, buf, sz);
	return err == ENOENT ? 0 : err;
}

static const struct { const char *name; enum queuerep_sort sort; } sorts[] = {
	{ "starttime", QUEUEREP_SORT_START }, { "start", QUEUEREP_SORT_START },
	{ "endtime", QUEUEREP_SORT_END }, { "end", QUEUEREP_SORT_END },
	{ "wait", QUEUEREP_SORT_WAIT }, { "billsec", QUEUEREP_SORT_TALK },
	{ "duration", QUEUEREP_SORT_DURATION }, { "src", QUEUEREP_SORT_SRC },
	{ "dst", QUEUEREP_SORT_AGENT }, { "exten", QUEUEREP_SORT_AGENT },
	{ "qnum", QUEUEREP_SORT_QUEUE }, { "_id", QUEUEREP_SORT_ID },
};

static const char *const call_sorts[] = {
	"starttime", "endtime", "wait", "billsec", "duration", "src", "dst", "qnum", "_id", NULL,
};
static const char *const session_sorts[] = {
	"start", "end", "duration", "exten", "qnum", "_id", NULL,
};

static int sort_read(const struct http_req *req, struct http_reply *rep, struct http_page *pg,
		     const char *const *allowed, const char *dflt, struct queuerep_query *q)
{
	if (apiform_page(req, rep, pg, allowed))
		return EINVAL;
	if (!pg->sort[0]) {
		str_ncpy(pg->sort, dflt, sizeof(pg->sort));
		pg->dir = -1;
	}
	for (size_t i = 0; i < ARRAY_SIZE(sorts); i++)
		if (!strcmp(pg->sort, sorts[i].name))
			q->sort = sorts[i].sort;
	q->desc = pg->dir < 0;
	q->start = pg->start;
	q->count = pg->count;
	return 0;
}

static void set_str(json_t *o, const char *key, const char *v)
{
	(void)json_object_set_new(o, key, json_string(v ? v : ""));
}

static void set_hhmmss(json_t *o, const char *key, int64_t s)
{
	char hms[24];

	reportarg_hhmmss(s, hms);
	set_str(o, key, hms);
}

/* "YYYY-MM-DD HH:MM:SS" minus s seconds, same form. */
static void time_minus(const char *t, int64_t s, char *out, size_t sz)
{
	struct tm tm = { 0 };
	time_t v;

	out[0] = '\0';
	if (sscanf(t, "%d-%d-%d %d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
		   &tm.tm_min, &tm.tm_sec) != 6)
		return;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	v = timegm(&tm) - (time_t)s;
	if (gmtime_r(&v, &tm))
		(void)strftime(out, sz, "%Y-%m-%d %H:%M:%S", &tm);
}

static int call_row_h(const struct queuerep_call *c, void *arg)
{
	const char *slash = strchr(c->agent, '/');
	const char *disp = queuehook_disposition(c->event), *hangup = queuehook_hangup(c->event);
	char id[25], ring[24];
	json_t *o = json_object();

	if (!o)
		return ENOMEM;
	reportarg_id_fmt(c->id, id);
	set_str(o, "_id", id);
	(void)json_object_set_new(o, "duration", json_integer(c->duration));
	(void)json_object_set_new(o, "wait", json_integer(c->wait));
	(void)json_object_set_new(o, "caller_wait", json_integer(c->wait));
	(void)json_object_set_new(o, "agent_wait", json_integer(c->ring));
	(void)json_object_set_new(o, "billsec", json_integer(c->talk));
	set_str(o, "queue_id", c->callid);
	set_str(o, "src", c->src);
	set_str(o, "dst", slash ? slash + 1 : c->agent);
	set_str(o, "dst_name", "");
	set_str(o, "interface", c->agent);
	set_str(o, "cuid", c->callid);
	set_str(o, "qnum", c->queue);
	set_str(o, "starttime", c->start);
	set_str(o, "endtime", c->end);
	if (*c->answered) {
		time_minus(c->answered, c->ring, ring, sizeof(ring));
		set_str(o, "ringtime", ring);
		set_str(o, "answeredtime", c->answered);
	}
	else {
		(void)json_object_set_new(o, "ringtime", json_null());
		(void)json_object_set_new(o, "answeredtime", json_null());
	}
	set_str(o, "queue_status", queuehook_status(c->event));
	set_str(o, "event", c->event);
	set_str(o, "disposition", disp);
	set_str(o, "hangup", hangup);
	(void)json_object_set_new(o, disp, json_integer(1));
	(void)json_object_set_new(o, "v", json_integer(2));
	set_hhmmss(o, "billsec_hhmmss", c->talk);
	set_hhmmss(o, "wait_hhmmss", c->wait);
	set_hhmmss(o, "duration_hhmmss", c->duration);
	return apiform_append(arg, o);
}

/* {"$date": {"$numberLong": ms}} of a UTC table time, or null. */
static json_t *ejson_date(const char *t)
{
	struct tm tm = { 0 };
	char ms[24];

	if (!t || sscanf(t, "%d-%d-%d %d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
			 &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		return json_null();
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	(void)re_snprintf(ms, sizeof(ms), "%lld", (long long)timegm(&tm) * 1000);
	return json_pack("{s:{s:s}}", "$date", "$numberLong", ms);
}

/* The ordered variant's row: the search row plus data {start_time,
 * ring_time, answered_time, end_time} as Extended JSON dates (spec §2.11). */
static int call_ordered_row_h(const struct queuerep_call *c, void *arg)
{
	json_t *rows = arg, *o, *d;
	int err = call_row_h(c, rows);

	if (err)
		return err;
	o = json_array_get(rows, json_array_size(rows) - 1);
	d = json_object();
	if (!d)
		return ENOMEM;
	(void)json_object_set_new(d, "start_time", ejson_date(c->start));
	(void)json_object_set_new(d, "ring_time",
				  ejson_date(json_string_value(json_object_get(o, "ringtime"))));
	(void)json_object_set_new(d, "answered_time",
				  ejson_date(*c->answered ? c->answered : NULL));
	(void)json_object_set_new(d, "end_time", ejson_date(c->end));
	return json_object_set_new(o, "data", d) ? ENOMEM : 0;
}

/* One agent attempt as Simotel's queue_report row (CDR-like fields). */
static int attempt_row_h(const struct queuerep_attempt *a, void *arg)
{
	const char *slash = strchr(a->agent, '/');
	const char *ext = slash ? slash + 1 : a->agent;
	const bool answered = !strcmp(a->event, "CONNECT");
	const char *disp = answered ? "ANSWERED" : "NO ANSWER";
	char id[25], clid[96];
	json_t *o = json_object();

	if (!o)
		return ENOMEM;
	reportarg_id_fmt(a->id, id);
	(void)re_snprintf(clid, sizeof(clid), "\"\" <%s>", a->src);
	set_str(o, "_id", id);
	set_str(o, "type", "queue_report");
	set_str(o, "cuid", a->callid);
	set_str(o, "clid", clid);
	set_str(o, "src", a->src);
	set_str(o, "dst", ext);
	set_str(o, "dst_name", "");
	set_str(o, "dcontext", "");
	set_str(o, "channel", "");
	set_str(o, "dstchannel", a->agent);
	set_str(o, "lastapp", "Queue");
	set_str(o, "lastdata", a->queue);
	set_str(o, "start", a->start);
	set_str(o, "starttime", a->start);
	if (answered)
		set_str(o, "answer", a->last_try);
	else
		(void)json_object_set_new(o, "answer", json_null());
	set_str(o, "endtime", a->last_try);
	(void)json_object_set_new(o, "duration", json_integer(a->ring + a->talk));
	(void)json_object_set_new(o, "billsec", json_integer(a->talk));
	(void)json_object_set_new(o, "ringtime", json_integer(a->ring));
	set_str(o, "disposition", disp);
	set_str(o, "uniqueid", a->member_uid);
	set_str(o, "interface", a->agent);
	set_str(o, "qnum", a->queue);
	set_str(o, "queue_id", a->callid);
	(void)json_object_set_new(o, "wait", json_integer(a->wait));
	(void)json_object_set_new(o, "tries", json_integer(a->tries));
	set_str(o, "last_try", a->last_try);
	set_str(o, "record", "");
	set_str(o, "event", a->event);
	(void)json_object_set_new(o, disp, json_integer(1));
	(void)json_object_set_new(o, "queue_report", json_integer(1));
	(void)json_object_set_new(o, "v", json_integer(2));
	set_hhmmss(o, "billsec_hhmmss", a->talk);
	set_hhmmss(o, "wait_hhmmss", a->wait);
	set_hhmmss(o, "duration_hhmmss", a->ring + a->talk);
	return apiform_append(arg, o);
}

static int session_row_h(const struct queuerep_session *s, void *arg)
{
	char id[25], du[32];
	json_t *o = json_object();

	if (!o)
		return ENOMEM;
	reportarg_id_fmt(s->id, id);
	set_str(o, "_id", id);
	set_str(o, "type", s->type);
	set_str(o, "exten", s->exten);
	set_str(o, "interface", s->agent);
	set_str(o, "qnum", s->queue);
	set_str(o, "start", s->start);
	if (*s->end)
		set_str(o, "end", s->end);
	else
		(void)json_object_set_new(o, "end", json_null());
	(void)json_object_set_new(o, "duration", json_integer(s->duration));
	(void)json_object_set_new(o, s->type, json_integer(1));
	(void)re_snprintf(du, sizeof(du), "%s_du", s->type);
	(void)json_object_set_new(o, du, json_integer(s->duration));
	if (!strcmp(s->type, "pause"))
		set_str(o, "reason", s->reason);
	set_hhmmss(o, "duration_hhmmss", s->duration);
	return apiform_append(arg, o);
}

static void report_reply(struct http_reply *rep, const char *path, int err,
			 const struct http_page *pg, uint64_t total, json_t *rows,
			 const char *target)
{
	json_t *data;

	if (err) {
		json_decref(rows);
		apiform_store_failed(rep, path, err);
		return;
	}
	data = http_page_data(pg, total, rows);
	if (!data) {
		http_reply_error(rep, 500, "Requested operation failed");
		return;
	}
	(void)json_object_set_new(data, "target", json_string(target));
	(void)json_object_set_new(data, "useGroupBy", json_false());
	http_reply_ok(rep, "", data);
}

static void queue_report_h(const struct http_req *req, struct http_reply *rep, void *arg)
{
	struct routes_queues *rq = arg;
	struct queuerep_query q = { 0 };
	char src[64], dst[64], cuid[64], qnum[64], disp[16], from[20], to[20];
	struct http_req creq;
	struct http_page pg;
	uint64_t total = 0;
	json_t *rows;
	int err;

	if (http_arg_bool(req, rep, "alike", true, &q.alike)
	    || apiform_conditions(req, rep, &creq)
	    || cond2(&creq, rep, "from", "src", src, sizeof(src))
	    || cond2(&creq, rep, "to", "dst", dst, sizeof(dst))
	    || cond2(&creq, rep, "cuid", "queue_id", cuid, sizeof(cuid))
	    || cond2(&creq, rep, "qnum", "queue", qnum, sizeof(qnum))
	    || cond2(&creq, rep, "disposition", NULL, disp, sizeof(disp)))
		return;
	if (disp[0] && strcasecmp(disp, "ANSWERED") && strcasecmp(disp, "MISSED")) {
		http_reply_fail(rep, "Field 'disposition': expected ANSWERED or MISSED");
		return;
	}
	if (range_read(req, rep, !cuid[0], from, to, sizeof(from))
	    || sort_read(req, rep, &pg, call_sorts, "starttime", &q))
		return;
	q.from = from;
	q.to = to;
	q.src = src;
	q.agent = dst;
	q.callid = cuid;
	q.queue = qnum;
	q.answered_only = !strcasecmp(disp, "ANSWERED");
	q.missed_only = !strcasecmp(disp, "MISSED");
	rows = json_array();
	if (!rows) {
		http_reply_error(rep, 500, "Requested operation failed");
		return;
	}
	/* Apart: an argument list would not order the read of total. */
	err = queuerep_calls(rq->store, &q, &total, call_row_h, rows);
	report_reply(rep, req->path, err, &pg, total, rows, "queue_stat");
}

/* reports/queue_details/search: one row per agent attempt. */
static void details_report_h(const struct http_req *req, struct http_reply *rep, void *arg)
{
	struct routes_queues *rq = arg;
	struct queuerep_query q = { 0 };
	char src[64], dst[64], cuid[64], qid[64], qnum[64], disp[16], from[20], to[20];
	struct http_req creq;
	struct http_page pg;
	uint64_t total = 0;
	json_t *rows;
	int err;

	if (http_arg_bool(req, rep, "alike", true, &q.alike)
	    || apiform_conditions(req, rep, &creq)
	    || cond2(&creq, rep, "from", "src", src, sizeof(src))
	    || cond2(&creq, rep, "to", "dst", dst, sizeof(dst))
	    || cond2(&creq, rep, "cuid", NULL, cuid, sizeof(cuid))
	    || cond2(&creq, rep, "queue_id", NULL, qid, sizeof(qid))
	    || cond2(&creq, rep, "queue", "qnum", qnum, sizeof(qnum))
	    || cond2(&creq, rep, "disposition", NULL, disp, sizeof(disp)))
		return;
	/* queue_id names the caller's queue entry, which is its cuid here. */
	if (cuid[0] && qid[0] && strcmp(cuid, qid)) {
		http_reply_fail(rep, "Field 'queue_id': differs from cuid (a queue entry is "
				"named by its caller's cuid)");
		return;
	}
	if (!cuid[0])
		str_ncpy(cuid, qid, sizeof(cuid));
	if (disp[0] && strcasecmp(disp, "ANSWERED") && strcasecmp(disp, "NO ANSWER")) {
		http_reply_fail(rep, "Field 'disposition': expected ANSWERED or NO ANSWER");
		return;
	}
	if (range_read(req, rep, !cuid[0], from, to, sizeof(from))
	    || sort_read(req, rep, &pg, call_sorts, "starttime", &q))
		return;
	q.from = from;
	q.to = to;
	q.src = src;
	q.agent = dst;
	q.callid = cuid;
	q.queue = qnum;
	q.answered_only = !strcasecmp(disp, "ANSWERED");
	q.missed_only = !strcasecmp(disp, "NO ANSWER");
	rows = json_array();
	if (!rows) {
		http_reply_error(rep, 500, "Requested operation failed");
		return;
	}
	err = queuerep_attempts(rq->store, &q, &total, attempt_row_h, rows);
	report_reply(rep, req->path, err, &pg, total, rows, "queue");
}

/* Cursor paging (spec §1.5, as reports/cdr/ordered/id): {"_id": "" or the
 * last_id given} → the next ORDERED_COUNT rows by id and the new last_id;
 * past the end the cursor stays. */
enum { ORDERED_COUNT = 20 };

static void ordered_reply(const struct http_req *req, struct http_reply *rep,
			  struct routes_queues *rq, bool details)
{
	struct queuerep_query q = { .sort = QUEUEREP_SORT_ID, .count = ORDERED_COUNT };
	char idstr[32] = "", last[25];
	uint64_t total = 0;
	json_t *rows, *lastrow;
	int64_t lastid = 0;
	int err;

	err = http_arg_str(req, rep, "_id", false, idstr, sizeof(idstr));
	if (err == ENOENT)
		err = http_arg_str(req, rep, "id_", false, idstr, sizeof(idstr));
	if (err == EINVAL)
		return;
	if (idstr[0] && reportarg_id_parse(idstr, &q.after)) {
		http_reply_fail(rep, "Field '_id': expected an id of 24 hex digits");
		return;
	}
	rows = json_array();
	if (!rows) {
		http_reply_error(rep, 500, "Requested operation failed");
		return;
	}
	err = details ? queuerep_attempts(rq->store, &q, &total, attempt_row_h, rows)
		: queuerep_calls(rq->store, &q, &total, call_ordered_row_h, rows);
	if (err) {
		json_decref(rows);
		apiform_store_failed(rep, req->path, err);
		return;
	}
	lastrow = json_array_get(rows, json_array_size(rows) - 1);
	if (lastrow && !reportarg_id_parse(json_string_value(json_object_get(lastrow, "_id")),
					   &lastid))
		reportarg_id_fmt(lastid, last);
	http_reply_ok(rep, "", json_pack("{s:s,s:o}", "last_id", lastid ? last : idstr,
					 "data", rows));
}

static void queue_ordered_h(const struct http_req *req, struct http_reply *rep, void *arg)
{
	ordered_reply(req, rep, arg, false);
}

static void details_ordered_h(const struct http_req *req, struct http_reply *rep, void *arg)
{
	ordered_reply(req, rep, arg, true);
}

static void agent_report_h(const struct http_req *req, struct http_reply *rep, void *arg)
{
	struct routes_queues *rq = arg;
	struct queuerep_query q = { 0 };
	char exten[64], queue[64], type[16], from[20], to[20];
	struct http_req creq;
	struct http_page pg;
	uint64_t total = 0;
	json_t *rows;
	int err;

	if (http_arg_bool(req, rep, "alike", true, &q.alike)
	    || apiform_conditions(req, rep, &creq)
	    || cond2(&creq, rep, "exten", "agent", exten, sizeof(exten))
	    || cond2(&creq, rep, "queue", "qnum", queue, sizeof(queue))
	    || cond2(&creq, rep, "type", NULL, type, sizeof(type)))
		return;
	if (type[0] && strcmp(type, "inout") && strcmp(type, "pause")) {
		http_reply_fail(rep, "Field 'type': expected inout or pause");
		return;
	}
	if (range_read(req, rep, true, from, to, sizeof(from))
	    || sort_read(req, rep, &pg, session_sorts, "end", &q))
		return;
	q.from = from;
	q.to = to;
	q.agent = exten;
	q.queue = queue;
	q.type = type;
	rows = json_array();
	if (!rows) {
		http_reply_error(rep, 500, "Requested operation failed");
		return;
	}
	err = queuerep_sessions(rq->store, &q, &total, session_row_h, rows);
	report_reply(rep, req->path, err, &pg, total, rows, "agent");
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
		{ "reports/queue/search", queue_report_h },
		{ "reports/queue/ordered/id", queue_ordered_h },
		{ "reports/queue_details/search", details_report_h },
		{ "reports/queue_details/ordered/id", details_ordered_h },
		{ "reports/agent/search", agent_report_h },
	};
	int err = 0;

	if (!h || !rq || !rq->store)
		return EINVAL;
	for (size_t i = 0; !err && i < ARRAY_SIZE(routes); i++)
		err = http_route_add(h, "POST", routes[i].path, NULL, routes[i].h, rq);
	return err;
}
