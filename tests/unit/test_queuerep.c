/* Unit tests for queuerep over an in-memory store with queue_log rows:
 * calls paired with their own ENTERQUEUE and CONNECT (interleaved calls, a
 * caller back in the same queue), wait/talk/ring per terminal event, the
 * agent of a missed call, filters, sorting, paging, bad sorts; agent
 * sessions (inout, pause, closed by REMOVEMEMBER, open ones) and theirs. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <re.h>
#include "store/queuelog.h"
#include "store/queuerep.h"
#include "store/store.h"
#include "store/store_int.h"

struct fix {
	struct store *st;
};

/* One queue_log row at a given time ("HH:MM:SS" on 2024-05-30). */
static void ev(struct fix *f, const char *hms, const char *callid, const char *queue,
	       const char *agent, const char *event, const char *d1, const char *d2,
	       const char *d3, const char *d4)
{
	const char *data[5] = { d1, d2, d3, d4, "" };
	char sql[160];

	assert_int_equal(queuelog_add(f->st, callid, queue, agent, event, data), 0);
	snprintf(sql, sizeof(sql), "UPDATE queue_log SET time = '2024-05-30 %s' WHERE id ="
		 " (SELECT max(id) FROM queue_log)", hms);
	assert_int_equal(sqlite3_exec(store_db(f->st), sql, NULL, NULL, NULL), SQLITE_OK);
}

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	char err[256];

	if (!f || libre_init() || store_open(&f->st, ":memory:", err, sizeof(err)))
		return -1;
	*state = f;
	/* A: answered by 2002 after 2001 did not answer; B (interleaved):
	 * abandoned after 2001 rang; C: left with a key; A again later: timed
	 * out without a CONNECT of its own. */
	ev(f, "10:00:00", "A", "q1", "NONE", "ENTERQUEUE", "", "1001", "1", "");
	ev(f, "10:00:05", "A", "q1", "SIP/2001", "RINGNOANSWER", "5000", "", "", "");
	ev(f, "10:00:06", "B", "q1", "NONE", "ENTERQUEUE", "", "1002", "2", "");
	ev(f, "10:00:07", "A", "q1", "SIP/2002", "CONNECT", "7", "A2", "2", "");
	ev(f, "10:00:08", "B", "q1", "SIP/2001", "RINGNOANSWER", "3000", "", "", "");
	ev(f, "10:00:18", "B", "q1", "NONE", "ABANDON", "1", "2", "12", "");
	ev(f, "10:00:37", "A", "q1", "SIP/2002", "COMPLETEAGENT", "7", "30", "1", "");
	ev(f, "10:02:00", "C", "q2", "NONE", "ENTERQUEUE", "", "1003", "1", "");
	ev(f, "10:02:04", "C", "q2", "NONE", "EXITWITHKEY", "5", "1", "1", "4");
	ev(f, "10:05:00", "A", "q1", "NONE", "ENTERQUEUE", "", "1001", "1", "");
	ev(f, "10:05:09", "A", "q1", "NONE", "EXITWITHTIMEOUT", "1", "1", "9", "");
	/* Sessions: 2003 logs in, pauses twice (the second closed by its
	 * removal); 2004 still logged in; static 2001 still paused in q2. */
	ev(f, "09:00:00", "NONE", "q1", "SIP/2003", "ADDMEMBER", "", "", "", "");
	ev(f, "09:10:00", "NONE", "q1", "SIP/2003", "PAUSE", "lunch", "", "", "");
	ev(f, "09:20:00", "NONE", "q1", "SIP/2003", "UNPAUSE", "", "", "", "");
	ev(f, "09:30:00", "NONE", "q1", "SIP/2003", "PAUSE", "", "", "", "");
	ev(f, "09:40:00", "NONE", "q1", "SIP/2003", "REMOVEMEMBER", "", "", "", "");
	ev(f, "09:50:00", "NONE", "q1", "SIP/2004", "ADDMEMBER", "", "", "", "");
	ev(f, "09:55:00", "NONE", "q2", "SIP/2001", "PAUSE", "", "", "", "");
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	store_close(f->st);
	free(f);
	libre_close();
	return 0;
}

struct calls {
	struct queuerep_call c[16];
	char callid[16][8], agent[16][16], event[16][20], answered[16][24], src[16][8];
	unsigned n;
};

static int call_h(const struct queuerep_call *c, void *arg)
{
	struct calls *s = arg;

	if (s->n >= 16)
		return E2BIG;
	s->c[s->n] = *c;
	snprintf(s->callid[s->n], sizeof(s->callid[0]), "%s", c->callid);
	snprintf(s->agent[s->n], sizeof(s->agent[0]), "%s", c->agent);
	snprintf(s->event[s->n], sizeof(s->event[0]), "%s", c->event);
	snprintf(s->answered[s->n], sizeof(s->answered[0]), "%s", c->answered);
	snprintf(s->src[s->n], sizeof(s->src[0]), "%s", c->src);
	s->n++;
	return 0;
}

static unsigned calls(struct fix *f, const struct queuerep_query *q, struct calls *s)
{
	uint64_t total = 0;

	memset(s, 0, sizeof(*s));
	assert_int_equal(queuerep_calls(f->st, q, &total, call_h, s), 0);
	return (unsigned)total;
}

static void test_calls_pair_their_own_rows(void **state)
{
	struct fix *f = *state;
	struct queuerep_query q = { .desc = true };
	struct calls s;

	assert_int_equal(calls(f, &q, &s), 4);
	assert_int_equal(s.n, 4);
	/* newest first: A again, C, B, A */
	assert_string_equal(s.event[0], "EXITWITHTIMEOUT");
	assert_string_equal(s.event[1], "EXITWITHKEY");
	assert_string_equal(s.event[2], "ABANDON");
	assert_string_equal(s.event[3], "COMPLETEAGENT");
	/* A: answered by 2002, waited 7, talked 30, rang 2, 37 s in all */
	assert_string_equal(s.agent[3], "SIP/2002");
	assert_string_equal(s.answered[3], "2024-05-30 10:00:07");
	assert_string_equal(s.src[3], "1001");
	assert_int_equal(s.c[3].wait, 7);
	assert_int_equal(s.c[3].talk, 30);
	assert_int_equal(s.c[3].ring, 2);
	assert_int_equal(s.c[3].duration, 37);
	/* B: missed; the member that last rang; wait is ABANDON's data3 */
	assert_string_equal(s.agent[2], "SIP/2001");
	assert_string_equal(s.answered[2], "");
	assert_string_equal(s.src[2], "1002");
	assert_int_equal(s.c[2].wait, 12);
	assert_int_equal(s.c[2].talk, 0);
	assert_int_equal(s.c[2].duration, 12);
	/* C: EXITWITHKEY keeps the wait in data4 */
	assert_int_equal(s.c[1].wait, 4);
	assert_string_equal(s.agent[1], "");
	/* A's second visit starts at its second ENTERQUEUE: not answered */
	assert_string_equal(s.callid[0], "A");
	assert_string_equal(s.answered[0], "");
	assert_string_equal(s.agent[0], "");
	assert_int_equal(s.c[0].wait, 9);
	assert_int_equal(s.c[0].duration, 9);
}

static void test_call_filters_sorts_and_paging(void **state)
{
	struct fix *f = *state;
	struct calls s;

	assert_int_equal(calls(f, &(struct queuerep_query){ .agent = "2002" }, &s), 1);
	assert_int_equal(calls(f, &(struct queuerep_query){ .agent = "200", .alike = true }, &s),
			 2);
	assert_int_equal(calls(f, &(struct queuerep_query){ .agent = "200" }, &s), 0);
	assert_int_equal(calls(f, &(struct queuerep_query){ .queue = "q2" }, &s), 1);
	assert_int_equal(calls(f, &(struct queuerep_query){ .callid = "A" }, &s), 2);
	assert_int_equal(calls(f, &(struct queuerep_query){ .answered_only = true }, &s), 1);
	assert_int_equal(calls(f, &(struct queuerep_query){ .missed_only = true }, &s), 3);
	assert_int_equal(calls(f, &(struct queuerep_query){ .src = "100", .alike = true }, &s), 4);
	assert_int_equal(calls(f, &(struct queuerep_query){ .from = "2024-05-30 10:00:01",
							    .to = "2024-05-30 10:03:00" }, &s), 2);
	/* longest wait first, one per page */
	assert_int_equal(calls(f, &(struct queuerep_query){ .sort = QUEUEREP_SORT_WAIT,
							    .desc = true, .start = 1, .count = 1 },
			       &s), 4);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.event[0], "EXITWITHTIMEOUT");     /* 12, 9, 7, 4 */
	assert_int_equal(queuerep_calls(f->st, &(struct queuerep_query){ .sort = 99 }, &(uint64_t){ 0 },
					call_h, &s), EINVAL);
}

struct sessions {
	char type[16][8], exten[16][8], end[16][24], reason[16][8];
	int64_t duration[16];
	unsigned n;
};

static int session_h(const struct queuerep_session *r, void *arg)
{
	struct sessions *s = arg;

	if (s->n >= 16)
		return E2BIG;
	snprintf(s->type[s->n], sizeof(s->type[0]), "%s", r->type);
	snprintf(s->exten[s->n], sizeof(s->exten[0]), "%s", r->exten);
	snprintf(s->end[s->n], sizeof(s->end[0]), "%s", r->end);
	snprintf(s->reason[s->n], sizeof(s->reason[0]), "%s", r->reason);
	s->duration[s->n++] = r->duration;
	return 0;
}

static unsigned sessions(struct fix *f, const struct queuerep_query *q, struct sessions *s)
{
	uint64_t total = 0;

	memset(s, 0, sizeof(*s));
	assert_int_equal(queuerep_sessions(f->st, q, &total, session_h, s), 0);
	return (unsigned)total;
}

static void test_sessions(void **state)
{
	struct fix *f = *state;
	struct sessions s;

	/* by end, latest first: the open ones (newest first), then the two
	 * ended by the removal at 09:40, then the first pause */
	assert_int_equal(sessions(f, &(struct queuerep_query){ .sort = QUEUEREP_SORT_END,
							       .desc = true }, &s), 5);
	assert_string_equal(s.exten[0], "2001");
	assert_string_equal(s.type[0], "pause");
	assert_string_equal(s.end[0], "");
	assert_true(s.duration[0] > 0);         /* up to now */
	assert_string_equal(s.exten[1], "2004");
	assert_string_equal(s.type[1], "inout");
	assert_string_equal(s.end[1], "");
	assert_string_equal(s.type[2], "pause");
	assert_string_equal(s.end[2], "2024-05-30 09:40:00");
	assert_int_equal(s.duration[2], 600);
	assert_string_equal(s.type[3], "inout");
	assert_int_equal(s.duration[3], 2400);
	assert_string_equal(s.type[4], "pause");
	assert_string_equal(s.reason[4], "lunch");
	assert_string_equal(s.end[4], "2024-05-30 09:20:00");
	assert_int_equal(s.duration[4], 600);

	assert_int_equal(sessions(f, &(struct queuerep_query){ .type = "pause" }, &s), 3);
	assert_int_equal(sessions(f, &(struct queuerep_query){ .agent = "2003" }, &s), 3);
	assert_int_equal(sessions(f, &(struct queuerep_query){ .queue = "q2" }, &s), 1);
	/* overlapping the window: open ones count as going on */
	assert_int_equal(sessions(f, &(struct queuerep_query){ .from = "2024-05-30 09:45:00" },
			 &s), 2);
	assert_int_equal(sessions(f, &(struct queuerep_query){ .to = "2024-05-30 09:05:00" },
			 &s), 1);
	assert_int_equal(queuerep_sessions(f->st, &(struct queuerep_query){
		.sort = QUEUEREP_SORT_TALK }, &(uint64_t){ 0 }, session_h, &s), EINVAL);
}

struct attempts {
	char text[512];
	int64_t last_id;
};

static int attempt_h(const struct queuerep_attempt *a, void *arg)
{
	struct attempts *s = arg;
	size_t n = strlen(s->text);

	snprintf(s->text + n, sizeof(s->text) - n, "%s|%s|%s|%s|%s|r%lld|w%lld|t%lld|%s|%lld;",
		 a->callid, a->agent, a->event, a->start, a->src, (long long)a->ring,
		 (long long)a->wait, (long long)a->talk, a->member_uid, (long long)a->tries);
	s->last_id = a->id;
	return 0;
}

static uint64_t attempts(struct fix *f, const struct queuerep_query *q, struct attempts *s)
{
	uint64_t total = 0;

	memset(s, 0, sizeof(*s));
	assert_int_equal(queuerep_attempts(f->st, q, &total, attempt_h, s), 0);
	return total;
}

static void test_attempts_one_row_per_member_rung(void **state)
{
	struct fix *f = *state;
	struct attempts s;

	/* A: 2001 rang 5 s unanswered, then 2002 answered after 2 s and talked
	 * 30; B: 2001 rang 3 s; ring start = the row's time minus the ring */
	assert_int_equal(attempts(f, &(struct queuerep_query){ .sort = QUEUEREP_SORT_ID }, &s),
			 3);
	assert_string_equal(s.text,
			    "A|SIP/2001|RINGNOANSWER|2024-05-30 10:00:00|1001|r5|w5|t0||1;"
			    "A|SIP/2002|CONNECT|2024-05-30 10:00:05|1001|r2|w7|t30|A2|1;"
			    "B|SIP/2001|RINGNOANSWER|2024-05-30 10:00:05|1002|r3|w2|t0||1;");
	assert_int_equal(attempts(f, &(struct queuerep_query){ .answered_only = true }, &s), 1);
	assert_int_equal(attempts(f, &(struct queuerep_query){ .missed_only = true }, &s), 2);
	assert_int_equal(attempts(f, &(struct queuerep_query){ .agent = "2001" }, &s), 2);
	assert_int_equal(attempts(f, &(struct queuerep_query){ .callid = "B" }, &s), 1);
	/* the cursor: rows after the first one's id */
	assert_int_equal(attempts(f, &(struct queuerep_query){ .sort = QUEUEREP_SORT_ID,
							       .count = 1 }, &s), 3);
	assert_int_equal(attempts(f, &(struct queuerep_query){ .sort = QUEUEREP_SORT_ID,
							       .after = s.last_id }, &s), 2);
	assert_non_null(strstr(s.text, "A|SIP/2002|CONNECT"));
	assert_null(strstr(s.text, "RINGNOANSWER|2024-05-30 10:00:00"));
}

static void test_calls_after_a_cursor(void **state)
{
	struct fix *f = *state;
	struct calls s;

	calls(f, &(struct queuerep_query){ .sort = QUEUEREP_SORT_ID, .count = 1 }, &s);
	assert_string_equal(s.event[0], "ABANDON");
	assert_int_equal(calls(f, &(struct queuerep_query){ .sort = QUEUEREP_SORT_ID,
							    .after = s.c[0].id }, &s), 3);
	assert_string_equal(s.event[0], "COMPLETEAGENT");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_calls_pair_their_own_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_call_filters_sorts_and_paging, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_sessions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_attempts_one_row_per_member_rung, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_calls_after_a_cursor, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
