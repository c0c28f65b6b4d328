/* Unit tests for store/numlist and store/announce (the management
 * repositories), api/callscreen's verdicts, and afile_convert. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <sndfile.h>
#include <re.h>
#include "api/callscreen.h"
#include "media/afile.h"
#include "store/announce.h"
#include "store/numlist.h"
#include "store/store.h"
#include "store_fixture.h"

struct seen {
	char numbers[8][32];
	char labels[64];
	size_t n;
};

static int seen_h(const struct numlist_entry *e, void *arg)
{
	struct seen *s = arg;

	if (s->n < 8)
		str_ncpy(s->numbers[s->n++], e->number, sizeof(s->numbers[0]));
	str_ncpy(s->labels, e->labels, sizeof(s->labels));
	return 0;
}

static void test_numlist_lists_are_separate_and_numbers_unique(void **state)
{
	struct store *st = *state;
	struct numlist_entry e = { .number = "0912", .comment = "c" };
	char id[32], id2[32];

	assert_int_equal(numlist_add(st, NUMLIST_BLACK, &e, id, sizeof(id)), 0);
	assert_int_equal(strlen(id), 24);
	assert_int_equal(numlist_add(st, NUMLIST_BLACK, &e, id2, sizeof(id2)), EEXIST);
	e.labels = "[\"vip\"]";
	assert_int_equal(numlist_add(st, NUMLIST_WHITE, &e, id2, sizeof(id2)), 0);
	/* ids do not cross lists */
	assert_int_equal(numlist_del(st, NUMLIST_WHITE, id), ENOENT);
	assert_int_equal(numlist_get(st, NUMLIST_WHITE, id, seen_h, &(struct seen){0}), ENOENT);
	assert_int_equal(numlist_del(st, NUMLIST_BLACK, id), 0);
	assert_int_equal(numlist_lookup(st, NUMLIST_BLACK, "0912", seen_h, &(struct seen){0}),
			 ENOENT);
	assert_int_equal(numlist_lookup(st, NUMLIST_WHITE, "0912", seen_h, &(struct seen){0}), 0);
}

static void test_numlist_update_and_search(void **state)
{
	struct store *st = *state;
	const char *nums[] = { "0912111", "0912222", "0935333" };
	struct numlist_query q = { .number = "0912", .alike = true };
	struct seen s = { .n = 0 };
	char id[32];
	uint64_t total = 0;

	for (size_t i = 0; i < 3; i++)
		assert_int_equal(numlist_add(st, NUMLIST_BLACK, &(struct numlist_entry){
			.number = nums[i] }, id, sizeof(id)), 0);
	assert_int_equal(numlist_search(st, NUMLIST_BLACK, &q, &total, seen_h, &s), 0);
	assert_int_equal(total, 2);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.numbers[0], "0912111");
	/* paging past the end still tells the total */
	q = (struct numlist_query){ .start = 5, .count = 2 };
	s.n = 0;
	assert_int_equal(numlist_search(st, NUMLIST_BLACK, &q, &total, seen_h, &s), 0);
	assert_int_equal(total, 3);
	assert_int_equal(s.n, 0);
	q = (struct numlist_query){ .sort = "number", .desc = true, .count = 1 };
	assert_int_equal(numlist_search(st, NUMLIST_BLACK, &q, &total, seen_h, &s), 0);
	assert_string_equal(s.numbers[0], "0935333");
	q.sort = "secret";
	assert_int_equal(numlist_search(st, NUMLIST_BLACK, &q, &total, seen_h, &s), EINVAL);
	/* LIKE wildcards in the filter are literal */
	q = (struct numlist_query){ .number = "%", .alike = true };
	s.n = 0;
	assert_int_equal(numlist_search(st, NUMLIST_BLACK, &q, &total, seen_h, &s), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(numlist_update(st, NUMLIST_BLACK, &(struct numlist_entry){
		.id = id, .number = "0912111" }), EEXIST);
	assert_int_equal(numlist_update(st, NUMLIST_BLACK, &(struct numlist_entry){
		.id = "nope", .number = "1" }), ENOENT);
	assert_int_equal(numlist_update(st, NUMLIST_BLACK, &(struct numlist_entry){
		.id = id, .number = "0999" }), 0);
	assert_int_equal(numlist_lookup(st, NUMLIST_BLACK, "0999", seen_h, &s), 0);
}

static void test_callscreen_whitelist_wins_and_labels_join(void **state)
{
	struct store *st = *state;
	char id[32], labels[64];

	assert_int_equal(callscreen_check(st, "0912", labels, sizeof(labels)), CALLSCREEN_PASS);
	assert_int_equal(numlist_add(st, NUMLIST_BLACK, &(struct numlist_entry){
		.number = "0912" }, id, sizeof(id)), 0);
	assert_int_equal(callscreen_check(st, "0912", labels, sizeof(labels)),
			 CALLSCREEN_BLACKLISTED);
	assert_int_equal(callscreen_check(st, "09123", labels, sizeof(labels)), CALLSCREEN_PASS);
	assert_int_equal(callscreen_check(st, "", labels, sizeof(labels)), CALLSCREEN_PASS);
	assert_int_equal(numlist_add(st, NUMLIST_WHITE, &(struct numlist_entry){
		.number = "0912", .labels = "[\"vip\",\"gold\"]" }, id, sizeof(id)), 0);
	assert_int_equal(callscreen_check(st, "0912", labels, sizeof(labels)),
			 CALLSCREEN_WHITELISTED);
	assert_string_equal(labels, "vip,gold");
	/* a small buffer keeps what fits, never overflows */
	assert_int_equal(callscreen_check(st, "0912", labels, 5), CALLSCREEN_WHITELISTED);
	assert_true(strlen(labels) < 5);
}

struct aseen {
	char name[32], status[16], filename[64];
	size_t n;
};

static int aseen_h(const struct announce *a, void *arg)
{
	struct aseen *s = arg;

	str_ncpy(s->name, a->name, sizeof(s->name));
	str_ncpy(s->status, a->status, sizeof(s->status));
	str_ncpy(s->filename, a->filename, sizeof(s->filename));
	s->n++;
	return 0;
}

static void test_announce_rows(void **state)
{
	struct store *st = *state;
	struct announce a = { .name = "welcome", .filename = "f1.wav", .status = "rendering" };
	struct announce_query q = { .name = "ELC", .alike = true };
	struct aseen s = { .n = 0 };
	char id[32], id2[32];
	uint64_t n = 0, total = 0;

	assert_int_equal(announce_add(st, &a, id, sizeof(id)), 0);
	assert_int_equal(announce_add(st, &a, id2, sizeof(id2)), EEXIST);
	a.name = "other";
	assert_int_equal(announce_add(st, &a, id2, sizeof(id2)), 0);
	assert_int_equal(announce_filename_uses(st, "f1.wav", &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(announce_search(st, &q, &total, aseen_h, &s), 0);
	assert_int_equal(total, 1);
	assert_string_equal(s.name, "welcome");
	assert_string_equal(s.status, "rendering");
	a = (struct announce){ .id = id2, .name = "welcome", .filename = "f2.wav" };
	assert_int_equal(announce_update(st, &a), EEXIST);
	a.name = "third";
	assert_int_equal(announce_update(st, &a), 0);
	assert_int_equal(announce_get(st, id2, aseen_h, &s), 0);
	assert_string_equal(s.status, "ready");
	assert_string_equal(s.filename, "f2.wav");
	assert_int_equal(announce_del(st, id2), 0);
	assert_int_equal(announce_del(st, id2), ENOENT);
	assert_int_equal(announce_get(st, id2, aseen_h, &s), ENOENT);
}

static void test_afile_convert_makes_8k_mono_wav_and_refuses_non_audio(void **state)
{
	char dir[] = "/tmp/tamas-conv-XXXXXX", in[128], out[128], junk[128];
	SF_INFO info = { .samplerate = 16000, .channels = 2,
			 .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16 };
	int16_t buf[2 * 1600];
	SNDFILE *sf;
	FILE *f;
	(void)state;

	assert_non_null(mkdtemp(dir));
	snprintf(in, sizeof(in), "%s/in.wav", dir);
	snprintf(out, sizeof(out), "%s/out.wav", dir);
	snprintf(junk, sizeof(junk), "%s/junk.mp3", dir);
	for (size_t i = 0; i < 3200; i++)
		buf[i] = (int16_t)((i * 37) % 2000 - 1000);
	sf = sf_open(in, SFM_WRITE, &info);
	assert_non_null(sf);
	assert_int_equal(sf_writef_short(sf, buf, 1600), 1600);  /* 100 ms */
	sf_close(sf);
	assert_int_equal(afile_convert(in, out, 0), 0);
	memset(&info, 0, sizeof(info));
	sf = sf_open(out, SFM_READ, &info);
	assert_non_null(sf);
	assert_int_equal(info.samplerate, 8000);
	assert_int_equal(info.channels, 1);
	assert_true(info.frames >= 780 && info.frames <= 820);
	sf_close(sf);
	/* too long for the limit: nothing is left behind */
	unlink(out);
	assert_int_equal(afile_convert(in, out, 50), EFBIG);
	assert_int_equal(access(out, F_OK), -1);
	f = fopen(junk, "w");
	assert_non_null(f);
	fputs("this is not audio\n", f);
	fclose(f);
	assert_int_equal(afile_convert(junk, out, 0), EINVAL);
	assert_int_equal(access(out, F_OK), -1);
	assert_int_equal(afile_convert("/nonexistent/x.wav", out, 0), ENOENT);
	unlink(in);
	unlink(junk);
	assert_int_equal(rmdir(dir), 0);
}

#define T(name) cmocka_unit_test_setup_teardown(name, store_fix_mem_setup, store_fix_mem_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_numlist_lists_are_separate_and_numbers_unique),
		T(test_numlist_update_and_search),
		T(test_callscreen_whitelist_wins_and_labels_join),
		T(test_announce_rows),
		cmocka_unit_test(test_afile_convert_makes_8k_mono_wav_and_refuses_non_audio),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
