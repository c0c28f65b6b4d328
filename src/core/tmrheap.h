/* tmrheap: O(log n) replacement of libre 1.1.0's timer list by symbol
 * interposition (design/timers.md). Defining tmr_start & co. is the whole
 * mechanism; this header only exposes the start-up check. */
#ifndef TAMAS_TMRHEAP_H
#define TAMAS_TMRHEAP_H

/* Returns 0 when libre's own internal tmr_* calls reach tamas's heap,
 * ENOTSUP (and logs why) otherwise: libre is not 1.1.0, the executable does
 * not export tmr_* (-Wl,--export-dynamic-symbol=tmr_*), or libre was built
 * with -Bsymbolic or versioned symbols. Call once at start-up. */
int tmrheap_selftest(void);

#endif
