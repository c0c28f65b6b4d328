/* Unit tests for the queue repositories: queue_log rows (columns as
 * Asterisk's realtime queue_log) and stored dynamic members. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>
#include <sqlite3.h>
#include "store/queuedef.h"
#include "store/queuelog.h"
#include "store/queuemember.h"
#include "store/store.h"
#include "store_fixture.h"

static int setup(void **state)
{
	return store_fix_setup(state, "qstore", "tamas.db", true);
}

/* Reads the table through a second connection, as reports would. */
static void query(struct store_fix *f, const char *sql, char *out, size_t sz)
{
	sqlite3 *db;
	sqlite3_stmt *s;

	assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	out[0] = '\0';
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
		snprintf(out, sz, "%s", (const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	sqlite3_close(db);
}

static void test_queuelog_rows_have_asterisk_columns(void **state)
{
	struct store_fix *f = *state;
	const char *const enter[5] = { "", "1001", "1", NULL, NULL };
	const char *const none[5] = { NULL, NULL, NULL, NULL, NULL };
	char v[256];

	assert_int_equal(queuelog_add(f->st, "1.0", "sales", NULL, "ENTERQUEUE", enter), 0);
	assert_int_equal(queuelog_add(f->st, NULL, "sales", "SIP/2001", "PAUSE", none), 0);
	assert_int_equal(queuelog_add(f->st, "1.0", NULL, NULL, "X", none), EINVAL);
	assert_int_equal(queuelog_add(f->st, "1.0", "sales", NULL, NULL, none), EINVAL);
	query(f, "SELECT group_concat(callid || '|' || queuename || '|' || agent || '|' || event"
	      " || '|' || data1 || '|' || data2 || '|' || data3 || '|' || data4 || '|' || data5,"
	      " ';') FROM (SELECT * FROM queue_log ORDER BY id)", v, sizeof(v));
	assert_string_equal(v, "1.0|sales|NONE|ENTERQUEUE||1001|1||;NONE|sales|SIP/2001|PAUSE|||||");
	query(f, "SELECT count(*) FROM queue_log WHERE time LIKE '____-__-__ __:__:__'", v,
	      sizeof(v));
	assert_string_equal(v, "2");
}

struct seen { char text[256]; };

static int collect(const char *queue, const char *iface, unsigned penalty, bool paused,
		   void *arg)
{
	struct seen *s = arg;
	size_t n = strlen(s->text);

	snprintf(s->text + n, sizeof(s->text) - n, "%s,%s,%u,%d;", queue, iface, penalty, paused);
	return 0;
}

static void test_members_add_pause_del_apply(void **state)
{
	struct store_fix *f = *state;
	struct seen s = { "" };

	assert_int_equal(queuemember_add(f->st, "sales", "SIP/2001", 2, false), 0);
	assert_int_equal(queuemember_add(f->st, "sales", "SIP/2001", 0, false), EEXIST);
	assert_int_equal(queuemember_add(f->st, "support", "SIP/2001", 0, true), 0);
	assert_int_equal(queuemember_add(f->st, "sales", "SIP/2002", 0, false), 0);
	assert_int_equal(queuemember_set_paused(f->st, "sales", "SIP/2002", true), 0);
	assert_int_equal(queuemember_set_paused(f->st, "sales", "SIP/2009", true), ENOENT);
	assert_int_equal(queuemember_del(f->st, "sales", "SIP/2001"), 0);
	assert_int_equal(queuemember_del(f->st, "sales", "SIP/2001"), ENOENT);
	assert_int_equal(queuemember_add(f->st, NULL, "SIP/2001", 0, false), EINVAL);
	assert_int_equal(queuemember_apply(f->st, collect, &s), 0);
	assert_string_equal(s.text, "sales,SIP/2002,0,1;support,SIP/2001,0,1;");
}

static int def_collect(const struct queuedef *q, void *arg)
{
	struct seen *s = arg;
	size_t n = strlen(s->text);

	snprintf(s->text + n, sizeof(s->text) - n, "%s,%s,%s;", q->number, q->name, q->attrs);
	return 0;
}

static void test_queuedefs_add_update_del(void **state)
{
	struct store_fix *f = *state;
	struct seen s = { "" };
	char id[32], id2[32], v[64];

	assert_int_equal(queuedef_add(f->st, "900", "Sales", "{\"timeout\":\"5\"}", id,
				      sizeof(id)), 0);
	assert_int_equal(strlen(id), 24);
	assert_int_equal(queuedef_add(f->st, "900", "Again", "{}", id2, sizeof(id2)), EEXIST);
	assert_int_equal(queuedef_add(f->st, "", "Empty", "{}", id2, sizeof(id2)), EINVAL);
	assert_int_equal(queuedef_add(f->st, "901", "Support", NULL, id2, sizeof(id2)), 0);
	assert_int_equal(queuedef_update(f->st, id, "Sales 2", "{}"), 0);
	assert_int_equal(queuedef_update(f->st, "nosuch", "x", "{}"), ENOENT);
	assert_int_equal(queuedef_get(f->st, id, def_collect, &s), 0);
	assert_int_equal(queuedef_get(f->st, id2, def_collect, &s), 0);
	assert_string_equal(s.text, "900,Sales 2,{};901,Support,{};");
	assert_int_equal(queuedef_get(f->st, "nosuch", def_collect, &s), ENOENT);
	/* a removed queue takes its stored members with it, only its own */
	assert_int_equal(queuemember_add(f->st, "900", "SIP/2001", 0, false), 0);
	assert_int_equal(queuemember_add(f->st, "901", "SIP/2001", 0, false), 0);
	assert_int_equal(queuedef_del(f->st, id), 0);
	assert_int_equal(queuedef_del(f->st, id), ENOENT);
	query(f, "SELECT group_concat(queuename) FROM queue_members", v, sizeof(v));
	assert_string_equal(v, "901");
	s.text[0] = '\0';
	assert_int_equal(queuedef_apply(f->st, def_collect, &s), 0);
	assert_string_equal(s.text, "901,Support,{};");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_queuelog_rows_have_asterisk_columns, setup,
						store_fix_teardown),
		cmocka_unit_test_setup_teardown(test_members_add_pause_del_apply, setup,
						store_fix_teardown),
		cmocka_unit_test_setup_teardown(test_queuedefs_add_update_del, setup,
						store_fix_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
