/* reportarg: strict, allocation-free parsers for the reports routes. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "api/reportarg.h"

/* n decimal digits at s into *v; false unless all are digits. */
static bool digits(const char *s, size_t n, int *v)
{
	int x = 0;

	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		x = x * 10 + (s[i] - '0');
	}
	*v = x;
	return true;
}

static int month_days(int y, int m)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

int reportarg_date(const char *in, bool upper, char *out, size_t sz)
{
	int y, mo, d, h = upper ? 23 : 0, mi = upper ? 59 : 0, s = upper ? 59 : 0;
	size_t n;

	if (!in || !out || sz < 20)
		return EINVAL;
	n = strlen(in);
	if (n != 10 && n != 16 && n != 19)
		return EINVAL;
	if (!digits(in, 4, &y) || in[4] != '-' || !digits(in + 5, 2, &mo) || in[7] != '-'
	    || !digits(in + 8, 2, &d))
		return EINVAL;
	if (n >= 16) {
		if ((in[10] != ' ' && in[10] != 'T') || !digits(in + 11, 2, &h) || in[13] != ':'
		    || !digits(in + 14, 2, &mi))
			return EINVAL;
		s = upper ? 59 : 0;
	}
	if (n == 19 && (in[16] != ':' || !digits(in + 17, 2, &s)))
		return EINVAL;
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo) || h > 23 || mi > 59
	    || s > 59)
		return EINVAL;
	(void)snprintf(out, sz, "%04d-%02d-%02d %02d:%02d:%02d", y, mo, d, h, mi, s);
	return 0;
}

void reportarg_id_fmt(int64_t id, char out[25])
{
	(void)snprintf(out, 25, "%024" PRIx64, (uint64_t)(id < 0 ? 0 : id));
}

int reportarg_id_parse(const char *s, int64_t *id)
{
	uint64_t v = 0;

	if (!s || !id || strlen(s) != 24)
		return EINVAL;
	for (size_t i = 0; i < 24; i++) {
		int c = tolower((unsigned char)s[i]);
		int x = isdigit(c) ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;

		if (x < 0 || (v >> 59))  /* a 25th significant bit of hex would overflow */
			return EINVAL;
		v = v << 4 | (uint64_t)x;
	}
	if (!v || v > INT64_MAX)
		return EINVAL;
	*id = (int64_t)v;
	return 0;
}

bool reportarg_file_ok(const char *name)
{
	const char *p = name, *seg;
	size_t len;

	if (!name || !*name || strlen(name) > 255 || *name == '/')
		return false;
	for (const char *c = name; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f || *c == '\\')
			return false;
	while (*p) {
		seg = p;
		len = strcspn(seg, "/");
		if (!len || (len == 1 && seg[0] == '.') || (len == 2 && !strncmp(seg, "..", 2)))
			return false;
		p = seg + len;
		if (*p == '/' && !*++p)
			return false;    /* a trailing '/' names a directory */
	}
	return true;
}

const char *reportarg_mime(const char *name)
{
	static const struct { const char *ext, *type; } types[] = {
		{ "wav", "audio/wav" }, { "mp3", "audio/mpeg" }, { "ogg", "audio/ogg" },
		{ "oga", "audio/ogg" }, { "opus", "audio/ogg" }, { "gsm", "audio/gsm" },
		{ "flac", "audio/flac" }, { "ulaw", "audio/basic" }, { "alaw", "audio/x-alaw-basic" },
		{ "au", "audio/basic" }, { "m4a", "audio/mp4" },
	};
	const char *dot = name ? strrchr(name, '.') : NULL;

	if (dot && !strchr(dot, '/'))
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (!strcasecmp(dot + 1, types[i].ext))
				return types[i].type;
	return "application/octet-stream";
}

void reportarg_hhmmss(int64_t s, char out[24])
{
	if (s < 0)
		s = 0;
	(void)snprintf(out, 24, "%02" PRId64 ":%02d:%02d", s / 3600, (int)(s / 60 % 60),
		       (int)(s % 60));
}
