/* cfg: a small INI reader that remembers file:line for every value, so a bad
 * value can be reported where it was written. Debian's inih is built without
 * INI_HANDLER_LINENO, which is why this is not an inih handler. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "core/cfg.h"

struct cfg_entry {
	char *section, *key, *value;
	char where[300];
};

struct cfg {
	struct cfg_entry *v;
	size_t n, cap;
	char **sections;          /* in file order, for cfg_apply_sections */
	size_t nsec;
};

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* ';' or '#' after whitespace starts a comment (values may contain '#'). */
/* ';' starts a comment (after a blank or at the start); '#' only as the
 * first non-blank of a line, so values may start with '#' (a DTMF code). */
static void strip_comment(char *s)
{
	char *first = s;

	while (isspace((unsigned char)*first))
		++first;
	if (*first == '#') {
		*s = '\0';
		return;
	}
	for (char *p = s; *p; p++) {
		if (*p == ';' && (p == s || isspace((unsigned char)p[-1]))) {
			*p = '\0';
			return;
		}
	}
}

static struct cfg_entry *find(const struct cfg *c, const char *sec, const char *key)
{
	for (size_t i = c->n; i-- > 0;) {
		if (!strcasecmp(c->v[i].section, sec) && !strcmp(c->v[i].key, key))
			return &c->v[i];
	}
	return NULL;
}

static int add_section(struct cfg *c, const char *sec)
{
	char **s;

	for (size_t i = 0; i < c->nsec; i++)
		if (!strcasecmp(c->sections[i], sec))
			return 0;
	s = realloc(c->sections, (c->nsec + 1) * sizeof(*s));
	if (!s)
		return ENOMEM;
	c->sections = s;
	s[c->nsec] = strdup(sec);
	if (!s[c->nsec])
		return ENOMEM;
	c->nsec++;
	return 0;
}

static int set(struct cfg *c, const char *sec, const char *key, const char *val,
	       const char *where)
{
	struct cfg_entry *e = find(c, sec, key);

	if (!e) {
		if (c->n == c->cap) {
			size_t cap = c->cap ? c->cap * 2 : 32;
			struct cfg_entry *v = realloc(c->v, cap * sizeof(*v));
			if (!v)
				return ENOMEM;
			c->v = v;
			c->cap = cap;
		}
		e = &c->v[c->n++];
		e->section = strdup(sec);
		e->key = strdup(key);
		e->value = NULL;
		if (!e->section || !e->key)
			return ENOMEM;
	}
	free(e->value);
	e->value = strdup(val);
	snprintf(e->where, sizeof(e->where), "%s", where);
	return e->value ? add_section(c, sec) : ENOMEM;
}

static int parse_line(struct cfg *c, char *line, char *section, size_t secsz,
		      const char *where, char *err, size_t errsz)
{
	char *s, *eq, *key, *val;

	strip_comment(line);
	s = trim(line);
	if (!*s)
		return 0;
	if (*s == '[') {
		char *end = strchr(s, ']');
		if (!end || end[1] || end == s + 1) {
			snprintf(err, errsz, "%s: bad section header '%s'", where, s);
			return EINVAL;
		}
		*end = '\0';
		snprintf(section, secsz, "%s", trim(s + 1));
		return add_section(c, section);
	}
	eq = strchr(s, '=');
	if (!eq) {
		snprintf(err, errsz, "%s: expected 'key = value', got '%s'", where, s);
		return EINVAL;
	}
	*eq = '\0';
	key = trim(s);
	val = trim(eq + 1);
	if (!*key) {
		snprintf(err, errsz, "%s: missing key before '='", where);
		return EINVAL;
	}
	if (!*section) {
		snprintf(err, errsz, "%s: key '%s' outside any [section]", where, key);
		return EINVAL;
	}
	if (find(c, section, key)) {
		snprintf(err, errsz, "%s: duplicate key '%s' in [%s] (first at %s)", where, key,
			 section, find(c, section, key)->where);
		return EINVAL;
	}
	return set(c, section, key, val, where);
}

static int load_file(struct cfg *c, const char *path, char *err, size_t errsz)
{
	char line[1024], section[128] = "", where[300];
	unsigned lineno = 0;
	FILE *f = fopen(path, "r");
	int e = 0;

	if (!f) {
		e = errno;
		snprintf(err, errsz, "%s: %s", path, strerror(e));
		return e;
	}
	while (!e && fgets(line, sizeof(line), f)) {
		++lineno;
		snprintf(where, sizeof(where), "%s:%u", path, lineno);
		if (!strchr(line, '\n') && !feof(f)) {
			snprintf(err, errsz, "%s: line too long", where);
			e = EINVAL;
			break;
		}
		e = parse_line(c, line, section, sizeof(section), where, err, errsz);
	}
	fclose(f);
	return e;
}

static int apply_override(struct cfg *c, const char *o, char *err, size_t errsz)
{
	char buf[1024], where[1100], *eq, *dot;

	snprintf(where, sizeof(where), "-s %s", o);
	if (strlen(o) >= sizeof(buf)) {
		snprintf(err, errsz, "%s: too long", where);
		return EINVAL;
	}
	strcpy(buf, o);
	eq = strchr(buf, '=');
	if (!eq) {
		snprintf(err, errsz, "%s: expected section.key=value", where);
		return EINVAL;
	}
	*eq = '\0';
	dot = strrchr(buf, '.');
	if (!dot || dot == buf || !dot[1]) {
		snprintf(err, errsz, "%s: expected section.key=value", where);
		return EINVAL;
	}
	*dot = '\0';
	return set(c, trim(buf), trim(dot + 1), trim(eq + 1), where);
}

int cfg_load(struct cfg **cfgp, const char *path, char *const *overrides,
	     size_t n_overrides, char *err, size_t errsz)
{
	struct cfg *c = calloc(1, sizeof(*c));
	int e = 0;

	if (!c)
		return ENOMEM;
	if (path)
		e = load_file(c, path, err, errsz);
	for (size_t i = 0; !e && i < n_overrides; i++)
		e = apply_override(c, overrides[i], err, errsz);
	if (e) {
		cfg_free(c);
		return e;
	}
	*cfgp = c;
	return 0;
}

void cfg_free(struct cfg *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].section);
		free(c->v[i].key);
		free(c->v[i].value);
	}
	for (size_t i = 0; i < c->nsec; i++)
		free(c->sections[i]);
	free(c->sections);
	free(c->v);
	free(c);
}

const char *cfg_get(const struct cfg *c, const char *section, const char *key)
{
	const struct cfg_entry *e = c ? find(c, section, key) : NULL;
	return e ? e->value : NULL;
}

const char *cfg_get_str(const struct cfg *c, const char *section, const char *key,
			const char *dflt)
{
	const char *v = cfg_get(c, section, key);
	return v && *v ? v : dflt;
}

const char *cfg_where(const struct cfg *c, const char *section, const char *key)
{
	const struct cfg_entry *e = c ? find(c, section, key) : NULL;
	return e ? e->where : "(default)";
}

int cfg_get_u32(const struct cfg *c, const char *section, const char *key,
		uint32_t dflt, uint32_t min, uint32_t max, uint32_t *out,
		char *err, size_t errsz)
{
	const char *v = cfg_get(c, section, key);
	unsigned long long n;
	char *end;

	if (!v || !*v) {
		*out = dflt;
		return 0;
	}
	errno = 0;
	n = strtoull(v, &end, 10);
	if (!isdigit((unsigned char)*v) || *end || errno || n < min || n > max) {
		snprintf(err, errsz, "%s: %s.%s: expected integer %u..%u, got '%s'",
			 cfg_where(c, section, key), section, key, min, max, v);
		return EINVAL;
	}
	*out = (uint32_t)n;
	return 0;
}

int cfg_get_bool(const struct cfg *c, const char *section, const char *key,
		 bool dflt, bool *out, char *err, size_t errsz)
{
	static const char *yes[] = { "yes", "true", "on", "1" };
	static const char *no[] = { "no", "false", "off", "0" };
	const char *v = cfg_get(c, section, key);

	if (!v || !*v) {
		*out = dflt;
		return 0;
	}
	for (size_t i = 0; i < 4; i++) {
		if (!strcasecmp(v, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(v, no[i])) {
			*out = false;
			return 0;
		}
	}
	snprintf(err, errsz, "%s: %s.%s: expected yes or no, got '%s'",
		 cfg_where(c, section, key), section, key, v);
	return EINVAL;
}

int cfg_apply_sections(const struct cfg *c, const char *prefix, cfg_section_h *h,
		       void *arg)
{
	size_t plen = strlen(prefix);

	for (size_t i = 0; c && i < c->nsec; i++) {
		const char *s = c->sections[i];
		int e;

		if (strncasecmp(s, prefix, plen) || s[plen] != ' ')
			continue;
		e = h(c, s, trim((char *)s + plen + 1) , arg);
		if (e)
			return e;
	}
	return 0;
}

int cfg_apply_keys(const struct cfg *c, const char *section, cfg_key_h *h, void *arg)
{
	for (size_t i = 0; c && i < c->n; i++) {
		const struct cfg_entry *e = &c->v[i];
		int err;

		if (strcasecmp(e->section, section) || find(c, section, e->key) != e)
			continue;       /* a later line (or -s) set it again */
		err = h(e->key, e->value, e->where, arg);
		if (err)
			return err;
	}
	return 0;
}
