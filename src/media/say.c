/* say: prompt lists for SayNumber/SayDigits, following Asterisk's
 * ast_say_number_full_en and ast_say_digit_str; building the list only,
 * playing it is the player's job. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <re.h>
#include "media/say.h"

/* asterisk-core-sounds has digits/billion, so English reaches 10^12 - 1
 * (Asterisk itself stops at 10^9). */
#define SAY_NUMBER_MAX 999999999999ULL

struct out {
	char *buf;
	size_t sz, len;
	int err;
};

static void out_add(struct out *o, const char *name)
{
	size_t n = strlen(name) + (o->len ? 1 : 0);

	if (o->err)
		return;
	if (o->len + n + 1 > o->sz) {
		o->err = ENAMETOOLONG;
		return;
	}
	if (o->len)
		o->buf[o->len++] = '&';
	strcpy(o->buf + o->len, name);
	o->len += strlen(name);
}

static void out_digit_file(struct out *o, unsigned n)
{
	char name[16];
	(void)re_snprintf(name, sizeof(name), "digits/%u", n);
	out_add(o, name);
}

/* 1..999: "digits/N&digits/hundred" then tens and units as recorded. */
static void say_below_1000(struct out *o, unsigned n)
{
	if (n >= 100) {
		out_digit_file(o, n / 100);
		out_add(o, "digits/hundred");
		n %= 100;
	}
	if (n >= 20) {
		out_digit_file(o, n / 10 * 10);
		n %= 10;
	}
	if (n)
		out_digit_file(o, n);
}

static void say_en(struct out *o, uint64_t n)
{
	static const struct { uint64_t scale; const char *name; } scales[] = {
		{1000000000ULL, "digits/billion"},
		{1000000ULL, "digits/million"},
		{1000ULL, "digits/thousand"},
	};

	if (n == 0) {
		out_add(o, "digits/0");
		return;
	}
	for (size_t i = 0; i < sizeof(scales) / sizeof(scales[0]); i++) {
		if (n < scales[i].scale)
			continue;
		say_below_1000(o, (unsigned)(n / scales[i].scale));
		out_add(o, scales[i].name);
		n %= scales[i].scale;
	}
	say_below_1000(o, (unsigned)n);
}

/* Optional '-', then decimal digits only (leading zeros allowed). */
static int number_parse(const char *s, bool *neg, uint64_t *val)
{
	uint64_t v = 0;

	*neg = (*s == '-');
	if (*neg)
		s++;
	if (!*s)
		return EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return EINVAL;
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > SAY_NUMBER_MAX)
			return EINVAL;
	}
	*val = v;
	return 0;
}

static bool lang_english(const char *lang)
{
	return !lang || !*lang || strncmp(lang, "en", 2) == 0;
}

int say_number_files(char *buf, size_t sz, const char *number, const char *lang)
{
	struct out o = {buf, sz, 0, 0};
	uint64_t val;
	bool neg;
	int err;

	if (!buf || !sz || !number || !*number)
		return EINVAL;
	err = number_parse(number, &neg, &val);
	if (err)
		return err;
	/* Other languages have their own grammar (Asterisk's say.c has one
	 * function per language); the caller falls back to TTS. */
	if (!lang_english(lang))
		return ENOTSUP;

	buf[0] = '\0';
	if (neg && val)
		out_add(&o, "digits/minus");
	say_en(&o, val);
	if (o.err)
		buf[0] = '\0';
	return o.err;
}

int say_digits_files(char *buf, size_t sz, const char *digits, const char *lang)
{
	struct out o = {buf, sz, 0, 0};
	char name[16];
	(void)lang;

	if (!buf || !sz || !digits || !*digits)
		return EINVAL;
	buf[0] = '\0';
	for (const char *p = digits; *p; p++) {
		char c = *p;

		if (c >= '0' && c <= '9')
			(void)re_snprintf(name, sizeof(name), "digits/%c", c);
		else if (c == '*')
			str_ncpy(name, "digits/star", sizeof(name));
		else if (c == '#')
			str_ncpy(name, "digits/pound", sizeof(name));
		else if (c == '-')
			str_ncpy(name, "letters/dash", sizeof(name));
		else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
			(void)re_snprintf(name, sizeof(name), "letters/%c", c | 0x20);
		else
			continue;     /* as Asterisk: no prompt, no error */
		out_add(&o, name);
	}
	if (o.err) {
		buf[0] = '\0';
		return o.err;
	}
	/* Only unknown characters: nothing to say is a caller error. */
	return o.len ? 0 : EINVAL;
}
