/* dialplan: runs extensions.lua the way pbx_lua does (asterisk-semantics.md §1):
 * one Lua state per loaded file, one coroutine per channel, apps that yield.
 * Not for the apps themselves (app.c) or pattern rules (pattern.c).
 *
 * Per-channel globals: pbx_lua builds a lua_State per channel and runs the
 * whole file in it. Here the file is compiled once (lua_dump at load) and for
 * each channel the compiled chunk is loaded again with its _ENV upvalue set
 * to a fresh table whose __index is the loaded file's globals, then run in the
 * channel's coroutine. Top-level code therefore runs once per channel, exactly
 * as in pbx_lua, and every function it defines closes over that channel's
 * globals. Loading the binary chunk skips the parser: measured here (-O2,
 * 200-line file with 200 functions) ~80 µs per load against ~400 µs for a
 * parse of the text, ~130 µs with the top-level run; 300 calls/s cost ~4 %
 * of a core, and nothing is shared between channels by accident. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>
#include <re.h>
#include "core/log.h"
#include "pbx/app.h"
#include "pbx/chan.h"
#include "pbx/dialplan.h"
#include "pbx/pattern.h"

enum { LUA_GOTO_DETECTED = 5 };   /* pbx_lua's jump "error" value */
enum { INCLUDE_DEPTH_MAX = 32, FUNC_BUF = 4096 };

/* A table key as Lua holds it (numeric keys stay numbers) plus its text. */
struct lkey {
	char *str;
	int type;                 /* LUA_TSTRING or LUA_TNUMBER */
	bool isint;
	lua_Integer i;
	lua_Number n;
};

struct dctx {
	struct le le;
	struct lkey name;
	struct lkey *keys;        /* sorted with pattern_cmp: first match wins */
	size_t nkeys;
	char **incs;
	size_t nincs;
};

/* One loaded file. Runs hold a reference, so a reload leaves running
 * channels on the code they started with. */
struct lstate {
	lua_State *L;
	char *path;
	struct hash *ctxs;
	struct mbuf *chunk;       /* lua_dump of the file's main function */
	int env_mt_ref;
	struct run *cur;          /* run whose Lua code is executing now */
};

struct dialplan {
	char *path;
	struct lstate *ls;
	struct list runs;
	dialplan_code_h *codeh;   /* dial codes of modules (dest) */
	void *code_arg;
};

enum phase { PH_TOP, PH_MAIN, PH_H, PH_DONE, PH_SUB };

/* Lua instructions one resume may run: a handler or dialplan stuck in a
 * loop is stopped (logged with file:line) instead of freezing the loop. */
enum { HOOK_EVERY = 100000, BUDGET_HOOKS = 500 };

struct run {
	struct le le;
	struct dialplan *dp;
	struct lstate *ls;
	struct chan *ch;
	dialplan_end_h *endh;
	void *arg;
	lua_State *co;
	int co_ref, env_ref;
	int narg;
	enum phase phase;
	struct tmr tmr;
	uint32_t step_seq;        /* location seq when the step started */
	uint32_t app_seq;         /* location seq before the current app */
	bool app_pending, app_sync;
	int app_res;
	bool holding, autoservice;
	unsigned hooks;           /* count hooks seen in this resume */
	dialplan_sub_h *subh;     /* PH_SUB: a Gosub-style routine */
	void *sub_arg;
	int sub_err;
};

static void step_end(struct run *r, int status);

/* ---- keys and contexts ---- */

static void dctx_destructor(void *data)
{
	struct dctx *dc = data;

	hash_unlink(&dc->le);
	mem_deref(dc->name.str);
	for (size_t i = 0; i < dc->nkeys; i++)
		mem_deref(dc->keys[i].str);
	for (size_t i = 0; i < dc->nincs; i++)
		mem_deref(dc->incs[i]);
	mem_deref(dc->keys);
	mem_deref(dc->incs);
}

/* Copies the key at idx without converting it in place (lua_next would
 * break on a key turned into a string). */
static int lkey_from(lua_State *L, int idx, struct lkey *k)
{
	int err;

	memset(k, 0, sizeof(*k));
	k->type = lua_type(L, idx);
	if (k->type == LUA_TNUMBER) {
		k->isint = lua_isinteger(L, idx);
		if (k->isint)
			k->i = lua_tointeger(L, idx);
		else
			k->n = lua_tonumber(L, idx);
	}
	else if (k->type != LUA_TSTRING) {
		return EINVAL;
	}
	lua_pushvalue(L, idx);
	err = str_dup(&k->str, lua_tostring(L, -1));
	lua_pop(L, 1);
	return err;
}

static void lkey_push(lua_State *L, const struct lkey *k)
{
	if (k->type == LUA_TSTRING)
		lua_pushstring(L, k->str);
	else if (k->isint)
		lua_pushinteger(L, k->i);
	else
		lua_pushnumber(L, k->n);
}

static int lkey_cmp(const void *a, const void *b)
{
	return pattern_cmp(((const struct lkey *)a)->str, ((const struct lkey *)b)->str);
}

static bool ctx_cmp(struct le *le, void *arg)
{
	const struct dctx *dc = le->data;
	return !strcmp(dc->name.str, arg);
}

static const struct dctx *ctx_find(const struct lstate *ls, const char *name)
{
	struct le *le = hash_lookup(ls->ctxs, hash_joaat_str(name), ctx_cmp, (void *)name);

	return le ? le->data : NULL;
}

/* include = {"a", "b"}: context names in order. Table at the top. */
static int read_includes(lua_State *L, struct dctx *dc)
{
	size_t n = lua_rawlen(L, -1);

	dc->incs = mem_zalloc(n ? n * sizeof(char *) : 1, NULL);
	if (!dc->incs)
		return ENOMEM;
	for (size_t i = 1; i <= n; i++) {
		int err = 0;
		lua_rawgeti(L, -1, (lua_Integer)i);
		if (lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER)
			err = str_dup(&dc->incs[dc->nincs++], lua_tostring(L, -1));
		lua_pop(L, 1);
		if (err)
			return err;
	}
	return 0;
}

/* Context table at the top of the stack. */
static int read_context(lua_State *L, struct dctx *dc)
{
	size_t cap = 0;
	int err = 0;

	lua_pushnil(L);
	while (!err && lua_next(L, -2)) {
		if (lua_type(L, -2) == LUA_TSTRING &&
		    !str_casecmp(lua_tostring(L, -2), "include")) {
			if (lua_istable(L, -1) && !dc->incs)
				err = read_includes(L, dc);
			lua_pop(L, 1);
			continue;
		}
		if (dc->nkeys == cap) {
			struct lkey *nk;
			cap = cap ? cap * 2 : 16;
			/* libre's mem_realloc does not allocate from NULL */
			nk = dc->keys ? mem_realloc(dc->keys, cap * sizeof(*nk)) :
				mem_zalloc(cap * sizeof(*nk), NULL);
			if (!nk) {
				err = ENOMEM;
				lua_pop(L, 1);
				break;
			}
			dc->keys = nk;
		}
		if (!lkey_from(L, -2, &dc->keys[dc->nkeys]))
			++dc->nkeys;
		lua_pop(L, 1);
	}
	if (err)
		lua_pop(L, 1);   /* the key lua_next left */
	else if (dc->nkeys)
		qsort(dc->keys, dc->nkeys, sizeof(*dc->keys), lkey_cmp);
	return err;
}

/* extensions table at the top of the stack. */
static int build_index(lua_State *L, struct lstate *ls)
{
	int err = 0;

	lua_pushnil(L);
	while (!err && lua_next(L, -2)) {
		struct dctx *dc;
		if (!lua_istable(L, -1)) {
			lua_pop(L, 1);
			continue;
		}
		dc = mem_zalloc(sizeof(*dc), dctx_destructor);
		if (!dc || lkey_from(L, -2, &dc->name)) {
			mem_deref(dc);
			lua_pop(L, 1);
			continue;
		}
		err = read_context(L, dc);
		if (err) {
			mem_deref(dc);
			lua_pop(L, 2);
			break;
		}
		hash_append(ls->ctxs, hash_joaat_str(dc->name.str), &dc->le, dc);
		lua_pop(L, 1);
	}
	return err;
}

/* Asterisk's search: the context's own keys in order, then its includes. */
static bool ext_find(const struct lstate *ls, const char *ctx, const char *exten, int depth,
		     const struct dctx **dcp, size_t *kip)
{
	const struct dctx *dc = ctx_find(ls, ctx);

	if (!dc || depth > INCLUDE_DEPTH_MAX)
		return false;
	for (size_t i = 0; i < dc->nkeys; i++) {
		if (pattern_match(dc->keys[i].str, exten)) {
			*dcp = dc;
			*kip = i;
			return true;
		}
	}
	for (size_t i = 0; i < dc->nincs; i++)
		if (ext_find(ls, dc->incs[i], exten, depth + 1, dcp, kip))
			return true;
	return false;
}

/* ---- bindings: app, channel, check_hangup, autoservice_* ---- */

static struct run *run_of(lua_State *L)
{
	struct lstate *ls = *(struct lstate **)lua_getextraspace(L);

	return ls ? ls->cur : NULL;
}

static struct run *run_check(lua_State *L)
{
	struct run *r = run_of(L);

	if (!r)
		luaL_error(L, "no channel: dialplan code must run on a channel");
	return r;
}

/* pbx_lua's joining: args [first..last] with ',' between, nil as an empty
 * field, numbers via tostring; anything else cannot be concatenated. */
static void join_args(lua_State *L, int first, int last)
{
	int n = 0;

	luaL_checkstack(L, 2 * (last - first + 1) + 2, "too many arguments");
	for (int i = first; i <= last; i++) {
		int t = lua_type(L, i);
		if (i > first) {
			lua_pushliteral(L, ",");
			++n;
		}
		if (t == LUA_TNIL)
			lua_pushliteral(L, "");
		else if (t == LUA_TSTRING || t == LUA_TNUMBER)
			lua_pushvalue(L, i);
		else
			luaL_error(L, "attempt to concatenate a %s value", luaL_typename(L, i));
		++n;
	}
	if (n)
		lua_concat(L, n);
	else
		lua_pushliteral(L, "");
}

static void app_done(int res, void *arg);

static int app_finish(lua_State *L, struct run *r)
{
	if (r->app_res != APP_OK) {
		lua_pushinteger(L, r->app_res);
		return lua_error(L);
	}
	if (chan_location_seq(r->ch) != r->app_seq) {
		lua_pushinteger(L, LUA_GOTO_DETECTED);
		return lua_error(L);
	}
	return 0;
}

static int app_cont(lua_State *L, int status, lua_KContext ctx)
{
	(void)status;
	(void)ctx;
	return app_finish(L, run_check(L));
}

/* app.Name(args...): the __call of an app object. */
static int app_call(lua_State *L)
{
	int top = lua_gettop(L), err;
	const char *name, *data;
	struct run *r;

	luaL_checktype(L, 1, LUA_TTABLE);
	lua_getfield(L, 1, "name");
	name = luaL_checkstring(L, -1);
	if (!app_exists(name))
		return luaL_error(L, "application '%s' not found", name);
	r = run_check(L);
	join_args(L, 2, top);
	data = lua_tostring(L, -1);
	/* Only the channel's own coroutine may wait: a yield from a user
	 * coroutine or a C callback would resume the wrong code. */
	if (L != r->co || !lua_isyieldable(L))
		return luaL_error(L, "application '%s' called where the dialplan "
				  "cannot wait (user coroutine or C callback)", name);
	log_debug("dialplan: Executing [%s@%s:1] %s(\"%s\", \"%s\")",
		  chan_exten(r->ch), chan_context(r->ch), name, chan_name(r->ch), data);
	/* §4: a handler routine must not hang its channel up; it returns. */
	if (r->phase == PH_SUB && !str_casecmp(name, "Hangup")) {
		log_warn("dialplan: Hangup() in a handler routine is not allowed; the routine "
			 "returns instead (channel=%s)", chan_name(r->ch));
		lua_pushinteger(L, APP_HANGUP);
		return lua_error(L);
	}
	chan_cdr_set_app(r->ch, app_name(name), data);
	r->app_seq = chan_location_seq(r->ch);
	r->app_res = APP_OK;
	r->app_pending = true;
	r->app_sync = true;
	err = app_exec(r->ch, name, data, app_done, r);
	r->app_sync = false;
	if (err) {
		r->app_pending = false;
		return luaL_error(L, "application '%s' failed to start: %s", name,
				  strerror(err));
	}
	if (!r->app_pending)
		return app_finish(L, r);
	return lua_yieldk(L, 0, 0, app_cont);
}

static int app_index(lua_State *L)
{
	luaL_checkany(L, 2);
	lua_newtable(L);
	lua_pushvalue(L, 2);
	lua_setfield(L, -2, "name");
	luaL_setmetatable(L, "tamas.app");
	return 1;
}

static void varobj_push(lua_State *L, const char *name, bool snapshot)
{
	struct run *r = run_of(L);
	char buf[FUNC_BUF];

	lua_newtable(L);
	lua_pushstring(L, name);
	lua_setfield(L, -2, "name");
	if (snapshot && r && !chan_expr_read(r->ch, name, buf, sizeof(buf))) {
		lua_pushstring(L, buf);
		lua_setfield(L, -2, "value");
	}
	luaL_setmetatable(L, "tamas.var");
}

static bool is_func(const char *name)
{
	size_t n = strlen(name);
	return n && name[n - 1] == ')';
}

static int var_get(lua_State *L)
{
	char buf[FUNC_BUF];
	const char *name;
	struct run *r;

	if (!lua_istable(L, 1))
		return luaL_error(L, "User probably used '.' instead of ':' for "
				  "retrieving a channel variable value");
	r = run_check(L);
	lua_getfield(L, 1, "name");
	name = luaL_checkstring(L, -1);
	if (chan_expr_read(r->ch, name, buf, sizeof(buf)))
		lua_pushnil(L);
	else
		lua_pushstring(L, buf);
	return 1;
}

/* A failed write is logged, not raised, as pbx_lua does. */
static void var_write(struct run *r, const char *name, const char *value)
{
	int err = chan_expr_write(r->ch, name, value);

	if (err)
		log_warn("dialplan: cannot set %s (channel=%s err=%m)", name,
			 chan_uniqueid(r->ch), err);
}

static int var_set(lua_State *L)
{
	const char *name, *value;
	struct run *r;

	if (!lua_istable(L, 1))
		return luaL_error(L, "User probably used '.' instead of ':' for "
				  "setting a channel variable");
	r = run_check(L);
	value = luaL_checkstring(L, 2);
	lua_getfield(L, 1, "name");
	name = luaL_checkstring(L, -1);
	var_write(r, name, value);
	return 0;
}

/* channel.FUNC("a", "b") -> object for "FUNC(a,b)". */
static int var_call(lua_State *L)
{
	int top = lua_gettop(L);

	luaL_checktype(L, 1, LUA_TTABLE);
	lua_getfield(L, 1, "name");
	luaL_checkstring(L, -1);
	lua_pushliteral(L, "(");
	join_args(L, 2, top);
	lua_pushliteral(L, ")");
	lua_concat(L, 4);
	varobj_push(L, lua_tostring(L, -1), false);
	return 1;
}

static int chan_index(lua_State *L)
{
	const char *name = luaL_checkstring(L, 2);

	varobj_push(L, name, !is_func(name));
	return 1;
}

static int chan_newindex(lua_State *L)
{
	const char *name = luaL_checkstring(L, 2);
	const char *value = luaL_checkstring(L, 3);

	var_write(run_check(L), name, value);
	return 0;
}

static int check_hangup(lua_State *L)
{
	struct run *r = run_of(L);

	lua_pushboolean(L, !r || chan_is_hungup(r->ch));
	return 1;
}

static int autoservice_set(lua_State *L, bool on)
{
	struct run *r = run_check(L);

	/* Media is serviced by the media layer whatever Lua does; keep the flag
	 * so scripts that test it see what they set. */
	r->autoservice = on;
	lua_pushboolean(L, 1);
	return 1;
}

static int autoservice_start(lua_State *L) { return autoservice_set(L, true); }
static int autoservice_stop(lua_State *L) { return autoservice_set(L, false); }

static int autoservice_status(lua_State *L)
{
	lua_pushboolean(L, run_check(L)->autoservice);
	return 1;
}

static void bindings_install(lua_State *L)
{
	static const luaL_Reg var_methods[] = {
		{"get", var_get}, {"set", var_set}, {NULL, NULL}
	};
	static const luaL_Reg globals[] = {
		{"check_hangup", check_hangup}, {"autoservice_start", autoservice_start},
		{"autoservice_stop", autoservice_stop},
		{"autoservice_status", autoservice_status}, {NULL, NULL}
	};

	luaL_newmetatable(L, "tamas.app");
	lua_pushcfunction(L, app_call);
	lua_setfield(L, -2, "__call");
	lua_pop(L, 1);

	luaL_newmetatable(L, "tamas.var");
	luaL_newlib(L, var_methods);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, var_call);
	lua_setfield(L, -2, "__call");
	lua_pop(L, 1);

	lua_newtable(L);                       /* app */
	lua_newtable(L);
	lua_pushcfunction(L, app_index);
	lua_setfield(L, -2, "__index");
	lua_setmetatable(L, -2);
	lua_setglobal(L, "app");

	lua_newtable(L);                       /* channel */
	lua_newtable(L);
	lua_pushcfunction(L, chan_index);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, chan_newindex);
	lua_setfield(L, -2, "__newindex");
	lua_setmetatable(L, -2);
	lua_setglobal(L, "channel");

	lua_pushglobaltable(L);
	luaL_setfuncs(L, globals, 0);
	lua_pop(L, 1);
}

/* ---- loading ---- */

static void lstate_destructor(void *data)
{
	struct lstate *ls = data;

	if (ls->ctxs)
		hash_flush(ls->ctxs);
	mem_deref(ls->ctxs);
	if (ls->L)
		lua_close(ls->L);
	mem_deref(ls->chunk);
	mem_deref(ls->path);
}

static int dump_writer(lua_State *L, const void *p, size_t sz, void *ud)
{
	(void)L;
	return mbuf_write_mem(ud, p, sz) ? 1 : 0;
}

static int load_fail(lua_State *L, int status, char *err, size_t errsz)
{
	const char *msg = lua_tostring(L, -1);

	re_snprintf(err, errsz, "%s", msg ? msg : "error object is not a string");
	return status == LUA_ERRFILE ? ENOENT : status == LUA_ERRMEM ? ENOMEM : EINVAL;
}

/* Compile, run once (validation, as pbx_lua does) and index the file. */
static int lstate_load(struct lstate **lsp, const char *path, char *err, size_t errsz)
{
	struct lstate *ls = mem_zalloc(sizeof(*ls), lstate_destructor);
	lua_State *L;
	int e, st;

	if (!ls)
		return ENOMEM;
	e = str_dup(&ls->path, path);
	e |= hash_alloc(&ls->ctxs, 64);
	ls->chunk = mbuf_alloc(4096);
	ls->L = L = luaL_newstate();
	if (e || !ls->chunk || !L) {
		e = e ? e : ENOMEM;
		re_snprintf(err, errsz, "%s: out of memory", path);
		goto out;
	}
	*(struct lstate **)lua_getextraspace(L) = ls;
	luaL_openlibs(L);
	bindings_install(L);

	lua_newtable(L);                       /* metatable of channel globals */
	lua_pushglobaltable(L);
	lua_setfield(L, -2, "__index");
	ls->env_mt_ref = luaL_ref(L, LUA_REGISTRYINDEX);

	st = luaL_loadfile(L, path);
	if (st != LUA_OK) {
		e = load_fail(L, st, err, errsz);
		goto out;
	}
	if (lua_dump(L, dump_writer, ls->chunk, 0)) {
		e = ENOMEM;
		re_snprintf(err, errsz, "%s: cannot compile", path);
		goto out;
	}
	st = lua_pcall(L, 0, 0, 0);
	if (st != LUA_OK) {
		e = load_fail(L, st, err, errsz);
		goto out;
	}
	if (lua_getglobal(L, "extensions") != LUA_TTABLE) {
		e = EINVAL;
		re_snprintf(err, errsz, "%s: global 'extensions' table is missing", path);
		goto out;
	}
	e = build_index(L, ls);
	lua_pop(L, 1);
	if (e)
		re_snprintf(err, errsz, "%s: cannot index extensions (%m)", path, e);
 out:
	if (e)
		mem_deref(ls);
	else
		*lsp = ls;
	return e;
}

static int load(struct lstate **lsp, const char *path, char *err, size_t errsz)
{
	char dummy[2];

	if (!err || !errsz) {
		err = dummy;
		errsz = sizeof(dummy);
	}
	err[0] = '\0';
	return lstate_load(lsp, path, err, errsz);
}

static void dialplan_destructor(void *data)
{
	struct dialplan *dp = data;

	mem_deref(dp->ls);
	mem_deref(dp->path);
}

int dialplan_alloc(struct dialplan **dpp, const char *path, char *err, size_t errsz)
{
	struct dialplan *dp;
	int e;

	if (!dpp || !path)
		return EINVAL;
	dp = mem_zalloc(sizeof(*dp), dialplan_destructor);
	if (!dp)
		return ENOMEM;
	e = str_dup(&dp->path, path);
	if (!e)
		e = load(&dp->ls, path, err, errsz);
	if (e)
		mem_deref(dp);
	else
		*dpp = dp;
	return e;
}

int dialplan_reload(struct dialplan *dp, char *err, size_t errsz)
{
	struct lstate *ls = NULL;
	int e;

	if (!dp)
		return EINVAL;
	e = load(&ls, dp->path, err, errsz);
	if (e)
		return e;
	mem_deref(dp->ls);
	dp->ls = ls;
	return 0;
}

bool dialplan_exists(struct dialplan *dp, const char *context, const char *exten)
{
	const struct dctx *dc;
	size_t ki;

	char data[256];

	if (!dp || !dp->ls || !context || !exten)
		return false;
	return ext_find(dp->ls, context, exten, 0, &dc, &ki) ||
		(dp->codeh && dp->codeh(exten, data, sizeof(data), dp->code_arg));
}

void dialplan_set_code_h(struct dialplan *dp, dialplan_code_h *h, void *arg)
{
	if (!dp)
		return;
	dp->codeh = h;
	dp->code_arg = arg;
}

unsigned dialplan_active(const struct dialplan *dp)
{
	return dp ? list_count(&dp->runs) : 0;
}

/* ---- running a channel ---- */

static void run_destructor(void *data)
{
	struct run *r = data;
	lua_State *L = r->ls->L;

	tmr_cancel(&r->tmr);
	luaL_unref(L, LUA_REGISTRYINDEX, r->co_ref);
	luaL_unref(L, LUA_REGISTRYINDEX, r->env_ref);
	list_unlink(&r->le);
	if (chan_dialplan_state(r->ch) == r)
		chan_set_dialplan_state(r->ch, NULL);
	if (r->holding)
		chan_cdr_hold(r->ch, false);
	mem_deref(r->ch);
	mem_deref(r->ls);
	mem_deref(r->dp);
}

static void budget_hook(lua_State *L, lua_Debug *ar)
{
	struct run *r = run_of(L);

	(void)ar;
	if (r && ++r->hooks > BUDGET_HOOKS)
		luaL_error(L, "instruction budget exhausted (%d instructions without "
			   "waiting in an application: endless loop?)", HOOK_EVERY * BUDGET_HOOKS);
}

/* Function at the top of L's stack becomes the body of a fresh coroutine. */
static void thread_new(struct run *r)
{
	lua_State *L = r->ls->L;

	luaL_unref(L, LUA_REGISTRYINDEX, r->co_ref);
	r->co = lua_newthread(L);
	r->co_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	lua_xmove(L, r->co, 1);
	lua_sethook(r->co, budget_hook, LUA_MASKCOUNT, HOOK_EVERY);
	r->narg = 0;
}

static void drive(struct run *r)
{
	struct run *prev = r->ls->cur;
	int nres = 0, st;

	mem_ref(r);
	r->ls->cur = r;
	r->hooks = 0;
	st = lua_resume(r->co, r->ls->L, r->narg, &nres);
	r->ls->cur = prev;
	r->narg = 0;
	if (st == LUA_YIELD && r->app_pending) {
		lua_pop(r->co, nres);
	}
	else {
		if (st == LUA_YIELD) {
			lua_settop(r->co, 0);
			lua_pushliteral(r->co, "attempt to yield from the dialplan "
					"outside a coroutine");
			st = LUA_ERRRUN;
		}
		step_end(r, st);
	}
	mem_deref(r);
}

static void resume_tmr(void *arg)
{
	drive(arg);
}

static void app_done(int res, void *arg)
{
	struct run *r = arg;

	r->app_res = res;
	r->app_pending = false;
	/* Resume from the loop, never inside the caller's callback (a SIP
	 * handler, a channel watch). */
	if (!r->app_sync)
		tmr_start(&r->tmr, 0, resume_tmr, r);
}

static void handlers_run(struct dialplan *dp, struct chan *ch);

static void end_tmr(void *arg)
{
	struct run *r = arg;
	struct chan *ch = mem_ref(r->ch);
	struct dialplan *dp = mem_ref(r->dp);
	dialplan_end_h *endh = r->endh;
	dialplan_sub_h *subh = r->subh;
	void *earg = r->arg, *sarg = r->sub_arg;
	bool is_sub = r->phase == PH_SUB || r->subh;
	int err = r->sub_err;

	mem_deref(r);
	if (is_sub) {
		if (subh)
			subh(err, ch, sarg);
	}
	else {
		if (endh)
			endh(ch, earg);
		handlers_run(dp, ch);     /* after `h`, on the hung-up channel */
	}
	mem_deref(dp);
	mem_deref(ch);
}

static void finish(struct run *r)
{
	if (r->phase != PH_SUB)
		r->phase = PH_DONE;
	tmr_start(&r->tmr, 0, end_tmr, r);
}

/* Push env.extensions[ctx][key] (the channel's own closures). */
static void ext_push(struct run *r, const struct dctx *dc, size_t ki)
{
	lua_State *L = r->ls->L;

	lua_rawgeti(L, LUA_REGISTRYINDEX, r->env_ref);
	lua_pushliteral(L, "extensions");
	lua_rawget(L, -2);
	if (lua_isnil(L, -1)) {
		lua_pop(L, 1);
		lua_getglobal(L, "extensions");
	}
	if (lua_istable(L, -1)) {
		lkey_push(L, &dc->name);
		lua_rawget(L, -2);
	}
	else {
		lua_pushnil(L);
	}
	if (lua_istable(L, -1)) {
		lkey_push(L, &dc->keys[ki]);
		lua_rawget(L, -2);
	}
	else {
		lua_pushnil(L);
	}
	lua_replace(L, -4);
	lua_pop(L, 2);
}

static void step_ext(struct run *r, enum phase ph, const struct dctx *dc, size_t ki)
{
	const char *ctx = chan_context(r->ch), *exten = chan_exten(r->ch);

	ext_push(r, dc, ki);
	thread_new(r);
	lua_pushstring(r->co, ctx);
	lua_pushstring(r->co, exten);
	r->narg = 2;
	r->phase = ph;
	r->step_seq = chan_location_seq(r->ch);
	drive(r);
}

static void main_done(struct run *r)
{
	const char *ctx = chan_context(r->ch);
	const struct dctx *dc;
	size_t ki;

	if (r->phase != PH_H && ext_find(r->ls, ctx, "h", 0, &dc, &ki) &&
	    !chan_set_location(r->ch, ctx, "h")) {
		step_ext(r, PH_H, dc, ki);
		return;
	}
	finish(r);
}

static bool code_step(struct run *r, const char *exten);

/* Where the channel is now: its extension, else a dial code, else `i`,
 * else `e`. */
static void dispatch(struct run *r)
{
	const char *ctx = chan_context(r->ch), *exten = chan_exten(r->ch);
	const struct dctx *dc;
	size_t ki;

	if (!*exten && chan_set_location(r->ch, ctx, "s")) {
		main_done(r);
		return;
	}
	ctx = chan_context(r->ch);     /* the set above freed the old strings */
	exten = chan_exten(r->ch);
	if (chan_is_hungup(r->ch)) {
		main_done(r);
		return;
	}
	if (ext_find(r->ls, ctx, exten, 0, &dc, &ki)) {
		step_ext(r, PH_MAIN, dc, ki);
		return;
	}
	if (code_step(r, exten))
		return;
	if (ext_find(r->ls, ctx, "i", 0, &dc, &ki)) {
		chan_var_set(r->ch, "INVALID_EXTEN", exten);
		if (!chan_set_location(r->ch, ctx, "i")) {
			step_ext(r, PH_MAIN, dc, ki);
			return;
		}
	}
	else if (ext_find(r->ls, ctx, "e", 0, &dc, &ki)) {
		chan_var_set(r->ch, "EXCEPTION", "INVALID");
		if (!chan_set_location(r->ch, ctx, "e")) {
			step_ext(r, PH_MAIN, dc, ki);
			return;
		}
	}
	log_info("dialplan: no extension %s@%s and no 'i' handler (channel=%s)",
		 exten, ctx, chan_uniqueid(r->ch));
	chan_set_cause(r->ch, CAUSE_UNALLOCATED);
	main_done(r);
}

static void dispatch_tmr(void *arg)
{
	dispatch(arg);
}

static void code_end_tmr(void *arg)
{
	struct run *r = arg;

	if (r->app_res == APP_OK && chan_location_seq(r->ch) != r->step_seq)
		dispatch(r);
	else
		main_done(r);
}

static void code_done(int res, void *arg)
{
	struct run *r = arg;

	r->app_res = res;
	r->app_pending = false;
	tmr_start(&r->tmr, 0, code_end_tmr, r);
}

/* A module's dial code in place of an extension: its app runs with no Lua
 * function around it. */
static bool code_step(struct run *r, const char *exten)
{
	char data[256];
	const char *app = r->dp->codeh ? r->dp->codeh(exten, data, sizeof(data),
						       r->dp->code_arg) : NULL;

	if (!app)
		return false;
	log_debug("dialplan: Executing [%s@%s:1] %s(\"%s\", \"%s\") (dial code)",
		  exten, chan_context(r->ch), app, chan_name(r->ch), data);
	chan_cdr_set_app(r->ch, app_name(app), data);
	r->phase = PH_MAIN;
	r->step_seq = chan_location_seq(r->ch);
	r->app_pending = true;
	if (app_exec(r->ch, app, data, code_done, r)) {
		r->app_pending = false;
		log_warn("dialplan: dial code %s: cannot run %s (channel=%s)", exten, app,
			 chan_uniqueid(r->ch));
		return false;
	}
	return true;
}

static void log_lua_error(struct run *r)
{
	lua_State *L = r->ls->L;
	const char *msg = lua_tostring(r->co, -1);
	char *tb = NULL;

	luaL_traceback(L, r->co, NULL, 0);
	if (!str_dup(&tb, lua_tostring(L, -1)))
		for (char *p = tb; *p; p++)
			if (*p == '\n' || *p == '\t')
				*p = ' ';
	lua_pop(L, 1);
	log_error("dialplan: %s (channel=%s)", msg ? msg : "(non-string error)",
		  chan_uniqueid(r->ch));
	log_info("dialplan: %s (channel=%s)", tb ? tb : "no traceback",
		 chan_uniqueid(r->ch));
	mem_deref(tb);
}

/* Asterisk's auto-fallthrough: Busy/Congestion from DIALSTATUS, then hangup. */
static void fallthrough(struct run *r)
{
	const char *st;

	if (chan_is_hungup(r->ch))
		return;
	st = chan_var_get(r->ch, "DIALSTATUS");
	log_debug("dialplan: auto fallthrough (channel=%s status=%s)",
		  chan_uniqueid(r->ch), st ? st : "UNKNOWN");
	if (st && !strcmp(st, "BUSY"))
		chan_set_cause(r->ch, CAUSE_USER_BUSY);
	else if (st && (!strcmp(st, "CONGESTION") || !strcmp(st, "CHANUNAVAIL")))
		chan_set_cause(r->ch, CAUSE_NORMAL_CIRCUIT_CONGESTION);
}

/* A step's Lua function ended: returned, raised, or unwound by us. */
static void step_end(struct run *r, int status)
{
	bool jumped = chan_location_seq(r->ch) != r->step_seq;
	bool is_int = status != LUA_OK && lua_isinteger(r->co, -1);
	lua_Integer v = is_int ? lua_tointeger(r->co, -1) : 0;

	if (status != LUA_OK && !is_int)
		log_lua_error(r);
	switch (r->phase) {
	case PH_SUB:
		/* app.Return() ends the function with -1: a normal return. */
		r->sub_err = status == LUA_OK || is_int ? 0 : EINTR;
		finish(r);
		break;
	case PH_TOP:
		if (status == LUA_OK)
			dispatch(r);
		else
			main_done(r);
		break;
	case PH_MAIN:
		if (jumped && (status == LUA_OK || (is_int && v == LUA_GOTO_DETECTED))) {
			tmr_start(&r->tmr, 0, dispatch_tmr, r);
			break;
		}
		if (status == LUA_OK)
			fallthrough(r);
		main_done(r);
		break;
	case PH_H:
	case PH_DONE:
		finish(r);
		break;
	}
}

/* Per-channel globals and the file's top-level code (see the file comment). */
static void run_begin(void *arg)
{
	struct run *r = arg;
	lua_State *L = r->ls->L;
	const struct mbuf *mb = r->ls->chunk;
	int st;

	lua_newtable(L);
	lua_rawgeti(L, LUA_REGISTRYINDEX, r->ls->env_mt_ref);
	lua_setmetatable(L, -2);
	r->env_ref = luaL_ref(L, LUA_REGISTRYINDEX);

	st = luaL_loadbufferx(L, (const char *)mb->buf, mb->end, r->ls->path, "b");
	if (st != LUA_OK) {
		log_error("dialplan: %s (channel=%s)", lua_tostring(L, -1),
			  chan_uniqueid(r->ch));
		lua_pop(L, 1);
		finish(r);
		return;
	}
	lua_rawgeti(L, LUA_REGISTRYINDEX, r->env_ref);
	lua_setupvalue(L, -2, 1);
	thread_new(r);
	r->phase = PH_TOP;
	r->step_seq = chan_location_seq(r->ch);
	drive(r);
}

/* A run of ls's code on ch, listed in dp (main dialplan or routine). */
static struct run *run_new(struct dialplan *dp, struct lstate *ls, struct chan *ch)
{
	struct run *r = mem_zalloc(sizeof(*r), run_destructor);

	if (!r)
		return NULL;
	r->dp = mem_ref(dp);
	r->ls = mem_ref(ls);
	r->ch = mem_ref(ch);
	r->co_ref = LUA_NOREF;
	r->env_ref = LUA_NOREF;
	r->autoservice = true;
	tmr_init(&r->tmr);
	list_append(&dp->runs, &r->le, r);
	return r;
}

int dialplan_start(struct dialplan *dp, struct chan *ch, dialplan_end_h *endh, void *arg)
{
	struct run *r;

	if (!dp || !dp->ls || !ch)
		return EINVAL;
	if (chan_dialplan_state(ch))
		return EBUSY;
	r = run_new(dp, dp->ls, ch);
	if (!r)
		return ENOMEM;
	r->endh = endh;
	r->arg = arg;
	r->holding = true;
	chan_cdr_hold(ch, true);
	chan_set_dialplan_state(ch, r);
	/* Start from the loop: the caller is usually inside a SIP handler. */
	tmr_start(&r->tmr, 0, run_begin, r);
	return 0;
}

/* ---- subroutines: Gosub-style handlers (asterisk-semantics.md §1.6, §4) ---- */

/* "[[ctx,]exten,]pri[(a1,a2)]", "," or "^" separated, into its parts;
 * missing ctx/exten come from the channel's current location. */
static int location_parse(struct chan *ch, const char *loc, char *ctx, size_t csz,
			  char *exten, size_t esz, char *args, size_t asz)
{
	char buf[512], *f[3], *paren, *save = NULL;
	int n = 0;

	if (!str_isset(loc) || strlen(loc) >= sizeof(buf))
		return EINVAL;
	str_ncpy(buf, loc, sizeof(buf));
	for (char *p = buf; *p && *p != '('; p++)
		if (*p == '^')
			*p = ',';
	args[0] = '\0';
	paren = strchr(buf, '(');
	if (paren) {
		char *close = strrchr(paren, ')');
		if (close)
			*close = '\0';
		*paren++ = '\0';
		str_ncpy(args, paren, asz);
		for (char *p = args; *p; p++)
			if (*p == '^')
				*p = ',';
	}
	for (char *t = strtok_r(buf, ",", &save); t && n < 3; t = strtok_r(NULL, ",", &save))
		f[n++] = t;
	if (n == 0)
		return EINVAL;
	str_ncpy(ctx, n == 3 ? f[0] : chan_context(ch), csz);
	str_ncpy(exten, n >= 2 ? f[n - 2] : chan_exten(ch), esz);
	return 0;
}

static void args_set(struct chan *ch, const char *args)
{
	char buf[512], name[16], *save = NULL;
	int n = 0;

	str_ncpy(buf, args ? args : "", sizeof(buf));
	for (char *a = strtok_r(buf, ",", &save); a; a = strtok_r(NULL, ",", &save)) {
		(void)re_snprintf(name, sizeof(name), "ARG%d", ++n);
		(void)chan_var_set(ch, name, a);
	}
	(void)re_snprintf(name, sizeof(name), "%d", n);
	(void)chan_var_set(ch, "ARGC", name);
}

int dialplan_gosub(struct dialplan *dp, struct chan *ch, const char *location, bool now,
		   dialplan_sub_h *doneh, void *arg)
{
	char ctx[128], exten[128], args[512];
	const struct dctx *dc;
	struct run *r, *main;
	lua_State *L;
	size_t ki;
	int err;

	if (!dp || !dp->ls || !ch)
		return EINVAL;
	err = location_parse(ch, location, ctx, sizeof(ctx), exten, sizeof(exten), args,
			     sizeof(args));
	if (err)
		return err;
	if (!ext_find(dp->ls, ctx, exten, 0, &dc, &ki)) {
		log_warn("dialplan: handler %s,%s does not exist, skipped (channel=%s)",
			 ctx, exten, chan_name(ch));
		return ENOENT;
	}
	main = chan_dialplan_state(ch);
	r = run_new(dp, main ? main->ls : dp->ls, ch);
	if (!r)
		return ENOMEM;
	r->subh = doneh;
	r->sub_arg = arg;
	r->phase = PH_SUB;
	L = r->ls->L;
	/* Share the channel's globals when its dialplan runs, as pbx_lua's
	 * per-channel state does; otherwise a fresh table over the file's. */
	if (main && main->env_ref != LUA_NOREF) {
		lua_rawgeti(L, LUA_REGISTRYINDEX, main->env_ref);
	}
	else {
		lua_newtable(L);
		lua_rawgeti(L, LUA_REGISTRYINDEX, r->ls->env_mt_ref);
		lua_setmetatable(L, -2);
	}
	r->env_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	if (main && main->ls != dp->ls && !ext_find(r->ls, ctx, exten, 0, &dc, &ki)) {
		mem_deref(r);
		return ENOENT;
	}
	args_set(ch, args);
	ext_push(r, dc, ki);
	thread_new(r);
	lua_pushstring(r->co, ctx);
	lua_pushstring(r->co, exten);
	r->narg = 2;
	r->step_seq = chan_location_seq(ch);
	log_debug("dialplan: Gosub %s,%s(%s) (channel=%s)", ctx, exten, args, chan_name(ch));
	if (now)
		drive(r);
	else
		tmr_start(&r->tmr, 0, resume_tmr, r);
	return 0;
}

/* ---- hangup handlers: LIFO, each once, after `h` (§4.6) ---- */

struct hhrun {
	struct dialplan *dp;
	struct chan *ch;
};

static void hhrun_destructor(void *data)
{
	struct hhrun *h = data;

	mem_deref(h->ch);
	mem_deref(h->dp);
}

static void hh_next(struct hhrun *h);

static void hh_done(int err, struct chan *ch, void *arg)
{
	(void)ch;
	if (err)
		log_warn("dialplan: hangup handler failed, running the next (channel=%s)",
			 chan_name(ch));
	hh_next(arg);
}

static void hh_next(struct hhrun *h)
{
	char *loc;

	while ((loc = chan_hangup_handler_pop(h->ch))) {
		int err = dialplan_gosub(h->dp, h->ch, loc, false, hh_done, h);
		log_debug("dialplan: hangup handler %s (channel=%s)", loc, chan_name(h->ch));
		mem_deref(loc);
		if (!err)
			return;
	}
	mem_deref(h);
}

static void handlers_run(struct dialplan *dp, struct chan *ch)
{
	struct hhrun *h;

	if (!chan_hangup_handlers_claim(ch))
		return;
	h = mem_zalloc(sizeof(*h), hhrun_destructor);
	if (!h)
		return;
	h->dp = mem_ref(dp);
	h->ch = mem_ref(ch);
	hh_next(h);
}

void dialplan_run_hangup_handlers(struct dialplan *dp, struct chan *ch)
{
	/* A channel whose dialplan still runs gets them after its `h`. */
	if (dp && ch && !chan_dialplan_state(ch))
		handlers_run(dp, ch);
}

/* Return([value]): sets GOSUB_RETVAL and ends the routine's function. */
static int app_return(struct chan *ch, const char *data, app_done_h *doneh, void *arg)
{
	(void)chan_var_set(ch, "GOSUB_RETVAL", data ? data : "");
	doneh(APP_HANGUP, arg);
	return 0;
}

int dialplan_apps_register(void)
{
	return app_register("Return", app_return);
}
