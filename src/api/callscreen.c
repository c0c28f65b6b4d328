/* callscreen: two point lookups in the numlist table per incoming call. */
#include "core/rejansson.h"
#include <errno.h>
#include <string.h>
#include "api/callscreen.h"
#include "core/log.h"
#include "store/numlist.h"

struct labels_out {
	char *buf;
	size_t sz;
};

/* The stored JSON array as "a,b" (labels cannot hold ','). */
static int labels_h(const struct numlist_entry *e, void *arg)
{
	struct labels_out *lo = arg;
	json_t *arr = json_loads(e->labels, 0, NULL), *l;
	size_t i, n = 0;

	if (!lo->sz)
		goto out;
	lo->buf[0] = '\0';
	json_array_foreach(arr, i, l) {
		const char *s = json_string_value(l);
		int w;

		if (!s)
			continue;
		w = re_snprintf(lo->buf + n, lo->sz - n, "%s%s", n ? "," : "", s);
		if (w < 0)
			break;          /* out of room: keep the labels that fit */
		n += (size_t)w;
	}
 out:
	json_decref(arr);
	return 0;
}

static int found_h(const struct numlist_entry *e, void *arg)
{
	(void)e;
	(void)arg;
	return 0;
}

enum callscreen_verdict callscreen_check(struct store *st, const char *caller, char *labels,
					 size_t lsz)
{
	struct labels_out lo = { labels, lsz };
	int err;

	if (labels && lsz)
		labels[0] = '\0';
	if (!st || !caller || !*caller)
		return CALLSCREEN_PASS;
	err = numlist_lookup(st, NUMLIST_WHITE, caller, labels_h, &lo);
	if (!err)
		return CALLSCREEN_WHITELISTED;
	if (err == ENOENT)
		err = numlist_lookup(st, NUMLIST_BLACK, caller, found_h, NULL);
	if (!err)
		return CALLSCREEN_BLACKLISTED;
	if (err != ENOENT)
		log_warn("callscreen: lists unreadable, call let in (caller=%s err=%m)", caller,
			 err);
	return CALLSCREEN_PASS;
}
