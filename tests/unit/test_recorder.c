/* recorder: WAV files written by the writer thread, read back with
 * libsndfile after mem_deref(recorder) and mem_deref(writer) (the latter
 * joins the thread, so the files are complete). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sndfile.h>
#include <re.h>
#include "media/recorder.h"

enum { RATE = 8000, FRAME = 160, AMP = 8000 };

struct fixture {
	char dir[64];
	char path[256];
};

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(p);
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	strcpy(fx->dir, "/tmp/test_recorder.XXXXXX");
	if (!mkdtemp(fx->dir))
		return -1;
	snprintf(fx->path, sizeof(fx->path), "%s/rec.wav", fx->dir);
	*state = fx;
	return libre_init();
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	libre_close();
	(void)nftw(fx->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

static void tone(int16_t *buf, size_t n, double hz, size_t start)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (int16_t)lrint(AMP * sin(2 * M_PI * hz * (double)(start + i) / RATE));
}

/* Writes secs seconds in 20 ms frames; a NULL frequency passes NULL. */
static void record(struct recorder *rec, const double *rx_hz, const double *tx_hz,
		   size_t samples)
{
	int16_t rx[FRAME], tx[FRAME];

	for (size_t off = 0; off < samples; off += FRAME) {
		if (rx_hz)
			tone(rx, FRAME, *rx_hz, off);
		if (tx_hz)
			tone(tx, FRAME, *tx_hz, off);
		assert_int_equal(recorder_write(rec, rx_hz ? rx : NULL,
						tx_hz ? tx : NULL, FRAME), 0);
	}
}

/* Reads the whole file; *chp gets the channel count. Caller frees. */
static int16_t *wav_read(const char *path, sf_count_t *framesp, int *chp)
{
	SF_INFO info = { 0 };
	SNDFILE *sf = sf_open(path, SFM_READ, &info);
	int16_t *buf;

	assert_non_null(sf);
	assert_int_equal(info.samplerate, RATE);
	assert_int_equal(info.format, SF_FORMAT_WAV | SF_FORMAT_PCM_16);
	buf = calloc((size_t)(info.frames * info.channels) + 1, sizeof(*buf));
	assert_non_null(buf);
	assert_int_equal(sf_readf_short(sf, buf, info.frames), info.frames);
	sf_close(sf);
	*framesp = info.frames;
	*chp = info.channels;
	return buf;
}

/* Goertzel power of one channel at hz, normalised by the length. */
static double power_at(const int16_t *s, size_t frames, int ch, int which, double hz)
{
	double k = 2 * cos(2 * M_PI * hz / RATE), s1 = 0, s2 = 0;

	for (size_t i = 0; i < frames; i++) {
		double s0 = s[i * (size_t)ch + (size_t)which] + k * s1 - s2;
		s2 = s1;
		s1 = s0;
	}
	return (s1 * s1 + s2 * s2 - k * s1 * s2) / ((double)frames * frames);
}

static struct recwriter *writer_new(void)
{
	struct recwriter *w = NULL;

	assert_int_equal(recwriter_alloc(&w), 0);
	assert_non_null(w);
	return w;
}

static void test_recorder_mono_mixes_both_directions(void **state)
{
	struct fixture *fx = *state;
	struct recwriter *w = writer_new();
	struct recorder *rec = NULL;
	const double f_rx = 500, f_tx = 1500;
	sf_count_t frames;
	int16_t *s;
	int ch;

	assert_int_equal(recorder_open(&rec, w, fx->path, 0, NULL, NULL), 0);
	record(rec, &f_rx, &f_tx, 8000);
	assert_int_equal(recorder_samples(rec), 8000);
	mem_deref(rec);
	mem_deref(w);

	s = wav_read(fx->path, &frames, &ch);
	assert_int_equal(frames, 8000);
	assert_int_equal(ch, 1);
	double p500 = power_at(s, 8000, 1, 0, 500);
	double p1500 = power_at(s, 8000, 1, 0, 1500);
	double p1000 = power_at(s, 8000, 1, 0, 1000);
	assert_true(p500 > 1000 * p1000);
	assert_true(p1500 > 1000 * p1000);
	/* Mixed, not averaged: each tone keeps its amplitude (AMP/2)^2. */
	assert_true(p500 > 0.9 * (AMP / 2.0) * (AMP / 2.0));
	assert_true(p1500 > 0.9 * (AMP / 2.0) * (AMP / 2.0));
	free(s);
}

static void test_recorder_stereo_puts_rx_left_tx_right(void **state)
{
	struct fixture *fx = *state;
	struct recwriter *w = writer_new();
	struct recorder *rec = NULL;
	const double f_rx = 500, f_tx = 1500;
	sf_count_t frames;
	int16_t *s;
	int ch;

	assert_int_equal(recorder_open(&rec, w, fx->path, RECORDER_STEREO, NULL, NULL), 0);
	record(rec, &f_rx, &f_tx, 4000);
	mem_deref(rec);
	mem_deref(w);

	s = wav_read(fx->path, &frames, &ch);
	assert_int_equal(frames, 4000);
	assert_int_equal(ch, 2);
	assert_true(power_at(s, 4000, 2, 0, 500) > 1000 * power_at(s, 4000, 2, 0, 1500));
	assert_true(power_at(s, 4000, 2, 1, 1500) > 1000 * power_at(s, 4000, 2, 1, 500));
	free(s);
}

static void test_recorder_null_side_is_silence(void **state)
{
	struct fixture *fx = *state;
	struct recwriter *w = writer_new();
	struct recorder *rec = NULL, *mono = NULL;
	const double f_rx = 500;
	char mpath[300];
	sf_count_t frames;
	int16_t *s;
	int ch;

	snprintf(mpath, sizeof(mpath), "%s/mono.wav", fx->dir);
	assert_int_equal(recorder_open(&rec, w, fx->path, RECORDER_STEREO, NULL, NULL), 0);
	assert_int_equal(recorder_open(&mono, w, mpath, 0, NULL, NULL), 0);
	record(rec, &f_rx, NULL, 1600);
	record(mono, NULL, NULL, 1600);
	mem_deref(rec);
	mem_deref(mono);
	mem_deref(w);

	s = wav_read(fx->path, &frames, &ch);
	assert_int_equal(frames, 1600);
	for (sf_count_t i = 0; i < frames; i++)
		assert_int_equal(s[2 * i + 1], 0);
	assert_true(power_at(s, 1600, 2, 0, 500) > 0.9 * AMP / 2.0 * AMP / 2.0);
	free(s);

	s = wav_read(mpath, &frames, &ch);
	assert_int_equal(frames, 1600);
	for (sf_count_t i = 0; i < frames; i++)
		assert_int_equal(s[i], 0);
	free(s);
}

static void test_recorder_mono_mix_saturates(void **state)
{
	struct fixture *fx = *state;
	struct recwriter *w = writer_new();
	struct recorder *rec = NULL;
	int16_t hi[FRAME], lo[FRAME];
	sf_count_t frames;
	int16_t *s;
	int ch;

	for (size_t i = 0; i < FRAME; i++) {
		hi[i] = 30000;
		lo[i] = -30000;
	}
	assert_int_equal(recorder_open(&rec, w, fx->path, 0, NULL, NULL), 0);
	assert_int_equal(recorder_write(rec, hi, hi, FRAME), 0);
	assert_int_equal(recorder_write(rec, lo, lo, FRAME), 0);
	assert_int_equal(recorder_write(rec, hi, lo, FRAME), 0);
	mem_deref(rec);
	mem_deref(w);

	s = wav_read(fx->path, &frames, &ch);
	assert_int_equal(frames, 3 * FRAME);
	assert_int_equal(s[0], INT16_MAX);
	assert_int_equal(s[FRAME], INT16_MIN);
	assert_int_equal(s[2 * FRAME], 0);
	free(s);
}

struct failrec {
	unsigned calls;
	int err;
	bool cancel;
};

static void fail_h(int err, void *arg)
{
	struct failrec *fr = arg;

	fr->calls++;
	fr->err = err;
	if (fr->cancel)
		re_cancel();
}

static void timeout_h(void *arg)
{
	(void)arg;
	re_cancel();
}

static void run_loop(void)
{
	struct tmr t;

	tmr_init(&t);
	tmr_start(&t, 5000, timeout_h, NULL);
	(void)re_main(NULL);
	tmr_cancel(&t);
}

/* The second recording opens the path while the first one may still be
 * queued: the writer must finish and close the first before appending. */
static void test_recorder_append_extends_existing_file(void **state)
{
	struct fixture *fx = *state;
	struct recwriter *w = writer_new();
	struct recorder *rec = NULL;
	const double f1 = 500, f2 = 1500;
	char fresh[300];
	sf_count_t frames;
	int16_t *s, first[FRAME];
	int ch;

	assert_int_equal(recorder_open(&rec, w, fx->path, 0, NULL, NULL), 0);
	record(rec, &f1, NULL, 8000);
	rec = mem_deref(rec);
	assert_int_equal(recorder_open(&rec, w, fx->path, RECORDER_APPEND, NULL, NULL), 0);
	record(rec, NULL, &f2, 4000);
	rec = mem_deref(rec);
	/* Appending to a file that does not exist creates it. */
	snprintf(fresh, sizeof(fresh), "%s/fresh.wav", fx->dir);
	assert_int_equal(recorder_open(&rec, w, fresh, RECORDER_APPEND, NULL, NULL), 0);
	record(rec, &f1, NULL, 800);
	mem_deref(rec);
	mem_deref(w);

	s = wav_read(fx->path, &frames, &ch);
	assert_int_equal(frames, 12000);
	tone(first, FRAME, 500, 0);
	assert_memory_equal(s, first, sizeof(first));
	assert_true(power_at(s, 8000, 1, 0, 500) > 1000 * power_at(s, 8000, 1, 0, 1500));
	assert_true(power_at(s + 8000, 4000, 1, 0, 1500) >
		    1000 * power_at(s + 8000, 4000, 1, 0, 500));
	free(s);

	s = wav_read(fresh, &frames, &ch);
	assert_int_equal(frames, 800);
	free(s);
}

static void test_recorder_append_refuses_other_layout(void **state)
{
	struct fixture *fx = *state;
	struct recwriter *w = writer_new();
	struct recorder *rec = NULL;
	struct failrec fr = { .cancel = true };
	const double f = 500;
	char fresh[300];
	sf_count_t frames;
	int16_t *s;
	int ch, err;

	assert_int_equal(recorder_open(&rec, w, fx->path, 0, NULL, NULL), 0);
	record(rec, &f, NULL, 1600);
	rec = mem_deref(rec);
	w = mem_deref(w);
	/* A settled mono file: refused at once. */
	w = writer_new();
	assert_int_equal(recorder_open(&rec, w, fx->path,
				       RECORDER_APPEND | RECORDER_STEREO, NULL, NULL),
			 EINVAL);
	assert_null(rec);

	snprintf(fresh, sizeof(fresh), "%s/fresh.wav", fx->dir);
	/* A mono file the writer has not even opened yet (the path is still
	 * empty): refused at once, or by the writer when it gets to it,
	 * through the fail handler. */
	assert_int_equal(recorder_open(&rec, w, fresh, 0, NULL, NULL), 0);
	record(rec, &f, NULL, 1600);
	rec = mem_deref(rec);
	err = recorder_open(&rec, w, fresh, RECORDER_APPEND | RECORDER_STEREO,
			    fail_h, &fr);
	if (!err) {
		run_loop();
		assert_int_equal(fr.calls, 1);
		err = fr.err;
		assert_int_equal(recorder_write(rec, NULL, NULL, FRAME), EINVAL);
		rec = mem_deref(rec);
	}
	assert_int_equal(err, EINVAL);
	mem_deref(w);

	s = wav_read(fx->path, &frames, &ch);
	assert_int_equal(frames, 1600);
	assert_int_equal(ch, 1);
	free(s);
	s = wav_read(fresh, &frames, &ch);
	assert_int_equal(frames, 1600);
	assert_int_equal(ch, 1);
	free(s);
}

static void test_recorder_creates_missing_directories(void **state)
{
	struct fixture *fx = *state;
	struct recwriter *w = writer_new();
	struct recorder *rec = NULL;
	const double f = 500;
	char path[300];
	sf_count_t frames;
	int16_t *s;
	int ch;

	snprintf(path, sizeof(path), "%s/a/b/c/x.wav", fx->dir);
	assert_int_equal(recorder_open(&rec, w, path, 0, NULL, NULL), 0);
	record(rec, &f, NULL, 160);
	mem_deref(rec);
	mem_deref(w);

	s = wav_read(path, &frames, &ch);
	assert_int_equal(frames, 160);
	free(s);
}

static void test_recorder_bad_path_fails_at_open(void **state)
{
	struct fixture *fx = *state;
	struct recwriter *w = writer_new();
	struct recorder *rec = NULL;
	char path[300];
	FILE *fp;

	assert_int_not_equal(recorder_open(&rec, w, "/proc/nonexistent/x.wav", 0,
					   NULL, NULL), 0);
	assert_null(rec);
	/* A parent that is a regular file. */
	snprintf(path, sizeof(path), "%s/plain", fx->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fclose(fp);
	snprintf(path, sizeof(path), "%s/plain/x.wav", fx->dir);
	assert_int_equal(recorder_open(&rec, w, path, 0, NULL, NULL), ENOTDIR);
	assert_null(rec);
	assert_int_equal(recorder_open(&rec, w, "", 0, NULL, NULL), EINVAL);
	assert_int_equal(recorder_write(NULL, NULL, NULL, FRAME), EINVAL);
	mem_deref(w);
}

static void test_recorder_outlived_by_recorder(void **state)
{
	struct fixture *fx = *state;
	struct recwriter *w = writer_new();
	struct recorder *rec = NULL;
	const double f = 500;
	sf_count_t frames;
	int16_t *s;
	int ch;

	assert_int_equal(recorder_open(&rec, w, fx->path, 0, NULL, NULL), 0);
	record(rec, &f, NULL, 1600);
	mem_deref(w);
	/* The writer closed the file on its way out. */
	assert_int_equal(recorder_write(rec, NULL, NULL, FRAME), ESHUTDOWN);
	assert_int_equal(recorder_samples(rec), 1600);
	s = wav_read(fx->path, &frames, &ch);
	assert_int_equal(frames, 1600);
	free(s);
	mem_deref(rec);
}

/* Full disk, simulated by RLIMIT_FSIZE in a child process (no root, no
 * tmpfs needed): writes past the limit fail with EFBIG. */
#define CHILD_CHECK(c) do { if (!(c)) { \
	fprintf(stderr, "child check failed line %d: %s\n", __LINE__, #c); \
	return 1; } } while (0)

/* The writer may fail while this still queues: later writes then return
 * the error, which is what the caller checks afterwards. */
static void write_secs(struct recorder *rec, unsigned secs)
{
	int16_t buf[FRAME];

	tone(buf, FRAME, 500, 0);
	for (unsigned i = 0; i < secs * RATE / FRAME; i++)
		(void)recorder_write(rec, buf, buf, FRAME);
}

static int full_disk_child(const char *dir)
{
	struct rlimit rl = { .rlim_cur = 20000, .rlim_max = 20000 };
	struct failrec fa = { 0 }, fb = { .cancel = true };
	struct recwriter *w = NULL;
	struct recorder *a = NULL, *b = NULL;
	char pa[300], pb[300];
	struct stat st;
	SF_INFO info = { 0 };
	SNDFILE *sf;

	snprintf(pa, sizeof(pa), "%s/full_a.wav", dir);
	snprintf(pb, sizeof(pb), "%s/full_b.wav", dir);
	CHILD_CHECK(signal(SIGXFSZ, SIG_IGN) != SIG_ERR);
	CHILD_CHECK(setrlimit(RLIMIT_FSIZE, &rl) == 0);
	CHILD_CHECK(libre_init() == 0);
	CHILD_CHECK(recwriter_alloc(&w) == 0);
	CHILD_CHECK(recorder_open(&a, w, pa, 0, fail_h, &fa) == 0);
	CHILD_CHECK(recorder_open(&b, w, pb, 0, fail_h, &fb) == 0);
	/* a fails after it was released: its handler must never run. The
	 * writer works in queue order, so a's failure is delivered (and
	 * ignored) before b's. */
	write_secs(a, 5);
	a = mem_deref(a);
	write_secs(b, 5);

	run_loop();

	CHILD_CHECK(fa.calls == 0);
	CHILD_CHECK(fb.calls == 1);
	CHILD_CHECK(fb.err == EFBIG || fb.err == EIO);
	CHILD_CHECK(recorder_write(b, NULL, NULL, FRAME) == fb.err);
	mem_deref(b);
	mem_deref(w);

	/* The file was closed with a header covering what reached the disk. */
	CHILD_CHECK(stat(pb, &st) == 0);
	sf = sf_open(pb, SFM_READ, &info);
	CHILD_CHECK(sf != NULL);
	sf_close(sf);
	CHILD_CHECK(info.frames > 0);
	CHILD_CHECK(info.frames < 5 * RATE);
	CHILD_CHECK(st.st_size <= (off_t)rl.rlim_cur);
	CHILD_CHECK(st.st_size - 2 * info.frames >= 44);
	CHILD_CHECK(st.st_size - 2 * info.frames <= 46);
	libre_close();
	return 0;
}

static void test_recorder_full_disk_notifies_and_keeps_valid_wav(void **state)
{
	struct fixture *fx = *state;
	int status;
	pid_t pid;

	/* The child must not share this process's libre poll state. */
	libre_close();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(full_disk_child(fx->dir));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(libre_init(), 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_recorder_mono_mixes_both_directions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recorder_stereo_puts_rx_left_tx_right, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recorder_null_side_is_silence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recorder_mono_mix_saturates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recorder_append_extends_existing_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recorder_append_refuses_other_layout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recorder_creates_missing_directories, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recorder_bad_path_fails_at_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recorder_outlived_by_recorder, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recorder_full_disk_notifies_and_keeps_valid_wav, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
