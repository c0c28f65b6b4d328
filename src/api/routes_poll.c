/* routes_poll: reports/poll/search over store/poll, and the Survey event of
 * each recorded score. A search is validated whole before the store runs. */
#include "core/rejansson.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include "api/apiform.h"
#include "api/http.h"
#include "api/routes_poll.h"
#include "api/webhook.h"
#include "core/log.h"
#include "pbx/apps/poll.h"
#include "store/poll.h"
#include "store/store.h"

#define MSG_FAILED "Requested operation failed"

static uint64_t now_us(void)
{
	struct timeval tv;

	(void)gettimeofday(&tv, NULL);
	return (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
}

int routes_poll_record(const struct poll_result *r, void *arg)
{
	struct routes_poll *rp = arg;
	uint64_t us = now_us();
	time_t t = (time_t)(us / 1000000u);
	char id[32], date[32], wdate[40];
	struct tm tm;
	int err;

	if (!rp || !r || !rp->store)
		return EINVAL;
	if (!gmtime_r(&t, &tm) || !strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm))
		return EINVAL;
	err = store_begin(rp->store);
	if (err)
		return err;
	{
		const struct poll_rec rec = {
			.uniqueid = r->uniqueid, .src = r->src, .dst = r->dst, .point = r->point,
			.label = r->label, .qnum = r->queue, .date = date,
		};
		err = poll_add(rp->store, &rec, id, sizeof(id));
	}
	if (!err && webhook_wants(rp->webhook, "Survey")) {
		err = webhook_time_str(rp->webhook, us, wdate, sizeof(wdate));
		if (!err) {
			/* Simotel's Survey names itself in "event" (spec §2.12);
			 * webhook adds "event_name" for G4 receivers. */
			const struct webhook_field f[] = {
				{ "event", "Survey", 0 },
				{ "unique_id", r->uniqueid, 0 },
				{ "src", r->src ? r->src : "", 0 },
				{ "dst", r->dst ? r->dst : "", 0 },
				{ "queue", r->queue ? r->queue : "", 0 },
				{ "date", wdate, 0 },
				{ "point", NULL, r->point },
				{ "label", r->label ? r->label : "", 0 },
			};
			const char *key = r->linkedid && *r->linkedid ? r->linkedid : r->uniqueid;

			err = webhook_emit_fields(rp->webhook, "Survey", key, f, ARRAY_SIZE(f));
		}
	}
	if (err) {
		store_rollback(rp->store);
		return err;
	}
	return store_commit(rp->store);
}

/* --- reports/poll/search ---------------------------------------------------- */

static int row_h(const struct poll_rec *r, void *arg)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:I,s:s,s:s,s:s}", "_id", r->id,
			      "uniqueid", r->uniqueid, "src", r->src, "dst", r->dst,
			      "point", (json_int_t)r->point, "label", r->label, "qnum", r->qnum,
			      "date", r->date);

	return o ? json_array_append_new(arg, o) ? ENOMEM : 0 : ENOMEM;
}

static const char *const sortable[] = {
	"date", "point", "src", "dst", "label", "qnum", "uniqueid", "_id",
};

static void search_h(const struct http_req *req, struct http_reply *rep, void *arg)
{
	struct routes_poll *rp = arg;
	struct http_req creq;
	struct poll_query q = { 0 };
	struct http_page pg;
	char from[32], to[32], label[128], queue[64], cuid[64], src[64], dst[64];
	json_t *rows, *data;
	uint64_t total = 0;
	bool alike, ok;
	int err;

	if (http_arg_bool(req, rep, "alike", true, &alike))
		return;
	if (apiform_date_range(req, rep, true, from, to, sizeof(from)) ||
	    apiform_conditions(req, rep, &creq))
		return;
	if (http_arg_str(&creq, rep, "from", false, src, sizeof(src)) == EINVAL ||
	    http_arg_str(&creq, rep, "to", false, dst, sizeof(dst)) == EINVAL ||
	    http_arg_str(&creq, rep, "label", false, label, sizeof(label)) == EINVAL ||
	    http_arg_str(&creq, rep, "queue", false, queue, sizeof(queue)) == EINVAL ||
	    http_arg_str(&creq, rep, "cuid", false, cuid, sizeof(cuid)) == EINVAL)
		return;
	if (http_arg_page(req, rep, &pg))
		return;
	ok = !pg.sort[0];
	for (size_t i = 0; i < ARRAY_SIZE(sortable) && !ok; i++)
		ok = !strcmp(pg.sort, sortable[i]);
	if (!ok) {
		http_reply_fail(rep, "Field 'pagination.sorting': cannot sort by '%s' (date, "
				"point, src, dst, label, qnum, uniqueid, _id)", pg.sort);
		return;
	}
	if (!pg.sort[0]) {
		/* Simotel's default for poll reports (spec §1.5). */
		str_ncpy(pg.sort, "date", sizeof(pg.sort));
		pg.dir = -1;
	}
	rows = json_array();
	if (!rows) {
		http_reply_error(rep, 500, MSG_FAILED);
		return;
	}
	q = (struct poll_query){
		.src = src, .dst = dst, .label = label, .qnum = queue, .uniqueid = cuid,
		.alike = alike, .from = from, .to = to, .sort = pg.sort, .desc = pg.dir < 0,
		.start = pg.start, .count = pg.count,
	};
	err = poll_search(rp->store, &q, &total, row_h, rows);
	if (err) {
		json_decref(rows);
		log_error("api: reports/poll/search failed in the store: %m", err);
		http_reply_error(rep, 500, MSG_FAILED);
		return;
	}
	data = http_page_data(&pg, total, rows);
	if (!data) {
		http_reply_error(rep, 500, MSG_FAILED);
		return;
	}
	(void)json_object_set_new(data, "target", json_string("poll"));
	(void)json_object_set_new(data, "useGroupBy", json_false());
	http_reply_ok(rep, "", data);
}

int routes_poll_register(struct http *h, struct routes_poll *rp)
{
	if (!h || !rp || !rp->store)
		return EINVAL;
	return http_route_add(h, "POST", "reports/poll/search", NULL, search_h, rp);
}
