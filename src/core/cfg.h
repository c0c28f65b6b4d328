/* cfg: INI configuration (tamas.conf) with `section.key=value` overrides.
 * Not for runtime state; values are read once at start-up. */
#ifndef TAMAS_CFG_H
#define TAMAS_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cfg;

/* Loads path (NULL = no file, defaults only) then applies overrides
 * ("section.key=value"). On error returns errno value and writes
 * "file:line: reason" (or "-s section.key=value: reason") to err. */
int cfg_load(struct cfg **cfgp, const char *path, char *const *overrides,
	      size_t n_overrides, char *err, size_t errsz);
void cfg_free(struct cfg *conf);

/* Value of section.key or NULL. Section names compare case-insensitively. */
const char *cfg_get(const struct cfg *cfg, const char *section, const char *key);
const char *cfg_get_str(const struct cfg *cfg, const char *section, const char *key,
			 const char *dflt);
/* Integer in [min,max]; on bad value returns EINVAL and writes file:line: reason. */
int cfg_get_u32(const struct cfg *cfg, const char *section, const char *key,
		 uint32_t dflt, uint32_t min, uint32_t max, uint32_t *out,
		 char *err, size_t errsz);
int cfg_get_bool(const struct cfg *cfg, const char *section, const char *key,
		  bool dflt, bool *out, char *err, size_t errsz);
/* "file:line" where section.key was set (or "-s" for overrides), for messages. */
const char *cfg_where(const struct cfg *cfg, const char *section, const char *key);

/* Visits every section whose name starts with prefix followed by a space,
 * e.g. prefix "user" visits "[user 1001]" with name "1001". Stops on non-zero. */
typedef int (cfg_section_h)(const struct cfg *cfg, const char *section,
			     const char *name, void *arg);
int cfg_apply_sections(const struct cfg *cfg, const char *prefix,
			cfg_section_h *h, void *arg);
/* Visits every key of section in file order ([applicationmap] lines). */
typedef int (cfg_key_h)(const char *key, const char *value, const char *where, void *arg);
int cfg_apply_keys(const struct cfg *cfg, const char *section, cfg_key_h *h, void *arg);

#endif
