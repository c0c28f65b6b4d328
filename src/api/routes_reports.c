/* routes_reports: Simotel's CDR reports over store/cdrrep. A request is
 * validated whole (conditions, date_range, pagination) before the query
 * runs. Times are the table's: UTC "YYYY-MM-DD HH:MM:SS", Gregorian, for
 * date_range input as for output (tamas has no panel calendar). */
#include "core/rejansson.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "api/callhook.h"
#include "api/http.h"
#include "api/reportarg.h"
#include "api/routes_reports.h"
#include "core/log.h"
#include "pbx/chan.h"
#include "store/cdrrep.h"

#define MSG_FAILED "Requested operation failed"
#define ORDERED_COUNT 20            /* spec §1.5: 20 records per ordered call */

static const char *const dispositions[] = {
	"ANSWERED", "NO ANSWER", "BUSY", "FAILED", "CONGESTION",
};
static const char *const types[] = { "incoming", "outgoing", "local", "feature" };

/* pagination.sorting names (Simotel's and the table's) → columns. */
static const struct { const char *name; enum cdrrep_sort sort; } sorts[] = {
	{ "starttime", CDRREP_SORT_START }, { "start", CDRREP_SORT_START },
	{ "date", CDRREP_SORT_START }, { "calldate", CDRREP_SORT_START },
	{ "endtime", CDRREP_SORT_END }, { "end", CDRREP_SORT_END },
	{ "answer", CDRREP_SORT_ANSWER }, { "duration", CDRREP_SORT_DURATION },
	{ "billsec", CDRREP_SORT_BILLSEC }, { "src", CDRREP_SORT_SRC },
	{ "dst", CDRREP_SORT_DST }, { "disposition", CDRREP_SORT_DISPOSITION },
	{ "cuid", CDRREP_SORT_UNIQUEID }, { "uniqueid", CDRREP_SORT_UNIQUEID },
	{ "_id", CDRREP_SORT_ID },
};

static void store_failed(struct http_reply *rep, const char *what, int err)
{
	log_error("api: %s failed in the store: %m", what, err);
	http_reply_error(rep, 500, MSG_FAILED);
}

/* --- rows ---------------------------------------------------------------------- */

static const char *row_type(const struct routes_reports *rr, const char *channel,
			    const char *dstchannel, const char *dst, char *entry, size_t esz,
			    char *outp, size_t osz)
{
	struct cdr_rec rec = { .channel = channel, .dstchannel = dstchannel, .dst = dst };

	entry[0] = outp[0] = '\0';
	if (!rr->callhook)
		return dst && dst[0] == '*' ? "feature" : "local";
	return callhook_cdr_type(rr->callhook, &rec, entry, esz, outp, osz);
}

static const char *type_sql_h(const char *channel, const char *dstchannel, const char *dst,
			      void *arg)
{
	char entry[64], outp[64];

	return row_type(arg, channel, dstchannel, dst, entry, sizeof(entry), outp,
			sizeof(outp));
}

static bool utc_secs(const char *s, time_t *t)
{
	struct tm tm = { 0 };

	if (!s || sscanf(s, "%d-%d-%d %d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
			 &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		return false;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*t = timegm(&tm);
	return *t != (time_t)-1;
}

/* The recording as the API names it: relative to the recordings directory
 * when inside it (the name audio/download takes; *inside true), else the
 * bare file name, as the Cdr webhook shows it. */
static const char *record_name(const struct routes_reports *rr, const char *path,
			       bool *inside)
{
	size_t n = rr->recordings_dir ? strlen(rr->recordings_dir) : 0;
	const char *slash;

	while (n > 1 && rr->recordings_dir[n - 1] == '/')
		n--;
	*inside = n && !strncmp(path, rr->recordings_dir, n) && path[n] == '/';
	if (*inside) {
		path += n;
		while (*path == '/')     /* MixMonitor joins dir and name with '/' */
			path++;
		return path;
	}
	slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

static const char *amaflags_name(int64_t v)
{
	switch (v) {
	case 1:  return "OMIT";
	case 2:  return "BILLING";
	default: return "DOCUMENTATION";
	}
}

static void set_str(json_t *o, const char *key, const char *v)
{
	(void)json_object_set_new(o, key, json_string(v ? v : ""));
}

/* A CDR row as Simotel's report shows it (spec §2.11). */
static json_t *row_json(const struct routes_reports *rr, const struct cdrrep_row *r)
{
	char id[25], entry[64], outp[64], hms[24], seq[24];
	const char *type, *cuid = *r->linkedid ? r->linkedid : r->uniqueid;
	time_t ts, ta;
	int64_t wait;
	bool inside;
	json_t *o = json_object();

	if (!o)
		return NULL;
	type = row_type(rr, r->channel, r->dstchannel, r->dst, entry, sizeof(entry), outp,
			sizeof(outp));
	/* Time before answer; an unanswered call waited all of it. */
	wait = *r->answer && utc_secs(r->start, &ts) && utc_secs(r->answer, &ta) && ta >= ts
		? (int64_t)(ta - ts) : r->duration;
	reportarg_id_fmt(r->id, id);
	set_str(o, "_id", id);
	set_str(o, "type", type);
	set_str(o, "cuid", cuid);
	set_str(o, "clid", r->clid);
	set_str(o, "src", r->src);
	set_str(o, "dst", r->dst);
	set_str(o, "dcontext", r->dcontext);
	set_str(o, "channel", r->channel);
	set_str(o, "dstchannel", r->dstchannel);
	set_str(o, "lastapp", r->lastapp);
	set_str(o, "lastdata", r->lastdata);
	set_str(o, "start", r->start);
	(void)json_object_set_new(o, "answer", *r->answer ? json_string(r->answer) : json_null());
	(void)json_object_set_new(o, "duration", json_integer(r->duration));
	(void)json_object_set_new(o, "billsec", json_integer(r->billsec));
	set_str(o, "disposition", r->disposition);
	set_str(o, "amaflags", amaflags_name(r->amaflags));
	set_str(o, "accountcode", r->accountcode);
	set_str(o, "uniqueid", r->uniqueid);
	set_str(o, "linkedid", r->linkedid);
	set_str(o, "userfield", r->userfield);
	(void)re_snprintf(seq, sizeof(seq), "%lld", (long long)r->sequence);
	set_str(o, "sequence", seq);
	(void)json_object_set_new(o, "v", json_integer(2));
	if (*entry) {
		set_str(o, "did", r->dst);
		set_str(o, "entry_point", entry);
	}
	if (*outp)
		set_str(o, "outgoing_point", outp);
	/* Simotel marks an originated call's CDR both ways (spec §2.2). */
	if (*r->originated_call_id) {
		char comment[96];

		set_str(o, "originated_call_id", r->originated_call_id);
		(void)re_snprintf(comment, sizeof(comment), "originated call: %s",
				  r->originated_call_id);
		set_str(o, "comment", comment);
	}
	else
		set_str(o, "comment", "");
	if (*r->recordingfile)
		set_str(o, "record", record_name(rr, r->recordingfile, &inside));
	(void)json_object_set_new(o, "route", json_array());
	(void)json_object_set_new(o, "details", json_array());
	(void)json_object_set_new(o, "wait", json_integer(wait));
	set_str(o, "starttime", r->start);
	set_str(o, "endtime", r->end);
	if (*r->disposition)
		(void)json_object_set_new(o, r->disposition, json_integer(1));
	(void)json_object_set_new(o, type, json_integer(1));
	reportarg_hhmmss(r->billsec, hms);
	set_str(o, "billsec_hhmmss", hms);
	reportarg_hhmmss(wait, hms);
	set_str(o, "wait_hhmmss", hms);
	reportarg_hhmmss(r->duration, hms);
	set_str(o, "duration_hhmmss", hms);
	return o;
}

struct rows_ctx {
	const struct routes_reports *rr;
	json_t *rows;
	int64_t last;
};

static int rows_add_h(const struct cdrrep_row *r, void *arg)
{
	struct rows_ctx *c = arg;
	json_t *o = row_json(c->rr, r);

	c->last = r->id;
	return o && !json_array_append_new(c->rows, o) ? 0 : ENOMEM;
}

/* --- request parts ---------------------------------------------------------------- */

/* body.name as an object for its members; *out NULL when absent or null.
 * EINVAL (rep filled) for another type. */
static int object_member(const struct http_req *req, struct http_reply *rep,
			 const char *name, json_t **out)
{
	json_t *v = req->body ? json_object_get(req->body, name) : NULL;

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v)) {
		http_reply_fail(rep, "Field '%s': expected an object", name);
		return EINVAL;
	}
	*out = v;
	return 0;
}

/* The first of names present in obj (borrowed as a request body). */
static int cond_str(const json_t *obj, struct http_reply *rep, const char *const *names,
		    size_t n, char *buf, size_t sz)
{
	struct http_req creq = { .body = (json_t *)obj };
	int err = ENOENT;

	buf[0] = '\0';
	for (size_t i = 0; obj && err == ENOENT && i < n; i++)
		err = http_arg_str(&creq, rep, names[i], false, buf, sz);
	return err == ENOENT ? 0 : err;
}

/* Case-insensitive; v becomes the list's spelling. */
static bool in_list(const char *const *list, size_t n, char *v)
{
	for (size_t i = 0; i < n; i++)
		if (!strcasecmp(v, list[i])) {
			str_ncpy(v, list[i], strlen(v) + 1);
			return true;
		}
	return false;
}

struct search_args {
	char src[64], dst[64], number[64], cuid[64], disposition[16], type[16];
	char from[20], to[20];
	struct http_page pg;
	struct cdrrep_query q;
};

static int conditions_read(const struct http_req *req, struct http_reply *rep,
			   struct search_args *a)
{
	static const char *const n_src[] = { "from", "src" }, *const n_dst[] = { "to", "dst" },
		*const n_num[] = { "number" },
		*const n_cuid[] = { "cuid", "unique_id", "uniqueid" },
		*const n_disp[] = { "disposition" }, *const n_type[] = { "type" };
	json_t *cond;

	if (object_member(req, rep, "conditions", &cond))
		return EINVAL;
	if (cond_str(cond, rep, n_src, 2, a->src, sizeof(a->src))
	    || cond_str(cond, rep, n_dst, 2, a->dst, sizeof(a->dst))
	    || cond_str(cond, rep, n_num, 1, a->number, sizeof(a->number))
	    || cond_str(cond, rep, n_cuid, 3, a->cuid, sizeof(a->cuid))
	    || cond_str(cond, rep, n_disp, 1, a->disposition, sizeof(a->disposition))
	    || cond_str(cond, rep, n_type, 1, a->type, sizeof(a->type)))
		return EINVAL;
	if (a->disposition[0] && !in_list(dispositions, ARRAY_SIZE(dispositions),
					  a->disposition)) {
		http_reply_fail(rep, "Field 'disposition': expected ANSWERED, NO ANSWER, BUSY, "
				"FAILED or CONGESTION");
		return EINVAL;
	}
	if (a->type[0] && !in_list(types, ARRAY_SIZE(types), a->type)) {
		http_reply_fail(rep, "Field 'type': expected incoming, outgoing, local or "
				"feature");
		return EINVAL;
	}
	return 0;
}

/* date_range {from, to}: both required unless the search is by cuid. */
static int range_read(const struct http_req *req, struct http_reply *rep,
		      struct search_args *a)
{
	static const char *const n_from[] = { "from" }, *const n_to[] = { "to" };
	char from[32], to[32];
	json_t *dr;

	if (object_member(req, rep, "date_range", &dr))
		return EINVAL;
	if (cond_str(dr, rep, n_from, 1, from, sizeof(from))
	    || cond_str(dr, rep, n_to, 1, to, sizeof(to)))
		return EINVAL;
	if (!a->cuid[0] && (!from[0] || !to[0])) {
		http_reply_fail(rep, "Field 'date_range.%s':value is missing",
				from[0] ? "to" : "from");
		return EINVAL;
	}
	if (from[0] && reportarg_date(from, false, a->from, sizeof(a->from))) {
		http_reply_fail(rep, "Field 'date_range.from': expected a date as YYYY-MM-DD HH:MM");
		return EINVAL;
	}
	if (to[0] && reportarg_date(to, true, a->to, sizeof(a->to))) {
		http_reply_fail(rep, "Field 'date_range.to': expected a date as YYYY-MM-DD HH:MM");
		return EINVAL;
	}
	if (a->from[0] && a->to[0] && strcmp(a->from, a->to) > 0) {
		http_reply_fail(rep, "Field 'date_range': from is after to");
		return EINVAL;
	}
	return 0;
}

static int sort_read(struct http_reply *rep, struct search_args *a)
{
	size_t i;

	if (!a->pg.sort[0]) {
		str_ncpy(a->pg.sort, "starttime", sizeof(a->pg.sort));
		a->pg.dir = -1;
	}
	for (i = 0; i < ARRAY_SIZE(sorts); i++)
		if (!strcmp(a->pg.sort, sorts[i].name))
			break;
	if (i == ARRAY_SIZE(sorts)) {
		http_reply_fail(rep, "Field 'pagination.sorting': cannot sort by '%s' (starttime, "
				"endtime, answer, duration, billsec, src, dst, disposition, cuid, "
				"_id)", a->pg.sort);
		return EINVAL;
	}
	a->q.sort = sorts[i].sort;
	a->q.desc = a->pg.dir < 0;
	return 0;
}

static int search_read(const struct http_req *req, struct http_reply *rep,
		       struct search_args *a)
{
	bool alike;

	if (http_arg_bool(req, rep, "alike", true, &alike)
	    || conditions_read(req, rep, a) || range_read(req, rep, a)
	    || http_arg_page(req, rep, &a->pg) || sort_read(rep, a))
		return EINVAL;
	a->q.from = a->from;
	a->q.to = a->to;
	a->q.src = a->src;
	a->q.dst = a->dst;
	a->q.number = a->number;
	a->q.cuid = a->cuid;
	a->q.disposition = a->disposition;
	a->q.type = a->type;
	a->q.alike = alike;
	a->q.start = a->pg.start;
	a->q.count = a->pg.count;
	return 0;
}

/* --- routes ------------------------------------------------------------------------- */

static void search_h(const struct http_req *req, struct http_reply *rep, void *arg)
{
	struct routes_reports *rr = arg;
	struct search_args a;
	struct rows_ctx c = { .rr = rr };
	uint64_t total = 0;
	json_t *data;
	int err;

	memset(&a, 0, sizeof(a));
	if (search_read(req, rep, &a))
		return;
	c.rows = json_array();
	if (!c.rows) {
		http_reply_error(rep, 500, MSG_FAILED);
		return;
	}
	err = cdrrep_search(rr->store, &a.q, &total, rows_add_h, &c);
	if (err) {
		json_decref(c.rows);
		store_failed(rep, req->path, err);
		return;
	}
	data = http_page_data(&a.pg, total, c.rows);
	if (!data) {
		http_reply_error(rep, 500, MSG_FAILED);
		return;
	}
	(void)json_object_set_new(data, "target", json_string("cdr"));
	(void)json_object_set_new(data, "useGroupBy", json_false());
	http_reply_ok(rep, "", data);
}

/* _id, or id_ as the docs' tables spell it (spec §1.7). ENOENT when absent. */
static int id_read(const struct http_req *req, struct http_reply *rep, char *buf, size_t sz)
{
	int err = http_arg_str(req, rep, "_id", false, buf, sz);

	return err == ENOENT ? http_arg_str(req, rep, "id_", false, buf, sz) : err;
}

static int id_parse(struct http_reply *rep, const char *s, int64_t *id)
{
	if (reportarg_id_parse(s, id)) {
		http_reply_fail(rep, "Field '_id': expected an id of 24 hex digits");
		return EINVAL;
	}
	return 0;
}

/* Every leg of one call (by cuid) or one row (by _id), as a plain array. */
static void info_h(const struct http_req *req, struct http_reply *rep, void *arg)
{
	struct routes_reports *rr = arg;
	struct cdrrep_query q = { .sort = CDRREP_SORT_ID };
	struct rows_ctx c = { .rr = rr };
	char cuid[64], idstr[32];
	uint64_t total = 0;
	int64_t id = 0;
	int err;

	err = http_arg_str(req, rep, "cuid", false, cuid, sizeof(cuid));
	if (err == EINVAL)
		return;
	err = id_read(req, rep, idstr, sizeof(idstr));
	if (err == EINVAL || (!err && id_parse(rep, idstr, &id)))
		return;
	if (!cuid[0] && !id) {
		http_reply_fail(rep, "Field 'cuid':value is missing");
		return;
	}
	c.rows = json_array();
	if (!c.rows) {
		http_reply_error(rep, 500, MSG_FAILED);
		return;
	}
	if (cuid[0]) {
		q.cuid = cuid;
		err = cdrrep_search(rr->store, &q, &total, rows_add_h, &c);
	}
	else
		err = cdrrep_get(rr->store, id, rows_add_h, &c);
	if (!err && !json_array_size(c.rows))
		err = ENOENT;
	if (err == ENOENT)
		http_reply_fail(rep, cuid[0] ? "No call with this cuid" : "No call with this _id");
	else if (err)
		store_failed(rep, req->path, err);
	else {
		http_reply_ok(rep, "", c.rows);
		return;
	}
	json_decref(c.rows);
}

static void ordered_h(const struct http_req *req, struct http_reply *rep, void *arg)
{
	struct routes_reports *rr = arg;
	struct rows_ctx c = { .rr = rr };
	char idstr[32], last[25];
	int64_t after = 0;
	int err;

	err = id_read(req, rep, idstr, sizeof(idstr));
	if (err == EINVAL || (!err && id_parse(rep, idstr, &after)))
		return;
	c.rows = json_array();
	if (!c.rows) {
		http_reply_error(rep, 500, MSG_FAILED);
		return;
	}
	err = cdrrep_after(rr->store, after, ORDERED_COUNT, rows_add_h, &c);
	if (err) {
		json_decref(c.rows);
		store_failed(rep, req->path, err);
		return;
	}
	/* Past the end the cursor stays where it was, so the client can poll. */
	if (c.last)
		reportarg_id_fmt(c.last, last);
	http_reply_ok(rep, "", json_pack("{s:s,s:o}", "last_id", c.last ? last : idstr,
					 "data", c.rows));
}

struct rec_ctx {
	char path[PATH_MAX];
};

static int rec_get_h(const struct cdrrep_row *r, void *arg)
{
	struct rec_ctx *c = arg;

	str_ncpy(c->path, r->recordingfile, sizeof(c->path));
	return 0;
}

/* Opens name (relative) inside the recordings directory: 0 with *fd and
 * *size, or ENOENT for anything missing, not a regular file or, after
 * symbolic links, outside the directory. */
static int rec_open(const struct routes_reports *rr, const char *name, int *fd,
		    uint64_t *size)
{
	char dir[PATH_MAX], path[PATH_MAX], real[PATH_MAX];
	struct stat st;
	size_t n;

	if (!realpath(rr->recordings_dir, dir))
		return ENOENT;
	if (re_snprintf(path, sizeof(path), "%s/%s", dir, name) < 0 || !realpath(path, real))
		return ENOENT;
	n = strlen(dir);
	if (strncmp(real, dir, n) || (real[n] != '/' && strcmp(dir, "/"))) {
		log_warn("api: download refused: %s leads outside %s", name, dir);
		return ENOENT;
	}
	/* O_NONBLOCK: a FIFO put there must not hang the loop in open(). */
	*fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (*fd < 0)
		return ENOENT;
	if (fstat(*fd, &st) || !S_ISREG(st.st_mode)) {
		(void)close(*fd);
		return ENOENT;
	}
	*size = (uint64_t)st.st_size;
	return 0;
}

/* The recording by file (spec §2.11) or by the CDR's _id. */
static void download_h(const struct http_req *req, struct http_reply *rep, void *arg)
{
	struct routes_reports *rr = arg;
	struct rec_ctx c = { .path = "" };
	char file[512], idstr[32];
	const char *name = file;
	uint64_t size = 0;
	int64_t id = 0;
	bool inside = true;
	int err, fd = -1;

	err = http_arg_str(req, rep, "file", false, file, sizeof(file));
	if (err == EINVAL)
		return;
	if (err == ENOENT) {
		err = id_read(req, rep, idstr, sizeof(idstr));
		if (err == ENOENT)
			http_reply_fail(rep, "Field 'file':value is missing");
		if (err || id_parse(rep, idstr, &id))
			return;
		err = cdrrep_get(rr->store, id, rec_get_h, &c);
		if (err && err != ENOENT) {
			store_failed(rep, req->path, err);
			return;
		}
		if (err || !c.path[0]) {
			http_reply_not_found(rep);
			return;
		}
		/* A recording stored outside the directory (MixMonitor with
		 * an absolute name) is not served: missing, as far as the API
		 * goes, rather than some other file of the same name. */
		name = record_name(rr, c.path, &inside);
	}
	else if (!reportarg_file_ok(file)) {
		http_reply_fail(rep, "Field 'file': expected a file name inside the recordings "
				"directory (relative, without '.' or '..' parts)");
		return;
	}
	if (!inside || !reportarg_file_ok(name) || rec_open(rr, name, &fd, &size)) {
		http_reply_not_found(rep);
		return;
	}
	log_info("api: recording downloaded (file=%s bytes=%llu by=%s)", name,
		 (unsigned long long)size, req->user);
	http_reply_file(rep, fd, size, reportarg_mime(name), name);
}

int routes_reports_register(struct http *h, struct routes_reports *rr)
{
	int err;

	if (!h || !rr || !rr->store || !rr->recordings_dir)
		return EINVAL;
	err = cdrrep_set_type_h(rr->store, type_sql_h, rr);
	err = err ? err : http_route_add(h, "POST", "reports/quick/search", NULL, search_h, rr);
	/* The docs' JS and curl samples use this path (spec §4 item 3). */
	err = err ? err : http_route_add(h, "POST", "reports/cdr", "reports/quick/search",
					 search_h, rr);
	err = err ? err : http_route_add(h, "POST", "reports/cdr/search", NULL, search_h, rr);
	err = err ? err : http_route_add(h, "POST", "reports/cdr/ordered/id", NULL, ordered_h,
					 rr);
	err = err ? err : http_route_add(h, "POST", "reports/quick/info", NULL, info_h, rr);
	err = err ? err : http_route_add(h, "POST", "reports/audio/download", NULL, download_h,
					 rr);
	return err;
}
