/* Unit tests for store: open/migrations, users, CDR tail as JSON, kv. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>
#include <sqlite3.h>
#include "pbx/chan.h"
#include "store/pbxuser.h"
#include "store/store.h"
#include "store_fixture.h"

static int setup(void **state)
{
	return store_fix_setup(state, "store", "var/db/tamas.db", false);
}

static void reopen(struct store_fix *f)
{
	store_close(f->st);
	f->st = NULL;
	store_fix_open(f);
}

/* Runs one SQL query on a separate connection and returns the first column. */
static void raw_query(const char *db, const char *sql, char *out, size_t sz)
{
	sqlite3 *h;
	sqlite3_stmt *s;

	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	snprintf(out, sz, "%s", (const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	sqlite3_close(h);
}

static void test_open_creates_missing_parent_directories(void **state)
{
	struct store_fix *f = *state;
	char dir[PATH_MAX];
	struct stat sb;

	store_fix_open(f);
	snprintf(dir, sizeof(dir), "%s/var/db", f->dir);
	assert_int_equal(stat(dir, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_equal(sb.st_mode & 0777, 0750);
	assert_int_equal(stat(f->db, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	assert_string_equal(f->err, "");
}

static void test_open_fails_naming_path_when_parent_is_a_file(void **state)
{
	struct store_fix *f = *state;
	char file[256], want[PATH_MAX + 512];
	FILE *fp;
	int err;

	/* Root ignores permission bits, so a regular file stands in for an
	 * unwritable directory. */
	snprintf(file, sizeof(file), "%s/plainfile", f->dir);
	fp = fopen(file, "w");
	assert_non_null(fp);
	fclose(fp);
	snprintf(f->db, sizeof(f->db), "%s/sub/x.db", file);

	err = store_open(&f->st, f->db, f->err, sizeof(f->err));
	assert_int_equal(err, ENOTDIR);
	assert_null(f->st);
	snprintf(want, sizeof(want), "store.path %s: cannot create directory %s: %s",
		 f->db, file, strerror(ENOTDIR));
	assert_string_equal(f->err, want);
	assert_null(strchr(f->err, '\n'));
}

static void test_open_enables_wal_journal(void **state)
{
	struct store_fix *f = *state;
	char mode[32];

	store_fix_open(f);
	raw_query(f->db, "PRAGMA journal_mode", mode, sizeof(mode));
	assert_string_equal(mode, "wal");
}

static void test_open_sets_schema_version_and_tables(void **state)
{
	struct store_fix *f = *state;
	char v[512];

	store_fix_open(f);
	raw_query(f->db, "PRAGMA user_version", v, sizeof(v));
	assert_string_equal(v, "15");
	raw_query(f->db, "SELECT group_concat(name, ',') FROM (SELECT name FROM"
		  " sqlite_master WHERE type IN ('table','index') AND name NOT LIKE"
		  " 'sqlite_%' ORDER BY name)", v, sizeof(v));
	assert_string_equal(v, "announcements,api_users,callback_attempts,callback_defs,callback_requests,callback_requests_handled,callback_requests_status,cdr,cdr_calldate,cdr_dst,cdr_linkedid,cdr_src,"
			    "cdr_uniqueid,kv,numlist,outbox,outbox_call,outbox_next,poll,poll_date,poll_uniqueid,"
			    "queue_log,queue_log_agent,queue_log_call,queue_log_queue,queue_log_time,queue_members,"
			    "queues,trunks,users,"
			    "users_id");
}

static void test_reopen_keeps_data_without_rerunning_migrations(void **state)
{
	struct store_fix *f = *state;
	char created[64], again[64], v[16];
	struct user_rec u;

	store_fix_open(f);
	assert_int_equal(store_user_add(f->st, "1001", "pw", NULL, false), 0);
	assert_int_equal(store_kv_put(f->st, "fam", "k", "v"), 0);
	raw_query(f->db, "SELECT created FROM users", created, sizeof(created));

	/* Migration 1 uses plain CREATE TABLE: a re-run would fail the open. */
	reopen(f);
	assert_int_equal(store_user_get(f->st, "1001", &u), 0);
	assert_string_equal(u.password, "pw");
	assert_int_equal(store_kv_get(f->st, "fam", "k", v, sizeof(v)), 0);
	assert_string_equal(v, "v");
	raw_query(f->db, "SELECT created FROM users", again, sizeof(again));
	assert_string_equal(again, created);
	raw_query(f->db, "PRAGMA user_version", v, sizeof(v));
	assert_string_equal(v, "15");
}

static void test_open_refuses_newer_schema(void **state)
{
	struct store_fix *f = *state;
	sqlite3 *h;
	int err;

	store_fix_open(f);
	store_close(f->st);
	f->st = NULL;
	assert_int_equal(sqlite3_open(f->db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, "PRAGMA user_version=99", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(h);

	err = store_open(&f->st, f->db, f->err, sizeof(f->err));
	assert_int_equal(err, EPROTO);
	assert_null(f->st);
	assert_non_null(strstr(f->err, f->db));
	assert_non_null(strstr(f->err, "schema version 99"));
}

static void test_open_in_memory_works(void **state)
{
	struct store_fix *f = *state;
	unsigned n = 99;

	assert_int_equal(store_open(&f->st, ":memory:", f->err, sizeof(f->err)), 0);
	assert_int_equal(store_user_count(f->st, &n), 0);
	assert_int_equal(n, 0);
}

static void test_user_add_then_get_returns_fields(void **state)
{
	struct store_fix *f = *state;
	struct user_rec u;

	store_fix_open(f);
	assert_int_equal(store_user_add(f->st, "1001", "s3cret", "office", false), 0);
	assert_int_equal(store_user_get(f->st, "1001", &u), 0);
	assert_string_equal(u.ext, "1001");
	assert_string_equal(u.password, "s3cret");
	assert_string_equal(u.context, "office");
}

static void test_user_context_defaults_to_main_routing(void **state)
{
	struct store_fix *f = *state;
	struct user_rec u;

	store_fix_open(f);
	assert_int_equal(store_user_add(f->st, "1002", "pw", NULL, false), 0);
	assert_int_equal(store_user_get(f->st, "1002", &u), 0);
	assert_string_equal(u.context, "main_routing");
}

static void test_user_duplicate_add_is_eexist_and_replace_updates(void **state)
{
	struct store_fix *f = *state;
	struct user_rec u;
	unsigned n;

	store_fix_open(f);
	assert_int_equal(store_user_add(f->st, "1001", "old", NULL, false), 0);
	assert_int_equal(store_user_add(f->st, "1001", "new", NULL, false), EEXIST);
	assert_int_equal(store_user_get(f->st, "1001", &u), 0);
	assert_string_equal(u.password, "old");

	assert_int_equal(store_user_add(f->st, "1001", "new", "ctx2", true), 0);
	assert_int_equal(store_user_get(f->st, "1001", &u), 0);
	assert_string_equal(u.password, "new");
	assert_string_equal(u.context, "ctx2");
	assert_int_equal(store_user_count(f->st, &n), 0);
	assert_int_equal(n, 1);
}

static void test_user_del_removes_and_missing_is_enoent(void **state)
{
	struct store_fix *f = *state;
	struct user_rec u;

	store_fix_open(f);
	assert_int_equal(store_user_add(f->st, "1001", "pw", NULL, false), 0);
	assert_int_equal(store_user_del(f->st, "1001"), 0);
	assert_int_equal(store_user_get(f->st, "1001", &u), ENOENT);
	assert_int_equal(store_user_del(f->st, "1001"), ENOENT);
}

static void test_user_rejects_fields_too_long_to_read_back(void **state)
{
	struct store_fix *f = *state;
	char ext[100];
	unsigned n;

	store_fix_open(f);
	memset(ext, '1', sizeof(ext) - 1);
	ext[sizeof(ext) - 1] = '\0';
	assert_int_equal(store_user_add(f->st, ext, "pw", NULL, false), EINVAL);
	assert_int_equal(store_user_add(f->st, "", "pw", NULL, false), EINVAL);
	assert_int_equal(store_user_count(f->st, &n), 0);
	assert_int_equal(n, 0);
}

struct collect {
	char exts[8][64];
	int n, stop_after;
};

static int collect_user(const struct user_rec *u, void *arg)
{
	struct collect *c = arg;

	snprintf(c->exts[c->n++], sizeof(c->exts[0]), "%s", u->ext);
	return c->n == c->stop_after ? ECANCELED : 0;
}

static void test_user_apply_lists_all_in_ext_order_and_count_matches(void **state)
{
	struct store_fix *f = *state;
	struct collect c = {.stop_after = -1};
	unsigned n;

	store_fix_open(f);
	assert_int_equal(store_user_add(f->st, "1003", "a", NULL, false), 0);
	assert_int_equal(store_user_add(f->st, "1001", "b", NULL, false), 0);
	assert_int_equal(store_user_add(f->st, "1002", "c", NULL, false), 0);
	assert_int_equal(store_user_apply(f->st, collect_user, &c), 0);
	assert_int_equal(c.n, 3);
	assert_string_equal(c.exts[0], "1001");
	assert_string_equal(c.exts[1], "1002");
	assert_string_equal(c.exts[2], "1003");
	assert_int_equal(store_user_count(f->st, &n), 0);
	assert_int_equal(n, 3);
}

static void test_user_apply_stops_at_handler_error(void **state)
{
	struct store_fix *f = *state;
	struct collect c = {.stop_after = 2};

	store_fix_open(f);
	assert_int_equal(store_user_add(f->st, "1001", "a", NULL, false), 0);
	assert_int_equal(store_user_add(f->st, "1002", "b", NULL, false), 0);
	assert_int_equal(store_user_add(f->st, "1003", "c", NULL, false), 0);
	assert_int_equal(store_user_apply(f->st, collect_user, &c), ECANCELED);
	assert_int_equal(c.n, 2);
	/* The cursor was released: a second walk starts from the top. */
	c.n = 0, c.stop_after = -1;
	assert_int_equal(store_user_apply(f->st, collect_user, &c), 0);
	assert_int_equal(c.n, 3);
}

struct lines {
	char line[8][2048];
	int n;
};

static int collect_line(const char *line, void *arg)
{
	struct lines *l = arg;

	if (l->n >= 8)
		return EOVERFLOW;
	snprintf(l->line[l->n++], sizeof(l->line[0]), "%s", line);
	return 0;
}

/* 2026-11-25 06:44:20 UTC */
#define T0 1795589060ULL

static struct cdr_rec cdr_sample(void)
{
	struct cdr_rec r = {
		.start_us = T0 * 1000000 + 123456,
		.answer_us = (T0 + 5) * 1000000,
		.end_us = (T0 + 65) * 1000000 + 999999,
		.clid = "\"Ali \\\"A\\\"\" <1001>", .src = "1001", .dst = "1002",
		.dcontext = "main_routing", .channel = "SIP/1001-0000000a",
		.dstchannel = "SIP/1002-0000000b", .lastapp = "Dial",
		.lastdata = "SIP/1002,30", .disposition = "ANSWERED",
		.uniqueid = "1795589060.1", .linkedid = "1795589060.1",
		.userfield = "", .accountcode = NULL,
		.duration = 65, .billsec = 60,
	};
	return r;
}

static void pbx_free(struct pbxuser *u);

/* Keeps the last row handed over (a copy of its id, name and number). */
static int pbx_copy_h(const struct pbxuser *u, void *arg)
{
	struct pbxuser *out = arg;

	pbx_free(out);
	*out = *u;
	out->id = strdup(u->id);
	out->name = strdup(u->name);
	out->number = strdup(u->number);
	return 0;
}

static void pbx_free(struct pbxuser *u)
{
	free((char *)u->id);
	free((char *)u->name);
	free((char *)u->number);
	u->id = u->name = u->number = NULL;
}

/* Migration 5: a user added without an id (tamasctl, seeding) gets one; the
 * API's view and the registrar's share the row; a disabled user is unknown
 * to the registrar; numbers stay unique through updates. */
static void test_pbxuser_shares_rows_with_the_registrar(void **state)
{
	struct store_fix *f = *state;
	struct pbxuser in = { .number = "2001", .secret = "pw", .name = "Ali", .active = true,
			      .attrs = "{\"email\":\"a@b\"}" };
	struct pbxuser got = { 0 };
	struct pbxuser_query q = { .number = "00", .alike = true };
	struct user_rec u;
	uint64_t total;
	char id[32], id2[32];

	store_fix_open(f);
	assert_int_equal(store_user_add(f->st, "1001", "pw1", NULL, false), 0);
	assert_int_equal(pbxuser_search(f->st, &q, &total, pbx_copy_h, &got), 0);
	assert_int_equal(total, 1);
	assert_int_equal(strlen(got.id), 24);
	assert_string_equal(got.number, "1001");
	pbx_free(&got);

	assert_int_equal(pbxuser_add(f->st, &in, id, sizeof(id)), 0);
	assert_int_equal(store_user_get(f->st, "2001", &u), 0);
	assert_string_equal(u.context, "main_routing");
	assert_int_equal(pbxuser_add(f->st, &in, id2, sizeof(id2)), EEXIST);
	in.id = id;
	in.active = false;
	assert_int_equal(pbxuser_update(f->st, &in), 0);
	assert_int_equal(store_user_get(f->st, "2001", &u), ENOENT);
	in.number = "1001";
	assert_int_equal(pbxuser_update(f->st, &in), EEXIST);
	assert_int_equal(pbxuser_get(f->st, id, pbx_copy_h, &got), 0);
	assert_string_equal(got.number, "2001");
	assert_string_equal(got.name, "Ali");
	assert_false(got.active);
	pbx_free(&got);
	assert_int_equal(pbxuser_search(f->st, &q, &total, pbx_copy_h, &got), 0);
	assert_int_equal(total, 2);
	pbx_free(&got);
	q.sort = "nonsense";
	assert_int_equal(pbxuser_search(f->st, &q, &total, pbx_copy_h, &got), EINVAL);
	assert_int_equal(pbxuser_del(f->st, id), 0);
	assert_int_equal(pbxuser_del(f->st, id), ENOENT);
	assert_int_equal(pbxuser_get(f->st, id, pbx_copy_h, &got), ENOENT);
}

static void test_cdr_tail_returns_row_as_json_with_asterisk_columns(void **state)
{
	struct store_fix *f = *state;
	struct cdr_rec r = cdr_sample();
	struct lines l = {0};

	store_fix_open(f);
	assert_int_equal(store_cdr_write(f->st, &r), 0);
	assert_int_equal(store_cdr_tail(f->st, 10, collect_line, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.line[0],
		"{\"id\":1,\"calldate\":\"2026-11-25 06:44:20\","
		"\"start\":\"2026-11-25 06:44:20\",\"answer\":\"2026-11-25 06:44:25\","
		"\"end\":\"2026-11-25 06:45:25\","
		"\"clid\":\"\\\"Ali \\\\\\\"A\\\\\\\"\\\" <1001>\",\"src\":\"1001\",\"dst\":\"1002\","
		"\"dcontext\":\"main_routing\",\"channel\":\"SIP/1001-0000000a\","
		"\"dstchannel\":\"SIP/1002-0000000b\",\"lastapp\":\"Dial\","
		"\"lastdata\":\"SIP/1002,30\",\"duration\":65,\"billsec\":60,"
		"\"disposition\":\"ANSWERED\",\"amaflags\":3,\"accountcode\":\"\","
		"\"uniqueid\":\"1795589060.1\",\"linkedid\":\"1795589060.1\","
		"\"userfield\":\"\",\"sequence\":null,\"recordingfile\":\"\",\"originated_call_id\":null}");
}

static void test_cdr_unanswered_has_null_answer(void **state)
{
	struct store_fix *f = *state;
	struct cdr_rec r = cdr_sample();
	struct lines l = {0};

	store_fix_open(f);
	r.answer_us = 0;
	r.billsec = 0;
	r.disposition = "NO ANSWER";
	assert_int_equal(store_cdr_write(f->st, &r), 0);
	assert_int_equal(store_cdr_tail(f->st, 1, collect_line, &l), 0);
	assert_int_equal(l.n, 1);
	assert_non_null(strstr(l.line[0], "\"answer\":null,"));
	assert_non_null(strstr(l.line[0], "\"billsec\":0,\"disposition\":\"NO ANSWER\""));
}

static void test_cdr_tail_gives_last_n_oldest_first(void **state)
{
	struct store_fix *f = *state;
	const char *ids[] = {"1.1", "1.2", "1.3", "1.4"};
	struct cdr_rec r = cdr_sample();
	struct lines l = {0};

	store_fix_open(f);
	for (size_t i = 0; i < 4; i++) {
		r.uniqueid = ids[i];
		assert_int_equal(store_cdr_write(f->st, &r), 0);
	}
	assert_int_equal(store_cdr_tail(f->st, 2, collect_line, &l), 0);
	assert_int_equal(l.n, 2);
	assert_non_null(strstr(l.line[0], "\"id\":3,"));
	assert_non_null(strstr(l.line[0], "\"uniqueid\":\"1.3\""));
	assert_non_null(strstr(l.line[1], "\"id\":4,"));
	assert_non_null(strstr(l.line[1], "\"uniqueid\":\"1.4\""));

	l.n = 0;
	assert_int_equal(store_cdr_tail(f->st, 0, collect_line, &l), 0);
	assert_int_equal(l.n, 0);
}

static void test_cdr_json_escapes_controls_and_keeps_utf8(void **state)
{
	struct store_fix *f = *state;
	struct cdr_rec r = cdr_sample();
	struct lines l = {0};

	store_fix_open(f);
	r.userfield = "a\\b\n\t\x01 \xd8\xb3\xd9\x84\xd8\xa7\xd9\x85 \xff!";
	assert_int_equal(store_cdr_write(f->st, &r), 0);
	assert_int_equal(store_cdr_tail(f->st, 1, collect_line, &l), 0);
	assert_non_null(strstr(l.line[0],
		"\"userfield\":\"a\\\\b\\n\\t\\u0001 \xd8\xb3\xd9\x84\xd8\xa7\xd9\x85 \\ufffd!\""));
}

static void test_cdr_is_visible_to_another_connection(void **state)
{
	struct store_fix *f = *state;
	struct cdr_rec r = cdr_sample();
	char v[64];

	store_fix_open(f);
	assert_int_equal(store_cdr_write(f->st, &r), 0);
	raw_query(f->db, "SELECT uniqueid || '/' || disposition FROM cdr", v, sizeof(v));
	assert_string_equal(v, "1795589060.1/ANSWERED");
}

static void test_kv_put_get_overwrite_del(void **state)
{
	struct store_fix *f = *state;
	char v[32];

	store_fix_open(f);
	assert_int_equal(store_kv_get(f->st, "blacklist", "0912", v, sizeof(v)), ENOENT);
	assert_int_equal(store_kv_put(f->st, "blacklist", "0912", "1"), 0);
	assert_int_equal(store_kv_put(f->st, "other", "0912", "x"), 0);
	assert_int_equal(store_kv_get(f->st, "blacklist", "0912", v, sizeof(v)), 0);
	assert_string_equal(v, "1");
	assert_int_equal(store_kv_put(f->st, "blacklist", "0912", "4"), 0);
	assert_int_equal(store_kv_get(f->st, "blacklist", "0912", v, sizeof(v)), 0);
	assert_string_equal(v, "4");
	assert_int_equal(store_kv_del(f->st, "blacklist", "0912"), 0);
	assert_int_equal(store_kv_get(f->st, "blacklist", "0912", v, sizeof(v)), ENOENT);
	assert_int_equal(store_kv_del(f->st, "blacklist", "0912"), ENOENT);
	assert_int_equal(store_kv_get(f->st, "other", "0912", v, sizeof(v)), 0);
	assert_string_equal(v, "x");
}

static void test_kv_get_into_small_buffer_is_enobufs_truncated(void **state)
{
	struct store_fix *f = *state;
	char v[4];

	store_fix_open(f);
	assert_int_equal(store_kv_put(f->st, "f", "k", "abcdef"), 0);
	assert_int_equal(store_kv_get(f->st, "f", "k", v, sizeof(v)), ENOBUFS);
	assert_string_equal(v, "abc");
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, store_fix_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_open_creates_missing_parent_directories),
		T(test_open_fails_naming_path_when_parent_is_a_file),
		T(test_open_enables_wal_journal),
		T(test_open_sets_schema_version_and_tables),
		T(test_reopen_keeps_data_without_rerunning_migrations),
		T(test_open_refuses_newer_schema),
		T(test_open_in_memory_works),
		T(test_user_add_then_get_returns_fields),
		T(test_user_context_defaults_to_main_routing),
		T(test_user_duplicate_add_is_eexist_and_replace_updates),
		T(test_user_del_removes_and_missing_is_enoent),
		T(test_user_rejects_fields_too_long_to_read_back),
		T(test_user_apply_lists_all_in_ext_order_and_count_matches),
		T(test_user_apply_stops_at_handler_error),
		T(test_pbxuser_shares_rows_with_the_registrar),
		T(test_cdr_tail_returns_row_as_json_with_asterisk_columns),
		T(test_cdr_unanswered_has_null_answer),
		T(test_cdr_tail_gives_last_n_oldest_first),
		T(test_cdr_json_escapes_controls_and_keeps_utf8),
		T(test_cdr_is_visible_to_another_connection),
		T(test_kv_put_get_overwrite_del),
		T(test_kv_get_into_small_buffer_is_enobufs_truncated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
