/* app: the one registry of dialplan applications (Answer, Dial, Wait, ...).
 * Lua, the REST API and scenario components all execute apps through here. */
#ifndef TAMAS_APP_H
#define TAMAS_APP_H

#include <stdbool.h>
#include <stddef.h>

struct chan;

/* Result codes of an app, as Asterisk's app return:
 * APP_OK (0) continue; APP_HANGUP (-1) stop the dialplan (run `h`). */
enum { APP_OK = 0, APP_HANGUP = -1 };

typedef void (app_done_h)(int res, void *arg);
/* Runs app on ch with Asterisk-style data ("a,b,c"). Must call doneh exactly
 * once, either before returning (synchronous app) or later from the loop.
 * Returns 0 if started; errno (and doneh not called) on failure. */
typedef int (app_exec_h)(struct chan *ch, const char *data, app_done_h *doneh, void *arg);

int app_register(const char *name, app_exec_h *exech);
/* Case-insensitive lookup. */
bool app_exists(const char *name);
/* The name as registered ("Dial" for "dial"), for CDR lastapp; NULL if unknown. */
const char *app_name(const char *name);
/* ENOENT when unknown (doneh not called). */
int app_exec(struct chan *ch, const char *name, const char *data, app_done_h *doneh, void *arg);
void app_unregister_all(void);
/* True when option letter c is in opts (Asterisk style, "m(class)r"); its
 * parenthesised argument, if any, goes to arg (may be NULL). */
bool app_opt(const char *opts, char c, char *arg, size_t sz);

/* Registers the built-in apps: Answer, Hangup, Wait, Set, Goto, NoOp, Ringing,
 * Progress, Busy, Congestion (apps/basic.c). */
int apps_basic_register(void);

#endif
