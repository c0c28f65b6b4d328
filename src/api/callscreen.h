/* callscreen: what the blacklist and whitelist (spec §2.9, store/numlist)
 * mean for an incoming call. A whitelisted caller always gets in and the
 * dialplan sees its labels; otherwise a blacklisted caller is refused.
 * Exact match on the caller number as it arrived (From user part). Read
 * per call, so API changes apply to the next call. Not for acting on the
 * verdict (tamasd rejects the channel). */
#ifndef TAMAS_API_CALLSCREEN_H
#define TAMAS_API_CALLSCREEN_H

#include <stddef.h>

struct store;

enum callscreen_verdict {
	CALLSCREEN_PASS,            /* on neither list */
	CALLSCREEN_WHITELISTED,     /* labels filled: "a,b" */
	CALLSCREEN_BLACKLISTED,     /* reject the call */
};

/* The verdict for a call from caller. A store error passes the call (and
 * is logged): a broken list must not stop every call. */
enum callscreen_verdict callscreen_check(struct store *st, const char *caller, char *labels,
					 size_t lsz);

#endif
