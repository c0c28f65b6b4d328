/* pattern: Asterisk extension patterns (ast_extension_match) and the order
 * Asterisk sorts a context in (ext_cmp): literals first, then patterns by
 * how few characters each position admits. */
#include <ctype.h>
#include <string.h>
#include "pbx/pattern.h"

/* Parses one pattern position at *p; fills set[256] and returns the number
 * of characters it admits ('.', '!' return huge counts), advancing *p. */
static unsigned pos_parse(const char **p, unsigned char set[256])
{
	const char *s = *p;
	unsigned n = 0;

	memset(set, 0, 256);
	switch (toupper((unsigned char)*s)) {
	case 'X': for (int c = '0'; c <= '9'; c++) set[c] = 1; n = 10; break;
	case 'Z': for (int c = '1'; c <= '9'; c++) set[c] = 1; n = 9; break;
	case 'N': for (int c = '2'; c <= '9'; c++) set[c] = 1; n = 8; break;
	case '.': *p = s + 1; return 0x30000;
	case '!': *p = s + 1; return 0x40000;
	case '[': {
		const char *e = strchr(s, ']');
		if (!e) {          /* unterminated: Asterisk treats '[' literally */
			set['['] = 1;
			*p = s + 1;
			return 1;
		}
		for (const char *q = s + 1; q < e; q++) {
			if (q + 2 < e && q[1] == '-') {
				for (int c = (unsigned char)q[0]; c <= (unsigned char)q[2]; c++)
					set[c] = 1;
				q += 2;
			}
			else {
				set[(unsigned char)*q] = 1;
			}
		}
		for (int c = 0; c < 256; c++)
			n += set[c];
		*p = e + 1;
		return n;
	}
	default:
		set[toupper((unsigned char)*s)] = 1;
		set[tolower((unsigned char)*s)] = 1;
		*p = s + 1;
		return 1;
	}
	*p = s + 1;
	return n;
}

static bool match_from(const char *pat, const char *ext)
{
	unsigned char set[256];

	while (*pat) {
		unsigned n;

		if (*pat == '-') {        /* dashes in patterns are cosmetic */
			pat++;
			continue;
		}
		n = pos_parse(&pat, set);
		if (n == 0x30000)
			return *ext != '\0';
		if (n == 0x40000)
			return true;
		if (!*ext || !set[(unsigned char)*ext])
			return false;
		ext++;
	}
	return *ext == '\0';
}

bool pattern_match(const char *key, const char *exten)
{
	if (!key || !exten)
		return false;
	if (key[0] != '_')
		return !strcmp(key, exten);
	return match_from(key + 1, exten);
}

static int first_char(const unsigned char set[256])
{
	for (int c = 0; c < 256; c++)
		if (set[c])
			return c;
	return 0;
}

int pattern_cmp(const char *a, const char *b)
{
	unsigned char sa[256], sb[256];

	if (a[0] != '_' || b[0] != '_') {
		if (a[0] != '_' && b[0] != '_')
			return strcmp(a, b);
		return a[0] == '_' ? 1 : -1;
	}
	a++;
	b++;
	for (;;) {
		unsigned na, nb;
		int ca, cb;

		while (*a == '-')
			a++;
		while (*b == '-')
			b++;
		if (!*a || !*b)
			return (*a != '\0') - (*b != '\0');
		na = pos_parse(&a, sa);
		nb = pos_parse(&b, sb);
		if (na != nb)
			return na < nb ? -1 : 1;
		ca = first_char(sa);
		cb = first_char(sb);
		if (ca != cb)
			return ca < cb ? -1 : 1;
	}
}
