/* tmrheap: O(log n) replacement of libre 1.1.0's timer list by symbol
 * interposition (design/timers.md). Defining tmr_start & co. is the whole
 * mechanism; this header only exposes the start-up check. */
#ifndef TAMAS_TMRHEAP_H
#define TAMAS_TMRHEAP_H

/* Returns 0 when libre's own internal tmr_* calls reach tamas's heap,
 * ENOTSUP otherwise (libre built with -Bsymbolic or versioned symbols). */
int tmrheap_selftest(void);

#endif
