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

/* Called for each record inside the group's transaction, after its row is
 * written and before COMMIT, so that what h writes to the store (the Cdr
 * webhook's outbox row) becomes durable together with the CDR row or not at
 * all: never a webhook for a CDR that is not there, never a CDR whose
 * webhook was lost. A non-zero return rolls the group back and retries it
 * like a failed write, so h returns non-zero for store errors only. */
typedef int (cdrq_written_h)(const struct cdr_rec *rec, void *arg);
void cdrq_set_written_h(struct cdrq *q, cdrq_written_h *h, void *arg);

#endif
