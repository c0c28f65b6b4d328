/* cbconf: a callback module's definition read from key/value pairs, the
 * same keys whether they come from a [callback NAME] section of tamas.conf
 * or from the REST API, so both accept and refuse exactly the same input.
 * Not for checking names and codes against other callbacks (callback_add). */
#ifndef TAMAS_CBCONF_H
#define TAMAS_CBCONF_H

#include <stdbool.h>
#include <stddef.h>
#include "pbx/callback.h"

/* Returns the value of key, or NULL when it is absent. */
typedef const char *(cbconf_get_h)(const char *key, void *arg);

/* True when key is one cbconf_parse reads (case-insensitive). */
bool cbconf_key_known(const char *key);
/* Fills cf (name as given) from get; strings point into get's values. Absent
 * keys take their defaults; code and target are required. EINVAL with why
 * "KEY: reason" (the key first, so a caller can point at its line). */
int cbconf_parse(struct callback_conf *cf, const char *name, cbconf_get_h *get, void *arg,
		 char *why, size_t whysz);

#endif
