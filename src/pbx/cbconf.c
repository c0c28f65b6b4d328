/* cbconf: parsing of a callback module's keys (see cbconf.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "pbx/cbconf.h"
#include "pbx/dest.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const char *const plain_keys[] = {
	"code", "active", "retries", "auto_call", "min_wait", "retry_wait", "target", "context",
	"next", "error",
};

/* Older prompt key names, still accepted. */
static const struct { const char *alias; enum callback_prompt p; } prompt_alias[] = {
	{ "confirm", CB_PROMPT_CHECK }, { "registered", CB_PROMPT_AFTER },
};

enum { PROMPT_MAX = 255 };   /* a prompt value's length (tts text included) */

bool cbconf_key_known(const char *key)
{
	for (size_t i = 0; i < ARRAY_LEN(plain_keys); i++)
		if (!strcasecmp(key, plain_keys[i]))
			return true;
	for (size_t i = 0; i < CB_PROMPT_COUNT; i++)
		if (!strcasecmp(key, callback_prompt_key[i]))
			return true;
	for (size_t i = 0; i < ARRAY_LEN(prompt_alias); i++)
		if (!strcasecmp(key, prompt_alias[i].alias))
			return true;
	return false;
}

static int parse_bool(const char *key, const char *v, bool dflt, bool *out, char *why,
		      size_t whysz)
{
	if (!v || !*v) {
		*out = dflt;
		return 0;
	}
	if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcasecmp(v, "on") ||
	    !strcmp(v, "1")) {
		*out = true;
		return 0;
	}
	if (!strcasecmp(v, "no") || !strcasecmp(v, "false") || !strcasecmp(v, "off") ||
	    !strcmp(v, "0")) {
		*out = false;
		return 0;
	}
	snprintf(why, whysz, "%s: expected yes or no, got '%s'", key, v);
	return EINVAL;
}

/* Seconds, or Alovoip's hh:mm:ss (also mm:ss). */
static int parse_secs(const char *v, unsigned long *out)
{
	unsigned long total = 0, part;
	char *end;
	int fields = 0;

	for (;;) {
		if (*v < '0' || *v > '9')
			return EINVAL;
		part = strtoul(v, &end, 10);
		if (part > 10000000UL || ++fields > 3 || (fields > 1 && part > 59))
			return EINVAL;
		total = total * 60 + part;
		if (!*end)
			break;
		if (*end != ':')
			return EINVAL;
		v = end + 1;
	}
	*out = total;
	return 0;
}

static int parse_u32(const char *key, const char *v, uint32_t dflt, uint32_t min, uint32_t max,
		     bool duration, uint32_t *out, char *why, size_t whysz)
{
	unsigned long n;
	char *end = NULL;

	if (!v || !*v) {
		*out = dflt;
		return 0;
	}
	if (duration ? parse_secs(v, &n) != 0
		     : (*v < '0' || *v > '9' || (n = strtoul(v, &end, 10), *end))) {
		snprintf(why, whysz, "%s: expected %s, got '%s'", key,
			 duration ? "seconds or hh:mm:ss" : "a number", v);
		return EINVAL;
	}
	if (n < min || n > max) {
		snprintf(why, whysz, "%s: expected %u..%u, got '%s'", key, (unsigned)min,
			 (unsigned)max, v);
		return EINVAL;
	}
	*out = (uint32_t)n;
	return 0;
}

/* "" (skip), "tts:TEXT" or a prompt name; a name goes into the app data of
 * Playback and Read, so it cannot hold their separators. */
static int prompt_check(const char *key, const char *v, char *why, size_t whysz)
{
	if (strlen(v) > PROMPT_MAX) {
		snprintf(why, whysz, "%s: longer than %d characters", key, PROMPT_MAX);
		return EINVAL;
	}
	if (!strncasecmp(v, "tts:", 4)) {
		const char *text = strchr(v, ':') + 1;

		if (!text[strspn(text, " \t")]) {
			snprintf(why, whysz, "%s: tts: needs a text to speak", key);
			return EINVAL;
		}
		return 0;
	}
	if (strpbrk(v, ",()|\"\t\r\n") || *v == ' ') {
		snprintf(why, whysz, "%s: expected a prompt name or tts:TEXT, got '%s'", key, v);
		return EINVAL;
	}
	return 0;
}

/* The prompt p from its key or its older alias (not both); *key receives the
 * key used, for errors. */
static int prompt_get(enum callback_prompt p, cbconf_get_h *get, void *arg, const char **v,
		      const char **key, char *why, size_t whysz)
{
	*key = callback_prompt_key[p];
	*v = get(*key, arg);
	for (size_t i = 0; i < ARRAY_LEN(prompt_alias); i++) {
		const char *a;

		if (prompt_alias[i].p != p || !(a = get(prompt_alias[i].alias, arg)))
			continue;
		if (*v) {
			snprintf(why, whysz, "%s: an older name of %s, give only one",
				 prompt_alias[i].alias, *key);
			return EINVAL;
		}
		*v = a;
		*key = prompt_alias[i].alias;
	}
	if (!*v)
		*v = "";
	return prompt_check(*key, *v, why, whysz);
}

/* A destination (pbx/dest): only its form here; whether a module it names
 * exists is known once every module is (dest_check at start). */
static int parse_dest(const char *key, const char *v, const char **out, char *why,
		      size_t whysz)
{
	char dwhy[160];

	*out = NULL;
	if (!v || !*v)
		return 0;
	if (dest_syntax(v, dwhy, sizeof(dwhy))) {
		snprintf(why, whysz, "%s: %s", key, dwhy);
		return EINVAL;
	}
	*out = v;
	return 0;
}

int cbconf_parse(struct callback_conf *cf, const char *name, cbconf_get_h *get, void *arg,
		 char *why, size_t whysz)
{
	int err;

	memset(cf, 0, sizeof(*cf));
	cf->name = name;
	err = parse_bool("active", get("active", arg), true, &cf->active, why, whysz);
	if (!err)
		err = parse_bool("auto_call", get("auto_call", arg), false, &cf->auto_call, why,
				 whysz);
	if (!err)
		err = parse_u32("retries", get("retries", arg), 3, 1, 100, false, &cf->retries, why,
				whysz);
	if (!err)
		err = parse_u32("min_wait", get("min_wait", arg), 0, 0, 7 * 86400, true,
				&cf->min_wait_s, why, whysz);
	if (!err)
		err = parse_u32("retry_wait", get("retry_wait", arg), 60, 0, 86400, true,
				&cf->retry_wait_s, why, whysz);
	if (err)
		return err;
	cf->code = get("code", arg);
	cf->target = get("target", arg);
	if (!cf->code || !cf->target) {
		snprintf(why, whysz, "%s: is required", cf->code ? "target" : "code");
		return EINVAL;
	}
	cf->context = get("context", arg);
	err = parse_dest("next", get("next", arg), &cf->next, why, whysz);
	if (!err)
		err = parse_dest("error", get("error", arg), &cf->error, why, whysz);
	for (int i = 0; i < CB_PROMPT_COUNT && !err; i++) {
		const char *key;

		err = prompt_get((enum callback_prompt)i, get, arg, &cf->prompt[i], &key, why,
				 whysz);
	}
	return err;
}
