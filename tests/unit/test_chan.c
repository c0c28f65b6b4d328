/* Unit tests for chan: ids and names, variables and inheritance, expressions,
 * the state machine, watchers, bridging and the Party-A CDR. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <re.h>
#include "pbx/app.h"
#include "pbx/chan.h"

/* ---- a test technology that records what the PBX asked of it ---- */

static struct {
	int answers, indicates, hangups, bridges, unbridges;
	uint16_t last_scode;
	int last_cause;
	int answer_err;
} tech_rec;

static int t_answer(struct chan *ch) { (void)ch; tech_rec.answers++; return tech_rec.answer_err; }

static int t_indicate(struct chan *ch, uint16_t scode)
{
	(void)ch;
	tech_rec.indicates++;
	tech_rec.last_scode = scode;
	return 0;
}

static void t_hangup(struct chan *ch, int cause)
{
	(void)ch;
	tech_rec.hangups++;
	tech_rec.last_cause = cause;
}

static int t_bridge(struct chan *ch, struct chan *peer)
{
	(void)ch;
	if (peer)
		tech_rec.bridges++;
	else
		tech_rec.unbridges++;
	return 0;
}

static struct { int n; char from[32], to[32], reason[32]; } rd_rec;

static int t_redirecting(struct chan *ch, const char *from, const char *to,
			 const char *reason)
{
	(void)ch;
	rd_rec.n++;
	snprintf(rd_rec.from, sizeof(rd_rec.from), "%s", from ? from : "");
	snprintf(rd_rec.to, sizeof(rd_rec.to), "%s", to ? to : "");
	snprintf(rd_rec.reason, sizeof(rd_rec.reason), "%s", reason ? reason : "");
	return 0;
}

static const struct chan_tech test_tech = {
	.name = "Test", .answer = t_answer, .indicate = t_indicate,
	.hangup = t_hangup, .bridge = t_bridge, .redirecting = t_redirecting,
};

/* ---- CDR sink ---- */

static struct {
	int n;
	char disposition[32], lastapp[32], lastdata[64], dst[32], dcontext[32];
	char clid[64], src[32], userfield[64], dstchannel[64], uniqueid[32], linkedid[32];
	int64_t duration, billsec;
	uint64_t answer_us;
} cdr;

static void cdr_h(const struct cdr_rec *r, void *arg)
{
	(void)arg;
	cdr.n++;
	str_ncpy(cdr.disposition, r->disposition, sizeof(cdr.disposition));
	str_ncpy(cdr.lastapp, r->lastapp, sizeof(cdr.lastapp));
	str_ncpy(cdr.lastdata, r->lastdata, sizeof(cdr.lastdata));
	str_ncpy(cdr.dst, r->dst, sizeof(cdr.dst));
	str_ncpy(cdr.dcontext, r->dcontext, sizeof(cdr.dcontext));
	str_ncpy(cdr.clid, r->clid, sizeof(cdr.clid));
	str_ncpy(cdr.src, r->src, sizeof(cdr.src));
	str_ncpy(cdr.userfield, r->userfield, sizeof(cdr.userfield));
	str_ncpy(cdr.dstchannel, r->dstchannel, sizeof(cdr.dstchannel));
	str_ncpy(cdr.uniqueid, r->uniqueid, sizeof(cdr.uniqueid));
	str_ncpy(cdr.linkedid, r->linkedid, sizeof(cdr.linkedid));
	cdr.duration = r->duration;
	cdr.billsec = r->billsec;
	cdr.answer_us = r->answer_us;
}

static int setup(void **state)
{
	(void)state;
	memset(&tech_rec, 0, sizeof(tech_rec));
	memset(&cdr, 0, sizeof(cdr));
	chan_init(cdr_h, NULL);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	chan_close();
	return 0;
}

static struct chan *new_chan(const char *res, const struct chan *parent)
{
	struct chan *ch = NULL;

	assert_int_equal(chan_alloc(&ch, &test_tech, NULL, res, parent), 0);
	assert_non_null(ch);
	return ch;
}

/* ---- ids and names ---- */

static void test_chan_name_has_tech_resource_and_8_hex(void **state)
{
	struct chan *a = new_chan("1001", NULL), *b = new_chan("1001", NULL);
	const char *n = chan_name(a);
	unsigned ia, ib;

	(void)state;
	assert_int_equal(strncmp(n, "Test/1001-", 10), 0);
	assert_int_equal(strlen(n), 18);
	assert_int_equal(strspn(n + 10, "0123456789abcdef"), 8);
	ia = (unsigned)strtoul(chan_name(a) + 10, NULL, 16);
	ib = (unsigned)strtoul(chan_name(b) + 10, NULL, 16);
	assert_int_equal(ib, ia + 1);
	mem_deref(a);
	mem_deref(b);
}

static void test_chan_uniqueid_is_seconds_dot_counter(void **state)
{
	struct chan *a = new_chan("x", NULL), *b = new_chan("x", NULL);
	const char *dot = strchr(chan_uniqueid(a), '.');
	unsigned long secs = strtoul(chan_uniqueid(a), NULL, 10);

	(void)state;
	assert_non_null(dot);
	assert_true(secs > 1600000000ul);
	assert_int_equal(strtoul(strchr(chan_uniqueid(b), '.') + 1, NULL, 10),
			 strtoul(dot + 1, NULL, 10) + 1);
	mem_deref(a);
	mem_deref(b);
}

static void test_chan_linkedid_inherited_from_parent(void **state)
{
	struct chan *p = new_chan("a", NULL), *c = new_chan("b", p);

	(void)state;
	assert_string_equal(chan_linkedid(p), chan_uniqueid(p));
	assert_string_equal(chan_linkedid(c), chan_uniqueid(p));
	assert_string_not_equal(chan_uniqueid(c), chan_uniqueid(p));
	mem_deref(c);
	mem_deref(p);
}

static void test_chan_find_by_name_and_uniqueid(void **state)
{
	struct chan *a = new_chan("7", NULL);

	(void)state;
	assert_ptr_equal(chan_find(chan_name(a)), a);
	assert_ptr_equal(chan_find(chan_uniqueid(a)), a);
	assert_null(chan_find("Test/none-00000000"));
	assert_int_equal(chan_count(), 1);
	chan_hangup(a, 0);
	assert_null(chan_find(chan_name(a)));
	assert_int_equal(chan_count(), 0);
	mem_deref(a);
}

/* ---- variables ---- */

static void test_chan_var_get_ignores_stored_underscores(void **state)
{
	struct chan *ch = new_chan("v", NULL);

	(void)state;
	assert_null(chan_var_get(ch, "TRANSFEREDBY"));
	assert_int_equal(chan_var_set(ch, "__TRANSFEREDBY", "200"), 0);
	assert_string_equal(chan_var_get(ch, "TRANSFEREDBY"), "200");
	assert_string_equal(chan_var_get(ch, "__TRANSFEREDBY"), "200");
	assert_int_equal(chan_var_set(ch, "_ONE", "1"), 0);
	assert_string_equal(chan_var_get(ch, "ONE"), "1");
	assert_null(chan_var_get(ch, "one"));     /* names are case-sensitive */
	mem_deref(ch);
}

static void count_var(const char *name, const char *value, void *arg)
{
	(void)name;
	(void)value;
	++*(int *)arg;
}

static void test_chan_var_set_plain_replaces_prefixed(void **state)
{
	struct chan *ch = new_chan("v", NULL), *child;
	int n = 0;

	(void)state;
	chan_var_set(ch, "__X", "old");
	chan_var_set(ch, "X", "new");
	chan_var_apply(ch, count_var, &n);
	assert_int_equal(n, 1);
	assert_string_equal(chan_var_get(ch, "X"), "new");
	child = new_chan("c", ch);     /* X is no longer inheritable */
	assert_null(chan_var_get(child, "X"));
	chan_var_set(ch, "X", NULL);
	assert_null(chan_var_get(ch, "X"));
	mem_deref(child);
	mem_deref(ch);
}

struct stored { const char *want; bool found; };

static void find_stored(const char *name, const char *value, void *arg)
{
	struct stored *s = arg;
	(void)value;
	if (!strcmp(name, s->want))
		s->found = true;
}

static bool stored(const struct chan *ch, const char *name)
{
	struct stored s = { name, false };

	chan_var_apply(ch, find_stored, &s);
	return s.found;
}

static void test_chan_inherits_single_and_double_underscore(void **state)
{
	struct chan *p = new_chan("p", NULL), *c, *g;

	(void)state;
	chan_var_set(p, "_SINGLE", "s");
	chan_var_set(p, "__DOUBLE", "d");
	chan_var_set(p, "PLAIN", "p");
	c = new_chan("c", p);
	assert_string_equal(chan_var_get(c, "SINGLE"), "s");
	assert_true(stored(c, "SINGLE"));
	assert_true(stored(c, "__DOUBLE"));
	assert_null(chan_var_get(c, "PLAIN"));
	chan_var_set(p, "__LATE", "l");          /* after creation: not seen */
	assert_null(chan_var_get(c, "LATE"));
	g = new_chan("g", c);
	assert_null(chan_var_get(g, "SINGLE"));
	assert_string_equal(chan_var_get(g, "DOUBLE"), "d");
	mem_deref(g);
	mem_deref(c);
	mem_deref(p);
}

static void test_chan_builtins_read_first(void **state)
{
	struct chan *ch = new_chan("b", NULL);

	(void)state;
	chan_set_location(ch, "default", "100");
	chan_var_set(ch, "EXTEN", "shadow");
	assert_string_equal(chan_var_get(ch, "EXTEN"), "100");
	assert_string_equal(chan_var_get(ch, "CONTEXT"), "default");
	assert_string_equal(chan_var_get(ch, "PRIORITY"), "1");
	assert_string_equal(chan_var_get(ch, "CHANNEL"), chan_name(ch));
	assert_string_equal(chan_var_get(ch, "UNIQUEID"), chan_uniqueid(ch));
	assert_string_equal(chan_var_get(ch, "HANGUPCAUSE"), "0");
	assert_true(strtoul(chan_var_get(ch, "EPOCH"), NULL, 10) > 1600000000ul);
	chan_hangup(ch, CAUSE_USER_BUSY);
	assert_string_equal(chan_var_get(ch, "HANGUPCAUSE"), "17");
	mem_deref(ch);
}

static void test_chan_globals_are_read_after_channel_vars(void **state)
{
	struct chan *ch = new_chan("g", NULL);
	char buf[64];

	(void)state;
	assert_int_equal(chan_expr_write(ch, "GLOBAL(TRUNK)", "SIP/out"), 0);
	assert_string_equal(chan_global_get("TRUNK"), "SIP/out");
	assert_string_equal(chan_var_get(ch, "TRUNK"), "SIP/out");
	chan_var_set(ch, "TRUNK", "mine");
	assert_string_equal(chan_var_get(ch, "TRUNK"), "mine");
	assert_int_equal(chan_expr_read(ch, "GLOBAL(TRUNK)", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "SIP/out");
	mem_deref(ch);
}

/* ---- expressions ---- */

static void test_chan_expr_callerid(void **state)
{
	struct chan *ch = new_chan("c", NULL);
	char buf[128];

	(void)state;
	assert_int_equal(chan_expr_write(ch, "CALLERID(num)", "100"), 0);
	assert_int_equal(chan_expr_write(ch, "CALLERID(name)", "Alice"), 0);
	assert_int_equal(chan_expr_read(ch, "CALLERID(num)", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "100");
	assert_int_equal(chan_expr_read(ch, "CALLERID(all)", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "\"Alice\" <100>");
	assert_int_equal(chan_expr_write(ch, "CALLERID(all)", "\"Bob B\" <200>"), 0);
	assert_string_equal(chan_cid_num(ch), "200");
	assert_string_equal(chan_cid_name(ch), "Bob B");
	mem_deref(ch);
}

static void test_chan_expr_substrings_with_negative_offsets(void **state)
{
	struct chan *ch = new_chan("s", NULL);
	char buf[64];

	(void)state;
	chan_set_location(ch, "default", "95551234");
	chan_var_set(ch, "V", "abcdefgh");
	assert_int_equal(chan_expr_read(ch, "EXTEN:1", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "5551234");
	assert_int_equal(chan_expr_read(ch, "V:-4:2", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "ef");
	assert_int_equal(chan_expr_read(ch, "V:2:-1", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "cdefg");
	assert_int_equal(chan_expr_read(ch, "V:0:3", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "abc");
	assert_int_equal(chan_expr_read(ch, "V:20", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	assert_int_equal(chan_expr_read(ch, "V:-20:2", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "ab");
	assert_int_equal(chan_expr_read(ch, "NOPE:1", buf, sizeof(buf)), ENOENT);
	mem_deref(ch);
}

static void test_chan_expr_channel_cdr_and_unknown(void **state)
{
	struct chan *p = new_chan("p", NULL), *ch = new_chan("c", p);
	char buf[128];

	(void)state;
	assert_int_equal(chan_expr_read(ch, "CHANNEL(linkedid)", buf, sizeof(buf)), 0);
	assert_string_equal(buf, chan_uniqueid(p));
	assert_int_equal(chan_expr_read(ch, "CHANNEL(name)", buf, sizeof(buf)), 0);
	assert_string_equal(buf, chan_name(ch));
	assert_int_equal(chan_expr_read(ch, "CHANNEL(state)", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "Down");
	assert_int_equal(chan_expr_write(ch, "CDR(userfield)", "vip"), 0);
	assert_int_equal(chan_expr_read(ch, "CDR(userfield)", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "vip");
	assert_int_equal(chan_expr_write(ch, "CDR(accountcode)", "acc1"), 0);
	assert_int_equal(chan_expr_read(ch, "CDR(accountcode)", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "acc1");
	assert_int_equal(chan_expr_write(ch, "CDR(src)", "x"), EPERM);
	assert_int_equal(chan_expr_read(ch, "CDR(uniqueid)", buf, sizeof(buf)), 0);
	assert_string_equal(buf, chan_uniqueid(ch));
	assert_int_equal(chan_expr_read(ch, "NOSUCHFUNC(a)", buf, sizeof(buf)), ENOENT);
	assert_int_equal(chan_expr_write(ch, "NOSUCHFUNC(a)", "b"), ENOENT);
	assert_int_equal(chan_expr_read(ch, "callerid(num)", buf, sizeof(buf)), ENOENT);
	mem_deref(ch);
	mem_deref(p);
}

/* A one-family in-memory AstDB. */
static char db_key[64], db_val[64];
static int db_dels;

static int db_get(const char *fam, const char *key, char *buf, size_t sz, void *arg)
{
	char k[128];
	(void)arg;
	re_snprintf(k, sizeof(k), "%s/%s", fam, key);
	if (strcmp(k, db_key))
		return ENOENT;
	str_ncpy(buf, db_val, sz);
	return 0;
}

static int db_put(const char *fam, const char *key, const char *value, void *arg)
{
	(void)arg;
	re_snprintf(db_key, sizeof(db_key), "%s/%s", fam, key);
	str_ncpy(db_val, value, sizeof(db_val));
	return 0;
}

static int db_del(const char *fam, const char *key, void *arg)
{
	(void)fam;
	(void)key;
	(void)arg;
	db_dels++;
	db_key[0] = '\0';
	return 0;
}

static void test_chan_expr_db_and_db_delete_use_hooks(void **state)
{
	struct chan *ch = new_chan("d", NULL);
	char buf[64];

	(void)state;
	assert_int_equal(chan_expr_read(ch, "DB(a/b)", buf, sizeof(buf)), ENOSYS);
	chan_set_db(db_get, db_put, db_del, NULL);
	assert_int_equal(chan_expr_write(ch, "DB(transferedBy/SIP/1-1)", "300"), 0);
	assert_string_equal(db_key, "transferedBy/SIP/1-1");
	assert_int_equal(chan_expr_read(ch, "DB(transferedBy/SIP/1-1)", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "300");
	assert_int_equal(chan_expr_read(ch, "DB_DELETE(transferedBy/SIP/1-1)", buf,
					sizeof(buf)), 0);
	assert_string_equal(buf, "300");
	assert_int_equal(db_dels, 1);
	assert_int_equal(chan_expr_read(ch, "DB(transferedBy/SIP/1-1)", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	assert_int_equal(chan_expr_read(ch, "DB(nofamily)", buf, sizeof(buf)), EINVAL);
	mem_deref(ch);
}

static void test_chan_cause_parse_numbers_and_names(void **state)
{
	(void)state;
	assert_int_equal(chan_cause_parse("17"), 17);
	assert_int_equal(chan_cause_parse("BUSY"), 17);
	assert_int_equal(chan_cause_parse("user_busy"), 17);
	assert_int_equal(chan_cause_parse("CONGESTION"), 34);
	assert_int_equal(chan_cause_parse("NOANSWER"), 19);
	assert_int_equal(chan_cause_parse("bogus"), -1);
	assert_int_equal(chan_cause_parse(""), -1);
}

/* ---- state machine and watchers ---- */

static struct { int ringing, progress, answer, hangup, redirect, redirecting; } ev_rec;

static void ev_h(struct chan *ch, enum chan_event ev, void *arg)
{
	(void)ch;
	(void)arg;
	switch (ev) {
	case CHAN_EV_RINGING:  ev_rec.ringing++; break;
	case CHAN_EV_PROGRESS: ev_rec.progress++; break;
	case CHAN_EV_ANSWER:   ev_rec.answer++; break;
	case CHAN_EV_HANGUP:   ev_rec.hangup++; break;
	case CHAN_EV_REDIRECT: ev_rec.redirect++; break;
	case CHAN_EV_REDIRECTING: ev_rec.redirecting++; break;
	case CHAN_EV_TAKEN:
	case CHAN_EV_REPLACED: break;
	}
}

static struct { int n; char loc[64]; } rdsub_rec;

static void rdsub_h(struct chan *ch, const char *location, void *arg)
{
	(void)arg;
	rdsub_rec.n++;
	snprintf(rdsub_rec.loc, sizeof(rdsub_rec.loc), "%s", location);
	chan_redirecting_send(ch);
}

static void test_redirecting_reaches_the_caller(void **state)
{
	struct chan *caller = new_chan("1001", NULL), *callee = new_chan("1002", caller);
	struct chan_watch w = { 0 };
	char v[32];
	(void)state;

	memset(&ev_rec, 0, sizeof(ev_rec));
	memset(&rd_rec, 0, sizeof(rd_rec));
	chan_watch_add(callee, &w, ev_h, NULL);
	chan_redirecting_signal(callee, "2000", "1002", "unconditional");
	assert_int_equal(ev_rec.redirecting, 1);
	assert_int_equal(chan_expr_read(callee, "REDIRECTING(from-num)", v, sizeof(v)), 0);
	assert_string_equal(v, "2000");
	/* no routine: sent to the caller's phone at once, count 1 */
	chan_redirecting_pass(caller, callee);
	assert_int_equal(rd_rec.n, 1);
	assert_string_equal(rd_rec.from, "2000");
	assert_string_equal(rd_rec.reason, "unconditional");
	assert_int_equal(chan_expr_read(caller, "REDIRECTING(count)", v, sizeof(v)), 0);
	assert_string_equal(v, "1");
	/* with REDIRECTING_SEND_SUB the hook runs it first */
	chan_set_redirecting_sub_hook(rdsub_h, NULL);
	assert_int_equal(chan_var_set(caller, "REDIRECTING_SEND_SUB", "rd,s,1"), 0);
	assert_int_equal(chan_var_set(caller, "REDIRECTING_SEND_SUB_ARGS", "a"), 0);
	chan_redirecting_pass(caller, callee);
	assert_int_equal(rdsub_rec.n, 1);
	assert_string_equal(rdsub_rec.loc, "rd,s,1(a)");
	assert_int_equal(rd_rec.n, 2);
	assert_int_equal(chan_expr_read(caller, "REDIRECTING(count)", v, sizeof(v)), 0);
	assert_string_equal(v, "2");
	assert_int_equal(chan_expr_write(caller, "REDIRECTING(bogus)", "x"), EINVAL);
	chan_set_redirecting_sub_hook(NULL, NULL);
	chan_watch_remove(&w);
	mem_deref(callee);
	mem_deref(caller);
}

/* ---- hangup handlers and redirects ---- */

static void test_hangup_handlers_fill_location_and_pop_lifo(void **state)
{
	struct chan *ch = new_chan("1001", NULL);
	char *a, *b, *c;
	(void)state;

	assert_int_equal(chan_set_location(ch, "main_routing", "1002"), 0);
	assert_false(chan_hangup_handlers_claim(ch));        /* none yet */
	assert_int_equal(chan_expr_write(ch, "CHANNEL(hangup_handler_push)", "hh,s,1(x^y)"), 0);
	assert_int_equal(chan_expr_write(ch, "CHANNEL(hangup_handler_push)", "t,1"), 0);
	assert_int_equal(chan_expr_write(ch, "CHANNEL(hangup_handler_push)", "1"), 0);
	assert_int_equal(chan_expr_write(ch, "CHANNEL(hangup_handler_pop)", "u,1"), 0);
	assert_int_equal(chan_expr_write(ch, "CHANNEL(hangup_handler_bogus)", "x"), EINVAL);
	assert_true(chan_hangup_handlers_claim(ch));
	assert_false(chan_hangup_handlers_claim(ch));        /* once */
	a = chan_hangup_handler_pop(ch);
	b = chan_hangup_handler_pop(ch);
	c = chan_hangup_handler_pop(ch);
	assert_string_equal(a, "main_routing,u,1");           /* pop replaced the top */
	assert_string_equal(b, "main_routing,t,1");
	assert_string_equal(c, "hh,s,1(x^y)");
	assert_null(chan_hangup_handler_pop(ch));
	mem_deref(a);
	mem_deref(b);
	mem_deref(c);
	assert_int_equal(chan_expr_write(ch, "CHANNEL(hangup_handler_push)", "z,1"), 0);
	assert_int_equal(chan_expr_write(ch, "CHANNEL(hangup_handler_wipe)", ""), 0);
	assert_null(chan_hangup_handler_pop(ch));
	mem_deref(ch);
}

static unsigned redirect_hook_calls;

static void redirect_hook(struct chan *ch, void *arg)
{
	(void)arg;
	assert_string_equal(chan_exten(ch), "2000");
	redirect_hook_calls++;
}

static void test_redirect_moves_channel_tells_watchers_and_hook(void **state)
{
	struct chan *ch = new_chan("1001", NULL);
	struct chan_watch w = {0};
	uint32_t seq;
	(void)state;

	memset(&ev_rec, 0, sizeof(ev_rec));
	redirect_hook_calls = 0;
	chan_set_redirect_hook(redirect_hook, NULL);
	chan_watch_add(ch, &w, ev_h, NULL);
	seq = chan_location_seq(ch);
	assert_int_equal(chan_redirect(ch, "other", "2000"), 0);
	assert_string_equal(chan_context(ch), "other");
	assert_true(chan_location_seq(ch) != seq);            /* a running plan jumps */
	assert_int_equal(ev_rec.redirect, 1);
	assert_int_equal(redirect_hook_calls, 1);             /* no dialplan: start one */
	assert_int_equal(chan_redirect(ch, "", "x"), EINVAL);
	chan_hangup(ch, CAUSE_NORMAL_CLEARING);
	assert_int_equal(chan_redirect(ch, "other", "2000"), ENOTCONN);
	chan_watch_remove(&w);
	chan_set_redirect_hook(NULL, NULL);
	mem_deref(ch);
}

static void test_bridge_sets_bridgepeer(void **state)
{
	struct chan *a = new_chan("1001", NULL), *b = new_chan("1002", NULL);
	(void)state;

	assert_int_equal(chan_bridge(a, b), 0);
	assert_string_equal(chan_var_get(a, "BRIDGEPEER"), chan_name(b));
	assert_string_equal(chan_var_get(b, "BRIDGEPEER"), chan_name(a));
	chan_unbridge(a);
	mem_deref(a);
	mem_deref(b);
}

static void test_chan_signal_moves_state_and_notifies(void **state)
{
	struct chan *ch = new_chan("s", NULL);
	struct chan_watch w = {0};

	(void)state;
	memset(&ev_rec, 0, sizeof(ev_rec));
	chan_watch_add(ch, &w, ev_h, NULL);
	assert_int_equal(chan_state(ch), CHAN_STATE_DOWN);
	chan_signal(ch, CHAN_EV_RINGING);
	assert_int_equal(chan_state(ch), CHAN_STATE_RINGING);
	chan_signal(ch, CHAN_EV_PROGRESS);
	chan_signal(ch, CHAN_EV_ANSWER);
	assert_int_equal(chan_state(ch), CHAN_STATE_UP);
	assert_int_equal(ev_rec.ringing, 1);
	assert_int_equal(ev_rec.progress, 1);
	assert_int_equal(ev_rec.answer, 1);
	assert_string_equal(chan_state_name(chan_state(ch)), "Up");
	chan_watch_remove(&w);
	chan_signal(ch, CHAN_EV_RINGING);
	assert_int_equal(ev_rec.ringing, 1);
	mem_deref(ch);
}

static void test_chan_answer_goes_through_tech(void **state)
{
	struct chan *ch = new_chan("a", NULL);

	(void)state;
	tech_rec.answer_err = EPROTO;
	assert_int_equal(chan_answer(ch), EPROTO);
	assert_int_equal(chan_state(ch), CHAN_STATE_DOWN);
	tech_rec.answer_err = 0;
	assert_int_equal(chan_answer(ch), 0);
	assert_int_equal(chan_state(ch), CHAN_STATE_UP);
	assert_int_equal(chan_answer(ch), 0);
	assert_int_equal(tech_rec.answers, 2);
	assert_int_equal(chan_indicate(ch, 183), 0);
	assert_int_equal(tech_rec.last_scode, 183);
	chan_hangup(ch, 0);
	assert_int_equal(chan_answer(ch), ENOTCONN);
	mem_deref(ch);
}

static void test_chan_hangup_is_idempotent_and_tells_tech_once(void **state)
{
	struct chan *ch = new_chan("h", NULL);
	struct chan_watch w = {0};

	(void)state;
	memset(&ev_rec, 0, sizeof(ev_rec));
	chan_watch_add(ch, &w, ev_h, NULL);
	chan_hangup(ch, CAUSE_USER_BUSY);
	chan_hangup(ch, CAUSE_NORMAL_CLEARING);
	chan_remote_hangup(ch, CAUSE_NORMAL_CLEARING);
	assert_true(chan_is_hungup(ch));
	assert_int_equal(tech_rec.hangups, 1);
	assert_int_equal(tech_rec.last_cause, CAUSE_USER_BUSY);
	assert_int_equal(chan_cause(ch), CAUSE_USER_BUSY);
	assert_int_equal(ev_rec.hangup, 1);
	mem_deref(ch);
}

static void test_chan_hangup_zero_keeps_preset_cause(void **state)
{
	struct chan *a = new_chan("a", NULL), *b = new_chan("b", NULL);

	(void)state;
	chan_set_cause(a, CAUSE_USER_BUSY);
	chan_hangup(a, 0);
	assert_int_equal(chan_cause(a), CAUSE_USER_BUSY);
	chan_hangup(b, 0);
	assert_int_equal(chan_cause(b), CAUSE_NORMAL_CLEARING);
	mem_deref(a);
	mem_deref(b);
}

static void test_chan_remote_hangup_does_not_call_tech(void **state)
{
	struct chan *ch = new_chan("r", NULL);

	(void)state;
	chan_remote_hangup(ch, CAUSE_NORMAL_CLEARING);
	assert_true(chan_is_hungup(ch));
	assert_int_equal(tech_rec.hangups, 0);
	assert_int_equal(cdr.n, 1);
	mem_deref(ch);
}

static struct chan_watch w_a, w_b, w_c;
static int calls_a, calls_b, calls_c;

static void remove_b_h(struct chan *ch, enum chan_event ev, void *arg)
{
	(void)ch;
	(void)ev;
	(void)arg;
	calls_a++;
	chan_watch_remove(&w_a);
	chan_watch_remove(&w_b);
}

static void count_b_h(struct chan *ch, enum chan_event ev, void *arg)
{
	(void)ch; (void)ev; (void)arg;
	calls_b++;
}

static void count_c_h(struct chan *ch, enum chan_event ev, void *arg)
{
	(void)ch; (void)ev; (void)arg;
	calls_c++;
}

static void test_chan_watcher_may_remove_itself_and_others(void **state)
{
	struct chan *ch = new_chan("w", NULL);

	(void)state;
	calls_a = calls_b = calls_c = 0;
	chan_watch_add(ch, &w_a, remove_b_h, NULL);
	chan_watch_add(ch, &w_b, count_b_h, NULL);
	chan_watch_add(ch, &w_c, count_c_h, NULL);
	chan_signal(ch, CHAN_EV_RINGING);
	assert_int_equal(calls_a, 1);
	assert_int_equal(calls_b, 0);
	assert_int_equal(calls_c, 1);
	chan_signal(ch, CHAN_EV_ANSWER);
	assert_int_equal(calls_a, 1);
	assert_int_equal(calls_c, 2);
	chan_watch_remove(&w_c);
	mem_deref(ch);
}

static void test_chan_bridge_records_peers_and_hangup_unbridges(void **state)
{
	struct chan *a = new_chan("a", NULL), *b = new_chan("b", a);

	(void)state;
	assert_int_equal(chan_bridge(a, b), 0);
	assert_ptr_equal(chan_bridged_peer(a), b);
	assert_ptr_equal(chan_bridged_peer(b), a);
	assert_int_equal(tech_rec.bridges, 2);
	chan_hangup(b, 0);
	assert_null(chan_bridged_peer(a));
	assert_null(chan_bridged_peer(b));
	assert_int_equal(tech_rec.unbridges, 2);
	assert_int_equal(chan_bridge(a, b), ENOTCONN);
	mem_deref(b);
	mem_deref(a);
}

/* ---- CDR ---- */

static void test_chan_cdr_answered_call_posted_once(void **state)
{
	struct chan *ch = new_chan("1001", NULL);

	(void)state;
	chan_set_cid(ch, "1001", "Alice");
	chan_set_location(ch, "default", "200");
	chan_cdr_set_app(ch, "Answer", "");
	chan_answer(ch);
	chan_cdr_set_app(ch, "Dial", "SIP/200,30");
	chan_cdr_set_peer(ch, "SIP/200-00000001");
	chan_set_location(ch, "default", "h");    /* h does not become dst */
	chan_hangup(ch, 0);
	chan_cdr_set_app(ch, "NoOp", "in h");     /* after hangup: not lastapp */
	chan_hangup(ch, 0);
	assert_int_equal(cdr.n, 1);
	assert_string_equal(cdr.disposition, "ANSWERED");
	assert_string_equal(cdr.lastapp, "Dial");
	assert_string_equal(cdr.lastdata, "SIP/200,30");
	assert_string_equal(cdr.dst, "200");
	assert_string_equal(cdr.dcontext, "default");
	assert_string_equal(cdr.clid, "\"Alice\" <1001>");
	assert_string_equal(cdr.src, "1001");
	assert_string_equal(cdr.dstchannel, "SIP/200-00000001");
	assert_string_equal(cdr.uniqueid, chan_uniqueid(ch));
	assert_string_equal(cdr.linkedid, chan_linkedid(ch));
	assert_true(cdr.answer_us > 0);
	assert_int_equal(cdr.duration, 0);
	assert_int_equal(cdr.billsec, 0);
	mem_deref(ch);
	assert_int_equal(cdr.n, 1);
}

static void test_chan_cdr_disposition_from_cause(void **state)
{
	static const struct { int cause; const char *disp; } tab[] = {
		{CAUSE_USER_BUSY, "BUSY"}, {CAUSE_NORMAL_CIRCUIT_CONGESTION, "FAILED"},
		{CAUSE_NO_ROUTE_DESTINATION, "FAILED"}, {CAUSE_SUBSCRIBER_ABSENT, "FAILED"},
		{CAUSE_NORMAL_CLEARING, "NO ANSWER"}, {CAUSE_NO_ANSWER, "NO ANSWER"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		struct chan *ch = new_chan("c", NULL);
		chan_hangup(ch, tab[i].cause);
		assert_string_equal(cdr.disposition, tab[i].disp);
		mem_deref(ch);
	}
	{
		struct chan *ch = new_chan("c", NULL);
		chan_cdr_set_disposition(ch, "BUSY");
		chan_hangup(ch, CAUSE_NORMAL_CLEARING);
		assert_string_equal(cdr.disposition, "BUSY");
		mem_deref(ch);
	}
}

static void test_chan_cdr_disabled_is_not_posted(void **state)
{
	struct chan *ch = new_chan("leg", NULL);

	(void)state;
	chan_cdr_disable(ch);
	chan_hangup(ch, 0);
	mem_deref(ch);
	assert_int_equal(cdr.n, 0);
}

static void test_chan_cdr_hold_posts_on_release_with_late_userfield(void **state)
{
	struct chan *ch = new_chan("h", NULL);

	(void)state;
	chan_cdr_hold(ch, true);
	chan_remote_hangup(ch, CAUSE_NORMAL_CLEARING);
	assert_int_equal(cdr.n, 0);
	chan_expr_write(ch, "CDR(userfield)", "set-in-h");
	chan_cdr_hold(ch, false);
	assert_int_equal(cdr.n, 1);
	assert_string_equal(cdr.userfield, "set-in-h");
	mem_deref(ch);
	assert_int_equal(cdr.n, 1);
}

static void test_chan_destroyed_without_hangup_still_posts_cdr(void **state)
{
	struct chan *ch = new_chan("x", NULL);

	(void)state;
	mem_deref(ch);
	assert_int_equal(cdr.n, 1);
	assert_string_equal(cdr.disposition, "FAILED");
}

/* ---- device states ---- */

static const struct chan_tech sip_tech = {
	.name = "SIP", .answer = t_answer, .indicate = t_indicate, .hangup = t_hangup,
};

static void test_device_state_counts_live_sip_channels_of_the_resource(void **state)
{
	struct chan *a = NULL, *b = NULL, *t = new_chan("1001", NULL);

	(void)state;
	assert_string_equal(chan_device_state("nodevice"), "INVALID");
	assert_string_equal(chan_device_state("SIP/1001"), "NOT_INUSE");   /* Test/ only */
	assert_int_equal(chan_alloc(&a, &sip_tech, NULL, "1001", NULL), 0);
	assert_int_equal(chan_alloc(&b, &sip_tech, NULL, "uas/2000", NULL), 0);
	assert_string_equal(chan_device_state("SIP/1001"), "INUSE");
	assert_string_equal(chan_device_state("PJSIP/1001"), "INUSE");
	assert_int_equal(chan_device_idle_s("SIP/1001"), 0);          /* busy now */
	assert_int_equal(chan_device_idle_s("SIP/1009"), UINT32_MAX); /* never seen */
	assert_string_equal(chan_device_state("SIP/100"), "NOT_INUSE");
	assert_string_equal(chan_device_state("SIP/10011"), "NOT_INUSE");
	assert_string_equal(chan_device_state("SIP/uas/2000"), "INUSE");
	assert_string_equal(chan_device_state("SIP/uas"), "NOT_INUSE");
	chan_hangup(a, 16);
	assert_string_equal(chan_device_state("SIP/1001"), "NOT_INUSE");
	assert_int_equal(chan_device_idle_s("SIP/1001"), 0);          /* free since now */
	usleep(1100000);
	assert_true(chan_device_idle_s("SIP/1001") >= 1);
	assert_true(chan_device_idle_s("SIP/1001") < UINT32_MAX);
	mem_deref(a);
	assert_string_equal(chan_device_state("SIP/1001"), "NOT_INUSE");
	mem_deref(b);
	assert_string_equal(chan_device_state("SIP/uas/2000"), "NOT_INUSE");
	mem_deref(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_chan_name_has_tech_resource_and_8_hex),
		T(test_device_state_counts_live_sip_channels_of_the_resource),
		T(test_chan_uniqueid_is_seconds_dot_counter),
		T(test_chan_linkedid_inherited_from_parent),
		T(test_chan_find_by_name_and_uniqueid),
		T(test_chan_var_get_ignores_stored_underscores),
		T(test_chan_var_set_plain_replaces_prefixed),
		T(test_chan_inherits_single_and_double_underscore),
		T(test_chan_builtins_read_first),
		T(test_chan_globals_are_read_after_channel_vars),
		T(test_chan_expr_callerid),
		T(test_chan_expr_substrings_with_negative_offsets),
		T(test_chan_expr_channel_cdr_and_unknown),
		T(test_chan_expr_db_and_db_delete_use_hooks),
		T(test_chan_cause_parse_numbers_and_names),
		T(test_chan_signal_moves_state_and_notifies),
		T(test_hangup_handlers_fill_location_and_pop_lifo),
		T(test_redirect_moves_channel_tells_watchers_and_hook),
		T(test_redirecting_reaches_the_caller),
		T(test_bridge_sets_bridgepeer),
		T(test_chan_answer_goes_through_tech),
		T(test_chan_hangup_is_idempotent_and_tells_tech_once),
		T(test_chan_hangup_zero_keeps_preset_cause),
		T(test_chan_remote_hangup_does_not_call_tech),
		T(test_chan_watcher_may_remove_itself_and_others),
		T(test_chan_bridge_records_peers_and_hangup_unbridges),
		T(test_chan_cdr_answered_call_posted_once),
		T(test_chan_cdr_disposition_from_cause),
		T(test_chan_cdr_disabled_is_not_posted),
		T(test_chan_cdr_hold_posts_on_release_with_late_userfield),
		T(test_chan_destroyed_without_hangup_still_posts_cdr),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
