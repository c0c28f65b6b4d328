/* cdrq: CDR rows copied into one allocation each, flushed by a libre timer. */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "core/log.h"
#include "pbx/chan.h"
#include "store/cdrq.h"
#include "store/store.h"

struct cdrq {
	struct store *st;
	struct list q;
	struct tmr tmr;
	cdrq_written_h *writtenh;
	void *written_arg;
	uint32_t delay;
	unsigned max_batch, n;
	bool failing;
};

struct qrec {
	struct le le;
	struct cdr_rec rec;
	char buf[];
};

static void destructor(void *arg)
{
	struct cdrq *q = arg;

	tmr_cancel(&q->tmr);
	if (q->n && cdrq_flush(q))
		log_error("cdr: %u records could not be written at shutdown", q->n);
	list_flush(&q->q);
}

int cdrq_alloc(struct cdrq **qp, struct store *st, uint32_t max_delay_ms,
	       unsigned max_batch)
{
	struct cdrq *q;

	if (!qp || !st)
		return EINVAL;
	q = mem_zalloc(sizeof(*q), destructor);
	if (!q)
		return ENOMEM;
	q->st = st;
	q->delay = max_delay_ms;
	q->max_batch = max_batch ? max_batch : 256;
	*qp = q;
	return 0;
}

static const char *copy_str(char **pos, const char *s)
{
	char *p = *pos;
	size_t n = s ? strlen(s) + 1 : 1;

	memcpy(p, s ? s : "", n);
	*pos += n;
	return p;
}

static size_t str_size(const char *s)
{
	return s ? strlen(s) + 1 : 1;
}

static void flush_h(void *arg)
{
	struct cdrq *q = arg;

	if (cdrq_flush(q) && q->n)
		tmr_start(&q->tmr, 1000, flush_h, q);   /* retry; keep the rows */
}

int cdrq_push(struct cdrq *q, const struct cdr_rec *r)
{
	const char *const *f[] = {
		&r->clid, &r->src, &r->dst, &r->dcontext, &r->channel, &r->dstchannel,
		&r->lastapp, &r->lastdata, &r->disposition, &r->uniqueid, &r->linkedid,
		&r->userfield, &r->accountcode, &r->recordingfile, &r->originated_call_id,
	};
	size_t sz = 0;
	struct qrec *e;
	char *pos;

	if (!q || !r)
		return EINVAL;
	for (size_t i = 0; i < ARRAY_SIZE(f); i++)
		sz += str_size(*f[i]);
	e = mem_zalloc(sizeof(*e) + sz, NULL);
	if (!e)
		return ENOMEM;
	e->rec = *r;
	pos = e->buf;
	e->rec.clid = copy_str(&pos, r->clid);
	e->rec.src = copy_str(&pos, r->src);
	e->rec.dst = copy_str(&pos, r->dst);
	e->rec.dcontext = copy_str(&pos, r->dcontext);
	e->rec.channel = copy_str(&pos, r->channel);
	e->rec.dstchannel = copy_str(&pos, r->dstchannel);
	e->rec.lastapp = copy_str(&pos, r->lastapp);
	e->rec.lastdata = copy_str(&pos, r->lastdata);
	e->rec.disposition = copy_str(&pos, r->disposition);
	e->rec.uniqueid = copy_str(&pos, r->uniqueid);
	e->rec.linkedid = copy_str(&pos, r->linkedid);
	e->rec.userfield = copy_str(&pos, r->userfield);
	e->rec.accountcode = copy_str(&pos, r->accountcode);
	e->rec.recordingfile = copy_str(&pos, r->recordingfile);
	e->rec.originated_call_id = copy_str(&pos, r->originated_call_id);
	list_append(&q->q, &e->le, e);
	if (++q->n >= q->max_batch)
		return cdrq_flush(q);
	if (!tmr_isrunning(&q->tmr))
		tmr_start(&q->tmr, q->delay, flush_h, q);
	return 0;
}

int cdrq_flush(struct cdrq *q)
{
	struct le *le;
	int err;

	if (!q)
		return EINVAL;
	tmr_cancel(&q->tmr);
	if (!q->n)
		return 0;
	err = store_begin(q->st);
	for (le = q->q.head; le && !err; le = le->next) {
		const struct cdr_rec *rec = &((struct qrec *)le->data)->rec;

		err = store_cdr_write(q->st, rec);
		if (!err && q->writtenh)
			err = q->writtenh(rec, q->written_arg);
	}
	if (!err)
		err = store_commit(q->st);
	if (err) {
		store_rollback(q->st);
		if (!q->failing)
			log_error("cdr: cannot write %u records, keeping them and retrying: %m",
				  q->n, err);
		q->failing = true;
		return err;
	}
	if (q->failing)
		log_info("cdr: writes recovered (%u records written)", q->n);
	q->failing = false;
	list_flush(&q->q);
	q->n = 0;
	return 0;
}

unsigned cdrq_pending(const struct cdrq *q)
{
	return q ? q->n : 0;
}

void cdrq_set_written_h(struct cdrq *q, cdrq_written_h *h, void *arg)
{
	if (!q)
		return;
	q->writtenh = h;
	q->written_arg = arg;
}
