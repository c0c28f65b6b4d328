/* tts: real espeak-ng renders into a temporary cache directory, completions
 * arrive on libre's main loop. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <re.h>
#include <sndfile.h>
#include "media/tts.h"

#define ESPEAK "/usr/bin/espeak-ng"

struct result {
	unsigned calls;
	int err;
	char path[512];
	bool stop_loop;
};

struct fixture {
	char dir[64];
	struct tts *tts;
};

static void done_h(int err, const char *path, void *arg)
{
	struct result *r = arg;

	r->calls++;
	r->err = err;
	if (path)
		snprintf(r->path, sizeof(r->path), "%s", path);
	else
		r->path[0] = '\0';
	if (r->stop_loop)
		re_cancel();
}

static void timeout_h(void *arg)
{
	(void)arg;
	re_cancel();
}

/* The timer only guards against a hang; no assertion depends on time. */
static void run_loop(unsigned ms)
{
	struct tmr t;
	tmr_init(&t);
	tmr_start(&t, ms, timeout_h, NULL);
	(void)re_main(NULL);
	tmr_cancel(&t);
}

static void render_wait(struct tts *tts, const char *text, const char *lang, struct result *r)
{
	struct tts_req *req = NULL;

	memset(r, 0, sizeof(*r));
	r->stop_loop = true;
	assert_int_equal(tts_render(&req, tts, text, lang, done_h, r), 0);
	/* Never inside tts_render, even from the cache. */
	assert_int_equal(r->calls, 0);
	run_loop(8000);
	assert_int_equal(r->calls, 1);
	mem_deref(req);
}

static bool have_espeak(void)
{
	return access(ESPEAK, X_OK) == 0;
}

static void rm_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[512];

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		(void)unlink(p);
	}
	closedir(d);
	(void)rmdir(dir);
}

static unsigned dir_count(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	unsigned n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static int fx_setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char sub[128];

	if (!fx)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/tamas-tts-XXXXXX");
	if (!mkdtemp(fx->dir)) {
		free(fx);
		return -1;
	}
	/* A directory that does not exist yet: tts_alloc creates it. */
	snprintf(sub, sizeof(sub), "%s/cache", fx->dir);
	if (tts_alloc(&fx->tts, sub, ESPEAK)) {
		rm_dir(fx->dir);
		free(fx);
		return -1;
	}
	*state = fx;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fixture *fx = *state;
	char sub[128];

	mem_deref(fx->tts);
	snprintf(sub, sizeof(sub), "%s/cache", fx->dir);
	rm_dir(sub);
	rm_dir(fx->dir);
	free(fx);
	return 0;
}

static void assert_wav_longer_than(const char *path, double secs)
{
	SF_INFO info;
	SNDFILE *sf;

	memset(&info, 0, sizeof(info));
	sf = sf_open(path, SFM_READ, &info);
	assert_non_null(sf);
	assert_int_equal(info.format & SF_FORMAT_TYPEMASK, SF_FORMAT_WAV);
	assert_true(info.samplerate > 0);
	assert_true((double)info.frames / info.samplerate > secs);
	sf_close(sf);
}

static void test_tts_path_is_stable_and_keyed_by_lang_and_text(void **state)
{
	struct fixture *fx = *state;
	char a[512], b[512], c[512], d[512], prefix[256];
	(void)state;

	assert_int_equal(tts_path(fx->tts, "hello", "en", a, sizeof(a)), 0);
	assert_int_equal(tts_path(fx->tts, "hello", "en", b, sizeof(b)), 0);
	assert_int_equal(tts_path(fx->tts, "hello", "fa", c, sizeof(c)), 0);
	assert_int_equal(tts_path(fx->tts, "hello!", "en", d, sizeof(d)), 0);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	assert_string_not_equal(a, d);
	snprintf(prefix, sizeof(prefix), "%s/cache/en-", fx->dir);
	assert_memory_equal(a, prefix, strlen(prefix));
	assert_string_equal(a + strlen(a) - 4, ".wav");
	/* 32 hex digits of MD5 between the prefix and ".wav". */
	assert_int_equal(strlen(a), strlen(prefix) + 32 + 4);
	assert_int_equal(tts_path(fx->tts, "hello", "en", a, 10), ENAMETOOLONG);
	assert_int_equal(tts_path(fx->tts, "hello", "../x", a, sizeof(a)), EINVAL);
}

static void test_tts_rejects_empty_text_and_unsafe_lang(void **state)
{
	struct fixture *fx = *state;
	struct tts_req *req = NULL;
	struct result r = {0};

	assert_int_equal(tts_render(&req, fx->tts, "", "en", done_h, &r), EINVAL);
	assert_int_equal(tts_render(&req, fx->tts, "hi", "../x", done_h, &r), EINVAL);
	assert_int_equal(tts_render(&req, fx->tts, "hi", "", done_h, &r), EINVAL);
	assert_int_equal(tts_render(&req, fx->tts, "hi", "en us", done_h, &r), EINVAL);
	assert_null(req);
	assert_int_equal(r.calls, 0);
}

static void test_tts_renders_english_and_persian_then_serves_cache(void **state)
{
	struct fixture *fx = *state;
	struct result r, again;
	struct stat st1, st2;
	char expect[512], sub[128];

	if (!have_espeak())
		skip();
	render_wait(fx->tts, "hello world", "en", &r);
	assert_int_equal(r.err, 0);
	assert_int_equal(tts_path(fx->tts, "hello world", "en", expect, sizeof(expect)), 0);
	assert_string_equal(r.path, expect);
	assert_wav_longer_than(r.path, 0.3);
	assert_int_equal(stat(r.path, &st1), 0);

	render_wait(fx->tts, "سلام دنیا", "fa", &r);
	assert_int_equal(r.err, 0);
	assert_wav_longer_than(r.path, 0.3);
	/* Two finished files, no temporary left behind. */
	snprintf(sub, sizeof(sub), "%s/cache", fx->dir);
	assert_int_equal(dir_count(sub), 2);

	render_wait(fx->tts, "hello world", "en", &again);
	assert_int_equal(again.err, 0);
	assert_string_equal(again.path, expect);
	assert_int_equal(stat(again.path, &st2), 0);
	assert_int_equal(st1.st_ino, st2.st_ino);
	assert_int_equal(st1.st_mtim.tv_sec, st2.st_mtim.tv_sec);
	assert_int_equal(st1.st_mtim.tv_nsec, st2.st_mtim.tv_nsec);
}

static void test_tts_cancelled_request_gets_no_callback(void **state)
{
	struct fixture *fx = *state;
	struct tts_req *gone = NULL;
	struct result cancelled = {0}, r;

	if (!have_espeak())
		skip();
	assert_int_equal(tts_render(&gone, fx->tts, "never heard", "en", done_h, &cancelled), 0);
	mem_deref(gone);
	/* The queue is first in, first out: once this one is done, the
	 * cancelled one has been through the worker and the loop. */
	render_wait(fx->tts, "after the cancel", "en", &r);
	assert_int_equal(r.err, 0);
	run_loop(50);
	assert_int_equal(cancelled.calls, 0);

	/* A cached result can be cancelled too. */
	assert_int_equal(tts_render(&gone, fx->tts, "after the cancel", "en", done_h,
				    &cancelled), 0);
	mem_deref(gone);
	run_loop(50);
	assert_int_equal(cancelled.calls, 0);
}

static void test_tts_unknown_voice_is_einval(void **state)
{
	struct fixture *fx = *state;
	struct result r;

	if (!have_espeak())
		skip();
	render_wait(fx->tts, "hello", "zz-nonexistent", &r);
	assert_int_equal(r.err, EINVAL);
	assert_string_equal(r.path, "");
}

static void test_tts_missing_espeak_is_enoent(void **state)
{
	struct fixture *fx = *state;
	struct tts *tts = NULL;
	struct result r;
	char sub[128];

	snprintf(sub, sizeof(sub), "%s/other", fx->dir);
	assert_int_equal(tts_alloc(&tts, sub, "/nonexistent/espeak"), 0);
	render_wait(tts, "hello", "en", &r);
	assert_int_equal(r.err, ENOENT);
	assert_string_equal(r.path, "");
	assert_int_equal(dir_count(sub), 0);
	mem_deref(tts);
	rm_dir(sub);
}

static void test_tts_free_drops_queued_requests(void **state)
{
	struct fixture *fx = *state;
	struct tts *tts = NULL;
	struct tts_req *req[3] = {NULL};
	struct result r = {0};
	char sub[128];

	if (!have_espeak())
		skip();
	snprintf(sub, sizeof(sub), "%s/other", fx->dir);
	assert_int_equal(tts_alloc(&tts, sub, ESPEAK), 0);
	assert_int_equal(tts_render(&req[0], tts, "one", "en", done_h, &r), 0);
	assert_int_equal(tts_render(&req[1], tts, "two", "en", done_h, &r), 0);
	assert_int_equal(tts_render(&req[2], tts, "three", "en", done_h, &r), 0);
	mem_deref(tts);
	run_loop(50);
	assert_int_equal(r.calls, 0);
	/* The requests outlive the tts harmlessly. */
	for (int i = 0; i < 3; i++)
		mem_deref(req[i]);
	rm_dir(sub);
}

static int setup(void **state)
{
	(void)state;
	return libre_init();
}

static int teardown(void **state)
{
	(void)state;
	libre_close();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_tts_path_is_stable_and_keyed_by_lang_and_text,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_tts_rejects_empty_text_and_unsafe_lang,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_tts_renders_english_and_persian_then_serves_cache,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_tts_cancelled_request_gets_no_callback,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_tts_unknown_voice_is_einval,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_tts_missing_espeak_is_enoent,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_tts_free_drops_queued_requests,
						fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
