/* routes_qreport: queue and agent reports over store/queuerep (the
 * queue_log rows), shaped as Simotel's report rows; read only. */
#include "core/rejansson.h"
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "api/apiform.h"
#include "api/http.h"
#include "api/queuehook.h"
#include "api/reportarg.h"
#include "api/routes_qreport.h"
#include "store/queuerep.h"

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
	struct routes_qreport *rr = arg;
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
	err = queuerep_calls(rr->store, &q, &total, call_row_h, rows);
	report_reply(rep, req->path, err, &pg, total, rows, "queue_stat");
}

/* reports/queue_details/search: one row per agent attempt. */
static void details_report_h(const struct http_req *req, struct http_reply *rep, void *arg)
{
	struct routes_qreport *rr = arg;
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
	err = queuerep_attempts(rr->store, &q, &total, attempt_row_h, rows);
	report_reply(rep, req->path, err, &pg, total, rows, "queue");
}

/* Cursor paging (spec §1.5, as reports/cdr/ordered/id): {"_id": "" or the
 * last_id given} → the next ORDERED_COUNT rows by id and the new last_id;
 * past the end the cursor stays. */
enum { ORDERED_COUNT = 20 };

static void ordered_reply(const struct http_req *req, struct http_reply *rep,
			  struct routes_qreport *rr, bool details)
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
	err = details ? queuerep_attempts(rr->store, &q, &total, attempt_row_h, rows)
		: queuerep_calls(rr->store, &q, &total, call_ordered_row_h, rows);
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
	struct routes_qreport *rr = arg;
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
	err = queuerep_sessions(rr->store, &q, &total, session_row_h, rows);
	report_reply(rep, req->path, err, &pg, total, rows, "agent");
}

int routes_qreport_register(struct http *h, struct routes_qreport *rr)
{
	int err;

	if (!h || !rr || !rr->store)
		return EINVAL;
	err = http_route_add(h, "POST", "reports/queue/search", NULL, queue_report_h, rr);
	err = err ? err : http_route_add(h, "POST", "reports/queue/ordered/id", NULL,
					 queue_ordered_h, rr);
	err = err ? err : http_route_add(h, "POST", "reports/queue_details/search", NULL,
					 details_report_h, rr);
	err = err ? err : http_route_add(h, "POST", "reports/queue_details/ordered/id", NULL,
					 details_ordered_h, rr);
	err = err ? err : http_route_add(h, "POST", "reports/agent/search", NULL,
					 agent_report_h, rr);
	return err;
}
