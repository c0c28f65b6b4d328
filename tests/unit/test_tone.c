/* tone: tone list parsing, spectra measured with a Goertzel filter,
 * cadences sample-exact, once-only parts, phase continuity, zones. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <math.h>
#include <string.h>
#include <re.h>
#include "media/tone.h"

enum { RATE = 8000 };

/* Amplitude of the f Hz component of x (a full-scale sine of amplitude A
 * reads as about A). */
static double goertzel_amp(const int16_t *x, size_t n, double f)
{
	double coeff = 2.0 * cos(2.0 * M_PI * f / RATE);
	double s1 = 0, s2 = 0, power;
	size_t i;

	for (i = 0; i < n; ++i) {
		double s0 = x[i] + coeff * s1 - s2;
		s2 = s1;
		s1 = s0;
	}
	power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
	return 2.0 * sqrt(power > 0 ? power : 0) / (double)n;
}

static int peak(const int16_t *x, size_t n)
{
	int m = 0;
	size_t i;

	for (i = 0; i < n; ++i) {
		int v = x[i] < 0 ? -x[i] : x[i];
		if (v > m)
			m = v;
	}
	return m;
}

static struct tonegen *tg_new(const char *spec)
{
	struct tonegen *tg = NULL;

	assert_int_equal(tonegen_alloc(&tg, spec), 0);
	assert_non_null(tg);
	return tg;
}

/* Every block of 40 samples (two periods of the lowest tone used) loud. */
static void assert_loud(const int16_t *x, size_t n)
{
	size_t i;

	for (i = 0; i + 40 <= n; i += 40)
		assert_true(peak(x + i, 40) > 5000);
}

static void assert_silent(const int16_t *x, size_t n)
{
	assert_int_equal(peak(x, n), 0);
}

static void test_tone_rejects_malformed_specs(void **state)
{
	static const char *bad[] = {
		"", " ", "abc", "425/", "425+", "425*", "-5", "425/1000,,",
		"425,", ",425", "425/1000x", "425//100", "!", "!!425",
		"350+375+400", "425/-1", "4000", "M128", "M", "425 + 440",
		"1234567890", "425/1000;0/4000",
	};
	struct tonegen *tg = NULL;
	size_t i;
	(void)state;

	for (i = 0; i < ARRAY_SIZE(bad); ++i) {
		print_message("spec \"%s\"\n", bad[i]);
		assert_int_equal(tonegen_alloc(&tg, bad[i]), EINVAL);
		assert_null(tg);
	}
	assert_int_equal(tonegen_alloc(&tg, NULL), EINVAL);
	assert_int_equal(tonegen_alloc(NULL, "425"), EINVAL);
}

static void test_tone_accepts_asterisk_forms(void **state)
{
	static const char *good[] = {
		"425", "0", "350+440", "400*25", "425/1000,0/4000",
		" 425/1000 , 0/4000 ", "!950/330,!1400/330,!1800/330,0",
		"M69/100", "M60+M64/200,0/100", "3999",
	};
	size_t i;
	(void)state;

	for (i = 0; i < ARRAY_SIZE(good); ++i)
		mem_deref(tg_new(good[i]));
}

static void test_tone_single_425_has_energy_at_425_only(void **state)
{
	struct tonegen *tg = tg_new("425");
	int16_t buf[RATE];
	(void)state;

	assert_true(tonegen_read(tg, buf, RATE));
	assert_true(goertzel_amp(buf, RATE, 425) > 6500);
	assert_true(goertzel_amp(buf, RATE, 425) < 8000);
	assert_true(goertzel_amp(buf, RATE, 1000) < 100);
	assert_true(goertzel_amp(buf, RATE, 350) < 100);
	/* Asterisk's Playtones level: about 7219 peak per frequency. */
	assert_in_range(peak(buf, RATE), 7100, 7300);
	mem_deref(tg);
}

static void test_tone_dual_has_energy_at_both(void **state)
{
	struct tonegen *tg = tg_new("350+440");
	int16_t buf[RATE];
	(void)state;

	assert_true(tonegen_read(tg, buf, RATE));
	assert_true(goertzel_amp(buf, RATE, 350) > 6500);
	assert_true(goertzel_amp(buf, RATE, 440) > 6500);
	assert_true(goertzel_amp(buf, RATE, 395) < 100);
	assert_true(goertzel_amp(buf, RATE, 1000) < 100);
	assert_in_range(peak(buf, RATE), 13000, 14500);
	mem_deref(tg);
}

static void test_tone_modulated_has_carrier_and_sidebands(void **state)
{
	struct tonegen *tg = tg_new("400*25");
	int16_t buf[RATE];
	double c, lo, hi;
	(void)state;

	assert_true(tonegen_read(tg, buf, RATE));
	c = goertzel_amp(buf, RATE, 400);
	lo = goertzel_amp(buf, RATE, 375);
	hi = goertzel_amp(buf, RATE, 425);
	assert_true(c > 3000);
	/* 90 % depth: each sideband is 0.45 of the carrier. */
	assert_true(lo > 0.4 * c && lo < 0.5 * c);
	assert_true(hi > 0.4 * c && hi < 0.5 * c);
	assert_true(goertzel_amp(buf, RATE, 25) < 100);
	mem_deref(tg);
}

static void test_tone_midi_note_69_is_440(void **state)
{
	struct tonegen *tg = tg_new("M69/500");
	int16_t buf[RATE / 2];
	(void)state;

	assert_true(tonegen_read(tg, buf, RATE / 2));
	assert_true(goertzel_amp(buf, RATE / 2, 440) > 6500);
	assert_true(goertzel_amp(buf, RATE / 2, 400) < 200);
	mem_deref(tg);
}

static void test_tone_cadence_repeats(void **state)
{
	struct tonegen *tg = tg_new("425/1000,0/4000");
	int16_t *buf = mem_zalloc(2 * 40000 * sizeof(*buf), NULL);
	int cycle;
	(void)state;

	assert_non_null(buf);
	assert_true(tonegen_read(tg, buf, 2 * 40000));
	for (cycle = 0; cycle < 2; ++cycle) {
		const int16_t *c = buf + cycle * 40000;

		assert_loud(c, 8000);
		assert_true(goertzel_amp(c, 8000, 425) > 6500);
		assert_silent(c + 8000, 32000);
	}
	mem_deref(buf);
	mem_deref(tg);
}

static void test_tone_once_only_list_ends(void **state)
{
	struct tonegen *tg = tg_new("!950/330,!1400/330");
	int16_t buf[5280], tail[160];
	(void)state;

	assert_true(tonegen_read(tg, buf, 5280));
	assert_true(goertzel_amp(buf, 2640, 950) > 6000);
	assert_true(goertzel_amp(buf, 2640, 1400) < 200);
	assert_true(goertzel_amp(buf + 2640, 2640, 1400) > 6000);
	assert_true(goertzel_amp(buf + 2640, 2640, 950) < 200);

	memset(tail, 0x55, sizeof(tail));
	assert_false(tonegen_read(tg, tail, 160));
	assert_silent(tail, 160);
	assert_false(tonegen_read(tg, tail, 160));
	mem_deref(tg);

	/* A read straddling the end still reports tone, zero-fills the rest. */
	tg = tg_new("!950/330,!1400/330");
	{
		int16_t *big = mem_alloc(6000 * sizeof(*big), NULL);

		assert_non_null(big);
		memset(big, 0x55, 6000 * sizeof(*big));
		assert_true(tonegen_read(tg, big, 6000));
		assert_true(peak(big + 5200, 80) > 5000);
		assert_silent(big + 5280, 720);
		assert_false(tonegen_read(tg, big, 10));
		mem_deref(big);
	}
	mem_deref(tg);
}

static void test_tone_repeats_from_first_part_without_bang(void **state)
{
	struct tonegen *tg = tg_new("!1000/100,425/100,0/100");
	int16_t buf[4000];
	(void)state;

	assert_true(tonegen_read(tg, buf, 4000));
	assert_true(goertzel_amp(buf, 800, 1000) > 6000);
	assert_true(goertzel_amp(buf + 800, 800, 425) > 6000);
	assert_silent(buf + 1600, 800);
	/* Second round: the "!1000" part is skipped. */
	assert_true(goertzel_amp(buf + 2400, 800, 425) > 6000);
	assert_true(goertzel_amp(buf + 2400, 800, 1000) < 200);
	assert_silent(buf + 3200, 800);
	mem_deref(tg);
}

static void test_tone_chunked_reads_equal_one_read(void **state)
{
	const char *spec = "350+440/30,0/20,400*25/45,!1000/5";
	struct tonegen *a = tg_new(spec), *b = tg_new(spec);
	int16_t one[1001], chunks[1001];
	size_t off;
	(void)state;

	assert_true(tonegen_read(a, one, 1001));
	for (off = 0; off < 1001; off += 7)
		assert_true(tonegen_read(b, chunks + off, 7));
	assert_memory_equal(one, chunks, sizeof(one));
	mem_deref(a);
	mem_deref(b);
}

static void test_tone_phase_continues_across_parts(void **state)
{
	struct tonegen *split = tg_new("425/100,425/100");
	struct tonegen *cont = tg_new("425");
	int16_t a[4000], b[4000];
	(void)state;

	assert_true(tonegen_read(split, a, 4000));
	assert_true(tonegen_read(cont, b, 4000));
	assert_memory_equal(a, b, sizeof(a));
	mem_deref(split);
	mem_deref(cont);
}

static void test_tone_zone_lookups(void **state)
{
	(void)state;

	assert_string_equal(tone_zone_spec("us", "busy"), "480+620/500,0/500");
	assert_string_equal(tone_zone_spec("us", "dial"), "350+440");
	assert_string_equal(tone_zone_spec("ir", "ring"), "425/1000,0/4000");
	assert_string_equal(tone_zone_spec("IR", "Congestion"), "425/240,0/240");
	assert_string_equal(tone_zone_spec("Ir", "CALLWAITING"),
			    "425/200,0/200,425/200,0/10000");
	assert_null(tone_zone_spec("xx", "dial"));
	assert_null(tone_zone_spec("us", "nope"));
	assert_null(tone_zone_spec(NULL, "dial"));
	assert_null(tone_zone_spec("us", NULL));
	assert_true(tone_zone_exists("UK"));
	assert_true(tone_zone_exists("de"));
	assert_false(tone_zone_exists("zz"));
	assert_false(tone_zone_exists(NULL));
	assert_false(tone_zone_exists(""));
}

static void test_tone_every_zone_tone_parses(void **state)
{
	static const char *zones[] = {
		"us", "ir", "uk", "de", "fr", "it", "es", "nl", "ru", "au", "in",
	};
	static const char *names[] = {
		"dial", "busy", "ring", "congestion", "callwaiting",
		"dialrecall", "record", "info", "beep",
	};
	size_t z, n;
	(void)state;

	for (z = 0; z < ARRAY_SIZE(zones); ++z) {
		assert_true(tone_zone_exists(zones[z]));
		assert_string_equal(tone_zone_spec(zones[z], "beep"),
				    tone_zone_spec("us", "beep"));
		for (n = 0; n < ARRAY_SIZE(names); ++n) {
			const char *spec = tone_zone_spec(zones[z], names[n]);

			print_message("%s %s\n", zones[z], names[n]);
			assert_non_null(spec);
			mem_deref(tg_new(spec));
		}
	}
}

static void test_tone_beep_is_short_1k_and_ends(void **state)
{
	struct tonegen *tg = tg_new(tone_zone_spec("ir", "beep"));
	int16_t buf[RATE];
	(void)state;

	assert_true(tonegen_read(tg, buf, RATE));
	assert_true(goertzel_amp(buf, 2000, 1000) > 6000);
	assert_silent(buf + 2000, RATE - 2000);
	assert_false(tonegen_read(tg, buf, 160));
	mem_deref(tg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tone_rejects_malformed_specs),
		cmocka_unit_test(test_tone_accepts_asterisk_forms),
		cmocka_unit_test(test_tone_single_425_has_energy_at_425_only),
		cmocka_unit_test(test_tone_dual_has_energy_at_both),
		cmocka_unit_test(test_tone_modulated_has_carrier_and_sidebands),
		cmocka_unit_test(test_tone_midi_note_69_is_440),
		cmocka_unit_test(test_tone_cadence_repeats),
		cmocka_unit_test(test_tone_once_only_list_ends),
		cmocka_unit_test(test_tone_repeats_from_first_part_without_bang),
		cmocka_unit_test(test_tone_chunked_reads_equal_one_read),
		cmocka_unit_test(test_tone_phase_continues_across_parts),
		cmocka_unit_test(test_tone_zone_lookups),
		cmocka_unit_test(test_tone_every_zone_tone_parses),
		cmocka_unit_test(test_tone_beep_is_short_1k_and_ends),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
