/* pattern: Asterisk extension matching (ast_extension_match, E_MATCH mode
 * only) and the order Asterisk sorts a context in (ast_extension_cmp).
 * Not for partial matches (canmatch/matchmore); a '/' ends a pattern as it
 * does in Asterisk, but caller-ID matching is not done here. */
#include <string.h>
#include "pbx/pattern.h"

/* Position scores, as in Asterisk's ext_cmp_pattern_pos: bits 0-7 are the
 * lowest character a position admits, bits 8-16 how many it admits, so a
 * plain subtraction orders literals < small sets < N < Z < X. The specials
 * sort after every set; note that the end of a pattern sorts after '.'
 * and '!', so "_X." comes before "_X" (Asterisk does the same). */
enum {
	POS_DOT = 0x18000,
	POS_BANG = 0x28000,
	POS_END = 0x30000,
	POS_BADSET = 0x40000,
};

static void set_add(unsigned char bits[32], int c, int *count)
{
	/* Lower characters take the more significant bits so that two equally
	 * sized sets order by their characters under memcmp. */
	unsigned char mask = (unsigned char)(0x80 >> (c % 8));

	if (!(bits[c / 8] & mask)) {
		bits[c / 8] |= mask;
		*count += 0x100;
	}
}

static void set_add_range(unsigned char bits[32], int lo, int hi, int *count)
{
	for (int c = lo; c <= hi; c++)
		set_add(bits, c, count);
}

/* Scores the "[...]" body in [s, end); a range needs a character on both
 * sides of '-', so "[1-]" is the two characters '1' and '-'. */
static int pos_score_set(const char *s, const char *end, unsigned char bits[32])
{
	int count = 0, cmin = 0xff;

	while (s < end) {
		int lo = (unsigned char)s[0], hi = lo;

		if (s + 2 < end && s[1] == '-') {
			hi = (unsigned char)s[2];
			s += 2;
		}
		if (lo < cmin)
			cmin = lo;
		set_add_range(bits, lo, hi, &count);
		s++;
	}
	return count ? count | cmin : 0;
}

/* Scores the pattern position at *p and advances past it; *p becomes NULL at
 * the end of the pattern. Empty sets ("[]", "[9-1]") are skipped. */
static int pos_score(const char **p, unsigned char bits[32])
{
	for (;;) {
		const char *end;
		unsigned char c;
		int score, unused = 0;

		do
			c = (unsigned char)*(*p)++;
		while (c == '-');

		switch (c) {
		case '\0':
			*p = NULL;
			return POS_END;
		case 'N': case 'n':
			set_add_range(bits, '2', '9', &unused);
			return 0x800 | '2';
		case 'Z': case 'z':
			set_add_range(bits, '1', '9', &unused);
			return 0x900 | '1';
		case 'X': case 'x':
			set_add_range(bits, '0', '9', &unused);
			return 0xa00 | '0';
		case '.':
			return POS_DOT;
		case '!':
			return POS_BANG;
		case '[':
			break;
		default:
			set_add(bits, c, &unused);
			return 0x100 | c;
		}
		end = strchr(*p, ']');
		if (!end)
			return POS_BADSET;
		score = pos_score_set(*p, end, bits);
		*p = end + 1;
		if (score)
			return score;
	}
}

/* Both without the leading '_'. */
static int cmp_patterns(const char *a, const char *b)
{
	for (;;) {
		unsigned char abits[32] = { 0 }, bbits[32] = { 0 };
		int d = pos_score(&a, abits) - pos_score(&b, bbits);

		/* Equal scores: the set holding the lower characters goes first,
		 * which is the set with the larger leading bits. */
		if (!d)
			d = memcmp(bbits, abits, sizeof(abits));
		if (d || !a)
			return d;
	}
}

/* Literal keys compare byte by byte ignoring '-', which Asterisk treats as
 * punctuation ("555-1234" is the extension 5551234). */
static int cmp_literals(const char *a, const char *b)
{
	for (;;) {
		int d;

		while (*a == '-')
			a++;
		while (*b == '-')
			b++;
		d = *a - *b;
		if (d || !*a)
			return d;
		a++;
		b++;
	}
}

int pattern_cmp(const char *a, const char *b)
{
	int d;

	if (a[0] != '_')
		d = b[0] == '_' ? -1 : cmp_literals(a, b);
	else if (b[0] != '_')
		d = 1;
	else
		d = cmp_patterns(a + 1, b + 1);
	return (d > 0) - (d < 0);
}

/* Does c fall in the "[...]" body [s, end)? */
static bool set_has(const char *s, const char *end, char c)
{
	for (; s < end; s++) {
		if (s + 2 < end && s[1] == '-') {
			if (c >= s[0] && c <= s[2])
				return true;
			s += 2;
		}
		else if (c == *s) {
			return true;
		}
	}
	return false;
}

/* pat without the leading '_'. Literal characters, including those in sets,
 * match case-sensitively; only the class letters N, X, Z ignore case. */
static bool match_pattern(const char *pat, const char *ext)
{
	for (;;) {
		const char *end;

		while (*ext == '-')
			ext++;
		while (*pat == '-')
			pat++;
		if (!*ext || !*pat || *pat == '/')
			break;
		switch (*pat) {
		case '[':
			end = strchr(++pat, ']');
			if (!end)
				return false;
			if (end == pat) {    /* "[]" admits nothing and is skipped */
				pat++;
				continue;
			}
			if (!set_has(pat, end, *ext))
				return false;
			pat = end;
			break;
		case 'N': case 'n':
			if (*ext < '2' || *ext > '9')
				return false;
			break;
		case 'Z': case 'z':
			if (*ext < '1' || *ext > '9')
				return false;
			break;
		case 'X': case 'x':
			if (*ext < '0' || *ext > '9')
				return false;
			break;
		case '.':               /* at least this one character remains */
		case '!':
			return true;
		default:
			if (*ext != *pat)
				return false;
			break;
		}
		ext++;
		pat++;
	}
	/* Out of pattern with digits left over: too long. Out of digits: a
	 * match only if the pattern is done too, or can match nothing more. */
	if (*ext)
		return false;
	return !*pat || *pat == '/' || *pat == '!';
}

bool pattern_match(const char *key, const char *exten)
{
	if (!key || !exten)
		return false;
	if (key[0] != '_')
		return !cmp_literals(key, exten);
	/* Asterisk first compares a dialled "_..." as a pattern itself, so
	 * that a pattern always matches its own text. */
	if (exten[0] == '_' && !cmp_patterns(key + 1, exten + 1))
		return true;
	return match_pattern(key + 1, exten);
}
