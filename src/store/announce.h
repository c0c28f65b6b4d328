/* announce: Simotel's announcements (spec §2.7): a named prompt, its audio
 * file (an upload or a TTS rendering) and a comment. Only the rows: the
 * files themselves are the routes' business (api/routes_mgmt). */
#ifndef TAMAS_STORE_ANNOUNCE_H
#define TAMAS_STORE_ANNOUNCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;

struct announce {
	const char *id;         /* 24 hex digits: the API's _id */
	const char *name;       /* what app.playback() names; unique */
	const char *filename;   /* stored upload name */
	const char *comment;
	const char *text;       /* TTS source text, "" for an upload */
	const char *lang;       /* TTS language, "" for an upload */
	const char *status;     /* "ready" or "rendering" (TTS under way) */
	const char *created;    /* UTC "YYYY-MM-DD HH:MM:SS" */
};
/* Gets one row; its strings are valid during the call only. */
typedef int (announce_h)(const struct announce *a, void *arg);

/* Inserts a (id and created ignored); writes the new id (idsz >= 25).
 * EEXIST: the name is taken. */
int announce_add(struct store *st, const struct announce *a, char *id, size_t idsz);
/* Replaces every field of row a->id. ENOENT; EEXIST: the new name is taken. */
int announce_update(struct store *st, const struct announce *a);
int announce_del(struct store *st, const char *id);                           /* ENOENT */
int announce_get(struct store *st, const char *id, announce_h *h, void *arg); /* ENOENT */
/* How many rows use filename. */
int announce_filename_uses(struct store *st, const char *filename, uint64_t *n);

struct announce_query {
	const char *name;       /* NULL or "" = any */
	bool alike;             /* substring match, else equality */
	const char *sort;       /* "name" (NULL), "date" or "_id" */
	bool desc;
	uint32_t start;
	uint32_t count;         /* 0 = no limit */
};
/* Matching rows in order from start; *total = matches overall. EINVAL for
 * an unknown sort field. */
int announce_search(struct store *st, const struct announce_query *q, uint64_t *total,
		    announce_h *h, void *arg);

#endif
