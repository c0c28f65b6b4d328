/* tmrheap: libre's timer API on a 4-ary min-heap (design/timers.md).
 * Defining these symbols in the executable makes the dynamic linker bind
 * libre's own calls to them; libre's sorted list is never used.
 * Per-timer bookkeeping lives in the public struct tmr fields:
 * le.data = owning heap, le.prev = heap index, le.next = start sequence
 * (ties fire in start order), th != NULL = running (libre's tmr_isrunning). */
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <re.h>
#include "core/tmrheap.h"

#define D 4

struct theap {
	struct tmr **v;
	size_t n, cap;
	uint64_t seq;
};

extern struct list *tmrl_get(void);

static __thread bool selftest_hit;

static struct theap *heap_of_list(struct list *l, bool create)
{
	struct theap *h = (struct theap *)l->head;

	if (!h && create) {
		h = calloc(1, sizeof(*h));
		l->head = (struct le *)h;
	}
	return h;
}

/* The heap is freed when it empties, so nothing outlives libre_close(). */
static void heap_release_if_empty(struct list *l, struct theap *h)
{
	if (h->n)
		return;
	free(h->v);
	free(h);
	l->head = NULL;
}

static inline size_t idx_of(const struct tmr *t) { return (size_t)(uintptr_t)t->le.prev; }
static inline uint64_t seq_of(const struct tmr *t) { return (uint64_t)(uintptr_t)t->le.next; }

static inline bool before(const struct tmr *a, const struct tmr *b)
{
	return a->jfs < b->jfs || (a->jfs == b->jfs && seq_of(a) < seq_of(b));
}

static inline void place(struct theap *h, size_t i, struct tmr *t)
{
	h->v[i] = t;
	t->le.prev = (struct le *)(uintptr_t)i;
}

static void sift_up(struct theap *h, size_t i)
{
	struct tmr *t = h->v[i];

	while (i > 0) {
		size_t p = (i - 1) / D;
		if (!before(t, h->v[p]))
			break;
		place(h, i, h->v[p]);
		i = p;
	}
	place(h, i, t);
}

static void sift_down(struct theap *h, size_t i)
{
	struct tmr *t = h->v[i];

	for (;;) {
		size_t c = i * D + 1, best = 0;
		bool found = false;

		for (size_t k = 0; k < D && c + k < h->n; k++) {
			if (!found ? before(h->v[c + k], t) : before(h->v[c + k], h->v[best])) {
				best = c + k;
				found = true;
			}
		}
		if (!found)
			break;
		place(h, i, h->v[best]);
		i = best;
	}
	place(h, i, t);
}

static void heap_remove(struct theap *h, struct tmr *t)
{
	size_t i = idx_of(t);
	struct tmr *last;

	if (i >= h->n || h->v[i] != t)
		return;
	last = h->v[--h->n];
	t->le.data = NULL;
	if (last == t)
		return;
	place(h, i, last);
	sift_up(h, i);
	sift_down(h, idx_of(last));
}

void tmr_cancel(struct tmr *tmr)
{
	tmr_start(tmr, 0, NULL, NULL);
}

void tmr_start(struct tmr *tmr, uint64_t delay, tmr_h *th, void *arg)
{
	struct list *l = tmrl_get();
	struct theap *h;

	selftest_hit = true;
	if (!tmr)
		return;
	if (tmr->th && tmr->le.data) {
		struct theap *owner = tmr->le.data;
		heap_remove(owner, tmr);
		if (owner == (struct theap *)l->head)
			heap_release_if_empty(l, owner);
	}
	tmr->th = th;
	tmr->arg = arg;
	if (!th)
		return;
	h = heap_of_list(l, true);
	if (!h || (h->n == h->cap && !(h->cap = h->cap ? h->cap * 2 : 256,
	    h->v = realloc(h->v, h->cap * sizeof(*h->v))))) {
		/* Out of memory: never fire rather than corrupt the heap. */
		tmr->th = NULL;
		return;
	}
	tmr->jfs = delay + tmr_jiffies();
	tmr->le.next = (struct le *)(uintptr_t)++h->seq;
	tmr->le.data = h;
	tmr->le.list = NULL;
	place(h, h->n++, tmr);
	sift_up(h, h->n - 1);
}

void tmr_poll(struct list *tmrl)
{
	const uint64_t now = tmr_jiffies();

	for (;;) {
		struct theap *h = heap_of_list(tmrl, false);
		struct tmr *t;
		tmr_h *th;
		void *arg;

		if (!h || !h->n || h->v[0]->jfs > now)
			break;
		t = h->v[0];
		th = t->th;
		arg = t->arg;
		heap_remove(h, t);
		t->th = NULL;
		heap_release_if_empty(tmrl, h);
		if (th)
			th(arg);
	}
}

uint64_t tmr_next_timeout(struct list *tmrl)
{
	struct theap *h = heap_of_list(tmrl, false);
	uint64_t now;

	if (!h || !h->n)
		return 0;
	now = tmr_jiffies();
	return h->v[0]->jfs <= now ? 1 : h->v[0]->jfs - now;
}

uint64_t tmr_get_expire(const struct tmr *tmr)
{
	uint64_t now;

	if (!tmr || !tmr->th)
		return 0;
	now = tmr_jiffies();
	return tmr->jfs > now ? tmr->jfs - now : 0;
}

int tmr_status(struct re_printf *pf, void *unused)
{
	struct theap *h = heap_of_list(tmrl_get(), false);
	(void)unused;

	if (!h || !h->n)
		return 0;
	return re_hprintf(pf, "Timers (%zu), next in %llu ms\n", h->n,
			  (unsigned long long)tmr_get_expire(h->v[0]));
}

void tmr_debug(void)
{
	struct theap *h = heap_of_list(tmrl_get(), false);

	if (h && h->n)
		(void)re_fprintf(stderr, "%H", tmr_status, NULL);
}

int tmrheap_selftest(void)
{
	void (*libre_cancel)(struct tmr *) = (void (*)(struct tmr *))dlsym(RTLD_NEXT, "tmr_cancel");
	struct tmr t;

	if (!libre_cancel)
		return ENOTSUP;
	tmr_init(&t);
	selftest_hit = false;
	libre_cancel(&t);
	return selftest_hit ? 0 : ENOTSUP;
}
