/* routes_lists: Simotel's blacklist and whitelist routes over
 * store/numlist, in the shape of routes_pbx: a request is validated whole
 * before its one row write, so a refused request leaves nothing behind. */
#include "core/rejansson.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "api/apiform.h"
#include "api/http.h"
#include "api/routes_lists.h"
#include "core/log.h"
#include "store/numlist.h"

#define MSG_DONE "Requested operation is done successfully"
#define MSG_FAILED "Requested operation failed"

enum {
	NUMBER_MAX_LEN = 64,
	COMMENT_MAX_LEN = 1024,
	LABELS_MAX = 32,
	LABEL_MAX_LEN = 64,
};

struct listroutes {
	struct store *store;
	enum numlist_kind kind;
	const char *what;           /* "blacklist", "whitelist" (log lines) */
};

struct routes_lists {
	struct listroutes lists[2];
};

/* --- helpers ------------------------------------------------------------------ */

#define DIGITS "0123456789"

/* --- blacklist / whitelist (spec §2.9) ------------------------------------- */

/* An entry as a request builds it. */
struct nform {
	char id[32];
	char number[NUMBER_MAX_LEN + 1];
	char comment[COMMENT_MAX_LEN + 1];
	char *labels;               /* JSON array text; owned (malloc) */
};

static int nform_load_h(const struct numlist_entry *e, void *arg)
{
	struct nform *f = arg;

	str_ncpy(f->number, e->number, sizeof(f->number));
	str_ncpy(f->comment, e->comment, sizeof(f->comment));
	free(f->labels);
	f->labels = strdup(e->labels);
	return f->labels ? 0 : ENOMEM;
}

/* labels: an array of short strings (a single string is one label). */
static int labels_read(const struct http_req *req, struct http_reply *rep, struct nform *f)
{
	json_t *v = req->body ? json_object_get(req->body, "labels") : NULL;
	json_t *arr, *l;
	size_t i;

	if (!v || json_is_null(v))
		return 0;
	if (json_is_string(v))
		arr = json_string_length(v) ? json_pack("[O]", v) : json_array();
	else if (json_is_array(v))
		arr = json_incref(v);
	else {
		http_reply_fail(rep, "Field 'labels': expected an array of strings");
		return EINVAL;
	}
	if (!arr) {
		http_reply_error(rep, 500, MSG_FAILED);
		return ENOMEM;
	}
	if (json_array_size(arr) > LABELS_MAX) {
		http_reply_fail(rep, "Field 'labels': at most %u labels", LABELS_MAX);
		json_decref(arr);
		return EINVAL;
	}
	json_array_foreach(arr, i, l) {
		if (!json_is_string(l) || !json_string_length(l) ||
		    json_string_length(l) > LABEL_MAX_LEN ||
		    strlen(json_string_value(l)) != json_string_length(l) ||
		    strchr(json_string_value(l), ',')) {
			http_reply_fail(rep, "Field 'labels': each label is a non-empty string of "
					"at most %u bytes without ','", LABEL_MAX_LEN);
			json_decref(arr);
			return EINVAL;
		}
	}
	free(f->labels);
	f->labels = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	if (!f->labels) {
		http_reply_error(rep, 500, MSG_FAILED);
		return ENOMEM;
	}
	return 0;
}

static int nform_read(const struct http_req *req, struct http_reply *rep,
		      const struct listroutes *lr, struct nform *f, bool adding)
{
	int r = apiform_key(req, rep, "number", f->number, sizeof(f->number), adding);

	if (r < 0)
		return EINVAL;
	/* What a SIP From user part can carry as a phone number. */
	if (!apiform_charset_ok(f->number, NUMBER_MAX_LEN, APIFORM_ALNUM "+*#_.-")) {
		http_reply_fail(rep, "Field 'number': use digits, letters and + * # _ . - only "
				"(at most %u)", NUMBER_MAX_LEN);
		return EINVAL;
	}
	r = apiform_text(req, rep, "comment", f->comment, sizeof(f->comment));
	if (r < 0)
		return EINVAL;
	/* The blacklist has no labels; its sample sends none (spec §2.9). */
	return lr->kind == NUMLIST_WHITE ? labels_read(req, rep, f) : 0;
}

static json_t *entry_json(enum numlist_kind k, const struct numlist_entry *e)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "_id", e->id, "number", e->number,
			      "comment", e->comment, "date", e->created);
	json_t *labels;

	if (o && k == NUMLIST_WHITE) {
		labels = json_loads(e->labels, 0, NULL);
		(void)json_object_set_new(o, "labels", json_is_array(labels) ? labels
					  : (json_decref(labels), json_array()));
	}
	return o;
}

static void list_add_h(const struct http_req *req, struct http_reply *rep, void *arg)
{
	struct listroutes *lr = arg;
	struct nform f = { .id = "" };
	struct numlist_entry e;
	int err;

	if (nform_read(req, rep, lr, &f, true))
		goto out;
	e = (struct numlist_entry){ .number = f.number, .labels = f.labels,
				    .comment = f.comment };
	err = numlist_add(lr->store, lr->kind, &e, f.id, sizeof(f.id));
	if (err == EEXIST)
		http_reply_fail(rep, "This number already exists");
	else if (err)
		apiform_store_failed(rep, lr->what, err);
	else {
		log_info("api: %s number added (number=%s id=%s by=%s)", lr->what, f.number,
			 f.id, req->user);
		/* Simotel answers null here; the id is more useful (spec §2.9). */
		http_reply_ok(rep, MSG_DONE, json_pack("{s:s}", "_id", f.id));
	}
 out:
	free(f.labels);
}

static void list_update_h(const struct http_req *req, struct http_reply *rep, void *arg)
{
	struct listroutes *lr = arg;
	struct nform f = { .id = "" };
	struct numlist_entry e;
	int err;

	if (apiform_id(req, rep, f.id, sizeof(f.id)))
		return;
	err = numlist_get(lr->store, lr->kind, f.id, nform_load_h, &f);
	if (err == ENOENT) {
		http_reply_fail(rep, "No %s entry with this _id", lr->what);
		goto out;
	}
	if (err) {
		apiform_store_failed(rep, lr->what, err);
		goto out;
	}
	if (nform_read(req, rep, lr, &f, false))
		goto out;
	e = (struct numlist_entry){ .id = f.id, .number = f.number, .labels = f.labels,
				    .comment = f.comment };
	err = numlist_update(lr->store, lr->kind, &e);
	if (err == EEXIST)
		http_reply_fail(rep, "This number already exists");
	else if (err == ENOENT)
		http_reply_fail(rep, "No %s entry with this _id", lr->what);
	else if (err)
		apiform_store_failed(rep, lr->what, err);
	else {
		log_info("api: %s number updated (number=%s id=%s by=%s)", lr->what, f.number,
			 f.id, req->user);
		http_reply_ok(rep, MSG_DONE, json_string(""));
	}
 out:
	free(f.labels);
}

static void list_remove_h(const struct http_req *req, struct http_reply *rep, void *arg)
{
	struct listroutes *lr = arg;
	char id[32];
	int err;

	if (apiform_id(req, rep, id, sizeof(id)))
		return;
	err = numlist_del(lr->store, lr->kind, id);
	if (err == ENOENT)
		http_reply_fail(rep, "No %s entry with this _id", lr->what);
	else if (err)
		apiform_store_failed(rep, lr->what, err);
	else {
		log_info("api: %s number removed (id=%s by=%s)", lr->what, id, req->user);
		http_reply_ok(rep, MSG_DONE, json_string(""));
	}
}

struct listrows {
	enum numlist_kind kind;
	json_t *rows;
};

static int list_row_h(const struct numlist_entry *e, void *arg)
{
	struct listrows *lrw = arg;

	return apiform_append(lrw->rows, entry_json(lrw->kind, e));
}

static void list_search_h(const struct http_req *req, struct http_reply *rep, void *arg)
{
	static const char *const sorts[] = { "number", "date", "_id", NULL };
	struct listroutes *lr = arg;
	struct numlist_query q = { .sort = "number" };
	char number[NUMBER_MAX_LEN + 1];
	struct listrows lrw = { .kind = lr->kind };
	struct http_req creq;
	struct http_page pg;
	uint64_t total = 0;
	int err;

	if (http_arg_bool(req, rep, "alike", true, &q.alike) || apiform_conditions(req, rep, &creq)
	    || http_arg_str(&creq, rep, "number", false, number, sizeof(number)) == EINVAL
	    || apiform_page(req, rep, &pg, sorts))
		return;
	q.number = number;
	if (pg.sort[0])
		q.sort = pg.sort;
	q.desc = pg.dir < 0;
	if (pg.given) {
		q.start = pg.start;
		q.count = pg.count;
	}
	lrw.rows = json_array();
	if (!lrw.rows) {
		http_reply_error(rep, 500, MSG_FAILED);
		return;
	}
	err = numlist_search(lr->store, lr->kind, &q, &total, list_row_h, &lrw);
	apiform_reply_rows(rep, lr->what, err, &pg, total, lrw.rows);
}

/* --- setup -------------------------------------------------------------------- */

int routes_lists_alloc(struct routes_lists **rlp, struct http *h, struct store *st)
{
	static const char *const lists[] = { "pbx/blacklists/", "pbx/whitelists/" };
	static const char *const ops[] = { "add", "search", "update", "remove" };
	static http_route_h *const list_h[] = { list_add_h, list_search_h, list_update_h,
						list_remove_h };
	struct routes_lists *rl;
	char path[64];
	int err = 0;

	if (!rlp || !h || !st)
		return EINVAL;
	rl = mem_zalloc(sizeof(*rl), NULL);
	if (!rl)
		return ENOMEM;
	rl->lists[0] = (struct listroutes){ st, NUMLIST_BLACK, "blacklist" };
	rl->lists[1] = (struct listroutes){ st, NUMLIST_WHITE, "whitelist" };
	for (size_t k = 0; !err && k < ARRAY_SIZE(lists); k++)
		for (size_t i = 0; !err && i < ARRAY_SIZE(ops); i++) {
			(void)re_snprintf(path, sizeof(path), "%s%s", lists[k], ops[i]);
			err = http_route_add(h, "POST", path, NULL, list_h[i], &rl->lists[k]);
		}
	if (err)
		mem_deref(rl);
	else
		*rlp = rl;
	return err;
}
