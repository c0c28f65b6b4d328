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

/* Number of channels currently running Lua. */
unsigned dialplan_active(const struct dialplan *dp);

#endif
