/* afile: files written here with libsndfile, read back at 8 kHz mono;
 * Asterisk-style prompt lookup over a scratch sounds tree. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sndfile.h>
#include <re.h>
#include "media/afile.h"

#define PI 3.14159265358979323846
#define HELLO_WORLD "/usr/share/asterisk/sounds/en/hello-world.wav"

struct scratch {
	char dir[64];
};

static int scratch_setup(void **state)
{
	struct scratch *s = calloc(1, sizeof(*s));

	if (!s)
		return -1;
	strcpy(s->dir, "/tmp/test_afile.XXXXXX");
	if (!mkdtemp(s->dir)) {
		free(s);
		return -1;
	}
	*state = s;
	return 0;
}

static int scratch_teardown(void **state)
{
	struct scratch *s = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", s->dir);
	free(s);
	return 0;
}

static void path_join(char *out, size_t sz, const struct scratch *s,
		      const char *rel)
{
	int n = snprintf(out, sz, "%s/%s", s->dir, rel);

	assert_true(n > 0 && (size_t)n < sz);
}

/* Writes frames*channels interleaved samples; false if libsndfile cannot
 * write this format here. */
static bool write_sound(const char *path, int format, int rate, int channels,
			const int16_t *data, sf_count_t frames)
{
	SF_INFO info = { .samplerate = rate, .channels = channels,
			 .format = format };
	SNDFILE *sf;

	if (!sf_format_check(&info))
		return false;
	sf = sf_open(path, SFM_WRITE, &info);
	if (!sf)
		return false;
	assert_int_equal(sf_writef_short(sf, data, frames), frames);
	assert_int_equal(sf_close(sf), 0);
	return true;
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void mkdir_ok(const char *path)
{
	assert_int_equal(mkdir(path, 0755), 0);
}

/* Stereo sine: left at amplitude amp, right at half of it. */
static int16_t *sine_stereo(int rate, double hz, double amp, size_t frames)
{
	int16_t *d = malloc(frames * 2 * sizeof(*d));
	size_t i;

	assert_non_null(d);
	for (i = 0; i < frames; i++) {
		double v = amp * sin(2 * PI * hz * (double)i / rate);
		d[2 * i] = (int16_t)lrint(v);
		d[2 * i + 1] = (int16_t)lrint(v / 2);
	}
	return d;
}

static int16_t *ramp(size_t n)
{
	int16_t *d = malloc(n * sizeof(*d));
	size_t i;

	assert_non_null(d);
	for (i = 0; i < n; i++)
		d[i] = (int16_t)((int)(i * 37 % 65536) - 32768);
	return d;
}

/* Reads the whole file in one call; returns the sample count. */
static size_t read_all(struct afile *af, int16_t *buf, size_t cap)
{
	size_t n = afile_read(af, buf, cap);

	assert_true(n < cap);
	assert_int_equal(afile_read(af, buf + n, 16), 0);
	return n;
}

static double goertzel(const int16_t *x, size_t n, double hz)
{
	double k = 2 * cos(2 * PI * hz / 8000), s1 = 0, s2 = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		double s0 = x[i] + k * s1 - s2;
		s2 = s1;
		s1 = s0;
	}
	return s1 * s1 + s2 * s2 - k * s1 * s2;
}

static void test_afile_reads_8k_mono_wav_sample_exact(void **state)
{
	const size_t n = 8000;
	int16_t *data = ramp(n), *got = malloc((n + 64) * sizeof(*got));
	struct afile *af = NULL;
	char path[PATH_MAX];

	assert_non_null(got);
	path_join(path, sizeof(path), *state, "ramp.wav");
	assert_true(write_sound(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1,
				data, (sf_count_t)n));
	assert_int_equal(afile_open(&af, path), 0);
	assert_int_equal(afile_duration_ms(af), 1000);
	assert_int_equal(read_all(af, got, n + 64), n);
	assert_memory_equal(got, data, n * sizeof(*data));
	mem_deref(af);
	free(got);
	free(data);
}

static void test_afile_averages_channels(void **state)
{
	int16_t data[2 * 100], got[128];
	struct afile *af = NULL;
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < 100; i++) {
		data[2 * i] = 1000;
		data[2 * i + 1] = -3000;
	}
	path_join(path, sizeof(path), *state, "stereo8k.wav");
	assert_true(write_sound(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 2,
				data, 100));
	assert_int_equal(afile_open(&af, path), 0);
	assert_int_equal(read_all(af, got, 128), 100);
	for (i = 0; i < 100; i++)
		assert_int_equal(got[i], -1000);
	mem_deref(af);
}

static void test_afile_resamples_16k_stereo_sine(void **state)
{
	const size_t frames = 16000;
	int16_t *data = sine_stereo(16000, 1000, 16000, frames);
	int16_t *got = malloc(16000 * sizeof(*got));
	struct afile *af = NULL;
	char path[PATH_MAX];
	size_t n, i;
	int peak = 0;
	double p1k;

	assert_non_null(got);
	path_join(path, sizeof(path), *state, "sine16k.wav");
	assert_true(write_sound(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 2,
				data, (sf_count_t)frames));
	assert_int_equal(afile_open(&af, path), 0);
	assert_int_equal(afile_duration_ms(af), 1000);
	n = read_all(af, got, 16000);
	assert_in_range(n, 7920, 8080);

	/* Steady middle part: the tone is at 1 kHz, nowhere else. */
	p1k = goertzel(got + 1000, 6000, 1000);
	assert_true(p1k > 1000 * goertzel(got + 1000, 6000, 500));
	assert_true(p1k > 1000 * goertzel(got + 1000, 6000, 2000));
	assert_true(p1k > 1000 * goertzel(got + 1000, 6000, 3000));
	/* Mixed down (L + L/2) / 2 = 0.75 of the left amplitude. */
	for (i = 1000; i < 7000; i++)
		peak = abs(got[i]) > peak ? abs(got[i]) : peak;
	assert_in_range(peak, 11400, 12600);
	mem_deref(af);
	free(got);
	free(data);
}

static void test_afile_resamples_44k1_flac(void **state)
{
	const size_t frames = 44100;
	int16_t *data = sine_stereo(44100, 440, 12000, frames);
	int16_t *mono = malloc(frames * sizeof(*mono));
	int16_t *got = malloc(16000 * sizeof(*got));
	struct afile *af = NULL;
	char path[PATH_MAX];
	size_t i, n;
	bool ok;

	assert_non_null(mono);
	assert_non_null(got);
	for (i = 0; i < frames; i++)
		mono[i] = data[2 * i];
	path_join(path, sizeof(path), *state, "sine44k.flac");
	ok = write_sound(path, SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 44100, 1,
			 mono, (sf_count_t)frames);
	free(data);
	free(mono);
	if (!ok) {
		free(got);
		skip();
	}
	assert_int_equal(afile_open(&af, path), 0);
	assert_int_equal(afile_duration_ms(af), 1000);
	n = read_all(af, got, 16000);
	assert_in_range(n, 7920, 8080);
	assert_true(goertzel(got + 1000, 6000, 440) >
		    1000 * goertzel(got + 1000, 6000, 1500));
	mem_deref(af);
	free(got);
}

static void test_afile_reads_headerless_sln(void **state)
{
	const size_t n = 4000;
	int16_t *data = ramp(n), *got = malloc((n + 64) * sizeof(*got));
	struct afile *af = NULL;
	char path[PATH_MAX];
	uint8_t le[2];
	FILE *f;
	size_t i;

	assert_non_null(got);
	/* Bytes by hand: little-endian whatever the host is. */
	path_join(path, sizeof(path), *state, "ramp.sln");
	f = fopen(path, "wb");
	assert_non_null(f);
	for (i = 0; i < n; i++) {
		le[0] = (uint8_t)((uint16_t)data[i] & 0xff);
		le[1] = (uint8_t)((uint16_t)data[i] >> 8);
		assert_int_equal(fwrite(le, 1, 2, f), 2);
	}
	assert_int_equal(fclose(f), 0);

	assert_int_equal(afile_open(&af, path), 0);
	assert_int_equal(afile_duration_ms(af), 500);
	assert_int_equal(read_all(af, got, n + 64), n);
	assert_memory_equal(got, data, n * sizeof(*data));
	mem_deref(af);

	/* The same bytes as .sln16 are 16 kHz: half as many samples at 8k. */
	{
		char p16[PATH_MAX];

		path_join(p16, sizeof(p16), *state, "ramp.sln16");
		assert_int_equal(rename(path, p16), 0);
		assert_int_equal(afile_open(&af, p16), 0);
		assert_int_equal(afile_duration_ms(af), 250);
		assert_in_range(read_all(af, got, n + 64), n / 2 - 10, n / 2 + 10);
		mem_deref(af);
	}
	free(got);
	free(data);
}

/* Odd read sizes must yield the same stream as one big read. */
static void check_chunked(const char *path)
{
	static const size_t sizes[] = { 1, 7, 13, 160, 3, 1021, 2049, 5 };
	int16_t *all = malloc(20000 * sizeof(*all));
	int16_t *pieces = malloc(20000 * sizeof(*pieces));
	struct afile *af = NULL;
	size_t n, got = 0, i = 0, k;

	assert_non_null(all);
	assert_non_null(pieces);
	assert_int_equal(afile_open(&af, path), 0);
	n = read_all(af, all, 20000);
	mem_deref(af);
	assert_true(n > 1000);

	assert_int_equal(afile_open(&af, path), 0);
	do {
		size_t want = sizes[i++ % ARRAY_SIZE(sizes)];

		k = afile_read(af, pieces + got, want);
		/* Full reads until the end, then one short one. */
		if (k < want)
			assert_int_equal(got + k, n);
		got += k;
	} while (k);
	assert_int_equal(got, n);
	assert_memory_equal(pieces, all, n * sizeof(*all));
	mem_deref(af);
	free(all);
	free(pieces);
}

static void test_afile_chunked_reads_match_one_read(void **state)
{
	int16_t *data = sine_stereo(16000, 1000, 16000, 16000);
	int16_t *r = ramp(9000);
	char p16[PATH_MAX], p8[PATH_MAX];

	path_join(p16, sizeof(p16), *state, "chunk16k.wav");
	path_join(p8, sizeof(p8), *state, "chunk8k.wav");
	assert_true(write_sound(p16, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 2,
				data, 16000));
	assert_true(write_sound(p8, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1,
				r, 9000));
	check_chunked(p16);
	check_chunked(p8);
	free(data);
	free(r);
}

static void check_rewind(const char *path)
{
	int16_t first[300], again[300], rest[4096];
	struct afile *af = NULL;

	assert_int_equal(afile_open(&af, path), 0);
	assert_int_equal(afile_read(af, first, 300), 300);

	/* Mid-stream: the resampler still holds the old signal. */
	assert_int_equal(afile_read(af, rest, 777), 777);
	assert_int_equal(afile_rewind(af), 0);
	assert_int_equal(afile_read(af, again, 300), 300);
	assert_memory_equal(again, first, sizeof(first));

	/* After the end, as music on hold loops. */
	while (afile_read(af, rest, ARRAY_SIZE(rest)))
		;
	assert_int_equal(afile_rewind(af), 0);
	assert_int_equal(afile_read(af, again, 300), 300);
	assert_memory_equal(again, first, sizeof(first));
	mem_deref(af);
}

static void test_afile_rewind_restarts(void **state)
{
	int16_t *data = sine_stereo(16000, 700, 16000, 8000);
	int16_t *r = ramp(4000);
	char p16[PATH_MAX], p8[PATH_MAX];

	path_join(p16, sizeof(p16), *state, "rw16k.wav");
	path_join(p8, sizeof(p8), *state, "rw8k.wav");
	assert_true(write_sound(p16, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 2,
				data, 8000));
	assert_true(write_sound(p8, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1,
				r, 4000));
	check_rewind(p16);
	check_rewind(p8);
	free(data);
	free(r);
}

static void test_afile_open_errors(void **state)
{
	struct afile *af = NULL;
	char path[PATH_MAX];

	path_join(path, sizeof(path), *state, "missing.wav");
	assert_int_equal(afile_open(&af, path), ENOENT);
	assert_null(af);

	path_join(path, sizeof(path), *state, "x.wav");
	write_text(path, "this is not a RIFF file, just some text\n");
	assert_int_equal(afile_open(&af, path), EINVAL);
	assert_null(af);

	/* A directory is not a sound either. */
	assert_int_equal(afile_open(&af, ((struct scratch *)*state)->dir), EINVAL);
	assert_null(af);

	/* root reads anything, so the permission check only means something
	 * for other users. */
	if (geteuid() != 0) {
		int16_t one = 1;

		path_join(path, sizeof(path), *state, "locked.wav");
		assert_true(write_sound(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16,
					8000, 1, &one, 1));
		assert_int_equal(chmod(path, 0), 0);
		assert_int_equal(afile_open(&af, path), EACCES);
		assert_null(af);
	}
}

static void touch(const struct scratch *s, const char *rel)
{
	char path[PATH_MAX];

	path_join(path, sizeof(path), s, rel);
	write_text(path, "");
}

static void mkdir_rel(const struct scratch *s, const char *rel)
{
	char path[PATH_MAX];

	path_join(path, sizeof(path), s, rel);
	mkdir_ok(path);
}

static void expect_found(const struct scratch *s, const char *lang,
			 const char *name, const char *rel)
{
	char out[PATH_MAX], want[PATH_MAX];

	path_join(want, sizeof(want), s, rel);
	assert_int_equal(afile_find(out, sizeof(out), s->dir, lang, name), 0);
	assert_string_equal(out, want);
}

static void test_afile_find_follows_asterisk_order(void **state)
{
	const struct scratch *s = *state;
	char out[PATH_MAX], abs[PATH_MAX];

	mkdir_rel(s, "fa");
	mkdir_rel(s, "en");
	mkdir_rel(s, "en/digits");
	touch(s, "fa/hello.sln");
	touch(s, "en/hello.wav");
	touch(s, "en/bye.wav");
	touch(s, "only-root.ogg");
	touch(s, "en/digits/5.wav16");
	touch(s, "en/fmt.flac");
	touch(s, "en/fmt.sln");
	touch(s, "en/fmt.WAV");
	touch(s, "en/named.wav.wav");
	mkdir_rel(s, "en/dir.wav");
	touch(s, "dir.wav");

	/* Language first, whatever the format; then en; then the root. */
	expect_found(s, "fa", "hello", "fa/hello.sln");
	expect_found(s, "fa", "bye", "en/bye.wav");
	expect_found(s, "fa", "only-root", "only-root.ogg");
	expect_found(s, NULL, "hello", "en/hello.wav");
	expect_found(s, "fa", "digits/5", "en/digits/5.wav16");
	/* .WAV before .sln before .flac within one directory. */
	expect_found(s, "en", "fmt", "en/fmt.WAV");
	/* A known extension is taken as is, never extended. */
	expect_found(s, "fa", "hello.wav", "en/hello.wav");
	assert_int_equal(afile_find(out, sizeof(out), s->dir, "fa", "named.wav"),
			 ENOENT);
	/* A directory is never a prompt. */
	expect_found(s, "fa", "dir.wav", "dir.wav");

	/* Absolute names skip the sounds tree but still get extensions. */
	path_join(abs, sizeof(abs), s, "en/bye");
	assert_int_equal(afile_find(out, sizeof(out), "/nonexistent", "fa", abs), 0);
	path_join(abs, sizeof(abs), s, "en/bye.wav");
	assert_string_equal(out, abs);
	assert_int_equal(afile_find(out, sizeof(out), "/nonexistent", "fa", abs), 0);
	assert_string_equal(out, abs);

	assert_int_equal(afile_find(out, sizeof(out), s->dir, "fa", "nothing"),
			 ENOENT);
	assert_int_equal(afile_find(out, 8, s->dir, "fa", "hello"), ENAMETOOLONG);
	/* relative names and languages stay inside the sounds directory */
	assert_int_equal(afile_find(out, sizeof(out), s->dir, "fa", "../etc/passwd"), EINVAL);
	assert_int_equal(afile_find(out, sizeof(out), s->dir, "fa", "digits/../../x"), EINVAL);
	assert_int_equal(afile_find(out, sizeof(out), s->dir, "../x", "hello"), EINVAL);
	assert_int_equal(afile_find(out, sizeof(out), s->dir, "fa", "a..b"), ENOENT);
}

static void test_afile_opens_asterisk_prompt(void **state)
{
	int16_t *buf = malloc(40000 * sizeof(*buf));
	struct afile *af = NULL;
	uint32_t ms;
	size_t n;

	(void)state;
	assert_non_null(buf);
	if (access(HELLO_WORLD, R_OK)) {
		free(buf);
		skip();
	}
	assert_int_equal(afile_open(&af, HELLO_WORLD), 0);
	ms = afile_duration_ms(af);
	assert_in_range(ms, 1300, 1500);
	n = read_all(af, buf, 40000);
	assert_in_range(n, (size_t)ms * 8 - 8, (size_t)ms * 8 + 8);
	mem_deref(af);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_afile_reads_8k_mono_wav_sample_exact,
						scratch_setup, scratch_teardown),
		cmocka_unit_test_setup_teardown(test_afile_averages_channels,
						scratch_setup, scratch_teardown),
		cmocka_unit_test_setup_teardown(test_afile_resamples_16k_stereo_sine,
						scratch_setup, scratch_teardown),
		cmocka_unit_test_setup_teardown(test_afile_resamples_44k1_flac,
						scratch_setup, scratch_teardown),
		cmocka_unit_test_setup_teardown(test_afile_reads_headerless_sln,
						scratch_setup, scratch_teardown),
		cmocka_unit_test_setup_teardown(test_afile_chunked_reads_match_one_read,
						scratch_setup, scratch_teardown),
		cmocka_unit_test_setup_teardown(test_afile_rewind_restarts,
						scratch_setup, scratch_teardown),
		cmocka_unit_test_setup_teardown(test_afile_open_errors,
						scratch_setup, scratch_teardown),
		cmocka_unit_test_setup_teardown(test_afile_find_follows_asterisk_order,
						scratch_setup, scratch_teardown),
		cmocka_unit_test(test_afile_opens_asterisk_prompt),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
