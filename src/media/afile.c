/* afile: audio files read as 8 kHz mono 16-bit, through libsndfile and the
 * speexdsp resampler; plus Asterisk-style prompt lookup, and conversion
 * to the 8 kHz WAV form (uploaded prompts). Not for recording. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sndfile.h>
#include <speex/speex_resampler.h>
#include <re.h>
#include "core/log.h"
#include "media/afile.h"

enum {
	AFILE_RATE = 8000,
	AFILE_CHUNK = 1024,       /* frames read from libsndfile at a time */
	AFILE_OUTCAP = 2048,      /* resampled samples held between reads */
	AFILE_MAXCH = 256,
	/* Speex quality 3: telephony band, a few % of a core at 48k->8k. */
	AFILE_QUALITY = 3,
};

struct afile {
	char *path;
	int fd;
	SNDFILE *sf;
	SF_INFO info;
	SpeexResamplerState *rs;  /* NULL when the file is already 8 kHz */
	int16_t *frames;          /* interleaved, AFILE_CHUNK * channels */
	int16_t mono[AFILE_CHUNK];
	size_t in_pos, in_len;    /* unconsumed part of mono (resampler input) */
	int16_t out[AFILE_OUTCAP];
	size_t out_pos, out_len;  /* unread part of out */
	uint64_t in_total;        /* frames read from the file */
	uint64_t out_total;       /* samples produced at 8 kHz */
	uint64_t zeros_fed;       /* flush input fed after end of file */
	bool eof;                 /* the file has no more frames */
	bool done;                /* nothing more will be produced */
};

/* Headerless signed linear as Asterisk names it: .sln is 8 kHz, .slnNN
 * is NN kHz (44 means 44.1). */
static const struct { const char *ext; int rate; } sln_rates[] = {
	{"sln", 8000}, {"raw", 8000}, {"sln12", 12000}, {"sln16", 16000},
	{"sln24", 24000}, {"sln32", 32000}, {"sln44", 44100},
	{"sln48", 48000}, {"sln96", 96000}, {"sln192", 192000},
};

/* Extensions afile_find tries, in Asterisk's order of preference. */
static const char * const find_exts[] = {
	"wav", "WAV", "wav16", "sln", "flac", "ogg",
};

static const char *path_ext(const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *dot = strrchr(slash ? slash + 1 : path, '.');

	return (dot && dot[1]) ? dot + 1 : NULL;
}

static int sln_rate(const char *path)
{
	const char *ext = path_ext(path);
	size_t i;

	if (!ext)
		return 0;
	for (i = 0; i < ARRAY_SIZE(sln_rates); i++) {
		if (!strcasecmp(ext, sln_rates[i].ext))
			return sln_rates[i].rate;
	}
	return 0;
}

static void afile_destructor(void *arg)
{
	struct afile *af = arg;

	if (af->rs)
		speex_resampler_destroy(af->rs);
	if (af->sf)
		(void)sf_close(af->sf);
	if (af->fd >= 0)
		(void)close(af->fd);
	mem_deref(af->frames);
	mem_deref(af->path);
}

static void afile_reset(struct afile *af)
{
	af->in_pos = af->in_len = 0;
	af->out_pos = af->out_len = 0;
	af->in_total = af->out_total = af->zeros_fed = 0;
	af->eof = af->done = false;
	if (af->rs) {
		(void)speex_resampler_reset_mem(af->rs);
		/* Drop the filter's leading delay so output lines up with input. */
		(void)speex_resampler_skip_zeros(af->rs);
	}
}

static int sndfile_open(struct afile *af)
{
	int rate = sln_rate(af->path);

	memset(&af->info, 0, sizeof(af->info));
	if (rate) {
		/* libsndfile cannot guess headerless PCM; describe it. */
		af->info.samplerate = rate;
		af->info.channels = 1;
		af->info.format = SF_FORMAT_RAW | SF_FORMAT_PCM_16 |
			SF_ENDIAN_LITTLE;
	}
	/* We own fd: libsndfile's close-on-failure has varied by version. */
	af->sf = sf_open_fd(af->fd, SFM_READ, &af->info, SF_FALSE);
	if (!af->sf) {
		log_warn("afile: cannot read %s: %s", af->path, sf_strerror(NULL));
		return EINVAL;
	}
	if (af->info.channels < 1 || af->info.channels > AFILE_MAXCH ||
	    af->info.samplerate < 1) {
		log_warn("afile: cannot read %s: unsupported layout "
			 "(channels=%d rate=%d)", af->path, af->info.channels,
			 af->info.samplerate);
		return EINVAL;
	}
	return 0;
}

int afile_open(struct afile **afp, const char *path)
{
	struct afile *af;
	int err;

	if (!afp || !path || !*path)
		return EINVAL;
	af = mem_zalloc(sizeof(*af), afile_destructor);
	if (!af)
		return ENOMEM;
	af->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (af->fd < 0) {
		err = errno;
		log_debug("afile: cannot open %s: %m", path, err);
		goto out;
	}
	err = str_dup(&af->path, path);
	if (err)
		goto out;
	err = sndfile_open(af);
	if (err)
		goto out;
	af->frames = mem_alloc(sizeof(*af->frames) * AFILE_CHUNK *
			       (size_t)af->info.channels, NULL);
	if (!af->frames) {
		err = ENOMEM;
		goto out;
	}
	if (af->info.samplerate != AFILE_RATE) {
		int rerr = 0;

		af->rs = speex_resampler_init(1, (spx_uint32_t)af->info.samplerate,
					      AFILE_RATE, AFILE_QUALITY, &rerr);
		if (!af->rs) {
			log_warn("afile: cannot read %s: resampler: %s", path,
				 speex_resampler_strerror(rerr));
			err = EINVAL;
			goto out;
		}
	}
	afile_reset(af);

out:
	if (err)
		mem_deref(af);
	else
		*afp = af;
	return err;
}

/* Reads up to AFILE_CHUNK frames and averages the channels into dst. */
static size_t read_mono(struct afile *af, int16_t *dst)
{
	const int ch = af->info.channels;
	sf_count_t got = sf_readf_short(af->sf, af->frames, AFILE_CHUNK);
	sf_count_t i;

	if (got <= 0) {
		af->eof = true;
		return 0;
	}
	if (ch == 1) {
		memcpy(dst, af->frames, (size_t)got * sizeof(*dst));
	}
	else {
		for (i = 0; i < got; i++) {
			const int16_t *f = af->frames + i * ch;
			int32_t sum = 0;
			int c;

			for (c = 0; c < ch; c++)
				sum += f[c];
			dst[i] = (int16_t)(sum / ch);
		}
	}
	af->in_total += (uint64_t)got;
	return (size_t)got;
}

/* What the whole file is at 8 kHz, rounded to the nearest sample. */
static uint64_t out_target(const struct afile *af)
{
	const uint64_t rate = (uint64_t)af->info.samplerate;

	return (af->in_total * AFILE_RATE + rate / 2) / rate;
}

/* One resampler step. At end of file the filter still holds about its
 * input latency of samples; zeros push them out, and the output is cut at
 * the length the input implies so a file keeps its duration. */
static void fill_resampled(struct afile *af)
{
	static const int16_t zeros[AFILE_CHUNK];
	const int16_t *in;
	spx_uint32_t inl, outl = AFILE_OUTCAP;
	uint64_t target;

	if (af->in_pos == af->in_len && !af->eof) {
		af->in_pos = 0;
		af->in_len = read_mono(af, af->mono);
	}
	if (af->in_pos < af->in_len) {
		in = af->mono + af->in_pos;
		inl = (spx_uint32_t)(af->in_len - af->in_pos);
	}
	else {
		const uint64_t lat =
			(uint64_t)speex_resampler_get_input_latency(af->rs);

		/* Bounded: a filter that never catches up must not spin. */
		if (af->zeros_fed > 2 * lat + AFILE_CHUNK) {
			af->done = true;
			return;
		}
		in = zeros;
		inl = AFILE_CHUNK;
	}
	(void)speex_resampler_process_int(af->rs, 0, in, &inl, af->out, &outl);
	if (in == zeros)
		af->zeros_fed += inl;
	else
		af->in_pos += inl;

	if (af->eof && af->in_pos == af->in_len) {
		target = out_target(af);
		if (af->out_total + outl >= target) {
			outl = (spx_uint32_t)(target > af->out_total ?
					      target - af->out_total : 0);
			af->done = true;
		}
	}
	af->out_pos = 0;
	af->out_len = outl;
	af->out_total += outl;
}

static void fill(struct afile *af)
{
	if (!af->rs) {
		af->out_pos = 0;
		af->out_len = read_mono(af, af->out);
		af->out_total += af->out_len;
		af->done = af->eof;
		return;
	}
	fill_resampled(af);
}

size_t afile_read(struct afile *af, int16_t *buf, size_t n)
{
	size_t got = 0;

	if (!af || !buf)
		return 0;
	while (got < n) {
		size_t k;

		if (af->out_pos == af->out_len) {
			if (af->done)
				break;
			fill(af);
			continue;
		}
		k = af->out_len - af->out_pos;
		if (k > n - got)
			k = n - got;
		memcpy(buf + got, af->out + af->out_pos, k * sizeof(*buf));
		af->out_pos += k;
		got += k;
	}
	return got;
}

int afile_rewind(struct afile *af)
{
	if (!af)
		return EINVAL;
	if (sf_seek(af->sf, 0, SEEK_SET) < 0) {
		log_warn("afile: cannot rewind %s: %s", af->path,
			 sf_strerror(af->sf));
		return EIO;
	}
	afile_reset(af);
	return 0;
}

uint32_t afile_duration_ms(const struct afile *af)
{
	uint64_t ms;

	if (!af || af->info.frames <= 0 || af->info.samplerate <= 0)
		return 0;
	ms = (uint64_t)af->info.frames * 1000 / (uint64_t)af->info.samplerate;
	return ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
}

static bool is_regular(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static bool has_find_ext(const char *name)
{
	const char *ext = path_ext(name);
	size_t i;

	if (!ext)
		return false;
	for (i = 0; i < ARRAY_SIZE(find_exts); i++) {
		if (!strcasecmp(ext, find_exts[i]))
			return true;
	}
	return sln_rate(name) != 0;
}

/* Tries prefix+name as is or with each extension; 0 and out filled when
 * a regular file exists. */
static int find_in(char *out, size_t sz, const char *prefix, const char *name)
{
	char path[PATH_MAX];
	size_t i, n = has_find_ext(name) ? 1 : ARRAY_SIZE(find_exts);

	for (i = 0; i < n; i++) {
		int len = n == 1 ?
			snprintf(path, sizeof(path), "%s%s", prefix, name) :
			snprintf(path, sizeof(path), "%s%s.%s", prefix, name,
				 find_exts[i]);

		/* Longer than PATH_MAX cannot be opened anyway. */
		if (len < 0 || (size_t)len >= sizeof(path) || !is_regular(path))
			continue;
		if ((size_t)len >= sz)
			return ENAMETOOLONG;
		memcpy(out, path, (size_t)len + 1);
		return 0;
	}
	return ENOENT;
}

static int find_under(char *out, size_t sz, const char *dir, const char *sub,
		      const char *name)
{
	char prefix[PATH_MAX];
	int len = sub ? snprintf(prefix, sizeof(prefix), "%s/%s/", dir, sub) :
		snprintf(prefix, sizeof(prefix), "%s/", dir);

	if (len < 0 || (size_t)len >= sizeof(prefix))
		return ENOENT;
	return find_in(out, sz, prefix, name);
}

static bool has_dotdot(const char *s)
{
	for (const char *p = s; (p = strstr(p, "..")); p += 2) {
		bool start = p == s || p[-1] == '/';
		bool end = p[2] == '\0' || p[2] == '/';
		if (start && end)
			return true;
	}
	return false;
}

int afile_find(char *out, size_t sz, const char *dir, const char *lang,
	       const char *name)
{
	int err;

	if (!out || !sz || !name || !*name)
		return EINVAL;
	if (name[0] == '/' || !strncmp(name, "./", 2))
		return find_in(out, sz, "", name);
	if (!dir || !*dir)
		return EINVAL;
	/* A relative prompt name stays inside the sounds directory (names
	 * will come from the API too): no ".." segments, no "/" in lang. */
	if (has_dotdot(name) || (lang && (strchr(lang, '/') || has_dotdot(lang))))
		return EINVAL;

	if (lang && *lang && strcmp(lang, "en")) {
		err = find_under(out, sz, dir, lang, name);
		if (err != ENOENT)
			return err;
	}
	err = find_under(out, sz, dir, "en", name);
	if (err != ENOENT)
		return err;
	return find_under(out, sz, dir, NULL, name);
}

/* --- conversion ------------------------------------------------------------ */

enum { CONV_SLICE = 8 * AFILE_RATE };   /* output samples per loop turn: 8 s */

struct afile_conv {
	struct afile *af;
	SNDFILE *sf;
	char *tmp, *out;
	uint32_t max_ms;
	uint64_t total;
	struct tmr tmr;
	afile_conv_h *h;
	void *arg;
};

static void conv_destructor(void *arg)
{
	struct afile_conv *c = arg;

	tmr_cancel(&c->tmr);
	if (c->sf)
		(void)sf_close(c->sf);
	if (c->tmp)
		(void)unlink(c->tmp);   /* cancelled or failed: no half file */
	mem_deref(c->af);
	mem_deref(c->tmp);
	mem_deref(c->out);
}

/* Converts up to max samples; 0 and *more, or an errno value. */
static int conv_step(struct afile_conv *c, size_t max, bool *more)
{
	int16_t buf[AFILE_CHUNK];
	size_t n, done = 0;

	*more = true;
	while (done < max) {
		n = afile_read(c->af, buf, AFILE_CHUNK);
		if (!n) {
			*more = false;
			break;
		}
		if (sf_write_short(c->sf, buf, (sf_count_t)n) != (sf_count_t)n)
			return EIO;
		done += n;
		c->total += n;
		if (c->max_ms && c->total > (uint64_t)c->max_ms * (AFILE_RATE / 1000))
			return EFBIG;       /* the header understated the length */
	}
	if (*more)
		return 0;
	if (!c->total)
		return EINVAL;
	if (sf_close(c->sf)) {
		c->sf = NULL;
		return EIO;
	}
	c->sf = NULL;
	if (rename(c->tmp, c->out))
		return errno;
	c->tmp = mem_deref(c->tmp);
	return 0;
}

static void conv_tmr_h(void *arg)
{
	struct afile_conv *c = arg;
	bool more;
	int err = conv_step(c, CONV_SLICE, &more);

	if (!err && more) {
		tmr_start(&c->tmr, 0, conv_tmr_h, c);
		return;
	}
	c->h(err, c->arg);
}

static int conv_open(struct afile_conv **cp, const char *in, const char *out, uint32_t max_ms)
{
	SF_INFO info = { .samplerate = AFILE_RATE, .channels = 1,
			 .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16 };
	struct afile_conv *c;
	int err;

	if (!cp || !in || !out)
		return EINVAL;
	c = mem_zalloc(sizeof(*c), conv_destructor);
	if (!c)
		return ENOMEM;
	tmr_init(&c->tmr);
	c->max_ms = max_ms;
	err = afile_open(&c->af, in);
	if (err) {
		err = err == ENOENT || err == EACCES || err == ENOMEM ? err : EINVAL;
		goto out;
	}
	if (max_ms && afile_duration_ms(c->af) > max_ms) {
		err = EFBIG;
		goto out;
	}
	err = str_dup(&c->out, out);
	err = err ? err : re_sdprintf(&c->tmp, "%s.part", out);
	if (err)
		goto out;
	c->sf = sf_open(c->tmp, SFM_WRITE, &info);
	if (!c->sf) {
		log_warn("afile: cannot write %s: %s", c->tmp, sf_strerror(NULL));
		c->tmp = mem_deref(c->tmp);     /* nothing was created */
		err = EIO;
	}
 out:
	if (err)
		mem_deref(c);
	else
		*cp = c;
	return err;
}

int afile_convert_start(struct afile_conv **cp, const char *in, const char *out,
			uint32_t max_ms, afile_conv_h *h, void *arg)
{
	int err;

	if (!h)
		return EINVAL;
	err = conv_open(cp, in, out, max_ms);
	if (err)
		return err;
	(*cp)->h = h;
	(*cp)->arg = arg;
	tmr_start(&(*cp)->tmr, 0, conv_tmr_h, *cp);
	return 0;
}

int afile_convert(const char *in, const char *out, uint32_t max_ms)
{
	struct afile_conv *c = NULL;
	bool more = true;
	int err = conv_open(&c, in, out, max_ms);

	while (!err && more)
		err = conv_step(c, SIZE_MAX, &more);
	mem_deref(c);
	return err;
}
