/* routes_callback: callback/requests/search and callback/requests/done
 * over store/cbreq. A body is validated whole before the store runs. */
#include "core/rejansson.h"
#include <errno.h>
#include <string.h>
#include "api/apiform.h"
#include "api/http.h"
#include "api/routes_callback.h"
#include "core/log.h"
#include "pbx/callback.h"
#include "store/cbreq.h"

#define MSG_FAILED "Requested operation failed"

static int row_h(const struct cbreq_rec *r, void *arg)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:s,s:s,s:s,s:s}", "_id", r->id,
			      "callback", r->callback, "caller", r->caller, "number", r->number,
			      "target", r->target, "status", r->status,
			      "attempts", (json_int_t)r->attempts, "originated_call_id",
			      r->call_id, "operator", r->operator, "registered_at",
			      r->registered_at, "handled_at", r->handled_at);

	return o ? json_array_append_new(arg, o) ? ENOMEM : 0 : ENOMEM;
}

static const char *const statuses[] = {
	CBREQ_PENDING, CBREQ_CALLING, CBREQ_DONE, CBREQ_FAILED,
};

/* Each row's automatic attempts as its "tries" (after the search: one
 * statement at a time). */
static int try_h(const struct cbreq_attempt *a, void *arg)
{
	return apiform_append(arg, json_pack("{s:I,s:s,s:s,s:s,s:s,s:s}", "attempt",
					     (json_int_t)a->attempt, "originated_call_id",
					     a->call_id, "agent", a->agent, "started_at",
					     a->started_at, "ended_at", a->ended_at, "outcome",
					     a->outcome));
}

static int tries_add(struct store *st, json_t *rows)
{
	size_t i;
	json_t *row;

	json_array_foreach(rows, i, row) {
		json_t *tries = json_array();
		int err;

		if (!tries || json_object_set_new(row, "tries", tries))
			return ENOMEM;
		err = cbreq_attempts(st, json_string_value(json_object_get(row, "_id")), try_h,
				     tries);
		if (err)
			return err;
	}
	return 0;
}

/* callback/requests/search, and with report reports/callback/search (the
 * rows' tries too): conditions callback, caller, number, operator, status,
 * target; date_range on registered_at, handled_range on handled_at. */
static void search_run(const struct http_req *req, struct http_reply *rep,
		       struct routes_callback *rc, bool report)
{
	const char *what = report ? "reports/callback/search" : "callback/requests/search";
	struct http_req creq;
	struct cbreq_query q;
	struct http_page pg;
	char from[32] = "", to[32] = "", hfrom[32] = "", hto[32] = "", cb[64] = "";
	char caller[64] = "", number[64] = "", status[16] = "", op[64] = "", target[64] = "";
	json_t *rows, *data;
	uint64_t total = 0;
	bool alike = false, ok;
	int err;

	err = http_arg_bool(req, rep, "alike", false, &alike);
	if (err && err != ENOENT)
		return;
	if (apiform_date_range(req, rep, false, from, to, sizeof(from)) ||
	    apiform_range(req, rep, "handled_range", false, hfrom, hto, sizeof(hfrom)) ||
	    apiform_conditions(req, rep, &creq))
		return;
	if (http_arg_str(&creq, rep, "callback", false, cb, sizeof(cb)) == EINVAL ||
	    http_arg_str(&creq, rep, "caller", false, caller, sizeof(caller)) == EINVAL ||
	    http_arg_str(&creq, rep, "number", false, number, sizeof(number)) == EINVAL ||
	    http_arg_str(&creq, rep, "operator", false, op, sizeof(op)) == EINVAL ||
	    http_arg_str(&creq, rep, "target", false, target, sizeof(target)) == EINVAL ||
	    http_arg_str(&creq, rep, "status", false, status, sizeof(status)) == EINVAL)
		return;
	ok = !status[0];
	for (size_t i = 0; i < ARRAY_SIZE(statuses) && !ok; i++)
		ok = !strcmp(status, statuses[i]);
	if (!ok) {
		http_reply_fail(rep, "Field 'conditions.status': expected pending, calling, done "
				"or failed, got '%s'", status);
		return;
	}
	if (http_arg_page(req, rep, &pg))
		return;
	if (pg.sort[0] && strcmp(pg.sort, "registered_at")) {
		http_reply_fail(rep, "Field 'pagination.sorting': cannot sort by '%s' "
				"(registered_at)", pg.sort);
		return;
	}
	if (!pg.sort[0]) {
		str_ncpy(pg.sort, "registered_at", sizeof(pg.sort));
		pg.dir = -1;             /* newest first, as Simotel's reports */
	}
	rows = json_array();
	if (!rows) {
		http_reply_error(rep, 500, MSG_FAILED);
		return;
	}
	q = (struct cbreq_query){
		.callback = cb, .caller = caller, .number = number, .status = status,
		.operator = op, .target = target, .alike = alike, .from = from, .to = to,
		.hfrom = hfrom, .hto = hto, .desc = pg.dir < 0, .start = pg.start,
		.count = pg.count,
	};
	err = cbreq_search(rc->store, &q, &total, row_h, rows);
	if (!err && report)
		err = tries_add(rc->store, rows);
	if (err) {
		json_decref(rows);
		log_error("api: %s failed in the store: %m", what, err);
		http_reply_error(rep, 500, MSG_FAILED);
		return;
	}
	data = http_page_data(&pg, total, rows);
	if (!data) {
		http_reply_error(rep, 500, MSG_FAILED);
		return;
	}
	http_reply_ok(rep, "", data);
}

static void search_h(const struct http_req *req, struct http_reply *rep, void *arg)
{
	search_run(req, rep, arg, false);
}

static void report_h(const struct http_req *req, struct http_reply *rep, void *arg)
{
	search_run(req, rep, arg, true);
}

static void done_h(const struct http_req *req, struct http_reply *rep, void *arg)
{
	struct routes_callback *rc = arg;
	char id[64], op[64] = "";
	int err;

	if (http_arg_str(req, rep, "_id", true, id, sizeof(id)))
		return;
	err = http_arg_str(req, rep, "operator", false, op, sizeof(op));
	if (err && err != ENOENT)
		return;
	err = rc->callbacks ? callback_mark_done(rc->callbacks, id, op)
			    : cbreq_mark_done(rc->store, id, op);
	if (err == ENOENT) {
		http_reply_fail(rep, "No pending or failed callback request with _id '%s'", id);
		return;
	}
	if (err) {
		log_error("api: callback/requests/done failed in the store (id=%s): %m", id, err);
		http_reply_error(rep, 500, MSG_FAILED);
		return;
	}
	log_info("api: callback request marked done (id=%s operator=%s)", id, op);
	http_reply_ok(rep, "", NULL);
}

int routes_callback_register(struct http *h, struct routes_callback *rc)
{
	int err;

	if (!h || !rc || !rc->store)
		return EINVAL;
	err = http_route_add(h, "POST", "callback/requests/search", NULL, search_h, rc);
	if (!err)
		err = http_route_add(h, "POST", "reports/callback/search", NULL, report_h, rc);
	return err ? err : http_route_add(h, "POST", "callback/requests/done", NULL, done_h, rc);
}
