/* cdrq: group commit of CDR rows. Rows queued within a few milliseconds are
 * written in one transaction, so a burst of hangups costs one fsync, not one
 * per call. Rows wait in memory at most max_delay_ms; a failed write keeps
 * them queued and retries, so nothing is dropped. */
#ifndef TAMAS_CDRQ_H
#define TAMAS_CDRQ_H

#include <stdint.h>

struct cdrq;
struct store;
struct cdr_rec;

int cdrq_alloc(struct cdrq **qp, struct store *st, uint32_t max_delay_ms,
	       unsigned max_batch);
/* Copies rec; the write happens within max_delay_ms (or at once when the
 * batch is full). */
int cdrq_push(struct cdrq *q, const struct cdr_rec *rec);
/* Writes everything queued now; 0 or the store's error. */
int cdrq_flush(struct cdrq *q);
unsigned cdrq_pending(const struct cdrq *q);

#endif
