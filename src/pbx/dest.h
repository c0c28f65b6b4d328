/* dest: where a call goes next (Alovoip's "destination"; a module is a name,
 * a unique dial code and next/error exits). A destination is one of
 *   hangup | callback:NAME | queue:NAME | exten:NUMBER | goto:CONTEXT,EXTEN
 * exten: is NUMBER in the channel's current context. Module kinds (callback,
 * queue) are registered by whoever owns the modules; this file runs them,
 * follows their exits, answers a module's dial code from any context, and
 * holds the extensions' busy/no-answer/unavailable exits. The
 * Destination(dest) app (app.destination("callback:sales")) sends its
 * channel there, abandoning the code after it like a Goto. Not for the
 * modules themselves (callback.c, queue.c). */
#ifndef TAMAS_DEST_H
#define TAMAS_DEST_H

#include <stdbool.h>
#include <stddef.h>
#include "pbx/app.h"

struct chan;
struct dests;

/* A kind of module reachable as "PREFIX:NAME". app(NAME) runs it; then,
 * unless the app moved or hung up the channel, the module's next exit when
 * status_var equals ok, else its error exit (an exit that is NULL or ""
 * hangs up). Every hook may be NULL. */
struct dest_kind {
	const char *prefix;                /* "callback" */
	const char *app;                   /* "Callback" */
	const char *status_var, *ok;       /* "CALLBACKSTATUS", "REGISTERED" */
	bool (*exists)(const char *name, void *arg);
	/* key is a NAME (by_code false) or a dial code: ENOENT when no module
	 * has it; else its name and exits, valid until the module goes. */
	int (*lookup)(const char *key, bool by_code, const char **name, const char **next,
		      const char **error, void *arg);
	void *arg;
};

/* The module of the process (the app registry passes no argument): registers
 * the Destination app. */
int dest_alloc(struct dests **dp);
/* Strings of k are not copied: they must outlive the module. EEXIST for a
 * prefix already registered. */
int dest_kind_add(struct dests *d, const struct dest_kind *k);

/* The form of dest only (no lookups): EINVAL with why. */
int dest_syntax(const char *dest, char *why, size_t whysz);
/* The form, and that a module named by it exists (its kind is known and its
 * exists hook says yes): EINVAL / ENOENT with why. */
int dest_check(const struct dests *d, const char *dest, char *why, size_t whysz);

/* Sends ch to dest: hangup ends with APP_HANGUP; exten:/goto: change its
 * location and end with APP_OK (its dialplan jumps there; a channel without
 * a running dialplan is redirected); a module runs, then its exits.
 * doneh is called exactly once (maybe before returning). EINVAL (doneh not
 * called) for a dest that does not parse; an unknown module is logged and
 * hangs up. */
int dest_go(struct chan *ch, const char *dest, app_done_h *doneh, void *arg);

/* For dialplan_set_code_h: when exten is a module's dial code, the app and
 * data that run it ("Destination", "callback:NAME"); else NULL. */
const char *dest_code_app(const char *exten, char *data, size_t sz, void *arg);

/* An extension's exits ([user N] busy_dest, noanswer_dest, unavail_dest;
 * NULL or "" for none), replacing earlier ones. Strings are copied. */
int dest_user_set(struct dests *d, const char *user, const char *busy, const char *noanswer,
		  const char *unavail);
/* The exit a Dial(target) that ended with DIALSTATUS status leads to: target
 * a single SIP/USER or PJSIP/USER whose user has an exit for BUSY, NOANSWER
 * or CHANUNAVAIL; else NULL. */
const char *dest_dial_exit(const char *target, const char *status);

#endif
