/* webhook: outbox rows out through httpc (libcurl on the libre loop), so a
 * slow or dead receiver never holds the loop. The outbox, the in-flight
 * limit, retries and per-call ordering are ours; httpc makes single
 * attempts. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/time.h>
#include <curl/curl.h>
#include <jansson.h>
/* libre piecemeal: re.h's re_json.h clashes with jansson.h. */
#include <re_types.h>
#include <re_fmt.h>
#include <re_mem.h>
#include <re_mbuf.h>
#include <re_list.h>
#include <re_main.h>
#include <re_sys.h>
#include <re_tmr.h>
#include "api/httpc.h"
#include "api/webhook.h"
#include "core/cfg.h"
#include "core/log.h"
#include "store/outbox.h"

/* simotel-webhooks.md §1.3; the index is the bit in events_mask. */
static const char *const event_names[] = {
	"Cdr", "CdrQueue", "NewState", "IncomingCall", "OutgoingCall", "Transfer",
	"ExtenAdded", "ExtenRemoved", "IncomingFax", "OutgoingFax", "VoiceMail",
	"VoiceMailEmail", "Survey", "TrunkNewState", "TrunkAdded", "TrunkRemoved",
	"AutoDialerReport", "ReservedCallInFront", "Ping", "CallbackRequest",
};
#define EVENT_COUNT ((int)(sizeof(event_names) / sizeof(event_names[0])))

enum {
	DB_RETRY_MS = 1000,   /* after a store error, look again this much later */
};

struct webhook {
	struct store *st;
	struct webhook_conf cf;      /* strings below are our copies */
	char *url, *username, *password;
	uint32_t events_mask;
	bool enabled;
	struct httpc *hc;            /* only when enabled */
	struct list reqs;            /* struct req, in flight */
	unsigned n_inflight;
	struct tmr tmr_pump;         /* next look at the outbox */
	unsigned db_errors;          /* consecutive, for logging once */
	uint64_t delivered, failures;
};

struct req {
	struct le le;
	struct webhook *wh;
	struct httpc_req *hreq;      /* freeing it cancels the attempt */
	int64_t id;
	uint32_t attempts;
	bool get;
	char *event, *url, *body;
};

static void pump_h(void *arg);

/* --- small helpers ------------------------------------------------------- */

/* Wall clock: next_at outlives the process, so it cannot be monotonic. */
static int64_t now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static int event_index(const char *name)
{
	for (int i = 0; name && i < EVENT_COUNT; i++)
		if (!strcmp(name, event_names[i]))
			return i;
	return -1;
}

static int event_index_nocase(const char *name, size_t len)
{
	for (int i = 0; i < EVENT_COUNT; i++)
		if (strlen(event_names[i]) == len && !strncasecmp(name, event_names[i], len))
			return i;
	return -1;
}

/* "all", or names separated by commas and blanks. On an unknown name,
 * EINVAL with it in bad. */
static int events_parse(const char *s, uint32_t *mask, char *bad, size_t badsz)
{
	uint32_t m = 0;

	while (*s) {
		size_t len;
		int i;

		s += strspn(s, " \t,");
		len = strcspn(s, " \t,");
		if (!len)
			break;
		if (len == 3 && !strncasecmp(s, "all", 3))
			m = UINT32_MAX;
		else if ((i = event_index_nocase(s, len)) >= 0)
			m |= 1u << i;
		else {
			snprintf(bad, badsz, "%.*s", (int)MIN(len, 64), s);
			return EINVAL;
		}
		s += len;
	}
	*mask = m;
	return 0;
}

static bool url_ok(const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL;
	bool ok = false;

	if (!u)
		return false;
	if (!curl_url_set(u, CURLUPART_URL, url, 0) &&
	    !curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) &&
	    !curl_url_get(u, CURLUPART_HOST, &host, 0))
		ok = (!strcasecmp(scheme, "http") || !strcasecmp(scheme, "https")) && *host;
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return ok;
}

/* --- configuration ------------------------------------------------------- */

static int conf_fail(char *err, size_t errsz, const struct cfg *conf, const char *key,
		     const char *fmt, const char *val)
{
	char why[256];

	snprintf(why, sizeof(why), fmt, val);
	snprintf(err, errsz, "%s: webhook.%s: %s", cfg_where(conf, "webhook", key), key, why);
	return EINVAL;
}

int webhook_conf_load(struct webhook_conf *cf, const struct cfg *conf, char *err,
		      size_t errsz)
{
	const char *style, *method;
	char bad[80];
	uint32_t mask;
	int e;

	if (!cf)
		return EINVAL;
	memset(cf, 0, sizeof(*cf));
	cf->url = cfg_get_str(conf, "webhook", "url", "");
	if (*cf->url && !url_ok(cf->url))
		return conf_fail(err, errsz, conf, "url", "expected an http:// or https:// URL, "
				 "got '%s'", cf->url);
	cf->events = cfg_get_str(conf, "webhook", "events", "all");
	if (events_parse(cf->events, &mask, bad, sizeof(bad)))
		return conf_fail(err, errsz, conf, "events", "unknown event '%s' (expected all "
				 "or Simotel names such as Cdr, NewState, IncomingCall)", bad);
	style = cfg_get_str(conf, "webhook", "style", "G4");
	if (!strcasecmp(style, "G4") || !strcasecmp(style, "G"))
		cf->style = WEBHOOK_STYLE_G4;
	else if (!strcasecmp(style, "Rest4") || !strcasecmp(style, "Rest"))
		cf->style = WEBHOOK_STYLE_REST4;
	else
		return conf_fail(err, errsz, conf, "style", "expected G4 or Rest4, got '%s'", style);
	method = cfg_get_str(conf, "webhook", "method", "POST");
	if (!strcasecmp(method, "GET"))
		cf->get = true;
	else if (strcasecmp(method, "POST"))
		return conf_fail(err, errsz, conf, "method", "expected POST or GET, got '%s'",
				 method);
	e = cfg_get_u32(conf, "webhook", "timeout_ms", 5000, 100, 600000, &cf->timeout_ms,
			err, errsz);
	if (!e)
		e = cfg_get_u32(conf, "webhook", "backoff_min_ms", 1000, 1, 3600000,
				&cf->backoff_min_ms, err, errsz);
	if (!e)
		e = cfg_get_u32(conf, "webhook", "backoff_max_ms", 300000, 1, 86400000,
				&cf->backoff_max_ms, err, errsz);
	if (!e)
		e = cfg_get_u32(conf, "webhook", "max_inflight", 8, 1, 256, &cf->max_inflight,
				err, errsz);
	if (!e)
		e = cfg_get_bool(conf, "webhook", "rest_lowercase", false, &cf->rest_lowercase,
				 err, errsz);
	if (!e)
		e = cfg_get_bool(conf, "webhook", "local_time", false, &cf->local_time, err, errsz);
	if (e)
		return e;
	if (cf->backoff_max_ms < cf->backoff_min_ms)
		return conf_fail(err, errsz, conf, "backoff_max_ms", "must not be below "
				 "webhook.backoff_min_ms%s", "");
	cf->username = cfg_get(conf, "webhook", "username");
	cf->password = cfg_get(conf, "webhook", "password");
	if (cf->username && !*cf->username)
		cf->username = NULL;
	if (cf->password && *cf->password && !cf->username)
		return conf_fail(err, errsz, conf, "password", "needs webhook.username%s", "");
	return 0;
}

/* --- requests ------------------------------------------------------------ */

static void req_destructor(void *arg)
{
	struct req *r = arg;

	list_unlink(&r->le);
	mem_deref(r->hreq);
	mem_deref(r->event);
	mem_deref(r->url);
	mem_deref(r->body);
}

/* One field's value as GET style sends it (spec §1.1): strings as they
 * are, numbers and booleans as text, nested objects and arrays as their
 * JSON. NULL when out of memory; free() it. */
static char *query_value(const json_t *v)
{
	char num[40];

	switch (json_typeof(v)) {
	case JSON_STRING:  return strdup(json_string_value(v));
	case JSON_INTEGER: snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
				    json_integer_value(v)); return strdup(num);
	case JSON_REAL:    snprintf(num, sizeof(num), "%.17g", json_real_value(v));
			   return strdup(num);
	case JSON_TRUE:    return strdup("true");
	case JSON_FALSE:   return strdup("false");
	case JSON_NULL:    return strdup("");
	default:           return json_dumps(v, JSON_COMPACT);
	}
}

/* The row's URL with "k=v" pairs of the body's fields appended (GET
 * style). EBADMSG when the body is not a JSON object. */
static int query_build(const struct req *r, char **out)
{
	json_error_t jerr;
	json_t *o = json_loads(r->body, 0, &jerr), *v;
	const char **kv = NULL;
	const char *k;
	size_t n = 0;
	int err = 0;

	if (!json_is_object(o)) {
		err = EBADMSG;
		goto out;
	}
	kv = calloc(2 * json_object_size(o) + 1, sizeof(*kv));
	if (!kv) {
		err = ENOMEM;
		goto out;
	}
	json_object_foreach(o, k, v) {
		kv[2 * n] = k;
		kv[2 * n + 1] = query_value(v);
		if (!kv[2 * n + 1]) {
			err = ENOMEM;
			break;
		}
		++n;
	}
	if (!err)
		err = httpc_url_query(out, r->url, kv, n);
 out:
	for (size_t i = 0; i < n; i++)
		free((char *)kv[2 * i + 1]);
	free(kv);
	json_decref(o);
	return err;
}

static void req_done(int err, const struct httpc_resp *resp, void *arg);

static int req_start(struct webhook *wh, struct req *r)
{
	struct httpc_opts o = {
		.body = r->get ? NULL : r->body,     /* JSON (httpc's default type) */
		.username = wh->username, .password = wh->password,
		.timeout_ms = wh->cf.timeout_ms,
		.discard_reply = true,               /* ignored (spec §1.2) */
	};
	char *getv = NULL;
	int err = 0;

	if (r->get) {
		err = query_build(r, &getv);
		if (err == EBADMSG) {
			/* Only a damaged row gets here; send what we have. */
			log_warn("webhook: row body is not a JSON object, sending without "
				 "fields (id=%lld event=%s)", (long long)r->id, r->event);
			err = str_dup(&getv, r->url);
		}
		if (err)
			return err;
	}
	o.url = getv ? getv : r->url;
	err = httpc_send(&r->hreq, wh->hc, &o, req_done, r);
	mem_deref(getv);
	if (err)
		return err;
	list_append(&wh->reqs, &r->le, r);
	++wh->n_inflight;
	return 0;
}

static void pump_kick(struct webhook *wh, uint64_t delay_ms)
{
	if (wh->enabled)
		tmr_start(&wh->tmr_pump, delay_ms, pump_h, wh);
}

/* One attempt ended: 2xx deletes the row, anything else schedules the next
 * try. Frees r. */
static void req_done(int herr, const struct httpc_resp *resp, void *arg)
{
	struct req *r = arg;
	struct webhook *wh = r->wh;
	char why[CURL_ERROR_SIZE + 32];
	uint32_t delay;
	int err;

	if (!herr && resp->status >= 200 && resp->status < 300) {
		err = outbox_mark_delivered(wh->st, r->id);
		++wh->delivered;
		if (r->attempts)
			log_info("webhook: delivered after %u failed attempts (event=%s id=%lld)",
				 r->attempts, r->event, (long long)r->id);
		else
			log_debug("webhook: delivered (event=%s id=%lld status=%ld)", r->event,
				  (long long)r->id, resp->status);
	}
	else {
		if (herr)
			snprintf(why, sizeof(why), "%s", *resp->error ? resp->error
				 : strerror(herr));
		else
			snprintf(why, sizeof(why), "HTTP %ld", resp->status);
		delay = outbox_backoff_ms(r->attempts + 1, wh->cf.backoff_min_ms,
					  wh->cf.backoff_max_ms, rand_u32());
		err = outbox_mark_failed(wh->st, r->id, now_ms() + delay, why);
		++wh->failures;
		/* A dead target fails every row every few minutes: one warning per
		 * row, the retries at debug level. */
		if (!r->attempts)
			log_warn("webhook: delivery failed, keeping the event and retrying "
				 "(event=%s id=%lld url=%s error=%s retry_ms=%u)", r->event,
				 (long long)r->id, r->url, why, delay);
		else
			log_debug("webhook: retry failed (event=%s id=%lld attempts=%u error=%s "
				  "retry_ms=%u)", r->event, (long long)r->id, r->attempts + 1,
				  why, delay);
	}
	--wh->n_inflight;
	mem_deref(r);
	if (err && err != ENOENT) {
		/* The row keeps its old state and would be due again at once:
		 * give the store a moment rather than spin. */
		log_error("webhook: cannot update the outbox: %m", err);
		pump_kick(wh, DB_RETRY_MS);
		return;
	}
	pump_kick(wh, 0);
}

/* --- the pump: due rows -> requests -------------------------------------- */

struct fetch {
	struct webhook *wh;
	struct list got;
	unsigned room;
};

static bool in_flight(const struct webhook *wh, int64_t id)
{
	for (struct le *le = wh->reqs.head; le; le = le->next)
		if (((struct req *)le->data)->id == id)
			return true;
	return false;
}

/* Copies due rows out; requests start after the SELECT is finished, since
 * a failed start updates the table. */
static int fetch_h(const struct outbox_row *row, void *arg)
{
	struct fetch *f = arg;
	struct req *r;
	int err;

	if (!f->room || in_flight(f->wh, row->id))
		return 0;
	r = mem_zalloc(sizeof(*r), req_destructor);
	if (!r)
		return ENOMEM;
	r->id = row->id;
	r->attempts = row->attempts;
	r->get = !strcasecmp(row->method, "GET");
	err = str_dup(&r->event, row->event);
	if (!err)
		err = str_dup(&r->url, row->url);
	if (!err)
		err = str_dup(&r->body, row->body);
	if (err) {
		mem_deref(r);
		return err;
	}
	list_append(&f->got, &r->le, r);
	--f->room;
	return 0;
}

static void db_trouble(struct webhook *wh, const char *what, int err)
{
	if (!wh->db_errors++)
		log_error("webhook: cannot %s the outbox, retrying: %m", what, err);
	pump_kick(wh, DB_RETRY_MS);
}

/* Fills free request slots with due rows; then sleeps until the next row
 * becomes due, or until a request ends. Events are inserted outside any
 * transaction of ours, and the pump runs from a timer, so by now the
 * emitter's transaction (cdrq's group) has committed or rolled back. */
static void pump_h(void *arg)
{
	struct webhook *wh = arg;
	struct fetch f = { .wh = wh, .got = LIST_INIT };
	int64_t now = now_ms(), at;
	int err;

	if (!wh->enabled || wh->n_inflight >= wh->cf.max_inflight)
		return;          /* a finishing request kicks the pump */
	f.room = wh->cf.max_inflight - wh->n_inflight;
	/* In-flight rows are heads of their call and may come back: ask for
	 * enough rows to fill every free slot anyway. */
	err = outbox_fetch_due(wh->st, now, wh->n_inflight + f.room, fetch_h, &f);
	if (err) {
		list_flush(&f.got);
		db_trouble(wh, "read", err);
		return;
	}
	while (f.got.head) {
		struct req *r = f.got.head->data;

		list_unlink(&r->le);
		r->wh = wh;
		err = req_start(wh, r);
		if (err) {
			log_error("webhook: cannot start a request (event=%s id=%lld url=%s): %m",
				  r->event, (long long)r->id, r->url, err);
			(void)outbox_mark_failed(wh->st, r->id, now + wh->cf.backoff_max_ms,
						 "cannot start the request");
			mem_deref(r);
		}
	}
	wh->db_errors = 0;
	if (wh->n_inflight >= wh->cf.max_inflight)
		return;
	err = outbox_next_due(wh->st, now, &at);
	if (!err)
		pump_kick(wh, (uint64_t)(at - now));
	else if (err != ENOENT)
		db_trouble(wh, "read", err);
}

/* --- lifecycle and the public interface ---------------------------------- */

static void destructor(void *arg)
{
	struct webhook *wh = arg;

	wh->enabled = false;
	tmr_cancel(&wh->tmr_pump);
	/* Rows of requests cut short stay in the outbox for the next start. */
	list_flush(&wh->reqs);
	mem_deref(wh->hc);
	mem_deref(wh->url);
	mem_deref(wh->username);
	mem_deref(wh->password);
}

int webhook_alloc(struct webhook **whp, struct store *st, const struct webhook_conf *cf)
{
	struct webhook *wh;
	char bad[80];
	unsigned pending = 0;
	int err;

	if (!whp || !st || !cf)
		return EINVAL;
	if ((cf->url && *cf->url && !url_ok(cf->url)) || cf->backoff_max_ms < cf->backoff_min_ms)
		return EINVAL;
	wh = mem_zalloc(sizeof(*wh), destructor);
	if (!wh)
		return ENOMEM;
	wh->st = st;
	wh->cf = *cf;
	if (!wh->cf.max_inflight)
		wh->cf.max_inflight = 8;
	if (!wh->cf.timeout_ms)
		wh->cf.timeout_ms = 5000;
	if (!wh->cf.backoff_min_ms)
		wh->cf.backoff_min_ms = 1000;
	if (!wh->cf.backoff_max_ms)
		wh->cf.backoff_max_ms = MAX(300000u, wh->cf.backoff_min_ms);
	tmr_init(&wh->tmr_pump);
	err = events_parse(cf->events ? cf->events : "all", &wh->events_mask, bad, sizeof(bad));
	if (!err)
		err = str_dup(&wh->url, cf->url ? cf->url : "");
	if (!err && cf->username) {
		err = str_dup(&wh->username, cf->username);
		if (!err)
			err = str_dup(&wh->password, cf->password ? cf->password : "");
	}
	if (err)
		goto out;
	wh->cf.url = wh->url;
	wh->cf.username = wh->username;
	wh->cf.password = wh->password;
	wh->cf.events = NULL;
	wh->enabled = *wh->url != '\0';
	err = outbox_count_pending(st, &pending);
	if (err)
		goto out;
	if (!wh->enabled) {
		if (pending)
			log_warn("webhook: disabled (no webhook.url); %u events stay in the outbox",
				 pending);
		goto out;
	}
	err = httpc_alloc(&wh->hc);
	if (err)
		goto out;
	log_info("webhook: sending to %s (style=%s method=%s pending=%u)", wh->url,
		 cf->style == WEBHOOK_STYLE_REST4 ? "Rest4" : "G4", cf->get ? "GET" : "POST",
		 pending);
	pump_kick(wh, 0);

 out:
	if (err)
		mem_deref(wh);
	else
		*whp = wh;
	return err;
}

bool webhook_wants(const struct webhook *wh, const char *event)
{
	int i = event_index(event);

	return wh && wh->enabled && i >= 0 && (wh->events_mask & (1u << i));
}

/* G4: the address as it is; Rest4: "<address>/<EventName>", joined with one
 * slash and put before a query string if the address has one. */
static int url_for(const struct webhook *wh, const char *event, char **out)
{
	const char *base = wh->url, *q = strchr(base, '?');
	size_t plen = q ? (size_t)(q - base) : strlen(base);
	char name[32];

	if (wh->cf.style == WEBHOOK_STYLE_G4)
		return str_dup(out, base);
	str_ncpy(name, event, sizeof(name));
	if (wh->cf.rest_lowercase)
		for (char *p = name; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	while (plen && base[plen - 1] == '/')
		--plen;
	return re_sdprintf(out, "%b/%s%s", base, plen, name, q ? q : "");
}

int webhook_emit(struct webhook *wh, const char *event, const char *call_key, json_t *body)
{
	struct outbox_new ev;
	json_t *uid;
	char *url = NULL, *text = NULL;
	int err;

	if (event_index(event) < 0 || !json_is_object(body))
		return EINVAL;
	if (!webhook_wants(wh, event))
		return 0;
	if (json_object_set_new(body, "event_name", json_string(event)))
		return ENOMEM;
	uid = json_object_get(body, "unique_id");
	if (uid && !json_object_get(body, "cuid") && json_object_set(body, "cuid", uid))
		return ENOMEM;
	text = json_dumps(body, JSON_COMPACT);
	if (!text)
		return ENOMEM;
	err = url_for(wh, event, &url);
	if (!err) {
		ev = (struct outbox_new){ .event = event, .call_key = call_key, .url = url,
			.method = wh->cf.get ? "GET" : "POST",
			.style = wh->cf.style == WEBHOOK_STYLE_REST4 ? "rest4" : "g4",
			.body = text };
		err = outbox_enqueue(wh->st, &ev, NULL);
	}
	if (err)
		log_error("webhook: cannot queue event (event=%s call=%s): %m", event,
			  call_key ? call_key : "", err);
	else
		pump_kick(wh, 0);
	mem_deref(url);
	free(text);
	return err;
}

/* A JSON string of s; bytes that are not UTF-8 become U+FFFD so that a
 * caller ID off the wire cannot make the event unsendable. */
static json_t *jstr(const char *s)
{
	json_t *j = json_string(s ? s : "");
	struct mbuf *mb;
	char *clean = NULL;

	if (j || !s)
		return j;
	mb = mbuf_alloc(strlen(s) * 3 + 1);
	if (!mb)
		return NULL;
	for (const char *p = s; *p; ) {
		size_t n = 1;
		json_t *one;

		/* the longest valid sequence at p (1..4 bytes), else one bad byte */
		for (size_t len = 4; len >= 1; len--) {
			if (strnlen(p, len) < len)
				continue;
			one = json_stringn(p, len);
			if (one) {
				json_decref(one);
				n = len;
				break;
			}
			n = 0;
		}
		if (n)
			(void)mbuf_write_mem(mb, (const uint8_t *)p, n);
		else
			(void)mbuf_write_str(mb, "\xef\xbf\xbd");
		p += n ? n : 1;
	}
	mb->pos = 0;
	if (!mbuf_strdup(mb, &clean, mb->end))
		j = json_string(clean);
	mem_deref(clean);
	mem_deref(mb);
	return j;
}

int webhook_emit_fields(struct webhook *wh, const char *event, const char *call_key,
			const struct webhook_field *fields, size_t n)
{
	json_t *o;
	int err = 0;

	if (event_index(event) < 0 || (n && !fields))
		return EINVAL;
	if (!webhook_wants(wh, event))
		return 0;
	o = json_object();
	if (!o)
		return ENOMEM;
	if (json_object_set_new(o, "event_name", json_string(event)))
		err = ENOMEM;
	for (size_t i = 0; i < n && !err; i++) {
		const struct webhook_field *f = &fields[i];

		if (!f->key)
			continue;
		if (json_object_set_new(o, f->key, f->str ? jstr(f->str)
					: json_integer((json_int_t)f->num)))
			err = ENOMEM;
	}
	if (!err)
		err = webhook_emit(wh, event, call_key, o);
	json_decref(o);
	return err;
}

int webhook_epoch_now(char *buf, size_t sz)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return re_snprintf(buf, sz, "%lld.%06ld", (long long)ts.tv_sec, ts.tv_nsec / 1000) < 0
		? ENOMEM : 0;
}

int webhook_time_str(const struct webhook *wh, uint64_t us, char *buf, size_t sz)
{
	time_t t = (time_t)(us / 1000000);
	struct tm tm;
	char s[32];

	if (!buf || !sz)
		return EINVAL;
	if (!((wh && wh->cf.local_time) ? localtime_r(&t, &tm) : gmtime_r(&t, &tm)) ||
	    !strftime(s, sizeof(s), "%Y-%m-%d %H:%M:%S", &tm))
		return EINVAL;
	if ((size_t)snprintf(buf, sz, "%s.%06u", s, (unsigned)(us % 1000000)) >= sz)
		return ENOBUFS;
	return 0;
}

unsigned webhook_inflight(const struct webhook *wh)
{
	return wh ? wh->n_inflight : 0;
}
