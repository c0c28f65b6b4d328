/* Unit tests for cdrrep over an in-memory store with rows written by
 * store_cdr_write: each filter, LIKE escaping, sorting with id as the tie
 * breaker, count/start, totals, the type function, by id and the cursor. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <re.h>
#include "pbx/chan.h"
#include "store/cdrrep.h"
#include "store/store.h"

#define T0 1717059600ull        /* 2024-05-30 09:00:00 UTC */

struct fix {
	struct store *st;
	unsigned type_calls;
};

struct seen {
	char ids[64][32];           /* uniqueids in callback order */
	int64_t rowid[64];
	unsigned n;
};

static int seen_h(const struct cdrrep_row *r, void *arg)
{
	struct seen *s = arg;

	if (s->n >= 64)
		return E2BIG;
	snprintf(s->ids[s->n], sizeof(s->ids[0]), "%s", r->uniqueid);
	s->rowid[s->n++] = r->id;
	return 0;
}

static void add(struct fix *f, unsigned min, const char *src, const char *dst,
		const char *disp, int64_t duration, const char *uid, const char *linked,
		const char *channel)
{
	struct cdr_rec r = {
		.start_us = (T0 + min * 60) * 1000000, .end_us = (T0 + min * 60 + 5) * 1000000,
		.clid = src, .src = src, .dst = dst, .dcontext = "main_routing",
		.channel = channel, .dstchannel = "SIP/x-00000001", .lastapp = "Dial",
		.lastdata = "", .disposition = disp, .uniqueid = uid,
		.linkedid = linked ? linked : uid, .userfield = "", .accountcode = "",
		.recordingfile = "", .duration = duration,
	};

	assert_int_equal(store_cdr_write(f->st, &r), 0);
}

static const char *type_h(const char *channel, const char *dstchannel, const char *dst,
			  void *arg)
{
	struct fix *f = arg;

	(void)dstchannel;
	(void)dst;
	++f->type_calls;
	return !strncmp(channel, "SIP/prov", 8) ? "incoming" : "local";
}

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	char err[256];

	if (!f || libre_init() || store_open(&f->st, ":memory:", err, sizeof(err)))
		return -1;
	*state = f;
	/* minute, src, dst, disposition, duration, uniqueid, linkedid, channel */
	add(f, 0, "1001", "1002", "ANSWERED", 30, "a", NULL, "SIP/1001-0000000a");
	add(f, 1, "0912", "1001", "NO ANSWER", 10, "b", NULL, "SIP/prov-0000000b");
	add(f, 1, "0912", "1003", "ANSWERED", 20, "c", "b", "SIP/prov-0000000c");
	add(f, 2, "10%_", "1002", "BUSY", 20, "d", NULL, "SIP/10%_-0000000d");
	add(f, 60, "1002", "2000", "ANSWERED", 5, "e", NULL, "SIP/1002-0000000e");
	return cdrrep_set_type_h(f->st, type_h, f) ? -1 : 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	store_close(f->st);
	free(f);
	libre_close();
	return 0;
}

static void ids_are(struct fix *f, const struct cdrrep_query *q, uint64_t want_total,
		    const char *want)
{
	struct seen s = { .n = 0 };
	char got[256] = "";
	uint64_t total = 99;

	assert_int_equal(cdrrep_search(f->st, q, &total, seen_h, &s), 0);
	for (unsigned i = 0; i < s.n; i++)
		strcat(got, s.ids[i]);
	assert_string_equal(got, want);
	assert_int_equal(total, want_total);
}

static void test_default_sort_is_start_and_ties_by_id(void **state)
{
	struct cdrrep_query q = { .desc = true };

	ids_are(*state, &q, 5, "edcba");
	q.desc = false;
	ids_are(*state, &q, 5, "abcde");
}

static void test_filters(void **state)
{
	struct cdrrep_query q = { .src = "0912" };

	ids_are(*state, &q, 2, "bc");
	q = (struct cdrrep_query){ .dst = "1002" };
	ids_are(*state, &q, 2, "ad");
	q = (struct cdrrep_query){ .number = "1002" };
	ids_are(*state, &q, 3, "ade");
	q = (struct cdrrep_query){ .number = "100", .alike = true };
	ids_are(*state, &q, 5, "abcde");
	q = (struct cdrrep_query){ .cuid = "b" };
	ids_are(*state, &q, 2, "bc");
	q = (struct cdrrep_query){ .cuid = "c" };
	ids_are(*state, &q, 1, "c");
	q = (struct cdrrep_query){ .disposition = "ANSWERED" };
	ids_are(*state, &q, 3, "ace");
	q = (struct cdrrep_query){ .from = "2024-05-30 09:01:00", .to = "2024-05-30 09:02:00" };
	ids_are(*state, &q, 3, "bcd");
	q = (struct cdrrep_query){ .from = "2024-05-30 10:00:00" };
	ids_are(*state, &q, 1, "e");
	q = (struct cdrrep_query){ .src = "", .dst = "", .number = "", .cuid = "" };
	ids_are(*state, &q, 5, "abcde");
}

static void test_like_escapes_wildcards(void **state)
{
	struct cdrrep_query q = { .src = "%", .alike = true };

	ids_are(*state, &q, 1, "d");
	q.src = "_";
	ids_are(*state, &q, 1, "d");
	q.src = "10%_";
	q.alike = false;
	ids_are(*state, &q, 1, "d");
	q.src = "1' OR '1'='1";
	ids_are(*state, &q, 0, "");
}

static void test_type_filter_uses_the_callback(void **state)
{
	struct fix *f = *state;
	struct cdrrep_query q = { .type = "incoming" };

	ids_are(f, &q, 2, "bc");
	assert_true(f->type_calls > 0);
	q.type = "local";
	q.disposition = "ANSWERED";
	ids_are(f, &q, 2, "ae");
}

static void test_sort_columns_and_paging(void **state)
{
	struct cdrrep_query q = { .sort = CDRREP_SORT_DURATION };

	ids_are(*state, &q, 5, "ebcda");
	q.desc = true;
	ids_are(*state, &q, 5, "adcbe");        /* equal durations: id descending too */
	q.start = 1;
	q.count = 2;
	ids_are(*state, &q, 5, "dc");
	q.start = 10;
	ids_are(*state, &q, 5, "");
	q = (struct cdrrep_query){ .sort = CDRREP_SORT_SRC };
	ids_are(*state, &q, 5, "bcdae");     /* "10%_" < "1001": byte order */
	q.sort = (enum cdrrep_sort)99;
	{
		struct seen s = { .n = 0 };
		uint64_t total;

		assert_int_equal(cdrrep_search(((struct fix *)*state)->st, &q, &total, seen_h,
					       &s), EINVAL);
	}
}

static void test_get_and_after(void **state)
{
	struct fix *f = *state;
	struct seen s = { .n = 0 };

	assert_int_equal(cdrrep_get(f->st, 3, seen_h, &s), 0);
	assert_string_equal(s.ids[0], "c");
	assert_int_equal(cdrrep_get(f->st, 99, seen_h, &s), ENOENT);
	s.n = 0;
	assert_int_equal(cdrrep_after(f->st, 0, 2, seen_h, &s), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.rowid[0], 1);
	assert_int_equal(s.rowid[1], 2);
	s.n = 0;
	assert_int_equal(cdrrep_after(f->st, 2, 20, seen_h, &s), 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.rowid[2], 5);
	s.n = 0;
	assert_int_equal(cdrrep_after(f->st, 5, 20, seen_h, &s), 0);
	assert_int_equal(s.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_default_sort_is_start_and_ties_by_id, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_filters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_like_escapes_wildcards, setup, teardown),
		cmocka_unit_test_setup_teardown(test_type_filter_uses_the_callback, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_sort_columns_and_paging, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_and_after, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
