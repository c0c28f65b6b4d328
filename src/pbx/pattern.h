/* pattern: Asterisk extension pattern matching and ordering
 * (ast_extension_match / ast_extension_cmp semantics). */
#ifndef TAMAS_PATTERN_H
#define TAMAS_PATTERN_H

#include <stdbool.h>

/* True when exten matches key: a literal (exact, case-sensitive) or a
 * pattern starting with '_' (X, Z, N, [a-z...], '.', '!'). */
bool pattern_match(const char *key, const char *exten);
/* qsort-style ordering that puts more specific keys first, as Asterisk sorts
 * a context before picking the first match. */
int pattern_cmp(const char *a, const char *b);

#endif
