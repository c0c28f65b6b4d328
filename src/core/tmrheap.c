/* tmrheap: libre 1.1.0's timer API on a 4-ary min-heap (design/timers.md).
 * Defining these symbols in the executable makes the dynamic linker bind
 * libre's own calls to them; libre's sorted list is never used.
 *
 * One heap per libre timer list (one per struct re, i.e. per thread); the
 * list's head field holds the heap, tail stays NULL. Per-timer bookkeeping
 * uses only public struct tmr fields: th != NULL means running (libre's
 * inline tmr_isrunning reads it), le.data is the owning heap, le.prev the
 * index in it. le.list stays NULL so a stray list_unlink() is harmless.
 * Heap entries carry their key (expiry, start sequence) so sifting never
 * touches the timers' cache lines except to store the new index. */
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "core/log.h"
#include "core/tmrheap.h"

enum {
	D = 4,             /* arity: 4 children share one or two cache lines */
	CAP_MIN = 64,
	CAP_SHRINK = 4096, /* no shrinking below: no realloc ping-pong */
};

struct hent {
	uint64_t jfs;      /* copy of tmr->jfs */
	uint64_t seq;      /* start order, breaks ties (libre's FIFO order) */
	struct tmr *tmr;
};

struct theap {
	struct hent *v;
	size_t n, cap;
	uint64_t seq;
	struct list *list; /* whose head points here */
};

extern struct list *tmrl_get(void);

/* Set by every tmr_start: libre's tmr_cancel reaching it proves the
 * interposition (tmrheap_selftest). */
static _Thread_local bool start_reached;

static struct theap *heap_get(const struct list *l)
{
	return (struct theap *)(void *)l->head;
}

static struct theap *heap_open(struct list *l)
{
	struct theap *h = heap_get(l);

	if (h)
		return h;
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->list = l;
	l->head = (struct le *)(void *)h;
	return h;
}

/* libre never frees its timer lists' contents, so an empty heap is freed at
 * once: nothing is left over after libre_close() or re_thread_close(). */
static void heap_close_if_empty(struct theap *h)
{
	if (h->n)
		return;
	h->list->head = NULL;
	free(h->v);
	free(h);
}

static inline bool before(const struct hent *a, const struct hent *b)
{
	return a->jfs < b->jfs || (a->jfs == b->jfs && a->seq < b->seq);
}

static inline void heap_set(struct theap *h, size_t i, const struct hent *e)
{
	h->v[i] = *e;
	e->tmr->le.prev = (struct le *)(uintptr_t)i;
}

static size_t heap_up(struct theap *h, size_t i)
{
	const struct hent e = h->v[i];

	while (i > 0) {
		size_t p = (i - 1) / D;

		if (!before(&e, &h->v[p]))
			break;
		heap_set(h, i, &h->v[p]);
		i = p;
	}
	heap_set(h, i, &e);
	return i;
}

static void heap_down(struct theap *h, size_t i)
{
	const struct hent e = h->v[i];

	for (;;) {
		size_t c = i * D + 1, end = c + D, best = c;

		if (c >= h->n)
			break;
		if (end > h->n)
			end = h->n;
		for (size_t k = c + 1; k < end; k++) {
			if (before(&h->v[k], &h->v[best]))
				best = k;
		}
		if (!before(&h->v[best], &e))
			break;
		heap_set(h, i, &h->v[best]);
		i = best;
	}
	heap_set(h, i, &e);
}

static int heap_insert(struct theap *h, struct tmr *tmr)
{
	struct hent e = {tmr->jfs, ++h->seq, tmr};

	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : CAP_MIN;
		struct hent *v = realloc(h->v, cap * sizeof(*v));

		if (!v)
			return ENOMEM;
		h->v = v;
		h->cap = cap;
	}
	h->v[h->n] = e;
	tmr->le.data = h;
	(void)heap_up(h, h->n++);
	return 0;
}

static void heap_shrink(struct theap *h)
{
	struct hent *v;

	if (h->cap <= CAP_SHRINK || h->n >= h->cap / 4)
		return;
	v = realloc(h->v, h->cap / 2 * sizeof(*v));
	if (!v)
		return;  /* keeping the larger array is fine */
	h->v = v;
	h->cap /= 2;
}

static void heap_remove(struct theap *h, size_t i)
{
	struct tmr *tmr = h->v[i].tmr;

	tmr->le.data = NULL;
	tmr->le.prev = NULL;
	if (i != --h->n) {
		heap_set(h, i, &h->v[h->n]);
		if (heap_up(h, i) == i)
			heap_down(h, i);
	}
	heap_shrink(h);
}

/* Removes a running timer from its heap, which may be another thread's
 * when the timer was started there (libre's list_unlink does the same). */
static struct theap *heap_unlink(struct tmr *tmr)
{
	struct theap *h = tmr->le.data;
	size_t i = (size_t)(uintptr_t)tmr->le.prev;

	if (!h)
		return NULL;
	if (i < h->n && h->v[i].tmr == tmr)
		heap_remove(h, i);
	else
		tmr->le.data = NULL;  /* not ours: a copied struct tmr */
	return h;
}

void tmr_start(struct tmr *tmr, uint64_t delay, tmr_h *th, void *arg)
{
	struct theap *old = NULL, *h = NULL;

	start_reached = true;
	if (!tmr)
		return;
	if (tmr->th)
		old = heap_unlink(tmr);
	tmr->th = th;
	tmr->arg = arg;
	if (th) {
		tmr->jfs = delay + tmr_jiffies();
		h = heap_open(tmrl_get());
		if (!h || heap_insert(h, tmr)) {
			/* libre gives tmr_start no way to fail; a timer that
			 * never fires is at least visible in the log. */
			tmr->th = NULL;
			log_error("tmrheap: out of memory, timer dropped "
				  "(th=%p delay=%llu)", (void *)th,
				  (unsigned long long)delay);
		}
	}
	if (old && old != h)
		heap_close_if_empty(old);
	if (h && !tmr->th)
		heap_close_if_empty(h);
}

void tmr_cancel(struct tmr *tmr)
{
	tmr_start(tmr, 0, NULL, NULL);
}

/* The heap is looked up again after every handler: a handler may start or
 * cancel any timer, itself included, and may empty (free) the heap. */
void tmr_poll(struct list *tmrl)
{
	const uint64_t now = tmr_jiffies();

	for (;;) {
		struct theap *h = heap_get(tmrl);
		struct tmr *tmr;
		tmr_h *th;
		void *arg;

		if (!h || !h->n || h->v[0].jfs > now)
			break;
		tmr = h->v[0].tmr;
		th = tmr->th;
		arg = tmr->arg;
		tmr->th = NULL;
		heap_remove(h, 0);
		heap_close_if_empty(h);
		if (th)
			th(arg);
	}
}

/* re_main blocks forever on 0, so an overdue timer must give 1. */
uint64_t tmr_next_timeout(struct list *tmrl)
{
	const struct theap *h = heap_get(tmrl);
	uint64_t now;

	if (!h || !h->n)
		return 0;
	now = tmr_jiffies();
	return h->v[0].jfs <= now ? 1 : h->v[0].jfs - now;
}

uint64_t tmr_get_expire(const struct tmr *tmr)
{
	uint64_t now;

	if (!tmr || !tmr->th)
		return 0;
	now = tmr_jiffies();
	return tmr->jfs > now ? tmr->jfs - now : 0;
}

/* Unlike libre's, prints only the earliest timer: with tens of thousands
 * running, a full dump is useless and slow. */
int tmr_status(struct re_printf *pf, void *unused)
{
	const struct theap *h = heap_get(tmrl_get());
	const struct tmr *first;

	(void)unused;
	if (!h || !h->n)
		return 0;
	first = h->v[0].tmr;
	return re_hprintf(pf, "Timers (%zu, heap capacity %zu):\n"
			  "  next %p: th=%p expire=%llums\n", h->n, h->cap,
			  (const void *)first, (void *)first->th,
			  (unsigned long long)tmr_get_expire(first));
}

void tmr_debug(void)
{
	const struct theap *h = heap_get(tmrl_get());

	if (h && h->n)
		(void)re_fprintf(stderr, "%H", tmr_status, NULL);
}

typedef void (any_fn)(void);

/* Every replaced function must be the one the global scope resolves,
 * otherwise libre would mix its list code with our heap pointer. */
static int check_exported(void)
{
	static const struct {
		const char *name;
		any_fn *ours;
	} fns[] = {
		{"tmr_start",        (any_fn *)tmr_start},
		{"tmr_cancel",       (any_fn *)tmr_cancel},
		{"tmr_poll",         (any_fn *)tmr_poll},
		{"tmr_next_timeout", (any_fn *)tmr_next_timeout},
		{"tmr_get_expire",   (any_fn *)tmr_get_expire},
		{"tmr_status",       (any_fn *)tmr_status},
		{"tmr_debug",        (any_fn *)tmr_debug},
	};

	for (size_t i = 0; i < ARRAY_SIZE(fns); i++) {
		any_fn *bound = (any_fn *)dlsym(RTLD_DEFAULT, fns[i].name);

		if (bound != fns[i].ours) {
			log_error("tmrheap: %s is not tamas's (link with "
				  "-Wl,--export-dynamic-symbol=tmr_*)",
				  fns[i].name);
			return ENOTSUP;
		}
	}
	return 0;
}

int tmrheap_selftest(void)
{
	void (*libre_cancel)(struct tmr *);
	const char *ver = sys_libre_version_get();
	struct tmr t;
	int err;

	/* The heap relies on 1.1.0's struct tmr and on tmr.c being the only
	 * code that touches the timer list. */
	if (!ver || strcmp(ver, "1.1.0")) {
		log_error("tmrheap: libre %s, heap timers need 1.1.0",
			  ver ? ver : "?");
		return ENOTSUP;
	}
	err = check_exported();
	if (err)
		return err;
	libre_cancel = (void (*)(struct tmr *))dlsym(RTLD_NEXT, "tmr_cancel");
	if (!libre_cancel) {
		log_error("tmrheap: libre's tmr_cancel not found: %s", dlerror());
		return ENOTSUP;
	}
	tmr_init(&t);
	start_reached = false;
	libre_cancel(&t);
	if (!start_reached) {
		log_error("tmrheap: libre calls its own tmr_start (built with "
			  "-Bsymbolic or versioned symbols?)");
		return ENOTSUP;
	}
	return 0;
}
