/* player: a playlist as an mstream source. Files are opened only when their
 * turn comes, so a long list costs one open file at a time. */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "core/log.h"
#include "media/afile.h"
#include "media/mstream.h"
#include "media/player.h"
#include "media/tone.h"

enum item_kind { ITEM_FILE, ITEM_TONE, ITEM_SILENCE };

struct item {
	struct le le;
	enum item_kind kind;
	char *arg;              /* path or tone spec */
	uint32_t samples;       /* tone/silence length; 0 = tone's own */
};

struct player {
	struct mstream *ms;
	struct list items;
	struct le *cur;
	struct afile *af;
	struct tonegen *tg;
	uint32_t pos;           /* samples into the current item */
	bool opened, loop, active;
	size_t pass_samples;    /* samples produced in this pass (loop guard) */
	int err;
	player_done_h *doneh;
	void *arg;
};

static void item_destructor(void *data)
{
	struct item *it = data;

	list_unlink(&it->le);
	mem_deref(it->arg);
}

static void player_destructor(void *data)
{
	struct player *p = data;

	mstream_stop_source(p->ms, p);
	list_flush(&p->items);
	mem_deref(p->af);
	mem_deref(p->tg);
	mem_deref(p->ms);
}

int player_alloc(struct player **pp, struct mstream *ms)
{
	struct player *p;

	if (!pp || !ms)
		return EINVAL;
	p = mem_zalloc(sizeof(*p), player_destructor);
	if (!p)
		return ENOMEM;
	p->ms = mem_ref(ms);
	*pp = p;
	return 0;
}

static int item_add(struct player *p, enum item_kind kind, const char *arg, uint32_t ms)
{
	struct item *it = mem_zalloc(sizeof(*it), item_destructor);
	int err = 0;

	if (!it)
		return ENOMEM;
	it->kind = kind;
	it->samples = ms * 8;
	if (arg)
		err = str_dup(&it->arg, arg);
	if (err) {
		mem_deref(it);
		return err;
	}
	list_append(&p->items, &it->le, it);
	return 0;
}

int player_add_file(struct player *p, const char *path)
{
	return p && str_isset(path) ? item_add(p, ITEM_FILE, path, 0) : EINVAL;
}

int player_add_tone(struct player *p, const char *spec, uint32_t ms)
{
	struct tonegen *tg = NULL;
	int err;

	if (!p || !spec)
		return EINVAL;
	err = tonegen_alloc(&tg, spec);      /* reject a bad spec now, not mid-call */
	mem_deref(tg);
	return err ? err : item_add(p, ITEM_TONE, spec, ms);
}

int player_add_silence(struct player *p, uint32_t ms)
{
	return p ? item_add(p, ITEM_SILENCE, NULL, ms) : EINVAL;
}

void player_set_loop(struct player *p, bool loop)
{
	if (p)
		p->loop = loop;
}

static void item_close(struct player *p)
{
	p->af = mem_deref(p->af);
	p->tg = mem_deref(p->tg);
	p->opened = false;
	p->pos = 0;
}

static int item_open(struct player *p, const struct item *it)
{
	int err = 0;

	if (it->kind == ITEM_FILE)
		err = afile_open(&p->af, it->arg);
	else if (it->kind == ITEM_TONE)
		err = tonegen_alloc(&p->tg, it->arg);
	if (err && !p->err)
		p->err = err;
	p->opened = !err;
	p->pos = 0;
	return err;
}

/* Fills from the current item; 0 when the item has ended. */
static size_t item_read(struct player *p, const struct item *it, int16_t *buf, size_t n)
{
	size_t got = 0;

	if (it->samples && n > it->samples - p->pos)
		n = it->samples - p->pos;
	if (it->kind == ITEM_FILE)
		got = afile_read(p->af, buf, n);
	else if (it->kind == ITEM_TONE)
		got = tonegen_read(p->tg, buf, n) ? n : 0;
	else
		memset(buf, 0, n * sizeof(*buf)), got = n;
	p->pos += (uint32_t)got;
	return got;
}

static bool player_advance(struct player *p)
{
	item_close(p);
	p->cur = p->cur ? p->cur->next : NULL;
	if (p->cur)
		return true;
	if (!p->loop || !p->pass_samples)
		return false;           /* a loop of nothing playable ends */
	p->pass_samples = 0;
	p->cur = p->items.head;
	return true;
}

static size_t player_read_h(int16_t *buf, size_t n, void *arg)
{
	struct player *p = arg;
	size_t done = 0;

	while (done < n && p->cur) {
		const struct item *it = p->cur->data;
		size_t got;

		if (!p->opened && item_open(p, it)) {
			if (!player_advance(p))
				break;
			continue;
		}
		got = item_read(p, it, buf + done, n - done);
		done += got;
		p->pass_samples += got;
		if (!got && !player_advance(p))
			break;
	}
	return done;
}

static void player_done_h_(void *arg)
{
	struct player *p = arg;

	p->active = false;
	if (p->doneh)
		p->doneh(p->err, p->arg);
}

int player_start(struct player *p, player_done_h *doneh, void *arg)
{
	if (!p || !p->items.head)
		return EINVAL;
	if (!p->cur) {
		p->cur = p->items.head;
		p->err = 0;
		p->pass_samples = 0;
		item_close(p);
	}
	p->doneh = doneh;
	p->arg = arg;
	p->active = true;
	return mstream_play(p->ms, player_read_h, player_done_h_, p);
}

void player_pause(struct player *p)
{
	if (!p)
		return;
	mstream_stop_source(p->ms, p);
	p->active = false;
}

bool player_active(const struct player *p)
{
	return p && p->active;
}

unsigned player_count(const struct player *p)
{
	return p ? list_count(&p->items) : 0;
}
