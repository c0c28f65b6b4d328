/* Unit tests for the Lua dialplan and the basic apps: dispatch, argument
 * joining, channel variables, jumps, async apps, errors, i/h, reload,
 * per-channel Lua globals and the CDR of a dialplan-run channel. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <cmocka.h>
#include <re.h>
#include "pbx/app.h"
#include "pbx/chan.h"
#include "pbx/dialplan.h"

/* ---- test technology ---- */

static struct { int answers, hangups, last_cause, indicates; uint16_t last_scode; } tech_rec;

static int t_answer(struct chan *ch) { (void)ch; tech_rec.answers++; return 0; }

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

static const struct chan_tech test_tech = {
	.name = "Test", .answer = t_answer, .indicate = t_indicate, .hangup = t_hangup,
};

/* ---- Record(data): a synchronous app that remembers its data string ---- */

#define REC_MAX 32
static char recs[REC_MAX][256];
static int nrec;

static int app_record(struct chan *ch, const char *data, app_done_h *doneh, void *arg)
{
	(void)ch;
	if (nrec < REC_MAX)
		str_ncpy(recs[nrec++], data, sizeof(recs[0]));
	doneh(APP_OK, arg);
	return 0;
}

static bool recorded(const char *s)
{
	for (int i = 0; i < nrec; i++)
		if (!strcmp(recs[i], s))
			return true;
	return false;
}

/* ---- CDR sink ---- */

static struct { int n; char disposition[32], lastapp[32], userfield[64], dst[32]; } cdr;

static void cdr_h(const struct cdr_rec *r, void *arg)
{
	(void)arg;
	cdr.n++;
	str_ncpy(cdr.disposition, r->disposition, sizeof(cdr.disposition));
	str_ncpy(cdr.lastapp, r->lastapp, sizeof(cdr.lastapp));
	str_ncpy(cdr.userfield, r->userfield, sizeof(cdr.userfield));
	str_ncpy(cdr.dst, r->dst, sizeof(cdr.dst));
}

/* ---- helpers ---- */

static char path[256];
static int ends, ends_wanted;

static void write_lua(const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	fclose(f);
}

/* What the owner (SIP leg code) does at the end: hang up, stop the test loop. */
static void end_h(struct chan *ch, void *arg)
{
	(void)arg;
	chan_hangup(ch, 0);
	if (++ends >= ends_wanted)
		re_cancel();
}

static int setup(void **state)
{
	static int seq;

	(void)state;
	memset(&tech_rec, 0, sizeof(tech_rec));
	memset(&cdr, 0, sizeof(cdr));
	nrec = 0;
	ends = 0;
	ends_wanted = 1;
	re_snprintf(path, sizeof(path), "/tmp/test_dialplan_%d_%d.lua", (int)getpid(), ++seq);
	chan_init(cdr_h, NULL);
	assert_int_equal(apps_basic_register(), 0);
	assert_int_equal(app_register("Record", app_record), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	app_unregister_all();
	chan_close();
	return 0;
}

static struct dialplan *load(const char *text)
{
	struct dialplan *dp = NULL;
	char err[256];

	write_lua(text);
	if (dialplan_alloc(&dp, path, err, sizeof(err)))
		fail_msg("load failed: %s", err);
	return dp;
}

static struct chan *new_chan(const char *ctx, const char *exten)
{
	struct chan *ch = NULL;

	assert_int_equal(chan_alloc(&ch, &test_tech, NULL, "1001", NULL), 0);
	assert_int_equal(chan_set_location(ch, ctx, exten), 0);
	return ch;
}

/* Runs one channel through the dialplan to its end. */
static void run(struct dialplan *dp, struct chan *ch)
{
	int before = ends;

	ends_wanted = ends + 1;
	assert_int_equal(dialplan_start(dp, ch, end_h, NULL), 0);
	assert_int_equal(re_main(NULL), 0);
	assert_int_equal(ends, before + 1);
}

static void run_exten(struct dialplan *dp, const char *ctx, const char *exten)
{
	struct chan *ch = new_chan(ctx, exten);

	run(dp, ch);
	mem_deref(ch);
}

/* ---- tests ---- */

static const char *dispatch_lua =
	"extensions = {\n"
	"  default = {\n"
	"    include = {'other'},\n"
	"    ['100'] = function(c, e) app.Record('lit', c, e) end,\n"
	"    ['_1XX'] = function(c, e) app.Record('pat', c, e) end,\n"
	"    [200] = function(c, e) app.Record('num', c, e) end,\n"
	"  },\n"
	"  other = { ['_9NXX.'] = function(c, e) app.Record('inc', c, e) end },\n"
	"}\n";

static void test_dialplan_dispatch_by_pattern_order_and_include(void **state)
{
	struct dialplan *dp = load(dispatch_lua);

	(void)state;
	run_exten(dp, "default", "100");
	run_exten(dp, "default", "150");
	run_exten(dp, "default", "200");
	run_exten(dp, "default", "95551234");
	assert_int_equal(nrec, 4);
	assert_string_equal(recs[0], "lit,default,100");
	assert_string_equal(recs[1], "pat,default,150");
	assert_string_equal(recs[2], "num,default,200");
	assert_string_equal(recs[3], "inc,default,95551234");
	assert_true(dialplan_exists(dp, "default", "95551234"));
	assert_true(dialplan_exists(dp, "other", "95551234"));
	assert_false(dialplan_exists(dp, "other", "100"));
	assert_false(dialplan_exists(dp, "default", "3"));
	assert_false(dialplan_exists(dp, "nocontext", "100"));
	assert_int_equal(dialplan_active(dp), 0);
	mem_deref(dp);
}

static void test_dialplan_joins_app_args_like_pbx_lua(void **state)
{
	struct dialplan *dp = load(
		"extensions = { default = { s = function()\n"
		"  app.Record('TRANSF', nil, 10, nil, 1, 5)\n"
		"  app.Record(nil, 'a')\n"
		"  app.record('x', nil)\n"
		"  app.RECORD(1.5, 10.0)\n"
		"  app.Record('PJSIP/a', '30', 'tT')\n"
		"  app.Record()\n"
		"  local ok, err = pcall(app.Record, true)\n"
		"  app.Record(tostring(ok), err)\n"
		"end } }\n");

	(void)state;
	run_exten(dp, "default", "");          /* empty exten starts at s */
	assert_int_equal(nrec, 7);
	assert_string_equal(recs[0], "TRANSF,,10,,1,5");
	assert_string_equal(recs[1], ",a");
	assert_string_equal(recs[2], "x,");
	assert_string_equal(recs[3], "1.5,10.0");
	assert_string_equal(recs[4], "PJSIP/a,30,tT");
	assert_string_equal(recs[5], "");
	assert_non_null(strstr(recs[6], "false,"));
	assert_non_null(strstr(recs[6], "attempt to concatenate a boolean value"));
	mem_deref(dp);
}

static void test_dialplan_channel_variables_and_functions(void **state)
{
	struct dialplan *dp = load(
		"extensions = { default = { ['_9X.'] = function(c, e)\n"
		"  channel.FOO:set('bar')\n"
		"  channel.BAZ = 'qux'\n"
		"  channel.__TRANSFEREDBY:set(300)\n"
		"  app.Record(channel.FOO:get(), channel.BAZ:get(),\n"
		"             channel.TRANSFEREDBY:get(), channel.__TRANSFEREDBY:get(),\n"
		"             tostring(channel.NOPE:get()), channel.FOO.value)\n"
		"  app.Record(channel['CALLERID(num)']:get(), channel.CALLERID('name'):get(),\n"
		"             channel['EXTEN:1']:get(), channel.EXTEN:get(), channel.CONTEXT:get(),\n"
		"             channel.PRIORITY:get())\n"
		"  channel.CALLERID('num'):set('999')\n"
		"  channel['CDR(userfield)'] = 'uf'\n"
		"  app.Record(tostring(channel.NOSUCH('x'):get()))\n"
		"  local ok, err = pcall(function() return channel.FOO.get() end)\n"
		"  app.Record(tostring(ok), err:find(\"instead of ':'\") and 'dot' or err)\n"
		"  ok = pcall(function() channel.FOO:set(nil) end)\n"
		"  app.Record('setnil', tostring(ok))\n"
		"end } }\n");
	struct chan *ch = new_chan("default", "95551234"), *child = NULL;
	char buf[64];

	(void)state;
	chan_set_cid(ch, "1001", "Alice");
	run(dp, ch);
	assert_int_equal(nrec, 5);
	assert_string_equal(recs[0], "bar,qux,300,300,nil,bar");
	assert_string_equal(recs[1], "1001,Alice,5551234,95551234,default,1");
	assert_string_equal(recs[2], "nil");
	assert_string_equal(recs[3], "false,dot");
	assert_string_equal(recs[4], "setnil,false");
	assert_string_equal(chan_cid_num(ch), "999");
	assert_int_equal(chan_expr_read(ch, "CDR(userfield)", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "uf");
	/* __ set from Lua is inherited by a leg created from this channel */
	assert_int_equal(chan_alloc(&child, &test_tech, NULL, "leg", ch), 0);
	assert_string_equal(chan_var_get(child, "TRANSFEREDBY"), "300");
	assert_null(chan_var_get(child, "FOO"));
	mem_deref(child);
	mem_deref(ch);
	mem_deref(dp);
}

static void test_dialplan_goto_skips_rest_and_runs_target(void **state)
{
	struct dialplan *dp = load(
		"extensions = {\n"
		"  default = { ['1'] = function()\n"
		"    app.Record('before')\n"
		"    app['goto']('other', '5', '1')\n"
		"    app.Record('after')\n"
		"  end },\n"
		"  other = { ['_X'] = function(c, e)\n"
		"    app.Record('target', c, e, channel.CONTEXT:get())\n"
		"    if e == '5' then\n"
		"      local ok, v = pcall(app.Goto, '6', 1)\n"
		"      app.Record('caught', tostring(v))\n"
		"    end\n"
		"  end },\n"
		"}\n");

	(void)state;
	run_exten(dp, "default", "1");
	assert_int_equal(nrec, 4);
	assert_string_equal(recs[0], "before");
	assert_string_equal(recs[1], "target,other,5,other");
	/* a pcall'd jump still takes effect when the function returns */
	assert_string_equal(recs[2], "caught,5");
	assert_string_equal(recs[3], "target,other,6,other");
	assert_false(recorded("after"));
	mem_deref(dp);
}

static void test_dialplan_goto_same_place_restarts_function(void **state)
{
	struct dialplan *dp = load(
		"n = 0\n"
		"extensions = { default = { s = function()\n"
		"  n = n + 1\n"
		"  app.Record(tostring(n))\n"
		"  if n < 3 then app.Goto('s', 1) end\n"
		"end } }\n");

	(void)state;
	run_exten(dp, "default", "s");
	assert_int_equal(nrec, 3);
	assert_string_equal(recs[2], "3");
	mem_deref(dp);
}

static void test_dialplan_wait_yields_and_resumes(void **state)
{
	struct dialplan *dp = load(
		"extensions = { default = { s = function()\n"
		"  app.Record('a')\n"
		"  app.Wait(0.05)\n"
		"  app.Record('b', tostring(check_hangup()))\n"
		"end } }\n");
	uint64_t t0 = tmr_jiffies();

	(void)state;
	run_exten(dp, "default", "s");
	assert_true(tmr_jiffies() - t0 >= 45);
	assert_int_equal(nrec, 2);
	assert_string_equal(recs[1], "b,false");
	mem_deref(dp);
}

static void remote_bye(void *arg)
{
	chan_remote_hangup(arg, CAUSE_NORMAL_CLEARING);
}

static void test_dialplan_hangup_during_wait_ends_and_runs_h(void **state)
{
	struct dialplan *dp = load(
		"extensions = { default = {\n"
		"  s = function() app.Wait(10); app.Record('after') end,\n"
		"  h = function(c, e)\n"
		"    app.Record('h', e, channel.HANGUPCAUSE:get(), tostring(check_hangup()))\n"
		"    app.Answer()\n"
		"    app.Record('h-after-answer')\n"
		"  end,\n"
		"} }\n");
	struct chan *ch = new_chan("default", "s");
	struct tmr t;
	uint64_t t0 = tmr_jiffies();

	(void)state;
	tmr_init(&t);
	tmr_start(&t, 20, remote_bye, ch);
	run(dp, ch);
	assert_true(tmr_jiffies() - t0 < 2000);
	assert_false(recorded("after"));
	assert_true(recorded("h,h,16,true"));
	assert_false(recorded("h-after-answer"));   /* Answer on a dead channel */
	assert_int_equal(tech_rec.hangups, 0);       /* the tech already knew */
	assert_int_equal(cdr.n, 1);
	tmr_cancel(&t);
	mem_deref(ch);
	mem_deref(dp);
}

static void test_dialplan_lua_error_logs_file_line_and_ends(void **state)
{
	struct dialplan *dp = load(
		"extensions = { default = {\n"
		"  s = function()\n"
		"    app.Record('a')\n"
		"    local t = nil; t.x = 1\n"
		"    app.Record('b')\n"
		"  end,\n"
		"  h = function() app.Record('h') end,\n"
		"} }\n");
	char logpath[300], want[300], buf[8192];
	int saved, fd;
	FILE *f;
	size_t n;

	(void)state;
	/* Capture stderr (where log lines go) around the run. */
	re_snprintf(logpath, sizeof(logpath), "%s.log", path);
	fflush(stderr);
	saved = dup(2);
	fd = open(logpath, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	assert_true(saved >= 0 && fd >= 0);
	dup2(fd, 2);
	close(fd);
	run_exten(dp, "default", "s");
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	f = fopen(logpath, "r");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	unlink(logpath);
	re_snprintf(want, sizeof(want), "%s:4:", path);
	assert_non_null(strstr(buf, want));
	assert_non_null(strstr(buf, "attempt to index a nil value"));
	assert_non_null(strstr(buf, "channel="));
	assert_int_equal(nrec, 2);
	assert_string_equal(recs[0], "a");
	assert_string_equal(recs[1], "h");
	mem_deref(dp);
}

static void test_dialplan_no_match_sets_unallocated(void **state)
{
	struct dialplan *dp = load("extensions = { default = { ['100'] = function() end } }\n");
	struct chan *ch = new_chan("default", "555");

	(void)state;
	run(dp, ch);
	assert_int_equal(chan_cause(ch), CAUSE_UNALLOCATED);
	assert_int_equal(tech_rec.last_cause, CAUSE_UNALLOCATED);
	mem_deref(ch);
	mem_deref(dp);
}

static void test_dialplan_invalid_and_h_extensions_run(void **state)
{
	struct dialplan *dp = load(
		"extensions = { default = {\n"
		"  ['100'] = function() end,\n"
		"  i = function(c, e) app.Record('i', e, channel.INVALID_EXTEN:get()) end,\n"
		"  h = function(c, e) app.Record('h', c, e) end,\n"
		"} }\n");
	struct chan *ch = new_chan("default", "555");

	(void)state;
	run(dp, ch);
	assert_int_equal(nrec, 2);
	assert_string_equal(recs[0], "i,i,555");
	assert_string_equal(recs[1], "h,default,h");
	assert_int_not_equal(chan_cause(ch), CAUSE_UNALLOCATED);
	mem_deref(ch);
	mem_deref(dp);
}

static void test_dialplan_reload_with_syntax_error_keeps_old_plan(void **state)
{
	struct dialplan *dp = load("extensions = { default = { ['100'] = function() end } }\n");
	char err[256];

	(void)state;
	write_lua("extensions = {\n  default = { ['200'] = function() end\n");
	assert_int_not_equal(dialplan_reload(dp, err, sizeof(err)), 0);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, ":3:"));
	assert_true(dialplan_exists(dp, "default", "100"));
	assert_false(dialplan_exists(dp, "default", "200"));

	write_lua("x = nil\nx.y = 1\nextensions = {}\n");
	assert_int_not_equal(dialplan_reload(dp, err, sizeof(err)), 0);
	assert_non_null(strstr(err, ":2:"));
	write_lua("foo = 1\n");
	assert_int_equal(dialplan_reload(dp, err, sizeof(err)), EINVAL);
	assert_non_null(strstr(err, "extensions"));
	assert_true(dialplan_exists(dp, "default", "100"));

	write_lua("extensions = { default = { ['200'] = function() end } }\n");
	assert_int_equal(dialplan_reload(dp, err, sizeof(err)), 0);
	assert_true(dialplan_exists(dp, "default", "200"));
	assert_false(dialplan_exists(dp, "default", "100"));
	mem_deref(dp);
}

static void test_dialplan_alloc_reports_missing_file(void **state)
{
	struct dialplan *dp = NULL;
	char err[256];

	(void)state;
	assert_int_equal(dialplan_alloc(&dp, "/nonexistent/ext.lua", err, sizeof(err)), ENOENT);
	assert_null(dp);
	assert_non_null(strstr(err, "/nonexistent/ext.lua"));
}

static struct dialplan *reload_dp;

static void reload_tmr(void *arg)
{
	char err[256];

	(void)arg;
	write_lua("extensions = { default = { s = function() app.Record('new') end } }\n");
	assert_int_equal(dialplan_reload(reload_dp, err, sizeof(err)), 0);
}

static void test_dialplan_reload_leaves_running_channel_on_old_code(void **state)
{
	struct chan *a = new_chan("default", "s"), *b;
	struct tmr t;

	(void)state;
	reload_dp = load("extensions = { default = { s = function()\n"
			 "  app.Wait(0.05); app.Record('old') end } }\n");
	tmr_init(&t);
	tmr_start(&t, 10, reload_tmr, NULL);
	run(reload_dp, a);
	assert_int_equal(nrec, 1);
	assert_string_equal(recs[0], "old");
	b = new_chan("default", "s");
	run(reload_dp, b);
	assert_string_equal(recs[1], "new");
	mem_deref(a);
	mem_deref(b);
	reload_dp = mem_deref(reload_dp);
}

static void test_dialplan_lua_globals_are_per_channel(void **state)
{
	struct dialplan *dp = load(
		"counter = 0\n"
		"extensions = { default = {\n"
		"  ['1'] = function()\n"
		"    counter = counter + 1; seen = channel.CHANNEL:get()\n"
		"    app.Wait(0.02)\n"
		"    app.Record(tostring(counter), tostring(seen == channel.CHANNEL:get()))\n"
		"  end,\n"
		"  ['2'] = function() app.Record(tostring(counter), tostring(seen)) end,\n"
		"} }\n");
	struct chan *a = new_chan("default", "1"), *b = new_chan("default", "1");

	(void)state;
	ends_wanted = 2;
	assert_int_equal(dialplan_start(dp, a, end_h, NULL), 0);
	assert_int_equal(dialplan_start(dp, b, end_h, NULL), 0);
	assert_int_equal(re_main(NULL), 0);
	assert_int_equal(ends, 2);
	assert_int_equal(nrec, 2);
	assert_string_equal(recs[0], "1,true");
	assert_string_equal(recs[1], "1,true");
	run_exten(dp, "default", "2");
	assert_string_equal(recs[2], "0,nil");
	mem_deref(a);
	mem_deref(b);
	mem_deref(dp);
}

static void test_dialplan_cdr_posted_once_with_lastapp(void **state)
{
	struct dialplan *dp = load(
		"extensions = { default = {\n"
		"  ['100'] = function() app.Answer(); app.NoOp('hi'); app.Hangup() end,\n"
		"  h = function() channel['CDR(userfield)']:set('from-h'); app.NoOp('h') end,\n"
		"} }\n");
	struct chan *ch = new_chan("default", "100");

	(void)state;
	run(dp, ch);
	assert_int_equal(tech_rec.answers, 1);
	assert_int_equal(tech_rec.hangups, 1);
	assert_int_equal(cdr.n, 1);
	assert_string_equal(cdr.disposition, "ANSWERED");
	assert_string_equal(cdr.lastapp, "Hangup");
	assert_string_equal(cdr.dst, "100");
	assert_string_equal(cdr.userfield, "from-h");
	mem_deref(ch);
	assert_int_equal(cdr.n, 1);
	mem_deref(dp);
}

static void test_dialplan_unknown_app_is_a_lua_error(void **state)
{
	struct dialplan *dp = load(
		"extensions = { default = { s = function()\n"
		"  local ok, err = pcall(app.NoSuchApp, 'x')\n"
		"  app.Record(tostring(ok), err)\n"
		"  ok = coroutine.wrap(function() return pcall(app.Wait, 1) end)()\n"
		"  app.Record('co', tostring(ok))\n"
		"  app.NoSuchApp()\n"
		"  app.Record('unreached')\n"
		"end } }\n");

	(void)state;
	run_exten(dp, "default", "s");
	assert_int_equal(nrec, 2);
	assert_non_null(strstr(recs[0], "false,"));
	assert_non_null(strstr(recs[0], "application 'NoSuchApp' not found"));
	assert_string_equal(recs[1], "co,false");   /* apps wait only on the channel */
	mem_deref(dp);
}

static void test_dialplan_app_hangup_raises_integer_and_busy_sets_cause(void **state)
{
	struct dialplan *dp = load(
		"extensions = { default = {\n"
		"  ['1'] = function()\n"
		"    local ok, v = pcall(app.Busy)\n"
		"    app.Record(tostring(ok), tostring(v), math.type(v))\n"
		"    app.Ringing()\n"
		"    app.Record('unreached')\n"
		"  end,\n"
		"  ['2'] = function() app.Progress(); app.Congestion() end,\n"
		"  ['3'] = function() app.Hangup('NOANSWER') end,\n"
		"} }\n");
	struct chan *ch = new_chan("default", "1");

	(void)state;
	run(dp, ch);
	assert_int_equal(nrec, 1);
	assert_string_equal(recs[0], "false,-1,integer");
	assert_int_equal(chan_cause(ch), CAUSE_USER_BUSY);
	assert_int_equal(tech_rec.last_cause, CAUSE_USER_BUSY);
	assert_int_equal(tech_rec.hangups, 1);
	mem_deref(ch);

	ch = new_chan("default", "2");
	run(dp, ch);
	assert_int_equal(tech_rec.last_scode, 183);
	assert_int_equal(tech_rec.last_cause, CAUSE_NORMAL_CIRCUIT_CONGESTION);
	mem_deref(ch);

	ch = new_chan("default", "3");
	run(dp, ch);
	assert_int_equal(tech_rec.last_cause, CAUSE_NO_ANSWER);
	mem_deref(ch);
	mem_deref(dp);
}

static void test_dialplan_set_app_writes_vars_and_functions(void **state)
{
	struct dialplan *dp = load(
		"extensions = { default = { s = function()\n"
		"  app.Set('CALLERID(num)=555')\n"
		"  app.Set('LIST=a,b,c')\n"
		"  app.Set('_INH=1')\n"
		"  app.Record(channel.LIST:get(), channel.INH:get())\n"
		"end } }\n");
	struct chan *ch = new_chan("default", "s");

	(void)state;
	run(dp, ch);
	assert_string_equal(chan_cid_num(ch), "555");
	assert_string_equal(recs[0], "a,b,c,1");
	mem_deref(ch);
	mem_deref(dp);
}

static void test_dialplan_fallthrough_after_busy_dial_sets_busy_cause(void **state)
{
	struct dialplan *dp = load(
		"extensions = { default = { s = function()\n"
		"  channel.DIALSTATUS = 'BUSY'\n"
		"end } }\n");
	struct chan *ch = new_chan("default", "s");

	(void)state;
	run(dp, ch);
	assert_int_equal(tech_rec.last_cause, CAUSE_USER_BUSY);
	mem_deref(ch);
	mem_deref(dp);
}

static void test_dialplan_top_level_code_runs_per_channel(void **state)
{
	struct dialplan *dp = load(
		"loads = (loads or 0) + 1\n"
		"extensions = { default = { s = function()\n"
		"  app.Record(tostring(loads), type(string.format))\n"
		"end } }\n");

	(void)state;
	run_exten(dp, "default", "s");
	run_exten(dp, "default", "s");
	/* the load's own run set loads=1 in the shared globals; each channel
	 * reads that through __index and sets its own loads=2 */
	assert_string_equal(recs[0], "2,function");
	assert_string_equal(recs[1], "2,function");
	mem_deref(dp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_dialplan_dispatch_by_pattern_order_and_include),
		T(test_dialplan_joins_app_args_like_pbx_lua),
		T(test_dialplan_channel_variables_and_functions),
		T(test_dialplan_goto_skips_rest_and_runs_target),
		T(test_dialplan_goto_same_place_restarts_function),
		T(test_dialplan_wait_yields_and_resumes),
		T(test_dialplan_hangup_during_wait_ends_and_runs_h),
		T(test_dialplan_lua_error_logs_file_line_and_ends),
		T(test_dialplan_no_match_sets_unallocated),
		T(test_dialplan_invalid_and_h_extensions_run),
		T(test_dialplan_reload_with_syntax_error_keeps_old_plan),
		T(test_dialplan_alloc_reports_missing_file),
		T(test_dialplan_reload_leaves_running_channel_on_old_code),
		T(test_dialplan_lua_globals_are_per_channel),
		T(test_dialplan_cdr_posted_once_with_lastapp),
		T(test_dialplan_unknown_app_is_a_lua_error),
		T(test_dialplan_app_hangup_raises_integer_and_busy_sets_cause),
		T(test_dialplan_set_app_writes_vars_and_functions),
		T(test_dialplan_fallthrough_after_busy_dial_sets_busy_cause),
		T(test_dialplan_top_level_code_runs_per_channel),
#undef T
	};
	int err, res;

	err = libre_init();
	if (err)
		return 1;
	res = cmocka_run_group_tests(tests, NULL, NULL);
	libre_close();
	return res;
}
