/* tone: Asterisk indications-style tone generator (the Playtones tone list)
 * and the per-country tone zones of indications.conf. Not for DTMF or files.
 * One phase accumulator per frequency slot, kept across reads and across
 * parts, so a cadence never clicks at part boundaries or buffer edges. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <re.h>
#include "core/log.h"
#include "media/tone.h"

enum {
	TONE_RATE = 8000,
	/* Asterisk's default Playtones volume ("-8 dB"), peak per frequency:
	 * two of them sum to 14438, no clipping. */
	TONE_VOL = 7219,
	/* A frequency at or above Nyquist cannot be produced at 8 kHz, only
	 * aliased: reject it instead of playing something else. */
	TONE_FMAX = TONE_RATE / 2 - 1,
	TONE_DIGITS = 9,
	/* One day; keeps duration * 8 in 32 bits. */
	TONE_MAXMS = 86400000,
};

/* indications.conf: "The implicit modulation depth is fixed at 90%". */
#define TONE_MOD_DEPTH 0.9

struct tone_part {
	uint32_t inc[2];         /* phase increment per sample, 2^32 = cycle */
	uint32_t nsamp;          /* 0: plays for ever */
	bool modulate;
	bool once;
};

struct tonegen {
	uint32_t phase[2];
	uint32_t pos;            /* samples played of the current part */
	size_t cur;
	ssize_t rep;             /* first part without "!", -1 if none */
	bool ended;
	size_t nparts;
	struct tone_part parts[];
};

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		++p;
	return p;
}

static int parse_uint(const char **pp, uint32_t *vp)
{
	const char *p = *pp;
	uint32_t v = 0;
	int n = 0;

	while (isdigit((unsigned char)*p)) {
		if (++n > TONE_DIGITS)
			return EINVAL;
		v = v * 10 + (uint32_t)(*p++ - '0');
	}
	if (!n)
		return EINVAL;
	*pp = p;
	*vp = v;
	return 0;
}

/* "440" or, as in Asterisk, "M69": a MIDI note number (69 is A4). */
static int parse_freq(const char **pp, uint32_t *incp)
{
	bool midi = (**pp == 'M' || **pp == 'm');
	double f;
	uint32_t v;
	int err;

	if (midi)
		++*pp;
	err = parse_uint(pp, &v);
	if (err)
		return err;
	if (midi && v > 127)
		return EINVAL;
	f = midi ? 440.0 * pow(2.0, ((double)v - 69.0) / 12.0) : (double)v;
	if (f > TONE_FMAX)
		return EINVAL;
	*incp = (uint32_t)llround(f * 4294967296.0 / TONE_RATE);
	return 0;
}

/* One "[!]f1[+f2|*f2][/ms]" with optional blanks around it; leaves *pp on
 * the ',' or the terminating NUL. */
static int parse_part(const char **pp, struct tone_part *pt)
{
	const char *p = skip_ws(*pp);
	uint32_t ms = 0;
	int err;

	memset(pt, 0, sizeof(*pt));
	if (*p == '!') {
		pt->once = true;
		++p;
	}
	err = parse_freq(&p, &pt->inc[0]);
	if (err)
		return err;
	if (*p == '+' || *p == '*') {
		pt->modulate = (*p++ == '*');
		err = parse_freq(&p, &pt->inc[1]);
		if (err)
			return err;
	}
	if (*p == '/') {
		++p;
		err = parse_uint(&p, &ms);
		if (err)
			return err;
		if (ms > TONE_MAXMS)
			return EINVAL;
	}
	p = skip_ws(p);
	if (*p && *p != ',')
		return EINVAL;
	pt->nsamp = ms * (TONE_RATE / 1000);
	*pp = p;
	return 0;
}

int tonegen_alloc(struct tonegen **tgp, const char *spec)
{
	struct tonegen *tg;
	const char *p;
	size_t n = 1;
	int err = 0;

	if (!tgp || !spec)
		return EINVAL;
	for (p = spec; *p; ++p)
		n += (*p == ',');

	tg = mem_zalloc(sizeof(*tg) + n * sizeof(tg->parts[0]), NULL);
	if (!tg)
		return ENOMEM;
	tg->rep = -1;

	for (p = spec; tg->nparts < n; ++tg->nparts) {
		struct tone_part *pt = &tg->parts[tg->nparts];

		err = parse_part(&p, pt);
		if (err) {
			log_warn("tone: malformed tone list (spec=\"%s\" at=%zu)",
				 spec, (size_t)(p - spec));
			goto out;
		}
		if (!pt->once && tg->rep < 0)
			tg->rep = (ssize_t)tg->nparts;
		if (*p == ',')
			++p;
	}

 out:
	if (err)
		mem_deref(tg);
	else
		*tgp = tg;
	return err;
}

static int16_t part_sample(const struct tone_part *pt, const uint32_t ph[2])
{
	static const double k = 2.0 * M_PI / 4294967296.0;
	double s1 = pt->inc[0] ? sin(k * ph[0]) : 0.0;
	double s2 = pt->inc[1] ? sin(k * ph[1]) : 0.0;
	double v;

	/* Scaled by 1 + depth so the modulated peak stays at TONE_VOL. */
	if (pt->modulate)
		v = TONE_VOL * s1 * (1.0 + TONE_MOD_DEPTH * s2) /
			(1.0 + TONE_MOD_DEPTH);
	else
		v = TONE_VOL * (s1 + s2);
	return (int16_t)lrint(v);
}

/* Moves to the next part once the current one is done; ends the tone
 * after the last part when every part is once-only. */
static void tonegen_advance(struct tonegen *tg)
{
	tg->pos = 0;
	if (++tg->cur < tg->nparts)
		return;
	if (tg->rep < 0) {
		tg->ended = true;
		return;
	}
	tg->cur = (size_t)tg->rep;
}

bool tonegen_read(struct tonegen *tg, int16_t *buf, size_t n)
{
	bool played = false;

	if (!buf)
		return false;
	while (n) {
		const struct tone_part *pt;
		size_t k, run = n;

		if (!tg || tg->ended) {
			memset(buf, 0, n * sizeof(*buf));
			break;
		}
		pt = &tg->parts[tg->cur];
		if (pt->nsamp && tg->pos >= pt->nsamp) {
			tonegen_advance(tg);
			continue;
		}
		if (pt->nsamp && run > pt->nsamp - tg->pos)
			run = pt->nsamp - tg->pos;

		for (k = 0; k < run; ++k) {
			buf[k] = part_sample(pt, tg->phase);
			tg->phase[0] += pt->inc[0];
			tg->phase[1] += pt->inc[1];
		}
		/* Forever parts leave pos alone: nothing ever compares it. */
		if (pt->nsamp)
			tg->pos += (uint32_t)run;
		played = true;
		buf += run;
		n -= run;
	}
	return played;
}

/* From Asterisk's indications.conf.sample; Iran is not in the sample and
 * follows its ITU-T E.180 entry (425 Hz). "beep" is ours, the same
 * everywhere: a short 1 kHz prompt for recording and similar. */
struct tone_zone {
	const char *zone;
	const char *dial, *busy, *ring, *congestion, *callwaiting;
	const char *dialrecall, *record, *info;
};

static const char tone_beep[] = "!1000/250";

static const struct tone_zone tone_zones[] = {
	{"us", "350+440", "480+620/500,0/500", "440+480/2000,0/4000",
	 "480+620/250,0/250", "440/300,0/10000",
	 "!350+440/100,!0/100,!350+440/100,!0/100,!350+440/100,!0/100,350+440",
	 "1400/500,0/15000", "!950/330,!1400/330,!1800/330,0"},
	{"ir", "425", "425/500,0/500", "425/1000,0/4000", "425/240,0/240",
	 "425/200,0/200,425/200,0/10000", "425/500,0/500,425/500,0/500",
	 "1400/500,0/15000", "950/330,1400/330,1800/330,0/1000"},
	/* uk has no dialrecall in the sample: its "specialdial" (the
	 * intermittent dial tone of a line with a divert) is the nearest. */
	{"uk", "350+440", "400/375,0/375", "400+450/400,0/200,400+450/400,0/2000",
	 "400/400,0/350,400/225,0/525", "400/100,0/4000", "350+440/750,440/750",
	 "1400/500,0/60000", "950/330,0/15,1400/330,0/15,1800/330,0/1000"},
	{"de", "425", "425/480,0/480", "425/1000,0/4000", "425/240,0/240",
	 "!425/200,!0/200,!425/200,!0/5000,!425/200,!0/200,!425/200,!0/5000,"
	 "!425/200,!0/200,!425/200,!0/5000,!425/200,!0/200,!425/200,!0/5000,"
	 "!425/200,!0/200,!425/200,0",
	 "!425/100,!0/100,!425/100,!0/100,!425/100,!0/100,425",
	 "1400/80,0/15000", "950/330,1400/330,1800/330,0/1000"},
	/* fr spells callwaiting "callwait" in the sample. */
	{"fr", "440", "440/500,0/500", "440/1500,0/3500", "440/250,0/250",
	 "440/300,0/10000",
	 "!350+440/100,!0/100,!350+440/100,!0/100,!350+440/100,!0/100,350+440",
	 "1400/500,0/15000", "!950/330,!1400/330,!1800/330"},
	{"it", "425/200,0/200,425/600,0/1000", "425/500,0/500",
	 "425/1000,0/4000", "425/200,0/200",
	 "425/400,0/100,425/250,0/100,425/150,0/14000", "470/400,425/400",
	 "1400/400,0/15000",
	 "!950/330,!1400/330,!1800/330,!0/1000,!950/330,!1400/330,!1800/330,"
	 "!0/1000,!950/330,!1400/330,!1800/330,!0/1000,0"},
	{"es", "425", "425/200,0/200", "425/1500,0/3000",
	 "425/200,0/200,425/200,0/200,425/200,0/600",
	 "425/175,0/175,425/175,0/3500",
	 "!425/200,!0/200,!425/200,!0/200,!425/200,!0/200,425",
	 "1400/500,0/15000", "950/330,0/1000"},
	{"nl", "425", "425/500,0/500", "425/1000,0/4000", "425/250,0/250",
	 "425/500,0/9500", "425/500,0/50", "1400/500,0/15000",
	 "950/330,1400/330,1800/330,0/1000"},
	{"ru", "425", "425/350,0/350", "425/1000,0/4000", "425/175,0/175",
	 "425/200,0/5000", "425/400,0/40", "1400/400,0/15000",
	 "950/330,1400/330,1800/330,0/1000"},
	{"au", "413+438", "425/375,0/375", "413+438/400,0/200,413+438/400,0/2000",
	 "425/375,0/375,420/375,0/375", "425/200,0/200,425/200,0/4400",
	 "413+438", "!425/1000,!0/15000,425/360,0/15000", "425/2500,0/500"},
	{"in", "400*25", "400/750,0/750", "400*25/400,0/200,400*25/400,0/2000",
	 "400/250,0/250", "400/200,0/100,400/200,0/7500",
	 "!350+440/100,!0/100,!350+440/100,!0/100,!350+440/100,!0/100,350+440",
	 "1400/500,0/15000", "!950/330,!1400/330,!1800/330,0/1000"},
};

static const struct tone_zone *zone_find(const char *zone)
{
	size_t i;

	if (!zone)
		return NULL;
	for (i = 0; i < ARRAY_SIZE(tone_zones); ++i) {
		if (!strcasecmp(tone_zones[i].zone, zone))
			return &tone_zones[i];
	}
	return NULL;
}

bool tone_zone_exists(const char *zone)
{
	return zone_find(zone) != NULL;
}

const char *tone_zone_spec(const char *zone, const char *name)
{
	const struct tone_zone *z = zone_find(zone);
	const struct { const char *name; const char *spec; } tab[] = {
		{"dial", z ? z->dial : NULL},
		{"busy", z ? z->busy : NULL},
		{"ring", z ? z->ring : NULL},
		{"congestion", z ? z->congestion : NULL},
		{"callwaiting", z ? z->callwaiting : NULL},
		{"dialrecall", z ? z->dialrecall : NULL},
		{"record", z ? z->record : NULL},
		{"info", z ? z->info : NULL},
		{"beep", tone_beep},
	};
	size_t i;

	if (!z || !name)
		return NULL;
	for (i = 0; i < ARRAY_SIZE(tab); ++i) {
		if (!strcasecmp(tab[i].name, name))
			return tab[i].spec;
	}
	return NULL;
}
