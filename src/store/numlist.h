/* numlist: Simotel's blacklist and whitelist (spec §2.9): numbers with a
 * comment (and, on the whitelist, labels). The call path asks
 * numlist_lookup for each incoming call, so a change applies to the next
 * call. Not for the screening policy itself (tamasd decides what a match
 * does). */
#ifndef TAMAS_STORE_NUMLIST_H
#define TAMAS_STORE_NUMLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;

enum numlist_kind { NUMLIST_BLACK, NUMLIST_WHITE };

struct numlist_entry {
	const char *id;         /* 24 hex digits: the API's _id */
	const char *number;
	const char *labels;     /* JSON array text ("[]" on the blacklist) */
	const char *comment;
	const char *created;    /* UTC "YYYY-MM-DD HH:MM:SS" */
};
/* Gets one row; its strings are valid during the call only. */
typedef int (numlist_h)(const struct numlist_entry *e, void *arg);

/* Inserts e (id and created ignored); writes the new id (idsz >= 25).
 * EEXIST: the number is already on that list. */
int numlist_add(struct store *st, enum numlist_kind k, const struct numlist_entry *e,
		char *id, size_t idsz);
/* Replaces number, labels and comment of row e->id. ENOENT; EEXIST. */
int numlist_update(struct store *st, enum numlist_kind k, const struct numlist_entry *e);
int numlist_del(struct store *st, enum numlist_kind k, const char *id);       /* ENOENT */
int numlist_get(struct store *st, enum numlist_kind k, const char *id,
		numlist_h *h, void *arg);                                     /* ENOENT */
/* The row whose number equals number exactly; ENOENT if none. */
int numlist_lookup(struct store *st, enum numlist_kind k, const char *number,
		   numlist_h *h, void *arg);

struct numlist_query {
	const char *number;     /* NULL or "" = any */
	bool alike;             /* substring match, else equality */
	const char *sort;       /* "number" (NULL), "date" or "_id" */
	bool desc;
	uint32_t start;
	uint32_t count;         /* 0 = no limit */
};
/* Matching rows in order from start; *total = matches overall. EINVAL for
 * an unknown sort field. */
int numlist_search(struct store *st, enum numlist_kind k, const struct numlist_query *q,
		   uint64_t *total, numlist_h *h, void *arg);

#endif
