/* routes_call: the request is checked whole (fields, caller, trunk, the
 * callee's context) before the first leg is placed, so a refused request
 * places no call. */
#include "core/rejansson.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "api/http.h"
#include "api/routes_call.h"
#include "core/log.h"
#include "pbx/originate.h"
#include "store/store.h"

#define TIMEOUT_MAX_S 600u
#define LIMIT_MAX_S   86400u

struct oform {
	char caller[64], callee[64], context[64], caller_id[80], trunk[64];
	uint32_t timeout_s, limit_s;
};

/* A whole number of seconds in [lo, hi]; ENOENT leaves *out alone. */
static int arg_secs(const struct http_req *req, struct http_reply *rep, const char *name,
		    uint32_t lo, uint32_t hi, uint32_t *out)
{
	char buf[16], *end;
	unsigned long v;
	int err = http_arg_str(req, rep, name, false, buf, sizeof(buf));

	if (err)
		return err;
	errno = 0;
	v = strtoul(buf, &end, 10);
	if (*end || buf[0] == '-' || errno || v < lo || v > hi) {
		http_reply_fail(rep, "Field '%s' must be a whole number of seconds from %u to %u",
				name, lo, hi);
		return EINVAL;
	}
	*out = (uint32_t)v;
	return 0;
}

static bool is_number(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		if (!strchr("0123456789+*#", *s))
			return false;
	}
	return true;
}

static int read_form(const struct http_req *req, struct http_reply *rep, struct oform *f)
{
	int err;

	err = http_arg_str(req, rep, "caller", true, f->caller, sizeof(f->caller));
	err = err ? err : http_arg_str(req, rep, "callee", true, f->callee, sizeof(f->callee));
	err = err ? err : http_arg_str(req, rep, "context", true, f->context, sizeof(f->context));
	if (!err) {
		err = http_arg_str(req, rep, "caller_id", false, f->caller_id,
				   sizeof(f->caller_id));
		err = err == ENOENT ? 0 : err;
	}
	if (!err) {
		err = http_arg_str(req, rep, "trunk_name", false, f->trunk, sizeof(f->trunk));
		err = err == ENOENT ? 0 : err;
	}
	f->timeout_s = 30;
	if (!err) {
		err = arg_secs(req, rep, "timeout", 1, TIMEOUT_MAX_S, &f->timeout_s);
		err = err == ENOENT ? 0 : err;
	}
	if (!err) {
		err = arg_secs(req, rep, "call_limit", 0, LIMIT_MAX_S, &f->limit_s);
		err = err == ENOENT ? 0 : err;
	}
	return err;
}

/* The first party: a configured trunk's number, or a known extension. */
static int check_caller(struct routes_call *rc, struct http_reply *rep, const struct oform *f)
{
	struct user_rec u;

	if (!is_number(f->caller)) {
		http_reply_fail(rep, "Field 'caller' is not a number: '%s'", f->caller);
		return EINVAL;
	}
	if (f->trunk[0]) {
		if (rc->trunk_h && rc->trunk_h(f->trunk, rc->arg))
			return 0;
		http_reply_fail(rep, "Field 'trunk_name': no trunk named '%s'", f->trunk);
		return ENOENT;
	}
	if (store_user_get(rc->store, f->caller, &u) == 0)
		return 0;
	http_reply_fail(rep, "Field 'caller': no extension '%s' (give trunk_name to call an "
			"external number)", f->caller);
	return ENOENT;
}

static void originate_h(const struct http_req *req, struct http_reply *rep, void *arg)
{
	struct routes_call *rc = arg;
	struct oform f = { 0 };
	struct originate_req rq;
	char id[48], why[160] = "";
	int err;

	if (read_form(req, rep, &f) || check_caller(rc, rep, &f))
		return;
	rq = (struct originate_req){
		.caller = f.caller, .callee = f.callee, .context = f.context,
		.caller_id = f.caller_id, .trunk = f.trunk,
		.timeout_s = f.timeout_s, .call_limit_s = f.limit_s,
	};
	err = originate_start(&rq, id, sizeof(id), why, sizeof(why));
	if (err == ENOENT) {
		http_reply_fail(rep, "Field 'callee': %s", why);
		return;
	}
	if (err) {
		log_warn("api: originate failed (caller=%s callee=%s): %m", f.caller, f.callee,
			 err);
		http_reply_error(rep, 500, "Requested operation failed");
		return;
	}
	log_info("api: originate (id=%s caller=%s callee=%s context=%s user=%s)", id, f.caller,
		 f.callee, f.context, req->user ? req->user : "");
	http_reply_ok(rep, NULL, json_pack("{s:s}", "originated_call_id", id));
}

int routes_call_register(struct http *h, struct routes_call *rc)
{
	if (!h || !rc || !rc->store)
		return EINVAL;
	return http_route_add(h, "POST", "call/originate/act", NULL, originate_h, rc);
}
