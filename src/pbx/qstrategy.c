/* qstrategy: app_queue's member selection. Every strategy but wrandom rings
 * only the lowest penalty level among usable members (penalty tiers). */
#include <errno.h>
#include <string.h>
#include <strings.h>
#include "pbx/qstrategy.h"

static const char *const names[] = {
	[QSTRATEGY_RINGALL] = "ringall", [QSTRATEGY_LEASTRECENT] = "leastrecent",
	[QSTRATEGY_FEWESTCALLS] = "fewestcalls", [QSTRATEGY_RANDOM] = "random",
	[QSTRATEGY_RRMEMORY] = "rrmemory", [QSTRATEGY_LINEAR] = "linear",
	[QSTRATEGY_WRANDOM] = "wrandom",
};

int qstrategy_parse(const char *name, enum qstrategy *out)
{
	if (!name || !out)
		return EINVAL;
	/* rrordered differs from rrmemory only across reloads, and members
	 * here always keep their config order. */
	if (!strcasecmp(name, "roundrobin") || !strcasecmp(name, "rrordered")) {
		*out = QSTRATEGY_RRMEMORY;
		return 0;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcasecmp(name, names[i])) {
			*out = (enum qstrategy)i;
			return 0;
		}
	}
	return EINVAL;
}

const char *qstrategy_name(enum qstrategy s)
{
	return (size_t)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

/* The one member of the lowest penalty with the lowest metric; ties go to
 * the earlier member in list order (rrmemory: in order from rr_next). */
static size_t pick_one(enum qstrategy s, const struct qcand *c, size_t n, size_t rr_next,
		       qstrategy_rand_h *rnd, void *arg, unsigned best_pen)
{
	size_t best = n;
	uint64_t best_metric = UINT64_MAX;

	for (size_t k = 0; k < n; k++) {
		size_t i = s == QSTRATEGY_RRMEMORY ? (rr_next + k) % n : k;
		uint64_t metric;

		if (!c[i].usable || (s != QSTRATEGY_WRANDOM && c[i].penalty != best_pen))
			continue;
		switch (s) {
		case QSTRATEGY_LEASTRECENT: metric = c[i].last_end_us; break;
		case QSTRATEGY_FEWESTCALLS: metric = c[i].calls; break;
		case QSTRATEGY_RANDOM: metric = rnd ? rnd(arg) : 0; break;
		case QSTRATEGY_WRANDOM:
			metric = rnd ? rnd(arg) % ((uint64_t)(c[i].penalty + 1) * 1000) : 0;
			break;
		default: metric = k; break;           /* rrmemory, linear: order */
		}
		if (metric < best_metric) {
			best_metric = metric;
			best = i;
		}
	}
	return best;
}

size_t qstrategy_pick(enum qstrategy s, const struct qcand *c, size_t n, size_t rr_next,
		      qstrategy_rand_h *rnd, void *rnd_arg, size_t *out, size_t max)
{
	unsigned best_pen = ~0u;
	size_t got = 0, i;

	if (!c || !out || !max || !n)
		return 0;
	for (i = 0; i < n; i++) {
		if (c[i].usable && c[i].penalty < best_pen)
			best_pen = c[i].penalty;
	}
	if (best_pen == ~0u)
		return 0;
	if (s == QSTRATEGY_RINGALL) {
		for (i = 0; i < n && got < max; i++) {
			if (c[i].usable && c[i].penalty == best_pen)
				out[got++] = i;
		}
		return got;
	}
	i = pick_one(s, c, n, rr_next % n, rnd, rnd_arg, best_pen);
	if (i == n)
		return 0;
	out[0] = i;
	return 1;
}
