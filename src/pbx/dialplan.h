/* dialplan: extensions.lua in pbx_lua's shape. One Lua state; each channel's
 * dialplan runs in its own coroutine with its own globals table. */
#ifndef TAMAS_DIALPLAN_H
#define TAMAS_DIALPLAN_H

#include <stdbool.h>
#include <stddef.h>

struct dialplan;
struct chan;

/* Loads the file. On error returns errno and writes "file:line: reason". */
int dialplan_alloc(struct dialplan **dpp, const char *path, char *err, size_t errsz);
/* Reloads the file; on failure keeps the old code (running calls untouched). */
int dialplan_reload(struct dialplan *dp, char *err, size_t errsz);

/* True when context holds an extension (or pattern, via include) for exten. */
bool dialplan_exists(struct dialplan *dp, const char *context, const char *exten);

/* Runs the channel's dialplan from its context/exten until the Lua function
 * ends, an app returns APP_HANGUP, or a Lua error; then runs `h` if present.
 * endh is called once at the end (the owner hangs the channel up there).
 * If no extension matches: `i` if present, else chan cause set to
 * CAUSE_UNALLOCATED and endh is called. */
typedef void (dialplan_end_h)(struct chan *ch, void *arg);
int dialplan_start(struct dialplan *dp, struct chan *ch, dialplan_end_h *endh, void *arg);

/* Runs the routine at location "[[ctx,]exten,]pri[(a1,a2)]" (',' or '^')
 * on ch like Asterisk's internal Gosub: ARG1..ARGn/ARGC set, its own
 * coroutine (the channel's main dialplan may be waiting in an app),
 * app.Return([v]) sets GOSUB_RETVAL and ends it. now: start before
 * returning (a pre-dial handler that only sets variables finishes before
 * the call goes out). doneh: 0, or EINTR after a Lua error (logged with
 * file:line). ENOENT (logged) when the location does not exist. */
typedef void (dialplan_sub_h)(int err, struct chan *ch, void *arg);
int dialplan_gosub(struct dialplan *dp, struct chan *ch, const char *location, bool now,
		   dialplan_sub_h *doneh, void *arg);
/* Runs ch's hangup handlers (CHANNEL(hangup_handler_push)) unless its
 * dialplan still runs (then they follow its `h`). */
void dialplan_run_hangup_handlers(struct dialplan *dp, struct chan *ch);
/* Registers Return. */
int dialplan_apps_register(void);

/* A number no extension of the channel's context matches (before `i`):
 * when h names an app (and writes its data), that app runs in place of an
 * extension (a module's dial code, reachable from every context); its
 * location change is a jump, otherwise the dialplan ends. dialplan_exists
 * counts such numbers as extensions. */
typedef const char *(dialplan_code_h)(const char *exten, char *data, size_t sz, void *arg);
void dialplan_set_code_h(struct dialplan *dp, dialplan_code_h *h, void *arg);

/* Number of channels currently running Lua. */
unsigned dialplan_active(const struct dialplan *dp);

#endif
