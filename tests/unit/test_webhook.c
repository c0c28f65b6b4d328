/* Unit tests for webhook's queueing side: [webhook] parsing, which events are
 * wanted, and the outbox row an emit writes (URL per style, method, body).
 * Delivery itself is exercised by tests/system/test_webhook.py. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>
#include <re_types.h>
#include <re_main.h>
#include <re_mem.h>
#include "api/webhook.h"
#include "core/cfg.h"
#include "store/outbox.h"
#include "store/store.h"

struct fix {
	struct store *st;
	struct cfg *cfg;
	struct webhook *wh;
	char err[512];
};

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	if (!f || libre_init())
		return -1;
	if (store_open(&f->st, ":memory:", f->err, sizeof(f->err)))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	mem_deref(f->wh);
	cfg_free(f->cfg);
	store_close(f->st);
	free(f);
	libre_close();
	return 0;
}

/* Loads overrides (NULL-terminated) and the [webhook] section from them. */
static int load(struct fix *f, struct webhook_conf *cf, char *const *ov)
{
	size_t n = 0;
	int err;

	while (ov[n])
		n++;
	cfg_free(f->cfg);
	f->cfg = NULL;
	err = cfg_load(&f->cfg, NULL, ov, n, f->err, sizeof(f->err));
	assert_int_equal(err, 0);
	return webhook_conf_load(cf, f->cfg, f->err, sizeof(f->err));
}

static void start(struct fix *f, char *const *ov)
{
	struct webhook_conf cf;

	assert_int_equal(load(f, &cf, ov), 0);
	assert_int_equal(webhook_alloc(&f->wh, f->st, &cf), 0);
}

struct row {
	char event[32], key[64], url[256], method[8], style[8], body[1024];
	unsigned n;
};

static int row_h(const struct outbox_row *r, void *arg)
{
	struct row *o = arg;

	snprintf(o->event, sizeof(o->event), "%s", r->event);
	snprintf(o->key, sizeof(o->key), "%s", r->call_key);
	snprintf(o->url, sizeof(o->url), "%s", r->url);
	snprintf(o->method, sizeof(o->method), "%s", r->method);
	snprintf(o->style, sizeof(o->style), "%s", r->style);
	snprintf(o->body, sizeof(o->body), "%s", r->body);
	o->n++;
	return 0;
}

static struct row last_row(struct fix *f)
{
	struct row r = {0};

	assert_int_equal(outbox_apply(f->st, row_h, &r), 0);
	return r;
}

static void test_defaults_are_off_all_g4_post(void **state)
{
	struct fix *f = *state;
	struct webhook_conf cf;
	char *ov[] = { NULL };

	assert_int_equal(load(f, &cf, ov), 0);
	assert_string_equal(cf.url, "");
	assert_string_equal(cf.events, "all");
	assert_int_equal(cf.style, WEBHOOK_STYLE_G4);
	assert_false(cf.get);
	assert_int_equal(cf.timeout_ms, 5000);
	assert_int_equal(cf.backoff_min_ms, 1000);
	assert_int_equal(cf.backoff_max_ms, 300000);
	assert_int_equal(cf.max_inflight, 8);
	assert_int_equal(webhook_alloc(&f->wh, f->st, &cf), 0);
	assert_false(webhook_wants(f->wh, "Cdr"));
}

static void test_bad_values_name_the_key(void **state)
{
	struct fix *f = *state;
	struct webhook_conf cf;
	struct { char *ov; const char *want; } cases[] = {
		{ "webhook.url=mailto:x@y", "webhook.url: expected an http" },
		{ "webhook.url=http://", "webhook.url: expected an http" },
		{ "webhook.style=Rest3", "webhook.style: expected G4 or Rest4" },
		{ "webhook.method=DELETE", "webhook.method: expected POST or GET" },
		{ "webhook.events=Cdr,cdrx", "webhook.events: unknown event 'cdrx'" },
		{ "webhook.timeout_ms=0", "webhook.timeout_ms: expected integer" },
		{ "webhook.max_inflight=1000", "webhook.max_inflight: expected integer" },
		{ "webhook.password=p", "webhook.password: needs webhook.username" },
		{ "webhook.local_time=maybe", "webhook.local_time" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *ov[] = { cases[i].ov, NULL };

		f->err[0] = '\0';
		assert_int_equal(load(f, &cf, ov), EINVAL);
		if (!strstr(f->err, cases[i].want))
			fail_msg("%s: got '%s'", cases[i].ov, f->err);
		assert_non_null(strstr(f->err, "-s"));   /* where it was set */
	}
}

static void test_events_list_selects_and_is_case_insensitive(void **state)
{
	struct fix *f = *state;
	char *ov[] = { "webhook.url=http://127.0.0.1:9/h", "webhook.events= cdr, NewState",
		       NULL };

	start(f, ov);
	assert_true(webhook_wants(f->wh, "Cdr"));
	assert_true(webhook_wants(f->wh, "NewState"));
	assert_false(webhook_wants(f->wh, "IncomingCall"));
	assert_false(webhook_wants(f->wh, "cdr"));        /* emitters use exact names */
	assert_false(webhook_wants(NULL, "Cdr"));
}

static void test_emit_g4_post_row_with_event_name_and_cuid(void **state)
{
	struct fix *f = *state;
	char *ov[] = { "webhook.url=http://127.0.0.1:9/call/", NULL };
	json_t *b = json_pack("{s:s, s:i}", "unique_id", "1717.42", "duration", 7);
	struct row r;
	json_t *got;

	start(f, ov);
	assert_int_equal(webhook_emit(f->wh, "Cdr", "1717.42", b), 0);
	json_decref(b);
	r = last_row(f);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.event, "Cdr");
	assert_string_equal(r.key, "1717.42");
	assert_string_equal(r.url, "http://127.0.0.1:9/call/");
	assert_string_equal(r.method, "POST");
	assert_string_equal(r.style, "g4");
	got = json_loads(r.body, 0, NULL);
	assert_non_null(got);
	assert_string_equal(json_string_value(json_object_get(got, "event_name")), "Cdr");
	assert_string_equal(json_string_value(json_object_get(got, "cuid")), "1717.42");
	assert_int_equal(json_integer_value(json_object_get(got, "duration")), 7);
	json_decref(got);
}

static void test_rest4_joins_one_slash_before_the_query(void **state)
{
	struct fix *f = *state;
	char *ov[] = { "webhook.url=http://127.0.0.1:9/call//?token=a", "webhook.style=rest4",
		       "webhook.method=get", NULL };
	const struct webhook_field fl[] = { { "exten", "201", 0 } };

	start(f, ov);
	assert_int_equal(webhook_emit_fields(f->wh, "NewState", NULL, fl, 1), 0);
	assert_string_equal(last_row(f).url, "http://127.0.0.1:9/call/NewState?token=a");
	assert_string_equal(last_row(f).method, "GET");
	assert_string_equal(last_row(f).style, "rest4");
	assert_string_equal(last_row(f).key, "");
}

static void test_rest4_lowercase_path(void **state)
{
	struct fix *f = *state;
	char *ov[] = { "webhook.url=http://127.0.0.1:9/call", "webhook.style=Rest4",
		       "webhook.rest_lowercase=yes", NULL };
	const struct webhook_field fl[] = { { "exten", "201", 0 } };

	start(f, ov);
	assert_int_equal(webhook_emit_fields(f->wh, "NewState", "exten/201", fl, 1), 0);
	assert_string_equal(last_row(f).url, "http://127.0.0.1:9/call/newstate");
}

static void test_fields_skip_null_keys_and_repair_bad_utf8(void **state)
{
	struct fix *f = *state;
	char *ov[] = { "webhook.url=http://127.0.0.1:9/h", NULL };
	const struct webhook_field fl[] = {
		{ "number", "09\xff" "12", 0 },
		{ NULL, "left out", 0 },
		{ "name", "\xd8\xaa\xd9\x85\xd8\xa7\xd8\xb3", 0 },   /* Persian, valid */
		{ "billsec", NULL, 60 },
	};

	start(f, ov);
	assert_int_equal(webhook_emit_fields(f->wh, "IncomingCall", "k", fl, 4), 0);
	assert_string_equal(last_row(f).body, "{\"event_name\":\"IncomingCall\",\"number\":"
			    "\"09\xef\xbf\xbd" "12\",\"name\":\"\xd8\xaa\xd9\x85\xd8\xa7\xd8\xb3\","
			    "\"billsec\":60}");
}

static void test_unwanted_or_unknown_events_queue_nothing(void **state)
{
	struct fix *f = *state;
	char *ov[] = { "webhook.url=http://127.0.0.1:9/h", "webhook.events=Cdr", NULL };
	json_t *b = json_object();

	start(f, ov);
	assert_int_equal(webhook_emit(f->wh, "NewState", "k", b), 0);
	assert_int_equal(webhook_emit(f->wh, "NoSuchEvent", "k", b), EINVAL);
	assert_int_equal(webhook_emit(f->wh, "Cdr", "k", NULL), EINVAL);
	json_decref(b);
	assert_int_equal(last_row(f).n, 0);
}

static void test_disabled_webhook_queues_nothing(void **state)
{
	struct fix *f = *state;
	char *ov[] = { NULL };
	const struct webhook_field fl[] = { { "exten", "201", 0 } };

	start(f, ov);
	assert_int_equal(webhook_emit_fields(f->wh, "NewState", "k", fl, 1), 0);
	assert_int_equal(last_row(f).n, 0);
	assert_int_equal(webhook_inflight(f->wh), 0);
}

static void test_time_str_is_simotel_format_in_utc(void **state)
{
	struct fix *f = *state;
	char buf[40], small[10];

	(void)f;
	assert_int_equal(webhook_time_str(NULL, 1717047000120000ull, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "2024-05-30 05:30:00.120000");
	assert_int_equal(webhook_time_str(NULL, 1717047000120000ull, small, sizeof(small)),
			 ENOBUFS);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_defaults_are_off_all_g4_post),
		T(test_bad_values_name_the_key),
		T(test_events_list_selects_and_is_case_insensitive),
		T(test_emit_g4_post_row_with_event_name_and_cuid),
		T(test_rest4_joins_one_slash_before_the_query),
		T(test_rest4_lowercase_path),
		T(test_fields_skip_null_keys_and_repair_bad_utf8),
		T(test_unwanted_or_unknown_events_queue_nothing),
		T(test_disabled_webhook_queues_nothing),
		T(test_time_str_is_simotel_format_in_utc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
