/* mixer: members' rings are advanced once per clock tick (by whichever
 * member's source is read first in that tick), so every member hears the
 * same instant of the others. */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "media/mixer.h"
#include "media/mstream.h"

enum { MIX_MAX = 8, MIX_RING = 1600 };

struct mixer;

struct member {
	struct mixer *m;
	struct mstream *ms;
	int16_t ring[MIX_RING];
	size_t head, count;
	int16_t cur[MSTREAM_FRAME];     /* this tick's frame */
};

struct mixer {
	struct member *mem[MIX_MAX];
	unsigned n;
	uint64_t tick;                  /* jiffies / 20 of the last advance */
};

static void pcm_h(const int16_t *pcm, size_t n, void *arg)
{
	struct member *mb = arg;

	for (size_t i = 0; i < n; i++) {
		if (mb->count == MIX_RING) {
			mb->head = (mb->head + 1) % MIX_RING;
			--mb->count;
		}
		mb->ring[(mb->head + mb->count++) % MIX_RING] = pcm[i];
	}
}

static void advance(struct mixer *m)
{
	uint64_t tick = tmr_jiffies() / MSTREAM_PTIME;

	if (tick == m->tick)
		return;
	m->tick = tick;
	for (unsigned i = 0; i < m->n; i++) {
		struct member *mb = m->mem[i];
		size_t got = mb->count < MSTREAM_FRAME ? mb->count : MSTREAM_FRAME;

		for (size_t k = 0; k < got; k++)
			mb->cur[k] = mb->ring[(mb->head + k) % MIX_RING];
		memset(mb->cur + got, 0, (MSTREAM_FRAME - got) * sizeof(int16_t));
		mb->head = (mb->head + got) % MIX_RING;
		mb->count -= got;
	}
}

static size_t read_h(int16_t *buf, size_t n, void *arg)
{
	struct member *self = arg;
	struct mixer *m = self->m;

	advance(m);
	for (size_t k = 0; k < n && k < MSTREAM_FRAME; k++) {
		int32_t sum = 0;
		for (unsigned i = 0; i < m->n; i++)
			if (m->mem[i] != self)
				sum += m->mem[i]->cur[k];
		buf[k] = (int16_t)(sum > 32767 ? 32767 : sum < -32768 ? -32768 : sum);
	}
	return n;                       /* a conference never "finishes" */
}

static void member_free(struct member *mb)
{
	mstream_set_pcm_handler(mb->ms, NULL, NULL);
	mstream_stop_source(mb->ms, mb);
	mem_deref(mb->ms);
	mem_deref(mb);
}

static void mixer_destructor(void *arg)
{
	struct mixer *m = arg;

	for (unsigned i = 0; i < m->n; i++)
		member_free(m->mem[i]);
}

int mixer_alloc(struct mixer **mp)
{
	struct mixer *m;

	if (!mp)
		return EINVAL;
	m = mem_zalloc(sizeof(*m), mixer_destructor);
	if (!m)
		return ENOMEM;
	*mp = m;
	return 0;
}

int mixer_add(struct mixer *m, struct mstream *ms)
{
	struct member *mb;
	int err;

	if (!m || !ms)
		return EINVAL;
	if (m->n == MIX_MAX)
		return EBUSY;
	mb = mem_zalloc(sizeof(*mb), NULL);
	if (!mb)
		return ENOMEM;
	mb->m = m;
	mb->ms = mem_ref(ms);
	m->mem[m->n++] = mb;
	mstream_set_pcm_handler(ms, pcm_h, mb);
	err = mstream_play(ms, read_h, NULL, mb);
	if (err)
		mixer_remove(m, ms);
	return err;
}

void mixer_remove(struct mixer *m, struct mstream *ms)
{
	for (unsigned i = 0; m && i < m->n; i++) {
		if (m->mem[i]->ms != ms)
			continue;
		member_free(m->mem[i]);
		m->mem[i] = m->mem[--m->n];
		return;
	}
}
