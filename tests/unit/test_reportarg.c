/* Unit tests for reportarg: date_range bounds, API ids, recording file
 * names (the download endpoint's only defence against traversal), MIME
 * types and HH:MM:SS. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>
#include "api/reportarg.h"

static void date_is(const char *in, bool upper, const char *want)
{
	char out[32];

	assert_int_equal(reportarg_date(in, upper, out, sizeof(out)), 0);
	assert_string_equal(out, want);
}

static void date_bad(const char *in)
{
	char out[32];

	assert_int_equal(reportarg_date(in, false, out, sizeof(out)), EINVAL);
	assert_int_equal(reportarg_date(in, true, out, sizeof(out)), EINVAL);
}

static void test_date_forms_and_inclusive_bounds(void **state)
{
	(void)state;
	date_is("2024-05-30 09:00", false, "2024-05-30 09:00:00");
	date_is("2024-05-30 09:00", true, "2024-05-30 09:00:59");
	date_is("2024-05-30 09:00:07", false, "2024-05-30 09:00:07");
	date_is("2024-05-30 09:00:07", true, "2024-05-30 09:00:07");
	date_is("2024-05-30T09:00", false, "2024-05-30 09:00:00");
	date_is("2024-05-30", false, "2024-05-30 00:00:00");
	date_is("2024-05-30", true, "2024-05-30 23:59:59");
	date_is("2024-02-29 23:59", true, "2024-02-29 23:59:59");
	date_is("2000-02-29", false, "2000-02-29 00:00:00");
}

static void test_date_rejects_bad_text_and_impossible_dates(void **state)
{
	char small[8];

	(void)state;
	date_bad("");
	date_bad("yesterday");
	date_bad("2024-5-30 09:00");
	date_bad("2024/05/30 09:00");
	date_bad("2024-05-30 9:00");
	date_bad("2024-05-30 09:00:0");
	date_bad("2024-05-30 09:00 ");
	date_bad("2024-05-30 09-00");
	date_bad("2024-13-01 00:00");
	date_bad("2024-00-01 00:00");
	date_bad("2024-04-31 00:00");
	date_bad("2023-02-29 00:00");
	date_bad("1900-02-29 00:00");
	date_bad("2024-05-00 00:00");
	date_bad("2024-05-30 24:00");
	date_bad("2024-05-30 23:60");
	date_bad("2024-05-30 23:59:60");
	date_bad("0000-01-01");
	date_bad("1403-13-10 09:00");
	date_bad("+024-05-30");
	assert_int_equal(reportarg_date(NULL, false, small, sizeof(small)), EINVAL);
	assert_int_equal(reportarg_date("2024-05-30", false, small, sizeof(small)), EINVAL);
}

static void test_id_round_trip_and_strictness(void **state)
{
	char s[25];
	int64_t id = 0;

	(void)state;
	reportarg_id_fmt(42, s);
	assert_string_equal(s, "00000000000000000000002a");
	assert_int_equal(reportarg_id_parse(s, &id), 0);
	assert_int_equal(id, 42);
	assert_int_equal(reportarg_id_parse("00000000000000000000002A", &id), 0);
	assert_int_equal(id, 42);
	reportarg_id_fmt(INT64_MAX, s);
	assert_int_equal(reportarg_id_parse(s, &id), 0);
	assert_true(id == INT64_MAX);
	assert_int_equal(reportarg_id_parse("000000000000000000000000", &id), EINVAL);
	assert_int_equal(reportarg_id_parse("00000000000000000000002", &id), EINVAL);
	assert_int_equal(reportarg_id_parse("000000000000000000000002a", &id), EINVAL);
	assert_int_equal(reportarg_id_parse("00000000000000000000002g", &id), EINVAL);
	assert_int_equal(reportarg_id_parse("0000000000000000000000-1", &id), EINVAL);
	assert_int_equal(reportarg_id_parse("000000008000000000000000", &id), EINVAL);
	assert_int_equal(reportarg_id_parse("ffffffffffffffffffffffff", &id), EINVAL);
	assert_int_equal(reportarg_id_parse("", &id), EINVAL);
	assert_int_equal(reportarg_id_parse(NULL, &id), EINVAL);
}

static void test_file_names_stay_inside(void **state)
{
	char longname[300];

	(void)state;
	assert_true(reportarg_file_ok("20240530-090000-1717000000.42.wav"));
	assert_true(reportarg_file_ok("2024/05/call.wav"));
	assert_true(reportarg_file_ok("a..b.wav"));
	assert_true(reportarg_file_ok("...wav"));
	assert_false(reportarg_file_ok(""));
	assert_false(reportarg_file_ok(NULL));
	assert_false(reportarg_file_ok("/etc/passwd"));
	assert_false(reportarg_file_ok(".."));
	assert_false(reportarg_file_ok("../tamas.conf"));
	assert_false(reportarg_file_ok("x/../../tamas.conf"));
	assert_false(reportarg_file_ok("x/.."));
	assert_false(reportarg_file_ok("./x.wav"));
	assert_false(reportarg_file_ok("x/./y.wav"));
	assert_false(reportarg_file_ok("x//y.wav"));
	assert_false(reportarg_file_ok("x/"));
	assert_false(reportarg_file_ok("..\\x.wav"));
	assert_false(reportarg_file_ok("x\ny.wav"));
	assert_false(reportarg_file_ok("x\ty.wav"));
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_false(reportarg_file_ok(longname));
	longname[255] = '\0';
	assert_true(reportarg_file_ok(longname));
}

static void test_mime_by_extension(void **state)
{
	(void)state;
	assert_string_equal(reportarg_mime("a.wav"), "audio/wav");
	assert_string_equal(reportarg_mime("a.WAV"), "audio/wav");
	assert_string_equal(reportarg_mime("x/20200921_1600675211.10033.1.mp3"), "audio/mpeg");
	assert_string_equal(reportarg_mime("a.ogg"), "audio/ogg");
	assert_string_equal(reportarg_mime("a.gsm"), "audio/gsm");
	assert_string_equal(reportarg_mime("a"), "application/octet-stream");
	assert_string_equal(reportarg_mime("a.wav.txt"), "application/octet-stream");
	assert_string_equal(reportarg_mime("dir.wav/a"), "application/octet-stream");
}

static void test_hhmmss(void **state)
{
	char s[24];

	(void)state;
	reportarg_hhmmss(0, s);
	assert_string_equal(s, "00:00:00");
	reportarg_hhmmss(67, s);
	assert_string_equal(s, "00:01:07");
	reportarg_hhmmss(3600 * 25 + 61, s);
	assert_string_equal(s, "25:01:01");
	reportarg_hhmmss(360000, s);
	assert_string_equal(s, "100:00:00");
	reportarg_hhmmss(-5, s);
	assert_string_equal(s, "00:00:00");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_date_forms_and_inclusive_bounds),
		cmocka_unit_test(test_date_rejects_bad_text_and_impossible_dates),
		cmocka_unit_test(test_id_round_trip_and_strictness),
		cmocka_unit_test(test_file_names_stay_inside),
		cmocka_unit_test(test_mime_by_extension),
		cmocka_unit_test(test_hhmmss),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
