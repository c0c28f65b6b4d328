/* qstrategy: which queue members ring next (asterisk-semantics.md §7.3), as
 * a pure function of the members' counters so it can be tested alone. Not
 * for timers, channels or member state; the queue module owns those. */
#ifndef TAMAS_QSTRATEGY_H
#define TAMAS_QSTRATEGY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum qstrategy {
	QSTRATEGY_RINGALL = 0, QSTRATEGY_LEASTRECENT, QSTRATEGY_FEWESTCALLS, QSTRATEGY_RANDOM,
	QSTRATEGY_RRMEMORY, QSTRATEGY_LINEAR, QSTRATEGY_WRANDOM,
};

/* One member as the strategy sees it, in config/add order. */
struct qcand {
	unsigned penalty;
	unsigned calls;          /* completed calls from this queue */
	uint64_t last_end_us;    /* end of its last completed call; 0 = never */
	bool usable;             /* free, unpaused, reachable, not yet tried by this caller */
};

/* Name → strategy ("roundrobin" and "rrordered" are rrmemory); EINVAL when
 * unknown. */
int qstrategy_parse(const char *name, enum qstrategy *out);
const char *qstrategy_name(enum qstrategy s);

/* Writes to out (room for max) the indexes of the members to ring now:
 * ringall every usable member of the lowest penalty, the others one.
 * rr_next is the queue's rrmemory position (index to start looking at);
 * rnd gives random numbers for random/wrandom. Returns how many. */
typedef uint32_t (qstrategy_rand_h)(void *arg);
size_t qstrategy_pick(enum qstrategy s, const struct qcand *c, size_t n, size_t rr_next,
		      qstrategy_rand_h *rnd, void *rnd_arg, size_t *out, size_t max);

#endif
